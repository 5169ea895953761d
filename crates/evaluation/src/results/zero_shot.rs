//! Zero-shot scores ([`ZeroShotReport`] on one set of windows,
//! [`ZeroShotResult`] for the three prompt sets of the protocol) and their
//! summary row and report section.

use serde::{Deserialize, Serialize};
use wearlang_metrics::ClassificationReport;

/// Zero-shot scores on a set of windows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ZeroShotReport {
    /// The candidate classes, in the order of the report's indices.
    pub classes: Vec<String>,
    /// Prompts per class.
    pub prompts_per_class: usize,
    /// Accuracy, macro-F1, confusion matrix.
    pub report: ClassificationReport,
    /// Predicted class index per window.
    pub predictions: Vec<usize>,
    /// True class index per window.
    pub truths: Vec<usize>,
}

/// Zero-shot scores with three prompt sets.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ZeroShotResult {
    /// The base template only.
    pub base: ZeroShotReport,
    /// The template bank, ensembled.
    pub ensemble: ZeroShotReport,
    /// The template bank with body parts and movement descriptions from the
    /// knowledge base.
    pub knowledge: ZeroShotReport,
}

impl ZeroShotResult {
    /// File stem of its plot: the confusion matrix of the ensemble.
    pub(crate) const PLOT: &'static str = "confusion_zero_shot";

    /// Its summary row: macro-F1 of the three prompt sets.
    pub(crate) fn summary_rows(&self) -> Vec<(String, String)> {
        vec![(
            "zero-shot macro-F1 (base / ensemble / +knowledge)".into(),
            format!(
                "{:.3} / {:.3} / {:.3}",
                self.base.report.macro_f1,
                self.ensemble.report.macro_f1,
                self.knowledge.report.macro_f1
            ),
        )]
    }

    /// Its report section: one row per prompt set, the ensemble's per-class
    /// table (over `classes`), and the confusion matrix when `has_plot`.
    pub(crate) fn markdown(&self, classes: &[String], has_plot: bool) -> String {
        let mut s = String::from("\n## Zero-shot classification\n\nClass prompts from the captioning crate; cosine similarity between window and class embeddings.\n\n| prompts | per class | accuracy | macro-F1 | weighted F1 |\n| --- | --- | --- | --- | --- |\n");
        for (name, r) in [
            ("base template", &self.base),
            ("template ensemble", &self.ensemble),
            ("ensemble + knowledge", &self.knowledge),
        ] {
            s.push_str(&format!(
                "| {name} | {} | {:.3} | {:.3} | {:.3} |\n",
                r.prompts_per_class, r.report.accuracy, r.report.macro_f1, r.report.weighted_f1
            ));
        }
        s.push_str(&per_class_table(classes, &self.ensemble.report));
        if has_plot {
            s.push_str(&format!(
                "\n![zero-shot confusion matrix]({}.png)\n",
                Self::PLOT
            ));
        }
        s
    }
}

/// Precision, recall, F1 and support of each of `classes` (with its plain
/// name from the knowledge base when that differs).
fn per_class_table(classes: &[String], r: &ClassificationReport) -> String {
    let mut s = String::from(
        "\nPer class (ensemble):\n\n| class | precision | recall | F1 | support |\n| --- | --- | --- | --- | --- |\n",
    );
    let kb = wearlang_captioning::KnowledgeBase::builtin();
    for (c, m) in classes.iter().zip(&r.per_class) {
        let plain = kb.plain_name(c);
        let c = if plain == *c {
            c.clone()
        } else {
            format!("{c} ({plain})")
        };
        s.push_str(&format!(
            "| {c} | {:.3} | {:.3} | {:.3} | {} |\n",
            m.precision, m.recall, m.f1, m.support
        ));
    }
    s
}
