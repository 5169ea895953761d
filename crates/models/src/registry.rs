//! Sensor encoders of other crates: a fork implements
//! [`SensorEncoderFactory`], calls [`register_sensor_encoder`] once, and
//! names the encoder in a run's TOML (`[sensor] kind = "custom"`,
//! `name = "<name>"`, settings in `[sensor.params]`). The model records what
//! the factory resolved in its checkpoint and hands it back on load.

use std::sync::Arc;

use tch::nn;
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
