//! Sensor-language training on a small labelled store with the real
//! MiniLM: it learns a zero-shot classifier, resumes bit for bit, reloads
//! from its checkpoint, and reports bad input by name.

use std::path::{Path, PathBuf};

use tch::Tensor;
use wearlang_core::{LabelVocab, Normalisation, Split, Window};
use wearlang_encoders::text::DecodeOptions;
use wearlang_models::checkpoint::{find_checkpoint, MODEL_FILE};
use wearlang_models::sensor_language::{DecoderVocabulary, SensorKind, TextKind, TextSampler};
use wearlang_models::{
    load_sensor_language, load_split, SensorLanguageConfig, SensorLanguageOptions,
};
use wearlang_objectives::ObjectiveConfig;
use wearlang_store::StoreWriter;
use wearlang_train::train_sensor_language;

mod common;
use common::{minilm, workspace, write_store};

const STEPS: usize = 32;

/// Two activities that differ in the signal: "walking" is a 2 Hz sine on
/// channel 0, "sitting" a flat line with noise; 6 subjects, 2 for testing.
/// Windows carry a `trend` caption; some values are missing.
fn store(dir: &Path) -> PathBuf {
    let path = dir.join("two_classes.parquet");
    let mut windows = Vec::new();
    let mut k = 0u32;
    let mut noise = || {
        k = k.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((k >> 16) as f32 / 65_536.0 - 0.5) * 0.2
    };
    for s in 0..6 {
        for i in 0..24 {
            let walking = i % 2 == 0;
            let mut v = Vec::with_capacity(STEPS * 2);
            for t in 0..STEPS {
                let x = if walking {
                    (t as f32 * 0.8 + s as f32).sin()
                } else {
                    0.0
                };
                v.push(x + noise());
                v.push(noise());
            }
            if i % 5 == 0 {
                v[4] = f32::NAN;
                v[5] = f32::NAN;
            }
            let mut w =
                Window::from_values(format!("s{s}"), format!("s{s}-r0"), i * 640, 50.0, 2, v)
                    .unwrap();
            w.label = Some(if walking { "walking" } else { "sitting" }.into());
            w.split = if s < 4 { Split::Train } else { Split::Test };
            w.captions.insert(
                "trend".into(),
                if walking {
                    "the first channel oscillates quickly."
                } else {
                    "both channels stay flat."
                }
                .into(),
            );
            windows.push(w);
        }
    }
    write_store(&path, &windows, STEPS, &["walking", "sitting"], &["trend"])
}

fn config(max_steps: u64) -> SensorLanguageConfig {
    let mut c = SensorLanguageConfig {
        name: "test".into(),
        seed: 11,
        batch_size: 16,
        max_steps,
        checkpoint_every: 2,
        log_every: 1,
        ..SensorLanguageConfig::default()
    };
    c.sensor.kind = SensorKind::Conv;
    c.sensor.conv_dropout = 0.1;
    c.projection.out_dim = 32;
    c.optim.lr = 3e-3;
    c.schedule.warmup_steps = 2;
    c
}

fn opts(store: &Path, out: &Path, resume: bool, stop_after: Option<u64>) -> SensorLanguageOptions {
    SensorLanguageOptions {
        store: store.to_path_buf(),
        extra_stores: Vec::new(),
        out: out.to_path_buf(),
        resume,
        progress: false,
        stop_after,
        minilm_dir: Some(minilm()),
        values: Default::default(),
    }
}

