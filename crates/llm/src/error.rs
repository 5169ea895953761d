//! Errors of the llm crate.

use std::path::PathBuf;

/// Errors returned by GGUF reading, tokenization, model loading and generation.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// A GGUF file that is malformed or truncated; `offset` is the byte where
    /// reading failed.
    #[error("{path}: malformed GGUF at byte offset {offset}: {reason}")]
    Gguf {
        /// The file.
        path: PathBuf,
        /// Byte offset of the failure.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A tensor stored in a type this crate cannot dequantise, or whose
    /// shape does not fit the model.
    #[error("tensor `{name}`: {reason}")]
    Tensor {
        /// The tensor's name in the file.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A metadata key that is missing or of the wrong type.
    #[error("metadata `{key}`: {reason}")]
    Metadata {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A file that cannot be opened or read.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A configuration or argument outside its allowed range.
    #[error("invalid `{name}`: {reason}")]
    Config {
        /// The field or argument.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Inputs whose shapes do not fit the model.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An error reported by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl LlmError {
    /// A [`LlmError::Config`] error.
    pub fn config(name: &'static str, reason: impl Into<String>) -> Self {
        LlmError::Config {
            name,
            reason: reason.into(),
        }
    }

    /// A [`LlmError::Metadata`] error.
    pub fn metadata(key: impl Into<String>, reason: impl Into<String>) -> Self {
        LlmError::Metadata {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// A [`LlmError::Tensor`] error.
    pub fn tensor(name: impl Into<String>, reason: impl Into<String>) -> Self {
        LlmError::Tensor {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Result with an [`LlmError`].
pub type Result<T> = std::result::Result<T, LlmError>;
