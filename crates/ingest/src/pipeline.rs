//! The ingest pipeline: sources → resampling → windows → store.
use crate::adapt::{ChannelLayout, SubjectFromRecording};
use crate::align::{self, common_hole, StreamCursor, Whole};
use crate::checks::{check_no_recording_twice, check_split_subjects, RecordingSpan};
use crate::columns::{default_keys, SourceSpec};
use crate::formats;
use crate::labels::{IntervalCursor, IntervalLabels};
use crate::options::{IngestOptions, InputFormat, Units};
use crate::resample::{window_label, Grid, Resampler, Windower};
use crate::source::{Recording, RecordingSource};
use crate::spill::{Spill, Spilled};
use crate::walk;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use wearlang_core::{
    ChannelSpec, Error, LabelVocab, Location, NormAccumulator, Result, Split, SplitSpec, Window,
};
use wearlang_store::{ShardBy, StoreMeta, StoreSummary, StoreWriter};

/// Open one file as a [`RecordingSource`]; `root` is the input directory
/// when the file is one of several (used for the default subject). The
/// reader is that of `spec.format`, or with `auto` that of the format
/// claiming the file's extension (built-in formats first, then the
/// registered ones). A subject column that is also the recording column
/// makes each recording a subject of its own.
///
/// Errors: the extension is not recognised under `auto`, the format is a
/// name nothing is registered under, or the reader's own errors.
pub fn open_source(
    path: &Path,
    root: Option<&Path>,
    spec: &SourceSpec,
) -> Result<Box<dyn RecordingSource>> {
    if spec.subject_is_recording() {
        let keys_from_recording = SourceSpec {
            subject_column: None,
            ..spec.clone()
        };
        let src = open_source(path, root, &keys_from_recording)?;
        return Ok(Box::new(SubjectFromRecording(src)));
    }
    match spec.format.resolve(path) {
        Some(InputFormat::Auto) | None => Err(Error::data(
            Location::file(path),
            unknown_extension_message(),
        )),
        Some(format) => formats::factory(&format)?.open(path, root, spec),
    }
}

/// The error of a file whose extension no format claims.
fn unknown_extension_message() -> String {
    let registered = formats::registered_input_formats();
    if registered.is_empty() {
        "unknown file format: use a .csv, .parquet, .arrow or .awd extension or set input.format"
            .into()
    } else {
        format!(
            "unknown file format: use a .csv, .parquet, .arrow or .awd extension, one a registered \
             input format claims ({}), or set input.format",
            formats::describe_registered()
        )
    }
}

/// Extensions that are never data, even with an explicit `input.format`:
/// a manifest or a README kept beside the recordings.
const NOT_DATA: [&str; 7] = ["toml", "json", "yaml", "yml", "md", "rst", "html"];

/// Whether `path`'s extension is one of [`NOT_DATA`].
fn is_not_data(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| NOT_DATA.contains(&e.to_ascii_lowercase().as_str()))
}

/// The files of an input: the file itself, or the files of a directory
/// (recursively, sorted; hidden files, unknown extensions when the format
/// is `auto`, and manifests and documentation (`.toml`, `.json`, `.yaml`, `.yml`, `.md`, `.rst`, `.html`) skipped).
/// Links to directories are followed only inside the directory and never
/// into one already visited; a file with several names is listed once.
/// Under `auto` a file's format is that of its extension, the built-in
/// extensions first, then those of the registered formats; a registered
/// format's claimed extension is listed even if it is one of the skipped
/// ones.
pub fn list_files(path: &Path, format: &InputFormat) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let data = walk::files_under(path)?
        .into_iter()
        .filter(|p| {
            format
                .resolve(p)
                .is_some_and(|f| !is_not_data(p) || formats::claims_extension(&f, p))
        })
        .collect();
    let out = walk::sorted_without_aliases(data);
    if out.is_empty() {
        return Err(Error::data(Location::file(path), no_files_message(format)));
    }
    Ok(out)
}

/// The error of a directory without files of `format`.
fn no_files_message(format: &InputFormat) -> String {
    match format {
        InputFormat::Custom(name) => {
            format!("the directory has no files for input format '{name}'")
        }
        _ if formats::registered_input_formats().is_empty() => {
            "the directory has no CSV, Parquet, Arrow IPC or AWD files".into()
        }
        _ => format!(
            "the directory has no CSV, Parquet, Arrow IPC or AWD files, nor files of a registered \
             input format ({})",
            formats::describe_registered()
        ),
    }
}

/// What an ingest did, besides the store's own summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestSummary {
    /// The store written.
    pub out: PathBuf,
    /// Counts over the store (windows, subjects, labels, splits, missingness).
    pub store: StoreSummary,
    /// Input files read.
    pub files: usize,
    /// Recordings read.
    pub recordings: usize,
    /// Recordings shorter than one window.
    pub too_short: usize,
    /// Windows dropped because they straddle labels.
    pub dropped_mixed: usize,
    /// Windows dropped for too much missing data.
    pub dropped_missing: usize,
    /// Source samples (rows) read.
    pub rows: u64,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl IngestSummary {
    /// Pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

impl fmt::Display for IngestSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.store;
        writeln!(f, "store       {}", self.out.display())?;
        writeln!(
            f,
            "input       {} file(s), {} recording(s), {} rows, {:.2} s",
            self.files, self.recordings, self.rows, self.seconds
        )?;
        writeln!(
            f,
            "windows     {} ({} steps at {} Hz, {} channels)",
            s.windows,
            s.window_len,
            s.rate_hz,
            s.channels.len()
        )?;
        writeln!(
            f,
            "dropped     {} mixed-label, {} too-missing; {} recording(s) shorter than a window",
            self.dropped_mixed, self.dropped_missing, self.too_short
        )?;
        writeln!(f, "subjects    {}", s.subjects)?;
        let splits: Vec<String> = s
            .split_counts
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(f, "splits      {}", splits.join(", "))?;
        let labels: Vec<String> = s
            .label_counts
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .chain((s.unlabelled > 0).then(|| format!("(unlabelled) {}", s.unlabelled)))
            .collect();
        writeln!(f, "labels      {}", labels.join(", "))?;
        write!(f, "missing     {:.4}", s.missing_fraction)
    }
}

#[derive(Debug, Default, Clone)]
struct Stats {
    files: usize,
    recordings: usize,
    too_short: usize,
    dropped_mixed: usize,
    dropped_missing: usize,
    rows: u64,
    span: Option<(f64, f64)>,
    /// Subjects of the recordings read.
    subjects: BTreeSet<String>,
    /// Where each recording lies in each file (single stream only).
    spans: Vec<RecordingSpan>,
}

