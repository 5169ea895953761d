//! The `RecordingSource` trait, recordings, and the assembler that turns
//! row blocks of a file into recordings.
use crate::options::{DuplicateTimes, TimeOptions, TimeUnit};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wearlang_core::{ChannelSpec, Error, Location, Result};

/// The time axis of a recording part.
#[derive(Debug, Clone, PartialEq)]
pub enum Timing {
    /// One timestamp per sample, in milliseconds, strictly increasing.
    Timestamps(Vec<f64>),
    /// A fixed rate: sample `i` of the part is at `start_ms + i × 1000 / rate_hz`.
    Fixed {
        /// Time of the part's first sample in ms.
        start_ms: f64,
        /// Rate in Hz.
        rate_hz: f64,
    },
}

/// A recording, or a consecutive part of one (long recordings arrive in
/// several parts so that memory stays bounded).
#[derive(Debug, Clone)]
pub struct Recording {
    /// The file it comes from.
    pub file: PathBuf,
    /// Row number (as in errors) of the part's first sample.
    pub first_row: u64,
    /// Subject.
    pub subject: String,
    /// Recording identifier.
    pub recording: String,
    /// Channel specs (the columns of `values`).
    pub channels: Arc<[ChannelSpec]>,
    /// Number of samples.
    pub n: usize,
    /// Time axis.
    pub timing: Timing,
    /// Values, time-major (`values[i * channels + c]`); NaN = missing.
    pub values: Vec<f32>,
    /// Per-sample labels (empty when the source has no label column).
    pub labels: Vec<Option<Arc<str>>>,
    /// True for the recording's last part.
    pub last: bool,
    /// The file row of each sample when rows were sorted or merged
    /// (`time.sort`, `time.duplicates`); empty when sample `i` is row
    /// `first_row + i`.
    pub rows: Vec<u64>,
}

impl Recording {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.n
    }

    /// The file row (as in errors) of sample `i`.
    pub fn row(&self, i: usize) -> u64 {
        match self.rows.get(i) {
            Some(&r) => r,
            None => self.first_row + i as u64,
        }
    }

    /// True when the part has no samples (a final part may be empty).
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Time of sample `i` in ms.
    pub fn time_ms(&self, i: usize) -> f64 {
        match &self.timing {
            Timing::Timestamps(t) => t[i],
            Timing::Fixed { start_ms, rate_hz } => start_ms + i as f64 * 1000.0 / rate_hz,
        }
    }
}

/// A reader of recordings. Parts of one recording come consecutively, the
/// last with `last == true`; recordings never interleave.
pub trait RecordingSource: Send {
    /// The channels of every recording of this source.
    fn channels(&self) -> &[ChannelSpec];
    /// The next recording part, or `None` at the end.
    fn next_part(&mut self) -> Result<Option<Recording>>;
}

/// How a numeric or text timestamp cell was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TsKind {
    /// A number whose unit is still to be decided.
    Number,
    /// An ISO-8601 string, already in ms.
    Iso,
    /// A typed timestamp (Arrow), already in ms.
    Typed,
}

impl TsKind {
    fn describe(self) -> &'static str {
        match self {
            TsKind::Number => "a number",
            TsKind::Iso => "an ISO-8601 date-time",
            TsKind::Typed => "a typed timestamp",
        }
    }
}

/// The largest absolute time a sample may have, in ms (1e14 ms: the year
/// 5138 as epoch milliseconds). Larger times (epoch micro- or nanoseconds
/// read as milliseconds, `1e300`, infinities) are an error naming the row.
pub const MAX_ABS_TIME_MS: f64 = 1e14;

/// A block of parsed rows from a file.
#[derive(Debug, Default)]
pub(crate) struct Block {
    /// Row number of the first row (errors).
    pub first_row: u64,
    /// Rows in the block.
    pub n: usize,
    /// Timestamps (raw numbers or ms), empty for fixed-rate input.
    pub ts: Vec<f64>,
    /// Kind of the first timestamp.
    pub ts_kind: Option<TsKind>,
    /// First row whose timestamp kind differs from the first one.
    pub ts_mixed: Option<(u64, TsKind)>,
    /// Values, time-major.
    pub values: Vec<f32>,
    /// Runs of (start offset, subject, recording) — only where keys come
    /// from columns.
    pub keys: Vec<(usize, Option<String>, Option<String>)>,
    /// Runs of (start offset, label).
    pub labels: Vec<(usize, Option<Arc<str>>)>,
}

