//! Damaged checkpoints and model files through the `wearlang` binary: a
//! weight of another dtype, an optimizer `step` of another shape, a MiniLM
//! config with zero heads and more beams than the decoder has tokens are
//! errors (rc 1) naming the tensor or field, never a panic or a silently
//! different result.
mod common;
use common::{
    assert_clear_error, captioned_store, embed, mark_unfinished, minilm_dir, stderr,
    train_tiny as train, trained_run, wearlang,
};
use std::path::Path;

/// Rewrite the JSON header of the safetensors file `path` with `edit`
/// (the tensor data stays as it is).
fn edit_safetensors_header(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    edit(&mut header);
    let header = serde_json::to_vec(&header).unwrap();
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&bytes[8 + n..]);
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_weight_of_another_dtype_is_refused_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let store = captioned_store(dir.path());
    let run = trained_run(dir.path(), &store);
    let emb = dir.path().join("emb.parquet");
    let out = embed(&run, &store, &emb);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(&emb).unwrap();

    // F32 and I32 have the same width: the file stays well formed and used
    // to load, converted, giving other embeddings.
    let mut renamed = String::new();
    edit_safetensors_header(&run.join("checkpoint/model.safetensors"), |h| {
        let (name, t) = h
            .as_object_mut()
            .unwrap()
            .iter_mut()
            .find(|(k, v)| k.starts_with("sensor.") && v["dtype"] == "F32")
            .unwrap();
        t["dtype"] = "I32".into();
        renamed = name.clone();
    });
    let out = embed(&run, &store, &emb);
    assert_clear_error(&out, &["model.safetensors", &format!("`{renamed}`"), "Int"]);
    assert!(!emb.exists(), "no embedding file from a refused model");
}

#[test]
fn an_optimizer_step_of_another_shape_is_refused_on_resume() {
    let dir = tempfile::tempdir().unwrap();
    let store = captioned_store(dir.path());
    let minilm = minilm_dir();
    let run = trained_run(dir.path(), &store);
    // Pretend the run stopped after its first step of two.
    mark_unfinished(&run, 1, 2);
    // One I64 either way: only the shape differs ([1] → []).
    edit_safetensors_header(&run.join("checkpoint/optimizer.safetensors"), |h| {
        assert_eq!(h["step"]["shape"], serde_json::json!([1]));
        h["step"]["shape"] = serde_json::json!([]);
    });
    let out = train(dir.path(), &store, "run", false, &minilm, &[]);
    // `train` above is a fresh run into an existing directory: refused.
    assert_clear_error(&out, &["--resume"]);
    let out = train(dir.path(), &store, "run", false, &minilm, &["--resume"]);
    assert_clear_error(&out, &["optimizer", "`step` has shape []"]);
}

#[test]
fn a_minilm_config_with_zero_heads_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = captioned_store(dir.path());
    // The real MiniLM with one field of its config.json set to 0.
    let bad = dir.path().join("minilm");
    std::fs::create_dir(&bad).unwrap();
    for entry in std::fs::read_dir(minilm_dir()).unwrap() {
        let src = entry.unwrap().path();
        let name = src.file_name().unwrap();
        if name == "config.json" {
            let mut cfg: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
            cfg["num_attention_heads"] = 0.into();
            std::fs::write(bad.join(name), cfg.to_string()).unwrap();
        } else {
            std::os::unix::fs::symlink(std::fs::canonicalize(&src).unwrap(), bad.join(name))
                .unwrap();
        }
    }
    let out = train(dir.path(), &store, "run", false, &bad, &[]);
    assert_clear_error(&out, &["config.json", "`num_attention_heads` is 0"]);
}

#[test]
fn more_beams_than_the_decoder_has_tokens_is_refused_naming_beam() {
    let dir = tempfile::tempdir().unwrap();
    let store = captioned_store(dir.path());
    let minilm = minilm_dir();
    let out = train(dir.path(), &store, "coca", true, &minilm, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cfg = dir.path().join("eval.toml");
    std::fs::write(&cfg, "[captioning]\nwindows = 2\nbeam = 1000000\n").unwrap();
    let out = wearlang(&[
        "eval",
        "--checkpoint",
        dir.path().join("coca").to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
        "--out",
        dir.path().join("eval").to_str().unwrap(),
        "--protocol",
        "captioning",
        "--config",
        cfg.to_str().unwrap(),
        "--minilm",
        minilm.to_str().unwrap(),
        "--quiet",
    ]);
    assert_clear_error(&out, &["beam", "1000000 beams", "vocabulary"]);
}
