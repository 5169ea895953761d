//! Sensor-language training on the engine: batches of windows and their
//! text prepared on the prefetch thread, the model's loss as the step; with
//! `[select]`, the budget chosen first on held-out classes (`select.rs`).

use std::path::PathBuf;

use tch::{Device, Tensor};

use wearlang_models::sensor_language::{
    resolve_minilm_dir, Batch, SensorLanguageCheckpointConfig, SensorLanguageConfig,
    SensorLanguageModel, SensorLanguageOptions, SensorLanguageSummary, StepSelection, TextSampler,
    ACTIVITY,
};
use wearlang_models::{load_training_union_in, step_seed, SetOptions, WindowSet};
use wearlang_optim::AdamW;

use crate::engine::{self, BatchSource, LoopConfig, Step, StepLoss};
use crate::{Result, TrainError};

/// The training windows and their text, batched on the engine's prefetch
/// thread (windows, texts drawn for the epoch, labels when needed).
struct TextBatches<'a> {
    set: WindowSet,
    sampler: &'a TextSampler,
    labels: bool,
}

/// One prepared batch, before it moves to the device.
struct Prepared {
    x: Tensor,
    texts: Vec<String>,
    labels: Option<Tensor>,
}

impl BatchSource for TextBatches<'_> {
    type Batch = Prepared;
    type Error = TrainError;
    fn batch(&self, idx: &[usize], epoch: u64) -> Result<Prepared> {
        let x = self.set.batch(idx, Device::Cpu)?;
        let texts = idx
            .iter()
            .map(|&i| self.sampler.text(&self.set.windows[i], i, epoch))
            .collect::<Result<Vec<_>>>()?;
        let labels = if self.labels {
            Some(self.set.label_batch(idx, Device::Cpu)?)
        } else {
            None
        };
        Ok(Prepared { x, texts, labels })
    }
}

/// One sensor-language step: augmentations and dropout seeded by
/// `(seed, step)`; learnable temperatures clamped after each update.
struct ContrastiveStep<'a> {
    model: &'a SensorLanguageModel,
    seed: u64,
    device: Device,
    /// Scores held-out classes as the run goes (selection runs).
    scorer: Option<&'a mut crate::select::HeldOutScorer>,
}

impl Step<Prepared> for ContrastiveStep<'_> {
    type Error = TrainError;
    fn loss(&mut self, step: u64, p: Prepared) -> Result<StepLoss> {
        let seed = step_seed(self.seed, step);
        tch::manual_seed(seed as i64);
        let batch = Batch {
            x: p.x.to_device(self.device),
            texts: p.texts,
            labels: p.labels.map(|l| l.to_device(self.device)),
            seed,
        };
        let out = self.model.loss(&batch, true)?;
        Ok(StepLoss {
            total: out.total,
            terms: out.terms,
        })
    }

    fn after_update(&mut self) {
        self.model.clamp_();
    }

    fn after_step(&mut self, done: u64, total: u64) -> Result<()> {
        match self.scorer.as_deref_mut() {
            Some(s) => s.after_step(self.model, done, total),
            None => Ok(()),
        }
    }

    fn stop_early(&self) -> bool {
        self.scorer.as_deref().is_some_and(|s| s.out_of_patience())
    }
}

/// Drop the windows whose label is in `exclude` (every name must be in the
/// store's vocabulary).
fn exclude_labels(
    set: WindowSet,
    exclude: &[String],
    opts: &SensorLanguageOptions,
) -> Result<WindowSet> {
    if exclude.is_empty() {
        return Ok(set);
    }
    for l in exclude {
        if set.meta.labels.index(l).is_err() {
            return Err(TrainError::config(
                "exclude_labels",
                format!(
                    "`{l}` is not a label of {} (labels: {:?})",
                    opts.store.display(),
                    set.meta.labels.labels()
                ),
            ));
        }
    }
    let dropped = set.indices_with_labels(exclude);
    let keep: Vec<usize> = (0..set.len())
        .filter(|i| dropped.binary_search(i).is_err())
        .collect();
    if keep.is_empty() {
        return Err(TrainError::Data(format!(
            "{}: no training window left after excluding {exclude:?}",
            opts.store.display()
        )));
    }
    set.select(&keep)
}

