//! The Llama decoder in tch: RMSNorm, rotary position embeddings
//! (rotate-half), grouped-query attention, SwiGLU, a tied or separate
//! output projection, and a KV cache for incremental decoding.
//!
//! Variables are named as the tensors of a llama.cpp GGUF file
//! (`token_embd.weight`, `blk.0.attn_q.weight`, …, `output_norm.weight`),
//! with one difference: `attn_q` / `attn_k` hold the usual rotate-half
//! layout (llama.cpp's row permutation is undone when loading, see
//! [`unpermute_qk`]), so they equal Hugging Face's `q_proj` / `k_proj`.

use tch::{nn, nn::Module, Device, Kind, Tensor};

use crate::config::LlamaConfig;
use crate::gguf::Gguf;
use crate::lora::LoraAdapters;
use crate::{LlmError, Result};

/// Root mean square normalisation with a learned scale.
#[derive(Debug)]
pub struct RmsNorm {
    /// Scale, `[hidden]`.
    pub weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    /// A norm under `p` (variable `weight`, initialised to ones).
    pub fn new(p: nn::Path, size: i64, eps: f64) -> Self {
        RmsNorm {
            weight: p.var("weight", &[size], nn::Init::Const(1.0)),
            eps,
        }
    }
}

impl Module for RmsNorm {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let var = xs.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
        xs * (var + self.eps).rsqrt() * &self.weight
    }
}

/// Cosines and sines of the rotary embedding for every position.
#[derive(Debug)]
struct Rope {
    cos: Tensor,
    sin: Tensor,
}

impl Rope {
    fn new(cfg: &LlamaConfig, device: Device) -> Self {
        let dim = cfg.head_dim();
        let inv_freq: Vec<f32> = (0..dim / 2)
            .map(|i| (1.0 / cfg.rope_theta.powf(2.0 * i as f64 / dim as f64)) as f32)
            .collect();
        let inv_freq = Tensor::from_slice(&inv_freq).to_device(device);
        let pos = Tensor::arange(cfg.max_positions, (Kind::Float, device));
        let freqs = pos.outer(&inv_freq);
        let emb = Tensor::cat(&[&freqs, &freqs], -1);
        Rope {
            cos: emb.cos(),
            sin: emb.sin(),
        }
    }

    /// Rotate `x` (`[B, heads, T, head_dim]`) for positions `start..start+T`.
    fn apply(&self, x: &Tensor, start: i64) -> Tensor {
        let t = x.size()[2];
        let cos = self.cos.narrow(0, start, t);
        let sin = self.sin.narrow(0, start, t);
        let half = x.size()[3] / 2;
        let rotated = Tensor::cat(&[-x.narrow(3, half, half), x.narrow(3, 0, half)], -1);
        x * cos + rotated * sin
    }
}

/// Keys and values of the positions seen so far, per layer.
#[derive(Debug, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: i64,
}

