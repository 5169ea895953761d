//! Quick timing of each caption level on benchmark days (captions per
//! second, one thread): `cargo run --release -p wearlang-captioning --example time_levels`.
use std::time::Instant;
use wearlang_captioning::{bench_input, stats, CaptionVariant, Captioner, HierarchicalCaptioner};

fn main() {
    let channels = bench_input::channels();
    let days: Vec<_> = (0..32).map(bench_input::day).collect();
    let t0 = Instant::now();
    let mut acc = 0usize;
    for _ in 0..20 {
        for d in &days {
            acc += stats::all_channel_stats(d).len();
        }
    }
    let dt = t0.elapsed().as_secs_f64() / (20.0 * days.len() as f64);
    println!("all_channel_stats: {:.1} µs per day ({acc})", dt * 1e6);
    for v in [
        CaptionVariant::Low,
        CaptionVariant::Middle,
        CaptionVariant::HighSummary,
        CaptionVariant::HighAll,
        CaptionVariant::HighMiddleLow,
    ] {
        let cap = HierarchicalCaptioner::new(v);
        let t0 = Instant::now();
        let mut n = 0;
        for rep in 0..5u64 {
            for d in &days {
                n += cap.caption(d, &channels, rep).map(|s| s.len()).unwrap_or(0);
            }
        }
        let dt = t0.elapsed().as_secs_f64() / (5.0 * days.len() as f64);
        println!(
            "{:>16}: {:.1} µs per caption, {:.0} captions/s ({n} chars)",
            v.name(),
            dt * 1e6,
            1.0 / dt
        );
    }
}
