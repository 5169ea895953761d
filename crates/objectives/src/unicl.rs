//! UniCL: CLIP where every pair of windows that share a label is a
//! positive. Targets are the label-equality matrix, row-normalised;
//! symmetric soft-target cross-entropy. With unique labels it is CLIP.

use tch::{nn, Kind};

use crate::clip::{ClipConfig, ScaledSimilarity};
use crate::objective::{check_pair, require, symmetric_ce, value};
use crate::{LossOutput, Objective, ObjectiveError, ObjectiveInputs, Result};

/// UniCL.
#[derive(Debug)]
pub struct Unicl {
    sim: ScaledSimilarity,
}

impl Unicl {
    /// Create under `p` (variable `logit_scale`, as CLIP).
    pub fn new(p: nn::Path, cfg: &ClipConfig) -> Result<Self> {
        Ok(Unicl {
            sim: ScaledSimilarity::new(p, cfg)?,
        })
    }
}

impl Objective for Unicl {
    fn name(&self) -> &str {
        "unicl"
    }

    fn loss(&self, inputs: &ObjectiveInputs) -> Result<LossOutput> {
        let s = require(inputs.sensor, "unicl", "sensor")?;
        let t = require(inputs.text, "unicl", "text")?;
        let y = require(inputs.labels, "unicl", "labels")?;
        check_pair(s, t, "unicl")?;
        if y.size() != [s.size()[0]] {
            return Err(ObjectiveError::Shape(format!(
                "unicl: {:?} labels for {} windows",
                y.size(),
                s.size()[0]
            )));
        }
        let eq = y
            .unsqueeze(1)
            .eq_tensor(&y.unsqueeze(0))
            .to_kind(Kind::Float);
        let targets = &eq / eq.sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
        let loss = symmetric_ce(&self.sim.logits(s, t), Some(&targets));
        let terms = vec![
            ("unicl".into(), value(&loss)),
            ("logit_scale".into(), value(&self.sim.scale())),
        ];
        Ok(LossOutput { total: loss, terms })
    }

    fn clamp_(&self) {
        self.sim.clamp_();
    }
}
