//! Masked (AIM) pretraining of the patch Transformer: a short training loop,
//! separate from the model and its configuration (`wearlang_models::mae`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{nn, Device};
use wearlang_core::Split;
use wearlang_encoders::MaskedAutoencoder;

use wearlang_models::checkpoint::{self, CONFIG_FILE, STATE_FILE};
use wearlang_models::{
    epoch_order, load_training_windows, step_seed, PretrainCheckpointConfig, PretrainConfig,
    TrainState, WindowSet,
};
use wearlang_optim::AdamW;

use crate::{MetricsLog, Result, TrainError};

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

/// Run (or resume) masked pretraining as configured.
pub fn pretrain(cfg: &PretrainConfig, opts: &PretrainOptions) -> Result<PretrainSummary> {
    cfg.validate()?;
    let device = wearlang_device::parse_device(&cfg.device)?;
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
