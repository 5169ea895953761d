//! Input formats registered from outside the crate: a JSON-lines reader
//! (one object per line, fields as columns, its own `RecordingSource`) and
//! a vendor's semicolon-separated export (the CSV reader with another
//! delimiter) ingest through `ingest()` to exactly the windows of the same
//! data as CSV, are found in directories by their extensions under `auto`,
//! and are named as `format = "<name>"` in a manifest; bad names are errors
//! that say what to do.
mod common;

use common::{table, write_csv, Table};
use serde_json::{Map, Value};
use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use wearlang_core::{ChannelSpec, Error, Location, Result, SplitSpec, Window};
use wearlang_ingest::{
    ingest, list_files, register_input_format, registered_input_formats, ChannelOption, CsvSource,
    IngestOptions, InputFormat, InputFormatFactory, Recording, RecordingSource, SourceSpec,
    TimeUnit, Timing,
};
use wearlang_store::{ReadOptions, StoreReader};

/// JSON lines (`.jsonl`, `.ndjson`).
struct JsonLines;

impl InputFormatFactory for JsonLines {
    fn extensions(&self) -> Vec<String> {
        vec!["jsonl".into(), "ndjson".into()]
    }

    fn open(
        &self,
        path: &Path,
        root: Option<&Path>,
        spec: &SourceSpec,
    ) -> Result<Box<dyn RecordingSource>> {
        Ok(Box::new(JsonLinesSource::open(path, root, spec)?))
    }
}

/// A vendor's `.json` export (JSON lines too). It claims `json`, which is
/// otherwise skipped as a manifest, and `csv`, which stays with CSV.
struct VendorJson;

impl InputFormatFactory for VendorJson {
    fn extensions(&self) -> Vec<String> {
        vec![".JSON".into(), "csv".into()]
    }

    fn open(
        &self,
        path: &Path,
        root: Option<&Path>,
        spec: &SourceSpec,
    ) -> Result<Box<dyn RecordingSource>> {
        Ok(Box::new(JsonLinesSource::open(path, root, spec)?))
    }
}

/// Semicolon-separated values (`.ssv`): the CSV reader with another
/// delimiter.
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

/// Register the test formats once for the whole test binary.
fn setup() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        register_input_format("jsonl", Arc::new(JsonLines)).unwrap();
        register_input_format("vendor-json", Arc::new(VendorJson)).unwrap();
        register_input_format("ssv", Arc::new(Ssv)).unwrap();
    });
}

/// Column names the built-in readers take as the time column.
const TIME_NAMES: [&str; 4] = ["timestamp", "time", "ts", "datetime"];

/// A JSON-lines file read as recordings: the whole file at once, one part
/// per recording. Honours the spec as the built-in readers do: the time
/// column (named, found by name, or a fixed rate) and its unit, subject /
/// recording / label columns, channels (named, or every numeric field of
/// the first object without another role), default keys, and `scan_only`.
/// Rows are line numbers.
struct JsonLinesSource {
    channels: Arc<[ChannelSpec]>,
    parts: VecDeque<Recording>,
}

/// How one object's time is read.
enum Time {
    Column(String),
    Fixed(f64),
}

