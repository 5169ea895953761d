//! Messy sources: directories whose files order their columns differently or
//! lack a channel, a time column with a second role, symbolic links that
//! loop or leave the input directory, the same recording in two files, and
//! split lists naming subjects the data lacks. Each case ends as a correct
//! store or an error naming the file, column or subject; never a panic.
mod common;

use common::{files_in, ingest_and_read};
use std::path::{Path, PathBuf};
use wearlang_core::{Error, Split, SplitSpec, Window};
use wearlang_ingest::{ingest, IngestOptions, IngestSummary, StreamOptions, TimeOptions};
use wearlang_store::StoreReader;

/// Samples per file: 6 s at 50 Hz, enough for several 2-s windows.
const N: usize = 300;

/// The constant value of a channel column in every test file, so that a
/// swapped channel shows in the store.
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

/// CSV text with a time column `t` (ms, 50 Hz) followed by the channel
/// `columns`, each at its [`value_of`].
fn signal(columns: &[&str]) -> String {
    let mut text = format!("t,{}\n", columns.join(","));
    for i in 0..N {
        let cells: Vec<String> = columns.iter().map(|c| value_of(c).to_string()).collect();
        text += &format!("{},{}\n", i * 20, cells.join(","));
    }
    text
}

/// CSV text `t,subject,recording,ax` with `N` samples of each (subject,
/// recording) of `keys`, one after the other.
fn keyed(keys: &[(&str, &str)]) -> String {
    let mut text = String::from("t,subject,recording,ax\n");
    for (s, r) in keys {
        for i in 0..N {
            text += &format!("{},{s},{r},{}\n", i * 20, value_of("ax"));
        }
    }
    text
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// Options for `input` with the time column `t` in ms and a time split (so
/// that any number of subjects is fine).
fn opts(input: &Path) -> IngestOptions {
    let mut o = IngestOptions::new(input);
    o.time = ms_time();
    o.split = SplitSpec::TimeRatios {
        train: 0.6,
        val: 0.2,
    };
    o
}

fn ms_time() -> TimeOptions {
    TimeOptions {
        column: Some("t".into()),
        unit: wearlang_ingest::TimeUnit::Ms,
        rate_hz: None,
        ..Default::default()
    }
}

/// A further stream over `path` with every numeric column a channel.
fn stream(path: &Path) -> StreamOptions {
    StreamOptions {
        path: path.to_path_buf(),
        format: Default::default(),
        time: ms_time(),
        channels: Vec::new(),
        max_interp_gap_s: None,
    }
}

fn run(o: &IngestOptions, dir: &Path) -> (IngestSummary, Vec<Window>) {
    ingest_and_read(o, &dir.join("out.parquet"))
}

/// Run an ingest that must fail and leave nothing behind in `dir`.
fn fail(o: &IngestOptions, dir: &Path) -> Error {
    let before = files_in(dir);
    let out = dir.join("out.parquet");
    let err = ingest(o, &out).expect_err("ingest should fail");
    assert!(!out.exists(), "no store may be left behind");
    assert_eq!(files_in(dir), before, "no temporary files may be left");
    err
}

fn assert_mentions(e: &Error, parts: &[&str]) {
    let msg = e.to_string();
    for p in parts {
        assert!(msg.contains(p), "'{msg}' should mention {p}");
    }
}

/// Every row of every window holds each channel's own [`value_of`].
fn assert_channels_in_place(out: &Path, ws: &[Window], names: &[&str]) {
    let meta = StoreReader::open(out).unwrap().meta().clone();
    let got: Vec<&str> = meta.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(got, names);
    assert!(!ws.is_empty());
    for w in ws {
        for row in w.values.chunks(names.len()) {
            let want: Vec<f32> = names.iter().map(|n| value_of(n)).collect();
            assert_eq!(row, want.as_slice(), "{}/{}", w.subject, w.recording);
        }
    }
}

#[test]
fn stream_directory_matches_channels_by_name_not_position() {
    let dir = tempfile::tempdir().unwrap();
    let acc = dir.path().join("acc");
    let hr = dir.path().join("hr");
    write(&acc.join("r1.csv"), &signal(&["ax", "ay", "az"]));
    write(&acc.join("r2.csv"), &signal(&["ay", "ax", "az"]));
    write(&hr.join("r1.csv"), &signal(&["hr"]));
    write(&hr.join("r2.csv"), &signal(&["hr"]));
    let mut o = opts(&acc);
    o.streams = vec![stream(&hr)];
    let (s, ws) = run(&o, dir.path());
    assert_eq!((s.files, s.recordings), (4, 2));
    assert!(ws.iter().any(|w| w.recording == "r2"));
    assert_channels_in_place(
        &dir.path().join("out.parquet"),
        &ws,
        &["ax", "ay", "az", "hr"],
    );
}

#[test]
fn single_stream_directory_matches_channels_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(&data.join("r1.csv"), &signal(&["ax", "ay"]));
    write(&data.join("r2.csv"), &signal(&["ay", "ax"]));
    let (_, ws) = run(&opts(&data), dir.path());
    assert!(ws.iter().any(|w| w.recording == "r2"));
    assert_channels_in_place(&dir.path().join("out.parquet"), &ws, &["ax", "ay"]);
}

