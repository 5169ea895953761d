//! `custom-parts`: train and evaluate a sensor-language model whose sensor
//! encoder, objective and one evaluation protocol come from this crate.
//!
//! ```text
//! custom-parts --store windows.parquet --out target/custom-parts \
//!     [--config examples/custom-parts/configs/custom.toml] [--minilm DIR] [--max-steps N]
//! ```
//!
//! Writes `<out>/run/` (checkpoint, metrics) and `<out>/eval/` (report.md,
//! metrics.json, plots) and prints the summary table.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use wearlang_core::Split;
use wearlang_evaluation::{evaluators, run_protocols, EvalConfig, EvalContext};
use wearlang_models::{
    load_sensor_language, load_split, load_training_windows, SensorLanguageConfig,
    SensorLanguageOptions,
};
use wearlang_train::{train_sensor_language, DefaultTrainer};

struct Args {
    store: PathBuf,
    out: PathBuf,
    config: PathBuf,
    minilm: Option<PathBuf>,
    max_steps: Option<u64>,
}

fn parse_args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let (mut store, mut out, mut minilm, mut max_steps) = (None, None, None, None);
    let mut config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/custom.toml");
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--store" => store = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--config" => config = PathBuf::from(value()?),
            "--minilm" => minilm = Some(PathBuf::from(value()?)),
            "--max-steps" => max_steps = Some(value()?.parse().context("--max-steps")?),
            "-h" | "--help" => {
                println!(
                    "custom-parts --store S --out D [--config C] [--minilm M] [--max-steps N]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}`"),
        }
    }
    Ok(Args {
        store: store.context("--store is required")?,
        out: out.context("--out is required")?,
        config,
        minilm,
        max_steps,
    })
}

fn main() -> Result<()> {
    let args = parse_args()?;
    // The one line a fork adds: its parts join the registries.
    wearlang_example_custom_parts::register().map_err(anyhow::Error::msg)?;

    let mut cfg = SensorLanguageConfig::from_file(&args.config)?;
    if let Some(n) = args.max_steps {
        cfg.max_steps = n;
    }
    let run = args.out.join("run");
    let summary = train_sensor_language(
        &cfg,
        &SensorLanguageOptions {
            store: args.store.clone(),
            extra_stores: Vec::new(),
            out: run.clone(),
            resume: false,
            progress: false,
            stop_after: None,
            minilm_dir: args.minilm.clone(),
            values: Default::default(),
        },
    )?;
    eprintln!(
        "trained {} steps, final loss {:.4}",
        summary.steps, summary.final_loss
    );

    let loaded = load_sensor_language(&run, args.minilm.as_deref(), tch::Device::Cpu)?;
    let train = load_training_windows(&args.store)?;
    let test = load_split(&args.store, Split::Test)?;
    let eval_dir = args.out.join("eval");
    let ctx = EvalContext {
        model: &loaded.model,
        store: &args.store,
        train: &train,
        test: &test,
        classes: loaded.config.labels.clone(),
        work_dir: eval_dir.clone(),
        minilm_dir: args.minilm.clone(),
        progress: false,
        trainer: Some(&DefaultTrainer),
    };
    let protocols = evaluators(
        &EvalConfig::default(),
        &["zero-shot".into(), "nearest-centroid".into()],
    )?;
    let report = run_protocols(&ctx, &protocols, |m| eprintln!("eval: {m}"))?;
    std::fs::create_dir_all(&eval_dir)?;
    let plots = report.write_plots(&eval_dir, None)?;
    report.write(&eval_dir, &plots)?;
    println!("| metric | value |\n| --- | --- |");
    for (m, v) in report.summary() {
        println!("| {m} | {v} |");
    }
    Ok(())
}
