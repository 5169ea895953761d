//! The training engine: one resumable loop for every kind of training.
//!
//! A kind of training supplies two halves:
//! - a [`BatchSource`], moved to a second thread, that prepares the batch of
//!   each step from the indices the engine hands it (a seeded ChaCha8
//!   shuffle per epoch, [`epoch_order`]; the last partial batch of an epoch
//!   is dropped so shapes stay fixed), so the next batch is ready while the
//!   current one trains;
//! - a [`Step`], on the calling thread, that computes the loss of a batch
//!   and returns it for the engine to back-propagate and apply (AdamW at the
//!   schedule's learning rate).
//!
//! The engine owns everything else: resuming from the run directory's
//! checkpoint (model, optimiser and progress, checked against the run), the
//! metrics log (`metrics.jsonl`: step, epoch, loss and the step's named
//! terms averaged over `log_every` steps, lr, gradient norm, windows/s, time
//! waiting for data), the progress bar, periodic and final checkpoints
//! (atomic), and stopping early (`stop_after`) as an interruption would.
//! Every step depends only on `(seed, step)`, so a resumed run continues bit
//! for bit. Without a run directory (`out: None`) the same loop fits a model
//! in memory (no log file, no checkpoints), as the supervised baseline of
//! the evaluation does.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use serde::Serialize;
use tch::nn::VarStore;
use wearlang_models::checkpoint::{self, STATE_FILE};
use wearlang_models::{epoch_order, TrainState};
use wearlang_optim::{AdamW, ScheduleConfig};

use crate::{MetricsLog, Result, TrainError};

/// Settings of the loop that are the same for every kind of training.
#[derive(Clone, Debug)]
pub struct LoopConfig {
    /// Seed of the epoch orders.
    pub seed: u64,
    /// Items in the training set.
    pub items: usize,
    /// Items per step (at most `items`).
    pub batch_size: usize,
    /// Steps of the whole run.
    pub total_steps: u64,
    /// Write a metrics line every this many steps.
    pub log_every: u64,
    /// Write a checkpoint every this many steps (and always at the end).
    pub checkpoint_every: u64,
    /// Peak learning rate.
    pub lr: f64,
    /// Learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// The run directory (checkpoints, `metrics.jsonl`); `None` fits in
    /// memory and writes nothing.
    pub out: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
    /// Stop (with a resumable checkpoint) once this many steps in total are
    /// done; `None` runs to the end.
    pub stop_after: Option<u64>,
}

impl LoopConfig {
    /// Full batches per epoch.
    pub fn steps_per_epoch(&self) -> u64 {
        (self.items / self.batch_size.max(1)).max(1) as u64
    }

    /// The number of steps of `epochs` passes, or `max_steps` when it is
    /// not 0.
    pub fn total(items: usize, batch_size: usize, epochs: usize, max_steps: u64) -> u64 {
        if max_steps > 0 {
            max_steps
        } else {
            epochs as u64 * (items / batch_size.max(1)).max(1) as u64
        }
    }
}

/// Prepares batches on the engine's prefetch thread.
pub trait BatchSource: Send {
    /// What a step consumes.
    type Batch: Send;
    /// The batch of items `idx` (positions in the training set) at `epoch`.
    fn batch(&self, idx: &[usize], epoch: u64) -> Result<Self::Batch>;
}

/// The loss of one step, before the engine applies it.
pub struct StepLoss {
    /// The scalar loss to back-propagate.
    pub total: tch::Tensor,
    /// Named parts for the log (averaged over `log_every` steps).
    pub terms: Vec<(String, f64)>,
}

/// One kind of training: computes the loss of a batch.
pub trait Step<B> {
    /// The loss of `batch` at `step` (0-based). Seed any randomness from
    /// `(seed, step)` here.
    fn loss(&mut self, step: u64, batch: B) -> Result<StepLoss>;
    /// Called after each optimiser step (e.g. to clamp a temperature).
    fn after_update(&mut self) {}
    /// Called once `steps_done` of the run's `total` steps are done, before
    /// any checkpoint of that step (e.g. to score a validation set and keep
    /// the best weights).
    fn after_step(&mut self, _steps_done: u64, _total: u64) -> Result<()> {
        Ok(())
    }
}

