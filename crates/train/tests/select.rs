//! Choosing the step budget on held-out classes (`[select]`) with the real
//! MiniLM on a small four-class store with train / validation / test
//! subjects: the choice is made on the validation split, recorded, used as
//! the run's budget, reused, stopped early by patience, and bad settings
//! are named.

use std::path::{Path, PathBuf};

use wearlang_core::{Split, Window};
use wearlang_models::checkpoint::{find_checkpoint, read_json, read_state, CONFIG_FILE};
use wearlang_models::sensor_language::{
    HeldOutWindows, SelectConfig, SelectCriterion, SensorKind, StepSelection,
};
use wearlang_models::{
    load_sensor_language, SensorLanguageCheckpointConfig, SensorLanguageConfig,
    SensorLanguageOptions, SensorTextModel,
};
use wearlang_train::select::{holdout_folds, SELECTION_FILE};
use wearlang_train::train_sensor_language;

mod common;
use common::{minilm, write_store};

const STEPS: usize = 32;
const CLASSES: [&str; 4] = ["walking", "running", "sitting", "lying"];

/// Four activities that differ in the signal; subjects 0–3 train, 4
/// validation, 5 test (none when `with_val` is false: subject 4 trains).
fn store(dir: &Path, with_val: bool) -> PathBuf {
    store_of(dir, with_val, CLASSES)
}

/// [`store`] with other names for its four activities (the same signals,
/// in order), as a second data set would name its own.
fn store_of(dir: &Path, with_val: bool, classes: [&str; 4]) -> PathBuf {
    let path = dir.join(format!("{}_{with_val}.parquet", classes.join("_")));
    let mut windows = Vec::new();
    let mut k = 7u32;
    let mut noise = || {
        k = k.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((k >> 16) as f32 / 65_536.0 - 0.5) * 0.2
    };
    for s in 0..6 {
        for i in 0..24i64 {
            let class = CLASSES[i as usize % 4];
            let name = classes[i as usize % 4];
            let mut v = Vec::with_capacity(STEPS * 2);
            for t in 0..STEPS {
                let t = t as f32;
                let (a, b) = match class {
                    "walking" => ((t * 0.8 + s as f32).sin(), 0.0),
                    "running" => (2.0 * (t * 1.9 + s as f32).sin(), 0.5),
                    "sitting" => (0.0, 0.0),
                    _ => (0.0, 1.0),
                };
                v.push(a + noise());
                v.push(b + noise());
            }
            let mut w =
                Window::from_values(format!("s{s}"), format!("s{s}-r0"), i * 640, 50.0, 2, v)
                    .unwrap();
            w.label = Some(name.into());
            w.split = match s {
                0..=3 => Split::Train,
                4 if with_val => Split::Val,
                4 => Split::Train,
                _ => Split::Test,
            };
            windows.push(w);
        }
    }
    write_store(&path, &windows, STEPS, &classes, &[])
}

fn config(max_steps: u64, select: SelectConfig) -> SensorLanguageConfig {
    let mut c = SensorLanguageConfig {
        name: "sel".into(),
        seed: 3,
        batch_size: 16,
        max_steps,
        checkpoint_every: 8,
        log_every: 4,
        select,
        ..SensorLanguageConfig::default()
    };
    c.sensor.kind = SensorKind::Conv;
    c.projection.out_dim = 32;
    c.optim.lr = 3e-3;
    c.schedule.warmup_steps = 2;
    c
}

fn opts(store: &Path, out: &Path) -> SensorLanguageOptions {
    SensorLanguageOptions {
        store: store.to_path_buf(),
        extra_stores: Vec::new(),
        out: out.to_path_buf(),
        resume: false,
        progress: false,
        stop_after: None,
        minilm_dir: Some(minilm()),
        values: Default::default(),
    }
}

fn every(n: u64) -> SelectConfig {
    SelectConfig {
        every: n,
        holdout: 2,
        folds: 2,
        ..SelectConfig::default()
    }
}

