//! Low-rank adapters (LoRA, Hu et al. 2021) on a Llama's attention
//! projections.
//!
//! For each targeted projection `W` (`[out, in]`, frozen) of every block,
//! LoRA adds `ΔW = (alpha / rank) · B A` with `A` `[rank, in]` (Kaiming
//! uniform, as PEFT draws it) and `B` `[out, rank]` (zeros): a fresh adapter
//! leaves the model's outputs unchanged, bit for bit, and only `A` and `B`
//! train. The adapters live in the caller's variable store (names
//! `blk.<i>.attn_q.a`, `blk.<i>.attn_q.b`, … under the path given to
//! [`LoraAdapters::new`]), so a checkpoint holds them beside whatever else
//! was trained, and [`crate::Llama::forward_embeds_with`] applies them.
//! No dropout on the adapter input.

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use crate::config::LlamaConfig;
use crate::{LlmError, Result};

/// The projections an adapter may target, as named in the configuration,
/// with their variable names in the decoder.
pub const TARGETS: [(&str, &str); 4] = [
    ("q", "attn_q"),
    ("k", "attn_k"),
    ("v", "attn_v"),
    ("o", "attn_output"),
];

/// Rank, scale and targets of the adapters (`[tune.lora]` in a SensorLLM
/// configuration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoraConfig {
    /// Rank of `A` and `B`.
    pub rank: i64,
    /// Scale numerator: the update is `alpha / rank · B A`.
    pub alpha: f64,
    /// The attention projections to adapt: any of `q`, `k`, `v`, `o`.
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    /// Rank 8, alpha 16, on the query and value projections (the LoRA
    /// paper's choice).
    fn default() -> Self {
        LoraConfig {
            rank: 8,
            alpha: 16.0,
            targets: vec!["q".into(), "v".into()],
        }
    }
}

impl LoraConfig {
    /// Check every setting; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.rank < 1 {
            return Err(LlmError::Config {
                name: "lora.rank",
                reason: format!("{} (must be at least 1)", self.rank),
            });
        }
        if !self.alpha.is_finite() || self.alpha <= 0.0 {
            return Err(LlmError::Config {
                name: "lora.alpha",
                reason: format!("{} (must be a positive number)", self.alpha),
            });
        }
        if self.targets.is_empty() {
            return Err(LlmError::Config {
                name: "lora.targets",
                reason: "empty: name some of q, k, v, o".into(),
            });
        }
        for (i, t) in self.targets.iter().enumerate() {
            if !TARGETS.iter().any(|(n, _)| n == t) {
                return Err(LlmError::Config {
                    name: "lora.targets",
                    reason: format!("`{t}` is not an attention projection (q, k, v, o)"),
                });
            }
            if self.targets[..i].contains(t) {
                return Err(LlmError::Config {
                    name: "lora.targets",
                    reason: format!("`{t}` is named twice"),
                });
            }
        }
        Ok(())
    }
}

/// One adapter: `A` `[rank, in]` and `B` `[out, rank]`.
#[derive(Debug)]
struct Pair {
    a: Tensor,
    b: Tensor,
}

/// The adapters of every block (see the module documentation).
#[derive(Debug)]
pub struct LoraAdapters {
    /// Per block, per projection in [`TARGETS`] order.
    layers: Vec<[Option<Pair>; 4]>,
    scale: f64,
}

impl LoraAdapters {
    /// Adapters for a decoder of configuration `llama`, created under `p`
    /// (`A` drawn from torch's generator: seed it first).
    pub fn new(p: &nn::Path, llama: &LlamaConfig, cfg: &LoraConfig) -> Result<Self> {
        cfg.validate()?;
        let h = llama.hidden_size;
        let kv = llama.n_kv_heads * llama.head_dim();
        let shapes = [(h, h), (h, kv), (h, kv), (h, h)];
        let layers = (0..llama.n_layers)
            .map(|i| {
                let block = p / "blk" / i;
                std::array::from_fn(|j| {
                    let (name, var) = TARGETS[j];
                    cfg.targets.iter().any(|t| t == name).then(|| {
                        let (fan_in, out) = shapes[j];
                        let q = &block / var;
                        Pair {
                            a: q.var("a", &[cfg.rank, fan_in], nn::init::DEFAULT_KAIMING_UNIFORM),
                            b: q.var("b", &[out, cfg.rank], nn::Init::Const(0.0)),
                        }
                    })
                })
            })
            .collect();
        Ok(LoraAdapters {
            layers,
            scale: cfg.alpha / cfg.rank as f64,
        })
    }

    /// Blocks the adapters were made for.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// The update of projection `proj` (index into [`TARGETS`]) of block
    /// `layer` for inputs `x` `[…, in]`, if that projection is adapted.
    pub(crate) fn delta(&self, layer: usize, proj: usize, x: &Tensor) -> Option<Tensor> {
        let pair = self.layers.get(layer)?[proj].as_ref()?;
        Some(x.matmul(&pair.a.tr()).matmul(&pair.b.tr()) * self.scale)
    }
}
