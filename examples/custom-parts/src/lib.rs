//! How a research fork adds parts to wearlang without editing its crates:
//!
//! - [`encoder`]: `stats_mlp`, a sensor encoder (per-channel statistics of
//!   the observed values through an MLP), registered with
//!   `wearlang_models::register_sensor_encoder`;
//! - [`objective`]: `smoothed_clip`, CLIP with label smoothing, registered
//!   with `wearlang_objectives::register_objective`;
//! - [`protocol`]: `nearest-centroid`, an evaluation protocol, registered
//!   with `wearlang_evaluation::register_protocol`;
//! - [`text`]: `bag_of_words`, a text tower trained from scratch, registered
//!   with `wearlang_models::register_text_tower`;
//! - [`mask`]: `forecast`, a mask strategy for masked pretraining that hides
//!   the newest tokens, registered with
//!   `wearlang_masking::register_mask_strategy`;
//! - [`model`]: `StatsTextModel`, a whole sensor-language model of the
//!   fork's own (not a `SensorLanguageModel`: statistics and a hashed bag of
//!   words through projection heads) that wearlang's built-in protocols
//!   evaluate through `wearlang_models::SensorTextModel`; nothing to
//!   register, it goes straight into `wearlang_evaluation::EvalContext`.
//!
//! [`register`] adds them all; `configs/custom.toml` names the first three
//! (`[sensor] kind = "custom", name = "stats_mlp"`, `[objective] kind =
//! "custom", name = "smoothed_clip"`), `configs/custom_text.toml` adds the
//! text tower and `configs/forecast_mae.toml` pretrains with the mask; and
//! `src/main.rs` trains and evaluates with them:
//!
//! ```no_run
//! wearlang_example_custom_parts::register().unwrap();
//! let cfg = wearlang_models::SensorLanguageConfig::from_file(
//!     std::path::Path::new("examples/custom-parts/configs/custom.toml"),
//! )
//! .unwrap();
//! assert_eq!(cfg.sensor.name.as_deref(), Some("stats_mlp"));
//! ```

#![warn(missing_docs)]

use std::sync::{Arc, OnceLock};

pub mod encoder;
pub mod mask;
pub mod model;
pub mod objective;
pub mod protocol;
pub mod text;

/// Register the encoder, the text tower, the objective, the mask strategy
/// and the protocol (once per process; later calls return the first call's
/// outcome).
pub fn register() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        wearlang_models::register_sensor_encoder("stats_mlp", Arc::new(encoder::StatsMlpFactory))
            .map_err(|e| e.to_string())?;
        wearlang_models::register_text_tower("bag_of_words", Arc::new(text::BagOfWordsFactory))
            .map_err(|e| e.to_string())?;
        wearlang_masking::register_mask_strategy("forecast", Arc::new(mask::ForecastFactory))
            .map_err(|e| e.to_string())?;
        wearlang_objectives::register_objective(
            "smoothed_clip",
            Arc::new(objective::SmoothedClipFactory),
        )
        .map_err(|e| e.to_string())?;
        wearlang_evaluation::register_protocol(
            "nearest-centroid",
            Arc::new(protocol::NearestCentroidFactory),
        )
        .map_err(|e| e.to_string())
    })
    .clone()
}
