//! The Actiwatch `.AWD` reader: synthetic files (CRLF, markers, 15/30/60 s
//! epochs, devices with and without a second channel), every error it
//! names a line for, and, when `cargo xtask setup` has put them into the
//! cache, the real recordings of pyActigraphy 1.2.2 ingested into day
//! windows with `fixtures/actigraphy/manifest.toml`.
//!
//! The real files are never committed (GPL-3.0): without them the last
//! test says so and passes.
use std::path::{Path, PathBuf};
use wearlang_core::{ChannelKind, SplitSpec};
use wearlang_ingest::{
    epoch_seconds, list_files, open_source, AwdSource, ChannelOption, IngestOptions, InputFormat,
    RecordingSource, SourceSpec, Timing,
};

mod common;
use common::{ingest_and_read, read_windows};

/// An AWD text: the seven header lines and `rows`, CRLF line ends.
fn awd(date: &str, time: &str, code: &str, serial: &str, rows: &[String]) -> String {
    let mut lines = vec![
        "demo".to_string(),
        date.into(),
        time.into(),
        format!(" {code} "),
        "00".into(),
        serial.into(),
        "M".into(),
    ];
    lines.extend(rows.iter().cloned());
    lines.join("\r\n") + "\r\n"
}

/// Day-window options for the file or directory `input`: one-minute steps,
/// 1440-minute windows without overlap, subjects split train / val / test.
fn day_options(input: &Path) -> IngestOptions {
    let mut o = IngestOptions::new(input);
    o.window.rate_hz = 1.0 / 60.0;
    o.window.size_s = 86_400.0;
    o.window.overlap = 0.0;
    o.split = SplitSpec::SubjectRatios {
        train: 0.5,
        val: 0.25,
        seed: 0,
    };
    o
}

