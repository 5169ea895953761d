//! Ingest options and the TOML manifest.
use crate::formats;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use wearlang_core::{ChannelKind, ChannelSpec, Error, Location, Result, SplitSpec};
use wearlang_store::ShardSpec;

/// Input file format: a built-in one, or one another crate registered
/// with [`register_input_format`](crate::register_input_format).
///
/// In a manifest it is written as its name: `auto`, `csv`, `parquet`, `ipc`,
/// `awd` or a registered name (`format = "jsonl"`); reading a name nothing is
/// registered under is an error, so register formats before parsing
/// options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum InputFormat {
    /// From the file extension (`.csv`/`.tsv`/`.txt`, `.parquet`/`.pq`,
    /// `.arrow`/`.ipc`/`.feather`, `.awd`, then those the registered
    /// formats claim).
    #[default]
    Auto,
    /// Wide CSV with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file format.
    Ipc,
    /// Actiwatch `.AWD` epoch counts ([`AwdSource`](crate::AwdSource)).
    Awd,
    /// A format registered with
    /// [`register_input_format`](crate::register_input_format), by its
    /// name.
    Custom(String),
}

impl InputFormat {
    /// Parse `auto`, `csv`, `parquet`, `ipc` or `awd` (also `tsv`, `pq`,
    /// `arrow`, `feather`), or the name of a registered format; case-insensitive.
    ///
    /// Errors (naming the parameter `format`): an unknown name; the message
    /// lists the built-in and the registered names and says how to register
    /// a format.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "csv" | "tsv" => Ok(Self::Csv),
            "parquet" | "pq" => Ok(Self::Parquet),
            "ipc" | "arrow" | "feather" => Ok(Self::Ipc),
            "awd" => Ok(Self::Awd),
            other => match formats::registered_name(other) {
                Some(name) => Ok(Self::Custom(name)),
                None => Err(Error::param(
                    "format",
                    format!(
                        "unknown input format '{s}' (built-in: auto, csv, parquet, ipc, awd; \
                         registered: {}); a format of another crate must be registered first \
                         with wearlang_ingest::register_input_format",
                        formats::describe_registered()
                    ),
                )),
            },
        }
    }

    /// Its name as written in a manifest (`auto`, `csv`, `parquet`, `ipc`,
    /// `awd`, or the registered name).
    pub fn name(&self) -> &str {
        match self {
            Self::Auto => "auto",
            Self::Csv => "csv",
            Self::Parquet => "parquet",
            Self::Ipc => "ipc",
            Self::Awd => "awd",
            Self::Custom(name) => name,
        }
    }

    /// The concrete format of `path`: `self` unless it is `Auto`, else by
    /// extension (the built-in extensions first, then those of the
    /// registered formats; the first registered format by name wins when
    /// several claim one); `None` when the extension is not recognised.
    pub fn resolve(&self, path: &Path) -> Option<InputFormat> {
        if *self != Self::Auto {
            return Some(self.clone());
        }
        formats::by_extension(path)
    }

    /// Check that the name of a [`InputFormat::Custom`] is registered; `field`
    /// is the option that holds it (e.g. `input.format`).
    ///
    /// Errors: `self` is [`InputFormat::Custom`] and nothing is registered
    /// under its name.
    pub(crate) fn check(&self, field: &str) -> Result<()> {
        match self {
            Self::Custom(_) => formats::factory(self).map(|_| ()).map_err(|e| match e {
                Error::Param { message, .. } => Error::param(field, message),
                other => other,
            }),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for InputFormat {
    type Err = Error;

    /// [`InputFormat::parse`].
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for InputFormat {
    type Error = Error;

    /// [`InputFormat::parse`] (how a manifest's `format` is read).
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<InputFormat> for String {
    /// [`InputFormat::name`] (how a manifest's `format` is written).
    fn from(f: InputFormat) -> String {
        f.name().to_string()
    }
}

/// Unit of a timestamp column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Detect per file: ISO-8601 strings, or numbers (≥ 1e11 → ms, ≥ 1e8 or
    /// fractional → s, small integers → ms; small integers one apart are
    /// an error, as likely seconds). Set the unit when in doubt.
    #[default]
    Auto,
    /// Milliseconds (epoch or relative).
    Ms,
    /// Seconds (epoch or relative).
    S,
    /// ISO-8601 date-times (UTC unless an offset is given).
    Iso8601,
}

impl TimeUnit {
    /// Parse `auto`, `ms`, `s` or `iso8601`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "ms" | "millis" | "milliseconds" => Ok(Self::Ms),
            "s" | "sec" | "seconds" => Ok(Self::S),
            "iso8601" | "iso" | "iso-8601" => Ok(Self::Iso8601),
            other => Err(Error::param(
                "time.unit",
                format!("unknown time unit '{other}' (expected auto, ms, s or iso8601)"),
            )),
        }
    }
}

/// What to do with rows of one recording that share a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateTimes {
    /// An error naming the row (default).
    #[default]
    Error,
    /// Keep the first of the rows (in file order), drop the others.
    First,
    /// One sample with each channel's mean over the rows' observed values
    /// (missing when none is) and the first row's label.
    Mean,
}

