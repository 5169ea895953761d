//! `cargo xtask bench llm`: SmolLM2-135M-Instruct in wearlang-llm
//! (`crates/llm/examples/bench_llm.rs`) beside the reference Python library
//! running the same GGUF (`xtask/bench/llm_reference.py`: transformers
//! 5.23.0 on torch 2.13.0 eager, in `target/bench/torch-venv`): prefill
//! tokens/s over a 256-token prompt and greedy decoding tokens/s over 128
//! new tokens with the KV cache, on 1 thread and on all cores, each side in
//! its own process (so peak RSS is its own). The reference gets the Rust
//! side's prompt ids, and the generated ids are compared. Prints the table
//! and ratios and writes `target/bench/llm/results.json`.
use crate::bench_pretrain::{ensure_torch_venv, json_output};
use crate::util::{target_dir, workspace_root};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// The reference's packages beside torch, pinned.
const REFERENCE_PACKAGES: [&str; 3] =
    ["transformers==5.23.0", "gguf==0.19.0", "accelerate==1.16.0"];

/// Install the reference's packages into the torch venv if they are missing.
fn ensure_transformers(python: &Path) -> Result<()> {
    let ok = Command::new(python)
        .args([
            "-c",
            "import transformers, gguf, accelerate; assert transformers.__version__ == '5.23.0'",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Ok(());
    }
    eprintln!(
        "bench llm: installing {} into the torch venv",
        REFERENCE_PACKAGES.join(", ")
    );
    crate::util::exec(
        Command::new(python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(REFERENCE_PACKAGES),
    )
}

/// Run the benchmark.
pub fn run(args: &[String]) -> Result<()> {
    let get = |name: &str, default: &str| crate::util::arg_value(args, name, default);
    let repeats = get("--repeats", "3");
    let prompt_tokens = get("--prompt-tokens", "256");
    let new_tokens = get("--new-tokens", "128");
    let no_reference = args.iter().any(|a| a == "--no-reference");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads: Vec<String> = match args.iter().position(|a| a == "--threads") {
        Some(i) => args
            .get(i + 1)
            .map(|v| v.split(',').map(String::from).collect())
            .unwrap_or_default(),
        None if cores > 1 => vec!["1".into(), cores.to_string()],
        None => vec!["1".into()],
    };
    let setup = crate::setup::run()?;
    let model = setup.llm.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let bin = crate::util::build_release_example("wearlang-llm", "bench_llm")?;
    let python = if no_reference {
        None
    } else {
        let p = ensure_torch_venv(&target_dir().join("bench/torch-venv"))?;
        ensure_transformers(&p)?;
        Some(p)
    };
    let dir = target_dir().join("bench/llm");
    std::fs::create_dir_all(&dir)?;
    let ids = dir.join("prompt_ids.json");
    let script = workspace_root().join("xtask/bench/llm_reference.py");
    println!(
        "llm bench: SmolLM2-135M-Instruct (f32), prompt {prompt_tokens} tokens, {new_tokens} new tokens (greedy, KV cache), median of {repeats} runs"
    );
    println!(
        "{:>7} | {:>12} {:>12} {:>6} | {:>12} {:>12} {:>6} | {:>9} {:>9} | {:>5}",
        "threads",
        "rust pre/s",
        "ref pre/s",
        "ratio",
        "rust dec/s",
        "ref dec/s",
        "ratio",
        "rust MB",
        "ref MB",
        "same"
    );
    let mut json = Vec::new();
    for t in &threads {
        let rust = json_output(Command::new(&bin).args([
            "--threads",
            t,
            "--prompt-tokens",
            &prompt_tokens,
            "--new-tokens",
            &new_tokens,
            "--repeats",
            &repeats,
            "--model",
            &model.display().to_string(),
            "--ids-out",
            &ids.display().to_string(),
        ]))?;
        let py = match &python {
            Some(p) => Some(json_output(Command::new(p).arg(&script).args([
                "--threads",
                t,
                "--new-tokens",
                &new_tokens,
                "--repeats",
                &repeats,
                "--model",
                &model.display().to_string(),
                "--ids",
                &ids.display().to_string(),
            ]))?),
            None => None,
        };
        let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        let (rp, rd, rm) = (
            f(&rust, "prefill_tokens_per_s"),
            f(&rust, "decode_tokens_per_s"),
            f(&rust, "peak_rss_mb"),
        );
        let null = serde_json::Value::Null;
        let pv = py.as_ref().unwrap_or(&null);
        let (pp, pd, pm) = (
            f(pv, "prefill_tokens_per_s"),
            f(pv, "decode_tokens_per_s"),
            f(pv, "peak_rss_mb"),
        );
        let same = match &py {
            Some(p) => {
                let a = &rust["generated_ids"];
                let b = &p["generated_ids"];
                let n = a
                    .as_array()
                    .zip(b.as_array())
                    .map(|(a, b)| a.iter().zip(b).take_while(|(x, y)| x == y).count())
                    .context("generated_ids missing")?;
                format!("{n}/{new_tokens}")
            }
            None => "-".into(),
        };
        println!(
            "{t:>7} | {rp:>12.1} {pp:>12.1} {:>5.2}x | {rd:>12.1} {pd:>12.1} {:>5.2}x | {rm:>9.0} {pm:>9.0} | {same:>5}",
            rp / pp,
            rd / pd
        );
        json.push(serde_json::json!({
            "threads": t,
            "rust": rust,
            "reference": py,
            "prefill_ratio": rp / pp,
            "decode_ratio": rd / pd,
        }));
    }
    println!("ratio = Rust tokens/s over reference tokens/s (target >= 1.0 for both); peak RSS target < 1024 MB (Rust); \"same\" = leading generated tokens that agree");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end: {}", load.trim());
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    eprintln!("results: {}", dir.join("results.json").display());
    Ok(())
}
