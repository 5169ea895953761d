//! SensorLLM (Li et al., arXiv 2410.10624) for wearlang: a decoder LLM that
//! reads multichannel sensor windows.
//!
//! - A frozen pretrained sensor encoder ([`Embedder`]: the AIM patch
//!   Transformer of a `wearlang pretrain` run, or the sensor encoder of a
//!   `wearlang train` run such as the NLS conv encoder, its time steps
//!   max-pooled into `sensor_tokens` tokens; in place of the paper's
//!   Chronos) turns a window into tokens; an MLP projector maps them into
//!   the LLM's embedding space.
//! - Each group of channels (one column of patch tokens, e.g. `acc_x`) sits
//!   between its own trainable start and end embeddings (`<acc_x_start>` …
//!   `<acc_x_end>`) inside a chat prompt, followed by the instruction; the
//!   layout is recorded in [`PromptLayout`] and in the checkpoint.
//! - Stage 1 (alignment, [`SensorLlm::align_loss`]): LLM and encoder frozen,
//!   projector and special tokens trained to answer "Describe the trend of
//!   {channel}." with that channel's trend text (segments with their times,
//!   mean, standard deviation, overall trend; [`questions`]), one question
//!   per channel as in the paper, or the whole window's `trend` caption
//!   (`align.answer = "window"`); cross-entropy on the answer only.
//! - Stage 2 (task-aware tuning, [`SensorLlm::class_logits`]): a
//!   classification head on the LLM's final states (mean over the sensor
//!   tokens by default, or the prompt's last one), standardised per
//!   dimension; by default only the head trains.
//! - Checkpoints hold only what was trained, with SHA-256 hashes of the LLM's
//!   and the encoder's weights; [`SensorLlm::load`] refuses other weights.
//!
//! The training loops are `wearlang_train::{align_sensorllm, tune_sensorllm}`
//! on the project's training engine.
//!
//! ```no_run
//! use std::path::Path;
//! use wearlang_sensorllm::SensorLlm;
//!
//! let llm = wearlang_llm::LlmModel::load(
//!     &wearlang_llm::default_model_path(None, Path::new(".")),
//!     tch::Device::Cpu,
//! )
//! .unwrap();
//! let model = SensorLlm::load(Path::new("target/runs/sensorllm_align"), llm, tch::Device::Cpu)
//!     .unwrap();
//! let x = tch::Tensor::zeros([1, 100, 6], (tch::Kind::Float, tch::Device::Cpu));
//! println!("{}", model.describe(&x, 64, 1).unwrap()[0]);
//! ```

#![warn(missing_docs)]

pub mod answers;
pub mod config;
pub mod embedder;
pub mod model;

pub use answers::{questions, window_seed, Question};
pub use config::{AlignConfig, AnswerScope, Pool, SensorLlmConfig, StageConfig, TuneConfig};
pub use embedder::{checkpoint_kind, Embedder};
pub use model::{
    find, weights_sha256, ChannelGroup, Described, PromptLayout, SensorLlm,
    SensorLlmCheckpointConfig, Stage,
};
