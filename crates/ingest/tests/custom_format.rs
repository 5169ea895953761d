//! An input format registered from outside the crate: a vendor's
//! semicolon-separated export with its own extension (`.ssv`) is found in a
//! directory by `auto`, named by `input.format`, and ingests to exactly the
//! windows of the same data as CSV; bad names are errors that say what to do.
mod common;

use common::{table, write_csv};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use wearlang_core::{Result, Window};
use wearlang_ingest::{
    ingest, list_files, register_input_format, registered_input_formats, CsvSource, IngestOptions,
    InputFormat, InputFormatFactory, RecordingSource, SourceSpec,
};
use wearlang_store::{ReadOptions, StoreReader};

/// Semicolon-separated values: the CSV reader with another delimiter.
struct Ssv;

impl InputFormatFactory for Ssv {
    fn extensions(&self) -> Vec<String> {
        vec!["ssv".into()]
    }

    fn open(
        &self,
        path: &Path,
        root: Option<&Path>,
        spec: &SourceSpec,
    ) -> Result<Box<dyn RecordingSource>> {
        let spec = SourceSpec {
            delimiter: b';',
            ..spec.clone()
        };
        Ok(Box::new(CsvSource::open(path, root, &spec)?))
    }
}

fn register() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| register_input_format("ssv", Arc::new(Ssv)).unwrap());
}

fn read(path: &Path) -> Vec<Window> {
    StoreReader::open(path)
        .unwrap()
        .read_all(ReadOptions::default())
        .unwrap()
}

fn opts(path: &Path) -> IngestOptions {
    let mut o = IngestOptions::new(path);
    o.columns.subject = Some("subject".into());
    o.columns.recording = Some("recording".into());
    o.columns.label = Some("label".into());
    o
}

#[test]
fn a_registered_format_ingests_like_the_built_in_one() {
    register();
    assert!(registered_input_formats().contains(&"ssv".to_string()));
    let dir = tempfile::tempdir().unwrap();
    let t = table(3, 2, 400);
    let csv = dir.path().join("d.csv");
    write_csv(&t, &csv);
    let ssv_dir = dir.path().join("vendor");
    std::fs::create_dir(&ssv_dir).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap().replace(',', ";");
    std::fs::write(ssv_dir.join("export.ssv"), text).unwrap();
    std::fs::write(ssv_dir.join("notes.md"), "not data").unwrap();

    // `auto` finds it in a directory by its extension.
    let files = list_files(&ssv_dir, InputFormat::Auto).unwrap();
    assert_eq!(files, vec![ssv_dir.join("export.ssv")]);

    let a = dir.path().join("a.parquet");
    let b = dir.path().join("b.parquet");
    ingest(&opts(&csv), &a).unwrap();
    let mut o = opts(&ssv_dir);
    // Named like a built-in, in a manifest (TOML) or on the command line.
    o.input.format = toml::from_str::<toml::Value>("f = \"ssv\"")
        .unwrap()
        .get("f")
        .unwrap()
        .clone()
        .try_into()
        .unwrap();
    assert_eq!(o.input.format, InputFormat::Registered("ssv"));
    assert_eq!(InputFormat::parse("ssv").unwrap(), o.input.format);
    ingest(&o, &b).unwrap();
    let (wa, wb) = (read(&a), read(&b));
    assert!(!wa.is_empty());
    assert_eq!(wa.len(), wb.len());
    for (x, y) in wa.iter().zip(&wb) {
        assert_eq!(
            (&x.subject, x.start_ms, &x.label),
            (&y.subject, y.start_ms, &y.label)
        );
        assert_eq!(x.missing, y.missing);
        for (u, v) in x.values.iter().zip(&y.values) {
            assert!(u.to_bits() == v.to_bits() || (u.is_nan() && v.is_nan()));
        }
    }
}

#[test]
fn bad_names_are_errors_that_say_what_to_do() {
    register();
    let err = register_input_format("ssv", Arc::new(Ssv)).unwrap_err();
    assert!(err.to_string().contains("already registered"), "{err}");
    let err = register_input_format("parquet", Arc::new(Ssv)).unwrap_err();
    assert!(err.to_string().contains("built-in"), "{err}");
    let err = InputFormat::parse("xlsx").unwrap_err().to_string();
    assert!(
        err.contains("xlsx") && err.contains("ssv") && err.contains("register_input_format"),
        "{err}"
    );
}