impl DuplicateTimes {
    /// Parse `error`, `first` or `mean`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(Self::Error),
            "first" => Ok(Self::First),
            "mean" => Ok(Self::Mean),
            other => Err(Error::param(
                "time.duplicates",
                format!("unknown policy '{other}' (expected error, first or mean)"),
            )),
        }
    }

    fn is_error(&self) -> bool {
        *self == Self::Error
    }
}

/// What to do with a window whose samples carry more than one label (shared
/// with the store's re-windowing).
pub use wearlang_core::MixedLabels;

/// A channel column: its name in the input, and unit / kind / group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelOption {
    /// Column name in the input (also the channel name unless `rename`).
    pub name: String,
    /// Unit (free text, e.g. `g`, `rad/s`, `bpm`).
    #[serde(default)]
    pub unit: String,
    /// Kind (`accelerometer`, `gyroscope`, `heart_rate`, ...; unknown → other).
    #[serde(default = "default_kind")]
    pub kind: String,
    /// Channel group; defaults to the kind's group.
    #[serde(default)]
    pub group: Option<String>,
    /// Name of the channel in the store, if not the column name.
    #[serde(default)]
    pub rename: Option<String>,
    /// Where the sensor was worn (`wrist`, `waist`, ...); defaults to
    /// `[columns] location`.
    #[serde(default)]
    pub location: Option<String>,
    /// The recording device (`smartwatch`, `smartphone`, ...); defaults to
    /// `[columns] device`.
    #[serde(default)]
    pub device: Option<String>,
}

fn default_kind() -> String {
    "other".into()
}

impl ChannelOption {
    /// A channel with only a name (unit empty, kind other).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            unit: String::new(),
            kind: default_kind(),
            group: None,
            rename: None,
            location: None,
            device: None,
        }
    }

    /// Parse `name`, `name:unit` or `name:unit:kind`.
    pub fn parse(s: &str) -> Result<Self> {
        let mut parts = s.split(':').map(str::trim);
        let name = parts.next().unwrap_or_default();
        if name.is_empty() {
            return Err(Error::param(
                "channels",
                format!("empty channel name in '{s}'"),
            ));
        }
        let mut c = Self::new(name);
        if let Some(u) = parts.next() {
            c.unit = u.to_string();
        }
        if let Some(k) = parts.next() {
            c.kind = k.to_string();
        }
        if parts.next().is_some() {
            return Err(Error::param(
                "channels",
                format!("'{s}': expected name[:unit[:kind]]"),
            ));
        }
        Ok(c)
    }

    /// The store's channel spec.
    pub fn spec(&self) -> ChannelSpec {
        let mut spec = ChannelSpec::new(
            self.rename.clone().unwrap_or_else(|| self.name.clone()),
            self.unit.clone(),
            ChannelKind::parse(&self.kind),
        );
        if let Some(g) = &self.group {
            spec.group = g.clone();
        }
        spec.location = self.location.clone();
        spec.device = self.device.clone();
        spec
    }
}

