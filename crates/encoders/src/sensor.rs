//! The [`SensorEncoder`] trait shared by the patch Transformer and the 1-D
//! conv encoder.

use tch::{Kind, Tensor};

use crate::{EncoderError, Result};

/// What a sensor encoder returns for a batch of windows.
#[derive(Debug)]
pub struct SensorOutput {
    /// Token embeddings `[B, N, D]` (patches for the Transformer, time steps
    /// for the conv encoder).
    pub tokens: Tensor,
    /// `[B, N]` bool, `true` = the token holds observed data. Invalid tokens
    /// carry no meaning and must be ignored (e.g. as a cross-attention key mask).
    pub token_mask: Tensor,
    /// The pooled window embedding `[B, D]` (zeros for a window with no
    /// observed token).
    pub pooled: Tensor,
}

/// A sensor encoder: windows `[B, T, C]` (NaN where missing) → tokens and a
/// pooled embedding. Missing values are never imputed: each encoder masks
/// them in its own way (see its docs).
pub trait SensorEncoder {
    /// Encode `x` `[B, T, C]` float; `missing` `[B, T, C]` bool (`true` =
    /// missing) adds to the NaNs of `x` when given.
    fn encode(&self, x: &Tensor, missing: Option<&Tensor>, train: bool) -> Result<SensorOutput>;
    /// Width of tokens and pooled embedding.
    fn dim(&self) -> i64;
    /// The window shape `(steps, channels)` the encoder was built for.
    fn window_shape(&self) -> (usize, usize);
}

/// Check `x` against `(steps, channels)` and return the combined missing
/// mask `[B, T, C]` (NaN/Inf in `x`, or `missing`).
pub(crate) fn missing_mask(
    x: &Tensor,
    missing: Option<&Tensor>,
    steps: usize,
    channels: usize,
) -> Result<Tensor> {
    let size = x.size();
    if size.len() != 3 || size[1] != steps as i64 || size[2] != channels as i64 {
        return Err(EncoderError::Shape(format!(
            "expected windows [B, {steps}, {channels}], got {size:?}"
        )));
    }
    if !matches!(
        x.kind(),
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    ) {
        return Err(EncoderError::Shape(format!(
            "windows must be floating point, got {:?}",
            x.kind()
        )));
    }
    let mut m = x.isfinite().logical_not();
    if let Some(extra) = missing {
        if extra.size() != size {
            return Err(EncoderError::Shape(format!(
                "missing mask has shape {:?}, windows {size:?}",
                extra.size()
            )));
        }
        m = m.logical_or(&extra.to_kind(Kind::Bool));
    }
    Ok(m)
}