/// What a finished (or stopped) loop reports.
#[derive(Clone, Debug)]
pub struct LoopOutcome {
    /// Progress, as saved in the final checkpoint.
    pub state: TrainState,
    /// Steps done before this invocation (resumed runs).
    pub start_step: u64,
    /// Mean loss of the last logged steps (the last step's loss when
    /// nothing was logged).
    pub final_loss: f64,
    /// Wall time of this invocation, in seconds.
    pub elapsed_s: f64,
    /// Time spent waiting for the next batch, in seconds.
    pub data_wait_s: f64,
    /// The final checkpoint (`None` without a run directory).
    pub checkpoint: Option<PathBuf>,
}

/// Load the run directory's checkpoint into `vs` and `opt` for `--resume`;
/// `compatible` checks the checkpoint's `config.json` (errors name it).
/// Returns the progress to continue from.
pub fn resume_from(
    out: &Path,
    vs: &mut VarStore,
    opt: &mut AdamW,
    total_steps: u64,
    compatible: impl FnOnce(&Path) -> Result<()>,
) -> Result<TrainState> {
    let dir = checkpoint::find_checkpoint(out)
        .ok_or_else(|| TrainError::checkpoint(out, "--resume: no checkpoint in this directory"))?;
    compatible(&dir)?;
    checkpoint::load_model(&dir, vs)?;
    checkpoint::load_optimizer(&dir, opt)?;
    let mut state: TrainState = checkpoint::read_json(&dir, STATE_FILE)?;
    state.total_steps = total_steps;
    state.finished = false;
    Ok(state)
}

/// The progress a run starts from: fresh, or with `resume` the run
/// directory's checkpoint loaded into `vs` and `opt`, after `same` accepted
/// its recorded `config.json` (a refusal is an error naming the checkpoint
/// and saying it was written with a different `what`).
pub fn initial_state<C: serde::de::DeserializeOwned>(
    out: &Path,
    resume: bool,
    vs: &mut VarStore,
    opt: &mut AdamW,
    total_steps: u64,
    what: &str,
    same: impl FnOnce(&C) -> bool,
) -> Result<TrainState> {
    if !resume {
        return Ok(TrainState {
            total_steps,
            ..TrainState::default()
        });
    }
    resume_from(out, vs, opt, total_steps, |dir| {
        let saved: C = checkpoint::read_json(dir, checkpoint::CONFIG_FILE)?;
        if same(&saved) {
            Ok(())
        } else {
            Err(TrainError::checkpoint(
                dir,
                format!("--resume: the checkpoint was written with a different {what}"),
            ))
        }
    })
}

