//! What the SensorLLM protocol measured ([`SensorLlmResult`]): stage-2
//! classification and stage-1 trend descriptions, with their summary rows
//! and report section.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wearlang_metrics::{CaptionReport, ClassificationReport};

use super::captioning::{examples_table, FaithfulnessSummary};

/// Stage-1 descriptions of test windows against the reference ones.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DescriptionScores {
    /// Windows described.
    pub windows: usize,
    /// Answers scored: one per window, or one per channel with observed
    /// values with per-channel answers.
    #[serde(default)]
    pub descriptions: usize,
    /// What an answer describes: `channel` or `window`.
    #[serde(default)]
    pub scope: String,
    /// BLEU-4, ROUGE-L, CIDEr-D against the reference descriptions.
    pub metrics: CaptionReport,
    /// Numeric claims of the descriptions checked against the raw windows.
    pub faithfulness: FaithfulnessSummary,
    /// The content-blind level: each reference answer checked against
    /// another window asked the same question (`None` when no question was
    /// asked of two windows).
    #[serde(default)]
    pub other_windows: Option<FaithfulnessSummary>,
    /// A few `(reference, generated)` pairs.
    pub examples: Vec<(String, String)>,
}

/// The SensorLLM protocol's result.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SensorLlmResult {
    /// The stage-1 run that wrote the descriptions.
    pub align_model: Option<PathBuf>,
    /// The stage-2 run that classified.
    pub tune_model: Option<PathBuf>,
    /// Stage 2 on the test windows.
    pub classification: Option<ClassificationReport>,
    /// Stage 1 on test windows spread over the split.
    pub descriptions: Option<DescriptionScores>,
}

impl SensorLlmResult {
    /// Its summary rows.
    pub(crate) fn summary_rows(&self) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        if let Some(c) = &self.classification {
            rows.push((
                "SensorLLM stage-2 macro-F1 / accuracy".into(),
                format!("{:.3} / {:.3}", c.macro_f1, c.accuracy),
            ));
        }
        if let Some(d) = &self.descriptions {
            rows.push((
                "SensorLLM trend descriptions BLEU-4 / ROUGE-L / CIDEr-D".into(),
                format!(
                    "{:.3} / {:.3} / {:.3}",
                    d.metrics.bleu4, d.metrics.rouge_l, d.metrics.cider_d
                ),
            ));
            let f = &d.faithfulness;
            rows.push((
                "SensorLLM description claims holding (references of other windows)".into(),
                match &d.other_windows {
                    Some(o) => format!(
                        "{} of {} ({} of {})",
                        f.claims_holding, f.claims, o.claims_holding, o.claims
                    ),
                    None => format!("{} of {}", f.claims_holding, f.claims),
                },
            ));
        }
        rows
    }

    /// Its report section.
    pub(crate) fn markdown(&self) -> String {
        let mut s = String::from("\n## SensorLLM\n\n");
        if let (Some(c), Some(m)) = (&self.classification, &self.tune_model) {
            s.push_str(&format!(
                "Stage 2 (`{}`): macro-F1 {:.3}, accuracy {:.3} on {} test windows.\n",
                m.display(),
                c.macro_f1,
                c.accuracy,
                c.n_samples
            ));
        }
        if let (Some(d), Some(m)) = (&self.descriptions, &self.align_model) {
            let f = &d.faithfulness;
            s.push_str(&format!(
                "\nStage 1 (`{}`), {} test windows, {} answers ({}): BLEU-4 {:.3}, ROUGE-L {:.3}, CIDEr-D {:.3}; {} of {} numeric claims hold ({} answers make claims).\n\n",
                m.display(),
                d.windows,
                d.descriptions,
                if d.scope == "channel" { "one per channel" } else { "one per window" },
                d.metrics.bleu4,
                d.metrics.rouge_l,
                d.metrics.cider_d,
                f.claims_holding,
                f.claims,
                f.captions_with_claims
            ));
            if let Some(o) = &d.other_windows {
                s.push_str(&format!(
                    "For comparison, each reference answer checked against another window asked the same question (what a text blind to the window gets right): {} of {} claims hold.\n\n",
                    o.claims_holding, o.claims
                ));
            }
            s.push_str(&examples_table(&d.examples));
        }
        s
    }
}
