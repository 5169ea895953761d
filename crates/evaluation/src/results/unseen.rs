//! Unseen-activity scores ([`UnseenResult`], one [`UnseenGroup`] per
//! held-out group) and their summary row and report section.

use serde::{Deserialize, Serialize};

use super::ZeroShotReport;

/// One held-out group.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnseenGroup {
    /// Its classes (never seen in training).
    pub classes: Vec<String>,
    /// Training windows of the run (the others' classes).
    pub train_windows: usize,
    /// Zero-shot among the group's classes, base template.
    pub base: ZeroShotReport,
    /// Zero-shot among the group's classes, template ensemble.
    pub ensemble: ZeroShotReport,
    /// Zero-shot among the group's classes, template ensemble with body
    /// parts and movement descriptions from the knowledge base (the NLS
    /// paper's "extra text").
    pub knowledge: ZeroShotReport,
    /// Accuracy on the group's windows when every class of the store is a
    /// candidate (the generalised, harder setting; ensemble prompts).
    pub accuracy_among_all: f64,
    /// Whether the run was reused from an earlier evaluation.
    pub reused: bool,
}

/// Unseen-activity results.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UnseenResult {
    /// Steps per run.
    pub steps: u64,
    /// Where `steps` came from: `"selected on held-out classes"` (the
    /// evaluated run chose its budget with `[select]`), `"unseen.steps"`
    /// or `"the run's budget"`.
    #[serde(default)]
    pub steps_from: String,
    /// Per group.
    pub groups: Vec<UnseenGroup>,
    /// Mean macro-F1 over groups, base template.
    pub mean_macro_f1_base: f64,
    /// Mean macro-F1 over groups, template ensemble.
    pub mean_macro_f1_ensemble: f64,
    /// Mean macro-F1 over groups, template ensemble with knowledge.
    pub mean_macro_f1_knowledge: f64,
    /// Mean chance macro-F1 (1 / group size) over groups.
    pub mean_chance: f64,
}

impl UnseenResult {
    /// Its summary row: the mean macro-F1 of the three prompt sets and chance.
    pub(crate) fn summary_rows(&self) -> Vec<(String, String)> {
        vec![(
            "unseen activities macro-F1 (base / ensemble / +knowledge)".into(),
            format!(
                "{:.3} / {:.3} / {:.3} (chance {:.2})",
                self.mean_macro_f1_base,
                self.mean_macro_f1_ensemble,
                self.mean_macro_f1_knowledge,
                self.mean_chance
            ),
        )]
    }

    /// Its report section: the means, and one row per group.
    pub(crate) fn markdown(&self) -> String {
        let mut s = format!(
            "\n## Unseen activities\n\nFor each group, the run's config trained for {} steps ({}) without the group's windows; zero-shot among the group's classes. Mean macro-F1: {:.3} (base template), {:.3} (ensemble), {:.3} (ensemble + knowledge: body parts and movement descriptions); chance {:.2}.\n\n| held-out classes | training windows | macro-F1 base | macro-F1 ensemble | macro-F1 + knowledge | accuracy among all classes |\n| --- | --- | --- | --- | --- | --- |\n",
            self.steps,
            if self.steps_from.is_empty() { "the run's budget" } else { &self.steps_from },
            self.mean_macro_f1_base,
            self.mean_macro_f1_ensemble,
            self.mean_macro_f1_knowledge,
            self.mean_chance
        );
        for g in &self.groups {
            s.push_str(&format!(
                "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
                g.classes.join(", "),
                g.train_windows,
                g.base.report.macro_f1,
                g.ensemble.report.macro_f1,
                g.knowledge.report.macro_f1,
                g.accuracy_among_all
            ));
        }
        s
    }
}
