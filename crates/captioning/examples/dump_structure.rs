//! Print the structural analysis (trends and anomalies per channel) of a
//! benchmark day as JSON, in the shape of
//! `benches/reference_caption.py --dump DAY`, to compare the two
//! implementations:
//!
//! ```text
//! cargo run -p wearlang-captioning --release --example dump_structure -- 0 > rust.json
//! python crates/captioning/benches/reference_caption.py --dump 0 > py.json
//! ```
use wearlang_captioning::{
    analyse_channel, bench_input, AnomalyKind, StructuralConfig, TrendDirection,
};

fn main() {
    let day: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let w = bench_input::day(day);
    let cfg = StructuralConfig::default();
    let out: Vec<serde_json::Value> = (0..w.channels)
        .map(|c| {
            let s = analyse_channel(&w, c, &cfg);
            let trends: Vec<serde_json::Value> = s
                .trends
                .iter()
                .map(|t| {
                    let d = match t.direction {
                        TrendDirection::Increasing => "increasing",
                        TrendDirection::Decreasing => "decreasing",
                        TrendDirection::Stable => "stable",
                    };
                    serde_json::json!([d, t.start_bin, t.end_bin])
                })
                .collect();
            let anomalies: Vec<serde_json::Value> = s
                .anomalies
                .iter()
                .map(|a| {
                    let k = match a.kind {
                        AnomalyKind::Spike => "spike",
                        AnomalyKind::Drop => "drop",
                    };
                    serde_json::json!([k, a.bin])
                })
                .collect();
            serde_json::json!({ "trends": trends, "anomalies": anomalies })
        })
        .collect();
    println!("{}", serde_json::Value::Array(out));
}
