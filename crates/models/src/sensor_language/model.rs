//! The generic SensorLM model: a sensor tower, a text tower, projection
//! heads into a shared space, an optional captioning decoder, and the
//! objective, all assembled from a [`SensorLanguageConfig`].

use std::cell::RefCell;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{nn, nn::Module, Device, Tensor};
use wearlang_encoders::text::{
    load_safetensors_into, BertConfig, CaptionDecoder, CaptionDecoderConfig, DecodeOptions, MiniLm,
    MiniLmEncoder, SmallTextConfig, SmallTextTransformer, WordPieceTokenizer,
};
use wearlang_encoders::{
    ConvEncoder, ConvEncoderConfig, PatchTransformer, PatchTransformerConfig, ProjectionHead,
    SensorEncoder, WindowCentred,
};
use wearlang_objectives::{augment, build, normalize, LossOutput, Objective, ObjectiveInputs};

use super::config::{DecoderVocabulary, SensorKind, SensorLanguageConfig, TextKind};
use super::select::StepSelection;
use super::text::TextEmbeddingCache;
use crate::checkpoint;
use crate::mae::PretrainCheckpointConfig;
use crate::registry::TextEncoder;
use crate::{ModelError, Result};

/// Mixed into a step's seed for [`SensorLanguageConfig::pair_augment`], so
/// that it draws differently from the SimCLR views of the same step.
const PAIR_SALT: u64 = 0x7061_6972_5f61_7567;

/// Which pretrained text model (and vocabulary) a checkpoint depends on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextIdentity {
    /// The model's name.
    pub name: String,
    /// SHA-256 of `vocab.txt` (the tokenizer of every text part).
    pub vocab_sha256: String,
    /// SHA-256 of `model.safetensors` (empty when MiniLM's weights are not used).
    pub model_sha256: String,
}

/// The resolved architecture: what a checkpoint needs to be rebuilt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedModel {
    /// Steps per window.
    pub steps: usize,
    /// Channels per window.
    pub channels: usize,
    /// The conv encoder, when used.
    pub conv: Option<ConvEncoderConfig>,
    /// The patch Transformer, when used.
    pub patch: Option<PatchTransformerConfig>,
    /// The small text Transformer, when used.
    pub small_text: Option<SmallTextConfig>,
    /// The decoder, when the objective captions.
    pub decoder: Option<CaptionDecoderConfig>,
    /// The decoder's output vocabulary as WordPiece ids (sorted; `None`: the
    /// whole vocabulary). Decoder token `i` is WordPiece id `decoder_tokens[i]`.
    #[serde(default)]
    pub decoder_tokens: Option<Vec<i64>>,
    /// A registered sensor encoder's resolved config, as its factory
    /// returned it (`sensor.kind = "custom"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_sensor: Option<serde_json::Value>,
    /// A registered text tower's resolved config, as its factory returned
    /// it (`text.kind = "custom"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_text: Option<serde_json::Value>,
}

/// A pretraining checkpoint's tensors and their file, to load into the
/// sensor tower.
type InitTensors = Option<(Vec<(String, Tensor)>, PathBuf)>;

/// What a checkpoint recorded, to rebuild exactly that architecture.
#[derive(Default)]
struct Saved {
    patch: Option<PatchTransformerConfig>,
    custom_sensor: Option<serde_json::Value>,
    custom_text: Option<serde_json::Value>,
    decoder_tokens: Option<Vec<i64>>,
}

/// The text tower.
pub enum TextTower {
    /// Frozen MiniLM with its own variables (not in the checkpoint) and a
    /// cache of embeddings by text.
    Frozen(Box<MiniLmEncoder>, RefCell<TextEmbeddingCache>),
    /// MiniLM fine-tuned with the model (`text.*`).
    Tuned(MiniLm),
    /// The small Transformer (`text.*`).
    Small(SmallTextTransformer),
    /// A registered text tower (`text.*`).
    Custom(Box<dyn TextEncoder>),
}

