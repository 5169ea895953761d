//! Generation of one synthetic day.
use crate::config::{ActivitySpec, MissingConfig, SynthConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::collections::BTreeMap;
use wearlang_core::{ChannelKind, ChannelSpec, Event, EventKind, Split, Window};

/// Minutes per day (time steps per window).
pub const MINUTES: usize = 1440;
/// Sampling rate: one sample per minute.
pub const RATE_HZ: f64 = 1.0 / 60.0;
/// Number of channels.
pub const CHANNELS: usize = 5;
/// Index of the heart-rate channel (bpm).
pub const HEART_RATE: usize = 0;
/// Index of the steps channel (count per minute).
pub const STEPS: usize = 1;
/// Index of the sleep channel (1 = asleep, 0 = awake).
pub const SLEEP: usize = 2;
/// Index of the activity-intensity channel (METs).
pub const ACTIVITY_INTENSITY: usize = 3;
/// Index of the skin-temperature channel (°C).
pub const SKIN_TEMPERATURE: usize = 4;

/// The five channels of a synthetic day, in value order.
pub fn channels() -> Vec<ChannelSpec> {
    vec![
        ChannelSpec::new("heart_rate", "bpm", ChannelKind::HeartRate),
        ChannelSpec::new("steps", "count/min", ChannelKind::Steps),
        ChannelSpec::new("sleep", "asleep (0/1)", ChannelKind::Sleep),
        ChannelSpec::new("activity_intensity", "METs", ChannelKind::ActivityIntensity),
        ChannelSpec::new("skin_temperature", "°C", ChannelKind::SkinTemperature),
    ]
}

/// The subject identifier of subject `i` ("subject_007").
pub fn subject_id(i: usize) -> String {
    format!("subject_{i:03}")
}

/// The recording identifier of day `d` of subject `i` ("subject_007_day_003").
pub fn recording_id(i: usize, d: usize) -> String {
    format!("subject_{i:03}_day_{d:03}")
}

/// Why a stretch of data is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GapKind {
    /// The device was not worn: all channels missing.
    NonWear,
    /// The device was charging: all channels missing.
    Charging,
    /// One channel dropped out.
    Dropout,
}

/// A missing stretch, in minutes `[start_min, end_min)` of the day.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Gap {
    /// Cause.
    pub kind: GapKind,
    /// First missing minute.
    pub start_min: usize,
    /// One past the last missing minute.
    pub end_min: usize,
    /// The channel of a dropout; `None` for all channels.
    pub channel: Option<usize>,
}

/// An activity bout, in minutes `[start_min, end_min)` of the day.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Bout {
    /// Activity label.
    pub activity: String,
    /// First minute.
    pub start_min: usize,
    /// One past the last minute.
    pub end_min: usize,
}

/// Ground truth of a day beyond the events stored in the window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DayTruth {
    /// The subject's resting heart rate (bpm).
    pub resting_hr: f64,
    /// Activity bouts, sorted by start.
    pub bouts: Vec<Bout>,
    /// Sleep periods (night sleep and naps) as `[start, end)` minutes.
    pub sleep: Vec<(usize, usize)>,
    /// Missing stretches.
    pub gaps: Vec<Gap>,
}

// Random streams, so that changing one part of the configuration does not
// change the draws of the others.
const TAG_SUBJECT: u64 = 1;
const TAG_NIGHT: u64 = 2;
const TAG_PLAN: u64 = 3;
const TAG_SIGNAL: u64 = 4;
const TAG_MISSING: u64 = 5;
const TAG_MOOD: u64 = 6;

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A generator for the stream `tag` of (seed, subject, day).
fn stream(seed: u64, subject: usize, day: i64, tag: u64) -> ChaCha8Rng {
    let mut h = 0x243F_6A88_85A3_08D3u64;
    for part in [seed, subject as u64, day as u64, tag] {
        h = splitmix(h ^ part);
    }
    ChaCha8Rng::seed_from_u64(h)
}