impl Stats {
    fn merge(&mut self, o: &Stats) {
        self.subjects.extend(o.subjects.iter().cloned());
        self.spans.extend(o.spans.iter().cloned());
        self.files += o.files;
        self.recordings += o.recordings;
        self.too_short += o.too_short;
        self.dropped_mixed += o.dropped_mixed;
        self.dropped_missing += o.dropped_missing;
        self.rows += o.rows;
        self.span = match (self.span, o.span) {
            (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
            (a, b) => a.or(b),
        };
    }
    fn see(&mut self, a: f64, b: f64) {
        self.span = Some(match self.span {
            Some((x, y)) => (x.min(a), y.max(b)),
            None => (a, b),
        });
    }
}

type Key = (String, String);

/// The most grid rows one gap between two samples may span when it is
/// interpolated (`resample.max_interp_gap_s` at least as long as the gap:
/// its rows are written): 11.6 days at 50 Hz.
pub const MAX_GAP_ROWS: f64 = 50_000_000.0;

/// The longest time between two consecutive samples of one recording, in
/// seconds (366 days). A hole costs no memory (windows lying wholly in it
/// are skipped without writing its rows), but a longer jump is almost
/// always a wrong timestamp or time unit.
pub const MAX_TIME_JUMP_S: f64 = 366.0 * 86_400.0;

/// Refuse a non-finite time, a jump from `prev` to `t` of more than
/// [`MAX_TIME_JUMP_S`], or an interpolated jump (at most `gap_s`) of more
/// than [`MAX_GAP_ROWS`] grid rows at `rate` Hz, naming the row.
fn check_jump(prev: f64, t: f64, rate: f64, gap_s: f64, part: &Recording, i: usize) -> Result<()> {
    let at = || Location::file(&part.file).row(part.row(i));
    if !t.is_finite() {
        return Err(Error::data(at(), format!("time is {t}")));
    }
    let jump_s = (t - prev) / 1000.0;
    let rows = jump_s * rate;
    let interpolated = jump_s <= gap_s;
    if jump_s > MAX_TIME_JUMP_S || (interpolated && rows > MAX_GAP_ROWS) {
        let limit = if interpolated {
            format!("{rows:.3e} grid rows at {rate} Hz to interpolate, more than {MAX_GAP_ROWS:.0}")
        } else {
            format!("more than {:.0} days", MAX_TIME_JUMP_S / 86_400.0)
        };
        return Err(Error::data(
            at(),
            format!(
                "time jumps by {jump_s:.0} s after the previous sample ({limit}): a wrong \
                 timestamp or time unit? A real gap this long belongs in separate recordings \
                 (a recording column or separate files)"
            ),
        ));
    }
    Ok(())
}

/// The options a rate error names: the time unit's (manifest, CLI) and
/// the interpolation limit's.
struct RateOptions {
    unit: (String, &'static str),
    gap: (String, &'static str),
}

/// Where errors about a time axis point: `file`, and the time column if
/// one is named.
fn time_location(file: &Path, time: &crate::options::TimeOptions) -> Location {
    let at = Location::file(file);
    match &time.column {
        Some(c) => at.column(c.clone()),
        None => at,
    }
}

/// Refuse the samples of recording `key` whose `intervals` (ms, between
/// its first samples; reordered here) have a median longer than a window
/// and than the interpolation limit `gap_s`: nearly every value of every
/// window would be missing, almost always a wrong time unit (milliseconds
/// read as seconds). Needs three intervals at least.
fn check_rate(
    intervals: &mut [f64],
    key: &Key,
    opts: &IngestOptions,
    gap_s: f64,
    names: &RateOptions,
    at: Location,
) -> Result<()> {
    if intervals.len() < 3 {
        return Ok(());
    }
    let mid = intervals.len() / 2;
    let median_s = *intervals.select_nth_unstable_by(mid, f64::total_cmp).1 / 1000.0;
    let w = &opts.window;
    if median_s <= w.size_s || median_s <= gap_s {
        return Ok(());
    }
    Err(Error::data(
        at,
        format!(
            "samples of recording '{}' of subject '{}' are a median {median_s} s apart \
             ({:.3e} Hz): longer than a window of {} s and than {} = {gap_s} s, so nearly \
             every window value would be missing at {} Hz. A wrong time unit? Set {} ({}); \
             or set {}{} to interpolate between samples",
            key.1,
            key.0,
            1.0 / median_s,
            w.size_s,
            names.gap.0,
            w.rate_hz,
            names.unit.0,
            names.unit.1,
            names.gap.0,
            names.gap.1,
        ),
    ))
}

/// Read-only context of the window-making stage.
struct Ctx<'a> {
    opts: &'a IngestOptions,
    len: usize,
    hop: usize,
    rate: f64,
    dt: f64,
    channels: usize,
    subject_splits: Option<BTreeMap<String, Split>>,
    grid_len: HashMap<Key, usize>,
    intervals: Option<&'a IntervalLabels>,
}

impl Ctx<'_> {
    /// Whether the windows of recording `key` (subject, recording) belong
    /// to the shard being ingested (all do without `shard`).
    fn in_shard(&self, key: &Key) -> bool {
        self.opts.shard.is_none_or(|s| s.holds(&key.0, &key.1))
    }

    /// Whether a NaN hole of grid rows `[first, end)` is long enough to skip
    /// without writing it: longer than two windows and a hop.
    fn skippable_hole(&self, first: usize, end: usize) -> bool {
        end > first + 2 * self.len + self.hop
    }

    fn grid_len(&self, first: f64, last: f64) -> usize {
        // Saturating: an absurd span is refused when its rows are fed.
        (((last - first) / self.dt + 0.5).floor() as usize).saturating_add(1)
    }

    /// The split of the window at grid row `start` of a recording of
    /// `subject` whose grid has `grid_total` rows (when known: time splits
    /// need it).
    fn split(&self, subject: &str, grid_total: Option<usize>, start: usize) -> Result<Split> {
        match &self.opts.split {
            SplitSpec::TimeRatios { .. } => {
                let k = grid_total.unwrap_or(start + self.len).max(1);
                let pos = (start as f64 + self.len as f64 / 2.0) / k as f64;
                self.opts.split.assign_time(pos)
            }
            SplitSpec::SubjectLists { train, val, test } => {
                let s = subject.to_string();
                if train.contains(&s) {
                    Ok(Split::Train)
                } else if val.contains(&s) {
                    Ok(Split::Val)
                } else if test.contains(&s) || !self.opts.split_rest_to_train {
                    if test.contains(&s) {
                        Ok(Split::Test)
                    } else {
                        Err(Error::param(
                            "split",
                            format!("subject '{s}' is in the data but in none of the split lists"),
                        ))
                    }
                } else {
                    Ok(Split::Train)
                }
            }
            SplitSpec::SubjectRatios { .. } => self
                .subject_splits
                .as_ref()
                .and_then(|m| m.get(subject).copied())
                .ok_or_else(|| {
                    Error::param(
                        "split",
                        format!("subject '{subject}' was not seen in the first pass"),
                    )
                }),
        }
    }
}

/// Resampling and windowing state of one recording.
struct RecProc<'a> {
    ctx: &'a Ctx<'a>,
    key: Key,
    t0: f64,
    /// Time of the last source sample fed, in ms.
    last_ms: f64,
    resampler: Resampler,
    grid: Grid,
    windower: Windower,
    cursor: Option<IntervalCursor>,
    labelled_upto: usize,
    /// Longest hole interpolated, in seconds.
    gap_s: f64,
    /// Intervals between the first samples (ms), until the rate is checked.
    intervals: Vec<f64>,
    /// Whether the sample interval has been checked against the window.
    rate_checked: bool,
    /// The file of the samples fed (none for aligned streams).
    file: Option<PathBuf>,
    /// Rows of the recording's whole grid, when known before its samples
    /// are fed (a time split places windows by it).
    grid_total: Option<usize>,
    stats: Stats,
}

/// Intervals between the first samples of a recording whose median is
/// checked against the window ([`RecProc::check_rate`]).
const RATE_SAMPLE: usize = 1000;

