//! The patch Transformer (ViT-1D over time × channel patches), the encoder
//! of LSM-1/LSM-2 and SensorLM, with AIM: tokens of missing patches are
//! hidden by the attention mask, never imputed.

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Tensor};
use wearlang_masking::{AimBatch, Grid, InheritedMask, PatchSpec};

use crate::layers::{linear, BlockConfig, Transformer};
use crate::pooling::{Pool, Pooling};
use crate::posenc::sincos_2d;
use crate::relpos::RelativeBias;
use crate::sensor::{missing_mask, SensorEncoder, SensorOutput};
use crate::{EncoderError, Result};

/// Position embeddings of the patch grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Positions {
    /// Fixed 2-D sine-cosine over (time row, channel column).
    SinCos,
    /// A learned `pos_embed` `[1, N, D]`.
    Learned,
}

/// Configuration of a [`PatchTransformer`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchTransformerConfig {
    /// Time steps per window.
    pub steps: usize,
    /// Channels per window.
    pub channels: usize,
    /// Time steps per patch.
    pub patch_time: usize,
    /// Channels per patch.
    pub patch_channel: usize,
    /// Width.
    pub dim: i64,
    /// Blocks.
    pub depth: i64,
    /// Attention heads.
    pub heads: i64,
    /// MLP width as a multiple of `dim`.
    pub mlp_ratio: f64,
    /// Dropout in training.
    pub dropout: f64,
    /// Position embeddings.
    pub positions: Positions,
    /// Pooling of the window embedding.
    pub pooling: Pooling,
    /// A patch counts as missing (inherited mask) when at least this share of
    /// its values is missing (1.0: only fully missing patches).
    pub min_missing_fraction: f32,
    /// Add a learned relative position bias per block and head
    /// ([`RelativeBias`], variables `rel_bias.{i}`) to the attention logits.
    #[serde(default)]
    pub relative_bias: bool,
}

