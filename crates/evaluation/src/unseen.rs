//! Unseen activities (NLS): partition the classes into groups; for each
//! group, train the same sensor-language model (the evaluated run's config)
//! without the group's training windows, then classify the group's test
//! windows zero-shot among the group's classes. Macro-F1 is averaged over
//! the groups.
//!
//! The per-group runs live under `<work_dir>/unseen_<g>/`. A run whose
//! checkpoint is finished with the same configuration is reused, an
//! interrupted one is resumed, anything else is trained afresh.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use wearlang_captioning::PromptTemplates;
use wearlang_models::checkpoint::{self, CONFIG_FILE, STATE_FILE};
use wearlang_models::{
    load_sensor_language, SensorLanguageCheckpointConfig, SensorLanguageConfig,
    SensorLanguageOptions, TrainState,
};

use crate::context::{EvalContext, Evaluator};
use crate::results::{ProtocolResult, UnseenGroup, UnseenResult};
use crate::zero_shot::{zero_shot, ZeroShotConfig};
use crate::{EvalError, Result};

/// Unseen-activity settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnseenConfig {
    /// Explicit groups of class names (empty: `n_groups` seeded groups).
    pub groups: Vec<Vec<String>>,
    /// Number of groups when `groups` is empty (fewer when the test split
    /// has too few classes for groups of ≥ 2; skipped below 4 classes).
    pub n_groups: usize,
    /// Seed of the automatic partition.
    pub seed: u64,
    /// Training steps of each run (0: the evaluated run's budget: the one
    /// it chose on held-out classes when it did (`[select]`), else its
    /// configured one).
    pub steps: u64,
}

impl Default for UnseenConfig {
    fn default() -> Self {
        UnseenConfig {
            groups: Vec::new(),
            n_groups: 3,
            seed: 0,
            steps: 0,
        }
    }
}

/// The unseen-activities protocol.
pub struct UnseenEval(pub UnseenConfig);

/// Split `classes` into `n` groups: a ChaCha8 shuffle seeded with `seed`,
/// then dealt round-robin (sizes differ by at most one). Every group needs
/// at least 2 classes (zero-shot among one class is always right), so
/// `2 ≤ n ≤ classes / 2`.
pub fn partition_classes(classes: &[String], n: usize, seed: u64) -> Result<Vec<Vec<String>>> {
    if n < 2 || 2 * n > classes.len() {
        return Err(EvalError::param(
            "unseen.n_groups",
            format!(
                "{n} groups of {} classes: need 2 ≤ groups ≤ classes / 2 (each group ≥ 2 classes)",
                classes.len()
            ),
        ));
    }
    let mut c = classes.to_vec();
    c.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut groups = vec![Vec::new(); n];
    for (i, name) in c.into_iter().enumerate() {
        groups[i % n].push(name);
    }
    for g in &mut groups {
        g.sort();
    }
    Ok(groups)
}

/// The budget of each group's run and where it came from: an explicit
/// `unseen.steps`, else the budget the evaluated run chose on held-out
/// classes, else its configured `max_steps` (0: its epochs decide).
pub fn run_budget(explicit: u64, selected: Option<u64>, configured: u64) -> (u64, &'static str) {
    match (explicit, selected) {
        (s, _) if s > 0 => (s, "unseen.steps"),
        (_, Some(s)) => (s, "selected on held-out classes"),
        _ => (configured, "the run's budget"),
    }
}

/// The classes (names) that occur in the test split, in vocabulary order.
fn present_classes(ctx: &EvalContext) -> Vec<String> {
    ctx.classes
        .iter()
        .enumerate()
        .filter(|(c, _)| ctx.test.labels.contains(&Some(*c)))
        .map(|(_, n)| n.clone())
        .collect()
}

/// Whether `dir` holds a finished run of exactly `cfg`: `Some(true)`;
/// an unfinished one of `cfg`: `Some(false)`; else `None`.
fn existing_run(dir: &Path, cfg: &SensorLanguageConfig) -> Option<bool> {
    let ckpt = checkpoint::find_checkpoint(dir)?;
    let saved: SensorLanguageCheckpointConfig = checkpoint::read_json(&ckpt, CONFIG_FILE).ok()?;
    let state: TrainState = checkpoint::read_json(&ckpt, STATE_FILE).ok()?;
    (saved.run == *cfg).then_some(state.finished)
}

