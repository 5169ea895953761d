//! The imputation protocol (LSM-2): hide a share of the observed values of
//! held-out windows (whole patches, random or in temporal blocks), let the
//! pretrained masked autoencoder reconstruct them, and compare the MSE on
//! exactly those values with two baselines: the per-channel mean of the
//! window's visible values and linear interpolation along time.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};
use wearlang_encoders::MaskedAutoencoder;
use wearlang_masking::{
    artificial_masks, InheritedMask, MaskStrategy, RandomMask, TemporalBlockMask,
};

use crate::fill::{fill_channel_mean, interpolate_linear};
use crate::{EvalError, Result};

/// How values are hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HideKind {
    /// Random patches.
    Random,
    /// Blocks of consecutive patch rows in time (all channels of a row).
    TemporalBlock,
}

impl HideKind {
    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            HideKind::Random => "random",
            HideKind::TemporalBlock => "temporal_block",
        }
    }
}

/// Protocol settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImputationConfig {
    /// Shares of the observed patches to hide.
    pub ratios: Vec<f32>,
    /// Hiding patterns.
    pub kinds: Vec<HideKind>,
    /// Patch rows per temporal block (0: a tenth of the grid's time rows).
    pub block_len: usize,
    /// Windows per forward pass.
    pub batch_size: usize,
    /// Seed of the hidden patches.
    pub seed: u64,
}

impl Default for ImputationConfig {
    fn default() -> Self {
        ImputationConfig {
            ratios: vec![0.1, 0.3, 0.5, 0.8],
            kinds: vec![HideKind::Random, HideKind::TemporalBlock],
            block_len: 0,
            batch_size: 128,
            seed: 17,
        }
    }
}

/// One cell of the imputation table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImputationRow {
    /// Hiding pattern.
    pub kind: HideKind,
    /// Share of observed patches hidden.
    pub ratio: f32,
    /// Observed values hidden (the MSE's denominator).
    pub hidden_values: usize,
    /// MSE of the pretrained model's reconstruction.
    pub mse_model: f64,
    /// MSE of the per-channel mean of the visible values.
    pub mse_mean: f64,
    /// MSE of linear interpolation along time.
    pub mse_linear: f64,
}

/// Run the protocol on `x` (`[N, T, C]`, normalised, NaN = missing).
pub fn evaluate_imputation(
    model: &MaskedAutoencoder,
    x: &Tensor,
    cfg: &ImputationConfig,
) -> Result<Vec<ImputationRow>> {
    let size = x.size();
    if size.len() != 3 || size[0] == 0 {
        return Err(EvalError::Data(format!(
            "imputation: expected a non-empty [N, T, C] tensor, got {size:?}"
        )));
    }
    if cfg.batch_size == 0 {
        return Err(EvalError::param("batch_size", "must be at least 1"));
    }
    let enc = &model.config().encoder;
    let spec = model.encoder().patch_spec();
    let grid = model.encoder().grid();
    let inherited_rule = InheritedMask::new(enc.min_missing_fraction)?;
    let device = model.device();
    let channels = size[2] as usize;
    let fallback = vec![0.0f32; channels]; // normalised units: the training mean
    let mut rows = Vec::new();
    for &kind in &cfg.kinds {
        for &ratio in &cfg.ratios {
            let strategy: Box<dyn MaskStrategy> = match kind {
                HideKind::Random => Box::new(RandomMask::new(ratio)?),
                HideKind::TemporalBlock => {
                    let len = if cfg.block_len > 0 {
                        cfg.block_len
                    } else {
                        (grid.time / 10).max(1)
                    };
                    Box::new(TemporalBlockMask::new(ratio, len)?)
                }
            };
            let (mut se_model, mut se_mean, mut se_lin, mut count) =
                (0.0f64, 0.0f64, 0.0f64, 0usize);
            for (b, start) in (0..size[0]).step_by(cfg.batch_size).enumerate() {
                let len = (size[0] - start).min(cfg.batch_size as i64);
                let xb = x.narrow(0, start, len).to_device(device);
                let inherited = inherited_rule.from_tensor(&spec, &xb)?;
                let hide = artificial_masks(
                    strategy.as_ref(),
                    &inherited,
                    grid,
                    cfg.seed ^ ((b as u64) << 20) ^ ((ratio * 1000.0) as u64),
                )?;
                let hide_values = spec.token_mask_to_values(&hide, grid)?;
                let observed = xb.isfinite();
                let target = hide_values.logical_and(&observed);
                let x_hidden = xb.where_self(
                    &hide_values.logical_not(),
                    &Tensor::from(f32::NAN).to_device(device),
                );
                let recon = tch::no_grad(|| model.reconstruct(&x_hidden, &hide))?;
                // Baselines, window by window on the CPU.
                let hidden_cpu =
                    Vec::<f32>::try_from(x_hidden.to_device(Device::Cpu).flatten(0, -1))?;
                let per = (size[1] * size[2]) as usize;
                let mut mean_fill = Vec::with_capacity(hidden_cpu.len());
                let mut lin_fill = Vec::with_capacity(hidden_cpu.len());
                for w in hidden_cpu.chunks(per) {
                    mean_fill.extend(fill_channel_mean(w, channels, &fallback));
                    lin_fill.extend(interpolate_linear(w, channels, &fallback));
                }
                let shape = [len, size[1], size[2]];
                let mean_t = Tensor::from_slice(&mean_fill)
                    .reshape(shape)
                    .to_device(device);
                let lin_t = Tensor::from_slice(&lin_fill)
                    .reshape(shape)
                    .to_device(device);
                let truth = xb.nan_to_num(0.0, None, None);
                let sse = |pred: &Tensor| -> f64 {
                    (pred - &truth)
                        .square()
                        .masked_select(&target)
                        .sum(Kind::Double)
                        .double_value(&[])
                };
                se_model += sse(&recon);
                se_mean += sse(&mean_t);
                se_lin += sse(&lin_t);
                count += target.sum(Kind::Int64).int64_value(&[]) as usize;
            }
            if count == 0 {
                return Err(EvalError::Data(format!(
                    "imputation: nothing hidden at ratio {ratio} ({}); too few observed patches",
                    kind.as_str()
                )));
            }
            let c = count as f64;
            rows.push(ImputationRow {
                kind,
                ratio,
                hidden_values: count,
                mse_model: se_model / c,
                mse_mean: se_mean / c,
                mse_linear: se_lin / c,
            });
        }
    }
    Ok(rows)
}
