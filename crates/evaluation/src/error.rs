//! Errors of the evaluation crate.

/// Errors returned by the evaluation protocols.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Inputs that do not fit together (shapes, empty sets, missing labels).
    #[error("{0}")]
    Data(String),
    /// A parameter outside its range.
    #[error("invalid parameter `{name}`: {reason}")]
    Param {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A file that could not be written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// From the masking crate.
    #[error(transparent)]
    Mask(#[from] wearlang_masking::MaskError),
    /// From the encoders crate.
    #[error(transparent)]
    Encoder(#[from] wearlang_encoders::EncoderError),
    /// From the models crate (loading, checkpoints, the training a
    /// protocol calls).
    #[error(transparent)]
    Model(#[from] wearlang_models::ModelError),
    /// From the optimiser (few-shot heads).
    #[error(transparent)]
    Optim(#[from] wearlang_optim::OptimError),
    /// From the metrics crate.
    #[error(transparent)]
    Metrics(#[from] wearlang_metrics::MetricsError),
    /// From the plots crate.
    #[error(transparent)]
    Plot(#[from] wearlang_plots::PlotError),
    /// From libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl EvalError {
    /// A [`EvalError::Param`] error.
    pub fn param(name: &'static str, reason: impl Into<String>) -> Self {
        EvalError::Param {
            name,
            reason: reason.into(),
        }
    }
}

/// Result with an [`EvalError`].
pub type Result<T> = std::result::Result<T, EvalError>;
