//! The data commands of the `wearlang` command line, which never reach
//! libtorch: `ingest`, `synth`, `caption`, `inspect` and `rewindow`.
//!
//! Two binaries run them. `wearlang` has every command (these and the
//! model commands: `train`, `eval`, `embed`, ...) and links libtorch;
//! `wearlang-data` has only these, does not link libtorch, starts in a few
//! milliseconds instead of about 0.2 s, and runs on a machine without
//! libtorch installed (an ingest or caption node of a job array, see
//! `docs/scaling.md`). The same arguments give the same files from both.
//!
//! ```
//! use clap::Parser;
//! use wearlang_cli::{DataCli, DataCommand};
//!
//! let cli = DataCli::try_parse_from(["wearlang-data", "inspect", "windows.parquet"]).unwrap();
//! assert!(matches!(cli.command, DataCommand::Inspect(_)));
//! ```
use std::path::Path;

use anyhow::Result;
use clap::{Parser, Subcommand};
use wearlang_core::fs::LockGuard;

pub mod caption;
pub mod ingest;
pub mod inspect;
pub mod rewindow;
pub mod synth;

/// The data commands (no libtorch), shared by both binaries.
#[derive(Subcommand, Debug)]
pub enum DataCommand {
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
}

impl DataCommand {
    /// Run the command.
    pub fn run(&self) -> Result<()> {
        match self {
            DataCommand::Ingest(a) => ingest::run(a),
            DataCommand::Synth(a) => synth::run(a),
            DataCommand::Inspect(a) => inspect::run(a),
            DataCommand::Rewindow(a) => rewindow::run(a),
            DataCommand::Caption(a) => caption::run(a),
        }
    }
}

/// The `wearlang-data` command line: the data commands only.
#[derive(Parser, Debug)]
#[command(name = "wearlang-data", version, long_about = None)]
#[command(
    about = "Wearable data to window stores and captions (the data commands of \
                   `wearlang`, without libtorch)."
)]
pub struct DataCli {
    /// The command to run.
    #[command(subcommand)]
    pub command: DataCommand,
}

/// Lock the output file `out` (a store, an embedding file) for the whole
/// command, through `.{name}.lock` beside it. `None` when its directory
/// does not exist (the writer then reports that, naming the path).
pub fn lock_output(out: &Path) -> Result<Option<LockGuard>> {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => Ok(None),
        _ => Ok(Some(wearlang_core::fs::lock_output(out)?)),
    }
}

/// What both binaries do around a command: restore the default `SIGPIPE`
/// action (output piped into `head` ends the process quietly, as for any
/// Unix tool, instead of a panic on the next print), run it, and on error
/// print `error: …` with its causes and exit with code 1.
pub fn main_with(run: impl FnOnce() -> Result<()>) {
    // SAFETY: called before any thread starts; SIG_DFL is a valid handler.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Err(e) = run() {
        eprintln!("error: {}", chain_message(&e));
        std::process::exit(1);
    }
}

/// The error and its causes joined by ": " (like `{:#}`), skipping a cause
/// whose text the message already contains (errors that print their source).
pub fn chain_message(e: &anyhow::Error) -> String {
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
