//! SensorLLM's two stages on the training engine.
//!
//! - [`align_sensorllm`] (stage 1): projector and per-channel special tokens
//!   learn to make the frozen LLM write each training window's trend
//!   description (the caption column `align.caption`).
//! - [`tune_sensorllm`] (stage 2): from a stage-1 run, a classification head
//!   on the LLM's pooled final state (`tune.pool`; standardised with the
//!   statistics of `tune.norm_windows` training windows), optionally with
//!   projector and special tokens (`tune.train_projector`) and LoRA
//!   adapters on the LLM's attention (`[tune.lora]`), trained with (inverse-frequency weighted) cross-entropy on the labelled
//!   training windows. Every `tune.eval_every` steps the validation split's
//!   macro-F1 is scored and the best weights are written to
//!   `<out>/selected/` (atomically, with the score), which loaders prefer;
//!   without a validation split the training windows are scored, and the
//!   summary says so.
//!
//! Both resume exactly (`resume: true`), log `metrics.jsonl` and write
//! atomic checkpoints holding only the trained variables.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};
use wearlang_core::{evenly_spaced, Split};
use wearlang_llm::LlmModel;
use wearlang_metrics::ClassificationReport;
use wearlang_models::checkpoint::{self, STATE_FILE};
use wearlang_models::{load_training_windows, WindowSet};
use wearlang_optim::AdamW;
use wearlang_sensorllm::{
    questions, AnswerScope, Embedder, SensorLlm, SensorLlmCheckpointConfig, SensorLlmConfig,
    StageConfig,
};

use crate::engine::{self, BatchSource, LoopConfig, Step, StepLoss};
use crate::supervised::{class_weights, weighted_cross_entropy};
use crate::{Result, TrainError};

/// Where a SensorLLM stage reads and writes.
#[derive(Clone, Debug)]
pub struct SensorLlmOptions {
    /// The window store (with the caption column for stage 1, labels for
    /// stage 2).
    pub store: PathBuf,
    /// Stage 1: the run whose encoder reads the windows (`wearlang pretrain`,
    /// or `wearlang train` for its sensor encoder).
    /// Stage 2: the stage-1 run to start from.
    pub from: PathBuf,
    /// The run directory.
    pub out: PathBuf,
    /// Continue from `out`'s checkpoint.
    pub resume: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Stop (resumable) once this many steps in total are done.
    pub stop_after: Option<u64>,
}

/// What a finished stage reports.
#[derive(Clone, Debug, Serialize)]
pub struct SensorLlmSummary {
    /// Steps run in total.
    pub steps: u64,
    /// Training windows used.
    pub train_windows: usize,
    /// Mean loss of the last logged steps.
    pub final_loss: f64,
    /// Training windows per second of this invocation, its setup (loading
    /// the models, precomputing states, the head's statistics) included.
    pub samples_per_s: f64,
    /// Stage 2: the selected model's validation macro-F1 and its step.
    pub selected: Option<Selection>,
    /// Stage 2: the split the selection scored (`val`, or `train` when the
    /// store has no validation split).
    pub selection_split: Option<String>,
    /// The final checkpoint.
    pub checkpoint: PathBuf,
}

/// The model stage 2 kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Selection {
    /// Steps done when it was scored.
    pub step: u64,
    /// Its macro-F1 on the selection split.
    pub macro_f1: f64,
}

fn loop_config(train: &StageConfig, seed: u64, n: usize, opts: &SensorLlmOptions) -> LoopConfig {
    LoopConfig {
        seed,
        items: n,
        batch_size: train.batch_size.min(n),
        total_steps: train.max_steps,
        log_every: train.log_every,
        checkpoint_every: train.checkpoint_every,
        lr: train.optim.lr,
        schedule: train.schedule.clone(),
        out: Some(opts.out.clone()),
        progress: opts.progress,
        stop_after: opts.stop_after,
    }
}

/// The channel names and the label vocabulary of a window set's store.
fn names(set: &WindowSet) -> (Vec<String>, Vec<String>) {
    (
        set.meta.channels.iter().map(|c| c.name.clone()).collect(),
        set.meta.labels.labels().to_vec(),
    )
}

fn summary(
    started: Instant,
    outcome: engine::LoopOutcome,
    n: usize,
    bs: usize,
    opts: &SensorLlmOptions,
    selected: Option<Selection>,
    selection_split: Option<String>,
) -> SensorLlmSummary {
    let done = outcome.state.step - outcome.start_step;
    SensorLlmSummary {
        steps: outcome.state.step,
        train_windows: n,
        final_loss: outcome.final_loss,
        samples_per_s: (done * bs as u64) as f64 / started.elapsed().as_secs_f64().max(1e-9),
        selected,
        selection_split,
        checkpoint: outcome.checkpoint.unwrap_or_else(|| opts.out.clone()),
    }
}