impl JsonLinesSource {
    fn open(path: &Path, root: Option<&Path>, spec: &SourceSpec) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut rows: Vec<(u64, Map<String, Value>)> = Vec::new();
        for (row, line) in (1u64..).zip(text.lines()) {
            if line.trim().is_empty() {
                continue;
            }
            let obj = serde_json::from_str(line).map_err(|e| {
                Error::data(
                    Location::file(path).row(row),
                    format!("not a JSON object: {e}"),
                )
            })?;
            rows.push((row, obj));
        }
        let Some((_, first)) = rows.first() else {
            return Err(Error::data(Location::file(path), "no data rows"));
        };
        let has = |name: &str| -> Result<()> {
            if first.contains_key(name) {
                Ok(())
            } else {
                Err(Error::data(
                    Location::file(path).column(name),
                    "no such field in the first object",
                ))
            }
        };
        let time = match (&spec.time.column, spec.time.rate_hz) {
            (Some(c), _) => {
                has(c)?;
                Time::Column(c.clone())
            }
            (None, Some(r)) => Time::Fixed(r),
            (None, None) => match first
                .keys()
                .find(|k| TIME_NAMES.contains(&k.to_ascii_lowercase().as_str()))
            {
                Some(k) => Time::Column(k.clone()),
                None => {
                    return Err(Error::data(
                        Location::file(path),
                        "no timestamp field and no source rate",
                    ))
                }
            },
        };
        for c in [
            &spec.subject_column,
            &spec.recording_column,
            &spec.label_column,
        ]
        .into_iter()
        .flatten()
        {
            has(c)?;
        }
        let label_column = spec.label_column.as_ref().filter(|_| !spec.scan_only);
        let taken = |k: &String| {
            matches!(&time, Time::Column(c) if c == k)
                || [
                    &spec.subject_column,
                    &spec.recording_column,
                    &spec.label_column,
                ]
                .iter()
                .any(|r| r.as_ref() == Some(k))
        };
        let (names, specs): (Vec<String>, Vec<ChannelSpec>) = if spec.scan_only {
            (Vec::new(), Vec::new())
        } else if spec.channels.is_empty() {
            first
                .iter()
                .filter(|(k, v)| !taken(k) && v.is_number())
                .map(|(k, _)| (k.clone(), ChannelOption::new(k.clone()).spec()))
                .unzip()
        } else {
            for c in &spec.channels {
                has(&c.name)?;
            }
            spec.channels
                .iter()
                .map(|c| (c.name.clone(), c.spec()))
                .unzip()
        };
        let channels: Arc<[ChannelSpec]> = specs.into();
        let factor = match &time {
            Time::Fixed(_) => 1.0,
            Time::Column(c) => match spec.time.unit {
                TimeUnit::Ms => 1.0,
                TimeUnit::S => 1000.0,
                TimeUnit::Iso8601 => {
                    return Err(Error::data(
                        Location::file(path).column(c.clone()),
                        "this reader reads numeric timestamps only",
                    ))
                }
                // As the built-in readers decide it from the first values.
                TimeUnit::Auto => {
                    let ts: Vec<f64> = rows
                        .iter()
                        .take(1000)
                        .filter_map(|(_, o)| o.get(c).and_then(Value::as_f64))
                        .collect();
                    let max = ts.iter().fold(0f64, |a, &b| a.max(b.abs()));
                    let min = ts.iter().fold(f64::INFINITY, |a, &b| a.min(b.abs()));
                    if max >= 1e11 {
                        1.0
                    } else if ts.iter().any(|v| v.fract() != 0.0) || min >= 1e8 {
                        1000.0
                    } else {
                        1.0
                    }
                }
            },
        };
        let (default_subject, default_recording) = spec.default_keys(path, root);
        let key_of =
            |row: u64, o: &Map<String, Value>, col: &Option<String>, default: &str| match col {
                None => Ok(default.to_string()),
                Some(c) => match o.get(c) {
                    Some(Value::String(s)) => Ok(s.trim().to_string()),
                    Some(Value::Number(n)) => Ok(n.to_string()),
                    _ => Err(Error::data(
                        Location::file(path).row(row).column(c.clone()),
                        "expected a string",
                    )),
                },
            };
        let mut parts: VecDeque<Recording> = VecDeque::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        for (row, o) in &rows {
            let row = *row;
            let subject = key_of(row, o, &spec.subject_column, &default_subject)?;
            let recording = key_of(row, o, &spec.recording_column, &default_recording)?;
            let same = parts
                .back()
                .is_some_and(|p| p.subject == subject && p.recording == recording);
            if !same {
                if !seen.insert((subject.clone(), recording.clone())) {
                    return Err(Error::data(
                        Location::file(path).row(row),
                        format!("recording '{recording}' of subject '{subject}' appears again"),
                    ));
                }
                parts.push_back(Recording {
                    file: path.to_path_buf(),
                    first_row: row,
                    subject,
                    recording,
                    channels: channels.clone(),
                    n: 0,
                    timing: match &time {
                        Time::Column(_) => Timing::Timestamps(Vec::new()),
                        Time::Fixed(r) => Timing::Fixed {
                            start_ms: 0.0,
                            rate_hz: *r,
                        },
                    },
                    values: Vec::new(),
                    labels: Vec::new(),
                    last: true,
                    rows: Vec::new(),
                });
            }
            let part = parts.back_mut().expect("a part was pushed");
            if let (Time::Column(c), Timing::Timestamps(ts)) = (&time, &mut part.timing) {
                let at = Location::file(path).row(row).column(c.clone());
                let t = o
                    .get(c)
                    .and_then(Value::as_f64)
                    .ok_or_else(|| Error::data(at.clone(), "missing timestamp"))?
                    * factor;
                if ts.last().is_some_and(|&prev| t <= prev) {
                    return Err(Error::data(at, "timestamps must increase"));
                }
                ts.push(t);
            }
            for name in &names {
                let v = match o.get(name) {
                    None | Some(Value::Null) => f32::NAN,
                    Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN) as f32,
                    Some(other) => {
                        return Err(Error::data(
                            Location::file(path).row(row).column(name.clone()),
                            format!("not a number: {other}"),
                        ))
                    }
                };
                part.values.push(v);
            }
            if let Some(c) = label_column {
                let label = o
                    .get(c)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(Arc::<str>::from);
                part.labels.push(label);
            }
            part.n += 1;
        }
        Ok(Self { channels, parts })
    }
}

