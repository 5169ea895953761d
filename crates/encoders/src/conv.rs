//! The 1-D convolutional encoder of the NLS paper (Haresamudram et al.):
//! three convolution blocks over time (kernels 24, 16, 8; widths 32, 64, 96;
//! ReLU, dropout) and global max pooling.

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Kind, Tensor};

use crate::pooling::{Pool, Pooling};
use crate::sensor::{missing_mask, SensorEncoder, SensorOutput};
use crate::{EncoderError, Result};

/// Configuration of a [`ConvEncoder`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvEncoderConfig {
    /// Time steps per window.
    pub steps: usize,
    /// Channels per window.
    pub channels: usize,
    /// Output channels of each convolution.
    pub widths: Vec<i64>,
    /// Kernel size of each convolution.
    pub kernels: Vec<i64>,
    /// Dropout after each block in training.
    pub dropout: f64,
    /// Pooling over time ([`Pooling::Max`] in the paper).
    pub pooling: Pooling,
}

impl ConvEncoderConfig {
    /// The NLS architecture for windows of `steps × channels`.
    pub fn nls(steps: usize, channels: usize) -> Self {
        ConvEncoderConfig {
            steps,
            channels,
            widths: vec![32, 64, 96],
            kernels: vec![24, 16, 8],
            dropout: 0.1,
            pooling: Pooling::Max,
        }
    }

    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        if self.steps == 0 || self.channels == 0 {
            return Err(EncoderError::config(
                "steps",
                "windows need at least one step and channel",
            ));
        }
        if self.widths.is_empty() || self.widths.len() != self.kernels.len() {
            return Err(EncoderError::config(
                "kernels",
                format!(
                    "{} widths but {} kernels",
                    self.widths.len(),
                    self.kernels.len()
                ),
            ));
        }
        if let Some(w) = self.widths.iter().find(|&&w| w <= 0) {
            return Err(EncoderError::config(
                "widths",
                format!("must be positive, got {w}"),
            ));
        }
        if let Some(k) = self.kernels.iter().find(|&&k| k <= 0) {
            return Err(EncoderError::config(
                "kernels",
                format!("must be positive, got {k}"),
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(EncoderError::config("dropout", "must be in [0, 1)"));
        }
        if self.pooling == Pooling::Map && self.widths.last().copied().unwrap_or(1) % 4 != 0 {
            return Err(EncoderError::config(
                "pooling",
                "MAP pooling needs a last width divisible by 4",
            ));
        }
        Ok(())
    }
}

/// The NLS 1-D conv encoder. Variables `convs.{i}.weight/bias`, `pool.*`.
///
/// Missing values enter the convolutions as zeros (a convolution mixes
/// neighbouring steps, so a gap does influence the features of observed
/// steps next to it); a time step whose channels are all missing is not a
/// valid token and is left out of the pooling.
#[derive(Debug)]
pub struct ConvEncoder {
    cfg: ConvEncoderConfig,
    convs: Vec<nn::Conv1D>,
    pool: Pool,
    device: Device,
}

impl ConvEncoder {
    /// Build under `p`.
    pub fn new(p: nn::Path, cfg: &ConvEncoderConfig) -> Result<Self> {
        cfg.validate()?;
        let cp = &p / "convs";
        let mut inp = cfg.channels as i64;
        let mut convs = Vec::new();
        for (i, (&w, &k)) in cfg.widths.iter().zip(&cfg.kernels).enumerate() {
            convs.push(nn::conv1d(&cp / i, inp, w, k, Default::default()));
            inp = w;
        }
        Ok(ConvEncoder {
            pool: Pool::new(&p / "pool", cfg.pooling, inp, 4)?,
            cfg: cfg.clone(),
            convs,
            device: p.device(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ConvEncoderConfig {
        &self.cfg
    }

    /// The device of the parameters.
    pub fn device(&self) -> Device {
        self.device
    }
}

impl SensorEncoder for ConvEncoder {
    fn encode(&self, x: &Tensor, missing: Option<&Tensor>, train: bool) -> Result<SensorOutput> {
        let m = missing_mask(x, missing, self.cfg.steps, self.cfg.channels)?;
        let zero = Tensor::from(0.0f32).to_kind(x.kind()).to_device(x.device());
        let mut h = x.f_where_self(&m.logical_not(), &zero)?.transpose(1, 2); // [B, C, T]
        for (conv, &k) in self.convs.iter().zip(&self.cfg.kernels) {
            // "same" padding, also for even kernels: (k-1)/2 left, k/2 right.
            let padded = h.constant_pad_nd([(k - 1) / 2, k / 2]);
            h = conv
                .forward(&padded)
                .relu()
                .dropout(self.cfg.dropout, train);
        }
        let tokens = h.transpose(1, 2).contiguous(); // [B, T, D]
        let valid = m.all_dim(2, false).logical_not();
        let pooled = self.pool.forward(&tokens, &valid);
        Ok(SensorOutput {
            tokens,
            token_mask: valid.to_kind(Kind::Bool),
            pooled,
        })
    }

    fn dim(&self) -> i64 {
        self.cfg.widths.last().copied().unwrap_or(0)
    }

    fn window_shape(&self) -> (usize, usize) {
        (self.cfg.steps, self.cfg.channels)
    }
}
