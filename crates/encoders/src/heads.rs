//! MLP projection heads into the shared sensor-text embedding space.

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Tensor};

use crate::layers::linear;
use crate::{EncoderError, Result};

/// A projection head: `layers` linear maps with GELU between them
/// (`layers = 1` is a plain linear projection, as in CLIP).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectionConfig {
    /// Output width (the shared embedding size).
    pub out_dim: i64,
    /// Hidden width of the MLP (0: the input width).
    pub hidden: i64,
    /// Number of linear layers (1 or more).
    pub layers: usize,
}

impl Default for ProjectionConfig {
    fn default() -> Self {
        ProjectionConfig {
            out_dim: 128,
            hidden: 0,
            layers: 2,
        }
    }
}

impl ProjectionConfig {
    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        if self.out_dim < 1 {
            return Err(EncoderError::config("out_dim", "must be at least 1"));
        }
        if self.layers < 1 {
            return Err(EncoderError::config("layers", "must be at least 1"));
        }
        if self.hidden < 0 {
            return Err(EncoderError::config("hidden", "must not be negative"));
        }
        Ok(())
    }
}

/// Linear layers `fc.{i}` with GELU between them.
#[derive(Debug)]
pub struct ProjectionHead {
    fcs: Vec<nn::Linear>,
    out_dim: i64,
}

impl ProjectionHead {
    /// Build under `p` for inputs of width `in_dim`.
    pub fn new(p: nn::Path, in_dim: i64, cfg: &ProjectionConfig) -> Result<Self> {
        cfg.validate()?;
        if in_dim < 1 {
            return Err(EncoderError::config("in_dim", "must be at least 1"));
        }
        let hidden = if cfg.hidden == 0 { in_dim } else { cfg.hidden };
        let fp = &p / "fc";
        let fcs = (0..cfg.layers)
            .map(|i| {
                let inp = if i == 0 { in_dim } else { hidden };
                let out = if i + 1 == cfg.layers {
                    cfg.out_dim
                } else {
                    hidden
                };
                linear(&fp / i, inp, out)
            })
            .collect();
        Ok(ProjectionHead {
            fcs,
            out_dim: cfg.out_dim,
        })
    }

    /// Output width.
    pub fn out_dim(&self) -> i64 {
        self.out_dim
    }
}

impl Module for ProjectionHead {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let mut h = xs.shallow_clone();
        for (i, fc) in self.fcs.iter().enumerate() {
            h = fc.forward(&h);
            if i + 1 < self.fcs.len() {
                h = h.gelu("none");
            }
        }
        h
    }
}
