//! Choosing a sensor-language run's step budget on held-out classes
//! (`[select]`, see `wearlang_models::sensor_language::SelectConfig`).
//!
//! For each fold, selection runs train the same configuration without the
//! fold's classes and score zero-shot macro-F1 among those classes on the
//! **validation** split of the run's stores (the main one and every extra
//! store, each fold holding out classes of each data set in turn): one run into `<out>/select/fold_<i>/`,
//! scored every `select.every` steps and at its end, or (with
//! `select.budgets`) one run per candidate budget into
//! `<out>/select/fold_<i>/steps_<b>/`, scored at its end. The folds' curves
//! are averaged, smoothed, and the step (budget) of the best score becomes
//! the budget of the run itself, which then trains on every class. The choice is written to
//! `<out>/select/selection.json` (atomically) and reused when a run with
//! the same configuration and stores is started again (`--resume`, or the
//! unseen-activities protocol retraining); an interrupted selection is run
//! again from its start. The test split is never read.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};
use wearlang_captioning::{PromptOptions, PromptTemplates};
use wearlang_metrics::ClassificationReport;
use wearlang_models::sensor_language::{
    mean_curve, pick_step, HeldOutWindows, SelectConfig, SelectCriterion, SelectionFold,
    SensorLanguageConfig, SensorLanguageModel, SensorLanguageOptions, StepSelection,
};
use wearlang_models::{
    class_embeddings, load_validation_union_in, stack_rows, step_seed, SetOptions, WindowSet,
};

use crate::sensor_language::{configured_budget, fit, FitPlan, TrainingData};
use crate::{Result, TrainError};

/// The file under `<out>/select/` that records the choice.
pub const SELECTION_FILE: &str = "selection.json";

/// Windows scored per forward pass.
const SCORE_BATCH: usize = 256;

/// Validation windows of some classes, to classify zero-shot among them.
struct ZeroShotSet {
    /// The windows `[N, T, C]` (CPU).
    x: Tensor,
    /// Each window's class, an index into `classes`.
    truth: Vec<usize>,
    /// The candidate classes.
    classes: Vec<String>,
}

impl ZeroShotSet {
    /// The windows of `val` labelled with one of `classes`; with
    /// `require_all`, every class must have one (else the error names it),
    /// otherwise classes without a window are dropped from the candidates.
    fn new(val: &WindowSet, classes: &[String], require_all: bool, stores: &str) -> Result<Self> {
        let names = val.meta.labels.labels();
        let present = |c: &String| val.labels.iter().flatten().any(|&l| names[l] == *c);
        if let Some(missing) = classes.iter().find(|c| !present(c)).filter(|_| require_all) {
            return Err(TrainError::Data(format!(
                "select: the validation split of {stores} has no window of `{missing}` (held out \
                 with {classes:?}); hold out classes the validation subjects performed \
                 (`select.classes`)",
            )));
        }
        let classes: Vec<String> = classes.iter().filter(|c| present(c)).cloned().collect();
        if classes.len() < 2 {
            return Err(TrainError::Data(format!(
                "select: the validation split of {stores} has windows of {} of the classes \
                 {classes:?}; zero-shot scoring needs 2",
                classes.len()
            )));
        }
        let mut idx = Vec::new();
        let mut truth = Vec::new();
        for (i, l) in val.labels.iter().enumerate() {
            if let Some(c) = l.and_then(|l| classes.iter().position(|c| *c == names[l])) {
                idx.push(i);
                truth.push(c);
            }
        }
        Ok(ZeroShotSet {
            x: val.gather(&idx)?,
            truth,
            classes,
        })
    }

    /// The same windows and classes, sharing the tensor.
    fn view(&self) -> Self {
        ZeroShotSet {
            x: self.x.shallow_clone(),
            truth: self.truth.clone(),
            classes: self.classes.clone(),
        }
    }

    /// Add the windows of `set` labelled with one of the candidate classes.
    fn with_windows_of(mut self, set: &WindowSet) -> Result<Self> {
        let names = set.meta.labels.labels();
        let mut idx = Vec::new();
        for (i, l) in set.labels.iter().enumerate() {
            if let Some(c) = l.and_then(|l| self.classes.iter().position(|c| *c == names[l])) {
                idx.push(i);
                self.truth.push(c);
            }
        }
        if !idx.is_empty() {
            self.x = stack_rows(&[&self.x, &set.gather(&idx)?], set.home())?;
        }
        Ok(self)
    }

