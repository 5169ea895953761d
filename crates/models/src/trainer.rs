//! [`Trainer`]: the training that evaluation protocols need (the
//! unseen-activities protocol retrains a run without some classes; the
//! supervised baseline fits a classifier), as a trait, so that evaluation
//! depends on models and not on the crate that trains. `wearlang-train`
//! implements it (`wearlang_train::DefaultTrainer`); a fork may pass its own.

use crate::sensor_language::{SensorLanguageConfig, SensorLanguageOptions, SensorLanguageSummary};
use crate::{Result, SupervisedClassifier, SupervisedConfig, WindowSet};

/// Training services for evaluation protocols.
pub trait Trainer {
    /// Train (or resume) a sensor-language run as configured; the checkpoint
    /// is written under `opts.out`.
    fn train_sensor_language(
        &self,
        cfg: &SensorLanguageConfig,
        opts: &SensorLanguageOptions,
    ) -> Result<SensorLanguageSummary>;

    /// Fit the supervised conv classifier on the labelled windows of
    /// `train`, for `n_classes` classes.
    fn fit_supervised(
        &self,
        train: &WindowSet,
        n_classes: usize,
        cfg: &SupervisedConfig,
    ) -> Result<SupervisedClassifier>;
}
