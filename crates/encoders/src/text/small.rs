//! A small trainable text Transformer over the MiniLM WordPiece vocabulary,
//! for from-scratch experiments (no pretrained weights).

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use crate::layers::{BlockConfig, Transformer};
use crate::pooling::masked_mean;
use crate::{EncoderError, Result};

/// Size of the small text Transformer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmallTextConfig {
    /// Vocabulary size (the tokenizer's; 30522 for the MiniLM vocabulary).
    pub vocab_size: i64,
    /// Width.
    pub dim: i64,
    /// Blocks.
    pub depth: i64,
    /// Attention heads.
    pub heads: i64,
    /// MLP hidden width ÷ `dim`.
    pub mlp_ratio: f64,
    /// Longest input in tokens (learned positions).
    pub max_len: i64,
    /// Dropout in training.
    pub dropout: f64,
}

impl Default for SmallTextConfig {
    fn default() -> Self {
        SmallTextConfig {
            vocab_size: 30522,
            dim: 128,
            depth: 2,
            heads: 4,
            mlp_ratio: 4.0,
            max_len: 64,
            dropout: 0.0,
        }
    }
}

impl SmallTextConfig {
    /// The blocks' configuration.
    pub fn block(&self) -> BlockConfig {
        BlockConfig {
            dim: self.dim,
            heads: self.heads,
            mlp_ratio: self.mlp_ratio,
            dropout: self.dropout,
            cross_attention: false,
            causal: false,
        }
    }

    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size < 4 {
            return Err(EncoderError::config("vocab_size", "must be at least 4"));
        }
        if self.max_len < 2 {
            return Err(EncoderError::config("max_len", "must be at least 2"));
        }
        self.block().validate()
    }
}

/// Token embedding (`token_embedding`), learned positions (`pos_embedding`
/// `[max_len, dim]`), pre-norm blocks and final norm (`transformer.*`);
/// the sentence embedding is the mean over non-padding tokens.
#[derive(Debug)]
pub struct SmallTextTransformer {
    tok: nn::Embedding,
    pos: Tensor,
    transformer: Transformer,
    cfg: SmallTextConfig,
}

impl SmallTextTransformer {
    /// Build under `p`.
    pub fn new(p: nn::Path, cfg: &SmallTextConfig) -> Result<Self> {
        cfg.validate()?;
        let tok = nn::embedding(
            &p / "token_embedding",
            cfg.vocab_size,
            cfg.dim,
            nn::EmbeddingConfig {
                ws_init: nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
                ..Default::default()
            },
        );
        let pos = p.var(
            "pos_embedding",
            &[cfg.max_len, cfg.dim],
            nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        );
        let transformer = Transformer::new(&p / "transformer", cfg.depth, &cfg.block())?;
        Ok(SmallTextTransformer {
            tok,
            pos,
            transformer,
            cfg: cfg.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SmallTextConfig {
        &self.cfg
    }

    /// Token states `[B, L, dim]` of `ids` `[B, L]` with `attention_mask`
    /// `[B, L]` (1 = token, 0 = padding); inputs longer than `max_len` are
    /// an error.
    pub fn forward_t(&self, ids: &Tensor, attention_mask: &Tensor, train: bool) -> Result<Tensor> {
        let size = ids.size();
        if size.len() != 2 || attention_mask.size() != size {
            return Err(EncoderError::Shape(format!(
                "ids {size:?} and attention mask {:?} must both be [B, L]",
                attention_mask.size()
            )));
        }
        if size[1] > self.cfg.max_len {
            return Err(EncoderError::Shape(format!(
                "{} tokens, the small text Transformer takes at most {}",
                size[1], self.cfg.max_len
            )));
        }
        let x = ids.apply(&self.tok) + self.pos.narrow(0, 0, size[1]).unsqueeze(0);
        let keys = attention_mask.to_kind(Kind::Bool);
        Ok(self.transformer.forward_t(&x, Some(&keys), None, train))
    }

    /// Sentence embeddings `[B, dim]`: the mean over non-padding tokens
    /// (not normalised; a projection head follows).
    pub fn embed(&self, ids: &Tensor, attention_mask: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.forward_t(ids, attention_mask, train)?;
        Ok(masked_mean(&h, &attention_mask.to_kind(Kind::Bool)))
    }
}
