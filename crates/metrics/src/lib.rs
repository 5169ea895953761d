//! Metrics for wearlang evaluation, in plain Rust (no libtorch).
//!
//! ```
//! use wearlang_metrics::ClassificationReport;
//! let r = ClassificationReport::compute(&[0, 0, 1, 1], &[0, 1, 1, 1], 2).unwrap();
//! assert_eq!(r.accuracy, 0.75);
//! assert_eq!(r.confusion, vec![vec![1, 1], vec![0, 2]]);
//! ```

#![warn(missing_docs)]

mod classification;
mod error;

pub use classification::{ClassMetrics, ClassificationReport};
pub use error::{MetricsError, Result};
