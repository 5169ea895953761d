//! Scores of generated captions ([`CaptionEval`], with the
//! [`FaithfulnessSummary`] of their claims) and their summary row and report
//! section.

use serde::{Deserialize, Serialize};
use wearlang_metrics::CaptionReport;

/// Scores of generated captions.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaptionEval {
    /// Windows captioned.
    pub windows: usize,
    /// Share of captions that name the window's activity (plain name from
    /// the knowledge base, case-insensitive).
    pub mentions_true_activity: f64,
    /// Share of captions that name another class of the set instead.
    pub mentions_other_activity: f64,
    /// BLEU-4, ROUGE-L, CIDEr-D against the references.
    pub metrics: CaptionReport,
    /// A few `(reference, generated)` examples.
    pub examples: Vec<(String, String)>,
    /// Index (in the evaluated set) of each captioned window.
    pub window_indices: Vec<usize>,
    /// The generated captions, in the order of `window_indices`.
    pub captions: Vec<String>,
    /// Numbers and claims in the captions checked against the raw windows
    /// (filled by the captioning protocol).
    #[serde(default)]
    pub faithfulness: Option<FaithfulnessSummary>,
}

/// Claims of generated captions checked against the data by the captioning
/// crate's faithfulness checker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FaithfulnessSummary {
    /// Captions checked.
    pub captions: usize,
    /// Captions that make at least one checkable claim (a number, a trend,
    /// an event); activity captions make none.
    pub captions_with_claims: usize,
    /// Claims found.
    pub claims: usize,
    /// Claims that agree with the data.
    pub claims_holding: usize,
    /// Share of captions with claims whose claims all hold (`None` when no
    /// caption made a claim).
    pub faithful_share: Option<f64>,
}

impl CaptionEval {
    /// Its summary row: share of captions naming the activity, CIDEr-D.
    pub(crate) fn summary_rows(&self) -> Vec<(String, String)> {
        vec![(
            "captions naming the activity / CIDEr-D".into(),
            format!(
                "{:.1} % / {:.3}",
                100.0 * self.mentions_true_activity,
                self.metrics.cider_d
            ),
        )]
    }

    /// Its report section: mentions and n-gram metrics, faithfulness when
    /// checked, and the examples.
    pub(crate) fn markdown(&self) -> String {
        let mut s = format!(
            "\n## Captioning\n\n{} test windows: {:.1} % of captions name the true activity, {:.1} % another one; BLEU-4 {:.3}, ROUGE-L {:.3}, CIDEr-D {:.3}.\n",
            self.windows,
            100.0 * self.mentions_true_activity,
            100.0 * self.mentions_other_activity,
            self.metrics.bleu4,
            self.metrics.rouge_l,
            self.metrics.cider_d
        );
        if let Some(f) = &self.faithfulness {
            s.push_str(&f.markdown());
        }
        s.push('\n');
        s.push_str(&examples_table(&self.examples));
        s
    }
}

impl FaithfulnessSummary {
    /// Its sentence of the captioning section (one line).
    fn markdown(&self) -> String {
        match self.faithful_share {
            Some(share) => format!(
                "Faithfulness: {} of {} captions make checkable claims; {} of {} claims hold; {:.1} % of those captions are fully faithful.\n",
                self.captions_with_claims, self.captions, self.claims_holding, self.claims, 100.0 * share
            ),
            None => format!(
                "Faithfulness: none of the {} captions makes a checkable numeric claim (activity text), so there is nothing to verify.\n",
                self.captions
            ),
        }
    }
}

/// The `| reference | generated |` table of caption examples.
pub(crate) fn examples_table(examples: &[(String, String)]) -> String {
    let mut s = String::from("| reference | generated |\n| --- | --- |\n");
    for (r, g) in examples {
        s.push_str(&format!("| {r} | {g} |\n"));
    }
    s
}
