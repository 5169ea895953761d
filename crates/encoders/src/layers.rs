//! Shared Transformer building blocks: multi-head attention (self or
//! cross, with key masks and causal masking), the GELU MLP, pre-norm blocks
//! and a stack of them with a final LayerNorm.
//!
//! Masks are bool tensors where `true` means "may be attended". A query row
//! that would have no key to attend (every key masked) attends to every key
//! instead, so no NaN appears; callers ignore such rows (a window with no
//! observed token has no valid output).

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Kind, Tensor};

use crate::{EncoderError, Result};

/// LayerNorm epsilon of every block.
pub const LN_EPS: f64 = 1e-6;

/// Settings of one Transformer block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlockConfig {
    /// Model width.
    pub dim: i64,
    /// Attention heads (`dim` must be a multiple).
    pub heads: i64,
    /// MLP hidden width as a multiple of `dim`.
    pub mlp_ratio: f64,
    /// Dropout on attention weights and residual branches during training.
    pub dropout: f64,
    /// Add a cross-attention sub-layer (to a context such as sensor tokens).
    pub cross_attention: bool,
    /// Causal self-attention (a token sees itself and earlier tokens only).
    pub causal: bool,
}

impl Default for BlockConfig {
    fn default() -> Self {
        BlockConfig {
            dim: 128,
            heads: 4,
            mlp_ratio: 4.0,
            dropout: 0.0,
            cross_attention: false,
            causal: false,
        }
    }
}