    /// Zero-shot macro-F1 of `model` (`wearlang_models::class_embeddings`:
    /// each window given the class of highest cosine similarity).
    fn macro_f1(&self, model: &SensorLanguageModel, templates: PromptTemplates) -> Result<f64> {
        let _no_grad = tch::no_grad_guard();
        let opts = PromptOptions {
            templates,
            knowledge: false,
        };
        let (cls, _) = class_embeddings(model, &self.classes, opts, SCORE_BATCH)?;
        let s = model.embed_windows(&self.x, SCORE_BATCH)?;
        let pred: Vec<i64> = Vec::try_from(s.f_matmul(&cls.f_tr()?)?.f_argmax(1, false)?)?;
        let pred: Vec<usize> = pred.into_iter().map(|p| p as usize).collect();
        let report = ClassificationReport::compute(&self.truth, &pred, self.classes.len())
            .map_err(|e| TrainError::Data(format!("select: zero-shot scoring: {e}")))?;
        Ok(report.macro_f1)
    }
}

/// Scores a selection run as it goes: zero-shot macro-F1 among the
/// held-out classes on their validation windows, and with `criterion =
/// "mean"` also among the run's training classes on theirs.
pub(crate) struct HeldOutScorer {
    held_out: ZeroShotSet,
    /// The training classes' validation windows (`criterion = "mean"`).
    seen: Option<ZeroShotSet>,
    templates: PromptTemplates,
    every: u64,
    patience: u64,
    /// `(step, criterion)` so far.
    curve: Vec<(u64, f64)>,
    held_out_curve: Vec<(u64, f64)>,
    seen_curve: Vec<(u64, f64)>,
    best: f64,
    /// Scores since the last new best.
    since_best: u64,
}

/// The windows a fold is scored on, gathered once per fold.
struct FoldWindows {
    held_out: ZeroShotSet,
    /// The training classes' validation windows (`criterion = "mean"`).
    seen: Option<ZeroShotSet>,
}

impl FoldWindows {
    /// The windows of a fold that holds out `classes` and trains on
    /// `training` (`val`: the validation windows of `stores`; `train`: the
    /// run's training windows).
    fn new(
        (val, train): (&WindowSet, &WindowSet),
        (classes, training): (&[String], &[String]),
        sel: &SelectConfig,
        stores: &str,
    ) -> Result<Self> {
        let mut held_out = ZeroShotSet::new(val, classes, true, stores)?;
        if sel.held_out_windows == HeldOutWindows::TrainingAndValidation {
            held_out = held_out.with_windows_of(train)?;
        }
        let seen = match sel.criterion {
            SelectCriterion::HeldOut => None,
            SelectCriterion::Mean => Some(ZeroShotSet::new(val, training, false, stores)?),
        };
        Ok(FoldWindows { held_out, seen })
    }
}

impl HeldOutScorer {
    /// A scorer of `windows`, scored every `every` steps and at the end;
    /// `patience` as in [`SelectConfig`].
    fn new(windows: &FoldWindows, sel: &SelectConfig, (every, patience): (u64, u64)) -> Self {
        HeldOutScorer {
            held_out: windows.held_out.view(),
            seen: windows.seen.as_ref().map(ZeroShotSet::view),
            templates: sel.templates,
            every,
            patience,
            curve: Vec::new(),
            held_out_curve: Vec::new(),
            seen_curve: Vec::new(),
            best: f64::NEG_INFINITY,
            since_best: 0,
        }
    }

