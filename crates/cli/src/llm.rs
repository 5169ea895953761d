//! `wearlang llm`: run the decoder LLM (SmolLM2-135M-Instruct from its GGUF
//! file) on a prompt, streaming the answer to stdout.
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;
use wearlang_device::DeviceChoice;
use wearlang_llm::{default_model_path, LlmModel, Sampling, StopReason};

/// Options of `wearlang llm`.
#[derive(clap::Args, Debug)]
pub struct LlmArgs {
    #[command(subcommand)]
    command: LlmCommand,
}

#[derive(clap::Subcommand, Debug)]
enum LlmCommand {
    /// Answer a prompt (as a chat turn unless --raw), streaming tokens.
    Generate(GenerateArgs),
}

/// Options of `wearlang llm generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// The user's message (or the raw text to continue with --raw).
    #[arg(long)]
    pub prompt: String,
    /// System message (default: the model's own, from its chat template).
    #[arg(long)]
    pub system: Option<String>,
    /// Continue the prompt as plain text instead of a chat turn.
    #[arg(long, conflicts_with = "system")]
    pub raw: bool,
    /// Most new tokens.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Keep only the K most likely tokens (0: all).
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Nucleus sampling threshold (1: off).
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Sampler seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The GGUF file (default: $WEARLANG_LLM or
    /// target/models/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print prompt length, speed and why generation stopped to stderr.
    #[arg(long)]
    pub stats: bool,
}

/// Run `wearlang llm`.
pub fn run(args: &LlmArgs) -> Result<()> {
    match &args.command {
        LlmCommand::Generate(a) => generate(a),
    }
}

fn generate(args: &GenerateArgs) -> Result<()> {
    let sampling = Sampling {
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        seed: args.seed,
    };
    sampling.validate()?;
    if args.max_tokens == 0 {
        bail!("--max-tokens must be at least 1");
    }
    let path = default_model_path(args.model.as_deref(), std::path::Path::new("."));
    let model = LlmModel::load(&path, DeviceChoice::Cpu.resolve()?)
        .with_context(|| format!("loading {}", path.display()))?;
    let prompt = if args.raw {
        model.tokenizer.encode(&args.prompt, true)
    } else {
        model.chat_prompt(args.system.as_deref(), &args.prompt)?
    };
    let opts = model.options(args.max_tokens, sampling);
    let mut out = std::io::stdout().lock();
    let mut write_error = None;
    let result = model.generate(&prompt, &opts, |piece| {
        match out.write_all(piece.as_bytes()).and_then(|_| out.flush()) {
            Ok(()) => true,
            Err(e) => {
                write_error = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = write_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e).context("writing to stdout");
        }
        return Ok(());
    }
    writeln!(out)?;
    if args.stats {
        let n = result.ids.len();
        eprintln!(
            "prompt {} tokens in {:.2} s ({:.1} tokens/s); {n} new tokens in {:.2} s ({:.1} tokens/s); stopped: {}",
            result.prompt_tokens,
            result.prefill_seconds,
            result.prompt_tokens as f64 / result.prefill_seconds.max(1e-9),
            result.decode_seconds,
            n as f64 / result.decode_seconds.max(1e-9),
            match result.stop {
                StopReason::EndOfTurn => "end of turn",
                StopReason::Length => "--max-tokens reached",
                StopReason::Callback => "output closed",
            }
        );
    }
    Ok(())
}
