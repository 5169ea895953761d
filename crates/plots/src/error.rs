//! Errors of the plots crate.

/// Errors returned by the plot functions.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Data that cannot be plotted (empty, mismatched lengths, NaN, a
    /// non-positive value on a log axis, ...).
    #[error("{0}")]
    Input(String),
    /// The drawing backend failed (including encoding the PNG).
    #[error("drawing {path}: {message}")]
    Draw {
        /// The file being drawn.
        path: String,
        /// What plotters reported.
        message: String,
    },
    /// Writing or renaming an output file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file being written.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Result with a [`PlotError`].
pub type Result<T> = std::result::Result<T, PlotError>;

/// A [`PlotError::Input`] error.
pub(crate) fn input(message: impl Into<String>) -> PlotError {
    PlotError::Input(message.into())
}
