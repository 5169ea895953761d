//! Masked (AIM) pretraining of the patch Transformer: the model, its
//! configuration, and a short training loop that is separate from both.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{nn, Device};
use wearlang_core::Split;
use wearlang_encoders::{
    MaeDecoderConfig, MaskedAutoencoder, MaskedAutoencoderConfig, PatchTransformerConfig, Pooling,
    Positions,
};
use wearlang_masking::MaskConfig;

use crate::checkpoint::{self, CONFIG_FILE, STATE_FILE};
use crate::data::{epoch_order, step_seed, WindowSet};
use crate::{AdamW, MetricsLog, OptimConfig, Result, ScheduleConfig, TrainError};

/// The sensor encoder of a config file: a preset plus patch sizes and
/// optional overrides; the window shape comes from the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncoderSpec {
    /// `tiny`, `small` or `base`.
    pub preset: String,
    /// Time steps per patch.
    pub patch_time: usize,
    /// Channels per patch.
    pub patch_channel: usize,
    /// Override the preset's width.
    pub dim: Option<i64>,
    /// Override the preset's depth.
    pub depth: Option<i64>,
    /// Override the preset's number of heads.
    pub heads: Option<i64>,
    /// Override the position embedding.
    pub positions: Option<Positions>,
    /// Override the pooling.
    pub pooling: Option<Pooling>,
    /// Override the inherited-mask threshold.
    pub min_missing_fraction: Option<f32>,
}

impl Default for EncoderSpec {
    fn default() -> Self {
        EncoderSpec {
            preset: "small".into(),
            patch_time: 10,
            patch_channel: 1,
            dim: None,
            depth: None,
            heads: None,
            positions: None,
            pooling: None,
            min_missing_fraction: None,
        }
    }
}

impl EncoderSpec {
    /// The full encoder config for windows of `steps × channels`.
    pub fn resolve(&self, steps: usize, channels: usize) -> Result<PatchTransformerConfig> {
        let mut cfg = PatchTransformerConfig::preset(
            &self.preset,
            steps,
            channels,
            self.patch_time,
            self.patch_channel,
        )?;
        if let Some(v) = self.dim {
            cfg.dim = v;
        }
        if let Some(v) = self.depth {
            cfg.depth = v;
        }
        if let Some(v) = self.heads {
            cfg.heads = v;
        }
        if let Some(v) = self.positions {
            cfg.positions = v;
        }
        if let Some(v) = self.pooling {
            cfg.pooling = v;
        }
        if let Some(v) = self.min_missing_fraction {
            cfg.min_missing_fraction = v;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

/// A pretraining run (the TOML file given to `wearlang pretrain --config`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PretrainConfig {
    /// Seed of everything random (init, order, masks, dropout).
    pub seed: u64,
    /// Windows per step.
    pub batch_size: usize,
    /// Passes over the training split (ignored when `max_steps > 0`).
    pub epochs: usize,
    /// Stop after this many steps (0: `epochs` decides).
    pub max_steps: u64,
    /// Write a checkpoint every this many steps (and always at the end).
    pub checkpoint_every: u64,
    /// Log a metrics line every this many steps.
    pub log_every: u64,
    /// `cpu`, `cuda`, `cuda:N` or `auto`.
    pub device: String,
    /// Intra-op threads (0: libtorch's default).
    pub threads: usize,
    /// Optional per-channel loss weights (one per store channel).
    pub channel_weights: Option<Vec<f32>>,
    /// The encoder.
    pub encoder: EncoderSpec,
    /// The MAE decoder.
    pub decoder: MaeDecoderConfig,
    /// The artificial masking strategy.
    pub mask: MaskConfig,
    /// AdamW.
    pub optim: OptimConfig,
    /// Learning-rate schedule.
    pub schedule: ScheduleConfig,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            seed: 0,
            batch_size: 64,
            epochs: 5,
            max_steps: 0,
            checkpoint_every: 200,
            log_every: 10,
            device: "cpu".into(),
            threads: 0,
            channel_weights: None,
            encoder: EncoderSpec::default(),
            decoder: MaeDecoderConfig::default(),
            mask: MaskConfig::default(),
            optim: OptimConfig::default(),
            schedule: ScheduleConfig::default(),
        }
    }
}

