//! The SensorLLM model: a frozen trained sensor encoder ([`Embedder`]: the
//! AIM patch Transformer or a sensor-language run's encoder) reads the
//! window, an MLP projector maps its tokens into the LLM's embedding space,
//! each channel group's tokens sit between that group's trainable start and
//! end embeddings inside a chat prompt, and a frozen decoder LLM continues.
//! Stage 1 trains the projector and the special tokens to write the
//! window's trend description; stage 2 adds a classification head on the
//! LLM's final states, pooled over the sensor tokens (or the prompt's last
//! state) and standardised.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{nn, nn::Module, Device, Kind, Tensor};
use wearlang_llm::{ChatMessage, KvCache, LlamaConfig, LlmError, LlmModel, LoraAdapters};
use wearlang_models::checkpoint::{self, CONFIG_FILE, MODEL_FILE};
use wearlang_models::{ModelError, Result};

use crate::config::{AnswerScope, Pool, SensorLlmConfig};
use crate::embedder::Embedder;

/// Where the sensor tokens go in the rendered chat prompt.
const SENSOR_SLOT: &str = "<sensor>";

/// The error of the LLM crate as a model error.
pub(crate) fn llm_err(e: LlmError) -> ModelError {
    ModelError::Other(Box::new(e))
}

/// One group of channels in the prompt: the channels one column of patch
/// tokens covers (all of them for a sensor-language run's encoder), framed
/// by its own start and end embeddings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelGroup {
    /// The channels, in store order.
    pub channels: Vec<String>,
    /// The start token's name (e.g. `<acc_x_start>`): a new embedding, not
    /// in the LLM's vocabulary.
    pub start_token: String,
    /// The end token's name.
    pub end_token: String,
}

/// How a window becomes a prompt, as recorded in the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptLayout {
    /// The groups in prompt order.
    pub groups: Vec<ChannelGroup>,
    /// Sensor tokens per group (time patches of the window).
    pub tokens_per_group: usize,
    /// The rendered chat prompt of stage 1, with `<sensor>` where the
    /// groups go (each: start, its tokens, end); with per-channel answers
    /// its instruction still holds `{channel}`, which each question fills
    /// with its channel's name.
    pub align_prompt: String,
    /// The same for stage 2.
    pub tune_prompt: String,
}

/// Which prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Stage 1: describe the trends.
    Align,
    /// Stage 2: classify.
    Tune,
}

/// What a SensorLLM checkpoint records (`config.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensorLlmCheckpointConfig {
    /// Always `sensorllm`.
    pub kind: String,
    /// `align` or `tune`.
    pub stage: String,
    /// The run's configuration.
    pub run: SensorLlmConfig,
    /// The run whose encoder reads the windows (`wearlang pretrain` or
    /// `wearlang train`).
    pub encoder_run: PathBuf,
    /// SHA-256 of the encoder's weights (see [`weights_sha256`]).
    pub encoder_sha256: String,
    /// The LLM's file (empty for an in-memory model).
    pub llm_path: PathBuf,
    /// SHA-256 of the LLM's weights.
    pub llm_sha256: String,
    /// The LLM's architecture.
    pub llm_config: LlamaConfig,
    /// Width of the projector's hidden layer.
    pub projector_hidden: i64,
    /// The prompt layout.
    pub layout: PromptLayout,
    /// The store's channels, in order.
    pub channels: Vec<String>,
    /// Stage 2: the classes, in head order.
    pub labels: Vec<String>,
    /// The store it was trained on.
    pub store: PathBuf,
    /// Stage 2: the stage-1 run it started from.
    pub from: Option<PathBuf>,
}

