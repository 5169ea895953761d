//! Zero-shot classification with class prompts (NLS, SensorLM): embed each
//! class's prompts (templates, optional knowledge), average them into one
//! normalised class embedding, predict the class of highest cosine
//! similarity.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use wearlang_captioning::{class_prompts, PromptOptions, PromptTemplates};
use wearlang_metrics::ClassificationReport;
use wearlang_models::{SensorTextModel, WindowSet};

use crate::context::{EvalContext, Evaluator};
use crate::results::{ProtocolResult, ZeroShotReport, ZeroShotResult};
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

/// Normalised class embeddings `[K, E]`: the mean of each class's prompt
/// embeddings, re-normalised (`wearlang_models::class_embeddings` with
/// `cfg`'s prompts and batch).
pub fn class_embeddings(
    model: &dyn SensorTextModel,
    classes: &[String],
    cfg: &ZeroShotConfig,
) -> Result<(Tensor, usize)> {
    if classes.is_empty() {
        return Err(EvalError::Data("zero-shot: no candidate classes".into()));
    }
    let opts = PromptOptions {
        templates: cfg.templates,
        knowledge: cfg.knowledge,
    };
    Ok(wearlang_models::class_embeddings(
        model, classes, opts, cfg.batch,
    )?)
}

/// One candidate class of label-open zero-shot classification: a name, and
/// optionally the user's own description of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateLabel {
    /// The label as written in the output (a store label, a knowledge-base
    /// code, or any activity name).
    pub name: String,
    /// A description, used as one more prompt of the class.
    pub description: Option<String>,
}

impl CandidateLabel {
    /// Parse a label list: one label per line (or per comma when
    /// `commas`), `name: description` or just `name`; blank lines and
    /// lines starting with `#` are skipped. Errors name the line of an
    /// empty name or a label given twice, and a list of fewer than 2.
    pub fn parse_list(text: &str, commas: bool, source: &str) -> Result<Vec<CandidateLabel>> {
        let items: Vec<&str> = if commas {
            text.split(',').collect()
        } else {
            text.lines().collect()
        };
        let mut out: Vec<CandidateLabel> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item = item.trim();
            if item.is_empty() || item.starts_with('#') {
                continue;
            }
            let (name, description) = match item.split_once(':') {
                Some((n, d)) if !commas => (n.trim(), Some(d.trim()).filter(|d| !d.is_empty())),
                _ => (item, None),
            };
            let at = if commas {
                format!("item {}", i + 1)
            } else {
                format!("line {}", i + 1)
            };
            if name.is_empty() {
                return Err(EvalError::Data(format!(
                    "{source}, {at}: an empty label name"
                )));
            }
            if out.iter().any(|c| c.name == name) {
                return Err(EvalError::Data(format!(
                    "{source}, {at}: the label `{name}` is given twice"
                )));
            }
            out.push(CandidateLabel {
                name: name.to_string(),
                description: description.map(str::to_string),
            });
        }
        if out.len() < 2 {
            return Err(EvalError::Data(format!(
                "{source}: {} label(s); zero-shot classification needs at least 2",
                out.len()
            )));
        }
        Ok(out)
    }
}

/// Label-open zero-shot scores: the cosine similarity (one row of `K` per
/// window) of windows
/// `x` `[N, T, C]` (normalised, in the model's channel order) with each
/// candidate's class embedding. A class's prompts are the templates of
/// `cfg` with its name (plain name and knowledge from the built-in
/// knowledge base when it knows the label), plus its description when
/// given; their embeddings are averaged and re-normalised.
pub fn zero_shot_scores(
    model: &dyn SensorTextModel,
    x: &Tensor,
    candidates: &[CandidateLabel],
    cfg: &ZeroShotConfig,
) -> Result<Vec<Vec<f32>>> {
    if candidates.is_empty() {
        return Err(EvalError::Data("zero-shot: no candidate classes".into()));
    }
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    let prompts = class_prompts(
        &names,
        PromptOptions {
            templates: cfg.templates,
            knowledge: cfg.knowledge,
        },
    );
    let mut rows = Vec::with_capacity(candidates.len());
    for (mut p, c) in prompts.into_iter().zip(candidates) {
        if let Some(d) = &c.description {
            p.push(d.clone());
        }
        let e = model.embed_texts(&p, cfg.batch)?;
        rows.push(e.mean_dim(0, false, Kind::Float));
    }
    let cls = wearlang_objectives::normalize(&Tensor::stack(&rows, 0));
    let s = model.embed_windows(x, cfg.batch)?;
    let scores = s
        .matmul(&cls.to_device(s.device()).tr())
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous();
    let flat = Vec::<f32>::try_from(scores.flatten(0, -1))?;
    Ok(flat.chunks(candidates.len()).map(<[f32]>::to_vec).collect())
}

/// Classify `set`'s windows among `classes` (label names of the store's
/// vocabulary). Windows whose label is not among `classes` are an error
/// (use [`WindowSet`] filtering for unseen-class protocols).
pub fn zero_shot(
    model: &dyn SensorTextModel,
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

/// The zero-shot protocol: the test windows among all classes of the store,
/// with the base template, the ensemble, and the ensemble with knowledge
/// (`batch` from its config; `templates` / `knowledge` are fixed per row).
pub struct ZeroShotEval(pub ZeroShotConfig);

impl Evaluator for ZeroShotEval {
    fn name(&self) -> &'static str {
        "zero-shot"
    }

    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult> {
        let labelled: Vec<usize> = ctx.test_truths().into_iter().map(|(i, _)| i).collect();
        let test = ctx.test.select(&labelled)?;
        let run = |templates, knowledge| {
            zero_shot(
                ctx.model,
                &test,
                &ctx.classes,
                &ZeroShotConfig {
                    templates,
                    knowledge,
                    batch: self.0.batch,
                },
            )
        };
        Ok(ProtocolResult::ZeroShot(ZeroShotResult {
            base: run(PromptTemplates::Base, false)?,
            ensemble: run(PromptTemplates::All, false)?,
            knowledge: run(PromptTemplates::All, true)?,
        }))
    }
}
