//! Choosing a sensor-language run's step budget on held-out **classes**:
//! the settings ([`SelectConfig`], `[select]` in a run's TOML) and what the
//! choice recorded ([`StepSelection`], in the final checkpoint and in
//! `<out>/select/selection.json`).
//!
//! A model that names activities it was not trained on must stop before its
//! text head fits the training class names too closely; how long that is
//! cannot be read off the training loss, nor off the test split. With
//! `select.every > 0` the trainer first trains without `holdout` classes
//! (one run per fold, each fold its own disjoint classes), scores zero-shot
//! macro-F1 among them on the **validation** split (held-out subjects)
//! every `every` steps, picks the step of the best (smoothed, mean over
//! folds) score, and then trains the model on every class for that many
//! steps. The test split is never read.

use serde::{Deserialize, Serialize};
use wearlang_captioning::PromptTemplates;

use crate::{ModelError, Result};

/// What a selection run is scored on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectCriterion {
    /// Zero-shot macro-F1 among the held-out classes (what the
    /// unseen-activities protocol measures).
    HeldOut,
    /// The mean of that and zero-shot macro-F1 among the fold's training
    /// classes on their validation windows: a budget good for unseen
    /// activities that does not give up the seen ones.
    Mean,
}

/// Which windows of the held-out classes are scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldOutWindows {
    /// Those of the validation split (held-out classes of held-out
    /// subjects).
    Validation,
    /// Those of the validation split and of the training split: a
    /// selection run never trains on its held-out classes, so their
    /// training-subject windows are unseen too (the subjects' other
    /// activities are not). Several times more windows than the
    /// validation split alone when it has few subjects.
    TrainingAndValidation,
}

/// How the step budget is chosen (`[select]`; off while `every = 0` and
/// `budgets` is empty).
///
/// Two ways: along one run (`every`: each fold's run trains for the
/// configured budget and is scored every `every` steps; cheap, and
/// `patience` stops it early), or over whole runs (`budgets`: each fold
/// trains once per candidate budget, with its learning-rate schedule
/// spanning that budget, and is scored at its end; what a run of that
/// budget would really reach, at the cost of one run per candidate).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SelectConfig {
    /// Score the held-out classes every this many steps of one run per
    /// fold (0 and no `budgets`: no selection; the run trains for its
    /// configured budget).
    pub every: u64,
    /// Candidate budgets, each trained as a whole run per fold and scored
    /// at its end; those above the configured budget are dropped and the
    /// configured budget is always a candidate. Non-empty: `every` and
    /// `patience` are not used.
    pub budgets: Vec<u64>,
    /// Classes held out per fold, drawn with `seed` from the training
    /// classes (ignored when `classes` is given).
    pub holdout: usize,
    /// Folds: selection runs, each without its own disjoint held-out
    /// classes; their validation curves are averaged.
    pub folds: usize,
    /// Explicit held-out classes, one list per fold (overrides `holdout`
    /// and `folds`).
    pub classes: Vec<Vec<String>>,
    /// Seed of the drawn held-out classes.
    pub seed: u64,
    /// What is scored (`held_out` or `mean`).
    pub criterion: SelectCriterion,
    /// Which windows of the held-out classes are scored (`validation` or
    /// `training_and_validation`); the training classes are always scored
    /// on the validation split.
    pub held_out_windows: HeldOutWindows,
    /// Prompts of the zero-shot score (`all`: the ensemble of the template
    /// bank; `base`: one template).
    pub templates: PromptTemplates,
    /// Stop a selection run after this many scores without a new best
    /// (0: run to the configured budget).
    pub patience: u64,
    /// Scores averaged in a centred moving window before the best is
    /// picked (1: none); damps the noise of a few validation windows.
    pub smooth: usize,
    /// Never pick fewer steps than this.
    pub min_steps: u64,
}

impl Default for SelectConfig {
    fn default() -> Self {
        SelectConfig {
            every: 0,
            budgets: Vec::new(),
            holdout: 2,
            folds: 1,
            classes: Vec::new(),
            seed: 0,
            criterion: SelectCriterion::HeldOut,
            held_out_windows: HeldOutWindows::Validation,
            templates: PromptTemplates::All,
            patience: 0,
            smooth: 1,
            min_steps: 0,
        }
    }
}

