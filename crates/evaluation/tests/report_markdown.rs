//! The evaluation report's outputs stay byte-identical: `EvalReport`s built
//! by hand with every `ProtocolResult` variant (and the edge cases of each
//! section) give exactly the `report.md`, summary rows and `metrics.json`
//! stored under `tests/golden/`.
//!
//! The golden files were captured from the code before the module split.
//! To recapture them deliberately (a change of the report's format), run
//! `WEARLANG_UPDATE_GOLDEN=1 cargo test -p wearlang-evaluation --test
//! report_markdown` and review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wearlang_evaluation::{
    CaptionEval, ClassifierResult, CustomResult, EvalReport, FaithfulnessSummary, FewShotMethod,
    FewShotResult, FewShotSeries, GapHandling, HideKind, ImputationRow, PretrainReport, ProbeFit,
    ProtocolResult, RetrievalResult, RobustnessRow, UnseenGroup, UnseenResult, ZeroShotReport,
    ZeroShotResult,
};
use wearlang_metrics::{BidirectionalRetrieval, CaptionReport, ClassificationReport, MeanStd};

/// Four classes: two the knowledge base knows by code (their plain names
/// differ), one it knows by name, one it does not (normalised).
fn classes() -> Vec<String> {
    ["PEN", "ABD", "walking", "Sit_Down"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn classification(truth: &[usize], pred: &[usize], k: usize) -> ClassificationReport {
    ClassificationReport::compute(truth, pred, k).unwrap()
}

fn zs_report(classes: &[String], truth: &[usize], pred: &[usize], per: usize) -> ZeroShotReport {
    ZeroShotReport {
        classes: classes.to_vec(),
        prompts_per_class: per,
        report: classification(truth, pred, classes.len()),
        predictions: pred.to_vec(),
        truths: truth.to_vec(),
    }
}

fn zero_shot() -> ZeroShotResult {
    let c = classes();
    let truth = [0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 0, 2];
    ZeroShotResult {
        base: zs_report(&c, &truth, &[0, 1, 1, 2, 1, 2, 0, 3, 1, 3, 0, 2], 1),
        ensemble: zs_report(&c, &truth, &[0, 0, 1, 2, 1, 2, 2, 3, 1, 3, 0, 2], 7),
        knowledge: zs_report(&c, &truth, &[0, 0, 1, 1, 1, 2, 2, 3, 3, 0, 0, 2], 7),
    }
}

fn classifier(method: &str, train: usize, pred: &[usize]) -> ClassifierResult {
    ClassifierResult {
        method: method.into(),
        train_windows: train,
        report: classification(&[0, 1, 2, 3, 0, 1, 2, 3, 3], pred, 4),
    }
}

fn mean_std(v: &[f64]) -> MeanStd {
    MeanStd::from_values(v).unwrap()
}

fn few_shot() -> FewShotResult {
    let heads = vec![
        vec![0.31, 0.42, 0.377],
        vec![0.5, 0.55, 0.61],
        vec![0.7125, 0.69, 0.74],
    ];
    let probe = vec![
        vec![0.25, 0.3, 0.2875],
        vec![0.45, 0.4, 0.52],
        vec![0.66, 0.7, 0.6849],
    ];
    let series = |method, v: Vec<Vec<f64>>| FewShotSeries {
        method,
        summary: v.iter().map(|s| mean_std(s)).collect(),
        macro_f1: v,
    };
    FewShotResult {
        shots: vec![2, 5, 10],
        seeds: 3,
        available_per_class: vec![12, 9, 30, 4],
        zero_shot_macro_f1: 0.2871,
        series: vec![
            series(FewShotMethod::ProjectionHeads, heads),
            series(FewShotMethod::LinearProbe, probe),
        ],
    }
}

/// A few-shot result without shot counts: no summary row, an empty table.
fn few_shot_empty() -> FewShotResult {
    FewShotResult {
        shots: Vec::new(),
        seeds: 1,
        available_per_class: vec![3, 0],
        zero_shot_macro_f1: 0.5,
        series: vec![FewShotSeries {
            method: FewShotMethod::LinearProbe,
            macro_f1: Vec::new(),
            summary: Vec::new(),
        }],
    }
}

fn unseen() -> UnseenResult {
    let g0: Vec<String> = vec!["PEN".into(), "walking".into()];
    let g1: Vec<String> = vec!["ABD".into(), "Sit_Down".into()];
    let groups = vec![
        UnseenGroup {
            classes: g0.clone(),
            train_windows: 140,
            base: zs_report(&g0, &[0, 0, 1, 1, 1], &[0, 1, 1, 1, 0], 1),
            ensemble: zs_report(&g0, &[0, 0, 1, 1, 1], &[0, 0, 1, 1, 0], 7),
            knowledge: zs_report(&g0, &[0, 0, 1, 1, 1], &[0, 0, 1, 1, 1], 7),
            accuracy_among_all: 0.4,
            reused: false,
        },
        UnseenGroup {
            classes: g1.clone(),
            train_windows: 122,
            base: zs_report(&g1, &[0, 1, 1, 0], &[1, 1, 1, 0], 1),
            ensemble: zs_report(&g1, &[0, 1, 1, 0], &[0, 1, 0, 0], 7),
            knowledge: zs_report(&g1, &[0, 1, 1, 0], &[0, 1, 1, 1], 7),
            accuracy_among_all: 0.25,
            reused: true,
        },
    ];
    let mean = |f: fn(&UnseenGroup) -> f64| groups.iter().map(f).sum::<f64>() / 2.0;
    UnseenResult {
        steps: 1500,
        steps_from: "selected on held-out classes".into(),
        mean_macro_f1_base: mean(|g| g.base.report.macro_f1),
        mean_macro_f1_ensemble: mean(|g| g.ensemble.report.macro_f1),
        mean_macro_f1_knowledge: mean(|g| g.knowledge.report.macro_f1),
        mean_chance: 0.5,
        groups,
    }
}

fn retrieval() -> RetrievalResult {
    // 5 windows × 3 texts.
    let sim: Vec<f32> = vec![
        0.9, 0.1, 0.2, //
        0.3, 0.8, 0.1, //
        0.2, 0.7, 0.4, //
        0.1, 0.2, 0.3, //
        0.5, 0.45, 0.6,
    ];
    let relevant = vec![vec![0], vec![1], vec![2], vec![2], vec![0]];
    RetrievalResult {
        variant: "activity".into(),
        windows: 5,
        texts: 3,
        scores: BidirectionalRetrieval::from_similarity(&sim, 5, 3, &relevant).unwrap(),
    }
}

fn captions(faithfulness: Option<FaithfulnessSummary>) -> CaptionEval {
    let generated = vec![
        "the person is doing a pendulum exercise".to_string(),
        "walking at a steady pace".to_string(),
        "heart rate rises to 120 bpm while walking".to_string(),
    ];
    let refs = vec![
        vec!["a person doing a pendulum exercise".to_string()],
        vec!["a person walking".to_string()],
        vec!["a person sitting down".to_string()],
    ];
    CaptionEval {
        windows: 3,
        mentions_true_activity: 2.0 / 3.0,
        mentions_other_activity: 1.0 / 3.0,
        metrics: CaptionReport::compute(&generated, &refs).unwrap(),
        examples: refs
            .iter()
            .zip(&generated)
            .map(|(r, g)| (r[0].clone(), g.clone()))
            .collect(),
        window_indices: vec![0, 4, 9],
        captions: generated,
        faithfulness,
    }
}

fn custom() -> CustomResult {
    CustomResult {
        name: "Energy per window".into(),
        summary: vec![
            ("energy MAE".into(), "0.123".into()),
            ("energy R²".into(), "0.871".into()),
        ],
        markdown: "| metric | value |\n| --- | --- |\n| MAE | 0.123 |\n\n".into(),
        data: serde_json::json!({"mae": 0.123, "per_subject": [0.1, 0.2], "note": "ok"}),
    }
}

fn pretraining(robustness: bool) -> PretrainReport {
    PretrainReport {
        store: "data/fixture.parquet".into(),
        heldout_split: "test".into(),
        heldout_windows: 48,
        imputation: vec![
            ImputationRow {
                kind: HideKind::Random,
                ratio: 0.3,
                hidden_values: 1234,
                mse_model: 0.1875,
                mse_mean: 0.9,
                mse_linear: 0.25,
            },
            ImputationRow {
                kind: HideKind::TemporalBlock,
                ratio: 0.5,
                hidden_values: 2048,
                mse_model: 0.4,
                mse_mean: 0.95,
                mse_linear: 0.5,
            },
        ],
        robustness: if robustness {
            vec![
                RobustnessRow {
                    fraction: 0.0,
                    handling: GapHandling::Aim,
                    probe: ProbeFit::Clean,
                    macro_f1: 0.81,
                    accuracy: 0.84,
                    macro_f1_sd: 0.0,
                    draws: 1,
                },
                RobustnessRow {
                    fraction: 0.5,
                    handling: GapHandling::Imputed,
                    probe: ProbeFit::Clean,
                    macro_f1: 0.6123,
                    accuracy: 0.7,
                    macro_f1_sd: 0.0123,
                    draws: 5,
                },
                RobustnessRow {
                    fraction: 0.5,
                    handling: GapHandling::Aim,
                    probe: ProbeFit::Matched,
                    macro_f1: 0.7456,
                    accuracy: 0.77,
                    macro_f1_sd: 0.0098,
                    draws: 5,
                },
            ]
        } else {
            Vec::new()
        },
        robustness_skipped: (!robustness).then(|| "the store has fewer than 2 labels".into()),
        probe_capped: None,
    }
}

/// Every variant, every plot present, a pretraining section with
/// robustness rows, skipped protocols and timings.
fn full_report() -> (EvalReport, Vec<PathBuf>) {
    let results = vec![
        ProtocolResult::ZeroShot(zero_shot()),
        ProtocolResult::LinearProbe(classifier(
            "linear probe on frozen sensor features",
            812,
            &[0, 1, 2, 3, 0, 2, 2, 3, 1],
        )),
        ProtocolResult::Supervised(classifier(
            "conv classifier trained end to end (2000 steps, batch 64)",
            815,
            &[0, 1, 2, 3, 0, 1, 2, 3, 3],
        )),
        ProtocolResult::FewShot(few_shot()),
        ProtocolResult::Unseen(unseen()),
        ProtocolResult::Retrieval(retrieval()),
        ProtocolResult::Captioning(captions(Some(FaithfulnessSummary {
            captions: 3,
            captions_with_claims: 1,
            claims: 2,
            claims_holding: 1,
            faithful_share: Some(0.0),
        }))),
        ProtocolResult::Custom(custom()),
    ];
    let mut seconds = BTreeMap::new();
    for (k, v) in [
        ("zero-shot", 12.345),
        ("linear-probe", 3.0),
        ("supervised", 98.76),
        ("few-shot", 40.04),
        ("unseen", 1234.5),
        ("retrieval", 0.05),
        ("captioning", 77.7),
        ("energy", 1.25),
    ] {
        seconds.insert(k.to_string(), v);
    }
    let report = EvalReport {
        run: "nls-tiny".into(),
        split: "test".into(),
        steps: 3000,
        store: PathBuf::from("data/fixture.parquet"),
        classes: classes(),
        model_classes: Vec::new(),
        unseen_classes: Vec::new(),
        dropped_channels: Vec::new(),
        model_placement: None,
        store_placement: None,
        placement_unseen: false,
        normalisation: Default::default(),
        train_windows: 900,
        test_windows: 321,
        results,
        skipped: vec![("other".into(), "it does not apply".into())],
        seconds,
        pretraining: Some(pretraining(true)),
    };
    let plots = [
        "eval/confusion_zero_shot.png",
        "eval/confusion_zero_shot.svg",
        "eval/confusion_linear_probe.png",
        "eval/confusion_supervised.png",
        "eval/few_shot.png",
        "eval/few_shot.svg",
        "eval/retrieval_ranks.png",
        "eval/loss_curves.png",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    (report, plots)
}

/// No plots (or only SVGs, which the Markdown does not show), the
/// faithfulness edge cases, a few-shot result without shots, a pretraining
/// section whose robustness was skipped, no timings, several skips.
fn sparse_report() -> (EvalReport, Vec<PathBuf>) {
    let results = vec![
        ProtocolResult::Supervised(classifier(
            "conv classifier trained end to end (10 steps, batch 8)",
            40,
            &[0, 0, 0, 0, 0, 0, 0, 0, 0],
        )),
        ProtocolResult::ZeroShot(zero_shot()),
        ProtocolResult::FewShot(few_shot_empty()),
        ProtocolResult::Captioning(captions(Some(FaithfulnessSummary {
            captions: 3,
            captions_with_claims: 0,
            claims: 0,
            claims_holding: 0,
            faithful_share: None,
        }))),
        ProtocolResult::Captioning(captions(None)),
        ProtocolResult::Retrieval(retrieval()),
        ProtocolResult::LinearProbe(classifier(
            "linear probe on frozen sensor features",
            7,
            &[3, 2, 1, 0, 3, 2, 1, 0, 3],
        )),
    ];
    let report = EvalReport {
        run: "sensorlm-small".into(),
        split: "test".into(),
        steps: 10,
        store: PathBuf::from("/tmp/some store/windows.parquet"),
        classes: classes(),
        model_classes: Vec::new(),
        unseen_classes: Vec::new(),
        dropped_channels: Vec::new(),
        model_placement: None,
        store_placement: None,
        placement_unseen: false,
        normalisation: Default::default(),
        train_windows: 40,
        test_windows: 9,
        results,
        skipped: vec![
            (
                "unseen".into(),
                "4 classes in the test split: too few".into(),
            ),
            ("captioning".into(), "no decoder".into()),
        ],
        seconds: BTreeMap::new(),
        pretraining: Some(pretraining(false)),
    };
    let plots = ["confusion_zero_shot.svg", "few_shot", "retrieval_ranks.jpg"]
        .iter()
        .map(PathBuf::from)
        .collect();
    (report, plots)
}

/// No results at all and no classes.
fn empty_report() -> (EvalReport, Vec<PathBuf>) {
    let report = EvalReport {
        run: "empty".into(),
        split: "test".into(),
        steps: 0,
        store: PathBuf::from("s.parquet"),
        classes: Vec::new(),
        model_classes: Vec::new(),
        unseen_classes: Vec::new(),
        dropped_channels: Vec::new(),
        model_placement: None,
        store_placement: None,
        placement_unseen: false,
        normalisation: Default::default(),
        train_windows: 0,
        test_windows: 0,
        results: Vec::new(),
        skipped: Vec::new(),
        seconds: BTreeMap::new(),
        pretraining: None,
    };
    (report, Vec::new())
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Compare `actual` with `tests/golden/<name>`, or write it there when
/// `WEARLANG_UPDATE_GOLDEN` is set.
fn check_golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("WEARLANG_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (capture with WEARLANG_UPDATE_GOLDEN=1)",
            path.display()
        )
    });
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the golden file (first at line {}):\n--- expected\n{}\n--- actual\n{}",
            path.display(),
            line + 1,
            expected.lines().nth(line).unwrap_or("<end>"),
            actual.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

fn check_report(name: &str, (report, plots): (EvalReport, Vec<PathBuf>)) {
    check_golden(&format!("{name}.md"), &report.to_markdown(&plots));
    check_golden(
        &format!("{name}.summary.json"),
        &serde_json::to_string_pretty(&report.summary()).unwrap(),
    );
    let json = serde_json::to_string_pretty(&report).unwrap();
    check_golden(&format!("{name}.metrics.json"), &json);
    // metrics.json reads back (not bit for bit: serde_json parses floats
    // without its `float_roundtrip` feature, so the last digit may move).
    let back: EvalReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back.results.len(), report.results.len());
    assert_eq!(back.summary().len(), report.summary().len());
}

#[test]
fn full_report_is_byte_identical() {
    check_report("full", full_report());
}

#[test]
fn sparse_report_is_byte_identical() {
    check_report("sparse", sparse_report());
}

#[test]
fn empty_report_is_byte_identical() {
    check_report("empty", empty_report());
}

#[test]
fn accessors_find_their_results() {
    let (full, _) = full_report();
    assert_eq!(
        full.zero_shot().unwrap().ensemble.prompts_per_class,
        zero_shot().ensemble.prompts_per_class
    );
    assert_eq!(full.supervised().unwrap().train_windows, 815);
    let (empty, _) = empty_report();
    assert!(empty.zero_shot().is_none() && empty.supervised().is_none());
}

/// A store whose classes differ from the model's: the header names the
/// classes the model saw and the ones new to it, and the channels left out.
#[test]
fn the_header_says_which_classes_are_new_to_the_model() {
    let (mut report, plots) = empty_report();
    report.classes = vec!["walking".into(), "sitting".into(), "PEN".into()];
    report.model_classes = vec!["PEN".into(), "ABD".into()];
    report.dropped_channels = vec!["heart_rate".into()];
    assert_eq!(report.new_classes(), ["walking", "sitting"]);
    let md = report.to_markdown(&plots);
    assert!(
        md.contains(r#"trained on other classes than this store's: ["PEN", "ABD"]. New to it: 2 of 3 (["walking", "sitting"])"#),
        "{md}"
    );
    assert!(md.contains(r#"left out: ["heart_rate"]"#), "{md}");
    // Classes are compared by the activity they name: `WALKING` and
    // `LAYING` are the store's `walking` and `lying down`.
    report.classes = vec!["Walking".into(), "lying down".into(), "PEN".into()];
    report.model_classes = vec!["WALKING".into(), "LAYING".into(), "PEN".into()];
    assert!(
        report.new_classes().is_empty(),
        "{:?}",
        report.new_classes()
    );
    report.model_classes = report.classes.clone();
    report.dropped_channels.clear();
    assert!(report.new_classes().is_empty());
    let md = report.to_markdown(&plots);
    assert!(
        !md.contains("New to it") && !md.contains("left out"),
        "{md}"
    );
    // The scale is named only when it is the model's, and survives JSON.
    assert!(!md.contains("training scale"), "{md}");
    assert!(!serde_json::to_string(&report)
        .unwrap()
        .contains("normalisation"));
    report.normalisation = wearlang_models::InputNormalisation::Model;
    assert!(report
        .to_markdown(&plots)
        .contains("model's training scale"));
    let back: wearlang_evaluation::EvalReport =
        serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(back.normalisation, report.normalisation);
}

/// The header says where the store was worn against where the model's
/// training data were, and flags a placement the model never saw.
#[test]
fn the_header_names_an_unseen_placement() {
    let (mut report, plots) = empty_report();
    assert!(!report.to_markdown(&plots).contains("Worn"));
    report.model_placement = Some("wrist, waist".into());
    report.store_placement = Some("ankle, IMU".into());
    report.placement_unseen = true;
    let md = report.to_markdown(&plots);
    assert!(
        md.contains("worn at a place the model never trained on: ankle, IMU (the model's training data: wrist, waist)"),
        "{md}"
    );
    report.placement_unseen = false;
    report.store_placement = Some("wrist".into());
    let md = report.to_markdown(&plots);
    assert!(
        md.contains("Worn: wrist (the model's training data: wrist, waist)"),
        "{md}"
    );
    let back: wearlang_evaluation::EvalReport =
        serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(back.model_placement, report.model_placement);
}
