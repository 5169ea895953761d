//! `wearlang pretrain`: masked (AIM) pretraining of the patch Transformer on
//! a window store, then the imputation / robustness report.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use wearlang_evaluation::{pretrain_report_in, PretrainReportConfig};
use wearlang_train::{load_mae, pretrain, PretrainConfig, PretrainOptions};

/// Arguments of `wearlang pretrain`.
#[derive(Args, Debug)]
pub struct PretrainArgs {
    /// The window store to pretrain on (its train split, or all windows
    /// when it has no split).
    #[arg(long)]
    pub store: PathBuf,
    /// Further stores whose training windows (labelled or not) join
    /// `--store`'s, mapped onto its channels (repeatable; same window
    /// length and rate). The report is on `--store`'s held-out windows.
    #[arg(long = "extra-store")]
    pub extra_stores: Vec<PathBuf>,
    /// A TOML run config (see `configs/pretrain_*.toml`); defaults when left out.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The run directory: checkpoint/, metrics.jsonl, report.{md,json}.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in `--out` from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start afresh even if `--out` already holds a run (it is replaced).
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Override the config's step budget.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Override the config's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Skip the imputation / robustness report.
    #[arg(long)]
    pub no_report: bool,
    /// Use at most this many held-out windows for the imputation report.
    #[arg(long, default_value_t = 0)]
    pub report_windows: usize,
    /// Use at most this many labelled training (and test) windows, evenly
    /// spaced, for the report's robustness probe (0: all).
    #[arg(long, default_value_t = 0)]
    pub report_probe_windows: usize,
    /// Keep the training windows' values in a file in `--out`, mapped
    /// into memory, instead of in memory: for training sets larger than
    /// memory (the run is the same; the file has no name and goes with
    /// the run).
    #[arg(long)]
    pub values_on_disk: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Run `wearlang pretrain`.
pub fn run(a: &PretrainArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => PretrainConfig::from_file(p)?,
        None => PretrainConfig::default(),
    };
    if let Some(s) = a.max_steps {
        cfg.max_steps = s;
    }
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    let _lock = crate::run_dir::lock(&a.out)?;
    crate::run_dir::check_fresh(&a.out, a.resume, a.overwrite)?;
    let summary = pretrain(
        &cfg,
        &PretrainOptions {
            store: a.store.clone(),
            extra_stores: a.extra_stores.clone(),
            out: a.out.clone(),
            resume: a.resume,
            progress: !a.quiet,
            stop_after: None,
            values: crate::run_dir::value_home(a.values_on_disk, &a.out),
        },
    )
    .with_context(|| format!("pretraining on {}", a.store.display()))?;
    println!(
        "pretrained {} steps on {} windows: loss {:.4}{}, {:.0} windows/s; checkpoint {}",
        summary.steps,
        summary.train_windows,
        summary.final_loss,
        summary
            .val_loss
            .map(|v| format!(" (validation {v:.4})"))
            .unwrap_or_default(),
        summary.samples_per_s,
        summary.checkpoint.display()
    );
    if a.no_report {
        return Ok(());
    }
    let mae = load_mae(&a.out, wearlang_device::parse_device(&cfg.device)?)?;
    let rcfg = PretrainReportConfig {
        max_windows: a.report_windows,
        max_probe_windows: a.report_probe_windows,
        ..PretrainReportConfig::default()
    };
    let values = crate::run_dir::value_home(a.values_on_disk, &a.out);
    let report = pretrain_report_in(&mae, &a.store, &rcfg, &values)
        .context("writing the pretraining report")?;
    report.write(&a.out, "Masked pretraining report")?;
    println!("{}", report.to_markdown());
    println!("report: {}", a.out.join("report.md").display());
    Ok(())
}