impl RecordingSource for JsonLinesSource {
    fn channels(&self) -> &[ChannelSpec] {
        &self.channels
    }

    fn next_part(&mut self) -> Result<Option<Recording>> {
        Ok(self.parts.pop_front())
    }
}

/// `t` as JSON lines with the columns of `write_csv` (NaN as `null`).
fn write_jsonl(t: &Table, path: &Path) {
    let mut s = String::new();
    for i in 0..t.t.len() {
        let o = serde_json::json!({
            "timestamp": t.t[i],
            "subject": t.subject[i],
            "recording": t.recording[i],
            "label": t.label[i],
            "ax": t.ax[i],
            "ay": if t.ay[i].is_nan() { Value::Null } else { t.ay[i].into() },
        });
        s += &o.to_string();
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

fn read(path: &Path) -> Vec<Window> {
    StoreReader::open(path)
        .unwrap()
        .read_all(ReadOptions {
            batch_size: 256,
            split: None,
            normalise: false,
        })
        .unwrap()
}

/// The same windows: keys, times, labels, splits, values and masks.
fn same(a: &[Window], b: &[Window]) {
    assert_eq!(a.len(), b.len());
    assert!(!a.is_empty());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            (&x.subject, &x.recording, x.start_ms, &x.label, x.split),
            (&y.subject, &y.recording, y.start_ms, &y.label, y.split)
        );
        assert_eq!(x.missing, y.missing);
        assert_eq!(x.values.len(), y.values.len());
        for (u, v) in x.values.iter().zip(&y.values) {
            assert!(u == v || (u.is_nan() && v.is_nan()), "{u} vs {v}");
        }
    }
}

fn opts(path: &Path) -> IngestOptions {
    let mut o = IngestOptions::new(path);
    o.columns.subject = Some("subject".into());
    o.columns.recording = Some("recording".into());
    o.columns.label = Some("label".into());
    o.columns.channels = vec![
        ChannelOption::parse("ax:g:accelerometer").unwrap(),
        ChannelOption::parse("ay:g:accelerometer").unwrap(),
    ];
    o.split = SplitSpec::SubjectRatios {
        train: 0.5,
        val: 0.25,
        seed: 7,
    };
    o
}