/// SHA-256 over a variable store's tensors (sorted by name; name, shape and
/// little-endian f32 values): identifies the weights whatever file they
/// came from.
pub fn weights_sha256(vs: &nn::VarStore) -> Result<String> {
    let mut h = Sha256::new();
    for (name, t) in checkpoint::sorted_variables(vs) {
        h.update(name.as_bytes());
        for d in t.size() {
            h.update(d.to_le_bytes());
        }
        let v = Vec::<f32>::try_from(t.to_kind(Kind::Float).flatten(0, -1))?;
        let mut bytes = Vec::with_capacity(v.len() * 4);
        for x in v {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        h.update(&bytes);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// Stage 2's head: per-dimension standardisation of the pooled LLM state
/// with statistics of training windows (`head.mean`, `head.std`: not
/// trained, saved with the checkpoint), then a linear layer (`head.weight`,
/// `head.bias`). The final states of a pretrained LLM have a few dimensions
/// far larger than the rest; without the standardisation a linear head
/// learns little beyond the class prior in a short run.
struct Head {
    linear: nn::Linear,
    mean: Tensor,
    std: Tensor,
}

impl Head {
    fn new(p: &nn::Path, hidden: i64, classes: usize) -> Self {
        Head {
            linear: nn::linear(p, hidden, classes as i64, Default::default()),
            mean: p.zeros_no_train("mean", &[hidden]),
            std: p.ones_no_train("std", &[hidden]),
        }
    }

    fn forward(&self, features: &Tensor) -> Tensor {
        self.linear.forward(&((features - &self.mean) / &self.std))
    }
}

/// The SensorLLM model.
pub struct SensorLlm {
    /// The trained variables: `projector.fc1.*`, `projector.fc2.*`,
    /// `special.tokens` (`[2 × groups, hidden]`), `head.*` (stage 2),
    /// `lora.blk.<i>.attn_<q|k|v|output>.{a,b}` (stage 2 with `[tune.lora]`).
    pub vs: nn::VarStore,
    llm: LlmModel,
    embedder: Embedder,
    fc1: nn::Linear,
    fc2: nn::Linear,
    special: Tensor,
    head: Option<Head>,
    lora: Option<LoraAdapters>,
    group_tokens: Vec<Tensor>,
    /// Stage 1's prompts (one per channel with per-channel answers):
    /// token ids before and after the sensor block.
    align_ids: Vec<(Vec<u32>, Vec<u32>)>,
    /// The given opening of each stage-1 prompt's answer.
    align_prefixes: Vec<String>,
    tune_ids: (Vec<u32>, Vec<u32>),
    end_of_turn: u32,
    /// What the checkpoint records.
    pub record: SensorLlmCheckpointConfig,
}

impl std::fmt::Debug for SensorLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SensorLlm")
            .field("stage", &self.record.stage)
            .field("layout", &self.record.layout)
            .finish()
    }
}

/// The rendered chat prompt with the sensor slot, and its token ids before
/// and after the slot.
fn prompt(
    llm: &LlmModel,
    system: Option<&str>,
    instruction: &str,
) -> Result<(String, Vec<u32>, Vec<u32>)> {
    let chat = llm.tokenizer.chat.as_ref().ok_or_else(|| {
        ModelError::config("llm", "the LLM has no chat template (not a chat model)")
    })?;
    let mut messages = Vec::new();
    if let Some(s) = system {
        messages.push(ChatMessage::new("system", s));
    }
    messages.push(ChatMessage::new(
        "user",
        format!("{SENSOR_SLOT}\n{instruction}"),
    ));
    let text = chat.render(&messages, true);
    let (before, after) = text
        .split_once(SENSOR_SLOT)
        .ok_or_else(|| ModelError::config("prompt", "the chat template lost the sensor slot"))?;
    let pre = llm.tokenizer.encode(before, true);
    let mut post = llm.tokenizer.encode(after, true);
    // Only the first piece may carry a beginning-of-sequence token.
    if llm.tokenizer.add_bos && !post.is_empty() && Some(post[0]) == llm.tokenizer.bos_id {
        post.remove(0);
    }
    Ok((text, pre, post))
}

impl SensorLlm {
    /// Build a fresh model (projector, special tokens and, with
    /// `n_classes`, the head drawn from torch's generator: seed it first)
    /// around a loaded encoder and LLM, both frozen here. `channels` are the
    /// store's channel names and must be the ones the encoder was trained
    /// on.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: &SensorLlmConfig,
        embedder: Embedder,
        mut llm: LlmModel,
        channels: &[String],
        labels: &[String],
        store: &Path,
        device: Device,
    ) -> Result<Self> {
        cfg.validate()?;
        if embedder.channels() != channels {
            return Err(ModelError::config(
                "encoder",
                format!(
                    "{} was trained on channels {:?}, the store has {:?}",
                    embedder.run().display(),
                    embedder.channels(),
                    channels
                ),
            ));
        }
        if labels.len() == 1 {
            return Err(ModelError::config(
                "labels",
                "a classification head needs at least 2 classes",
            ));
        }
        llm.vs.freeze();
        let hidden = llm.config().hidden_size;
        let proj_hidden = if cfg.projector_hidden == 0 {
            hidden
        } else {
            cfg.projector_hidden
        };
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let p = &root / "projector";
        let fc1 = nn::linear(&p / "fc1", embedder.dim(), proj_hidden, Default::default());
        let fc2 = nn::linear(&p / "fc2", proj_hidden, hidden, Default::default());
        let n_groups = embedder.groups().len();
        let special = (&root / "special").var(
            "tokens",
            &[2 * n_groups as i64, hidden],
            nn::Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        );
        let head = (!labels.is_empty()).then(|| Head::new(&(&root / "head"), hidden, labels.len()));
        let lora = match (&head, &cfg.tune.lora) {
            (Some(_), Some(l)) => Some(
                LoraAdapters::new(&(&root / "lora"), llm.config(), l)
                    .map_err(|e| ModelError::config("tune.lora", e.to_string()))?,
            ),
            _ => None,
        };
        if head.is_some() && !cfg.tune.train_projector {
            for t in [&fc1.ws, &fc2.ws, &special] {
                let _ = t.set_requires_grad(false);
            }
            for b in [&fc1.bs, &fc2.bs].into_iter().flatten() {
                let _ = b.set_requires_grad(false);
            }
        }
        let mut groups = Vec::with_capacity(n_groups);
        for chans in embedder.groups() {
            let stem = chans.join("+").to_lowercase().replace([' ', '-'], "_");
            groups.push(ChannelGroup {
                channels: chans.clone(),
                start_token: format!("<{stem}_start>"),
                end_token: format!("<{stem}_end>"),
            });
        }
        let group_tokens = embedder
            .group_tokens()
            .iter()
            .map(|idx| Tensor::from_slice(idx).to_device(device))
            .collect();
        let (align_text, align_ids) = match cfg.align.answer {
            AnswerScope::Window => {
                let (text, pre, post) =
                    prompt(&llm, cfg.system.as_deref(), &cfg.align.instruction)?;
                (text, vec![(pre, post)])
            }
            AnswerScope::Channel => {
                let (text, _, _) =
                    prompt(&llm, cfg.system.as_deref(), &cfg.align.channel_instruction)?;
                let mut ids = Vec::with_capacity(channels.len());
                for c in channels {
                    let (_, pre, mut post) =
                        prompt(&llm, cfg.system.as_deref(), &cfg.align.channel_question(c))?;
                    // The answer's given opening starts the assistant turn.
                    post.extend(llm.tokenizer.encode(&cfg.align.channel_prefix(c), false));
                    ids.push((pre, post));
                }
                (format!("{text}{}", cfg.align.answer_prefix), ids)
            }
        };
        // Empty with whole-window answers (`channel_prefix` says so).
        let align_prefixes = match cfg.align.answer {
            AnswerScope::Window => vec![String::new()],
            AnswerScope::Channel => channels
                .iter()
                .map(|c| cfg.align.channel_prefix(c))
                .collect(),
        };
        let (tune_text, t_pre, t_post) =
            prompt(&llm, cfg.system.as_deref(), &cfg.tune.instruction)?;
        let end_of_turn = llm
            .tokenizer
            .token_id("<|im_end|>")
            .or(llm.tokenizer.eos_id)
            .ok_or_else(|| ModelError::config("llm", "the LLM has no end-of-turn token"))?;
        let record = SensorLlmCheckpointConfig {
            kind: "sensorllm".into(),
            stage: if labels.is_empty() { "align" } else { "tune" }.into(),
            run: cfg.clone(),
            encoder_run: embedder.run().to_path_buf(),
            encoder_sha256: embedder.sha256().to_string(),
            llm_path: llm.source.clone(),
            llm_sha256: weights_sha256(&llm.vs)?,
            llm_config: llm.config().clone(),
            projector_hidden: proj_hidden,
            layout: PromptLayout {
                groups,
                tokens_per_group: embedder.tokens_per_group(),
                align_prompt: align_text,
                tune_prompt: tune_text,
            },
            channels: channels.to_vec(),
            labels: labels.to_vec(),
            store: store.to_path_buf(),
            from: None,
        };
        Ok(SensorLlm {
            vs,
            llm,
            embedder,
            fc1,
            fc2,
            special,
            head,
            lora,
            group_tokens,
            align_ids,
            align_prefixes,
            tune_ids: (t_pre, t_post),
            end_of_turn,
            record,
        })
    }

    /// Rebuild a checkpoint (`dir`: a run directory, its `selected/` model
    /// when stage 2 wrote one, or a checkpoint directory) around `llm`.
    /// Errors, naming the checkpoint, when `llm` or the recorded encoder
    /// are not the weights it was trained with.
    pub fn load(dir: &Path, llm: LlmModel, device: Device) -> Result<Self> {
        let ckpt = find(dir)?;
        let rec: SensorLlmCheckpointConfig = checkpoint::read_json(&ckpt, CONFIG_FILE)?;
        if rec.kind != "sensorllm" {
            return Err(ModelError::checkpoint(
                &ckpt,
                format!("kind is `{}`, expected `sensorllm`", rec.kind),
            ));
        }
        let llm_hash = weights_sha256(&llm.vs)?;
        if llm_hash != rec.llm_sha256 {
            return Err(ModelError::checkpoint(
                &ckpt,
                format!(
                    "trained with the LLM {} (weights sha256 {}), given {} ({llm_hash})",
                    rec.llm_path.display(),
                    &rec.llm_sha256[..12.min(rec.llm_sha256.len())],
                    llm.source.display()
                ),
            ));
        }
        let embedder = Embedder::load(&rec.encoder_run, rec.run.sensor_tokens, device)?;
        let enc_hash = embedder.sha256().to_string();
        if enc_hash != rec.encoder_sha256 {
            return Err(ModelError::checkpoint(
                &ckpt,
                format!(
                    "trained with the encoder of {} whose weights have changed since (sha256 {} now, {} then)",
                    rec.encoder_run.display(),
                    &enc_hash[..12],
                    &rec.encoder_sha256[..12.min(rec.encoder_sha256.len())]
                ),
            ));
        }
        // The new layers draw from torch's global generator before the
        // checkpoint overwrites them; do not disturb a seeded run elsewhere.
        let _rng = wearlang_device::lock_rng();
        let mut m = SensorLlm::new(
            &rec.run,
            embedder,
            llm,
            &rec.channels,
            &rec.labels,
            &rec.store,
            device,
        )?;
        if m.record.layout != rec.layout {
            return Err(ModelError::checkpoint(
                &ckpt,
                "the prompt layout it records is not the one this code builds",
            ));
        }
        m.record.from = rec.from.clone();
        checkpoint::load_model(&ckpt, &mut m.vs)?;
        Ok(m)
    }

    /// Stage 2 from stage 1: copy the projector and the special tokens of
    /// the stage-1 run `dir` (checked to share this model's encoder, LLM and
    /// layout).
    pub fn init_from_align(&mut self, dir: &Path) -> Result<()> {
        let ckpt = find(dir)?;
        let rec: SensorLlmCheckpointConfig = checkpoint::read_json(&ckpt, CONFIG_FILE)?;
        if rec.kind != "sensorllm" || rec.stage != "align" {
            return Err(ModelError::checkpoint(
                &ckpt,
                format!(
                    "not a SensorLLM stage-1 run (kind `{}`, stage `{}`)",
                    rec.kind, rec.stage
                ),
            ));
        }
        for (what, a, b) in [
            ("LLM", &rec.llm_sha256, &self.record.llm_sha256),
            ("encoder", &rec.encoder_sha256, &self.record.encoder_sha256),
        ] {
            if a != b {
                return Err(ModelError::checkpoint(
                    &ckpt,
                    format!("trained with another {what} than this run's"),
                ));
            }
        }
        if rec.layout.groups != self.record.layout.groups
            || rec.projector_hidden != self.record.projector_hidden
        {
            return Err(ModelError::checkpoint(
                &ckpt,
                "its channel groups or projector differ from this run's",
            ));
        }
        let path = ckpt.join(MODEL_FILE);
        let tensors = Tensor::read_safetensors(&path)?;
        for prefix in ["projector.", "special."] {
            let part: Vec<(String, Tensor)> = tensors
                .iter()
                .filter(|(n, _)| n.starts_with(prefix))
                .map(|(n, t)| (n.clone(), t.shallow_clone()))
                .collect();
            checkpoint::load_named(&mut self.vs, part, prefix, prefix, &path, true)?;
        }
        self.record.from = Some(dir.to_path_buf());
        Ok(())
    }

    /// The device of the trained variables.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// The LLM.
    pub fn llm(&self) -> &LlmModel {
        &self.llm
    }

    /// The classes of the head (empty in stage 1).
    pub fn labels(&self) -> &[String] {
        &self.record.labels
    }

    /// Token ids of `text` as an answer: cut to `max - 1` tokens, then the
    /// end-of-turn token.
    pub fn answer_ids(&self, text: &str, max: usize) -> Vec<u32> {
        let mut ids = self.llm.tokenizer.encode(text, false);
        ids.truncate(max.saturating_sub(1));
        ids.push(self.end_of_turn);
        ids
    }

    fn embed_ids(&self, ids: &[u32], b: i64) -> Tensor {
        let v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let t = Tensor::from_slice(&v).to_device(self.device());
        let e = self.llm.llama.embed_tokens(&t);
        e.unsqueeze(0)
            .expand([b, v.len() as i64, e.size()[1]], false)
    }

    /// Prompt embeddings `[B, P, hidden]` of windows `x` `[B, T, C]` and
    /// their key mask `[B, P]` (false for sensor tokens the encoder marks as
    /// all missing). Stage 1 asks row `i` with its prompt `prompts[i]` (one
    /// per channel with per-channel answers); prompts of different lengths
    /// are left-padded with masked zeros, so every row's answer starts at
    /// the same position. Stage 2 has one prompt and ignores `prompts`.
    fn prompt_embeds(
        &self,
        x: &Tensor,
        stage: Stage,
        prompts: &[usize],
        train: bool,
    ) -> Result<(Tensor, Tensor)> {
        let dev = self.device();
        let x = x.to_device(dev);
        let b = x.size()[0];
        let texts: Vec<&(Vec<u32>, Vec<u32>)> = match stage {
            Stage::Tune => vec![&self.tune_ids; b as usize],
            Stage::Align => {
                if prompts.len() as i64 != b {
                    return Err(ModelError::Data(format!(
                        "{b} windows but {} stage-1 prompts",
                        prompts.len()
                    )));
                }
                let mut t = Vec::with_capacity(prompts.len());
                for &p in prompts {
                    t.push(self.align_ids.get(p).ok_or_else(|| {
                        ModelError::Data(format!(
                            "stage-1 prompt {p} does not exist (the model has {})",
                            self.align_ids.len()
                        ))
                    })?);
                }
                t
            }
        };
        let (enc_tokens, token_mask) = self.embedder.encode(&x)?;
        let tokens = self
            .fc2
            .forward(&self.fc1.forward(&enc_tokens).gelu("none"));
        let tokens = if train { tokens } else { tokens.detach() };
        let h = self.llm.config().hidden_size;
        let ones = |rows: i64, n: i64| Tensor::ones([rows, n], (Kind::Bool, dev));
        // The sensor block of every row: per group start, tokens, end.
        let mut parts = Vec::new();
        let mut masks = Vec::new();
        let token_mask = token_mask.to_device(dev).to_kind(Kind::Bool);
        for (g, idx) in self.group_tokens.iter().enumerate() {
            let g = g as i64;
            parts.push(
                self.special
                    .get(2 * g)
                    .view([1, 1, h])
                    .expand([b, 1, h], false),
            );
            parts.push(tokens.index_select(1, idx));
            parts.push(
                self.special
                    .get(2 * g + 1)
                    .view([1, 1, h])
                    .expand([b, 1, h], false),
            );
            masks.push(ones(b, 1));
            masks.push(token_mask.index_select(1, idx));
            masks.push(ones(b, 1));
        }
        let block = Tensor::cat(&parts, 1);
        let block_mask = Tensor::cat(&masks, 1);
        // One prompt for every row (always so in stage 2, and for an empty
        // batch): no padding.
        if texts.windows(2).all(|w| w[0] == w[1]) {
            let (pre, post) = texts.first().copied().unwrap_or(match stage {
                Stage::Align => self.align_ids.first().unwrap_or(&self.tune_ids),
                Stage::Tune => &self.tune_ids,
            });
            let emb = Tensor::cat(&[self.embed_ids(pre, b), block, self.embed_ids(post, b)], 1);
            let mask = Tensor::cat(
                &[
                    ones(b, pre.len() as i64),
                    block_mask,
                    ones(b, post.len() as i64),
                ],
                1,
            );
            return Ok((emb, mask));
        }
        let longest = texts
            .iter()
            .map(|(pre, post)| pre.len() + post.len())
            .max()
            .unwrap_or(0);
        let mut rows = Vec::with_capacity(b as usize);
        let mut row_masks = Vec::with_capacity(b as usize);
        for (i, (pre, post)) in texts.iter().enumerate() {
            let pad = (longest - pre.len() - post.len()) as i64;
            let i = i as i64;
            rows.push(Tensor::cat(
                &[
                    Tensor::zeros([1, pad, h], (block.kind(), dev)),
                    self.embed_ids(pre, 1),
                    block.narrow(0, i, 1),
                    self.embed_ids(post, 1),
                ],
                1,
            ));
            row_masks.push(Tensor::cat(
                &[
                    Tensor::zeros([1, pad], (Kind::Bool, dev)),
                    ones(1, pre.len() as i64),
                    block_mask.narrow(0, i, 1),
                    ones(1, post.len() as i64),
                ],
                1,
            ));
        }
        Ok((Tensor::cat(&rows, 0), Tensor::cat(&row_masks, 0)))
    }

    /// The LLM's final states of input embeddings (with this model's LoRA
    /// adapters, if any).
    fn run_llm(
        &self,
        x: &Tensor,
        cache: Option<&mut KvCache>,
        key_mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        self.llm
            .llama
            .forward_embeds_with(x, cache, key_mask, self.lora.as_ref())
            .map_err(llm_err)
    }

    /// Whether stage 2 trains anything upstream of the head (projector and
    /// channel tokens, or LoRA adapters), so that a step needs the LLM's
    /// backward pass and the pooled states are not fixed.
    pub fn trains_through_llm(&self) -> bool {
        self.record.run.tune.train_projector || self.lora.is_some()
    }

    /// Stage 1's loss: mean cross-entropy of the answer tokens (`answers`,
    /// one per window, from [`SensorLlm::answer_ids`]) after stage-1 prompt
    /// `prompts[i]` of window `x[i]` (see [`SensorLlm::align_prompts`]), and
    /// the share of answer tokens predicted exactly.
    pub fn align_loss(
        &self,
        x: &Tensor,
        prompts: &[usize],
        answers: &[Vec<u32>],
    ) -> Result<(Tensor, f64)> {
        let b = x.size()[0];
        if answers.len() as i64 != b || answers.iter().any(Vec::is_empty) {
            return Err(ModelError::Data(format!(
                "{b} windows but {} answers (each needs at least one token)",
                answers.len()
            )));
        }
        let dev = self.device();
        let (emb, mask) = self.prompt_embeds(x, Stage::Align, prompts, true)?;
        let p = emb.size()[1];
        let a = answers.iter().map(Vec::len).max().unwrap_or(1) as i64;
        let mut ids = vec![0i64; (b * a) as usize];
        let mut valid = vec![false; (b * a) as usize];
        let mut targets = Vec::new();
        let mut rows = Vec::new();
        for (i, ans) in answers.iter().enumerate() {
            for (k, &t) in ans.iter().enumerate() {
                ids[i * a as usize + k] = t as i64;
                valid[i * a as usize + k] = true;
                targets.push(t as i64);
                rows.push(i as i64 * a + k as i64);
            }
        }
        let ids = Tensor::from_slice(&ids).view([b, a]).to_device(dev);
        let ans_mask = Tensor::from_slice(&valid).view([b, a]).to_device(dev);
        let full = Tensor::cat(&[emb, self.llm.llama.embed_tokens(&ids)], 1);
        let keys = Tensor::cat(&[mask, ans_mask], 1);
        let hidden = self.run_llm(&full, None, Some(&keys))?;
        // Position P-1+k predicts answer token k.
        let h = self.llm.config().hidden_size;
        let states = hidden
            .narrow(1, p - 1, a)
            .reshape([b * a, h])
            .index_select(0, &Tensor::from_slice(&rows).to_device(dev));
        let logits = self.llm.llama.logits(&states);
        let targets = Tensor::from_slice(&targets).to_device(dev);
        let loss = logits.cross_entropy_for_logits(&targets);
        let acc = logits
            .argmax(-1, false)
            .eq_tensor(&targets)
            .to_kind(Kind::Float)
            .mean(Kind::Float)
            .double_value(&[]);
        Ok((loss, acc))
    }

    /// The LLM state stage 2's head reads for windows `x` `[B, T, C]`
    /// (`[B, hidden]`, as `tune.pool` says): the final hidden state at the
    /// prompt's last token, or the mean of the final states at the sensor
    /// tokens that are not all missing.
    pub fn features(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (emb, mask) = self.prompt_embeds(x, Stage::Tune, &[], train)?;
        let all = mask.all().int64_value(&[]) == 1;
        let hidden = self.run_llm(&emb, None, (!all).then_some(&mask))?;
        Ok(match self.record.run.tune.pool {
            Pool::Last => hidden.select(1, -1),
            Pool::SensorMean => {
                let w = (mask.to_kind(Kind::Float) * self.sensor_positions(mask.size()[1]))
                    .unsqueeze(-1);
                (hidden * &w).sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
                    / w.sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
                        .clamp_min(1.0)
            }
        })
    }

    /// `[1, P]`: 1 at the sensor-token positions of the stage-2 prompt of
    /// length `p`, 0 at text and channel start/end tokens.
    fn sensor_positions(&self, p: i64) -> Tensor {
        let mut v = vec![0f32; p as usize];
        let mut at = self.tune_ids.0.len();
        for idx in &self.group_tokens {
            let n = idx.size()[0] as usize;
            for slot in v.iter_mut().skip(at + 1).take(n) {
                *slot = 1.0;
            }
            at += n + 2;
        }
        Tensor::from_slice(&v).view([1, p]).to_device(self.device())
    }

    /// Stage 2's logits `[B, classes]` of windows `x`: the head on
    /// [`SensorLlm::features`] (with gradients through the LLM into the
    /// projector or the LoRA adapters when `train` and
    /// [`SensorLlm::trains_through_llm`] say so).
    pub fn class_logits(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let features = if train && self.trains_through_llm() {
            self.features(x, true)?
        } else {
            tch::no_grad(|| self.features(x, false))?
        };
        self.head_logits(&features)
    }

    /// The head's logits `[B, classes]` of pooled states `[B, hidden]`
    /// (from [`SensorLlm::features`]).
    pub fn head_logits(&self, features: &Tensor) -> Result<Tensor> {
        let head = self.head.as_ref().ok_or_else(|| {
            ModelError::config("stage", "a stage-1 model has no classification head")
        })?;
        Ok(head.forward(&features.to_device(self.device())))
    }

    /// [`SensorLlm::features`] of windows `x` `[N, T, C]` without
    /// gradients, in batches of `batch` taken in order (the same windows
    /// give the same states, bit for bit).
    pub fn features_batched(&self, x: &Tensor, batch: usize) -> Result<Tensor> {
        let n = x.size()[0];
        let mut parts = Vec::new();
        let mut i = 0;
        while i < n {
            let b = (batch.max(1) as i64).min(n - i);
            parts.push(tch::no_grad(|| self.features(&x.narrow(0, i, b), false))?);
            i += b;
        }
        if parts.is_empty() {
            return Err(ModelError::Data("no windows to compute states of".into()));
        }
        Ok(Tensor::cat(&parts, 0))
    }

    /// Set the head's standardisation (`head.mean`, `head.std`) to the
    /// per-dimension mean and standard deviation of pooled states
    /// `features` `[N, hidden]` (N ≥ 2, from
    /// [`SensorLlm::features_batched`]); no deviation is taken below a
    /// tenth of their mean.
    pub fn fit_feature_stats(&mut self, features: &Tensor) -> Result<()> {
        let n = features.size()[0];
        if n < 2 {
            return Err(ModelError::Data(format!(
                "feature statistics need at least 2 windows, got {n}"
            )));
        }
        let head = self.head.as_mut().ok_or_else(|| {
            ModelError::config("stage", "a stage-1 model has no classification head")
        })?;
        let f = features.to_device(head.mean.device());
        tch::no_grad(|| {
            head.mean.copy_(&f.mean_dim(0, false, Kind::Float));
            // A dimension that barely varies over these windows must not be
            // blown up once the projector moves.
            let std = f.std_dim(0, false, false);
            let floor = (std.mean(Kind::Float) * 0.1).clamp_min(1e-5);
            head.std.copy_(&std.maximum(&floor));
        });
        Ok(())
    }

    /// Predicted class indices of windows `x` `[N, T, C]`, in batches.
    pub fn classify(&self, x: &Tensor, batch: usize) -> Result<Vec<usize>> {
        let n = x.size()[0];
        let mut out = Vec::with_capacity(n as usize);
        let mut i = 0;
        while i < n {
            let len = (batch.max(1) as i64).min(n - i);
            let logits = self.class_logits(&x.narrow(0, i, len), false)?;
            let idx = Vec::<i64>::try_from(logits.argmax(-1, false).to_device(Device::Cpu))?;
            out.extend(idx.into_iter().map(|v| v as usize));
            i += len;
        }
        Ok(out)
    }

    /// The given opening of stage-1 prompt `p`'s answer (empty when there
    /// is none or no such prompt).
    pub fn answer_prefix(&self, p: usize) -> &str {
        self.align_prefixes.get(p).map_or("", String::as_str)
    }

    /// How many stage-1 prompts there are: one per channel (prompt `c`
    /// asks about channel `c`) with per-channel answers, else one.
    pub fn align_prompts(&self) -> usize {
        self.align_ids.len()
    }

    /// Greedy trend descriptions of windows `x` `[N, T, C]` (at most
    /// `max_tokens` tokens per answer), in batches, with the LLM's KV
    /// cache: with per-channel answers every channel is asked in turn and
    /// a window's answers are joined in channel order.
    pub fn describe(&self, x: &Tensor, max_tokens: usize, batch: usize) -> Result<Vec<String>> {
        let n = x.size()[0];
        let k = self.align_prompts() as i64;
        let rows: Vec<i64> = (0..n)
            .flat_map(|i| std::iter::repeat_n(i, k as usize))
            .collect();
        let prompts: Vec<usize> = (0..n).flat_map(|_| 0..k as usize).collect();
        let xs = x.index_select(0, &Tensor::from_slice(&rows).to_device(x.device()));
        let said = self.answer(&xs, &prompts, max_tokens, batch)?;
        Ok(said
            .chunks(k as usize)
            .map(|answers| {
                answers
                    .iter()
                    .zip(&self.align_prefixes)
                    .map(|(a, prefix)| format!("{prefix}{a}").trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect())
    }

    /// Greedy answers to stage-1 prompt `prompts[i]` about window `x[i]`
    /// (at most `max_tokens` tokens each), in batches, with the LLM's KV
    /// cache: what the model writes after the prompt's given opening
    /// ([`SensorLlm::answer_prefix`]).
    pub fn answer(
        &self,
        x: &Tensor,
        prompts: &[usize],
        max_tokens: usize,
        batch: usize,
    ) -> Result<Vec<String>> {
        let n = x.size()[0];
        if prompts.len() as i64 != n {
            return Err(ModelError::Data(format!(
                "{n} windows but {} stage-1 prompts",
                prompts.len()
            )));
        }
        let mut out = Vec::with_capacity(n as usize);
        let mut i = 0;
        while i < n {
            let len = (batch.max(1) as i64).min(n - i);
            let xb = x.narrow(0, i, len);
            let pb = &prompts[i as usize..(i + len) as usize];
            out.extend(tch::no_grad(|| self.describe_batch(&xb, pb, max_tokens))?);
            i += len;
        }
        Ok(out)
    }

    fn describe_batch(
        &self,
        x: &Tensor,
        prompts: &[usize],
        max_tokens: usize,
    ) -> Result<Vec<String>> {
        let dev = self.device();
        let (emb, mask) = self.prompt_embeds(x, Stage::Align, prompts, false)?;
        let b = emb.size()[0];
        let all = mask.all().int64_value(&[]) == 1;
        let mut keys = mask;
        let mut cache = KvCache::new();
        let llama = &self.llm.llama;
        let mut hidden = self.run_llm(&emb, Some(&mut cache), (!all).then_some(&keys))?;
        let mut ids: Vec<Vec<u32>> = vec![Vec::new(); b as usize];
        let mut done = vec![false; b as usize];
        for _ in 0..max_tokens {
            let next = llama.logits(&hidden.select(1, -1)).argmax(-1, false);
            let next_v = Vec::<i64>::try_from(next.to_device(Device::Cpu))?;
            for (k, &t) in next_v.iter().enumerate() {
                if !done[k] {
                    if t as u32 == self.end_of_turn || Some(t as u32) == self.llm.tokenizer.eos_id {
                        done[k] = true;
                    } else {
                        ids[k].push(t as u32);
                    }
                }
            }
            if done.iter().all(|&d| d) {
                break;
            }
            let step = next.view([b, 1]).to_device(dev);
            let mask = if all {
                None
            } else {
                keys = Tensor::cat(&[keys, Tensor::ones([b, 1], (Kind::Bool, dev))], 1);
                Some(&keys)
            };
            hidden = self.run_llm(&llama.embed_tokens(&step), Some(&mut cache), mask)?;
        }
        Ok(ids
            .iter()
            .map(|t| self.llm.tokenizer.decode(t, true))
            .collect())
    }
}

/// The checkpoint of `dir`: its stage-2 selected model when there is one,
/// else its latest checkpoint, else `dir` itself when it is a checkpoint.
pub fn find(dir: &Path) -> Result<PathBuf> {
    if dir.join(CONFIG_FILE).is_file() && dir.join(MODEL_FILE).is_file() {
        return Ok(dir.to_path_buf());
    }
    if let Some(sel) = checkpoint::find_checkpoint(&dir.join("selected")) {
        return Ok(sel);
    }
    checkpoint::find_checkpoint(dir)
        .ok_or_else(|| ModelError::checkpoint(dir, "no SensorLLM checkpoint in this directory"))
}

/// One described window: what the store says and what the model wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Described {
    /// Subject of the window.
    pub subject: String,
    /// Its label, if any.
    pub label: Option<String>,
    /// The reference description (the caption column the model was aligned
    /// on), if the store has it.
    pub reference: Option<String>,
    /// The model's greedy description.
    pub generated: String,
}

impl SensorLlm {
    /// Describe the first `n` windows of `split` of the store at `store`
    /// (normalised as in training), beside their reference descriptions.
    pub fn describe_store(
        &self,
        store: &Path,
        split: wearlang_core::Split,
        n: usize,
        max_tokens: usize,
    ) -> Result<Vec<Described>> {
        let set = wearlang_models::WindowSet::load(store, Some(split), true)?;
        let names: Vec<String> = set.meta.channels.iter().map(|c| c.name.clone()).collect();
        if names != self.record.channels {
            return Err(ModelError::Data(format!(
                "{}: channels {names:?}, the model was trained on {:?}",
                store.display(),
                self.record.channels
            )));
        }
        let n = n.min(set.len());
        let idx: Vec<usize> = (0..n).collect();
        let x = set.batch(&idx, Device::Cpu)?;
        let said = self.describe(&x, max_tokens, 8)?;
        // References are written from the raw values, as in training.
        let raw = wearlang_models::WindowSet::load(store, Some(split), false)?;
        let mut reference: Vec<Vec<String>> = vec![Vec::new(); n];
        let align = &self.record.run.align;
        let asked = match align.answer {
            AnswerScope::Channel => crate::answers::questions(
                align,
                &raw.windows[..n],
                &raw.meta.channels,
                &store.display().to_string(),
            )?,
            // A window without the caption has no reference; not an error.
            AnswerScope::Window => Vec::new(),
        };
        for q in asked {
            reference[q.window].push(q.full_text());
        }
        Ok(set.windows[..n]
            .iter()
            .zip(said)
            .zip(reference)
            .map(|((w, generated), parts)| Described {
                subject: w.subject.clone(),
                label: w.label.clone(),
                reference: match align.answer {
                    AnswerScope::Channel => (!parts.is_empty()).then(|| parts.join(" ")),
                    AnswerScope::Window => w.captions.get(&align.caption).cloned(),
                },
                generated,
            })
            .collect())
    }
}
