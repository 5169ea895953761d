//! Interval labels from a separate CSV file: `start, end, label` and
//! optionally `recording` / `subject` columns.
use crate::options::{LabelsOptions, TimeUnit};
use crate::parse::{missing_column_message, parse_f64, parse_iso8601_ms};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wearlang_core::{Error, Location, Result};

/// One labelled interval `[start_ms, end_ms)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Subject it applies to (all when `None`).
    pub subject: Option<String>,
    /// Recording it applies to (all when `None`).
    pub recording: Option<String>,
    /// Start in ms (same time base as the data).
    pub start_ms: f64,
    /// End in ms (exclusive).
    pub end_ms: f64,
    /// The label.
    pub label: Arc<str>,
}

/// Interval labels, with a count of grid rows they labelled.
#[derive(Debug)]
pub struct IntervalLabels {
    /// Where they come from.
    pub file: PathBuf,
    /// The intervals, sorted by start.
    pub intervals: Vec<Interval>,
    /// Whether numbers were read as seconds by `unit = "auto"`.
    seconds_guessed: bool,
    hits: AtomicU64,
}

fn split_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

impl IntervalLabels {
    /// Read the labels file described by `opts`.
    pub fn read(opts: &LabelsOptions) -> Result<Self> {
        let file = opts.path.clone();
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let text = text.trim_start_matches('\u{feff}');
        if text.trim().is_empty() {
            return Err(Error::data(Location::file(&file), "empty file"));
        }
        let mut lines = text.lines().enumerate();
        let header = split_line(lines.next().map(|(_, l)| l).unwrap_or_default());
        let find = |name: &str| {
            header.iter().position(|h| h == name).ok_or_else(|| {
                Error::data(
                    Location::file(&file).column(name),
                    missing_column_message(name, &header),
                )
            })
        };
        let opt = |given: &Option<String>, default: &str| -> Result<Option<usize>> {
            match given {
                Some(n) => find(n).map(Some),
                None => Ok(header.iter().position(|h| h == default)),
            }
        };
        let (ci_s, ci_e, ci_l) = (find(&opts.start)?, find(&opts.end)?, find(&opts.label)?);
        let ci_r = opt(&opts.recording, "recording")?;
        let ci_subj = opt(&opts.subject, "subject")?;
        let mut raw = Vec::new();
        let mut numeric = Vec::new();
        let mut kind_iso: Option<bool> = None;
        for (i, line) in lines {
            let row = i as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            let f = split_line(line);
            if f.len() != header.len() {
                return Err(Error::data(
                    Location::file(&file).row(row),
                    format!("{} fields, but the header has {}", f.len(), header.len()),
                ));
            }
            let mut time = |ci: usize, name: &str| -> Result<f64> {
                let cell = f[ci].as_bytes();
                let (t, iso) = if let Some(t) = parse_f64(cell) {
                    (t, false)
                } else if let Some(t) = parse_iso8601_ms(cell) {
                    (t, true)
                } else {
                    return Err(Error::data(
                        Location::file(&file).row(row).column(name),
                        format!("not a time: '{}'", f[ci]),
                    ));
                };
                match kind_iso {
                    None => kind_iso = Some(iso),
                    Some(k) if k != iso => {
                        return Err(Error::data(
                            Location::file(&file).row(row).column(name),
                            "mixed time formats (ISO-8601 and numbers)",
                        ))
                    }
                    _ => {}
                }
                Ok(t)
            };
            let s = time(ci_s, &opts.start)?;
            let e = time(ci_e, &opts.end)?;
            if e <= s {
                return Err(Error::data(
                    Location::file(&file).row(row).column(opts.end.clone()),
                    format!(
                        "interval end {} is not after its start {}",
                        f[ci_e], f[ci_s]
                    ),
                ));
            }
            if f[ci_l].is_empty() {
                return Err(Error::data(
                    Location::file(&file).row(row).column(opts.label.clone()),
                    "empty label",
                ));
            }
            numeric.push(s);
            raw.push(Interval {
                subject: ci_subj.map(|c| f[c].clone()),
                recording: ci_r.map(|c| f[c].clone()),
                start_ms: s,
                end_ms: e,
                label: Arc::from(f[ci_l].as_str()),
            });
        }
        if raw.is_empty() {
            return Err(Error::data(
                Location::file(&file),
                "no data rows (header only)",
            ));
        }
        let iso = kind_iso == Some(true);
        let factor = match (opts.unit, iso) {
            (_, true) => 1.0,
            (TimeUnit::Ms, _) => 1.0,
            (TimeUnit::S, _) => 1000.0,
            (TimeUnit::Iso8601, false) => {
                return Err(Error::data(
                    Location::file(&file).row(2).column(opts.start.clone()),
                    "unit is iso8601 but the times are numbers",
                ))
            }
            // Auto: epoch milliseconds are ≥ 1e11; anything smaller is seconds.
            (TimeUnit::Auto, false) => {
                if numeric.iter().any(|v| v.abs() >= 1e11) {
                    1.0
                } else {
                    1000.0
                }
            }
        };
        for iv in &mut raw {
            iv.start_ms *= factor;
            iv.end_ms *= factor;
        }
        raw.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
        Ok(Self {
            file,
            intervals: raw,
            seconds_guessed: opts.unit == TimeUnit::Auto && !iso && factor == 1000.0,
            hits: AtomicU64::new(0),
        })
    }

