//! Generator configuration.
use serde::{Deserialize, Serialize};
use wearlang_core::{Error, Result};

/// Everything that shapes the synthetic data. Every field has a default, so
/// a TOML or JSON file only needs the fields it changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SynthConfig {
    /// Number of subjects.
    pub subjects: usize,
    /// Days per subject (one window per day).
    pub days: usize,
    /// Seed; the data depend only on (seed, subject, day) and the settings.
    pub seed: u64,
    /// Sleep settings.
    pub sleep: SleepConfig,
    /// Activity bouts.
    pub activities: ActivityConfig,
    /// Logged moods.
    pub moods: MoodConfig,
    /// Missingness (non-wear, charging, dropouts).
    pub missing: MissingConfig,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            subjects: 10,
            days: 7,
            seed: 0,
            sleep: SleepConfig::default(),
            activities: ActivityConfig::default(),
            moods: MoodConfig::default(),
            missing: MissingConfig::default(),
        }
    }
}

/// Main night sleep and naps. Times are minutes from midnight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SleepConfig {
    /// Mean bedtime, minutes relative to midnight (negative: the evening
    /// before, e.g. -60 = 23:00).
    pub bedtime_mean_min: f64,
    /// Standard deviation of the bedtime (minutes).
    pub bedtime_std_min: f64,
    /// Mean night sleep duration (minutes).
    pub duration_mean_min: f64,
    /// Standard deviation of the night sleep duration (minutes).
    pub duration_std_min: f64,
    /// Probability of an afternoon nap.
    pub nap_prob: f64,
    /// Shortest nap (minutes).
    pub nap_min_len: u32,
    /// Longest nap (minutes).
    pub nap_max_len: u32,
}

impl Default for SleepConfig {
    fn default() -> Self {
        Self {
            bedtime_mean_min: -60.0,
            bedtime_std_min: 45.0,
            duration_mean_min: 450.0,
            duration_std_min: 50.0,
            nap_prob: 0.15,
            nap_min_len: 20,
            nap_max_len: 90,
        }
    }
}

/// One kind of activity bout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivitySpec {
    /// Label ("walking", "running", ...).
    pub name: String,
    /// Relative frequency.
    pub weight: f64,
    /// Shortest bout (minutes).
    pub min_minutes: u32,
    /// Longest bout (minutes).
    pub max_minutes: u32,
    /// Typical intensity in METs.
    pub mets: f64,
    /// Heart-rate increase over the resting level at full effort (bpm).
    pub hr_increase: f64,
    /// Steps per minute (0 for non-ambulatory activities).
    pub steps_per_min: f64,
}

impl ActivitySpec {
    fn new(
        name: &str,
        weight: f64,
        minutes: (u32, u32),
        mets: f64,
        hr_increase: f64,
        steps_per_min: f64,
    ) -> Self {
        Self {
            name: name.to_string(),
            weight,
            min_minutes: minutes.0,
            max_minutes: minutes.1,
            mets,
            hr_increase,
            steps_per_min,
        }
    }
}

/// Activity bouts per day and the catalogue they are drawn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityConfig {
    /// Mean number of bouts per day (Poisson).
    pub bouts_per_day: f64,
    /// At most this many bouts per day.
    pub max_bouts: usize,
    /// Minutes kept free between two bouts, and between a bout and sleep.
    pub gap_min: u32,
    /// The activities.
    pub catalogue: Vec<ActivitySpec>,
}

impl Default for ActivityConfig {
    fn default() -> Self {
        Self {
            bouts_per_day: 1.8,
            max_bouts: 5,
            gap_min: 15,
            catalogue: default_catalogue(),
        }
    }
}

/// The default activity catalogue: name, weight, duration range, METs, heart
/// rate increase and cadence. Durations are mostly ≥ 20 minutes; walking and
/// strength training also produce shorter bouts.
pub fn default_catalogue() -> Vec<ActivitySpec> {
    vec![
        ActivitySpec::new("walking", 3.0, (8, 60), 3.5, 25.0, 105.0),
        ActivitySpec::new("running", 1.5, (15, 60), 9.5, 70.0, 160.0),
        ActivitySpec::new("cycling", 1.2, (20, 90), 7.0, 50.0, 0.0),
        ActivitySpec::new("strength training", 1.0, (10, 60), 5.0, 35.0, 8.0),
        ActivitySpec::new("swimming", 0.5, (20, 60), 7.0, 45.0, 0.0),
        ActivitySpec::new("yoga", 0.7, (15, 75), 2.5, 12.0, 4.0),
        ActivitySpec::new("hiking", 0.5, (60, 180), 6.0, 45.0, 110.0),
        ActivitySpec::new("elliptical", 0.4, (20, 45), 5.5, 45.0, 130.0),
    ]
}

/// Logged moods (instantaneous events while awake).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MoodConfig {
    /// Mean number of logged moods per day (Poisson).
    pub per_day: f64,
    /// The moods.
    pub labels: Vec<String>,
}

