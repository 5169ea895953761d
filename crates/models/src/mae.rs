//! The masked autoencoder (LSM-2 pretraining): its run configuration
//! ([`PretrainConfig`], the TOML of `wearlang pretrain`), what its
//! checkpoint records, and [`load_mae`], which rebuilds it from a
//! checkpoint. The training loop lives in `wearlang-train`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{nn, Device};
use wearlang_encoders::{
    MaeDecoderConfig, MaskedAutoencoder, MaskedAutoencoderConfig, PatchTransformerConfig, Pooling,
    Positions,
};
use wearlang_masking::MaskConfig;
use wearlang_optim::{OptimConfig, ScheduleConfig};

use crate::checkpoint::{self, CONFIG_FILE};
use crate::{ModelError, Result};

/// The sensor encoder of a config file: a preset plus patch sizes and
/// optional overrides; the window shape comes from the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncoderSpec {
    /// `tiny`, `small` or `base`.
    pub preset: String,
    /// Time steps per patch.
    pub patch_time: usize,
    /// Channels per patch.
    pub patch_channel: usize,
    /// Override the preset's width.
    pub dim: Option<i64>,
    /// Override the preset's depth.
    pub depth: Option<i64>,
    /// Override the preset's number of heads.
    pub heads: Option<i64>,
    /// Override the position embedding.
    pub positions: Option<Positions>,
    /// Override the pooling.
    pub pooling: Option<Pooling>,
    /// Override the inherited-mask threshold.
    pub min_missing_fraction: Option<f32>,
    /// Learned relative position biases in the attention (default off).
    pub relative_bias: Option<bool>,
}

impl Default for EncoderSpec {
    fn default() -> Self {
        EncoderSpec {
            preset: "small".into(),
            patch_time: 10,
            patch_channel: 1,
            dim: None,
            depth: None,
            heads: None,
            positions: None,
            pooling: None,
            min_missing_fraction: None,
            relative_bias: None,
        }
    }
}