fn normal(rng: &mut impl Rng, mean: f64, std: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    mean + std.abs() * z
}

/// Poisson draw (Knuth), λ clamped to [0, 30].
fn poisson(rng: &mut impl Rng, lambda: f64) -> usize {
    let lambda = if lambda.is_finite() {
        lambda.clamp(0.0, 30.0)
    } else {
        0.0
    };
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.random::<f64>();
    while p > limit {
        k += 1;
        p *= rng.random::<f64>();
    }
    k
}

/// Uniform integer in `[lo, hi]` (either order).
fn uniform(rng: &mut impl Rng, lo: usize, hi: usize) -> usize {
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    rng.random_range(lo..=hi)
}

/// Traits of a subject, constant over days.
struct Subject {
    resting_hr: f64,
    fitness: f64,
    cadence: f64,
    temp_offset: f64,
}

impl Subject {
    fn new(seed: u64, subject: usize) -> Self {
        let mut rng = stream(seed, subject, -1, TAG_SUBJECT);
        Self {
            resting_hr: rng.random_range(52.0..72.0),
            fitness: rng.random_range(0.85..1.15),
            cadence: rng.random_range(0.9..1.1),
            temp_offset: rng.random_range(-0.5..0.5),
        }
    }
}

/// The night that ends on the morning of day `night`: bedtime relative to
/// that day's midnight (negative = the evening before) and wake time.
fn night(cfg: &SynthConfig, subject: usize, night: i64) -> (i64, i64) {
    let s = &cfg.sleep;
    let mut rng = stream(cfg.seed, subject, night, TAG_NIGHT);
    let bed = normal(&mut rng, s.bedtime_mean_min, s.bedtime_std_min).clamp(-360.0, 240.0);
    let dur = normal(&mut rng, s.duration_mean_min, s.duration_std_min).clamp(180.0, 900.0);
    let bed = bed.round() as i64;
    let wake = (bed + dur.round() as i64).min(900);
    (bed, wake)
}

fn overlaps(a: (usize, usize), b: (usize, usize), margin: usize) -> bool {
    a.0 < b.1 + margin && b.0 < a.1 + margin
}

fn pick_activity<'a>(
    rng: &mut impl Rng,
    catalogue: &'a [ActivitySpec],
) -> Option<&'a ActivitySpec> {
    let total: f64 = catalogue
        .iter()
        .map(|a| a.weight.max(0.0))
        .filter(|w| w.is_finite())
        .sum();
    if total <= 0.0 {
        return None;
    }
    let mut x = rng.random::<f64>() * total;
    for a in catalogue {
        let w = if a.weight.is_finite() {
            a.weight.max(0.0)
        } else {
            0.0
        };
        if x < w {
            return Some(a);
        }
        x -= w;
    }
    catalogue.iter().rev().find(|a| a.weight > 0.0)
}

/// The dominant activity of a day: the activity with the most minutes
/// (ties: alphabetically first), or `None` on a day without bouts.
pub fn dominant_activity(bouts: &[Bout]) -> Option<String> {
    let mut minutes: BTreeMap<&str, usize> = BTreeMap::new();
    for b in bouts {
        *minutes.entry(b.activity.as_str()).or_default() += b.end_min - b.start_min;
    }
    let mut best: Option<(&str, usize)> = None;
    for (name, m) in minutes {
        if best.is_none_or(|(_, bm)| m > bm) {
            best = Some((name, m));
        }
    }
    best.map(|(n, _)| n.to_string())
}