/// Run the loop from `state` (fresh or resumed) to the end or `stop_after`,
/// training the variables of `vs` with `opt`; `ckpt_config` is written as
/// each checkpoint's `config.json`.
pub fn run<S: BatchSource, T: Step<S::Batch>>(
    cfg: &LoopConfig,
    source: S,
    step_fn: &mut T,
    vs: &VarStore,
    opt: &mut AdamW,
    mut state: TrainState,
    ckpt_config: &impl Serialize,
) -> Result<LoopOutcome> {
    if cfg.items == 0 || cfg.batch_size == 0 {
        return Err(TrainError::Data("no training items".into()));
    }
    if cfg.log_every == 0 || cfg.checkpoint_every == 0 {
        return Err(TrainError::config(
            "log_every / checkpoint_every",
            "must be at least 1",
        ));
    }
    let mut log = match &cfg.out {
        Some(out) => {
            std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
            Some(MetricsLog::open(&out.join("metrics.jsonl"), state.step)?)
        }
        None => None,
    };
    let total = cfg.total_steps;
    let bs = cfg.batch_size.min(cfg.items);
    let steps_per_epoch = cfg.steps_per_epoch();
    let bar = progress_bar(cfg.progress, total, state.step);
    let stop = cfg.stop_after.unwrap_or(total).min(total);
    let start_step = state.step;
    let started = Instant::now();
    let mut wait_total = 0.0f64;
    let mut last_mean = f64::NAN;
    let (n, seed) = (cfg.items, cfg.seed);

    let (tx, rx) = mpsc::sync_channel::<Result<S::Batch>>(2);
    let result = std::thread::scope(|scope| -> Result<()> {
        scope.spawn(move || {
            let mut order_epoch = u64::MAX;
            let mut order = Vec::new();
            for step in start_step..stop {
                let epoch = step / steps_per_epoch;
                if epoch != order_epoch {
                    order = epoch_order(n, seed, epoch);
                    order_epoch = epoch;
                }
                let b = (step % steps_per_epoch) as usize;
                let p = source.batch(&order[b * bs..(b + 1) * bs], epoch);
                let failed = p.is_err();
                if tx.send(p).is_err() || failed {
                    break;
                }
            }
        });

        let mut window_t = Instant::now();
        let mut window_wait = 0.0f64;
        let (mut acc, mut acc_n) = (Vec::<(String, f64)>::new(), 0u64);
        while state.step < stop {
            let step = state.step;
            let epoch = step / steps_per_epoch;
            let t0 = Instant::now();
            let batch = rx
                .recv()
                .map_err(|_| TrainError::Data("the batch thread stopped".into()))??;
            let waited = t0.elapsed().as_secs_f64();
            wait_total += waited;
            window_wait += waited;
            let out = step_fn.loss(step, batch)?;
            let loss_v = out.total.double_value(&[]);
            if !loss_v.is_finite() {
                return Err(TrainError::Data(format!(
                    "loss is {loss_v} at step {} (terms {:?}; check the store for NaN/Inf that are not marked missing)",
                    step + 1,
                    out.terms
                )));
            }
            opt.zero_grad();
            out.total.f_backward()?;
            let lr = cfg.schedule.lr(cfg.lr, step, total);
            let grad_norm = opt.step(lr)?;
            step_fn.after_update();
            state.step += 1;
            state.samples += bs as u64;
            state.last_loss = loss_v;
            step_fn.after_step(state.step, total)?;
            if acc.is_empty() {
                acc.push(("loss".into(), 0.0));
                acc.extend(out.terms.iter().map(|(k, _)| (k.clone(), 0.0)));
            }
            acc[0].1 += loss_v;
            for (slot, (_, v)) in acc[1..].iter_mut().zip(&out.terms) {
                slot.1 += v;
            }
            acc_n += 1;
            if state.step.is_multiple_of(cfg.log_every) || state.step == stop {
                let dt = window_t.elapsed().as_secs_f64().max(1e-9);
                let mut rec = serde_json::Map::new();
                rec.insert("step".into(), state.step.into());
                rec.insert("epoch".into(), epoch.into());
                for (k, v) in &acc {
                    rec.insert(k.clone(), (v / acc_n as f64).into());
                }
                last_mean = acc[0].1 / acc_n as f64;
                let per_s = (acc_n as usize * bs) as f64 / dt;
                rec.insert("lr".into(), lr.into());
                rec.insert("grad_norm".into(), grad_norm.into());
                rec.insert("samples_per_s".into(), per_s.into());
                rec.insert("data_wait_s".into(), window_wait.into());
                if let Some(log) = log.as_mut() {
                    log.write(&rec)?;
                }
                bar.set_message(format!(
                    "loss {last_mean:.4}  lr {lr:.2e}  {per_s:.0} windows/s"
                ));
                acc.clear();
                acc_n = 0;
                window_wait = 0.0;
                window_t = Instant::now();
            }
            bar.set_position(state.step);
            if let Some(out) = &cfg.out {
                if state.step.is_multiple_of(cfg.checkpoint_every) && state.step < stop {
                    state.wall_s += started.elapsed().as_secs_f64();
                    checkpoint::save_checkpoint(out, vs, Some(opt), &state, ckpt_config)?;
                    state.wall_s -= started.elapsed().as_secs_f64();
                }
            }
        }
        drop(rx);
        Ok(())
    });
    result?;
    let elapsed = started.elapsed().as_secs_f64();
    state.wall_s += elapsed;
    state.finished = state.step == total;
    let ckpt = match &cfg.out {
        Some(out) => Some(checkpoint::save_checkpoint(
            out,
            vs,
            Some(opt),
            &state,
            ckpt_config,
        )?),
        None => None,
    };
    bar.finish_and_clear();
    if last_mean.is_nan() {
        last_mean = state.last_loss;
    }
    Ok(LoopOutcome {
        state,
        start_step,
        final_loss: last_mean,
        elapsed_s: elapsed,
        data_wait_s: wait_total,
        checkpoint: ckpt,
    })
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
