//! Trend text for short, high-rate windows (SensorLLM): per channel,
//! segments of increase / decrease / steady with times in seconds, a
//! summary (mean, std, overall trend), and correlations between channels.
use crate::config::TrendConfig;
use crate::stats::{linear_fit, pearson, stats_of};
use crate::templates::{
    CHANNEL_SUMMARY, CORRELATION, OVERALL_DOWN, OVERALL_FLAT, OVERALL_UP, SEGMENT_DOWN,
    SEGMENT_INTRO, SEGMENT_STEADY, SEGMENT_UP,
};
use crate::util::{
    check_window, derive_seed, display_name, fill, fill_raw, format_number, pick, rng,
};
use crate::{Captioner, Result};
use serde::{Deserialize, Serialize};
use wearlang_core::{ChannelSpec, Window};

/// Salt of the trend text's random stream.
pub(crate) const SALT: u64 = 0x5452_4e44;

/// Direction of a segment or of the overall trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Rising.
    Increase,
    /// Falling.
    Decrease,
    /// Steady.
    Steady,
}

/// A segment between samples `start` and `end` (inclusive sample indices).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Direction.
    pub kind: SegmentKind,
    /// First sample.
    pub start: usize,
    /// Last sample.
    pub end: usize,
}

impl Segment {
    fn steps(&self) -> usize {
        self.end - self.start
    }
}

fn classify(net: f64, tau: f64) -> SegmentKind {
    if net > tau {
        SegmentKind::Increase
    } else if net < -tau {
        SegmentKind::Decrease
    } else {
        SegmentKind::Steady
    }
}

/// Segments of one series (NaN = missing; segments never cross a gap).
/// Steps are labelled by `|x[t+1] − x[t]|` against `steady_fraction ×
/// range`, runs of equal labels become segments, and segments shorter than
/// `min_segment_steps` (and, beyond `max_segments`, the shortest) are merged
/// into a neighbour; a merged segment is relabelled by its net change.
pub fn segments(x: &[f64], cfg: &TrendConfig) -> Vec<Segment> {
    let Some(st) = stats_of(x.iter().copied()) else {
        return Vec::new();
    };
    let tau = cfg.steady_fraction * (st.max - st.min);
    let mut out = Vec::new();
    let mut t = 0;
    while t < x.len() {
        if !x[t].is_finite() {
            t += 1;
            continue;
        }
        let mut end = t;
        while end + 1 < x.len() && x[end + 1].is_finite() {
            end += 1;
        }
        out.extend(run_segments(x, t, end, tau, cfg));
        t = end + 1;
    }
    out
}

fn run_segments(x: &[f64], lo: usize, hi: usize, tau: f64, cfg: &TrendConfig) -> Vec<Segment> {
    let mut segs: Vec<Segment> = Vec::new();
    for t in lo..hi {
        let kind = classify(x[t + 1] - x[t], tau);
        match segs.last_mut() {
            Some(s) if s.kind == kind => s.end = t + 1,
            _ => segs.push(Segment {
                kind,
                start: t,
                end: t + 1,
            }),
        }
    }
    // A run of small steady steps can add up: label every segment by its
    // net change.
    for s in &mut segs {
        s.kind = classify(x[s.end] - x[s.start], tau);
    }
    loop {
        // Coalesce neighbours of equal kind, relabelling by net change.
        let mut changed = true;
        while changed {
            changed = false;
            let mut i = 0;
            while i + 1 < segs.len() {
                if segs[i].kind == segs[i + 1].kind {
                    segs[i].end = segs[i + 1].end;
                    segs[i].kind = classify(x[segs[i].end] - x[segs[i].start], tau);
                    segs.remove(i + 1);
                    changed = true;
                } else {
                    i += 1;
                }
            }
        }
        if segs.len() <= 1 {
            break;
        }
        let shortest = (0..segs.len())
            .min_by_key(|&i| (segs[i].steps(), i))
            .unwrap_or(0);
        if segs[shortest].steps() >= cfg.min_segment_steps && segs.len() <= cfg.max_segments {
            break;
        }
        // Merge into the shorter neighbour (the previous one on ties).
        let j = if shortest == 0 {
            1
        } else if shortest + 1 == segs.len()
            || segs[shortest - 1].steps() <= segs[shortest + 1].steps()
        {
            shortest - 1
        } else {
            shortest + 1
        };
        let (a, b) = (shortest.min(j), shortest.max(j));
        segs[a].end = segs[b].end;
        segs[a].kind = classify(x[segs[a].end] - x[segs[a].start], tau);
        segs.remove(b);
    }
    segs
}

