//! Caption speed of the `sensorlm-rs` 0.1.0 crate (crates.io, Burn-based
//! SensorLM port) beside wearlang's captioner, per level, on the same
//! benchmark days, one thread. `cargo xtask bench caption` copies this file
//! into a project of its own under `target/bench/caption-peer` (its own
//! target directory; not a workspace member) and prints the ratios.
//!
//! Input: `wearlang_captioning::bench_input::day(d)`, 1440 minutes × 34
//! channels. sensorlm-rs takes a z-scored `(1440, 34)` array in its fixed
//! feature order (`sensorlm::constants::FEATURE_NAMES`): channel `i` of the
//! benchmark day is fed as its feature `i`, z-scored over the day (missing
//! minutes as 0, the mean), outside the timed loop. Its semantic level
//! takes activity, sleep and mood events in minutes: the day's events,
//! converted. Prints `key=value` lines.
use ndarray::Array2;
use rand::SeedableRng;
use sensorlm::config::CaptionKey;
use sensorlm::data::captioning::semantic::{ActivityEvent, MoodEvent, SleepEvent};
use sensorlm::data::captioning::{generate_caption, CaptionContext};
use std::time::Instant;
use wearlang_captioning::{bench_input, CaptionVariant, Captioner, HierarchicalCaptioner};
use wearlang_core::{EventKind, Window};

const DAYS: u64 = 64;
const PASSES: u64 = 3;

/// The day's values, z-scored per channel, as sensorlm-rs takes them.
fn peer_input(day: &Window) -> Array2<f64> {
    let c = day.channels;
    let t = day.values.len() / c;
    let mut x = Array2::<f64>::zeros((t, c));
    for ch in 0..c {
        let col: Vec<f64> = (0..t)
            .map(|i| day.values[i * c + ch] as f64)
            .filter(|v| v.is_finite())
            .collect();
        let n = col.len().max(1) as f64;
        let mean = col.iter().sum::<f64>() / n;
        let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        for i in 0..t {
            let v = day.values[i * c + ch] as f64;
            x[[i, ch]] = if v.is_finite() && sd > 0.0 {
                (v - mean) / sd
            } else {
                0.0
            };
        }
    }
    x
}

fn peer_context(day: &Window) -> CaptionContext {
    let mut ctx = CaptionContext::new();
    let minute = |s: f64| ((s / 60.0) as usize).min(1439);
    for e in &day.events {
        match e.kind {
            EventKind::Activity => ctx.activities.push(ActivityEvent {
                name: e.label.clone(),
                start_minute: minute(e.start_s),
                end_minute: minute(e.end_s),
            }),
            EventKind::Sleep => ctx.sleep.push(SleepEvent {
                start_minute: minute(e.start_s),
                end_minute: minute(e.end_s),
            }),
            EventKind::Mood => ctx.moods.push(MoodEvent {
                mood: e.label.clone(),
                minute: minute(e.start_s),
            }),
        }
    }
    ctx
}

/// Best-of-passes captions per second of `f` over the days.
fn rate(n: usize, mut f: impl FnMut(u64) -> usize) -> f64 {
    let mut best = f64::INFINITY;
    let mut chars = 0;
    for pass in 0..PASSES {
        let t = Instant::now();
        chars += f(pass);
        best = best.min(t.elapsed().as_secs_f64());
    }
    assert!(chars > 0, "no caption text produced");
    n as f64 / best
}

fn main() {
    let days: Vec<Window> = (0..DAYS).map(bench_input::day).collect();
    let channels = bench_input::channels();
    let inputs: Vec<Array2<f64>> = days.iter().map(peer_input).collect();
    let contexts: Vec<CaptionContext> = days.iter().map(peer_context).collect();
    println!("days={}", days.len());
    let levels = [
        ("low", CaptionVariant::Low, CaptionKey::LowLevel),
        ("middle", CaptionVariant::Middle, CaptionKey::MiddleLevel),
        ("high_summary", CaptionVariant::HighSummary, CaptionKey::HighLevelSummary),
        ("high_all", CaptionVariant::HighAll, CaptionKey::HighLevelAll),
        ("high_middle_low", CaptionVariant::HighMiddleLow, CaptionKey::HighMiddleLow),
    ];
    for (name, ours, key) in levels {
        let cap = HierarchicalCaptioner::new(ours);
        let w = rate(days.len(), |pass| {
            days.iter()
                .map(|d| cap.caption(d, &channels, pass).expect("wearlang caption").len())
                .sum()
        });
        let p = rate(days.len(), |pass| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(pass);
            inputs
                .iter()
                .zip(&contexts)
                .map(|(x, ctx)| {
                    generate_caption(&x.view(), None, ctx, key, &mut rng)
                        .expect("sensorlm-rs caption")
                        .len()
                })
                .sum()
        });
        println!("{name}_wearlang={w:.2}");
        println!("{name}_peer={p:.2}");
    }
}
