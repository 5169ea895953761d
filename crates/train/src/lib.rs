//! The training loops of wearlang; the models they train, checkpoints and
//! windows live in `wearlang-models`, the optimiser in `wearlang-optim`.
//!
//! - [`engine`]: the one resumable loop (prefetch thread, logging,
//!   checkpoints, exact resume, progress bar) that every kind of training
//!   plugs a batch source and a step into; it lives in `wearlang-engine`
//!   (re-exported here as `engine`), so that evaluation's small fits run on
//!   it too without depending on this crate;
//! - [`pretrain()`]: masked (AIM) pretraining of the patch Transformer;
//! - [`train_sensor_language()`]: the generic SensorLM model (CLIP, SigLIP,
//!   UniCL, SLIP, CoCa) with the next batch prepared on a second thread;
//!   With `[select]`, its step budget is first chosen on held-out classes
//!   ([`select`]);
//! - [`fit_supervised()`]: the NLS supervised reference (conv encoder +
//!   linear classifier trained end to end);
//! - [`DefaultTrainer`]: these loops behind `wearlang_models::Trainer`, for
//!   evaluation protocols that retrain;
//! - [`MetricsLog`]: `metrics.jsonl`, trimmed on resume (the engine's).
//!
//! Every run is seeded and resumable: each step depends only on
//! `(seed, step)`, and checkpoints hold the optimiser state.
//!
//! Example (`no_run`: doctests cannot find libtorch; `tests/` runs this):
//!
//! ```no_run
//! use std::path::PathBuf;
//! use wearlang_train::{pretrain, PretrainConfig, PretrainOptions};
//!
//! let cfg = PretrainConfig { max_steps: 20, batch_size: 16, ..PretrainConfig::default() };
//! let summary = pretrain(&cfg, &PretrainOptions {
//!     store: PathBuf::from("windows.parquet"),
//!     extra_stores: Vec::new(),
//!     out: PathBuf::from("runs/mae"),
//!     resume: false,
//!     progress: true,
//!     stop_after: None,
//!     values: Default::default(),
//! }).unwrap();
//! println!("loss {:.4} after {} steps", summary.final_loss, summary.steps);
//! ```

#![warn(missing_docs)]

mod error;
pub mod pretrain;
pub mod select;
pub mod sensor_language;
pub mod sensorllm;
mod supervised;
mod trainer;

pub use engine::{BatchSource, LoopConfig, LoopOutcome, MetricsLog, Step, StepLoss};
pub use error::{Result, TrainError};
pub use pretrain::{pretrain, PretrainOptions, PretrainSummary};
pub use sensor_language::train_sensor_language;
pub use sensorllm::{
    align_sensorllm, tune_sensorllm, Selection, SensorLlmOptions, SensorLlmSummary,
};
pub use supervised::fit_supervised;
pub use trainer::DefaultTrainer;
/// The training engine (`wearlang-engine`): the one resumable loop every
/// kind of training plugs a batch source and a step into.
pub use wearlang_engine as engine;
// What the loops train and read, re-exported so a training script needs one
// import.
pub use wearlang_models::{
    checkpoint, load_mae, load_sensor_language, EncoderSpec, LoadedMae, PretrainConfig,
    SensorLanguageConfig, SensorLanguageModel, SensorLanguageOptions, SensorLanguageSummary,
    TrainState, WindowSet,
};
pub use wearlang_optim::{AdamW, Decay, OptimConfig, ScheduleConfig};