impl<'a> RecProc<'a> {
    fn new(ctx: &'a Ctx<'a>, key: Key, t0: f64, channels: usize, gap_s: f64) -> Self {
        let cursor = ctx
            .intervals
            .map(|l| IntervalCursor::new(l.for_recording(&key.0, &key.1)));
        Self {
            ctx,
            t0,
            last_ms: t0,
            resampler: Resampler::new(t0, ctx.rate, channels, gap_s),
            grid: Grid::new(channels),
            windower: Windower::new(ctx.len, ctx.hop),
            cursor,
            labelled_upto: 0,
            gap_s,
            intervals: Vec::new(),
            rate_checked: false,
            file: None,
            grid_total: ctx.grid_len.get(&key).copied(),
            key,
            stats: Stats::default(),
        }
    }

    /// Feed the samples of `part`, handing the windows that a hole
    /// completes to `out` (the rest come with [`drain`](Self::drain)).
    fn feed(&mut self, part: &Recording, out: &mut Vec<Window>) -> Result<()> {
        let c = part.channels.len();
        if self.file.is_none() {
            self.file = Some(part.file.clone());
        }
        let mut prev = self.last_ms;
        for i in 0..part.n {
            let t = part.time_ms(i);
            check_jump(prev, t, self.ctx.rate, self.gap_s, part, i)?;
            if !self.rate_checked && (i > 0 || self.stats.rows > 0) {
                self.intervals.push(t - prev);
                if self.intervals.len() >= RATE_SAMPLE {
                    self.check_rate(&part.file)?;
                }
            }
            prev = t;
            let row = &part.values[i * c..(i + 1) * c];
            let label = part.labels.get(i).and_then(|l| l.as_ref());
            if let Some((first, end)) = self.resampler.nan_gap_before(t) {
                self.skip_hole(first, end, (t, row, label), out)?;
            }
            self.resampler.push(t, row, label, &mut self.grid);
        }
        if let Some(last) = part.n.checked_sub(1) {
            self.last_ms = part.time_ms(last);
        }
        self.stats.rows += part.n as u64;
        Ok(())
    }

    /// Refuse samples whose median interval (over the first ones) is longer
    /// than a window and than the interpolation limit ([`check_rate`]).
    fn check_rate(&mut self, file: &Path) -> Result<()> {
        self.rate_checked = true;
        let mut v = std::mem::take(&mut self.intervals);
        let opts = self.ctx.opts;
        let names = RateOptions {
            unit: ("time.unit".into(), "--time-unit ms|s|iso8601"),
            gap: ("resample.max_interp_gap_s".into(), " (--max-interp-gap-s)"),
        };
        let at = time_location(file, &opts.time);
        check_rate(&mut v, &self.key, opts, self.gap_s, &names, at)
    }

    /// A NaN hole of grid rows `[first, end)` before `sample`: when it is
    /// longer than two windows, emit the hole's rows that windows starting
    /// before it need, hand those windows to `out`, count the windows
    /// lying wholly in the hole as too missing without writing them, and
    /// continue at the first window that reaches `end`. Memory stays
    /// proportional to the data, not to the hole.
    fn skip_hole(
        &mut self,
        first: usize,
        end: usize,
        sample: (f64, &[f32], Option<&Arc<str>>),
        out: &mut Vec<Window>,
    ) -> Result<()> {
        if !self.ctx.skippable_hole(first, end) {
            return Ok(());
        }
        let len = self.ctx.len;
        let (t, row, label) = sample;
        self.resampler
            .emit_before(t, row, label, first + len - 1, &mut self.grid);
        self.drain(out)?;
        let at = self.jump_over(end, usize::MAX);
        self.resampler.skip_to(at);
        Ok(())
    }

    /// Skip the windows lying wholly before grid row `end` (in a hole whose
    /// first rows have been drained), counting them as too missing, and
    /// restart the grid where the next window starts (at most `limit`, the
    /// grid's length when known). Returns that row.
    fn jump_over(&mut self, end: usize, limit: usize) -> usize {
        let skipped = self.windower.skip_to(end + 1 - self.ctx.len);
        self.stats.dropped_missing += skipped;
        let at = self.windower.next_start().min(limit);
        self.grid.restart_at(at);
        self.labelled_upto = at;
        at
    }

    /// Where the samples fed so far lie, as samples of `file`.
    fn span_in(&self, file: &Path) -> RecordingSpan {
        RecordingSpan {
            file: file.to_path_buf(),
            subject: self.key.0.clone(),
            recording: self.key.1.clone(),
            first_ms: self.t0,
            last_ms: self.last_ms,
        }
    }

    fn label_rows(&mut self) {
        if let Some(cur) = self.cursor.as_mut() {
            let mut hits = 0u64;
            for k in self.labelled_upto.max(self.grid.start)..self.grid.end() {
                let l = cur.at(self.t0 + k as f64 * self.ctx.dt);
                hits += u64::from(l.is_some());
                self.grid.labels[k - self.grid.start] = l;
            }
            if let Some(iv) = self.ctx.intervals {
                iv.hit(hits);
            }
        }
        self.labelled_upto = self.grid.end();
    }

    fn drain(&mut self, out: &mut Vec<Window>) -> Result<()> {
        self.label_rows();
        let ctx = self.ctx;
        let key = &self.key;
        let grid_total = self.grid_total;
        let t0 = self.t0;
        let stats = &mut self.stats;
        self.windower
            .drain(&mut self.grid, |start, values, labels| {
                let missing =
                    values.iter().filter(|v| v.is_nan()).count() as f64 / values.len() as f64;
                // A window without any observed value is never kept.
                if missing > ctx.opts.window.max_missing || missing >= 1.0 {
                    stats.dropped_missing += 1;
                    return Ok(());
                }
                let Some(label) = window_label(labels, ctx.opts.window.mixed_labels) else {
                    stats.dropped_mixed += 1;
                    return Ok(());
                };
                let start_ms = (t0 + start as f64 * ctx.dt).round() as i64;
                let mut w = Window::from_values(
                    key.0.clone(),
                    key.1.clone(),
                    start_ms,
                    ctx.rate,
                    ctx.channels,
                    values.to_vec(),
                )?;
                w.label = label.map(|l| l.to_string());
                w.split = ctx.split(&key.0, grid_total, start)?;
                out.push(w);
                Ok(())
            })
    }

    fn finish(mut self, total: Option<usize>, out: &mut Vec<Window>) -> Result<Stats> {
        if let Some(file) = self.file.take() {
            if !self.rate_checked {
                self.check_rate(&file)?;
            }
        }
        self.resampler.finish(total, &mut self.grid);
        self.drain(out)?;
        let n = self.grid.end();
        self.stats.recordings = 1;
        self.stats.subjects.insert(self.key.0.clone());
        if n < self.ctx.len {
            self.stats.too_short = 1;
        }
        if n > 0 {
            self.stats
                .see(self.t0, self.t0 + (n - 1) as f64 * self.ctx.dt);
        }
        Ok(self.stats)
    }
}