impl EncoderSpec {
    /// The full encoder config for windows of `steps × channels`.
    pub fn resolve(&self, steps: usize, channels: usize) -> Result<PatchTransformerConfig> {
        let mut cfg = PatchTransformerConfig::preset(
            &self.preset,
            steps,
            channels,
            self.patch_time,
            self.patch_channel,
        )?;
        if let Some(v) = self.dim {
            cfg.dim = v;
        }
        if let Some(v) = self.depth {
            cfg.depth = v;
        }
        if let Some(v) = self.heads {
            cfg.heads = v;
        }
        if let Some(v) = self.positions {
            cfg.positions = v;
        }
        if let Some(v) = self.pooling {
            cfg.pooling = v;
        }
        if let Some(v) = self.min_missing_fraction {
            cfg.min_missing_fraction = v;
        }
        if let Some(v) = self.relative_bias {
            cfg.relative_bias = v;
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

/// A pretraining run (the TOML file given to `wearlang pretrain --config`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PretrainConfig {
    /// Seed of everything random (init, order, masks, dropout).
    pub seed: u64,
    /// Windows per step.
    pub batch_size: usize,
    /// Passes over the training split (ignored when `max_steps > 0`).
    pub epochs: usize,
    /// Stop after this many steps (0: `epochs` decides).
    pub max_steps: u64,
    /// Write a checkpoint every this many steps (and always at the end).
    pub checkpoint_every: u64,
    /// Log a metrics line every this many steps.
    pub log_every: u64,
    /// `cpu`, `cuda`, `cuda:N` or `auto`.
    pub device: String,
    /// Intra-op threads (0: libtorch's default).
    pub threads: usize,
    /// Optional per-channel loss weights (one per store channel).
    pub channel_weights: Option<Vec<f32>>,
    /// The encoder.
    pub encoder: EncoderSpec,
    /// The MAE decoder.
    pub decoder: MaeDecoderConfig,
    /// The artificial masking strategy.
    pub mask: MaskConfig,
    /// Keep every token in the encoder and hide the masked ones by
    /// attention (the encoder sees as many visible tokens as the mask
    /// leaves, as at imputation time), instead of a fixed number set by the
    /// mask's mean ratio.
    pub keep_all_tokens: bool,
    /// AdamW.
    pub optim: OptimConfig,
    /// Learning-rate schedule.
    pub schedule: ScheduleConfig,
}

impl Default for PretrainConfig {
    fn default() -> Self {
        PretrainConfig {
            seed: 0,
            batch_size: 64,
            epochs: 5,
            max_steps: 0,
            checkpoint_every: 200,
            log_every: 10,
            device: "cpu".into(),
            threads: 0,
            channel_weights: None,
            encoder: EncoderSpec::default(),
            decoder: MaeDecoderConfig::default(),
            mask: MaskConfig::default(),
            keep_all_tokens: false,
            optim: OptimConfig::default(),
            schedule: ScheduleConfig::default(),
        }
    }
}

impl PretrainConfig {
    /// Parse a TOML file; errors name the file and the offending field.
    pub fn from_file(path: &Path) -> Result<Self> {
        let cfg: PretrainConfig = crate::read_toml(path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check everything that does not depend on the data.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(ModelError::config("batch_size", "must be at least 1"));
        }
        if self.epochs == 0 && self.max_steps == 0 {
            return Err(ModelError::config(
                "epochs",
                "epochs and max_steps are both 0",
            ));
        }
        if self.log_every == 0 || self.checkpoint_every == 0 {
            return Err(ModelError::config(
                "log_every / checkpoint_every",
                "must be at least 1",
            ));
        }
        self.mask.build()?;
        self.optim.validate()?;
        Ok(self.schedule.validate()?)
    }

    /// The model config for windows of `steps × channels`.
    pub fn model_config(&self, steps: usize, channels: usize) -> Result<MaskedAutoencoderConfig> {
        if let Some(w) = &self.channel_weights {
            if w.len() != channels {
                return Err(ModelError::config(
                    "channel_weights",
                    format!("has {} entries, the store has {channels} channels", w.len()),
                ));
            }
        }
        Ok(MaskedAutoencoderConfig {
            encoder: self.encoder.resolve(steps, channels)?,
            decoder: self.decoder.clone(),
            mask: self.mask.clone(),
            keep_all_tokens: self.keep_all_tokens,
        })
    }
}

/// What a pretraining checkpoint's `config.json` holds: the run's config,
/// the resolved model config and the store it was trained on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PretrainCheckpointConfig {
    /// Always `"mae"`.
    pub kind: String,
    /// The run's configuration.
    pub run: PretrainConfig,
    /// The model, as built.
    pub model: MaskedAutoencoderConfig,
    /// The store's channel names, in order.
    pub channels: Vec<String>,
    /// The store file.
    pub store: PathBuf,
    /// Further stores pretrained on with it (their training splits, mapped
    /// onto `store`'s channels); empty for one store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_stores: Vec<PathBuf>,
}

/// A masked autoencoder rebuilt from a pretraining checkpoint directory.
pub struct LoadedMae {
    /// Its variables.
    pub vs: nn::VarStore,
    /// The model.
    pub model: MaskedAutoencoder,
    /// The checkpoint's configuration.
    pub config: PretrainCheckpointConfig,
}

/// A lower bound of the values a masked autoencoder of `m` allocates: the
/// Transformer blocks' weights (4·d² attention, 2·r·d² MLP) and the
/// positional table (tokens × d) of the encoder and the decoder.
fn values_implied(m: &MaskedAutoencoderConfig) -> f64 {
    let e = &m.encoder;
    let block = |d: i64, depth: i64, r: f64| {
        let d = d.max(0) as f64;
        depth.max(0) as f64 * d * d * (4.0 + 2.0 * r.max(0.0))
    };
    let tokens = (e.steps as f64 / e.patch_time.max(1) as f64)
        * (e.channels as f64 / e.patch_channel.max(1) as f64);
    block(e.dim, e.depth, e.mlp_ratio)
        + block(m.decoder.dim, m.decoder.depth, m.decoder.mlp_ratio)
        + tokens * (e.dim.max(0) + m.decoder.dim.max(0)) as f64
}

/// Refuse, before allocating anything, a `config.json` with a non-positive
/// size or that describes a model far larger than the weights beside it (a corrupt or edited config
/// would otherwise make libtorch try to allocate it and abort).
fn check_size_against_weights(ckpt: &Path, model: &MaskedAutoencoderConfig) -> Result<()> {
    let (e, d) = (&model.encoder, &model.decoder);
    let positive = [
        ("model.encoder.dim", e.dim),
        ("model.encoder.depth", e.depth),
        ("model.encoder.heads", e.heads),
        ("model.encoder.steps", e.steps as i64),
        ("model.encoder.channels", e.channels as i64),
        ("model.encoder.patch_time", e.patch_time as i64),
        ("model.encoder.patch_channel", e.patch_channel as i64),
        ("model.decoder.dim", d.dim),
        ("model.decoder.heads", d.heads),
    ];
    for (field, v) in positive {
        if v <= 0 {
            return Err(ModelError::checkpoint(
                ckpt,
                format!("config.json: {field} is {v}, must be positive"),
            ));
        }
    }
    for (field, r) in [
        ("model.encoder.mlp_ratio", e.mlp_ratio),
        ("model.decoder.mlp_ratio", d.mlp_ratio),
    ] {
        if !(r.is_finite() && r > 0.0) {
            return Err(ModelError::checkpoint(
                ckpt,
                format!("config.json: {field} is {r}, must be positive"),
            ));
        }
    }
    let weights = ckpt.join(checkpoint::MODEL_FILE);
    let stored = std::fs::metadata(&weights)
        .map_err(|e| ModelError::io(&weights, e))?
        .len() as f64
        / 4.0;
    let implied = values_implied(model);
    if !implied.is_finite() || implied > 2.0 * stored + 1e6 {
        return Err(ModelError::checkpoint(
            ckpt,
            format!(
                "config.json describes a model of at least {implied:.3e} values, but {} holds \
                 {stored:.3e}: the configuration does not belong to these weights",
                weights.display()
            ),
        ));
    }
    Ok(())
}

/// Load the model of a pretraining checkpoint (`dir` is the run directory or
/// the checkpoint directory itself).
pub fn load_mae(dir: &Path, device: Device) -> Result<LoadedMae> {
    let ckpt = checkpoint::checkpoint_of(dir)
        .ok_or_else(|| ModelError::checkpoint(dir, "no checkpoint in this directory"))?;
    let config: PretrainCheckpointConfig = checkpoint::read_json(&ckpt, CONFIG_FILE)?;
    if config.kind != "mae" {
        return Err(ModelError::checkpoint(
            &ckpt,
            format!("kind is `{}`, expected `mae`", config.kind),
        ));
    }
    // Building the layers draws their initial values from torch's global
    // generator; hold it so that a seeded run elsewhere in the process is
    // not disturbed (the values are overwritten below).
    let _rng = wearlang_device::lock_rng();
    check_size_against_weights(&ckpt, &config.model)?;
    let mut vs = nn::VarStore::new(device);
    let model = MaskedAutoencoder::new(vs.root(), &config.model)?;
    checkpoint::load_model(&ckpt, &mut vs)?;
    Ok(LoadedMae { vs, model, config })
}
