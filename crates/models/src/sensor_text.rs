//! [`SensorTextModel`]: what the sensor-language evaluation protocols need
//! of a model, as a trait, so that a fork's own model (not a
//! [`SensorLanguageModel`]) runs the built-in protocols through
//! `wearlang_evaluation::EvalContext`.
//!
//! The core is an embedding of windows and of texts into one shared space
//! (zero-shot, retrieval) and frozen sensor features (linear probe). The
//! rest are capabilities a model may lack, each with a default that says
//! so; the protocol that needs one is then skipped with the reason:
//!
//! - [`ProjectionHeads`] ([`SensorTextModel::heads`]): trainable projection
//!   heads over frozen features, which few-shot adaptation updates;
//! - [`WindowCaptioner`] ([`SensorTextModel::captioner`]): captions of
//!   windows (the captioning protocol);
//! - [`SensorTextModel::sensor_language_config`]: the run configuration the
//!   unseen-activities protocol retrains without some classes.
//!
//! [`SensorLanguageModel`] implements all of it.

use tch::nn::VarStore;
use tch::{Device, Tensor};
use wearlang_captioning::ActivityConfig;
use wearlang_encoders::text::DecodeOptions;

use crate::sensor_language::{SensorLanguageConfig, SensorLanguageModel, StepSelection};
use crate::Result;

/// A model that embeds sensor windows and texts into one space: what the
/// evaluation protocols (zero-shot, linear probe, few-shot, retrieval,
/// captioning, unseen activities) use of it.
///
/// Windows are `[N, T, C]` float tensors, time-major, normalised with the
/// store's training statistics, NaN where a value is missing (as
/// `WindowSet::x` holds them). Every returned tensor is on the CPU and
/// carries no gradient unless said otherwise.
pub trait SensorTextModel {
    /// The run's name (the report's title).
    fn run_name(&self) -> &str;

    /// The steps the model was trained for (the report's header): the
    /// checkpoint's step, which an unfinished run has short of its budget.
    fn training_steps(&self) -> u64;

    /// The device the model computes on.
    fn device(&self) -> Device;

    /// Whether sensor and text embeddings were aligned by a contrastive text
    /// objective; without it the protocols that compare windows with texts
    /// beyond zero-shot (few-shot heads, retrieval, unseen activities) are
    /// skipped.
    fn has_text_alignment(&self) -> bool;

    /// L2-normalised sensor embeddings `[N, E]` of windows `[N, T, C]`, in
    /// batches of `batch`.
    fn embed_windows(&self, x: &Tensor, batch: usize) -> Result<Tensor>;

    /// L2-normalised text embeddings `[N, E]`, in batches of `batch`.
    fn embed_texts(&self, texts: &[String], batch: usize) -> Result<Tensor>;

    /// Frozen sensor features `[N, D]` of windows `[N, T, C]` (the input of
    /// the linear probe, and of [`ProjectionHeads::project_sensor`]); a
    /// model without a separate feature stage may return its embeddings.
    fn sensor_features(&self, x: &Tensor, batch: usize) -> Result<Tensor>;

    /// The text sources the model was trained on, in order (`activity` or
    /// caption columns of the store): the first is retrieval's default text,
    /// all are captioning's references. Empty (the default): `activity`.
    fn text_variants(&self) -> &[String] {
        &[]
    }

    /// How the model's `activity` text is written (its knowledge and body
    /// parts; the protocols use the base template).
    fn activity_text(&self) -> ActivityConfig {
        ActivityConfig::default()
    }

    /// The projection heads few-shot adaptation trains, if the model has
    /// them.
    fn heads(&self) -> Option<&dyn ProjectionHeads> {
        None
    }

    /// The captioning decoder, if the model has one.
    fn captioner(&self) -> Option<&dyn WindowCaptioner> {
        None
    }

    /// The configuration to train the same model again (the
    /// unseen-activities protocol retrains it without some classes through
    /// `wearlang_models::Trainer` and loads the result with
    /// `load_sensor_language`); `None` when the model is not built from one.
    fn sensor_language_config(&self) -> Option<&SensorLanguageConfig> {
        None
    }

    /// The step budget chosen on held-out classes, when the model's run
    /// chose one (`[select]`): retraining it (unseen activities) uses that
    /// budget.
    fn step_selection(&self) -> Option<&StepSelection> {
        None
    }
}

/// Trainable projection heads over frozen features: sensor features
/// ([`SensorTextModel::sensor_features`]) and text features
/// ([`Self::text_features`]) each go through a head into the shared space.
/// Few-shot adaptation trains only the heads' variables, with every other
/// variable of [`Self::var_store`] frozen for the while, and restores them
/// afterwards.
pub trait ProjectionHeads {
    /// The variable store that holds the heads.
    fn var_store(&self) -> &VarStore;