/// Stream one single-stream file, its channels matched by name to
/// `layout`, through resampling and windowing, handing windows to `sink` in
/// batches.
fn process_file(
    ctx: &Ctx<'_>,
    path: &Path,
    root: Option<&Path>,
    spec: &SourceSpec,
    layout: &ChannelLayout,
    sink: &mut dyn FnMut(Vec<Window>) -> Result<()>,
) -> Result<Stats> {
    // Read and parse ahead on another thread while this one resamples;
    // not on a rayon worker (files read in parallel): a worker waiting for
    // a thread that needs the pool's workers to parse would deadlock.
    let mut src = layout.conform(path, open_source(path, root, spec)?)?;
    if rayon::current_thread_index().is_none() {
        src = Box::new(crate::prefetch::Prefetch::new(
            path,
            src,
            crate::prefetch::PREFETCH_PARTS,
        )?);
    }
    let gap = ctx.opts.resample.max_interp_gap_s;
    let mut stats = Stats {
        files: 1,
        ..Stats::default()
    };
    let mut cur: Option<RecProc<'_>> = None;
    let mut out = Vec::new();
    while let Some(part) = src.next_part()? {
        let key = (part.subject.clone(), part.recording.clone());
        if !ctx.in_shard(&key) {
            continue;
        }
        if cur.as_ref().is_none_or(|p| p.key != key) && part.n > 0 {
            cur = Some(RecProc::new(
                ctx,
                key.clone(),
                part.time_ms(0),
                part.channels.len(),
                gap,
            ));
        }
        if let Some(p) = cur.as_mut() {
            p.feed(&part, &mut out)?;
            p.drain(&mut out)?;
            if part.last {
                let p = cur.take().expect("current recording");
                let span = p.span_in(path);
                let total = ctx.grid_len.get(&key).copied();
                let mut s = p.finish(total, &mut out)?;
                s.spans.push(span);
                stats.merge(&s);
            }
        }
        if out.len() >= ctx.opts.batch_windows {
            sink(std::mem::take(&mut out))?;
        }
    }
    if !out.is_empty() {
        sink(out)?;
    }
    Ok(stats)
}

/// First pass: (subject, recording) → (first ms, last ms), reading only the
/// key and time columns; with `times` false only the key columns (the
/// times are then sample counts, and time order is not checked: the main
/// pass does that).
fn scan(
    files: &[PathBuf],
    root: Option<&Path>,
    spec: &SourceSpec,
    times: bool,
) -> Result<Vec<(Key, f64, f64)>> {
    let mut spec = spec.clone();
    spec.scan_only = true;
    if !times {
        spec.time = crate::options::TimeOptions {
            rate_hz: Some(1.0),
            ..Default::default()
        };
    }
    let per_file: Vec<Result<Vec<(Key, f64, f64)>>> = files
        .par_iter()
        .map(|f| {
            let mut src = open_source(f, root, &spec)?;
            let mut out: Vec<(Key, f64, f64)> = Vec::new();
            while let Some(p) = src.next_part()? {
                if p.n == 0 {
                    continue;
                }
                let key = (p.subject.clone(), p.recording.clone());
                let (a, b) = (p.time_ms(0), p.time_ms(p.n - 1));
                match out.last_mut() {
                    Some(last) if last.0 == key => last.2 = b,
                    _ => out.push((key, a, b)),
                }
            }
            Ok(out)
        })
        .collect();
    let mut all = Vec::new();
    for r in per_file {
        all.extend(r?);
    }
    Ok(all)
}

/// Where windows go: the store, plus train-only normalisation statistics.
struct Output {
    writer: StoreWriter,
    acc: NormAccumulator,
    labels: BTreeSet<String>,
    windows: usize,
    /// Per channel, the factor into the stored unit (`None`: all 1).
    factors: Option<Vec<f32>>,
}

impl Output {
    fn write(&mut self, mut ws: Vec<Window>) -> Result<()> {
        if let Some(f) = &self.factors {
            for w in &mut ws {
                for row in w.values.chunks_exact_mut(f.len()) {
                    for (v, k) in row.iter_mut().zip(f) {
                        *v *= k;
                    }
                }
            }
        }
        for w in &ws {
            if w.split == Split::Train {
                self.acc.add(w);
            }
            if let Some(l) = &w.label {
                if !self.labels.contains(l) {
                    self.labels.insert(l.clone());
                }
            }
        }
        self.windows += ws.len();
        self.writer.write(&ws)
    }
}

struct StreamInput {
    spec: SourceSpec,
    files: Vec<PathBuf>,
    root: Option<PathBuf>,
    gap_s: f64,
}

fn stream_inputs(opts: &IngestOptions) -> Result<Vec<StreamInput>> {
    let mut v = Vec::new();
    let root_of = |p: &Path| p.is_dir().then(|| p.to_path_buf());
    if let Some(p) = &opts.input.path {
        v.push(StreamInput {
            spec: SourceSpec::main(opts),
            files: list_files(p, &opts.input.format)?,
            root: root_of(p),
            gap_s: opts.resample.max_interp_gap_s,
        });
    }
    for s in &opts.streams {
        let mut spec = SourceSpec::stream(opts, s);
        if v.is_empty() {
            spec.label_column = opts.columns.label.clone();
        }
        v.push(StreamInput {
            spec,
            files: list_files(&s.path, &s.format)?,
            root: root_of(&s.path),
            gap_s: s.max_interp_gap_s.unwrap_or(opts.resample.max_interp_gap_s),
        });
    }
    // Single files of several streams are one recording: give them the keys
    // of the first stream's file.
    if v.len() > 1 && v[0].root.is_none() {
        let (subject, recording) = default_keys(&v[0].files[0], None, &v[0].spec);
        for s in v.iter_mut().skip(1).filter(|s| s.root.is_none()) {
            s.spec.subject.get_or_insert(subject.clone());
            s.spec.recording.get_or_insert(recording.clone());
        }
    }
    Ok(v)
}

/// Read every recording of one stream, its channels in `layout`'s order,
/// checking the jumps between its samples ([`check_jump`], on the grid at
/// `rate` Hz), and set each aside in one spill file in `dir` as soon as it
/// ends ([`Spill`]; files are read in parallel); a recording that `keep`
/// refuses (another shard's) keeps only what the checks need. Returns the
/// recordings in order, each with where it lies (`spill_index` names the
/// spill in the caller's list), the spill and the rows read.
fn read_spilled(
    input: &StreamInput,
    layout: &ChannelLayout,
    rate: f64,
    dir: &Path,
    spill_index: usize,
    keep: &(dyn Fn(&Key) -> bool + Sync),
) -> Result<SpilledStream> {
    let spill = std::sync::Mutex::new(Spill::new(dir)?);
    let per_file: Vec<Result<Vec<(Key, Spilled)>>> = input
        .files
        .par_iter()
        .map(|f| {
            let mut out = Vec::new();
            read_file_with(input, layout, rate, f, |k, w| {
                let held = if keep(&k) {
                    // A panic elsewhere while holding the lock cannot leave
                    // a half-written recording that is later read: its
                    // caller never got the `Spilled`.
                    let mut guard = spill.lock().unwrap_or_else(|e| e.into_inner());
                    guard.put(&w, RATE_SAMPLE + 1)?
                } else {
                    Spilled::unstored(&w, RATE_SAMPLE + 1)
                };
                out.push((k, held));
                Ok(())
            })?;
            Ok(out)
        })
        .collect();
    let mut order = Vec::new();
    let mut map = HashMap::new();
    let mut rows = 0u64;
    for (r, f) in per_file.into_iter().zip(&input.files) {
        for (k, w) in r? {
            rows += w.len() as u64;
            if map.insert(k.clone(), Held::Disk(spill_index, w)).is_some() {
                return Err(recording_in_two_files(f, &k));
            }
            order.push(k);
        }
    }
    let spill = spill.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(SpilledStream {
        order,
        map,
        spill,
        rows,
    })
}

