//! SensorLM's generic loss: α · contrastive + β · captioning. (1, 0) is
//! CLIP (or SigLIP / UniCL, whichever contrastive objective is given),
//! (1, 1–2) is CoCa, (0, 1) is captioning only. A zero weight means its
//! inputs are not needed.

use crate::objective::value;
use crate::{Captioning, LossOutput, Objective, ObjectiveError, ObjectiveInputs, Result};

/// The generic contrastive + captioning objective.
pub struct SensorLm {
    contrastive: Box<dyn Objective>,
    captioning: Captioning,
    alpha: f64,
    beta: f64,
}

impl std::fmt::Debug for SensorLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SensorLm")
            .field("contrastive", &self.contrastive.name())
            .field("alpha", &self.alpha)
            .field("beta", &self.beta)
            .finish()
    }
}

impl SensorLm {
    /// `alpha · contrastive + beta · captioning`; weights must be ≥ 0 and
    /// not both 0.
    pub fn new(
        contrastive: Box<dyn Objective>,
        captioning: Captioning,
        alpha: f64,
        beta: f64,
    ) -> Result<Self> {
        if !(alpha >= 0.0 && beta >= 0.0 && alpha + beta > 0.0) {
            return Err(ObjectiveError::Param {
                name: "alpha / beta",
                reason: format!("must be ≥ 0 and not both 0, got {alpha} and {beta}"),
            });
        }
        Ok(SensorLm {
            contrastive,
            captioning,
            alpha,
            beta,
        })
    }

    /// The weights `(alpha, beta)`.
    pub fn weights(&self) -> (f64, f64) {
        (self.alpha, self.beta)
    }
}

impl Objective for SensorLm {
    fn name(&self) -> &str {
        "sensorlm"
    }

    fn loss(&self, inputs: &ObjectiveInputs) -> Result<LossOutput> {
        let mut terms = Vec::new();
        let mut total = None;
        if self.alpha > 0.0 {
            let c = self.contrastive.loss(inputs)?;
            terms.extend(c.terms);
            total = Some(c.total * self.alpha);
        }
        if self.beta > 0.0 {
            let c = self.captioning.loss(inputs)?;
            terms.extend(c.terms);
            let part = c.total * self.beta;
            total = Some(match total {
                Some(t) => t + part,
                None => part,
            });
        }
        let total = total.expect("alpha + beta > 0");
        terms.push(("sensorlm".into(), value(&total)));
        Ok(LossOutput { total, terms })
    }

    fn clamp_(&self) {
        self.contrastive.clamp_();
    }
}
