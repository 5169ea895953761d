//! The evaluation protocols on a small sensor-language model trained with
//! the real MiniLM on a four-class synthetic store: every protocol runs and
//! reports consistent numbers, baselines learn the easy classes, few-shot
//! adaptation leaves the model as it found it, unseen-activity runs really
//! leave their group out and are reused, plots and report are written.

use std::path::{Path, PathBuf};

use wearlang_core::{ChannelKind, ChannelSpec, LabelVocab, Normalisation, Split, Window};
use wearlang_evaluation::{
    evaluators, loss_series, partition_classes, run_protocols, EvalConfig, EvalContext,
    FewShotMethod, ProtocolResult,
};
use wearlang_models::checkpoint::{find_checkpoint, read_json, CONFIG_FILE};
use wearlang_models::sensor_language::SensorKind;
use wearlang_models::{
    load_sensor_language, load_split, load_training_windows, SensorLanguageCheckpointConfig,
    SensorLanguageConfig, SensorLanguageOptions,
};
use wearlang_store::{StoreMeta, StoreWriter};
use wearlang_train::{train_sensor_language, DefaultTrainer};

const STEPS: usize = 32;
const CLASSES: [&str; 4] = ["walking", "sitting", "running", "cycling"];

fn minilm() -> PathBuf {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = wearlang_encoders::text::default_model_dir(None, &ws);
    assert!(
        dir.join("model.safetensors").is_file(),
        "MiniLM not found in {} (run `cargo xtask setup`)",
        dir.display()
    );
    dir
}

/// Four activities with distinct signals (sines of different frequency on
/// channel 0, flat, a square wave on channel 1); 6 subjects, 2 for testing;
/// some values missing.
fn store(dir: &Path) -> PathBuf {
    let path = dir.join("four_classes.parquet");
    let mut windows = Vec::new();
    let mut k = 0u32;
    let mut noise = || {
        k = k.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((k >> 16) as f32 / 65_536.0 - 0.5) * 0.2
    };
    for s in 0..6 {
        for i in 0..32 {
            let c = (i % 4) as usize;
            let mut v = Vec::with_capacity(STEPS * 2);
            for t in 0..STEPS {
                let tf = t as f32;
                let (a, b) = match c {
                    0 => ((tf * 0.5 + s as f32).sin(), 0.0),
                    1 => (0.0, 0.0),
                    2 => ((tf * 1.5 + s as f32).sin() * 2.0, 0.0),
                    _ => (0.0, if (t / 4) % 2 == 0 { 1.0 } else { -1.0 }),
                };
                v.push(a + noise());
                v.push(b + noise());
            }
            if i % 5 == 0 {
                v[6] = f32::NAN;
            }
            let mut w =
                Window::from_values(format!("s{s}"), format!("s{s}-r0"), i * 640, 50.0, 2, v)
                    .unwrap();
            w.label = Some(CLASSES[c].into());
            // A caption column with one distinct text per window.
            w.captions.insert(
                "note".into(),
                format!("{} window {i} of subject {s}", CLASSES[c]),
            );
            w.split = if s < 4 { Split::Train } else { Split::Test };
            windows.push(w);
        }
    }
    let mut meta = StoreMeta::new(
        vec![
            ChannelSpec::new("ax", "g", ChannelKind::Accelerometer),
            ChannelSpec::new("ay", "g", ChannelKind::Accelerometer),
        ],
        STEPS,
        50.0,
    );
    meta.labels = LabelVocab::sorted(CLASSES);
    meta.caption_columns = vec!["note".into()];
    meta.normalisation = Some(Normalisation::fit(
        windows.iter().filter(|w| w.split == Split::Train),
        2,
    ));
    let mut w = StoreWriter::create(&path, meta).unwrap();
    w.write(&windows).unwrap();
    w.finish().unwrap();
    path
}

fn config() -> SensorLanguageConfig {
    let mut c = SensorLanguageConfig {
        name: "eval-test".into(),
        seed: 3,
        batch_size: 16,
        max_steps: 60,
        checkpoint_every: 100,
        log_every: 5,
        ..SensorLanguageConfig::default()
    };
    c.sensor.kind = SensorKind::Conv;
    c.projection.out_dim = 32;
    c.optim.lr = 3e-3;
    c.schedule.warmup_steps = 2;
    c
}

