//! End-to-end tests of the `wearlang` binary.
mod common;
use common::{assert_clear_error, minilm_dir, stderr, summary, wearlang};
use std::process::Command;

#[test]
fn synth_then_inspect_json_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("synth.parquet");
    let store_s = store.to_str().unwrap();
    let out = wearlang(&[
        "synth",
        "--days",
        "3",
        "--subjects",
        "5",
        "--seed",
        "4",
        "--out",
        store_s,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("15 windows"));

    let out = wearlang(&["inspect", store_s, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["summary"];
    assert_eq!(s["windows"], 15);
    assert_eq!(s["subjects"], 5);
    assert_eq!(s["recordings"], 15);
    assert_eq!(s["window_len"], 1440);
    let splits = s["split_counts"].as_object().unwrap();
    let total: u64 = splits.values().map(|n| n.as_u64().unwrap()).sum();
    assert_eq!(total, 15);
    // Each subject is in exactly one split.
    let mut subjects: Vec<String> = s["subjects_per_split"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|l| {
            l.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!(subjects.len(), 5);
    let channels: Vec<&str> = s["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(channels[0], "heart_rate");
    assert_eq!(v["meta"]["extra"]["generator"]["seed"], 4);
    let mf = s["missing_fraction"].as_f64().unwrap();
    assert!(mf > 0.0 && mf < 0.5, "{mf}");

    // The human table names the same facts.
    let out = wearlang(&["inspect", store_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("windows      15"), "{text}");
    assert!(
        text.contains("heart_rate") && text.contains("bpm"),
        "{text}"
    );

    // Same seed, same file contents (summary JSON), --no-missing gives 0.
    let full = dir.path().join("full.parquet");
    let out = wearlang(&[
        "synth",
        "--days",
        "2",
        "--subjects",
        "2",
        "--no-missing",
        "--json",
        "--out",
        full.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["missing_fraction"], 0.0);
}

#[test]
fn inspect_of_missing_or_foreign_file_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let absent = dir.path().join("absent.parquet");
    let out = wearlang(&["inspect", absent.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("absent.parquet"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let text = dir.path().join("notes.csv");
    std::fs::write(&text, "a,b\n1,2\n").unwrap();
    let out = wearlang(&["inspect", text.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("notes.csv"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_synth_settings_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("x.parquet");
    let out = wearlang(&["synth", "--days", "0", "--out", out_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("x.parquet"), "{}", stderr(&out));
    assert!(!out_path.exists());
}

#[test]
fn help_is_available_everywhere() {
    for args in [
        vec!["--help"],
        vec!["synth", "--help"],
        vec!["inspect", "--help"],
        vec!["rewindow", "--help"],
        vec!["ingest", "--help"],
        vec!["llm", "generate", "--help"],
        vec!["paraphrase", "--help"],
    ] {
        let out = wearlang(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
}

#[test]
fn caption_adds_columns_seen_by_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("c.parquet");
    let store_s = store.to_str().unwrap();
    let out = wearlang(&["synth", "--days", "1", "--subjects", "2", "--out", store_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = wearlang(&["caption", store_s, "--show", "0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = wearlang(&["inspect", store_s, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cols = v["meta"]["caption_columns"].as_array().unwrap();
    assert!(!cols.is_empty());
    assert_eq!(v["summary"]["windows"], 2);
}

#[test]
fn caption_of_an_empty_store_fails_and_leaves_it_alone() {
    use wearlang_core::{ChannelKind, ChannelSpec};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("empty.parquet");
    let channels = vec![ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate)];
    let meta = wearlang_store::StoreMeta::new(channels, 4, 1.0);
    wearlang_store::StoreWriter::create(&store, meta)
        .unwrap()
        .finish()
        .unwrap();
    let before = std::fs::read(&store).unwrap();
    let out = wearlang(&["caption", store.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no windows to caption"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&store).unwrap(), before);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// Rows and the width of the `embedding` column of an embeddings file.
fn embedding_file(path: &std::path::Path) -> (usize, usize) {
    let f = wearlang_store::embeddings::read_embeddings(path).unwrap();
    (f.embeddings.rows(), f.embeddings.dim())
}

#[test]
fn train_then_embed_windows_and_texts() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("days.parquet");
    let store_s = store.to_str().unwrap();
    let out = wearlang(&["synth", "--days", "2", "--subjects", "3", "--out", store_s]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = wearlang(&["caption", store_s, "--show", "0"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cfg = dir.path().join("run.toml");
    std::fs::write(
        &cfg,
        "name = \"t\"\nbatch_size = 3\nmax_steps = 2\nlog_every = 1\n\
         [text]\nvariants = [\"high+middle+low\", \"low\"]\n\
         [projection]\nout_dim = 16\n",
    )
    .unwrap();
    let run = dir.path().join("run");
    let minilm = minilm_dir();
    let args = |extra: &[&str]| {
        let mut v = vec![
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
        ];
        v.extend_from_slice(extra);
        v.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let a = args(&[]);
    let out = wearlang(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(run.join("checkpoint/model.safetensors").is_file());
    // Training afresh into it is refused (the run is kept) unless asked.
    let weights = std::fs::read(run.join("checkpoint/model.safetensors")).unwrap();
    let out = wearlang(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("already holds a run"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(run.join("checkpoint/model.safetensors")).unwrap(),
        weights
    );
    // Afresh, with the values mapped from a file in the run directory: the
    // same weights, and the file is gone.
    let again = args(&["--overwrite", "--values-on-disk"]);
    let out = wearlang(&again.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(run.join("checkpoint/model.safetensors")).unwrap(),
        weights
    );
    let left = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("values"))
        .count();
    assert_eq!(left, 0);

    let emb = dir.path().join("w.parquet");
    let out = wearlang(&[
        "embed",
        "--model",
        run.to_str().unwrap(),
        "--store",
        store_s,
        "--out",
        emb.to_str().unwrap(),
        "--minilm",
        minilm.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(embedding_file(&emb), (6, 16));

    let texts = dir.path().join("t.txt");
    std::fs::write(&texts, "walking fast\n\nsleeping\nheart rate rises\n").unwrap();
    let temb = dir.path().join("t.parquet");
    let out = wearlang(&[
        "embed",
        "--model",
        run.to_str().unwrap(),
        "--texts",
        texts.to_str().unwrap(),
        "--out",
        temb.to_str().unwrap(),
        "--minilm",
        minilm.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(embedding_file(&temb), (3, 16));

    // An output that is the input is refused, and the input is untouched.
    let before = std::fs::read(&store).unwrap();
    let out = wearlang(&[
        "embed",
        "--model",
        run.to_str().unwrap(),
        "--store",
        store_s,
        "--out",
        store_s,
        "--minilm",
        minilm.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("replace the input"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&store).unwrap(), before);

    // Neither input, or a model directory without a checkpoint: clear errors.
    let out = wearlang(&[
        "embed",
        "--model",
        run.to_str().unwrap(),
        "--out",
        "x.parquet",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--store"), "{}", stderr(&out));
    let out = wearlang(&[
        "embed",
        "--model",
        dir.path().to_str().unwrap(),
        "--texts",
        texts.to_str().unwrap(),
        "--out",
        temb.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no checkpoint"), "{}", stderr(&out));

    // A model directory with its text model under `text/` (as `cargo xtask
    // release` writes it) needs no other copy of MiniLM.
    let bundle = dir.path().join("bundle");
    std::fs::create_dir_all(bundle.join("text")).unwrap();
    let ckpt = run.join("checkpoint");
    for f in ["model.safetensors", "config.json", "state.json"] {
        std::fs::copy(ckpt.join(f), bundle.join(f)).unwrap();
    }
    let embed_alone = |model: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_wearlang"))
            .args(["embed", "--model"])
            .arg(model)
            .arg("--texts")
            .arg(&texts)
            .arg("--out")
            .arg(dir.path().join("bundle_texts.parquet"))
            .current_dir(dir.path())
            .env("WEARLANG_MINILM", dir.path().join("no-minilm-here"))
            .output()
            .unwrap()
    };
    let out = embed_alone(&bundle);
    assert!(!out.status.success(), "found a text model without text/");
    for f in ["vocab.txt", "model.safetensors", "config.json"] {
        std::fs::copy(minilm.join(f), bundle.join("text").join(f)).unwrap();
    }
    let out = embed_alone(&bundle);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn eval_writes_metrics_report_and_plots_on_the_fixture() {
    let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("shoulder.parquet");
    let store_s = store.to_str().unwrap();
    let manifest = ws.join("fixtures/shoulder/manifest.toml");
    let out = wearlang(&[
        "ingest",
        "--manifest",
        manifest.to_str().unwrap(),
        "--out",
        store_s,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let minilm = minilm_dir();
    let run = dir.path().join("run");
    let out = wearlang(&[
        "train",
        "--store",
        store_s,
        "--config",
        ws.join("configs/nls_clip.toml").to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
        "--max-steps",
        "4",
        "--minilm",
        minilm.to_str().unwrap(),
        "--quiet",
        "--no-report",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Unknown protocols and a missing pretraining report fail before any work.
    let eval_dir = dir.path().join("eval");
    let base = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "eval",
            "--checkpoint",
            run.to_str().unwrap(),
            "--store",
            store_s,
            "--out",
            eval_dir.to_str().unwrap(),
            "--minilm",
            minilm.to_str().unwrap(),
            "--quiet",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let a = base(&["--protocol", "zero-shot,mind-reading"]);
    let out = wearlang(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("mind-reading"), "{}", stderr(&out));
    let a = base(&["--pretrain", dir.path().join("nowhere").to_str().unwrap()]);
    let out = wearlang(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nowhere"), "{}", stderr(&out));
    assert!(!eval_dir.join("metrics.json").exists());

    let cfg = dir.path().join("eval.toml");
    std::fs::write(
        &cfg,
        "[supervised]\nsteps = 3\n[few_shot]\nshots = [2]\nseeds = 1\nhead_steps = 2\n\
         [unseen]\nn_groups = 2\nsteps = 2\n[retrieval]\nmax_windows = 200\n",
    )
    .unwrap();
    let a = base(&["--config", cfg.to_str().unwrap()]);
    let out = wearlang(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", stderr(&out));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(eval_dir.join("metrics.json")).unwrap())
            .unwrap();
    let protocols: Vec<&str> = metrics["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["protocol"].as_str().unwrap())
        .collect();
    assert_eq!(
        protocols,
        [
            "zero_shot",
            "linear_probe",
            "supervised",
            "few_shot",
            "unseen",
            "retrieval"
        ]
    );
    assert_eq!(metrics["skipped"][0][0], "captioning");
    assert_eq!(metrics["classes"].as_array().unwrap().len(), 7);
    let md = std::fs::read_to_string(eval_dir.join("report.md")).unwrap();
    assert!(md.contains("## Unseen activities") && md.contains("loss_curves.png"));
    let summary: Vec<(String, String)> =
        serde_json::from_str(&std::fs::read_to_string(eval_dir.join("summary.json")).unwrap())
            .unwrap();
    assert!(summary.iter().any(|(m, _)| m.contains("supervised")));
    for f in ["confusion_zero_shot.png", "few_shot.svg", "loss_curves.png"] {
        assert!(eval_dir.join(f).is_file(), "{f} missing");
    }

    // Retrieval over a caption column the store lacks names it and the fix,
    // and leaves the earlier results alone.
    let before = std::fs::read(eval_dir.join("metrics.json")).unwrap();
    let a = base(&["--protocol", "retrieval", "--retrieval-variant", "trend"]);
    let out = wearlang(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("`trend`") && err.contains("wearlang caption"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(eval_dir.join("metrics.json")).unwrap(),
        before
    );

    // A user's own store: three of the classes under other names, the
    // channels under other names (`accel_x`, `gyro_x`, matched by kind and
    // axis) in reverse order, one more channel the model does not read.
    let mine = dir.path().join("mine.parquet");
    let renamed = relabelled_store(&store, &mine);
    let mine_eval = dir.path().join("mine_eval");
    let out = wearlang(&[
        "eval",
        "--checkpoint",
        run.to_str().unwrap(),
        "--store",
        mine.to_str().unwrap(),
        "--out",
        mine_eval.to_str().unwrap(),
        "--minilm",
        minilm.to_str().unwrap(),
        "--protocol",
        "zero-shot,linear-probe",
        "--quiet",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(mine_eval.join("metrics.json")).unwrap())
            .unwrap();
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    let mut classes = names(&metrics["classes"]);
    classes.sort();
    let mut expected: Vec<String> = renamed.iter().map(|(_, n)| n.to_string()).collect();
    expected.sort();
    assert_eq!(classes, expected);
    assert_eq!(names(&metrics["model_classes"]).len(), 7);
    let mut unseen = names(&metrics["unseen_classes"]);
    unseen.sort();
    assert_eq!(
        unseen, expected,
        "all three renamed classes are new to the model"
    );
    assert_eq!(names(&metrics["dropped_channels"]), ["temp"]);
    let md = std::fs::read_to_string(mine_eval.join("report.md")).unwrap();
    assert!(md.contains("New to it: 3 of 3"), "{md}");

    // Label-open zero-shot over names and descriptions of the user's own.
    let labels = dir.path().join("labels.txt");
    std::fs::write(
        &labels,
        "# my classes\nswing: the arm hangs and swings like a pendulum\nraise sideways\n\nlift forward: the straight arm rises in front\n",
    )
    .unwrap();
    let pred = dir.path().join("pred.csv");
    let classify = |extra: &[&str]| {
        let mut v = vec![
            "classify",
            "--model",
            run.to_str().unwrap(),
            "--store",
            mine.to_str().unwrap(),
            "--out",
            pred.to_str().unwrap(),
            "--minilm",
            minilm.to_str().unwrap(),
        ];
        v.extend_from_slice(extra);
        wearlang(&v)
    };
    let out = classify(&["--label-text", labels.to_str().unwrap(), "--split", "test"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = std::fs::read_to_string(&pred).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "window,recording,subject,start_ms,split,label,predicted,score,\
         score:swing,score:raise sideways,score:lift forward"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r.len(), 11, "{r:?}");
        assert_eq!(r[4], "test");
        assert!(
            ["swing", "raise sideways", "lift forward"].contains(&r[6]),
            "{r:?}"
        );
        // The prediction's score is the largest of the three.
        let scores: Vec<f32> = r[8..].iter().map(|v| v.parse().unwrap()).collect();
        let top: f32 = r[7].parse().unwrap();
        assert!(scores.iter().all(|&v| v <= top), "{r:?}");
    }
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains(&format!("{} windows", rows.len())), "{said}");
    // The store's own names as candidates are scored against its labels.
    let own = renamed
        .iter()
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",");
    let out = classify(&["--labels", &own]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(said.contains("against the store's labels"), "{said}");
    // On the model's training scale: the relabelled store's own statistics
    // (fitted on the windows it kept) are not the model's, so the scores
    // move; the windows and the candidates are the same.
    let own_scale = std::fs::read_to_string(&pred).unwrap();
    let out = classify(&["--labels", &own, "--normalisation", "model"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let model_scale = std::fs::read_to_string(&pred).unwrap();
    let rows = |csv: &str| -> Vec<(String, f64)> {
        csv.lines()
            .skip(1)
            .map(|l| {
                let (head, score) = l.rsplit_once(',').unwrap();
                (
                    head.split(',').take(6).collect::<Vec<_>>().join(","),
                    score.parse().unwrap(),
                )
            })
            .collect()
    };
    let (a, b) = (rows(&own_scale), rows(&model_scale));
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(x, y)| x.0 == y.0));
    assert!(a.iter().zip(&b).any(|(x, y)| (x.1 - y.1).abs() > 1e-4));
    let out = classify(&["--labels", &own, "--normalisation", "mine"]);
    assert!(
        stderr(&out).contains("expected store or model"),
        "{}",
        stderr(&out)
    );
    // Bad label lists and a store without a channel the model reads.
    let out = classify(&["--labels", "walking"]);
    assert!(stderr(&out).contains("at least 2"), "{}", stderr(&out));
    let out = classify(&["--labels", "a,b,a"]);
    assert!(
        stderr(&out).contains("`a` is given twice"),
        "{}",
        stderr(&out)
    );
    let lacking = dir.path().join("lacking.parquet");
    drop_channel(&store, &lacking, "wz");
    let out = wearlang(&[
        "classify",
        "--model",
        run.to_str().unwrap(),
        "--store",
        lacking.to_str().unwrap(),
        "--labels",
        "a,b",
        "--out",
        pred.to_str().unwrap(),
        "--minilm",
        minilm.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert!(
        !out.status.success()
            && err.contains("lacking.parquet")
            && err.contains("without [\"wz\"]"),
        "{err}"
    );
}

/// Rewrite `store` into `out` with the channels of `keep(channels)`
/// renamed by `rename`, the windows `relabel` keeps (and their new labels),
/// and one more constant channel `temp` when `extra`.
fn rewrite_store(
    store: &std::path::Path,
    out: &std::path::Path,
    keep: impl Fn(&[String]) -> Vec<usize>,
    relabel: impl Fn(&str) -> Option<String>,
    rename: impl Fn(&str) -> String,
    extra: bool,
) {
    use wearlang_core::{ChannelKind, ChannelSpec, LabelVocab, Normalisation, Split};
    use wearlang_store::{ReadOptions, StoreReader, StoreWriter};
    let reader = StoreReader::open(store).unwrap();
    let mut meta = reader.meta().clone();
    let names: Vec<String> = meta.channels.iter().map(|c| c.name.clone()).collect();
    let order = keep(&names);
    let c = names.len();
    let mut windows = Vec::new();
    for mut w in reader.read_all(ReadOptions::default()).unwrap() {
        let Some(label) = w.label.as_deref().and_then(&relabel) else {
            continue;
        };
        w.label = Some(label);
        let steps = w.values.len() / c;
        let width = order.len() + usize::from(extra);
        let (mut v, mut m) = (Vec::with_capacity(steps * width), Vec::new());
        for t in 0..steps {
            v.extend(order.iter().map(|&j| w.values[t * c + j]));
            m.extend(order.iter().map(|&j| w.missing[t * c + j]));
            if extra {
                v.push(36.5);
                m.push(false);
            }
        }
        w.values = v;
        w.missing = m;
        w.channels = width;
        windows.push(w);
    }
    meta.channels = order
        .iter()
        .map(|&j| {
            let mut c = meta.channels[j].clone();
            c.name = rename(&c.name);
            c
        })
        .collect();
    if extra {
        meta.channels
            .push(ChannelSpec::new("temp", "C", ChannelKind::Other));
    }
    let mut labels: Vec<String> = windows.iter().filter_map(|w| w.label.clone()).collect();
    labels.sort();
    labels.dedup();
    meta.labels = LabelVocab::new(labels);
    meta.normalisation = Some(Normalisation::fit(
        windows.iter().filter(|w| w.split == Split::Train),
        meta.channels.len(),
    ));
    let mut writer = StoreWriter::create(out, meta).unwrap();
    writer.write(&windows).unwrap();
    writer.finish().unwrap();
}

/// Three classes of `store` under new names, channels reversed, plus a
/// `temp` channel; returns (old, new) label names.
fn relabelled_store(
    store: &std::path::Path,
    out: &std::path::Path,
) -> [(&'static str, &'static str); 3] {
    let renamed = [
        ("PEN", "arm swing"),
        ("ABD", "side raise"),
        ("FEL", "front raise"),
    ];
    rewrite_store(
        store,
        out,
        |names| (0..names.len()).rev().collect(),
        |l| {
            renamed
                .iter()
                .find(|(old, _)| *old == l)
                .map(|(_, new)| new.to_string())
        },
        |name| match name.split_at(1) {
            ("a", axis) => format!("accel_{axis}"),
            (_, axis) => format!("gyro_{axis}"),
        },
        true,
    );
    renamed
}

/// `store` without channel `name`.
fn drop_channel(store: &std::path::Path, out: &std::path::Path, name: &str) {
    rewrite_store(
        store,
        out,
        |names| (0..names.len()).filter(|&j| names[j] != name).collect(),
        |l| Some(l.to_string()),
        str::to_string,
        false,
    );
}

fn llm_path() -> std::path::PathBuf {
    let ws = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    wearlang_llm::default_model_path(None, &ws)
}

#[test]
fn llm_generate_streams_the_reference_answer_and_refuses_bad_settings() {
    let model = llm_path();
    let model_s = model.to_str().unwrap();
    // The first prompt of fixtures/reference/smollm2_135m_instruct.json is
    // this chat turn without a system message: greedy gives its answer.
    let out = wearlang(&[
        "llm",
        "generate",
        "--model",
        model_s,
        "--prompt",
        "What is the capital of France?",
        "--system",
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
        "--max-tokens",
        "12",
        "--stats",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Paris"), "{text}");
    assert!(!text.contains("<|im_end|>"), "{text}");
    assert!(stderr(&out).contains("tokens/s"), "{}", stderr(&out));
    // Seeded sampling repeats itself.
    let sample = |seed: &str| {
        let o = wearlang(&[
            "llm",
            "generate",
            "--model",
            model_s,
            "--raw",
            "--prompt",
            "The heart rate of a runner",
            "--max-tokens",
            "8",
            "--temperature",
            "0.9",
            "--top-p",
            "0.9",
            "--seed",
            seed,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert_eq!(sample("3"), sample("3"));
    // Bad settings and a missing model are clear errors.
    let o = wearlang(&[
        "llm", "generate", "--model", model_s, "--prompt", "x", "--top-p", "0",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("top_p"),
        "{}",
        stderr(&o)
    );
    let o = wearlang(&[
        "llm",
        "generate",
        "--model",
        "/nonexistent/m.gguf",
        "--prompt",
        "x",
    ]);
    assert!(!o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("/nonexistent/m.gguf") && stderr(&o).contains("cargo xtask setup"));
    let o = wearlang(&[
        "llm",
        "generate",
        "--model",
        model_s,
        "--prompt",
        "x",
        "--max-tokens",
        "9000",
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("max_tokens"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn ingest_refuses_to_write_over_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("data.csv");
    let text = "time_ms,x\n0,1.0\n20,2.0\n";
    std::fs::write(&csv, text).unwrap();
    let csv_s = csv.to_str().unwrap();
    let out = wearlang(&["ingest", csv_s, "--out", csv_s, "--channels", "x"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("replace the input") && err.contains("data.csv"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), text);
    // Inside an input directory, too.
    let inside = dir.path().join("w.parquet");
    let out = wearlang(&[
        "ingest",
        dir.path().to_str().unwrap(),
        "--out",
        inside.to_str().unwrap(),
    ]);
    assert!(
        stderr(&out).contains("inside the input"),
        "{}",
        stderr(&out)
    );
    assert!(!inside.exists());
}

/// `wearlang rewindow` cuts the fixture's 2 s store into 4 s windows every
/// 1 s: as many windows as ingesting again with those settings, the new
/// length in the metadata; settings that are not whole steps fail naming
/// the flag, leaving nothing behind.
#[test]
fn rewindow_cuts_a_store_again_like_a_new_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/shoulder/manifest.toml"
    );
    let base = dir.path().join("base.parquet");
    let direct = dir.path().join("direct.parquet");
    let cut = dir.path().join("cut.parquet");
    let (base_s, direct_s, cut_s) = (
        base.to_str().unwrap(),
        direct.to_str().unwrap(),
        cut.to_str().unwrap(),
    );
    summary(&wearlang(&[
        "ingest",
        "--manifest",
        manifest,
        "--out",
        base_s,
        "--json",
    ]));
    let want = summary(&wearlang(&[
        "ingest",
        "--manifest",
        manifest,
        "--out",
        direct_s,
        "--window-s",
        "4",
        "--overlap",
        "0.75",
        "--json",
    ]));
    let out = wearlang(&[
        "rewindow",
        "--store",
        base_s,
        "--out",
        cut_s,
        "--window-s",
        "4",
        "--stride-s",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&wearlang(&["inspect", cut_s, "--json"]).stdout).unwrap();
    assert_eq!(v["summary"]["windows"], want["store"]["windows"]);
    assert_eq!(v["meta"]["window_len"], 200);
    assert_eq!(v["meta"]["extra"]["rewindow"]["stride"], 50);
    let bad = dir.path().join("bad.parquet");
    let out = wearlang(&[
        "rewindow",
        "--store",
        base_s,
        "--out",
        bad.to_str().unwrap(),
        "--window-s",
        "0.013",
    ]);
    assert_clear_error(&out, &["window_s", "0.65 steps"]);
    assert!(!bad.exists());
}