/// Stage 1: align the projector and special tokens with the LLM on the
/// trend descriptions of the store's training windows.
pub fn align_sensorllm(
    cfg: &SensorLlmConfig,
    opts: &SensorLlmOptions,
    llm: LlmModel,
) -> Result<SensorLlmSummary> {
    let started = Instant::now();
    cfg.validate()?;
    // Two runs into one directory would mix their checkpoints and logs.
    let _lock = wearlang_core::fs::lock_run_dir(&opts.out)?;
    let device = wearlang_device::parse_device(&cfg.device)?;
    wearlang_device::set_threads(cfg.threads);
    let train = load_training_windows(&opts.store)?;
    let (channels, _) = names(&train);
    let embedder = Embedder::load(&opts.from, cfg.sensor_tokens, device)?;

    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(cfg.seed as i64);
    let mut model = SensorLlm::new(cfg, embedder, llm, &channels, &[], &opts.store, device)?;
    // Per-channel answers are written from the raw values; whole-window
    // ones come from the caption column the normalised set carries.
    let source = opts.store.display().to_string();
    let asked = match cfg.align.answer {
        AnswerScope::Channel => {
            let raw = match WindowSet::load(&opts.store, Some(Split::Train), false) {
                Ok(v) => v,
                Err(TrainError::Data(_)) => WindowSet::load(&opts.store, None, false)?,
                Err(e) => return Err(e),
            };
            if raw.len() != train.len() {
                return Err(TrainError::Data(format!(
                    "{source}: {} raw training windows but {} normalised ones",
                    raw.len(),
                    train.len()
                )));
            }
            questions(&cfg.align, &raw.windows, &raw.meta.channels, &source)?
        }
        AnswerScope::Window => questions(&cfg.align, &train.windows, &[], &source)?,
    };
    if asked.is_empty() {
        return Err(TrainError::Data(format!(
            "{source}: no training window has an observed value to describe"
        )));
    }
    let items: Vec<(usize, usize)> = asked.iter().map(|q| (q.window, q.prompt)).collect();
    let answers: Vec<Vec<u32>> = asked
        .iter()
        .map(|q| model.answer_ids(&q.answer, cfg.align.max_answer_tokens))
        .collect();
    let n = items.len();
    let windows = train.len();
    let (loop_cfg, mut opt, state) = start(&mut model, &cfg.align.train, cfg.seed, n, opts)?;
    let record = model.record.clone();
    let mut step = AlignStep { model: &model };
    let outcome = engine::run(
        &loop_cfg,
        Captioned {
            x: train,
            items,
            answers,
            device,
        },
        &mut step,
        &model.vs,
        &mut opt,
        state,
        &run_record(&record, opts)?,
    )?;
    Ok(summary(
        started,
        outcome,
        windows,
        loop_cfg.batch_size,
        opts,
        None,
        None,
    ))
}

/// The loop settings, the optimiser and the progress (fresh, or resumed
/// after checking the checkpoint was written by the same run).
fn start(
    model: &mut SensorLlm,
    train: &StageConfig,
    seed: u64,
    n: usize,
    opts: &SensorLlmOptions,
) -> Result<(LoopConfig, AdamW, wearlang_models::TrainState)> {
    let loop_cfg = loop_config(train, seed, n, opts);
    let mut opt = AdamW::new(&model.vs, train.optim.clone())?;
    let record = model.record.clone();
    let state = engine::initial_state(
        &opts.out,
        opts.resume,
        &mut model.vs,
        &mut opt,
        loop_cfg.total_steps,
        &run_record(&record, opts)?,
        // Their content is compared by hash (`encoder_sha256`, `llm_sha256`).
        &["encoder_run", "llm_path"],
    )?;
    Ok((loop_cfg, opt, state))
}

/// What a stage records as its checkpoint's `config.json`, and compares on
/// `--resume`: its record and the store's identity.
fn run_record<'a>(
    record: &'a SensorLlmCheckpointConfig,
    opts: &SensorLlmOptions,
) -> Result<engine::RunRecord<'a, SensorLlmCheckpointConfig>> {
    Ok(engine::RunRecord::new(record, &[("store", &opts.store)])?)
}

