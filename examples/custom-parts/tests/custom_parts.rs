//! The fork example end to end on the real shoulder-exercise fixture: its
//! encoder, objective and protocol are found through the registries, trained
//! and evaluated from `configs/custom.toml`, recorded in the checkpoint and
//! rebuilt from it; unregistered names are errors that say what to do.

mod common;

use common::{config_path, fixture_store, minilm, run_custom_parts, summary_value};
use wearlang_core::Split;
use wearlang_evaluation::{evaluators, EvalConfig};
use wearlang_models::sensor_language::SensorKind;
use wearlang_models::{
    load_sensor_language, load_split, SensorLanguageConfig, SensorLanguageModel,
};
use wearlang_objectives::ObjectiveConfig;

fn config() -> SensorLanguageConfig {
    SensorLanguageConfig::from_file(&config_path("custom.toml")).unwrap()
}

#[test]
fn a_fork_trains_and_evaluates_with_its_own_parts() {
    wearlang_example_custom_parts::register().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = fixture_store(dir.path());
    let out = dir.path().join("custom");
    let stdout = run_custom_parts(&store, &out, "custom.toml", 80);

    // The registered protocol ran and beat chance (1/7) by far.
    let f1 = summary_value(&stdout, "| nearest-centroid macro-F1");
    assert!(f1 > 0.5, "nearest-centroid macro-F1 {f1}");
    let metrics = std::fs::read_to_string(out.join("eval/metrics.json")).unwrap();
    assert!(metrics.contains("\"protocol\": \"custom\"") && metrics.contains("nearest-centroid"));
    let md = std::fs::read_to_string(out.join("eval/report.md")).unwrap();
    assert!(md.contains("## nearest-centroid"), "{md}");
    // The training log carries the custom objective's term.
    let log = std::fs::read_to_string(out.join("run/metrics.jsonl")).unwrap();
    assert!(log.contains("smoothed_clip"), "{log}");

    // The checkpoint recorded the parts by name and what the encoder
    // resolved, and rebuilds them.
    let loaded = load_sensor_language(&out.join("run"), Some(&minilm()), tch::Device::Cpu).unwrap();
    assert_eq!(loaded.config.run.sensor.kind, SensorKind::Custom);
    assert_eq!(loaded.config.run.sensor.name.as_deref(), Some("stats_mlp"));
    assert!(matches!(
        &loaded.config.run.objective,
        ObjectiveConfig::Custom { name, .. } if name == "smoothed_clip"
    ));
    assert_eq!(
        loaded.config.model.custom_sensor,
        Some(serde_json::json!({ "hidden": 128, "dim": 64 }))
    );
    let test = load_split(&store, Split::Test).unwrap();
    let x = test.x.narrow(0, 0, 8);
    let a = loaded.model.embed_windows(&x, 8).unwrap();
    let again = load_sensor_language(&out.join("run"), Some(&minilm()), tch::Device::Cpu).unwrap();
    let b = again.model.embed_windows(&x, 8).unwrap();
    assert_eq!(a.size(), vec![8, 64]);
    assert!(a.equal(&b), "a reloaded model embeds differently");
}

#[test]
fn unregistered_parts_are_errors_that_say_how_to_register_them() {
    wearlang_example_custom_parts::register().unwrap();
    let mut cfg = config();
    cfg.sensor.name = Some("nope".into());
    let err = SensorLanguageModel::new(&cfg, 100, 6, &minilm(), tch::Device::Cpu, &[])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("unknown sensor encoder `nope`")
            && err.contains("stats_mlp")
            && err.contains("register_sensor_encoder"),
        "{err}"
    );

    let mut cfg = config();
    cfg.sensor.name = None;
    let err = cfg.validate().err().unwrap().to_string();
    assert!(err.contains("sensor.name"), "{err}");

    let mut cfg = config();
    cfg.objective = ObjectiveConfig::Custom {
        name: "nope".into(),
        params: Default::default(),
    };
    let err = cfg.validate().err().unwrap().to_string();
    assert!(
        err.contains("nope") && err.contains("register_objective"),
        "{err}"
    );

    // The registered protocol is listed among the known ones, and settings
    // for a protocol nobody registered are refused.
    let err = evaluators(&EvalConfig::default(), &["telepathy".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("nearest-centroid"), "{err}");
    let mut eval = EvalConfig::default();
    eval.custom.insert("telepathy".into(), Default::default());
    let err = evaluators(&eval, &[]).err().unwrap().to_string();
    assert!(err.contains("telepathy"), "{err}");
    // Its settings reach its factory.
    let mut eval = EvalConfig::default();
    let mut bad = serde_json::Map::new();
    bad.insert("batch".into(), serde_json::json!(0));
    eval.custom.insert("nearest-centroid".into(), bad);
    let err = evaluators(&eval, &["nearest-centroid".into()])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("batch"), "{err}");
}