fn model_tensors(out: &Path) -> Vec<(String, Tensor)> {
    let dir = find_checkpoint(out).expect("a checkpoint");
    let mut t = Tensor::read_safetensors(dir.join(MODEL_FILE)).unwrap();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

#[test]
fn clip_learns_a_zero_shot_classifier_and_reloads() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let out = tmp.path().join("clip");
    let s = train_sensor_language(&config(60), &opts(&store, &out, false, None)).unwrap();
    assert_eq!(s.steps, 60);
    assert!(s.final_loss.is_finite());
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    for key in [
        "loss",
        "clip",
        "logit_scale",
        "lr",
        "samples_per_s",
        "data_wait_s",
    ] {
        assert!(first.get(key).is_some(), "log line lacks {key}: {first}");
    }

    // Zero-shot on the held-out subjects with class prompts only.
    let loaded = load_sensor_language(&out, Some(&minilm()), tch::Device::Cpu).unwrap();
    let test = load_split(&store, Split::Test).unwrap();
    let prompts = [
        "This is wearable sensor data for a person engaged in walking.",
        "This is wearable sensor data for a person engaged in sitting.",
    ];
    let cls = loaded.model.embed_texts(&prompts, 8).unwrap();
    let emb = loaded.model.embed_windows(&test.x, 64).unwrap();
    let pred: Vec<i64> = Vec::try_from(emb.matmul(&cls.tr()).argmax(1, false)).unwrap();
    let correct = pred
        .iter()
        .zip(&test.windows)
        .filter(|(p, w)| (**p == 0) == (w.label.as_deref() == Some("walking")))
        .count();
    let acc = correct as f64 / pred.len() as f64;
    assert!(acc >= 0.9, "zero-shot accuracy {acc}");
    // Embeddings are unit vectors.
    let norms = emb.norm_scalaropt_dim(2.0, [1i64].as_slice(), false);
    assert!((norms - 1.0).abs().max().double_value(&[]) < 1e-5);
    // The loader refuses a different vocabulary.
    let fake = tmp.path().join("fake_minilm");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(
        fake.join("vocab.txt"),
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n",
    )
    .unwrap();
    assert!(load_sensor_language(&out, Some(&fake), tch::Device::Cpu).is_err());
}

#[test]
fn coca_resumes_bit_for_bit_and_captions() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let mut cfg = config(6);
    cfg.sensor.kind = SensorKind::Patch;
    cfg.sensor.patch.preset = "tiny".into();
    cfg.sensor.patch.patch_time = 8;
    cfg.text.variants = vec!["activity".into(), "trend".into()];
    cfg.decoder.dim = 32;
    cfg.decoder.depth = 1;
    cfg.decoder.max_len = 24;
    cfg.objective = toml::from_str(
        "kind = \"sensorlm\"\nalpha = 1.0\nbeta = 1.0\ncontrastive = { kind = \"clip\" }",
    )
    .unwrap();
    assert_eq!(cfg.decoder_vocabulary, DecoderVocabulary::Corpus);

    let a = tmp.path().join("a");
    train_sensor_language(&cfg, &opts(&store, &a, false, None)).unwrap();
    let b = tmp.path().join("b");
    assert_eq!(
        train_sensor_language(&cfg, &opts(&store, &b, false, Some(3)))
            .unwrap()
            .steps,
        3
    );
    assert_eq!(
        train_sensor_language(&cfg, &opts(&store, &b, true, None))
            .unwrap()
            .steps,
        6
    );
    let (ta, tb) = (model_tensors(&a), model_tensors(&b));
    assert_eq!(ta.len(), tb.len());
    assert!(ta.iter().any(|(n, _)| n.starts_with("decoder.")));
    for ((na, va), (nb, vb)) in ta.iter().zip(&tb) {
        assert_eq!(na, nb);
        let d = (va - vb).abs().max().double_value(&[]);
        assert!(d == 0.0, "{na} differs by {d} after resume");
    }
    let strip = |p: &Path| -> Vec<serde_json::Value> {
        std::fs::read_to_string(p.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let o = v.as_object_mut().unwrap();
                o.remove("samples_per_s");
                o.remove("data_wait_s");
                v
            })
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));

    // The reloaded decoder writes text from the corpus vocabulary, within
    // the length limit.
    let loaded = load_sensor_language(&b, Some(&minilm()), tch::Device::Cpu).unwrap();
    let test = load_split(&store, Split::Test).unwrap();
    let caps = loaded
        .model
        .caption(
            &test.x.narrow(0, 0, 3),
            &DecodeOptions {
                beam: 2,
                max_new_tokens: 6,
                ..Default::default()
            },
            8,
        )
        .unwrap();
    assert_eq!(caps.len(), 3);
    assert!(caps.iter().all(|c| c.split_whitespace().count() <= 6));
}

