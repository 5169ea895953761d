//! `cargo xtask bench caption`: SensorLM captions (all levels) on day-long
//! 1440 × 34 inputs, Rust on one and on all threads, against the numpy/scipy
//! reference of the same algorithm (`crates/captioning/benches/reference_caption.py`)
//! in a venv under `target/bench/venv`, and per level against the Rust peer,
//! the `sensorlm-rs` 0.1.0 crate (`xtask/bench/caption_peer/main.rs`, built
//! in a project and target directory of its own under
//! `target/bench/caption-peer`).
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

/// The peer project's manifest: sensorlm-rs pinned, wearlang's captioner
/// by path, its own (empty) workspace.
fn peer_manifest() -> String {
    let crates = workspace_root().join("crates");
    let path = |c: &str| crates.join(c).display().to_string().replace('\\', "/");
    format!(
        "[package]\nname = \"caption-peer\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [[bin]]\nname = \"caption-peer\"\npath = \"main.rs\"\n\n[workspace]\n\n[dependencies]\n\
         sensorlm-rs = \"=0.1.0\"\nndarray = \"0.15\"\nrand = \"0.8\"\n\
         wearlang-captioning = {{ path = \"{}\" }}\nwearlang-core = {{ path = \"{}\" }}\n",
        path("captioning"),
        path("core")
    )
}

/// Build and run the sensorlm-rs peer (the first build compiles Burn and
/// takes minutes); its `key=value` output.
fn peer() -> Result<BTreeMap<String, f64>> {
    let dir = target_dir().join("bench/caption-peer");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("Cargo.toml"), peer_manifest())?;
    std::fs::copy(
        workspace_root().join("xtask/bench/caption_peer/main.rs"),
        dir.join("main.rs"),
    )?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!(
        "bench caption: sensorlm-rs 0.1.0 peer (release build in {})",
        dir.display()
    );
    Ok(key_values(&output(
        Command::new(cargo)
            .args(["run", "--quiet", "--release", "--manifest-path"])
            .arg(dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .current_dir(&dir),
    )?))
}

/// Print the per-level table of wearlang against the peer.
fn print_peer(peer: &BTreeMap<String, f64>) {
    println!(
        "  per level, 1 thread, vs sensorlm-rs 0.1.0 (same {} days; target >= 2x at every level):",
        peer.get("days").copied().unwrap_or(0.0)
    );
    println!(
        "    {:<16} {:>14} {:>14} {:>8}",
        "level", "wearlang c/s", "peer c/s", "ratio"
    );
    for level in [
        "low",
        "middle",
        "high_summary",
        "high_all",
        "high_middle_low",
    ] {
        let (Some(w), Some(p)) = (
            peer.get(&format!("{level}_wearlang")),
            peer.get(&format!("{level}_peer")),
        ) else {
            continue;
        };
        println!("    {level:<16} {w:>14.1} {p:>14.1} {:>7.2}x", w / p);
    }
}

/// Run the caption benchmark. `--no-reference` skips the Python side,
/// `--no-peer` the sensorlm-rs peer.
pub fn run(args: &[String]) -> Result<()> {
    let no_reference = args.iter().any(|a| a == "--no-reference");
    let no_peer = args.iter().any(|a| a == "--no-peer");
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
    if !no_peer {
        print_peer(&peer()?);
    }
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
