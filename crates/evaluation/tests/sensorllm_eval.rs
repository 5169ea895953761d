//! The SensorLLM protocol on runs trained with the tiny LLM (written to a
//! GGUF file, as the real one is): stage 2's classification and stage 1's
//! descriptions are scored on the test split, and the report shows them.

use std::path::{Path, PathBuf};

use wearlang_core::{ChannelKind, ChannelSpec, LabelVocab, Normalisation, Split, Window};
use wearlang_evaluation::{evaluate_sensorllm, evaluators, EvalConfig, SensorLlmEvalConfig};
use wearlang_llm::tiny::{tiny_llm, write_gguf};
use wearlang_llm::LlmModel;
use wearlang_models::{load_split, EncoderSpec, PretrainConfig};
use wearlang_sensorllm::{AnswerScope, SensorLlmConfig};
use wearlang_store::{StoreMeta, StoreWriter};
use wearlang_train::{
    align_sensorllm, pretrain, tune_sensorllm, PretrainOptions, SensorLlmOptions,
};

/// Two classes (channel 0 rises / falls), trend text `ok` for all; each
/// split holds both classes.
fn store(dir: &Path) -> PathBuf {
    let path = dir.join("two.parquet");
    let channels = vec![
        ChannelSpec::new("acc_x", "g", ChannelKind::Accelerometer),
        ChannelSpec::new("acc_y", "g", ChannelKind::Accelerometer),
    ];
    let mut meta = StoreMeta::new(channels, 20, 1.0);
    meta.labels = LabelVocab::new(["down", "up"]);
    meta.normalisation = Some(Normalisation {
        mean: vec![0.0, 0.0],
        std: vec![1.0, 1.0],
        count: Vec::new(),
    });
    meta.caption_columns = vec!["trend".into()];
    let splits = [
        Split::Train,
        Split::Train,
        Split::Train,
        Split::Val,
        Split::Test,
    ];
    let windows: Vec<Window> = (0..80)
        .map(|i| {
            let up = i % 2 == 0;
            let v: Vec<f32> = (0..20)
                .flat_map(|t| {
                    let r = (t as f32 - 9.5) / 5.0;
                    [if up { r } else { -r }, ((i * 7 + t) % 5) as f32 * 0.1]
                })
                .collect();
            let mut w =
                Window::from_values(format!("s{i}"), format!("r{i}"), 0, 1.0, 2, v).unwrap();
            w.split = splits[(i as usize / 2) % 5];
            w.label = Some(if up { "up" } else { "down" }.into());
            w.captions.insert("trend".into(), "ok".into());
            w
        })
        .collect();
    let mut writer = StoreWriter::create(&path, meta).unwrap();
    writer.write(&windows).unwrap();
    writer.finish().unwrap();
    path
}

