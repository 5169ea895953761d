//! `wearlang ingest` on messy sources: stream directories whose files order
//! or choose their channels differently, a time column with a second role,
//! symbolic link loops, a recording in two files, unknown test subjects, a
//! subject column that is the recording column and recordings whose rows
//! interleave. Each ends in a correct
//! store (rc 0) or an error naming the file, column or subject (rc 1),
//! never a panic.
mod common;
use common::{assert_fails_naming, summary, wearlang};
use std::path::{Path, PathBuf};
use std::process::Output;
use wearlang_store::{ReadOptions, StoreReader};

/// Samples per file: 6 s at 50 Hz.
const N: usize = 300;

/// `wearlang ingest` with `args` and `--out <dir>/out.parquet --json`;
/// returns the run and the store path.
fn ingest(dir: &Path, args: &[&str]) -> (Output, PathBuf) {
    let out = dir.join("out.parquet");
    let mut all = vec!["ingest", "--out", out.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    (wearlang(&all), out)
}

/// The constant value of each channel column of the test files.
fn value_of(column: &str) -> f32 {
    match column {
        "ax" => 1.0,
        "ay" => 2.0,
        "az" => 3.0,
        "hr" => 60.0,
        "temp" => 36.5,
        other => panic!("no test value for column {other}"),
    }
}

/// CSV text: a time column `t` (ms, 50 Hz), then `columns` at their
/// [`value_of`].
fn signal(columns: &[&str]) -> String {
    let cells: Vec<String> = columns.iter().map(|c| value_of(c).to_string()).collect();
    let mut text = format!("t,{}\n", columns.join(","));
    for i in 0..N {
        text += &format!("{},{}\n", i * 20, cells.join(","));
    }
    text
}

/// CSV text `t,subject,recording,ax` with `N` samples of each of `keys`.
fn keyed(keys: &[(&str, &str)]) -> String {
    let mut text = String::from("t,subject,recording,ax\n");
    for (s, r) in keys {
        for i in 0..N {
            text += &format!("{},{s},{r},1\n", i * 20);
        }
    }
    text
}

fn write(path: &Path, text: &str) -> String {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// A manifest in `dir` with the main input `acc/` and a stream `hr/`, both
/// directories with every numeric column a channel.
fn two_stream_manifest(dir: &Path) -> String {
    write(
        &dir.join("manifest.toml"),
        "[input]\npath = \"acc\"\n\n[time]\ncolumn = \"t\"\nunit = \"ms\"\n\n\
         [[streams]]\npath = \"hr\"\ntime = { column = \"t\", unit = \"ms\" }\n",
    )
}

#[test]
fn stream_directories_match_channels_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("acc/r1.csv"), &signal(&["ax", "ay", "az"]));
    write(&d.join("acc/r2.csv"), &signal(&["ay", "ax", "az"]));
    write(&d.join("hr/r1.csv"), &signal(&["hr"]));
    write(&d.join("hr/r2.csv"), &signal(&["hr"]));
    let manifest = two_stream_manifest(d);
    let (o, store) = ingest(d, &["--manifest", &manifest, "--split", "time"]);
    assert_eq!(summary(&o)["recordings"], 2);
    let reader = StoreReader::open(&store).unwrap();
    let names: Vec<&str> = reader
        .meta()
        .channels
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["ax", "ay", "az", "hr"]);
    let windows = reader
        .read_all(ReadOptions {
            batch_size: 64,
            split: None,
            normalise: false,
        })
        .unwrap();
    assert!(windows.iter().any(|w| w.recording == "r2"));
    for w in &windows {
        for row in w.values.chunks(4) {
            assert_eq!(row, [1.0, 2.0, 3.0, 60.0], "{}", w.recording);
        }
    }
}

#[test]
fn stream_file_missing_a_channel_fails_naming_file_and_channel() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("acc/r1.csv"), &signal(&["ax", "ay", "az"]));
    write(&d.join("acc/r2.csv"), &signal(&["ax", "az"]));
    write(&d.join("hr/r1.csv"), &signal(&["hr"]));
    write(&d.join("hr/r2.csv"), &signal(&["hr"]));
    let manifest = two_stream_manifest(d);
    let (o, store) = ingest(d, &["--manifest", &manifest, "--split", "time"]);
    assert_fails_naming(&o, &store, &["r2.csv", "column 'ay'"]);
}

#[test]
fn stream_files_with_different_channel_counts_fail_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("acc/r1.csv"), &signal(&["ax", "ay"]));
    write(&d.join("acc/r2.csv"), &signal(&["ax", "ay"]));
    write(&d.join("hr/r1.csv"), &signal(&["hr"]));
    write(&d.join("hr/r2.csv"), &signal(&["hr", "temp"]));
    let manifest = two_stream_manifest(d);
    let (o, store) = ingest(d, &["--manifest", &manifest, "--split", "time"]);
    assert_fails_naming(&o, &store, &["hr/r2.csv", "column 'temp'"]);
}