    /// Names (in [`Self::var_store`]) of the heads' variables.
    fn head_variables(&self) -> Vec<String>;

    /// Text features `[N, D]` before the text head, in batches of `batch`.
    fn text_features(&self, texts: &[String], batch: usize) -> Result<Tensor>;

    /// The sensor head on sensor features (with gradients, on the model's
    /// device, not normalised).
    fn project_sensor(&self, features: &Tensor) -> Result<Tensor>;

    /// The text head on text features (with gradients, on the model's
    /// device, not normalised).
    fn project_text(&self, features: &Tensor) -> Result<Tensor>;

    /// The contrastive logit scale the heads were trained at; `None`: CLIP's
    /// initial `1 / 0.07`.
    fn logit_scale(&self) -> Option<f64> {
        None
    }

    /// Names (in [`Self::var_store`]) of the sensor encoder's variables,
    /// which few-shot fine-tuning updates beside the heads; empty (the
    /// default) when the encoder cannot be fine-tuned.
    fn sensor_variables(&self) -> Vec<String> {
        Vec::new()
    }

    /// Sensor features `[B, D]` of windows `x` `[B, T, C]` before the
    /// sensor head, **with** gradients (dropout on when `train`), on the
    /// model's device: what [`Self::project_sensor`] takes. The default
    /// errors (a model whose encoder cannot be fine-tuned).
    fn encode_sensor(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let _ = (x, train);
        Err(crate::ModelError::Config {
            field: "few_shot.methods".into(),
            reason: "this model's sensor encoder cannot be fine-tuned (`fine_tune`)".into(),
        })
    }
}

/// A decoder that writes a caption for each window.
pub trait WindowCaptioner {
    /// Captions of windows `[N, T, C]`, in batches of `batch`.
    fn caption(&self, x: &Tensor, opts: &DecodeOptions, batch: usize) -> Result<Vec<String>>;
}

impl SensorTextModel for SensorLanguageModel {
    fn run_name(&self) -> &str {
        &self.config().name
    }

    fn training_steps(&self) -> u64 {
        self.trained_steps()
    }

    fn device(&self) -> Device {
        SensorLanguageModel::device(self)
    }

    fn has_text_alignment(&self) -> bool {
        self.config().objective.needs_text()
    }

    fn embed_windows(&self, x: &Tensor, batch: usize) -> Result<Tensor> {
        SensorLanguageModel::embed_windows(self, x, batch)
    }

    fn embed_texts(&self, texts: &[String], batch: usize) -> Result<Tensor> {
        SensorLanguageModel::embed_texts(self, texts, batch)
    }

    fn sensor_features(&self, x: &Tensor, batch: usize) -> Result<Tensor> {
        SensorLanguageModel::sensor_features(self, x, batch)
    }

    fn text_variants(&self) -> &[String] {
        &self.config().text.variants
    }

    fn activity_text(&self) -> ActivityConfig {
        self.config().text.activity.clone()
    }

    fn heads(&self) -> Option<&dyn ProjectionHeads> {
        Some(self)
    }

    fn captioner(&self) -> Option<&dyn WindowCaptioner> {
        self.has_decoder().then_some(self as &dyn WindowCaptioner)
    }

    fn sensor_language_config(&self) -> Option<&SensorLanguageConfig> {
        Some(self.config())
    }

    fn step_selection(&self) -> Option<&StepSelection> {
        SensorLanguageModel::step_selection(self)
    }
}

impl ProjectionHeads for SensorLanguageModel {
    fn var_store(&self) -> &VarStore {
        &self.vs
    }

    fn head_variables(&self) -> Vec<String> {
        self.projection_variables()
    }

    fn text_features(&self, texts: &[String], batch: usize) -> Result<Tensor> {
        self.text_tower_features(texts, batch)
    }

    fn project_sensor(&self, features: &Tensor) -> Result<Tensor> {
        Ok(SensorLanguageModel::project_sensor(self, features))
    }

    fn project_text(&self, features: &Tensor) -> Result<Tensor> {
        Ok(SensorLanguageModel::project_text(self, features))
    }

    fn logit_scale(&self) -> Option<f64> {
        SensorLanguageModel::logit_scale(self)
    }

    fn sensor_variables(&self) -> Vec<String> {
        self.vs
            .variables()
            .into_keys()
            .filter(|name| name.starts_with("sensor."))
            .collect()
    }

    fn encode_sensor(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        SensorLanguageModel::encode_sensor(self, x, train)
    }
}

impl WindowCaptioner for SensorLanguageModel {
    fn caption(&self, x: &Tensor, opts: &DecodeOptions, batch: usize) -> Result<Vec<String>> {
        SensorLanguageModel::caption(self, x, opts, batch)
    }
}