/// What a time column's rows may do besides increase strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TimeOrder {
    /// Sort each recording by time (`time.sort`).
    pub sort: bool,
    /// Rows with the same time (`time.duplicates`).
    pub duplicates: DuplicateTimes,
}

impl TimeOrder {
    /// The order options of `time`.
    pub fn of(time: &TimeOptions) -> Self {
        Self {
            sort: time.sort,
            duplicates: time.duplicates,
        }
    }

    /// Whether a recording is held whole, to be sorted or to have rows of
    /// one time merged when it ends.
    fn holds_whole(&self) -> bool {
        self.sort || self.duplicates != DuplicateTimes::Error
    }
}

/// How a source finds its time axis.
#[derive(Debug, Clone)]
pub(crate) enum TimeMode {
    /// A column, with its (possibly auto) unit and the order it may have.
    Column(String, TimeUnit, TimeOrder),
    /// A fixed rate.
    Fixed(f64),
}

/// Turns blocks into recording parts, checking time order and contiguity.
pub(crate) struct Assembler {
    file: PathBuf,
    channels: Arc<[ChannelSpec]>,
    time: TimeMode,
    factor: Option<f64>,
    file_kind: Option<TsKind>,
    default_subject: String,
    default_recording: String,
    has_labels: bool,
    cur: Option<Recording>,
    cur_key: Option<(String, String)>,
    cur_count: u64,
    last_t: Option<f64>,
    seen: HashSet<(String, String)>,
    /// Rows of recordings may interleave: closed recordings wait here (in
    /// the order they first appeared, with their row count and last time)
    /// until the input ends.
    interleaved: bool,
    held: Vec<Held>,
    held_at: HashMap<(String, String), usize>,
    key: (Option<String>, Option<String>),
    label: Option<Arc<str>>,
    pub rows: u64,
    pub queue: std::collections::VecDeque<Recording>,
}

/// A recording of an interleaved input waiting for the input's end
/// (`None` while it is the open one).
struct Held {
    part: Option<Recording>,
    count: u64,
    last_t: Option<f64>,
}

impl Assembler {
    /// An assembler of the rows of `file`; `interleaved`: rows of different
    /// recordings may interleave (each recording is held until the input
    /// ends).
    pub fn new(
        file: &Path,
        channels: Arc<[ChannelSpec]>,
        time: TimeMode,
        (default_subject, default_recording): (String, String),
        has_labels: bool,
        interleaved: bool,
    ) -> Self {
        let factor = match &time {
            TimeMode::Column(_, TimeUnit::Ms, _) => Some(1.0),
            TimeMode::Column(_, TimeUnit::S, _) => Some(1000.0),
            _ => None,
        };
        Self {
            file: file.to_path_buf(),
            channels,
            time,
            factor,
            file_kind: None,
            default_subject,
            default_recording,
            has_labels,
            cur: None,
            cur_key: None,
            cur_count: 0,
            last_t: None,
            seen: HashSet::new(),
            interleaved,
            held: Vec::new(),
            held_at: HashMap::new(),
            key: (None, None),
            label: None,
            rows: 0,
            queue: Default::default(),
        }
    }

    fn loc(&self, row: u64) -> Location {
        let l = Location::file(&self.file).row(row);
        match &self.time {
            TimeMode::Column(c, ..) => l.column(c.clone()),
            TimeMode::Fixed(_) => l,
        }
    }

    fn detect_unit(&mut self, block: &Block) -> Result<()> {
        let kind = block.ts_kind.unwrap_or(TsKind::Number);
        let unit = match &self.time {
            TimeMode::Column(_, u, _) => *u,
            TimeMode::Fixed(_) => return Ok(()),
        };
        self.file_kind = Some(kind);
        match (kind, unit) {
            (TsKind::Number, TimeUnit::Iso8601) => {
                return Err(Error::data(
                    self.loc(block.first_row),
                    "timestamp unit is iso8601 but the cell is a number",
                ))
            }
            (TsKind::Iso, TimeUnit::Ms | TimeUnit::S) => {
                return Err(Error::data(
                    self.loc(block.first_row),
                    "timestamp is an ISO-8601 date-time but the unit says a number",
                ))
            }
            (TsKind::Number, TimeUnit::Auto) => {
                let sample = &block.ts[..block.ts.len().min(1000)];
                let max = sample.iter().fold(0f64, |a, &b| a.max(b.abs()));
                let min = sample.iter().fold(f64::INFINITY, |a, &b| a.min(b.abs()));
                let fractional = sample.iter().any(|v| v.fract() != 0.0);
                self.factor = Some(if max >= 1e11 {
                    1.0
                } else if fractional || min >= 1e8 {
                    1000.0
                } else {
                    self.check_not_unit_steps(block, sample)?;
                    1.0
                });
            }
            (TsKind::Number, _) => {}
            _ => self.factor = Some(1.0),
        }
        Ok(())
    }

