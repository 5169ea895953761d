//! What a kind of training supplies ([`BatchSource`], [`Step`]) and what the
//! loop is told and reports ([`LoopConfig`], [`StepLoss`], [`LoopOutcome`]).

use std::path::PathBuf;

use wearlang_models::TrainState;
use wearlang_optim::ScheduleConfig;

use crate::EngineError;

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

    /// A fit in memory of `steps` full-batch steps over `items` items at a
    /// constant learning rate `lr`: no run directory, no progress bar, no
    /// warmup (the small fits of evaluation: linear probes, few-shot heads).
    pub fn full_batch(items: usize, steps: u64, lr: f64, seed: u64) -> Self {
        LoopConfig {
            seed,
            items,
            batch_size: items,
            total_steps: steps,
            log_every: steps.max(1),
            checkpoint_every: steps.max(1),
            lr,
            schedule: ScheduleConfig {
                warmup_steps: 0,
                decay: wearlang_optim::Decay::Constant,
                min_lr_ratio: 1.0,
            },
            out: None,
            progress: false,
            stop_after: None,
        }
    }
}

/// Prepares batches on the engine's prefetch thread.
pub trait BatchSource: Send {
    /// What a step consumes.
    type Batch: Send;
    /// The caller's error type (a failed batch stops the loop and comes
    /// back as the step's error).
    type Error: From<EngineError> + Send;
    /// The batch of items `idx` (positions in the training set) at `epoch`.
    fn batch(&self, idx: &[usize], epoch: u64) -> Result<Self::Batch, Self::Error>;
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
    /// The caller's error type, which [`crate::run`] returns (the engine's
    /// own errors are converted into it).
    type Error: From<EngineError>;
    /// The loss of `batch` at `step` (0-based). Seed any randomness from
    /// `(seed, step)` here.
    fn loss(&mut self, step: u64, batch: B) -> Result<StepLoss, Self::Error>;
    /// Called after each optimiser step (e.g. to clamp a temperature).
    fn after_update(&mut self) {}
    /// Called once `steps_done` of the run's `total` steps are done, before
    /// any checkpoint of that step (e.g. to score a validation set and keep
    /// the best weights).
    fn after_step(&mut self, _steps_done: u64, _total: u64) -> Result<(), Self::Error> {
        Ok(())
    }
    /// Asked after [`Step::after_step`]: `true` ends the run there (early
    /// stopping); the final checkpoint is written and marked finished.
    fn stop_early(&self) -> bool {
        false
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
    /// Whether [`Step::stop_early`] ended the run before its budget.
    pub stopped_early: bool,
}
