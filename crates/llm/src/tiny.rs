//! A tiny random Llama with a byte-level vocabulary and the ChatML template:
//! a stand-in for SmolLM2 in tests of whatever is built on the decoder
//! (SensorLLM), small enough to train in seconds on a CPU.
//!
//! The weights come from their own seeded ChaCha8 generator, not from
//! libtorch's global one, so tests running in parallel threads get the same
//! model every run.

use rand::{Rng, SeedableRng};
use tch::{nn, Device, Tensor};

use crate::tokenizer::{token_type, ChatTemplate, PreTokenizer};
use crate::{BpeTokenizer, Llama, LlamaConfig, LlmModel, Result};

/// The control tokens of the tiny vocabulary (ids 0, 1, 2).
pub const TINY_SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// GPT-2's printable byte alphabet, one token per byte (the tokens of a
/// byte-level vocabulary, in byte order).
pub fn byte_tokens() -> Vec<String> {
    let mut extra = 0u32;
    (0..256u32)
        .map(|b| {
            let printable = (0x21..=0x7E).contains(&b)
                || (0xA1..=0xAC).contains(&b)
                || (0xAE..=0xFF).contains(&b);
            let c = if printable {
                b
            } else {
                extra += 1;
                255 + extra
            };
            char::from_u32(c).map(|c| c.to_string()).unwrap_or_default()
        })
        .collect()
}

/// The tiny byte-level tokenizer: the three control tokens, 256 byte
/// tokens and no merges; ChatML with the system message `You are a helpful
/// assistant.`.
pub fn tiny_tokenizer() -> Result<BpeTokenizer> {
    let mut tokens: Vec<String> = TINY_SPECIALS.iter().map(|s| s.to_string()).collect();
    tokens.extend(byte_tokens());
    let mut types = vec![token_type::CONTROL; TINY_SPECIALS.len()];
    types.resize(tokens.len(), token_type::NORMAL);
    let chat = ChatTemplate {
        default_system: Some("You are a helpful assistant.".into()),
    };
    BpeTokenizer::new(
        tokens,
        types,
        &[],
        PreTokenizer::Gpt2,
        Some(1),
        Some(2),
        false,
        Some(chat),
    )
}

/// A tiny Llama ([`LlamaConfig::tiny`] over the tiny vocabulary, tied
/// embeddings) with weights drawn from a ChaCha8 generator seeded with
/// `seed` (normal-like, std 0.2; norm scales in [0.5, 1.5)).
pub fn tiny_llm(seed: u64, device: Device) -> Result<LlmModel> {
    let tokenizer = tiny_tokenizer()?;
    let cfg = LlamaConfig::tiny(tokenizer.vocab_size() as i64);
    // Building the layers draws their initial values from torch's global
    // generator; hold it so that a seeded run elsewhere in the process is
    // not disturbed (the values are overwritten below).
    let _rng = wearlang_device::lock_rng();
    let vs = nn::VarStore::new(device);
    let llama = Llama::new(&vs.root(), &cfg)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| -> Result<()> {
        for (name, mut v) in vars {
            let n = v.numel();
            let values: Vec<f32> = if name.ends_with("norm.weight") {
                (0..n).map(|_| rng.random_range(0.5f32..1.5)).collect()
            } else {
                (0..n)
                    .map(|_| {
                        let s: f32 = (0..12).map(|_| rng.random::<f32>()).sum();
                        (s - 6.0) * 0.2
                    })
                    .collect()
            };
            let t = Tensor::f_from_slice(&values)?
                .f_view(v.size().as_slice())?
                .f_to_device(device)?;
            v.f_copy_(&t)?;
        }
        Ok(())
    })?;
    Ok(LlmModel::from_parts(vs, llama, tokenizer))
}