fn small_eval() -> EvalConfig {
    let mut e = EvalConfig::default();
    e.supervised.steps = 80;
    e.supervised.batch_size = 16;
    e.few_shot.shots = vec![1, 4];
    e.few_shot.seeds = 2;
    e.few_shot.head_steps = 10;
    e.unseen.n_groups = 2;
    e.unseen.steps = 20;
    e
}

fn train(store: &Path, out: &Path, cfg: &SensorLanguageConfig) {
    train_sensor_language(
        cfg,
        &SensorLanguageOptions {
            store: store.to_path_buf(),
            extra_stores: Vec::new(),
            out: out.to_path_buf(),
            resume: false,
            progress: false,
            stop_after: None,
            minilm_dir: Some(minilm()),
            values: Default::default(),
        },
    )
    .unwrap();
}

#[test]
fn every_protocol_runs_and_reports_consistent_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let run = dir.path().join("run");
    train(&store, &run, &config());
    let loaded = load_sensor_language(&run, Some(&minilm()), tch::Device::Cpu).unwrap();
    let train_set = load_training_windows(&store).unwrap();
    let test = load_split(&store, Split::Test).unwrap();
    let work = dir.path().join("eval");
    let ctx = EvalContext {
        model: &loaded.model,
        store: &store,
        train: &train_set,
        test: &test,
        classes: loaded.config.labels.clone(),
        work_dir: work.clone(),
        minilm_dir: Some(minilm()),
        progress: false,
        trainer: Some(&DefaultTrainer),
    };
    let before = loaded.model.embed_windows(&test.x, 64).unwrap();
    let before_text = loaded.model.embed_texts(&["walking"], 4).unwrap();
    let flags: Vec<(String, bool)> = loaded
        .model
        .vs
        .variables()
        .into_iter()
        .map(|(n, v)| (n, v.requires_grad()))
        .collect();

    let cfg = small_eval();
    let evals = evaluators(&cfg, &[]).unwrap();
    let mut log = Vec::new();
    let report = run_protocols(&ctx, &evals, |m| log.push(m.to_string())).unwrap();

    // Captioning does not apply to a CLIP model: skipped with a reason.
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert_eq!(report.skipped[0].0, "captioning");
    assert!(report.skipped[0].1.contains("decoder"));
    assert_eq!(report.results.len(), 6);
    let n_test = test.len();
    let mut seen = Vec::new();
    for r in &report.results {
        match r {
            ProtocolResult::ZeroShot(z) => {
                seen.push("zero-shot");
                for x in [&z.base, &z.ensemble, &z.knowledge] {
                    assert_eq!(x.report.n_samples, n_test);
                    assert_eq!(x.predictions.len(), n_test);
                }
                assert_eq!(z.base.prompts_per_class, 1);
                assert!(z.ensemble.prompts_per_class > 1);
                // The model learned something on these easy classes.
                assert!(z.base.report.macro_f1 > 0.5, "{}", z.base.report.macro_f1);
            }
            ProtocolResult::LinearProbe(c) => {
                seen.push("linear-probe");
                assert_eq!(c.train_windows, train_set.len());
                assert!(c.report.macro_f1 > 0.8, "probe {}", c.report.macro_f1);
            }
            ProtocolResult::Supervised(c) => {
                seen.push("supervised");
                assert_eq!(c.report.n_samples, n_test);
                assert!(c.report.macro_f1 > 0.8, "supervised {}", c.report.macro_f1);
            }
            ProtocolResult::FewShot(f) => {
                seen.push("few-shot");
                assert_eq!(f.shots, vec![1, 4]);
                assert_eq!(f.available_per_class, vec![32; 4]);
                assert_eq!(f.series.len(), 2);
                for s in &f.series {
                    assert_eq!(s.macro_f1.len(), 2);
                    for per_seed in &s.macro_f1 {
                        assert_eq!(per_seed.len(), 2);
                        assert!(per_seed.iter().all(|v| (0.0..=1.0).contains(v)));
                    }
                    assert_eq!(s.summary[0].n, 2);
                }
                assert_eq!(f.series[0].method, FewShotMethod::ProjectionHeads);
                // Different seeds draw different windows at k = 1: the probe's
                // scores are not all identical across seeds and shots.
                let probe = &f.series[1].macro_f1;
                assert!(probe.iter().flatten().any(|v| *v != probe[0][0]) || probe[0][0] == 1.0);
            }
            ProtocolResult::Unseen(u) => {
                seen.push("unseen");
                assert_eq!(u.groups.len(), 2);
                let mut all: Vec<String> =
                    u.groups.iter().flat_map(|g| g.classes.clone()).collect();
                all.sort();
                let mut want: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
                want.sort();
                assert_eq!(all, want, "groups partition the classes");
                for (g, grp) in u.groups.iter().enumerate() {
                    assert!(!grp.reused);
                    assert_eq!(grp.train_windows, train_set.len() - 32 * grp.classes.len());
                    assert_eq!(grp.base.classes, grp.classes);
                    assert_eq!(grp.base.report.n_samples, 16 * grp.classes.len());
                    assert_eq!(grp.knowledge.classes, grp.classes);
                    assert_eq!(grp.knowledge.report.n_samples, 16 * grp.classes.len());
                    assert!(grp.knowledge.prompts_per_class > 1);
                    let ckpt = find_checkpoint(&work.join(format!("unseen_{g}"))).unwrap();
                    let saved: SensorLanguageCheckpointConfig =
                        read_json(&ckpt, CONFIG_FILE).unwrap();
                    assert_eq!(saved.run.exclude_labels, grp.classes);
                    assert_eq!(saved.run.max_steps, 20);
                }
                let mean = |f: fn(&wearlang_evaluation::UnseenGroup) -> f64| {
                    u.groups.iter().map(f).sum::<f64>() / u.groups.len() as f64
                };
                assert!(
                    (u.mean_macro_f1_knowledge - mean(|g| g.knowledge.report.macro_f1)).abs()
                        < 1e-12
                );
                assert!((u.mean_macro_f1_base - mean(|g| g.base.report.macro_f1)).abs() < 1e-12);
            }
            ProtocolResult::Retrieval(r) => {
                seen.push("retrieval");
                assert_eq!(r.variant, "activity");
                assert_eq!(r.windows, n_test);
                assert_eq!(r.texts, 4, "one base-template text per class");
                let f = &r.scores.forward;
                assert_eq!(f.ranks.len(), n_test);
                assert!(f.recall_at_1 <= f.recall_at_5 && f.recall_at_5 <= f.recall_at_10);
                assert_eq!(f.recall_at_5, 1.0, "4 texts: everything is in the top 5");
                assert_eq!(r.scores.backward.ranks.len(), 4);
            }
            ProtocolResult::Captioning(_) => panic!("captioning should have been skipped"),
            ProtocolResult::SensorLlm(_) => panic!("no SensorLLM run is named, yet it ran"),
            ProtocolResult::Custom(c) => {
                panic!("no protocol is registered here, yet {} ran", c.name)
            }
        }
    }
    assert_eq!(
        seen,
        [
            "zero-shot",
            "linear-probe",
            "supervised",
            "few-shot",
            "unseen",
            "retrieval"
        ]
    );
    assert_eq!(log.len(), 7);

    // Few-shot adaptation put the projection heads and flags back.
    let after = loaded.model.embed_windows(&test.x, 64).unwrap();
    assert!(before.equal(&after), "few-shot changed the model");
    assert!(before_text.equal(&loaded.model.embed_texts(&["walking"], 4).unwrap()));
    for (n, v) in loaded.model.vs.variables() {
        let want = flags.iter().find(|(m, _)| *m == n).unwrap().1;
        assert_eq!(v.requires_grad(), want, "{n}");
    }

    // Plots and report.
    let plots = report
        .write_plots(&work, Some(&run.join("metrics.jsonl")))
        .unwrap();
    for stem in [
        "confusion_zero_shot",
        "confusion_linear_probe",
        "confusion_supervised",
        "few_shot",
        "retrieval_ranks",
        "loss_curves",
    ] {
        for ext in ["png", "svg"] {
            let p = work.join(format!("{stem}.{ext}"));
            assert!(plots.contains(&p), "{} not written", p.display());
        }
        let png = std::fs::read(work.join(format!("{stem}.png"))).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
    let md = report.to_markdown(&plots);
    for section in [
        "## Zero-shot classification",
        "## Linear probe",
        "## Supervised baseline",
        "## Few-shot adaptation",
        "## Unseen activities",
        "## Retrieval",
        "![few-shot curve](few_shot.png)",
        "_captioning: skipped",
    ] {
        assert!(md.contains(section), "report lacks {section}");
    }
    let json = serde_json::to_string(&report).unwrap();
    let back: wearlang_evaluation::EvalReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.results.len(), 6);

    // A second unseen evaluation reuses the finished runs and agrees.
    let unseen_only = evaluators(&cfg, &["unseen".to_string()]).unwrap();
    let again = run_protocols(&ctx, &unseen_only, |_| {}).unwrap();
    let (ProtocolResult::Unseen(a), Some(ProtocolResult::Unseen(b))) = (
        &again.results[0],
        report
            .results
            .iter()
            .find(|r| matches!(r, ProtocolResult::Unseen(_))),
    ) else {
        panic!("no unseen result");
    };
    assert!(a.groups.iter().all(|g| g.reused));
    assert_eq!(a.mean_macro_f1_base, b.mean_macro_f1_base);

    // Retrieval over a caption column: every test window has its own text,
    // so each direction has one relevant item per query.
    let mut by_note = cfg.clone();
    by_note.retrieval.variant = Some("note".into());
    let r = run_protocols(
        &ctx,
        &evaluators(&by_note, &["retrieval".to_string()]).unwrap(),
        |_| {},
    )
    .unwrap();
    let ProtocolResult::Retrieval(r) = &r.results[0] else {
        panic!("no retrieval result");
    };
    assert_eq!(r.variant, "note");
    assert_eq!((r.windows, r.texts), (n_test, n_test));
    for d in [&r.scores.forward, &r.scores.backward] {
        assert_eq!(d.ranks.len(), n_test);
        assert!(d.ranks.iter().all(|&k| (1..=n_test).contains(&k)));
        assert!(d.recall_at_1 <= d.recall_at_5 && d.recall_at_5 <= d.recall_at_10);
    }
    // With 64 candidates, not everything is in the top 5 any more.
    assert!(r.scores.forward.recall_at_5 < 1.0);

    // Without a trainer, the protocols that train say so instead of running.
    let no_trainer = EvalContext {
        trainer: None,
        ..ctx
    };
    for name in ["supervised", "unseen"] {
        let err = run_protocols(
            &no_trainer,
            &evaluators(&cfg, &[name.to_string()]).unwrap(),
            |_| {},
        )
        .err()
        .unwrap_or_else(|| panic!("{name} ran without a trainer"))
        .to_string();
        assert!(err.contains(name) && err.contains("trainer"), "{err}");
    }
}

