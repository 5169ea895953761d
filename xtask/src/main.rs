//! `cargo xtask`: the project's automation in plain Rust.
//!
//! - `cargo xtask setup`    fetch libtorch, the pretrained text model and LLM, UCI HAPT
//!   (converted to Parquet), BasicMotions (to CSV) and the pyActigraphy
//!   recordings into the cache
//! - `cargo xtask test`     the architecture check, setup, then fmt --check,
//!   clippy -D warnings, all tests, and the smoke pipeline
//! - `cargo xtask pipeline` setup, release build, then the end-to-end stages
//! - `cargo xtask bench X`  benchmarks that print figures and ratios
//! - `cargo xtask arch`     check the crate dependency rules (`arch.rs`)
//! - `cargo xtask fuzz T`   fuzz file reader T (or `all`) on stable Rust (`crates/fuzz`)
//! - `cargo xtask kill-test` `kill -9` training runs, resume, compare byte for byte
//! - `cargo xtask release`  a versioned model directory with its card (`release.rs`)
//! - `cargo xtask ablate D` train and score every config of ablation directory D,
//!   write its table (`ablate.rs`)
use anyhow::Result;
use clap::{Parser, Subcommand};

mod ablate;
mod arch;
mod bench;
mod bench_caption;
mod bench_llm;
mod bench_pretrain;
mod bench_train;
mod kill_test;
mod pipeline;
mod release;
mod setup;
mod util;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "wearlang automation: setup, test, pipeline, bench"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Obtain a CPU libtorch, the pretrained MiniLM and SmolLM2, UCI HAPT converted to
    /// Parquet, BasicMotions converted to CSV and the pyActigraphy recordings, into the cache
    /// (idempotent).
    Setup,
    /// Check the crate dependency rules, run setup, then `cargo fmt --check`, clippy with
    /// -D warnings, `cargo test --workspace` and the smoke pipeline.
    Test,
    /// Run setup, build in release and run the end-to-end pipeline.
    Pipeline(pipeline::PipelineArgs),
    /// Run a benchmark (`cargo xtask bench ingest`); extra arguments go to the benchmark.
    Bench {
        /// Which benchmark.
        what: String,
        /// Arguments for the benchmark.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Write a versioned, self-contained model directory (weights, config,
    /// channel schema, labels, MODEL_CARD.md, SHA256SUMS) from a train run.
    Release(release::ReleaseArgs),
    /// Check the crate dependency rules (no tch below the model crates, no
    /// evaluation <-> train, ...) against `cargo metadata`.
    Arch,
    /// Fuzz a file reader (`cargo xtask fuzz csv --seconds 60`, or `all`); crashes go to
    /// target/fuzz/crashes. Extra arguments go to `wearlang-fuzz run`.
    Fuzz {
        /// A target (`cargo xtask fuzz list`) or `all`.
        target: String,
        /// Arguments for `wearlang-fuzz run` (--seconds, --runs, --seed, --mem-mib, --verbose).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Train every config of an ablation directory (`configs/ablations/*/ablation.toml`)
    /// the same way, evaluate each on the same splits and write the table.
    Ablate(ablate::AblateArgs),
    /// `kill -9` pretrain and train at random moments and during checkpoint writes, resume,
    /// and compare with an uninterrupted run byte for byte.
    KillTest(kill_test::KillTestArgs),
}

fn main() {
    let cli = Cli::parse();
    let result: Result<()> = match cli.cmd {
        Cmd::Setup => setup::run().map(|paths| paths.print()),
        Cmd::Test => test(),
        Cmd::Pipeline(args) => pipeline::run(&args),
        Cmd::Bench { what, args } => bench::run(&what, &args),
        Cmd::Arch => arch::run(),
        Cmd::Fuzz { target, args } => fuzz(&target, &args, true),
        Cmd::KillTest(args) => kill_test::run(&args),
        Cmd::Ablate(args) => ablate::run(&args),
        Cmd::Release(args) => release::run(&args).map(|dir| println!("{}", dir.display())),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn test() -> Result<()> {
    // Seconds, and it needs no build: fail fast on a broken layering.
    arch::run()?;
    setup::run()?.print();
    util::cargo(&["fmt", "--all", "--", "--check"])?;
    util::cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    util::cargo(&["test", "--workspace"])?;
    // The end-to-end smoke pipeline (about a minute after its release build).
    let smoke = util::target_dir().join("pipeline-smoke");
    pipeline::run(&pipeline::PipelineArgs::smoke(smoke.clone()))?;
    // Faults: kills during training, then a short seeded fuzz run of every
    // file reader (the corpus of past crashes is replayed by `cargo test`).
    // Both on the dev-profile binaries `cargo test` built (the smoke
    // pipeline uses that `wearlang` too): no release build here.
    kill_test::run(&kill_test::KillTestArgs {
        bin: Some(util::target_dir().join("debug/wearlang")),
        store: Some(smoke.join("windows.parquet")),
        out: util::target_dir().join("kill-test"),
        kills: 4,
        seed: 0,
    })?;
    fuzz("all", &["--runs".into(), "150".into()], false)?;
    Ok(())
}

/// Build `wearlang-fuzz` (in release, or the dev profile) and run
/// `wearlang-fuzz run <target> <args>` (`list` lists the targets).
fn fuzz(target: &str, args: &[String], release: bool) -> Result<()> {
    let bin = if release {
        util::cargo(&["build", "--release", "-p", "wearlang-fuzz"])?;
        util::target_dir().join("release/wearlang-fuzz")
    } else {
        util::cargo(&["build", "-p", "wearlang-fuzz"])?;
        util::target_dir().join("debug/wearlang-fuzz")
    };
    let mut cmd = std::process::Command::new(bin);
    if target == "list" {
        cmd.arg("list");
    } else {
        cmd.args(["run", target])
            .args(args)
            .arg("--out")
            .arg(util::target_dir().join("fuzz"));
    }
    util::exec(&mut cmd)
}
