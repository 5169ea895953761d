//! `cargo xtask bench train`: windows/s of one sensor-language training step
//! (loss, backward, AdamW) for the Rust implementation
//! (`crates/train/examples/bench_train_step.rs`) and a PyTorch eager
//! implementation of the same models and step
//! (`xtask/bench/train_reference.py`, torch 2.13.0 in
//! `target/bench/torch-venv`), in three modes: CLIP with cached MiniLM text
//! embeddings, CLIP with MiniLM run on every batch, and CoCa; on 1 thread
//! and on all cores. Each setting runs `--rounds` times (default 3), Rust
//! and PyTorch alternating, so that drift of the machine's speed hits both
//! sides alike; it prints the median windows/s of each side and the median
//! (and range) of the per-round ratios, and writes every round to
//! `target/bench/train/results.json`.
use crate::bench_pretrain::{check_same_model, ensure_torch_venv, json_output};
use crate::util::{target_dir, workspace_root};
use anyhow::Result;
use std::process::Command;

/// Run the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let get = |name: &str, default: &str| crate::util::arg_value(args, name, default);
    let batch = get("--batch", "64");
    let steps = get("--steps", "20");
    let rounds: usize = get("--rounds", "3").parse().unwrap_or(3).max(1);
    let no_reference = args.iter().any(|a| a == "--no-reference");
    let modes: Vec<String> = match args.iter().position(|a| a == "--mode") {
        Some(i) => vec![args.get(i + 1).cloned().unwrap_or_default()],
        None => ["clip_cached", "clip_minilm", "coca"]
            .map(String::from)
            .to_vec(),
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads: Vec<usize> = match args.iter().position(|a| a == "--threads") {
        Some(i) => vec![args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(1)],
        None if cores > 1 => vec![1, cores],
        None => vec![1],
    };
    let setup = crate::setup::run()?;
    let bin = crate::util::build_release_example("wearlang-train", "bench_train_step")?;
    let python = if no_reference {
        None
    } else {
        Some(ensure_torch_venv(&target_dir().join("bench/torch-venv"))?)
    };
    let script = workspace_root().join("xtask/bench/train_reference.py");
    let minilm = setup.minilm.display().to_string();
    println!(
        "train step bench: batch {batch}, 100 x 6 windows, NLS activity texts, \
         {rounds} alternating round(s), medians"
    );
    println!(
        "{:>12} {:>8} {:>12} {:>12} {:>10} {:>8} {:>14}",
        "mode", "threads", "rust win/s", "torch win/s", "params", "ratio", "ratio range"
    );
    let mut json = Vec::new();
    for mode in &modes {
        for &t in &threads {
            let common = [
                "--mode",
                mode,
                "--threads",
                &t.to_string(),
                "--batch",
                &batch,
                "--steps",
                &steps,
                "--minilm",
                &minilm,
            ]
            .map(String::from);
            let (mut rust_runs, mut py_runs) = (Vec::new(), Vec::new());
            let (mut rust_speeds, mut py_speeds, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                let rust = json_output(Command::new(&bin).args(&common))?;
                // Same text length and decoder vocabulary as the Rust run.
                let shapes = [
                    "--text-len".to_string(),
                    rust["text_len"].to_string(),
                    "--caption-len".to_string(),
                    rust["text_len"].to_string(),
                    "--vocab".to_string(),
                    rust["decoder_vocab"].to_string(),
                ];
                let py = match &python {
                    Some(p) => Some(json_output(
                        Command::new(p).arg(&script).args(&common).args(&shapes),
                    )?),
                    None => None,
                };
                check_same_model(mode, &rust, py.as_ref())?;
                let rw = rust["samples_per_s"].as_f64().unwrap_or(f64::NAN);
                let pw = py
                    .as_ref()
                    .and_then(|p| p["samples_per_s"].as_f64())
                    .unwrap_or(f64::NAN);
                ratios.push(rw / pw);
                rust_speeds.push(rw);
                py_speeds.push(pw);
                rust_runs.push(rust);
                py_runs.push(py);
            }
            let (rw, pw) = (median(&rust_speeds), median(&py_speeds));
            let ratio = median(&ratios);
            let (lo, hi) = ratios
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                    (lo.min(r), hi.max(r))
                });
            println!(
                "{mode:>12} {t:>8} {rw:>12.1} {pw:>12.1} {:>10} {ratio:>7.2}x {:>14}",
                rust_runs[0]["params"],
                format!("{lo:.2}-{hi:.2}x")
            );
            json.push(serde_json::json!({
                "mode": mode, "threads": t, "rounds": rounds,
                "rust": rust_runs, "pytorch": py_runs, "ratios": ratios,
                "rust_median": rw, "pytorch_median": pw, "ratio": ratio,
            }));
        }
    }
    println!(
        "target: ratio >= 1.0 (Rust windows/s over PyTorch eager windows/s, same threads; \
         median of the rounds' ratios, each round one Rust run then one PyTorch run)"
    );
    println!("data: `wearlang train` logs data_wait_s; the batch thread kept the wait under 1 % of the step time in the pipeline runs (docs/sensor-language.md)");
    let dir = target_dir().join("bench/train");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    eprintln!("results: {}", dir.join("results.json").display());
    Ok(())
}

/// The median of `v` (NaN when empty; NaNs sort last).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
