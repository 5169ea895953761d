//! A linear probe: multinomial logistic regression on frozen embeddings,
//! features standardised with the training statistics, trained full-batch
//! with Adam (seeded initialisation) on the training engine in memory
//! ([`wearlang_engine::run`]; AdamW without weight decay and without
//! clipping, the L2 penalty in the loss, a constant learning rate).

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Kind, Tensor};
use wearlang_engine::{BatchSource, LoopConfig, Step, StepLoss};
use wearlang_models::TrainState;
use wearlang_optim::{AdamW, OptimConfig};

use crate::select::rows;
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
        let mut opt = AdamW::new(&vs, adam(cfg.lr))?;
        let items = size[0] as usize;
        let loop_cfg = LoopConfig::full_batch(items, cfg.steps as u64, cfg.lr, cfg.seed);
        let state = TrainState {
            total_steps: loop_cfg.total_steps,
            ..TrainState::default()
        };
        let source = FullBatch(vec![xs, y]);
        let mut step = ProbeStep {
            linear: &linear,
            l2: cfg.l2,
        };
        wearlang_engine::run(&loop_cfg, source, &mut step, &vs, &mut opt, state, &())?;
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

/// Adam as the small fits of evaluation use it: PyTorch's defaults
/// (β = (0.9, 0.999), ε = 1e-8), no weight decay, no gradient clipping.
pub(crate) fn adam(lr: f64) -> OptimConfig {
    OptimConfig {
        lr,
        weight_decay: 0.0,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        clip_grad_norm: None,
        no_decay: Vec::new(),
        lr_scale: Vec::new(),
    }
}

/// Tensors whose rows are the items of a full-batch fit: each batch holds
/// the rows asked for in ascending index order, so that a batch of every
/// item is the tensors as given, whatever the engine's shuffle.
pub(crate) struct FullBatch(pub(crate) Vec<Tensor>);

impl BatchSource for FullBatch {
    type Batch = Vec<Tensor>;
    type Error = EvalError;
    fn batch(&self, idx: &[usize], _epoch: u64) -> Result<Vec<Tensor>> {
        let mut sorted = idx.to_vec();
        sorted.sort_unstable();
        Ok(self
            .0
            .iter()
            .map(|t| {
                let all = t.size().first() == Some(&(sorted.len() as i64))
                    && sorted.iter().enumerate().all(|(i, &j)| i == j);
                if all {
                    t.shallow_clone()
                } else {
                    rows(t, &sorted)
                }
            })
            .collect())
    }
}

/// One step of the probe: cross-entropy plus the L2 penalty on the weights.
struct ProbeStep<'a> {
    linear: &'a nn::Linear,
    l2: f64,
}

impl Step<Vec<Tensor>> for ProbeStep<'_> {
    type Error = EvalError;
    fn loss(&mut self, _step: u64, batch: Vec<Tensor>) -> Result<StepLoss> {
        let [xs, y] = <[Tensor; 2]>::try_from(batch)
            .map_err(|_| EvalError::Data("linear probe: a batch is (features, labels)".into()))?;
        let logits = self.linear.forward(&xs);
        let total = logits.cross_entropy_for_logits(&y)
            + self.linear.ws.square().sum(Kind::Float) * self.l2;
        Ok(StepLoss {
            total,
            terms: Vec::new(),
        })
    }
}