    /// Small integer times read as milliseconds under `unit = "auto"`:
    /// refuse them when their median step is 1, which is as likely 1 Hz in
    /// seconds as 1000 Hz in milliseconds (integer seconds read as
    /// milliseconds made a day of data 86 s long).
    fn check_not_unit_steps(&self, block: &Block, sample: &[f64]) -> Result<()> {
        let mut steps: Vec<f64> = sample
            .windows(2)
            .map(|p| p[1] - p[0])
            .filter(|d| *d > 0.0)
            .collect();
        if steps.len() < 3 {
            return Ok(());
        }
        let mid = steps.len() / 2;
        if *steps.select_nth_unstable_by(mid, f64::total_cmp).1 != 1.0 {
            return Ok(());
        }
        Err(Error::data(
            self.loc(block.first_row),
            "the times are integers one apart: 1 Hz in seconds or 1000 Hz in milliseconds? \
             Unit auto reads small integers as milliseconds; set time.unit = \"s\" or \"ms\" \
             (--time-unit s|ms)",
        ))
    }

    fn open(&mut self, subject: String, recording: String, row: u64) -> Result<()> {
        let key = (subject, recording);
        if self.interleaved {
            if let Some(&i) = self.held_at.get(&key) {
                let h = &mut self.held[i];
                let mut part = h.part.take().expect("a held recording is closed");
                // Its rows continue elsewhere in the file: from here on
                // each sample names its own row.
                if part.rows.is_empty() {
                    part.rows = (0..part.n).map(|i| part.first_row + i as u64).collect();
                }
                self.cur_count = h.count;
                self.last_t = h.last_t;
                self.cur = Some(part);
                self.cur_key = Some(key);
                return Ok(());
            }
        }
        if !self.seen.insert(key.clone()) {
            return Err(Error::data(
                Location::file(&self.file).row(row),
                format!(
                    "recording '{}' of subject '{}' appears again after other recordings; \
                     rows of one recording must be contiguous: sort the file, or set \
                     columns.interleaved = true (--interleaved) to gather each recording's \
                     rows (the whole file is then held in memory)",
                    key.1, key.0
                ),
            ));
        }
        self.cur_count = 0;
        self.cur = Some(self.empty_part(&key, row));
        self.cur_key = Some(key);
        self.last_t = None;
        Ok(())
    }

    fn empty_part(&self, key: &(String, String), row: u64) -> Recording {
        let timing = match &self.time {
            TimeMode::Column(..) => Timing::Timestamps(Vec::new()),
            TimeMode::Fixed(r) => Timing::Fixed {
                start_ms: self.cur_count as f64 * 1000.0 / r,
                rate_hz: *r,
            },
        };
        Recording {
            file: self.file.clone(),
            first_row: row,
            subject: key.0.clone(),
            recording: key.1.clone(),
            channels: self.channels.clone(),
            n: 0,
            timing,
            values: Vec::new(),
            labels: Vec::new(),
            last: false,
            rows: Vec::new(),
        }
    }

    /// The order options of the time column (the default without one).
    fn order(&self) -> TimeOrder {
        match &self.time {
            TimeMode::Column(_, _, o) => *o,
            TimeMode::Fixed(_) => TimeOrder::default(),
        }
    }

