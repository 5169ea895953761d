//! Middle level (structural) captions: trends and spikes/drops of the
//! average-downsampled series of each channel (SensorLM's reference rules).
use crate::config::{BinTime, GroupConfig, StructuralConfig};
use crate::peaks::{find_peaks, Peak, PeakParams};
use crate::statistical::grouped_channels;
use crate::stats::{bin_bounds, downsample, downsample_all};
use crate::templates::{
    ANOMALY, DROP, NO_INSIGHTS, SPIKE, TREND, TREND_DOWN, TREND_STABLE, TREND_UP,
};
use crate::util::{check_window, derive_seed, display_name, fill, format_number, pick, rng};
use crate::{Captioner, Result};
use serde::{Deserialize, Serialize};
use wearlang_core::{ChannelSpec, Window};

/// Salt of the structural level's random stream.
pub(crate) const SALT: u64 = 0x5354_5255;

/// Direction of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrendDirection {
    /// Rising.
    Increasing,
    /// Falling.
    Decreasing,
    /// Flat.
    Stable,
}

/// A trend over downsampled points `start_bin..=end_bin`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// Direction.
    pub direction: TrendDirection,
    /// First point.
    pub start_bin: usize,
    /// Last point (inclusive).
    pub end_bin: usize,
    /// Fitted slope per point.
    pub slope: f64,
    /// Fitted net change over the span (`slope × (points − 1)`).
    pub change: f64,
    /// Start minute (start of the first bin).
    pub start_minute: f64,
    /// End minute (end of the last bin).
    pub end_minute: f64,
}

/// Kind of an anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A narrow peak.
    Spike,
    /// A narrow dip.
    Drop,
}

/// A spike or drop at one downsampled point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Spike or drop.
    pub kind: AnomalyKind,
    /// Downsampled point.
    pub bin: usize,
    /// Reported minute (see [`BinTime`]).
    pub minute: f64,
    /// Value of the downsampled point.
    pub value: f64,
    /// Prominence (of the negated series for drops).
    pub prominence: f64,
    /// Width in points at the configured relative height.
    pub width: f64,
}

/// What the structural analysis found in one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelStructure {
    /// Channel index.
    pub channel: usize,
    /// Downsampled series (NaN where a bin has no observed value).
    pub bins: Vec<f64>,
    /// Range (max − min) of the observed downsampled points.
    pub range: f64,
    /// Mean of the observed downsampled points.
    pub mean: f64,
    /// The series the trends were fitted on (`bins` with the points of
    /// spikes and drops removed when so configured).
    pub fit_bins: Vec<f64>,
    /// Kept trends, by start.
    pub trends: Vec<Trend>,
    /// Spikes and drops, by time.
    pub anomalies: Vec<Anomaly>,
}

/// Minutes per sample of a window.
pub(crate) fn minutes_per_sample(window: &Window) -> f64 {
    1.0 / (window.rate_hz * 60.0)
}

/// Minute at which a bin is reported.
pub(crate) fn bin_minute(bounds: &[usize], k: usize, mps: f64, at: BinTime) -> f64 {
    match at {
        BinTime::Start => bounds[k] as f64 * mps,
        BinTime::End => bounds[k + 1] as f64 * mps,
        BinTime::Centre => (bounds[k] + bounds[k + 1]) as f64 * 0.5 * mps,
    }
}

/// Classify points `lo..=hi` of `series` (NaN = not used) with the given
/// slope factor; `None` when the window qualifies for nothing.
pub(crate) fn classify(
    series: &[f64],
    lo: usize,
    hi: usize,
    factor: f64,
    range: f64,
    cfg: &StructuralConfig,
) -> Option<(TrendDirection, f64, f64)> {
    // One pass for the count, the sums of the fit and the extremes, one
    // for the fit's centred sums: the arithmetic of `linear_fit` over the
    // finite points, in the same order, so the same results bit for bit.
    let points = series.get(lo..=hi)?;
    let (mut n, mut sx, mut sy) = (0usize, 0.0, 0.0);
    let (mut wmin, mut wmax) = (f64::INFINITY, f64::NEG_INFINITY);
    for (i, &y) in (lo..).zip(points) {
        if y.is_finite() {
            n += 1;
            sx += i as f64;
            sy += y;
            wmin = wmin.min(y);
            wmax = wmax.max(y);
        }
    }
    let width = hi - lo + 1;
    if n < 2 || (n as f64) < cfg.min_window_coverage * width as f64 {
        return None;
    }
    let (mx, my) = (sx / n as f64, sy / n as f64);
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (i, &y) in (lo..).zip(points) {
        if y.is_finite() {
            let x = i as f64;
            sxx += (x - mx) * (x - mx);
            sxy += (x - mx) * (y - my);
        }
    }
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let change = slope * (width - 1) as f64;
    if range <= 0.0 {
        return Some((TrendDirection::Stable, slope, change));
    }
    if slope.abs() > factor * range / cfg.slope_divisor
        && change.abs() > cfg.min_change_fraction * range
    {
        let dir = if slope > 0.0 {
            TrendDirection::Increasing
        } else {
            TrendDirection::Decreasing
        };
        return Some((dir, slope, change));
    }
    if slope.abs() < cfg.stable_slope_fraction * range
        && (wmax - wmin) < cfg.stable_range_fraction * range
    {
        return Some((TrendDirection::Stable, slope, change));
    }
    None
}

