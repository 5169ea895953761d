//! The Llama configuration, read from a GGUF file's metadata.

use serde::{Deserialize, Serialize};

use crate::gguf::Gguf;
use crate::{LlmError, Result};

/// Sizes and constants of a Llama-family decoder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Vocabulary size.
    pub vocab_size: i64,
    /// Model width.
    pub hidden_size: i64,
    /// Decoder blocks.
    pub n_layers: i64,
    /// Query heads.
    pub n_heads: i64,
    /// Key/value heads (grouped-query attention when fewer than `n_heads`).
    pub n_kv_heads: i64,
    /// SwiGLU inner width.
    pub ffn_size: i64,
    /// RoPE base.
    pub rope_theta: f64,
    /// RMSNorm epsilon.
    pub rms_eps: f64,
    /// Longest sequence (prompt + generated tokens).
    pub max_positions: i64,
    /// Whether the output projection is the token embedding.
    pub tie_embeddings: bool,
}

impl LlamaConfig {
    /// Width of one head.
    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.n_heads
    }

    /// The configuration of a GGUF model (`general.architecture = llama`):
    /// `llama.block_count`, `llama.embedding_length`, … The output is tied
    /// when the file has no `output.weight`.
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        let arch = g.get_str("general.architecture")?;
        if arch != "llama" {
            return Err(LlmError::metadata(
                "general.architecture",
                format!("`{arch}` is not supported (llama)"),
            ));
        }
        let int = |k: &str| -> Result<i64> {
            let v = g.get_u64(&format!("{arch}.{k}"))?;
            i64::try_from(v).map_err(|_| LlmError::metadata(format!("{arch}.{k}"), "too large"))
        };
        let n_heads = int("attention.head_count")?;
        let vocab_size = match g.get_u64(&format!("{arch}.vocab_size")) {
            Ok(v) => v as i64,
            Err(_) => g
                .get("tokenizer.ggml.tokens")
                .and_then(|t| t.as_array())
                .map(|a| a.len() as i64)
                .ok_or_else(|| {
                    LlmError::metadata(format!("{arch}.vocab_size"), "missing (and no tokens)")
                })?,
        };
        let cfg = LlamaConfig {
            vocab_size,
            hidden_size: int("embedding_length")?,
            n_layers: int("block_count")?,
            n_heads,
            n_kv_heads: g
                .get_u64(&format!("{arch}.attention.head_count_kv"))
                .map(|v| v as i64)
                .unwrap_or(n_heads),
            ffn_size: int("feed_forward_length")?,
            rope_theta: g
                .get_f64(&format!("{arch}.rope.freq_base"))
                .unwrap_or(10_000.0),
            rms_eps: g.get_f64(&format!("{arch}.attention.layer_norm_rms_epsilon"))?,
            max_positions: int("context_length")?,
            tie_embeddings: g.tensor("output.weight").is_none(),
        };
        cfg.validate()?;
        if let Ok(rope_dims) = g.get_u64(&format!("{arch}.rope.dimension_count")) {
            if rope_dims as i64 != cfg.head_dim() {
                return Err(LlmError::metadata(
                    format!("{arch}.rope.dimension_count"),
                    format!(
                        "{rope_dims} (partial rotary embeddings are not supported; head width {})",
                        cfg.head_dim()
                    ),
                ));
            }
        }
        Ok(cfg)
    }

    /// Check that the sizes fit together.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("n_layers", self.n_layers),
            ("n_heads", self.n_heads),
            ("n_kv_heads", self.n_kv_heads),
            ("ffn_size", self.ffn_size),
            ("max_positions", self.max_positions),
        ];
        for (name, v) in positive {
            if v <= 0 {
                return Err(LlmError::config(name, format!("{v} must be positive")));
            }
        }
        if self.hidden_size % self.n_heads != 0 || self.head_dim() % 2 != 0 {
            return Err(LlmError::config(
                "n_heads",
                format!(
                    "{} heads must divide the width {} into heads of even width",
                    self.n_heads, self.hidden_size
                ),
            ));
        }
        if self.n_heads % self.n_kv_heads != 0 {
            return Err(LlmError::config(
                "n_kv_heads",
                format!("{} must divide n_heads {}", self.n_kv_heads, self.n_heads),
            ));
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 1.0) {
            return Err(LlmError::config(
                "rope_theta",
                format!("{}", self.rope_theta),
            ));
        }
        if !(self.rms_eps.is_finite() && self.rms_eps > 0.0) {
            return Err(LlmError::config("rms_eps", format!("{}", self.rms_eps)));
        }
        Ok(())
    }

    /// A tiny configuration for tests: 2 layers, width 32, 4 query heads
    /// over 2 key/value heads.
    pub fn tiny(vocab_size: i64) -> Self {
        LlamaConfig {
            vocab_size,
            hidden_size: 32,
            n_layers: 2,
            n_heads: 4,
            n_kv_heads: 2,
            ffn_size: 64,
            rope_theta: 10_000.0,
            rms_eps: 1e-5,
            max_positions: 512,
            tie_embeddings: true,
        }
    }
}
