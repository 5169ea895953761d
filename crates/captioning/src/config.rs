//! Configuration: every constant of the reference algorithm is a field here,
//! with the reference value as its default (see `docs/captioning.md`).
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// All captioning parameters. Deserialises from TOML/JSON; missing fields take
/// their defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CaptionConfig {
    /// Channel groups (shared by the low and middle levels).
    pub groups: GroupConfig,
    /// Low level (statistics per channel).
    pub statistical: StatisticalConfig,
    /// Middle level (trends and anomalies).
    pub structural: StructuralConfig,
    /// High level (activities, sleep, moods).
    pub semantic: SemanticConfig,
    /// SensorLLM trend text.
    pub trend: TrendConfig,
    /// NLS activity text.
    pub activity: ActivityConfig,
}

impl CaptionConfig {
    /// Parse from TOML text and validate.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let cfg: Self =
            toml::from_str(text).map_err(|e| Error::param("caption config", e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Read a TOML file and validate.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Self = toml::from_str(&text)
            .map_err(|e| Error::data(wearlang_core::Location::file(path), e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every part.
    pub fn validate(&self) -> Result<()> {
        self.statistical.validate()?;
        self.structural.validate()?;
        self.semantic.validate()?;
        self.trend.validate()
    }
}

fn check(ok: bool, name: &str, message: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::param(name, message))
    }
}

fn finite_nonneg(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

/// Low-level (statistical) captions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatisticalConfig {
    /// Decimals of mean, max, min, std (reference: 1).
    pub decimals: usize,
    /// Channels of a group that are always described (the first ones in
    /// channel order).
    pub base_channels_per_group: usize,
    /// Further channels of a group drawn at random (seeded) from the rest.
    pub extra_channels_per_group: usize,
}

/// Channel groups of the hierarchical captions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupConfig {
    /// Channel name → group, overriding `ChannelSpec::group`.
    pub overrides: BTreeMap<String, String>,
    /// Order in which groups are described; groups not listed follow in
    /// order of first appearance.
    pub order: Vec<String>,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            overrides: BTreeMap::new(),
            order: default_group_order(),
        }
    }
}

impl Default for StatisticalConfig {
    fn default() -> Self {
        Self {
            decimals: 1,
            base_channels_per_group: 3,
            extra_channels_per_group: 1,
        }
    }
}

/// The default order of caption groups.
pub fn default_group_order() -> Vec<String> {
    [
        "Heart",
        "Activity",
        "Sleep",
        "Motion",
        "Temperature",
        "EDA",
        "Other",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl StatisticalConfig {
    fn validate(&self) -> Result<()> {
        check(
            self.decimals <= 6,
            "statistical.decimals",
            "at most 6 decimals",
        )
    }
}

/// Which time a bin is reported at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinTime {
    /// Start of the bin (`index × bin minutes`).
    Start,
    /// Middle of the bin.
    Centre,
    /// End of the bin (`(index + 1) × bin minutes`), the reference.
    End,
}

/// Middle-level (structural) captions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StructuralConfig {
    /// Number of average-downsampled points (reference: 36, i.e. 40-minute
    /// bins of a 1440-minute day).
    pub n_bins: usize,
    /// Trend window sizes in points (reference: 6, 8, 12).
    pub window_sizes: Vec<usize>,
    /// Slope threshold factor per window size (reference: 1.5, 1.3, 1.0); a
    /// window qualifies when `|slope| > factor × range / slope_divisor`.
    pub slope_factors: Vec<f64>,
    /// Divisor of the range in the slope threshold (reference: 40).
    pub slope_divisor: f64,
    /// Overlap of consecutive trend windows (reference: 0.5).
    pub window_overlap: f64,
    /// Minimum fitted net change of an increasing/decreasing trend, as a
    /// fraction of the range (reference: 0.2).
    pub min_change_fraction: f64,
    /// A window is stable when `|slope| < stable_slope_fraction × range` …
    /// (reference: 0.01).
    pub stable_slope_fraction: f64,
    /// … and its own range is below `stable_range_fraction × range`
    /// (reference: 0.1).
    pub stable_range_fraction: f64,
    /// Trends kept per channel (reference: 3).
    pub max_trends: usize,
    /// Kept trends overlap less than this fraction of the shorter one
    /// (reference: 0.3).
    pub max_trend_overlap: f64,
    /// Merge kept trends of the same direction that touch or overlap, when
    /// the merged span still qualifies (not in the reference).
    pub merge_trends: bool,
    /// Fraction of a trend window's points that must be observed.
    pub min_window_coverage: f64,
    /// Leave the points of detected spikes/drops out of trend fits, so that
    /// an isolated spike is not also reported as a trend (not in the
    /// reference).
    pub exclude_anomalies_from_trends: bool,
    /// Peak prominence, fraction of the range (reference: 0.5).
    pub peak_prominence_fraction: f64,
    /// Peak height above the mean, fraction of the range (reference: 0.6).
    pub peak_height_fraction: f64,
    /// Minimum distance between peaks in points (reference: 5).
    pub peak_distance: usize,
    /// Maximum peak width in points at half prominence (reference: 4).
    pub peak_max_width: f64,
    /// Relative height at which widths are measured (0.5, as scipy).
    pub peak_rel_height: f64,
    /// Time reported for a spike or drop (reference: bin end).
    pub anomaly_time: BinTime,
    /// Insights (trends + anomalies) per channel group (reference: 7).
    pub max_insights_per_group: usize,
}

