//! all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT) as a sentence encoder: token
//! states, mean pooling over the attention mask, L2 normalisation. Tensor
//! names are those of the released `model.safetensors` (no `bert.` prefix).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Kind, Tensor};

use super::tokenizer::WordPieceTokenizer;
use crate::pooling::masked_mean;
use crate::{EncoderError, Result};

/// The fields of a BERT `config.json` that the model needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Width.
    pub hidden_size: i64,
    /// Layers.
    pub num_hidden_layers: i64,
    /// Heads.
    pub num_attention_heads: i64,
    /// FFN width.
    pub intermediate_size: i64,
    /// Positions.
    pub max_position_embeddings: i64,
    /// Token types.
    pub type_vocab_size: i64,
    /// Vocabulary.
    pub vocab_size: i64,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Activation (only `gelu`, the erf form, is supported).
    pub hidden_act: String,
}

impl BertConfig {
    /// Read `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| EncoderError::File {
            path: path.to_path_buf(),
            reason: format!("{e} (run `cargo xtask setup` to fetch the model)"),
        })?;
        let cfg: BertConfig = serde_json::from_str(&text).map_err(|e| EncoderError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        if cfg.hidden_act != "gelu" {
            return Err(EncoderError::config(
                "hidden_act",
                format!("`{}` is not supported (gelu)", cfg.hidden_act),
            ));
        }
        for (field, v) in [
            ("hidden_size", cfg.hidden_size),
            ("num_hidden_layers", cfg.num_hidden_layers),
            ("num_attention_heads", cfg.num_attention_heads),
            ("intermediate_size", cfg.intermediate_size),
            ("max_position_embeddings", cfg.max_position_embeddings),
            ("type_vocab_size", cfg.type_vocab_size),
            ("vocab_size", cfg.vocab_size),
        ] {
            if v <= 0 {
                return Err(EncoderError::File {
                    path: path.to_path_buf(),
                    reason: format!("`{field}` is {v}, must be positive"),
                });
            }
        }
        if cfg.hidden_size % cfg.num_attention_heads != 0 {
            return Err(EncoderError::config(
                "num_attention_heads",
                "must divide hidden_size",
            ));
        }
        Ok(cfg)
    }
}

/// The model directory: `explicit` if given, else `$WEARLANG_MINILM`, else
/// `target/models/all-MiniLM-L6-v2` under `workspace` (where `cargo xtask
/// setup` links it).
pub fn default_model_dir(explicit: Option<&Path>, workspace: &Path) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("WEARLANG_MINILM") {
        return PathBuf::from(p);
    }
    workspace.join("target/models/all-MiniLM-L6-v2")
}

#[derive(Debug)]
struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attn_out: nn::Linear,
    attn_ln: nn::LayerNorm,
    inter: nn::Linear,
    out: nn::Linear,
    out_ln: nn::LayerNorm,
}

/// The BERT encoder.
#[derive(Debug)]
pub struct MiniLm {
    cfg: BertConfig,
    word: nn::Embedding,
    position: nn::Embedding,
    token_type: nn::Embedding,
    emb_ln: nn::LayerNorm,
    layers: Vec<Layer>,
}

fn ln(p: nn::Path, dim: i64, eps: f64) -> nn::LayerNorm {
    nn::layer_norm(
        p,
        vec![dim],
        nn::LayerNormConfig {
            eps,
            ..Default::default()
        },
    )
}

impl MiniLm {
    /// Build (randomly initialised) under `p` with the checkpoint's names.
    pub fn new(p: nn::Path, cfg: &BertConfig) -> Self {
        let h = cfg.hidden_size;
        let e = &p / "embeddings";
        let emb = |name: &str, n: i64| nn::embedding(&e / name, n, h, Default::default());
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                let l = &p / "encoder" / "layer" / i;
                let a = &l / "attention";
                Layer {
                    query: nn::linear(&a / "self" / "query", h, h, Default::default()),
                    key: nn::linear(&a / "self" / "key", h, h, Default::default()),
                    value: nn::linear(&a / "self" / "value", h, h, Default::default()),
                    attn_out: nn::linear(&a / "output" / "dense", h, h, Default::default()),
                    attn_ln: ln(&a / "output" / "LayerNorm", h, cfg.layer_norm_eps),
                    inter: nn::linear(
                        &l / "intermediate" / "dense",
                        h,
                        cfg.intermediate_size,
                        Default::default(),
                    ),
                    out: nn::linear(
                        &l / "output" / "dense",
                        cfg.intermediate_size,
                        h,
                        Default::default(),
                    ),
                    out_ln: ln(&l / "output" / "LayerNorm", h, cfg.layer_norm_eps),
                }
            })
            .collect();
        MiniLm {
            word: emb("word_embeddings", cfg.vocab_size),
            position: emb("position_embeddings", cfg.max_position_embeddings),
            token_type: emb("token_type_embeddings", cfg.type_vocab_size),
            emb_ln: ln(&e / "LayerNorm", h, cfg.layer_norm_eps),
            layers,
            cfg: cfg.clone(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// Token states `[B, L, H]` of `ids` `[B, L]` with `attention_mask`
    /// `[B, L]` (1 = token, 0 = padding).
    pub fn forward_t(&self, ids: &Tensor, attention_mask: &Tensor, train: bool) -> Result<Tensor> {
        let size = ids.size();
        if size.len() != 2 || attention_mask.size() != size {
            return Err(EncoderError::Shape(format!(
                "ids {size:?} and attention mask {:?} must be the same [B, L]",
                attention_mask.size()
            )));
        }
        let (b, l) = (size[0], size[1]);
        if l > self.cfg.max_position_embeddings {
            return Err(EncoderError::Shape(format!(
                "{l} tokens exceed the model's {} positions",
                self.cfg.max_position_embeddings
            )));
        }
        let device = ids.device();
        let pos = Tensor::arange(l, (Kind::Int64, device)).unsqueeze(0);
        let types = Tensor::zeros([b, l], (Kind::Int64, device));
        let mut h = self.emb_ln.forward(
            &(self.word.forward(ids)
                + self.position.forward(&pos)
                + self.token_type.forward(&types)),
        );
        h = h.dropout(0.1, train);
        let heads = self.cfg.num_attention_heads;
        let hd = self.cfg.hidden_size / heads;
        let mask = attention_mask.to_kind(Kind::Bool).view([b, 1, 1, l]);
        let split = |t: Tensor| t.view([b, l, heads, hd]).transpose(1, 2);
        for layer in &self.layers {
            let q = split(layer.query.forward(&h));
            let k = split(layer.key.forward(&h));
            let v = split(layer.value.forward(&h));
            let dropout = if train { 0.1 } else { 0.0 };
            let a = Tensor::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                Some(&mask),
                dropout,
                false,
                None,
                false,
            )
            .transpose(1, 2)
            .contiguous()
            .view([b, l, self.cfg.hidden_size]);
            h = layer
                .attn_ln
                .forward(&(layer.attn_out.forward(&a).dropout(0.1, train) + &h));
            let f = layer.out.forward(&layer.inter.forward(&h).gelu("none"));
            h = layer.out_ln.forward(&(f.dropout(0.1, train) + &h));
        }
        Ok(h)
    }

    /// Sentence embeddings `[B, H]`: mean of the token states over the
    /// attention mask, L2-normalised (sentence-transformers' pooling).
    pub fn embed(&self, ids: &Tensor, attention_mask: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.forward_t(ids, attention_mask, train)?;
        let pooled = masked_mean(&h, attention_mask);
        let norm = pooled
            .norm_scalaropt_dim(2.0, [1i64].as_slice(), true)
            .clamp_min(1e-12);
        Ok(pooled / norm)
    }
}