#[test]
fn stream_file_missing_a_channel_is_an_error_naming_file_and_channel() {
    let dir = tempfile::tempdir().unwrap();
    let acc = dir.path().join("acc");
    write(&acc.join("r1.csv"), &signal(&["ax", "ay", "az"]));
    write(&acc.join("r2.csv"), &signal(&["ax", "az"]));
    let hr = write(&dir.path().join("hr.csv"), &signal(&["hr"]));
    let mut o = opts(&acc);
    o.streams = vec![stream(&hr)];
    let e = fail(&o, dir.path());
    assert_mentions(&e, &["r2.csv", "'ay'", "r1.csv"]);
}

#[test]
fn stream_files_with_different_channel_counts_are_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let acc = dir.path().join("acc");
    let hr = dir.path().join("hr");
    write(&acc.join("r1.csv"), &signal(&["ax", "ay"]));
    write(&acc.join("r2.csv"), &signal(&["ax", "ay"]));
    write(&hr.join("r1.csv"), &signal(&["hr"]));
    write(&hr.join("r2.csv"), &signal(&["hr", "temp"]));
    let mut o = opts(&acc);
    o.streams = vec![stream(&hr)];
    let e = fail(&o, dir.path());
    assert_mentions(&e, &["r2.csv", "'temp'"]);
}

#[test]
fn time_column_with_a_second_role_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir.path().join("d.csv"), &signal(&["ax"]));
    for role in ["label", "subject", "recording"] {
        let mut o = opts(&p);
        match role {
            "label" => o.columns.label = Some("t".into()),
            "subject" => o.columns.subject = Some("t".into()),
            _ => o.columns.recording = Some("t".into()),
        }
        let e = fail(&o, dir.path());
        assert_mentions(&e, &["d.csv", "column 't'", role]);
    }
}

#[cfg(unix)]
#[test]
fn symlink_loop_in_the_input_directory_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(&data.join("p1/r1.csv"), &signal(&["ax"]));
    std::os::unix::fs::symlink(&data, data.join("p1/loop")).unwrap();
    let (s, ws) = run(&opts(&data), dir.path());
    assert_eq!((s.files, s.recordings), (1, 1));
    assert!(ws.iter().all(|w| w.subject == "p1"));
}

#[cfg(unix)]
#[test]
fn links_inside_the_root_are_followed_once_and_links_out_of_it_never() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(&data.join("p1/r1.csv"), &signal(&["ax"]));
    write(&dir.path().join("elsewhere/p9/r9.csv"), &signal(&["ax"]));
    // A second name for a directory inside the root, a link to a file in
    // it, and a link to a directory outside the root.
    std::os::unix::fs::symlink(data.join("p1"), data.join("p2")).unwrap();
    std::os::unix::fs::symlink(data.join("p1/r1.csv"), data.join("p1/copy.csv")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), data.join("out")).unwrap();
    let files = wearlang_ingest::list_files(&data, &Default::default()).unwrap();
    assert_eq!(files, vec![data.join("p1/r1.csv")]);
}

