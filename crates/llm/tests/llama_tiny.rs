//! The Llama decoder on a tiny random configuration: shapes, KV cache equal
//! to a full recompute, padding masks, GGUF round trip (with llama.cpp's
//! Q/K permutation), generation, and loader errors.

use tch::{nn, Device, Kind, Tensor};
use wearlang_llm::gguf::GgmlType;
use wearlang_llm::model::{permute_qk, unpermute_qk};
use wearlang_llm::{
    GgufWriter, KvCache, Llama, LlamaConfig, LlmModel, MetaValue, Sampling, StopReason,
};

const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

fn vocab() -> (Vec<String>, Vec<&'static str>) {
    let mut tokens: Vec<String> = SPECIALS.iter().map(|s| s.to_string()).collect();
    tokens.extend(wearlang_llm::tiny::byte_tokens());
    let merges = vec!["Ġ w", "a l", "k i", "ki n", "kin g"];
    for m in &merges {
        tokens.push(m.replace(' ', ""));
    }
    (tokens, merges)
}

/// A tiny model whose weights come from its own seeded generator, not from
/// libtorch's global one: tests run in parallel threads of one process, and a
/// shared global generator would hand each test different numbers each run.
fn tiny_model(seed: i64) -> (nn::VarStore, Llama) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed as u64);
    let (tokens, _) = vocab();
    let mut cfg = LlamaConfig::tiny(tokens.len() as i64);
    cfg.tie_embeddings = true;
    let vs = nn::VarStore::new(Device::Cpu);
    let llama = Llama::new(&vs.root(), &cfg).unwrap();
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (name, mut v) in vars {
            let n = v.numel();
            let values: Vec<f32> = if name.ends_with("norm.weight") {
                // Norm scales away from 1 so a wrong load would show.
                (0..n).map(|_| rng.random_range(0.5f32..1.5)).collect()
            } else {
                // Irwin-Hall approximation of a normal, scaled to std 0.2.
                (0..n)
                    .map(|_| {
                        let s: f32 = (0..12).map(|_| rng.random::<f32>()).sum();
                        (s - 6.0) * 0.2
                    })
                    .collect()
            };
            v.copy_(&Tensor::from_slice(&values).view(v.size().as_slice()));
        }
    });
    (vs, llama)
}

