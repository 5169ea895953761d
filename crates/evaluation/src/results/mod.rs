//! The results layer: the plain data each protocol returns ([`ProtocolResult`]
//! and the result types it holds, serialised as they are into
//! `metrics.json`) and its rendering — the rows it adds to the summary table
//! and its section of `report.md`.
//!
//! This layer imports no protocol module, nor the registry
//! (`protocol.rs`): the context, the protocols, the registry and the report
//! all import it.

mod captioning;
mod classifier;
mod custom;
mod few_shot;
mod retrieval;
mod sensorllm;
mod unseen;
mod zero_shot;

use serde::{Deserialize, Serialize};

pub(crate) use captioning::examples_table;
pub use captioning::{CaptionEval, FaithfulnessSummary};
pub use classifier::ClassifierResult;
pub use custom::CustomResult;
pub use few_shot::{FewShotMethod, FewShotResult, FewShotSeries};
pub use retrieval::RetrievalResult;
pub use sensorllm::{DescriptionScores, SensorLlmResult};
pub use unseen::{UnseenGroup, UnseenResult};
pub use zero_shot::{ZeroShotReport, ZeroShotResult};

/// What a protocol found.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum ProtocolResult {
    /// Zero-shot classification with class prompts.
    ZeroShot(ZeroShotResult),
    /// Linear probe on frozen sensor features.
    LinearProbe(ClassifierResult),
    /// The supervised conv classifier.
    Supervised(ClassifierResult),
    /// Few-shot adaptation curves.
    FewShot(FewShotResult),
    /// Zero-shot on activities left out of training.
    Unseen(UnseenResult),
    /// Sensor ↔ text retrieval.
    Retrieval(RetrievalResult),
    /// Generated captions.
    Captioning(CaptionEval),
    /// SensorLLM: stage-2 classification and stage-1 descriptions.
    #[serde(rename = "sensorllm")]
    SensorLlm(SensorLlmResult),
    /// A protocol another crate registered with
    /// [`register_protocol`](crate::register_protocol).
    Custom(CustomResult),
}

impl ProtocolResult {
    /// The file stem of its plot (written by
    /// [`EvalReport::write_plots`](crate::EvalReport::write_plots), shown by
    /// its Markdown section when the PNG exists); `None` for results without
    /// one.
    pub(crate) fn plot_stem(&self) -> Option<&'static str> {
        match self {
            ProtocolResult::ZeroShot(_) => Some(ZeroShotResult::PLOT),
            ProtocolResult::LinearProbe(_) => Some(ClassifierResult::LINEAR_PROBE_PLOT),
            ProtocolResult::Supervised(_) => Some(ClassifierResult::SUPERVISED_PLOT),
            ProtocolResult::FewShot(_) => Some(FewShotResult::PLOT),
            ProtocolResult::Retrieval(_) => Some(RetrievalResult::PLOT),
            ProtocolResult::Unseen(_)
            | ProtocolResult::Captioning(_)
            | ProtocolResult::SensorLlm(_)
            | ProtocolResult::Custom(_) => None,
        }
    }

    /// Its rows of the report's summary table: `(metric, value)`.
    pub(crate) fn summary_rows(&self) -> Vec<(String, String)> {
        match self {
            ProtocolResult::ZeroShot(z) => z.summary_rows(),
            ProtocolResult::LinearProbe(c) => c.summary_rows("linear probe macro-F1"),
            ProtocolResult::Supervised(c) => c.summary_rows("supervised conv macro-F1"),
            ProtocolResult::FewShot(f) => f.summary_rows(),
            ProtocolResult::Unseen(u) => u.summary_rows(),
            ProtocolResult::Retrieval(r) => r.summary_rows(),
            ProtocolResult::Captioning(c) => c.summary_rows(),
            ProtocolResult::SensorLlm(r) => r.summary_rows(),
            ProtocolResult::Custom(c) => c.summary_rows(),
        }
    }

    /// Its section of `report.md`, starting with a blank line and its
    /// `##` heading. `classes` are the report's candidate classes;
    /// `has_plot(stem)` says whether the PNG of the plot named `stem` was
    /// written (the section references it then).
    pub(crate) fn markdown(&self, classes: &[String], has_plot: &dyn Fn(&str) -> bool) -> String {
        let plot = self.plot_stem().is_some_and(has_plot);
        match self {
            ProtocolResult::ZeroShot(z) => z.markdown(classes, plot),
            ProtocolResult::LinearProbe(c) => {
                c.markdown("Linear probe", ClassifierResult::LINEAR_PROBE_PLOT, plot)
            }
            ProtocolResult::Supervised(c) => c.markdown(
                "Supervised baseline",
                ClassifierResult::SUPERVISED_PLOT,
                plot,
            ),
            ProtocolResult::FewShot(f) => f.markdown(plot),
            ProtocolResult::Unseen(u) => u.markdown(),
            ProtocolResult::Retrieval(r) => r.markdown(plot),
            ProtocolResult::Captioning(c) => c.markdown(),
            ProtocolResult::SensorLlm(r) => r.markdown(),
            ProtocolResult::Custom(c) => c.markdown(),
        }
    }
}
