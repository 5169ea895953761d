//! A classifier's scores ([`ClassifierResult`]: the linear-probe and
//! supervised baselines) and their summary row and report section.

use serde::{Deserialize, Serialize};
use wearlang_metrics::ClassificationReport;

/// A classifier's scores on the test windows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassifierResult {
    /// What was trained.
    pub method: String,
    /// Labelled training windows used.
    pub train_windows: usize,
    /// Accuracy, macro-F1, per-class F1, confusion matrix.
    pub report: ClassificationReport,
}

impl ClassifierResult {
    /// File stem of the linear probe's confusion matrix.
    pub(crate) const LINEAR_PROBE_PLOT: &'static str = "confusion_linear_probe";
    /// File stem of the supervised baseline's confusion matrix.
    pub(crate) const SUPERVISED_PLOT: &'static str = "confusion_supervised";

    /// Its summary row: `metric` and the macro-F1.
    pub(crate) fn summary_rows(&self, metric: &str) -> Vec<(String, String)> {
        vec![(metric.into(), format!("{:.3}", self.report.macro_f1))]
    }

    /// Its report section under the heading `title`, with the confusion
    /// matrix `<plot>.png` when `has_plot`.
    pub(crate) fn markdown(&self, title: &str, plot: &str, has_plot: bool) -> String {
        let mut s = format!(
            "\n## {title}\n\n{} on {} labelled training windows: accuracy {:.3}, macro-F1 {:.3}.\n",
            self.method, self.train_windows, self.report.accuracy, self.report.macro_f1
        );
        if has_plot {
            s.push_str(&format!("\n![{title} confusion matrix]({plot}.png)\n"));
        }
        s
    }
}