/// `[input]`: the main input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputOptions {
    /// File or directory. A directory is read file by file (sorted by path,
    /// recursively; files of unknown extension are skipped). Optional when
    /// `[[streams]]` are given.
    pub path: Option<PathBuf>,
    /// Format: `auto` (by extension), `csv`, `parquet`, `ipc`, `awd`, or
    /// the name of a registered format.
    #[serde(default)]
    pub format: InputFormat,
    /// CSV field delimiter (default `,`).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// Subject of every recording when there is no subject column. Without
    /// both, the subject is the name of the file's parent directory (inside
    /// an input directory) or the file stem.
    #[serde(default)]
    pub subject: Option<String>,
}

/// `[time]`: the time axis of an input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeOptions {
    /// Timestamp column. When neither this nor `rate_hz` is given, a column
    /// named `timestamp`, `time`, `ts` or `datetime` is used if present.
    pub column: Option<String>,
    /// Unit of the timestamp column.
    #[serde(default)]
    pub unit: TimeUnit,
    /// Source rate in Hz when there is no timestamp column (samples are
    /// then at `i / rate_hz` seconds from the recording start).
    pub rate_hz: Option<f64>,
    /// Sort the rows of each recording by time (stable: rows of one time
    /// keep their file order) instead of refusing rows out of time order.
    /// A recording is then held in memory whole.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sort: bool,
    /// Rows of one recording with the same timestamp: an error (default),
    /// the first row, or their mean. Other than `error`, a recording is
    /// held in memory whole.
    #[serde(default, skip_serializing_if = "DuplicateTimes::is_error")]
    pub duplicates: DuplicateTimes,
}

/// `[columns]`: column roles of the main input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnOptions {
    /// Subject column.
    pub subject: Option<String>,
    /// Recording (session) column: rows with the same subject and recording
    /// form one recording and must be contiguous unless
    /// [`interleaved`](Self::interleaved).
    pub recording: Option<String>,
    /// Rows of different recordings may interleave (a logger writing the
    /// rows of several subjects in time order): each recording is gathered
    /// from wherever its rows are, in the order recordings first appear.
    /// Every recording of the file is then held in memory until its last
    /// row has been read (the whole file).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interleaved: bool,
    /// Per-sample label column (empty cell = unlabelled).
    pub label: Option<String>,
    /// Channel columns; empty = every numeric column without another role.
    #[serde(default)]
    pub channels: Vec<ChannelOption>,
    /// Whether motion channels are converted to their kind's canonical unit
    /// (accelerometers to g, gyroscopes to rad/s; the default) or kept as
    /// they are.
    #[serde(default)]
    pub units: Units,
    /// Where every channel without its own `location` was worn (`wrist`,
    /// `waist`, ...): recorded in the store and by the models trained on it.
    #[serde(default)]
    pub location: Option<String>,
    /// The device of every channel without its own `device`.
    #[serde(default)]
    pub device: Option<String>,
}

/// `[columns] units`: what ingest does with the units of motion channels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Units {
    /// Accelerometers in g, gyroscopes in rad/s
    /// ([`wearlang_core::units`]); an unknown unit of such a channel is an
    /// error naming it. Channels of other kinds, and channels without a
    /// unit, are kept as they are.
    #[default]
    Canonical,
    /// Values and units as in the input.
    AsIs,
}

/// `[window]`: target rate and windowing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowOptions {
    /// Target rate in Hz (default 50).
    pub rate_hz: f64,
    /// Window size in seconds (default 2).
    pub size_s: f64,
    /// Overlap fraction in [0, 1) (default 0.5).
    pub overlap: f64,
    /// Policy for windows straddling labels (default drop).
    pub mixed_labels: MixedLabels,
    /// Windows with a larger missing fraction are dropped (default 1: keep all).
    pub max_missing: f64,
}

impl Default for WindowOptions {
    fn default() -> Self {
        Self {
            rate_hz: 50.0,
            size_s: 2.0,
            overlap: 0.5,
            mixed_labels: MixedLabels::Drop,
            max_missing: 1.0,
        }
    }
}