#[test]
fn bad_settings_are_named_errors() {
    let cfg = EvalConfig::default();
    let err = evaluators(&cfg, &["zero-shot".into(), "telepathy".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("telepathy") && err.contains("zero-shot"),
        "{err}"
    );

    let classes: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
    assert!(partition_classes(&classes, 1, 0).is_err());
    assert!(partition_classes(&classes, 5, 0).is_err());
    // 3 groups of 4 classes would leave a group of one.
    let err = partition_classes(&classes, 3, 0).err().unwrap().to_string();
    assert!(err.contains("≥ 2 classes"), "{err}");
    assert_eq!(partition_classes(&classes, 2, 0).unwrap().len(), 2);

    // Training without a label the store does not have.
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut c = config();
    c.exclude_labels = vec!["swimming".into()];
    let err = train_sensor_language(
        &c,
        &SensorLanguageOptions {
            store: store.clone(),
            extra_stores: Vec::new(),
            out: dir.path().join("x"),
            minilm_dir: Some(minilm()),
            ..SensorLanguageOptions::default()
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("swimming") && err.contains("exclude_labels"),
        "{err}"
    );

    // A TOML with an unknown field names it and the file.
    let toml = dir.path().join("eval.toml");
    std::fs::write(&toml, "[few_shot]\nshotz = [1]\n").unwrap();
    let err = EvalConfig::from_file(&toml).err().unwrap().to_string();
    assert!(err.contains("shotz") && err.contains("eval.toml"), "{err}");

    // A metrics log with a broken line names the line.
    let log = dir.path().join("metrics.jsonl");
    std::fs::write(&log, "{\"step\":1,\"loss\":2.0}\n{oops\n").unwrap();
    let err = loss_series(&log).err().unwrap().to_string();
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn loss_curves_keep_each_term_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("metrics.jsonl");
    // A CoCa log: `sensorlm` is the total under another name.
    std::fs::write(
        &log,
        "{\"step\":10,\"loss\":3.0,\"sensorlm\":3.0,\"clip\":2.0,\"captioning\":1.0,\"lr\":0.1}\n\
         {\"step\":20,\"loss\":2.5,\"sensorlm\":2.5,\"clip\":1.7,\"captioning\":0.8,\"lr\":0.2}\n",
    )
    .unwrap();
    let series = loss_series(&log).unwrap();
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["captioning", "clip", "loss"]);
    assert_eq!(series[2].x, [10.0, 20.0]);
    assert_eq!(series[2].y, [3.0, 2.5]);
    // A single-term CLIP log: only `loss`.
    std::fs::write(&log, "{\"step\":1,\"loss\":2.0,\"clip\":2.0}\n").unwrap();
    let names: Vec<String> = loss_series(&log)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["loss"]);
}