/// Open `path` with the options of `o` and return the AWD reader's error.
fn open_err(path: &Path, o: &IngestOptions) -> String {
    match open_source(path, None, &SourceSpec::main(o)) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn minute_epochs_become_day_windows_with_markers_dropped() {
    let dir = tempfile::tempdir().unwrap();
    // Two subjects × 3.5 days of 60-s epochs, Actiwatch 4 (activity only),
    // some rows with a marker.
    let n = 1440 * 7 / 2;
    for s in 0..4 {
        let rows: Vec<String> = (0..n)
            .map(|i| {
                let v = (i % 1440) + s;
                if i % 500 == 7 {
                    format!("{v} M")
                } else {
                    v.to_string()
                }
            })
            .collect();
        let text = awd("02-Mar-2020", "13:58", "4", "V664055", &rows);
        std::fs::write(dir.path().join(format!("p{s}.AWD")), text).unwrap();
    }
    let o = day_options(dir.path());
    let out = dir.path().join("days.parquet");
    let (summary, windows) = ingest_and_read(&o, &out);
    assert_eq!(summary.files, 4);
    assert_eq!(summary.rows, 4 * n as u64);
    assert_eq!(windows.len(), 4 * 3, "three whole days per file");
    let start = (18_323.0 * 86_400.0 + 13.0 * 3600.0 + 58.0 * 60.0) * 1000.0;
    for w in &windows {
        assert_eq!((w.values.len(), w.channels), (1440, 1));
        assert!(w.missing.iter().all(|m| !m));
        let s: f32 = w.subject[1..].parse().unwrap();
        let day = ((w.start_ms as f64 - start) / 86_400_000.0).round() as usize;
        assert!(day < 3, "{}", w.start_ms);
        assert_eq!(w.start_ms as f64, start + day as f64 * 86_400_000.0);
        // Epoch i of the day holds (i % 1440) + subject.
        for (i, v) in w.values.iter().enumerate() {
            assert_eq!(*v, i as f32 + s, "{} minute {i}", w.subject);
        }
    }
    let meta = wearlang_store::StoreReader::open(&out)
        .unwrap()
        .meta()
        .clone();
    assert_eq!(meta.window_len, 1440);
    assert_eq!(meta.channels.len(), 1);
    assert_eq!(meta.channels[0].name, "activity");
    assert_eq!(meta.channels[0].kind, ChannelKind::ActivityIntensity);
    assert_eq!(meta.channels[0].group, "Activity");
}

#[test]
fn shorter_epochs_are_averaged_to_minutes_and_the_second_channel_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // Actiwatch L (light) at 30-s epochs, a day and a bit, "9:00:00 PM".
    let rows: Vec<String> = (0..3000)
        .map(|i| format!("{} , {}{}", i, 2 * i, if i == 5 { " M" } else { "" }))
        .collect();
    let path = dir.path().join("light.awd");
    std::fs::write(
        &path,
        awd("31-Dec-1999", "09:00:00 PM", "2", "L11FFFF220", &rows),
    )
    .unwrap();
    let o = day_options(&path);
    let src = AwdSource::open(&path, None, &SourceSpec::main(&o)).unwrap();
    assert_eq!(src.header().epoch_s, 30.0);
    assert_eq!(src.header().device, "Actiwatch L");
    let names: Vec<&str> = src.channels().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["activity", "light"]);
    let mut src = open_source(&path, None, &SourceSpec::main(&o)).unwrap();
    let part = src.next_part().unwrap().unwrap();
    assert!(src.next_part().unwrap().is_none(), "one part");
    assert_eq!((part.n, part.first_row), (3000, 8));
    assert_eq!(part.subject, "light");
    let start = (10_956.0 * 86_400.0 + 21.0 * 3600.0) * 1000.0;
    assert_eq!(
        part.timing,
        Timing::Fixed {
            start_ms: start,
            rate_hz: 1.0 / 30.0
        }
    );
    assert_eq!(&part.values[10..12], &[5.0, 10.0]);

    let out = dir.path().join("light.parquet");
    let mut o = day_options(&path);
    o.split = SplitSpec::TimeRatios {
        train: 1.0,
        val: 0.0,
    };
    let (_, windows) = ingest_and_read(&o, &out);
    assert_eq!(windows.len(), 1);
    let w = &windows[0];
    assert_eq!(w.channels, 2);
    // Minute k is centred on epoch 2k, its bin [2k − 1, 2k + 1) of epochs:
    // the mean of epochs 2k − 1 and 2k (minute 0 has epoch 0 only).
    assert_eq!(&w.values[..2], &[0.0, 0.0]);
    for k in 1..1440 {
        let mean = (2 * k) as f32 - 0.5;
        assert_eq!(w.values[2 * k], mean, "activity minute {k}");
        assert_eq!(w.values[2 * k + 1], 2.0 * mean, "light minute {k}");
    }
}

#[test]
fn channels_are_picked_and_described_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = (0..10).map(|i| format!("{i} , 36.5")).collect();
    let path = dir.path().join("t.AWD");
    std::fs::write(
        &path,
        awd("10-Oct-2002", "17:34", "C2", "T4460210140", &rows),
    )
    .unwrap();
    let mut o = day_options(&path);
    let src = AwdSource::open(&path, None, &SourceSpec::main(&o)).unwrap();
    assert_eq!(src.header().epoch_s, 10.0);
    let kinds: Vec<ChannelKind> = src.channels().iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [ChannelKind::ActivityIntensity, ChannelKind::SkinTemperature]
    );
    o.columns.channels = vec![ChannelOption::parse("temperature:C:skin_temperature").unwrap()];
    let mut src = open_source(&path, None, &SourceSpec::main(&o)).unwrap();
    assert_eq!(src.channels().len(), 1);
    assert_eq!(src.channels()[0].unit, "C");
    let part = src.next_part().unwrap().unwrap();
    assert_eq!(part.values, vec![36.5; 10]);
    o.columns.channels = vec![ChannelOption::new("light")];
    let e = open_err(&path, &o);
    assert!(
        e.contains("no channel 'light'") && e.contains("activity, temperature"),
        "{e}"
    );
}