/// `|slope| / range` in units of 1e-9 (ranking key).
fn steepness(slope: f64, range: f64) -> i64 {
    if range > 0.0 {
        (slope.abs() / range * 1e9).round() as i64
    } else {
        0
    }
}

fn overlap_fraction(a: &Trend, b: &Trend) -> f64 {
    let lo = a.start_bin.max(b.start_bin);
    let hi = a.end_bin.min(b.end_bin);
    if hi < lo {
        return 0.0;
    }
    let inter = (hi - lo + 1) as f64;
    let shorter = (a.end_bin - a.start_bin + 1).min(b.end_bin - b.start_bin + 1) as f64;
    inter / shorter
}

/// Structural analysis of channel `c`.
pub fn analyse_channel(window: &Window, c: usize, cfg: &StructuralConfig) -> ChannelStructure {
    analyse_bins(window, c, downsample(window, c, cfg.n_bins), cfg)
}

/// Structural analysis of every channel (one pass over the window for the
/// downsampling).
pub fn analyse_all(window: &Window, cfg: &StructuralConfig) -> Vec<ChannelStructure> {
    downsample_all(window, cfg.n_bins)
        .into_iter()
        .enumerate()
        .map(|(c, bins)| analyse_bins(window, c, bins, cfg))
        .collect()
}

/// The observed (finite) points of a downsampled series.
struct Observed {
    /// Their indices in the series.
    index: Vec<usize>,
    /// Their values.
    values: Vec<f64>,
    /// Max − min of the values.
    range: f64,
    /// Mean of the values.
    mean: f64,
}

impl Observed {
    /// The observed points of `bins`; `None` when fewer than two.
    fn of(bins: &[f64]) -> Option<Self> {
        let index: Vec<usize> = (0..bins.len()).filter(|&i| bins[i].is_finite()).collect();
        if index.len() < 2 {
            return None;
        }
        let values: Vec<f64> = index.iter().map(|&i| bins[i]).collect();
        let (mn, mx) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        Some(Self {
            index,
            values,
            range: mx - mn,
            mean,
        })
    }
}

/// Structural analysis of channel `c` from its downsampled series `bins`:
/// spikes and drops, then trends fitted on the series without them (when
/// so configured). A series with fewer than two observed points has no
/// range, mean, trends or anomalies.
fn analyse_bins(
    window: &Window,
    c: usize,
    bins: Vec<f64>,
    cfg: &StructuralConfig,
) -> ChannelStructure {
    let Some(obs) = Observed::of(&bins) else {
        return ChannelStructure {
            channel: c,
            fit_bins: bins.clone(),
            bins,
            range: 0.0,
            mean: f64::NAN,
            trends: Vec::new(),
            anomalies: Vec::new(),
        };
    };
    let bounds = bin_bounds(window.len(), cfg.n_bins);
    let mps = minutes_per_sample(window);
    let mut fit_bins = bins.clone();
    let anomalies = if obs.range > 0.0 {
        find_anomalies(&bins, &obs, &bounds, mps, cfg, &mut fit_bins)
    } else {
        Vec::new()
    };
    let candidates = candidate_trends(&fit_bins, obs.range, cfg);
    let mut trends = select_trends(candidates, obs.range, cfg);
    if cfg.merge_trends {
        trends = merge_trends(trends, &fit_bins, obs.range, cfg);
    }
    for t in &mut trends {
        t.start_minute = bounds[t.start_bin] as f64 * mps;
        t.end_minute = bounds[t.end_bin + 1] as f64 * mps;
    }
    ChannelStructure {
        channel: c,
        bins,
        range: obs.range,
        mean: obs.mean,
        fit_bins,
        trends,
        anomalies,
    }
}