#[test]
fn every_objective_and_text_tower_trains_a_step() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let objectives = [
        "kind = \"siglip\"",
        "kind = \"unicl\"",
        "kind = \"slip\"",
        "kind = \"sensorlm\"\nalpha = 0.0\nbeta = 1.0\ncontrastive = { kind = \"clip\" }",
    ];
    for (i, o) in objectives.iter().enumerate() {
        let mut cfg = config(2);
        cfg.objective = toml::from_str::<ObjectiveConfig>(o).unwrap();
        cfg.decoder.dim = 16;
        cfg.decoder.depth = 1;
        cfg.decoder.heads = 2;
        if i == 1 {
            // UniCL with the small text Transformer trained from scratch.
            cfg.text.kind = TextKind::Small;
            cfg.text.small.dim = 16;
            cfg.text.small.depth = 1;
            cfg.text.small.heads = 2;
        }
        if i == 3 {
            cfg.text.kind = TextKind::Minilm;
            cfg.text.trainable = true;
        }
        let out = tmp.path().join(format!("run{i}"));
        let s = train_sensor_language(&cfg, &opts(&store, &out, false, None))
            .unwrap_or_else(|e| panic!("{o}: {e}"));
        assert!(s.final_loss.is_finite(), "{o}");
        let names: Vec<String> = model_tensors(&out).into_iter().map(|(n, _)| n).collect();
        match i {
            0 => assert!(names.iter().any(|n| n == "objective.logit_bias")),
            1 => assert!(names.iter().any(|n| n.starts_with("text.transformer."))),
            2 => assert!(names.iter().any(|n| n.starts_with("view_proj."))),
            _ => {
                assert!(names.iter().any(|n| n.starts_with("decoder.")));
                assert!(names.iter().any(|n| n.starts_with("text.encoder.layer.0.")));
            }
        }
    }
}

#[test]
fn bad_input_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    // A caption variant the store does not have.
    let mut cfg = config(2);
    cfg.text.variants = vec!["high+middle+low".into()];
    let err = train_sensor_language(&cfg, &opts(&store, &tmp.path().join("x"), false, None))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("high+middle+low") && err.contains("subject"),
        "{err}"
    );
    // Unknown config field, with the file's name.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "batch_sise = 4\n").unwrap();
    let err = SensorLanguageConfig::from_file(&bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.toml") && err.contains("batch_sise"),
        "{err}"
    );
    // Resuming with another seed.
    let out = tmp.path().join("r");
    train_sensor_language(&config(2), &opts(&store, &out, false, None)).unwrap();
    let mut other = config(4);
    other.seed = 12;
    assert!(train_sensor_language(&other, &opts(&store, &out, true, None)).is_err());
    // A batch of one cannot be contrastive.
    let mut one = config(2);
    one.batch_size = 1;
    assert!(one.validate().is_err());
}

#[test]
fn text_changes_with_the_epoch_and_is_reproducible() {
    let tmp = tempfile::tempdir().unwrap();
    let set = load_split(&store(tmp.path()), Split::Train).unwrap();
    let cfg = config(1);
    let s = TextSampler::new(&cfg.text, 0);
    let w = &set.windows[0];
    let texts: Vec<String> = (0..8).map(|e| s.text(w, 0, e).unwrap()).collect();
    assert!(texts.iter().all(|t| t.contains("walking")));
    let distinct: std::collections::BTreeSet<_> = texts.iter().collect();
    assert!(
        distinct.len() > 1,
        "the same template every epoch: {texts:?}"
    );
    assert_eq!(
        texts,
        (0..8).map(|e| s.text(w, 0, e).unwrap()).collect::<Vec<_>>()
    );
    // Every sampled text is inside the corpus the decoder vocabulary uses.
    let corpus = s.corpus(&set.windows);
    assert!(texts.iter().all(|t| corpus.contains(t)));
}