/// The training windows of a run: its stores' training splits as one set,
/// less `exclude_labels`, less unlabelled windows when the text or the
/// objective needs labels.
pub(crate) struct TrainingData {
    /// The windows to train on.
    pub set: WindowSet,
    /// Unlabelled windows left out.
    pub unlabelled_skipped: usize,
    /// Whether batches carry labels.
    pub needs_labels: bool,
}

/// Load the training windows `cfg` trains on (see [`TrainingData`]), each
/// with only the captions its text variants read.
fn training_data(cfg: &SensorLanguageConfig, opts: &SensorLanguageOptions) -> Result<TrainingData> {
    let mut stores = vec![opts.store.as_path()];
    stores.extend(opts.extra_stores.iter().map(PathBuf::as_path));
    let how = SetOptions {
        home: opts.values.clone(),
        captions: Some(cfg.text.caption_columns()),
    };
    let (union, _) = load_training_union_in(&stores, cfg.normalisation, &how)?;
    let train = exclude_labels(union, &cfg.exclude_labels, opts)?;
    // Text from labels (the `activity` variant) and objectives that need
    // labels cannot use unlabelled windows (a real recording between
    // labelled intervals): leave them out and say how many.
    let needs_labels =
        cfg.objective.needs_labels() || cfg.text.variants.iter().any(|v| v == ACTIVITY);
    if !needs_labels {
        return Ok(TrainingData {
            set: train,
            unlabelled_skipped: 0,
            needs_labels,
        });
    }
    let labelled: Vec<usize> = (0..train.len())
        .filter(|&i| train.labels[i].is_some())
        .collect();
    if labelled.is_empty() {
        return Err(TrainError::Data(format!(
            "{}: no labelled training window, and {} needs labels (its text variants {:?} \
             or its objective)",
            opts.store.display(),
            cfg.name,
            cfg.text.variants
        )));
    }
    let skipped = train.len() - labelled.len();
    let set = if skipped > 0 {
        train.select(&labelled)?
    } else {
        train
    };
    Ok(TrainingData {
        set,
        unlabelled_skipped: skipped,
        needs_labels,
    })
}

/// Run (or resume) sensor-language training as configured. With
/// `[select]` on, the step budget is first chosen on held-out classes (see
/// [`crate::select`]); the run then trains on every class for that budget
/// and records the choice in its checkpoint.
pub fn train_sensor_language(
    cfg: &SensorLanguageConfig,
    opts: &SensorLanguageOptions,
) -> Result<SensorLanguageSummary> {
    cfg.validate()?;
    // Two runs into one directory would mix their checkpoints and logs.
    let _lock = wearlang_core::fs::lock_run_dir(&opts.out)?;
    let device = wearlang_device::parse_device(&cfg.device)?;
    wearlang_device::set_threads(cfg.threads);
    let data = training_data(cfg, opts)?;
    let selection = if cfg.select.enabled() {
        Some(crate::select::choose_budget(cfg, opts, &data, device)?)
    } else {
        None
    };
    fit(cfg, opts, data, device, FitPlan::Final { selection })
}

/// The steps a run of `cfg` on `n` windows trains for without selection
/// (`max_steps`, else `epochs` passes).
pub(crate) fn configured_budget(cfg: &SensorLanguageConfig, n: usize) -> u64 {
    LoopConfig::total(n, cfg.batch_size.min(n), cfg.epochs, cfg.max_steps)
}

/// What [`fit`] trains for.
pub(crate) enum FitPlan<'a> {
    /// The run itself: its configured budget, or the selected one.
    Final {
        /// The budget chosen on held-out classes, if it was.
        selection: Option<StepSelection>,
    },
    /// A selection run: the configured budget, scoring held-out classes on
    /// the validation split as it goes.
    Select(&'a mut crate::select::HeldOutScorer),
}