/// A sensor-language model. Variables (checkpoint tensor names): `sensor.*`,
/// `sensor_proj.fc.{i}.*`, `text.*` (unless MiniLM is frozen),
/// `text_proj.fc.{i}.*`, `view_proj.*` (SimCLR / SLIP), `decoder.*` (β > 0),
/// `objective.*` (temperatures, SigLIP bias).
pub struct SensorLanguageModel {
    /// The trainable variables.
    pub vs: nn::VarStore,
    sensor: Box<dyn SensorEncoder>,
    sensor_proj: ProjectionHead,
    text: TextTower,
    text_proj: ProjectionHead,
    view_proj: Option<ProjectionHead>,
    decoder: Option<CaptionDecoder>,
    objective: Box<dyn Objective>,
    tokenizer: WordPieceTokenizer,
    decoder_map: Option<DecoderVocab>,
    cfg: SensorLanguageConfig,
    resolved: ResolvedModel,
    identity: TextIdentity,
    /// Steps its weights were trained for, when loaded from a checkpoint.
    trained_steps: Option<u64>,
    /// How its step budget was chosen on held-out classes, when it was.
    selection: Option<StepSelection>,
}

impl std::fmt::Debug for SensorLanguageModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SensorLanguageModel")
            .field("name", &self.cfg.name)
            .field("resolved", &self.resolved)
            .finish()
    }
}

/// One training batch.
pub struct Batch {
    /// `[B, T, C]` windows, NaN where missing.
    pub x: Tensor,
    /// Their training texts.
    pub texts: Vec<String>,
    /// `[B]` int64 labels (UniCL), when every window has one.
    pub labels: Option<Tensor>,
    /// Seed of this step's augmentations.
    pub seed: u64,
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

impl SensorLanguageModel {
    /// Build for windows of `steps × channels` on `device`, with MiniLM's
    /// files (or only its vocabulary, for the small tower) in `minilm_dir`.
    /// Variables are initialised from the global torch generator (seed it
    /// first) and, with `sensor.init_from`, from a pretraining checkpoint.
    /// `corpus` holds every text the decoder may have to write (with
    /// `decoder_vocabulary = "corpus"` its output layer covers only their
    /// word pieces).
    pub fn new(
        cfg: &SensorLanguageConfig,
        steps: usize,
        channels: usize,
        minilm_dir: &Path,
        device: Device,
        corpus: &[String],
    ) -> Result<Self> {
        Self::assemble(
            cfg,
            steps,
            channels,
            minilm_dir,
            device,
            Saved::default(),
            Some(corpus),
        )
    }

    /// Rebuild the architecture a checkpoint recorded (weights are loaded by
    /// the caller; `sensor.init_from` is not read again).
    pub fn from_resolved(
        cfg: &SensorLanguageConfig,
        resolved: &ResolvedModel,
        minilm_dir: &Path,
        device: Device,
    ) -> Result<Self> {
        let m = Self::assemble(
            cfg,
            resolved.steps,
            resolved.channels,
            minilm_dir,
            device,
            Saved {
                patch: resolved.patch.clone(),
                custom_sensor: resolved.custom_sensor.clone(),
                custom_text: resolved.custom_text.clone(),
                decoder_tokens: resolved.decoder_tokens.clone(),
            },
            None,
        )?;
        if &m.resolved != resolved {
            return Err(ModelError::config(
                "model",
                "the configuration no longer builds the architecture the checkpoint recorded",
            ));
        }
        Ok(m)
    }

