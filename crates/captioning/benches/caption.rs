//! Captioning throughput on day-long inputs (1440 minutes × 34 channels,
//! `wearlang_captioning::bench_input`): captions per second for each level
//! and for high+middle+low on one thread and on all threads.
//!
//! ```text
//! cargo bench -p wearlang-captioning --bench caption
//! python crates/captioning/benches/reference_caption.py --days 20   # numpy/scipy reference
//! ```
//! Criterion reports throughput in elements (= captions) per second.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use wearlang_captioning::{
    bench_input, caption_all, caption_all_sequential, CaptionVariant, HierarchicalCaptioner,
};

const DAYS: u64 = 32;

fn bench(c: &mut Criterion) {
    let channels = bench_input::channels();
    let days: Vec<_> = (0..DAYS).map(bench_input::day).collect();
    let mut g = c.benchmark_group("caption");
    g.throughput(Throughput::Elements(DAYS));
    g.sample_size(20);
    for variant in [
        CaptionVariant::Low,
        CaptionVariant::Middle,
        CaptionVariant::HighAll,
        CaptionVariant::HighMiddleLow,
    ] {
        let cap = HierarchicalCaptioner::new(variant);
        g.bench_with_input(
            BenchmarkId::new("1-thread", variant.name()),
            &days,
            |b, days| {
                b.iter(|| caption_all_sequential(&cap, black_box(days), &channels, 7).unwrap())
            },
        );
    }
    let cap = HierarchicalCaptioner::new(CaptionVariant::HighMiddleLow);
    let threads = rayon::current_num_threads();
    g.bench_with_input(
        BenchmarkId::new(format!("{threads}-threads"), "high+middle+low"),
        &days,
        |b, days| b.iter(|| caption_all(&cap, black_box(days), &channels, 7).unwrap()),
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