/// Write `llm` (the tiny model or any Llama with a byte-level vocabulary
/// and no merges) as an F32 GGUF file that [`LlmModel::load`] reads back,
/// with llama.cpp's Q/K row permutation, so code that loads its LLM from a
/// file can be tested with the tiny one.
pub fn write_gguf(llm: &LlmModel, path: &std::path::Path) -> Result<()> {
    use crate::gguf::{GgmlType, GgufWriter, MetaValue};
    let cfg = llm.config();
    let t = &llm.tokenizer;
    let tokens: Vec<MetaValue> = (0..t.vocab_size() as u32)
        .map(|i| MetaValue::String(t.token(i).unwrap_or_default().to_string()))
        .collect();
    let types: Vec<MetaValue> = (0..t.vocab_size() as u32)
        .map(|i| MetaValue::I32(if t.is_control(i) { 3 } else { 1 }))
        .collect();
    let system = t
        .chat
        .as_ref()
        .and_then(|c| c.default_system.clone())
        .unwrap_or_default();
    let u32v = |v: i64| MetaValue::U32(v as u32);
    let mut w = GgufWriter::new();
    w.meta("general.architecture", MetaValue::String("llama".into()))
        .meta("llama.block_count", u32v(cfg.n_layers))
        .meta("llama.context_length", u32v(cfg.max_positions))
        .meta("llama.embedding_length", u32v(cfg.hidden_size))
        .meta("llama.feed_forward_length", u32v(cfg.ffn_size))
        .meta("llama.attention.head_count", u32v(cfg.n_heads))
        .meta("llama.attention.head_count_kv", u32v(cfg.n_kv_heads))
        .meta(
            "llama.rope.freq_base",
            MetaValue::F32(cfg.rope_theta as f32),
        )
        .meta(
            "llama.attention.layer_norm_rms_epsilon",
            MetaValue::F32(cfg.rms_eps as f32),
        )
        .meta("llama.vocab_size", u32v(cfg.vocab_size))
        .meta("llama.rope.dimension_count", u32v(cfg.head_dim()))
        .meta("tokenizer.ggml.model", MetaValue::String("gpt2".into()))
        .meta("tokenizer.ggml.pre", MetaValue::String("gpt2".into()))
        .meta("tokenizer.ggml.tokens", MetaValue::Array(tokens))
        .meta("tokenizer.ggml.token_type", MetaValue::Array(types))
        .meta("tokenizer.ggml.merges", MetaValue::Array(Vec::new()))
        .meta(
            "tokenizer.chat_template",
            MetaValue::String(format!(
                "{{{{ '<|im_start|>system\n{system}<|im_end|>\n' }}}}{{{{'<|im_start|>' + role }}}}"
            )),
        );
    if let Some(b) = t.bos_id {
        w.meta("tokenizer.ggml.bos_token_id", MetaValue::U32(b));
    }
    if let Some(e) = t.eos_id {
        w.meta("tokenizer.ggml.eos_token_id", MetaValue::U32(e));
    }
    let mut vars: Vec<(String, Tensor)> = llm.vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, t) in vars {
        let t = if name.ends_with("attn_q.weight") {
            crate::model::permute_qk(&t, cfg.n_heads)
        } else if name.ends_with("attn_k.weight") {
            crate::model::permute_qk(&t, cfg.n_kv_heads)
        } else {
            t
        };
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let values = Vec::<f32>::try_from(t.detach().contiguous().view(-1))?;
        w.tensor(&name, &shape, &values, GgmlType::F32)?;
    }
    w.write(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tiny_model_is_seeded_and_chats() {
        let a = tiny_llm(3, Device::Cpu).unwrap();
        let b = tiny_llm(3, Device::Cpu).unwrap();
        let ids = a.chat_prompt(None, "walk").unwrap();
        assert_eq!(ids[0], 1, "starts with <|im_start|>");
        let la = a.sequence_logits(&ids).unwrap();
        let lb = b.sequence_logits(&ids).unwrap();
        assert!(la.equal(&lb));
        let c = tiny_llm(4, Device::Cpu).unwrap();
        assert!(!la.equal(&c.sequence_logits(&ids).unwrap()));
        assert_eq!(
            a.tokenizer
                .decode(&a.tokenizer.encode("walk 2 km", false), false),
            "walk 2 km"
        );
    }
}
