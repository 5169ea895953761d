//! Reliability of run directories, store outputs, checkpoints and resume,
//! through the `wearlang` binary: two processes writing one output, temporary
//! files left by killed processes.
mod common;
use common::{
    embed, mark_unfinished, minilm_dir, stderr, synth_store_of, tiny_pretrain_config, wearlang,
};
use std::io::Write;
use std::path::Path;

/// A pid above any Linux `pid_max`: a process that is surely gone.
const DEAD_PID: u32 = 999_999_999;

fn pretrain_args<'a>(store: &'a str, cfg: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "pretrain",
        "--store",
        store,
        "--config",
        cfg,
        "--out",
        out,
        "--quiet",
        "--no-report",
    ]
}

/// Hold the lock file `path` as another process would (an open file with
/// its own lock), recording `pid` as the holder.
fn hold_lock(path: &Path, pid: u32) -> std::fs::File {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .unwrap();
    f.try_lock().unwrap();
    writeln!(f, "{pid}").unwrap();
    f
}

#[test]
fn a_second_run_into_a_locked_directory_fails_naming_it_and_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store_of(dir.path(), 2, 4);
    let cfg = tiny_pretrain_config(dir.path());
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let held = hold_lock(&run.join(".lock"), 4242);
    let args = pretrain_args(
        store.to_str().unwrap(),
        cfg.to_str().unwrap(),
        run.to_str().unwrap(),
    );
    let out = wearlang(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(run.to_str().unwrap()) && err.contains("in use by process 4242"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Nothing was written into the run directory.
    assert!(!run.join("metrics.jsonl").exists());
    assert!(!run.join("checkpoint").exists());
    // Once the holder is gone, the run goes ahead.
    drop(held);
    let out = wearlang(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run.join("checkpoint/model.safetensors").is_file());
}

#[test]
fn a_second_writer_of_a_store_or_embedding_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store_of(dir.path(), 2, 4);
    let store_s = store.to_str().unwrap();
    let before = std::fs::read(&store).unwrap();
    let held = hold_lock(&dir.path().join(".days.parquet.lock"), 4243);
    // Captioning the store in place while another process writes it.
    let out = wearlang(&["caption", store_s, "--show", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(store_s) && err.contains("process 4243"),
        "{err}"
    );
    assert_eq!(std::fs::read(&store).unwrap(), before);
    // Generating into it, too.
    let out = wearlang(&["synth", "--days", "1", "--subjects", "2", "--out", store_s]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("in use by process 4243"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&store).unwrap(), before);
    drop(held);
    let out = wearlang(&["caption", store_s, "--show", "0"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn temporary_files_of_killed_processes_are_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    // A store write aborted by a killed process.
    let stale = dir.path().join(format!(".days.parquet.{DEAD_PID}.0.tmp"));
    std::fs::write(&stale, b"half a parquet file").unwrap();
    let store = synth_store_of(dir.path(), 2, 4);
    assert!(!stale.exists(), "{} is left", stale.display());

    // A checkpoint write of a killed run.
    let cfg = tiny_pretrain_config(dir.path());
    let run = dir.path().join("run");
    let stale_ckpt = run.join(format!(".checkpoint.tmp-{DEAD_PID}"));
    std::fs::create_dir_all(&stale_ckpt).unwrap();
    std::fs::write(stale_ckpt.join("model.safetensors"), b"half").unwrap();
    // Another pid that may be alive on this machine: under the run lock no
    // other process can be writing there, so it is stale as well.
    let other = run.join(".checkpoint.tmp-1");
    std::fs::create_dir_all(&other).unwrap();
    let out = wearlang(&pretrain_args(
        store.to_str().unwrap(),
        cfg.to_str().unwrap(),
        run.to_str().unwrap(),
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale_ckpt.exists() && !other.exists());
    let left: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn resume_with_other_settings_or_another_store_is_refused_listing_the_differences() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store_of(dir.path(), 2, 4);
    let store_s = store.to_str().unwrap();
    let cfg = tiny_pretrain_config(dir.path());
    let cfg_s = cfg.to_str().unwrap();
    let run = dir.path().join("run");
    let run_s = run.to_str().unwrap();
    let out = wearlang(&pretrain_args(store_s, cfg_s, run_s));
    assert!(out.status.success(), "{}", stderr(&out));
    let config = run.join("checkpoint/config.json");
    let recorded = std::fs::read(&config).unwrap();

    // Another step budget and learning rate.
    let other_cfg = dir.path().join("other.toml");
    std::fs::write(
        &other_cfg,
        std::fs::read_to_string(&cfg).unwrap() + "[optim]\nlr = 0.01\n",
    )
    .unwrap();
    let mut args = pretrain_args(store_s, other_cfg.to_str().unwrap(), run_s);
    args.extend(["--resume", "--max-steps", "4"]);
    let out = wearlang(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("config.json")
            && err.contains("run.max_steps: 2 → 4")
            && err.contains("run.optim.lr: 0.001 → 0.01"),
        "{err}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), recorded);

    // Another store at the same path (other subjects): its identity differs.
    let saved = std::fs::read(&store).unwrap();
    let out = wearlang(&[
        "synth",
        "--days",
        "2",
        "--subjects",
        "4",
        "--seed",
        "2",
        "--out",
        store_s,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut args = pretrain_args(store_s, cfg_s, run_s);
    args.push("--resume");
    let out = wearlang(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("inputs.store.sha256_ends"), "{err}");
    assert_eq!(std::fs::read(&config).unwrap(), recorded);

    // The same store rewritten with the same bytes (a new modification
    // time) and the same arguments: resumed.
    std::fs::write(&store, &saved).unwrap();
    let out = wearlang(&args);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_unfinished_checkpoint_is_used_with_a_warning_and_its_real_steps() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store_of(dir.path(), 2, 4);
    let store_s = store.to_str().unwrap();
    let out = wearlang(&["caption", store_s, "--show", "0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cfg = dir.path().join("run.toml");
    std::fs::write(
        &cfg,
        "name = \"t\"\nbatch_size = 2\nmax_steps = 3\nlog_every = 1\n\
         [text]\nvariants = [\"high+middle+low\"]\n\
         [projection]\nout_dim = 16\n",
    )
    .unwrap();
    let run = dir.path().join("run");
    let minilm = minilm_dir();
    let out = wearlang(&[
        "train",
        "--store",
        store_s,
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--minilm",
        minilm.to_str().unwrap(),
        "--quiet",
        "--no-report",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A finished run: no warning.
    let emb = dir.path().join("emb.parquet");
    let out = embed(&run, &store, &emb);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("unfinished"), "{}", stderr(&out));

    mark_unfinished(&run, 1, 3);
    let out = embed(&run, &store, &emb);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("unfinished run (step 1 of 3)"),
        "{err}"
    );

    let eval_dir = dir.path().join("eval");
    let eval_zero_shot = || {
        wearlang(&[
            "eval",
            "--checkpoint",
            run.to_str().unwrap(),
            "--store",
            store_s,
            "--out",
            eval_dir.to_str().unwrap(),
            "--protocol",
            "zero-shot",
            "--minilm",
            minilm.to_str().unwrap(),
        ])
    };
    let out = eval_zero_shot();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("unfinished run (step 1 of 3)"));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(eval_dir.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(metrics["steps"], 1, "{metrics}");

    // A run killed while writing its metrics log: the torn last line is
    // skipped with a warning, before the protocols run.
    let log = run.join("metrics.jsonl");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"{\"step\":4,\"epoch\":0,\"lo").unwrap();
    drop(f);
    let out = eval_zero_shot();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("metrics.jsonl: line 4 is incomplete"), "{err}");
    let warned = err.find("is incomplete").unwrap();
    assert!(
        err.find("zero-shot").is_none_or(|p| p > warned),
        "the warning comes before the protocols: {err}"
    );
}

#[test]
fn a_second_evaluation_into_a_locked_output_directory_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("eval");
    std::fs::create_dir_all(&out_dir).unwrap();
    let _held = hold_lock(&out_dir.join(".lock"), 4244);
    let out = wearlang(&[
        "eval",
        "--checkpoint",
        dir.path().join("model").to_str().unwrap(),
        "--store",
        dir.path().join("store.parquet").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("in use by process 4244"), "{err}");
}

#[test]
fn wearlang_threads_pins_the_thread_count_a_run_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::captioned_store(dir.path());
    let cfg = tiny_pretrain_config(dir.path());
    let run = |threads: &str, out: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_wearlang"))
            .args(pretrain_args(
                store.to_str().unwrap(),
                cfg.to_str().unwrap(),
                out.to_str().unwrap(),
            ))
            .env("WEARLANG_THREADS", threads)
            .output()
            .unwrap()
    };
    for n in ["1", "3"] {
        let out = dir.path().join(format!("t{n}"));
        let o = run(n, &out);
        assert!(o.status.success(), "{}", stderr(&o));
        let state: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("checkpoint/state.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(state["threads"].to_string(), n, "{state}");
    }
    let bad = dir.path().join("bad");
    let o = run("two", &bad);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("WEARLANG_THREADS='two'") && !err.contains("panicked"),
        "{err}"
    );
    assert!(
        !bad.exists(),
        "nothing is written before the variable is read"
    );
}

/// A pretraining run with its values in a mapped file (`--values-on-disk`)
/// reports from its held-out and training windows kept the same way: the
/// same report as in memory, and no values file left in the run.
#[test]
fn pretraining_reports_the_same_with_values_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store_of(dir.path(), 2, 4);
    let cfg = tiny_pretrain_config(dir.path());
    let report = |name: &str, extra: &[&str]| {
        let run = dir.path().join(name);
        let mut args = pretrain_args(
            store.to_str().unwrap(),
            cfg.to_str().unwrap(),
            run.to_str().unwrap(),
        );
        args.retain(|a| *a != "--no-report");
        args.extend_from_slice(extra);
        let out = wearlang(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let names: Vec<String> = std::fs::read_dir(&run)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains("values")), "{names:?}");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap();
        json
    };
    let (a, b) = (report("mem", &[]), report("disk", &["--values-on-disk"]));
    assert!(!a["imputation"].as_array().unwrap().is_empty(), "{a}");
    assert!(a["heldout_windows"].as_u64().unwrap() > 0, "{a}");
    // The probe read the training split too.
    assert!(!a["robustness"].as_array().unwrap().is_empty(), "{a}");
    assert_eq!(a, b);
}
