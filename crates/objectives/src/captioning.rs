//! Captioning (CoCa's decoder loss): next-token cross-entropy, mean over
//! the targets that are not `ignore_index` (padding). With no target left
//! the loss is a zero that still has a graph.

use serde::{Deserialize, Serialize};
use tch::{Kind, Reduction, Tensor};

use crate::objective::{require, value};
use crate::{LossOutput, Objective, ObjectiveError, ObjectiveInputs, Result};

/// Captioning settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptioningConfig {
    /// Target value that does not count.
    pub ignore_index: i64,
    /// Label smoothing.
    pub label_smoothing: f64,
}

impl Default for CaptioningConfig {
    fn default() -> Self {
        CaptioningConfig {
            ignore_index: -100,
            label_smoothing: 0.0,
        }
    }
}

/// Token cross-entropy.
#[derive(Debug)]
pub struct Captioning {
    cfg: CaptioningConfig,
}

impl Captioning {
    /// With `cfg`.
    pub fn new(cfg: &CaptioningConfig) -> Self {
        Captioning { cfg: cfg.clone() }
    }
}

/// Mean cross-entropy of `logits` `[B, L, V]` against `targets` `[B, L]`.
pub fn caption_ce(logits: &Tensor, targets: &Tensor, cfg: &CaptioningConfig) -> Result<Tensor> {
    let ls = logits.size();
    if ls.len() != 3 || targets.size() != ls[..2] {
        return Err(ObjectiveError::Shape(format!(
            "captioning: logits {ls:?} and targets {:?} must be [B, L, V] and [B, L]",
            targets.size()
        )));
    }
    let t = targets.to_kind(Kind::Int64).reshape([-1]);
    let counted = t.ne(cfg.ignore_index).sum(Kind::Int64).int64_value(&[]);
    if counted == 0 {
        return Ok(logits.sum(Kind::Float) * 0.0);
    }
    Ok(logits
        .reshape([-1, ls[2]])
        .to_kind(Kind::Float)
        .cross_entropy_loss::<Tensor>(
            &t,
            None,
            Reduction::Mean,
            cfg.ignore_index,
            cfg.label_smoothing,
        ))
}

impl Objective for Captioning {
    fn name(&self) -> &str {
        "captioning"
    }

    fn loss(&self, inputs: &ObjectiveInputs) -> Result<LossOutput> {
        let l = require(inputs.caption_logits, "captioning", "caption_logits")?;
        let t = require(inputs.caption_targets, "captioning", "caption_targets")?;
        let loss = caption_ce(l, t, &self.cfg)?;
        Ok(LossOutput {
            terms: vec![("captioning".into(), value(&loss))],
            total: loss,
        })
    }
}