#[test]
fn the_sensorllm_protocol_scores_both_stages() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mae = dir.path().join("mae");
    let mut pc = PretrainConfig {
        batch_size: 8,
        max_steps: 2,
        checkpoint_every: 2,
        log_every: 1,
        encoder: EncoderSpec {
            preset: "tiny".into(),
            patch_time: 5,
            patch_channel: 1,
            ..EncoderSpec::default()
        },
        ..PretrainConfig::default()
    };
    pc.decoder.dim = 16;
    pc.decoder.depth = 1;
    let po = |out: &Path| PretrainOptions {
        store: store.clone(),
        extra_stores: Vec::new(),
        out: out.to_path_buf(),
        resume: false,
        progress: false,
        stop_after: None,
        values: Default::default(),
    };
    pretrain(&pc, &po(&mae)).unwrap();

    let gguf = dir.path().join("tiny.gguf");
    write_gguf(&tiny_llm(5, tch::Device::Cpu).unwrap(), &gguf).unwrap();
    let llm = || LlmModel::load(&gguf, tch::Device::Cpu).unwrap();
    let mut cfg = SensorLlmConfig {
        projector_hidden: 32,
        ..SensorLlmConfig::default()
    };
    cfg.align.train.batch_size = 16;
    cfg.align.train.max_steps = 120;
    cfg.align.train.optim.lr = 3e-2;
    cfg.align.train.optim.weight_decay = 0.0;
    cfg.align.max_answer_tokens = 8;
    cfg.align.answer = AnswerScope::Window;
    cfg.tune.train = cfg.align.train.clone();
    cfg.tune.train.max_steps = 40;
    cfg.tune.eval_every = 10;
    let so = |from: &Path, out: &Path| SensorLlmOptions {
        store: store.clone(),
        from: from.to_path_buf(),
        out: out.to_path_buf(),
        resume: false,
        progress: false,
        stop_after: None,
    };
    let align = dir.path().join("align");
    align_sensorllm(&cfg, &so(&mae, &align), llm()).unwrap();
    let tune = dir.path().join("tune");
    tune_sensorllm(&cfg, &so(&align, &tune), llm()).unwrap();

    let eval_cfg = SensorLlmEvalConfig {
        align: Some(align.clone()),
        tune: Some(tune.clone()),
        describe: 10,
        ..SensorLlmEvalConfig::default()
    };
    let test = load_split(&store, Split::Test).unwrap();
    let r = evaluate_sensorllm(&eval_cfg, &store, &test).unwrap();
    let c = r.classification.unwrap();
    assert_eq!(c.n_samples, test.len());
    assert!(c.macro_f1 > 0.9, "stage-2 macro-F1 {}", c.macro_f1);
    let d = r.descriptions.unwrap();
    assert_eq!(d.windows, 10);
    assert!(
        d.examples.iter().all(|(r, g)| r == "ok" && g == "ok"),
        "{:?}",
        d.examples
    );
    assert!(d.metrics.rouge_l > 0.99, "{:?}", d.metrics);
    assert_eq!(d.faithfulness.captions, 10);
    assert_eq!((d.descriptions, d.scope.as_str()), (10, "window"));

    // Per-channel questions (the default): every test window is asked
    // about each channel, against references written from its raw values,
    // whose claims the checker confirms.
    let mut per_channel = cfg.clone();
    per_channel.align.answer = AnswerScope::Channel;
    per_channel.align.train.max_steps = 4;
    per_channel.align.max_answer_tokens = 12;
    let align_c = dir.path().join("align_channel");
    align_sensorllm(&per_channel, &so(&mae, &align_c), llm()).unwrap();
    let rc = evaluate_sensorllm(
        &SensorLlmEvalConfig {
            align: Some(align_c),
            describe: 16,
            ..SensorLlmEvalConfig::default()
        },
        &store,
        &test,
    )
    .unwrap();
    let dc = rc.descriptions.unwrap();
    assert_eq!((dc.windows, dc.descriptions), (16, 32));
    assert_eq!(dc.scope, "channel");
    assert_eq!(dc.faithfulness.captions, 32);
    // The content-blind level: references of other windows, checked here,
    // make claims (rises vs falls on channel 0 alternate between windows,
    // so some fail).
    let o = dc.other_windows.clone().unwrap();
    assert_eq!(o.captions, 32);
    assert!(o.claims > 0 && o.claims_holding < o.claims, "{o:?}");
    let (first, second) = (&dc.examples[0].0, &dc.examples[1].0);
    assert!(
        first.contains("acc x") && !first.contains("acc y"),
        "{first}"
    );
    assert!(
        second.contains("acc y") && !second.contains("acc x"),
        "{second}"
    );
    // The prompt gives each answer's opening, which names the channel; the
    // model writes at most the trained length (12 tokens, bytes here) after
    // it.
    for (k, (_, g)) in dc.examples.iter().enumerate() {
        let prefix = ["Trend of acc x:", "Trend of acc y:"][k % 2];
        let written = g.strip_prefix(prefix).unwrap_or_else(|| panic!("{g}"));
        assert!(written.chars().count() <= 12, "{g}");
    }

    // Named in the config it joins a default evaluation; unnamed it does
    // not, and asked for without a run it says what is missing.
    let mut ec = EvalConfig::default();
    let names = |ec: &EvalConfig| -> Vec<&'static str> {
        evaluators(ec, &[])
            .unwrap()
            .iter()
            .map(|e| e.name())
            .collect()
    };
    assert!(!names(&ec).contains(&"sensorllm"));
    ec.sensorllm = eval_cfg;
    assert!(names(&ec).contains(&"sensorllm"));
    let e = evaluators(&EvalConfig::default(), &["sensorllm".into()]).unwrap();
    assert_eq!(e.len(), 1);
}
