//! Errors of the objectives crate.

/// Errors returned by the objectives and augmentations.
#[derive(Debug, thiserror::Error)]
pub enum ObjectiveError {
    /// An input the objective needs was not given.
    #[error("objective `{objective}` needs `{input}`")]
    MissingInput {
        /// The objective.
        objective: &'static str,
        /// The missing field of `ObjectiveInputs`.
        input: &'static str,
    },
    /// Inputs whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A parameter out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    Param {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// From the masking crate.
    #[error(transparent)]
    Mask(#[from] wearlang_masking::MaskError),
    /// From libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// Result with an [`ObjectiveError`].
pub type Result<T> = std::result::Result<T, ObjectiveError>;