fn ids(v: &[i64]) -> Tensor {
    Tensor::from_slice(v).view([1, v.len() as i64])
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn shapes_and_the_kv_cache_match_a_full_recompute() {
    let (_vs, m) = tiny_model(1);
    let seq = [5i64, 40, 77, 3, 200, 9, 31];
    tch::no_grad(|| {
        let full = m.forward(&ids(&seq), None).unwrap();
        assert_eq!(full.size(), vec![1, 7, m.config.vocab_size]);
        // One token at a time.
        let mut cache = KvCache::new();
        for (i, &t) in seq.iter().enumerate() {
            let step = m.forward(&ids(&[t]), Some(&mut cache)).unwrap();
            let d = max_diff(&step.select(1, 0), &full.select(1, i as i64));
            assert!(d < 1e-5, "position {i}: {d}");
        }
        assert_eq!(cache.len(), 7);
        // A prefix, then a chunk of several tokens against the cache.
        let mut cache = KvCache::new();
        let _ = m.forward(&ids(&seq[..3]), Some(&mut cache)).unwrap();
        let rest = m.forward(&ids(&seq[3..]), Some(&mut cache)).unwrap();
        let d = max_diff(&rest, &full.narrow(1, 3, 4));
        assert!(d < 1e-5, "chunked prefill: {d}");
    });
}

#[test]
fn later_tokens_do_not_change_earlier_positions() {
    let (_vs, m) = tiny_model(2);
    tch::no_grad(|| {
        let a = m.forward(&ids(&[10, 20, 30, 40]), None).unwrap();
        let b = m.forward(&ids(&[10, 20, 99, 98]), None).unwrap();
        assert!(max_diff(&a.narrow(1, 0, 2), &b.narrow(1, 0, 2)) < 1e-6);
        assert!(max_diff(&a.narrow(1, 2, 2), &b.narrow(1, 2, 2)) > 1e-3);
    });
}

#[test]
fn padding_keys_are_masked_out() {
    let (_vs, m) = tiny_model(3);
    tch::no_grad(|| {
        let short = [7i64, 8, 9];
        let alone = m.forward(&ids(&short), None).unwrap();
        // Batch of two: the short sequence right-padded with junk, beside a
        // longer one; its real positions must not change.
        let batch = Tensor::from_slice(&[7i64, 8, 9, 250, 251, 1, 2, 3, 4, 5]).view([2, 5]);
        let mask =
            Tensor::from_slice(&[true, true, true, false, false, true, true, true, true, true])
                .view([2, 5]);
        let x = m.embed_tokens(&batch);
        let h = m.forward_embeds(&x, None, Some(&mask)).unwrap();
        let logits = m.logits(&h);
        let d = max_diff(&logits.get(0).narrow(0, 0, 3), &alone.squeeze_dim(0));
        assert!(d < 1e-5, "right padding: {d}");
        // Left padding: keys masked out, positions shifted, so compare with a
        // mask instead of the unpadded run: masked junk must not matter.
        let left1 = Tensor::from_slice(&[250i64, 7, 8, 9]).view([1, 4]);
        let left2 = Tensor::from_slice(&[13i64, 7, 8, 9]).view([1, 4]);
        let lmask = Tensor::from_slice(&[false, true, true, true]).view([1, 4]);
        let h1 = m
            .forward_embeds(&m.embed_tokens(&left1), None, Some(&lmask))
            .unwrap();
        let h2 = m
            .forward_embeds(&m.embed_tokens(&left2), None, Some(&lmask))
            .unwrap();
        assert!(max_diff(&h1.narrow(1, 1, 3), &h2.narrow(1, 1, 3)) < 1e-6);
        assert!(
            h1.isfinite().all().int64_value(&[]) == 1,
            "a masked row became NaN"
        );
        // A wrong mask shape is an error, not a panic.
        let bad = Tensor::ones([1, 3], (Kind::Bool, Device::Cpu));
        assert!(m
            .forward_embeds(&m.embed_tokens(&left1), None, Some(&bad))
            .is_err());
    });
}

#[test]
fn qk_permutation_round_trips() {
    let w = Tensor::randn([12, 5], (Kind::Float, Device::Cpu));
    assert!(max_diff(&unpermute_qk(&permute_qk(&w, 3), 3), &w) == 0.0);
    assert!(max_diff(&permute_qk(&w, 3), &w) > 0.0);
}

/// Write the model as llama.cpp would: Q/K rows permuted, GGUF metadata.
fn write_gguf(vs: &nn::VarStore, cfg: &LlamaConfig, path: &std::path::Path, ty: GgmlType) {
    write_gguf_without(vs, cfg, path, ty, None)
}

fn write_gguf_without(
    vs: &nn::VarStore,
    cfg: &LlamaConfig,
    path: &std::path::Path,
    ty: GgmlType,
    skip: Option<&str>,
) {
    let (tokens, merges) = vocab();
    let mut w = GgufWriter::new();
    let u32v = |v: i64| MetaValue::U32(v as u32);
    w.meta("general.architecture", MetaValue::String("llama".into()))
        .meta("llama.block_count", u32v(cfg.n_layers))
        .meta("llama.context_length", u32v(cfg.max_positions))
        .meta("llama.embedding_length", u32v(cfg.hidden_size))
        .meta("llama.feed_forward_length", u32v(cfg.ffn_size))
        .meta("llama.attention.head_count", u32v(cfg.n_heads))
        .meta("llama.attention.head_count_kv", u32v(cfg.n_kv_heads))
        .meta(
            "llama.rope.freq_base",
            MetaValue::F32(cfg.rope_theta as f32),
        )
        .meta(
            "llama.attention.layer_norm_rms_epsilon",
            MetaValue::F32(cfg.rms_eps as f32),
        )
        .meta("llama.vocab_size", u32v(cfg.vocab_size))
        .meta("llama.rope.dimension_count", u32v(cfg.head_dim()))
        .meta("tokenizer.ggml.model", MetaValue::String("gpt2".into()))
        .meta("tokenizer.ggml.pre", MetaValue::String("smollm".into()))
        .meta(
            "tokenizer.ggml.tokens",
            MetaValue::Array(
                tokens
                    .iter()
                    .map(|t| MetaValue::String(t.clone()))
                    .collect(),
            ),
        )
        .meta(
            "tokenizer.ggml.token_type",
            MetaValue::Array(
                (0..tokens.len())
                    .map(|i| MetaValue::I32(if i < 3 { 3 } else { 1 }))
                    .collect(),
            ),
        )
        .meta(
            "tokenizer.ggml.merges",
            MetaValue::Array(
                merges
                    .iter()
                    .map(|m| MetaValue::String(m.to_string()))
                    .collect(),
            ),
        )
        .meta("tokenizer.ggml.bos_token_id", MetaValue::U32(1))
        .meta("tokenizer.ggml.eos_token_id", MetaValue::U32(2))
        .meta(
            "tokenizer.chat_template",
            MetaValue::String(
                "{{ '<|im_start|>system\nBe brief.<|im_end|>\n' }}{{'<|im_start|>' + role }}"
                    .into(),
            ),
        );
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, t) in vars {
        if Some(name.as_str()) == skip {
            continue;
        }
        let t = if name.ends_with("attn_q.weight") {
            permute_qk(&t, cfg.n_heads)
        } else if name.ends_with("attn_k.weight") {
            permute_qk(&t, cfg.n_kv_heads)
        } else {
            t
        };
        let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
        let values = Vec::<f32>::try_from(t.detach().contiguous().view(-1)).unwrap();
        let tty = if name.ends_with("norm.weight") {
            GgmlType::F32
        } else {
            ty
        };
        w.tensor(&name, &shape, &values, tty).unwrap();
    }
    w.write(path).unwrap();
}