impl SelectConfig {
    /// Whether the budget is chosen on held-out classes.
    pub fn enabled(&self) -> bool {
        self.every > 0 || !self.budgets.is_empty()
    }

    /// The candidate budgets up to `configured` (sorted, the configured
    /// one included); empty when selecting along one run.
    pub fn candidates(&self, configured: u64) -> Vec<u64> {
        if self.budgets.is_empty() {
            return Vec::new();
        }
        let mut c: Vec<u64> = self
            .budgets
            .iter()
            .copied()
            .filter(|&b| b < configured)
            .collect();
        c.push(configured);
        c.sort_unstable();
        c.dedup();
        c
    }

    /// Check what does not depend on the data.
    pub fn validate(&self) -> Result<()> {
        if !self.enabled() {
            return Ok(());
        }
        if self.classes.is_empty() {
            if self.holdout < 2 {
                return Err(ModelError::config(
                    "select.holdout",
                    "hold out at least 2 classes (zero-shot among one class is always right)",
                ));
            }
            if self.folds == 0 {
                return Err(ModelError::config("select.folds", "must be at least 1"));
            }
        }
        for (i, fold) in self.classes.iter().enumerate() {
            if fold.len() < 2 {
                return Err(ModelError::config(
                    "select.classes",
                    format!("fold {i} ({fold:?}) holds out fewer than 2 classes"),
                ));
            }
        }
        if self.budgets.contains(&0) {
            return Err(ModelError::config(
                "select.budgets",
                "a candidate budget of 0 steps",
            ));
        }
        if self.smooth == 0 {
            return Err(ModelError::config(
                "select.smooth",
                "must be at least 1 (1: no smoothing)",
            ));
        }
        Ok(())
    }
}

/// One fold's validation curve: zero-shot macro-F1 among its held-out
/// classes on the validation split, by step (along one run) or by budget
/// (one run per candidate budget).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelectionFold {
    /// The classes this fold trained without.
    pub classes: Vec<String>,
    /// Windows of those classes that were scored (validation, and with
    /// `held_out_windows = "training_and_validation"` training ones too).
    pub val_windows: usize,
    /// `(step, score)` at every scored step: the criterion's value.
    pub curve: Vec<(u64, f64)>,
    /// `(step, macro-F1)` among the held-out classes.
    #[serde(default)]
    pub held_out_curve: Vec<(u64, f64)>,
    /// `(step, macro-F1)` among the fold's training classes on their
    /// validation windows (empty unless `criterion = "mean"`).
    #[serde(default)]
    pub seen_curve: Vec<(u64, f64)>,
    /// Whether `patience` stopped the run before its budget.
    pub stopped_early: bool,
}

/// The step budget chosen on held-out classes, and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepSelection {
    /// The chosen budget: the run trained on every class for this many
    /// steps.
    pub steps: u64,
    /// The (smoothed, fold-mean) criterion at that step.
    pub score: f64,
    /// The budget searched (the configured one).
    pub max_steps: u64,
    /// The fold-mean curve the choice was made on, before smoothing.
    pub mean_curve: Vec<(u64, f64)>,
    /// `"steps"` (scored along one run per fold) or `"budgets"` (one run
    /// per fold and candidate budget).
    pub mode: String,
    /// Each fold.
    pub folds: Vec<SelectionFold>,
}

/// The mean of the folds' curves over the steps every fold scored (folds
/// stopped early end the mean where the first of them stopped).
pub fn mean_curve(folds: &[SelectionFold]) -> Vec<(u64, f64)> {
    let Some(first) = folds.first() else {
        return Vec::new();
    };
    first
        .curve
        .iter()
        .filter_map(|&(step, _)| {
            let scores: Vec<f64> = folds
                .iter()
                .filter_map(|f| f.curve.iter().find(|(s, _)| *s == step).map(|(_, v)| *v))
                .collect();
            (scores.len() == folds.len())
                .then(|| (step, scores.iter().sum::<f64>() / scores.len() as f64))
        })
        .collect()
}

