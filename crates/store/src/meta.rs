//! Store metadata and summaries.
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use wearlang_core::{ChannelSpec, LabelVocab, Normalisation, Split, SplitSpec};

/// The version of the store layout written by this crate: 2, where a window
/// stores only the time steps it does not share with the window before it.
/// Readers also read version 1 (every window whole, with a boolean mask)
/// and refuse any other.
pub const FORMAT_VERSION: u32 = 2;

/// The Parquet key-value metadata key under which [`StoreMeta`] is stored as
/// JSON.
pub const META_KEY: &str = "wearlang";

/// Metadata of a window store, saved as JSON in the Parquet footer under
/// [`META_KEY`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreMeta {
    /// Layout version ([`FORMAT_VERSION`] when written by this crate).
    pub format_version: u32,
    /// The channels, in the order of the values (time-major rows).
    pub channels: Vec<ChannelSpec>,
    /// Time steps per window.
    pub window_len: usize,
    /// Sampling rate of every window, in Hz.
    pub rate_hz: f64,
    /// Per-channel normalisation, fitted on the train split only.
    pub normalisation: Option<Normalisation>,
    /// Label vocabulary (class order).
    pub labels: LabelVocab,
    /// How windows were assigned to splits.
    pub split: Option<SplitSpec>,
    /// Where the data came from: an input path, or "synthetic".
    pub source: String,
    /// Caption variants present as columns `caption_<name>`.
    pub caption_columns: Vec<String>,
    /// Provenance: ingest or generator configuration, free form.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl StoreMeta {
    /// Metadata for windows of `window_len` steps of `channels` at `rate_hz`,
    /// with no normalisation, labels, split, captions or provenance yet.
    pub fn new(channels: Vec<ChannelSpec>, window_len: usize, rate_hz: f64) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            channels,
            window_len,
            rate_hz,
            normalisation: None,
            labels: LabelVocab::default(),
            split: None,
            source: String::new(),
            caption_columns: Vec::new(),
            extra: serde_json::Map::new(),
        }
    }

    /// Check what readers rely on: a positive window length and rate, a
    /// values-per-window count that fits, normalisation statistics with one
    /// finite mean and positive standard deviation per channel. Errors name
    /// the field.
    pub fn validate(&self) -> wearlang_core::Result<()> {
        use wearlang_core::Error;
        if self.channels.is_empty() {
            return Err(Error::param("channels", "no channels"));
        }
        if self.window_len == 0 || self.window_len.checked_mul(self.channels.len()).is_none() {
            return Err(Error::param(
                "window_len",
                format!(
                    "{} samples × {} channels",
                    self.window_len,
                    self.channels.len()
                ),
            ));
        }
        if !(self.rate_hz.is_finite() && self.rate_hz > 0.0) {
            return Err(Error::param(
                "rate_hz",
                format!("must be a positive number, got {}", self.rate_hz),
            ));
        }
        if let Some(n) = &self.normalisation {
            if n.mean.len() != self.channels.len() {
                return Err(Error::param(
                    "normalisation.mean",
                    format!(
                        "{} values for {} channels",
                        n.mean.len(),
                        self.channels.len()
                    ),
                ));
            }
            n.validate()?;
        }
        Ok(())
    }

    /// Number of values per window (`window_len * channels.len()`).
    pub fn values_per_window(&self) -> usize {
        self.window_len * self.channels.len()
    }

    /// The column name of caption variant `name` (`caption_<name>`).
    pub fn caption_column(name: &str) -> String {
        format!("caption_{name}")
    }
}

/// Counts over a whole store, as shown by `wearlang inspect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreSummary {
    /// Number of windows.
    pub windows: usize,
    /// Number of distinct subjects.
    pub subjects: usize,
    /// Number of distinct (subject, recording) pairs.
    pub recordings: usize,
    /// Windows per label (unlabelled windows are counted in `unlabelled`).
    pub label_counts: BTreeMap<String, usize>,
    /// Windows without a label.
    pub unlabelled: usize,
    /// Windows per split ("train", "val", "test").
    pub split_counts: BTreeMap<String, usize>,
    /// Sorted subjects of each split.
    pub subjects_per_split: BTreeMap<String, Vec<String>>,
    /// Fraction of all values that are missing.
    pub missing_fraction: f64,
    /// The channels.
    pub channels: Vec<ChannelSpec>,
    /// Sampling rate in Hz.
    pub rate_hz: f64,
    /// Time steps per window.
    pub window_len: usize,
}

/// Accumulates a [`StoreSummary`] one window at a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct SummaryBuilder {
    windows: usize,
    subjects: BTreeSet<String>,
    recordings: BTreeSet<(String, String)>,
    label_counts: BTreeMap<String, usize>,
    unlabelled: usize,
    split_counts: BTreeMap<String, usize>,
    subjects_per_split: BTreeMap<String, BTreeSet<String>>,
    missing_sum: f64,
}

impl SummaryBuilder {
    /// Count one window.
    pub(crate) fn add(
        &mut self,
        subject: &str,
        recording: &str,
        label: Option<&str>,
        split: Split,
        missing_fraction: f64,
    ) {
        self.windows += 1;
        if !self.subjects.contains(subject) {
            self.subjects.insert(subject.to_string());
        }
        self.recordings
            .insert((subject.to_string(), recording.to_string()));
        match label {
            Some(l) => *self.label_counts.entry(l.to_string()).or_default() += 1,
            None => self.unlabelled += 1,
        }
        *self
            .split_counts
            .entry(split.as_str().to_string())
            .or_default() += 1;
        self.subjects_per_split
            .entry(split.as_str().to_string())
            .or_default()
            .insert(subject.to_string());
        self.missing_sum += missing_fraction;
    }

    /// The summary, with the shape fields taken from `meta`.
    pub(crate) fn finish(self, meta: &StoreMeta) -> StoreSummary {
        StoreSummary {
            windows: self.windows,
            subjects: self.subjects.len(),
            recordings: self.recordings.len(),
            label_counts: self.label_counts,
            unlabelled: self.unlabelled,
            split_counts: self.split_counts,
            subjects_per_split: self
                .subjects_per_split
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
            missing_fraction: if self.windows == 0 {
                0.0
            } else {
                self.missing_sum / self.windows as f64
            },
            channels: meta.channels.clone(),
            rate_hz: meta.rate_hz,
            window_len: meta.window_len,
        }
    }
}