impl KvCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Positions cached.
    pub fn len(&self) -> i64 {
        self.len
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[derive(Debug)]
struct Attention {
    q: nn::Linear,
    k: nn::Linear,
    v: nn::Linear,
    o: nn::Linear,
    n_heads: i64,
    n_kv_heads: i64,
    head_dim: i64,
}

#[derive(Debug)]
struct Mlp {
    gate: nn::Linear,
    up: nn::Linear,
    down: nn::Linear,
}

#[derive(Debug)]
struct Block {
    attn_norm: RmsNorm,
    attn: Attention,
    ffn_norm: RmsNorm,
    mlp: Mlp,
}

fn linear(p: nn::Path, i: i64, o: i64) -> nn::Linear {
    nn::linear(
        p,
        i,
        o,
        nn::LinearConfig {
            bias: false,
            ..Default::default()
        },
    )
}

impl Block {
    fn new(p: nn::Path, cfg: &LlamaConfig) -> Self {
        let h = cfg.hidden_size;
        let kv = cfg.n_kv_heads * cfg.head_dim();
        Block {
            attn_norm: RmsNorm::new(&p / "attn_norm", h, cfg.rms_eps),
            attn: Attention {
                q: linear(&p / "attn_q", h, h),
                k: linear(&p / "attn_k", h, kv),
                v: linear(&p / "attn_v", h, kv),
                o: linear(&p / "attn_output", h, h),
                n_heads: cfg.n_heads,
                n_kv_heads: cfg.n_kv_heads,
                head_dim: cfg.head_dim(),
            },
            ffn_norm: RmsNorm::new(&p / "ffn_norm", h, cfg.rms_eps),
            mlp: Mlp {
                gate: linear(&p / "ffn_gate", h, cfg.ffn_size),
                up: linear(&p / "ffn_up", h, cfg.ffn_size),
                down: linear(&p / "ffn_down", cfg.ffn_size, h),
            },
        }
    }

    fn forward(
        &self,
        x: &Tensor,
        rope: &Rope,
        start: i64,
        mask: &AttnMask,
        cache: Option<&mut Option<(Tensor, Tensor)>>,
        lora: Option<(&LoraAdapters, usize)>,
    ) -> Tensor {
        let a = &self.attn;
        let (b, t, _) = x.size3().unwrap_or((1, 1, 1));
        // Projection `j` (in `lora::TARGETS` order) of `input`, with its
        // adapter's update when there is one.
        let project = |lin: &nn::Linear, j: usize, input: &Tensor| {
            let y = lin.forward(input);
            match lora.and_then(|(l, i)| l.delta(i, j, input)) {
                Some(d) => y + d,
                None => y,
            }
        };
        let h = self.attn_norm.forward(x);
        let heads = |lin: &nn::Linear, j: usize, n: i64| {
            project(lin, j, &h)
                .view([b, t, n, a.head_dim])
                .transpose(1, 2)
        };
        let q = rope.apply(&heads(&a.q, 0, a.n_heads), start);
        let mut k = rope.apply(&heads(&a.k, 1, a.n_kv_heads), start);
        let mut v = heads(&a.v, 2, a.n_kv_heads);
        if let Some(slot) = cache {
            if let Some((pk, pv)) = slot.as_ref() {
                k = Tensor::cat(&[pk, &k], 2);
                v = Tensor::cat(&[pv, &v], 2);
            }
            *slot = Some((k.shallow_clone(), v.shallow_clone()));
        }
        let (attn_mask, causal) = match mask {
            AttnMask::None => (None, false),
            AttnMask::Causal => (None, true),
            AttnMask::Explicit(m) => (Some(m), false),
        };
        let y = Tensor::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            attn_mask,
            0.0,
            causal,
            None,
            a.n_heads != a.n_kv_heads,
        );
        let y = y.transpose(1, 2).reshape([b, t, a.n_heads * a.head_dim]);
        let x = x + project(&a.o, 3, &y);
        let h = self.ffn_norm.forward(&x);
        let m = &self.mlp;
        let ff = m
            .down
            .forward(&(m.gate.forward(&h).silu() * m.up.forward(&h)));
        x + ff
    }
}

/// One piece of a model input (see [`Llama::assemble`]).
#[derive(Debug)]
pub enum Piece {
    /// Token ids, embedded with the model's token embedding.
    Ids(Vec<u32>),
    /// Ready embeddings, `[n, hidden]`.
    Embeds(Tensor),
}

/// How queries see keys in one forward call.
enum AttnMask {
    /// Every key (one new token against the cache).
    None,
    /// Causal from the first position (no cache, no padding).
    Causal,
    /// `[B or 1, 1, T, S]` bool, true where a query may look.
    Explicit(Tensor),
}

/// The Llama decoder.
#[derive(Debug)]
pub struct Llama {
    /// Token embedding, `[vocab, hidden]`.
    pub embed: nn::Embedding,
    blocks: Vec<Block>,
    norm: RmsNorm,
    output: Option<nn::Linear>,
    rope: Rope,
    /// Its configuration.
    pub config: LlamaConfig,
}

impl Llama {
    /// A decoder under `p` with freshly initialised weights (load real ones
    /// with [`load_gguf_weights`]).
    pub fn new(p: &nn::Path, cfg: &LlamaConfig) -> Result<Self> {
        cfg.validate()?;
        let embed = nn::embedding(
            p / "token_embd",
            cfg.vocab_size,
            cfg.hidden_size,
            nn::EmbeddingConfig {
                ws_init: nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
                ..Default::default()
            },
        );
        let blocks = (0..cfg.n_layers)
            .map(|i| Block::new(p / "blk" / i, cfg))
            .collect();
        let output =
            (!cfg.tie_embeddings).then(|| linear(p / "output", cfg.hidden_size, cfg.vocab_size));
        Ok(Llama {
            embed,
            blocks,
            norm: RmsNorm::new(p / "output_norm", cfg.hidden_size, cfg.rms_eps),
            output,
            rope: Rope::new(cfg, p.device()),
            config: cfg.clone(),
        })
    }

    /// Token embeddings of `ids` (`[B, T]` int64) → `[B, T, hidden]`.
    pub fn embed_tokens(&self, ids: &Tensor) -> Tensor {
        self.embed.forward(ids)
    }

