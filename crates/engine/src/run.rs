//! The loop itself ([`run`]), resuming a run directory's checkpoint
//! ([`initial_state`], [`resume_from`]) and the progress bar.

use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use serde::Serialize;
use tch::nn::VarStore;
use wearlang_models::checkpoint::{self, STATE_FILE};
use wearlang_models::{epoch_order, ModelError, TrainState};
use wearlang_optim::AdamW;

use crate::error::Lift;
use crate::{BatchSource, EngineError, LoopConfig, LoopOutcome, MetricsLog, Result, Step};

/// Load the run directory's checkpoint into `vs` and `opt` for `--resume`;
/// `compatible` checks the checkpoint's `config.json` (errors name it).
/// Returns the progress to continue from.
pub fn resume_from<E: From<EngineError>>(
    out: &Path,
    vs: &mut VarStore,
    opt: &mut AdamW,
    total_steps: u64,
    compatible: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<TrainState, E> {
    let dir = checkpoint::find_checkpoint(out)
        .ok_or_else(|| ModelError::checkpoint(out, "--resume: no checkpoint in this directory"))
        .lift()?;
    compatible(&dir)?;
    checkpoint::load_model(&dir, vs).lift()?;
    checkpoint::load_optimizer(&dir, opt).lift()?;
    let mut state: TrainState = checkpoint::read_json(&dir, STATE_FILE).lift()?;
    state.total_steps = total_steps;
    state.finished = false;
    Ok(state)
}

/// The progress a run starts from: fresh, or with `resume` the run
/// directory's checkpoint loaded into `vs` and `opt`, after its recorded
/// `config.json` matched `now` (what this run will record, usually a
/// [`crate::RunRecord`]) in every field but those in `ignore` and
/// [`crate::IGNORED_ON_RESUME`]. A mismatch is an error naming the
/// checkpoint's `config.json` and listing each difference as
/// `field: then → now` (see [`crate::record_differences`]); nothing is
/// written.
pub fn initial_state(
    out: &Path,
    resume: bool,
    vs: &mut VarStore,
    opt: &mut AdamW,
    total_steps: u64,
    now: &impl Serialize,
    ignore: &[&str],
) -> Result<TrainState> {
    if !resume {
        return Ok(TrainState {
            total_steps,
            ..TrainState::default()
        });
    }
    // Through text, as `config.json` is written: an `f32` reads back as
    // its shortest decimal (0.8), not as the widened f64.
    let now: serde_json::Value = serde_json::to_string(now)
        .and_then(|s| serde_json::from_str(&s))
        .map_err(|e| {
            EngineError::from(ModelError::checkpoint(
                out,
                format!("recording the run: {e}"),
            ))
        })?;
    resume_from(out, vs, opt, total_steps, |dir| -> Result<()> {
        let saved: serde_json::Value = checkpoint::read_json(dir, checkpoint::CONFIG_FILE)?;
        let mut skip: Vec<&str> = crate::IGNORED_ON_RESUME.to_vec();
        skip.extend_from_slice(ignore);
        let diffs = crate::record_differences(&saved, &now, &skip);
        if diffs.is_empty() {
            Ok(())
        } else {
            Err(EngineError::from(ModelError::checkpoint(
                dir.join(checkpoint::CONFIG_FILE),
                format!(
                    "--resume: the run was started with other settings or inputs \
                     (field: then → now):\n  {}\nresume with the same ones, or start \
                     afresh with --overwrite or another --out",
                    diffs.join("\n  ")
                ),
            )))
        }
    })
}

/// Run the loop from `state` (fresh or resumed) to the end or `stop_after`,
/// training the variables of `vs` with `opt`; `ckpt_config` is written as
/// each checkpoint's `config.json`. Errors are the step's type: its own, the
/// batch source's, and the engine's converted.
pub fn run<S, T>(
    cfg: &LoopConfig,
    source: S,
    step_fn: &mut T,
    vs: &VarStore,
    opt: &mut AdamW,
    mut state: TrainState,
    ckpt_config: &impl Serialize,
) -> Result<LoopOutcome, T::Error>
where
    S: BatchSource,
    T: Step<S::Batch>,
    T::Error: From<S::Error>,
{
    if cfg.items == 0 || cfg.batch_size == 0 {
        return Err(EngineError::Data("no training items".into()).into());
    }
    if cfg.log_every == 0 || cfg.checkpoint_every == 0 {
        return Err(
            EngineError::config("log_every / checkpoint_every", "must be at least 1").into(),
        );
    }
    let mut _run_lock = None;
    let mut log = match &cfg.out {
        Some(out) => {
            std::fs::create_dir_all(out).map_err(|e| EngineError::io(out, e))?;
            // Held for the loop (re-entrant when the caller holds it for the
            // whole run): a second run into `out` fails here.
            _run_lock = Some(wearlang_core::fs::lock_run_dir(out).map_err(EngineError::from)?);
            // (Temporary checkpoints of killed runs go at the first save.)
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
    // Saved with each checkpoint: the result depends on it.
    state.threads = tch::get_num_threads().max(0) as usize;

    // Loss sums since the last record, carried over from the checkpoint a
    // run resumed from (see `TrainState::log_sums`).
    let mut acc = std::mem::take(&mut state.log_sums);
    let mut acc_n = std::mem::take(&mut state.log_steps);
    if acc_n == 0 {
        acc.clear();
    }

    let mut stopped_early = false;
    let (tx, rx) = mpsc::sync_channel::<Result<S::Batch, S::Error>>(2);
    // Steps free and allocate the same activations: keep the memory.
    let reuse = wearlang_device::ReuseFreedMemory::enter();
    let result = std::thread::scope(|scope| -> Result<(), T::Error> {
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
        while state.step < stop {
            let step = state.step;
            let epoch = step / steps_per_epoch;
            let t0 = Instant::now();
            let batch = rx
                .recv()
                .map_err(|_| EngineError::Data("the batch thread stopped".into()))??;
            let waited = t0.elapsed().as_secs_f64();
            wait_total += waited;
            window_wait += waited;
            let out = step_fn.loss(step, batch)?;
            let loss_v = out.total.double_value(&[]);
            if !loss_v.is_finite() {
                return Err(EngineError::Data(format!(
                    "loss is {loss_v} at step {} (terms {:?}; check the store for NaN/Inf that are not marked missing)",
                    step + 1,
                    out.terms
                ))
                .into());
            }
            opt.zero_grad();
            out.total.f_backward().lift()?;
            let lr = cfg.schedule.lr(cfg.lr, step, total);
            let grad_norm = opt.step(lr).lift()?;
            step_fn.after_update();
            state.step += 1;
            state.samples += bs as u64;
            state.last_loss = loss_v;
            step_fn.after_step(state.step, total)?;
            let stopping = state.step < total && step_fn.stop_early();
            if acc.is_empty() {
                acc.push(("loss".into(), 0.0));
                acc.extend(out.terms.iter().map(|(k, _)| (k.clone(), 0.0)));
            }
            acc[0].1 += loss_v;
            for (slot, (_, v)) in acc[1..].iter_mut().zip(&out.terms) {
                slot.1 += v;
            }
            acc_n += 1;
            // Records at multiples of `log_every` and at the run's end; a
            // run stopped early (`stop_after`) carries its sums in the
            // checkpoint instead, so resuming it logs what an uninterrupted
            // run does.
            if state.step.is_multiple_of(cfg.log_every) || state.step == total || stopping {
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
            if stopping {
                // The final checkpoint below holds this step.
                stopped_early = true;
                break;
            }
            if let Some(out) = &cfg.out {
                if state.step.is_multiple_of(cfg.checkpoint_every) && state.step < stop {
                    state.log_sums = acc.clone();
                    state.log_steps = acc_n;
                    state.wall_s += started.elapsed().as_secs_f64();
                    checkpoint::save_checkpoint(out, vs, Some(opt), &state, ckpt_config).lift()?;
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
    state.finished = state.step == total || stopped_early;
    state.log_sums = acc;
    state.log_steps = acc_n;
    let ckpt = match &cfg.out {
        Some(out) => {
            Some(checkpoint::save_checkpoint(out, vs, Some(opt), &state, ckpt_config).lift()?)
        }
        None => None,
    };
    bar.finish_and_clear();
    // The loop's batches and activations are freed: return their memory.
    drop(reuse);
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
        stopped_early,
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