#[test]
fn a_registered_format_ingests_to_the_windows_of_the_same_csv() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let t = table(4, 2, 777);
    let (c, j) = (dir.path().join("d.csv"), dir.path().join("d.jsonl"));
    write_csv(&t, &c);
    write_jsonl(&t, &j);
    let (oc, oj) = (dir.path().join("c.parquet"), dir.path().join("j.parquet"));
    let sc = ingest(&opts(&c), &oc).unwrap();
    // `auto` opens `.jsonl` with the registered reader.
    let sj = ingest(&opts(&j), &oj).unwrap();
    assert_eq!((sj.files, sj.recordings, sj.rows), (1, 8, 8 * 777));
    assert_eq!(sc.store, sj.store);
    let (wc, wj) = (read(&oc), read(&oj));
    same(&wc, &wj);
    assert_eq!(wj[0].values[0], t.ax[0]);
    assert!(
        wj[0].missing[2 * 5 + 1],
        "the null at sample 5 stays missing"
    );
    // Same normalisation (fitted on the same training windows).
    let meta = |p: &Path| StoreReader::open(p).unwrap().meta().clone();
    assert_eq!(meta(&oc).normalisation, meta(&oj).normalisation);
    assert_eq!(meta(&oj).extra["ingest"]["input"]["format"], "auto");
}

#[test]
fn a_csv_variant_reuses_the_csv_reader() {
    setup();
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
    let files = list_files(&ssv_dir, &InputFormat::Auto).unwrap();
    assert_eq!(files, vec![ssv_dir.join("export.ssv")]);
    let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    ingest(&opts(&csv), &a).unwrap();
    let mut o = opts(&ssv_dir);
    o.input.format = InputFormat::parse("ssv").unwrap();
    assert_eq!(o.input.format, InputFormat::Custom("ssv".into()));
    ingest(&o, &b).unwrap();
    same(&read(&a), &read(&b));
}

#[test]
fn a_registered_format_is_named_in_a_manifest_and_on_the_command_line() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let t = table(3, 1, 500);
    let c = dir.path().join("d.csv");
    write_csv(&t, &c);
    // An extension no format claims: only the name says how to read it.
    write_jsonl(&t, &dir.path().join("export.dat"));
    let manifest = r#"
[input]
path = "export.dat"
format = "jsonl"
[columns]
subject = "subject"
recording = "recording"
label = "label"
channels = [
    { name = "ax", unit = "g", kind = "accelerometer" },
    { name = "ay", unit = "g", kind = "accelerometer" },
]
[split]
kind = "subject_ratios"
train = 0.5
val = 0.25
seed = 7
"#;
    let o = IngestOptions::from_toml(manifest, dir.path(), &dir.path().join("m.toml")).unwrap();
    assert_eq!(o.input.format, InputFormat::Custom("jsonl".into()));
    // Written back under its name.
    let text = toml::to_string(&o).unwrap();
    assert!(text.contains("format = \"jsonl\""), "{text}");
    assert_eq!(
        toml::from_str::<IngestOptions>(&text).unwrap().input.format,
        o.input.format
    );
    // As `--format` gives it (case-insensitive, like the built-in names).
    assert_eq!(InputFormat::parse("JSONL").unwrap(), o.input.format);
    assert_eq!("jsonl".parse::<InputFormat>().unwrap(), o.input.format);
    assert_eq!(o.input.format.to_string(), "jsonl");
    // Built-in names keep their spelling.
    for (name, f) in [
        ("auto", InputFormat::Auto),
        ("csv", InputFormat::Csv),
        ("parquet", InputFormat::Parquet),
        ("ipc", InputFormat::Ipc),
    ] {
        assert_eq!(f.name(), name);
        assert_eq!(InputFormat::parse(name).unwrap(), f);
    }
    let (oc, oj) = (dir.path().join("c.parquet"), dir.path().join("j.parquet"));
    ingest(&opts(&c), &oc).unwrap();
    ingest(&o, &oj).unwrap();
    same(&read(&oc), &read(&oj));
    let meta = StoreReader::open(&oj).unwrap().meta().clone();
    assert_eq!(meta.extra["ingest"]["input"]["format"], "jsonl");
}

