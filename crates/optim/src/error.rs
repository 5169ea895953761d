//! Errors of the optim crate.

/// Errors of optimiser settings, steps and state.
#[derive(Debug, thiserror::Error)]
pub enum OptimError {
    /// A setting that is invalid.
    #[error("invalid configuration `{field}`: {reason}")]
    Config {
        /// The field's name (dotted path in the TOML file).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Optimiser state that is missing a tensor or does not match the model.
    #[error("checkpoint {what}: {reason}")]
    Checkpoint {
        /// Which state (e.g. `optimizer`).
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// Gradients that cannot be used (NaN or infinite norm).
    #[error("data: {0}")]
    Data(String),
    /// An error reported by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl OptimError {
    /// An [`OptimError::Config`] error.
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        OptimError::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// An [`OptimError::Checkpoint`] error.
    pub fn checkpoint(what: impl Into<String>, reason: impl Into<String>) -> Self {
        OptimError::Checkpoint {
            what: what.into(),
            reason: reason.into(),
        }
    }
}

/// Result with an [`OptimError`].
pub type Result<T> = std::result::Result<T, OptimError>;
