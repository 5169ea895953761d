//! SigLIP: a sigmoid loss on every sensor/text pair, logits
//! `exp(t′)·ŝ·t̂ᵀ + b` with learnable `t′` (init ln 10) and `b` (init −10);
//! loss `−Σᵢⱼ log σ(zᵢⱼ·logitsᵢⱼ) / B` with z = +1 on matching pairs and −1
//! elsewhere (normalised by the batch size as in big_vision).

use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};

use crate::objective::{check_pair, normalize, require, value};
use crate::{LossOutput, Objective, ObjectiveInputs, Result};

/// SigLIP settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiglipConfig {
    /// Initial scale `exp(t′)`.
    pub init_scale: f64,
    /// Initial bias.
    pub init_bias: f64,
}

impl Default for SiglipConfig {
    fn default() -> Self {
        SiglipConfig {
            init_scale: 10.0,
            init_bias: -10.0,
        }
    }
}

/// SigLIP.
#[derive(Debug)]
pub struct Siglip {
    /// `logit_scale` = t′.
    pub logit_scale: Tensor,
    /// `logit_bias` = b.
    pub logit_bias: Tensor,
}

impl Siglip {
    /// Create under `p`.
    pub fn new(p: nn::Path, cfg: &SiglipConfig) -> Result<Self> {
        if !(cfg.init_scale > 0.0 && cfg.init_scale.is_finite()) {
            return Err(crate::ObjectiveError::Param {
                name: "init_scale",
                reason: format!("must be > 0, got {}", cfg.init_scale),
            });
        }
        Ok(Siglip {
            logit_scale: p.var("logit_scale", &[], nn::Init::Const(cfg.init_scale.ln())),
            logit_bias: p.var("logit_bias", &[], nn::Init::Const(cfg.init_bias)),
        })
    }
}

impl Objective for Siglip {
    fn name(&self) -> &str {
        "siglip"
    }

    fn loss(&self, inputs: &ObjectiveInputs) -> Result<LossOutput> {
        let s = require(inputs.sensor, "siglip", "sensor")?;
        let t = require(inputs.text, "siglip", "text")?;
        check_pair(s, t, "siglip")?;
        let b = s.size()[0];
        let logits =
            normalize(s).matmul(&normalize(t).tr()) * self.logit_scale.exp() + &self.logit_bias;
        let z = Tensor::eye(b, (Kind::Float, s.device())) * 2.0 - 1.0;
        let loss = -(logits * z).log_sigmoid().sum(Kind::Float) / b as f64;
        let terms = vec![
            ("siglip".into(), value(&loss)),
            ("logit_scale".into(), value(&self.logit_scale.exp())),
            ("logit_bias".into(), value(&self.logit_bias)),
        ];
        Ok(LossOutput { total: loss, terms })
    }
}
