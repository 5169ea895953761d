//! Windows cut again from a store's windows, at another length or stride,
//! without re-ingesting the raw files.
//!
//! A store's windows of one subject, recording and split, in time order,
//! cover that recording's resampled samples (once each in layout 2; the
//! steps no stored window covers were dropped at ingest, as too missing or
//! of mixed labels). [`Rewindowed`] rebuilds that timeline as it streams the
//! source and cuts new windows from it: a window of `window_len` steps every
//! `stride` steps, counted from the first stored window of each run.
//!
//! - **Uncovered steps** (no stored window covers them): a new window that
//!   reaches into one is dropped by default ([`Uncovered::Drop`]), so that
//!   every window kept is the one a new ingest would give; with
//!   [`Uncovered::Missing`] it is kept with those steps missing (NaN). A new
//!   window is dropped when more than `max_missing` of its values are
//!   missing, and always when all are (as ingest does).
//! - **Labels**: each covered step takes the label of the stored windows
//!   covering it; two stored windows that disagree on a step make it
//!   conflicting. A new window whose covered steps all share one label (or
//!   are all unlabelled) takes it; otherwise it is mixed and `mixed` decides
//!   (drop, majority of the covered steps, or keep unlabelled), as ingest's
//!   `window.mixed_labels` does. This is exact for stores ingested with the
//!   default `drop` (or `keep-unlabelled`) policy, where every labelled
//!   window is pure; a store ingested with `majority` holds windows whose
//!   label is not every step's.
//! - A run is a sequence of consecutive windows of one subject, recording
//!   and split whose starts lie on one grid of the store's rate and do not
//!   go back in time; windows are never cut across runs.
//! - Captions are not carried over (a new window needs its own: run
//!   `wearlang caption` on the result); synthetic ground-truth events are,
//!   clipped to the new window.
//!
//! Memory is bounded by one new window plus one stored window per run,
//! whatever the gaps between windows.
//!
//! ```
//! use wearlang_core::{ChannelKind, ChannelSpec, Window};
//! use wearlang_store::{MemorySource, ReadOptions, Rewindow, Rewindowed, StoreMeta, WindowSource};
//!
//! // One recording of 12 steps at 1 Hz, stored as windows of 4 steps every 4.
//! let meta = StoreMeta::new(vec![ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate)], 4, 1.0);
//! let stored: Vec<Window> = (0..3)
//!     .map(|i| {
//!         let v = (0..4).map(|t| (4 * i + t) as f32).collect();
//!         Window::from_values("s", "r", 4000 * i as i64, 1.0, 1, v).unwrap()
//!     })
//!     .collect();
//! let source = MemorySource::new("stored", meta, stored).unwrap();
//! // Cut windows of 6 steps every 3 steps instead.
//! let spec = Rewindow { window_len: 6, stride: 3, ..Rewindow::default() };
//! let cut = Rewindowed::new(source, spec).unwrap();
//! let windows = cut.read_all(ReadOptions::default()).unwrap();
//! assert_eq!(windows.len(), 3);
//! assert_eq!(windows[1].start_ms, 3000);
//! assert_eq!(windows[1].values, [3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
//! ```

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
pub use wearlang_core::MixedLabels;
use wearlang_core::{Error, Event, Result, Split, Window};

use crate::{
    ReadOptions, StoreMeta, StoreReader, StoreSummary, StoreWriter, WindowBatchIter, WindowSource,
    DEFAULT_BATCH_SIZE,
};

/// What to do with a new window that reaches into steps no stored window
/// covers (dropped at ingest as too missing or of mixed labels, or past a
/// recording's last window).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Uncovered {
    /// Drop it (default): every window kept is then the window ingesting
    /// the raw files again would give (same values, label and split),
    /// since its steps' labels are all known.
    #[default]
    Drop,
    /// Keep it with those steps missing (NaN), subject to `max_missing`,
    /// labelled from its covered steps: the steps it lacks may have carried
    /// another label (a window across an activity change).
    Missing,
}

impl Uncovered {
    /// Parse `drop` or `missing`.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "drop" => Ok(Self::Drop),
            "missing" => Ok(Self::Missing),
            other => Err(Error::param(
                "uncovered",
                format!("unknown policy '{other}' (expected drop or missing)"),
            )),
        }
    }
}

