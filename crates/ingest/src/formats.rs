//! Input formats of other crates: a fork implements [`InputFormatFactory`]
//! (the extensions it claims and how to open a file as a
//! [`RecordingSource`]), calls [`register_input_format`] once, and names it
//! as `input.format = "<name>"` in a manifest or `--format <name>`; with
//! `auto`, files with its extensions are found and opened by it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use wearlang_core::registry::Registry;
use wearlang_core::{Error, Result};

use crate::columns::SourceSpec;
use crate::source::RecordingSource;

/// Opens files of a registered input format.
pub trait InputFormatFactory: Send + Sync {
    /// File extensions it claims (lower case, without the dot), used by
    /// `auto` and when listing a directory.
    fn extensions(&self) -> Vec<String>;

    /// Open `path` (one of the files under the input directory `root`, if
    /// any) as a source of recordings, reading columns as `spec` says.
    /// Errors name the file, and the row and column where they can.
    fn open(
        &self,
        path: &Path,
        root: Option<&Path>,
        spec: &SourceSpec,
    ) -> Result<Box<dyn RecordingSource>>;
}

static FORMATS: Registry<dyn InputFormatFactory> = Registry::new("input format");

/// Registered names, kept for the life of the process so an
/// [`InputFormat`](crate::InputFormat) can name one and stay `Copy`.
static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// The names the built-in formats answer to; they cannot be registered.
pub(crate) const BUILT_IN: [&str; 9] = [
    "auto", "csv", "tsv", "parquet", "pq", "ipc", "arrow", "feather", "txt",
];

/// Make an input format available as `input.format = "<name>"` (and to
/// `auto` by its extensions); a name is registered once per process and
/// cannot be a built-in one.
pub fn register_input_format(name: &str, factory: Arc<dyn InputFormatFactory>) -> Result<()> {
    let lower = name.to_ascii_lowercase();
    if BUILT_IN.contains(&lower.as_str()) {
        return Err(Error::param(
            "format",
            format!("`{name}` is a built-in input format and cannot be registered"),
        ));
    }
    if name.is_empty() || name != lower {
        return Err(Error::param(
            "format",
            format!("register input formats under a lower-case name, not `{name}`"),
        ));
    }
    FORMATS
        .register(name, factory)
        .map_err(|e| Error::param("format", e.to_string()))?;
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    NAMES.lock().unwrap_or_else(|e| e.into_inner()).push(leaked);
    Ok(())
}

/// The names of the registered input formats.
pub fn registered_input_formats() -> Vec<String> {
    FORMATS.names()
}

/// The registered name equal to `name`, as a `'static` string.
pub(crate) fn registered_name(name: &str) -> Option<&'static str> {
    NAMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .find(|n| *n == name)
}

/// The registered format claiming extension `ext` (lower case), if any
/// (the first by name when several do).
pub(crate) fn by_extension(ext: &str) -> Option<&'static str> {
    FORMATS
        .names()
        .into_iter()
        .find(|n| {
            FORMATS
                .get(n)
                .is_ok_and(|f| f.extensions().iter().any(|e| e.eq_ignore_ascii_case(ext)))
        })
        .and_then(|n| registered_name(&n))
}

/// The factory registered as `name`.
pub(crate) fn factory(name: &str) -> Result<Arc<dyn InputFormatFactory>> {
    FORMATS.get(name).map_err(|e| {
        Error::param(
            "format",
            format!("{e}; register it with wearlang_ingest::register_input_format"),
        )
    })
}
