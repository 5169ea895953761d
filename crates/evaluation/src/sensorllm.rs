//! The SensorLLM protocol: a stage-2 run classifies the test windows; a
//! stage-1 run describes test windows spread over the split (each channel in
//! turn, with per-channel answers), scored against their reference trend
//! descriptions (BLEU-4, ROUGE-L, CIDEr-D; the references are written from
//! the raw windows by the same function stage 1 trained on) and checked for
//! faithful numeric claims against the raw windows. It runs when a run is
//! named in `[sensorllm]` of the evaluation config (or `--protocol
//! sensorllm` is asked for, which then says what is missing).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wearlang_core::evenly_spaced;
use wearlang_llm::{default_model_path, LlmModel};
use wearlang_metrics::{CaptionReport, ClassificationReport};
use wearlang_models::{ModelError, WindowSet};
use wearlang_sensorllm::{questions, AnswerScope, SensorLlm, SensorLlmCheckpointConfig};

use crate::context::{evaluated_split, EvalContext, Evaluator};
use crate::faithful::faithfulness;
use crate::results::{DescriptionScores, ProtocolResult, SensorLlmResult};
use crate::{EvalError, Result};

/// Settings (`[sensorllm]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensorLlmEvalConfig {
    /// A `wearlang sensorllm align` run (descriptions).
    pub align: Option<PathBuf>,
    /// A `wearlang sensorllm tune` run (classification).
    pub tune: Option<PathBuf>,
    /// The LLM's GGUF file (default: the one each run recorded, else the
    /// one `cargo xtask setup` places).
    pub llm: Option<PathBuf>,
    /// Test windows to describe (0: 50).
    pub describe: usize,
    /// Labelled test windows to classify, evenly spaced over the split (0:
    /// all of them); a large LLM on a CPU is slow.
    pub classify: usize,
    /// Most tokens per answer (0: the stage-1 run's `max_answer_tokens`).
    pub max_tokens: usize,
}

impl SensorLlmEvalConfig {
    /// Whether no run is named (the protocol is then left out of a default
    /// evaluation).
    pub fn is_unset(&self) -> bool {
        self.align.is_none() && self.tune.is_none()
    }
}

/// The protocol.
#[derive(Clone, Debug)]
pub struct SensorLlmEval(pub SensorLlmEvalConfig);

fn model_err(e: ModelError) -> EvalError {
    EvalError::from(e)
}

fn load(dir: &Path, llm: Option<&Path>) -> Result<SensorLlm> {
    let ckpt = wearlang_sensorllm::find(dir).map_err(model_err)?;
    let rec: SensorLlmCheckpointConfig =
        wearlang_models::checkpoint::read_json(&ckpt, wearlang_models::checkpoint::CONFIG_FILE)
            .map_err(model_err)?;
    let path = match llm {
        Some(p) => p.to_path_buf(),
        None if !rec.llm_path.as_os_str().is_empty() => rec.llm_path.clone(),
        None => default_model_path(None, Path::new(".")),
    };
    let device = wearlang_device::parse_device(&rec.run.device).map_err(|e| model_err(e.into()))?;
    let model = LlmModel::load(&path, device)
        .map_err(|e| EvalError::Data(format!("loading the LLM {}: {e}", path.display())))?;
    SensorLlm::load(dir, model, device).map_err(model_err)
}

impl Evaluator for SensorLlmEval {
    fn name(&self) -> &'static str {
        "sensorllm"
    }

    fn skip_reason(&self, _ctx: &EvalContext) -> Option<String> {
        self.0
            .is_unset()
            .then(|| "no SensorLLM run named (set `align` and/or `tune` under [sensorllm])".into())
    }

    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult> {
        Ok(ProtocolResult::SensorLlm(evaluate_sensorllm(
            &self.0, ctx.store, ctx.test,
        )?))
    }
}

/// Score the runs `cfg` names on `test` (the test split of the store at
/// `store`, normalised as in training, in store order): the stage-2 run
/// classifies the labelled windows (`cfg.classify` of them, evenly spaced,
/// or all), the stage-1 run describes `cfg.describe` windows with a
/// reference description, evenly spaced.
pub fn evaluate_sensorllm(
    cfg: &SensorLlmEvalConfig,
    store: &Path,
    test: &WindowSet,
) -> Result<SensorLlmResult> {
    let channels: Vec<String> = test.meta.channels.iter().map(|c| c.name.clone()).collect();
    let classification = match &cfg.tune {
        Some(dir) => {
            let model = load(dir, cfg.llm.as_deref())?;
            check_channels(&model, &channels, dir)?;
            let classes = model.labels().to_vec();
            let labelled: Vec<usize> = (0..test.len())
                .filter(|&i| test.labels[i].is_some())
                .collect();
            let idx: Vec<usize> = evenly_spaced(labelled.len(), cfg.classify)
                .into_iter()
                .map(|i| labelled[i])
                .collect();
            let set = test.select(&idx)?;
            // Map the store's labels onto the head's classes.
            let mut truth = Vec::with_capacity(set.len());
            for w in &set.windows {
                let l = w.label.as_deref().unwrap_or_default();
                truth.push(classes.iter().position(|c| c == l).ok_or_else(|| {
                    EvalError::Data(format!(
                        "{}: test label `{l}` is not one of the classes the head knows ({classes:?})",
                        dir.display()
                    ))
                })?);
            }
            let pred = model.classify(&set.x, 16).map_err(model_err)?;
            Some(ClassificationReport::compute(&truth, &pred, classes.len())?)
        }
        None => None,
    };
    let descriptions = match &cfg.align {
        Some(dir) => Some(describe(dir, cfg, store, test, &channels)?),
        None => None,
    };
    Ok(SensorLlmResult {
        align_model: cfg.align.clone(),
        tune_model: cfg.tune.clone(),
        classification,
        descriptions,
    })
}