#[test]
fn class_partitions_are_seeded_disjoint_and_balanced() {
    let classes: Vec<String> = (0..7).map(|i| format!("c{i}")).collect();
    let a = partition_classes(&classes, 3, 1).unwrap();
    assert_eq!(a, partition_classes(&classes, 3, 1).unwrap());
    let mut sizes: Vec<usize> = a.iter().map(Vec::len).collect();
    sizes.sort();
    assert_eq!(sizes, vec![2, 2, 3]);
    let mut all: Vec<String> = a.concat();
    all.sort();
    assert_eq!(all, classes);
    let differs = (2..10).any(|s| partition_classes(&classes, 3, s).unwrap() != a);
    assert!(differs, "the seed changes the partition");
}

/// The windows of [`store`] after `edit`, written under the same metadata
/// as `dir/name`: the store's path and its windows.
fn edited_store(
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut Vec<Window>),
) -> (PathBuf, Vec<Window>) {
    use wearlang_store::{ReadOptions, StoreReader};
    let reader = StoreReader::open(store(dir)).unwrap();
    let mut windows = reader.read_all(ReadOptions::default()).unwrap();
    edit(&mut windows);
    let path = dir.join(name);
    let mut writer = StoreWriter::create(&path, reader.meta().clone()).unwrap();
    writer.write(&windows).unwrap();
    writer.finish().unwrap();
    (path, windows)
}