    /// Score after `done` of `total` steps when due (every `every` steps
    /// and at the end).
    pub(crate) fn after_step(
        &mut self,
        model: &SensorLanguageModel,
        done: u64,
        total: u64,
    ) -> Result<()> {
        if !done.is_multiple_of(self.every) && done != total {
            return Ok(());
        }
        let held = self.held_out.macro_f1(model, self.templates)?;
        self.held_out_curve.push((done, held));
        let score = match &self.seen {
            Some(seen) => {
                let f1 = seen.macro_f1(model, self.templates)?;
                self.seen_curve.push((done, f1));
                (held + f1) / 2.0
            }
            None => held,
        };
        self.curve.push((done, score));
        if score > self.best {
            self.best = score;
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        Ok(())
    }

    /// Whether `patience` scores in a row brought no new best.
    pub(crate) fn out_of_patience(&self) -> bool {
        self.patience > 0 && self.since_best >= self.patience
    }
}

/// What `selection.json` holds: the choice and what it was made for.
#[derive(Serialize, Deserialize)]
struct SelectionRecord {
    config: SensorLanguageConfig,
    store: PathBuf,
    extra_stores: Vec<PathBuf>,
    selection: StepSelection,
}

/// The classes held out in each fold: `select.classes` (each one checked
/// against the training classes), or `select.folds` disjoint groups of
/// `select.holdout` classes drawn with `select.seed` from those training
/// classes that have windows in the validation split. `validated` lists
/// those classes per training store (a class in the group of the first
/// store whose validation split has it; a class only in a store without
/// validation windows cannot be scored): each store's classes are put in
/// a seeded order, and the stores take turns, so that every fold holds
/// out classes of every data set as far as its size allows (with one store,
/// the seeded order itself). Each fold leaves at least two classes to
/// train on.
pub fn holdout_folds(
    sel: &SelectConfig,
    training_classes: &[String],
    validated: &[Vec<String>],
) -> Result<Vec<Vec<String>>> {
    if !sel.classes.is_empty() {
        for fold in &sel.classes {
            if let Some(bad) = fold.iter().find(|c| !training_classes.contains(c)) {
                return Err(TrainError::config(
                    "select.classes",
                    format!(
                        "`{bad}` is not a training class (training classes: {training_classes:?})"
                    ),
                ));
            }
            if training_classes.len() < fold.len() + 2 {
                return Err(TrainError::config(
                    "select.classes",
                    format!(
                        "holding out {fold:?} leaves fewer than 2 of the training classes \
                         {training_classes:?} to train on"
                    ),
                ));
            }
        }
        return Ok(sel.classes.clone());
    }
    // Per store, its eligible classes in a seeded order: each class keyed
    // by a hash of (seed, its name); a class counts once, in the first
    // store that has it.
    let mut seen: Vec<&String> = Vec::new();
    let per_store: Vec<Vec<&String>> = validated
        .iter()
        .map(|group| {
            let mut keyed: Vec<(u64, &String)> = group
                .iter()
                .filter(|c| training_classes.contains(c))
                .filter(|c| {
                    let new = !seen.contains(c);
                    if new {
                        seen.push(c);
                    }
                    new
                })
                .map(|c| {
                    let h = c.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
                    });
                    (step_seed(sel.seed, h), c)
                })
                .collect();
            keyed.sort();
            keyed.into_iter().map(|(_, c)| c).collect()
        })
        .collect();
    let eligible = seen.len();
    let need = sel.holdout * sel.folds;
    if need > eligible || sel.holdout + 2 > training_classes.len() {
        return Err(TrainError::config(
            "select.holdout",
            format!(
                "{} disjoint fold(s) of {} held-out classes, each leaving at least 2 to train \
                 on, need {} training classes with validation windows and {} in all; the run \
                 has {seen:?} of {training_classes:?}",
                sel.folds,
                sel.holdout,
                need,
                sel.holdout + 2,
            ),
        ));
    }
    // The stores take turns: the first class of each, then the second, …
    let longest = per_store.iter().map(Vec::len).max().unwrap_or(0);
    let order: Vec<&String> = (0..longest)
        .flat_map(|i| per_store.iter().filter_map(move |g| g.get(i).copied()))
        .collect();
    Ok(order
        .chunks(sel.holdout)
        .take(sel.folds)
        .map(|chunk| {
            let mut fold: Vec<String> = chunk.iter().map(|c| (*c).clone()).collect();
            fold.sort();
            fold
        })
        .collect())
}

