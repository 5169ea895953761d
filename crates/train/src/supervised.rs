//! Training the supervised reference of the NLS paper
//! ([`SupervisedClassifier`]: conv encoder + linear classifier) end to end
//! with (optionally class-balanced) cross-entropy on the labelled windows.
//!
//! Seeded (it holds the torch generator lock for the whole fit), AdamW with
//! warmup + cosine, gradient clipping.

use tch::{nn, Kind, Tensor};
use wearlang_models::{epoch_order, SupervisedClassifier, SupervisedConfig, WindowSet};
use wearlang_optim::AdamW;

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
    let mut clf = SupervisedClassifier::new(
        nn::VarStore::new(device),
        train.steps(),
        train.channels(),
        n_classes,
        cfg,
    )?;
    let mut opt = AdamW::new(clf.var_store(), cfg.optim.clone())?;
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
        let logits = clf.forward_t(&x, true)?;
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
    clf.final_loss = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
    Ok(clf)
}