impl Default for StructuralConfig {
    fn default() -> Self {
        Self {
            n_bins: 36,
            window_sizes: vec![6, 8, 12],
            slope_factors: vec![1.5, 1.3, 1.0],
            slope_divisor: 40.0,
            window_overlap: 0.5,
            min_change_fraction: 0.2,
            stable_slope_fraction: 0.01,
            stable_range_fraction: 0.1,
            max_trends: 3,
            max_trend_overlap: 0.3,
            merge_trends: true,
            min_window_coverage: 0.5,
            exclude_anomalies_from_trends: true,
            peak_prominence_fraction: 0.5,
            peak_height_fraction: 0.6,
            peak_distance: 5,
            peak_max_width: 4.0,
            peak_rel_height: 0.5,
            anomaly_time: BinTime::End,
            max_insights_per_group: 7,
        }
    }
}

impl StructuralConfig {
    fn validate(&self) -> Result<()> {
        check(self.n_bins >= 2, "structural.n_bins", "must be at least 2")?;
        check(
            self.window_sizes.len() == self.slope_factors.len(),
            "structural.slope_factors",
            "needs one factor per window size",
        )?;
        check(
            self.window_sizes.iter().all(|&w| w >= 2),
            "structural.window_sizes",
            "windows need at least 2 points",
        )?;
        check(
            self.slope_factors.iter().all(|&f| finite_nonneg(f)),
            "structural.slope_factors",
            "must be finite and >= 0",
        )?;
        check(
            self.slope_divisor.is_finite() && self.slope_divisor > 0.0,
            "structural.slope_divisor",
            "must be > 0",
        )?;
        check(
            (0.0..1.0).contains(&self.window_overlap),
            "structural.window_overlap",
            "must be in [0, 1)",
        )?;
        check(
            (0.0..=1.0).contains(&self.min_window_coverage) && self.min_window_coverage > 0.0,
            "structural.min_window_coverage",
            "must be in (0, 1]",
        )?;
        for (name, v) in [
            ("structural.min_change_fraction", self.min_change_fraction),
            (
                "structural.stable_slope_fraction",
                self.stable_slope_fraction,
            ),
            (
                "structural.stable_range_fraction",
                self.stable_range_fraction,
            ),
            ("structural.max_trend_overlap", self.max_trend_overlap),
            (
                "structural.peak_prominence_fraction",
                self.peak_prominence_fraction,
            ),
            ("structural.peak_height_fraction", self.peak_height_fraction),
            ("structural.peak_max_width", self.peak_max_width),
        ] {
            check(finite_nonneg(v), name, "must be finite and >= 0")?;
        }
        check(
            self.peak_rel_height.is_finite() && self.peak_rel_height > 0.0,
            "structural.peak_rel_height",
            "must be > 0",
        )?;
        check(
            self.peak_distance >= 1,
            "structural.peak_distance",
            "must be >= 1",
        )
    }
}