#[test]
fn shipped_configs_parse() {
    let dir = workspace().join("configs");
    for name in [
        "nls_clip",
        "sensorlm_clip",
        "sensorlm_siglip",
        "sensorlm_coca",
        "unicl",
        "slip",
        "trend_retrieval",
        "general",
    ] {
        SensorLanguageConfig::from_file(&dir.join(format!("{name}.toml")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // The general model fine-tunes its AIM encoder as SensorLM-CLIP does.
    let general = SensorLanguageConfig::from_file(&dir.join("general.toml")).unwrap();
    let clip = SensorLanguageConfig::from_file(&dir.join("sensorlm_clip.toml")).unwrap();
    assert_eq!(general.optim.lr_scale, clip.optim.lr_scale);
    assert_eq!(general.sensor.patch, clip.sensor.patch);
    // Its two ablations differ from it in what their names say only.
    let ablation = |name: &str| {
        SensorLanguageConfig::from_file(&dir.join(format!("ablations/general/{name}.toml")))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let mut centred = ablation("general_centred");
    assert!(centred.sensor.centre);
    centred.sensor.centre = false;
    centred.name = general.name.clone();
    assert_eq!(centred, general);
    let mut gravity = ablation("general_gravity");
    assert_eq!(gravity.pair_augment.len(), 1);
    gravity.pair_augment.clear();
    gravity.name = general.name.clone();
    assert_eq!(gravity, general);
    let mut pooled = ablation("general_centred_pooled");
    assert!(pooled.sensor.centre);
    assert_eq!(
        pooled.normalisation,
        wearlang_models::InputNormalisation::Model
    );
    pooled.sensor.centre = false;
    pooled.normalisation = general.normalisation;
    pooled.name = general.name.clone();
    assert_eq!(pooled, general);
    // The watch ablations: centred, half the windows at a fifth of the
    // rate, and (`_rot`) randomly rotated.
    for (name, augs) in [
        ("general_centred_watch", 1),
        ("general_centred_watch_rot", 2),
    ] {
        let mut watch = ablation(name);
        assert!(watch.sensor.centre, "{name}");
        assert!(
            matches!(
                watch.pair_augment.first(),
                Some(wearlang_objectives::Augmentation::Downsample { factors, .. }) if factors == &[5]
            ),
            "{name}: {:?}",
            watch.pair_augment
        );
        assert_eq!(watch.pair_augment.len(), augs, "{name}");
        watch.pair_augment.clear();
        watch.sensor.centre = false;
        watch.name = general.name.clone();
        assert_eq!(watch, general, "{name}");
    }
    // The locked-text ablations: the text projection at learning-rate
    // scale 0 (and, `_linear`, one layer instead of two).
    for (name, layers) in [("general_lit_linear", 1), ("general_lit_mlp", 2)] {
        let mut lit = ablation(name);
        assert_eq!(lit.projection.layers, layers, "{name}");
        let lock = lit.optim.lr_scale.remove(0);
        assert_eq!(
            (lock.contains.as_str(), lock.scale),
            ("text_proj.", 0.0),
            "{name}"
        );
        lit.projection.layers = general.projection.layers;
        lit.name = general.name.clone();
        assert_eq!(lit, general, "{name}");
    }
    // The step budget chosen on held-out classes, up to the recipe's own
    // 8 epochs (1,384 steps).
    let mut select = ablation("general_select");
    assert_eq!(select.select.budgets, [50, 150, 400, 1384]);
    select.select = Default::default();
    select.name = general.name.clone();
    assert_eq!(select, general);
    // Every TOML config of a directory, parsed.
    let configs_in = |dir: &Path| -> Vec<(PathBuf, SensorLanguageConfig)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            // (`ablation.toml` says how `cargo xtask ablate` runs the
            // directory; it is not a run config.)
            if path.extension().is_some_and(|e| e == "toml")
                && path.file_name().is_some_and(|n| n != "ablation.toml")
            {
                let c = SensorLanguageConfig::from_file(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((path, c));
            }
        }
        out
    };
    // `shipped` is the recipe of the ablation config `chosen` but for its
    // name.
    let same_recipe = |shipped: &Path, chosen: &Path| {
        let shipped = SensorLanguageConfig::from_file(shipped).unwrap();
        let mut chosen = SensorLanguageConfig::from_file(chosen).unwrap();
        chosen.name = shipped.name.clone();
        assert_eq!(shipped, chosen);
    };
    // The retrieval ablations of docs/results.md.
    let ablations = dir.join("ablations/retrieval");
    let mut augmented = 0;
    for (path, c) in configs_in(&ablations) {
        assert_eq!(c.text.variants, ["trend_brief"], "{}", path.display());
        augmented += usize::from(!c.pair_augment.is_empty());
    }
    assert!(
        augmented >= 1,
        "no pair_augment ablation in {}",
        ablations.display()
    );
    // The encoder learning-rate ablations of SensorLM-CLIP: uniform rates
    // (one entry for every `sensor.` variable), layer-wise decay (an entry
    // per block, the patch embedding lowest) and frozen warm-ups; the
    // shipped config is the one chosen on validation (layer-wise from 0.3).
    let finetune = dir.join("ablations/sensorlm_finetune");
    let (mut uniform, mut layerwise, mut warm) = (Vec::new(), 0, 0);
    for (path, c) in configs_in(&finetune) {
        let rules = &c.optim.lr_scale;
        assert!(!rules.is_empty(), "{}", path.display());
        assert_eq!(
            rules.last().map(|r| r.contains.as_str()),
            Some("sensor."),
            "{}: the last rule covers every encoder variable",
            path.display()
        );
        warm += usize::from(rules.iter().any(|r| r.frozen_steps > 0));
        if rules.len() == 1 {
            if rules[0].frozen_steps == 0 {
                uniform.push(rules[0].scale);
            }
        } else {
            layerwise += 1;
            let top = rules[0].scale;
            assert!(
                rules.iter().all(|r| r.scale <= top) && rules.last().unwrap().scale < top,
                "{}: layer-wise rates fall from the top block down",
                path.display()
            );
        }
    }
    uniform.sort_by(f64::total_cmp);
    assert_eq!(uniform, [0.0, 0.1, 0.3]);
    assert!(
        layerwise >= 2 && warm >= 2,
        "{layerwise} layer-wise, {warm} warm-up ablations"
    );
    same_recipe(
        &dir.join("sensorlm_clip.toml"),
        &finetune.join("clip_enc_llrd.toml"),
    );
    // The pipeline's trend-retrieval run is the strongest ablation's recipe.
    same_recipe(
        &dir.join("trend_retrieval.toml"),
        &ablations.join("conv_trend_aug_strong.toml"),
    );
}

#[test]
fn the_corpus_holds_every_activity_text_with_knowledge() {
    let tmp = tempfile::tempdir().unwrap();
    let set = load_split(&store(tmp.path()), Split::Train).unwrap();
    let mut cfg = config(1);
    cfg.text.activity.body_parts = true;
    let s = TextSampler::new(&cfg.text, 3);
    let corpus = s.corpus(&set.windows);
    for (i, w) in set.windows.iter().enumerate().take(10) {
        for e in 0..5 {
            let t = s.text(w, i, e).unwrap();
            assert!(corpus.contains(&t), "{t} not in the corpus");
        }
    }
}

/// A store where every third training window is unlabelled (a real
/// recording between labelled intervals): text from labels leaves those
/// windows out and says how many; text from captions uses them all.
#[test]
fn unlabelled_windows_are_left_out_of_label_text_only() {
    use wearlang_store::{ReadOptions, StoreReader};
    let tmp = tempfile::tempdir().unwrap();
    let labelled = store(tmp.path());
    let reader = StoreReader::open(&labelled).unwrap();
    let mut windows = reader.read_all(ReadOptions::default()).unwrap();
    let mut gaps = 0;
    for (i, w) in windows.iter_mut().enumerate() {
        if w.split == Split::Train && i % 3 == 0 {
            w.label = None;
            gaps += 1;
        }
    }
    let n_train = windows.iter().filter(|w| w.split == Split::Train).count();
    let path = tmp.path().join("gaps.parquet");
    let mut writer = StoreWriter::create(&path, reader.meta().clone()).unwrap();
    writer.write(&windows).unwrap();
    writer.finish().unwrap();

    let s = train_sensor_language(&config(3), &opts(&path, &tmp.path().join("a"), false, None))
        .unwrap();
    assert_eq!(s.unlabelled_skipped, gaps);
    assert_eq!(s.train_windows, n_train - gaps);

    let mut trend = config(3);
    trend.text.variants = vec!["trend".into()];
    let s =
        train_sensor_language(&trend, &opts(&path, &tmp.path().join("t"), false, None)).unwrap();
    assert_eq!(s.unlabelled_skipped, 0);
    assert_eq!(s.train_windows, n_train);
}

/// Two data sets as one model: a second store with its channels under
/// other names (matched by kind and axis), other labels and values in other
/// units (×9.81) trains with the first; the checkpoint records the union of
/// labels and both stores; a store of another window length is refused.
#[test]
fn stores_train_together_under_one_schema() {
    use wearlang_store::{ReadOptions, StoreReader};
    let tmp = tempfile::tempdir().unwrap();
    let first = store(tmp.path());
    let reader = StoreReader::open(&first).unwrap();
    let rewrite = |path: &Path, steps: usize| {
        let mut meta = reader.meta().clone();
        for c in &mut meta.channels {
            c.name = format!("acc_{}", &c.name[1..]);
            c.unit = "m/s^2".into();
        }
        meta.window_len = steps;
        meta.labels = LabelVocab::sorted(["strolling", "resting"]);
        let mut windows = reader.read_all(ReadOptions::default()).unwrap();
        for w in &mut windows {
            w.values.truncate(steps * 2);
            w.missing.truncate(steps * 2);
            for v in &mut w.values {
                *v *= 9.81;
            }
            w.label = w.label.as_deref().map(|l| {
                if l == "walking" {
                    "strolling"
                } else {
                    "resting"
                }
                .to_string()
            });
        }
        meta.normalisation = Some(Normalisation::fit(
            windows.iter().filter(|w| w.split == Split::Train),
            2,
        ));
        let mut writer = StoreWriter::create(path, meta).unwrap();
        writer.write(&windows).unwrap();
        writer.finish().unwrap();
    };
    let second = tmp.path().join("second.parquet");
    rewrite(&second, STEPS);
    let n_train = load_split(&first, Split::Train).unwrap().len();
    let out = tmp.path().join("both");
    let mut o = opts(&first, &out, false, None);
    o.extra_stores = vec![second.clone()];
    let s = train_sensor_language(&config(3), &o).unwrap();
    assert_eq!(s.train_windows, 2 * n_train);
    let loaded = load_sensor_language(&out, Some(&minilm()), tch::Device::Cpu).unwrap();
    assert_eq!(
        loaded.config.labels,
        ["resting", "sitting", "strolling", "walking"]
    );
    assert_eq!(loaded.config.extra_stores, std::slice::from_ref(&second));
    assert_eq!(loaded.config.channels, ["ax", "ay"]);
    // The model records the statistics of both stores' training windows
    // in its own units (g): the second store's m/s² values are the first's
    // × 9.81, so both pool to the first's statistics.
    let own = reader.meta().normalisation.clone().unwrap();
    let pooled = loaded.config.normalisation.clone().unwrap();
    for j in 0..2 {
        assert!((pooled.mean[j] - own.mean[j]).abs() < 1e-6 * own.std[j].max(1.0));
        assert!((pooled.std[j] - own.std[j]).abs() < 1e-3 * own.std[j]);
        assert_eq!(pooled.count[j], 2 * own.count[j]);
    }
    // On the model's scale the second store (m/s²) reads as the first (g),
    // and the first as on its own scale (its statistics are the model's).
    let read = |path: &Path, how| {
        let set = load_split(path, Split::Test).unwrap();
        let (set, _) = loaded
            .config
            .onto_model(set, &path.display().to_string(), how)
            .unwrap();
        set.x
    };
    use wearlang_models::InputNormalisation::{Model, Store};
    let a = read(&first, Model).nan_to_num(0.0, None, None);
    let b = read(&second, Model).nan_to_num(0.0, None, None);
    assert!(a.narrow(1, 0, STEPS as i64).allclose(&b, 1e-3, 1e-3, false));
    let c = read(&first, Store).nan_to_num(0.0, None, None);
    assert!(a.allclose(&c, 1e-3, 1e-3, false));

    let short = tmp.path().join("short.parquet");
    rewrite(&short, STEPS / 2);
    let mut o = opts(&first, &tmp.path().join("x"), false, None);
    o.extra_stores = vec![short];
    let err = train_sensor_language(&config(3), &o)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("short.parquet") && err.contains("steps"),
        "{err}"
    );
}

#[test]
fn pooled_normalisation_puts_every_store_on_one_physical_scale() {
    use wearlang_models::{load_training_union_with, InputNormalisation};
    use wearlang_store::{ReadOptions, StoreReader};
    let tmp = tempfile::tempdir().unwrap();
    let first = store(tmp.path());
    // The same recordings made twice as vigorous, in the same units: on
    // its own statistics the second store reads like the first.
    let reader = StoreReader::open(&first).unwrap();
    let mut windows = reader.read_all(ReadOptions::default()).unwrap();
    for w in &mut windows {
        for v in &mut w.values {
            *v = *v * 2.0 + 0.5;
        }
    }
    let mut meta = reader.meta().clone();
    meta.normalisation = Some(Normalisation::fit(
        windows.iter().filter(|w| w.split == Split::Train),
        2,
    ));
    let second = tmp.path().join("vigorous.parquet");
    let mut writer = StoreWriter::create(&second, meta).unwrap();
    writer.write(&windows).unwrap();
    writer.finish().unwrap();
    let stores = [first.as_path(), second.as_path()];
    let halves = |how| {
        let (set, counts) = load_training_union_with(&stores, how).unwrap();
        assert_eq!(counts[0], counts[1]);
        let n = counts[0] as i64;
        let x = set.x.nan_to_num(0.0, None, None);
        let norm = set.meta.normalisation.clone().unwrap();
        (x.narrow(0, 0, n), x.narrow(0, n, n), norm)
    };
    let (a, b, _) = halves(InputNormalisation::Store);
    assert!(a.allclose(&b, 1e-4, 1e-4, false));
    // Pooled: one scale, so the second store's values stay 2x + 0.5 the
    // first's once the pooled statistics are undone.
    let (a, b, pooled) = halves(InputNormalisation::Model);
    assert!(!a.allclose(&b, 1e-2, 1e-2, false));
    for j in 0..2i64 {
        let (m, sd) = (pooled.mean[j as usize], pooled.std[j as usize]);
        let raw_a = a.select(2, j) * sd + m;
        let raw_b = b.select(2, j) * sd + m;
        let want = raw_a * 2.0 + 0.5;
        // Missing values were zeroed before undoing: compare where both
        // are observed.
        let seen = load_split(&first, Split::Train)
            .unwrap()
            .x
            .select(2, j)
            .isnan()
            .logical_not();
        let diff = (raw_b - want).abs().masked_select(&seen);
        assert!(diff.max().double_value(&[]) < 1e-3, "channel {j}");
    }
    // A config that asks for it trains with it and says so in its
    // checkpoint.
    let out = tmp.path().join("pooled");
    let mut cfg = config(2);
    cfg.normalisation = InputNormalisation::Model;
    let mut o = opts(&first, &out, false, None);
    o.extra_stores = vec![second.clone()];
    train_sensor_language(&cfg, &o).unwrap();
    let loaded = load_sensor_language(&out, Some(&minilm()), tch::Device::Cpu).unwrap();
    assert_eq!(loaded.config.run.normalisation, InputNormalisation::Model);
}

/// The first `n` logged losses of a run.
fn logged_losses(out: &Path, n: usize) -> Vec<f64> {
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    log.lines()
        .take(n)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["loss"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

#[test]
fn pair_augment_changes_the_training_input_reproducibly_and_is_saved() {
    use wearlang_objectives::Augmentation;
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let mut augmented = config(3);
    augmented.sensor.conv_dropout = 0.0;
    let mut plain = augmented.clone();
    augmented.pair_augment = vec![
        Augmentation::Scaling { sigma: 0.5 },
        Augmentation::TimeWarp {
            knots: 2,
            sigma: 0.2,
        },
    ];
    plain.pair_augment.clear();
    let run = |cfg: &SensorLanguageConfig, name: &str| {
        let out = tmp.path().join(name);
        train_sensor_language(cfg, &opts(&store, &out, false, None)).unwrap();
        (logged_losses(&out, 3), out)
    };
    let (a1, out) = run(&augmented, "aug1");
    let (a2, _) = run(&augmented, "aug2");
    let (p, _) = run(&plain, "plain");
    // Seeded: the same augmented run twice gives the same losses; the
    // augmentation changes what the first step sees.
    assert_eq!(a1, a2);
    assert_ne!(
        a1[0], p[0],
        "pair_augment left the first step's input as it was"
    );
    // The setting is part of the checkpoint's config, and reloads.
    let loaded = load_sensor_language(&out, Some(&minilm()), tch::Device::Cpu).unwrap();
    assert_eq!(loaded.model.config().pair_augment, augmented.pair_augment);
    // Without it the config file does not mention it (older configs read
    // the same).
    let cfg_text = std::fs::read_to_string(
        find_checkpoint(&tmp.path().join("plain"))
            .unwrap()
            .join("config.json"),
    )
    .unwrap();
    assert!(!cfg_text.contains("pair_augment"), "{cfg_text}");
}

#[test]
fn a_centred_model_ignores_per_window_offsets_and_reloads_centred() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path());
    let mut cfg = config(2);
    cfg.sensor.centre = true;
    let out = tmp.path().join("centred");
    train_sensor_language(&cfg, &opts(&store, &out, false, None)).unwrap();
    let loaded = load_sensor_language(&out, Some(&minilm()), tch::Device::Cpu).unwrap();
    assert!(loaded.model.config().sensor.centre);
    let test = load_split(&store, Split::Test).unwrap();
    let idx: Vec<usize> = (0..8).collect();
    // Missing values filled, so that the shift reaches every value.
    let x = test
        .batch(&idx, tch::Device::Cpu)
        .unwrap()
        .nan_to_num(0.0, None, None);
    // A constant per window and channel (gravity in another direction,
    // a sensor offset) leaves the embedding as it was; a plain model
    // reads it.
    let shift = Tensor::randn([8, 1, x.size()[2]], (tch::Kind::Float, tch::Device::Cpu)) * 3.0;
    let features =
        |m: &wearlang_models::SensorLanguageModel, x: &Tensor| m.sensor_features(x, 8).unwrap();
    let a = features(&loaded.model, &x);
    let b = features(&loaded.model, &(&x + &shift));
    let d = (&a - &b).abs().max().double_value(&[]);
    let scale = a.abs().max().double_value(&[]);
    assert!(d < 1e-4 * scale.max(1.0), "{d} of {scale}");
    let plain_out = tmp.path().join("plain");
    cfg.sensor.centre = false;
    train_sensor_language(&cfg, &opts(&store, &plain_out, false, None)).unwrap();
    let plain = load_sensor_language(&plain_out, Some(&minilm()), tch::Device::Cpu).unwrap();
    let a = features(&plain.model, &x);
    let b = features(&plain.model, &(&x + &shift));
    assert!(!a.allclose(&b, 1e-3, 1e-3, false));
    // Off by default and then not written into the checkpoint's config.
    let cfg_text =
        std::fs::read_to_string(find_checkpoint(&plain_out).unwrap().join("config.json")).unwrap();
    assert!(!cfg_text.contains("centre"), "{cfg_text}");
}

/// Two stores joined on the model's scale, their values kept in a mapped
/// file in the run directory: the same model, bit for bit, as with the
/// values in memory, and no file left behind.
#[test]
fn values_on_disk_train_the_same_model() {
    use wearlang_models::{InputNormalisation, ValueHome};
    let tmp = tempfile::tempdir().unwrap();
    let first = store(tmp.path());
    let second = tmp.path().join("second.parquet");
    std::fs::copy(&first, &second).unwrap();
    let mut cfg = config(4);
    cfg.normalisation = InputNormalisation::Model;
    let run = |name: &str, on_disk: bool| {
        let out = tmp.path().join(name);
        let mut o = opts(&first, &out, false, None);
        o.extra_stores = vec![second.clone()];
        if on_disk {
            o.values = ValueHome::Disk(out.clone());
        }
        let s = train_sensor_language(&cfg, &o).unwrap();
        assert_eq!(s.steps, 4);
        out
    };
    let (mem, disk) = (run("mem", false), run("disk", true));
    let (a, b) = (model_tensors(&mem), model_tensors(&disk));
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na} differs");
    }
    let left: Vec<_> = std::fs::read_dir(&disk)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("wearlang-values"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