#[test]
fn same_recording_at_the_same_times_in_two_files_is_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    write(&data.join("a.csv"), &keyed(&[("s1", "r1")]));
    write(&data.join("b.csv"), &keyed(&[("s1", "r1")]));
    let mut o = opts(&data);
    o.columns.subject = Some("subject".into());
    o.columns.recording = Some("recording".into());
    let e = fail(&o, dir.path());
    assert_mentions(&e, &["a.csv", "b.csv", "'r1'", "'s1'"]);
}

#[test]
fn unknown_split_subjects_are_an_error_listing_them_and_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for s in ["p1", "p2", "p3"] {
        write(&data.join(format!("{s}/r.csv")), &signal(&["ax"]));
    }
    let mut o = opts(&data);
    o.split = SplitSpec::SubjectLists {
        train: vec![],
        val: vec!["p2".into()],
        test: vec!["p3".into(), "p7".into(), "q1".into()],
    };
    o.split_rest_to_train = true;
    let e = fail(&o, dir.path());
    assert_mentions(&e, &["'p7'", "'q1'", "p1", "p2", "p3"]);
    assert!(!e.to_string().contains("'p3'"), "{e}");
}

#[test]
fn subject_column_that_is_the_recording_column_gives_each_recording_its_subject() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir.path().join("all.csv"),
        &keyed(&[("s1", "a"), ("s1", "b"), ("s1", "c")]),
    );
    let mut o = opts(&p);
    o.columns.subject = Some("recording".into());
    o.columns.recording = Some("recording".into());
    o.split = SplitSpec::SubjectLists {
        train: vec![],
        val: vec![],
        test: vec!["c".into()],
    };
    o.split_rest_to_train = true;
    let (s, ws) = run(&o, dir.path());
    assert_eq!((s.recordings, s.store.subjects), (3, 3));
    assert!(ws.iter().all(|w| w.subject == w.recording));
    assert!(ws
        .iter()
        .all(|w| (w.split == Split::Test) == (w.recording == "c")));
    // Subject ratios plan the split from a first pass over the same column.
    o.split = SplitSpec::SubjectRatios {
        train: 0.34,
        val: 0.33,
        seed: 0,
    };
    let (s, ws) = run(&o, dir.path());
    assert_eq!(s.store.subjects, 3);
    assert!(ws.iter().all(|w| w.subject == w.recording));
}

#[test]
fn motion_units_are_stored_canonical_or_as_they_are() {
    use wearlang_ingest::{ChannelOption, Units};
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("t,ax,gz,hr\n");
    for i in 0..N {
        text += &format!("{},9.80665,180,60\n", i * 20);
    }
    let input = write(&dir.path().join("in/a.csv"), &text);
    let mut o = opts(&input);
    o.columns.channels = vec![
        ChannelOption::parse("ax:m/s^2:accelerometer").unwrap(),
        ChannelOption::parse("gz:deg/s:gyroscope").unwrap(),
        ChannelOption::parse("hr:bpm:heart_rate").unwrap(),
    ];
    // By default: 1 g, π rad/s, heart rate untouched; units recorded.
    let (_, windows) = run(&o, dir.path());
    let meta = StoreReader::open(dir.path().join("out.parquet"))
        .unwrap()
        .meta()
        .clone();
    let units: Vec<&str> = meta.channels.iter().map(|c| c.unit.as_str()).collect();
    assert_eq!(units, ["g", "rad/s", "bpm"]);
    let first = &windows[0].values;
    assert!((first[0] - 1.0).abs() < 1e-6, "{first:?}");
    assert!((first[1] - std::f32::consts::PI).abs() < 1e-5, "{first:?}");
    assert_eq!(first[2], 60.0);
    // The training statistics are those of the stored values.
    let norm = meta.normalisation.unwrap();
    assert!((norm.mean[0] - 1.0).abs() < 1e-6);
    // As they are, on request.
    o.columns.units = Units::AsIs;
    let (_, windows) = run(&o, dir.path());
    assert_eq!(&windows[0].values[..3], &[9.80665, 180.0, 60.0]);
    // A unit that cannot be converted is named, with the channel.
    o.columns.units = Units::Canonical;
    o.columns.channels[1] = ChannelOption::parse("gz:furlongs/s:gyroscope").unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let err = fail(&o, fresh.path()).to_string();
    assert!(err.contains("gz") && err.contains("furlongs/s"), "{err}");
}