    /// Run the blocks over input embeddings `x` (`[B, T, hidden]`) and return
    /// the final normalised hidden states `[B, T, hidden]`.
    ///
    /// With a `cache`, `x` continues the cached positions and its keys and
    /// values are appended. `key_mask` (`[B, S]` bool, `S` = cached + `T`)
    /// marks the keys that exist (false for padding); each query also always
    /// sees itself, so no row is empty.
    pub fn forward_embeds(
        &self,
        x: &Tensor,
        cache: Option<&mut KvCache>,
        key_mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        self.forward_embeds_with(x, cache, key_mask, None)
    }

    /// [`Llama::forward_embeds`] with low-rank adapters on the attention
    /// projections (see [`crate::lora`]); adapters made for another number
    /// of blocks are an error.
    pub fn forward_embeds_with(
        &self,
        x: &Tensor,
        mut cache: Option<&mut KvCache>,
        key_mask: Option<&Tensor>,
        lora: Option<&LoraAdapters>,
    ) -> Result<Tensor> {
        if let Some(l) = lora {
            if l.n_layers() != self.blocks.len() {
                return Err(LlmError::Shape(format!(
                    "LoRA adapters for {} blocks, the model has {}",
                    l.n_layers(),
                    self.blocks.len()
                )));
            }
        }
        let size = x.size();
        if size.len() != 3 || size[2] != self.config.hidden_size {
            return Err(LlmError::Shape(format!(
                "input embeddings {size:?}, expected [batch, time, {}]",
                self.config.hidden_size
            )));
        }
        let (b, t) = (size[0], size[1]);
        let start = cache.as_ref().map_or(0, |c| c.len);
        let total = start + t;
        if total > self.config.max_positions {
            return Err(LlmError::Shape(format!(
                "{total} positions exceed the model's {}",
                self.config.max_positions
            )));
        }
        if let Some(m) = key_mask {
            if m.size() != [b, total] {
                return Err(LlmError::Shape(format!(
                    "key mask {:?}, expected [{b}, {total}]",
                    m.size()
                )));
            }
        }
        let mask = match key_mask {
            None if t == 1 => AttnMask::None,
            None if start == 0 => AttnMask::Causal,
            _ => {
                let dev = x.device();
                let q_pos = Tensor::arange_start(start, total, (Kind::Int64, dev)).unsqueeze(1);
                let k_pos = Tensor::arange(total, (Kind::Int64, dev)).unsqueeze(0);
                let mut allowed = k_pos.le_tensor(&q_pos).view([1, 1, t, total]);
                if let Some(m) = key_mask {
                    allowed = allowed.logical_and(&m.to_kind(Kind::Bool).view([b, 1, 1, total]));
                }
                let own = k_pos.eq_tensor(&q_pos).view([1, 1, t, total]);
                AttnMask::Explicit(allowed.logical_or(&own))
            }
        };
        if let Some(c) = cache.as_deref_mut() {
            if c.layers.len() != self.blocks.len() {
                c.layers = (0..self.blocks.len()).map(|_| None).collect();
            }
        }
        let mut h = x.shallow_clone();
        for (i, block) in self.blocks.iter().enumerate() {
            let slot = cache.as_deref_mut().map(|c| &mut c.layers[i]);
            h = block.forward(&h, &self.rope, start, &mask, slot, lora.map(|l| (l, i)));
        }
        if let Some(c) = cache {
            c.len = total;
        }
        Ok(self.norm.forward(&h))
    }

