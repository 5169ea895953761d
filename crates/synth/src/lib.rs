//! Seeded synthetic minute-level wearable days, for exercising captions and
//! AIM masking against known truth (the SensorLM / LSM-2 setting, for which
//! no open data set is available offline).
//!
//! Each day of each subject is one [`Window`] of 1440 minutes at 1/60 Hz
//! with five channels ([`channels`]): heart rate (bpm), steps (count/min),
//! sleep (1 = asleep), activity intensity (METs) and skin temperature (°C).
//! A day has
//!
//! - a circadian heart rate around the subject's resting level, lower at
//!   night;
//! - the end of last night's sleep in the morning and the start of tonight's
//!   in the evening (when bedtime falls before midnight), plus an optional
//!   afternoon nap: heart rate drops, steps are 0, temperature rises;
//! - labelled activity bouts (walking, running, cycling, strength training,
//!   swimming, yoga, hiking, elliptical; most ≥ 20 minutes, some shorter)
//!   that raise heart rate (with ramp-up and recovery), METs and, for
//!   ambulatory activities, steps;
//! - logged moods (instant events: happy, stressed, tired, calm, ...);
//! - missingness: non-wear and charging blocks (all channels NaN) and short
//!   per-channel dropouts, all masked.
//!
//! Ground truth is in `window.events` (activity / sleep / mood events in
//! seconds from midnight; naps are sleep events labelled "nap"), and in
//! [`DayTruth`] from [`generate_day_with_truth`]. The **day label** is the
//! dominant activity (most minutes; ties alphabetical), or `None` on a day
//! without activity bouts.
//!
//! A day depends only on (seed, subject, day) and the configuration, so days
//! can be generated in any order or in parallel with identical results.
//!
//! ```
//! use wearlang_synth::{generate_day, SynthConfig, HEART_RATE, MINUTES};
//!
//! let cfg = SynthConfig { subjects: 2, days: 3, seed: 7, ..SynthConfig::default() };
//! let day = generate_day(&cfg, 1, 2);
//! assert_eq!(day.len(), MINUTES);
//! let again = generate_day(&cfg, 1, 2);
//! let bits = |w: &wearlang_core::Window| w.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
//! assert_eq!(bits(&day), bits(&again));
//! assert_eq!(day.events, again.events);
//! assert!(day.observed(HEART_RATE).count() > 0);
//! ```

mod config;
mod day;

pub use config::{
    default_catalogue, ActivityConfig, ActivitySpec, MissingConfig, MoodConfig, SleepConfig,
    SynthConfig,
};
pub use day::{
    channels, dominant_activity, generate_day, generate_day_with_truth, recording_id, subject_id,
    Bout, DayTruth, Gap, GapKind, ACTIVITY_INTENSITY, CHANNELS, HEART_RATE, MINUTES, RATE_HZ,
    SKIN_TEMPERATURE, SLEEP, STEPS,
};

use rayon::prelude::*;
use std::path::Path;
use wearlang_core::{LabelVocab, NormAccumulator, Result, Split, SplitSpec, Window};
use wearlang_store::{StoreMeta, StoreSummary, StoreWriter};

/// Days generated (in parallel) and written per step of [`write_store`].
const CHUNK_DAYS: usize = 256;

/// All days of all subjects, subject-major (subject 0 day 0, day 1, ...),
/// generated in parallel; identical to generating them one by one.
pub fn generate(cfg: &SynthConfig) -> Vec<Window> {
    (0..cfg.subjects * cfg.days)
        .into_par_iter()
        .map(|i| generate_day(cfg, i / cfg.days, i % cfg.days))
        .collect()
}

/// The split of day `day` of `subject` under `split`, given the subject-wise
/// assignment (if any).
fn split_of(
    split: &SplitSpec,
    assigned: &std::collections::BTreeMap<String, Split>,
    cfg: &SynthConfig,
    subject: usize,
    day: usize,
) -> Result<Split> {
    if split.is_subject_wise() {
        Ok(assigned
            .get(&subject_id(subject))
            .copied()
            .unwrap_or(Split::Train))
    } else {
        split.assign_time((day as f64 + 0.5) / cfg.days as f64)
    }
}

/// Generate the data set of `cfg` into a window store at `path`, with splits
/// from `split` (subject-wise or time-wise by day), normalisation fitted on
/// the train split only, the activity vocabulary as labels, and the
/// generator configuration in `meta.extra["generator"]`. Streams in chunks
/// of days generated in parallel; the file appears atomically at the end.
pub fn write_store(
    cfg: &SynthConfig,
    path: impl AsRef<Path>,
    split: &SplitSpec,
) -> Result<StoreSummary> {
    cfg.validate()?;
    split.validate()?;
    let subjects: Vec<String> = (0..cfg.subjects).map(subject_id).collect();
    let assigned = if split.is_subject_wise() {
        split.assign_subjects(&subjects)?
    } else {
        Default::default()
    };
    let mut meta = StoreMeta::new(channels(), MINUTES, RATE_HZ);
    meta.labels = LabelVocab::sorted(cfg.activities.catalogue.iter().map(|a| a.name.clone()));
    meta.split = Some(split.clone());
    meta.source = "synthetic".to_string();
    let generator = serde_json::to_value(cfg)
        .map_err(|e| wearlang_core::Error::param("config", e.to_string()))?;
    meta.extra.insert("generator".into(), generator);
    meta.extra.insert(
        "generator_crate".into(),
        format!("wearlang-synth {}", env!("CARGO_PKG_VERSION")).into(),
    );
    let mut writer = StoreWriter::create(path, meta)?;
    let mut norm = NormAccumulator::new(CHANNELS);
    let mut train_windows = 0usize;
    let total = cfg.subjects * cfg.days;
    let mut next = 0;
    while next < total {
        let end = (next + CHUNK_DAYS).min(total);
        let mut chunk: Vec<Window> = (next..end)
            .into_par_iter()
            .map(|i| generate_day(cfg, i / cfg.days, i % cfg.days))
            .collect();
        for (k, w) in chunk.iter_mut().enumerate() {
            let i = next + k;
            w.split = split_of(split, &assigned, cfg, i / cfg.days, i % cfg.days)?;
            if w.split == Split::Train {
                norm.add(w);
                train_windows += 1;
            }
        }
        writer.write(&chunk)?;
        next = end;
    }
    writer.meta_mut().normalisation = (train_windows > 0).then(|| norm.finish());
    writer.finish()
}
