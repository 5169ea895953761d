//! Zero-shot classification with class prompts (NLS, SensorLM): embed each
//! class's prompts (templates, optional knowledge), average them into one
//! normalised class embedding, predict the class of highest cosine
//! similarity.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use wearlang_captioning::{class_prompts, PromptOptions, PromptTemplates};
use wearlang_metrics::ClassificationReport;
use wearlang_train::SensorLanguageModel;
use wearlang_train::WindowSet;

use crate::{EvalError, Result};

/// How class prompts are written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZeroShotConfig {
    /// The base template only, or every template of the bank (ensembled).
    pub templates: PromptTemplates,
    /// Append body parts and the movement description from the knowledge base.
    pub knowledge: bool,
    /// Windows per forward pass.
    pub batch: usize,
}

impl Default for ZeroShotConfig {
    fn default() -> Self {
        ZeroShotConfig {
            templates: PromptTemplates::All,
            knowledge: false,
            batch: 256,
        }
    }
}

/// Zero-shot scores on a set of windows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ZeroShotReport {
    /// The candidate classes, in the order of the report's indices.
    pub classes: Vec<String>,
    /// Prompts per class.
    pub prompts_per_class: usize,
    /// Accuracy, macro-F1, confusion matrix.
    pub report: ClassificationReport,
    /// Predicted class index per window.
    pub predictions: Vec<usize>,
    /// True class index per window.
    pub truths: Vec<usize>,
}

/// Normalised class embeddings `[K, E]`: the mean of each class's prompt
/// embeddings, re-normalised.
pub fn class_embeddings(
    model: &SensorLanguageModel,
    classes: &[String],
    cfg: &ZeroShotConfig,
) -> Result<(Tensor, usize)> {
    if classes.is_empty() {
        return Err(EvalError::Data("zero-shot: no candidate classes".into()));
    }
    let prompts = class_prompts(
        classes,
        PromptOptions {
            templates: cfg.templates,
            knowledge: cfg.knowledge,
        },
    );
    let per = prompts[0].len();
    let flat: Vec<String> = prompts.into_iter().flatten().collect();
    let e = model.embed_texts(&flat, cfg.batch)?;
    let k = classes.len() as i64;
    let mean = e
        .reshape([k, per as i64, -1])
        .mean_dim(1, false, Kind::Float);
    Ok((wearlang_objectives::normalize(&mean), per))
}

/// Classify `set`'s windows among `classes` (label names of the store's
/// vocabulary). Windows whose label is not among `classes` are an error
/// (use [`WindowSet`] filtering for unseen-class protocols).
pub fn zero_shot(
    model: &SensorLanguageModel,
    set: &WindowSet,
    classes: &[String],
    cfg: &ZeroShotConfig,
) -> Result<ZeroShotReport> {
    let mut truths = Vec::with_capacity(set.len());
    for (i, w) in set.windows.iter().enumerate() {
        let label = w.label.as_deref().ok_or_else(|| {
            EvalError::Data(format!(
                "zero-shot: window {i} (subject {}) has no label",
                w.subject
            ))
        })?;
        let c = classes.iter().position(|c| c == label).ok_or_else(|| {
            EvalError::Data(format!(
                "zero-shot: window {i} has label `{label}`, not among the candidates {classes:?}"
            ))
        })?;
        truths.push(c);
    }
    let (cls, per) = class_embeddings(model, classes, cfg)?;
    let s = model.embed_windows(&set.x, cfg.batch)?;
    let pred: Vec<i64> = Vec::try_from(s.matmul(&cls.tr()).argmax(1, false))?;
    let predictions: Vec<usize> = pred.into_iter().map(|p| p as usize).collect();
    let report = ClassificationReport::compute(&truths, &predictions, classes.len())?;
    Ok(ZeroShotReport {
        classes: classes.to_vec(),
        prompts_per_class: per,
        report,
        predictions,
        truths,
    })
}
