//! Errors of the encoders crate.

/// Errors returned by encoder construction, loading and forward passes.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    /// Inputs whose shapes or kinds do not fit the model.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A configuration value outside its allowed range.
    #[error("invalid configuration `{name}`: {reason}")]
    Config {
        /// The field's name.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A file that is missing or unreadable (model weights, vocabulary, config).
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An error from the masking crate.
    #[error(transparent)]
    Mask(#[from] wearlang_masking::MaskError),
    /// An error reported by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl EncoderError {
    /// A [`EncoderError::Config`] error.
    pub fn config(name: &'static str, reason: impl Into<String>) -> Self {
        EncoderError::Config {
            name,
            reason: reason.into(),
        }
    }
}

/// Result with an [`EncoderError`].
pub type Result<T> = std::result::Result<T, EncoderError>;
