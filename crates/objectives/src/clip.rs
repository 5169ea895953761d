//! CLIP: symmetric cross-entropy over scaled cosine similarities, with a
//! learnable logit scale initialised to ln(1/0.07) and clamped so that the
//! scale never exceeds 100 (the clamp applies in the forward pass and, via
//! [`Objective::clamp_`], to the variable after each step).

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use crate::objective::{check_pair, normalize, require, symmetric_ce, value};
use crate::{LossOutput, Objective, ObjectiveError, ObjectiveInputs, Result};

/// Temperature settings shared by CLIP and UniCL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClipConfig {
    /// Initial temperature (the scale starts at 1 / temperature).
    pub temperature: f64,
    /// Upper bound of the scale `exp(logit_scale)`.
    pub max_logit_scale: f64,
    /// Learn the scale (else it stays at its initial value).
    pub learnable: bool,
}

impl Default for ClipConfig {
    fn default() -> Self {
        ClipConfig {
            temperature: 0.07,
            max_logit_scale: 100.0,
            learnable: true,
        }
    }
}

impl ClipConfig {
    /// Check ranges.
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return Err(ObjectiveError::Param {
                name: "temperature",
                reason: format!("must be > 0, got {}", self.temperature),
            });
        }
        if self.max_logit_scale.is_nan() || self.max_logit_scale < 1.0 / self.temperature {
            return Err(ObjectiveError::Param {
                name: "max_logit_scale",
                reason: format!(
                    "{} is below the initial scale {}",
                    self.max_logit_scale,
                    1.0 / self.temperature
                ),
            });
        }
        Ok(())
    }
}

/// The scaled cosine-similarity logits with a clamped learnable scale.
#[derive(Debug)]
pub struct ScaledSimilarity {
    /// `logit_scale` (log of the scale).
    pub logit_scale: Tensor,
    max_log: f64,
}

impl ScaledSimilarity {
    /// Create `logit_scale` under `p`.
    pub fn new(p: nn::Path, cfg: &ClipConfig) -> Result<Self> {
        cfg.validate()?;
        let init = (1.0 / cfg.temperature).ln();
        let mut logit_scale = p.var("logit_scale", &[], nn::Init::Const(init));
        if !cfg.learnable {
            logit_scale = logit_scale.set_requires_grad(false);
        }
        Ok(ScaledSimilarity {
            logit_scale,
            max_log: cfg.max_logit_scale.ln(),
        })
    }

    /// The scale in use, `exp(min(logit_scale, ln max))`.
    pub fn scale(&self) -> Tensor {
        self.logit_scale.clamp_max(self.max_log).exp()
    }

    /// `scale · ŝ·t̂ᵀ` `[B, B]`.
    pub fn logits(&self, sensor: &Tensor, text: &Tensor) -> Tensor {
        normalize(sensor).matmul(&normalize(text).tr()) * self.scale()
    }

    /// Clamp the variable in place.
    pub fn clamp_(&self) {
        let mut v = self.logit_scale.shallow_clone();
        tch::no_grad(|| {
            let _ = v.clamp_max_(self.max_log);
        });
    }
}

/// CLIP.
#[derive(Debug)]
pub struct Clip {
    sim: ScaledSimilarity,
}

impl Clip {
    /// Create under `p` (variable `logit_scale`).
    pub fn new(p: nn::Path, cfg: &ClipConfig) -> Result<Self> {
        Ok(Clip {
            sim: ScaledSimilarity::new(p, cfg)?,
        })
    }

    /// The similarity (scale) module.
    pub fn similarity(&self) -> &ScaledSimilarity {
        &self.sim
    }
}

impl Objective for Clip {
    fn name(&self) -> &str {
        "clip"
    }

    fn loss(&self, inputs: &ObjectiveInputs) -> Result<LossOutput> {
        let s = require(inputs.sensor, "clip", "sensor")?;
        let t = require(inputs.text, "clip", "text")?;
        check_pair(s, t, "clip")?;
        let loss = symmetric_ce(&self.sim.logits(s, t), None);
        let terms = vec![
            ("clip".into(), value(&loss)),
            ("logit_scale".into(), value(&self.sim.scale())),
        ];
        Ok(LossOutput { total: loss, terms })
    }

    fn clamp_(&self) {
        self.sim.clamp_();
    }
}
