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

/// A synthetic store of `days` days of `subjects` subjects (seed 1) at
/// `dir/days.parquet`.
pub fn synth_store_of(dir: &Path, days: u32, subjects: u32) -> PathBuf {
    let store = dir.join("days.parquet");
    let (days, subjects) = (days.to_string(), subjects.to_string());
    let out = wearlang(&[
        "synth",
        "--days",
        &days,
        "--subjects",
        &subjects,
        "--seed",
        "1",
        "--out",
        store.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    store
}

/// A small synthetic store (two days of four subjects) with captions.
pub fn captioned_store(dir: &Path) -> PathBuf {
    let store = synth_store_of(dir, 2, 4);
    let out = wearlang(&["caption", store.to_str().unwrap(), "--show", "0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    store
}

/// Assert a failure with rc 1, no panic, and a message naming every one
/// of `parts`.
pub fn assert_clear_error(o: &Output, parts: &[&str]) {
    let msg = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{msg}");
    assert!(!msg.contains("panicked"), "{msg}");
    for p in parts {
        assert!(msg.contains(p), "'{msg}' should mention {p}");
    }
}

/// Train a tiny sensor-language run (with a captioning decoder when
/// `decoder`) on `store` into `dir/name`, with MiniLM from `minilm` and
/// the `extra` arguments.
pub fn train_tiny(
    dir: &Path,
    store: &Path,
    name: &str,
    decoder: bool,
    minilm: &Path,
    extra: &[&str],
) -> Output {
    let cfg = dir.join(format!("{name}.toml"));
    let mut text = "name = \"t\"\nbatch_size = 2\nmax_steps = 2\nlog_every = 1\n\
                    checkpoint_every = 1\n[text]\nvariants = [\"high+middle+low\"]\n\
                    [projection]\nout_dim = 16\n"
        .to_string();
    if decoder {
        text.push_str(
            "[decoder]\ndim = 16\ndepth = 1\nheads = 2\nmax_len = 16\n\
             [objective]\nkind = \"sensorlm\"\nalpha = 1.0\nbeta = 1.0\ncontrastive = { kind = \"clip\" }\n",
        );
    }
    std::fs::write(&cfg, text).unwrap();
    let out = dir.join(name);
    let mut args = vec![
        "train",
        "--store",
        store.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--minilm",
        minilm.to_str().unwrap(),
        "--quiet",
        "--no-report",
    ];
    args.extend_from_slice(extra);
    wearlang(&args)
}

/// A tiny sensor-language run (no decoder) on `store`, trained into
/// `dir/run`, which must succeed; returns `dir/run`.
pub fn trained_run(dir: &Path, store: &Path) -> PathBuf {
    let out = train_tiny(dir, store, "run", false, &minilm_dir(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join("run")
}

/// `wearlang embed` of `store`'s windows with the run `model` into `out`.
pub fn embed(model: &Path, store: &Path, out: &Path) -> Output {
    wearlang(&[
        "embed",
        "--model",
        model.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--minilm",
        minilm_dir().to_str().unwrap(),
    ])
}

/// Make the checkpoint of `run` look like one of an interrupted run: step
/// `step` of `total`, unfinished.
pub fn mark_unfinished(run: &Path, step: u64, total: u64) {
    let p = run.join("checkpoint/state.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v["step"] = step.into();
    v["total_steps"] = total.into();
    v["finished"] = false.into();
    std::fs::write(&p, v.to_string()).unwrap();
}

/// A tiny AIM pretraining config for the synthetic days, at `dir/mae.toml`.
pub fn tiny_pretrain_config(dir: &Path) -> PathBuf {
    let cfg = dir.join("mae.toml");
    std::fs::write(
        &cfg,
        "batch_size = 2\nmax_steps = 2\nlog_every = 1\ncheckpoint_every = 1\n\
         [encoder]\npreset = \"tiny\"\npatch_time = 60\npatch_channel = 1\n\
         [decoder]\ndim = 16\ndepth = 1\nheads = 2\n",
    )
    .unwrap();
    cfg
}