    fn assemble(
        cfg: &SensorLanguageConfig,
        steps: usize,
        channels: usize,
        minilm_dir: &Path,
        device: Device,
        saved: Saved,
        corpus: Option<&[String]>,
    ) -> Result<Self> {
        let Saved {
            patch: patch_override,
            custom_sensor,
            custom_text,
            decoder_tokens: saved_tokens,
        } = saved;
        cfg.validate()?;
        let vocab = minilm_dir.join("vocab.txt");
        let tokenizer = WordPieceTokenizer::from_vocab(&vocab)?;
        let vocab_size = tokenizer.vocab_size() as i64;
        let mut vs = nn::VarStore::new(device);
        let root = vs.root();

        // Sensor tower.
        let mut resolved = ResolvedModel {
            steps,
            channels,
            conv: None,
            patch: None,
            small_text: None,
            decoder: None,
            decoder_tokens: None,
            custom_sensor: None,
            custom_text: None,
        };
        let (sensor, init_tensors) =
            Self::build_sensor(&root, cfg, &mut resolved, patch_override, custom_sensor)?;
        let sensor_proj =
            ProjectionHead::new(&root / "sensor_proj", sensor.dim(), &cfg.projection)?;

        // Text tower.
        let needs_minilm_weights = cfg.text.kind == TextKind::Minilm;
        let (text, text_dim) = Self::build_text(
            &root,
            cfg,
            minilm_dir,
            vocab_size,
            device,
            &mut resolved,
            custom_text,
        )?;
        let text_proj = ProjectionHead::new(&root / "text_proj", text_dim, &cfg.projection)?;
        let view_proj = if cfg.objective.needs_views() {
            Some(ProjectionHead::new(
                &root / "view_proj",
                sensor.dim(),
                &cfg.projection,
            )?)
        } else {
            None
        };
        let (decoder, decoder_map) = Self::build_decoder(
            &root,
            cfg,
            &tokenizer,
            corpus,
            saved_tokens,
            sensor.dim(),
            device,
            &mut resolved,
        )?;
        let objective = build(&root / "objective", &cfg.objective)?;

        // Pretrained weights.
        if let TextTower::Tuned(_) = &text {
            load_safetensors_into(&vs, &minilm_dir.join("model.safetensors"), "text.")?;
        }
        if let Some((tensors, path)) = init_tensors {
            let sensor_only: Vec<(String, Tensor)> = tensors
                .into_iter()
                .filter(|(n, _)| n.starts_with("encoder."))
                .collect();
            checkpoint::load_named(&mut vs, sensor_only, "encoder.", "sensor.", &path, true)?;
        }
        let identity = TextIdentity {
            name: "all-MiniLM-L6-v2".into(),
            vocab_sha256: sha256_file(&vocab)?,
            model_sha256: if needs_minilm_weights {
                sha256_file(&minilm_dir.join("model.safetensors"))?
            } else {
                String::new()
            },
        };
        Ok(SensorLanguageModel {
            vs,
            sensor,
            sensor_proj,
            text,
            text_proj,
            view_proj,
            decoder,
            objective,
            tokenizer,
            decoder_map,
            cfg: cfg.clone(),
            resolved,
            identity,
            trained_steps: None,
            selection: None,
        })
    }

    /// The sensor tower under `root / "sensor"`, recording what it resolved
    /// in `resolved`; with `sensor.init_from`, also the pretraining
    /// checkpoint's tensors (and their file) to load into it.
    fn build_sensor(
        root: &nn::Path,
        cfg: &SensorLanguageConfig,
        resolved: &mut ResolvedModel,
        patch_override: Option<PatchTransformerConfig>,
        custom_sensor: Option<serde_json::Value>,
    ) -> Result<(Box<dyn SensorEncoder>, InitTensors)> {
        let (steps, channels) = (resolved.steps, resolved.channels);
        let mut init_tensors = None;
        let sensor: Box<dyn SensorEncoder> = match cfg.sensor.kind {
            SensorKind::Conv => {
                let mut c = ConvEncoderConfig::nls(steps, channels);
                c.dropout = cfg.sensor.conv_dropout;
                let enc = ConvEncoder::new(root / "sensor", &c)?;
                resolved.conv = Some(c);
                Box::new(enc)
            }
            SensorKind::Patch => {
                let pc = match (&cfg.sensor.init_from, patch_override) {
                    (_, Some(pc)) => pc,
                    (Some(dir), None) => {
                        let ckpt = checkpoint::checkpoint_of(dir).ok_or_else(|| {
                            ModelError::checkpoint(dir, "sensor.init_from: no checkpoint here")
                        })?;
                        let pre: PretrainCheckpointConfig =
                            checkpoint::read_json(&ckpt, checkpoint::CONFIG_FILE)?;
                        let enc = pre.model.encoder;
                        if (enc.steps, enc.channels) != (steps, channels) {
                            return Err(ModelError::checkpoint(
                                &ckpt,
                                format!(
                                    "encoder built for {} × {} windows, the store has {steps} × {channels}",
                                    enc.steps, enc.channels
                                ),
                            ));
                        }
                        let path = ckpt.join(checkpoint::MODEL_FILE);
                        init_tensors = Some((Tensor::read_safetensors(&path)?, path));
                        enc
                    }
                    (None, None) => cfg.sensor.patch.resolve(steps, channels)?,
                };
                let enc = PatchTransformer::new(root / "sensor", &pc)?;
                resolved.patch = Some(pc);
                Box::new(enc)
            }
            SensorKind::Custom => {
                let name = cfg.sensor.name.as_deref().ok_or_else(|| {
                    ModelError::config(
                        "sensor.name",
                        "`kind = \"custom\"` needs the registered name",
                    )
                })?;
                let factory = crate::registry::sensor_encoder(name)?;
                let (enc, recorded) = factory.build(
                    root / "sensor",
                    steps,
                    channels,
                    &cfg.sensor.params,
                    custom_sensor.as_ref(),
                )?;
                resolved.custom_sensor = Some(recorded);
                enc
            }
        };
        let sensor: Box<dyn SensorEncoder> = if cfg.sensor.centre {
            Box::new(WindowCentred::new(sensor))
        } else {
            sensor
        };
        Ok((sensor, init_tensors))
    }