impl PretrainConfig {
    /// Parse a TOML file; errors name the file and the offending field.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        let cfg: PretrainConfig = toml::from_str(&text).map_err(|e| TrainError::ConfigFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check everything that does not depend on the data.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(TrainError::config("batch_size", "must be at least 1"));
        }
        if self.epochs == 0 && self.max_steps == 0 {
            return Err(TrainError::config(
                "epochs",
                "epochs and max_steps are both 0",
            ));
        }
        if self.log_every == 0 || self.checkpoint_every == 0 {
            return Err(TrainError::config(
                "log_every / checkpoint_every",
                "must be at least 1",
            ));
        }
        self.mask.build()?;
        self.optim.validate()?;
        self.schedule.validate()
    }

    /// The model config for windows of `steps × channels`.
    pub fn model_config(&self, steps: usize, channels: usize) -> Result<MaskedAutoencoderConfig> {
        if let Some(w) = &self.channel_weights {
            if w.len() != channels {
                return Err(TrainError::config(
                    "channel_weights",
                    format!("has {} entries, the store has {channels} channels", w.len()),
                ));
            }
        }
        Ok(MaskedAutoencoderConfig {
            encoder: self.encoder.resolve(steps, channels)?,
            decoder: self.decoder.clone(),
            mask: self.mask.clone(),
        })
    }
}

/// What a pretraining checkpoint's `config.json` holds: the run's config,
/// the resolved model config and the store it was trained on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PretrainCheckpointConfig {
    /// Always `"mae"`.
    pub kind: String,
    /// The run's configuration.
    pub run: PretrainConfig,
    /// The model, as built.
    pub model: MaskedAutoencoderConfig,
    /// The store's channel names, in order.
    pub channels: Vec<String>,
    /// The store file.
    pub store: PathBuf,
}

/// Progress of a run (`state.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimiser steps completed.
    pub step: u64,
    /// Steps in the whole run.
    pub total_steps: u64,
    /// Windows seen.
    pub samples: u64,
    /// Training wall time so far, in seconds.
    pub wall_s: f64,
    /// Loss of the last step.
    pub last_loss: f64,
    /// Whether the run reached `total_steps`.
    pub finished: bool,
}

/// One line of `metrics.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PretrainLogRecord {
    /// Step (1-based: after this many updates).
    pub step: u64,
    /// Epoch.
    pub epoch: u64,
    /// Masked-reconstruction loss (mean over the last `log_every` steps).
    pub loss: f64,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Gradient norm before clipping of the last step.
    pub grad_norm: f64,
    /// Windows per second over the last `log_every` steps.
    pub samples_per_s: f64,
}

/// Where and how to run.
#[derive(Clone, Debug)]
pub struct PretrainOptions {
    /// The window store.
    pub store: PathBuf,
    /// The run directory (checkpoint, metrics.jsonl, config copy).
    pub out: PathBuf,
    /// Continue from `out`'s checkpoint.
    pub resume: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Stop (with a resumable checkpoint) once this many steps in total are
    /// done, as if interrupted; `None` runs to the end.
    pub stop_after: Option<u64>,
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

/// The device named by a config string.
pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(Device::cuda_if_available()),
        "cuda" => Ok(Device::Cuda(0)),
        _ => match s
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => Ok(Device::Cuda(n)),
            None => Err(TrainError::config(
                "device",
                format!("`{s}` is not cpu, auto, cuda or cuda:N"),
            )),
        },
    }
}

/// The training split of a store (all windows when the store has no split).
pub fn load_training_windows(store: &Path) -> Result<WindowSet> {
    match WindowSet::load(store, Some(Split::Train), true) {
        Ok(set) => Ok(set),
        Err(TrainError::Data(_)) => WindowSet::load(store, None, true),
        Err(e) => Err(e),
    }
}

