//! Input formats by name: the built-in ones (CSV, Parquet, Arrow IPC,
//! Actiwatch AWD) and
//! those other crates register. A fork implements [`InputFormatFactory`]
//! (the file extensions it claims and how to open a file as a
//! [`RecordingSource`]), calls [`register_input_format`] once at start-up,
//! and names the format as `format = "<name>"` in a manifest's `[input]` or
//! `[[streams]]` (or `--format <name>` on the command line); with `auto`,
//! files with its extensions are found in directories and opened by it.

use std::path::Path;
use std::sync::Arc;

use wearlang_core::registry::Registry;
use wearlang_core::{Error, Result};

use crate::arrow_src::ArrowSource;
use crate::awd::AwdSource;
use crate::columns::SourceSpec;
use crate::csv::CsvSource;
use crate::options::InputFormat;
use crate::source::RecordingSource;

/// Opens the files of one input format.
///
/// The built-in formats go through this trait too; a registered one is
/// used exactly like them: by `auto` for files with one of its
/// [`extensions`](Self::extensions) (after the built-in extensions), and
/// for every file of the input when the options name it.
pub trait InputFormatFactory: Send + Sync {
    /// The file extensions it claims, without the dot (`"jsonl"`; compared
    /// case-insensitively). They decide which files `auto` opens with it and
    /// which files of a directory are listed; an extension that is also a
    /// built-in one (`csv`, `parquet`, ...) stays with the built-in format
    /// under `auto`. A claimed extension is data even where it would
    /// otherwise be skipped as a manifest or documentation (`json`, `toml`,
    /// ...). Return the same list on every call.
    fn extensions(&self) -> Vec<String>;

    /// Open `path` as a source of recordings. `root` is the input directory
    /// when the file is one of several (see
    /// [`SourceSpec::default_keys`] for the subject and recording a file
    /// without such columns gets); `spec` says which columns play which
    /// role, the time axis, and whether only the keys and times are needed
    /// (`scan_only`). Errors name the file, and the row and column where
    /// they can ([`wearlang_core::Location`]).
    fn open(
        &self,
        path: &Path,
        root: Option<&Path>,
        spec: &SourceSpec,
    ) -> Result<Box<dyn RecordingSource>>;
}

/// How a built-in format opens a file (as [`InputFormatFactory::open`]).
type Opener = fn(&Path, Option<&Path>, &SourceSpec) -> Result<Box<dyn RecordingSource>>;

/// A built-in format: the extensions it claims and its reader.
struct BuiltIn {
    extensions: &'static [&'static str],
    open: Opener,
}

impl InputFormatFactory for BuiltIn {
    fn extensions(&self) -> Vec<String> {
        self.extensions.iter().map(|e| e.to_string()).collect()
    }

    fn open(
        &self,
        path: &Path,
        root: Option<&Path>,
        spec: &SourceSpec,
    ) -> Result<Box<dyn RecordingSource>> {
        (self.open)(path, root, spec)
    }
}

/// Wide CSV (`.csv`, `.tsv`, `.txt`).
const CSV: BuiltIn = BuiltIn {
    extensions: &["csv", "tsv", "txt"],
    open: |p, r, s| Ok(Box::new(CsvSource::open(p, r, s)?)),
};

/// Apache Parquet (`.parquet`, `.pq`).
const PARQUET: BuiltIn = BuiltIn {
    extensions: &["parquet", "pq"],
    open: |p, r, s| Ok(Box::new(ArrowSource::open_parquet(p, r, s)?)),
};

/// Arrow IPC file format (`.arrow`, `.ipc`, `.feather`).
const IPC: BuiltIn = BuiltIn {
    extensions: &["arrow", "ipc", "feather"],
    open: |p, r, s| Ok(Box::new(ArrowSource::open_ipc(p, r, s)?)),
};

/// Actiwatch epoch counts (`.awd`, any case).
const AWD: BuiltIn = BuiltIn {
    extensions: &["awd"],
    open: |p, r, s| Ok(Box::new(AwdSource::open(p, r, s)?)),
};

/// The spellings the built-in formats answer to (see
/// [`InputFormat::parse`]); none of them can be registered.
pub(crate) const BUILT_IN_NAMES: [&str; 9] = [
    "auto", "csv", "tsv", "parquet", "pq", "ipc", "arrow", "feather", "awd",
];

/// The built-in formats in the order `auto` tries their extensions.
fn built_ins() -> [(InputFormat, Arc<dyn InputFormatFactory>); 4] {
    [
        (InputFormat::Csv, Arc::new(CSV)),
        (InputFormat::Parquet, Arc::new(PARQUET)),
        (InputFormat::Ipc, Arc::new(IPC)),
        (InputFormat::Awd, Arc::new(AWD)),
    ]
}