/// A tiny random model written as a GGUF file (F32) and loaded back.
fn tiny_loaded(seed: i64) -> (Llama, LlmModel, tempfile::TempDir) {
    let (vs, m) = tiny_model(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write_gguf(&vs, &m.config, &path, GgmlType::F32);
    let model = LlmModel::load(&path, Device::Cpu).unwrap();
    (m, model, dir)
}

#[test]
fn a_gguf_written_like_llama_cpp_loads_back_exactly() {
    let (vs, m) = tiny_model(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.gguf");
    write_gguf(&vs, &m.config, &path, GgmlType::F32);
    let loaded = LlmModel::load(&path, Device::Cpu).unwrap();
    let mut want = m.config.clone();
    want.rms_eps = want.rms_eps as f32 as f64; // stored as f32 in the file
    assert_eq!(loaded.config(), &want);
    let seq = [3i64, 60, 90, 120, 7];
    tch::no_grad(|| {
        let a = m.forward(&ids(&seq), None).unwrap();
        let b = loaded.llama.forward(&ids(&seq), None).unwrap();
        assert!(max_diff(&a, &b) < 1e-5, "{}", max_diff(&a, &b));
    });
    // Its tokenizer came from the metadata: merges and specials work.
    let t = &loaded.tokenizer;
    let enc = t.encode("<|im_start|>king walk", true);
    assert_eq!(enc[0], 1);
    assert_eq!(t.token(enc[1]), Some("king"));
    assert_eq!(t.decode(&enc, false), "<|im_start|>king walk");
    let prompt = loaded.chat_prompt(None, "hi").unwrap();
    assert!(t
        .decode(&prompt, false)
        .starts_with("<|im_start|>system\nBe brief."));

    // Quantised storage loads too, close to the f32 model.
    let qpath = dir.path().join("tiny_q8.gguf");
    write_gguf(&vs, &m.config, &qpath, GgmlType::Q8_0);
    let q = LlmModel::load(&qpath, Device::Cpu).unwrap();
    tch::no_grad(|| {
        let a = m.forward(&ids(&seq), None).unwrap();
        let b = q.llama.forward(&ids(&seq), None).unwrap();
        let d = max_diff(&a, &b) / a.abs().max().double_value(&[]);
        assert!(d > 0.0 && d < 0.05, "Q8_0 model differs by {d} (relative)");
    });
}

#[test]
fn greedy_generation_equals_argmax_of_full_recomputes_and_sampling_is_seeded() {
    let (_m, model, _dir) = tiny_loaded(5);
    let prompt = vec![1u32, 100, 101, 102];
    let mut opts = model.options(12, Sampling::greedy());
    opts.stop_ids.clear(); // run to the length limit
    let mut streamed = String::new();
    let out = model
        .generate(&prompt, &opts, |p| {
            streamed.push_str(p);
            true
        })
        .unwrap();
    assert_eq!(out.ids.len(), 12);
    assert_eq!(out.stop, StopReason::Length);
    assert_eq!(streamed, out.text);
    // Without a cache: recompute the whole sequence each step.
    let mut seq = prompt.clone();
    for &want in &out.ids {
        let logits = model.sequence_logits(&seq).unwrap();
        let got = logits.get(-1).argmax(0, false).int64_value(&[]) as u32;
        assert_eq!(got, want);
        seq.push(got);
    }
    let sampled = |seed| {
        let s = Sampling {
            temperature: 1.0,
            top_k: 50,
            top_p: 0.95,
            seed,
        };
        let mut o = model.options(10, s);
        o.stop_ids.clear();
        model.generate(&prompt, &o, |_| true).unwrap().ids
    };
    assert_eq!(sampled(7), sampled(7));
    assert_ne!(sampled(7), sampled(8));
    // Stop tokens and the callback end generation early.
    let first = out.ids[0];
    let mut o = model.options(12, Sampling::greedy());
    o.stop_ids = vec![first];
    let r = model.generate(&prompt, &o, |_| true).unwrap();
    assert_eq!((r.ids.len(), r.stop), (1, StopReason::EndOfTurn));
    // Too long for the context is an error before any work.
    let o = model.options(1000, Sampling::greedy());
    assert!(model.generate(&prompt, &o, |_| true).is_err());
    // Token ids outside the vocabulary are an error.
    let o = model.options(2, Sampling::greedy());
    assert!(model.generate(&[5000], &o, |_| true).is_err());
}

#[test]
fn loader_errors_name_the_tensor_or_key() {
    let (vs, m) = tiny_model(6);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.gguf");
    write_gguf(&vs, &m.config, &good, GgmlType::F32);
    // Another architecture: rewrite the value of general.architecture.
    let mut bytes = std::fs::read(&good).unwrap();
    let key = b"general.architecture";
    let k = bytes.windows(key.len()).position(|w| w == key).unwrap();
    let v = k + key.len() + 4 + 8; // value type (u32), string length (u64)
    bytes[v..v + 5].copy_from_slice(b"gemma");
    let bad = dir.path().join("arch.gguf");
    std::fs::write(&bad, &bytes).unwrap();
    let err = LlmModel::load(&bad, Device::Cpu).err().unwrap().to_string();
    assert!(
        err.contains("general.architecture") && err.contains("gemma"),
        "{err}"
    );
    // A missing tensor.
    let missing = dir.path().join("missing.gguf");
    write_gguf_without(
        &vs,
        &m.config,
        &missing,
        GgmlType::F32,
        Some("blk.1.ffn_up.weight"),
    );
    let err = LlmModel::load(&missing, Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("blk.1.ffn_up.weight"), "{err}");
    // A truncated file names an offset.
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = LlmModel::load(&cut, Device::Cpu).err().unwrap().to_string();
    assert!(err.contains("byte offset"), "{err}");
    // A missing file names the setup step.
    let err = LlmModel::load(&dir.path().join("none.gguf"), Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cargo xtask setup"), "{err}");
}

#[test]
fn batched_samples_equal_single_generations() {
    let (_m, model, _dir) = tiny_loaded(7);
    let prompt = vec![1u32, 100, 101, 102, 103];
    let samplings: Vec<Sampling> = (0..4)
        .map(|seed| Sampling {
            temperature: if seed == 0 { 0.0 } else { 0.9 },
            top_k: 0,
            top_p: 0.95,
            seed,
        })
        .collect();
    // One stop token that some samples hit and others do not.
    let stop = vec![150u32];
    let many = model.generate_many(&prompt, &samplings, 10, &stop).unwrap();
    assert_eq!(many.len(), 4);
    for (s, got) in samplings.iter().zip(&many) {
        let mut o = model.options(10, s.clone());
        o.stop_ids = stop.clone();
        let single = model.generate(&prompt, &o, |_| true).unwrap();
        assert_eq!(got.ids, single.ids, "seed {}", s.seed);
        assert_eq!(got.stop, single.stop);
        assert_eq!(got.text, single.text);
    }
    assert!(model
        .generate_many(&prompt, &[], 10, &stop)
        .unwrap()
        .is_empty());
}

#[test]
fn paraphrasing_records_its_attempts_and_keeps_only_what_passes() {
    use wearlang_captioning::KnowledgeBase;
    use wearlang_llm::paraphrase::{paraphrase_knowledge, ParaphraseSettings};
    let (_m, model, _dir) = tiny_loaded(8);
    let kb = KnowledgeBase::from_toml_str(
        "[[activity]]\nname = 'walking'\ndescription = 'Steps forward at an easy pace.'\n",
    )
    .unwrap();
    let settings = ParaphraseSettings {
        n: 2,
        attempts_per_rewrite: 2,
        max_tokens: 8,
        ..ParaphraseSettings::default()
    };
    let mut calls = 0;
    let p = paraphrase_knowledge(
        &model,
        "abc",
        &kb,
        &["The person is {activity}"],
        &settings,
        |_, _| calls += 1,
    )
    .unwrap();
    assert_eq!(calls, 2);
    assert_eq!(p.provenance.model, "tiny.gguf");
    assert_eq!(p.provenance.model_sha256, "abc");
    assert_eq!(p.descriptions[0].key, "walking");
    assert_eq!(p.templates[0].source, "The person is {activity}");
    for set in p.descriptions.iter().chain(&p.templates) {
        // A random model writes junk: every attempt is spent, none kept.
        assert_eq!(set.attempts, 4);
        assert!(set.rewrites.is_empty(), "{:?}", set.rewrites);
    }
    // A template without its slot is refused before any generation.
    assert!(paraphrase_knowledge(&model, "abc", &kb, &["No slot"], &settings, |_, _| {}).is_err());
}

#[test]
fn spliced_embeddings_equal_the_token_path_and_carry_gradients() {
    use wearlang_llm::Piece;
    let (vs, m) = tiny_model(9);
    let a = [5u32, 6, 7];
    let b = [40u32, 41];
    let c = [90u32, 91, 92, 93];
    let ids_of = |v: &[u32]| Tensor::from_slice(&v.iter().map(|&x| x as i64).collect::<Vec<_>>());
    tch::no_grad(|| {
        // Ids, then ready embeddings of b, then ids: the same as ids a+b+c.
        let eb = m.embed_tokens(&ids_of(&b));
        let seqs = vec![
            vec![
                Piece::Ids(a.to_vec()),
                Piece::Embeds(eb),
                Piece::Ids(c.to_vec()),
            ],
            vec![Piece::Ids(c.to_vec())],
        ];
        let (x, mask, lengths) = m.assemble(&seqs).unwrap();
        assert_eq!(x.size(), vec![2, 9, m.config.hidden_size]);
        assert_eq!(lengths, vec![9, 4]);
        assert_eq!(mask.sum(Kind::Int64).int64_value(&[]), 13);
        let h = m.forward_embeds(&x, None, Some(&mask)).unwrap();
        let logits = m.logits(&h);
        let all: Vec<i64> = a.iter().chain(&b).chain(&c).map(|&t| t as i64).collect();
        let want = m.forward(&ids(&all), None).unwrap();
        assert!(max_diff(&logits.narrow(0, 0, 1), &want) < 1e-5);
        let want_c = m.forward(&ids(&c.map(|t| t as i64)), None).unwrap();
        assert!(max_diff(&logits.get(1).narrow(0, 0, 4), &want_c.squeeze_dim(0)) < 1e-5);
    });
    // Bad pieces are errors.
    let wrong = Tensor::zeros([2, 7], (Kind::Float, Device::Cpu));
    assert!(m.assemble(&[vec![Piece::Embeds(wrong)]]).is_err());
    assert!(m.assemble(&[vec![Piece::Ids(vec![100_000])]]).is_err());
    assert!(m.assemble(&[vec![]]).is_err());
    assert!(m.assemble(&[]).is_err());
    // A frozen LLM passes gradients to a trainable piece.
    let mut vs = vs;
    vs.freeze();
    let soft = Tensor::randn([2, m.config.hidden_size], (Kind::Float, Device::Cpu))
        .set_requires_grad(true);
    let (x, mask, _) = m
        .assemble(&[vec![
            Piece::Ids(a.to_vec()),
            Piece::Embeds(soft.shallow_clone()),
        ]])
        .unwrap();
    let h = m.forward_embeds(&x, None, Some(&mask)).unwrap();
    m.logits(&h).sum(Kind::Float).backward();
    let g = soft.grad();
    assert!(g.defined() && g.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    assert!(
        !m.embed.ws.grad().defined(),
        "the frozen embedding got a gradient"
    );
}

/// A fresh LoRA adapter (B = 0) changes nothing, bit for bit, with and
/// without a KV cache; a non-zero B changes exactly the adapted outputs and
/// gradients reach A and B but not the frozen decoder; bad settings and
/// adapters of another depth are named errors.
#[test]
fn lora_starts_as_the_identity_and_trains_only_its_adapters() {
    use wearlang_llm::{LoraAdapters, LoraConfig};
    let (mut vs, llama) = tiny_model(7);
    vs.freeze();
    let x = llama.embed_tokens(&ids(&[5, 9, 40, 41, 42, 3]));
    let plain = llama.forward_embeds(&x, None, None).unwrap();

    let _rng = wearlang_device::lock_rng();
    let lora_vs = nn::VarStore::new(Device::Cpu);
    tch::manual_seed(1);
    let cfg = LoraConfig {
        rank: 2,
        alpha: 4.0,
        targets: vec!["q".into(), "v".into(), "o".into()],
    };
    let lora = LoraAdapters::new(&(lora_vs.root() / "lora"), &llama.config, &cfg).unwrap();
    let mut names: Vec<String> = lora_vs.variables().into_keys().collect();
    names.sort();
    let per_block = 6;
    assert_eq!(names.len(), per_block * llama.config.n_layers as usize);
    assert!(
        names.contains(&"lora.blk.0.attn_q.a".to_string()),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.contains("attn_k")), "{names:?}");

    let with = llama
        .forward_embeds_with(&x, None, None, Some(&lora))
        .unwrap();
    assert!(with.equal(&plain), "a fresh adapter changed the output");
    let mut cache = KvCache::new();
    let first = llama
        .forward_embeds_with(&x.narrow(1, 0, 4), Some(&mut cache), None, Some(&lora))
        .unwrap();
    assert!(first.equal(&plain.narrow(1, 0, 4)));

    // Set every B to 0.05: the output moves, and a backward pass reaches
    // the adapters only.
    tch::no_grad(|| {
        for (name, mut v) in lora_vs.variables() {
            if name.ends_with(".b") {
                let _ = v.fill_(0.05);
            }
        }
    });
    let moved = llama
        .forward_embeds_with(&x, None, None, Some(&lora))
        .unwrap();
    let diff = (&moved - &plain).abs().max().double_value(&[]);
    assert!(diff > 1e-4, "max change {diff}");
    moved.sum(Kind::Float).backward();
    for (name, v) in lora_vs.variables() {
        let g = v.grad();
        assert!(g.defined(), "no gradient for {name}");
        assert!(g.abs().sum(Kind::Float).double_value(&[]) > 0.0, "{name}");
    }
    for (name, v) in vs.variables() {
        assert!(
            !v.grad().defined(),
            "the frozen decoder's {name} got a gradient"
        );
    }

    for (bad, field) in [
        (
            LoraConfig {
                rank: 0,
                ..cfg.clone()
            },
            "lora.rank",
        ),
        (
            LoraConfig {
                alpha: f64::NAN,
                ..cfg.clone()
            },
            "lora.alpha",
        ),
        (
            LoraConfig {
                targets: vec!["q".into(), "gate".into()],
                ..cfg.clone()
            },
            "lora.targets",
        ),
        (
            LoraConfig {
                targets: vec!["q".into(), "q".into()],
                ..cfg.clone()
            },
            "lora.targets",
        ),
    ] {
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
    let mut deeper = llama.config.clone();
    deeper.n_layers += 1;
    let other_vs = nn::VarStore::new(Device::Cpu);
    let other = LoraAdapters::new(&other_vs.root(), &deeper, &cfg).unwrap();
    let err = llama
        .forward_embeds_with(&x, None, None, Some(&other))
        .unwrap_err()
        .to_string();
    assert!(err.contains("LoRA adapters for"), "{err}");
}
