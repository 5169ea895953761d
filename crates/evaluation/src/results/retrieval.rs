//! Retrieval scores ([`RetrievalResult`]) and their summary row and report
//! section.

use serde::{Deserialize, Serialize};
use wearlang_metrics::{BidirectionalRetrieval, RetrievalReport};

/// Retrieval scores.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RetrievalResult {
    /// The text variant.
    pub variant: String,
    /// Windows (sensor queries / items).
    pub windows: usize,
    /// Distinct texts (text queries / items).
    pub texts: usize,
    /// Sensor → text (forward) and text → sensor (backward).
    pub scores: BidirectionalRetrieval,
}

impl RetrievalResult {
    /// File stem of its plot: the sensor → text rank histogram.
    pub(crate) const PLOT: &'static str = "retrieval_ranks";

    /// Its summary row: Recall@1 both ways.
    pub(crate) fn summary_rows(&self) -> Vec<(String, String)> {
        vec![(
            "retrieval R@1 sensor→text / text→sensor".into(),
            format!(
                "{:.3} / {:.3}",
                self.scores.forward.recall_at_1, self.scores.backward.recall_at_1
            ),
        )]
    }

    /// Its report section: one row per direction, and the rank histogram
    /// when `has_plot`.
    pub(crate) fn markdown(&self, has_plot: bool) -> String {
        let mut s = format!(
            "\n## Retrieval\n\n{} test windows, {} distinct `{}` texts.\n\n| direction | R@1 | R@5 | R@10 | mean rank | median rank |\n| --- | --- | --- | --- | --- | --- |\n",
            self.windows, self.texts, self.variant
        );
        for (name, x) in [
            ("sensor → text", &self.scores.forward),
            ("text → sensor", &self.scores.backward),
        ] {
            s.push_str(&retrieval_row(name, x));
        }
        if has_plot {
            s.push_str(&format!("\n![sensor → text ranks]({}.png)\n", Self::PLOT));
        }
        s
    }
}

/// One direction's row of the retrieval table.
fn retrieval_row(name: &str, r: &RetrievalReport) -> String {
    format!(
        "| {name} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} |\n",
        r.recall_at_1, r.recall_at_5, r.recall_at_10, r.mean_rank, r.median_rank
    )
}
