//! Training the supervised reference of the NLS paper
//! ([`SupervisedClassifier`]: conv encoder + linear classifier) end to end
//! with (optionally class-balanced) cross-entropy on the labelled windows.
//!
//! Runs on the training engine in memory (no run directory): seeded (it
//! holds the torch generator lock for the whole fit), AdamW with warmup +
//! cosine, gradient clipping, batches prepared on the prefetch thread.

use tch::{nn, Device, Kind, Tensor};
use wearlang_models::{SupervisedClassifier, SupervisedConfig, TrainState, WindowSet};
use wearlang_optim::AdamW;

use crate::engine::{self, BatchSource, LoopConfig, Step, StepLoss};
use crate::{Result, TrainError};

/// Train a [`SupervisedClassifier`] on every labelled window of `train`
/// (unlabelled ones are skipped) for the `n_classes` classes of the store's
/// vocabulary.
pub fn fit_supervised(
    train: &WindowSet,
    n_classes: usize,
    cfg: &SupervisedConfig,
) -> Result<SupervisedClassifier> {
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
    let device = wearlang_device::parse_device(&cfg.device)?;
    let weights = class_weights(
        labelled.iter().map(|&i| train.labels[i].unwrap_or(0)),
        n_classes,
        cfg.balanced,
    );
    let weights = Tensor::from_slice(&weights).to_device(device);

    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(cfg.seed as i64);
    let mut clf = SupervisedClassifier::new(
        nn::VarStore::new(device),
        train.steps(),
        train.channels(),
        n_classes,
        cfg,
    )?;
    let mut opt = AdamW::new(clf.var_store(), cfg.optim.clone())?;
    let loop_cfg = LoopConfig {
        seed: cfg.seed,
        items: labelled.len(),
        batch_size: cfg.batch_size.min(labelled.len()),
        total_steps: cfg.steps,
        // The final loss is the mean of the last tenth of the steps.
        log_every: (cfg.steps / 10).max(1),
        checkpoint_every: cfg.steps,
        lr: cfg.optim.lr,
        schedule: cfg.schedule.clone(),
        out: None,
        progress: false,
        stop_after: None,
    };
    let state = TrainState {
        total_steps: cfg.steps,
        ..TrainState::default()
    };
    // The labelled windows, copied: the prefetch thread owns its data.
    let source = Labelled {
        set: train.select(&labelled)?,
        device,
    };
    let mut step = ClassifierStep { clf: &clf, weights };
    let outcome = engine::run(
        &loop_cfg,
        source,
        &mut step,
        clf.var_store(),
        &mut opt,
        state,
        &(),
    )?;
    clf.final_loss = outcome.final_loss;
    Ok(clf)
}

/// Labelled windows, batched with their class indices on the engine's
/// prefetch thread.
pub(crate) struct Labelled {
    pub(crate) set: WindowSet,
    pub(crate) device: Device,
}

impl BatchSource for Labelled {
    type Batch = (Tensor, Tensor);
    type Error = TrainError;
    fn batch(&self, idx: &[usize], _epoch: u64) -> Result<(Tensor, Tensor)> {
        Ok((
            self.set.batch(idx, self.device)?,
            self.set.label_batch(idx, self.device)?,
        ))
    }
}

/// Class-weighted cross-entropy of the classifier's logits.
struct ClassifierStep<'a> {
    clf: &'a SupervisedClassifier,
    weights: Tensor,
}

impl Step<(Tensor, Tensor)> for ClassifierStep<'_> {
    type Error = TrainError;
    fn loss(&mut self, _step: u64, (x, y): (Tensor, Tensor)) -> Result<StepLoss> {
        let logits = self.clf.forward_t(&x, true)?;
        Ok(StepLoss {
            total: weighted_cross_entropy(&logits, &y, &self.weights),
            terms: Vec::new(),
        })
    }
}

/// Per-class loss weights for `labels` (class indices below `n_classes`):
/// inverse class frequency `n / (n_classes · count)` when `balanced`, else 1.
pub(crate) fn class_weights(
    labels: impl Iterator<Item = usize>,
    n_classes: usize,
    balanced: bool,
) -> Vec<f32> {
    let mut counts = vec![0f64; n_classes];
    let mut n = 0usize;
    for l in labels {
        counts[l] += 1.0;
        n += 1;
    }
    counts
        .iter()
        .map(|&c| {
            if balanced && c > 0.0 {
                (n as f64 / (n_classes as f64 * c)) as f32
            } else {
                1.0
            }
        })
        .collect()
}

/// Mean cross-entropy of `logits` `[B, K]` against class indices `y`, each
/// term weighted by its class's entry of `weights` `[K]`.
pub(crate) fn weighted_cross_entropy(logits: &Tensor, y: &Tensor, weights: &Tensor) -> Tensor {
    logits.log_softmax(-1, Kind::Float).nll_loss_nd::<&Tensor>(
        y,
        Some(weights),
        tch::Reduction::Mean,
        -100,
    )
}
