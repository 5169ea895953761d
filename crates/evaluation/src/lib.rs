//! Evaluation protocols for wearlang.
//!
//! Sensor-language protocols behind one [`Evaluator`] trait, each in its own
//! file: [`ZeroShotEval`] (class prompts: base template, ensemble,
//! knowledge), [`LinearProbeEval`] and [`SupervisedEval`] (the baselines on
//! the same split), [`FewShotEval`] (k windows per class × seeds; projection
//! heads with the contrastive loss, or a linear probe), [`UnseenEval`]
//! (retrain without a group of classes, zero-shot on it), [`RetrievalEval`]
//! (sensor ↔ text Recall@k and ranks) and [`CaptioningEval`] (BLEU-4,
//! ROUGE-L, CIDEr-D, activity mentions, faithfulness). [`run_protocols`]
//! collects them into an [`EvalReport`] with its Markdown and plots;
//! [`evaluate_run`] does all of it for a run directory, which is what
//! `wearlang eval` writes (see `docs/evaluation.md`). [`train_report`] is
//! the quick zero-shot (and caption) report `wearlang train` writes.
//!
//! The protocols see the model through `wearlang_models::SensorTextModel`
//! ([`EvalContext::model`]), so a fork's own model runs them; the linear
//! probe and the few-shot heads are fitted in memory on the training engine
//! (`wearlang-engine`), never through `wearlang-train`.
//!
//! The pretraining protocols of LSM-2 — [`evaluate_imputation`] (reconstruct
//! hidden observed values; compare with per-channel mean and linear
//! interpolation) and [`evaluate_robustness`] (linear probe on clean
//! training embeddings, test windows with patches removed, AIM against
//! impute-then-encode) — and the [`pretrain_report()`] that `wearlang
//! pretrain` writes live here too, with the [`LinearProbe`] and the gap
//! fillers in [`fill`].
//!
//! The modules are layered without an import circle. At the bottom, the
//! results: what each protocol returns ([`ProtocolResult`] and the types it
//! holds, serialised into `metrics.json`) with its summary rows and its
//! section of the Markdown report. Above them, the [`EvalContext`] a
//! protocol sees and the [`Evaluator`] trait it implements; then the
//! protocols, one file each (computation only); then the registry
//! ([`PROTOCOLS`], [`register_protocol`], [`EvalConfig`], [`evaluators`]),
//! which imports the protocols and which none of them imports. The
//! [`EvalReport`] puts the results' sections together. A test
//! (`tests/module_layers.rs`) keeps it that way.
//!
//! ```no_run
//! use std::path::Path;
//! use wearlang_core::Split;
//! use wearlang_evaluation::{evaluators, run_protocols, EvalConfig, EvalContext};
//! use wearlang_models::{load_sensor_language, load_split};
//!
//! let store = Path::new("windows.parquet");
//! let run = load_sensor_language(Path::new("runs/nls"), None, tch::Device::Cpu).unwrap();
//! let train = load_split(store, Split::Train).unwrap();
//! let test = load_split(store, Split::Test).unwrap();
//! let ctx = EvalContext {
//!     // `SensorLanguageModel`, or any `wearlang_models::SensorTextModel`.
//!     model: &run.model,
//!     store,
//!     train: &train,
//!     test: &test,
//!     classes: run.config.labels.clone(),
//!     work_dir: "runs/nls/eval".into(),
//!     minilm_dir: None,
//!     progress: false,
//!     // The training that `unseen` and `supervised` call.
//!     trainer: Some(&wearlang_train::DefaultTrainer),
//! };
//! let protocols = evaluators(&EvalConfig::default(), &["zero-shot".into(), "few-shot".into()]).unwrap();
//! let report = run_protocols(&ctx, &protocols, |m| eprintln!("{m}")).unwrap();
//! let plots = report.write_plots(Path::new("runs/nls/eval"), None).unwrap();
//! println!("{}", report.to_markdown(&plots));
//! ```

#![warn(missing_docs)]

mod baselines;
mod captions;
mod context;
mod error;
mod faithful;
mod few_shot;
pub mod fill;
mod imputation;
mod pretrain_report;
mod probe;
mod protocol;
mod report;
mod results;
mod retrieval;
mod robustness;
mod run;
mod select;
mod sensorllm;
mod train_report;
mod unseen;
mod zero_shot;

pub use baselines::{LinearProbeEval, SupervisedEval};
pub use captions::{evaluate_captions, reference_texts, CaptioningEval, CaptioningEvalConfig};
pub use context::{EvalContext, Evaluator};
pub use error::{EvalError, Result};
pub use faithful::faithfulness;
pub use few_shot::{FewShotConfig, FewShotEval};
pub use imputation::{evaluate_imputation, HideKind, ImputationConfig, ImputationRow};
pub use pretrain_report::{
    pretrain_report, pretrain_report_in, PretrainReport, PretrainReportConfig,
};
pub use probe::{LinearProbe, ProbeConfig};
pub use protocol::{
    evaluators, register_protocol, registered_protocols, EvalConfig, ProtocolFactory, PROTOCOLS,
};
pub use report::{check_metrics_log, find_metrics_log, loss_series, run_protocols, EvalReport};
pub use results::{
    CaptionEval, ClassifierResult, CustomResult, DescriptionScores, FaithfulnessSummary,
    FewShotMethod, FewShotResult, FewShotSeries, ProtocolResult, RetrievalResult, SensorLlmResult,
    UnseenGroup, UnseenResult, ZeroShotReport, ZeroShotResult,
};
pub use retrieval::{RetrievalConfig, RetrievalEval};
pub use robustness::{
    embed_windows, evaluate_robustness, impute_linear, remove_patches, GapHandling, ProbeFit,
    RobustnessConfig, RobustnessRow,
};
pub use run::{evaluate_run, RunEvalOptions, RunEvaluation};
pub use sensorllm::{evaluate_sensorllm, SensorLlmEval, SensorLlmEvalConfig};
pub use train_report::{train_report, TrainReport, TrainReportOptions};
pub use unseen::{partition_classes, run_budget, UnseenConfig, UnseenEval};
pub use zero_shot::{
    class_embeddings, zero_shot, zero_shot_scores, CandidateLabel, ZeroShotConfig, ZeroShotEval,
};
