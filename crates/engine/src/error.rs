//! Errors of the engine itself. The steps and batch sources of a caller
//! return the caller's own error type, which converts from these
//! ([`crate::Step::Error`], [`crate::BatchSource::Error`]); for the models
//! crate's error (what `wearlang-train` returns) the conversion is here and
//! gives back exactly the error the loop reported before it had its own
//! crate.

use std::path::PathBuf;

use wearlang_models::ModelError;
use wearlang_optim::OptimError;

/// What the loop, the metrics log and resuming report.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A file or directory that could not be read or written (the run
    /// directory, the metrics log).
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// A loop setting that is invalid.
    #[error("invalid configuration `{field}`: {reason}")]
    Config {
        /// The setting's name.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Training data that cannot be used (no items, a non-finite loss, the
    /// batch thread gone).
    #[error("data: {0}")]
    Data(String),
    /// Checkpoints and their records (the models crate).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The optimiser's step.
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// Atomic writes.
    #[error(transparent)]
    Core(#[from] wearlang_core::Error),
    /// An error reported by libtorch (back-propagation).
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl EngineError {
    /// An [`EngineError::Config`] error.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        EngineError::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An [`EngineError::Io`] error for `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        EngineError::Io {
            path: path.into(),
            cause,
        }
    }
}

/// The models crate's error (`wearlang_train::TrainError`) from the
/// engine's: each variant becomes the models error of the same kind and
/// message.
impl From<EngineError> for ModelError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Io { path, cause } => ModelError::Io { path, cause },
            EngineError::Config { field, reason } => ModelError::Config { field, reason },
            EngineError::Data(s) => ModelError::Data(s),
            EngineError::Model(e) => e,
            EngineError::Optim(e) => ModelError::Optim(e),
            EngineError::Core(e) => ModelError::Core(e),
            EngineError::Torch(e) => ModelError::Torch(e),
        }
    }
}

/// Result with an [`EngineError`] (or another error type).
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Turns an error the engine meets (models, optimiser, libtorch, its own)
/// into the caller's error type through [`EngineError`].
pub(crate) trait Lift<T> {
    /// The result with its error converted.
    fn lift<E: From<EngineError>>(self) -> Result<T, E>;
}

impl<T, X: Into<EngineError>> Lift<T> for std::result::Result<T, X> {
    fn lift<E: From<EngineError>>(self) -> Result<T, E> {
        self.map_err(|e| E::from(e.into()))
    }
}
