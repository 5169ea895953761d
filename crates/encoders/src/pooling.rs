//! Pooling token embeddings into one embedding per window, over the valid
//! (observed) tokens only: attention pooling ("MAP", a learned query attends
//! to the tokens, as in big_vision), masked mean, or masked max. A window
//! with no valid token pools to zeros.

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Kind, Tensor};

use crate::layers::{layer_norm, Mlp, MultiHeadAttention};
use crate::Result;

/// How tokens are pooled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Multi-head attention pooling with a learned query, then a residual MLP.
    Map,
    /// Mean over valid tokens.
    Mean,
    /// Maximum over valid tokens (the NLS conv encoder's global max pool).
    Max,
}

/// A pooling layer (parameters only for [`Pooling::Map`], under `pool`).
#[derive(Debug)]
pub struct Pool {
    kind: Pooling,
    map: Option<MapHead>,
}

#[derive(Debug)]
struct MapHead {
    query: Tensor,
    attn: MultiHeadAttention,
    norm: nn::LayerNorm,
    mlp: Mlp,
}

impl Pool {
    /// Build under `p` (the caller passes e.g. `root / "pool"`).
    pub fn new(p: nn::Path, kind: Pooling, dim: i64, heads: i64) -> Result<Self> {
        let map = match kind {
            Pooling::Map => Some(MapHead {
                query: p.var(
                    "query",
                    &[1, 1, dim],
                    nn::Init::Randn {
                        mean: 0.0,
                        stdev: 0.02,
                    },
                ),
                attn: MultiHeadAttention::new(&p / "attn", dim, heads, true)?,
                norm: layer_norm(&p / "norm", dim),
                mlp: Mlp::new(&p / "mlp", dim, 4 * dim),
            }),
            _ => None,
        };
        Ok(Pool { kind, map })
    }

    /// The pooling kind.
    pub fn kind(&self) -> Pooling {
        self.kind
    }

    /// `tokens` `[B, N, D]`, `valid` `[B, N]` bool → `[B, D]`.
    pub fn forward(&self, tokens: &Tensor, valid: &Tensor) -> Tensor {
        let valid = valid.to_kind(Kind::Bool);
        let any = valid.any_dim(1, true).to_kind(tokens.kind()); // [B, 1]
        let out = match (&self.kind, &self.map) {
            (Pooling::Map, Some(h)) => {
                let b = tokens.size()[0];
                let q = h.query.expand([b, 1, tokens.size()[2]], false);
                let y = h
                    .attn
                    .forward_t(&q, Some(tokens), Some(&valid), false, false);
                let y = &y + h.mlp.forward(&h.norm.forward(&y));
                y.squeeze_dim(1)
            }
            (Pooling::Max, _) => {
                let neg = Tensor::from(f32::NEG_INFINITY)
                    .to_kind(tokens.kind())
                    .to_device(tokens.device());
                let filled = tokens.where_self(&valid.unsqueeze(-1), &neg);
                filled
                    .amax([1], false)
                    .nan_to_num(0.0, Some(0.0), Some(0.0))
            }
            _ => masked_mean(tokens, &valid),
        };
        out * any
    }
}

/// Apply a module-less masked mean (used by text towers too).
pub fn masked_mean(tokens: &Tensor, valid: &Tensor) -> Tensor {
    let w = valid.to_kind(tokens.kind()).unsqueeze(-1);
    (tokens * &w).sum_dim_intlist([1i64].as_slice(), false, tokens.kind())
        / w.sum_dim_intlist([1i64].as_slice(), false, tokens.kind())
            .clamp_min(1e-9)
}

impl Module for Pool {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let valid = Tensor::ones(&xs.size()[..2], (Kind::Bool, xs.device()));
        Pool::forward(self, xs, &valid)
    }
}
