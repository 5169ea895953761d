//! [`Registry`]: named parts that other crates add at run time, so that a
//! fork can name its own sensor encoder, objective or evaluation protocol in
//! a TOML config without editing the crate that builds it.
//!
//! Each extension point owns one `static` registry:
//!
//! ```
//! use std::sync::Arc;
//! use wearlang_core::registry::Registry;
//!
//! trait Greeter: Send + Sync {
//!     fn greet(&self) -> String;
//! }
//! struct Hello;
//! impl Greeter for Hello {
//!     fn greet(&self) -> String {
//!         "hello".into()
//!     }
//! }
//!
//! static GREETERS: Registry<dyn Greeter> = Registry::new("greeter");
//! GREETERS.register("hello", Arc::new(Hello)).unwrap();
//! assert_eq!(GREETERS.get("hello").unwrap().greet(), "hello");
//! assert!(GREETERS.get("bye").err().unwrap().to_string().contains("hello"));
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

/// Errors of a registry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// No part under this name.
    #[error("unknown {what} `{name}` (registered: {known})")]
    Unknown {
        /// What the registry holds (e.g. `sensor encoder`).
        what: &'static str,
        /// The name asked for.
        name: String,
        /// The registered names, comma separated (`none` when empty).
        known: String,
    },
    /// The name is taken (by a built-in or an earlier registration).
    #[error("{what} `{name}` is already registered")]
    Taken {
        /// What the registry holds.
        what: &'static str,
        /// The name.
        name: String,
    },
}

/// Parts of one kind by name; safe to use from several threads.
pub struct Registry<T: ?Sized + Send + Sync> {
    what: &'static str,
    items: OnceLock<RwLock<BTreeMap<String, Arc<T>>>>,
}

impl<T: ?Sized + Send + Sync> Registry<T> {
    /// An empty registry of `what` (used in error messages).
    pub const fn new(what: &'static str) -> Self {
        Registry {
            what,
            items: OnceLock::new(),
        }
    }

    fn map(&self) -> &RwLock<BTreeMap<String, Arc<T>>> {
        self.items.get_or_init(|| RwLock::new(BTreeMap::new()))
    }

    /// Add `item` under `name`; a name is registered once.
    pub fn register(&self, name: &str, item: Arc<T>) -> Result<(), RegistryError> {
        let mut map = self.map().write().unwrap_or_else(|e| e.into_inner());
        if map.contains_key(name) {
            return Err(RegistryError::Taken {
                what: self.what,
                name: name.to_string(),
            });
        }
        map.insert(name.to_string(), item);
        Ok(())
    }

    /// The part registered under `name`.
    pub fn get(&self, name: &str) -> Result<Arc<T>, RegistryError> {
        let map = self.map().read().unwrap_or_else(|e| e.into_inner());
        map.get(name)
            .cloned()
            .ok_or_else(|| RegistryError::Unknown {
                what: self.what,
                name: name.to_string(),
                known: if map.is_empty() {
                    "none".into()
                } else {
                    map.keys().cloned().collect::<Vec<_>>().join(", ")
                },
            })
    }

    /// Whether `name` is registered.
    pub fn contains(&self, name: &str) -> bool {
        let map = self.map().read().unwrap_or_else(|e| e.into_inner());
        map.contains_key(name)
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<String> {
        let map = self.map().read().unwrap_or_else(|e| e.into_inner());
        map.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static NUMBERS: Registry<dyn Fn() -> i32 + Send + Sync> = Registry::new("number");

    #[test]
    fn parts_are_found_by_name_once_registered_and_names_are_unique() {
        assert!(!NUMBERS.contains("one"));
        let err = NUMBERS.get("one").err().unwrap().to_string();
        assert!(err.contains("unknown number `one`"), "{err}");
        NUMBERS.register("one", Arc::new(|| 1)).unwrap();
        NUMBERS.register("two", Arc::new(|| 2)).unwrap();
        assert_eq!((NUMBERS.get("two").unwrap())(), 2);
        assert_eq!(NUMBERS.names(), vec!["one".to_string(), "two".to_string()]);
        let err = NUMBERS.register("one", Arc::new(|| 3)).err().unwrap();
        assert_eq!(err.to_string(), "number `one` is already registered");
        assert_eq!((NUMBERS.get("one").unwrap())(), 1);
        let err = NUMBERS.get("three").err().unwrap().to_string();
        assert!(err.contains("registered: one, two"), "{err}");
    }
}
