//! Captions written by a CoCa decoder: n-gram metrics against reference
//! texts, and whether each caption names the window's activity.

use serde::{Deserialize, Serialize};
use wearlang_captioning::KnowledgeBase;
use wearlang_encoders::text::DecodeOptions;
use wearlang_metrics::CaptionReport;
use wearlang_train::SensorLanguageModel;
use wearlang_train::WindowSet;

use crate::{EvalError, Result};

/// Scores of generated captions.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaptionEval {
    /// Windows captioned.
    pub windows: usize,
    /// Share of captions that name the window's activity (plain name from
    /// the knowledge base, case-insensitive).
    pub mentions_true_activity: f64,
    /// Share of captions that name another class of the set instead.
    pub mentions_other_activity: f64,
    /// BLEU-4, ROUGE-L, CIDEr-D against the references.
    pub metrics: CaptionReport,
    /// A few `(reference, generated)` examples.
    pub examples: Vec<(String, String)>,
}

/// Caption `max_windows` windows of `set` spread evenly over it (all when 0;
/// stores are ordered by recording, so the first windows would cover few
/// activities) and score them against `references(window index)`.
pub fn evaluate_captions(
    model: &SensorLanguageModel,
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
    })
}