impl PatchTransformerConfig {
    /// A preset for windows of `steps × channels` cut into
    /// `patch_time × patch_channel` patches: `tiny` (64 wide, 2 blocks,
    /// 4 heads), `small` (128, 4, 4) or `base` (256, 8, 8); MLP ratio 4, no
    /// dropout, sin-cos positions, MAP pooling. These are smaller than the
    /// papers' ViT-S/B on purpose: they train on 2 CPU cores.
    pub fn preset(
        name: &str,
        steps: usize,
        channels: usize,
        patch_time: usize,
        patch_channel: usize,
    ) -> Result<Self> {
        let (dim, depth, heads) = match name {
            "tiny" => (64, 2, 4),
            "small" => (128, 4, 4),
            "base" => (256, 8, 8),
            other => {
                return Err(EncoderError::config(
                    "preset",
                    format!("unknown preset `{other}` (tiny, small, base)"),
                ))
            }
        };
        let cfg = PatchTransformerConfig {
            steps,
            channels,
            patch_time,
            patch_channel,
            dim,
            depth,
            heads,
            mlp_ratio: 4.0,
            dropout: 0.0,
            positions: Positions::SinCos,
            pooling: Pooling::Map,
            min_missing_fraction: 1.0,
            relative_bias: false,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// The patching.
    pub fn patch_spec(&self) -> Result<PatchSpec> {
        Ok(PatchSpec::new(self.patch_time, self.patch_channel)?)
    }

    /// The patch grid of a window.
    pub fn grid(&self) -> Result<Grid> {
        Ok(self.patch_spec()?.grid(self.steps, self.channels)?)
    }

    /// The block settings.
    pub fn block(&self) -> BlockConfig {
        BlockConfig {
            dim: self.dim,
            heads: self.heads,
            mlp_ratio: self.mlp_ratio,
            dropout: self.dropout,
            cross_attention: false,
            causal: false,
        }
    }

    /// Check every field (and that the window divides into patches).
    pub fn validate(&self) -> Result<()> {
        self.grid()?;
        self.block().validate()?;
        if self.depth < 1 {
            return Err(EncoderError::config("depth", "must be at least 1"));
        }
        if self.positions == Positions::SinCos && self.dim % 4 != 0 {
            return Err(EncoderError::config(
                "dim",
                "sin-cos positions need a width divisible by 4",
            ));
        }
        if !(self.min_missing_fraction > 0.0 && self.min_missing_fraction <= 1.0) {
            return Err(EncoderError::config(
                "min_missing_fraction",
                "must be in (0, 1]",
            ));
        }
        Ok(())
    }
}

/// ViT-1D over time × channel patches. Variables: `patch_embed`,
/// `pos_embed` (learned positions only), `blocks.{i}.*`, `norm`, `pool.*`,
/// `rel_bias.{i}` (with `relative_bias`).
#[derive(Debug)]
pub struct PatchTransformer {
    cfg: PatchTransformerConfig,
    spec: PatchSpec,
    grid: Grid,
    inherited: InheritedMask,
    patch_embed: nn::Linear,
    pos: Tensor,
    transformer: Transformer,
    rel_bias: Option<RelativeBias>,
    pool: Pool,
    device: Device,
}

impl PatchTransformer {
    /// Build under `p`.
    pub fn new(p: nn::Path, cfg: &PatchTransformerConfig) -> Result<Self> {
        cfg.validate()?;
        let spec = cfg.patch_spec()?;
        let grid = cfg.grid()?;
        let n = grid.len() as i64;
        let pos = match cfg.positions {
            Positions::SinCos => {
                sincos_2d(grid.time, grid.channel, cfg.dim, p.device())?.unsqueeze(0)
            }
            Positions::Learned => p.var(
                "pos_embed",
                &[1, n, cfg.dim],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            ),
        };
        Ok(PatchTransformer {
            spec,
            grid,
            inherited: InheritedMask::new(cfg.min_missing_fraction)?,
            patch_embed: linear(&p / "patch_embed", spec.dim() as i64, cfg.dim),
            pos,
            transformer: Transformer::new(p.clone(), cfg.depth, &cfg.block())?,
            rel_bias: RelativeBias::when(
                cfg.relative_bias,
                &p / "rel_bias",
                cfg.depth,
                cfg.heads,
                grid,
            )?,
            pool: Pool::new(&p / "pool", cfg.pooling, cfg.dim, cfg.heads)?,
            device: p.device(),
            cfg: cfg.clone(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PatchTransformerConfig {
        &self.cfg
    }

    /// The patching.
    pub fn patch_spec(&self) -> PatchSpec {
        self.spec
    }

    /// The patch grid.
    pub fn grid(&self) -> Grid {
        self.grid
    }

    /// The device of the parameters.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Patches `[B, N, P]` (NaN where missing) and the inherited token mask
    /// `[B, N]` (`true` = missing patch) of windows `[B, T, C]`.
    pub fn patchify(&self, x: &Tensor, missing: Option<&Tensor>) -> Result<(Tensor, Tensor)> {
        let m = missing_mask(x, missing, self.cfg.steps, self.cfg.channels)?;
        let inherited = self.inherited.from_tensor(&self.spec, &m)?;
        let nan = Tensor::from(f32::NAN)
            .to_kind(x.kind())
            .to_device(x.device());
        let values = x.f_where_self(&m.logical_not(), &nan)?;
        Ok((self.spec.patchify_tensor(&values)?, inherited))
    }

    /// Embedded tokens (+ positions) of zero-filled patches `[B, N, P]`.
    fn embed(&self, patches: &Tensor) -> Tensor {
        self.patch_embed
            .forward(&patches.nan_to_num(0.0, Some(0.0), Some(0.0)))
            + &self.pos
    }

    /// The AIM / MAE path: embed all patches (`[B, N, P]`, NaN allowed),
    /// keep `aim.keep_idx`, and run the blocks with `aim.attn_mask` as the
    /// key mask. Returns `[B, k, D]`.
    pub fn encode_kept(&self, patches: &Tensor, aim: &AimBatch, train: bool) -> Result<Tensor> {
        let size = patches.size();
        let want = [self.grid.len() as i64, self.spec.dim() as i64];
        if size.len() != 3 || size[1..] != want {
            return Err(EncoderError::Shape(format!(
                "patches must be [B, {}, {}], got {size:?}",
                want[0], want[1]
            )));
        }
        let kept = aim.gather_kept(&self.embed(patches))?;
        let biases = match &self.rel_bias {
            Some(rb) => Some(rb.kept(&aim.keep_idx)?),
            None => None,
        };
        Ok(self.transformer.forward_biased(
            &kept,
            Some(&aim.attn_mask),
            None,
            biases.as_deref(),
            train,
        ))
    }

    /// Pool tokens `[B, N, D]` with validity `[B, N]`.
    pub fn pool(&self, tokens: &Tensor, valid: &Tensor) -> Tensor {
        self.pool.forward(tokens, valid)
    }
}

impl SensorEncoder for PatchTransformer {
    /// Every patch is a token; patches that are missing (inherited mask) are
    /// hidden from attention and from pooling, and their (zero-filled)
    /// values never reach another token.
    fn encode(&self, x: &Tensor, missing: Option<&Tensor>, train: bool) -> Result<SensorOutput> {
        let (patches, inherited) = self.patchify(x, missing)?;
        let valid = inherited.logical_not();
        let h = self.embed(&patches);
        let biases = self.rel_bias.as_ref().map(RelativeBias::full);
        let tokens =
            self.transformer
                .forward_biased(&h, Some(&valid), None, biases.as_deref(), train);
        let pooled = self.pool(&tokens, &valid);
        Ok(SensorOutput {
            tokens,
            token_mask: valid,
            pooled,
        })
    }

    fn dim(&self) -> i64 {
        self.cfg.dim
    }

    fn window_shape(&self) -> (usize, usize) {
        (self.cfg.steps, self.cfg.channels)
    }
}
