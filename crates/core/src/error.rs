//! The error type shared by the data crates.
use std::fmt;
use std::path::PathBuf;

/// Where in an input a problem was found: file, row (1-based, counting the
/// header as row 1 for CSV) and column, as far as they are known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file being read, if any.
    pub file: Option<PathBuf>,
    /// The row (1-based), if known.
    pub row: Option<u64>,
    /// The column or field name, if known.
    pub column: Option<String>,
}

impl Location {
    /// A location in `file`.
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Self {
            file: Some(file.into()),
            ..Self::default()
        }
    }
    /// The same location at `row`.
    pub fn row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }
    /// The same location in `column`.
    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(file) = &self.file {
            parts.push(format!("file {}", file.display()));
        }
        if let Some(row) = self.row {
            parts.push(format!("row {row}"));
        }
        if let Some(column) = &self.column {
            parts.push(format!("column '{column}'"));
        }
        if parts.is_empty() {
            write!(f, "<unknown location>")
        } else {
            write!(f, "{}", parts.join(", "))
        }
    }
}

/// Errors of the data crates. Every variant that concerns an input names
/// where the problem is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a file. The message includes the cause, so it is not
    /// repeated as a `source` in error chains.
    #[error("{location}: {cause}")]
    Io {
        /// Where.
        location: Location,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// Malformed or unacceptable input data.
    #[error("{location}: {message}")]
    Data {
        /// Where.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// An invalid parameter (rate, window size, overlap, ratio ...).
    #[error("invalid parameter '{name}': {message}")]
    Param {
        /// The parameter.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A label that is not in the vocabulary.
    #[error("unknown label '{0}'")]
    UnknownLabel(String),
    /// A shape mismatch.
    #[error("shape mismatch: {0}")]
    Shape(String),
}

impl Error {
    /// A data error at `location`.
    pub fn data(location: Location, message: impl Into<String>) -> Self {
        Error::Data {
            location,
            message: message.into(),
        }
    }
    /// A parameter error.
    pub fn param(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Param {
            name: name.into(),
            message: message.into(),
        }
    }
    /// An I/O error on `file`.
    pub fn io(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            location: Location::file(file),
            cause: source,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_names_file_row_and_column() {
        let e = Error::data(Location::file("a.csv").row(7).column("hr"), "not a number");
        assert_eq!(
            e.to_string(),
            "file a.csv, row 7, column 'hr': not a number"
        );
    }
}