#[test]
fn a_directory_lists_the_files_of_registered_extensions() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let (cdir, jdir) = (dir.path().join("csv"), dir.path().join("jsonl"));
    // One recording per file, subjects from sub-directory names or stems.
    let layout = [("s0", 0usize), ("sub/s1", 1), ("sub/s2", 2)];
    for (stem, k) in layout {
        let mut t = table(1, 1, 300 + 50 * k);
        t.label.iter_mut().for_each(|l| *l = "walk".into());
        for d in [&cdir, &jdir] {
            std::fs::create_dir_all(d.join("sub")).unwrap();
        }
        write_csv(&t, &cdir.join(format!("{stem}.csv")));
        let ext = if k == 1 { "ndjson" } else { "jsonl" };
        write_jsonl(&t, &jdir.join(format!("{stem}.{ext}")));
    }
    std::fs::write(jdir.join("README.md"), "not data").unwrap();
    std::fs::write(jdir.join("manifest.toml"), "[input]\nformat = 'jsonl'\n").unwrap();
    std::fs::write(jdir.join("notes.xyz"), "unknown extension").unwrap();
    let files = list_files(&jdir, &InputFormat::Auto).unwrap();
    assert_eq!(
        files,
        vec![
            jdir.join("s0.jsonl"),
            jdir.join("sub/s1.ndjson"),
            jdir.join("sub/s2.jsonl")
        ]
    );
    // Named explicitly, every file but the manifest and the README.
    let named = list_files(&jdir, &InputFormat::Custom("jsonl".into())).unwrap();
    assert_eq!(named.len(), 4);
    assert!(named.contains(&jdir.join("notes.xyz")));
    let dir_opts = |p: &Path| {
        let mut o = opts(p);
        o.columns.subject = None;
        o.columns.recording = None;
        o
    };
    let (oc, oj) = (dir.path().join("c.parquet"), dir.path().join("j.parquet"));
    ingest(&dir_opts(&cdir), &oc).unwrap();
    let s = ingest(&dir_opts(&jdir), &oj).unwrap();
    assert_eq!((s.files, s.recordings), (3, 3));
    let ws = read(&oj);
    let subjects: std::collections::BTreeSet<&str> =
        ws.iter().map(|w| w.subject.as_str()).collect();
    assert_eq!(subjects, ["s0", "sub"].into_iter().collect());
    same(&read(&oc), &ws);
    // Without files of any format the error lists the registered ones.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.xyz"), "x").unwrap();
    let e = list_files(&empty, &InputFormat::Auto)
        .unwrap_err()
        .to_string();
    assert!(e.contains("jsonl (.jsonl, .ndjson)"), "{e}");
}

#[test]
fn a_claimed_extension_is_data_and_built_in_extensions_win_under_auto() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&table(1, 1, 300), &dir.path().join("a.json"));
    write_csv(&table(1, 1, 300), &dir.path().join("b.csv"));
    std::fs::write(dir.path().join("manifest.toml"), "").unwrap();
    // `vendor-json` claims `json` (else skipped as a manifest) and `csv`
    // (which stays with CSV).
    assert_eq!(
        list_files(dir.path(), &InputFormat::Auto).unwrap(),
        vec![dir.path().join("a.json"), dir.path().join("b.csv")]
    );
    assert_eq!(
        InputFormat::Auto.resolve(&dir.path().join("a.JSON")),
        Some(InputFormat::Custom("vendor-json".into()))
    );
    assert_eq!(
        InputFormat::Auto.resolve(&dir.path().join("b.csv")),
        Some(InputFormat::Csv)
    );
    assert_eq!(InputFormat::Auto.resolve(&dir.path().join("b.xyz")), None);
    // A built-in format does not claim `json`: skipped as before.
    assert_eq!(
        list_files(dir.path(), &InputFormat::Csv).unwrap(),
        vec![dir.path().join("b.csv")]
    );
}

