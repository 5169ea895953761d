//! The [`Evaluator`] trait: one protocol of the papers, run on a trained
//! sensor-language model and the train / test splits of its store, giving
//! one [`ProtocolResult`]. [`EvalConfig`] (TOML) holds every protocol's
//! settings; [`evaluators`] builds the ones asked for.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wearlang_core::registry::Registry;
use wearlang_metrics::ClassificationReport;
use wearlang_models::SensorLanguageCheckpointConfig;
use wearlang_models::{SensorLanguageModel, SupervisedConfig, Trainer, WindowSet};

use crate::baselines::{LinearProbeEval, SupervisedEval};
use crate::captions::{CaptionEval, CaptioningEval, CaptioningEvalConfig};
use crate::few_shot::{FewShotConfig, FewShotEval, FewShotResult};
use crate::retrieval::{RetrievalConfig, RetrievalEval, RetrievalResult};
use crate::unseen::{UnseenConfig, UnseenEval, UnseenResult};
use crate::zero_shot::{ZeroShotConfig, ZeroShotEval, ZeroShotResult};
use crate::{EvalError, ProbeConfig, Result};

/// Everything a protocol may use.
pub struct EvalContext<'a> {
    /// The trained model.
    pub model: &'a SensorLanguageModel,
    /// Its checkpoint's configuration (run config, label vocabulary).
    pub checkpoint: &'a SensorLanguageCheckpointConfig,
    /// The window store.
    pub store: &'a Path,
    /// Training windows (normalised with the store's training statistics).
    pub train: &'a WindowSet,
    /// Test windows (normalised likewise).
    pub test: &'a WindowSet,
    /// The candidate classes: the store's label vocabulary.
    pub classes: Vec<String>,
    /// Where protocols that train models (unseen activities) write them.
    pub work_dir: PathBuf,
    /// MiniLM's directory (for models trained by a protocol).
    pub minilm_dir: Option<PathBuf>,
    /// Show progress bars.
    pub progress: bool,
    /// The training the protocols that train call (unseen activities, the
    /// supervised baseline): `wearlang_train::DefaultTrainer`, or a fork's.
    /// `None`: those protocols fail with an error that says so.
    pub trainer: Option<&'a dyn Trainer>,
}

impl<'a> EvalContext<'a> {
    /// The trainer, or an error naming `protocol`, which needs one.
    pub fn trainer(&self, protocol: &str) -> Result<&'a dyn Trainer> {
        self.trainer.ok_or_else(|| {
            EvalError::param(
                "trainer",
                format!(
                    "the `{protocol}` protocol trains a model: give EvalContext a trainer \
                     (wearlang_train::DefaultTrainer)"
                ),
            )
        })
    }

    /// True class index (into [`Self::classes`]) of every labelled test
    /// window, with the window's index.
    pub fn test_truths(&self) -> Vec<(usize, usize)> {
        self.test
            .labels
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.map(|l| (i, l)))
            .collect()
    }
}

/// One evaluation protocol.
pub trait Evaluator {
    /// Its name (as given to `wearlang eval --protocol`).
    fn name(&self) -> &'static str;
    /// Why the protocol does not apply to this model (e.g. captioning
    /// without a decoder); `None` when it does.
    fn skip_reason(&self, _ctx: &EvalContext) -> Option<String> {
        None
    }
    /// Run it.
    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult>;
}

/// A classifier's scores on the test windows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassifierResult {
    /// What was trained.
    pub method: String,
    /// Labelled training windows used.
    pub train_windows: usize,
    /// Accuracy, macro-F1, per-class F1, confusion matrix.
    pub report: ClassificationReport,
}

/// What a protocol found.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum ProtocolResult {
    /// Zero-shot classification with class prompts.
    ZeroShot(ZeroShotResult),
    /// Linear probe on frozen sensor features.
    LinearProbe(ClassifierResult),
    /// The supervised conv classifier.
    Supervised(ClassifierResult),
    /// Few-shot adaptation curves.
    FewShot(FewShotResult),
    /// Zero-shot on activities left out of training.
    Unseen(UnseenResult),
    /// Sensor ↔ text retrieval.
    Retrieval(RetrievalResult),
    /// Generated captions.
    Captioning(CaptionEval),
    /// A protocol another crate registered with [`register_protocol`].
    Custom(CustomResult),
}

/// What a registered protocol found, in a shape the report can show
/// without knowing the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomResult {
    /// The protocol's name (its section heading).
    pub name: String,
    /// Rows of the summary table: `(metric, value)`.
    pub summary: Vec<(String, String)>,
    /// Its section of `report.md` (Markdown, without the heading).
    pub markdown: String,
    /// Everything else it wants in `metrics.json`.
    pub data: serde_json::Value,
}