#[test]
fn the_budget_is_chosen_on_held_out_classes_recorded_and_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path(), true);
    let out = tmp.path().join("run");
    let cfg = config(16, every(4));
    let s = train_sensor_language(&cfg, &opts(&store, &out)).unwrap();
    let sel = s.selection.clone().expect("a selection");

    // Two disjoint folds of two classes, each scored at steps 4, 8, 12, 16
    // on the 12 validation windows of its classes.
    assert_eq!(sel.folds.len(), 2);
    let mut held: Vec<String> = sel.folds.iter().flat_map(|f| f.classes.clone()).collect();
    held.sort();
    held.dedup();
    assert_eq!(held.len(), 4, "folds overlap: {:?}", sel.folds);
    for f in &sel.folds {
        assert_eq!(f.val_windows, 12);
        assert_eq!(
            f.curve.iter().map(|p| p.0).collect::<Vec<_>>(),
            [4, 8, 12, 16]
        );
        assert!(f.curve.iter().all(|p| (0.0..=1.0).contains(&p.1)));
        assert!(!f.stopped_early);
        assert_eq!(f.curve, f.held_out_curve, "criterion `held_out`");
        assert!(f.seen_curve.is_empty());
        // The fold's run trained without its classes.
        let ckpt = find_checkpoint(&out.join("select").join(format!(
            "fold_{}",
            sel.folds.iter().position(|g| g == f).unwrap()
        )))
        .unwrap();
        let rec: SensorLanguageCheckpointConfig = read_json(&ckpt, CONFIG_FILE).unwrap();
        assert_eq!(rec.run.exclude_labels, f.classes);
        assert!(!rec.run.select.enabled());
    }
    assert_eq!(sel.mode, "steps");
    // The chosen step is the best of the fold-mean curve (no smoothing).
    let best = sel
        .mean_curve
        .iter()
        .cloned()
        .fold((0, f64::NEG_INFINITY), |b, p| if p.1 > b.1 { p } else { b });
    assert_eq!((sel.steps, sel.score), best);
    assert_eq!(sel.max_steps, 16);

    // The run itself trained on every class for that many steps, and its
    // checkpoint records the choice, which the loader hands to protocols.
    assert_eq!(s.steps, sel.steps);
    let ckpt = find_checkpoint(&out).unwrap();
    assert_eq!(read_state(&ckpt).unwrap().step, sel.steps);
    let loaded = load_sensor_language(&out, Some(&minilm()), tch::Device::Cpu).unwrap();
    assert_eq!(loaded.config.selection.as_ref(), Some(&sel));
    assert_eq!(SensorTextModel::step_selection(&loaded.model), Some(&sel));
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("select").join(SELECTION_FILE)).unwrap())
            .unwrap();
    let recorded: StepSelection = serde_json::from_value(file["selection"].clone()).unwrap();
    assert_eq!(recorded, sel);

    // Started again with the same settings, the choice is reused: no
    // selection run is trained again.
    std::fs::remove_dir_all(out.join("select").join("fold_0")).unwrap();
    let again = train_sensor_language(&cfg, &opts(&store, &out)).unwrap();
    assert_eq!(again.selection.as_ref(), Some(&sel));
    assert!(!out.join("select").join("fold_0").exists());
    // Other settings choose afresh.
    let other = config(8, every(4));
    let s2 = train_sensor_language(&other, &opts(&store, &out)).unwrap();
    assert!(out.join("select").join("fold_0").exists());
    assert!(s2.selection.unwrap().folds[0].curve.len() == 2);
}

#[test]
fn whole_runs_per_candidate_budget_are_scored_at_their_end() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path(), true);
    let out = tmp.path().join("run");
    let sel = SelectConfig {
        budgets: vec![4, 8, 40],
        folds: 1,
        criterion: SelectCriterion::Mean,
        held_out_windows: HeldOutWindows::TrainingAndValidation,
        ..SelectConfig::default()
    };
    let s = train_sensor_language(&config(12, sel), &opts(&store, &out)).unwrap();
    let sel = s.selection.unwrap();
    assert_eq!(sel.mode, "budgets");
    // 40 is above the configured 12 and dropped; 12 is always a candidate.
    let fold = &sel.folds[0];
    assert_eq!(
        fold.curve.iter().map(|p| p.0).collect::<Vec<_>>(),
        [4, 8, 12]
    );
    for b in [4u64, 8, 12] {
        let ckpt = find_checkpoint(&out.join("select/fold_0").join(format!("steps_{b}"))).unwrap();
        let state = read_state(&ckpt).unwrap();
        assert_eq!(
            (state.step, state.total_steps),
            (b, b),
            "each candidate is a whole run"
        );
        let rec: SensorLanguageCheckpointConfig = read_json(&ckpt, CONFIG_FILE).unwrap();
        assert_eq!(rec.run.max_steps, b);
    }
    assert!(!out.join("select/fold_0/steps_40").exists());
    // `mean`: the criterion is the mean of the held-out and the seen
    // classes' validation macro-F1.
    assert_eq!(fold.seen_curve.len(), 3);
    for ((c, h), s) in fold
        .curve
        .iter()
        .zip(&fold.held_out_curve)
        .zip(&fold.seen_curve)
    {
        assert!((c.1 - (h.1 + s.1) / 2.0).abs() < 1e-12);
    }
    assert!([4, 8, 12].contains(&sel.steps));
    assert_eq!(s.steps, sel.steps);
}

