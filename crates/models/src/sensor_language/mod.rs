//! The sensor-language model (SensorLM, NLS): a sensor tower and a text tower
//! aligned in one embedding space by a contrastive loss, optionally with
//! CoCa's captioning decoder (α · contrastive + β · captioning).
//!
//! - `config.rs`: [`SensorLanguageConfig`], the TOML file of a run;
//! - `text.rs`: [`TextSampler`] (training text per window and epoch) and
//!   [`TextEmbeddingCache`] (frozen MiniLM embeddings by text);
//! - `model.rs`: [`SensorLanguageModel`] assembled from the config;
//! - `load.rs`: the checkpoint's record and [`load_sensor_language`];
//! - `select.rs`: [`SelectConfig`], choosing the step budget on held-out
//!   classes, and [`StepSelection`], what the choice recorded;
//! - `wise_ft.rs`: [`wise_ft()`], a fine-tuned sensor encoder blended with
//!   its pretrained weights (WiSE-FT).

mod config;
mod load;
mod model;
mod select;
mod text;
mod wise_ft;

pub use config::{
    DecoderVocabulary, SensorKind, SensorLanguageConfig, SensorSpec, TextKind, TextSpec,
};
pub use load::{
    load_sensor_language, InputNormalisation, LoadedSensorLanguage, SensorLanguageCheckpointConfig,
    SensorLanguageOptions, SensorLanguageSummary,
};
pub use model::{
    corpus_tokens, resolve_minilm_dir, Batch, ResolvedModel, SensorLanguageModel, TextIdentity,
    TextTower,
};
pub use select::{
    mean_curve, pick_step, HeldOutWindows, SelectConfig, SelectCriterion, SelectionFold,
    StepSelection,
};
pub use text::{TextEmbeddingCache, TextSampler, ACTIVITY};
pub use wise_ft::{wise_ft, WiseFt};
