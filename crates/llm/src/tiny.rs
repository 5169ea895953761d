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
