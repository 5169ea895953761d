//! Ingestion of wearable recordings into a wearlang window store.
//!
//! Readers ([`RecordingSource`]: wide CSV, Parquet, Arrow IPC, Actiwatch
//! `.AWD` ([`AwdSource`]), a format another crate registered, or a
//! directory of such files) yield
//! recordings; a streaming [`Resampler`] puts each onto the target rate
//! (averaging when downsampling, linear interpolation only across gaps up
//! to `max_interp_gap_s`, NaN + mask otherwise); a [`Windower`] cuts
//! sliding windows; windows get a split (subject-wise or time-wise
//! [`SplitSpec`](wearlang_core::SplitSpec)) and are written in batches to
//! a [`StoreWriter`](wearlang_store::StoreWriter), with normalisation
//! fitted on the training windows only. Options come from code, CLI flags
//! or a TOML manifest (see `docs/ingest.md`).
//!
//! ```
//! use wearlang_ingest::{ingest, ChannelOption, IngestOptions};
//! use wearlang_store::{ReadOptions, StoreReader};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let csv = dir.path().join("s1.csv");
//! let mut text = String::from("t,ax,label\n");
//! for i in 0..400 {
//!     let label = if i < 200 { "walk" } else { "run" };
//!     text += &format!("{},{},{label}\n", i * 20, (i as f32 * 0.1).sin());
//! }
//! std::fs::write(&csv, text).unwrap();
//!
//! let mut opts = IngestOptions::new(&csv);
//! opts.time.column = Some("t".into());
//! opts.columns.label = Some("label".into());
//! opts.columns.channels = vec![ChannelOption::parse("ax:g:accelerometer").unwrap()];
//! opts.split = wearlang_core::SplitSpec::TimeRatios { train: 0.5, val: 0.25 };
//! let out = dir.path().join("store.parquet");
//! let summary = ingest(&opts, &out).unwrap();
//! // 400 samples at 50 Hz, 2 s windows, 50 % overlap: 7 windows, of which
//! // the one straddling walk/run is dropped.
//! assert_eq!(summary.store.windows + summary.dropped_mixed, 7);
//! assert_eq!(summary.dropped_mixed, 1);
//! let store = StoreReader::open(&out).unwrap();
//! assert!(store.meta().normalisation.is_some());
//! ```
//!
//! # Input formats of other crates
//!
//! A fork reads its own file format without editing this crate: it
//! implements [`InputFormatFactory`] (the extensions it claims, and how to
//! open a file as a [`RecordingSource`]), registers it once at start-up
//! with [`register_input_format`], and then names it like a built-in one:
//! `format = "<name>"` under `[input]` or `[[streams]]` of a manifest,
//! `--format <name>` on the command line, or [`InputFormat::Custom`] in
//! code. Under `auto`, files with its extensions are listed in directories
//! and opened by it (the built-in extensions win when both claim one).
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use wearlang_core::Result;
//! use wearlang_ingest::{
//!     list_files, register_input_format, CsvSource, InputFormat, InputFormatFactory,
//!     RecordingSource, SourceSpec,
//! };
//!
//! /// A vendor's semicolon-separated export (`.ssv`): the CSV reader with
//! /// another delimiter. A reader of its own implements `RecordingSource`.
//! struct Ssv;
//!
//! impl InputFormatFactory for Ssv {
//!     fn extensions(&self) -> Vec<String> {
//!         vec!["ssv".into()]
//!     }
//!
//!     fn open(
//!         &self,
//!         path: &Path,
//!         root: Option<&Path>,
//!         spec: &SourceSpec,
//!     ) -> Result<Box<dyn RecordingSource>> {
//!         let spec = SourceSpec { delimiter: b';', ..spec.clone() };
//!         Ok(Box::new(CsvSource::open(path, root, &spec)?))
//!     }
//! }
//!
//! register_input_format("ssv", Arc::new(Ssv)).unwrap();
//! assert_eq!(InputFormat::parse("ssv").unwrap(), InputFormat::Custom("ssv".into()));
//!
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("s1.ssv"), "t;ax\n0;0.5\n20;0.25\n").unwrap();
//! std::fs::write(dir.path().join("notes.md"), "not data").unwrap();
//! let files = list_files(dir.path(), &InputFormat::Auto).unwrap();
//! assert_eq!(files, vec![dir.path().join("s1.ssv")]);
//! assert_eq!(
//!     InputFormat::Auto.resolve(&files[0]),
//!     Some(InputFormat::Custom("ssv".into()))
//! );
//! ```
#![warn(missing_docs)]

mod adapt;
mod align;
mod arrow_src;
mod awd;
mod checks;
mod columns;
mod csv;
mod formats;
mod labels;
mod options;
mod parse;
mod pipeline;
mod prefetch;
mod resample;
mod source;
mod spill;
mod walk;

pub use arrow_src::ArrowSource;
pub use awd::{epoch_seconds, AwdHeader, AwdSource, AWD_HEADER_LINES};
pub use columns::SourceSpec;
pub use csv::CsvSource;
pub use formats::{register_input_format, registered_input_formats, InputFormatFactory};
pub use labels::{Interval, IntervalLabels};
pub use options::{
    ChannelOption, ColumnOptions, DuplicateTimes, IngestOptions, InputFormat, InputOptions,
    LabelsOptions, MixedLabels, ResampleOptions, StreamOptions, TimeOptions, TimeUnit, Units,
    WindowOptions,
};
pub use pipeline::{ingest, list_files, open_source, IngestSummary, MAX_GAP_ROWS, MAX_TIME_JUMP_S};
pub use resample::{window_count, window_label, Grid, Resampler, Windower};
pub use source::{Recording, RecordingSource, Timing, MAX_ABS_TIME_MS};
