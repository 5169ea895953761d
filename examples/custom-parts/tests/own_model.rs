//! A fork's own model (`StatsTextModel`, not a `SensorLanguageModel`) runs
//! wearlang's built-in protocols through `EvalContext`: zero-shot, linear
//! probe, few-shot (its projection heads are adapted and restored) and
//! retrieval give valid rows; captioning and unseen activities, which need
//! what it lacks, are skipped with the reason. An oracle whose windows embed
//! exactly onto their class prompt's embedding scores 1.0, the same
//! embeddings dealt to the wrong classes 0.0, so the protocols really read
//! the model's two sides.
//!
//! In memory and small: runs in seconds.

use std::path::Path;

use tch::Tensor;
use wearlang_captioning::PromptTemplates;
use wearlang_core::{ChannelKind, ChannelSpec, LabelVocab, Split, Window};
use wearlang_evaluation::{
    class_embeddings, evaluators, run_protocols, EvalConfig, EvalContext, EvalReport,
    ProtocolResult, ZeroShotConfig,
};
use wearlang_example_custom_parts::model::StatsTextModel;
use wearlang_models::{ProjectionHeads, SensorTextModel, WindowSet};
use wearlang_store::StoreMeta;

/// In vocabulary order (sorted).
const CLASSES: [&str; 4] = ["cycling", "running", "sitting", "walking"];
const STEPS: usize = 16;

/// The class whose windows have channel `c` high: a permutation, so that
/// channel order and class order differ.
fn class_of_channel(c: usize) -> usize {
    (c + 1) % CLASSES.len()
}

/// Windows of four channels: a window of the class of channel `j` is `1 ±
/// a` on channel `j` and `± b` on the others (alternating in time, so every
/// channel's mean is exactly 1 or 0 and only the spread varies). Per class,
/// `per_class` windows of split `split`.
fn windows(per_class: usize, split: Split, offset: usize) -> WindowSet {
    let k = CLASSES.len();
    let mut out = Vec::new();
    for j in 0..k {
        for i in 0..per_class {
            let a = 0.125 * ((i + offset) % 4) as f32;
            let b = 0.25 * ((i + j + offset) % 3) as f32;
            let mut v = Vec::with_capacity(STEPS * k);
            for t in 0..STEPS {
                let sign = if t % 2 == 0 { 1.0 } else { -1.0 };
                for c in 0..k {
                    v.push(if c == j { 1.0 + sign * a } else { sign * b });
                }
            }
            let mut w = Window::from_values(
                format!("s{}", i % 3),
                format!("r{j}-{i}"),
                (i * 1000) as i64,
                10.0,
                k,
                v,
            )
            .unwrap();
            w.label = Some(CLASSES[class_of_channel(j)].into());
            w.split = split;
            out.push(w);
        }
    }
    let channels = (0..k)
        .map(|c| ChannelSpec::new(format!("ch{c}"), "a.u.", ChannelKind::Other))
        .collect();
    let mut meta = StoreMeta::new(channels, STEPS, 10.0);
    meta.labels = LabelVocab::sorted(CLASSES);
    WindowSet::from_windows(out, meta).unwrap()
}

fn context<'a>(
    model: &'a dyn SensorTextModel,
    train: &'a WindowSet,
    test: &'a WindowSet,
) -> EvalContext<'a> {
    EvalContext {
        model,
        store: Path::new("in-memory"),
        train,
        test,
        classes: CLASSES.iter().map(|c| c.to_string()).collect(),
        work_dir: std::env::temp_dir(),
        minilm_dir: None,
        progress: false,
        trainer: None,
    }
}

fn small_eval() -> EvalConfig {
    let mut e = EvalConfig::default();
    e.probe.steps = 40;
    e.few_shot.shots = vec![1, 3];
    e.few_shot.seeds = 2;
    e.few_shot.head_steps = 10;
    e
}

fn run(ctx: &EvalContext, names: &[&str]) -> EvalReport {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    run_protocols(ctx, &evaluators(&small_eval(), &names).unwrap(), |_| {}).unwrap()
}

fn valid(x: f64) -> bool {
    (0.0..=1.0).contains(&x)
}

