//! `wearlang train`: sensor-language training (NLS, SensorLM CLIP / SigLIP /
//! CoCa, UniCL, SLIP) from a TOML config, then a quick report on the test
//! subjects: zero-shot classification with class prompts and, for CoCa,
//! generated captions.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use wearlang_evaluation::{train_report, TrainReportOptions};
use wearlang_models::sensor_language::SelectCriterion;
use wearlang_train::{train_sensor_language, SensorLanguageConfig, SensorLanguageOptions};

/// Arguments of `wearlang train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The window store (its train split is used for training, its test
    /// split for the report).
    #[arg(long)]
    pub store: PathBuf,
    /// Another store whose training windows join (repeatable): one model
    /// over several data sets, channels matched by name or by kind and
    /// axis, each store normalised with its own statistics.
    #[arg(long = "extra-store")]
    pub extra_stores: Vec<PathBuf>,
    /// A TOML run config (see `configs/*.toml`); defaults (NLS-style CLIP) when left out.
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
    /// Initialise the patch Transformer from this `wearlang pretrain` run.
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// MiniLM's directory (default: $WEARLANG_MINILM or target/models/all-MiniLM-L6-v2).
    #[arg(long)]
    pub minilm: Option<PathBuf>,
    /// Skip the test-split report.
    #[arg(long)]
    pub no_report: bool,
    /// Caption at most this many test windows in the report (CoCa).
    #[arg(long, default_value_t = 200)]
    pub caption_windows: usize,
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

/// Run `wearlang train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => SensorLanguageConfig::from_file(p)?,
        None => SensorLanguageConfig::default(),
    };
    if let Some(s) = a.max_steps {
        cfg.max_steps = s;
    }
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    if let Some(p) = &a.init_from {
        cfg.sensor.init_from = Some(p.clone());
    }
    let _lock = crate::run_dir::lock(&a.out)?;
    if let Some(p) = &cfg.sensor.init_from {
        crate::run_dir::warn_if_unfinished(p);
    }
    crate::run_dir::check_fresh(&a.out, a.resume, a.overwrite)?;
    let summary = train_sensor_language(
        &cfg,
        &SensorLanguageOptions {
            store: a.store.clone(),
            extra_stores: a.extra_stores.clone(),
            out: a.out.clone(),
            resume: a.resume,
            progress: !a.quiet,
            stop_after: None,
            minilm_dir: a.minilm.clone(),
            values: crate::run_dir::value_home(a.values_on_disk, &a.out),
        },
    )
    .with_context(|| format!("training {} on {}", cfg.name, a.store.display()))?;
    println!(
        "trained {} for {} steps on {} windows ({} parameters): loss {:.4}, {:.0} windows/s, {:.1} % of the time waiting for data; checkpoint {}",
        cfg.name,
        summary.steps,
        summary.train_windows,
        summary.parameters,
        summary.final_loss,
        summary.samples_per_s,
        100.0 * summary.data_wait_fraction,
        summary.checkpoint.display()
    );
    if let Some(sel) = &summary.selection {
        let folds: Vec<String> = sel
            .folds
            .iter()
            .map(|f| {
                format!(
                    "{} ({} validation windows)",
                    f.classes.join(" + "),
                    f.val_windows
                )
            })
            .collect();
        let criterion = match cfg.select.criterion {
            SelectCriterion::HeldOut => "zero-shot macro-F1 among the held-out classes",
            SelectCriterion::Mean => {
                "mean of zero-shot macro-F1 among the held-out and among the training classes"
            }
        };
        println!(
            "step budget chosen on held-out classes: {} of {} steps (validation {criterion}: {:.3}; held out: {}); curve in {}",
            sel.steps,
            sel.max_steps,
            sel.score,
            folds.join("; "),
            a.out.join("select").join(wearlang_train::select::SELECTION_FILE).display()
        );
    }
    if summary.unlabelled_skipped > 0 {
        println!(
            "left out {} unlabelled training windows ({} takes its text from labels or needs them)",
            summary.unlabelled_skipped, cfg.name
        );
    }
    if a.no_report {
        return Ok(());
    }
    let report = train_report(
        &cfg,
        summary.steps,
        &TrainReportOptions {
            run_dir: a.out.clone(),
            store: a.store.clone(),
            minilm_dir: a.minilm.clone(),
            caption_windows: a.caption_windows,
            values: crate::run_dir::value_home(a.values_on_disk, &a.out),
        },
    )?;
    let md = report.write(&a.out)?;
    println!("{md}");
    println!("report: {}", a.out.join("report.md").display());
    Ok(())
}