static FORMATS: Registry<dyn InputFormatFactory> = Registry::new("input format");

/// Whether `name` may name a registered format: lower-case ASCII letters,
/// digits, `-`, `_` and `.`, starting with a letter or digit (names are
/// matched case-insensitively, like the built-in ones).
fn valid_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// Make an input format available as `format = "<name>"` (in a manifest's
/// `[input]` or `[[streams]]`, or `--format <name>`) and to `auto` by its
/// extensions. Call it once at start-up, before options naming the format
/// are parsed.
///
/// Errors (naming the parameter `format`): `name` is empty or not
/// lower-case ASCII letters, digits, `-`, `_` and `.`; it is one of the
/// built-in names (`auto`, `csv`, `tsv`, `parquet`, `pq`, `ipc`, `arrow`,
/// `feather`, `awd`); or a format is already registered under it (a name is
/// registered once per process).
pub fn register_input_format(name: &str, factory: Arc<dyn InputFormatFactory>) -> Result<()> {
    if BUILT_IN_NAMES.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(Error::param(
            "format",
            format!(
                "`{name}` is a built-in input format (built-in names: {}); register yours \
                 under another name",
                BUILT_IN_NAMES.join(", ")
            ),
        ));
    }
    if !valid_name(name) {
        return Err(Error::param(
            "format",
            format!(
                "cannot register an input format as `{name}`: use lower-case ASCII letters, \
                 digits, '-', '_' and '.', starting with a letter or digit"
            ),
        ));
    }
    FORMATS.register(name, factory).map_err(|e| {
        Error::param(
            "format",
            format!("{e} (a name is registered once per process)"),
        )
    })
}

/// The names of the registered input formats, sorted (the built-in ones
/// are not included).
pub fn registered_input_formats() -> Vec<String> {
    FORMATS.names()
}

/// The registered name `name` (compared as lower case), if any.
pub(crate) fn registered_name(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    FORMATS.contains(&lower).then_some(lower)
}

/// `path`'s extension, lower case.
fn extension(path: &Path) -> Option<String> {
    Some(path.extension()?.to_str()?.to_ascii_lowercase())
}

/// Whether `factory` claims extension `ext` (lower case).
fn claims(factory: &dyn InputFormatFactory, ext: &str) -> bool {
    factory
        .extensions()
        .iter()
        .any(|e| e.trim_start_matches('.').eq_ignore_ascii_case(ext))
}

/// The format `auto` gives `path`: the built-in one claiming its extension,
/// else the registered one (the first by name when several claim it).
pub(crate) fn by_extension(path: &Path) -> Option<InputFormat> {
    let ext = extension(path)?;
    if let Some((f, _)) = built_ins().into_iter().find(|(_, b)| claims(&**b, &ext)) {
        return Some(f);
    }
    FORMATS
        .names()
        .into_iter()
        .find(|n| FORMATS.get(n).is_ok_and(|f| claims(&*f, &ext)))
        .map(InputFormat::Custom)
}

/// The factory of a concrete (not `auto`) format.
///
/// Errors (naming `format`): `auto`, or a name nothing is registered under.
pub(crate) fn factory(format: &InputFormat) -> Result<Arc<dyn InputFormatFactory>> {
    match format {
        InputFormat::Auto => Err(Error::param(
            "format",
            "`auto` is resolved per file by extension and has no reader of its own",
        )),
        InputFormat::Custom(name) => FORMATS.get(name).map_err(|e| {
            Error::param(
                "format",
                format!("{e}; register it with wearlang_ingest::register_input_format"),
            )
        }),
        built_in => built_ins()
            .into_iter()
            .find(|(f, _)| f == built_in)
            .map(|(_, factory)| factory)
            .ok_or_else(|| {
                Error::param(
                    "format",
                    format!("no reader for the built-in format `{}`", built_in.name()),
                )
            }),
    }
}

/// Whether the file `path` is data for `format` although its extension is
/// one that is normally skipped: `format` claims the extension.
pub(crate) fn claims_extension(format: &InputFormat, path: &Path) -> bool {
    let Some(ext) = extension(path) else {
        return false;
    };
    factory(format).is_ok_and(|f| claims(&*f, &ext))
}

/// The registered formats with their extensions, for error messages
/// (`jsonl (.jsonl, .ndjson), ...`; `none` when nothing is registered).
pub(crate) fn describe_registered() -> String {
    let names = FORMATS.names();
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| {
            let exts = FORMATS
                .get(n)
                .map(|f| {
                    f.extensions()
                        .iter()
                        .map(|e| format!(".{}", e.trim_start_matches('.')))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            if exts.is_empty() {
                n.clone()
            } else {
                format!("{n} ({exts})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
