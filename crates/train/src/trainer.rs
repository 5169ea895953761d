//! [`DefaultTrainer`]: this crate's loops behind `wearlang_models::Trainer`.

use wearlang_models::{
    Result, SensorLanguageConfig, SensorLanguageOptions, SensorLanguageSummary,
    SupervisedClassifier, SupervisedConfig, Trainer, WindowSet,
};

/// The training loops of this crate, for evaluation protocols that retrain
/// (unseen activities) or fit the supervised baseline.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultTrainer;

impl Trainer for DefaultTrainer {
    fn train_sensor_language(
        &self,
        cfg: &SensorLanguageConfig,
        opts: &SensorLanguageOptions,
    ) -> Result<SensorLanguageSummary> {
        crate::train_sensor_language(cfg, opts)
    }

    fn fit_supervised(
        &self,
        train: &WindowSet,
        n_classes: usize,
        cfg: &SupervisedConfig,
    ) -> Result<SupervisedClassifier> {
        crate::fit_supervised(train, n_classes, cfg)
    }
}
