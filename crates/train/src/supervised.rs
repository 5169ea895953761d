//! The supervised reference of the NLS paper: the same 1-D conv encoder as
//! the sensor tower, with a linear classifier on its pooled features,
//! trained end to end with cross-entropy on the labelled training windows.
//!
//! Seeded (it holds the torch generator lock for the whole fit), AdamW with
//! warmup + cosine, gradient clipping; missing values are masked by the
//! encoder as in sensor-language training, never imputed.

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Kind, Tensor};
use wearlang_encoders::{ConvEncoder, ConvEncoderConfig, SensorEncoder};

use crate::data::{epoch_order, WindowSet};
use crate::{AdamW, OptimConfig, Result, ScheduleConfig, TrainError};

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

/// A trained conv classifier.
pub struct SupervisedClassifier {
    _vs: nn::VarStore,
    encoder: ConvEncoder,
    head: nn::Linear,
    device: Device,
    /// Mean training loss of the last tenth of the steps.
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
    /// Train on every labelled window of `train` (unlabelled ones are
    /// skipped) for the `n_classes` classes of the store's vocabulary.
    pub fn fit(train: &WindowSet, n_classes: usize, cfg: &SupervisedConfig) -> Result<Self> {
        cfg.optim.validate()?;
        cfg.schedule.validate()?;
        if cfg.steps == 0 || cfg.batch_size == 0 {
            return Err(TrainError::config(
                "supervised.steps / batch_size",
                "must be at least 1",
            ));
        }
        if n_classes < 2 {
            return Err(TrainError::config(
                "supervised",
                "a classifier needs at least 2 classes",
            ));
        }
        let labelled: Vec<usize> = (0..train.len())
            .filter(|&i| train.labels[i].is_some())
            .collect();
        if labelled.is_empty() {
            return Err(TrainError::Data(
                "supervised baseline: no labelled training window".into(),
            ));
        }
        if let Some(&i) = labelled
            .iter()
            .find(|&&i| train.labels[i].is_some_and(|l| l >= n_classes))
        {
            return Err(TrainError::Data(format!(
                "supervised baseline: window {i} has label index {:?}, outside 0..{n_classes}",
                train.labels[i]
            )));
        }
        let device = crate::pretrain::parse_device(&cfg.device)?;
        let mut counts = vec![0f64; n_classes];
        for &i in &labelled {
            counts[train.labels[i].unwrap_or(0)] += 1.0;
        }
        let weights: Vec<f32> = counts
            .iter()
            .map(|&c| {
                if cfg.balanced && c > 0.0 {
                    (labelled.len() as f64 / (n_classes as f64 * c)) as f32
                } else {
                    1.0
                }
            })
            .collect();
        let weights = Tensor::from_slice(&weights).to_device(device);

        let _rng = wearlang_device::lock_rng();
        tch::manual_seed(cfg.seed as i64);
        let vs = nn::VarStore::new(device);
        let enc_cfg = ConvEncoderConfig {
            dropout: cfg.dropout,
            ..ConvEncoderConfig::nls(train.steps(), train.channels())
        };
        let encoder = ConvEncoder::new(vs.root() / "encoder", &enc_cfg)?;
        let head = nn::linear(
            vs.root() / "head",
            encoder.dim(),
            n_classes as i64,
            Default::default(),
        );
        let mut opt = AdamW::new(&vs, cfg.optim.clone())?;
        let bs = cfg.batch_size.min(labelled.len());
        let per_epoch = (labelled.len() / bs).max(1) as u64;
        let mut tail = Vec::new();
        for step in 0..cfg.steps {
            let epoch = step / per_epoch;
            let k = (step % per_epoch) as usize;
            let order = epoch_order(labelled.len(), cfg.seed, epoch);
            let idx: Vec<usize> = order[k * bs..(k + 1) * bs]
                .iter()
                .map(|&j| labelled[j])
                .collect();
            let x = train.batch(&idx, device)?;
            let y = train.label_batch(&idx, device)?;
            let out = encoder.encode(&x, None, true)?;
            let logits = head.forward(&out.pooled);
            let loss = logits.log_softmax(-1, Kind::Float).nll_loss_nd::<&Tensor>(
                &y,
                Some(&weights),
                tch::Reduction::Mean,
                -100,
            );
            let v = loss.double_value(&[]);
            if !v.is_finite() {
                return Err(TrainError::Data(format!(
                    "supervised baseline: loss is {v} at step {step}"
                )));
            }
            opt.zero_grad();
            loss.backward();
            opt.step(cfg.schedule.lr(cfg.optim.lr, step, cfg.steps))?;
            if step >= cfg.steps - (cfg.steps / 10).max(1) {
                tail.push(v);
            }
        }
        Ok(SupervisedClassifier {
            _vs: vs,
            encoder,
            head,
            device,
            final_loss: tail.iter().sum::<f64>() / tail.len().max(1) as f64,
        })
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