#[test]
fn patience_stops_a_selection_run_early() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path(), true);
    let out = tmp.path().join("run");
    let sel = SelectConfig {
        patience: 1,
        folds: 1,
        ..every(1)
    };
    let s = train_sensor_language(&config(40, sel), &opts(&store, &out)).unwrap();
    let sel = s.selection.unwrap();
    let fold = &sel.folds[0];
    // Macro-F1 on 12 windows cannot rise at each of 40 steps.
    assert!(fold.stopped_early, "{fold:?}");
    assert!(fold.curve.len() < 40);
    let ckpt = find_checkpoint(&out.join("select").join("fold_0")).unwrap();
    let state = read_state(&ckpt).unwrap();
    assert!(state.finished, "an early-stopped run is finished");
    assert_eq!(state.step, fold.curve.last().unwrap().0);
    assert!(sel.steps <= state.step);
}

#[test]
fn bad_selection_settings_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    // No validation split.
    let no_val = store(tmp.path(), false);
    let err = train_sensor_language(&config(8, every(4)), &opts(&no_val, &out))
        .unwrap_err()
        .to_string();
    assert!(err.contains("validation split"), "{err}");
    assert!(
        err.contains("walking_running_sitting_lying_false.parquet"),
        "{err}"
    );

    let with_val = store(tmp.path(), true);
    // A held-out class that is not a training class.
    let sel = SelectConfig {
        classes: vec![vec!["walking".into(), "swimming".into()]],
        ..every(4)
    };
    let err = train_sensor_language(&config(8, sel), &opts(&with_val, &out))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("swimming") && err.contains("select.classes"),
        "{err}"
    );
    // Too many held-out classes for the training classes.
    let sel = SelectConfig {
        holdout: 3,
        folds: 2,
        ..every(4)
    };
    let err = train_sensor_language(&config(8, sel), &opts(&with_val, &out))
        .unwrap_err()
        .to_string();
    assert!(err.contains("select.holdout"), "{err}");
    // A held-out class the training windows lack after `exclude_labels`.
    let mut cfg = config(
        8,
        SelectConfig {
            classes: vec![vec!["walking".into(), "running".into()]],
            ..every(4)
        },
    );
    cfg.exclude_labels = vec!["running".into()];
    let err = train_sensor_language(&cfg, &opts(&with_val, &out))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`running` is not a training class"), "{err}");
}

#[test]
fn folds_are_seeded_disjoint_and_sorted() {
    let classes: Vec<String> = ["a", "b", "c", "d", "e", "f", "g"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let sel = SelectConfig {
        every: 10,
        holdout: 2,
        folds: 3,
        ..SelectConfig::default()
    };
    let f = holdout_folds(&sel, &classes, std::slice::from_ref(&classes)).unwrap();
    assert_eq!(f.len(), 3);
    assert!(f.iter().all(|g| g.len() == 2 && g[0] < g[1]));
    let mut all: Vec<&String> = f.iter().flatten().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 6);
    assert_eq!(
        f,
        holdout_folds(&sel, &classes, std::slice::from_ref(&classes)).unwrap()
    );
    let other = holdout_folds(
        &SelectConfig {
            seed: 1,
            ..sel.clone()
        },
        &classes,
        std::slice::from_ref(&classes),
    )
    .unwrap();
    assert_ne!(f, other, "the seed changes the folds");
    // 4 folds of 2 would need 8 classes.
    let four = SelectConfig {
        folds: 4,
        ..sel.clone()
    };
    assert!(holdout_folds(&four, &classes, std::slice::from_ref(&classes)).is_err());
    // Only classes with validation windows are drawn (another store's
    // classes cannot be scored).
    let one = SelectConfig {
        folds: 1,
        ..sel.clone()
    };
    let f = holdout_folds(&one, &classes, &[classes[4..].to_vec()]).unwrap();
    assert!(
        f[0].iter().all(|c| ["e", "f", "g"].contains(&c.as_str())),
        "{f:?}"
    );
    assert!(holdout_folds(&sel, &classes, &[classes[4..].to_vec()]).is_err());
}