/// Order in which events are listed (and, with the caps, which are kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOrder {
    /// Shortest first (the reference's order; with the caps it keeps the
    /// shortest qualifying events).
    DurationAscending,
    /// Longest first.
    DurationDescending,
    /// By start time.
    Chronological,
}

/// High-level (semantic) captions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SemanticConfig {
    /// Minimum activity duration in minutes (reference: 20).
    pub min_activity_minutes: f64,
    /// Activities described (reference: 8).
    pub max_activities: usize,
    /// Sleep periods described (reference: 2).
    pub max_sleep: usize,
    /// Moods described (reference: all).
    pub max_moods: Option<usize>,
    /// Event order (reference: ascending duration).
    pub order: EventOrder,
}

impl Default for SemanticConfig {
    fn default() -> Self {
        Self {
            min_activity_minutes: 20.0,
            max_activities: 8,
            max_sleep: 2,
            max_moods: None,
            order: EventOrder::DurationAscending,
        }
    }
}

impl SemanticConfig {
    fn validate(&self) -> Result<()> {
        check(
            finite_nonneg(self.min_activity_minutes),
            "semantic.min_activity_minutes",
            "must be finite and >= 0",
        )
    }
}

/// SensorLLM trend text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrendConfig {
    /// A step is steady when `|x[t+1] − x[t]| ≤ steady_fraction × range` of
    /// the channel in the window.
    pub steady_fraction: f64,
    /// Segments shorter than this many steps are merged into a neighbour.
    pub min_segment_steps: usize,
    /// At most this many segments per channel (shortest merged first).
    pub max_segments: usize,
    /// Decimals of times in seconds.
    pub time_decimals: usize,
    /// Decimals of means and standard deviations.
    pub value_decimals: usize,
    /// Overall trend when the fitted change over the window exceeds this
    /// fraction of the range.
    pub overall_fraction: f64,
    /// Channel pairs whose correlation is reported (largest |r| first).
    pub max_correlations: usize,
    /// Decimals of correlations.
    pub correlation_decimals: usize,
    /// Segments per channel in the brief trend text (`trend_brief`).
    pub brief_segments: usize,
    /// Write every sentence with the first wording of its template bank
    /// instead of one drawn from the seed, so that a text's form depends
    /// on the data alone (off by default: captions vary their wording).
    pub fixed_wording: bool,
}

impl Default for TrendConfig {
    fn default() -> Self {
        Self {
            steady_fraction: 0.01,
            min_segment_steps: 3,
            max_segments: 8,
            time_decimals: 2,
            value_decimals: 3,
            overall_fraction: 0.1,
            max_correlations: 3,
            correlation_decimals: 2,
            brief_segments: 3,
            fixed_wording: false,
        }
    }
}

impl TrendConfig {
    fn validate(&self) -> Result<()> {
        check(
            self.brief_segments >= 1,
            "trend.brief_segments",
            "must be at least 1",
        )?;
        check(
            finite_nonneg(self.steady_fraction),
            "trend.steady_fraction",
            "must be finite and >= 0",
        )?;
        check(
            finite_nonneg(self.overall_fraction),
            "trend.overall_fraction",
            "must be finite and >= 0",
        )?;
        check(self.max_segments >= 1, "trend.max_segments", "must be >= 1")?;
        check(
            self.time_decimals <= 6 && self.value_decimals <= 6 && self.correlation_decimals <= 6,
            "trend decimals",
            "at most 6",
        )
    }
}

/// Which template an activity caption uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateChoice {
    /// The base NLS template.
    Base,
    /// A template drawn at random (seeded) from the bank.
    Random,
}

/// Activity text (NLS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActivityConfig {
    /// Template choice.
    pub template: TemplateChoice,
    /// Append the body parts involved.
    pub body_parts: bool,
    /// Append the movement description.
    pub description: bool,
    /// Also draw from the LLM rewrites of `data/paraphrases.toml`: random
    /// templates come from the bank and its rewrites, descriptions from the
    /// original and its rewrites.
    pub paraphrases: bool,
}

impl Default for ActivityConfig {
    fn default() -> Self {
        Self {
            template: TemplateChoice::Random,
            body_parts: false,
            description: false,
            paraphrases: false,
        }
    }
}
