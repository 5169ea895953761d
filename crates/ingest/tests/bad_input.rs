//! Bad input: every case gives an error naming the file (and row and column
//! where they apply), and leaves no output behind.
mod common;

use common::{batch, files_in, table, write_parquet};
use std::path::{Path, PathBuf};
use wearlang_core::Error;
use wearlang_ingest::{ingest, ChannelOption, IngestOptions, LabelsOptions};

/// Run an ingest that must fail; check nothing new is left in the
/// directory, and return the error.
fn fail(opts: &IngestOptions, dir: &Path) -> Error {
    let before = files_in(dir);
    let out = dir.join("out.parquet");
    let err = ingest(opts, &out).expect_err("ingest should fail");
    assert!(!out.exists(), "no store may be left behind");
    assert_eq!(
        files_in(dir),
        before,
        "no temporary files may be left behind"
    );
    err
}

fn csv_opts(path: &Path) -> IngestOptions {
    let mut o = IngestOptions::new(path);
    o.time.column = Some("timestamp".into());
    o.columns.channels = vec![ChannelOption::new("ax"), ChannelOption::new("ay")];
    o.split = wearlang_core::SplitSpec::TimeRatios {
        train: 0.6,
        val: 0.2,
    };
    o
}

fn rows(n: usize) -> String {
    let mut s = String::from("timestamp,ax,ay\n");
    for i in 0..n {
        s += &format!("{},{},{}\n", i * 20, i as f32 * 0.5, 1.0);
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn assert_names(e: &Error, file: &str, row: Option<u64>, column: Option<&str>) {
    let msg = e.to_string();
    assert!(msg.contains(file), "{msg} should name {file}");
    if let Some(r) = row {
        assert!(
            msg.contains(&format!("row {r}")),
            "{msg} should name row {r}"
        );
    }
    if let Some(c) = column {
        assert!(
            msg.contains(&format!("column '{c}'")),
            "{msg} should name column {c}"
        );
    }
}

#[test]
fn missing_or_misspelt_column_suggests_the_closest_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "data.csv", &rows(300));
    let mut o = csv_opts(&p);
    o.columns.channels[1] = ChannelOption::new("ayy");
    let e = fail(&o, dir.path());
    assert_names(&e, "data.csv", None, Some("ayy"));
    assert!(e.to_string().contains("did you mean 'ay'"), "{e}");
    // A misspelt time column too.
    let mut o = csv_opts(&p);
    o.time.column = Some("timestmp".into());
    let e = fail(&o, dir.path());
    assert!(e.to_string().contains("did you mean 'timestamp'"), "{e}");
}

#[test]
fn non_numeric_cell() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = rows(300);
    text = text.replacen("\n100,2.5,1\n", "\n100,fifty,1\n", 1);
    assert!(text.contains("fifty"));
    let p = write(dir.path(), "bad.csv", &text);
    let e = fail(&csv_opts(&p), dir.path());
    // header is row 1, the sample at 100 ms is the 6th data row → row 7
    assert_names(&e, "bad.csv", Some(7), Some("ax"));
    assert!(e.to_string().contains("fifty"));
}

#[test]
fn non_numeric_cell_deep_in_a_large_file_names_the_right_row() {
    let dir = tempfile::tempdir().unwrap();
    let n = 120_000; // several parse pieces
    let mut text = String::from("timestamp,ax,ay\n");
    for i in 0..n {
        if i == 100_000 {
            text += &format!("{},1,oops\n", i * 20);
        } else {
            text += &format!("{},{},{}\n", i * 20, i % 13, 0.5);
        }
    }
    let p = write(dir.path(), "big.csv", &text);
    let e = fail(&csv_opts(&p), dir.path());
    assert_names(&e, "big.csv", Some(100_002), Some("ay"));
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.csv", "");
    let e = fail(&csv_opts(&p), dir.path());
    assert_names(&e, "empty.csv", None, None);
    assert!(e.to_string().contains("empty file"), "{e}");
}

#[test]
fn header_only_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "header.csv", "timestamp,ax,ay\n");
    let e = fail(&csv_opts(&p), dir.path());
    assert_names(&e, "header.csv", None, None);
    assert!(e.to_string().contains("no data rows"), "{e}");
}

#[test]
fn wrong_number_of_fields() {
    let dir = tempfile::tempdir().unwrap();
    let text = rows(300).replacen("\n40,1,1\n", "\n40,1\n", 1);
    let p = write(dir.path(), "short.csv", &text);
    let e = fail(&csv_opts(&p), dir.path());
    assert_names(&e, "short.csv", Some(4), None);
}

#[test]
fn truncated_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cut.parquet");
    write_parquet(&batch(&table(1, 1, 500)), &p);
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let o = IngestOptions::new(&p);
    let e = fail(&o, dir.path());
    assert_names(&e, "cut.parquet", None, None);
    assert!(e.to_string().contains("Parquet"), "{e}");
}

#[test]
fn nan_is_missing_but_infinity_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = rows(300).replacen("\n40,1,1\n", "\n40,NaN,1\n", 1);
    let p = write(dir.path(), "nan.csv", &text);
    let out = dir.path().join("ok.parquet");
    let s = ingest(&csv_opts(&p), &out).unwrap();
    assert!(s.store.missing_fraction > 0.0);
    std::fs::remove_file(&out).unwrap();

    let text = rows(300).replacen("\n40,1,1\n", "\n40,inf,1\n", 1);
    let p = write(dir.path(), "inf.csv", &text);
    let e = fail(&csv_opts(&p), dir.path());
    assert_names(&e, "inf.csv", Some(4), Some("ax"));
    assert!(e.to_string().contains("infinite"), "{e}");
}