#[test]
fn the_built_in_protocols_evaluate_a_fork_model() {
    let model = StatsTextModel::new(CLASSES.len(), 32, 16, 7).unwrap();
    let (train, test) = (windows(4, Split::Train, 0), windows(3, Split::Test, 1));
    let ctx = context(&model, &train, &test);
    let before = model.embed_windows(&test.x, 8).unwrap();
    let report = run(
        &ctx,
        &[
            "zero-shot",
            "linear-probe",
            "few-shot",
            "retrieval",
            "captioning",
            "unseen",
        ],
    );
    assert_eq!(report.run, "stats-text");
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|(n, why)| (n.as_str(), why.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                "unseen",
                "the model has no sensor-language configuration to retrain"
            ),
            ("captioning", "the model has no captioning decoder (β = 0)"),
        ]
    );
    let n_test = test.len();
    let mut seen = Vec::new();
    for r in &report.results {
        match r {
            ProtocolResult::ZeroShot(z) => {
                seen.push("zero-shot");
                for row in [&z.base, &z.ensemble, &z.knowledge] {
                    assert_eq!(row.predictions.len(), n_test);
                    assert!(row.predictions.iter().all(|&p| p < CLASSES.len()));
                    assert!(valid(row.report.macro_f1) && valid(row.report.accuracy));
                }
            }
            ProtocolResult::LinearProbe(c) => {
                seen.push("linear-probe");
                assert_eq!(c.train_windows, train.len());
                // Each class has its own high channel: a probe on the
                // statistics separates them.
                assert_eq!(c.report.macro_f1, 1.0, "{:?}", c.report);
            }
            ProtocolResult::FewShot(f) => {
                seen.push("few-shot");
                assert_eq!(f.series.len(), 2);
                assert!(valid(f.zero_shot_macro_f1));
                for s in &f.series {
                    assert_eq!(s.macro_f1.len(), 2);
                    assert!(s.macro_f1.iter().flatten().all(|&v| valid(v)));
                }
            }
            ProtocolResult::Retrieval(r) => {
                seen.push("retrieval");
                assert_eq!((r.windows, r.texts), (n_test, CLASSES.len()));
                for d in [&r.scores.forward, &r.scores.backward] {
                    assert!(d.ranks.iter().all(|&k| k >= 1));
                    assert!(valid(d.recall_at_1) && d.recall_at_1 <= d.recall_at_5);
                }
            }
            other => panic!("unexpected result {other:?}"),
        }
    }
    assert_eq!(seen, ["zero-shot", "linear-probe", "few-shot", "retrieval"]);
    // Few-shot trained the fork's heads and put them back.
    let after = model.embed_windows(&test.x, 8).unwrap();
    assert!(before.equal(&after), "few-shot left the heads changed");
    assert!(model
        .var_store()
        .variables()
        .values()
        .all(|v| v.requires_grad()));
}

/// Point the sensor head so that a window whose channel `j` is high embeds
/// exactly onto the base-prompt embedding of class `deal(j)`.
fn deal_windows_to(model: &StatsTextModel, deal: impl Fn(usize) -> usize) {
    let (cls, _) = class_embeddings(
        model,
        &CLASSES.map(String::from),
        &ZeroShotConfig {
            templates: PromptTemplates::Base,
            knowledge: false,
            batch: 8,
        },
    )
    .unwrap();
    let k = CLASSES.len() as i64;
    let e = cls.size()[1];
    // Weight [E, 2K]: column j (the mean of channel j) is the class's
    // embedding; the spreads are ignored.
    let cols: Vec<Tensor> = (0..k)
        .map(|j| cls.get(deal(j as usize) as i64))
        .chain((0..k).map(|_| Tensor::zeros([e], (tch::Kind::Float, tch::Device::Cpu))))
        .collect();
    let w = Tensor::stack(&cols, 1);
    tch::no_grad(|| {
        for (name, mut v) in model.var_store().variables() {
            if name == "sensor_head.weight" {
                v.copy_(&w);
            } else if name == "sensor_head.bias" {
                let _ = v.zero_();
            }
        }
    });
}

#[test]
fn an_oracle_scores_one_and_a_wrong_deal_zero() {
    let (train, test) = (windows(2, Split::Train, 0), windows(3, Split::Test, 1));

    let oracle = StatsTextModel::new(CLASSES.len(), 32, 16, 11).unwrap();
    deal_windows_to(&oracle, class_of_channel);
    let report = run(
        &context(&oracle, &train, &test),
        &["zero-shot", "retrieval"],
    );
    let ProtocolResult::ZeroShot(z) = &report.results[0] else {
        panic!("no zero-shot result");
    };
    assert_eq!(z.base.report.macro_f1, 1.0, "{:?}", z.base.report);
    assert_eq!(z.base.predictions, z.base.truths);
    // Retrieval's texts are the same base-template activity texts.
    let ProtocolResult::Retrieval(r) = &report.results[1] else {
        panic!("no retrieval result");
    };
    assert_eq!(r.scores.forward.recall_at_1, 1.0, "{:?}", r.scores.forward);

    // The same embeddings, each dealt to the next class: always wrong.
    let wrong = StatsTextModel::new(CLASSES.len(), 32, 16, 11).unwrap();
    deal_windows_to(&wrong, |j| (class_of_channel(j) + 1) % CLASSES.len());
    let report = run(&context(&wrong, &train, &test), &["zero-shot"]);
    let ProtocolResult::ZeroShot(z) = &report.results[0] else {
        panic!("no zero-shot result");
    };
    assert_eq!(z.base.report.accuracy, 0.0, "{:?}", z.base.report);
    assert_eq!(z.base.report.macro_f1, 0.0);
}
