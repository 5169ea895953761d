//! A linear probe: multinomial logistic regression on frozen embeddings,
//! features standardised with the training statistics, trained full-batch
//! with Adam (seeded).

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::{EvalError, Result};

/// Probe settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeConfig {
    /// Full-batch optimisation steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// L2 penalty on the weights (added to the loss).
    pub l2: f64,
    /// Seed of the initialisation.
    pub seed: u64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            steps: 300,
            lr: 0.05,
            l2: 1e-4,
            seed: 0,
        }
    }
}

/// A trained linear probe.
pub struct LinearProbe {
    _vs: nn::VarStore,
    linear: nn::Linear,
    mean: Tensor,
    std: Tensor,
}

impl LinearProbe {
    /// Fit on `x` (`[N, D]` float) with labels `y` (`[N]` int64 in
    /// `0..n_classes`).
    pub fn fit(x: &Tensor, y: &Tensor, n_classes: usize, cfg: &ProbeConfig) -> Result<Self> {
        let size = x.size();
        if size.len() != 2 || size[0] == 0 {
            return Err(EvalError::Data(format!(
                "linear probe: features must be a non-empty [N, D] matrix, got {size:?}"
            )));
        }
        if y.size() != [size[0]] {
            return Err(EvalError::Data(format!(
                "linear probe: {} labels for {} feature rows",
                y.size().first().copied().unwrap_or(0),
                size[0]
            )));
        }
        if n_classes < 2 {
            return Err(EvalError::param(
                "n_classes",
                "a probe needs at least 2 classes",
            ));
        }
        let x = x.to_kind(Kind::Float).to_device(Device::Cpu);
        if !bool::try_from(x.isfinite().all())? {
            return Err(EvalError::Data(
                "linear probe: features contain NaN/Inf".into(),
            ));
        }
        let y = y.to_kind(Kind::Int64).to_device(Device::Cpu);
        let max = y.max().int64_value(&[]);
        let min = y.min().int64_value(&[]);
        if min < 0 || max >= n_classes as i64 {
            return Err(EvalError::Data(format!(
                "linear probe: label {} outside 0..{n_classes}",
                if min < 0 { min } else { max }
            )));
        }
        let mean = x.mean_dim(0, true, Kind::Float);
        let std = x.std_dim(0, false, true).clamp_min(1e-6);
        let xs = (&x - &mean) / &std;
        let _rng = wearlang_device::lock_rng();
        tch::manual_seed(cfg.seed as i64);
        let vs = nn::VarStore::new(Device::Cpu);
        let linear = nn::linear(vs.root(), size[1], n_classes as i64, Default::default());
        let mut opt = nn::Adam::default().build(&vs, cfg.lr)?;
        for _ in 0..cfg.steps {
            let logits = linear.forward(&xs);
            let loss =
                logits.cross_entropy_for_logits(&y) + linear.ws.square().sum(Kind::Float) * cfg.l2;
            opt.backward_step(&loss);
        }
        Ok(LinearProbe {
            _vs: vs,
            linear,
            mean,
            std,
        })
    }

    /// Logits `[N, K]` for features `[N, D]`.
    pub fn logits(&self, x: &Tensor) -> Result<Tensor> {
        let d = self.mean.size()[1];
        if x.dim() != 2 || x.size()[1] != d {
            return Err(EvalError::Data(format!(
                "linear probe: expected [N, {d}] features, got {:?}",
                x.size()
            )));
        }
        let x = x.to_kind(Kind::Float).to_device(Device::Cpu);
        Ok(tch::no_grad(|| {
            self.linear.forward(&((&x - &self.mean) / &self.std))
        }))
    }

    /// Predicted class per row.
    pub fn predict(&self, x: &Tensor) -> Result<Vec<usize>> {
        let p = self.logits(x)?.argmax(1, false);
        Ok(Vec::<i64>::try_from(&p)?
            .into_iter()
            .map(|v| v as usize)
            .collect())
    }
}