/// A masked autoencoder rebuilt from a pretraining checkpoint directory.
pub struct LoadedMae {
    /// Its variables.
    pub vs: nn::VarStore,
    /// The model.
    pub model: MaskedAutoencoder,
    /// The checkpoint's configuration.
    pub config: PretrainCheckpointConfig,
}

/// Load the model of a pretraining checkpoint (`dir` is the run directory or
/// the checkpoint directory itself).
pub fn load_mae(dir: &Path, device: Device) -> Result<LoadedMae> {
    let ckpt = if dir.join(STATE_FILE).is_file() {
        dir.to_path_buf()
    } else {
        checkpoint::find_checkpoint(dir)
            .ok_or_else(|| TrainError::checkpoint(dir, "no checkpoint in this directory"))?
    };
    let config: PretrainCheckpointConfig = checkpoint::read_json(&ckpt, CONFIG_FILE)?;
    if config.kind != "mae" {
        return Err(TrainError::checkpoint(
            &ckpt,
            format!("kind is `{}`, expected `mae`", config.kind),
        ));
    }
    let mut vs = nn::VarStore::new(device);
    let model = MaskedAutoencoder::new(vs.root(), &config.model)?;
    checkpoint::load_model(&ckpt, &mut vs)?;
    Ok(LoadedMae { vs, model, config })
}

