//! `bag_of_words`: a text tower trained from scratch that averages learned
//! word-piece embeddings over the tokens of a text (padding left out) and
//! maps the mean through a linear layer: the simplest text side that still
//! tells activity names apart.

use tch::{nn, nn::Module, Kind, Tensor};
use wearlang_models::{ModelError, TextEncoder, TextTowerFactory};

/// The tower.
pub struct BagOfWords {
    embed: nn::Embedding,
    out: nn::Linear,
    dim: i64,
}

impl BagOfWords {
    /// Build under `p` for `vocab_size` word pieces, `dim` wide.
    pub fn new(p: nn::Path, vocab_size: i64, dim: i64) -> Self {
        BagOfWords {
            embed: nn::embedding(&p / "embed", vocab_size, dim, Default::default()),
            out: nn::linear(&p / "out", dim, dim, Default::default()),
            dim,
        }
    }
}

impl TextEncoder for BagOfWords {
    fn forward_t(
        &self,
        ids: &Tensor,
        attention_mask: &Tensor,
        _train: bool,
    ) -> wearlang_models::Result<Tensor> {
        if ids.dim() != 2 || attention_mask.size() != ids.size() {
            return Err(ModelError::Data(format!(
                "bag_of_words expects ids and mask [B, L] of one shape, got {:?} and {:?}",
                ids.size(),
                attention_mask.size()
            )));
        }
        let w = attention_mask.to_kind(Kind::Float).unsqueeze(-1);
        let sum =
            (self.embed.forward(ids) * &w).sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
        let n = w
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
            .clamp_min(1.0);
        Ok(self.out.forward(&(sum / n)))
    }

    fn dim(&self) -> i64 {
        self.dim
    }

    fn max_len(&self) -> Option<usize> {
        Some(32)
    }
}

/// Its factory: `params.dim` (default 64).
pub struct BagOfWordsFactory;

impl TextTowerFactory for BagOfWordsFactory {
    fn build(
        &self,
        p: nn::Path,
        vocab_size: i64,
        params: &serde_json::Map<String, serde_json::Value>,
        saved: Option<&serde_json::Value>,
    ) -> wearlang_models::Result<(Box<dyn TextEncoder>, serde_json::Value)> {
        // A checkpoint's record wins over the config, so a model loads as trained.
        let dim = match saved {
            Some(s) => s["dim"].as_i64(),
            None => params.get("dim").map_or(Some(64), |v| v.as_i64()),
        };
        let dim = match dim {
            Some(d) if d >= 1 => d,
            _ => {
                return Err(ModelError::config(
                    "text.params.dim",
                    "must be an integer of at least 1",
                ))
            }
        };
        let record = serde_json::json!({ "dim": dim, "vocab_size": vocab_size });
        Ok((Box::new(BagOfWords::new(p, vocab_size, dim)), record))
    }
}