/// How to cut windows again: length and stride in steps of the store's
/// rate, and which windows to keep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rewindow {
    /// Steps per new window.
    pub window_len: usize,
    /// Steps between the starts of consecutive new windows.
    pub stride: usize,
    /// Largest fraction of missing values a kept window may have (a window
    /// with no observed value is always dropped).
    pub max_missing: f64,
    /// Mixed-label windows.
    pub mixed: MixedLabels,
    /// Windows that reach into steps no stored window covers.
    pub uncovered: Uncovered,
}

impl Default for Rewindow {
    /// 1 step long, 1 step apart (set both), any missing fraction but all,
    /// mixed labels and windows reaching into uncovered steps dropped.
    fn default() -> Self {
        Self {
            window_len: 1,
            stride: 1,
            max_missing: 1.0,
            mixed: MixedLabels::Drop,
            uncovered: Uncovered::Drop,
        }
    }
}

impl Rewindow {
    /// Length and stride given in seconds at `rate_hz`: each must be a
    /// whole number of steps (within 1 %), naming the field when not.
    pub fn from_seconds(window_s: f64, stride_s: f64, rate_hz: f64) -> Result<Self> {
        let steps = |field: &str, s: f64| -> Result<usize> {
            let x = s * rate_hz;
            let n = x.round();
            if !(x.is_finite() && n >= 1.0 && (x - n).abs() <= 0.01) {
                return Err(Error::param(
                    field,
                    format!(
                        "{s} s at {rate_hz} Hz is {} steps, not a positive whole number",
                        (x * 1000.0).round() / 1000.0
                    ),
                ));
            }
            Ok(n as usize)
        };
        Ok(Self {
            window_len: steps("window_s", window_s)?,
            stride: steps("stride_s", stride_s)?,
            ..Self::default()
        })
    }

    /// Check the settings, naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        if self.window_len == 0 {
            return Err(Error::param("window_len", "must be at least 1 step"));
        }
        if self.stride == 0 {
            return Err(Error::param("stride", "must be at least 1 step"));
        }
        if !(self.max_missing.is_finite() && (0.0..=1.0).contains(&self.max_missing)) {
            return Err(Error::param(
                "max_missing",
                format!("must be in [0, 1], got {}", self.max_missing),
            ));
        }
        Ok(())
    }
}

/// A [`WindowSource`] whose windows are cut again from another source's
/// (see the module documentation). Its metadata is the source's with the
/// new window length, no caption columns, and the settings recorded under
/// `extra["rewindow"]`; normalisation statistics are the source's (fitted
/// on its training windows).
pub struct Rewindowed<S> {
    inner: S,
    spec: Rewindow,
    meta: StoreMeta,
    count: usize,
}

impl<S: WindowSource> Rewindowed<S> {
    /// Cut `inner`'s windows as `spec` says. Reads the source once to count
    /// the new windows (and so finds a corrupt source here).
    pub fn new(inner: S, spec: Rewindow) -> Result<Self> {
        let meta = cut_meta(&inner, &spec)?;
        let mut count = 0;
        for batch in cut(&inner, &spec, &meta, ReadOptions::default())? {
            count += batch?.len();
        }
        Ok(Rewindowed {
            inner,
            spec,
            meta,
            count,
        })
    }

    /// The source the windows are cut from.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The settings.
    pub fn spec(&self) -> &Rewindow {
        &self.spec
    }
}

impl<S: WindowSource> WindowSource for Rewindowed<S> {
    fn name(&self) -> String {
        format!(
            "{} (cut again: {} steps every {})",
            self.inner.name(),
            self.spec.window_len,
            self.spec.stride
        )
    }

    fn meta(&self) -> &StoreMeta {
        &self.meta
    }

    fn num_windows(&self) -> usize {
        self.count
    }

    fn batches(&self, opts: ReadOptions) -> Result<WindowBatchIter<'_>> {
        cut(&self.inner, &self.spec, &self.meta, opts)
    }
}

/// The metadata of `inner` cut again as `spec` says (see [`Rewindowed`]).
fn cut_meta(inner: &dyn WindowSource, spec: &Rewindow) -> Result<StoreMeta> {
    spec.validate()?;
    let mut meta = inner.meta().clone();
    meta.window_len = spec.window_len;
    meta.caption_columns.clear();
    meta.extra.insert(
        "rewindow".into(),
        serde_json::json!({
            "from": inner.name(),
            "from_window_len": inner.meta().window_len,
            "window_len": spec.window_len,
            "stride": spec.stride,
            "max_missing": spec.max_missing,
            "mixed_labels": spec.mixed,
            "uncovered": spec.uncovered,
        }),
    );
    Ok(meta)
}

