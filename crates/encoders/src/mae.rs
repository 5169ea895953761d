//! The masked autoencoder of LSM-1/LSM-2: the patch Transformer encodes the
//! kept tokens (AIM selection), a light decoder fills every dropped or
//! masked slot with a learnable mask token and reconstructs every patch.

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Kind, Tensor};
use wearlang_masking::{
    aim_select, artificial_masks, interpolate_time, keep_count, masked_mse, AimBatch, Grid,
    MaskConfig, MaskStrategy,
};

use crate::layers::{linear, BlockConfig, Transformer};
use crate::posenc::sincos_2d;
use crate::relpos::RelativeBias;
use crate::vit::{PatchTransformer, PatchTransformerConfig};
use crate::{EncoderError, Result};

/// Configuration of the [`MaeDecoder`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaeDecoderConfig {
    /// Width (a multiple of 4 for the sin-cos positions).
    pub dim: i64,
    /// Blocks.
    pub depth: i64,
    /// Heads.
    pub heads: i64,
    /// MLP ratio.
    pub mlp_ratio: f64,
    /// A learned relative position bias per block and head (variables
    /// `rel_bias.{i}`; see [`RelativeBias`]).
    pub relative_bias: bool,
    /// Predict the residual over linear interpolation of the visible values
    /// along time ([`interpolate_time`]): the reconstruction is that
    /// interpolation plus the decoder's output.
    pub interpolation_prior: bool,
}

impl Default for MaeDecoderConfig {
    fn default() -> Self {
        MaeDecoderConfig {
            dim: 64,
            depth: 2,
            heads: 4,
            mlp_ratio: 4.0,
            relative_bias: false,
            interpolation_prior: false,
        }
    }
}

/// The MAE decoder. Variables `embed`, `mask_token`, `blocks.{i}.*`,
/// `norm`, `head`, `rel_bias.{i}` (with `relative_bias`).
#[derive(Debug)]
pub struct MaeDecoder {
    embed: nn::Linear,
    mask_token: Tensor,
    pos: Tensor,
    transformer: Transformer,
    rel_bias: Option<RelativeBias>,
    head: nn::Linear,
}

impl MaeDecoder {
    /// Build under `p` for encoder width `enc_dim`, patches of `patch_dim`
    /// values on `grid`.
    pub fn new(
        p: nn::Path,
        enc_dim: i64,
        patch_dim: i64,
        grid: Grid,
        cfg: &MaeDecoderConfig,
    ) -> Result<Self> {
        if cfg.dim % 4 != 0 {
            return Err(EncoderError::config(
                "decoder.dim",
                "must be divisible by 4",
            ));
        }
        let block = BlockConfig {
            dim: cfg.dim,
            heads: cfg.heads,
            mlp_ratio: cfg.mlp_ratio,
            dropout: 0.0,
            cross_attention: false,
            causal: false,
        };
        Ok(MaeDecoder {
            embed: linear(&p / "embed", enc_dim, cfg.dim),
            mask_token: p.var(
                "mask_token",
                &[cfg.dim],
                nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
            ),
            pos: sincos_2d(grid.time, grid.channel, cfg.dim, p.device())?.unsqueeze(0),
            transformer: Transformer::new(p.clone(), cfg.depth, &block)?,
            rel_bias: RelativeBias::when(
                cfg.relative_bias,
                &p / "rel_bias",
                cfg.depth,
                cfg.heads,
                grid,
            )?,
            head: linear(&p / "head", cfg.dim, patch_dim),
        })
    }

    /// Reconstruct every patch `[B, N, P]` from the encoded kept tokens
    /// `[B, k, De]` of `aim`.
    pub fn forward_t(&self, encoded_kept: &Tensor, aim: &AimBatch, train: bool) -> Result<Tensor> {
        let h = self.embed.forward(encoded_kept);
        let full = aim.restore(&h, &self.mask_token)? + &self.pos;
        let biases = self.rel_bias.as_ref().map(RelativeBias::full);
        let h = self
            .transformer
            .forward_biased(&full, None, None, biases.as_deref(), train);
        Ok(self.head.forward(&h))
    }
}

/// Configuration of a [`MaskedAutoencoder`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskedAutoencoderConfig {
    /// The encoder.
    pub encoder: PatchTransformerConfig,
    /// The decoder.
    #[serde(default)]
    pub decoder: MaeDecoderConfig,
    /// The artificial masking strategy.
    #[serde(default)]
    pub mask: MaskConfig,
    /// Keep every token in the encoder (masked ones hidden by attention)
    /// instead of [`keep_count`] at the mask's mean ratio.
    #[serde(default)]
    pub keep_all_tokens: bool,
}

/// One forward pass of the masked autoencoder.
#[derive(Debug)]
pub struct MaeOutput {
    /// Reconstructed patches `[B, N, P]`.
    pub pred: Tensor,
    /// The input patches `[B, N, P]` (NaN where missing).
    pub target: Tensor,
    /// `[B, N]` bool: tokens the loss counts (artificially masked and not
    /// inherited-missing).
    pub target_mask: Tensor,
    /// The token selection.
    pub aim: AimBatch,
}

/// Encoder (`encoder.*`) + decoder (`decoder.*`) + masking strategy.
pub struct MaskedAutoencoder {
    cfg: MaskedAutoencoderConfig,
    encoder: PatchTransformer,
    decoder: MaeDecoder,
    strategy: Box<dyn MaskStrategy>,
    keep: usize,
}

