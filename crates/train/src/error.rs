//! Errors of the train crate: the models crate's error, so that a loop can
//! return what loading, checkpointing and the optimiser report unchanged.

pub use wearlang_models::{ModelError as TrainError, Result};