    /// The text tower under `root / "text"` and its width (frozen MiniLM
    /// keeps its own variables), recording the small Transformer's config
    /// in `resolved`.
    #[allow(clippy::too_many_arguments)] // private helper of `assemble`
    fn build_text(
        root: &nn::Path,
        cfg: &SensorLanguageConfig,
        minilm_dir: &Path,
        vocab_size: i64,
        device: Device,
        resolved: &mut ResolvedModel,
        saved_custom: Option<serde_json::Value>,
    ) -> Result<(TextTower, i64)> {
        Ok(match (cfg.text.kind, cfg.text.trainable) {
            (TextKind::Minilm, false) => {
                let enc = MiniLmEncoder::load(minilm_dir, device)?;
                let d = enc.model.config().hidden_size;
                (
                    TextTower::Frozen(Box::new(enc), RefCell::new(TextEmbeddingCache::new())),
                    d,
                )
            }
            (TextKind::Minilm, true) => {
                let bc = BertConfig::from_file(&minilm_dir.join("config.json"))?;
                let m = MiniLm::new(root / "text", &bc);
                (TextTower::Tuned(m), bc.hidden_size)
            }
            (TextKind::Small, _) => {
                let sc = SmallTextConfig {
                    vocab_size,
                    ..cfg.text.small.clone()
                };
                let m = SmallTextTransformer::new(root / "text", &sc)?;
                resolved.small_text = Some(sc.clone());
                (TextTower::Small(m), sc.dim)
            }
            (TextKind::Custom, _) => {
                let name = cfg.text.name.as_deref().ok_or_else(|| {
                    ModelError::config("text.name", "`kind = \"custom\"` needs the registered name")
                })?;
                let factory = crate::registry::text_tower(name)?;
                let (m, recorded) = factory.build(
                    root / "text",
                    vocab_size,
                    &cfg.text.params,
                    saved_custom.as_ref(),
                )?;
                let d = m.dim();
                resolved.custom_text = Some(recorded);
                (TextTower::Custom(m), d)
            }
        })
    }

