//! `wearlang sensorllm`: align the LLM with sensor windows (stage 1), tune
//! a classification head (stage 2), describe windows with a trained model.
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use wearlang_core::Split;
use wearlang_llm::{default_model_path, LlmModel};
use wearlang_sensorllm::{SensorLlm, SensorLlmConfig};
use wearlang_train::{align_sensorllm, tune_sensorllm, SensorLlmOptions, SensorLlmSummary};

/// Options of `wearlang sensorllm`.
#[derive(clap::Args, Debug)]
pub struct SensorLlmArgs {
    #[command(subcommand)]
    command: SensorLlmCommand,
}

#[derive(clap::Subcommand, Debug)]
enum SensorLlmCommand {
    /// Stage 1: train the projector and the channel tokens to make the
    /// frozen LLM write each window's trend description.
    Align(StageArgs),
    /// Stage 2: a classification head on the LLM's pooled final states,
    /// from a stage-1 run, selected on validation macro-F1.
    Tune(StageArgs),
    /// Greedy trend descriptions of a split's windows beside the reference.
    Describe(DescribeArgs),
}

/// Options of `align` and `tune`.
#[derive(clap::Args, Debug)]
pub struct StageArgs {
    /// The window store (captioned with `trend` for align, labelled for tune).
    #[arg(long)]
    pub store: PathBuf,
    /// align: the run whose frozen encoder reads the windows: a `wearlang
    /// pretrain` run (AIM patch Transformer) or a `wearlang train` run (its
    /// sensor encoder, e.g. NLS's conv encoder).
    #[arg(long)]
    pub encoder: Option<PathBuf>,
    /// tune: the stage-1 run to start from.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// The run directory.
    #[arg(long)]
    pub out: PathBuf,
    /// The run's TOML configuration (default settings without it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The LLM's GGUF file (overrides the config's `llm`).
    #[arg(long)]
    pub llm: Option<PathBuf>,
    /// Override the stage's `max_steps`.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Continue the run in `--out` from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start afresh even if `--out` already holds a run (it is replaced).
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Options of `describe`.
#[derive(clap::Args, Debug)]
pub struct DescribeArgs {
    /// A stage-1 (or stage-2) run directory.
    #[arg(long)]
    pub model: PathBuf,
    /// The window store.
    #[arg(long)]
    pub store: PathBuf,
    /// Which split.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// How many windows (the first of the split).
    #[arg(long, default_value_t = 20)]
    pub n: usize,
    /// Most tokens per answer (one answer per channel with per-channel
    /// questions; default: as many as stage 1 trained on).
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// The LLM's GGUF file (default: the one the run recorded).
    #[arg(long)]
    pub llm: Option<PathBuf>,
}

/// Run `wearlang sensorllm`.
pub fn run(args: &SensorLlmArgs) -> Result<()> {
    match &args.command {
        SensorLlmCommand::Align(a) => stage(a, true),
        SensorLlmCommand::Tune(a) => stage(a, false),
        SensorLlmCommand::Describe(a) => describe(a),
    }
}

fn load_llm(explicit: Option<&Path>, device: wearlang_device::Device) -> Result<LlmModel> {
    let path = default_model_path(explicit, Path::new("."));
    LlmModel::load(&path, device).with_context(|| format!("loading the LLM {}", path.display()))
}

fn stage(a: &StageArgs, align: bool) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => SensorLlmConfig::from_file(p)?,
        None => SensorLlmConfig::default(),
    };
    if let Some(p) = &a.llm {
        cfg.llm = Some(p.clone());
    }
    if let Some(n) = a.max_steps {
        let train = if align {
            &mut cfg.align.train
        } else {
            &mut cfg.tune.train
        };
        train.max_steps = n;
    }
    let from = if align {
        a.encoder
            .clone()
            .context("align needs --encoder (a `wearlang pretrain` or `wearlang train` run)")?
    } else {
        a.from
            .clone()
            .context("tune needs --from (a `wearlang sensorllm align` run)")?
    };
    let _lock = crate::run_dir::lock(&a.out)?;
    crate::run_dir::warn_if_unfinished(&from);
    crate::run_dir::check_fresh(&a.out, a.resume, a.overwrite)?;
    let device = wearlang_device::parse_device(&cfg.device)?;
    let llm = load_llm(cfg.llm.as_deref(), device)?;
    let opts = SensorLlmOptions {
        store: a.store.clone(),
        from,
        out: a.out.clone(),
        resume: a.resume,
        progress: !a.no_progress,
        stop_after: None,
    };
    let s = if align {
        align_sensorllm(&cfg, &opts, llm)?
    } else {
        tune_sensorllm(&cfg, &opts, llm)?
    };
    print_summary(&s);
    Ok(())
}

fn print_summary(s: &SensorLlmSummary) {
    println!(
        "{} steps on {} windows, final loss {:.4}, {:.1} windows/s; checkpoint {}",
        s.steps,
        s.train_windows,
        s.final_loss,
        s.samples_per_s,
        s.checkpoint.display()
    );
    if let Some(sel) = &s.selected {
        println!(
            "selected: step {} with {} macro-F1 {:.3}",
            sel.step,
            s.selection_split.as_deref().unwrap_or("?"),
            sel.macro_f1
        );
    }
}

fn describe(a: &DescribeArgs) -> Result<()> {
    let split = Split::parse(&a.split)?;
    let ckpt = wearlang_sensorllm::find(&a.model)?;
    let record: wearlang_sensorllm::SensorLlmCheckpointConfig =
        wearlang_models::checkpoint::read_json(&ckpt, wearlang_models::checkpoint::CONFIG_FILE)?;
    let device = wearlang_device::parse_device(&record.run.device)?;
    let llm_path = a
        .llm
        .clone()
        .or_else(|| (!record.llm_path.as_os_str().is_empty()).then(|| record.llm_path.clone()));
    let llm = load_llm(llm_path.as_deref(), device)?;
    let model = SensorLlm::load(&a.model, llm, device)?;
    for (i, d) in model
        .describe_store(
            &a.store,
            split,
            a.n,
            a.max_tokens.unwrap_or(record.run.align.max_answer_tokens),
        )?
        .iter()
        .enumerate()
    {
        println!(
            "## window {i} (subject {}, {})\nreference: {}\ngenerated: {}\n",
            d.subject,
            d.label.as_deref().unwrap_or("unlabelled"),
            d.reference.as_deref().unwrap_or("(none)"),
            d.generated
        );
    }
    Ok(())
}