/// Peaks of the observed points (spikes) and of their negation (drops),
/// gaps joined; `obs.range` must be positive.
fn spikes_and_drops(obs: &Observed, cfg: &StructuralConfig) -> [(AnomalyKind, Vec<Peak>); 2] {
    let params = |threshold: f64| PeakParams {
        min_height: Some(threshold.next_up()),
        distance: Some(cfg.peak_distance),
        min_prominence: Some(cfg.peak_prominence_fraction * obs.range),
        min_width: None,
        max_width: Some(cfg.peak_max_width),
        rel_height: cfg.peak_rel_height,
    };
    let neg: Vec<f64> = obs.values.iter().map(|v| -v).collect();
    let height = cfg.peak_height_fraction * obs.range;
    let spikes = find_peaks(&obs.values, &params(obs.mean + height));
    let drops = find_peaks(&neg, &params(-obs.mean + height));
    [(AnomalyKind::Spike, spikes), (AnomalyKind::Drop, drops)]
}

/// The spikes and drops of `bins` (by bin), reported at the configured
/// time of their bin. When so configured, the points each one spans are
/// set to NaN in `fit_series`, leaving them out of trend fits.
fn find_anomalies(
    bins: &[f64],
    obs: &Observed,
    bounds: &[usize],
    mps: f64,
    cfg: &StructuralConfig,
    fit_series: &mut [f64],
) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for (kind, peaks) in spikes_and_drops(obs, cfg) {
        for p in peaks {
            let bin = obs.index[p.index];
            anomalies.push(Anomaly {
                kind,
                bin,
                minute: bin_minute(bounds, bin, mps, cfg.anomaly_time),
                value: bins[bin],
                prominence: p.prominence,
                width: p.width,
            });
            if cfg.exclude_anomalies_from_trends {
                let lo = p.left_ip.ceil().max(0.0) as usize;
                let hi = (p.right_ip.floor() as usize).min(obs.values.len() - 1);
                for j in lo..=hi.max(lo) {
                    fit_series[obs.index[j]] = f64::NAN;
                }
            }
        }
    }
    anomalies.sort_by_key(|a| a.bin);
    anomalies
}

/// Every window of every configured size (sliding with the configured
/// overlap) that [`classify`] accepts, as a trend without minutes.
fn candidate_trends(fit_series: &[f64], range: f64, cfg: &StructuralConfig) -> Vec<Trend> {
    let nb = fit_series.len();
    let mut candidates = Vec::new();
    for (&w, &factor) in cfg.window_sizes.iter().zip(&cfg.slope_factors) {
        if w > nb {
            continue;
        }
        let step = ((w as f64 * (1.0 - cfg.window_overlap)).round() as usize).max(1);
        let mut start = 0;
        while start + w <= nb {
            let end = start + w - 1;
            if let Some((direction, slope, change)) =
                classify(fit_series, start, end, factor, range, cfg)
            {
                candidates.push(Trend {
                    direction,
                    start_bin: start,
                    end_bin: end,
                    slope,
                    change,
                    start_minute: 0.0,
                    end_minute: 0.0,
                });
            }
            start += step;
        }
    }
    candidates
}

/// The best candidates, by start: at most `max_trends`, each overlapping
/// every better one by less than `max_trend_overlap`.
fn select_trends(mut candidates: Vec<Trend>, range: f64, cfg: &StructuralConfig) -> Vec<Trend> {
    // Rank: directional trends by steepness (|slope| / range, rounded so
    // that floating-point noise does not break ties), then longer windows,
    // then earlier starts; stable ones after them, longer first.
    let key = |t: &Trend| -> (u8, i64, usize, usize) {
        let len = t.end_bin - t.start_bin;
        match t.direction {
            TrendDirection::Stable => (1, 0, usize::MAX - len, t.start_bin),
            _ => (0, -steepness(t.slope, range), usize::MAX - len, t.start_bin),
        }
    };
    candidates.sort_by_key(key);
    let mut kept: Vec<Trend> = Vec::new();
    for t in candidates {
        if kept.len() >= cfg.max_trends {
            break;
        }
        if kept
            .iter()
            .all(|k| overlap_fraction(k, &t) < cfg.max_trend_overlap)
        {
            kept.push(t);
        }
    }
    kept.sort_by_key(|t| t.start_bin);
    kept
}

