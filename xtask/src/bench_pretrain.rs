//! `cargo xtask bench pretrain`: steps/s and windows/s of one masked (AIM)
//! pretraining step of the `small` patch Transformer + MAE decoder at batch
//! 64 (100 × 6 windows, 10 × 1 patches, 80 % random masking), for the Rust
//! implementation (`crates/train/examples/bench_pretrain_step.rs`) and a
//! PyTorch eager implementation of the same model and step
//! (`xtask/bench/pretrain_reference.py`, torch 2.13.0 in
//! `target/bench/torch-venv`), on 1 thread and on all cores; prints the
//! ratios and writes `target/bench/pretrain/results.json`.
use crate::util::{target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(crate) fn json_output(cmd: &mut Command) -> Result<Value> {
    eprintln!("$ {cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!("{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .with_context(|| format!("no JSON line in the output of {cmd:?}:\n{text}"))?;
    Ok(serde_json::from_str(line)?)
}

/// A venv with torch 2.13.0 (the version of our libtorch) from PyPI. The
/// Linux wheels on PyPI are CUDA builds that import only with their NVIDIA
/// runtime wheels, so this installs the full dependency set (about 3 GB,
/// pip-cached); the benchmark runs on the CPU.
pub(crate) fn ensure_torch_venv(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    let marker = venv.join(".wearlang-complete");
    let ok = |python: &Path| {
        Command::new(python)
            .args([
                "-c",
                "import torch; assert torch.__version__.startswith('2.13.0')",
            ])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if marker.exists() && ok(&python) {
        return Ok(python);
    }
    if !python.exists() {
        crate::util::exec(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    }
    eprintln!("bench pretrain: installing torch==2.13.0 into {} (about 3 GB with its NVIDIA runtime wheels)", venv.display());
    crate::util::exec(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "torch==2.13.0",
        "numpy",
    ]))?;
    if !ok(&python) {
        bail!("{} cannot import torch 2.13.0", python.display());
    }
    std::fs::write(&marker, b"")?;
    Ok(python)
}

/// Run the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let get = |name: &str, default: &str| crate::util::arg_value(args, name, default);
    let batch = get("--batch", "64");
    let steps = get("--steps", "30");
    let preset = get("--preset", "small");
    let no_reference = args.iter().any(|a| a == "--no-reference");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads: Vec<usize> = match args.iter().position(|a| a == "--threads") {
        Some(i) => vec![args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(1)],
        None if cores > 1 => vec![1, cores],
        None => vec![1],
    };
    let bin = crate::util::build_release_example("wearlang-train", "bench_pretrain_step")?;
    let python = if no_reference {
        None
    } else {
        Some(ensure_torch_venv(&target_dir().join("bench/torch-venv"))?)
    };
    let script = workspace_root().join("xtask/bench/pretrain_reference.py");
    let mut rows = Vec::new();
    for &t in &threads {
        let common = [
            "--threads",
            &t.to_string(),
            "--batch",
            &batch,
            "--steps",
            &steps,
            "--preset",
            &preset,
        ]
        .map(String::from);
        let rust = json_output(Command::new(&bin).args(&common))?;
        let py = match &python {
            Some(p) => Some(json_output(Command::new(p).arg(&script).args(&common))?),
            None => None,
        };
        check_same_model("pretrain", &rust, py.as_ref())?;
        rows.push((t, rust, py));
    }
    println!(
        "pretrain step bench: {preset} patch Transformer + MAE decoder, batch {batch}, 100 x 6 windows, 10 x 1 patches, 80 % masking"
    );
    println!(
        "{:>8} {:>14} {:>14} {:>14} {:>14} {:>8}",
        "threads", "rust steps/s", "rust win/s", "torch steps/s", "torch win/s", "ratio"
    );
    let mut json = Vec::new();
    for (t, rust, py) in &rows {
        let rs = rust["steps_per_s"].as_f64().unwrap_or(f64::NAN);
        let rw = rust["samples_per_s"].as_f64().unwrap_or(f64::NAN);
        let (ps, pw) = py
            .as_ref()
            .map(|p| {
                (
                    p["steps_per_s"].as_f64().unwrap_or(f64::NAN),
                    p["samples_per_s"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .unwrap_or((f64::NAN, f64::NAN));
        println!(
            "{t:>8} {rs:>14.2} {rw:>14.1} {ps:>14.2} {pw:>14.1} {:>7.2}x",
            rs / ps
        );
        json.push(serde_json::json!({"threads": t, "rust": rust, "pytorch": py, "ratio": rs / ps}));
    }
    println!("target: ratio >= 1.0 (Rust steps/s over PyTorch eager steps/s, same threads)");
    let dir = target_dir().join("bench/pretrain");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    eprintln!("results: {}", dir.join("results.json").display());
    Ok(())
}

/// Fail unless the PyTorch reference run `py` (when there is one) reports
/// the parameter count of the Rust run `rust`: otherwise the two did not
/// time the same model.
pub(crate) fn check_same_model(what: &str, rust: &Value, py: Option<&Value>) -> Result<()> {
    if let Some(py) = py {
        if py["params"] != rust["params"] {
            bail!(
                "{what}: the PyTorch reference has {} parameters, the Rust model {}: they are not the same model",
                py["params"],
                rust["params"]
            );
        }
    }
    Ok(())
}