impl std::fmt::Debug for MaskedAutoencoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaskedAutoencoder")
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl MaskedAutoencoder {
    /// Build under `p`.
    pub fn new(p: nn::Path, cfg: &MaskedAutoencoderConfig) -> Result<Self> {
        let encoder = PatchTransformer::new(&p / "encoder", &cfg.encoder)?;
        let grid = encoder.grid();
        let decoder = MaeDecoder::new(
            &p / "decoder",
            cfg.encoder.dim,
            encoder.patch_spec().dim() as i64,
            grid,
            &cfg.decoder,
        )?;
        let strategy = cfg.mask.build()?;
        // Keep as many tokens as the strategy leaves unmasked on complete
        // data (for a mixture: at its mean ratio); with real gaps, masked
        // tokens fill the rest and are hidden by attention.
        let keep = if cfg.keep_all_tokens {
            grid.len()
        } else {
            keep_count(grid.len(), cfg.mask.ratio()?)?
        };
        Ok(MaskedAutoencoder {
            cfg: cfg.clone(),
            encoder,
            decoder,
            strategy,
            keep,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MaskedAutoencoderConfig {
        &self.cfg
    }

    /// The encoder (to embed windows after pretraining).
    pub fn encoder(&self) -> &PatchTransformer {
        &self.encoder
    }

    /// Tokens kept per sample.
    pub fn keep(&self) -> usize {
        self.keep
    }

    /// The device of the parameters.
    pub fn device(&self) -> Device {
        self.encoder.device()
    }

    /// Mask (seeded), select, encode, decode. `x` `[B, T, C]`, NaN = missing.
    pub fn forward_t(&self, x: &Tensor, seed: u64, train: bool) -> Result<MaeOutput> {
        let (patches, inherited) = self.encoder.patchify(x, None)?;
        let artificial = artificial_masks(
            self.strategy.as_ref(),
            &inherited,
            self.encoder.grid(),
            seed,
        )?;
        let aim = aim_select(&inherited, &artificial, self.keep, seed)?;
        let encoded = self.encoder.encode_kept(&patches, &aim, train)?;
        let pred = self.decoder.forward_t(&encoded, &aim, train)?;
        let pred = self.add_prior(pred, x, &aim.total_mask)?;
        Ok(MaeOutput {
            pred,
            target: patches,
            target_mask: aim.target_mask.shallow_clone(),
            aim,
        })
    }

    /// With `decoder.interpolation_prior`, add to the decoder's patches
    /// `pred` the linear interpolation along time of the values of `x`
    /// outside the masked tokens `masked` `[B, N]` (missing values of `x`
    /// are NaN already); otherwise `pred` as it is.
    fn add_prior(&self, pred: Tensor, x: &Tensor, masked: &Tensor) -> Result<Tensor> {
        if !self.cfg.decoder.interpolation_prior {
            return Ok(pred);
        }
        let spec = self.encoder.patch_spec();
        let grid = self.encoder.grid();
        let hidden = spec.token_mask_to_values(masked, grid)?;
        let nan = Tensor::from(f32::NAN)
            .to_kind(x.kind())
            .to_device(x.device());
        let visible = x.f_where_self(&hidden.logical_not(), &nan)?;
        let prior = spec.patchify_tensor(&interpolate_time(&visible)?)?;
        Ok(pred + prior.to_kind(Kind::Float))
    }

    /// The masked MSE of `out`, with optional per-channel weights (one per
    /// window channel).
    pub fn loss(&self, out: &MaeOutput, channel_weights: Option<&[f32]>) -> Result<Tensor> {
        let w = match channel_weights {
            Some(cw) => {
                let spec = self.encoder.patch_spec();
                let grid = self.encoder.grid();
                let v = spec.token_weights(grid, cw)?;
                Some(
                    Tensor::from_slice(&v)
                        .reshape([grid.len() as i64, spec.dim() as i64])
                        .to_device(out.pred.device()),
                )
            }
            None => None,
        };
        Ok(masked_mse(
            &out.pred,
            &out.target,
            &out.target_mask,
            w.as_ref(),
        )?)
    }

    /// Reconstruct windows `[B, T, C]` with `hide` `[B, N]` (bool) tokens
    /// hidden in addition to the missing ones: every token is kept, hidden
    /// and missing ones are masked by attention and filled by the decoder.
    /// Returns `[B, T, C]`: observed, visible values as given, every other
    /// value from the reconstruction.
    pub fn reconstruct(&self, x: &Tensor, hide: &Tensor) -> Result<Tensor> {
        let (patches, inherited) = self.encoder.patchify(x, None)?;
        if hide.size() != inherited.size() {
            return Err(EncoderError::Shape(format!(
                "hide must be [B, N] = {:?}, got {:?}",
                inherited.size(),
                hide.size()
            )));
        }
        let hide = hide
            .to_kind(Kind::Bool)
            .logical_and(&inherited.logical_not());
        let n = self.encoder.grid().len();
        let aim = aim_select(&inherited, &hide, n, 0)?;
        let encoded = self.encoder.encode_kept(&patches, &aim, false)?;
        let pred = self.decoder.forward_t(&encoded, &aim, false)?;
        let pred = self.add_prior(pred, x, &aim.total_mask)?;
        let spec = self.encoder.patch_spec();
        let grid = self.encoder.grid();
        let recon = spec.unpatchify_tensor(&pred, grid)?;
        let visible = x.isfinite();
        let hidden_values = spec.token_mask_to_values(&hide, grid)?;
        let keep_input = visible.logical_and(&hidden_values.logical_not());
        Ok(x.nan_to_num(0.0, None, None)
            .where_self(&keep_input, &recon))
    }
}