    /// The captioning decoder under `root / "decoder"` when the objective
    /// captions, with its output vocabulary (the corpus's word pieces, the
    /// checkpoint's saved ones, or all), recorded in `resolved`.
    #[allow(clippy::too_many_arguments)] // private helper of `assemble`
    fn build_decoder(
        root: &nn::Path,
        cfg: &SensorLanguageConfig,
        tokenizer: &WordPieceTokenizer,
        corpus: Option<&[String]>,
        saved_tokens: Option<Vec<i64>>,
        sensor_dim: i64,
        device: Device,
        resolved: &mut ResolvedModel,
    ) -> Result<(Option<CaptionDecoder>, Option<DecoderVocab>)> {
        let vocab_size = tokenizer.vocab_size() as i64;
        let mut decoder_map = None;
        let decoder = if cfg.objective.needs_captions() {
            let tokens = match (cfg.decoder_vocabulary, corpus) {
                (DecoderVocabulary::Full, _) => None,
                (DecoderVocabulary::Corpus, Some(texts)) => Some(corpus_tokens(
                    tokenizer,
                    texts,
                    cfg.decoder.max_len as usize,
                )?),
                (DecoderVocabulary::Corpus, None) => Some(saved_tokens.ok_or_else(|| {
                    ModelError::config(
                        "decoder_vocabulary",
                        "no corpus and no saved decoder tokens",
                    )
                })?),
            };
            let dec_vocab = match &tokens {
                Some(t) => {
                    decoder_map = Some(DecoderVocab::new(t, vocab_size, device)?);
                    t.len() as i64
                }
                None => vocab_size,
            };
            resolved.decoder_tokens = tokens;
            let dc = CaptionDecoderConfig {
                vocab_size: dec_vocab,
                context_dim: sensor_dim,
                ..cfg.decoder.clone()
            };
            let d = CaptionDecoder::new(root / "decoder", &dc)?;
            resolved.decoder = Some(dc);
            Some(d)
        } else {
            None
        };
        Ok((decoder, decoder_map))
    }

    /// The optimiser steps its weights were trained for: the checkpoint's
    /// recorded step when loaded from one (less than the configured budget
    /// for an unfinished run), else the configured budget.
    pub fn trained_steps(&self) -> u64 {
        self.trained_steps.unwrap_or(self.cfg.max_steps)
    }

    /// Record the steps its weights were trained for (see
    /// [`Self::trained_steps`]); the loaders do this.
    pub fn set_trained_steps(&mut self, steps: u64) {
        self.trained_steps = Some(steps);
    }

    /// How its step budget was chosen on held-out classes (`[select]`),
    /// when it was; the loaders set it from the checkpoint.
    pub fn step_selection(&self) -> Option<&StepSelection> {
        self.selection.as_ref()
    }

    /// Record how its step budget was chosen (see
    /// [`Self::step_selection`]).
    pub fn set_step_selection(&mut self, selection: Option<StepSelection>) {
        self.selection = selection;
    }

    /// The run configuration.
    pub fn config(&self) -> &SensorLanguageConfig {
        &self.cfg
    }

    /// The resolved architecture.
    pub fn resolved(&self) -> &ResolvedModel {
        &self.resolved
    }

    /// The text model this model depends on.
    pub fn text_identity(&self) -> &TextIdentity {
        &self.identity
    }

    /// The sensor encoder (its tokens and pooled embedding, before the
    /// projection head).
    pub fn sensor_encoder(&self) -> &dyn SensorEncoder {
        self.sensor.as_ref()
    }

    /// The device of the variables.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// The tokenizer of the text tower and decoder.
    pub fn tokenizer(&self) -> &WordPieceTokenizer {
        &self.tokenizer
    }

    /// Whether the model has a captioning decoder.
    pub fn has_decoder(&self) -> bool {
        self.decoder.is_some()
    }

    /// Frozen-MiniLM cache statistics `(distinct texts, hits, misses)`.
    pub fn cache_stats(&self) -> Option<(usize, u64, u64)> {
        match &self.text {
            TextTower::Frozen(_, c) => {
                let c = c.borrow();
                Some((c.len(), c.hits, c.misses))
            }
            _ => None,
        }
    }

    /// Embed `texts` into the frozen-MiniLM cache in a fixed order (sorted,
    /// chunks of 64), so that a text's cached embedding does not depend on
    /// which batch first asked for it (batched matrix products differ in the
    /// last bits with the batch's shape) and a resumed run matches a straight
    /// one bit for bit. Does nothing for trainable text towers.
    pub fn warm_text_cache(&self, texts: &[String]) -> Result<()> {
        if !self.cfg.text.cache {
            return Ok(());
        }
        if let TextTower::Frozen(enc, cache) = &self.text {
            let mut sorted: Vec<&String> = texts.iter().collect();
            sorted.sort();
            sorted.dedup();
            let mut cache = cache.borrow_mut();
            for chunk in sorted.chunks(64) {
                let _ = cache.embed(enc, chunk)?;
            }
            cache.hits = 0;
        }
        Ok(())
    }

