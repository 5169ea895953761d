//! The protocol registry: the built-in protocols by name ([`PROTOCOLS`]),
//! the ones other crates add ([`register_protocol`], [`ProtocolFactory`]),
//! every protocol's settings ([`EvalConfig`], TOML), and [`evaluators`],
//! which builds the ones asked for.
//!
//! The registry sits above the protocols: it imports the protocol modules
//! and the [`Evaluator`] trait (`context.rs`); no protocol, nor the context
//! or the results, imports it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use wearlang_core::registry::Registry;
use wearlang_models::{InputNormalisation, SupervisedConfig};

use crate::baselines::{LinearProbeEval, SupervisedEval};
use crate::captions::{CaptioningEval, CaptioningEvalConfig};
use crate::context::Evaluator;
use crate::few_shot::{FewShotConfig, FewShotEval};
use crate::retrieval::{RetrievalConfig, RetrievalEval};
use crate::sensorllm::{SensorLlmEval, SensorLlmEvalConfig};
use crate::unseen::{UnseenConfig, UnseenEval};
use crate::zero_shot::{ZeroShotConfig, ZeroShotEval};
use crate::{EvalError, ProbeConfig, Result};

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
pub const PROTOCOLS: [&str; 8] = [
    "zero-shot",
    "linear-probe",
    "supervised",
    "few-shot",
    "unseen",
    "retrieval",
    "captioning",
    "sensorllm",
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
    /// SensorLLM runs to score (left out of a default evaluation when none
    /// is named).
    #[serde(skip_serializing_if = "SensorLlmEvalConfig::is_unset")]
    pub sensorllm: SensorLlmEvalConfig,
    /// Settings of registered protocols by name (`[custom.<name>]`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// The statistics the store's windows are normalised with: `store`
    /// (its own) or `model` (the model's training statistics, units
    /// converted: a data set the model never saw is read on the model's
    /// scale, whatever its mix of activities). Unset: what the model was
    /// trained with (its config's `normalisation`, `store` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalisation: Option<InputNormalisation>,
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
            supervised: cfg.supervised.clone(),
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
    let asked = names.iter().any(|x| x == "sensorllm");
    if asked || (names.is_empty() && !cfg.sensorllm.is_unset()) {
        out.push(Box::new(SensorLlmEval(cfg.sensorllm.clone())));
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