#[test]
fn time_column_that_is_also_the_label_or_subject_column_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(&dir.path().join("d.csv"), &signal(&["ax"]));
    for flag in ["--label-column", "--subject-column"] {
        let args = [data.as_str(), "--time-column", "t", flag, "t"];
        let (o, store) = ingest(dir.path(), &args);
        let role = &flag[2..flag.len() - 7];
        assert_fails_naming(&o, &store, &["d.csv", "column 't'", role]);
    }
}

#[cfg(unix)]
#[test]
fn symlink_loop_in_the_input_directory_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(&data.join("p1/r1.csv"), &signal(&["ax"]));
    std::os::unix::fs::symlink(&data, data.join("p1/loop")).unwrap();
    let args = [
        data.to_str().unwrap(),
        "--time-column",
        "t",
        "--split",
        "time",
    ];
    let s = summary(&ingest(dir.path(), &args).0);
    assert_eq!((&s["files"], &s["recordings"]), (&1.into(), &1.into()));
}

#[test]
fn same_recording_at_the_same_times_in_two_files_fails_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(&data.join("a.csv"), &keyed(&[("s1", "r1")]));
    write(&data.join("b.csv"), &keyed(&[("s1", "r1")]));
    let args = [
        data.to_str().unwrap(),
        "--time-column",
        "t",
        "--subject-column",
        "subject",
        "--recording-column",
        "recording",
    ];
    let (o, store) = ingest(dir.path(), &args);
    assert_fails_naming(&o, &store, &["a.csv", "b.csv", "'r1'"]);
}

#[test]
fn unknown_test_subjects_fail_listing_them_and_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for s in ["p1", "p2"] {
        write(&data.join(format!("{s}/r.csv")), &signal(&["ax"]));
    }
    let args = [
        data.to_str().unwrap(),
        "--time-column",
        "t",
        "--test-subjects",
        "p2,p9",
    ];
    let (o, store) = ingest(dir.path(), &args);
    assert_fails_naming(&o, &store, &["'p9'", "p1, p2"]);
}

#[test]
fn subject_column_that_is_the_recording_column_makes_each_recording_a_subject() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [("x", "a"), ("x", "b"), ("x", "c")];
    let data = write(&dir.path().join("all.csv"), &keyed(&keys));
    let args = [
        data.as_str(),
        "--time-column",
        "t",
        "--subject-column",
        "recording",
        "--recording-column",
        "recording",
        "--test-subjects",
        "c",
    ];
    let s = summary(&ingest(dir.path(), &args).0);
    assert_eq!(s["store"]["subjects"], 3);
    assert_eq!(
        s["store"]["subjects_per_split"]["test"],
        serde_json::json!(["c"])
    );
}

/// Two subjects' rows in time order (a logger's export): refused naming
/// the row and `--interleaved`; with it, both recordings whole.
#[test]
fn interleaved_recordings_fail_naming_the_row_or_are_gathered_with_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("t,subject,recording,ax\n");
    for i in 0..N {
        for s in ["p1", "p2"] {
            text += &format!("{},{s},day,{}\n", i * 20, i % 7);
        }
    }
    let data = write(&dir.path().join("logger.csv"), &text);
    let mut args = vec![
        data.as_str(),
        "--time-column",
        "t",
        "--subject-column",
        "subject",
        "--recording-column",
        "recording",
        "--split",
        "time",
    ];
    let (o, store) = ingest(dir.path(), &args);
    // Row 1 is the header; p1 comes back at row 4.
    assert_fails_naming(
        &o,
        &store,
        &["logger.csv", "row 4", "'p1'", "--interleaved"],
    );
    args.push("--interleaved");
    let s = summary(&ingest(dir.path(), &args).0);
    assert_eq!((&s["recordings"], &s["rows"]), (&2.into(), &(2 * N).into()));
    let windows = StoreReader::open(dir.path().join("out.parquet"))
        .unwrap()
        .read_all(ReadOptions::default())
        .unwrap();
    for w in &windows {
        // Each window holds one subject's samples only: 0..7 repeating, in
        // order (a window mixing the two would repeat each value).
        let v = &w.values;
        assert!(
            v.windows(2).all(|p| p[1] == (p[0] + 1.0) % 7.0),
            "{}",
            w.subject
        );
    }
    assert_eq!(
        windows.iter().filter(|w| w.subject == "p1").count(),
        windows.iter().filter(|w| w.subject == "p2").count()
    );
}
