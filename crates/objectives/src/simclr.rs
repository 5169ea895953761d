//! SimCLR's NT-Xent on two augmented views, and SLIP = CLIP + λ·SimCLR.

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use crate::clip::{Clip, ClipConfig};
use crate::objective::{check_pair, normalize, require, value};
use crate::{LossOutput, Objective, ObjectiveInputs, Result};

/// NT-Xent of two views `[B, D]` at temperature `tau`: for each of the 2B
/// embeddings, cross-entropy of its other view against the 2B − 1 others.
pub fn nt_xent(v1: &Tensor, v2: &Tensor, tau: f64) -> Result<Tensor> {
    check_pair(v1, v2, "simclr")?;
    let b = v1.size()[0];
    let z = normalize(&Tensor::cat(&[v1, v2], 0));
    let eye = Tensor::eye(2 * b, (Kind::Bool, z.device()));
    let sim = (z.matmul(&z.tr()) / tau).masked_fill(&eye, f64::NEG_INFINITY);
    let idx = Tensor::arange(2 * b, (Kind::Int64, z.device()));
    let pos = (idx + b).remainder(2 * b);
    Ok(sim.cross_entropy_for_logits(&pos))
}

/// SimCLR settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimclrConfig {
    /// Temperature.
    pub temperature: f64,
}

impl Default for SimclrConfig {
    fn default() -> Self {
        SimclrConfig { temperature: 0.1 }
    }
}

/// SimCLR on `views`.
#[derive(Debug)]
pub struct Simclr {
    tau: f64,
}

impl Simclr {
    /// With temperature `cfg.temperature`.
    pub fn new(cfg: &SimclrConfig) -> Result<Self> {
        if cfg.temperature.is_nan() || cfg.temperature <= 0.0 {
            return Err(crate::ObjectiveError::Param {
                name: "temperature",
                reason: format!("must be > 0, got {}", cfg.temperature),
            });
        }
        Ok(Simclr {
            tau: cfg.temperature,
        })
    }
}

impl Objective for Simclr {
    fn name(&self) -> &str {
        "simclr"
    }

    fn loss(&self, inputs: &ObjectiveInputs) -> Result<LossOutput> {
        let (a, b) = require(inputs.views, "simclr", "views")?;
        let loss = nt_xent(a, b, self.tau)?;
        Ok(LossOutput {
            terms: vec![("simclr".into(), value(&loss))],
            total: loss,
        })
    }
}

/// SLIP: CLIP(sensor, text) + λ · SimCLR(views).
#[derive(Debug)]
pub struct Slip {
    clip: Clip,
    simclr: Simclr,
    lambda: f64,
}

impl Slip {
    /// Create under `p` (CLIP's `logit_scale`).
    pub fn new(p: nn::Path, clip: &ClipConfig, simclr: &SimclrConfig, lambda: f64) -> Result<Self> {
        Ok(Slip {
            clip: Clip::new(p, clip)?,
            simclr: Simclr::new(simclr)?,
            lambda,
        })
    }
}

impl Objective for Slip {
    fn name(&self) -> &str {
        "slip"
    }

    fn loss(&self, inputs: &ObjectiveInputs) -> Result<LossOutput> {
        let c = self.clip.loss(inputs)?;
        let s = self.simclr.loss(inputs)?;
        let total = &c.total + &s.total * self.lambda;
        let mut terms = c.terms;
        terms.extend(s.terms);
        terms.push(("slip".into(), value(&total)));
        Ok(LossOutput { total, terms })
    }

    fn clamp_(&self) {
        self.clip.clamp_();
    }
}
