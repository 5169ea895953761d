//! Render every plot kind with made-up data, for looking at them:
//! `cargo run -p wearlang-plots --example demo -- /tmp/plots_demo`.

use std::path::PathBuf;

use wearlang_plots::{confusion_matrix, few_shot_curve, loss_curves, rank_histogram, Series};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "/tmp/plots_demo".into()),
    );

    // Deterministic pseudo-random numbers (no rand dependency).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };

    let names7 = [
        "walking", "running", "cycling", "sitting", "standing", "lying", "stairs",
    ];
    let cm7 = confusion(&mut next, names7.len(), 60);
    println!(
        "{:?}",
        confusion_matrix(
            dir.join("confusion_7"),
            &cm7,
            &names7,
            "Zero-shot, 7 activities"
        )?
    );

    let small = vec![vec![90, 10], vec![1234, 12345]];
    println!(
        "{:?}",
        confusion_matrix(
            dir.join("confusion_2"),
            &small,
            &["rest", "activity"],
            "A long title for a small two-class matrix"
        )?
    );

    let names20: Vec<String> = [
        "walking",
        "running",
        "cycling",
        "sitting",
        "standing",
        "lying down",
        "ascending stairs",
        "descending stairs",
        "vacuum cleaning",
        "ironing",
        "rope jumping",
        "nordic walking",
        "watching TV",
        "computer work",
        "car driving",
        "folding laundry",
        "house cleaning",
        "playing soccer",
        "sleeping",
        "eating a meal with friends at home",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let cm20 = confusion(&mut next, names20.len(), 250);
    println!(
        "{:?}",
        confusion_matrix(
            dir.join("confusion_20"),
            &cm20,
            &names20,
            "Zero-shot, 20 activities (PAMAP2-like)"
        )?
    );

    let shots = [2.0, 5.0, 10.0, 25.0, 50.0, 100.0];
    let series: Vec<Series> = [
        ("linear probe", 0.30),
        ("projection heads (NLS)", 0.38),
        ("supervised 1-D conv", 0.22),
    ]
    .iter()
    .map(|&(name, base)| {
        let y: Vec<f64> = shots
            .iter()
            .map(|k: &f64| (base + 0.1 * k.ln()).min(0.95))
            .collect();
        let e: Vec<f64> = shots.iter().map(|k| 0.08 / k.sqrt()).collect();
        Series::new(name, &shots, &y).with_error(&e)
    })
    .collect();
    println!(
        "{:?}",
        few_shot_curve(
            dir.join("few_shot"),
            &series,
            "Few-shot adaptation (5 seeds, mean ± std)"
        )?
    );

    let steps: Vec<f64> = (0..2000).map(|s| s as f64 * 5.0).collect();
    let mut losses = Vec::new();
    for (name, scale, floor) in [
        ("train loss", 4.0, 0.35),
        ("validation loss", 4.2, 0.5),
        ("contrastive", 2.5, 0.2),
    ] {
        let y: Vec<f64> = steps
            .iter()
            .map(|s| floor + scale * (-s / 2500.0).exp() + 0.05 * next())
            .collect();
        losses.push(Series::new(name, &steps, &y));
    }
    println!(
        "{:?}",
        loss_curves(dir.join("loss"), &losses, false, "Pretraining loss")?
    );
    println!(
        "{:?}",
        loss_curves(
            dir.join("loss_log"),
            &losses,
            true,
            "Pretraining loss (log)"
        )?
    );

    let ranks: Vec<usize> = (0..400)
        .map(|_| 1 + (next().powi(3) * 499.0) as usize)
        .collect();
    println!(
        "{:?}",
        rank_histogram(
            dir.join("ranks_500"),
            &ranks,
            500,
            "Sensor → text retrieval ranks"
        )?
    );
    let ranks: Vec<usize> = (0..60)
        .map(|_| 1 + (next().powi(2) * 12.0) as usize)
        .collect();
    println!(
        "{:?}",
        rank_histogram(
            dir.join("ranks_12"),
            &ranks,
            12,
            "Text → sensor retrieval ranks"
        )?
    );
    Ok(())
}

/// A plausible confusion matrix: mostly diagonal.
fn confusion(next: &mut impl FnMut() -> f64, k: usize, per_class: usize) -> Vec<Vec<usize>> {
    (0..k)
        .map(|t| {
            let mut row = vec![0usize; k];
            for _ in 0..per_class {
                let p = if next() < 0.7 {
                    t
                } else {
                    (next() * k as f64) as usize % k
                };
                row[p] += 1;
            }
            row
        })
        .collect()
}