/// Choose the budget of `cfg` on held-out classes (see the module doc),
/// or reuse the choice `<out>/select/selection.json` recorded for the same
/// configuration and stores.
pub(crate) fn choose_budget(
    cfg: &SensorLanguageConfig,
    opts: &SensorLanguageOptions,
    data: &TrainingData,
    device: Device,
) -> Result<StepSelection> {
    let dir = opts.out.join("select");
    let record_path = dir.join(SELECTION_FILE);
    if let Some(prev) = std::fs::read(&record_path)
        .ok()
        .and_then(|b| serde_json::from_slice::<SelectionRecord>(&b).ok())
    {
        if prev.config == *cfg && prev.store == opts.store && prev.extra_stores == opts.extra_stores
        {
            return Ok(prev.selection);
        }
    }
    let names = data.set.meta.labels.labels();
    let mut present: Vec<String> = data
        .set
        .labels
        .iter()
        .flatten()
        .map(|&l| names[l].clone())
        .collect();
    present.sort();
    present.dedup();
    // Only labels and values are read (kept where the training set's are).
    let how = SetOptions {
        home: opts.values.clone(),
        captions: Some(Vec::new()),
    };
    // The validation windows of every training store, on the scale the
    // run trains at: a held-out class of any data set can be scored.
    let mut stores = vec![opts.store.as_path()];
    stores.extend(opts.extra_stores.iter().map(PathBuf::as_path));
    let described = stores
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let (val, counts) =
        load_validation_union_in(&stores, cfg.normalisation, &how).map_err(|e| {
            TrainError::Data(format!(
                "select: the step budget is chosen on the validation split of {}, which cannot be \
             read ({e}); give the store a validation split or turn `[select]` off",
                described
            ))
        })?;
    let val_names = val.meta.labels.labels();
    let mut validated: Vec<Vec<String>> = Vec::with_capacity(counts.len());
    let mut first = 0;
    for n in counts {
        let mut group: Vec<String> = val.labels[first..first + n]
            .iter()
            .flatten()
            .map(|&l| val_names[l].clone())
            .filter(|c| present.contains(c))
            .collect();
        group.sort();
        group.dedup();
        validated.push(group);
        first += n;
    }
    let folds = holdout_folds(&cfg.select, &present, &validated)?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| TrainError::Io {
            path: dir.clone(),
            cause: e,
        })?;
    }
    let configured = configured_budget(cfg, data.set.len());
    let candidates = cfg.select.candidates(configured);
    let sets = (&val, &data.set);
    let mut done = Vec::with_capacity(folds.len());
    for (i, classes) in folds.iter().enumerate() {
        let keep: Vec<usize> = (0..data.set.len())
            .filter(|&w| data.set.labels[w].is_none_or(|l| !classes.contains(&names[l])))
            .collect();
        let mut fold_cfg = cfg.clone();
        fold_cfg.name = format!("{}-select-{i}", cfg.name);
        fold_cfg.exclude_labels.extend(classes.iter().cloned());
        fold_cfg.select = SelectConfig::default();
        let fold_dir = dir.join(format!("fold_{i}"));
        let training: Vec<String> = present
            .iter()
            .filter(|c| !classes.contains(c))
            .cloned()
            .collect();
        let windows = FoldWindows::new(sets, (classes, &training), &cfg.select, &described)?;
        let fold_data = || -> Result<TrainingData> {
            Ok(TrainingData {
                set: data.set.select(&keep)?,
                unlabelled_skipped: data.unlabelled_skipped,
                needs_labels: data.needs_labels,
            })
        };
        let fold_opts = |out: PathBuf| SensorLanguageOptions {
            out,
            resume: false,
            stop_after: None,
            ..opts.clone()
        };
        let fold = if candidates.is_empty() {
            // Along one run of the configured budget.
            let schedule = (cfg.select.every, cfg.select.patience);
            let mut scorer = HeldOutScorer::new(&windows, &cfg.select, schedule);
            let set = fold_data()?;
            let budget = configured_budget(cfg, set.set.len());
            let summary = fit(
                &fold_cfg,
                &fold_opts(fold_dir),
                set,
                device,
                FitPlan::Select(&mut scorer),
            )?;
            SelectionFold {
                classes: classes.clone(),
                val_windows: scorer.held_out.truth.len(),
                stopped_early: summary.steps < budget,
                curve: scorer.curve,
                held_out_curve: scorer.held_out_curve,
                seen_curve: scorer.seen_curve,
            }
        } else {
            // One whole run per candidate budget, scored at its end.
            let (mut curve, mut held_out_curve, mut seen_curve) = (vec![], vec![], vec![]);
            for &b in &candidates {
                let mut c = fold_cfg.clone();
                c.max_steps = b;
                let mut scorer = HeldOutScorer::new(&windows, &cfg.select, (b, 0));
                fit(
                    &c,
                    &fold_opts(fold_dir.join(format!("steps_{b}"))),
                    fold_data()?,
                    device,
                    FitPlan::Select(&mut scorer),
                )?;
                if scorer.curve.is_empty() {
                    return Err(TrainError::Data(format!(
                        "select: the {b}-step run was not scored"
                    )));
                }
                curve.extend(scorer.curve.last());
                held_out_curve.extend(scorer.held_out_curve.last());
                seen_curve.extend(scorer.seen_curve.last());
            }
            SelectionFold {
                classes: classes.clone(),
                val_windows: windows.held_out.truth.len(),
                stopped_early: false,
                curve,
                held_out_curve,
                seen_curve,
            }
        };
        done.push(fold);
        wearlang_device::release_free_memory();
    }
    let mean = mean_curve(&done);
    let (steps, score) =
        pick_step(&mean, cfg.select.smooth, cfg.select.min_steps).ok_or_else(|| {
            TrainError::Data("select: no step was scored on the held-out classes".into())
        })?;
    let selection = StepSelection {
        steps,
        score,
        max_steps: configured,
        mean_curve: mean,
        mode: if candidates.is_empty() {
            "steps"
        } else {
            "budgets"
        }
        .into(),
        folds: done,
    };
    let record = SelectionRecord {
        config: cfg.clone(),
        store: opts.store.clone(),
        extra_stores: opts.extra_stores.clone(),
        selection: selection.clone(),
    };
    let json = serde_json::to_vec_pretty(&record)
        .map_err(|e| TrainError::Data(format!("select: writing {}: {e}", record_path.display())))?;
    wearlang_core::fs::write_atomic(&record_path, &json)?;
    Ok(selection)
}
