//! `wearlang eval`: every evaluation protocol on a trained sensor-language
//! run, written as `metrics.json`, `report.md` and plots (PNG + SVG).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use wearlang_evaluation::{evaluate_run, EvalConfig, RunEvalOptions};

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
    /// Override the statistics the store's windows are normalised with:
    /// `store` (its own) or `model` (the model's training statistics, units
    /// converted; for a data set the model never saw).
    #[arg(long, value_parser = parse_normalisation)]
    pub normalisation: Option<wearlang_models::InputNormalisation>,
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
    /// A `wearlang sensorllm align` run to score (the `sensorllm` protocol's
    /// trend descriptions; overrides `[sensorllm] align`).
    #[arg(long)]
    pub sensorllm_align: Option<PathBuf>,
    /// A `wearlang sensorllm tune` run to score (classification; overrides
    /// `[sensorllm] tune`).
    #[arg(long)]
    pub sensorllm_tune: Option<PathBuf>,
    /// Override how many test windows SensorLLM describes.
    #[arg(long)]
    pub sensorllm_describe: Option<usize>,
    /// Override how many labelled test windows SensorLLM classifies (0: all).
    #[arg(long)]
    pub sensorllm_classify: Option<usize>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// The split every score is on: `test` (held-out subjects), or `val` to
    /// choose a model, a budget or a recipe without looking at test.
    #[arg(long, default_value = "test")]
    pub split: String,
}

/// Run `wearlang eval`.
pub fn run(a: &EvalArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => EvalConfig::from_file(p)?,
        None => EvalConfig::default(),
    };
    // One evaluation at a time into an output directory.
    let _lock = crate::run_dir::lock(&a.out)?;
    if let Some(s) = a.unseen_steps {
        cfg.unseen.steps = s;
    }
    if let Some(s) = a.few_shot_seeds {
        cfg.few_shot.seeds = s;
    }
    if let Some(s) = a.supervised_steps {
        cfg.supervised.steps = s;
    }
    if let Some(n) = a.normalisation {
        cfg.normalisation = Some(n);
    }
    if let Some(w) = a.caption_windows {
        cfg.captioning.windows = w;
    }
    if let Some(d) = &a.sensorllm_align {
        cfg.sensorllm.align = Some(d.clone());
    }
    if let Some(d) = &a.sensorllm_tune {
        cfg.sensorllm.tune = Some(d.clone());
    }
    if let Some(n) = a.sensorllm_describe {
        cfg.sensorllm.describe = n;
    }
    if let Some(n) = a.sensorllm_classify {
        cfg.sensorllm.classify = n;
    }
    if let Some(v) = &a.retrieval_variant {
        cfg.retrieval.variant = Some(v.clone());
    }
    cfg.supervised.device = a.device.clone();
    crate::run_dir::warn_if_unfinished(&a.checkpoint);
    for dir in a
        .pretrain
        .iter()
        .chain(&cfg.sensorllm.align)
        .chain(&cfg.sensorllm.tune)
    {
        crate::run_dir::warn_if_unfinished(dir);
    }
    let done = evaluate_run(
        &RunEvalOptions {
            checkpoint: a.checkpoint.clone(),
            store: a.store.clone(),
            split: wearlang_core::Split::parse(&a.split)
                .map_err(|e| anyhow::anyhow!("--split: {e}"))?,
            out: a.out.clone(),
            protocols: a.protocol.clone(),
            config: cfg,
            pretrain: a.pretrain.clone(),
            minilm_dir: a.minilm.clone(),
            progress: !a.quiet,
            trainer: Some(&wearlang_train::DefaultTrainer),
        },
        |m| eprintln!("eval: {m}"),
    )?;
    let report = &done.report;
    let summary = report.summary();
    let width = summary
        .iter()
        .map(|(m, _)| m.chars().count())
        .max()
        .unwrap_or(0);
    println!(
        "evaluation of {} ({} {} windows):",
        report.run, report.test_windows, a.split
    );
    for (m, v) in summary {
        println!("  {m:<width$}  {v}");
    }
    println!(
        "report: {} ({} plot files)",
        done.markdown.display(),
        done.plots.len()
    );
    Ok(())
}

/// `--normalisation store|model` (of `eval`, `classify` and `embed`) as a
/// clap value parser. Here, not in the library: `wearlang-data` links the
/// library and must not link libtorch.
pub(crate) fn parse_normalisation(
    s: &str,
) -> std::result::Result<wearlang_models::InputNormalisation, String> {
    wearlang_models::InputNormalisation::parse(s).map_err(|e| e.to_string())
}