/// The windows of `inner` cut again as `spec` says, in batches (`meta`:
/// [`cut_meta`]'s).
fn cut<'a>(
    inner: &'a dyn WindowSource,
    spec: &Rewindow,
    meta: &StoreMeta,
    opts: ReadOptions,
) -> Result<WindowBatchIter<'a>> {
    // Runs break on a split change, so the source is read whole and the
    // new windows filtered: a window never sees another split's steps.
    let mut cutter = Cutter::new(
        spec.clone(),
        inner.meta().window_len,
        meta.channels.len(),
        meta.rate_hz,
        inner.name(),
    );
    let stream = inner.batches(ReadOptions {
        batch_size: 0,
        split: None,
        normalise: opts.normalise,
    })?;
    let size = if opts.batch_size == 0 {
        DEFAULT_BATCH_SIZE
    } else {
        opts.batch_size
    };
    let mut inner = Some(stream);
    let mut pending: VecDeque<Window> = VecDeque::new();
    let mut seen = 0usize;
    Ok(Box::new(std::iter::from_fn(move || {
        while pending.len() < size {
            let Some(it) = inner.as_mut() else { break };
            match it.next() {
                Some(Ok(batch)) => {
                    for w in batch {
                        if let Err(e) = cutter.push(w, seen, &mut pending) {
                            inner = None;
                            return Some(Err(e));
                        }
                        seen += 1;
                    }
                }
                Some(Err(e)) => {
                    inner = None;
                    return Some(Err(e));
                }
                None => {
                    inner = None;
                    cutter.flush(&mut pending);
                }
            }
            if let Some(split) = opts.split {
                pending.retain(|w| w.split == split);
            }
        }
        if pending.is_empty() {
            return None;
        }
        let n = size.min(pending.len());
        Some(Ok(pending.drain(..n).collect()))
    })))
}

/// Write the windows of the store at `src` cut again as `spec` says to a
/// new store at `dst` (layout 2, atomic: on any error `dst` is untouched),
/// with normalisation statistics fitted again on its training windows (as
/// ingest fits them; the source's when it has none) and the source's label
/// vocabulary. The source is read to the end before the new file replaces
/// `dst`, so `dst` may be `src`.
pub fn write_rewindowed(
    src: &std::path::Path,
    dst: &std::path::Path,
    spec: Rewindow,
) -> Result<StoreSummary> {
    // Read once: no count first, as `Rewindowed::new` makes.
    let reader = StoreReader::open(src)?;
    let meta = cut_meta(&reader, &spec)?;
    let channels = meta.channels.len();
    let mut writer = StoreWriter::create(dst, meta.clone())?;
    let mut acc = wearlang_core::NormAccumulator::new(channels);
    let mut train = 0usize;
    for batch in cut(&reader, &spec, &meta, ReadOptions::default())? {
        let batch = batch?;
        for w in batch.iter().filter(|w| w.split == Split::Train) {
            acc.add(w);
            train += 1;
        }
        writer.write(&batch)?;
    }
    if train > 0 {
        writer.meta_mut().normalisation = Some(acc.finish());
    }
    writer.finish()
}

/// What is known of one step's label.
#[derive(Clone, Copy, Debug, PartialEq)]
enum StepLabel {
    /// No stored window covers the step.
    Unknown,
    /// Covered; the label (an index into [`Cutter::names`]) or none.
    Known(Option<usize>),
    /// Covered by stored windows of different labels.
    Conflict,
}

/// The timeline of the current run, from the next new window's start on.
struct Run {
    subject: String,
    recording: String,
    split: Split,
    /// Start of the run's first stored window, in ms.
    origin_ms: i64,
    /// Step of the last stored window pushed (starts may not go back).
    last_start: usize,
    /// Step index (from the origin) of the first buffered step.
    base: usize,
    /// Buffered values, `channels` per step.
    values: VecDeque<f32>,
    /// Buffered step labels.
    labels: VecDeque<StepLabel>,
    /// Events, seconds from the origin.
    events: Vec<Event>,
    /// Start step of the next new window.
    next: usize,
    /// End of the steps stored windows cover so far (steps after it are
    /// uncovered until the next stored window).
    covered_end: usize,
}

impl Run {
    fn end(&self) -> usize {
        self.base + self.labels.len()
    }
}

/// Cuts new windows from stored ones as they stream past.
struct Cutter {
    spec: Rewindow,
    in_len: usize,
    channels: usize,
    rate: f64,
    source: String,
    /// Label names seen (step labels index into it).
    names: Vec<String>,
    run: Option<Run>,
}