    /// The intervals that apply to one recording, sorted by start.
    pub fn for_recording(&self, subject: &str, recording: &str) -> Vec<Interval> {
        self.intervals
            .iter()
            .filter(|iv| {
                iv.subject.as_deref().is_none_or(|s| s == subject)
                    && iv.recording.as_deref().is_none_or(|r| r == recording)
            })
            .cloned()
            .collect()
    }

    /// Record that `n` grid rows were labelled.
    pub(crate) fn hit(&self, n: u64) {
        self.hits.fetch_add(n, Ordering::Relaxed);
    }

    /// Grid rows labelled so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Error when `unit = "auto"` read the intervals as seconds but they
    /// reach more than the data's length past its end (`data_span`, ms),
    /// while read as milliseconds they would lie within it (give or take a
    /// tenth of it and a second): relative milliseconds read as seconds.
    pub fn check_unit(&self, data_span: Option<(f64, f64)>) -> Result<()> {
        let (Some((a, b)), true) = (data_span, self.seconds_guessed) else {
            return Ok(());
        };
        let first = self
            .intervals
            .iter()
            .map(|i| i.start_ms)
            .fold(f64::MAX, f64::min);
        let last = self
            .intervals
            .iter()
            .map(|i| i.end_ms)
            .fold(f64::MIN, f64::max);
        let span = b - a;
        let slack = span / 10.0 + 1000.0;
        let beyond = last > b + span.max(1000.0);
        let fits_as_ms = first / 1000.0 >= a - slack && last / 1000.0 <= b + slack;
        if !(beyond && fits_as_ms) {
            return Ok(());
        }
        let none = if self.hits() == 0 {
            "no label interval overlaps the data: "
        } else {
            ""
        };
        Err(Error::data(
            Location::file(&self.file),
            format!(
                "{none}the interval times were read as seconds (unit auto: numbers below 1e11) and \
                 span {} .. {} s, but the data spans {} .. {} s; read as milliseconds they fit \
                 the data: set labels.unit = \"ms\" (--labels-unit ms)",
                first / 1000.0,
                last / 1000.0,
                a / 1000.0,
                b / 1000.0
            ),
        ))
    }

    /// Error unless some interval labelled some data.
    pub fn check_overlap(&self, data_span: Option<(f64, f64)>) -> Result<()> {
        if self.hits() > 0 {
            return Ok(());
        }
        let first = self.intervals.first().map(|i| i.start_ms).unwrap_or(0.0);
        let last = self
            .intervals
            .iter()
            .map(|i| i.end_ms)
            .fold(f64::MIN, f64::max);
        let data = match data_span {
            Some((a, b)) => format!("the data spans {a} .. {b} ms"),
            None => "there is no data".to_string(),
        };
        Err(Error::data(
            Location::file(&self.file),
            format!(
                "no label interval overlaps the data: intervals span {first} .. {last} ms, {data} \
                 (check the time unit and the recording / subject columns)"
            ),
        ))
    }
}

/// Labels grid rows of one recording from its intervals (rows come in
/// increasing time order).
#[derive(Debug)]
pub(crate) struct IntervalCursor {
    intervals: Vec<Interval>,
    pos: usize,
}

impl IntervalCursor {
    pub fn new(intervals: Vec<Interval>) -> Self {
        Self { intervals, pos: 0 }
    }

    /// The label at `t_ms`.
    pub fn at(&mut self, t_ms: f64) -> Option<Arc<str>> {
        while self.pos < self.intervals.len() && self.intervals[self.pos].end_ms <= t_ms {
            self.pos += 1;
        }
        // Overlapping intervals: the first one (by start) that contains t.
        self.intervals[self.pos..]
            .iter()
            .take_while(|iv| iv.start_ms <= t_ms)
            .find(|iv| t_ms < iv.end_ms)
            .map(|iv| iv.label.clone())
    }
}