    /// Clamp learnable temperatures after an optimiser step.
    pub fn clamp_(&self) {
        self.objective.clamp_();
    }

    fn text_features<S: AsRef<str>>(&self, texts: &[S], train: bool) -> Result<Tensor> {
        let device = self.device();
        Ok(match &self.text {
            TextTower::Frozen(enc, cache) if self.cfg.text.cache => {
                cache.borrow_mut().embed(enc, texts)?
            }
            TextTower::Frozen(enc, _) => enc.embed_texts(texts, texts.len())?,
            TextTower::Tuned(m) => {
                let tb = self
                    .tokenizer
                    .encode_batch(texts, self.cfg.text.max_len, device)?;
                m.embed(&tb.ids, &tb.attention_mask, train)?
            }
            TextTower::Small(m) => {
                let max = self.cfg.text.max_len.min(m.config().max_len as usize);
                let tb = self.tokenizer.encode_batch(texts, max, device)?;
                m.embed(&tb.ids, &tb.attention_mask, train)?
            }
            TextTower::Custom(m) => {
                let max = m
                    .max_len()
                    .map_or(self.cfg.text.max_len, |l| l.min(self.cfg.text.max_len));
                let tb = self.tokenizer.encode_batch(texts, max, device)?;
                m.forward_t(&tb.ids, &tb.attention_mask, train)?
            }
        })
    }

    /// The loss of one batch.
    pub fn loss(&self, batch: &Batch, train: bool) -> Result<LossOutput> {
        let out = if train && !self.cfg.pair_augment.is_empty() {
            let x = augment(&batch.x, &self.cfg.pair_augment, batch.seed ^ PAIR_SALT)?;
            self.sensor.encode(&x, None, train)?
        } else {
            self.sensor.encode(&batch.x, None, train)?
        };
        let s = self.sensor_proj.forward(&out.pooled);
        let t = if self.cfg.objective.needs_text() {
            Some(
                self.text_proj
                    .forward(&self.text_features(&batch.texts, train)?),
            )
        } else {
            None
        };
        let views = match &self.view_proj {
            Some(head) => {
                let mut e = Vec::with_capacity(2);
                for k in 0..2u64 {
                    let v = augment(&batch.x, &self.cfg.augment, batch.seed.wrapping_add(k))?;
                    e.push(head.forward(&self.sensor.encode(&v, None, train)?.pooled));
                }
                Some(e)
            }
            None => None,
        };
        let (logits, targets) = match &self.decoder {
            Some(d) => {
                let max = d.config().max_len as usize;
                let mut tb = self
                    .tokenizer
                    .encode_batch(&batch.texts, max, self.device())?;
                if let Some(map) = &self.decoder_map {
                    tb.ids = map.to_decoder(&tb.ids);
                }
                let (inp, tgt) = d.teacher_forcing(&tb)?;
                let logits = d.forward_t(&inp, &out.tokens, Some(&out.token_mask), train)?;
                (Some(logits), Some(tgt))
            }
            None => (None, None),
        };
        Ok(self.objective.loss(&ObjectiveInputs {
            sensor: Some(&s),
            text: t.as_ref(),
            labels: batch.labels.as_ref(),
            views: views.as_ref().map(|v| (&v[0], &v[1])),
            caption_logits: logits.as_ref(),
            caption_targets: targets.as_ref(),
            reconstruction: None,
        })?)
    }

    /// L2-normalised sensor embeddings `[N, E]` of windows `[N, T, C]`
    /// (evaluation mode, no gradients), in batches of `batch`.
    pub fn embed_windows(&self, x: &Tensor, batch: usize) -> Result<Tensor> {
        let f = self.sensor_features(x, batch)?;
        Ok(tch::no_grad(|| normalize(&self.project_sensor(&f))).to_device(Device::Cpu))
    }

    /// L2-normalised text embeddings `[N, E]` (no gradients).
    pub fn embed_texts<S: AsRef<str>>(&self, texts: &[S], batch: usize) -> Result<Tensor> {
        let f = self.text_tower_features(texts, batch)?;
        Ok(tch::no_grad(|| normalize(&self.project_text(&f))).to_device(Device::Cpu))
    }

