//! The supervised reference of the NLS paper: the same 1-D conv encoder as
//! the sensor tower, with a linear classifier on its pooled features. It is
//! trained end to end by `wearlang-train` (`fit_supervised`); missing
//! values are masked by the encoder, never imputed.

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Tensor};
use wearlang_encoders::{ConvEncoder, ConvEncoderConfig, SensorEncoder};

use wearlang_optim::{OptimConfig, ScheduleConfig};

use crate::{ModelError, Result};

/// Settings of the supervised conv classifier (serde; the `[supervised]`
/// table of an evaluation config).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisedConfig {
    /// Seed of initialisation and batch order.
    pub seed: u64,
    /// Optimisation steps.
    pub steps: u64,
    /// Windows per step.
    pub batch_size: usize,
    /// Dropout of the conv encoder.
    pub dropout: f64,
    /// Weight the loss by inverse class frequency.
    pub balanced: bool,
    /// AdamW.
    pub optim: OptimConfig,
    /// Learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// `cpu`, `cuda`, `cuda:N` or `auto`.
    pub device: String,
}

impl Default for SupervisedConfig {
    fn default() -> Self {
        SupervisedConfig {
            seed: 0,
            steps: 600,
            batch_size: 64,
            dropout: 0.1,
            balanced: true,
            optim: OptimConfig {
                lr: 2e-3,
                ..OptimConfig::default()
            },
            schedule: ScheduleConfig::default(),
            device: "cpu".into(),
        }
    }
}

/// The conv classifier.
pub struct SupervisedClassifier {
    vs: nn::VarStore,
    encoder: ConvEncoder,
    head: nn::Linear,
    device: Device,
    /// Mean training loss of the last tenth of the steps (NaN before training).
    pub final_loss: f64,
}

impl std::fmt::Debug for SupervisedClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisedClassifier")
            .field("final_loss", &self.final_loss)
            .finish()
    }
}

impl SupervisedClassifier {
    /// A freshly initialised classifier (encoder `encoder`, head `head`
    /// under `vs`) for windows of `steps × channels` and `n_classes`
    /// classes; `vs` must be seeded by the caller.
    pub fn new(
        vs: nn::VarStore,
        steps: usize,
        channels: usize,
        n_classes: usize,
        cfg: &SupervisedConfig,
    ) -> Result<Self> {
        if n_classes < 2 {
            return Err(ModelError::config(
                "supervised",
                "a classifier needs at least 2 classes",
            ));
        }
        let enc_cfg = ConvEncoderConfig {
            dropout: cfg.dropout,
            ..ConvEncoderConfig::nls(steps, channels)
        };
        let encoder = ConvEncoder::new(vs.root() / "encoder", &enc_cfg)?;
        let head = nn::linear(
            vs.root() / "head",
            encoder.dim(),
            n_classes as i64,
            Default::default(),
        );
        let device = vs.device();
        Ok(SupervisedClassifier {
            vs,
            encoder,
            head,
            device,
            final_loss: f64::NAN,
        })
    }

    /// Its variables (for an optimiser).
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Class logits `[N, K]` of windows `x` `[N, T, C]` (on the model's
    /// device); `train` enables dropout.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let out = self.encoder.encode(x, None, train)?;
        Ok(self.head.forward(&out.pooled))
    }

    /// The device it lives on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// Predicted class per window of `x` `[N, T, C]` (evaluation mode).
    pub fn predict(&self, x: &Tensor, batch: usize) -> Result<Vec<usize>> {
        let n = x.size()[0];
        let mut out = Vec::with_capacity(n as usize);
        let mut i = 0;
        while i < n {
            let len = (batch.max(1) as i64).min(n - i);
            let xb = x.narrow(0, i, len).to_device(self.device);
            let p = tch::no_grad(|| -> Result<Tensor> {
                let e = self.encoder.encode(&xb, None, false)?;
                Ok(self.head.forward(&e.pooled).argmax(-1, false))
            })?;
            out.extend(Vec::<i64>::try_from(&p)?.into_iter().map(|v| v as usize));
            i += len;
        }
        Ok(out)
    }
}
