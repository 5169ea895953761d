//! Evaluation protocols for wearlang.
//!
//! So far: the pretraining protocols of LSM-2 —
//! [`evaluate_imputation`] (reconstruct hidden observed values; compare
//! with per-channel mean and linear interpolation) and
//! [`evaluate_robustness`] (linear probe on clean training embeddings,
//! test windows with patches removed, AIM against impute-then-encode) —
//! the [`LinearProbe`], the gap fillers in [`fill`], and the
//! [`pretrain_report()`] that `wearlang pretrain` writes — and the first
//! sensor-language protocols: [`zero_shot`] classification with class
//! prompts and [`evaluate_captions`] for CoCa's decoder.
//!
//! ```no_run
//! use std::path::Path;
//! use wearlang_evaluation::{pretrain_report, PretrainReportConfig};
//!
//! let mae = wearlang_train::load_mae(Path::new("runs/mae"), tch::Device::Cpu).unwrap();
//! let report = pretrain_report(&mae, Path::new("windows.parquet"), &PretrainReportConfig::default()).unwrap();
//! println!("{}", report.to_markdown());
//! ```

#![warn(missing_docs)]

mod baselines;
mod captions;
mod error;
mod few_shot;
pub mod fill;
mod imputation;
mod pretrain_report;
mod probe;
mod protocol;
mod report;
mod retrieval;
mod robustness;
mod unseen;
mod zero_shot;

pub use baselines::{LinearProbeEval, SupervisedEval};
pub use captions::{
    evaluate_captions, faithfulness, reference_texts, CaptionEval, CaptioningEval,
    CaptioningEvalConfig, FaithfulnessSummary,
};
pub use error::{EvalError, Result};
pub use few_shot::{FewShotConfig, FewShotEval, FewShotMethod, FewShotResult, FewShotSeries};
pub use imputation::{evaluate_imputation, HideKind, ImputationConfig, ImputationRow};
pub use pretrain_report::{pretrain_report, write_atomic, PretrainReport, PretrainReportConfig};
pub use probe::{LinearProbe, ProbeConfig};
pub use protocol::{
    evaluators, ClassifierResult, EvalConfig, EvalContext, Evaluator, ProtocolResult, PROTOCOLS,
};
pub use report::{loss_series, run_protocols, EvalReport};
pub use retrieval::{RetrievalConfig, RetrievalEval, RetrievalResult};
pub use robustness::{
    embed_windows, evaluate_robustness, impute_linear, remove_patches, GapHandling,
    RobustnessConfig, RobustnessRow,
};
pub use unseen::{partition_classes, UnseenConfig, UnseenEval, UnseenGroup, UnseenResult};
pub use zero_shot::{
    class_embeddings, zero_shot, ZeroShotConfig, ZeroShotEval, ZeroShotReport, ZeroShotResult,
};