#[test]
fn errors_of_a_registered_reader_name_file_row_and_column() {
    setup();
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("bad.jsonl");
    let t = table(1, 1, 300);
    write_jsonl(&t, &j);
    let text = std::fs::read_to_string(&j).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[2] = lines[2].replace("\"ax\":", "\"ax\":\"x\",\"was\":");
    std::fs::write(&j, lines.join("\n")).unwrap();
    let e = ingest(&opts(&j), &dir.path().join("o.parquet"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.jsonl") && e.contains("row 3") && e.contains("column 'ax'"),
        "{e}"
    );
    assert!(!dir.path().join("o.parquet").exists());
}

#[test]
fn unregistered_names_are_errors_that_say_how_to_register() {
    setup();
    let e = InputFormat::parse("nope").unwrap_err().to_string();
    for part in [
        "'format'",
        "'nope'",
        "auto, csv, parquet, ipc",
        "jsonl (.jsonl, .ndjson)",
        "vendor-json",
        "wearlang_ingest::register_input_format",
    ] {
        assert!(e.contains(part), "{part}: {e}");
    }
    // In a manifest: the row of the value, the field and what to do.
    let text = "[input]\npath = \"d.dat\"\nformat = \"nope\"\n";
    let e = IngestOptions::from_toml(text, Path::new("."), Path::new("m.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("m.toml")
            && e.contains("row 3")
            && e.contains("'format'")
            && e.contains("register_input_format"),
        "{e}"
    );
    // Set in code: the ingest stops before reading anything.
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("d.csv");
    write_csv(&table(1, 1, 300), &c);
    let mut o = opts(&c);
    o.input.format = InputFormat::Custom("nope".into());
    let e = ingest(&o, &dir.path().join("o.parquet"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'input.format'")
            && e.contains("unknown input format `nope`")
            && e.contains("jsonl")
            && e.contains("register_input_format"),
        "{e}"
    );
    // A file whose extension no format claims.
    let x = dir.path().join("d.xyz");
    std::fs::copy(&c, &x).unwrap();
    let e = ingest(&opts(&x), &dir.path().join("o.parquet"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("d.xyz")
            && e.contains("unknown file format")
            && e.contains("jsonl (.jsonl, .ndjson)"),
        "{e}"
    );
    let mut o = opts(&c);
    o.streams.push(wearlang_ingest::StreamOptions {
        path: c.clone(),
        format: InputFormat::Custom("nope".into()),
        time: Default::default(),
        channels: vec![],
        max_interp_gap_s: None,
    });
    let e = o.validate().unwrap_err().to_string();
    assert!(e.contains("'streams[0].format'"), "{e}");
}

#[test]
fn a_name_is_registered_once() {
    setup();
    let e = register_input_format("jsonl", Arc::new(JsonLines))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'format'") && e.contains("input format `jsonl` is already registered"),
        "{e}"
    );
    // The first registration stays.
    assert_eq!(
        InputFormat::parse("jsonl").unwrap(),
        InputFormat::Custom("jsonl".into())
    );
    let names = registered_input_formats();
    assert!(names.contains(&"jsonl".to_string()), "{names:?}");
}

#[test]
fn built_in_names_cannot_be_registered() {
    setup();
    for name in [
        "auto", "csv", "tsv", "parquet", "pq", "ipc", "arrow", "feather", "CSV",
    ] {
        let e = register_input_format(name, Arc::new(JsonLines))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'format'") && e.contains("built-in"),
            "{name}: {e}"
        );
    }
    for name in ["", "Vendor", "a b", "-x"] {
        let e = register_input_format(name, Arc::new(JsonLines))
            .unwrap_err()
            .to_string();
        assert!(e.contains("lower-case"), "{name:?}: {e}");
    }
    // The built-in names still mean the built-in formats.
    assert_eq!(InputFormat::parse("csv").unwrap(), InputFormat::Csv);
    let names = registered_input_formats();
    assert!(
        names
            .iter()
            .all(|n| n != "csv" && n != "auto" && n != "vendor"),
        "{names:?}"
    );
}