impl WindowOptions {
    /// Window length in samples: `round(size_s × rate_hz)`.
    pub fn len(&self) -> usize {
        (self.size_s * self.rate_hz).round() as usize
    }

    /// True when the window length rounds to zero samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hop in samples: `max(1, round(len × (1 − overlap)))`. A recording of
    /// `n ≥ len` samples gives `floor((n − len) / hop) + 1` windows.
    pub fn hop(&self) -> usize {
        ((self.len() as f64 * (1.0 - self.overlap)).round() as usize).max(1)
    }
}

/// `[resample]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResampleOptions {
    /// Longest gap in seconds between two neighbouring source samples that a
    /// target sample may be linearly interpolated across (default 0.1).
    pub max_interp_gap_s: f64,
}

impl Default for ResampleOptions {
    fn default() -> Self {
        Self {
            max_interp_gap_s: 0.1,
        }
    }
}

/// `[[streams]]`: a further file (or directory) of the same recordings with
/// its own time axis and channels, aligned onto the target rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamOptions {
    /// File or directory (a directory's files are matched to recordings by
    /// subject and recording, i.e. by file stem when there are no such columns).
    pub path: PathBuf,
    /// Format, as [`InputOptions::format`].
    #[serde(default)]
    pub format: InputFormat,
    /// Time axis of this stream.
    #[serde(default)]
    pub time: TimeOptions,
    /// Channels of this stream.
    #[serde(default)]
    pub channels: Vec<ChannelOption>,
    /// Interpolation gap for this stream (e.g. 1.5 s for 1 Hz heart rate).
    #[serde(default)]
    pub max_interp_gap_s: Option<f64>,
}

/// `[labels]`: interval labels from a separate CSV/Parquet/IPC file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsOptions {
    /// The labels file.
    pub path: PathBuf,
    /// Start column (default `start`).
    #[serde(default = "d_start")]
    pub start: String,
    /// End column (default `end`; the interval is `[start, end)`).
    #[serde(default = "d_end")]
    pub end: String,
    /// Label column (default `label`).
    #[serde(default = "d_label")]
    pub label: String,
    /// Recording column; default `recording` when the file has it.
    #[serde(default)]
    pub recording: Option<String>,
    /// Subject column; default `subject` when the file has it.
    #[serde(default)]
    pub subject: Option<String>,
    /// Unit of start / end, in the same time base as the data.
    #[serde(default)]
    pub unit: TimeUnit,
}

fn d_start() -> String {
    "start".into()
}
fn d_end() -> String {
    "end".into()
}
fn d_label() -> String {
    "label".into()
}

impl LabelsOptions {
    /// Interval labels from `path` with the default column names.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            start: d_start(),
            end: d_end(),
            label: d_label(),
            recording: None,
            subject: None,
            unit: TimeUnit::Auto,
        }
    }
}

/// The most samples a window may hold (per channel): a day at 100 Hz is
/// 8.64 million; more is a mistake in the rate or size, not a window.
pub const MAX_WINDOW_SAMPLES: usize = 10_000_000;

/// Everything `ingest` needs; the manifest is this struct in TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestOptions {
    /// Main input.
    #[serde(default)]
    pub input: InputOptions,
    /// Its time axis.
    #[serde(default)]
    pub time: TimeOptions,
    /// Its column roles.
    #[serde(default)]
    pub columns: ColumnOptions,
    /// Target rate and windowing.
    #[serde(default)]
    pub window: WindowOptions,
    /// Resampling.
    #[serde(default)]
    pub resample: ResampleOptions,
    /// Split (default: subject ratios 0.6 / 0.2, seed 0).
    #[serde(default)]
    pub split: SplitSpec,
    /// With explicit subject lists: subjects in no list go to train instead
    /// of being an error.
    #[serde(default)]
    pub split_rest_to_train: bool,
    /// Further streams of the same recordings.
    #[serde(default)]
    pub streams: Vec<StreamOptions>,
    /// Interval labels.
    #[serde(default)]
    pub labels: Option<LabelsOptions>,
    /// Windows per write batch (default 1024).
    #[serde(default = "d_batch")]
    pub batch_windows: usize,
    /// Only the windows of this shard's subjects or recordings (`--shard I/N`,
    /// `--shard-by`; a manifest's `[shard]` with `index`, `count`, `by`; see
    /// [`wearlang_store::shards`]); splits are still assigned over all
    /// subjects, so the shards of one ingest together equal it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardSpec>,
}

