//! PNG and SVG plots for wearlang reports, in plain Rust (no libtorch).
//!
//! Every plot is written twice by [`save_both`]: `<stem>.png` (bitmap; text
//! rasterised with `ab_glyph` from the DejaVu Sans font compiled into the
//! crate — no system fonts, fontconfig or FreeType needed, plotters is built
//! without its `ttf` feature) and `<stem>.svg` (text kept as `<text>`
//! elements). The functions take plain data and a path stem and return the
//! two paths; bad data is a [`PlotError::Input`] and writes nothing. See
//! `docs/metrics.md` and `cargo run -p wearlang-plots --example demo`.
//!
//! - [`confusion_matrix`]: heatmap with class names and counts in the
//!   cells, colour normalised by row.
//! - [`few_shot_curve`]: macro-F1 against shots per class (log x axis,
//!   ticks at the shot counts), several series with error bars and a legend.
//! - [`loss_curves`]: several named loss series over steps, optional log y.
//! - [`rank_histogram`] / [`histogram`]: retrieval ranks or any values.
//!
//! For more control, fill a [`ConfusionMatrixPlot`], [`LineChart`] or
//! [`HistogramPlot`] and call [`save_both`].
//!
//! ```
//! use wearlang_plots::{confusion_matrix, few_shot_curve, Series};
//! let dir = std::env::temp_dir().join(format!("wearlang-plots-doc-{}", std::process::id()));
//!
//! let counts = vec![vec![8, 2, 0], vec![1, 9, 0], vec![0, 3, 7]];
//! let files = confusion_matrix(dir.join("cm"), &counts, &["walk", "run", "sleep"], "Zero-shot").unwrap();
//! assert!(files[0].ends_with("cm.png") && files[1].ends_with("cm.svg"));
//!
//! let shots = [2.0, 5.0, 10.0, 25.0];
//! let series = vec![
//!     Series::new("linear probe", &shots, &[0.41, 0.52, 0.60, 0.66]).with_error(&[0.05, 0.04, 0.03, 0.02]),
//!     Series::new("projection heads", &shots, &[0.48, 0.57, 0.63, 0.69]).with_error(&[0.04, 0.03, 0.03, 0.02]),
//! ];
//! let files = few_shot_curve(dir.join("few_shot"), &series, "Few-shot adaptation").unwrap();
//! assert!(std::fs::read_to_string(&files[1]).unwrap().contains("linear probe"));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

#![warn(missing_docs)]

mod axis;
mod chart;
mod confusion;
mod error;
mod font;
mod histogram;
mod line;
mod save;
mod style;
mod text;

pub use chart::Labels;
pub use confusion::{confusion_matrix, ConfusionMatrixPlot};
pub use error::{PlotError, Result};
pub use histogram::{histogram, rank_histogram, HistogramPlot};
pub use line::{few_shot_curve, loss_curves, LineChart, Series};
pub use save::{save_both, Plot};
pub use text::Output;