/// Train a model of `cfg` on `data` into `opts.out` (see [`FitPlan`]).
pub(crate) fn fit(
    cfg: &SensorLanguageConfig,
    opts: &SensorLanguageOptions,
    data: TrainingData,
    device: Device,
    plan: FitPlan<'_>,
) -> Result<SensorLanguageSummary> {
    let TrainingData {
        set: train,
        unlabelled_skipped,
        needs_labels,
    } = data;
    let sampler = TextSampler::new(&cfg.text, cfg.seed);
    sampler.check(&train.windows)?;
    let n = train.len();
    if n < 2 {
        return Err(TrainError::Data(format!(
            "{}: {n} training window(s); contrastive training needs at least 2",
            opts.store.display()
        )));
    }
    let bs = cfg.batch_size.min(n);
    let configured = configured_budget(cfg, n);
    let (total, selection, scorer) = match plan {
        FitPlan::Final { selection } => (
            selection.as_ref().map_or(configured, |s| s.steps),
            selection,
            None,
        ),
        FitPlan::Select(scorer) => (configured, None, Some(scorer)),
    };
    let minilm_dir = resolve_minilm_dir(cfg, opts.minilm_dir.as_deref());

    // Torch's generator is shared by the whole process: hold it for the run.
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(cfg.seed as i64);
    let corpus = sampler.corpus(&train.windows);
    let mut model = SensorLanguageModel::new(
        cfg,
        train.steps(),
        train.channels(),
        &minilm_dir,
        device,
        &corpus,
    )?;
    model.warm_text_cache(&corpus)?;
    let mut opt = AdamW::new(&model.vs, cfg.optim.clone())?;
    let ckpt_cfg = SensorLanguageCheckpointConfig {
        kind: "sensor_language".into(),
        run: cfg.clone(),
        model: model.resolved().clone(),
        text: model.text_identity().clone(),
        channels: train.meta.channels.iter().map(|c| c.name.clone()).collect(),
        channel_specs: train.meta.channels.clone(),
        labels: train.meta.labels.labels().to_vec(),
        store: opts.store.clone(),
        extra_stores: opts.extra_stores.clone(),
        selection: selection.clone(),
        normalisation: train.meta.normalisation.clone(),
        wise_ft: None,
    };
    // Recorded in each checkpoint; `--resume` requires the same.
    let record = engine::RunRecord::of_stores(&ckpt_cfg, &opts.store, &opts.extra_stores)?;
    let state = engine::initial_state(
        &opts.out,
        opts.resume,
        &mut model.vs,
        &mut opt,
        total,
        &record,
        &[],
    )?;
    let loop_cfg = LoopConfig {
        seed: cfg.seed,
        items: n,
        batch_size: bs,
        total_steps: total,
        log_every: cfg.log_every,
        checkpoint_every: cfg.checkpoint_every,
        lr: cfg.optim.lr,
        schedule: cfg.schedule.clone(),
        out: Some(opts.out.clone()),
        progress: opts.progress,
        stop_after: opts.stop_after,
    };
    let source = TextBatches {
        set: train,
        sampler: &sampler,
        labels: needs_labels,
    };
    let mut step = ContrastiveStep {
        model: &model,
        seed: cfg.seed,
        device,
        scorer,
    };
    let outcome = engine::run(
        &loop_cfg, source, &mut step, &model.vs, &mut opt, state, &record,
    )?;
    let done = outcome.state.step - outcome.start_step;
    let elapsed = outcome.elapsed_s.max(1e-9);
    Ok(SensorLanguageSummary {
        steps: outcome.state.step,
        train_windows: n,
        unlabelled_skipped,
        parameters: model.num_parameters(),
        final_loss: outcome.final_loss,
        samples_per_s: (done * bs as u64) as f64 / elapsed,
        data_wait_fraction: outcome.data_wait_s / elapsed,
        checkpoint: outcome.checkpoint.unwrap_or_else(|| opts.out.clone()),
        selection,
    })
}
