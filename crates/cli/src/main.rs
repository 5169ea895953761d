//! `wearlang`: the command line of the wearlang workspace.
//!
//! ```text
//! wearlang synth --days 7 --subjects 10 --seed 0 --out synth.parquet
//! wearlang inspect synth.parquet [--json]
//! wearlang ingest ...
//! wearlang caption synth.parquet
//! wearlang pretrain --store synth.parquet --config configs/pretrain_synth.toml --out runs/mae
//! wearlang train --store windows.parquet --config configs/nls_clip.toml --out runs/nls
//! wearlang embed --model runs/nls --store windows.parquet --split test --out emb.parquet
//! wearlang classify --model runs/nls --store mine.parquet --labels "walking,sitting" --out pred.csv
//! wearlang eval --checkpoint runs/nls --store windows.parquet --out runs/nls/eval
//! wearlang llm generate --prompt "What does an accelerometer measure?"
//! wearlang paraphrase --n 4 --out crates/captioning/data/paraphrases.toml
//! ```
//!
//! Errors are printed as `error: …` with their causes, and the exit code is 1.
use clap::{Parser, Subcommand};

mod caption;
mod classify;
mod embed;
mod eval;
mod ingest;
mod inspect;
mod llm;
mod paraphrase;
mod pretrain;
mod rewindow;
mod run_dir;
mod sensorllm;
mod synth;
mod train;

/// Sensor-language foundation models on wearable data.
#[derive(Parser, Debug)]
#[command(name = "wearlang", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Ingest recordings (CSV, Parquet, Arrow IPC) into a window store.
    Ingest(Box<ingest::IngestArgs>),
    /// Generate synthetic minute-level days (heart rate, steps, sleep,
    /// activity, skin temperature) into a window store.
    Synth(synth::SynthArgs),
    /// Add caption columns (hierarchical, trend, activity) to a window store.
    Caption(caption::CaptionArgs),
    /// Summarise a window store: windows, subjects, splits, labels, channels.
    Inspect(inspect::InspectArgs),
    /// Cut a store's windows again at another length or stride, without
    /// re-ingesting the raw files.
    Rewindow(rewindow::RewindowArgs),
    /// Masked (AIM) pretraining of the patch Transformer, then an
    /// imputation / robustness report.
    Pretrain(Box<pretrain::PretrainArgs>),
    /// Sensor-language training (NLS, SensorLM CLIP / SigLIP / CoCa, UniCL,
    /// SLIP), then zero-shot (and caption) scores on the test subjects.
    Train(Box<train::TrainArgs>),
    /// Embed sensor windows or texts with a trained model (Parquet out).
    Embed(Box<embed::EmbedArgs>),
    /// Zero-shot classification of a store's windows over any label names
    /// or descriptions (CSV out: prediction and scores per window).
    Classify(Box<classify::ClassifyArgs>),
    /// Evaluate a trained run with every protocol (zero-shot, baselines,
    /// few-shot, unseen activities, retrieval, captioning): metrics.json,
    /// report.md and plots.
    Eval(Box<eval::EvalArgs>),
    /// Run the decoder LLM (SmolLM2-135M-Instruct, from its GGUF file).
    Llm(llm::LlmArgs),
    /// Ask the LLM for rewrites of the activity descriptions and templates
    /// of the knowledge base (offline text diversification), into a file.
    Paraphrase(paraphrase::ParaphraseArgs),
    /// SensorLLM: align the LLM with sensor windows (stage 1: trend
    /// descriptions), tune a classification head (stage 2), describe.
    Sensorllm(Box<sensorllm::SensorLlmArgs>),
}

fn main() {
    // Output piped into `head` and the like ends the process quietly, as
    // for any Unix tool, instead of a panic on the next print.
    // SAFETY: called before any thread starts; SIG_DFL is a valid handler.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Ingest(a) => ingest::run(a),
        Command::Synth(a) => synth::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Rewindow(a) => rewindow::run(a),
        Command::Caption(a) => caption::run(a),
        Command::Pretrain(a) => pretrain::run(a),
        Command::Train(a) => train::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Classify(a) => classify::run(a),
        Command::Llm(a) => llm::run(a),
        Command::Sensorllm(a) => sensorllm::run(a),
        Command::Paraphrase(a) => paraphrase::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {}", chain_message(&e));
        std::process::exit(1);
    }
}

/// The error and its causes joined by ": " (like `{:#}`), skipping a cause
/// whose text the message already contains (errors that print their source).
fn chain_message(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::chain_message;

    #[test]
    fn chain_skips_repeated_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = anyhow::Error::new(io)
            .context("file x: gone")
            .context("cannot open x");
        assert_eq!(chain_message(&e), "cannot open x: file x: gone");
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(chain_message(&e), "outer: inner");
    }
}
