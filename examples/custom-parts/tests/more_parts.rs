//! The fork's text tower and mask strategy, found through their registries
//! and named in configs: a model whose text side is `bag_of_words` trains,
//! names the fixture's activities zero-shot and reloads as trained; masked
//! pretraining runs with the `forecast` mask and records it.

mod common;

use common::{config_path, fixture_store, minilm, run_custom_parts, summary_value};
use wearlang_masking::MaskConfig;
use wearlang_models::sensor_language::TextKind;
use wearlang_models::{load_mae, load_sensor_language, PretrainConfig};
use wearlang_train::PretrainOptions;

#[test]
fn a_registered_text_tower_trains_and_names_activities() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(dir.path());
    let out = dir.path().join("custom_text");
    let stdout = run_custom_parts(&store, &out, "custom_text.toml", 80);
    // Seven classes: chance is 1/7.
    let zs = summary_value(&stdout, "| zero-shot macro-F1");
    assert!(
        zs > 0.4,
        "zero-shot macro-F1 {zs} with the bag-of-words text tower"
    );

    wearlang_example_custom_parts::register().unwrap();
    let loaded = load_sensor_language(&out.join("run"), Some(&minilm()), tch::Device::Cpu).unwrap();
    assert_eq!(loaded.config.run.text.kind, TextKind::Custom);
    assert_eq!(loaded.config.run.text.name.as_deref(), Some("bag_of_words"));
    assert_eq!(
        loaded.config.model.custom_text,
        Some(serde_json::json!({ "dim": 64, "vocab_size": 30522 }))
    );
    let texts = ["person doing shoulder flexion", "walking"];
    let a = loaded.model.embed_texts(&texts, 2).unwrap();
    let again = load_sensor_language(&out.join("run"), Some(&minilm()), tch::Device::Cpu).unwrap();
    let b = again.model.embed_texts(&texts, 2).unwrap();
    assert_eq!(a.size(), vec![2, 64]);
    assert!(a.equal(&b), "a reloaded text tower embeds differently");
    // Its variables are in the checkpoint under `text.`.
    let names: Vec<String> = loaded.model.vs.variables().into_keys().collect();
    assert!(names.iter().any(|n| n == "text.embed.weight"), "{names:?}");
}

#[test]
fn pretraining_runs_with_a_registered_mask_strategy() {
    wearlang_example_custom_parts::register().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(dir.path());
    let mut cfg = PretrainConfig::from_file(&config_path("forecast_mae.toml")).unwrap();
    cfg.max_steps = 20;
    cfg.checkpoint_every = 20;
    let out = dir.path().join("mae");
    let summary = wearlang_train::pretrain(
        &cfg,
        &PretrainOptions {
            store: store.clone(),
            extra_stores: Vec::new(),
            out: out.clone(),
            resume: false,
            progress: false,
            stop_after: None,
            values: Default::default(),
        },
    )
    .unwrap();
    assert_eq!(summary.steps, 20);
    assert!(summary.final_loss.is_finite() && summary.final_loss > 0.0);
    let loaded = load_mae(&out, tch::Device::Cpu).unwrap();
    assert!(matches!(
        &loaded.config.run.mask,
        MaskConfig::Custom { name, params } if name == "forecast" && params["ratio"] == 0.5
    ));
    // An unregistered name is refused before any training.
    cfg.mask = MaskConfig::Custom {
        name: "hindsight".into(),
        params: Default::default(),
    };
    let err = wearlang_train::pretrain(
        &cfg,
        &PretrainOptions {
            store,
            extra_stores: Vec::new(),
            out: dir.path().join("never"),
            resume: false,
            progress: false,
            stop_after: None,
            values: Default::default(),
        },
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("hindsight") && err.contains("register_mask_strategy"),
        "{err}"
    );
    assert!(!dir.path().join("never").join("checkpoint").exists());
}