/// Stage 1's questions: per item a window of `x`, the prompt that asks
/// about it, and the tokenised answer.
struct Captioned {
    x: WindowSet,
    items: Vec<(usize, usize)>,
    answers: Vec<Vec<u32>>,
    device: Device,
}

/// A stage-1 batch: windows, their prompts, their answers.
type AlignBatch = (Tensor, Vec<usize>, Vec<Vec<u32>>);

impl BatchSource for Captioned {
    type Batch = AlignBatch;
    type Error = TrainError;
    fn batch(&self, idx: &[usize], _epoch: u64) -> Result<Self::Batch> {
        let windows: Vec<usize> = idx.iter().map(|&i| self.items[i].0).collect();
        Ok((
            self.x.batch(&windows, self.device)?,
            idx.iter().map(|&i| self.items[i].1).collect(),
            idx.iter().map(|&i| self.answers[i].clone()).collect(),
        ))
    }
}

struct AlignStep<'a> {
    model: &'a SensorLlm,
}

impl Step<AlignBatch> for AlignStep<'_> {
    type Error = TrainError;
    fn loss(&mut self, _step: u64, (x, prompts, answers): AlignBatch) -> Result<StepLoss> {
        let (total, acc) = self.model.align_loss(&x, &prompts, &answers)?;
        Ok(StepLoss {
            total,
            terms: vec![("token_accuracy".into(), acc)],
        })
    }
}

/// Stage 2: train the classification head (with projector and special
/// tokens) from the stage-1 run `opts.from`, selecting on validation
/// macro-F1.
pub fn tune_sensorllm(
    cfg: &SensorLlmConfig,
    opts: &SensorLlmOptions,
    llm: LlmModel,
) -> Result<SensorLlmSummary> {
    let started = Instant::now();
    cfg.validate()?;
    // Two runs into one directory would mix their checkpoints and logs.
    let _lock = wearlang_core::fs::lock_run_dir(&opts.out)?;
    let device = wearlang_device::parse_device(&cfg.device)?;
    wearlang_device::set_threads(cfg.threads);
    let align_ckpt = wearlang_sensorllm::find(&opts.from)?;
    let align: SensorLlmCheckpointConfig =
        checkpoint::read_json(&align_ckpt, checkpoint::CONFIG_FILE)?;
    let all = load_training_windows(&opts.store)?;
    let (channels, labels) = names(&all);
    if labels.len() < 2 {
        return Err(TrainError::Data(format!(
            "{}: stage 2 needs at least 2 classes, the store has {}",
            opts.store.display(),
            labels.len()
        )));
    }
    let labelled: Vec<usize> = (0..all.len())
        .filter(|&i| all.labels[i].is_some())
        .collect();
    if labelled.is_empty() {
        return Err(TrainError::Data(format!(
            "{}: no labelled training window",
            opts.store.display()
        )));
    }
    let train = all.select(&labelled)?;
    let (val, split) = match WindowSet::load(&opts.store, Some(Split::Val), true) {
        Ok(v) => (v, "val"),
        Err(TrainError::Data(_)) => (
            train.select(&(0..train.len()).collect::<Vec<_>>())?,
            "train",
        ),
        Err(e) => return Err(e),
    };
    let val_labelled: Vec<usize> = (0..val.len())
        .filter(|&i| val.labels[i].is_some())
        .collect();
    let val_idx: Vec<usize> = evenly_spaced(val_labelled.len(), cfg.tune.val_windows)
        .into_iter()
        .map(|i| val_labelled[i])
        .collect();
    let val = val.select(&val_idx)?;
    let train = train.select(&evenly_spaced(train.len(), cfg.tune.train_windows))?;
    let embedder = Embedder::load(&align.encoder_run, cfg.sensor_tokens, device)?;

    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(cfg.seed as i64);
    let mut model = SensorLlm::new(cfg, embedder, llm, &channels, &labels, &opts.store, device)?;
    model.init_from_align(&opts.from)?;
    let bs = cfg.tune.train.batch_size;
    // With nothing upstream of the head training (projector frozen, no
    // LoRA), the pooled states of the training and validation windows
    // never change: compute them once, in order, and train the head on
    // them.
    let frozen = !model.trains_through_llm();
    let states = if frozen {
        Some(model.features_batched(&train.x, bs)?)
    } else {
        None
    };
    let norm_idx = evenly_spaced(train.len(), cfg.tune.norm_windows);
    if cfg.tune.norm_windows >= 2 && norm_idx.len() >= 2 {
        let f = match &states {
            Some(f) => f.index_select(0, &index_tensor(&norm_idx, f.device())),
            None => model.features_batched(&train.select(&norm_idx)?.x, bs)?,
        };
        model.fit_feature_stats(&f)?;
    }
    let val_states = if frozen {
        Some(model.features_batched(&val.x, bs)?)
    } else {
        None
    };
    let n_classes = labels.len();
    let weights = class_weights(
        train.labels.iter().flatten().copied(),
        n_classes,
        cfg.tune.balanced,
    );
    let n = train.len();
    let (loop_cfg, mut opt, state) = start(&mut model, &cfg.tune.train, cfg.seed, n, opts)?;
    let record = model.record.clone();
    let selected_dir = opts.out.join("selected");
    let best = if opts.resume {
        read_selection(&selected_dir)?
    } else {
        None
    };
    let mut step = TuneStep {
        model: &model,
        weights: Tensor::from_slice(&weights).to_device(device),
        val: &val,
        val_states,
        frozen,
        every: cfg.tune.eval_every,
        best,
        dir: selected_dir,
        record: &record,
    };
    let outcome = engine::run(
        &loop_cfg,
        TuneBatches {
            set: train,
            states,
            device,
        },
        &mut step,
        &model.vs,
        &mut opt,
        state,
        &run_record(&record, opts)?,
    )?;
    let selected = step.best.clone();
    Ok(summary(
        started,
        outcome,
        n,
        loop_cfg.batch_size,
        opts,
        selected,
        Some(split.into()),
    ))
}