/// Copy the tensors of a `.safetensors` file into the variables of `vs`
/// whose names start with `prefix` (the rest of the name must match a tensor
/// in the file). Every such variable must be found with the same shape;
/// tensors of the file that match no variable are ignored (`position_ids`,
/// `pooler.*`). Returns how many variables were loaded.
pub fn load_safetensors_into(vs: &nn::VarStore, file: &Path, prefix: &str) -> Result<usize> {
    if !file.is_file() {
        return Err(EncoderError::File {
            path: file.to_path_buf(),
            reason: "model weights not found (run `cargo xtask setup`)".into(),
        });
    }
    let tensors: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(file)?.into_iter().collect();
    let mut loaded = 0;
    for (name, mut var) in vs.variables() {
        let Some(rest) = name.strip_prefix(prefix) else {
            continue;
        };
        let t = tensors.get(rest).ok_or_else(|| EncoderError::File {
            path: file.to_path_buf(),
            reason: format!("no tensor `{rest}` for the model's `{name}`"),
        })?;
        if t.size() != var.size() {
            return Err(EncoderError::File {
                path: file.to_path_buf(),
                reason: format!(
                    "`{rest}` has shape {:?}, the model's `{name}` {:?}",
                    t.size(),
                    var.size()
                ),
            });
        }
        tch::no_grad(|| var.f_copy_(t))?;
        loaded += 1;
    }
    Ok(loaded)
}

/// MiniLM with its tokenizer and own variables: texts in, normalised
/// sentence embeddings out. Frozen (no gradients) unless made trainable.
pub struct MiniLmEncoder {
    /// The variables (frozen after loading).
    pub vs: nn::VarStore,
    /// The model.
    pub model: MiniLm,
    /// The tokenizer.
    pub tokenizer: WordPieceTokenizer,
    /// Maximum tokens per text (256 as in sentence-transformers).
    pub max_len: usize,
}

impl std::fmt::Debug for MiniLmEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEncoder")
            .field("max_len", &self.max_len)
            .finish()
    }
}

impl MiniLmEncoder {
    /// Load `config.json`, `vocab.txt` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path, device: Device) -> Result<Self> {
        let cfg = BertConfig::from_file(&dir.join("config.json"))?;
        let tokenizer = WordPieceTokenizer::from_vocab(&dir.join("vocab.txt"))?;
        // Building the layers draws their initial values from torch's global
        // generator; hold it so that a seeded run elsewhere in the process is
        // not disturbed (the values are overwritten below).
        let _rng = wearlang_device::lock_rng();
        let mut vs = nn::VarStore::new(device);
        let model = MiniLm::new(vs.root(), &cfg);
        let n = load_safetensors_into(&vs, &dir.join("model.safetensors"), "")?;
        if n == 0 {
            return Err(EncoderError::File {
                path: dir.to_path_buf(),
                reason: "no variables loaded".into(),
            });
        }
        vs.freeze();
        Ok(MiniLmEncoder {
            vs,
            model,
            tokenizer,
            max_len: 256,
        })
    }

    /// Normalised embeddings `[B, 384]` of `texts` (no gradients), computed
    /// in batches of `batch` texts.
    pub fn embed_texts<S: AsRef<str>>(&self, texts: &[S], batch: usize) -> Result<Tensor> {
        let device = self.vs.device();
        let mut parts = Vec::new();
        for chunk in texts.chunks(batch.max(1)) {
            let tb = self.tokenizer.encode_batch(chunk, self.max_len, device)?;
            parts.push(tch::no_grad(|| {
                self.model.embed(&tb.ids, &tb.attention_mask, false)
            })?);
        }
        if parts.is_empty() {
            return Err(EncoderError::Shape("no texts to embed".into()));
        }
        Ok(Tensor::cat(&parts, 0))
    }
}
