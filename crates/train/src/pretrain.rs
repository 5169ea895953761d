//! Masked (AIM) pretraining of the patch Transformer: a short training loop,
//! separate from the model and its configuration (`wearlang_models::mae`).

use std::path::{Path, PathBuf};

use serde::Serialize;
use tch::{nn, Device};
use wearlang_core::Split;
use wearlang_encoders::MaskedAutoencoder;

use wearlang_models::{
    load_training_union_in, step_seed, InputNormalisation, PretrainCheckpointConfig,
    PretrainConfig, SetOptions, ValueHome, Values, WindowSet,
};
use wearlang_optim::AdamW;

use crate::engine::{self, BatchSource, LoopConfig, Step, StepLoss};
use crate::{Result, TrainError};

/// Where and how to run.
#[derive(Clone, Debug)]
pub struct PretrainOptions {
    /// The window store.
    pub store: PathBuf,
    /// Further stores whose training windows (labelled or not) join the
    /// first's, mapped onto its channels (units converted, order matched);
    /// same window length and rate.
    pub extra_stores: Vec<PathBuf>,
    /// The run directory (checkpoint, metrics.jsonl, config copy).
    pub out: PathBuf,
    /// Continue from `out`'s checkpoint.
    pub resume: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Stop (with a resumable checkpoint) once this many steps in total are
    /// done, as if interrupted; `None` runs to the end.
    pub stop_after: Option<u64>,
    /// Where the training windows' values are kept (in memory by default;
    /// [`ValueHome::Disk`] maps them from a file, for training sets larger
    /// than memory; the run is the same either way).
    pub values: ValueHome,
}

/// What a finished run reports.
#[derive(Clone, Debug, Serialize)]
pub struct PretrainSummary {
    /// Steps run in total.
    pub steps: u64,
    /// Training windows.
    pub train_windows: usize,
    /// Mean loss over the last `log_every` steps.
    pub final_loss: f64,
    /// Masked loss on the validation split (seeded masks), if it has windows.
    pub val_loss: Option<f64>,
    /// Windows per second of this invocation.
    pub samples_per_s: f64,
    /// The checkpoint directory.
    pub checkpoint: PathBuf,
}

/// Run (or resume) masked pretraining as configured.
pub fn pretrain(cfg: &PretrainConfig, opts: &PretrainOptions) -> Result<PretrainSummary> {
    cfg.validate()?;
    // Two runs into one directory would mix their checkpoints and logs.
    let _lock = wearlang_core::fs::lock_run_dir(&opts.out)?;
    let device = wearlang_device::parse_device(&cfg.device)?;
    wearlang_device::set_threads(cfg.threads);
    let mut stores = vec![opts.store.as_path()];
    stores.extend(opts.extra_stores.iter().map(PathBuf::as_path));
    // Masked pretraining reads no text: no captions kept.
    let how = SetOptions {
        home: opts.values.clone(),
        captions: Some(Vec::new()),
    };
    let (train, _) = load_training_union_in(&stores, InputNormalisation::Store, &how)?;
    let n = train.len();
    let schema = train.meta.channels.clone();
    let bs = cfg.batch_size.min(n);
    // The last partial batch of an epoch is dropped: fixed shapes.
    let total = LoopConfig::total(n, bs, cfg.epochs, cfg.max_steps);
    let model_cfg = cfg.model_config(train.steps(), train.channels())?;
    let ckpt_cfg = PretrainCheckpointConfig {
        kind: "mae".into(),
        run: cfg.clone(),
        model: model_cfg.clone(),
        channels: train.meta.channels.iter().map(|c| c.name.clone()).collect(),
        store: opts.store.clone(),
        extra_stores: opts.extra_stores.clone(),
    };

    // Recorded in each checkpoint; `--resume` requires the same.
    let record = engine::RunRecord::of_stores(&ckpt_cfg, &opts.store, &opts.extra_stores)?;

    // Concurrent runs in this process take turns on torch's generator.
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(cfg.seed as i64);
    let mut vs = nn::VarStore::new(device);
    let model = MaskedAutoencoder::new(vs.root(), &model_cfg)?;
    let mut opt = AdamW::new(&vs, cfg.optim.clone())?;
    let state = engine::initial_state(
        &opts.out,
        opts.resume,
        &mut vs,
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
    let mut step = MaskedStep {
        model: &model,
        seed: cfg.seed,
        device,
        weights: cfg.channel_weights.as_deref(),
    };
    let outcome = engine::run(
        &loop_cfg,
        Windows(train),
        &mut step,
        &vs,
        &mut opt,
        state,
        &record,
    )?;

    let val_loss = validation_loss(&model, &stores, &schema, cfg, device, &how)?;
    let done = outcome.state.step - outcome.start_step;
    Ok(PretrainSummary {
        steps: outcome.state.step,
        train_windows: n,
        final_loss: outcome.final_loss,
        val_loss,
        samples_per_s: (done * bs as u64) as f64 / outcome.elapsed_s.max(1e-9),
        checkpoint: outcome.checkpoint.unwrap_or_else(|| opts.out.clone()),
    })
}

/// The training windows, batched on the engine's prefetch thread.
struct Windows(WindowSet);

impl BatchSource for Windows {
    type Batch = tch::Tensor;
    type Error = TrainError;
    fn batch(&self, idx: &[usize], _epoch: u64) -> Result<tch::Tensor> {
        self.0.batch(idx, Device::Cpu)
    }
}

/// One masked-reconstruction step: AIM masks and dropout seeded by
/// `(seed, step)`.
struct MaskedStep<'a> {
    model: &'a MaskedAutoencoder,
    seed: u64,
    device: Device,
    weights: Option<&'a [f32]>,
}

