//! Captions written by a CoCa decoder: n-gram metrics against reference
//! texts, and whether each caption names the window's activity.

use serde::{Deserialize, Serialize};
use wearlang_captioning::{ActivityCaptioner, ActivityConfig, KnowledgeBase, TemplateChoice};
use wearlang_core::Window;
use wearlang_encoders::text::DecodeOptions;
use wearlang_metrics::CaptionReport;
use wearlang_models::sensor_language::ACTIVITY;
use wearlang_models::{WindowCaptioner, WindowSet};

use crate::context::{evaluated_split, EvalContext, Evaluator};
use crate::faithful::faithfulness;
use crate::results::{CaptionEval, ProtocolResult};
use crate::{EvalError, Result};

/// The reference texts of a window for a model trained on `variants`: the
/// base-template activity text of its label for `activity`, the caption
/// column otherwise (missing ones are skipped).
pub fn reference_texts(
    variants: &[String],
    activity: &ActivityCaptioner,
    window: &Window,
) -> Result<Vec<String>> {
    let mut refs = Vec::new();
    for v in variants {
        if v == ACTIVITY {
            if let Some(l) = &window.label {
                refs.push(
                    activity
                        .caption_label(l, 0)
                        .map_err(|e| EvalError::Data(e.to_string()))?,
                );
            }
        } else if let Some(c) = window.captions.get(v) {
            refs.push(c.clone());
        }
    }
    Ok(refs)
}

/// Captioning settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptioningEvalConfig {
    /// Test windows to caption, spread evenly (0: all).
    pub windows: usize,
    /// Beam width.
    pub beam: usize,
}

impl Default for CaptioningEvalConfig {
    fn default() -> Self {
        CaptioningEvalConfig {
            windows: 300,
            beam: 3,
        }
    }
}

/// The captioning protocol: captions of test windows scored against the
/// reference texts of the run's variants (BLEU-4, ROUGE-L, CIDEr-D), whether
/// they name the activity, and the faithfulness of their claims.
pub struct CaptioningEval(pub CaptioningEvalConfig);

impl Evaluator for CaptioningEval {
    fn name(&self) -> &'static str {
        "captioning"
    }

    fn skip_reason(&self, ctx: &EvalContext) -> Option<String> {
        (ctx.model.captioner().is_none())
            .then(|| "the model has no captioning decoder (β = 0)".into())
    }

    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult> {
        let captioner = ctx.model.captioner().ok_or_else(|| {
            EvalError::Data("captioning: the model has no captioning decoder".into())
        })?;
        let activity = ActivityCaptioner::new(ActivityConfig {
            template: TemplateChoice::Base,
            ..ctx.model.activity_text()
        });
        let variants = match ctx.model.text_variants() {
            [] => vec![ACTIVITY.to_string()],
            v => v.to_vec(),
        };
        let windows = &ctx.test.windows;
        let mut eval = evaluate_captions(
            captioner,
            ctx.test,
            &ctx.classes,
            |i| reference_texts(&variants, &activity, &windows[i]),
            &DecodeOptions {
                beam: self.0.beam,
                ..DecodeOptions::default()
            },
            self.0.windows,
        )?;
        let raw = WindowSet::load(ctx.store, Some(evaluated_split(ctx.test)), false)?;
        if raw.len() != ctx.test.len() {
            return Err(EvalError::Data(format!(
                "{}: the raw test split has {} windows, the evaluated one {}",
                ctx.store.display(),
                raw.len(),
                ctx.test.len()
            )));
        }
        let picked: Vec<&Window> = eval
            .window_indices
            .iter()
            .map(|&i| &raw.windows[i])
            .collect();
        eval.faithfulness = Some(faithfulness(&eval.captions, &picked, &raw.meta.channels)?);
        Ok(ProtocolResult::Captioning(eval))
    }
}

/// Caption `max_windows` windows of `set` spread evenly over it (all when 0;
/// stores are ordered by recording, so the first windows would cover few
/// activities) and score them against `references(window index)`.
pub fn evaluate_captions(
    model: &dyn WindowCaptioner,
    set: &WindowSet,
    classes: &[String],
    references: impl Fn(usize) -> Result<Vec<String>>,
    opts: &DecodeOptions,
    max_windows: usize,
) -> Result<CaptionEval> {
    let n = if max_windows == 0 {
        set.len()
    } else {
        max_windows.min(set.len())
    };
    if n == 0 {
        return Err(EvalError::Data("captioning: no windows".into()));
    }
    let picked: Vec<usize> = (0..n).map(|k| k * set.len() / n).collect();
    let idx = tch::Tensor::from_slice(&picked.iter().map(|&i| i as i64).collect::<Vec<_>>());
    let generated = model.caption(&set.x.index_select(0, &idx), opts, 64)?;
    let kb = KnowledgeBase::builtin();
    let names: Vec<String> = classes
        .iter()
        .map(|c| kb.plain_name(c).to_lowercase())
        .collect();
    let (mut hit, mut other) = (0usize, 0usize);
    let mut refs = Vec::with_capacity(n);
    for (&i, g) in picked.iter().zip(&generated) {
        let g = g.to_lowercase();
        if let Some(label) = set.windows[i].label.as_deref() {
            let truth = kb.plain_name(label).to_lowercase();
            if g.contains(&truth) {
                hit += 1;
            } else if names.iter().any(|nm| nm != &truth && g.contains(nm)) {
                other += 1;
            }
        }
        refs.push(references(i)?);
    }
    let metrics = CaptionReport::compute(&generated, &refs)?;
    Ok(CaptionEval {
        windows: n,
        mentions_true_activity: hit as f64 / n as f64,
        mentions_other_activity: other as f64 / n as f64,
        metrics,
        examples: (0..n.min(7))
            .map(|k| k * n / n.min(7))
            .map(|k| {
                (
                    refs[k].first().cloned().unwrap_or_default(),
                    generated[k].clone(),
                )
            })
            .collect(),
        window_indices: picked,
        captions: generated,
        faithfulness: None,
    })
}
