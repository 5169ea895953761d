//! Cross-modal retrieval on the test windows: every window's text (one
//! caption variant) is an item; sensor → text ranks the distinct texts for
//! each window (its own text is relevant), text → sensor ranks the windows
//! for each distinct text (every window with that text is relevant).
//! Recall@1/5/10, mean and median rank, from [`BidirectionalRetrieval`].

use serde::{Deserialize, Serialize};
use wearlang_captioning::{ActivityCaptioner, ActivityConfig, TemplateChoice};
use wearlang_metrics::BidirectionalRetrieval;
use wearlang_models::sensor_language::ACTIVITY;

use crate::context::{EvalContext, Evaluator};
use crate::results::{ProtocolResult, RetrievalResult};
use crate::select::rows;
use crate::{EvalError, Result};

/// Retrieval settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrievalConfig {
    /// The caption variant that gives each window its text (`activity`: the
    /// base-template activity text of its label; else a caption column of
    /// the store). Default: the run's first training text variant.
    pub variant: Option<String>,
    /// Use at most this many test windows, spread evenly (0: all).
    pub max_windows: usize,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        RetrievalConfig {
            variant: None,
            max_windows: 1000,
        }
    }
}

/// The retrieval protocol.
pub struct RetrievalEval(pub RetrievalConfig);

impl Evaluator for RetrievalEval {
    fn name(&self) -> &'static str {
        "retrieval"
    }

    fn skip_reason(&self, ctx: &EvalContext) -> Option<String> {
        (!ctx.model.has_text_alignment())
            .then(|| "the model has no contrastive text alignment".into())
    }

    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult> {
        let variant = self
            .0
            .variant
            .clone()
            .or_else(|| ctx.model.text_variants().first().cloned())
            .unwrap_or_else(|| ACTIVITY.to_string());
        let n_all = ctx.test.len();
        let n = if self.0.max_windows == 0 {
            n_all
        } else {
            self.0.max_windows.min(n_all)
        };
        if n == 0 {
            return Err(EvalError::Data("retrieval: no test windows".into()));
        }
        let picked: Vec<usize> = (0..n).map(|k| k * n_all / n).collect();
        let captioner = ActivityCaptioner::new(ActivityConfig {
            template: TemplateChoice::Base,
            ..ctx.model.activity_text()
        });
        let mut texts: Vec<String> = Vec::new();
        let mut text_of = Vec::with_capacity(n);
        for &i in &picked {
            let w = &ctx.test.windows[i];
            let t = if variant == ACTIVITY {
                let label = w.label.as_deref().ok_or_else(|| {
                    EvalError::Data(format!(
                        "retrieval: test window {i} (subject {}) has no label for `activity` text",
                        w.subject
                    ))
                })?;
                captioner
                    .caption_label(label, 0)
                    .map_err(|e| EvalError::Data(format!("retrieval: window {i}: {e}")))?
            } else {
                w.captions.get(&variant).cloned().ok_or_else(|| {
                    EvalError::Data(format!(
                        "retrieval: test window {i} has no caption `{variant}` (run `wearlang caption` on the store)"
                    ))
                })?
            };
            let j = match texts.iter().position(|x| *x == t) {
                Some(j) => j,
                None => {
                    texts.push(t);
                    texts.len() - 1
                }
            };
            text_of.push(vec![j]);
        }
        let s = ctx.model.embed_windows(&rows(&ctx.test.x, &picked), 256)?;
        let t = ctx.model.embed_texts(&texts, 256)?;
        let sim: Vec<f32> = Vec::try_from(s.matmul(&t.tr()).flatten(0, -1))?;
        let scores = BidirectionalRetrieval::from_similarity(&sim, n, texts.len(), &text_of)?;
        Ok(ProtocolResult::Retrieval(RetrievalResult {
            variant,
            windows: n,
            texts: texts.len(),
            scores,
        }))
    }
}