fn d_batch() -> usize {
    1024
}

impl IngestOptions {
    /// Defaults for `input` (a file or directory).
    pub fn new(input: impl Into<PathBuf>) -> Self {
        Self {
            input: InputOptions {
                path: Some(input.into()),
                ..InputOptions::default()
            },
            time: TimeOptions::default(),
            columns: ColumnOptions::default(),
            window: WindowOptions::default(),
            resample: ResampleOptions::default(),
            split: SplitSpec::default(),
            split_rest_to_train: false,
            streams: Vec::new(),
            labels: None,
            batch_windows: d_batch(),
            shard: None,
        }
    }

    /// Parse a TOML manifest; relative paths in it are resolved against the
    /// manifest's directory.
    pub fn from_toml(text: &str, base: &Path, file: &Path) -> Result<Self> {
        let mut o: Self = toml::from_str(text).map_err(|e| {
            let mut loc = Location::file(file);
            if let Some(span) = e.span() {
                let row = text[..span.start.min(text.len())].matches('\n').count() as u64 + 1;
                loc = loc.row(row);
            }
            Error::data(loc, format!("invalid manifest: {}", e.message()))
        })?;
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        if let Some(p) = o.input.path.as_mut() {
            fix(p);
        }
        for s in &mut o.streams {
            fix(&mut s.path);
        }
        if let Some(l) = o.labels.as_mut() {
            fix(&mut l.path);
        }
        Ok(o)
    }