/// Sleep periods overlapping the day (the end of last night, tonight's start)
/// and the waking hours `[awake_start, awake_end)` between them.
fn night_sleep(cfg: &SynthConfig, subject: usize, d: i64) -> (Vec<(usize, usize)>, usize, usize) {
    let (bed0, wake0) = night(cfg, subject, d);
    let (bed1, wake1) = night(cfg, subject, d + 1);
    let mut sleep: Vec<(usize, usize)> = Vec::new();
    if wake0 > 0 {
        sleep.push((bed0.max(0) as usize, wake0 as usize));
    }
    let evening = bed1 + MINUTES as i64;
    if evening < MINUTES as i64 {
        let end = (wake1 + MINUTES as i64).min(MINUTES as i64);
        sleep.push((evening as usize, end as usize));
    }
    let awake_start = wake0.max(0) as usize;
    let awake_end = evening.clamp(awake_start as i64, MINUTES as i64) as usize;
    (sleep, awake_start, awake_end)
}

/// An optional afternoon nap inside the waking hours, drawn from `plan`.
fn plan_nap(
    plan: &mut ChaCha8Rng,
    cfg: &SynthConfig,
    awake: (usize, usize),
) -> Vec<(usize, usize)> {
    let (awake_start, awake_end) = awake;
    let mut naps: Vec<(usize, usize)> = Vec::new();
    let sc = &cfg.sleep;
    if plan.random::<f64>() < sc.nap_prob {
        let len = uniform(
            plan,
            sc.nap_min_len.max(1) as usize,
            sc.nap_max_len.max(1) as usize,
        );
        let start = uniform(plan, 780, 960);
        if start >= awake_start + 60 && start + len + 60 <= awake_end {
            naps.push((start, start + len));
        }
    }
    naps
}

/// Activity bouts `(start, end, spec)` in the waking hours, apart from naps
/// and each other, sorted by start; drawn from `plan`.
fn plan_bouts<'a>(
    plan: &mut ChaCha8Rng,
    cfg: &'a SynthConfig,
    awake: (usize, usize),
    naps: &[(usize, usize)],
) -> Vec<(usize, usize, &'a ActivitySpec)> {
    let (awake_start, awake_end) = awake;
    let ac = &cfg.activities;
    let gap = ac.gap_min as usize;
    let n_bouts = poisson(plan, ac.bouts_per_day).min(ac.max_bouts);
    let mut bouts: Vec<(usize, usize, &ActivitySpec)> = Vec::new();
    for _ in 0..n_bouts {
        let Some(spec) = pick_activity(plan, &ac.catalogue) else {
            break;
        };
        let len = uniform(
            plan,
            spec.min_minutes.max(1) as usize,
            spec.max_minutes.max(1) as usize,
        );
        let lo = awake_start + gap;
        if awake_end < lo + len + gap {
            continue;
        }
        let hi = awake_end - len - gap;
        for _try in 0..30 {
            let start = uniform(plan, lo, hi);
            let iv = (start, start + len);
            let clash = naps.iter().any(|&n| overlaps(iv, n, gap))
                || bouts.iter().any(|&(s, e, _)| overlaps(iv, (s, e), gap));
            if !clash {
                bouts.push((iv.0, iv.1, spec));
                break;
            }
        }
    }
    bouts.sort_by_key(|b| b.0);
    bouts
}

/// Logged moods `(minute, label)` while awake and not asleep.
fn plan_moods(
    cfg: &SynthConfig,
    subject: usize,
    d: i64,
    awake: (usize, usize),
    sleep: &[(usize, usize)],
) -> Vec<(usize, String)> {
    let (awake_start, awake_end) = awake;
    let mut mood_rng = stream(cfg.seed, subject, d, TAG_MOOD);
    let mut moods: Vec<(usize, String)> = Vec::new();
    if !cfg.moods.labels.is_empty() && awake_end > awake_start {
        let n = poisson(&mut mood_rng, cfg.moods.per_day);
        for _ in 0..n {
            let t = uniform(&mut mood_rng, awake_start, awake_end - 1);
            if sleep.iter().any(|&(s, e)| t >= s && t < e) {
                continue;
            }
            let label = &cfg.moods.labels[mood_rng.random_range(0..cfg.moods.labels.len())];
            moods.push((t, label.clone()));
        }
    }
    moods
}

