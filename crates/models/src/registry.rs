//! Sensor encoders and text towers of other crates: a fork implements
//! [`SensorEncoderFactory`] (or [`TextTowerFactory`]), calls
//! [`register_sensor_encoder`] ([`register_text_tower`]) once, and names the
//! part in a run's TOML (`[sensor] kind = "custom"`, `name = "<name>"`,
//! settings in `[sensor.params]`; the same under `[text]`). The model
//! records what the factory resolved in its checkpoint and hands it back on
//! load.

use std::sync::Arc;

use tch::{nn, Tensor};
use wearlang_core::registry::Registry;
use wearlang_encoders::SensorEncoder;

use crate::{ModelError, Result};

/// Builds a registered sensor encoder.
pub trait SensorEncoderFactory: Send + Sync {
    /// Build the encoder under `p` (its variables are saved as `sensor.*`)
    /// for windows of `steps × channels`, from the run's `params`. `saved`
    /// is what this factory returned when the checkpoint being loaded was
    /// trained: rebuild exactly that. Returns the encoder and its resolved
    /// config, which the checkpoint records.
    fn build(
        &self,
        p: nn::Path,
        steps: usize,
        channels: usize,
        params: &serde_json::Map<String, serde_json::Value>,
        saved: Option<&serde_json::Value>,
    ) -> Result<(Box<dyn SensorEncoder>, serde_json::Value)>;
}

static SENSOR_ENCODERS: Registry<dyn SensorEncoderFactory> = Registry::new("sensor encoder");

/// Make a sensor encoder available to configs as `kind = "custom"`,
/// `name = "<name>"`; a name is registered once per process.
pub fn register_sensor_encoder(name: &str, factory: Arc<dyn SensorEncoderFactory>) -> Result<()> {
    SENSOR_ENCODERS
        .register(name, factory)
        .map_err(|e| ModelError::config("sensor.name", e.to_string()))
}

/// The names of the registered sensor encoders.
pub fn registered_sensor_encoders() -> Vec<String> {
    SENSOR_ENCODERS.names()
}

/// The factory registered under `name`.
pub(crate) fn sensor_encoder(name: &str) -> Result<Arc<dyn SensorEncoderFactory>> {
    SENSOR_ENCODERS.get(name).map_err(|e| {
        ModelError::config(
            "sensor.name",
            format!("{e}; register it with wearlang_models::register_sensor_encoder"),
        )
    })
}

/// A text tower of another crate: WordPiece token ids (the model's MiniLM
/// vocabulary) in, one feature vector per text out; the model's projection
/// head maps the features into the shared space.
pub trait TextEncoder {
    /// Features `[B, dim]` of token ids `[B, L]` (int64) with their
    /// attention mask `[B, L]` (1 = token, 0 = padding).
    fn forward_t(&self, ids: &Tensor, attention_mask: &Tensor, train: bool) -> Result<Tensor>;
    /// Width of the features.
    fn dim(&self) -> i64;
    /// Longest input in tokens it accepts (`None`: any); texts are cut to
    /// the smaller of this and `text.max_len`.
    fn max_len(&self) -> Option<usize> {
        None
    }
}

/// Builds a registered text tower.
pub trait TextTowerFactory: Send + Sync {
    /// Build the tower under `p` (its variables are saved as `text.*`) for a
    /// vocabulary of `vocab_size` WordPiece ids, from the run's `params`.
    /// `saved` is what this factory returned when the checkpoint being
    /// loaded was trained: rebuild exactly that. Returns the tower and its
    /// resolved config, which the checkpoint records.
    fn build(
        &self,
        p: nn::Path,
        vocab_size: i64,
        params: &serde_json::Map<String, serde_json::Value>,
        saved: Option<&serde_json::Value>,
    ) -> Result<(Box<dyn TextEncoder>, serde_json::Value)>;
}

static TEXT_TOWERS: Registry<dyn TextTowerFactory> = Registry::new("text tower");

/// Make a text tower available to configs as `[text] kind = "custom"`,
/// `name = "<name>"`; a name is registered once per process.
pub fn register_text_tower(name: &str, factory: Arc<dyn TextTowerFactory>) -> Result<()> {
    TEXT_TOWERS
        .register(name, factory)
        .map_err(|e| ModelError::config("text.name", e.to_string()))
}

/// The names of the registered text towers.
pub fn registered_text_towers() -> Vec<String> {
    TEXT_TOWERS.names()
}

/// The factory registered under `name`.
pub(crate) fn text_tower(name: &str) -> Result<Arc<dyn TextTowerFactory>> {
    TEXT_TOWERS.get(name).map_err(|e| {
        ModelError::config(
            "text.name",
            format!("{e}; register it with wearlang_models::register_text_tower"),
        )
    })
}