#[test]
fn extensions_are_found_in_any_case_and_the_name_parses() {
    let dir = tempfile::tempdir().unwrap();
    let text = awd("01-Jan-2018", "08:30", "4", "V0", &["1".to_string()]);
    for name in ["a.AWD", "b.awd", "c.Awd", "notes.txt.bak"] {
        std::fs::write(dir.path().join(name), &text).unwrap();
    }
    let files = list_files(dir.path(), &InputFormat::Auto).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["a.AWD", "b.awd", "c.Awd"]);
    assert_eq!(InputFormat::Auto.resolve(&files[0]), Some(InputFormat::Awd));
    assert_eq!(InputFormat::parse("AWD").unwrap(), InputFormat::Awd);
    assert_eq!(InputFormat::Awd.name(), "awd");
    assert!(wearlang_ingest::register_input_format("awd", std::sync::Arc::new(Dummy)).is_err());
    assert_eq!(epoch_seconds("20"), Some(300.0));
}

/// A format that must not be registered under a built-in name.
struct Dummy;

impl wearlang_ingest::InputFormatFactory for Dummy {
    fn extensions(&self) -> Vec<String> {
        vec![]
    }
    fn open(
        &self,
        _: &Path,
        _: Option<&Path>,
        _: &SourceSpec,
    ) -> wearlang_core::Result<Box<dyn wearlang_ingest::RecordingSource>> {
        unreachable!()
    }
}

#[test]
fn bad_files_are_errors_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let ok = rows(&["1", "2", "3"]);
    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "short",
            "name\r\n01-Jan-2018\r\n08:30\r\n".into(),
            "row 4",
            "short AWD header: 3 line(s)",
        ),
        (
            "date",
            awd("2018-01-01", "08:30", "4", "V0", &ok),
            "row 2",
            "start date is not dd-Mon-yyyy",
        ),
        (
            "month",
            awd("01-Foo-2018", "08:30", "4", "V0", &ok),
            "row 2",
            "'01-Foo-2018'",
        ),
        (
            "time",
            awd("01-Jan-2018", "8h30", "4", "V0", &ok),
            "row 3",
            "start time is not hh:mm",
        ),
        (
            "code",
            awd("01-Jan-2018", "08:30", "7", "V0", &ok),
            "row 4",
            "unknown epoch code '7'",
        ),
        (
            "number",
            awd("01-Jan-2018", "08:30", "4", "V0", &rows(&["1", "2", "x3"])),
            "row 10",
            "activity value 'x3' is not a number",
        ),
        (
            "light_number",
            awd(
                "01-Jan-2018",
                "08:30",
                "4",
                "P4",
                &rows(&["1 , 2", "2 , 1e999"]),
            ),
            "row 9",
            "light value '1e999' is not a number",
        ),
        (
            "extra",
            awd("01-Jan-2018", "08:30", "4", "V0", &rows(&["1", "2 , 5"])),
            "row 9",
            "2 value(s) where a file of Actiwatch 4 (serial V0) has 1 (activity)",
        ),
        (
            "missing",
            awd("01-Jan-2018", "08:30", "4", "L1", &rows(&["1 , 2", "3"])),
            "row 9",
            "1 value(s) where a file of Actiwatch L (serial L1) has 2 (activity, light)",
        ),
        (
            "empty",
            awd("01-Jan-2018", "08:30", "4", "V0", &rows(&["1", "", "3"])),
            "row 9",
            "0 value(s)",
        ),
        (
            "nodata",
            awd("01-Jan-2018", "08:30", "4", "V0", &[]),
            "row 8",
            "no data lines",
        ),
    ];
    let o = day_options(dir.path());
    for (name, text, row, what) in cases {
        let path = dir.path().join(format!("{name}.AWD"));
        std::fs::write(&path, text).unwrap();
        let e = open_err(&path, &o);
        assert!(
            e.contains(&path.display().to_string()) && e.contains(row) && e.contains(what),
            "{name}: {e}"
        );
        // Through the whole pipeline too: an error, no store.
        let out = dir.path().join(format!("{name}.parquet"));
        let e = wearlang_ingest::ingest(&day_options(&path), &out)
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "{name}: {e}");
        assert!(!out.exists());
    }
}

