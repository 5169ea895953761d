//! The models of wearlang and everything needed to rebuild them, without
//! the training loops (those live in `wearlang-train`):
//!
//! - [`sensor_language`]: the generic SensorLM model (CLIP, SigLIP, UniCL,
//!   SLIP, CoCa) assembled from its TOML config, the text it is trained
//!   with, its checkpoint record and [`load_sensor_language`];
//! - [`mae`]: the masked autoencoder's run config ([`PretrainConfig`]) and
//!   [`load_mae`];
//! - [`SupervisedClassifier`]: the NLS supervised reference (conv encoder +
//!   linear classifier);
//! - [`checkpoint`]: atomic checkpoint directories (`model.safetensors`,
//!   `optimizer.safetensors`, `state.json`, `config.json`);
//! - [`WindowSet`], [`epoch_order`], [`step_seed`]: windows of a store as
//!   tensors (in memory, or mapped from a file: [`ValueHome`],
//!   [`SetOptions`]) and seeded orders;
//! - [`embed_store`], [`embed_texts`]: embeddings of a store's windows or of
//!   texts as plain data (`wearlang embed`);
//! - [`SensorTextModel`]: what the evaluation protocols use of a model
//!   (embeddings of windows and texts, frozen features, and the optional
//!   [`ProjectionHeads`], [`WindowCaptioner`] and run configuration), so a
//!   fork's own model runs them; [`SensorLanguageModel`] implements it;
//! - [`Trainer`]: the training evaluation protocols call, implemented by
//!   `wearlang-train`;
//! - [`register_sensor_encoder`]: sensor encoders of other crates, named in
//!   a config as `[sensor] kind = "custom"`, `name = "..."` (objectives join
//!   through `wearlang_objectives::register_objective`).
//!
//! Evaluation depends on this crate, never on `wearlang-train`.
//!
//! Example (`no_run`: doctests cannot find libtorch; `tests/` runs this):
//!
//! ```no_run
//! use std::path::Path;
//! use tch::Device;
//! use wearlang_core::Split;
//! use wearlang_models::{load_sensor_language, load_split};
//!
//! let run = load_sensor_language(Path::new("runs/nls_clip"), None, Device::Cpu).unwrap();
//! let test = load_split(&run.config.store, Split::Test).unwrap();
//! let emb = run.model.embed_windows(&test.x, 256).unwrap();
//! println!("{} windows -> {:?}", test.len(), emb.size());
//! ```

#![warn(missing_docs)]

pub mod checkpoint;
mod config_file;
mod embed;
mod error;
pub mod mae;
mod registry;
pub mod sensor_language;
mod sensor_text;
mod supervised;
mod trainer;
mod windows;

pub use checkpoint::TrainState;
pub use config_file::read_toml;
pub use embed::{class_embeddings, embed_store, embed_texts, embedding_matrix, StoreEmbeddings};
pub use error::{ModelError, Result};
pub use mae::{load_mae, EncoderSpec, LoadedMae, PretrainCheckpointConfig, PretrainConfig};
pub use registry::{
    register_sensor_encoder, register_text_tower, registered_sensor_encoders,
    registered_text_towers, SensorEncoderFactory, TextEncoder, TextTowerFactory,
};
pub use sensor_language::{
    load_sensor_language, InputNormalisation, LoadedSensorLanguage, SensorLanguageCheckpointConfig,
    SensorLanguageConfig, SensorLanguageModel, SensorLanguageOptions, SensorLanguageSummary,
};
pub use sensor_text::{ProjectionHeads, SensorTextModel, WindowCaptioner};
pub use supervised::{SupervisedClassifier, SupervisedConfig};
pub use trainer::Trainer;
pub use windows::{
    epoch_order, load_split, load_training_union, load_training_union_in, load_training_union_with,
    load_training_windows, load_validation_union_in, stack_rows, step_seed, training_windows,
    training_windows_in, SetOptions, ValueHome, Values, WindowSet,
};
