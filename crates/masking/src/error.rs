//! Errors of the masking crate.

/// Errors returned by patching, masking, AIM selection and the loss.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    /// Inputs whose shapes, lengths or kinds do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A parameter outside its allowed range (ratio outside [0, 1], NaN, ...).
    #[error("invalid parameter `{name}`: {reason}")]
    Param {
        /// The parameter's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A window that failed its own consistency check.
    #[error(transparent)]
    Core(#[from] wearlang_core::Error),
    /// An error reported by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl MaskError {
    /// A [`MaskError::Param`] error.
    pub(crate) fn param(name: &'static str, reason: impl Into<String>) -> Self {
        MaskError::Param {
            name,
            reason: reason.into(),
        }
    }
}

/// Result with a [`MaskError`].
pub type Result<T> = std::result::Result<T, MaskError>;

/// Check that `ratio` is a finite number in `[0, 1]`.
pub(crate) fn check_unit(name: &'static str, ratio: f32) -> Result<()> {
    if ratio.is_finite() && (0.0..=1.0).contains(&ratio) {
        Ok(())
    } else {
        Err(MaskError::param(
            name,
            format!("must be in [0, 1], got {ratio}"),
        ))
    }
}
