//! CoCa's multimodal text decoder: a causal Transformer whose blocks also
//! cross-attend to the sensor tokens, with greedy and beam-search decoding.

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Kind, Tensor};

use super::tokenizer::TokenBatch;
use crate::layers::{linear, BlockConfig, Transformer};
use crate::{EncoderError, Result};

/// Label of target positions that do not count in the loss (padding).
pub const IGNORE_INDEX: i64 = -100;

/// The captioning decoder's size and options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptionDecoderConfig {
    /// Vocabulary size (the tokenizer's).
    pub vocab_size: i64,
    /// Width.
    pub dim: i64,
    /// Blocks.
    pub depth: i64,
    /// Attention heads.
    pub heads: i64,
    /// MLP hidden width ÷ `dim`.
    pub mlp_ratio: f64,
    /// Longest token sequence, `[CLS]` included (learned positions).
    pub max_len: i64,
    /// Output layer shares the token embedding (`true`) or has its own
    /// `head` weights and bias.
    pub tied: bool,
    /// Dropout in training.
    pub dropout: f64,
    /// Width of the sensor tokens it attends to (0: `dim`); a
    /// `context_proj` linear map is added when it differs from `dim`.
    pub context_dim: i64,
}

impl Default for CaptionDecoderConfig {
    fn default() -> Self {
        CaptionDecoderConfig {
            vocab_size: 30522,
            dim: 128,
            depth: 2,
            heads: 4,
            mlp_ratio: 4.0,
            max_len: 48,
            tied: true,
            dropout: 0.0,
            context_dim: 0,
        }
    }
}

impl CaptionDecoderConfig {
    /// The blocks' configuration (causal self-attention + cross-attention).
    pub fn block(&self) -> BlockConfig {
        BlockConfig {
            dim: self.dim,
            heads: self.heads,
            mlp_ratio: self.mlp_ratio,
            dropout: self.dropout,
            cross_attention: true,
            causal: true,
        }
    }

    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size < 4 {
            return Err(EncoderError::config("vocab_size", "must be at least 4"));
        }
        if self.max_len < 2 {
            return Err(EncoderError::config("max_len", "must be at least 2"));
        }
        if self.context_dim < 0 {
            return Err(EncoderError::config("context_dim", "must not be negative"));
        }
        self.block().validate()
    }
}

/// How to decode: greedy (`beam = 1`) or beam search.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeOptions {
    /// Beam width (1 = greedy).
    pub beam: usize,
    /// Most tokens generated after `[CLS]` (the decoder's `max_len − 1` at most).
    pub max_new_tokens: usize,
    /// Finished beams are ranked by `log p / length^length_penalty`.
    pub length_penalty: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            beam: 1,
            max_new_tokens: 40,
            length_penalty: 1.0,
        }
    }
}

/// The decoder: `token_embedding`, `pos_embedding` `[max_len, dim]`,
/// optional `context_proj`, `transformer.blocks.{i}` (self `attn`, `cross`,
/// `mlp`), `transformer.norm`, and `head` when untied.
#[derive(Debug)]
pub struct CaptionDecoder {
    tok: nn::Embedding,
    pos: Tensor,
    context_proj: Option<nn::Linear>,
    transformer: Transformer,
    head: Option<nn::Linear>,
    cfg: CaptionDecoderConfig,
}

