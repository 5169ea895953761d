//! Training machinery for wearlang.
//!
//! - [`AdamW`]: AdamW with weight-decay groups and global-norm gradient
//!   clipping whose state lives in tensors a checkpoint saves, so that
//!   `--resume` continues bit for bit;
//! - [`ScheduleConfig`]: linear warmup then cosine, inverse-sqrt or constant;
//! - [`checkpoint`]: atomic checkpoint directories (`model.safetensors`,
//!   `optimizer.safetensors`, `state.json`, `config.json`);
//! - [`WindowSet`], [`epoch_order`], [`step_seed`]: windows as tensors and
//!   seeded orders, so every step depends only on `(seed, step)`;
//! - [`MetricsLog`]: `metrics.jsonl`, trimmed on resume;
//! - [`sensor_language`]: the generic SensorLM model (CLIP, SigLIP, UniCL,
//!   SLIP, CoCa) assembled from a TOML config, its training loop and loader;
//! - [`pretrain()`]: masked (AIM) pretraining of the patch Transformer;
//! - [`SupervisedClassifier`]: the NLS supervised reference (conv encoder +
//!   linear classifier trained end to end).
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
//!     out: PathBuf::from("runs/mae"),
//!     resume: false,
//!     progress: true,
//!     stop_after: None,
//! }).unwrap();
//! println!("loss {:.4} after {} steps", summary.final_loss, summary.steps);
//! ```

#![warn(missing_docs)]

pub mod checkpoint;
mod data;
mod error;
mod log;
mod optim;
pub mod pretrain;
mod schedule;
pub mod sensor_language;
mod supervised;

pub use data::{epoch_order, step_seed, WindowSet};
pub use error::{Result, TrainError};
pub use log::MetricsLog;
pub use optim::{AdamW, OptimConfig};
pub use pretrain::{
    load_mae, pretrain, EncoderSpec, LoadedMae, PretrainConfig, PretrainOptions, PretrainSummary,
    TrainState,
};
pub use schedule::{Decay, ScheduleConfig};
pub use sensor_language::{
    load_sensor_language, train_sensor_language, SensorLanguageConfig, SensorLanguageModel,
    SensorLanguageOptions,
};
pub use supervised::{SupervisedClassifier, SupervisedConfig};
