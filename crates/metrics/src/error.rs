//! Errors of the metrics crate.

/// Errors returned by the metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// Inputs that do not fit together or cannot be scored.
    #[error("{0}")]
    Input(String),
}

/// Result with a [`MetricsError`].
pub type Result<T> = std::result::Result<T, MetricsError>;
