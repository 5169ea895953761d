//! `cargo xtask bench caption`: SensorLM captions (all levels) on day-long
//! 1440 × 34 inputs, Rust on one and on all threads, against the numpy/scipy
//! reference of the same algorithm (`crates/captioning/benches/reference_caption.py`)
//! in a venv under `target/bench/venv`.
use crate::util::{ensure_venv, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::process::Command;

fn key_values(out: &[u8]) -> BTreeMap<String, f64> {
    String::from_utf8_lossy(out)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

fn output(cmd: &mut Command) -> Result<Vec<u8>> {
    let out = cmd
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!("{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

/// Run the caption benchmark. `--no-reference` skips the Python side.
pub fn run(args: &[String]) -> Result<()> {
    let no_reference = args.iter().any(|a| a == "--no-reference");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("bench caption: Rust (release build of the caption_throughput example)");
    let rust = key_values(&output(
        Command::new(cargo)
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "wearlang-captioning",
                "--example",
                "caption_throughput",
            ])
            .current_dir(workspace_root()),
    )?);
    let one = rust["rust_captions_per_second_1_thread"];
    let all = rust["rust_captions_per_second_all_threads"];
    println!("caption bench: 1440 x 34 days, variant high+middle+low");
    println!("  rust, 1 thread:     {one:>10.1} captions/s");
    println!(
        "  rust, {} threads:    {all:>10.1} captions/s",
        rust["rust_threads_all"]
    );
    if no_reference {
        return Ok(());
    }
    let python = ensure_venv(&target_dir().join("bench/venv"))?;
    eprintln!("bench caption: Python reference (numpy + scipy)");
    let py = key_values(&output(
        Command::new(python)
            .arg(workspace_root().join("crates/captioning/benches/reference_caption.py"))
            .args(["--days", "20", "--repeat", "3"]),
    )?);
    let p = py["python_captions_per_second"];
    println!("  python reference:   {p:>10.2} captions/s (1 thread)");
    println!(
        "  ratio rust/python per thread: {:.0}x (target >= 100x)",
        one / p
    );
    Ok(())
}