impl Cutter {
    fn new(spec: Rewindow, in_len: usize, channels: usize, rate: f64, source: String) -> Self {
        Self {
            spec,
            in_len,
            channels,
            rate,
            source,
            names: Vec::new(),
            run: None,
        }
    }

    fn label_index(&mut self, label: &Option<String>) -> Option<usize> {
        let l = label.as_ref()?;
        Some(match self.names.iter().position(|n| n == l) {
            Some(i) => i,
            None => {
                self.names.push(l.clone());
                self.names.len() - 1
            }
        })
    }

    /// The step of a window starting at `start_ms` in `run`, if it lies on
    /// the run's grid (within 1 ms: starts are whole milliseconds) and not
    /// before the run's last window.
    fn step_in(&self, run: &Run, start_ms: i64) -> Option<usize> {
        let offset = (start_ms - run.origin_ms) as f64;
        let k = (offset * self.rate / 1000.0).round();
        if k < 0.0 || (k * 1000.0 / self.rate - offset).abs() > 1.0 + 1e-9 {
            return None;
        }
        let k = k as usize;
        (k >= run.last_start).then_some(k)
    }

    /// Add stored window `w` (the `index`-th of the source), emitting every
    /// new window completed before it into `out`.
    fn push(&mut self, w: Window, index: usize, out: &mut VecDeque<Window>) -> Result<()> {
        let c = self.channels;
        if w.values.len() != self.in_len * c {
            return Err(Error::param(
                "windows",
                format!(
                    "{}: window {index} (subject {}, recording {}, start {} ms) has {} values, \
                     the store says {} steps × {c} channels",
                    self.source,
                    w.subject,
                    w.recording,
                    w.start_ms,
                    w.values.len(),
                    self.in_len
                ),
            ));
        }
        let same_run = self.run.as_ref().and_then(|r| {
            (r.subject == w.subject && r.recording == w.recording && r.split == w.split)
                .then(|| self.step_in(r, w.start_ms))
                .flatten()
        });
        let k = match same_run {
            Some(k) => k,
            None => {
                self.flush(out);
                self.run = Some(Run {
                    subject: w.subject.clone(),
                    recording: w.recording.clone(),
                    split: w.split,
                    origin_ms: w.start_ms,
                    last_start: 0,
                    base: 0,
                    values: VecDeque::new(),
                    labels: VecDeque::new(),
                    events: Vec::new(),
                    next: 0,
                    covered_end: 0,
                });
                0
            }
        };
        self.advance(k, out);
        let label = StepLabel::Known(self.label_index(&w.label));
        let run = self.run.as_mut().expect("a run was just ensured");
        run.last_start = k;
        run.covered_end = run.covered_end.max(k + self.in_len);
        // Steps [k, end) are buffered already (k ≥ base after advance).
        let end = run.end();
        for t in 0..self.in_len {
            let step = k + t;
            if step < end {
                let i = step - run.base;
                match run.labels[i] {
                    StepLabel::Unknown => {
                        run.labels[i] = label;
                        for (j, v) in w.values[t * c..(t + 1) * c].iter().enumerate() {
                            run.values[i * c + j] = *v;
                        }
                    }
                    StepLabel::Known(_) if run.labels[i] != label => {
                        run.labels[i] = StepLabel::Conflict
                    }
                    _ => {}
                }
            } else {
                run.labels.push_back(label);
                run.values.extend(&w.values[t * c..(t + 1) * c]);
            }
        }
        let offset_s = k as f64 / self.rate;
        let touch = 0.5 / self.rate;
        for e in &w.events {
            let (a, b) = (e.start_s + offset_s, e.end_s + offset_s);
            // The same event seen clipped by several stored windows: one
            // event over their union.
            match run.events.iter_mut().find(|x| {
                x.kind == e.kind
                    && x.label == e.label
                    && a <= x.end_s + touch
                    && x.start_s <= b + touch
            }) {
                Some(x) => {
                    x.start_s = x.start_s.min(a);
                    x.end_s = x.end_s.max(b);
                }
                None => run.events.push(Event {
                    start_s: a,
                    end_s: b,
                    ..e.clone()
                }),
            }
        }
        Ok(())
    }