/// With several training stores the stores take turns: every fold holds
/// out classes of each data set, not only of the one drawn first, and a
/// class two stores share counts once.
#[test]
fn folds_take_classes_of_every_store_in_turn() {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
    let a = names(&["a1", "a2", "a3", "a4", "a5", "a6"]);
    let b = names(&["b1", "b2", "b3", "a1"]);
    let mut all = a.clone();
    all.extend(names(&["b1", "b2", "b3"]));
    let sel = SelectConfig {
        every: 10,
        holdout: 3,
        folds: 2,
        ..SelectConfig::default()
    };
    for seed in 0..8 {
        let sel = SelectConfig {
            seed,
            ..sel.clone()
        };
        let f = holdout_folds(&sel, &all, &[a.clone(), b.clone()]).unwrap();
        assert_eq!(f.len(), 2);
        for fold in &f {
            let from_b = fold.iter().filter(|c| c.starts_with('b')).count();
            // Turns a, b, a | b, a, b: one or two of each store per fold.
            assert!((1..=2).contains(&from_b), "seed {seed}: {f:?}");
        }
        let mut held: Vec<&String> = f.iter().flatten().collect();
        held.sort();
        held.dedup();
        assert_eq!(held.len(), 6, "seed {seed}: folds overlap: {f:?}");
        // One store alone gives its own seeded order, as before.
        let only_a = holdout_folds(&sel, &a, std::slice::from_ref(&a)).unwrap();
        assert!(only_a.iter().flatten().all(|c| c.starts_with('a')));
    }
}

/// A run with an extra store scores its folds on the validation windows of
/// both stores, and holds out classes of each.
#[test]
fn selection_scores_the_validation_split_of_every_store() {
    let tmp = tempfile::tempdir().unwrap();
    let main = store(tmp.path(), true);
    let extra = store_of(
        tmp.path(),
        true,
        ["cycling", "jumping", "standing", "kneeling"],
    );
    let out = tmp.path().join("run");
    let cfg = config(8, every(4));
    let mut o = opts(&main, &out);
    o.extra_stores = vec![extra];
    let s = train_sensor_language(&cfg, &o).unwrap();
    let sel = s.selection.expect("a selection");
    assert_eq!(sel.folds.len(), 2);
    for f in &sel.folds {
        let from_main = f
            .classes
            .iter()
            .filter(|c| CLASSES.contains(&c.as_str()))
            .count();
        assert_eq!(from_main, 1, "one class of each store: {:?}", f.classes);
        // 6 validation windows of each held-out class, from either store.
        assert_eq!(f.val_windows, 12, "{:?}", f.classes);
    }
}

/// A selection with the values in mapped files (training set, fold sets,
/// validation windows) scores, chooses and trains exactly as in memory.
#[test]
fn values_on_disk_select_and_train_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let store = store(tmp.path(), true);
    let mut sel = every(4);
    sel.held_out_windows = HeldOutWindows::TrainingAndValidation;
    sel.criterion = SelectCriterion::Mean;
    let cfg = config(8, sel);
    let run = |name: &str, on_disk: bool| {
        let out = tmp.path().join(name);
        let mut o = opts(&store, &out);
        if on_disk {
            o.values = wearlang_models::ValueHome::Disk(out.clone());
        }
        let s = train_sensor_language(&cfg, &o).unwrap();
        let weights = std::fs::read(find_checkpoint(&out).unwrap().join("model.safetensors"));
        (s.selection.expect("a selection"), weights.unwrap())
    };
    let (a, b) = (run("mem", false), run("disk", true));
    assert!(!a.0.folds[0].seen_curve.is_empty());
    assert_eq!(a.0, b.0);
    assert!(a.1 == b.1, "the final weights differ");
}