#[test]
fn duplicate_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let text = rows(300).replacen("\n60,1.5,1\n", "\n40,1.5,1\n", 1);
    let p = write(dir.path(), "dup.csv", &text);
    let e = fail(&csv_opts(&p), dir.path());
    assert_names(&e, "dup.csv", Some(5), Some("timestamp"));
    assert!(e.to_string().contains("duplicate"), "{e}");
}

#[test]
fn decreasing_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let text = rows(300).replacen("\n60,1.5,1\n", "\n10,1.5,1\n", 1);
    let p = write(dir.path(), "dec.csv", &text);
    let e = fail(&csv_opts(&p), dir.path());
    assert_names(&e, "dec.csv", Some(5), Some("timestamp"));
    assert!(e.to_string().contains("decreasing"), "{e}");
}

#[test]
fn mixed_timestamp_formats() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("timestamp,ax,ay\n");
    for i in 0..300 {
        let ms = 1_700_000_000_000i64 + i * 20;
        if i == 150 {
            text += "2023-11-14T22:13:23.000Z,1,1\n";
        } else {
            text += &format!("{ms},1,1\n");
        }
    }
    let p = write(dir.path(), "mixed.csv", &text);
    let e = fail(&csv_opts(&p), dir.path());
    assert_names(&e, "mixed.csv", Some(152), Some("timestamp"));
    assert!(e.to_string().contains("mixed timestamp formats"), "{e}");
}

#[test]
fn labels_file_that_does_not_overlap_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "data.csv", &rows(300));
    let l = write(
        dir.path(),
        "labels.csv",
        "start,end,label\n1000,2000,walk\n",
    );
    let mut o = csv_opts(&p);
    o.time.unit = wearlang_ingest::TimeUnit::Ms;
    o.labels = Some(LabelsOptions::new(&l));
    let e = fail(&o, dir.path());
    assert_names(&e, "labels.csv", None, None);
    assert!(e.to_string().contains("no label interval overlaps"), "{e}");
}

#[test]
fn zero_or_negative_rates_and_window_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "data.csv", &rows(300));
    for (rate, size) in [
        (0.0, 2.0),
        (-50.0, 2.0),
        (50.0, 0.0),
        (50.0, -1.0),
        (f64::NAN, 2.0),
    ] {
        let mut o = csv_opts(&p);
        o.window.rate_hz = rate;
        o.window.size_s = size;
        let e = fail(&o, dir.path());
        let msg = e.to_string();
        assert!(
            msg.contains("window.rate_hz") || msg.contains("window.size_s"),
            "{msg}"
        );
    }
    let mut o = csv_opts(&p);
    o.time = wearlang_ingest::TimeOptions {
        column: None,
        unit: Default::default(),
        rate_hz: Some(0.0),
        ..Default::default()
    };
    let e = fail(&o, dir.path());
    assert!(e.to_string().contains("time.rate_hz"), "{e}");
}

#[test]
fn overlap_of_one_or_more() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "data.csv", &rows(300));
    for ov in [1.0, 1.5, -0.1] {
        let mut o = csv_opts(&p);
        o.window.overlap = ov;
        let e = fail(&o, dir.path());
        assert!(e.to_string().contains("window.overlap"), "{e}");
    }
}

#[test]
fn recording_rows_must_be_contiguous() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("timestamp,recording,ax\n");
    for (r, start) in [("a", 0), ("b", 0), ("a", 10_000)] {
        for i in 0..200 {
            text += &format!("{},{r},1\n", start + i * 20);
        }
    }
    let p = write(dir.path(), "interleaved.csv", &text);
    let mut o = IngestOptions::new(&p);
    o.columns.recording = Some("recording".into());
    o.split = wearlang_core::SplitSpec::TimeRatios {
        train: 0.6,
        val: 0.2,
    };
    let e = fail(&o, dir.path());
    assert_names(&e, "interleaved.csv", Some(402), None);
    assert!(e.to_string().contains("contiguous"), "{e}");
}

#[test]
fn cr_only_line_endings_are_named_in_a_short_error() {
    let dir = tempfile::tempdir().unwrap();
    for n in [50, 200_000] {
        let text = rows(n).replace('\n', "\r");
        let p = write(dir.path(), &format!("mac{n}.csv"), &text);
        let e = fail(&csv_opts(&p), dir.path());
        let msg = e.to_string();
        assert_names(&e, &format!("mac{n}.csv"), None, None);
        assert!(msg.contains("CR-only"), "{msg}");
        assert!(msg.len() < 400, "{} bytes of error", msg.len());
    }
}

#[test]
fn one_absurd_timestamp_is_an_error_naming_its_row_not_an_allocation() {
    let dir = tempfile::tempdir().unwrap();
    for (name, last) in [("epoch", "1700000000000"), ("huge", "1e300")] {
        let mut text = rows(200);
        text += &format!("{last},1.0,1.0\n");
        let p = write(dir.path(), &format!("{name}.csv"), &text);
        let e = fail(&csv_opts(&p), dir.path());
        // Header is row 1, the 200 rows are 2..=201, the jump is row 202.
        assert_names(&e, &format!("{name}.csv"), Some(202), None);
        let msg = e.to_string();
        assert!(
            msg.contains("time jumps") || msg.contains("time is"),
            "{msg}"
        );
    }
}
