//! Masked reconstruction (MAE / AIM): `wearlang_masking::masked_mse` over
//! the tokens that were artificially masked and are observed.

use tch::Tensor;
use wearlang_masking::masked_mse;

use crate::objective::{require, value};
use crate::{LossOutput, Objective, ObjectiveInputs, Result};

/// Masked MSE with optional element weights (`[P]`, `[N, P]` or `[B, N, P]`).
#[derive(Debug, Default)]
pub struct MaskedReconstruction {
    weights: Option<Tensor>,
}

impl MaskedReconstruction {
    /// With optional weights (e.g. from `PatchSpec::token_weights`).
    pub fn new(weights: Option<Tensor>) -> Self {
        MaskedReconstruction { weights }
    }
}

impl Objective for MaskedReconstruction {
    fn name(&self) -> &str {
        "reconstruction"
    }

    fn loss(&self, inputs: &ObjectiveInputs) -> Result<LossOutput> {
        let (p, t, m) = require(inputs.reconstruction, "reconstruction", "reconstruction")?;
        let loss = masked_mse(p, t, m, self.weights.as_ref())?;
        Ok(LossOutput {
            terms: vec![("reconstruction".into(), value(&loss))],
            total: loss,
        })
    }
}