/// Run (or resume) masked pretraining as configured.
pub fn pretrain(cfg: &PretrainConfig, opts: &PretrainOptions) -> Result<PretrainSummary> {
    cfg.validate()?;
    let device = parse_device(&cfg.device)?;
    if cfg.threads > 0 {
        tch::set_num_threads(cfg.threads as i32);
    }
    let train = load_training_windows(&opts.store)?;
    let n = train.len();
    let bs = cfg.batch_size.min(n);
    let steps_per_epoch = (n / bs).max(1) as u64; // drop the last partial batch: fixed shapes
    let total = if cfg.max_steps > 0 {
        cfg.max_steps
    } else {
        cfg.epochs as u64 * steps_per_epoch
    };
    let model_cfg = cfg.model_config(train.steps(), train.channels())?;
    let ckpt_cfg = PretrainCheckpointConfig {
        kind: "mae".into(),
        run: cfg.clone(),
        model: model_cfg.clone(),
        channels: train.meta.channels.iter().map(|c| c.name.clone()).collect(),
        store: opts.store.clone(),
    };

    // Concurrent runs in this process take turns on torch's generator.
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(cfg.seed as i64);
    let mut vs = nn::VarStore::new(device);
    let model = MaskedAutoencoder::new(vs.root(), &model_cfg)?;
    let mut opt = AdamW::new(&vs, cfg.optim.clone())?;
    let mut state = TrainState {
        total_steps: total,
        ..TrainState::default()
    };
    std::fs::create_dir_all(&opts.out).map_err(|e| TrainError::io(&opts.out, e))?;
    if opts.resume {
        let dir = checkpoint::find_checkpoint(&opts.out).ok_or_else(|| {
            TrainError::checkpoint(&opts.out, "--resume: no checkpoint in this directory")
        })?;
        let saved: PretrainCheckpointConfig = checkpoint::read_json(&dir, CONFIG_FILE)?;
        if saved.model != model_cfg
            || saved.run.seed != cfg.seed
            || saved.run.batch_size != cfg.batch_size
        {
            return Err(TrainError::checkpoint(
                &dir,
                "--resume: the checkpoint was written with a different model, seed or batch size",
            ));
        }
        checkpoint::load_model(&dir, &mut vs)?;
        checkpoint::load_optimizer(&dir, &mut opt)?;
        state = checkpoint::read_json(&dir, STATE_FILE)?;
        state.total_steps = total;
        state.finished = false;
    }
    let mut log = MetricsLog::open(&opts.out.join("metrics.jsonl"), state.step)?;
    let bar = progress_bar(opts.progress, total, state.step);

    let started = Instant::now();
    let start_step = state.step;
    let mut window_t = Instant::now();
    let (mut acc_loss, mut acc_n) = (0.0f64, 0u64);
    let mut last_mean = f64::NAN;
    let mut order_epoch = u64::MAX;
    let mut order = Vec::new();
    let weights = cfg.channel_weights.as_deref();
    let stop = opts.stop_after.unwrap_or(total).min(total);
    while state.step < stop {
        let step = state.step;
        let epoch = step / steps_per_epoch;
        if epoch != order_epoch {
            order = epoch_order(n, cfg.seed, epoch);
            order_epoch = epoch;
        }
        let b = (step % steps_per_epoch) as usize;
        let x = train.batch(&order[b * bs..(b + 1) * bs], device)?;
        let seed = step_seed(cfg.seed, step);
        tch::manual_seed(seed as i64);
        let out = model.forward_t(&x, seed, true)?;
        let loss = model.loss(&out, weights)?;
        let loss_v = loss.double_value(&[]);
        if !loss_v.is_finite() {
            return Err(TrainError::Data(format!(
                "loss is {loss_v} at step {} (check the store for NaN/Inf that are not marked missing)",
                step + 1
            )));
        }
        opt.zero_grad();
        loss.f_backward()?;
        let lr = cfg.schedule.lr(cfg.optim.lr, step, total);
        let grad_norm = opt.step(lr)?;
        state.step += 1;
        state.samples += bs as u64;
        state.last_loss = loss_v;
        acc_loss += loss_v;
        acc_n += 1;
        if state.step.is_multiple_of(cfg.log_every) || state.step == total {
            let dt = window_t.elapsed().as_secs_f64().max(1e-9);
            last_mean = acc_loss / acc_n as f64;
            let rec = PretrainLogRecord {
                step: state.step,
                epoch,
                loss: last_mean,
                lr,
                grad_norm,
                samples_per_s: (acc_n as usize * bs) as f64 / dt,
            };
            log.write(&rec)?;
            bar.set_message(format!(
                "loss {:.4}  lr {:.2e}  {:.0} windows/s",
                rec.loss, lr, rec.samples_per_s
            ));
            acc_loss = 0.0;
            acc_n = 0;
            window_t = Instant::now();
        }
        bar.set_position(state.step);
        if state.step.is_multiple_of(cfg.checkpoint_every) && state.step < total {
            state.wall_s += started.elapsed().as_secs_f64();
            checkpoint::save_checkpoint(&opts.out, &vs, Some(&opt), &state, &ckpt_cfg)?;
            state.wall_s -= started.elapsed().as_secs_f64();
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    state.wall_s += elapsed;
    state.finished = state.step == total;
    let ckpt = checkpoint::save_checkpoint(&opts.out, &vs, Some(&opt), &state, &ckpt_cfg)?;
    bar.finish_and_clear();

    let val_loss = validation_loss(&model, &opts.store, cfg, device)?;
    if last_mean.is_nan() {
        last_mean = state.last_loss;
    }
    Ok(PretrainSummary {
        steps: state.step,
        train_windows: n,
        final_loss: last_mean,
        val_loss,
        samples_per_s: ((state.step - start_step) * bs as u64) as f64 / elapsed.max(1e-9),
        checkpoint: ckpt,
    })
}

/// Mean masked loss on the validation split with seeded masks (`None` when
/// the store has no validation windows).
fn validation_loss(
    model: &MaskedAutoencoder,
    store: &Path,
    cfg: &PretrainConfig,
    device: Device,
) -> Result<Option<f64>> {
    let val = match WindowSet::load(store, Some(Split::Val), true) {
        Ok(v) => v,
        Err(TrainError::Data(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
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
    Ok((count > 0).then(|| sum / count as f64))
}

/// A progress bar (hidden when `show` is false).
pub fn progress_bar(show: bool, total: u64, position: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_position(position);
    bar
}