    /// Emit every new window that ends by step `k`, where the next stored
    /// window starts (steps before `k` are final: later stored windows start
    /// at `k` or after), filling uncovered steps as missing, and drop the
    /// buffered steps no later window needs.
    fn advance(&mut self, k: usize, out: &mut VecDeque<Window>) {
        let (len, stride) = (self.spec.window_len, self.spec.stride);
        let c = self.channels;
        loop {
            let run = self.run.as_mut().expect("advance needs a run");
            let s = run.next;
            if s + len > k {
                break;
            }
            if s >= run.covered_end {
                // Wholly uncovered: skip to the first window that reaches
                // step k.
                let first = (k + 1).saturating_sub(len);
                run.next = s + first.saturating_sub(s).div_ceil(stride) * stride;
                continue;
            }
            while run.end() < s + len {
                run.labels.push_back(StepLabel::Unknown);
                run.values.extend(std::iter::repeat_n(f32::NAN, c));
            }
            self.emit(s, out);
            self.run.as_mut().expect("advance needs a run").next += stride;
        }
        let run = self.run.as_mut().expect("advance needs a run");
        // Nothing before the next window's start is needed again.
        let keep_from = run.next.min(k);
        if keep_from > run.base {
            let drop = (keep_from - run.base).min(run.labels.len());
            run.labels.drain(..drop);
            run.values.drain(..drop * c);
            run.base += drop;
            if run.labels.is_empty() {
                run.base = keep_from;
            }
        }
        while run.end() < k {
            run.labels.push_back(StepLabel::Unknown);
            run.values.extend(std::iter::repeat_n(f32::NAN, c));
        }
        let horizon = run.base as f64 / self.rate;
        run.events.retain(|e| e.end_s >= horizon);
    }

    /// Emit every new window that fits in the current run, and end it.
    fn flush(&mut self, out: &mut VecDeque<Window>) {
        let Some(run) = self.run.as_ref() else { return };
        let (len, stride) = (self.spec.window_len, self.spec.stride);
        let mut s = run.next;
        while s + len <= run.end() {
            self.emit(s, out);
            s += stride;
        }
        self.run = None;
    }

    /// Cut the new window starting at step `s` (buffered whole) into `out`
    /// if it passes the missing and label rules.
    fn emit(&self, s: usize, out: &mut VecDeque<Window>) {
        let run = self.run.as_ref().expect("emit needs a run");
        let (len, c) = (self.spec.window_len, self.channels);
        let i = s - run.base;
        if self.spec.uncovered == Uncovered::Drop
            && run
                .labels
                .range(i..i + len)
                .any(|l| *l == StepLabel::Unknown)
        {
            return;
        }
        let values: Vec<f32> = run.values.range(i * c..(i + len) * c).copied().collect();
        let missing = values.iter().filter(|v| v.is_nan()).count() as f64 / values.len() as f64;
        if missing >= 1.0 || missing > self.spec.max_missing {
            return;
        }
        let Some(label) = self.label_of(run.labels.range(i..i + len)) else {
            return;
        };
        let start_s = s as f64 / self.rate;
        let start_ms = run.origin_ms + (start_s * 1000.0).round() as i64;
        let mut w = Window {
            subject: run.subject.clone(),
            recording: run.recording.clone(),
            start_ms,
            rate_hz: self.rate,
            channels: c,
            missing: values.iter().map(|v| v.is_nan()).collect(),
            values,
            label: label.map(|l| self.names[l].clone()),
            split: run.split,
            events: Vec::new(),
            captions: Default::default(),
        };
        let end_s = len as f64 / self.rate;
        for e in &run.events {
            let (a, b) = (e.start_s - start_s, e.end_s - start_s);
            if a < end_s && (a >= 0.0 || b > 0.0) {
                let mut e = e.clone();
                e.start_s = a.max(0.0);
                e.end_s = b.min(end_s);
                w.events.push(e);
            }
        }
        out.push_back(w);
    }

    /// The label of a new window from its steps' (`None`: drop it).
    fn label_of<'a>(&self, steps: impl Iterator<Item = &'a StepLabel>) -> Option<Option<usize>> {
        let mut counts: Vec<(Option<usize>, usize)> = Vec::new();
        let mut conflict = false;
        for l in steps {
            match *l {
                StepLabel::Unknown => {}
                StepLabel::Conflict => conflict = true,
                StepLabel::Known(k) => match counts.iter_mut().find(|(x, _)| *x == k) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((k, 1)),
                },
            }
        }
        if let ([(only, _)], false) = (counts.as_slice(), conflict) {
            return Some(*only);
        }
        match self.spec.mixed {
            MixedLabels::Drop => None,
            MixedLabels::KeepUnlabelled => Some(None),
            MixedLabels::Majority => {
                let best = counts.iter().map(|(_, n)| *n).max()?;
                counts.iter().find(|(_, n)| *n == best).map(|(l, _)| *l)
            }
        }
    }
}
