//! The inherited mask: patches that are missing in the data itself.

use serde::{Deserialize, Serialize};
use tch::Tensor;
use wearlang_core::Window;

use crate::error::{check_unit, MaskError, Result};
use crate::patch::{Grid, PatchSpec};

/// Marks a patch as inherited-missing when the fraction of its values that
/// are missing is **at least** `min_missing_fraction` (and above zero).
///
/// * `1.0` (the default): only fully missing patches.
/// * `0.5`: patches at least half missing.
/// * `0.0`: any patch with at least one missing value.
///
/// Patches below the threshold stay observed; their missing values remain NaN
/// in the patch values, so the encoder must fill them (e.g. with 0 after
/// normalisation) and the loss skips them element-wise
/// ([`masked_mse`](crate::masked_mse)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InheritedMask {
    /// Threshold in `[0, 1]` on the per-patch missing fraction.
    pub min_missing_fraction: f32,
}

impl Default for InheritedMask {
    fn default() -> Self {
        Self {
            min_missing_fraction: 1.0,
        }
    }
}

impl InheritedMask {
    /// A mask with the given threshold; an error outside `[0, 1]` or NaN.
    pub fn new(min_missing_fraction: f32) -> Result<Self> {
        check_unit("min_missing_fraction", min_missing_fraction)?;
        Ok(Self {
            min_missing_fraction,
        })
    }

    fn is_missing(&self, fraction: f32) -> bool {
        fraction > 0.0 && fraction >= self.min_missing_fraction
    }

    /// Per-token inherited mask (`true` = missing) from per-patch missing
    /// fractions; an error on a fraction outside `[0, 1]` or NaN.
    pub fn from_fractions(&self, fractions: &[f32]) -> Result<Vec<bool>> {
        check_unit("min_missing_fraction", self.min_missing_fraction)?;
        fractions
            .iter()
            .map(|&f| {
                check_unit("missing fraction", f)?;
                Ok(self.is_missing(f))
            })
            .collect()
    }

    /// Per-token inherited mask from a time-major missingness mask of
    /// `channels` channels.
    pub fn from_missing(
        &self,
        spec: &PatchSpec,
        missing: &[bool],
        channels: usize,
    ) -> Result<(Grid, Vec<bool>)> {
        let (grid, fractions) = spec.missing_fractions(missing, channels)?;
        Ok((grid, self.from_fractions(&fractions)?))
    }

    /// Per-token inherited mask of a [`Window`] (validated first).
    pub fn from_window(&self, spec: &PatchSpec, window: &Window) -> Result<(Grid, Vec<bool>)> {
        window.validate()?;
        self.from_missing(spec, &window.missing, window.channels)
    }

    /// Inherited mask `[B, N]` (bool) of a `[B, T, C]` tensor: a bool mask
    /// (`true` = missing) or values with NaN where missing. Keeps the device.
    pub fn from_tensor(&self, spec: &PatchSpec, x: &Tensor) -> Result<Tensor> {
        check_unit("min_missing_fraction", self.min_missing_fraction)?;
        let fractions = spec.missing_fractions_tensor(x)?;
        let positive = fractions.f_gt(0.0)?;
        // The f32 threshold widens exactly to f64 and the comparison runs in
        // the tensor's f32, as the Vec path does.
        let above = fractions.f_ge(f64::from(self.min_missing_fraction))?;
        Ok(positive.f_logical_and(&above)?)
    }
}

/// Token-level `observed` flags (`!inherited`), as the artificial strategies
/// take them.
pub fn observed_from_inherited(inherited: &[bool]) -> Vec<bool> {
    inherited.iter().map(|&m| !m).collect()
}

/// Check that a token mask has one entry per grid token.
pub(crate) fn check_len(what: &str, len: usize, grid: Grid) -> Result<()> {
    if len != grid.len() {
        return Err(MaskError::Shape(format!(
            "{what} has {len} tokens, grid {} × {} has {}",
            grid.time,
            grid.channel,
            grid.len()
        )));
    }
    Ok(())
}