/// Merge neighbouring kept trends (by start) of the same direction that
/// touch or overlap, when the merged span still classifies as that
/// direction with the slope factor of the longest window size.
fn merge_trends(
    kept: Vec<Trend>,
    fit_series: &[f64],
    range: f64,
    cfg: &StructuralConfig,
) -> Vec<Trend> {
    let factor = cfg
        .window_sizes
        .iter()
        .zip(&cfg.slope_factors)
        .max_by_key(|(w, _)| **w)
        .map(|(_, f)| *f)
        .unwrap_or(1.0);
    let mut merged: Vec<Trend> = Vec::new();
    for t in kept {
        if let Some(last) = merged.last_mut() {
            if last.direction == t.direction && t.start_bin <= last.end_bin + 1 {
                let end = t.end_bin.max(last.end_bin);
                if let Some((dir, slope, change)) =
                    classify(fit_series, last.start_bin, end, factor, range, cfg)
                {
                    if dir == t.direction {
                        last.end_bin = end;
                        last.slope = slope;
                        last.change = change;
                        continue;
                    }
                }
            }
        }
        merged.push(t);
    }
    merged
}

/// One reported insight.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Insight {
    Trend(usize, Trend),
    Anomaly(usize, Anomaly),
}

/// Middle-level captioner.
#[derive(Debug, Clone, Default)]
pub struct StructuralCaptioner {
    /// Parameters.
    pub config: StructuralConfig,
    /// Channel groups.
    pub groups: GroupConfig,
}

impl StructuralCaptioner {
    /// A captioner with `config` and the default groups.
    pub fn new(config: StructuralConfig) -> Self {
        Self {
            config,
            groups: GroupConfig::default(),
        }
    }

    /// The analysis of every channel.
    pub fn analyse(
        &self,
        window: &Window,
        channels: &[ChannelSpec],
    ) -> Result<Vec<ChannelStructure>> {
        check_window(window, channels)?;
        Ok(analyse_all(window, &self.config))
    }
}

impl Captioner for StructuralCaptioner {
    fn name(&self) -> &str {
        "middle"
    }

    fn caption(&self, window: &Window, channels: &[ChannelSpec], seed: u64) -> Result<String> {
        check_window(window, channels)?;
        let mut r = rng(derive_seed(seed, SALT));
        let mut sentences = Vec::new();
        let all = analyse_all(window, &self.config);
        for (_, members) in grouped_channels(&self.groups, channels) {
            let per_channel: Vec<Vec<Insight>> = members
                .iter()
                .map(|&c| {
                    let s = &all[c];
                    s.trends
                        .iter()
                        .map(|&t| Insight::Trend(c, t))
                        .chain(s.anomalies.iter().map(|&a| Insight::Anomaly(c, a)))
                        .collect()
                })
                .collect();
            // Round-robin over channels so every channel gets a say.
            let mut chosen = Vec::new();
            let mut round = 0;
            while chosen.len() < self.config.max_insights_per_group {
                let mut any = false;
                for list in &per_channel {
                    if let Some(&i) = list.get(round) {
                        any = true;
                        if chosen.len() < self.config.max_insights_per_group {
                            chosen.push(i);
                        }
                    }
                }
                if !any {
                    break;
                }
                round += 1;
            }
            chosen.sort_by_key(|i| match i {
                Insight::Trend(c, t) => (*c, 0, t.start_bin),
                Insight::Anomaly(c, a) => (*c, 1, a.bin),
            });
            for insight in chosen {
                sentences.push(self.render(&mut r, channels, insight)?);
            }
        }
        if sentences.is_empty() {
            sentences.push(pick(&mut r, NO_INSIGHTS).to_string());
        }
        Ok(sentences.join(" "))
    }
}

impl StructuralCaptioner {
    fn render(
        &self,
        r: &mut rand_chacha::ChaCha8Rng,
        channels: &[ChannelSpec],
        insight: Insight,
    ) -> Result<String> {
        let minute = |m: f64| format_number(m, 0).unwrap_or_else(|| "0".into());
        match insight {
            Insight::Trend(c, t) => {
                let phrases = match t.direction {
                    TrendDirection::Increasing => TREND_UP,
                    TrendDirection::Decreasing => TREND_DOWN,
                    TrendDirection::Stable => TREND_STABLE,
                };
                let template = pick(r, TREND);
                let phrase = pick(r, phrases);
                fill(
                    template,
                    &[
                        ("channel", &display_name(&channels[c])),
                        ("trend", phrase),
                        ("start", &minute(t.start_minute)),
                        ("end", &minute(t.end_minute)),
                    ],
                )
            }
            Insight::Anomaly(c, a) => {
                let phrases = match a.kind {
                    AnomalyKind::Spike => SPIKE,
                    AnomalyKind::Drop => DROP,
                };
                let template = pick(r, ANOMALY);
                let phrase = pick(r, phrases);
                fill(
                    template,
                    &[
                        ("channel", &display_name(&channels[c])),
                        ("anomaly", phrase),
                        ("time", &minute(a.minute)),
                    ],
                )
            }
        }
    }
}