    /// Read a TOML manifest file (see `docs/ingest.md`).
    pub fn from_manifest(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, base, path)
    }

    /// A declared source rate `rate` (option `name`) whose samples lie
    /// further apart than a window and than the interpolation limit
    /// `gap_s` would leave nearly every window value missing: an error
    /// with the numbers (a rate in the wrong unit, e.g. samples per
    /// minute or per hour).
    fn check_source_rate(&self, name: &str, rate: f64, gap_s: f64) -> Result<()> {
        let every_s = 1.0 / rate;
        let w = &self.window;
        if every_s > w.size_s && every_s > gap_s {
            return Err(Error::param(
                name,
                format!(
                    "{rate} Hz is one sample every {every_s} s: windows of {} s at {} Hz \
                     would be nearly all missing. Give the source rate in samples per second \
                     (Hz{}), or set {} to at least {every_s} to interpolate between samples",
                    w.size_s,
                    w.rate_hz,
                    if name == "time.rate_hz" {
                        ", --source-rate"
                    } else {
                        ""
                    },
                    if name == "time.rate_hz" {
                        "resample.max_interp_gap_s (--max-interp-gap-s)".to_string()
                    } else {
                        name.replace("time.rate_hz", "max_interp_gap_s")
                    }
                ),
            ));
        }
        Ok(())
    }

    /// Check rates, window size, overlap, ratios, that there is an input,
    /// and that the registered formats named (`input.format`,
    /// `streams[i].format`) are registered.
    pub fn validate(&self) -> Result<()> {
        if let Some(s) = &self.shard {
            s.validate("shard")?;
        }
        let w = &self.window;
        let pos = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::param(
                    name,
                    format!("must be a positive number, got {v}"),
                ))
            }
        };
        pos("window.rate_hz", w.rate_hz)?;
        pos("window.size_s", w.size_s)?;
        if !(w.overlap.is_finite() && (0.0..1.0).contains(&w.overlap)) {
            return Err(Error::param(
                "window.overlap",
                format!("must be in [0, 1), got {}", w.overlap),
            ));
        }
        if w.is_empty() {
            return Err(Error::param(
                "window.size_s",
                format!("{} s at {} Hz is less than one sample", w.size_s, w.rate_hz),
            ));
        }
        if w.rate_hz * w.size_s > MAX_WINDOW_SAMPLES as f64 {
            return Err(Error::param(
                "window.size_s",
                format!(
                    "{} s at {} Hz is more than {MAX_WINDOW_SAMPLES} samples per window \
                     (check window.rate_hz and window.size_s)",
                    w.size_s, w.rate_hz
                ),
            ));
        }
        if !(w.max_missing.is_finite() && (0.0..=1.0).contains(&w.max_missing)) {
            return Err(Error::param(
                "window.max_missing",
                format!("must be in [0, 1], got {}", w.max_missing),
            ));
        }
        let g = self.resample.max_interp_gap_s;
        if !(g.is_finite() && g >= 0.0) {
            return Err(Error::param(
                "resample.max_interp_gap_s",
                format!("must be ≥ 0, got {g}"),
            ));
        }
        if let Some(r) = self.time.rate_hz {
            pos("time.rate_hz", r)?;
            if self.time.column.is_none() {
                self.check_source_rate("time.rate_hz", r, g)?;
            }
        }
        for (i, s) in self.streams.iter().enumerate() {
            if let Some(r) = s.time.rate_hz {
                let name = format!("streams[{i}].time.rate_hz");
                pos(&name, r)?;
                if s.time.column.is_none() {
                    self.check_source_rate(&name, r, s.max_interp_gap_s.unwrap_or(g))?;
                }
            }
            if let Some(g) = s.max_interp_gap_s {
                if !(g.is_finite() && g >= 0.0) {
                    return Err(Error::param(
                        format!("streams[{i}].max_interp_gap_s"),
                        format!("must be ≥ 0, got {g}"),
                    ));
                }
            }
        }
        if self.batch_windows == 0 {
            return Err(Error::param("batch_windows", "must be at least 1"));
        }
        self.input.format.check("input.format")?;
        for (i, s) in self.streams.iter().enumerate() {
            s.format.check(&format!("streams[{i}].format"))?;
        }
        if self.input.path.is_none() && self.streams.is_empty() {
            return Err(Error::param(
                "input.path",
                "no input file or directory given",
            ));
        }
        if self.columns.label.is_some() && self.labels.is_some() {
            return Err(Error::param(
                "labels",
                "give either a label column or an interval labels file, not both",
            ));
        }
        if !self.split_rest_to_train {
            self.split.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_window_is_refused_before_anything_is_allocated() {
        let mut o = IngestOptions::new("x.csv");
        o.window.rate_hz = 1e300;
        let err = o.validate().unwrap_err().to_string();
        assert!(
            err.contains("window.size_s") && err.contains("samples per window"),
            "{err}"
        );
        o.window.rate_hz = 100.0;
        o.window.size_s = 86_400.0;
        assert!(o.validate().is_ok(), "a day at 100 Hz is a window");
    }

    #[test]
    fn manifest_parses_and_resolves_paths() {
        let text = r#"
[input]
path = "data/shoulder.parquet"
[time]
rate_hz = 50.0
[columns]
subject = "subject"
label = "label"
channels = [ { name = "ax", unit = "g", kind = "accelerometer" }, { name = "wx", unit = "rad/s", kind = "gyroscope" } ]
[window]
rate_hz = 25.0
size_s = 4.0
overlap = 0.25
mixed_labels = "majority"
[resample]
max_interp_gap_s = 0.2
[split]
kind = "time_ratios"
train = 0.7
val = 0.1
"#;
        let o = IngestOptions::from_toml(text, Path::new("/m"), Path::new("/m/x.toml")).unwrap();
        assert_eq!(
            o.input.path.as_deref(),
            Some(Path::new("/m/data/shoulder.parquet"))
        );
        assert_eq!(o.time.rate_hz, Some(50.0));
        assert_eq!(o.columns.channels[1].spec().kind, ChannelKind::Gyroscope);
        assert_eq!(o.window.len(), 100);
        assert_eq!(o.window.hop(), 75);
        assert_eq!(o.window.mixed_labels, MixedLabels::Majority);
        assert_eq!(
            o.split,
            SplitSpec::TimeRatios {
                train: 0.7,
                val: 0.1
            }
        );
        o.validate().unwrap();
    }

    #[test]
    fn manifest_errors_name_the_row() {
        let text = "[window]\nrate_hz = 50.0\nsize = 2.0\n";
        let e = IngestOptions::from_toml(text, Path::new("."), Path::new("m.toml")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("m.toml") && msg.contains("row 3"), "{msg}");
    }

    #[test]
    fn time_order_options_parse_and_stay_out_of_stored_options_by_default() {
        let text = "[input]\npath = \"a.csv\"\n[time]\ncolumn = \"t\"\nsort = true\n\
                    duplicates = \"mean\"\n";
        let o = IngestOptions::from_toml(text, Path::new("."), Path::new("m.toml")).unwrap();
        assert!(o.time.sort);
        assert_eq!(o.time.duplicates, DuplicateTimes::Mean);
        let bad = text.replace("mean", "last");
        let e = IngestOptions::from_toml(&bad, Path::new("."), Path::new("m.toml")).unwrap_err();
        assert!(e.to_string().contains("row 6"), "{e}");
        // Defaults are not written, so stored options of old ingests compare equal.
        let json = serde_json::to_value(TimeOptions::default()).unwrap();
        assert!(json.get("sort").is_none() && json.get("duplicates").is_none());
        assert_eq!(
            DuplicateTimes::parse("First").unwrap(),
            DuplicateTimes::First
        );
        assert!(DuplicateTimes::parse("last").is_err());
    }

    #[test]
    fn a_declared_source_rate_far_below_the_window_is_refused() {
        let mut o = IngestOptions::new("a.csv");
        o.time.rate_hz = Some(0.001);
        let e = o.validate().unwrap_err().to_string();
        assert!(e.contains("time.rate_hz") && e.contains("1000 s"), "{e}");
        // 1 Hz (heart rate) against 2 s windows is fine; 0.1 Hz is fine
        // when interpolated across 15 s.
        o.time.rate_hz = Some(1.0);
        o.validate().unwrap();
        o.time.rate_hz = Some(0.1);
        assert!(o.validate().is_err());
        o.resample.max_interp_gap_s = 15.0;
        o.validate().unwrap();
    }

    #[test]
    fn a_manifest_shard_parses_and_an_impossible_one_is_refused() {
        let text = "[input]\npath = \"a.csv\"\n[shard]\nindex = 1\ncount = 4\n";
        let o = IngestOptions::from_toml(text, Path::new("."), Path::new("m.toml")).unwrap();
        assert_eq!(o.shard, Some(ShardSpec::new(1, 4)));
        o.validate().unwrap();
        let text = "[input]\npath = \"a.csv\"\n[shard]\nindex = 1\ncount = 4\nby = \"recording\"\n";
        let o = IngestOptions::from_toml(text, Path::new("."), Path::new("m.toml")).unwrap();
        assert_eq!(o.shard.unwrap().by, wearlang_store::ShardBy::Recording);
        for bad in ["index = 4\ncount = 4", "index = 0\ncount = 0"] {
            let text = format!("[input]\npath = \"a.csv\"\n[shard]\n{bad}\n");
            let o = IngestOptions::from_toml(&text, Path::new("."), Path::new("m.toml")).unwrap();
            let e = o.validate().unwrap_err().to_string();
            assert!(e.contains("shard") && e.contains("out of range"), "{e}");
        }
    }

    #[test]
    fn nls_protocol_hop() {
        let w = WindowOptions::default();
        assert_eq!((w.len(), w.hop()), (100, 50));
    }

    #[test]
    fn channel_option_parse() {
        let c = ChannelOption::parse("hr:bpm:heart_rate").unwrap();
        assert_eq!(c.spec().group, "Heart");
        assert!(ChannelOption::parse("a:b:c:d").is_err());
        assert!(ChannelOption::parse("").is_err());
    }
}
