//! The pretrained MiniLM in tch against the reference Python library
//! (fixtures/reference/minilm_all-MiniLM-L6-v2.json): same token ids, same
//! embeddings within 1e-4. Needs the model files from `cargo xtask setup`;
//! fails (does not skip) when they are missing.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};
use wearlang_encoders::text::{default_model_dir, MiniLmEncoder, WordPieceTokenizer};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn encoder() -> MiniLmEncoder {
    let dir = default_model_dir(None, &workspace());
    MiniLmEncoder::load(&dir, Device::Cpu).unwrap_or_else(|e| {
        panic!(
            "MiniLM model files missing or unreadable in {}: {e}. Run `cargo xtask setup`.",
            dir.display()
        )
    })
}

#[test]
fn token_ids_and_embeddings_match_the_reference() {
    let enc = encoder();
    let text = std::fs::read_to_string(
        workspace().join("fixtures/reference/minilm_all-MiniLM-L6-v2.json"),
    )
    .unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = reference["items"].as_array().unwrap();
    assert!(items.len() >= 8);
    let texts: Vec<&str> = items.iter().map(|i| i["text"].as_str().unwrap()).collect();
    for (item, t) in items.iter().zip(&texts) {
        let want: Vec<i64> = item["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(enc.tokenizer.encode(t, 256), want, "ids of {t:?}");
    }
    let got = enc.embed_texts(&texts, 3).unwrap(); // batches of 3: padding must not matter
    let mut worst = 0f64;
    for (i, item) in items.iter().enumerate() {
        let want: Vec<f32> = item["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let diff = (got.get(i as i64) - Tensor::from_slice(&want))
            .abs()
            .max()
            .double_value(&[]);
        worst = worst.max(diff);
    }
    println!("max abs difference to the reference: {worst:.2e}");
    assert!(worst < 1e-4, "max abs difference {worst}");
    let norms = got.norm_scalaropt_dim(2.0, [1i64].as_slice(), false);
    assert!((norms - 1.0).abs().max().double_value(&[]) < 1e-5);
}

#[test]
fn tokenizer_matches_the_spec_example_and_pads() {
    let dir = default_model_dir(None, &workspace());
    let tok = WordPieceTokenizer::from_vocab(&dir.join("vocab.txt")).unwrap();
    assert_eq!(
        tok.encode("Héllo WORLD, naïve café 12345!", 256),
        vec![101, 7592, 2088, 1010, 15743, 7668, 13138, 19961, 999, 102]
    );
    assert_eq!(tok.special_ids(), (0, 101, 102));
    assert_eq!(tok.vocab_size(), 30522);
    let b = tok
        .encode_batch(
            &["walking", "the person is doing shoulder abduction"],
            256,
            Device::Cpu,
        )
        .unwrap();
    assert_eq!(b.ids.size()[0], 2);
    assert_eq!(b.lengths[0], 3);
    assert_eq!(
        i64::try_from(b.attention_mask.get(0).sum(Kind::Int64)).unwrap(),
        3
    );
    assert_eq!(i64::try_from(b.ids.get(0).get(5)).unwrap(), 0); // [PAD]
    assert_eq!(tok.decode(&[101, 3788, 102]), "walking");
    // Truncation keeps [CLS] … [SEP].
    let long = tok.encode(&"word ".repeat(50), 8);
    assert_eq!(long.len(), 8);
    assert_eq!((long[0], long[7]), (101, 102));
    assert!(tok.encode_batch::<&str>(&[], 256, Device::Cpu).is_err());
}

#[test]
fn missing_model_files_are_clear_errors() {
    let err = MiniLmEncoder::load(Path::new("/nonexistent/minilm"), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/nonexistent/minilm") && err.contains("cargo xtask setup"),
        "{err}"
    );
}

#[test]
fn a_config_with_zero_heads_or_sizes_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let real = default_model_dir(None, &workspace()).join("config.json");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(real).unwrap()).unwrap();
    for field in ["num_attention_heads", "hidden_size", "vocab_size"] {
        let mut bad = cfg.clone();
        bad[field] = serde_json::json!(0);
        let path = dir.path().join("config.json");
        std::fs::write(&path, bad.to_string()).unwrap();
        let err = wearlang_encoders::text::BertConfig::from_file(&path)
            .unwrap_err()
            .to_string();
        assert!(err.contains(field) && err.contains("config.json"), "{err}");
    }
}

#[test]
fn frozen_encoder_has_no_trainable_variables() {
    let enc = encoder();
    assert!(enc.vs.variables().values().all(|v| !v.requires_grad()));
    assert_eq!(enc.vs.variables().len(), 101); // 5 embedding + 16 per layer × 6
}
