//! Errors of the train crate.

use std::path::PathBuf;

/// Errors returned by training, checkpointing and data loading.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
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
    /// An error reported by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl TrainError {
    /// A [`TrainError::Config`] error.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        TrainError::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A [`TrainError::Io`] error for `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            cause,
        }
    }

    /// A [`TrainError::Checkpoint`] error.
    pub fn checkpoint(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        TrainError::Checkpoint {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Result with a [`TrainError`].
pub type Result<T> = std::result::Result<T, TrainError>;