/// A store whose test split has unlabelled windows (a recording between
/// labelled intervals): the training report scores the labelled ones only,
/// and a full evaluation runs every protocol that reads labels.
#[test]
fn unlabelled_windows_are_left_out_of_the_scores() {
    let dir = tempfile::tempdir().unwrap();
    let (path, windows) = edited_store(dir.path(), "gaps.parquet", |windows| {
        for (i, w) in windows.iter_mut().enumerate() {
            if i % 4 == 1 {
                w.label = None;
            }
        }
    });
    let labelled_test = windows
        .iter()
        .filter(|w| w.split == Split::Test && w.label.is_some())
        .count();

    // Budgeted in epochs (max_steps 0): the report's header takes the
    // steps from the checkpoint.
    let mut cfg = config();
    cfg.max_steps = 0;
    cfg.epochs = 1;
    let run = dir.path().join("run");
    train(&path, &run, &cfg);
    let state: wearlang_models::TrainState = read_json(
        &find_checkpoint(&run).unwrap(),
        wearlang_models::checkpoint::STATE_FILE,
    )
    .unwrap();
    assert!(state.total_steps > 0);
    let report_with = |values| {
        wearlang_evaluation::train_report(
            &cfg,
            state.total_steps,
            &wearlang_evaluation::TrainReportOptions {
                run_dir: run.clone(),
                store: path.clone(),
                minilm_dir: Some(minilm()),
                caption_windows: 0,
                values,
            },
        )
        .unwrap()
    };
    let report = report_with(Default::default());
    assert_eq!(report.test_windows, labelled_test);
    // The test split's values in a mapped file (a run trained with
    // `--values-on-disk`): the same report.
    let on_disk = report_with(wearlang_models::ValueHome::Disk(dir.path().to_path_buf()));
    assert_eq!(on_disk.to_markdown(), report.to_markdown());

    let mut e = small_eval();
    e.supervised.steps = 4;
    // Adaptation against the conv classifier trained from scratch on the
    // same k windows.
    e.few_shot.methods = vec![
        FewShotMethod::LinearProbe,
        FewShotMethod::SupervisedFromScratch,
    ];
    e.few_shot.supervised_steps = 30;
    let out = wearlang_evaluation::evaluate_run(
        &wearlang_evaluation::RunEvalOptions {
            checkpoint: run,
            store: path,
            split: Split::Test,
            out: dir.path().join("eval"),
            protocols: vec![
                "zero-shot".into(),
                "linear-probe".into(),
                "supervised".into(),
                "few-shot".into(),
            ],
            config: e,
            pretrain: None,
            minilm_dir: Some(minilm()),
            progress: false,
            trainer: Some(&DefaultTrainer),
        },
        |_| {},
    )
    .unwrap();
    assert_eq!(out.report.results.len(), 4);
    assert_eq!(out.report.steps, state.total_steps);
    let few = few_shot_of(&out.report);
    let scratch = &few.series[1];
    assert_eq!(scratch.method, FewShotMethod::SupervisedFromScratch);
    assert_eq!(scratch.macro_f1.len(), 2);
    assert!(scratch
        .macro_f1
        .iter()
        .flatten()
        .all(|v| (0.0..=1.0).contains(v)));
    // Four windows per class of four distinct signals are enough to learn
    // from (chance is 0.25).
    assert!(
        scratch.summary[1].mean > 0.4,
        "from scratch at k = 4: {:?}",
        scratch.macro_f1
    );
}

