//! Errors of the models crate (shared by training and evaluation).

use std::path::PathBuf;

/// Errors of models, checkpoints, window loading and training.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file or directory that could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// A configuration value that is invalid or inconsistent with the data.
    #[error("invalid configuration `{field}`: {reason}")]
    Config {
        /// The field's name (dotted path in the TOML file).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration file that does not parse.
    #[error("{path}: {reason}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// A checkpoint that is missing a file or tensor, or does not match the model.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// The checkpoint directory or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Training data that cannot be used (empty split, NaN loss, ...).
    #[error("data: {0}")]
    Data(String),
    /// An error from the window store or the core types.
    #[error(transparent)]
    Core(#[from] wearlang_core::Error),
    /// An error from the masking crate.
    #[error(transparent)]
    Mask(#[from] wearlang_masking::MaskError),
    /// An error from the encoders crate.
    #[error(transparent)]
    Encoder(#[from] wearlang_encoders::EncoderError),
    /// An error from the objectives crate.
    #[error(transparent)]
    Objective(#[from] wearlang_objectives::ObjectiveError),
    /// An error from the optimiser.
    #[error(transparent)]
    Optim(#[from] wearlang_optim::OptimError),
    /// A device that is unknown or not available.
    #[error(transparent)]
    Device(#[from] wearlang_device::DeviceError),
    /// An error reported by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// An error of a part from another crate (a registered part, the LLM of
    /// SensorLLM), kept as it was.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync>),
}

impl ModelError {
    /// A [`ModelError::Config`] error.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ModelError::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A [`ModelError::Io`] error for `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            cause,
        }
    }

    /// A [`ModelError::Checkpoint`] error.
    pub fn checkpoint(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        ModelError::Checkpoint {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Result with a [`ModelError`].
pub type Result<T> = std::result::Result<T, ModelError>;
