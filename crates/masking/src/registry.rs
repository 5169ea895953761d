//! Mask strategies of other crates: a fork implements
//! [`MaskStrategyFactory`], calls [`register_mask_strategy`] once, and names
//! the strategy in a pretraining config (`[mask] kind = "custom"`,
//! `name = "<name>"`, settings in `[mask.params]`).

use std::sync::Arc;

use wearlang_core::registry::Registry;

use crate::error::{check_unit, MaskError, Result};
use crate::strategy::MaskStrategy;

/// Settings of a registered strategy, as written in the config.
pub type MaskParams = serde_json::Map<String, serde_json::Value>;

/// Builds a registered mask strategy from its settings.
pub trait MaskStrategyFactory: Send + Sync {
    /// The strategy for `params`; an error names the bad setting.
    fn build(&self, params: &MaskParams) -> Result<Box<dyn MaskStrategy>>;

    /// The fraction of observed tokens the strategy hides, in `[0, 1]`
    /// (AIM sizes the encoder's kept tokens from it).
    fn ratio(&self, params: &MaskParams) -> Result<f32>;
}

static MASK_STRATEGIES: Registry<dyn MaskStrategyFactory> = Registry::new("mask strategy");

/// Make a mask strategy available to configs as `kind = "custom"`,
/// `name = "<name>"`; a name is registered once per process.
pub fn register_mask_strategy(name: &str, factory: Arc<dyn MaskStrategyFactory>) -> Result<()> {
    MASK_STRATEGIES
        .register(name, factory)
        .map_err(|e| MaskError::param("name", e.to_string()))
}

/// The names of the registered mask strategies.
pub fn registered_mask_strategies() -> Vec<String> {
    MASK_STRATEGIES.names()
}

fn factory(name: &str) -> Result<Arc<dyn MaskStrategyFactory>> {
    MASK_STRATEGIES.get(name).map_err(|e| {
        MaskError::param(
            "name",
            format!("{e}; register it with wearlang_masking::register_mask_strategy"),
        )
    })
}

/// Build the registered strategy `name`.
pub(crate) fn build_custom(name: &str, params: &MaskParams) -> Result<Box<dyn MaskStrategy>> {
    factory(name)?.build(params)
}

/// The ratio of the registered strategy `name`, checked to be in `[0, 1]`.
pub(crate) fn custom_ratio(name: &str, params: &MaskParams) -> Result<f32> {
    let r = factory(name)?.ratio(params)?;
    check_unit("ratio", r)?;
    Ok(r)
}
