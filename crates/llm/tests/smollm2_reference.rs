//! SmolLM2-135M-Instruct from its GGUF file against the reference Python
//! library (fixtures/reference/smollm2_135m_instruct.json): the same token
//! ids, the top-5 next-token logits within 1e-3 and the same 20 greedy
//! tokens. Needs the model from `cargo xtask setup`; fails (does not skip)
//! when it is missing.

use std::path::{Path, PathBuf};

use tch::Device;
use wearlang_llm::{default_model_path, LlmModel, Sampling};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn smollm2_matches_the_reference() {
    let path = default_model_path(None, &workspace());
    let model = LlmModel::load(&path, Device::Cpu).unwrap_or_else(|e| {
        panic!(
            "SmolLM2 missing or unreadable at {}: {e}. Run `cargo xtask setup`.",
            path.display()
        )
    });
    let cfg = model.config();
    assert_eq!(
        (
            cfg.n_layers,
            cfg.hidden_size,
            cfg.n_heads,
            cfg.n_kv_heads,
            cfg.ffn_size
        ),
        (30, 576, 9, 3, 1536)
    );
    assert_eq!((cfg.vocab_size, cfg.rope_theta), (49152, 100_000.0));
    assert!(cfg.tie_embeddings);
    let text =
        std::fs::read_to_string(workspace().join("fixtures/reference/smollm2_135m_instruct.json"))
            .unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let items = reference["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let mut worst = 0f64;
    for item in items {
        let prompt = item["prompt"].as_str().unwrap();
        let want_ids = ids(&item["input_ids"]);
        let got_ids = model.tokenizer.encode(prompt, true);
        assert_eq!(got_ids, want_ids, "ids of {prompt:?}");
        assert_eq!(model.tokenizer.decode(&got_ids, false), prompt);

        let logits = model.sequence_logits(&got_ids).unwrap();
        let last = Vec::<f32>::try_from(logits.get(-1)).unwrap();
        let want_top = ids(&item["last_logits_top5_ids"]);
        let want_vals: Vec<f64> = item["last_logits_top5_values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let mut order: Vec<usize> = (0..last.len()).collect();
        order.sort_by(|&a, &b| last[b].total_cmp(&last[a]));
        let got_top: Vec<u32> = order[..5].iter().map(|&i| i as u32).collect();
        assert_eq!(got_top, want_top, "top-5 ids after {prompt:?}");
        for (&id, &want) in want_top.iter().zip(&want_vals) {
            let d = (last[id as usize] as f64 - want).abs();
            worst = worst.max(d);
            // The reference rounds to 4 decimals (± 5e-5).
            assert!(
                d < 1e-3,
                "logit of {id} after {prompt:?}: {} vs {want}",
                last[id as usize]
            );
        }

        let want_greedy = ids(&item["greedy_20_ids"]);
        let opts = model.options(20, Sampling::greedy());
        let out = model.generate(&got_ids, &opts, |_| true).unwrap();
        assert_eq!(out.ids, want_greedy, "greedy tokens after {prompt:?}");
        assert_eq!(
            model.tokenizer.decode(&out.ids, false),
            item["greedy_20_text"].as_str().unwrap()
        );
    }
    println!("max |logit - reference| over the top-5s: {worst:.2e}");
}