impl BlockConfig {
    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        if self.dim <= 0 || self.heads <= 0 || self.dim % self.heads != 0 {
            return Err(EncoderError::config(
                "heads",
                format!(
                    "dim {} must be a positive multiple of heads {}",
                    self.dim, self.heads
                ),
            ));
        }
        if !(self.mlp_ratio.is_finite() && self.mlp_ratio > 0.0) {
            return Err(EncoderError::config(
                "mlp_ratio",
                format!("must be > 0, got {}", self.mlp_ratio),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(EncoderError::config(
                "dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        Ok(())
    }
}

/// A linear layer initialised with N(0, 0.02) weights and zero bias.
pub fn linear(p: nn::Path, inp: i64, out: i64) -> nn::Linear {
    nn::linear(
        p,
        inp,
        out,
        nn::LinearConfig {
            ws_init: nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    )
}

/// A LayerNorm over the last dimension with [`LN_EPS`].
pub fn layer_norm(p: nn::Path, dim: i64) -> nn::LayerNorm {
    nn::layer_norm(
        p,
        vec![dim],
        nn::LayerNormConfig {
            eps: LN_EPS,
            ..Default::default()
        },
    )
}

/// Multi-head attention. Self-attention uses one fused `qkv` projection;
/// cross-attention separate `q` and `kv`; both end in `proj`.
#[derive(Debug)]
pub struct MultiHeadAttention {
    qkv: Option<nn::Linear>,
    q: Option<nn::Linear>,
    kv: Option<nn::Linear>,
    proj: nn::Linear,
    heads: i64,
    dim: i64,
    dropout: f64,
}

/// Combine an optional key mask `[B, Lk]` and causality into one SDPA mask
/// `[B, 1, Lq, Lk]` (or `None`), fixing rows with no attendable key.
fn attention_mask(key_mask: Option<&Tensor>, causal: bool, lq: i64, lk: i64) -> Option<Tensor> {
    let mut mask: Option<Tensor> =
        key_mask.map(|m| m.to_kind(Kind::Bool).unsqueeze(1).unsqueeze(1));
    if causal {
        let device = key_mask.map(|m| m.device()).unwrap_or(tch::Device::Cpu);
        let c = Tensor::ones([lq, lk], (Kind::Bool, device)).tril(lk - lq);
        mask = Some(match mask {
            Some(m) => m.logical_and(&c),
            None => c.unsqueeze(0).unsqueeze(0),
        });
    }
    mask.map(|m| {
        let empty = m.any_dim(-1, true).logical_not();
        m.logical_or(&empty)
    })
}

impl MultiHeadAttention {
    /// Build under `p` for width `dim` and `heads` heads.
    pub fn new(p: nn::Path, dim: i64, heads: i64, cross: bool) -> Result<Self> {
        if dim <= 0 || heads <= 0 || dim % heads != 0 {
            return Err(EncoderError::config(
                "heads",
                format!("dim {dim} must be a positive multiple of heads {heads}"),
            ));
        }
        let (qkv, q, kv) = if cross {
            (
                None,
                Some(linear(&p / "q", dim, dim)),
                Some(linear(&p / "kv", dim, 2 * dim)),
            )
        } else {
            (Some(linear(&p / "qkv", dim, 3 * dim)), None, None)
        };
        Ok(MultiHeadAttention {
            qkv,
            q,
            kv,
            proj: linear(&p / "proj", dim, dim),
            heads,
            dim,
            dropout: 0.0,
        })
    }

    /// Set the attention dropout used in training.
    pub fn with_dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }

    fn split_heads(&self, x: &Tensor) -> Tensor {
        let (b, l) = (x.size()[0], x.size()[1]);
        x.reshape([b, l, self.heads, self.dim / self.heads])
            .transpose(1, 2)
    }

    /// `x` `[B, Lq, D]`; `ctx` `[B, Lk, D]` for cross-attention (`None`:
    /// self-attention); `key_mask` `[B, Lk]` bool, `true` = may be attended;
    /// `causal` applies to self-attention.
    pub fn forward_t(
        &self,
        x: &Tensor,
        ctx: Option<&Tensor>,
        key_mask: Option<&Tensor>,
        causal: bool,
        train: bool,
    ) -> Tensor {
        self.forward_biased(x, ctx, key_mask, causal, None, train)
    }

    /// [`MultiHeadAttention::forward_t`] with an additive bias on the
    /// attention logits, `[B or 1, H, Lq, Lk]` (e.g. a
    /// [`RelativeBias`](crate::relpos::RelativeBias)).
    pub fn forward_biased(
        &self,
        x: &Tensor,
        ctx: Option<&Tensor>,
        key_mask: Option<&Tensor>,
        causal: bool,
        bias: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        let (b, lq) = (x.size()[0], x.size()[1]);
        let (q, k, v) = match (&self.qkv, &self.q, &self.kv, ctx) {
            (Some(qkv), _, _, _) => {
                let t = qkv
                    .forward(x)
                    .reshape([b, lq, 3, self.heads, self.dim / self.heads]);
                let t = t.permute([2, 0, 3, 1, 4]);
                (t.get(0), t.get(1), t.get(2))
            }
            (None, Some(qp), Some(kvp), Some(c)) => {
                let lk = c.size()[1];
                let q = self.split_heads(&qp.forward(x));
                let t = kvp
                    .forward(c)
                    .reshape([b, lk, 2, self.heads, self.dim / self.heads]);
                let t = t.permute([2, 0, 3, 1, 4]);
                (q, t.get(0), t.get(1))
            }
            _ => {
                // Cross-attention without a context: attend to itself.
                let qp = self.q.as_ref().expect("cross attention has q");
                let kvp = self.kv.as_ref().expect("cross attention has kv");
                let q = self.split_heads(&qp.forward(x));
                let t = kvp
                    .forward(x)
                    .reshape([b, lq, 2, self.heads, self.dim / self.heads]);
                let t = t.permute([2, 0, 3, 1, 4]);
                (q, t.get(0), t.get(1))
            }
        };
        let lk = k.size()[2];
        let causal = causal && ctx.is_none();
        // Plain causal self-attention: SDPA's own causal path (no mask
        // tensor to build, and the flash kernel skips the masked blocks).
        if causal && key_mask.is_none() && bias.is_none() && lq == lk {
            let dropout = if train { self.dropout } else { 0.0 };
            let y = Tensor::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                None::<Tensor>,
                dropout,
                true,
                None,
                false,
            );
            let y = y.transpose(1, 2).reshape([b, lq, self.dim]);
            return self.proj.forward(&y);
        }
        let mask = attention_mask(key_mask, causal, lq, lk);
        let mask = match (bias, mask) {
            (None, m) => m,
            (Some(bias), None) => Some(bias.to_kind(q.kind())),
            (Some(bias), Some(m)) => Some(
                bias.to_kind(q.kind())
                    .masked_fill(&m.logical_not(), f64::NEG_INFINITY),
            ),
        };
        let dropout = if train { self.dropout } else { 0.0 };
        let y = Tensor::scaled_dot_product_attention(&q, &k, &v, mask, dropout, false, None, false);
        let y = y.transpose(1, 2).reshape([b, lq, self.dim]);
        self.proj.forward(&y)
    }
}

/// The MLP of a block: `fc1` → GELU (erf) → `fc2`.
#[derive(Debug)]
pub struct Mlp {
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Mlp {
    /// Build under `p`.
    pub fn new(p: nn::Path, dim: i64, hidden: i64) -> Self {
        Mlp {
            fc1: linear(&p / "fc1", dim, hidden),
            fc2: linear(&p / "fc2", hidden, dim),
        }
    }

    /// Apply.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.fc2.forward(&self.fc1.forward(x).gelu("none"))
    }
}

/// A pre-norm Transformer block: `x + attn(ln1(x))`, then (with cross
/// attention) `x + cross(ln_cross(x), ctx)`, then `x + mlp(ln2(x))`.
#[derive(Debug)]
pub struct Block {
    ln1: nn::LayerNorm,
    attn: MultiHeadAttention,
    cross: Option<(nn::LayerNorm, MultiHeadAttention)>,
    ln2: nn::LayerNorm,
    mlp: Mlp,
    causal: bool,
    dropout: f64,
}

impl Block {
    /// Build under `p`.
    pub fn new(p: nn::Path, cfg: &BlockConfig) -> Result<Self> {
        cfg.validate()?;
        let hidden = (cfg.dim as f64 * cfg.mlp_ratio).round() as i64;
        let cross = if cfg.cross_attention {
            Some((
                layer_norm(&p / "ln_cross", cfg.dim),
                MultiHeadAttention::new(&p / "cross", cfg.dim, cfg.heads, true)?
                    .with_dropout(cfg.dropout),
            ))
        } else {
            None
        };
        Ok(Block {
            ln1: layer_norm(&p / "ln1", cfg.dim),
            attn: MultiHeadAttention::new(&p / "attn", cfg.dim, cfg.heads, false)?
                .with_dropout(cfg.dropout),
            cross,
            ln2: layer_norm(&p / "ln2", cfg.dim),
            mlp: Mlp::new(&p / "mlp", cfg.dim, hidden.max(1)),
            causal: cfg.causal,
            dropout: cfg.dropout,
        })
    }

    /// `x` `[B, L, D]`; `key_mask` `[B, L]` for self-attention; `ctx` =
    /// (context `[B, N, D]`, its key mask `[B, N]`) for cross-attention.
    pub fn forward_t(
        &self,
        x: &Tensor,
        key_mask: Option<&Tensor>,
        ctx: Option<(&Tensor, Option<&Tensor>)>,
        train: bool,
    ) -> Tensor {
        self.forward_biased(x, key_mask, ctx, None, train)
    }

    /// [`Block::forward_t`] with an additive self-attention bias
    /// `[B or 1, H, L, L]`.
    pub fn forward_biased(
        &self,
        x: &Tensor,
        key_mask: Option<&Tensor>,
        ctx: Option<(&Tensor, Option<&Tensor>)>,
        bias: Option<&Tensor>,
        train: bool,
    ) -> Tensor {
        let a = self
            .attn
            .forward_biased(
                &self.ln1.forward(x),
                None,
                key_mask,
                self.causal,
                bias,
                train,
            )
            .dropout(self.dropout, train);
        let mut x = x + a;
        if let (Some((ln, cross)), Some((c, cm))) = (&self.cross, ctx) {
            let y = cross.forward_t(&ln.forward(&x), Some(c), cm, false, train);
            // Not `+=` (in place): the cross-attention's LayerNorm saved `x`
            // for backward.
            #[allow(clippy::assign_op_pattern)]
            {
                x = x + y.dropout(self.dropout, train);
            }
        }
        let m = self
            .mlp
            .forward(&self.ln2.forward(&x))
            .dropout(self.dropout, train);
        x + m
    }
}

/// `depth` blocks (`blocks.{i}`) and a final LayerNorm (`norm`).
#[derive(Debug)]
pub struct Transformer {
    blocks: Vec<Block>,
    norm: nn::LayerNorm,
}

impl Transformer {
    /// Build under `p`.
    pub fn new(p: nn::Path, depth: i64, cfg: &BlockConfig) -> Result<Self> {
        if depth < 1 {
            return Err(EncoderError::config(
                "depth",
                format!("must be at least 1, got {depth}"),
            ));
        }
        let bp = &p / "blocks";
        let blocks = (0..depth)
            .map(|i| Block::new(&bp / i, cfg))
            .collect::<Result<Vec<_>>>()?;
        Ok(Transformer {
            blocks,
            norm: layer_norm(&p / "norm", cfg.dim),
        })
    }

    /// Run every block, then the final norm (arguments as [`Block::forward_t`]).
    pub fn forward_t(
        &self,
        x: &Tensor,
        key_mask: Option<&Tensor>,
        ctx: Option<(&Tensor, Option<&Tensor>)>,
        train: bool,
    ) -> Tensor {
        self.forward_biased(x, key_mask, ctx, None, train)
    }

    /// [`Transformer::forward_t`] with one additive self-attention bias per
    /// block (`biases.len()` must equal the depth; see
    /// [`RelativeBias`](crate::relpos::RelativeBias)).
    pub fn forward_biased(
        &self,
        x: &Tensor,
        key_mask: Option<&Tensor>,
        ctx: Option<(&Tensor, Option<&Tensor>)>,
        biases: Option<&[Tensor]>,
        train: bool,
    ) -> Tensor {
        let mut h = x.shallow_clone();
        for (i, b) in self.blocks.iter().enumerate() {
            let bias = biases.and_then(|bs| bs.get(i));
            h = b.forward_biased(&h, key_mask, ctx, bias, train);
        }
        self.norm.forward(&h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Causal self-attention through SDPA's causal path equals the same
    /// attention with the causal mask built explicitly (a zero bias forces
    /// the mask path).
    #[test]
    fn causal_path_equals_the_explicit_mask() {
        tch::manual_seed(3);
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let att = MultiHeadAttention::new(vs.root() / "att", 32, 4, false).unwrap();
        let x = Tensor::randn([3, 7, 32], (Kind::Float, tch::Device::Cpu));
        let fast = att.forward_t(&x, None, None, true, false);
        let zero = Tensor::zeros([1, 1, 7, 7], (Kind::Float, tch::Device::Cpu));
        let masked = att.forward_biased(&x, None, None, true, Some(&zero), false);
        let diff = (&fast - &masked).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{diff}");
        // And it is causal: the last step does not change earlier outputs.
        let x2 = x.copy();
        let _ = x2.narrow(1, 6, 1).fill_(5.0);
        let fast2 = att.forward_t(&x2, None, None, true, false);
        let early = (&fast - &fast2)
            .narrow(1, 0, 6)
            .abs()
            .max()
            .double_value(&[]);
        assert!(early < 1e-6, "{early}");
    }
}