/// One stream read by [`read_spilled`].
struct SpilledStream {
    /// Recordings in order of first appearance.
    order: Vec<Key>,
    /// Where each lies.
    map: HashMap<Key, Held>,
    /// The file they lie in.
    spill: Spill,
    /// Rows read.
    rows: u64,
}

fn recording_in_two_files(f: &Path, k: &Key) -> Error {
    Error::data(
        Location::file(f),
        format!(
            "recording '{}' of subject '{}' appears in more than one file of this stream",
            k.1, k.0
        ),
    )
}

/// Read the recordings of one file of a stream whole, its channels in
/// `layout`'s order, checking the jumps between samples ([`check_jump`]).
fn read_file(
    input: &StreamInput,
    layout: &ChannelLayout,
    rate: f64,
    f: &Path,
) -> Result<Vec<(Key, Whole)>> {
    let mut out = Vec::new();
    read_file_with(input, layout, rate, f, |k, w| {
        out.push((k, w));
        Ok(())
    })?;
    Ok(out)
}

/// Read one file of a stream, its channels in `layout`'s order, checking
/// the jumps between samples ([`check_jump`]), handing each recording to
/// `each` when it ends (one recording in memory at a time).
fn read_file_with(
    input: &StreamInput,
    layout: &ChannelLayout,
    rate: f64,
    f: &Path,
    mut each: impl FnMut(Key, Whole) -> Result<()>,
) -> Result<()> {
    let src = open_source(f, input.root.as_deref(), &input.spec)?;
    let mut src = layout.conform(f, src)?;
    let mut cur: Option<(Key, Whole)> = None;
    while let Some(p) = src.next_part()? {
        let key = (p.subject.clone(), p.recording.clone());
        if cur.as_ref().is_none_or(|(k, _)| *k != key) {
            if let Some((k, w)) = cur.take() {
                each(k, w)?;
            }
            cur = Some((key, Whole::default()));
        }
        let Some((_, w)) = cur.as_mut() else {
            continue;
        };
        for i in 0..p.n {
            let t = p.time_ms(i);
            if let Some(&prev) = w.times.last() {
                check_jump(prev, t, rate, input.gap_s, &p, i)?;
            }
            w.times.push(t);
        }
        w.values.extend_from_slice(&p.values);
        if !p.labels.is_empty() {
            w.labels.extend(p.labels.iter().cloned());
        }
    }
    if let Some((k, w)) = cur {
        each(k, w)?;
    }
    Ok(())
}

/// The recordings of several streams by their file paths, when no stream
/// has a subject or recording column (each file is then one recording, the
/// one [`default_keys`] names): the recordings in order of first
/// appearance, each with its file per stream. `None` when a stream has
/// such a column (a file may then hold any recordings).
///
/// Errors: two files of one stream name the same recording.
type RecordingFiles = Vec<(Key, Vec<Option<PathBuf>>)>;

fn files_by_recording(inputs: &[StreamInput]) -> Result<Option<RecordingFiles>> {
    if inputs
        .iter()
        .any(|i| i.spec.subject_column.is_some() || i.spec.recording_column.is_some())
    {
        return Ok(None);
    }
    let mut order: RecordingFiles = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    for (s, inp) in inputs.iter().enumerate() {
        for f in &inp.files {
            let key = default_keys(f, inp.root.as_deref(), &inp.spec);
            let i = *index.entry(key.clone()).or_insert_with(|| {
                order.push((key.clone(), vec![None; inputs.len()]));
                order.len() - 1
            });
            if order[i].1[s].replace(f.clone()).is_some() {
                return Err(recording_in_two_files(f, &key));
            }
        }
    }
    Ok(Some(order))
}

/// Ingest the inputs described by `opts` into a window store at `out`.
///
/// Nothing is left at `out` unless the whole ingest succeeds (the store is
/// written to a temporary file and renamed at the end).
///
/// Errors (besides those of the options and readers): the files of one
/// input differ in channels (by name), one recording has samples at the
/// same times in two files, the split lists name a subject the data lacks,
/// or no window results.
pub fn ingest(opts: &IngestOptions, out: &Path) -> Result<IngestSummary> {
    let started = Instant::now();
    opts.validate()?;
    let inputs = stream_inputs(opts)?;
    let intervals = opts.labels.as_ref().map(IntervalLabels::read).transpose()?;
    let layouts = stream_layouts(&inputs)?;
    let channels: Vec<ChannelSpec> = layouts.iter().flat_map(|l| l.channels.to_vec()).collect();
    let (channels, factors) = stored_units(opts, channels)?;
    let meta = store_meta(opts, &channels)?;
    let mut ctx = Ctx::new(opts, channels.len(), intervals.as_ref());
    let mut output = Output::create(out, meta, channels.len())?;
    output.factors = factors;
    let stats = if inputs.len() == 1 {
        run_single_stream(&mut ctx, &inputs[0], &layouts[0], &mut output)?
    } else {
        // Recordings set aside while the streams are read lie beside the
        // store (on the disk chosen for it, not on a possibly RAM-backed /tmp).
        let spill_dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        run_multi_stream(&mut ctx, &inputs, &layouts, spill_dir, &mut output)?
    };
    check_no_recording_twice(&stats.spans)?;
    check_split_subjects(&opts.split, &stats.subjects, opts.shard.as_ref())?;
    if let Some(iv) = &intervals {
        iv.check_unit(stats.span)?;
        iv.check_overlap(stats.span)?;
    }
    // A shard may hold no subject at all (more shards than subjects): it is
    // written empty. Recordings without a window are an error as ever.
    let empty_shard = opts.shard.is_some() && stats.recordings == 0;
    if output.windows == 0 && !empty_shard {
        return Err(no_windows_error(opts, &stats));
    }
    let store = output.finish(&stats)?;
    Ok(IngestSummary::new(out, store, &stats, started))
}