fn check_channels(model: &SensorLlm, channels: &[String], dir: &Path) -> Result<()> {
    if model.record.channels != channels {
        return Err(EvalError::Data(format!(
            "{} was trained on channels {:?}, the store has {channels:?}",
            dir.display(),
            model.record.channels
        )));
    }
    Ok(())
}

fn describe(
    dir: &Path,
    cfg: &SensorLlmEvalConfig,
    store: &Path,
    test: &WindowSet,
    channels: &[String],
) -> Result<DescriptionScores> {
    let model = load(dir, cfg.llm.as_deref())?;
    check_channels(&model, channels, dir)?;
    let align = model.record.run.align.clone();
    let want = if cfg.describe == 0 { 50 } else { cfg.describe };
    let candidates: Vec<usize> = match align.answer {
        AnswerScope::Window => (0..test.len())
            .filter(|&i| test.windows[i].captions.contains_key(&align.caption))
            .collect(),
        AnswerScope::Channel => (0..test.len()).collect(),
    };
    let idx: Vec<usize> = evenly_spaced(candidates.len(), want)
        .into_iter()
        .map(|i| candidates[i])
        .collect();
    if idx.is_empty() {
        return Err(EvalError::Data(format!(
            "{}: no test window has a `{}` caption to compare with",
            store.display(),
            align.caption
        )));
    }
    // References and claims come from the raw (unnormalised) values, in the
    // same order as `test`.
    let raw = WindowSet::load(store, Some(evaluated_split(test)), false)?;
    let raw_windows: Vec<&wearlang_core::Window> = idx.iter().map(|&i| &raw.windows[i]).collect();
    let asked = questions(
        &align,
        raw_windows.iter().copied(),
        &raw.meta.channels,
        &store.display().to_string(),
    )
    .map_err(model_err)?;
    if asked.is_empty() {
        return Err(EvalError::Data(format!(
            "{}: the {} test windows chosen have no observed value to describe",
            store.display(),
            idx.len()
        )));
    }
    let rows: Vec<usize> = asked.iter().map(|q| idx[q.window]).collect();
    let prompts: Vec<usize> = asked.iter().map(|q| q.prompt).collect();
    let x = test.batch(&rows, tch::Device::Cpu).map_err(model_err)?;
    // By default as many tokens as the model was trained to write.
    let max_tokens = if cfg.max_tokens == 0 {
        align.max_answer_tokens
    } else {
        cfg.max_tokens
    };
    let said = model
        .answer(&x, &prompts, max_tokens, 8)
        .map_err(model_err)?;
    // Scored on what the model wrote, after the opening the prompt gave;
    // claims are checked on the whole text (the opening names the channel).
    let refs: Vec<Vec<String>> = asked.iter().map(|q| vec![q.answer.clone()]).collect();
    let metrics = CaptionReport::compute(&said, &refs)?;
    let whole: Vec<String> = asked
        .iter()
        .zip(&said)
        .map(|(q, s)| format!("{}{s}", q.prefix))
        .collect();
    let asked_windows: Vec<&wearlang_core::Window> =
        asked.iter().map(|q| raw_windows[q.window]).collect();
    let faithfulness = faithfulness(&whole, &asked_windows, &raw.meta.channels)?;
    // The level a content-blind text reaches: each question's reference
    // answer checked against the next window asked the same question.
    let others: Vec<String> = (0..asked.len())
        .map(|k| {
            let q = &asked[k];
            (1..asked.len())
                .map(|d| &asked[(k + d) % asked.len()])
                .find(|o| o.prompt == q.prompt && o.window != q.window)
                .map(|o| o.full_text())
                .unwrap_or_default()
        })
        .collect();
    let other_windows = faithfulness_of_others(&others, &asked_windows, &raw.meta.channels)?;
    Ok(DescriptionScores {
        windows: idx.len(),
        descriptions: said.len(),
        scope: match align.answer {
            AnswerScope::Channel => "channel",
            AnswerScope::Window => "window",
        }
        .into(),
        metrics,
        faithfulness,
        other_windows,
        examples: asked
            .iter()
            .zip(&whole)
            .take(6)
            .map(|(q, g)| (q.full_text(), g.clone()))
            .collect(),
    })
}

/// [`faithfulness`] of `texts` that exist (a question asked of one window
/// only has no other window's reference); `None` when none does.
fn faithfulness_of_others(
    texts: &[String],
    windows: &[&wearlang_core::Window],
    channels: &[wearlang_core::ChannelSpec],
) -> Result<Option<crate::results::FaithfulnessSummary>> {
    let (t, w): (Vec<String>, Vec<&wearlang_core::Window>) = texts
        .iter()
        .zip(windows)
        .filter(|(t, _)| !t.is_empty())
        .map(|(t, w)| (t.clone(), *w))
        .unzip();
    if t.is_empty() {
        return Ok(None);
    }
    Ok(Some(faithfulness(&t, &w, channels)?))
}