    /// Captions for windows `[N, T, C]` from the decoder (an error when the
    /// model has none).
    pub fn caption(&self, x: &Tensor, opts: &DecodeOptions, batch: usize) -> Result<Vec<String>> {
        let d = self.decoder.as_ref().ok_or_else(|| {
            ModelError::config("objective", "this model has no captioning decoder (β = 0)")
        })?;
        let (_, mut bos, mut eos) = self.tokenizer.special_ids();
        if let Some(map) = &self.decoder_map {
            bos = map.decoder_id(bos)?;
            eos = map.decoder_id(eos)?;
        }
        let n = x.size()[0];
        let mut out = Vec::with_capacity(n as usize);
        let mut i = 0;
        while i < n {
            let len = (batch.max(1) as i64).min(n - i);
            let xb = x.narrow(0, i, len).to_device(self.device());
            let enc = tch::no_grad(|| self.sensor.encode(&xb, None, false))?;
            for ids in d.generate(&enc.tokens, Some(&enc.token_mask), bos, eos, opts)? {
                let ids = match &self.decoder_map {
                    Some(map) => map.to_wordpiece(&ids),
                    None => ids,
                };
                out.push(self.tokenizer.decode(&ids));
            }
            i += len;
        }
        Ok(out)
    }

    /// Pooled sensor-encoder features `[N, D]` of windows `[N, T, C]`
    /// before the projection head (evaluation mode, no gradients, CPU), in
    /// batches of `batch`: the input of linear probes and of few-shot
    /// adaptation of the projection heads.
    pub fn sensor_features(&self, x: &Tensor, batch: usize) -> Result<Tensor> {
        batched_rows(x.size()[0], batch, "windows", |i, len| {
            let xb = x.narrow(0, i, len).to_device(self.device());
            Ok(tch::no_grad(|| self.sensor.encode(&xb, None, false))?.pooled)
        })
    }

    /// Text-tower features `[N, D]` before the projection head (evaluation
    /// mode, no gradients, CPU).
    pub fn text_tower_features<S: AsRef<str>>(&self, texts: &[S], batch: usize) -> Result<Tensor> {
        batched_rows(texts.len() as i64, batch, "texts", |i, len| {
            let chunk = &texts[i as usize..(i + len) as usize];
            tch::no_grad(|| self.text_features(chunk, false))
        })
    }

    /// Sensor features `[B, D]` of windows `x` `[B, T, C]` with gradients
    /// (dropout on when `train`), on the model's device: what
    /// [`Self::sensor_features`] computes without them.
    pub fn encode_sensor(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let xb = x.to_device(self.device());
        Ok(self.sensor.encode(&xb, None, train)?.pooled)
    }

    /// The sensor projection head applied to [`Self::sensor_features`]
    /// (with gradients; not normalised).
    pub fn project_sensor(&self, features: &Tensor) -> Tensor {
        self.sensor_proj.forward(&features.to_device(self.device()))
    }

    /// The text projection head applied to [`Self::text_tower_features`]
    /// (with gradients; not normalised).
    pub fn project_text(&self, features: &Tensor) -> Tensor {
        self.text_proj.forward(&features.to_device(self.device()))
    }

    /// Names of the projection heads' variables (`sensor_proj.*`,
    /// `text_proj.*`), the part NLS adapts in few-shot learning.
    pub fn projection_variables(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .vs
            .variables()
            .into_keys()
            .filter(|n| n.starts_with("sensor_proj.") || n.starts_with("text_proj."))
            .collect();
        names.sort();
        names
    }

    /// The contrastive logit scale `exp(logit_scale)` of the objective
    /// (the variable whose name ends in `logit_scale`; training keeps it
    /// clamped), when the objective has one.
    pub fn logit_scale(&self) -> Option<f64> {
        let vars = self.vs.variables();
        let mut names: Vec<&String> = vars.keys().filter(|n| n.ends_with("logit_scale")).collect();
        names.sort();
        let v = vars.get(*names.first()?)?;
        Some(v.exp().double_value(&[]))
    }