/// Builds a registered protocol from its settings (`[custom.<name>]` of the
/// evaluation config; empty when absent).
pub trait ProtocolFactory: Send + Sync {
    /// The evaluator.
    fn build(
        &self,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Box<dyn Evaluator>>;
}

static PROTOCOL_REGISTRY: Registry<dyn ProtocolFactory> = Registry::new("protocol");

/// Make a protocol available to `wearlang eval --protocol <name>` style
/// selection ([`evaluators`]) under `name`; it runs after the built-in ones
/// when every protocol is asked for. A name is registered once per process
/// and may not shadow a built-in protocol.
pub fn register_protocol(name: &str, factory: Arc<dyn ProtocolFactory>) -> Result<()> {
    if PROTOCOLS.contains(&name) {
        return Err(EvalError::param(
            "protocol",
            format!("`{name}` is a built-in protocol"),
        ));
    }
    PROTOCOL_REGISTRY
        .register(name, factory)
        .map_err(|e| EvalError::param("protocol", e.to_string()))
}

/// The names of the registered protocols.
pub fn registered_protocols() -> Vec<String> {
    PROTOCOL_REGISTRY.names()
}

/// The protocols, by name.
pub const PROTOCOLS: [&str; 7] = [
    "zero-shot",
    "linear-probe",
    "supervised",
    "few-shot",
    "unseen",
    "retrieval",
    "captioning",
];

/// Settings of every protocol (the TOML file of `wearlang eval --config`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// Zero-shot prompts.
    pub zero_shot: ZeroShotConfig,
    /// The linear probe (baseline and few-shot).
    pub probe: ProbeConfig,
    /// The supervised conv classifier.
    pub supervised: SupervisedConfig,
    /// Few-shot adaptation.
    pub few_shot: FewShotConfig,
    /// Unseen activities.
    pub unseen: UnseenConfig,
    /// Retrieval.
    pub retrieval: RetrievalConfig,
    /// Captioning.
    pub captioning: CaptioningEvalConfig,
    /// Settings of registered protocols by name (`[custom.<name>]`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

impl EvalConfig {
    /// Parse a TOML file; errors name the file and the field.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| EvalError::Io {
            path: path.to_path_buf(),
            cause: e,
        })?;
        toml::from_str(&text).map_err(|e| EvalError::Data(format!("{}: {e}", path.display())))
    }
}

/// The evaluators named in `names` (all of [`PROTOCOLS`] and the
/// registered ones when empty), in the order of [`PROTOCOLS`], then the
/// registered ones by name. Errors name an unknown protocol.
pub fn evaluators(cfg: &EvalConfig, names: &[String]) -> Result<Vec<Box<dyn Evaluator>>> {
    let registered = registered_protocols();
    for n in names {
        if !PROTOCOLS.contains(&n.as_str()) && !registered.contains(n) {
            let mut known: Vec<String> = PROTOCOLS.iter().map(|p| p.to_string()).collect();
            known.extend(registered.iter().cloned());
            return Err(EvalError::param(
                "protocol",
                format!("unknown protocol `{n}` (known: {})", known.join(", ")),
            ));
        }
    }
    if let Some(n) = cfg.custom.keys().find(|n| !registered.contains(n)) {
        return Err(EvalError::param(
            "custom",
            format!("settings for `{n}`, which is not a registered protocol (registered: {registered:?})"),
        ));
    }
    let wanted = |n: &str| names.is_empty() || names.iter().any(|x| x == n);
    let mut out: Vec<Box<dyn Evaluator>> = Vec::new();
    if wanted("zero-shot") {
        out.push(Box::new(ZeroShotEval(cfg.zero_shot.clone())));
    }
    if wanted("linear-probe") {
        out.push(Box::new(LinearProbeEval(cfg.probe.clone())));
    }
    if wanted("supervised") {
        out.push(Box::new(SupervisedEval(cfg.supervised.clone())));
    }
    if wanted("few-shot") {
        out.push(Box::new(FewShotEval {
            cfg: cfg.few_shot.clone(),
            probe: cfg.probe.clone(),
            zero_shot: cfg.zero_shot.clone(),
        }));
    }
    if wanted("unseen") {
        out.push(Box::new(UnseenEval(cfg.unseen.clone())));
    }
    if wanted("retrieval") {
        out.push(Box::new(RetrievalEval(cfg.retrieval.clone())));
    }
    if wanted("captioning") {
        out.push(Box::new(CaptioningEval(cfg.captioning.clone())));
    }
    let empty = serde_json::Map::new();
    for n in registered.iter().filter(|n| wanted(n)) {
        let factory = PROTOCOL_REGISTRY
            .get(n)
            .map_err(|e| EvalError::param("protocol", e.to_string()))?;
        out.push(factory.build(cfg.custom.get(n).unwrap_or(&empty))?);
    }
    Ok(out)
}
