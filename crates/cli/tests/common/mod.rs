//! Helpers shared by the `wearlang` binary's test files (each test file
//! uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run the `wearlang` binary with `args`.
pub fn wearlang(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wearlang"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A run's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The pretrained MiniLM's directory (`WEARLANG_MINILM`, else where
/// `cargo xtask setup` links it).
pub fn minilm_dir() -> PathBuf {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match std::env::var_os("WEARLANG_MINILM") {
        Some(p) => p.into(),
        None => ws.join("target/models/all-MiniLM-L6-v2"),
    }
}

/// The JSON summary of a successful `wearlang ingest --json`.
pub fn summary(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Assert that an ingest failed with rc 1, without a panic or a store, and
/// that its message mentions every one of `parts`.
pub fn assert_fails_naming(o: &Output, store: &Path, parts: &[&str]) {
    let msg = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
    assert!(!store.exists(), "no store may be left behind");
    for p in parts {
        assert!(msg.contains(p), "'{msg}' should mention {p}");
    }
}