/// The step of the best score of `curve` after a centred moving average
/// over `smooth` points (shrunk at the ends), among steps ≥ `min_steps`
/// (all steps when none is); ties go to the earlier step. `None` for an
/// empty curve.
pub fn pick_step(curve: &[(u64, f64)], smooth: usize, min_steps: u64) -> Option<(u64, f64)> {
    let half = smooth.max(1) / 2;
    let smoothed: Vec<(u64, f64)> = (0..curve.len())
        .map(|i| {
            let lo = i.saturating_sub(half);
            let hi = (i + half + 1).min(curve.len());
            let w = &curve[lo..hi];
            (
                curve[i].0,
                w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64,
            )
        })
        .collect();
    let eligible: Vec<(u64, f64)> = if smoothed.iter().any(|p| p.0 >= min_steps) {
        smoothed.into_iter().filter(|p| p.0 >= min_steps).collect()
    } else {
        smoothed
    };
    eligible
        .into_iter()
        .fold(None, |best: Option<(u64, f64)>, p| match best {
            Some(b) if b.1 >= p.1 => Some(b),
            _ => Some(p),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_step_is_picked_after_smoothing_with_ties_to_the_earlier() {
        let curve = [(10, 0.5), (20, 0.9), (30, 0.6), (40, 0.8), (50, 0.8)];
        assert_eq!(pick_step(&curve, 1, 0), Some((20, 0.9)));
        // A lone spike loses to a plateau once smoothed over 3 points.
        let (step, score) = pick_step(&curve, 3, 0).unwrap();
        assert_eq!(step, 50);
        assert!((score - 0.8).abs() < 1e-12);
        assert_eq!(pick_step(&[(10, 0.7), (20, 0.7)], 1, 0), Some((10, 0.7)));
        assert_eq!(pick_step(&curve, 1, 30), Some((40, 0.8)));
        // min_steps beyond the curve: the whole curve is eligible.
        assert_eq!(pick_step(&curve, 1, 99), Some((20, 0.9)));
        assert_eq!(pick_step(&[], 3, 0), None);
    }

    #[test]
    fn folds_are_averaged_where_all_scored() {
        let fold = |curve: Vec<(u64, f64)>| SelectionFold {
            classes: vec!["a".into(), "b".into()],
            val_windows: 4,
            held_out_curve: curve.clone(),
            seen_curve: Vec::new(),
            curve,
            stopped_early: false,
        };
        let m = mean_curve(&[
            fold(vec![(10, 0.2), (20, 0.4), (30, 1.0)]),
            fold(vec![(10, 0.4), (20, 0.8)]),
        ]);
        assert_eq!(m.len(), 2);
        assert!((m[0].1 - 0.3).abs() < 1e-12 && (m[1].1 - 0.6).abs() < 1e-12);
        assert!(mean_curve(&[]).is_empty());
    }

    #[test]
    fn settings_are_checked() {
        let on = SelectConfig {
            every: 10,
            ..SelectConfig::default()
        };
        assert!(on.validate().is_ok());
        assert!(SelectConfig {
            holdout: 1,
            ..on.clone()
        }
        .validate()
        .is_err());
        assert!(SelectConfig {
            folds: 0,
            ..on.clone()
        }
        .validate()
        .is_err());
        assert!(SelectConfig {
            smooth: 0,
            ..on.clone()
        }
        .validate()
        .is_err());
        let one = SelectConfig {
            classes: vec![vec!["a".into()]],
            ..on
        };
        assert!(one.validate().unwrap_err().to_string().contains("fold 0"));
        let budgets = SelectConfig {
            budgets: vec![300, 75, 150, 600],
            ..SelectConfig::default()
        };
        assert!(budgets.enabled());
        assert_eq!(budgets.candidates(300), [75, 150, 300]);
        assert_eq!(budgets.candidates(1000), [75, 150, 300, 600, 1000]);
        assert_eq!(budgets.candidates(50), [50]);
        assert!(SelectConfig {
            budgets: vec![0],
            ..budgets
        }
        .validate()
        .is_err());
        // Off: nothing else is checked.
        assert!(SelectConfig {
            holdout: 0,
            ..SelectConfig::default()
        }
        .validate()
        .is_ok());
    }
}
