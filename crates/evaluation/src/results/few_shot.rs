//! Few-shot curves ([`FewShotResult`], one [`FewShotSeries`] per
//! [`FewShotMethod`]) and their summary rows and report section.

use serde::{Deserialize, Serialize};
use wearlang_metrics::MeanStd;

/// A few-shot method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FewShotMethod {
    /// Update the projection heads with the contrastive loss (NLS).
    ProjectionHeads,
    /// A linear probe on frozen sensor features.
    LinearProbe,
    /// The supervised conv classifier trained from scratch on the same k
    /// windows per class (what adaptation is measured against).
    SupervisedFromScratch,
    /// Fine-tune the sensor encoder with the projection heads on the k
    /// windows per class, with the contrastive loss of `projection_heads`
    /// (fine-tuning as the model was pretrained), then zero-shot.
    FineTune,
}

impl FewShotMethod {
    /// A name for reports.
    pub fn label(self) -> &'static str {
        match self {
            FewShotMethod::ProjectionHeads => "projection heads (contrastive)",
            FewShotMethod::LinearProbe => "linear probe",
            FewShotMethod::SupervisedFromScratch => "conv classifier from scratch",
            FewShotMethod::FineTune => "fine-tuned encoder and heads (contrastive)",
        }
    }
}

/// One method's curve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FewShotSeries {
    /// The method.
    pub method: FewShotMethod,
    /// Per shot count, the macro-F1 of each seed.
    pub macro_f1: Vec<Vec<f64>>,
    /// Per shot count, mean and standard deviation over the seeds.
    pub summary: Vec<MeanStd>,
}

/// Few-shot curves.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FewShotResult {
    /// Windows per class.
    pub shots: Vec<usize>,
    /// Seeds per point.
    pub seeds: u64,
    /// Training windows available per class (a shot count above this uses
    /// them all).
    pub available_per_class: Vec<usize>,
    /// Zero-shot macro-F1 of the unadapted model with the same prompts (k = 0).
    pub zero_shot_macro_f1: f64,
    /// One curve per method.
    pub series: Vec<FewShotSeries>,
}

impl FewShotResult {
    /// File stem of its plot: the curves.
    pub(crate) const PLOT: &'static str = "few_shot";

    /// Its summary rows: each method at the largest shot count.
    pub(crate) fn summary_rows(&self) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        for s in &self.series {
            if let (Some(k), Some(m)) = (self.shots.last(), s.summary.last()) {
                rows.push((
                    format!("few-shot {} at {k}/class", s.method.label()),
                    format!("{:.3} ± {:.3}", m.mean, m.std),
                ));
            }
        }
        rows
    }

    /// Its report section: a method × shot-count table, and the curves when
    /// `has_plot`.
    pub(crate) fn markdown(&self, has_plot: bool) -> String {
        let mut s = format!(
            "\n## Few-shot adaptation\n\nk labelled training windows per class, {} seeds, macro-F1 on the test windows (mean ± std). Unadapted zero-shot with the same prompts: {:.3}. Training windows per class: {:?}.\n\n| method |",
            self.seeds, self.zero_shot_macro_f1, self.available_per_class
        );
        for k in &self.shots {
            s.push_str(&format!(" k = {k} |"));
        }
        s.push_str("\n| --- |");
        for _ in &self.shots {
            s.push_str(" --- |");
        }
        s.push('\n');
        for series in &self.series {
            s.push_str(&format!("| {} |", series.method.label()));
            for m in &series.summary {
                s.push_str(&format!(" {:.3} ± {:.3} |", m.mean, m.std));
            }
            s.push('\n');
        }
        if has_plot {
            s.push_str(&format!("\n![few-shot curve]({}.png)\n", Self::PLOT));
        }
        s
    }
}
