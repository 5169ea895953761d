//! The [`Objective`] trait and its inputs.

use tch::{Kind, Tensor};

use crate::{ObjectiveError, Result};

/// Everything a loss may need. Each objective names the fields it requires
/// and errors when one is missing.
#[derive(Default)]
pub struct ObjectiveInputs<'a> {
    /// `[B, D]` sensor embeddings after projection (not yet normalised).
    pub sensor: Option<&'a Tensor>,
    /// `[B, D]` text embeddings after projection (not yet normalised).
    pub text: Option<&'a Tensor>,
    /// `[B]` int64 class ids (UniCL positives).
    pub labels: Option<&'a Tensor>,
    /// Projected embeddings `[B, D]` of two augmented views of the sensor
    /// windows (SimCLR / SLIP).
    pub views: Option<(&'a Tensor, &'a Tensor)>,
    /// `[B, L, V]` next-token logits of the captioning decoder.
    pub caption_logits: Option<&'a Tensor>,
    /// `[B, L]` int64 target tokens; `ignore_index` positions do not count.
    pub caption_targets: Option<&'a Tensor>,
    /// `(pred [B, N, P], target [B, N, P] (NaN allowed), target_mask [B, N])`.
    pub reconstruction: Option<(&'a Tensor, &'a Tensor, &'a Tensor)>,
}

/// A loss value and named scalars for the log.
#[derive(Debug)]
pub struct LossOutput {
    /// The scalar loss to backpropagate.
    pub total: Tensor,
    /// Named parts and state (e.g. `("clip", 2.1)`, `("logit_scale", 14.3)`).
    pub terms: Vec<(String, f64)>,
}

/// A training objective. Learnable parameters (temperatures, biases) are
/// created from an `nn::Path` so they train and checkpoint with the model.
pub trait Objective {
    /// A short name (`clip`, `siglip`, ...).
    fn name(&self) -> &str;
    /// The loss on `inputs`.
    fn loss(&self, inputs: &ObjectiveInputs) -> Result<LossOutput>;
    /// Keep learnable parameters in range after an optimiser step (CLIP's
    /// logit-scale clamp); a no-op by default.
    fn clamp_(&self) {}
}

/// `x / ‖x‖₂` along the last dimension.
pub fn normalize(x: &Tensor) -> Tensor {
    x / x
        .norm_scalaropt_dim(2.0, [-1i64].as_slice(), true)
        .clamp_min(1e-12)
}

pub(crate) fn require<T>(v: Option<T>, objective: &'static str, input: &'static str) -> Result<T> {
    v.ok_or(ObjectiveError::MissingInput { objective, input })
}

/// Check a pair of `[B, D]` embeddings.
pub(crate) fn check_pair(a: &Tensor, b: &Tensor, what: &str) -> Result<()> {
    let (sa, sb) = (a.size(), b.size());
    if sa.len() != 2 || sa != sb || sa[0] == 0 {
        return Err(ObjectiveError::Shape(format!(
            "{what}: embeddings must be two non-empty [B, D] of the same shape, got {sa:?} and {sb:?}"
        )));
    }
    if !a.is_floating_point() || !b.is_floating_point() {
        return Err(ObjectiveError::Shape(format!(
            "{what}: embeddings must be floating point"
        )));
    }
    Ok(())
}

/// Scalar value of a 0-d tensor for the log.
pub(crate) fn value(t: &Tensor) -> f64 {
    t.detach().to_kind(Kind::Double).double_value(&[])
}

/// Symmetric cross-entropy of square `logits` `[B, B]` against soft or
/// identity targets (CLIP's loss; UniCL's with label targets).
pub fn symmetric_ce(logits: &Tensor, targets: Option<&Tensor>) -> Tensor {
    let b = logits.size()[0];
    match targets {
        None => {
            let idx = Tensor::arange(b, (Kind::Int64, logits.device()));
            (logits.cross_entropy_for_logits(&idx) + logits.tr().cross_entropy_for_logits(&idx))
                / 2.0
        }
        Some(t) => {
            let row = -(t * logits.log_softmax(1, Kind::Float)).sum(Kind::Float) / b as f64;
            let tt = t.tr();
            let col = -(&tt * logits.tr().log_softmax(1, Kind::Float)).sum(Kind::Float) / b as f64;
            (row + col) / 2.0
        }
    }
}