/// `wearlang eval --split val`: every score on the validation subjects (to
/// choose a model without looking at test), said in the report; the
/// training split is refused.
#[test]
fn scores_can_be_on_the_validation_split() {
    let dir = tempfile::tempdir().unwrap();
    let (path, windows) = edited_store(dir.path(), "with_val.parquet", |windows| {
        for w in windows.iter_mut().filter(|w| w.subject == "s3") {
            w.split = Split::Val;
        }
    });
    let n_val = windows.iter().filter(|w| w.split == Split::Val).count();
    let n_test = windows.iter().filter(|w| w.split == Split::Test).count();
    assert!(n_val > 0 && n_test > 0 && n_val != n_test);
    let run = dir.path().join("run");
    train(&path, &run, &config());
    let eval = |split: Split, out: &str| {
        wearlang_evaluation::evaluate_run(
            &wearlang_evaluation::RunEvalOptions {
                checkpoint: run.clone(),
                store: path.clone(),
                split,
                out: dir.path().join(out),
                protocols: vec!["zero-shot".into(), "retrieval".into()],
                config: small_eval(),
                pretrain: None,
                minilm_dir: Some(minilm()),
                progress: false,
                trainer: Some(&DefaultTrainer),
            },
            |_| {},
        )
    };
    let val = eval(Split::Val, "eval_val").unwrap();
    assert_eq!(val.report.split, "val");
    assert_eq!(val.report.test_windows, n_val);
    let md = std::fs::read_to_string(&val.markdown).unwrap();
    assert!(md.contains("on the `val` split"), "{md}");
    let test = eval(Split::Test, "eval_test").unwrap();
    assert_eq!(test.report.split, "test");
    assert_eq!(test.report.test_windows, n_test);
    // A test-split report's JSON has no `split` field (as before it could
    // be chosen), and reads back as `test`.
    let json = std::fs::read_to_string(dir.path().join("eval_test/metrics.json")).unwrap();
    assert!(!json.contains("\"split\""));
    let err = eval(Split::Train, "eval_train").err().unwrap().to_string();
    assert!(err.contains("split"), "{err}");
}

