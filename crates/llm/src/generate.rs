//! A loaded model (weights, tokenizer, chat template) and text generation
//! with a KV cache: prefill the prompt once, then one token per step, until
//! an end-of-turn token, a length limit or the caller stops it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::{nn, Device, Kind, Tensor};

use crate::config::LlamaConfig;
use crate::gguf::Gguf;
use crate::model::{load_gguf_weights, KvCache, Llama};
use crate::sampling::{Sampler, Sampling};
use crate::tokenizer::{BpeTokenizer, ChatMessage, StreamDecoder};
use crate::{LlmError, Result};

/// File name of the SmolLM2 model that `cargo xtask setup` fetches.
pub const SMOLLM2_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// The GGUF file to use: `explicit` if given, else `$WEARLANG_LLM`, else
/// `target/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf`
/// under `workspace` (where `cargo xtask setup` links it).
pub fn default_model_path(explicit: Option<&Path>, workspace: &Path) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("WEARLANG_LLM") {
        return PathBuf::from(p);
    }
    workspace
        .join("target/models/SmolLM2-135M-Instruct")
        .join(SMOLLM2_FILE)
}

/// A decoder LLM ready to run: its variables, the decoder, the tokenizer.
pub struct LlmModel {
    /// The variables (named as the GGUF tensors).
    pub vs: nn::VarStore,
    /// The decoder.
    pub llama: Llama,
    /// The tokenizer and chat template.
    pub tokenizer: BpeTokenizer,
    /// The file it was loaded from.
    pub source: PathBuf,
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// An end-of-turn / end-of-sequence token was produced.
    EndOfTurn,
    /// `max_tokens` were produced.
    Length,
    /// The callback asked to stop.
    Callback,
}

/// Settings of one generation.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Most new tokens.
    pub max_tokens: usize,
    /// Token choice.
    pub sampling: Sampling,
    /// Tokens that end the turn (the EOS and `<|im_end|>` by default).
    pub stop_ids: Vec<u32>,
}

/// The result of a generation.
#[derive(Clone, Debug)]
pub struct Generation {
    /// New token ids (the stop token included when there was one).
    pub ids: Vec<u32>,
    /// Their text, special tokens left out.
    pub text: String,
    /// Why it ended.
    pub stop: StopReason,
    /// Prompt length in tokens.
    pub prompt_tokens: usize,
    /// Seconds spent on the prompt (prefill).
    pub prefill_seconds: f64,
    /// Seconds spent producing the new tokens.
    pub decode_seconds: f64,
}

/// The one row of `[1, vocab]` last-position logits.
fn last_logits(logits: &Tensor) -> Result<Vec<f32>> {
    let last = logits.squeeze_dim(0).to_kind(Kind::Float);
    Ok(Vec::<f32>::try_from(last.to_device(Device::Cpu))?)
}

/// Every row of `[B, vocab]` last-position logits.
fn batch_last_logits(logits: &Tensor) -> Result<Vec<Vec<f32>>> {
    let last = logits.to_kind(Kind::Float).to_device(Device::Cpu);
    let b = last.size()[0];
    (0..b)
        .map(|i| Ok(Vec::<f32>::try_from(last.get(i))?))
        .collect()
}

impl LlmModel {
    /// Load a Llama-family GGUF file (weights dequantised to f32).
    pub fn load(path: &Path, device: Device) -> Result<Self> {
        let gguf = Gguf::open(path).map_err(|e| match e {
            LlmError::File { path, reason } => LlmError::File {
                path,
                reason: format!("{reason} (run `cargo xtask setup` to fetch the model)"),
            },
            other => other,
        })?;
        let config = LlamaConfig::from_gguf(&gguf)?;
        let tokenizer = BpeTokenizer::from_gguf(&gguf)?;
        if tokenizer.vocab_size() as i64 != config.vocab_size {
            return Err(LlmError::metadata(
                "tokenizer.ggml.tokens",
                format!(
                    "{} tokens, the model's vocabulary is {}",
                    tokenizer.vocab_size(),
                    config.vocab_size
                ),
            ));
        }
        // Building the layers draws their initial values from torch's global
        // generator; hold it so that a seeded run elsewhere in the process is
        // not disturbed (the values are overwritten below).
        let _rng = wearlang_device::lock_rng();
        let vs = nn::VarStore::new(device);
        let llama = Llama::new(&vs.root(), &config)?;
        load_gguf_weights(&vs, &gguf, &config)?;
        Ok(LlmModel {
            vs,
            llama,
            tokenizer,
            source: path.to_path_buf(),
        })
    }

