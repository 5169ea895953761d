//! Evaluating a trained run end to end, as `wearlang eval` does: load the
//! model and the store's splits, run the protocols, write `metrics.json`,
//! `report.md`, `summary.json` and the plots.

use std::path::PathBuf;

use wearlang_core::{ChannelSpec, Split};
use wearlang_models::checkpoint::{find_checkpoint, read_json, TrainState, STATE_FILE};
use wearlang_models::{
    load_sensor_language, load_split, load_training_windows, ModelError, Trainer,
};

use crate::error::Context;
use crate::report::find_metrics_log;
use crate::{
    evaluators, run_protocols, EvalConfig, EvalContext, EvalError, EvalReport, PretrainReport,
    Result,
};

/// What [`evaluate_run`] evaluates and where it writes.
pub struct RunEvalOptions<'a> {
    /// A `wearlang train` run directory (or its checkpoint directory).
    pub checkpoint: PathBuf,
    /// The window store (train split for baselines and few-shot, test split
    /// for every score).
    pub store: PathBuf,
    /// The split every score is on: [`Split::Test`] (held-out subjects), or
    /// [`Split::Val`] to choose a model or a budget without looking at test.
    pub split: Split,
    /// Output directory (created): metrics.json, report.md, summary.json,
    /// plots, the unseen-activity runs.
    pub out: PathBuf,
    /// Protocol names (empty: all of [`crate::PROTOCOLS`]).
    pub protocols: Vec<String>,
    /// Protocol settings; `supervised.device` is also where the model runs.
    pub config: EvalConfig,
    /// A `wearlang pretrain` run whose `report.json` joins the report.
    pub pretrain: Option<PathBuf>,
    /// MiniLM's directory (default: `$WEARLANG_MINILM` or the one `cargo
    /// xtask setup` links).
    pub minilm_dir: Option<PathBuf>,
    /// Show progress bars.
    pub progress: bool,
    /// The training that the unseen-activity and supervised protocols call
    /// (`wearlang_train::DefaultTrainer`).
    pub trainer: Option<&'a dyn Trainer>,
}

/// A finished evaluation: the report and the files written.
pub struct RunEvaluation {
    /// Everything the protocols found.
    pub report: EvalReport,
    /// The plot files (PNG and SVG).
    pub plots: Vec<PathBuf>,
    /// `report.md`.
    pub markdown: PathBuf,
}

/// Evaluate the run in `opts.checkpoint` on `opts.store` with the protocols
/// asked for, writing into `opts.out`; `log` is told when each protocol
/// starts. The protocol names and the pretraining report are checked before
/// the model is loaded. The store's channels are matched to the model's by
/// name (reordered; extra ones dropped; a missing one is an error). The
/// candidate classes are the store's own labels, whether or not the model
/// was trained on them: the report lists the classes it saw in training
/// ([`EvalReport::model_classes`]) and which of the store's are new to it.
/// Nothing
/// is written to `opts.out` before the protocols have run (except what they
/// train), and each file is written atomically.
pub fn evaluate_run(opts: &RunEvalOptions, mut log: impl FnMut(&str)) -> Result<RunEvaluation> {
    // Check what can be checked before loading anything.
    let evals = evaluators(&opts.config, &opts.protocols)?;
    // The training log is plotted at the end: a bad line fails now, not
    // after every protocol ran; a torn last line is skipped.
    if let Some(metrics) = find_metrics_log(&opts.checkpoint) {
        if let Some(warning) = crate::check_metrics_log(&metrics)? {
            log(&format!("warning: {warning}"));
        }
    }
    let pretraining = opts
        .pretrain
        .as_deref()
        .map(PretrainReport::read)
        .transpose()?;
    let device =
        wearlang_device::parse_device(&opts.config.supervised.device).map_err(ModelError::from)?;
    let loaded = load_sensor_language(&opts.checkpoint, opts.minilm_dir.as_deref(), device)
        .context_with(|| format!("loading the model in {}", opts.checkpoint.display()))?;
    let name = opts.store.display().to_string();
    let how = opts
        .config
        .normalisation
        .unwrap_or(loaded.config.run.normalisation);
    let (train, _) = loaded
        .config
        .onto_model(load_training_windows(&opts.store)?, &name, how)?;
    if opts.split == Split::Train {
        return Err(EvalError::param(
            "split",
            "scores on the training split say nothing about held-out data: use test or val",
        ));
    }
    let test = load_split(&opts.store, opts.split)
        .context_with(|| format!("evaluation needs {} windows", opts.split.as_str()))?;
    let (test, dropped) = loaded.config.onto_model(test, &name, how)?;
    let classes = train.meta.labels.labels().to_vec();
    if classes.len() < 2 {
        return Err(EvalError::Data(format!(
            "{name}: {} label(s) in its vocabulary; evaluation needs at least 2 classes",
            classes.len()
        )));
    }
    std::fs::create_dir_all(&opts.out).map_err(|cause| EvalError::Io {
        path: opts.out.clone(),
        cause,
    })?;
    let ctx = EvalContext {
        model: &loaded.model,
        store: &opts.store,
        train: &train,
        test: &test,
        classes,
        work_dir: opts.out.clone(),
        minilm_dir: opts.minilm_dir.clone(),
        progress: opts.progress,
        trainer: opts.trainer,
    };
    let mut report = run_protocols(&ctx, &evals, log)?;
    report.pretraining = pretraining;
    report.model_classes = loaded.config.labels.clone();
    report.unseen_classes = report.new_classes();
    // A run budgeted in epochs has `max_steps = 0`: the checkpoint knows
    // the steps it took.
    if report.steps == 0 {
        let ckpt = if opts.checkpoint.join(STATE_FILE).is_file() {
            Some(opts.checkpoint.clone())
        } else {
            find_checkpoint(&opts.checkpoint)
        };
        if let Some(state) = ckpt.and_then(|c| read_json::<TrainState>(&c, STATE_FILE).ok()) {
            // The steps trained (short of the budget for an unfinished run).
            report.steps = state.step;
        }
    }
    report.dropped_channels = dropped;
    report.model_placement = loaded
        .config
        .channel_schema()
        .iter()
        .find_map(ChannelSpec::placement);
    report.store_placement = test.meta.channels.iter().find_map(ChannelSpec::placement);
    report.placement_unseen = loaded
        .config
        .unseen_placement(&test.meta.channels)
        .is_some();
    report.normalisation = how;
    let plots = report.write_plots(&opts.out, find_metrics_log(&opts.checkpoint).as_deref())?;
    report.write(&opts.out, &plots)?;
    Ok(RunEvaluation {
        report,
        plots,
        markdown: opts.out.join("report.md"),
    })
}