/// Overall direction of a series: fitted change over the window against
/// `overall_fraction × range`.
pub fn overall_trend(x: &[f64], cfg: &TrendConfig) -> Option<SegmentKind> {
    let st = stats_of(x.iter().copied())?;
    let pts = x
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (i as f64, v));
    let (slope, _) = linear_fit(pts)?;
    let change = slope * (x.len().saturating_sub(1)) as f64;
    Some(classify(change, cfg.overall_fraction * (st.max - st.min)))
}

/// Brief trend text: per channel the shape of the window in at most
/// `brief_segments` segments, without times or numbers ("acc x rises then
/// falls. gyro z holds steady."), short enough for a 64-token text tower and
/// only what a 2 s window can support. Deterministic (the seed is unused).
#[derive(Debug, Clone, Default)]
pub struct BriefTrendCaptioner {
    /// Parameters (`brief_segments`, and the segment rules of [`segments`]).
    pub config: TrendConfig,
}

impl BriefTrendCaptioner {
    /// A captioner with `config`.
    pub fn new(config: TrendConfig) -> Self {
        Self { config }
    }
}

impl Captioner for BriefTrendCaptioner {
    fn name(&self) -> &str {
        "trend_brief"
    }

    fn caption(&self, window: &Window, channels: &[ChannelSpec], _seed: u64) -> Result<String> {
        check_window(window, channels)?;
        let cfg = TrendConfig {
            max_segments: self.config.brief_segments,
            ..self.config.clone()
        };
        let mut sentences = Vec::new();
        for (c, spec) in channels.iter().enumerate() {
            let mut kinds: Vec<SegmentKind> = Vec::new();
            for s in segments(&channel_f64(window, c), &cfg) {
                if kinds.last() != Some(&s.kind) {
                    kinds.push(s.kind);
                }
            }
            if kinds.is_empty() {
                continue;
            }
            let words: Vec<&str> = kinds
                .iter()
                .map(|k| match k {
                    SegmentKind::Increase => "rises",
                    SegmentKind::Decrease => "falls",
                    SegmentKind::Steady => "holds steady",
                })
                .collect();
            sentences.push(format!("{} {}.", display_name(spec), words.join(" then ")));
        }
        if sentences.is_empty() {
            return Ok("No observed values.".into());
        }
        Ok(sentences.join(" "))
    }
}

/// SensorLLM-style trend captioner.
#[derive(Debug, Clone, Default)]
pub struct TrendCaptioner {
    /// Parameters.
    pub config: TrendConfig,
}

impl TrendCaptioner {
    /// A captioner with `config`.
    pub fn new(config: TrendConfig) -> Self {
        Self { config }
    }

    /// The description of channel `c` of `window` alone: its segments and
    /// its summary, as [`Captioner::caption`] writes them for that channel,
    /// without correlations (SensorLLM's per-channel question and answer).
    /// Empty when the channel has no observed value. Deterministic for a
    /// seed; errors when `c` is not a channel of `window`.
    pub fn channel_caption(
        &self,
        window: &Window,
        channels: &[ChannelSpec],
        c: usize,
        seed: u64,
    ) -> Result<String> {
        check_window(window, channels)?;
        let spec = channels.get(c).ok_or_else(|| {
            crate::Error::Shape(format!(
                "window {}/{}: no channel {c} (it has {})",
                window.subject,
                window.recording,
                channels.len()
            ))
        })?;
        let mut r = rng(derive_seed(derive_seed(seed, SALT), c as u64));
        let mut sentences = Vec::new();
        self.channel_sentences(
            &channel_f64(window, c),
            spec,
            window.rate_hz,
            &mut r,
            &mut sentences,
        )?;
        Ok(sentences.join(" "))
    }

