//! Fixed-length multichannel windows with missingness masks.
use crate::{Error, Event, Location, Result, Split};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A window of `len()` time steps × `channels` channels of one recording.
///
/// `values` is time-major (`values[t * channels + c]`); `missing` has the same
/// layout and is `true` exactly where the value is not observed (stored as NaN
/// in `values`). Values are in the units of the channel specs (raw, not
/// normalised); normalisation is applied when a store is read for training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Subject (participant) identifier.
    pub subject: String,
    /// Recording (session, day) identifier, unique within a store.
    pub recording: String,
    /// Start time in milliseconds (epoch, or from the start of the recording
    /// when the source has no absolute time).
    pub start_ms: i64,
    /// Sampling rate in Hz.
    pub rate_hz: f64,
    /// Number of channels.
    pub channels: usize,
    /// Values, time-major; NaN where missing.
    pub values: Vec<f32>,
    /// Missingness mask, same layout as `values`; `true` = missing.
    pub missing: Vec<bool>,
    /// Class label, if labelled.
    pub label: Option<String>,
    /// Split.
    pub split: Split,
    /// Ground-truth events inside the window (synthetic data), in seconds
    /// from the window start.
    pub events: Vec<Event>,
    /// Captions by variant name, filled in by the captioning crate.
    pub captions: BTreeMap<String, String>,
}

impl Window {
    /// A window from time-major values; NaN marks a missing value, infinities
    /// are an error. The split defaults to [`Split::Train`].
    pub fn from_values(
        subject: impl Into<String>,
        recording: impl Into<String>,
        start_ms: i64,
        rate_hz: f64,
        channels: usize,
        values: Vec<f32>,
    ) -> Result<Self> {
        if channels == 0 || !values.len().is_multiple_of(channels) {
            return Err(Error::Shape(format!(
                "{} values do not form rows of {channels} channels",
                values.len()
            )));
        }
        if !(rate_hz.is_finite() && rate_hz > 0.0) {
            return Err(Error::param(
                "rate_hz",
                format!("must be > 0, got {rate_hz}"),
            ));
        }
        // A branch-free scan first (it vectorises); the position only on error.
        let any_infinite = values.iter().fold(false, |a, v| a | v.is_infinite());
        if let Some(i) = any_infinite
            .then(|| values.iter().position(|v| v.is_infinite()))
            .flatten()
        {
            return Err(Error::data(
                Location::default().row(1 + (i / channels) as u64),
                format!("infinite value in channel {}", i % channels),
            ));
        }
        let missing = values.iter().map(|v| v.is_nan()).collect();
        Ok(Self {
            subject: subject.into(),
            recording: recording.into(),
            start_ms,
            rate_hz,
            channels,
            values,
            missing,
            label: None,
            split: Split::Train,
            events: Vec::new(),
            captions: BTreeMap::new(),
        })
    }

    /// Number of time steps.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.channels).unwrap_or(0)
    }

    /// True when the window has no time steps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.len() as f64 / self.rate_hz
    }

    /// Fraction of values that are missing.
    pub fn missing_fraction(&self) -> f64 {
        if self.missing.is_empty() {
            return 0.0;
        }
        self.missing.iter().filter(|&&m| m).count() as f64 / self.missing.len() as f64
    }

    /// The values of channel `c` over time (NaN where missing).
    pub fn channel(&self, c: usize) -> impl Iterator<Item = f32> + '_ {
        self.values
            .iter()
            .skip(c)
            .step_by(self.channels.max(1))
            .copied()
    }

    /// The observed values of channel `c`.
    pub fn observed(&self, c: usize) -> impl Iterator<Item = f32> + '_ {
        self.values
            .iter()
            .zip(&self.missing)
            .skip(c)
            .step_by(self.channels.max(1))
            .filter(|(_, &m)| !m)
            .map(|(&v, _)| v)
    }

    /// Check the internal consistency (shape, mask agrees with NaN).
    pub fn validate(&self) -> Result<()> {
        if self.channels == 0 || !self.values.len().is_multiple_of(self.channels) {
            return Err(Error::Shape(format!(
                "window {}/{}: {} values, {} channels",
                self.subject,
                self.recording,
                self.values.len(),
                self.channels
            )));
        }
        if self.missing.len() != self.values.len() {
            return Err(Error::Shape(format!(
                "window {}/{}: mask has {} entries for {} values",
                self.subject,
                self.recording,
                self.missing.len(),
                self.values.len()
            )));
        }
        let disagree = |(v, &m): (&f32, &bool)| v.is_nan() != m;
        let any = self
            .values
            .iter()
            .zip(&self.missing)
            .fold(false, |a, vm| a | disagree(vm));
        if let Some(i) = any
            .then(|| self.values.iter().zip(&self.missing).position(disagree))
            .flatten()
        {
            return Err(Error::Shape(format!(
                "window {}/{}: value {i} and its mask disagree",
                self.subject, self.recording
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_follows_nan_and_infinity_is_rejected() {
        let w = Window::from_values(
            "s",
            "r",
            0,
            50.0,
            3,
            vec![1.0, f32::NAN, 3.0, 4.0, 5.0, 6.0],
        )
        .unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w.missing, vec![false, true, false, false, false, false]);
        assert_eq!(w.observed(1).collect::<Vec<_>>(), vec![5.0]);
        assert_eq!(w.channel(2).collect::<Vec<_>>(), vec![3.0, 6.0]);
        assert!((w.duration_s() - 0.04).abs() < 1e-12);
        w.validate().unwrap();
        assert!(Window::from_values("s", "r", 0, 50.0, 3, vec![1.0, f32::INFINITY, 3.0]).is_err());
        assert!(Window::from_values("s", "r", 0, 50.0, 2, vec![1.0, 2.0, 3.0]).is_err());
        assert!(Window::from_values("s", "r", 0, 0.0, 1, vec![1.0]).is_err());
    }
}