    /// Build from parts (a tiny random model in tests).
    pub fn from_parts(vs: nn::VarStore, llama: Llama, tokenizer: BpeTokenizer) -> Self {
        LlmModel {
            vs,
            llama,
            tokenizer,
            source: PathBuf::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LlamaConfig {
        &self.llama.config
    }

    /// Token ids of a chat prompt ending with the assistant's turn; `system`
    /// replaces the template's default system message.
    pub fn chat_prompt(&self, system: Option<&str>, user: &str) -> Result<Vec<u32>> {
        let chat = self.tokenizer.chat.as_ref().ok_or_else(|| {
            LlmError::metadata(
                "tokenizer.chat_template",
                "missing: the model is not a chat model",
            )
        })?;
        let mut messages = Vec::new();
        if let Some(s) = system {
            messages.push(ChatMessage::new("system", s));
        }
        messages.push(ChatMessage::new("user", user));
        Ok(self.tokenizer.encode(&chat.render(&messages, true), true))
    }

    /// Options with the model's stop tokens (EOS and `<|im_end|>`).
    pub fn options(&self, max_tokens: usize, sampling: Sampling) -> GenerateOptions {
        let mut stop_ids: Vec<u32> = self.tokenizer.eos_id.into_iter().collect();
        if let Some(id) = self.tokenizer.token_id("<|im_end|>") {
            if !stop_ids.contains(&id) {
                stop_ids.push(id);
            }
        }
        GenerateOptions {
            max_tokens,
            sampling,
            stop_ids,
        }
    }

    /// Logits `[T, vocab]` of a whole sequence (no cache), for checks.
    pub fn sequence_logits(&self, ids: &[u32]) -> Result<Tensor> {
        let ids = self.ids_tensor(ids)?;
        tch::no_grad(|| Ok(self.llama.forward(&ids, None)?.squeeze_dim(0)))
    }

    fn ids_tensor(&self, ids: &[u32]) -> Result<Tensor> {
        if ids.is_empty() {
            return Err(LlmError::Shape("an empty prompt".into()));
        }
        let vocab = self.config().vocab_size;
        if let Some(bad) = ids.iter().find(|&&i| i as i64 >= vocab) {
            return Err(LlmError::Shape(format!(
                "token id {bad} is outside the vocabulary of {vocab}"
            )));
        }
        let v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        Ok(Tensor::from_slice(&v)
            .view([1, ids.len() as i64])
            .to_device(self.vs.device()))
    }

    /// Several independent samples after the same `prompt`, decoded as one
    /// batch (one weight pass per step serves them all): sample `i` uses
    /// `samplings[i]`, stops at its own stop token or after `max_tokens`.
    /// Each result equals what [`LlmModel::generate`] gives with the same
    /// sampling, up to float rounding of the batched matrix products.
    pub fn generate_many(
        &self,
        prompt: &[u32],
        samplings: &[Sampling],
        max_tokens: usize,
        stop_ids: &[u32],
    ) -> Result<Vec<Generation>> {
        let room = self.config().max_positions as usize;
        if prompt.len() + max_tokens > room {
            return Err(LlmError::config(
                "max_tokens",
                format!(
                    "a {}-token prompt plus {max_tokens} new tokens exceed the model's {room} positions",
                    prompt.len()
                ),
            ));
        }
        let b = samplings.len();
        if b == 0 {
            return Ok(Vec::new());
        }
        let mut samplers = samplings
            .iter()
            .map(|s| Sampler::new(s.clone()))
            .collect::<Result<Vec<_>>>()?;
        let input = self.ids_tensor(prompt)?.repeat([b as i64, 1]);
        tch::no_grad(|| {
            let mut cache = KvCache::new();
            let t0 = Instant::now();
            let logits = self.llama.forward_last(&input, Some(&mut cache))?;
            let prefill_seconds = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let mut rows = batch_last_logits(&logits)?;
            let mut ids: Vec<Vec<u32>> = vec![Vec::new(); b];
            let mut stop = vec![StopReason::Length; b];
            let mut done = vec![false; b];
            for step in 0..max_tokens {
                let mut next = vec![0i64; b];
                for i in 0..b {
                    if done[i] {
                        continue;
                    }
                    let id = samplers[i].sample(&rows[i])?;
                    ids[i].push(id);
                    next[i] = id as i64;
                    if stop_ids.contains(&id) {
                        done[i] = true;
                        stop[i] = StopReason::EndOfTurn;
                    }
                }
                if done.iter().all(|&d| d) || step + 1 == max_tokens {
                    break;
                }
                // Finished rows keep decoding a token nobody reads: the
                // batch keeps one shape and the others are not affected.
                let step_ids = Tensor::from_slice(&next)
                    .view([b as i64, 1])
                    .to_device(self.vs.device());
                rows = batch_last_logits(&self.llama.forward_last(&step_ids, Some(&mut cache))?)?;
            }
            let decode_seconds = t1.elapsed().as_secs_f64();
            Ok(ids
                .into_iter()
                .zip(stop)
                .map(|(ids, stop)| Generation {
                    // The stop token ends the turn; it is not text.
                    text: match stop {
                        StopReason::EndOfTurn => self.tokenizer.decode(&ids[..ids.len() - 1], true),
                        _ => self.tokenizer.decode(&ids, true),
                    },
                    ids,
                    stop,
                    prompt_tokens: prompt.len(),
                    prefill_seconds,
                    decode_seconds,
                })
                .collect())
        })
    }

    /// Generate after `prompt`; `on_text` gets each piece of text as it is
    /// complete (special tokens left out) and returns false to stop.
    pub fn generate(
        &self,
        prompt: &[u32],
        opts: &GenerateOptions,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<Generation> {
        let room = self.config().max_positions as usize;
        if prompt.len() + opts.max_tokens > room {
            return Err(LlmError::config(
                "max_tokens",
                format!(
                    "a {}-token prompt plus {} new tokens exceed the model's {room} positions",
                    prompt.len(),
                    opts.max_tokens
                ),
            ));
        }
        let mut sampler = Sampler::new(opts.sampling.clone())?;
        let input = self.ids_tensor(prompt)?;
        tch::no_grad(|| {
            let mut cache = KvCache::new();
            let t0 = Instant::now();
            let logits = self.llama.forward_last(&input, Some(&mut cache))?;
            let mut next_logits = last_logits(&logits)?;
            let prefill_seconds = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let mut ids = Vec::new();
            let mut decoder = StreamDecoder::new();
            let mut text = String::new();
            let mut stop = StopReason::Length;
            while ids.len() < opts.max_tokens {
                let id = sampler.sample(&next_logits)?;
                ids.push(id);
                if opts.stop_ids.contains(&id) {
                    stop = StopReason::EndOfTurn;
                    break;
                }
                let piece = decoder.push(&self.tokenizer, id, true);
                text.push_str(&piece);
                if !piece.is_empty() && !on_text(&piece) {
                    stop = StopReason::Callback;
                    break;
                }
                if ids.len() == opts.max_tokens {
                    break;
                }
                let step = Tensor::from_slice(&[id as i64])
                    .view([1, 1])
                    .to_device(self.vs.device());
                next_logits = last_logits(&self.llama.forward_last(&step, Some(&mut cache))?)?;
            }
            let rest = decoder.finish();
            if !rest.is_empty() {
                on_text(&rest);
                text.push_str(&rest);
            }
            Ok(Generation {
                ids,
                text,
                stop,
                prompt_tokens: prompt.len(),
                prefill_seconds,
                decode_seconds: t1.elapsed().as_secs_f64(),
            })
        })
    }
}
