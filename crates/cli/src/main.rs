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
//! wearlang wise-ft --run runs/sensorlm_clip --alpha 0.5 --out runs/clip_wise05
//! wearlang llm generate --prompt "What does an accelerometer measure?"
//! wearlang paraphrase --n 4 --out crates/captioning/data/paraphrases.toml
//! ```
//!
//! Errors are printed as `error: …` with their causes, and the exit code is 1.
//! The data commands (`ingest`, `synth`, `caption`, `inspect`, `rewindow`)
//! live in the library (`wearlang_cli`), which the `wearlang-data` binary
//! runs without linking libtorch.
use clap::{Parser, Subcommand};
use wearlang_cli::DataCommand;

mod classify;
mod embed;
mod eval;
mod llm;
mod paraphrase;
mod pretrain;
mod run_dir;
mod sensorllm;
mod train;
mod wise_ft;

/// Sensor-language foundation models on wearable data.
#[derive(Parser, Debug)]
#[command(name = "wearlang", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Data(DataCommand),
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
    /// Blend a sensor-language run's fine-tuned sensor encoder with the
    /// pretrained weights it started from (WiSE-FT) into a new run.
    WiseFt(wise_ft::WiseFtArgs),
}

fn main() {
    wearlang_cli::main_with(|| {
        let cli = Cli::parse();
        // One thread count for the whole process when asked for
        // (`cargo xtask pipeline --threads`), before any tensor work.
        wearlang_device::apply_threads_env()?;
        dispatch(&cli.command)
    });
}

fn dispatch(command: &Command) -> anyhow::Result<()> {
    match command {
        Command::Data(c) => c.run(),
        Command::Pretrain(a) => pretrain::run(a),
        Command::Train(a) => train::run(a),
        Command::Embed(a) => embed::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Classify(a) => classify::run(a),
        Command::Llm(a) => llm::run(a),
        Command::Sensorllm(a) => sensorllm::run(a),
        Command::Paraphrase(a) => paraphrase::run(a),
        Command::WiseFt(a) => wise_ft::run(a),
    }
}