    /// Logits `[…, vocab]` of normalised hidden states.
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        match &self.output {
            Some(out) => out.forward(hidden),
            None => hidden.matmul(&self.embed.ws.tr()),
        }
    }

    /// Input embeddings for a batch of sequences, each made of pieces that
    /// are token ids or ready embeddings (`[n, hidden]`, e.g. projected
    /// sensor tokens), right-padded with zeros: `(embeddings [B, T, hidden],
    /// key mask [B, T] bool, lengths)`. Gradients flow into the embedding
    /// pieces, so a projector in front of a frozen LLM can be trained.
    pub fn assemble(&self, seqs: &[Vec<Piece>]) -> Result<(Tensor, Tensor, Vec<i64>)> {
        let h = self.config.hidden_size;
        let device = self.embed.ws.device();
        let mut rows = Vec::with_capacity(seqs.len());
        for (i, seq) in seqs.iter().enumerate() {
            let mut parts = Vec::with_capacity(seq.len());
            for piece in seq {
                match piece {
                    Piece::Ids(ids) if ids.is_empty() => {}
                    Piece::Ids(ids) => {
                        if let Some(bad) = ids.iter().find(|&&t| t as i64 >= self.config.vocab_size)
                        {
                            return Err(LlmError::Shape(format!(
                                "sequence {i}: token id {bad} is outside the vocabulary of {}",
                                self.config.vocab_size
                            )));
                        }
                        let v: Vec<i64> = ids.iter().map(|&t| t as i64).collect();
                        parts.push(self.embed_tokens(&Tensor::from_slice(&v).to_device(device)));
                    }
                    Piece::Embeds(e) => {
                        if e.dim() != 2 || e.size()[1] != h {
                            return Err(LlmError::Shape(format!(
                                "sequence {i}: embeddings {:?}, expected [n, {h}]",
                                e.size()
                            )));
                        }
                        parts.push(e.to_device(device).to_kind(Kind::Float));
                    }
                }
            }
            if parts.is_empty() {
                return Err(LlmError::Shape(format!("sequence {i} is empty")));
            }
            rows.push(Tensor::cat(&parts, 0));
        }
        if rows.is_empty() {
            return Err(LlmError::Shape("an empty batch".into()));
        }
        let lengths: Vec<i64> = rows.iter().map(|r| r.size()[0]).collect();
        let t = lengths.iter().copied().max().unwrap_or(0);
        let padded: Vec<Tensor> = rows
            .iter()
            .map(|r| r.constant_pad_nd([0, 0, 0, t - r.size()[0]]))
            .collect();
        let x = Tensor::stack(&padded, 0);
        let pos = Tensor::arange(t, (Kind::Int64, device)).unsqueeze(0);
        let len = Tensor::from_slice(&lengths).to_device(device).unsqueeze(1);
        let mask = pos.lt_tensor(&len);
        Ok((x, mask, lengths))
    }

    /// Logits `[B, vocab]` of the last position only (what generation
    /// needs: the output projection over the whole prompt is a fifth of
    /// SmolLM2's prefill work).
    pub fn forward_last(&self, ids: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor> {
        let h = self.forward_embeds(&self.embed_tokens(ids), cache, None)?;
        Ok(self.logits(&h.select(1, -1)))
    }

    /// Logits `[B, T, vocab]` of token ids `[B, T]`.
    pub fn forward(&self, ids: &Tensor, cache: Option<&mut KvCache>) -> Result<Tensor> {
        let h = self.forward_embeds(&self.embed_tokens(ids), cache, None)?;
        Ok(self.logits(&h))
    }
}

/// Undo llama.cpp's row permutation of a Q or K weight (`[rows, in]` with
/// `rows = heads × head_dim`): llama.cpp interleaves the two halves of each
/// head for its RoPE; rotate-half RoPE wants them in blocks.
pub fn unpermute_qk(w: &Tensor, heads: i64) -> Tensor {
    let (rows, cols) = w.size2().unwrap_or((0, 0));
    w.reshape([heads, rows / heads / 2, 2, cols])
        .transpose(1, 2)
        .reshape([rows, cols])
}

/// The inverse of [`unpermute_qk`] (llama.cpp's layout from rotate-half).
pub fn permute_qk(w: &Tensor, heads: i64) -> Tensor {
    let (rows, cols) = w.size2().unwrap_or((0, 0));
    w.reshape([heads, 2, rows / heads / 2, cols])
        .transpose(1, 2)
        .reshape([rows, cols])
}

/// Copy every variable of `vs` from the same-named GGUF tensor,
/// dequantised, with Q/K rows un-permuted. A variable missing from the file
/// or of another shape is an error naming it.
pub fn load_gguf_weights(vs: &nn::VarStore, gguf: &Gguf, cfg: &LlamaConfig) -> Result<()> {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| -> Result<()> {
        for (name, mut var) in vars {
            let (values, shape) = gguf.tensor_f32(&name)?;
            if shape != var.size() {
                return Err(LlmError::tensor(
                    &name,
                    format!(
                        "shape {shape:?} in the file, the model expects {:?}",
                        var.size()
                    ),
                ));
            }
            if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
                return Err(LlmError::tensor(
                    &name,
                    format!("element {bad} is {} (not finite)", values[bad]),
                ));
            }
            let mut t = Tensor::from_slice(&values).reshape(&shape);
            drop(values);
            if name.ends_with("attn_q.weight") {
                t = unpermute_qk(&t, cfg.n_heads);
            } else if name.ends_with("attn_k.weight") {
                t = unpermute_qk(&t, cfg.n_kv_heads);
            }
            var.f_copy_(&t)?;
        }
        Ok(())
    })
}