impl Step<tch::Tensor> for MaskedStep<'_> {
    type Error = TrainError;
    fn loss(&mut self, step: u64, x: tch::Tensor) -> Result<StepLoss> {
        let seed = step_seed(self.seed, step);
        tch::manual_seed(seed as i64);
        let out = self
            .model
            .forward_t(&x.to_device(self.device), seed, true)?;
        Ok(StepLoss {
            total: self.model.loss(&out, self.weights)?,
            terms: Vec::new(),
        })
    }
}

/// Mean masked loss over the stores' validation splits (each mapped onto
/// `channels`, the training set's, and read as `how` says) with seeded
/// masks (`None` when no store has validation windows).
fn validation_loss(
    model: &MaskedAutoencoder,
    stores: &[&Path],
    channels: &[wearlang_core::ChannelSpec],
    cfg: &PretrainConfig,
    device: Device,
    how: &SetOptions,
) -> Result<Option<f64>> {
    let (mut sum, mut count) = (0.0, 0usize);
    for store in stores {
        let val = match WindowSet::load_in(store, Some(Split::Val), true, Values::InTensorOnly, how)
        {
            Ok(v) => v,
            Err(TrainError::Data(_)) => continue,
            Err(e) => return Err(e),
        };
        let (val, _) = val.onto_channels(channels, &store.display().to_string())?;
        let (s, c) = masked_loss_sum(model, &val, cfg, device)?;
        sum += s;
        count += c;
    }
    Ok((count > 0).then(|| sum / count as f64))
}

/// The summed masked loss over `val`'s windows (seeded masks) and how many
/// windows gave a finite loss.
fn masked_loss_sum(
    model: &MaskedAutoencoder,
    val: &WindowSet,
    cfg: &PretrainConfig,
    device: Device,
) -> Result<(f64, usize)> {
    let idx: Vec<usize> = (0..val.len()).collect();
    let (mut sum, mut count) = (0.0, 0usize);
    tch::no_grad(|| -> Result<()> {
        for (i, chunk) in idx.chunks(cfg.batch_size.max(1)).enumerate() {
            let x = val.batch(chunk, device)?;
            let out = model.forward_t(&x, step_seed(cfg.seed ^ 0x5A5A, i as u64), false)?;
            let l = model
                .loss(&out, cfg.channel_weights.as_deref())?
                .double_value(&[]);
            if l.is_finite() {
                sum += l * chunk.len() as f64;
                count += chunk.len();
            }
        }
        Ok(())
    })?;
    Ok((sum, count))
}
