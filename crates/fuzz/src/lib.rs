//! A fuzz harness on stable Rust for wearlang's readers of files.
//!
//! A [`Target`] is one reader: its seed inputs (real files: a slice of the
//! shoulder-exercise fixture as CSV, Parquet and Arrow IPC, the fixture's
//! manifest, the repository's run configs, a tiny pretraining checkpoint and
//! the store ingest writes), a structure-aware mutation (CSV rows and
//! fields, TOML and JSON values, safetensors headers; byte flips and
//! truncations aimed at footers) and how one input is fed through the code
//! under test. [`run_catching`] runs one input and tells a clean error from
//! a panic; the `wearlang-fuzz` binary runs targets in a worker process so
//! that an abort (out of memory under its address-space limit) or a hang is
//! caught too, and writes every crash to a directory. Crashes that were
//! fixed are kept under `crates/fuzz/corpus/<target>/` and replayed by the
//! crate's tests.
//!
//! ```no_run
//! use wearlang_fuzz::{run_catching, Fixture, Outcome};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let fixture = Fixture::build(dir.path()).unwrap();
//! let scratch = dir.path().join("scratch");
//! for target in fixture.targets() {
//!     let seed = &target.seeds()[0];
//!     let outcome = run_catching(target.as_ref(), seed, &scratch);
//!     assert!(!matches!(outcome, Outcome::Panic(_)), "{}", target.name());
//! }
//! ```
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

mod fixture;
pub mod mutate;
mod targets;

pub use fixture::Fixture;

/// One reader under test.
pub trait Target: Send + Sync {
    /// The name `cargo xtask fuzz <name>` takes.
    fn name(&self) -> &'static str;
    /// Valid inputs the mutations start from.
    fn seeds(&self) -> &[Vec<u8>];
    /// One structure-aware mutation of `data`.
    fn mutate_once(&self, data: &mut Vec<u8>, rng: &mut ChaCha8Rng);
    /// Feed `input` through the code under test, using `scratch` (an empty
    /// directory) for files. An error is a correct outcome for bad input.
    fn run(&self, input: &[u8], scratch: &Path) -> anyhow::Result<()>;
}

/// A fresh input for `target`: a seed with one to four mutations, a fifth
/// of them byte-level.
pub fn next_input(target: &dyn Target, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let seeds = target.seeds();
    let mut data = seeds[rng.random_range(0..seeds.len())].clone();
    for _ in 0..rng.random_range(1..=4) {
        if rng.random_bool(0.2) {
            mutate::bytes(&mut data, rng);
        } else {
            target.mutate_once(&mut data, rng);
        }
    }
    data
}

/// How one input ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted.
    Ok,
    /// Refused with an error (its message): correct for bad input.
    Error(String),
    /// A panic (its message and location): a bug.
    Panic(String),
}

thread_local! {
    static CAPTURING: RefCell<Option<String>> = const { RefCell::new(None) };
}
static HOOK: Once = Once::new();

/// Install (once) a panic hook that, on a thread inside [`run_catching`],
/// records the message instead of printing it; elsewhere it prints as the
/// default hook does.
fn install_hook() {
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let captured = CAPTURING.with(|c| {
                let mut c = c.borrow_mut();
                match c.as_mut() {
                    Some(slot) => {
                        let loc = info
                            .location()
                            .map(|l| format!(" at {}:{}", l.file(), l.line()))
                            .unwrap_or_default();
                        let msg = info
                            .payload()
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| info.payload().downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "(no message)".into());
                        *slot = format!("{msg}{loc}");
                        true
                    }
                    None => false,
                }
            });
            if !captured {
                default(info);
            }
        }));
    });
}

/// Run `input` through `target` in an emptied `scratch` directory and say
/// how it ended; a panic is caught and reported with its location.
pub fn run_catching(target: &dyn Target, input: &[u8], scratch: &Path) -> Outcome {
    install_hook();
    if scratch.exists() {
        if let Err(e) = std::fs::remove_dir_all(scratch) {
            return Outcome::Error(format!("cannot empty {}: {e}", scratch.display()));
        }
    }
    if let Err(e) = std::fs::create_dir_all(scratch) {
        return Outcome::Error(format!("cannot create {}: {e}", scratch.display()));
    }
    CAPTURING.with(|c| *c.borrow_mut() = Some(String::new()));
    let result = panic::catch_unwind(AssertUnwindSafe(|| target.run(input, scratch)));
    let message = CAPTURING
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default();
    match result {
        Ok(Ok(())) => Outcome::Ok,
        Ok(Err(e)) => Outcome::Error(format!("{e:#}")),
        Err(_) => Outcome::Panic(message),
    }
}

/// A short, stable name for an input (FNV-1a, hex).
pub fn input_id(input: &[u8]) -> String {
    format!("{:016x}", wearlang_core::hash::fnv1a(input))
}