    /// End the current recording: sort it and merge rows of one time when
    /// the options say so, and queue it as its last part.
    ///
    /// Errors: rows share a time and `time.duplicates` is `error`.
    fn close(&mut self) -> Result<()> {
        if self.interleaved {
            // Held until the input ends: its rows may come again.
            if let (Some(part), Some(key)) = (self.cur.take(), self.cur_key.take()) {
                let held = Held {
                    part: Some(part),
                    count: self.cur_count,
                    last_t: self.last_t,
                };
                match self.held_at.get(&key) {
                    Some(&i) => self.held[i] = held,
                    None => {
                        self.held_at.insert(key, self.held.len());
                        self.held.push(held);
                    }
                }
            }
            return Ok(());
        }
        if let Some(mut part) = self.cur.take() {
            let order = self.order();
            if order.holds_whole() {
                order_part(&mut part, order, self.loc(0))?;
            }
            part.last = true;
            self.queue.push_back(part);
        }
        self.cur_key = None;
        Ok(())
    }

    /// Add a block of rows.
    pub fn push(&mut self, block: Block) -> Result<()> {
        if block.n == 0 {
            return Ok(());
        }
        if let TimeMode::Column(..) = self.time {
            if self.file_kind.is_none() {
                self.detect_unit(&block)?;
            }
            let fk = self.file_kind.unwrap_or(TsKind::Number);
            let bk = block.ts_kind.unwrap_or(TsKind::Number);
            let mixed = if bk != fk {
                Some((block.first_row, bk))
            } else {
                block.ts_mixed
            };
            if let Some((row, k)) = mixed {
                return Err(Error::data(
                    self.loc(row),
                    format!(
                        "mixed timestamp formats: this cell is {} but the file's first timestamp is {}",
                        k.describe(),
                        fk.describe()
                    ),
                ));
            }
        }
        let c = self.channels.len();
        let factor = self.factor.unwrap_or(1.0);
        // Segment boundaries: key runs.
        let mut bounds: Vec<usize> = block.keys.iter().map(|k| k.0).collect();
        bounds.push(block.n);
        let mut key_iter = block.keys.into_iter();
        let mut label_runs = block.labels.into_iter().peekable();
        let mut start = 0usize;
        for &end in bounds.iter() {
            if end > start {
                let subject = self
                    .key
                    .0
                    .clone()
                    .unwrap_or_else(|| self.default_subject.clone());
                let recording = self
                    .key
                    .1
                    .clone()
                    .unwrap_or_else(|| self.default_recording.clone());
                let row0 = block.first_row + start as u64;
                if self.cur_key.as_ref() != Some(&(subject.clone(), recording.clone())) {
                    self.close()?;
                    self.open(subject, recording, row0)?;
                }
                let (order, at) = (self.order(), self.loc(0));
                let part = self.cur.as_mut().expect("open recording");
                if !part.rows.is_empty() {
                    part.rows.extend(row0..row0 + (end - start) as u64);
                }
                part.n += end - start;
                part.values
                    .extend_from_slice(&block.values[start * c..end * c]);
                if let Timing::Timestamps(ts) = &mut part.timing {
                    for i in start..end {
                        let t = block.ts[i] * factor;
                        if t.is_nan() || t.abs() > MAX_ABS_TIME_MS {
                            return Err(Error::data(
                                at.row(block.first_row + i as u64),
                                format!(
                                    "time is {} ms, beyond ±{MAX_ABS_TIME_MS:e} ms (the year \
                                     5138): a corrupt cell or a wrong unit (micro- or \
                                     nanoseconds?)",
                                    t
                                ),
                            ));
                        }
                        if let Some(prev) = self.last_t {
                            let refused = if t == prev {
                                !order.holds_whole()
                            } else {
                                t < prev && !order.sort
                            };
                            if refused {
                                let row = block.first_row + i as u64;
                                return Err(Error::data(
                                    at.row(row),
                                    order_message(t == prev, block.ts[i], prev / factor, part),
                                ));
                            }
                        }
                        self.last_t = Some(t);
                        ts.push(t);
                    }
                }
                if self.has_labels {
                    for i in start..end {
                        while let Some((s, _)) = label_runs.peek() {
                            if *s <= i {
                                self.label = label_runs.next().and_then(|x| x.1);
                            } else {
                                break;
                            }
                        }
                        part.labels.push(self.label.clone());
                    }
                }
                self.cur_count += (end - start) as u64;
            }
            if let Some((_, s, r)) = key_iter.next() {
                self.key = (s, r);
            }
            start = end;
        }
        self.rows += block.n as u64;
        // Hand over what we have so far as a non-final part (unless the
        // recording is to be sorted or merged when it ends, or its rows may
        // come again).
        if !self.order().holds_whole()
            && !self.interleaved
            && self.cur.as_ref().is_some_and(|p| p.n > 0)
        {
            let key = self.cur_key.clone().expect("open recording has a key");
            let next = self.empty_part(&key, block.first_row + block.n as u64);
            if let Some(done) = self.cur.replace(next) {
                self.queue.push_back(done);
            }
        }
        Ok(())
    }