#[test]
fn a_rate_from_the_options_serves_unknown_codes_and_must_agree_with_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ok: Vec<String> = (0..5).map(|i| i.to_string()).collect();
    let unknown = dir.path().join("u.AWD");
    std::fs::write(&unknown, awd("01-Jan-2018", "08:30", "99", "V0", &ok)).unwrap();
    let mut o = day_options(&unknown);
    o.time.rate_hz = Some(1.0 / 60.0);
    let src = AwdSource::open(&unknown, None, &SourceSpec::main(&o)).unwrap();
    assert!((src.header().epoch_s - 60.0).abs() < 1e-9);
    let known = dir.path().join("k.AWD");
    std::fs::write(&known, awd("01-Jan-2018", "08:30", "1", "V0", &ok)).unwrap();
    let e = open_err(&known, &o);
    assert!(
        e.contains("row 4") && e.contains("15 s epochs") && e.contains("time.rate_hz"),
        "{e}"
    );
    o.time.rate_hz = Some(1.0 / 15.0);
    assert!(AwdSource::open(&known, None, &SourceSpec::main(&o)).is_ok());
    // Options naming columns are refused: the file has none.
    let mut o = day_options(&known);
    o.columns.label = Some("label".into());
    let e = open_err(&known, &o);
    assert!(e.contains("columns.label = 'label'"), "{e}");
}

/// The extracted recordings where `cargo xtask setup` puts them: the cache
/// is `$WEARLANG_CACHE`, else `$XDG_CACHE_HOME/wearlang`, else
/// `~/.cache/wearlang` (as in `xtask/src/setup.rs`).
fn cached_recordings() -> Option<PathBuf> {
    let dir = common::cache_dir()?.join("data/pyactigraphy-1.2.2");
    dir.join(".complete").exists().then_some(dir)
}

#[test]
fn real_actiwatch_recordings_read_and_ingest_into_days() {
    let Some(dir) = cached_recordings() else {
        eprintln!(
            "note: skipped: no pyActigraphy recordings in the cache (run `cargo xtask setup`; \
             see fixtures/actigraphy/README.md)"
        );
        return;
    };
    let awd_dir = dir.join("awd");
    let files = list_files(&awd_dir, &InputFormat::Auto).unwrap();
    assert_eq!(files.len(), 14, "{files:?}");
    let o = day_options(&awd_dir);
    let mut rows = 0u64;
    for f in files
        .iter()
        .chain([&dir.join("derived/example_01_mask.AWD")])
    {
        let lines = std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        let mut src = open_source(f, None, &SourceSpec::main(&o)).unwrap();
        let part = src.next_part().unwrap().unwrap();
        assert_eq!(part.n, lines - 7, "{}", f.display());
        assert!(part.values.iter().all(|v| v.is_finite() && *v >= 0.0));
        if f.starts_with(&awd_dir) {
            rows += part.n as u64;
        }
    }
    let manifest =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/actigraphy/manifest.toml");
    let mut opts = IngestOptions::from_manifest(&manifest).unwrap();
    opts.input.path = Some(awd_dir.clone());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("days.parquet");
    let summary = wearlang_ingest::ingest(&opts, &out).unwrap();
    assert_eq!(summary.rows, rows);
    assert_eq!((summary.files, summary.recordings), (14, 14));
    assert_eq!(summary.store.window_len, 1440);
    assert_eq!(summary.store.subjects, 14);
    let windows = read_windows(&out);
    assert_eq!(windows.len(), summary.store.windows);
    assert!(windows.len() > 100, "{} days", windows.len());
    let mut splits = std::collections::BTreeMap::new();
    for w in &windows {
        assert_eq!(w.channels, 1);
        splits
            .entry(w.subject.clone())
            .or_insert_with(std::collections::BTreeSet::new)
            .insert(w.split);
    }
    assert!(splits.values().all(|s| s.len() == 1), "subject-wise split");
}