impl CaptionDecoder {
    /// Build under `p`.
    pub fn new(p: nn::Path, cfg: &CaptionDecoderConfig) -> Result<Self> {
        cfg.validate()?;
        let init = nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let tok = nn::embedding(
            &p / "token_embedding",
            cfg.vocab_size,
            cfg.dim,
            nn::EmbeddingConfig {
                ws_init: init,
                ..Default::default()
            },
        );
        let pos = p.var("pos_embedding", &[cfg.max_len, cfg.dim], init);
        let context_proj = (cfg.context_dim != 0 && cfg.context_dim != cfg.dim)
            .then(|| linear(&p / "context_proj", cfg.context_dim, cfg.dim));
        let transformer = Transformer::new(&p / "transformer", cfg.depth, &cfg.block())?;
        let head = (!cfg.tied).then(|| linear(&p / "head", cfg.dim, cfg.vocab_size));
        Ok(CaptionDecoder {
            tok,
            pos,
            context_proj,
            transformer,
            head,
            cfg: cfg.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CaptionDecoderConfig {
        &self.cfg
    }

    /// Next-token logits `[B, L, V]` for `ids` `[B, L]`, attending to
    /// `context` `[B, N, context_dim]` where `context_mask` `[B, N]` (bool,
    /// `true` = observed) allows.
    pub fn forward_t(
        &self,
        ids: &Tensor,
        context: &Tensor,
        context_mask: Option<&Tensor>,
        train: bool,
    ) -> Result<Tensor> {
        let size = ids.size();
        let cs = context.size();
        let want_c = if self.cfg.context_dim == 0 {
            self.cfg.dim
        } else {
            self.cfg.context_dim
        };
        if size.len() != 2 || cs.len() != 3 || cs[0] != size[0] || cs[2] != want_c {
            return Err(EncoderError::Shape(format!(
                "decoder: ids {size:?} must be [B, L] and context {cs:?} [B, N, {want_c}]"
            )));
        }
        if let Some(m) = context_mask {
            if m.size() != cs[..2] {
                return Err(EncoderError::Shape(format!(
                    "decoder: context mask {:?} must be [B, N] = {:?}",
                    m.size(),
                    &cs[..2]
                )));
            }
        }
        if size[1] > self.cfg.max_len || size[1] < 1 {
            return Err(EncoderError::Shape(format!(
                "decoder: {} tokens, must be 1..={}",
                size[1], self.cfg.max_len
            )));
        }
        let ctx = match &self.context_proj {
            Some(p) => p.forward(context),
            None => context.shallow_clone(),
        };
        let x = ids.apply(&self.tok) + self.pos.narrow(0, 0, size[1]).unsqueeze(0);
        let h = self
            .transformer
            .forward_t(&x, None, Some((&ctx, context_mask)), train);
        Ok(match &self.head {
            Some(head) => head.forward(&h),
            None => h.matmul(&self.tok.ws.tr()),
        })
    }

    /// Inputs and targets for teacher forcing from a tokenised batch
    /// (`[CLS] text [SEP] pad…`): inputs drop the last position, targets drop
    /// the first and carry [`IGNORE_INDEX`] at padding.
    pub fn teacher_forcing(&self, batch: &TokenBatch) -> Result<(Tensor, Tensor)> {
        let l = batch.ids.size()[1];
        if l < 2 {
            return Err(EncoderError::Shape(
                "teacher forcing needs at least 2 tokens".into(),
            ));
        }
        if l > self.cfg.max_len {
            return Err(EncoderError::Shape(format!(
                "captions of {l} tokens, the decoder takes at most {} (tokenise with max_len = {})",
                self.cfg.max_len, self.cfg.max_len
            )));
        }
        let inputs = batch.ids.narrow(1, 0, l - 1);
        let keep = batch.attention_mask.narrow(1, 1, l - 1).to_kind(Kind::Bool);
        let targets = batch.ids.narrow(1, 1, l - 1).where_self(
            &keep,
            &Tensor::from(IGNORE_INDEX).to_device(batch.ids.device()),
        );
        Ok((inputs, targets))
    }

    /// Generate token ids (without `[CLS]`, up to and without `eos`) for
    /// each window of `context`, greedily or with beam search.
    pub fn generate(
        &self,
        context: &Tensor,
        context_mask: Option<&Tensor>,
        bos: i64,
        eos: i64,
        opts: &DecodeOptions,
    ) -> Result<Vec<Vec<i64>>> {
        if opts.beam == 0 {
            return Err(EncoderError::config("beam", "must be at least 1"));
        }
        if opts.beam as i64 > self.cfg.vocab_size {
            return Err(EncoderError::config(
                "beam",
                format!(
                    "{} beams for a vocabulary of {} tokens (at most the vocabulary)",
                    opts.beam, self.cfg.vocab_size
                ),
            ));
        }
        let max_new = opts.max_new_tokens.min(self.cfg.max_len as usize - 1);
        tch::no_grad(|| {
            if opts.beam == 1 {
                self.greedy(context, context_mask, bos, eos, max_new)
            } else {
                let b = context.size()[0];
                (0..b)
                    .map(|i| {
                        let c = context.narrow(0, i, 1);
                        let m = context_mask.map(|m| m.narrow(0, i, 1));
                        self.beam_one(&c, m.as_ref(), bos, eos, max_new, opts)
                    })
                    .collect()
            }
        })
    }

    fn greedy(
        &self,
        context: &Tensor,
        context_mask: Option<&Tensor>,
        bos: i64,
        eos: i64,
        max_new: usize,
    ) -> Result<Vec<Vec<i64>>> {
        let b = context.size()[0];
        let device = context.device();
        let mut seq = Tensor::full([b, 1], bos, (Kind::Int64, device));
        let mut out: Vec<Vec<i64>> = vec![Vec::new(); b as usize];
        let mut done = vec![false; b as usize];
        for _ in 0..max_new {
            let logits = self.forward_t(&seq, context, context_mask, false)?;
            let next = logits.select(1, -1).argmax(-1, false);
            let ids: Vec<i64> = Vec::<i64>::try_from(&next)?;
            for (i, &t) in ids.iter().enumerate() {
                if !done[i] {
                    if t == eos {
                        done[i] = true;
                    } else {
                        out[i].push(t);
                    }
                }
            }
            if done.iter().all(|&d| d) {
                break;
            }
            seq = Tensor::cat(&[seq, next.unsqueeze(1)], 1);
        }
        Ok(out)
    }

    fn beam_one(
        &self,
        context: &Tensor,
        context_mask: Option<&Tensor>,
        bos: i64,
        eos: i64,
        max_new: usize,
        opts: &DecodeOptions,
    ) -> Result<Vec<i64>> {
        let k = opts.beam;
        let score = |tokens: &[i64], logp: f64| {
            logp / ((tokens.len().max(1)) as f64).powf(opts.length_penalty)
        };
        // (tokens after [CLS], summed log-probability)
        let mut alive: Vec<(Vec<i64>, f64)> = vec![(Vec::new(), 0.0)];
        let mut finished: Vec<(Vec<i64>, f64)> = Vec::new();
        for step in 0..max_new {
            let n = alive.len() as i64;
            let mut flat = Vec::with_capacity(alive.len() * (step + 1));
            for (toks, _) in &alive {
                flat.push(bos);
                flat.extend_from_slice(toks);
            }
            let seq = Tensor::from_slice(&flat)
                .reshape([n, step as i64 + 1])
                .to_device(context.device());
            let ctx = context.expand([n, -1, -1], false);
            let cm = context_mask.map(|m| m.expand([n, -1], false));
            let logp = self
                .forward_t(&seq, &ctx, cm.as_ref(), false)?
                .select(1, -1)
                .log_softmax(-1, Kind::Float);
            let (vals, idx) = logp.topk(k as i64, -1, true, true);
            let vals: Vec<f32> = Vec::try_from(vals.flatten(0, -1))?;
            let idx: Vec<i64> = Vec::try_from(idx.flatten(0, -1))?;
            let mut cands: Vec<(usize, i64, f64)> = (0..alive.len())
                .flat_map(|a| (0..k).map(move |j| (a, j)))
                .map(|(a, j)| (a, idx[a * k + j], alive[a].1 + vals[a * k + j] as f64))
                .collect();
            cands.sort_by(|x, y| y.2.total_cmp(&x.2));
            let mut next = Vec::with_capacity(k);
            for (a, t, lp) in cands {
                if t == eos {
                    let toks = alive[a].0.clone();
                    finished.push((toks, lp));
                } else {
                    let mut toks = alive[a].0.clone();
                    toks.push(t);
                    next.push((toks, lp));
                }
                if next.len() == k {
                    break;
                }
            }
            alive = next;
            if finished.len() >= k || alive.is_empty() {
                break;
            }
        }
        finished.extend(alive);
        let best = finished
            .into_iter()
            .max_by(|a, b| score(&a.0, a.1).total_cmp(&score(&b.0, b.1)))
            .map(|(t, _)| t)
            .unwrap_or_default();
        Ok(best)
    }
}
