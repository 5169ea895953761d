//! What the example's tests share: the fixture store, MiniLM, running the
//! `custom-parts` binary and reading its summary table.

#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

use wearlang_ingest::{ingest, IngestOptions};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A config of the example.
pub fn config_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(name)
}

/// MiniLM's directory (after `cargo xtask setup`).
pub fn minilm() -> PathBuf {
    let dir = wearlang_encoders::text::default_model_dir(None, &workspace());
    assert!(
        dir.join("model.safetensors").is_file(),
        "MiniLM not found in {} (run `cargo xtask setup`)",
        dir.display()
    );
    dir
}

/// The shoulder fixture ingested into `dir/shoulder.parquet`.
pub fn fixture_store(dir: &Path) -> PathBuf {
    let store = dir.join("shoulder.parquet");
    let opts =
        IngestOptions::from_manifest(workspace().join("fixtures/shoulder/manifest.toml")).unwrap();
    ingest(&opts, &store).unwrap();
    store
}

/// Run `custom-parts` on `store` into `out` with `config` for `steps`
/// steps; its stdout (the summary table), after asserting it succeeded.
pub fn run_custom_parts(store: &Path, out: &Path, config: &str, steps: u64) -> String {
    let run = Command::new(env!("CARGO_BIN_EXE_custom-parts"))
        .arg("--store")
        .arg(store)
        .arg("--out")
        .arg(out)
        .arg("--config")
        .arg(config_path(config))
        .arg("--minilm")
        .arg(minilm())
        .arg("--max-steps")
        .arg(steps.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    stdout
}

/// The first number of the summary row that starts with `row`.
pub fn summary_value(stdout: &str, row: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(row))
        .unwrap_or_else(|| panic!("no `{row}` row in\n{stdout}"));
    line.split('|')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