    /// End of input: close the current recording; an input without data
    /// rows is an error.
    pub fn finish(&mut self, header_row: bool) -> Result<()> {
        if self.rows == 0 {
            return Err(Error::data(
                Location::file(&self.file),
                if header_row {
                    "no data rows (header only)"
                } else {
                    "no data rows"
                },
            ));
        }
        self.close()?;
        // An interleaved input's recordings, whole, in the order they first
        // appeared.
        let order = self.order();
        for h in std::mem::take(&mut self.held) {
            let Some(mut part) = h.part else { continue };
            if order.holds_whole() {
                order_part(&mut part, order, self.loc(0))?;
            } else if !part.rows.is_empty()
                && (part.rows.iter().enumerate()).all(|(i, &r)| r == part.first_row + i as u64)
            {
                part.rows = Vec::new();
            }
            part.last = true;
            self.queue.push_back(part);
        }
        self.held_at.clear();
        Ok(())
    }
}

/// The error of a row whose time repeats (`duplicate`) or goes back,
/// naming the options that accept it.
fn order_message(duplicate: bool, raw: f64, prev: f64, part: &Recording) -> String {
    let rec = &part.recording;
    if duplicate {
        format!(
            "duplicate timestamp {raw} (the previous row has it too) in recording '{rec}': set \
             time.duplicates = \"first\" or \"mean\" (--duplicate-times first|mean) to keep \
             the first row or average the rows of one time"
        )
    } else {
        format!(
            "decreasing timestamp {raw} (previous {prev}) in recording '{rec}': rows must be in \
             time order; set time.sort = true (--sort-by-time) to sort each recording by time"
        )
    }
}

/// Sort a whole recording by time (stable) when `order.sort`, then merge
/// the rows of each time by `order.duplicates`; `loc` locates the time
/// column (its row is replaced).
///
/// Errors: rows share a time under [`DuplicateTimes::Error`], naming the
/// later row in file order.
fn order_part(part: &mut Recording, order: TimeOrder, loc: Location) -> Result<()> {
    let Timing::Timestamps(ts) = &part.timing else {
        return Ok(());
    };
    let c = part.channels.len();
    let mut idx: Vec<usize> = (0..part.n).collect();
    if order.sort {
        idx.sort_by(|&a, &b| ts[a].total_cmp(&ts[b]));
    }
    let has_labels = !part.labels.is_empty();
    let (mut times, mut values, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    let mut rows = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let first = idx[i];
        let j = i + idx[i..].iter().take_while(|&&k| ts[k] == ts[first]).count();
        let group = &idx[i..j];
        match (group.len(), order.duplicates) {
            (1, _) | (_, DuplicateTimes::First) => {
                values.extend_from_slice(&part.values[first * c..(first + 1) * c]);
            }
            (_, DuplicateTimes::Error) => {
                let msg = order_message(true, ts[first], ts[first], part);
                return Err(Error::data(
                    loc.row(part.row(group[1])),
                    format!("{msg} (also at row {})", part.row(first)),
                ));
            }
            (_, DuplicateTimes::Mean) => {
                for ch in 0..c {
                    let (sum, n) = group
                        .iter()
                        .map(|&k| part.values[k * c + ch])
                        .filter(|v| !v.is_nan())
                        .fold((0f64, 0u32), |(s, n), v| (s + v as f64, n + 1));
                    values.push(if n > 0 {
                        (sum / n as f64) as f32
                    } else {
                        f32::NAN
                    });
                }
            }
        }
        times.push(ts[first]);
        rows.push(part.row(first));
        if has_labels {
            labels.push(part.labels[first].clone());
        }
        i = j;
    }
    // Keep the file rows only where they no longer follow from positions.
    let moved = rows
        .iter()
        .enumerate()
        .any(|(i, &r)| r != part.first_row + i as u64);
    part.rows = if moved { rows } else { Vec::new() };
    part.n = times.len();
    part.timing = Timing::Timestamps(times);
    part.values = values;
    part.labels = labels;
    Ok(())
}
