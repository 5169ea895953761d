//! Reading a run's TOML configuration file.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::{ModelError, Result};

/// Parse the TOML file at `path` into `T`; errors name the file (and, for
/// parse errors, the offending field).
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    toml::from_str(&text).map_err(|e| ModelError::ConfigFile {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
