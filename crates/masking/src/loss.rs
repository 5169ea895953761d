//! Masked-reconstruction loss.

use tch::{Kind, Tensor};

use crate::error::{MaskError, Result};

/// Mean squared error over the tokens of `target_mask`, skipping NaN targets.
///
/// * `pred`, `target`: `[B, N, D]` float; `target` may hold NaN (missing
///   values); NaN anywhere outside the counted elements never reaches the
///   result or the gradient (the error is formed with `where`, not by
///   multiplying by zero).
/// * `target_mask`: `[B, N]` bool, the tokens that count
///   ([`AimBatch::target_mask`](crate::AimBatch::target_mask)).
/// * `channel_weights`: optional non-negative weights broadcastable to
///   `[B, N, D]`: `[D]`, `[N, D]` (see
///   [`PatchSpec::token_weights`](crate::PatchSpec::token_weights)) or
///   `[B, N, D]`.
///
/// The result is the weighted mean `Σ w·(pred − target)² / Σ w` over counted
/// elements (target token, target not NaN); a scalar `0.0` (no NaN, zero
/// gradient) when nothing counts.
pub fn masked_mse(
    pred: &Tensor,
    target: &Tensor,
    target_mask: &Tensor,
    channel_weights: Option<&Tensor>,
) -> Result<Tensor> {
    let size = pred.size();
    if size.len() != 3 || target.size() != size {
        return Err(MaskError::Shape(format!(
            "pred {size:?} and target {:?} must be the same [B, N, D]",
            target.size()
        )));
    }
    if !pred.is_floating_point() || !target.is_floating_point() {
        return Err(MaskError::Shape(format!(
            "pred and target must be floating point, got {:?} and {:?}",
            pred.kind(),
            target.kind()
        )));
    }
    if target_mask.size() != size[..2] || target_mask.kind() != Kind::Bool {
        return Err(MaskError::Shape(format!(
            "target_mask must be bool [{}, {}], got {:?} {:?}",
            size[0],
            size[1],
            target_mask.kind(),
            target_mask.size()
        )));
    }
    let device = pred.device();
    if target.device() != device || target_mask.device() != device {
        return Err(MaskError::Shape(
            "pred, target and target_mask must share a device".into(),
        ));
    }
    let valid = target_mask
        .f_unsqueeze(-1)?
        .f_logical_and(&target.f_isnan()?.f_logical_not()?)?;
    let zeros = pred.f_zeros_like()?;
    let clean_target = target
        .f_to_kind(pred.kind())?
        .f_where_self(&valid, &zeros)?;
    let diff = pred.f_sub(&clean_target)?.f_where_self(&valid, &zeros)?;
    let sq = diff.f_square()?;
    let counted = valid.f_to_kind(pred.kind())?;
    let (num, den) = match channel_weights {
        None => (sq.f_sum(pred.kind())?, counted.f_sum(pred.kind())?),
        Some(w) => {
            let ws = w.size();
            let fits = !ws.is_empty()
                && ws.len() <= 3
                && ws.iter().rev().zip(size.iter().rev()).all(|(a, b)| a == b);
            if !fits || !w.is_floating_point() || w.device() != device {
                return Err(MaskError::Shape(format!(
                    "channel_weights must be a float [D], [N, D] or [B, N, D] tensor on \
                     {device:?} matching {size:?}, got {:?} {ws:?}",
                    w.kind()
                )));
            }
            let bad = w
                .f_isnan()?
                .f_logical_or(&w.f_lt(0.0)?)?
                .f_logical_or(&w.f_isinf()?)?;
            if bad.f_any()?.f_int64_value(&[])? != 0 {
                return Err(MaskError::param(
                    "channel_weights",
                    "weights must be finite and ≥ 0",
                ));
            }
            let w = w.f_to_kind(pred.kind())?;
            (
                sq.f_mul(&w)?.f_sum(pred.kind())?,
                counted.f_mul(&w)?.f_sum(pred.kind())?,
            )
        }
    };
    // Divide by 1 where nothing counts: the numerator is then 0 and so is the
    // gradient (a `where` after 0/0 would still send NaN backwards).
    let positive = den.f_gt(0.0)?;
    let safe_den = den.f_where_self(&positive, &den.f_ones_like()?)?;
    Ok(num.f_div(&safe_den)?)
}
