//! Every TOML under `configs/` parses and validates as the kind its name
//! says (pretraining, SensorLLM, evaluation (`eval`, `eval_*`), or sensor-language training), so a config
//! the docs point to cannot rot unnoticed.

use std::path::Path;

use wearlang_evaluation::EvalConfig;
use wearlang_models::PretrainConfig;
use wearlang_models::SensorLanguageConfig;

#[test]
fn every_shipped_config_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        if name.starts_with("pretrain_") {
            PretrainConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        } else if name.starts_with("sensorllm_") {
            wearlang_sensorllm::SensorLlmConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        } else if name == "eval" {
            let cfg = EvalConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            // The shipped file documents the defaults: it must be them.
            assert_eq!(cfg, EvalConfig::default(), "configs/eval.toml drifted");
        } else if name.starts_with("eval_") {
            EvalConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        } else {
            let cfg = SensorLanguageConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                cfg.name,
                name,
                "{}: `name` differs from the file",
                path.display()
            );
        }
        names.push(name);
    }
    for want in [
        "nls_clip",
        "nls_clip_knowledge",
        "sensorlm_coca",
        "eval",
        "eval_cross_dataset",
        "pretrain_fixture",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "configs/{want}.toml missing"
        );
    }
}
