//! `wearlang paraphrase`: rewrites of the knowledge base's activity
//! descriptions and templates by the instruct LLM, filtered, into a TOML file
//! (the built-in one is `crates/captioning/data/paraphrases.toml`).
use anyhow::{Context, Result};
use std::path::PathBuf;
use wearlang_captioning::templates::ACTIVITY;
use wearlang_captioning::KnowledgeBase;
use wearlang_device::DeviceChoice;
use wearlang_llm::paraphrase::{file_sha256, paraphrase_knowledge, ParaphraseSettings};
use wearlang_llm::{default_model_path, LlmModel};

/// Options of `wearlang paraphrase`.
#[derive(clap::Args, Debug)]
pub struct ParaphraseArgs {
    /// The file to write (TOML; written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Rewrites per description and per template.
    #[arg(long, default_value_t = 4)]
    pub n: usize,
    /// Base seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sampling temperature.
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f64,
    /// Nucleus threshold.
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f64,
    /// Only the first N descriptions and templates (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Knowledge base (TOML with [[activity]] tables; default: the built-in one).
    #[arg(long)]
    pub knowledge: Option<PathBuf>,
    /// The GGUF file (default: $WEARLANG_LLM or the one `cargo xtask setup` links).
    #[arg(long)]
    pub model: Option<PathBuf>,
}

/// Run `wearlang paraphrase`.
pub fn run(args: &ParaphraseArgs) -> Result<()> {
    let kb = match &args.knowledge {
        Some(p) => KnowledgeBase::from_path(p)?,
        None => KnowledgeBase::builtin().clone(),
    };
    let settings = ParaphraseSettings {
        n: args.n,
        seed: args.seed,
        temperature: args.temperature,
        top_p: args.top_p,
        limit: args.limit,
        ..ParaphraseSettings::default()
    };
    let path = default_model_path(args.model.as_deref(), std::path::Path::new("."));
    let model = LlmModel::load(&path, DeviceChoice::Cpu.resolve()?)
        .with_context(|| format!("loading {}", path.display()))?;
    let sha = file_sha256(&path)?;
    let started = std::time::Instant::now();
    let p = paraphrase_knowledge(&model, &sha, &kb, ACTIVITY, &settings, |done, total| {
        eprint!("\rparaphrase: {done}/{total} sources");
    })?;
    eprintln!();
    p.write(&args.out)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let (sources, kept, tried) = p.counts();
    println!(
        "{sources} sources, {kept} rewrites kept of {tried} generated, {:.0} s -> {}",
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
