//! Ingestion of wearable recordings into a wearlang window store.
//!
//! Readers ([`RecordingSource`]: wide CSV, Parquet, Arrow IPC, or a
//! directory of such files) yield recordings; a streaming [`Resampler`]
//! puts each onto the target rate (averaging when downsampling, linear
//! interpolation only across gaps up to `max_interp_gap_s`, NaN + mask
//! otherwise); a [`Windower`] cuts sliding windows; windows get a split
//! (subject-wise or time-wise [`SplitSpec`](wearlang_core::SplitSpec)) and
//! are written in batches to a [`StoreWriter`](wearlang_store::StoreWriter),
//! with normalisation fitted on the training windows only. Options come from
//! code, CLI flags or a TOML manifest (see `docs/ingest.md`). Another
//! crate adds a file format with [`register_input_format`] (an
//! [`InputFormatFactory`]: its extensions and how to open a file as a
//! [`RecordingSource`]) and names it as `input.format`.
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
#![warn(missing_docs)]

mod arrow_src;
mod columns;
mod csv;
mod formats;
mod labels;
mod options;
mod parse;
mod pipeline;
mod resample;
mod source;

pub use arrow_src::ArrowSource;
pub use columns::SourceSpec;
pub use csv::CsvSource;
pub use formats::{register_input_format, registered_input_formats, InputFormatFactory};
pub use labels::{Interval, IntervalLabels};
pub use options::{
    ChannelOption, ColumnOptions, IngestOptions, InputFormat, InputOptions, LabelsOptions,
    MixedLabels, ResampleOptions, StreamOptions, TimeOptions, TimeUnit, WindowOptions,
};
pub use pipeline::{ingest, list_files, open_source, IngestSummary};
pub use resample::{window_count, window_label, Grid, Resampler, Windower};
pub use source::{Recording, RecordingSource, Timing};