/// The store's channels and, when a unit is converted, the factor of every
/// channel ([`Units::Canonical`]; `None`: values are stored as read).
///
/// Errors: a motion channel's unit cannot be converted.
fn stored_units(
    opts: &IngestOptions,
    channels: Vec<ChannelSpec>,
) -> Result<(Vec<ChannelSpec>, Option<Vec<f32>>)> {
    if opts.columns.units == Units::AsIs {
        return Ok((channels, None));
    }
    let (specs, factors): (Vec<ChannelSpec>, Vec<f32>) = channels
        .iter()
        .map(|c| {
            wearlang_core::units::to_canonical(c)
                .map(|(spec, f)| (spec, f as f32))
                .map_err(|e| Error::data(Location::file(meta_source(opts)), e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let converted = factors.iter().any(|&f| f != 1.0);
    Ok((specs, converted.then_some(factors)))
}

/// The channels of each stream: those of its first file, in stream order.
///
/// Errors: the first file of a stream cannot be opened.
fn stream_layouts(inputs: &[StreamInput]) -> Result<Vec<ChannelLayout>> {
    inputs
        .iter()
        .map(|inp| {
            let first = &inp.files[0];
            let src = open_source(first, inp.root.as_deref(), &inp.spec)?;
            Ok(ChannelLayout::of(first, src.as_ref()))
        })
        .collect()
}

/// The metadata a new store starts with: channels, window length, rate,
/// source, split and the options themselves (under `extra.ingest`).
///
/// Errors: the options cannot be serialised to JSON.
fn store_meta(opts: &IngestOptions, channels: &[ChannelSpec]) -> Result<StoreMeta> {
    let mut meta = StoreMeta::new(channels.to_vec(), opts.window.len(), opts.window.rate_hz);
    for c in &mut meta.channels {
        if c.location.is_none() {
            c.location = opts.columns.location.clone();
        }
        if c.device.is_none() {
            c.device = opts.columns.device.clone();
        }
    }
    meta.source = meta_source(opts).display().to_string();
    meta.split = Some(opts.split.clone());
    meta.extra.insert(
        "ingest".into(),
        serde_json::to_value(opts).map_err(|e| Error::param("options", e.to_string()))?,
    );
    Ok(meta)
}

impl<'a> Ctx<'a> {
    /// A context without grid lengths or subject splits (the first pass
    /// fills those in).
    fn new(
        opts: &'a IngestOptions,
        channels: usize,
        intervals: Option<&'a IntervalLabels>,
    ) -> Self {
        let rate = opts.window.rate_hz;
        Self {
            opts,
            len: opts.window.len(),
            hop: opts.window.hop(),
            rate,
            dt: 1000.0 / rate,
            channels,
            subject_splits: None,
            grid_len: HashMap::new(),
            intervals,
        }
    }

    /// Record the grid length of recording `key`, spanning `first..=last` ms.
    fn set_span(&mut self, key: &Key, first: f64, last: f64) {
        let n = self.grid_len(first, last);
        self.grid_len.insert(key.clone(), n);
    }

    /// Assign `subjects` to splits by the options' subject ratios.
    ///
    /// Errors: those of [`SplitSpec::assign_subjects`].
    fn assign_subjects<S: AsRef<str>>(&mut self, subjects: &[S]) -> Result<()> {
        self.subject_splits = Some(self.opts.split.assign_subjects(subjects)?);
        Ok(())
    }
}

/// First pass over a single stream: the grid length of each recording (time
/// split) and the split of each subject (subject ratios). Only the key and
/// time columns are read, and only when a subject column or a time split
/// needs them; otherwise subjects come from the file names.
///
/// Errors: a file cannot be read, or the subjects cannot be split.
fn plan_single_stream(ctx: &mut Ctx<'_>, inp: &StreamInput, files: &[PathBuf]) -> Result<()> {
    let root = inp.root.as_deref();
    let time_split = matches!(ctx.opts.split, SplitSpec::TimeRatios { .. });
    let ratio_split = matches!(ctx.opts.split, SplitSpec::SubjectRatios { .. });
    if time_split || (ratio_split && inp.spec.subject_column.is_some()) {
        // Subject ratios are drawn over every subject, shards or not.
        let scanned = if ratio_split { &inp.files[..] } else { files };
        let keys = scan(scanned, root, &inp.spec, time_split)?;
        for (k, a, b) in &keys {
            ctx.set_span(k, *a, *b);
        }
        let subjects: Vec<&str> = keys.iter().map(|k| k.0 .0.as_str()).collect();
        if ratio_split {
            ctx.assign_subjects(&subjects)?;
        }
        if !time_split {
            ctx.grid_len.clear();
        }
    } else if ratio_split {
        let subjects: Vec<String> = inp
            .files
            .iter()
            .map(|f| default_keys(f, root, &inp.spec).0)
            .collect();
        ctx.assign_subjects(&subjects)?;
    }
    Ok(())
}

/// Ingest a single stream: plan, then stream its file (or its files, in
/// parallel groups, in file order) into `output`. Returns the counts.
///
/// Errors: a file cannot be read or differs in channels, a subject has no
/// split, or the store cannot be written.
fn run_single_stream(
    ctx: &mut Ctx<'_>,
    inp: &StreamInput,
    layout: &ChannelLayout,
    output: &mut Output,
) -> Result<Stats> {
    let root = inp.root.as_deref();
    // Without key columns a file's keys come from its path: the files of
    // other shards are not even opened (a partition by subject needs only
    // the subject from the path).
    let by_path = inp.spec.subject_column.is_none()
        && (inp.spec.recording_column.is_none()
            || ctx.opts.shard.is_some_and(|s| s.by == ShardBy::Subject));
    let files: Vec<PathBuf> = match (&ctx.opts.shard, by_path) {
        (Some(_), true) => (inp.files.iter())
            .filter(|f| ctx.in_shard(&default_keys(f, root, &inp.spec)))
            .cloned()
            .collect(),
        _ => inp.files.clone(),
    };
    plan_single_stream(ctx, inp, &files)?;
    let ctx = &*ctx;
    let mut stats = Stats::default();
    write_items(&files, &mut stats, output, |f, sink| {
        process_file(ctx, f, root, &inp.spec, layout, sink)
    })?;
    Ok(stats)
}

/// Run `work` over `items`, writing each item's windows to `output` and
/// merging its counts into `stats` in item order (so the store does not
/// depend on the thread count). `work(item, sink)` hands its windows to
/// `sink` in batches. One item streams its windows straight to the store;
/// several run in parallel, a few at a time, each gathered in memory.
///
/// Errors: the first error of `work` (in item order) or of the store.
fn write_items<T: Sync>(
    items: &[T],
    stats: &mut Stats,
    output: &mut Output,
    work: impl Fn(&T, &mut dyn FnMut(Vec<Window>) -> Result<()>) -> Result<Stats> + Sync,
) -> Result<()> {
    if let [item] = items {
        let s = work(item, &mut |ws| output.write(ws))?;
        stats.merge(&s);
        return Ok(());
    }
    let group = rayon::current_num_threads().max(1) * 2;
    for chunk in items.chunks(group) {
        let results: Vec<Result<(Vec<Window>, Stats)>> = chunk
            .par_iter()
            .map(|item| {
                let mut ws = Vec::new();
                let s = work(item, &mut |mut b| {
                    ws.append(&mut b);
                    Ok(())
                })?;
                Ok((ws, s))
            })
            .collect();
        for r in results {
            let (ws, s) = r?;
            stats.merge(&s);
            output.write(ws)?;
        }
    }
    Ok(())
}

/// One stream's samples of a recording: in memory, or set aside in a
/// spill file (the index of a [`Streams`]' spill).
enum Held {
    Memory(Whole),
    Disk(usize, Spilled),
}

impl Held {
    /// Number of samples.
    fn len(&self) -> usize {
        match self {
            Held::Memory(w) => w.times.len(),
            Held::Disk(_, s) => s.len(),
        }
    }

    /// The first times (at most `RATE_SAMPLE + 1` of them).
    fn head(&self) -> &[f64] {
        match self {
            Held::Memory(w) => &w.times[..w.times.len().min(RATE_SAMPLE + 1)],
            Held::Disk(_, s) => &s.head,
        }
    }

    /// First and last time (`None`: no samples).
    fn span(&self) -> Option<(f64, f64)> {
        match self {
            Held::Memory(w) => w.times.first().zip(w.times.last()).map(|(a, b)| (*a, *b)),
            Held::Disk(_, s) => s.span,
        }
    }
}

/// Several streams of the same recordings: each stream's recordings held
/// in memory (one recording's files, [`Streams::of_recording`]) or set
/// aside on disk as they are read ([`Streams::read`]).
struct Streams<'a> {
    inputs: &'a [StreamInput],
    /// Channels of each stream.
    widths: Vec<usize>,
    /// Recordings in order of first appearance.
    order: Vec<Key>,
    /// Per stream: its recordings.
    maps: Vec<HashMap<Key, Held>>,
    /// Where recordings set aside lie.
    spills: Vec<Spill>,
}

impl<'a> Streams<'a> {
    /// Read every stream once, its files' channels put into the order of
    /// its `layouts` entry, each recording set aside in a spill file in
    /// `dir` ([`read_spilled`]; only those `keep` accepts have their
    /// samples written), counting its files and rows into `stats`.
    ///
    /// Errors: a file cannot be read or differs in channels, a recording
    /// is in two files of one stream, its time jumps ([`check_jump`] on
    /// the grid at `rate` Hz), or a spill file cannot be written.
    fn read(
        inputs: &'a [StreamInput],
        layouts: &[ChannelLayout],
        rate: f64,
        dir: &Path,
        keep: &(dyn Fn(&Key) -> bool + Sync),
        stats: &mut Stats,
    ) -> Result<Self> {
        let mut order: Vec<Key> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut maps = Vec::new();
        let mut spills = Vec::new();
        for (inp, layout) in inputs.iter().zip(layouts) {
            let SpilledStream {
                order: o,
                map: m,
                spill,
                rows,
            } = read_spilled(inp, layout, rate, dir, spills.len(), keep)?;
            spills.push(spill);
            stats.rows += rows;
            stats.files += inp.files.len();
            for k in o {
                if seen.insert(k.clone()) {
                    order.push(k);
                }
            }
            maps.push(m);
        }
        Ok(Self {
            inputs,
            widths: layouts.iter().map(|l| l.channels.len()).collect(),
            order,
            maps,
            spills,
        })
    }

    /// Stream `s`'s samples of recording `k` (`None`: it has none), read
    /// back from its spill file if set aside.
    ///
    /// Errors: the spill file cannot be read.
    fn samples(&self, s: usize, k: &Key) -> Result<Option<Cow<'_, Whole>>> {
        Ok(match self.maps[s].get(k) {
            None => None,
            Some(Held::Memory(w)) => Some(Cow::Borrowed(w)),
            Some(Held::Disk(i, w)) => Some(Cow::Owned(self.spills[*i].get(w, self.widths[s])?)),
        })
    }

    /// One recording of several streams, read from its file in each stream
    /// (`files`, as [`files_by_recording`] gives them), with the rows read.
    ///
    /// Errors: a file cannot be read or differs in channels, holds another
    /// recording than its path names (a format that sets the keys itself),
    /// or its time jumps.
    fn of_recording(
        inputs: &'a [StreamInput],
        layouts: &[ChannelLayout],
        rate: f64,
        key: &Key,
        files: &[Option<PathBuf>],
    ) -> Result<(Self, u64)> {
        let mut maps = Vec::with_capacity(inputs.len());
        let mut rows = 0u64;
        for ((inp, layout), f) in inputs.iter().zip(layouts).zip(files) {
            let mut map = HashMap::new();
            if let Some(f) = f {
                for (k, w) in read_file(inp, layout, rate, f)? {
                    if k != *key {
                        return Err(Error::data(
                            Location::file(f),
                            format!(
                                "holds recording '{}' of subject '{}', but its path names \
                                 recording '{}' of subject '{}' (streams without subject and \
                                 recording columns are matched by file path)",
                                k.1, k.0, key.1, key.0
                            ),
                        ));
                    }
                    rows += w.times.len() as u64;
                    map.insert(k, Held::Memory(w));
                }
            }
            maps.push(map);
        }
        let order = if maps.iter().any(|m| m.values().any(|w| w.len() > 0)) {
            vec![key.clone()]
        } else {
            Vec::new()
        };
        Ok((
            Self {
                inputs,
                widths: layouts.iter().map(|l| l.channels.len()).collect(),
                order,
                maps,
                spills: Vec::new(),
            },
            rows,
        ))
    }

    /// Refuse a stream whose samples are further apart than a window and
    /// than its interpolation limit ([`check_rate`]), naming the stream's
    /// options.
    fn check_rates(&self, opts: &IngestOptions) -> Result<()> {
        let main = usize::from(opts.input.path.is_some());
        for (s, inp) in self.inputs.iter().enumerate() {
            let (unit, gap) = match s.checked_sub(main) {
                None => ("time.unit".into(), "resample.max_interp_gap_s".into()),
                Some(i) => (
                    format!("streams[{i}].time.unit"),
                    format!("streams[{i}].max_interp_gap_s"),
                ),
            };
            let names = RateOptions {
                unit: (unit, "ms, s or iso8601"),
                gap: (gap, ""),
            };
            let place = inp.root.as_deref().unwrap_or(&inp.files[0]);
            for k in &self.order {
                if let Some(w) = self.maps[s].get(k) {
                    let mut v: Vec<f64> = w.head().windows(2).map(|p| p[1] - p[0]).collect();
                    let at = time_location(place, &inp.spec.time);
                    check_rate(&mut v, k, opts, inp.gap_s, &names, at)?;
                }
            }
        }
        Ok(())
    }

    /// Refuse a recording whose streams lie more than [`MAX_TIME_JUMP_S`]
    /// apart (one ends that long before another starts): almost always
    /// a wrong time unit in one stream. Names the later stream's input.
    fn check_overlap(&self, k: &Key) -> Result<()> {
        let mut spans: Vec<(f64, f64, usize)> = (self.maps.iter().enumerate())
            .filter_map(|(s, m)| {
                let (first, last) = m.get(k)?.span()?;
                Some((first, last, s))
            })
            .collect();
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut reach = f64::NEG_INFINITY;
        for (first, last, s) in spans {
            let apart_s = (first - reach) / 1000.0;
            if reach.is_finite() && apart_s > MAX_TIME_JUMP_S {
                let inp = &self.inputs[s];
                let place = inp.root.as_deref().unwrap_or(&inp.files[0]);
                return Err(Error::data(
                    Location::file(place),
                    format!(
                        "recording {}/{}: this stream starts {:.0} days after the other \
                         streams end (more than {:.0}): a wrong timestamp or time unit in one \
                         of them?",
                        k.0,
                        k.1,
                        apart_s / 86_400.0,
                        MAX_TIME_JUMP_S / 86_400.0
                    ),
                ));
            }
            reach = reach.max(last);
        }
        Ok(())
    }

    /// First and last time (ms) of recording `k` over all streams
    /// (`(inf, -inf)` when no stream has samples of it).
    fn span(&self, k: &Key) -> (f64, f64) {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for m in &self.maps {
            if let Some((a, b)) = m.get(k).and_then(Held::span) {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        (lo, hi)
    }

    /// The counts of recording `k`, its windows handed to `sink` in batches
    /// (rows are counted when the streams are read, so they are 0 here):
    /// every stream resampled onto
    /// the grid spanning all of them a chunk at a time, its channels placed
    /// side by side (NaN where a stream lacks the recording), the labels
    /// those of the first stream. Rows where every stream is in a hole
    /// longer than two windows are skipped, not written.
    ///
    /// Errors: a window cannot be made or its subject has no split.
    fn windows_of(
        &self,
        ctx: &Ctx<'_>,
        k: &Key,
        sink: &mut dyn FnMut(Vec<Window>) -> Result<()>,
    ) -> Result<Stats> {
        let (t0, t1) = self.span(k);
        let total = ctx.grid_len(t0, t1);
        let (len, hop) = (ctx.len, ctx.hop);
        let mut p = RecProc::new(ctx, k.clone(), t0, ctx.channels, 0.0);
        p.grid_total = Some(total);
        let samples: Vec<Option<Cow<'_, Whole>>> = (0..self.inputs.len())
            .map(|s| self.samples(s, k))
            .collect::<Result<_>>()?;
        let mut cursors: Vec<StreamCursor<'_>> = (self.inputs.iter().zip(&samples).enumerate())
            .map(|(s, (inp, w))| {
                StreamCursor::new(w.as_deref(), t0, ctx.rate, self.widths[s], inp.gap_s)
            })
            .collect();
        let chunk = (64 * (len + hop)).max(1 << 16);
        let mut ws = Vec::new();
        while p.grid.end() < total {
            let e = p.grid.end();
            let hole = common_hole(&cursors).map(|(a, b)| (a, b.min(total)));
            let hi = match hole {
                Some((first, end)) if ctx.skippable_hole(first, end) && first < e + chunk => {
                    // Rows that windows starting before the hole need.
                    let need = (first + len - 1).max(e);
                    cursors.iter_mut().for_each(|c| c.fill_to(need));
                    align::hand_over(&mut cursors, &mut p.grid);
                    p.drain(&mut ws)?;
                    let at = p.jump_over(end, total);
                    cursors.iter_mut().for_each(|c| c.skip_to(at));
                    continue;
                }
                _ => (e + chunk).min(total),
            };
            cursors.iter_mut().for_each(|c| c.fill_to(hi));
            align::hand_over(&mut cursors, &mut p.grid);
            p.drain(&mut ws)?;
            if ws.len() >= ctx.opts.batch_windows {
                sink(std::mem::take(&mut ws))?;
            }
        }
        let mut s = p.finish(None, &mut ws)?;
        s.rows = 0;
        if !ws.is_empty() {
            sink(ws)?;
        }
        Ok(s)
    }
}

/// Ingest several streams: read each once, setting every recording aside
/// in a spill file in `spill_dir` ([`Streams::read`]), put every recording
/// onto one grid spanning all streams (a few recordings at a time, read
/// back from the spill files), split subjects (subject ratios), and write
/// the windows to `output` in order of first appearance. Returns the
/// counts. Files that are one recording each are read when that recording
/// is windowed instead ([`run_by_recording`]).
///
/// Errors: a file cannot be read, a recording is in two files of one
/// stream, a subject has no split, a spill file cannot be written or read,
/// or the store cannot be written.
fn run_multi_stream(
    ctx: &mut Ctx<'_>,
    inputs: &[StreamInput],
    layouts: &[ChannelLayout],
    spill_dir: &Path,
    output: &mut Output,
) -> Result<Stats> {
    if let Some(recordings) = files_by_recording(inputs)? {
        return run_by_recording(ctx, inputs, layouts, output, &recordings);
    }
    let mut stats = Stats::default();
    // Another shard's recordings are read (the split is drawn over every
    // subject and every recording is checked) but not set aside.
    let keep = |k: &Key| ctx.in_shard(k);
    let streams = Streams::read(inputs, layouts, ctx.rate, spill_dir, &keep, &mut stats)?;
    streams.check_rates(ctx.opts)?;
    // Each recording's grid length comes from its span in `windows_of`.
    for k in &streams.order {
        streams.check_overlap(k)?;
    }
    if let SplitSpec::SubjectRatios { .. } = ctx.opts.split {
        let subjects: Vec<&str> = streams.order.iter().map(|k| k.0.as_str()).collect();
        ctx.assign_subjects(&subjects)?;
    }
    let ctx = &*ctx;
    let keys: Vec<&Key> = (streams.order.iter()).filter(|k| ctx.in_shard(k)).collect();
    write_items(&keys, &mut stats, output, |k, sink| {
        streams.windows_of(ctx, k, sink)
    })?;
    Ok(stats)
}

/// [`run_multi_stream`] when every file is one recording
/// ([`files_by_recording`]): each recording's files are read when it is
/// windowed and dropped after, so memory holds the recordings being
/// windowed (a few per core), not the whole input; files of other shards'
/// subjects are not read.
fn run_by_recording(
    ctx: &mut Ctx<'_>,
    inputs: &[StreamInput],
    layouts: &[ChannelLayout],
    output: &mut Output,
    recordings: &RecordingFiles,
) -> Result<Stats> {
    let mut stats = Stats {
        files: inputs.iter().map(|i| i.files.len()).sum(),
        ..Stats::default()
    };
    if let SplitSpec::SubjectRatios { .. } = ctx.opts.split {
        let subjects: Vec<&str> = recordings.iter().map(|(k, _)| k.0.as_str()).collect();
        ctx.assign_subjects(&subjects)?;
    }
    let ctx = &*ctx;
    let mine: Vec<&(Key, Vec<Option<PathBuf>>)> = (recordings.iter())
        .filter(|(k, _)| ctx.in_shard(k))
        .collect();
    write_items(&mine, &mut stats, output, |(k, files), sink| {
        let (streams, rows) = Streams::of_recording(inputs, layouts, ctx.rate, k, files)?;
        if streams.order.is_empty() {
            return Ok(Stats {
                rows,
                ..Stats::default()
            });
        }
        streams.check_rates(ctx.opts)?;
        streams.check_overlap(k)?;
        let mut s = streams.windows_of(ctx, k, sink)?;
        s.rows = rows;
        Ok(s)
    })?;
    Ok(stats)
}

/// The error of an ingest that made no window, with the reasons counted.
fn no_windows_error(opts: &IngestOptions, stats: &Stats) -> Error {
    Error::data(
        Location::file(meta_source(opts)),
        format!(
            "no windows: {} recording(s), {} shorter than a window of {} s, {} dropped as mixed-label, {} as too missing",
            stats.recordings, stats.too_short, opts.window.size_s, stats.dropped_mixed, stats.dropped_missing
        ),
    )
}

impl Output {
    /// Start writing a store of `channels` channels at `out`.
    ///
    /// Errors: the store file cannot be created.
    fn create(out: &Path, meta: StoreMeta, channels: usize) -> Result<Self> {
        Ok(Self {
            writer: StoreWriter::create(out, meta)?,
            acc: NormAccumulator::new(channels),
            labels: BTreeSet::new(),
            windows: 0,
            factors: None,
        })
    }

    /// Complete the store's metadata (normalisation, label vocabulary,
    /// `extra.ingest_stats`) and finish it. Returns the store's summary.
    ///
    /// Errors: the store cannot be finished.
    fn finish(self, stats: &Stats) -> Result<StoreSummary> {
        let Self {
            mut writer,
            acc,
            labels,
            ..
        } = self;
        let m = writer.meta_mut();
        m.normalisation = Some(acc.finish());
        m.labels = LabelVocab::sorted(labels);
        let extra = serde_json::json!({
            "files": stats.files,
            "recordings": stats.recordings,
            "too_short": stats.too_short,
            "dropped_mixed": stats.dropped_mixed,
            "dropped_missing": stats.dropped_missing,
            "rows": stats.rows,
        });
        m.extra.insert("ingest_stats".into(), extra);
        writer.finish()
    }
}

impl IngestSummary {
    /// The summary of an ingest into `out` that began at `started`.
    fn new(out: &Path, store: StoreSummary, stats: &Stats, started: Instant) -> Self {
        Self {
            out: out.to_path_buf(),
            store,
            files: stats.files,
            recordings: stats.recordings,
            too_short: stats.too_short,
            dropped_mixed: stats.dropped_mixed,
            dropped_missing: stats.dropped_missing,
            rows: stats.rows,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

fn meta_source(opts: &IngestOptions) -> PathBuf {
    opts.input
        .path
        .clone()
        .or(opts.streams.first().map(|s| s.path.clone()))
        .unwrap_or_default()
}