fn read_selection(dir: &Path) -> Result<Option<Selection>> {
    match checkpoint::find_checkpoint(dir) {
        Some(c) => Ok(Some(checkpoint::read_json(&c, STATE_FILE)?)),
        None => Ok(None),
    }
}

/// Stage 2's batches: labels with the windows, or with their precomputed
/// pooled states when the projector is frozen.
struct TuneBatches {
    set: WindowSet,
    states: Option<Tensor>,
    device: Device,
}

impl BatchSource for TuneBatches {
    type Batch = (Tensor, Tensor);
    type Error = TrainError;
    fn batch(&self, idx: &[usize], _epoch: u64) -> Result<Self::Batch> {
        let inputs = match &self.states {
            Some(f) => f.index_select(0, &index_tensor(idx, f.device())),
            None => self.set.batch(idx, self.device)?,
        };
        Ok((inputs, self.set.label_batch(idx, self.device)?))
    }
}

fn index_tensor(idx: &[usize], device: Device) -> Tensor {
    let v: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    Tensor::from_slice(&v).to_device(device)
}

struct TuneStep<'a> {
    model: &'a SensorLlm,
    weights: Tensor,
    val: &'a WindowSet,
    /// The validation windows' pooled states (frozen projector).
    val_states: Option<Tensor>,
    /// The batches hold pooled states, not windows.
    frozen: bool,
    every: u64,
    best: Option<Selection>,
    dir: PathBuf,
    record: &'a SensorLlmCheckpointConfig,
}

impl Step<(Tensor, Tensor)> for TuneStep<'_> {
    type Error = TrainError;
    fn loss(&mut self, _step: u64, (x, y): (Tensor, Tensor)) -> Result<StepLoss> {
        let logits = if self.frozen {
            self.model.head_logits(&x)?
        } else {
            self.model.class_logits(&x, true)?
        };
        Ok(StepLoss {
            total: weighted_cross_entropy(&logits, &y, &self.weights),
            terms: Vec::new(),
        })
    }

    fn after_step(&mut self, done: u64, total: u64) -> Result<()> {
        if !done.is_multiple_of(self.every) && done != total {
            return Ok(());
        }
        let pred = match &self.val_states {
            Some(f) => {
                let logits = tch::no_grad(|| self.model.head_logits(f))?;
                Vec::<i64>::try_from(logits.argmax(-1, false).to_device(Device::Cpu))?
                    .into_iter()
                    .map(|v| v as usize)
                    .collect()
            }
            None => self.model.classify(&self.val.x, 32)?,
        };
        let truth: Vec<usize> = self.val.labels.iter().map(|l| l.unwrap_or(0)).collect();
        let report = ClassificationReport::compute(&truth, &pred, self.model.labels().len())
            .map_err(|e| TrainError::Data(format!("scoring the selection split: {e}")))?;
        if self
            .best
            .as_ref()
            .is_none_or(|b| report.macro_f1 > b.macro_f1)
        {
            let sel = Selection {
                step: done,
                macro_f1: report.macro_f1,
            };
            checkpoint::save_checkpoint(&self.dir, &self.model.vs, None, &sel, self.record)?;
            self.best = Some(sel);
        }
        Ok(())
    }
}
