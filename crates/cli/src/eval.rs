//! `wearlang eval`: every evaluation protocol on a trained sensor-language
//! run, written as `metrics.json`, `report.md` and plots (PNG + SVG).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use wearlang_core::Split;
use wearlang_evaluation::{
    evaluators, run_protocols, write_atomic, EvalConfig, EvalContext, PretrainReport,
};
use wearlang_models::load_split;
use wearlang_models::{load_sensor_language, load_training_windows};

/// Arguments of `wearlang eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A `wearlang train` run directory (or its checkpoint directory).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The window store (train split for baselines and few-shot, test split
    /// for every score).
    #[arg(long)]
    pub store: PathBuf,
    /// Output directory: metrics.json, report.md, summary.json, plots,
    /// unseen_*/ runs.
    #[arg(long)]
    pub out: PathBuf,
    /// Protocols to run, comma-separated (default: all of zero-shot,
    /// linear-probe, supervised, few-shot, unseen, retrieval, captioning).
    #[arg(long, value_delimiter = ',')]
    pub protocol: Vec<String>,
    /// Protocol settings (TOML, see `configs/eval.toml`); defaults when left out.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// A `wearlang pretrain` run whose imputation / robustness report joins
    /// this one.
    #[arg(long)]
    pub pretrain: Option<PathBuf>,
    /// Override the training steps of each unseen-activity run.
    #[arg(long)]
    pub unseen_steps: Option<u64>,
    /// Override the number of few-shot seeds.
    #[arg(long)]
    pub few_shot_seeds: Option<u64>,
    /// Override the supervised baseline's steps.
    #[arg(long)]
    pub supervised_steps: Option<u64>,
    /// Override the number of test windows captioned.
    #[arg(long)]
    pub caption_windows: Option<usize>,
    /// The text variant retrieval pairs each window with (`activity` or a
    /// caption column such as `trend`; default: the run's first variant).
    #[arg(long)]
    pub retrieval_variant: Option<String>,
    /// MiniLM's directory (default: $WEARLANG_MINILM or target/models/all-MiniLM-L6-v2).
    #[arg(long)]
    pub minilm: Option<PathBuf>,
    /// `cpu`, `cuda`, `cuda:N` or `auto` (the model, the supervised baseline
    /// and the unseen-activity runs).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `wearlang eval`.
pub fn run(a: &EvalArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => EvalConfig::from_file(p)?,
        None => EvalConfig::default(),
    };
    if let Some(s) = a.unseen_steps {
        cfg.unseen.steps = s;
    }
    if let Some(s) = a.few_shot_seeds {
        cfg.few_shot.seeds = s;
    }
    if let Some(s) = a.supervised_steps {
        cfg.supervised.steps = s;
    }
    if let Some(w) = a.caption_windows {
        cfg.captioning.windows = w;
    }
    if let Some(v) = &a.retrieval_variant {
        cfg.retrieval.variant = Some(v.clone());
    }
    cfg.supervised.device = a.device.clone();
    // Check what can be checked before loading anything.
    let evals = evaluators(&cfg, &a.protocol)?;
    let pretraining = match &a.pretrain {
        Some(dir) => {
            let path = dir.join("report.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the pretraining report {}", path.display()))?;
            Some(
                serde_json::from_str::<PretrainReport>(&text)
                    .with_context(|| format!("parsing {}", path.display()))?,
            )
        }
        None => None,
    };
    let loaded = load_sensor_language(
        &a.checkpoint,
        a.minilm.as_deref(),
        wearlang_device::parse_device(&cfg.supervised.device)?,
    )
    .with_context(|| format!("loading the model in {}", a.checkpoint.display()))?;
    let train = load_training_windows(&a.store)?;
    let test = load_split(&a.store, Split::Test).context("evaluation needs test windows")?;
    if train.meta.labels.labels() != loaded.config.labels.as_slice() {
        anyhow::bail!(
            "{}: its labels {:?} differ from the ones the model was trained with {:?}",
            a.store.display(),
            train.meta.labels.labels(),
            loaded.config.labels
        );
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let ctx = EvalContext {
        model: &loaded.model,
        checkpoint: &loaded.config,
        store: &a.store,
        train: &train,
        test: &test,
        classes: loaded.config.labels.clone(),
        work_dir: a.out.clone(),
        minilm_dir: a.minilm.clone(),
        progress: !a.quiet,
        trainer: Some(&wearlang_train::DefaultTrainer),
    };
    let mut report = run_protocols(&ctx, &evals, |m| eprintln!("eval: {m}"))?;
    report.pretraining = pretraining;
    let run_dir = if a.checkpoint.join("metrics.jsonl").is_file() {
        Some(a.checkpoint.join("metrics.jsonl"))
    } else {
        a.checkpoint
            .parent()
            .map(|p| p.join("metrics.jsonl"))
            .filter(|p| p.is_file())
    };
    let plots = report.write_plots(&a.out, run_dir.as_deref())?;
    let md = report.to_markdown(&plots);
    write_atomic(
        &a.out.join("metrics.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    write_atomic(&a.out.join("report.md"), md.as_bytes())?;
    write_atomic(
        &a.out.join("summary.json"),
        serde_json::to_string_pretty(&report.summary())?.as_bytes(),
    )?;
    let width = report
        .summary()
        .iter()
        .map(|(m, _)| m.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "evaluation of {} ({} test windows):",
        report.run, report.test_windows
    );
    for (m, v) in report.summary() {
        println!("  {m:<width$}  {v}");
    }
    println!(
        "report: {} ({} plot files)",
        a.out.join("report.md").display(),
        plots.len()
    );
    Ok(())
}
