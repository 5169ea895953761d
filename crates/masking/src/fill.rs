//! Linear interpolation along time on tensors: the prior an MAE decoder can
//! predict a residual over (`MaeDecoderConfig::interpolation_prior` in
//! `wearlang-encoders`). The same rule as the imputation protocol's
//! baseline in `wearlang-evaluation`: between the nearest observed
//! neighbours of a channel, the nearest observed value held before the
//! first and after the last, 0 (the normalised mean) in a channel with no
//! observed value.

use tch::{Kind, Tensor};

use crate::error::{MaskError, Result};

/// Fill the NaN / ±Inf values of windows `x` `[B, T, C]` channel by channel
/// by linear interpolation along time (dimension 1). Finite values are
/// returned as they are.
pub fn interpolate_time(x: &Tensor) -> Result<Tensor> {
    let size = x.size();
    if size.len() != 3 || !x.is_floating_point() {
        return Err(MaskError::Shape(format!(
            "interpolate_time needs floating-point [B, T, C], got {:?} {size:?}",
            x.kind()
        )));
    }
    let t_len = size[1];
    if t_len == 0 {
        return Ok(x.shallow_clone());
    }
    let opts = (Kind::Float, x.device());
    let valid = x.f_isfinite()?;
    let t = Tensor::f_arange(t_len, opts)?
        .f_reshape([1, t_len, 1])?
        .f_expand(size.as_slice(), false)?;
    // Last observed step at or before t (−1: none), next at or after t (T: none).
    let before = t.f_where_self(&valid, &Tensor::from(-1f32).to_device(x.device()))?;
    let (prev, _) = before.f_cummax(1)?;
    let after = t.f_where_self(&valid, &Tensor::from(t_len as f32).to_device(x.device()))?;
    let (next, _) = after.f_flip([1])?.f_cummin(1)?;
    let next = next.f_flip([1])?;
    let has_prev = prev.f_ge(0.0)?;
    let has_next = next.f_lt(t_len as f64)?;
    let values = x
        .f_nan_to_num(0.0, Some(0.0), Some(0.0))?
        .f_to_kind(Kind::Float)?;
    let at = |idx: &Tensor| -> Result<Tensor> {
        let i = idx
            .f_clamp(0.0, (t_len - 1) as f64)?
            .f_to_kind(Kind::Int64)?;
        Ok(values.f_gather(1, &i, false)?)
    };
    let (pv, nv) = (at(&prev)?, at(&next)?);
    let span = (&next - &prev).f_clamp_min(1.0)?;
    let w = (&t - &prev).f_div(&span)?;
    let between = &pv + (&nv - &pv) * w;
    let zero = Tensor::f_zeros_like(&values)?;
    let filled = between.f_where_self(
        &has_prev.f_logical_and(&has_next)?,
        &pv.f_where_self(&has_prev, &nv.f_where_self(&has_next, &zero)?)?,
    )?;
    Ok(x.f_where_self(&valid, &filled.f_to_kind(x.kind())?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn fills_between_holds_at_ends_and_zeroes_empty_channels() {
        let nan = f32::NAN;
        // T = 6, C = 3: channel 0 inside gaps, channel 1 edges, channel 2 empty.
        let v = [
            1.0, nan, nan, //
            nan, 4.0, nan, //
            nan, nan, nan, //
            4.0, 6.0, nan, //
            nan, nan, nan, //
            0.0, nan, nan,
        ];
        let x = Tensor::from_slice(&v).reshape([1, 6, 3]);
        let y = interpolate_time(&x).unwrap();
        let got: Vec<f32> = Vec::try_from(y.reshape([-1])).unwrap();
        let want = [
            1.0, 4.0, 0.0, //
            2.0, 4.0, 0.0, //
            3.0, 5.0, 0.0, //
            4.0, 6.0, 0.0, //
            2.0, 6.0, 0.0, //
            0.0, 6.0, 0.0,
        ];
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() < 1e-6, "value {i}: {g} != {w}");
        }
        // A second sample is filled on its own.
        let two = Tensor::cat(&[&x, &(x.shallow_clone() * 2.0)], 0);
        let y2 = interpolate_time(&two).unwrap();
        assert!(y2.get(0).allclose(&y.get(0), 1e-6, 1e-6, false));
        assert!(y2.get(1).allclose(&(y.get(0) * 2.0), 1e-6, 1e-6, false));
        assert!(interpolate_time(&Tensor::zeros([2, 3], (Kind::Float, Device::Cpu))).is_err());
    }
}