    /// Parameter count of the trainable variables.
    pub fn num_parameters(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }
}

/// Where `minilm_dir` comes from when not given: `$WEARLANG_MINILM`, the
/// config's `text.model_dir`, or `target/models/all-MiniLM-L6-v2` under the
/// current directory.
pub fn resolve_minilm_dir(cfg: &SensorLanguageConfig, explicit: Option<&Path>) -> PathBuf {
    let explicit = explicit.or(cfg.text.model_dir.as_deref());
    wearlang_encoders::text::default_model_dir(explicit, Path::new("."))
}

/// The decoder's compact vocabulary: WordPiece ids ↔ decoder ids.
struct DecoderVocab {
    tokens: Vec<i64>,
    to_decoder: Tensor,
}

impl DecoderVocab {
    fn new(tokens: &[i64], vocab_size: i64, device: Device) -> Result<Self> {
        let unk = tokens
            .binary_search(&UNK_ID)
            .map_err(|_| ModelError::Data("decoder vocabulary lacks [UNK]".into()))?;
        let mut map = vec![unk as i64; vocab_size as usize];
        for (i, &t) in tokens.iter().enumerate() {
            if t < 0 || t >= vocab_size {
                return Err(ModelError::Data(format!(
                    "decoder token {t} outside the vocabulary (0..{vocab_size})"
                )));
            }
            map[t as usize] = i as i64;
        }
        Ok(DecoderVocab {
            tokens: tokens.to_vec(),
            to_decoder: Tensor::from_slice(&map).to_device(device),
        })
    }

    /// WordPiece ids `[B, L]` → decoder ids (unknown pieces → `[UNK]`).
    fn to_decoder(&self, ids: &Tensor) -> Tensor {
        self.to_decoder
            .index_select(0, &ids.flatten(0, -1))
            .reshape(ids.size())
    }

    fn decoder_id(&self, wordpiece: i64) -> Result<i64> {
        self.tokens
            .binary_search(&wordpiece)
            .map(|i| i as i64)
            .map_err(|_| {
                ModelError::Data(format!("token {wordpiece} not in the decoder vocabulary"))
            })
    }

    fn to_wordpiece(&self, ids: &[i64]) -> Vec<i64> {
        ids.iter()
            .map(|&i| self.tokens.get(i as usize).copied().unwrap_or(UNK_ID))
            .collect()
    }
}

/// `[UNK]` in the BERT uncased vocabulary.
const UNK_ID: i64 = 100;

/// The sorted WordPiece ids of `texts` plus `[PAD]`, `[UNK]`, `[CLS]`,
/// `[SEP]`: the output vocabulary of a decoder that only writes such texts.
pub fn corpus_tokens(
    tokenizer: &WordPieceTokenizer,
    texts: &[String],
    max_len: usize,
) -> Result<Vec<i64>> {
    let (pad, cls, sep) = tokenizer.special_ids();
    let mut set = std::collections::BTreeSet::from([pad, UNK_ID, cls, sep]);
    for t in texts {
        set.extend(tokenizer.encode(t, max_len));
    }
    Ok(set.into_iter().collect())
}

/// Rows `[n, D]` on the CPU computed `batch` at a time by `f(start, len)`
/// (each `[len, D]`), written straight into the result: no small tensors
/// kept between the batches' large freed temporaries (which pins the
/// allocator's memory: a run's resident size grew by ~440 MB scoring 17,630
/// windows that way), no concatenation at the end. An error when `n` is 0,
/// naming `what`.
fn batched_rows(
    n: i64,
    batch: usize,
    what: &str,
    mut f: impl FnMut(i64, i64) -> Result<Tensor>,
) -> Result<Tensor> {
    if n <= 0 {
        return Err(ModelError::Data(format!("no {what} to embed")));
    }
    let step = batch.max(1) as i64;
    let mut len = step.min(n);
    let mut rows = f(0, len)?;
    let (_, d) = rows.size2()?;
    let out = Tensor::f_empty([n, d], (rows.kind(), Device::Cpu))?;
    let mut i = 0;
    loop {
        // `f` gives `[len, d]` (copy_ refuses rows that do not fit).
        tch::no_grad(|| out.f_narrow(0, i, len)?.f_copy_(&rows))?;
        i += len;
        if i >= n {
            return Ok(out);
        }
        len = step.min(n - i);
        rows = f(i, len)?;
    }
}