/// Per-minute state of a day: sleep, the bout (minute into it, spec) and
/// the heart-rate effort (with ramp-up and recovery).
struct MinuteState<'a> {
    asleep: Vec<bool>,
    since_sleep: Vec<usize>,
    bout_at: Vec<Option<(usize, &'a ActivitySpec)>>,
    effort: Vec<f64>,
}

impl<'a> MinuteState<'a> {
    /// The state of every minute from the sleep periods and bouts.
    fn new(
        subj: &Subject,
        sleep: &[(usize, usize)],
        bouts: &[(usize, usize, &'a ActivitySpec)],
    ) -> Self {
        let mut asleep = vec![false; MINUTES];
        let mut since_sleep = vec![0usize; MINUTES];
        for &(s, e) in sleep {
            for (k, t) in (s..e.min(MINUTES)).enumerate() {
                asleep[t] = true;
                since_sleep[t] = k;
            }
        }
        let mut bout_at: Vec<Option<(usize, &ActivitySpec)>> = vec![None; MINUTES];
        let mut effort = vec![0.0f64; MINUTES];
        for &(s, e, spec) in bouts {
            for t in s..e {
                let k = t - s;
                bout_at[t] = Some((k, spec));
                let ramp = ((k + 1) as f64 / 3.0).min(1.0);
                effort[t] = effort[t].max(spec.hr_increase * subj.fitness * ramp);
            }
            for j in 0..20 {
                let t = e + j;
                if t >= MINUTES {
                    break;
                }
                let rec = spec.hr_increase * subj.fitness * (-((j + 1) as f64) / 4.0).exp();
                effort[t] = effort[t].max(rec);
            }
        }
        Self {
            asleep,
            since_sleep,
            bout_at,
            effort,
        }
    }
}

/// Heart rate, steps, METs and temperature (before noise) of an asleep
/// minute, `since` minutes into the sleep period.
fn asleep_minute(subj: &Subject, since: usize, hr_noise: f64) -> (f64, f64, f64, f64) {
    let depth = (since as f64 / 90.0).min(1.0);
    let hr = subj.resting_hr - 2.0 - 4.0 * depth + 0.6 * hr_noise;
    let temp = 33.0 + subj.temp_offset + 0.8 * (1.0 - (-(since as f64) / 30.0).exp());
    (hr, 0.0, 0.95, temp)
}

/// Heart rate, steps, METs and temperature (before noise) of awake minute
/// `t`, drawing from `sig`.
fn awake_minute(
    sig: &mut ChaCha8Rng,
    subj: &Subject,
    state: &MinuteState,
    t: usize,
    hr_noise: f64,
) -> (f64, f64, f64, f64) {
    let circadian = 4.0 * (2.0 * std::f64::consts::PI * (t as f64 - 900.0) / 1440.0).cos();
    let (s, m) = match state.bout_at[t] {
        Some((k, spec)) => {
            let ramp = ((k + 1) as f64 / 3.0).min(1.0);
            let s = spec.steps_per_min * subj.cadence * sig.random_range(0.85..1.1);
            let m = spec.mets * sig.random_range(0.9..1.1) * (0.4 + 0.6 * ramp);
            (s, m.max(1.2))
        }
        None => {
            let daytime = (420..1260).contains(&t);
            let p = if daytime { 0.2 } else { 0.05 };
            let s = if sig.random::<f64>() < p {
                sig.random_range(5.0..70.0)
            } else {
                0.0
            };
            (s, 1.3 + s / 100.0 * 1.8 + sig.random_range(0.0..0.2))
        }
    };
    let steps = s.round();
    let hr = subj.resting_hr + 10.0 + circadian + state.effort[t] + 0.08 * steps + hr_noise;
    let cooling = if state.bout_at[t].is_some() {
        -0.3
    } else {
        0.0
    };
    (hr, steps, m, 33.0 + subj.temp_offset + cooling)
}

/// The channel values (minute-major, `CHANNELS` per minute) of a day.
fn signals(sig: &mut ChaCha8Rng, subj: &Subject, state: &MinuteState) -> Vec<f32> {
    let mut values = vec![0.0f32; MINUTES * CHANNELS];
    let mut hr_noise = 0.0f64;
    let mut temp_noise = 0.0f64;
    for t in 0..MINUTES {
        hr_noise = 0.8 * hr_noise + normal(sig, 0.0, 1.2);
        temp_noise = 0.9 * temp_noise + normal(sig, 0.0, 0.03);
        let row = &mut values[t * CHANNELS..(t + 1) * CHANNELS];
        let (hr, steps, mets, temp) = if state.asleep[t] {
            asleep_minute(subj, state.since_sleep[t], hr_noise)
        } else {
            awake_minute(sig, subj, state, t, hr_noise)
        };
        row[HEART_RATE] = hr.clamp(35.0, 205.0).round() as f32;
        row[STEPS] = steps as f32;
        row[SLEEP] = if state.asleep[t] { 1.0 } else { 0.0 };
        row[ACTIVITY_INTENSITY] = ((mets * 100.0).round() / 100.0) as f32;
        row[SKIN_TEMPERATURE] = (((temp + temp_noise) * 100.0).round() / 100.0) as f32;
    }
    values
}

/// An all-channel gap of `kind` with a length in `[lo, hi]` at a random start.
fn block_gap(rng: &mut ChaCha8Rng, kind: GapKind, lo: u32, hi: u32) -> Gap {
    let len = uniform(rng, lo.max(1) as usize, hi.max(1) as usize).min(MINUTES);
    let start = uniform(rng, 0, MINUTES - len);
    Gap {
        kind,
        start_min: start,
        end_min: start + len,
        channel: None,
    }
}

/// Short per-channel dropouts, appended to `gaps`.
fn dropout_gaps(rng: &mut ChaCha8Rng, mc: &MissingConfig, gaps: &mut Vec<Gap>) {
    for c in 0..CHANNELS {
        let mut t = 0;
        while t < MINUTES {
            if rng.random::<f64>() < mc.dropout_rate {
                let len = uniform(rng, 1, mc.dropout_max_len.max(1) as usize);
                let end = (t + len).min(MINUTES);
                gaps.push(Gap {
                    kind: GapKind::Dropout,
                    start_min: t,
                    end_min: end,
                    channel: Some(c),
                });
                t = end + 1;
            } else {
                t += 1;
            }
        }
    }
}

/// The missing stretches of a day: non-wear, charging, dropouts.
fn plan_gaps(cfg: &SynthConfig, subject: usize, d: i64) -> Vec<Gap> {
    let mc = &cfg.missing;
    let mut miss_rng = stream(cfg.seed, subject, d, TAG_MISSING);
    let mut gaps: Vec<Gap> = Vec::new();
    let nonwear = |rng: &mut ChaCha8Rng| {
        block_gap(
            rng,
            GapKind::NonWear,
            mc.nonwear_min_len,
            mc.nonwear_max_len,
        )
    };
    if miss_rng.random::<f64>() < mc.nonwear_prob {
        gaps.push(nonwear(&mut miss_rng));
        if miss_rng.random::<f64>() < mc.nonwear_prob / 2.0 {
            gaps.push(nonwear(&mut miss_rng));
        }
    }
    if miss_rng.random::<f64>() < mc.charging_prob {
        gaps.push(block_gap(
            &mut miss_rng,
            GapKind::Charging,
            mc.charging_min_len,
            mc.charging_max_len,
        ));
    }
    if mc.dropout_rate > 0.0 {
        dropout_gaps(&mut miss_rng, mc, &mut gaps);
    }
    gaps
}

/// Set the values under `gaps` to NaN; the missing mask.
fn apply_gaps(values: &mut [f32], gaps: &[Gap]) -> Vec<bool> {
    let mut missing = vec![false; MINUTES * CHANNELS];
    for g in gaps {
        for t in g.start_min..g.end_min {
            let cs = match g.channel {
                Some(c) => c..c + 1,
                None => 0..CHANNELS,
            };
            for c in cs {
                values[t * CHANNELS + c] = f32::NAN;
                missing[t * CHANNELS + c] = true;
            }
        }
    }
    missing
}

/// One event of `kind` over minutes `[start, end)`, in seconds.
fn event(kind: EventKind, label: String, start: usize, end: usize) -> Event {
    Event {
        kind,
        label,
        start_s: start as f64 * 60.0,
        end_s: end as f64 * 60.0,
    }
}

/// The events of a day (activities, sleep and naps, moods), sorted by time.
fn day_events(
    bouts: &[Bout],
    sleep: &[(usize, usize)],
    naps: &[(usize, usize)],
    moods: Vec<(usize, String)>,
) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    for b in bouts {
        events.push(event(
            EventKind::Activity,
            b.activity.clone(),
            b.start_min,
            b.end_min,
        ));
    }
    for &(s, e) in sleep {
        let label = if naps.contains(&(s, e)) {
            "nap"
        } else {
            "sleep"
        };
        events.push(event(EventKind::Sleep, label.to_string(), s, e));
    }
    for (t, label) in moods {
        events.push(event(EventKind::Mood, label, t, t));
    }
    events.sort_by(|a, b| {
        a.start_s
            .total_cmp(&b.start_s)
            .then(a.end_s.total_cmp(&b.end_s))
    });
    events
}

/// Generate day `day_idx` of subject `subject_idx`, with its ground truth.
/// Deterministic in (seed, subject, day) and the settings; independent of
/// the order in which days are generated.
pub fn generate_day_with_truth(
    cfg: &SynthConfig,
    subject_idx: usize,
    day_idx: usize,
) -> (Window, DayTruth) {
    let subj = Subject::new(cfg.seed, subject_idx);
    let d = day_idx as i64;

    // Sleep, a nap and activity bouts (one plan stream), then moods.
    let (mut sleep, awake_start, awake_end) = night_sleep(cfg, subject_idx, d);
    let awake = (awake_start, awake_end);
    let mut plan = stream(cfg.seed, subject_idx, d, TAG_PLAN);
    let naps = plan_nap(&mut plan, cfg, awake);
    let bouts = plan_bouts(&mut plan, cfg, awake, &naps);
    sleep.extend(naps.iter().copied());
    sleep.sort();
    let moods = plan_moods(cfg, subject_idx, d, awake, &sleep);

    // Signals, then missingness.
    let state = MinuteState::new(&subj, &sleep, &bouts);
    let mut sig = stream(cfg.seed, subject_idx, d, TAG_SIGNAL);
    let mut values = signals(&mut sig, &subj, &state);
    let gaps = plan_gaps(cfg, subject_idx, d);
    let missing = apply_gaps(&mut values, &gaps);

    // Events and label.
    let truth_bouts: Vec<Bout> = bouts
        .iter()
        .map(|&(s, e, spec)| Bout {
            activity: spec.name.clone(),
            start_min: s,
            end_min: e,
        })
        .collect();
    let events = day_events(&truth_bouts, &sleep, &naps, moods);
    let window = Window {
        subject: subject_id(subject_idx),
        recording: recording_id(subject_idx, day_idx),
        start_ms: day_idx as i64 * 86_400_000,
        rate_hz: RATE_HZ,
        channels: CHANNELS,
        values,
        missing,
        label: dominant_activity(&truth_bouts),
        split: Split::Train,
        events,
        captions: BTreeMap::new(),
    };
    let truth = DayTruth {
        resting_hr: subj.resting_hr,
        bouts: truth_bouts,
        sleep,
        gaps,
    };
    (window, truth)
}

/// Generate day `day_idx` of subject `subject_idx` (see
/// [`generate_day_with_truth`]).
pub fn generate_day(cfg: &SynthConfig, subject_idx: usize, day_idx: usize) -> Window {
    generate_day_with_truth(cfg, subject_idx, day_idx).0
}
