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

    /// Its summary rows: Recall@1 both ways, and Recall@10 both ways when
    /// there are more than 10 distinct texts (with 10 or fewer it is 1).
    pub(crate) fn summary_rows(&self) -> Vec<(String, String)> {
        let (f, b) = (&self.scores.forward, &self.scores.backward);
        let mut rows = vec![(
            "retrieval R@1 sensor→text / text→sensor".into(),
            format!("{:.3} / {:.3}", f.recall_at_1, b.recall_at_1),
        )];
        if self.texts > 10 {
            rows.push((
                format!(
                    "retrieval R@10 sensor→text / text→sensor ({} `{}` texts)",
                    self.texts, self.variant
                ),
                format!("{:.3} / {:.3}", f.recall_at_10, b.recall_at_10),
            ));
        }
        rows
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

#[cfg(test)]
mod tests {
    use super::*;

    fn result(texts: usize) -> RetrievalResult {
        // Query q's relevant item is q and q items score above it: ranks
        // 1..=20, so R@1 = 1/20 and R@10 = 10/20.
        let items = texts.max(20);
        let sim: Vec<f32> = (0..20)
            .flat_map(|q| {
                (0..items).map(move |j| if j == q { 0.5 - q as f32 } else { -(j as f32) })
            })
            .collect();
        let relevant: Vec<Vec<usize>> = (0..20).map(|q| vec![q]).collect();
        let report = RetrievalReport::from_similarity(&sim, 20, items, &relevant).unwrap();
        RetrievalResult {
            variant: "trend_brief".into(),
            windows: 20,
            texts,
            scores: BidirectionalRetrieval {
                forward: report.clone(),
                backward: report,
            },
        }
    }

    #[test]
    fn recall_at_10_enters_the_summary_only_with_more_than_ten_texts() {
        let rows = result(744).summary_rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1, "0.050 / 0.050");
        assert!(rows[1].0.contains("R@10") && rows[1].0.contains("744 `trend_brief`"));
        assert_eq!(rows[1].1, "0.500 / 0.500");
        assert_eq!(result(7).summary_rows().len(), 1);
    }
}