impl Default for MoodConfig {
    fn default() -> Self {
        Self {
            per_day: 2.0,
            labels: ["happy", "stressed", "tired", "calm", "energetic", "anxious"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// Missingness. Non-wear and charging blank all channels; dropouts blank one
/// channel. Setting the probabilities and the rate to 0 gives complete data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MissingConfig {
    /// Probability of a non-wear block on a day (a second one with half of
    /// that probability).
    pub nonwear_prob: f64,
    /// Shortest non-wear block (minutes).
    pub nonwear_min_len: u32,
    /// Longest non-wear block (minutes).
    pub nonwear_max_len: u32,
    /// Probability of a charging block on a day.
    pub charging_prob: f64,
    /// Shortest charging block (minutes).
    pub charging_min_len: u32,
    /// Longest charging block (minutes).
    pub charging_max_len: u32,
    /// Probability per channel and minute that a dropout starts.
    pub dropout_rate: f64,
    /// Longest dropout (minutes).
    pub dropout_max_len: u32,
}

impl Default for MissingConfig {
    fn default() -> Self {
        Self {
            nonwear_prob: 0.3,
            nonwear_min_len: 30,
            nonwear_max_len: 180,
            charging_prob: 0.5,
            charging_min_len: 30,
            charging_max_len: 90,
            dropout_rate: 0.002,
            dropout_max_len: 10,
        }
    }
}

impl MissingConfig {
    /// No missingness at all.
    pub fn none() -> Self {
        Self {
            nonwear_prob: 0.0,
            charging_prob: 0.0,
            dropout_rate: 0.0,
            ..Self::default()
        }
    }
}

fn prob(name: &str, p: f64) -> Result<()> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::param(
            name,
            format!("must be a probability in [0, 1], got {p}"),
        ))
    }
}

fn range(name: &str, lo: u32, hi: u32, max: u32) -> Result<()> {
    if lo == 0 || lo > hi || hi > max {
        Err(Error::param(
            name,
            format!("need 1 ≤ min ≤ max ≤ {max} minutes, got {lo}..{hi}"),
        ))
    } else {
        Ok(())
    }
}

fn non_negative(name: &str, x: f64) -> Result<()> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(Error::param(
            name,
            format!("must be finite and ≥ 0, got {x}"),
        ))
    }
}

impl SynthConfig {
    /// Read a TOML file with the fields of `SynthConfig` (not validated:
    /// callers may override settings first; [`crate::write_store`]
    /// validates). Errors name the file.
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text)
            .map_err(|e| Error::data(wearlang_core::Location::file(path), e.to_string()))
    }

    /// Check every setting; [`crate::write_store`] calls this first.
    /// (`generate_day` clamps out-of-range settings instead of failing.)
    pub fn validate(&self) -> Result<()> {
        if self.subjects == 0 || self.days == 0 {
            return Err(Error::param(
                "subjects/days",
                "need at least one subject and one day",
            ));
        }
        let s = &self.sleep;
        if !s.bedtime_mean_min.is_finite() || !(-360.0..=240.0).contains(&s.bedtime_mean_min) {
            return Err(Error::param(
                "sleep.bedtime_mean_min",
                "must lie between -360 (18:00) and 240 (04:00)",
            ));
        }
        non_negative("sleep.bedtime_std_min", s.bedtime_std_min)?;
        if !(s.duration_mean_min.is_finite() && (60.0..=900.0).contains(&s.duration_mean_min)) {
            return Err(Error::param(
                "sleep.duration_mean_min",
                "must lie between 60 and 900 minutes",
            ));
        }
        non_negative("sleep.duration_std_min", s.duration_std_min)?;
        prob("sleep.nap_prob", s.nap_prob)?;
        range("sleep.nap_*_len", s.nap_min_len, s.nap_max_len, 180)?;
        let a = &self.activities;
        non_negative("activities.bouts_per_day", a.bouts_per_day)?;
        if a.bouts_per_day > 0.0 && a.catalogue.is_empty() {
            return Err(Error::param("activities.catalogue", "is empty"));
        }
        for spec in &a.catalogue {
            let n = |f: &str| format!("activities.catalogue[{}].{f}", spec.name);
            if spec.name.is_empty() {
                return Err(Error::param("activities.catalogue", "empty activity name"));
            }
            non_negative(&n("weight"), spec.weight)?;
            range(
                &n("min/max_minutes"),
                spec.min_minutes,
                spec.max_minutes,
                600,
            )?;
            non_negative(&n("mets"), spec.mets)?;
            non_negative(&n("hr_increase"), spec.hr_increase)?;
            non_negative(&n("steps_per_min"), spec.steps_per_min)?;
        }
        if a.bouts_per_day > 0.0 && a.catalogue.iter().all(|s| s.weight == 0.0) {
            return Err(Error::param("activities.catalogue", "all weights are 0"));
        }
        non_negative("moods.per_day", self.moods.per_day)?;
        if self.moods.per_day > 0.0 && self.moods.labels.is_empty() {
            return Err(Error::param("moods.labels", "is empty"));
        }
        let m = &self.missing;
        prob("missing.nonwear_prob", m.nonwear_prob)?;
        prob("missing.charging_prob", m.charging_prob)?;
        prob("missing.dropout_rate", m.dropout_rate)?;
        range(
            "missing.nonwear_*_len",
            m.nonwear_min_len,
            m.nonwear_max_len,
            1440,
        )?;
        range(
            "missing.charging_*_len",
            m.charging_min_len,
            m.charging_max_len,
            1440,
        )?;
        range("missing.dropout_max_len", 1, m.dropout_max_len.max(1), 1440)?;
        Ok(())
    }
}
