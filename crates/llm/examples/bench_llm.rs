//! Time SmolLM2-135M-Instruct in wearlang-llm: prefill of a fixed prompt
//! (default 256 tokens) and greedy generation of a fixed number of new
//! tokens with the KV cache (default 128, end-of-turn ignored); prints one
//! JSON object. `cargo xtask bench llm` runs this beside the reference
//! Python library (`xtask/bench/llm_reference.py`: transformers on the same
//! GGUF, same prompt ids, same threads).
//!
//! The prompt is a fixed English paragraph tokenised and cut to the length;
//! its ids are written to `--ids-out` so the reference uses the very same
//! ids. One warm-up run, then `--repeats` timed runs; the median of each
//! figure is reported, and every timed run's figure beside it (`*_runs`).
//!
//! ```text
//! cargo run --release -p wearlang-llm --example bench_llm -- \
//!     --threads 1 --prompt-tokens 256 --new-tokens 128 --repeats 3
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use wearlang_llm::{default_model_path, LlmModel, Sampling};

const PARAGRAPH: &str = "Wearable sensors record how people move through their days: \
an accelerometer on the wrist measures acceleration along three axes, a gyroscope \
measures how fast the wrist turns, and a heart-rate sensor counts beats per minute. \
From these signals a model can tell walking from running, sitting from lying down, \
and climbing stairs from cycling, even when parts of the recording are missing \
because the watch was charging or taken off. ";

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Peak resident set size of this process in MB (VmHWM).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let threads: i32 = arg(&args, "--threads", 1);
    let prompt_tokens: usize = arg(&args, "--prompt-tokens", 256);
    let new_tokens: usize = arg(&args, "--new-tokens", 128);
    let repeats: usize = arg(&args, "--repeats", 3).max(1);
    let model_path: PathBuf = arg(&args, "--model", default_model_path(None, Path::new(".")));
    let ids_out: Option<PathBuf> = args
        .iter()
        .position(|a| a == "--ids-out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    tch::set_num_threads(threads);

    let t0 = Instant::now();
    let model = LlmModel::load(&model_path, tch::Device::Cpu)?;
    let load_seconds = t0.elapsed().as_secs_f64();

    let mut prompt = Vec::new();
    while prompt.len() < prompt_tokens {
        prompt.extend(model.tokenizer.encode(PARAGRAPH, false));
    }
    prompt.truncate(prompt_tokens);
    if let Some(p) = &ids_out {
        std::fs::write(p, serde_json::to_string(&prompt)?)?;
    }

    let mut opts = model.options(new_tokens, Sampling::greedy());
    opts.stop_ids.clear();
    let mut prefill = Vec::new();
    let mut decode = Vec::new();
    let mut ids = Vec::new();
    for run in 0..=repeats {
        let out = model.generate(&prompt, &opts, |_| true)?;
        if out.ids.len() != new_tokens {
            return Err(format!("generated {} tokens, not {new_tokens}", out.ids.len()).into());
        }
        if run > 0 {
            prefill.push(prompt_tokens as f64 / out.prefill_seconds);
            // The first new token comes from the prefill's logits; each of
            // the other new_tokens - 1 needs one cached decoder step.
            decode.push((new_tokens - 1) as f64 / out.decode_seconds);
        }
        ids = out.ids;
    }
    let report = serde_json::json!({
        "implementation": "wearlang-llm (tch, libtorch 2.13.0)",
        "threads": threads,
        "prompt_tokens": prompt_tokens,
        "new_tokens": new_tokens,
        "repeats": repeats,
        "load_seconds": load_seconds,
        "prefill_tokens_per_s": median(prefill.clone()),
        "decode_tokens_per_s": median(decode.clone()),
        "prefill_tokens_per_s_runs": prefill,
        "decode_tokens_per_s_runs": decode,
        "peak_rss_mb": peak_rss_mb(),
        "generated_ids": ids,
    });
    println!("{report}");
    Ok(())
}
