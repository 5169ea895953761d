//! A panic inside a third-party reader (the parquet and arrow crates panic
//! on some corrupt files instead of returning an error) turned into an error
//! that names the file: the one place wearlang catches panics.
//!
//! ```
//! use std::path::Path;
//! use wearlang_core::guard::catch_reader_panic;
//!
//! let ok = catch_reader_panic(Path::new("a.parquet"), "Parquet", || Ok(3)).unwrap();
//! assert_eq!(ok, 3);
//! let err = catch_reader_panic(Path::new("a.parquet"), "Parquet", || -> wearlang_core::Result<()> {
//!     panic!("index out of bounds")
//! })
//! .unwrap_err();
//! assert!(err.to_string().contains("a.parquet"));
//! ```
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Once;

use crate::{Error, Location, Result};

thread_local! {
    static IN_READER: Cell<bool> = const { Cell::new(false) };
}
static QUIET_HOOK: Once = Once::new();

/// Install (once) a panic hook that stays silent for a panic on a thread
/// inside [`catch_reader_panic`] (it becomes an error instead) and hands
/// every other panic to the hook that was there before.
fn install_quiet_hook() {
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_READER.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Run `f`, which reads `file` (a `what` file) through a third-party
/// reader; a panic becomes an error naming the file and the panic's
/// message, and is not printed.
pub fn catch_reader_panic<T>(file: &Path, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    install_quiet_hook();
    let outer = IN_READER.with(|c| c.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_READER.with(|c| c.set(outer));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(Error::data(
                Location::file(file),
                format!("corrupt {what} file: its reader failed ({msg})"),
            ))
        }
    }
}