#[test]
fn a_model_trained_on_the_pooled_scale_reads_stores_on_it_by_default() {
    use wearlang_models::InputNormalisation;
    let dir = tempfile::tempdir().unwrap();
    let path = store(dir.path());
    let run = dir.path().join("run");
    let mut cfg = config();
    cfg.max_steps = 5;
    cfg.normalisation = InputNormalisation::Model;
    train(&path, &run, &cfg);
    let eval = |how: Option<InputNormalisation>, out: &str| {
        let mut config = small_eval();
        config.normalisation = how;
        wearlang_evaluation::evaluate_run(
            &wearlang_evaluation::RunEvalOptions {
                checkpoint: run.clone(),
                store: path.clone(),
                split: Split::Test,
                out: dir.path().join(out),
                protocols: vec!["zero-shot".into()],
                config,
                pretrain: None,
                minilm_dir: Some(minilm()),
                progress: false,
                trainer: Some(&DefaultTrainer),
            },
            |_| {},
        )
        .unwrap()
    };
    // Unset: the model's own choice, said in the report.
    let default = eval(None, "default");
    assert_eq!(default.report.normalisation, InputNormalisation::Model);
    let md = std::fs::read_to_string(&default.markdown).unwrap();
    assert!(md.contains("model's training scale"), "{md}");
    // Asked for: the store's own.
    let own = eval(Some(InputNormalisation::Store), "store");
    assert_eq!(own.report.normalisation, InputNormalisation::Store);
}

/// Few-shot fine-tuning of the encoder and heads (`fine_tune`): it learns
/// from k windows per class, and the model is restored after every run, so
/// a protocol after it (retrieval) scores exactly as without it.
#[test]
fn fine_tuning_learns_and_restores_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = edited_store(dir.path(), "plain.parquet", |_| {});
    let run = dir.path().join("run");
    // A briefly trained model, so that fine-tuning has room to help.
    let mut cfg = config();
    cfg.max_steps = 4;
    train(&path, &run, &cfg);
    let mut e = small_eval();
    e.few_shot.methods = vec![FewShotMethod::FineTune];
    e.few_shot.shots = vec![4];
    e.few_shot.fine_tune_steps = 40;
    e.few_shot.fine_tune_batch = 8;
    e.few_shot.fine_tune_encoder_lr_scale = 1.0;
    e.few_shot.head_lr = 3e-3;
    let eval = |protocols: &[&str], out: &str| {
        wearlang_evaluation::evaluate_run(
            &wearlang_evaluation::RunEvalOptions {
                checkpoint: run.clone(),
                store: path.clone(),
                split: Split::Test,
                out: dir.path().join(out),
                protocols: protocols.iter().map(|p| p.to_string()).collect(),
                config: e.clone(),
                pretrain: None,
                minilm_dir: Some(minilm()),
                progress: false,
                trainer: Some(&DefaultTrainer),
            },
            |_| {},
        )
        .unwrap()
        .report
    };
    let both = eval(&["few-shot", "retrieval"], "both");
    let alone = eval(&["retrieval"], "alone");
    let few = few_shot_of(&both);
    let tuned = &few.series[0];
    assert_eq!(tuned.method, FewShotMethod::FineTune);
    assert_eq!(tuned.macro_f1[0].len(), 2);
    assert!(
        tuned.summary[0].mean > few.zero_shot_macro_f1.max(0.4),
        "fine-tuned at k = 4: {:?}, before: {}",
        tuned.macro_f1,
        few.zero_shot_macro_f1
    );
    let retrieval = |r: &wearlang_evaluation::EvalReport| {
        serde_json::to_string(
            r.results
                .iter()
                .find(|p| matches!(p, ProtocolResult::Retrieval(_)))
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        retrieval(&both),
        retrieval(&alone),
        "the model was not restored"
    );
}

/// The few-shot result of an evaluation report.
fn few_shot_of(report: &wearlang_evaluation::EvalReport) -> &wearlang_evaluation::FewShotResult {
    report
        .results
        .iter()
        .find_map(|r| match r {
            ProtocolResult::FewShot(f) => Some(f),
            _ => None,
        })
        .expect("a few-shot result")
}