impl Evaluator for UnseenEval {
    fn name(&self) -> &'static str {
        "unseen"
    }

    fn skip_reason(&self, ctx: &EvalContext) -> Option<String> {
        if !ctx.model.has_text_alignment() {
            return Some("the model has no contrastive text alignment".into());
        }
        if ctx.model.sensor_language_config().is_none() {
            return Some("the model has no sensor-language configuration to retrain".into());
        }
        let k = present_classes(ctx).len();
        (self.0.groups.is_empty() && k < 4).then(|| {
            format!("{k} classes in the test split: too few for 2 held-out groups of ≥ 2 classes")
        })
    }

    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult> {
        let present = present_classes(ctx);
        let groups = if self.0.groups.is_empty() {
            // As many of the configured groups as leave ≥ 2 classes in each.
            let n = self.0.n_groups.min(present.len() / 2);
            partition_classes(&present, n, self.0.seed)?
        } else {
            for g in &self.0.groups {
                if g.len() < 2 {
                    return Err(EvalError::param(
                        "unseen.groups",
                        format!("group {g:?} has fewer than 2 classes (zero-shot among one class is always right)"),
                    ));
                }
                if let Some(bad) = g.iter().find(|c| !ctx.classes.contains(c)) {
                    return Err(EvalError::param(
                        "unseen.groups",
                        format!("`{bad}` is not a label of the store ({:?})", ctx.classes),
                    ));
                }
            }
            self.0.groups.clone()
        };
        let trainer = ctx.trainer(self.name())?;
        let base_cfg = ctx.model.sensor_language_config().ok_or_else(|| {
            EvalError::Data("unseen: the model has no sensor-language configuration".into())
        })?;
        let (steps, steps_from) = run_budget(
            self.0.steps,
            ctx.model.step_selection().map(|s| s.steps),
            base_cfg.max_steps,
        );
        let mut out = Vec::new();
        for (g, classes) in groups.iter().enumerate() {
            let mut cfg = base_cfg.clone();
            cfg.exclude_labels = classes.clone();
            cfg.name = format!("{}-unseen-{g}", base_cfg.name);
            cfg.max_steps = steps;
            // The budget is chosen: no selection inside the group's run
            // (it would hold out classes of a run already short of some).
            cfg.select = Default::default();
            let dir = ctx.work_dir.join(format!("unseen_{g}"));
            let existing = existing_run(&dir, &cfg);
            if existing.is_none() && dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| EvalError::Io {
                    path: dir.clone(),
                    cause: e,
                })?;
            }
            if existing != Some(true) {
                trainer.train_sensor_language(
                    &cfg,
                    &SensorLanguageOptions {
                        store: ctx.store.to_path_buf(),
                        extra_stores: Vec::new(),
                        out: dir.clone(),
                        resume: existing == Some(false),
                        progress: ctx.progress,
                        stop_after: None,
                        minilm_dir: ctx.minilm_dir.clone(),
                        values: Default::default(),
                    },
                )?;
            }
            let loaded = load_sensor_language(&dir, ctx.minilm_dir.as_deref(), ctx.model.device())?;
            let idx = ctx.test.indices_with_labels(classes);
            let test = ctx.test.select(&idx).map_err(|_| {
                EvalError::Data(format!("unseen: no test window of group {classes:?}"))
            })?;
            let zs = |templates, knowledge, candidates: &[String]| {
                zero_shot(
                    &loaded.model,
                    &test,
                    candidates,
                    &ZeroShotConfig {
                        templates,
                        knowledge,
                        batch: 256,
                    },
                )
            };
            let base = zs(PromptTemplates::Base, false, classes)?;
            let ensemble = zs(PromptTemplates::All, false, classes)?;
            let knowledge = zs(PromptTemplates::All, true, classes)?;
            let all = zs(PromptTemplates::All, false, &ctx.classes)?;
            let train_windows = ctx.train.len() - ctx.train.indices_with_labels(classes).len();
            out.push(UnseenGroup {
                classes: classes.clone(),
                train_windows,
                base,
                ensemble,
                knowledge,
                accuracy_among_all: all.report.accuracy,
                reused: existing == Some(true),
            });
        }
        let mean = |f: fn(&UnseenGroup) -> f64| out.iter().map(f).sum::<f64>() / out.len() as f64;
        Ok(ProtocolResult::Unseen(UnseenResult {
            steps,
            steps_from: steps_from.into(),
            mean_macro_f1_base: mean(|g| g.base.report.macro_f1),
            mean_macro_f1_ensemble: mean(|g| g.ensemble.report.macro_f1),
            mean_macro_f1_knowledge: mean(|g| g.knowledge.report.macro_f1),
            mean_chance: mean(|g| 1.0 / g.classes.len() as f64),
            groups: out,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::run_budget;

    #[test]
    fn an_explicit_budget_wins_then_the_selected_one() {
        assert_eq!(run_budget(40, Some(120), 300), (40, "unseen.steps"));
        assert_eq!(
            run_budget(0, Some(120), 300),
            (120, "selected on held-out classes")
        );
        assert_eq!(run_budget(0, None, 300), (300, "the run's budget"));
    }
}