    /// Push the segment sentence and the summary sentence of one channel's
    /// values `x` (NaN where missing) onto `sentences`.
    fn channel_sentences(
        &self,
        x: &[f64],
        spec: &ChannelSpec,
        rate_hz: f64,
        r: &mut rand_chacha::ChaCha8Rng,
        sentences: &mut Vec<String>,
    ) -> Result<()> {
        let cfg = &self.config;
        let secs = |i: usize| format_number(i as f64 / rate_hz, cfg.time_decimals);
        let fixed = cfg.fixed_wording;
        let pick = |r: &mut rand_chacha::ChaCha8Rng, bank: &[&'static str]| {
            let drawn = pick(r, bank);
            if fixed {
                bank[0]
            } else {
                drawn
            }
        };
        let name = display_name(spec);
        let segs = segments(x, cfg);
        if !segs.is_empty() {
            let mut clauses = Vec::with_capacity(segs.len());
            for s in &segs {
                let bank = match s.kind {
                    SegmentKind::Increase => SEGMENT_UP,
                    SegmentKind::Decrease => SEGMENT_DOWN,
                    SegmentKind::Steady => SEGMENT_STEADY,
                };
                let (Some(a), Some(b)) = (secs(s.start), secs(s.end)) else {
                    continue;
                };
                clauses.push(fill_raw(pick(r, bank), &[("start", &a), ("end", &b)])?);
            }
            let intro = fill(pick(r, SEGMENT_INTRO), &[("channel", &name)])?;
            sentences.push(format!("{intro}: {}.", clauses.join("; ")));
        }
        let summary = stats_of(x.iter().copied()).and_then(|st| {
            Some((
                format_number(st.mean, cfg.value_decimals)?,
                format_number(st.std, cfg.value_decimals)?,
                overall_trend(x, cfg)?,
            ))
        });
        if let Some((mean, std, overall)) = summary {
            let phrases = match overall {
                SegmentKind::Increase => OVERALL_UP,
                SegmentKind::Decrease => OVERALL_DOWN,
                SegmentKind::Steady => OVERALL_FLAT,
            };
            let template = pick(r, CHANNEL_SUMMARY);
            let phrase = pick(r, phrases);
            sentences.push(fill(
                template,
                &[
                    ("channel", &name),
                    ("mean", &mean),
                    ("std", &std),
                    ("overall", phrase),
                ],
            )?);
        }
        Ok(())
    }
}

/// Channel `c` as `f64`, NaN where masked.
pub(crate) fn channel_f64(window: &Window, c: usize) -> Vec<f64> {
    let ch = window.channels.max(1);
    let len = window.values.len().min(window.missing.len()) / ch;
    (0..len)
        .map(|t| {
            let i = t * ch + c;
            if window.missing[i] {
                f64::NAN
            } else {
                f64::from(window.values[i])
            }
        })
        .collect()
}

impl Captioner for TrendCaptioner {
    fn name(&self) -> &str {
        "trend"
    }

    fn caption(&self, window: &Window, channels: &[ChannelSpec], seed: u64) -> Result<String> {
        check_window(window, channels)?;
        let cfg = &self.config;
        let mut r = rng(derive_seed(seed, SALT));
        let series: Vec<Vec<f64>> = (0..channels.len())
            .map(|c| channel_f64(window, c))
            .collect();
        let mut sentences = Vec::new();
        for (c, x) in series.iter().enumerate() {
            self.channel_sentences(x, &channels[c], window.rate_hz, &mut r, &mut sentences)?;
        }
        let mut pairs = Vec::new();
        for i in 0..series.len() {
            for j in i + 1..series.len() {
                if let Some(rho) = pearson(&series[i], &series[j]) {
                    pairs.push((i, j, rho));
                }
            }
        }
        pairs.sort_by(|a, b| {
            b.2.abs()
                .total_cmp(&a.2.abs())
                .then((a.0, a.1).cmp(&(b.0, b.1)))
        });
        for &(i, j, rho) in pairs.iter().take(cfg.max_correlations) {
            let Some(rs) = format_number(rho, cfg.correlation_decimals) else {
                continue;
            };
            sentences.push(fill(
                if cfg.fixed_wording {
                    CORRELATION[0]
                } else {
                    pick(&mut r, CORRELATION)
                },
                &[
                    ("a", &display_name(&channels[i])),
                    ("b", &display_name(&channels[j])),
                    ("r", &rs),
                ],
            )?);
        }
        Ok(sentences.join(" "))
    }
}
