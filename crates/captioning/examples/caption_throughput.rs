//! Captions per second for all levels (high+middle+low) on the benchmark
//! days (1440 × 34), on one thread and on all threads; prints `key=value`
//! lines for `cargo xtask bench caption`.
use std::time::Instant;
use wearlang_captioning::{bench_input, caption_all, CaptionVariant, HierarchicalCaptioner};

fn rate(pool: &rayon::ThreadPool, days: &[wearlang_core::Window]) -> f64 {
    let channels = bench_input::channels();
    let cap = HierarchicalCaptioner::new(CaptionVariant::HighMiddleLow);
    let mut best = f64::INFINITY;
    for rep in 0..3u64 {
        let t = Instant::now();
        let out = pool
            .install(|| caption_all(&cap, days, &channels, rep))
            .expect("benchmark days caption without error");
        assert_eq!(out.len(), days.len());
        best = best.min(t.elapsed().as_secs_f64());
    }
    days.len() as f64 / best
}

fn main() {
    let days: Vec<_> = (0..64).map(bench_input::day).collect();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let all = rayon::ThreadPoolBuilder::new().build().unwrap();
    println!("rust_days={}", days.len());
    println!("rust_threads_all={}", all.current_num_threads());
    println!("rust_captions_per_second_1_thread={:.2}", rate(&one, &days));
    println!(
        "rust_captions_per_second_all_threads={:.2}",
        rate(&all, &days)
    );
}
