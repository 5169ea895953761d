//! Several streams per recording (50 Hz motion beside 1 Hz heart rate).
//! Given as one file per recording and stream, each recording's files are
//! read when it is windowed (`run_by_recording`); given as one file per
//! stream with subject and recording columns, each stream is read once and
//! its recordings set aside on disk until they are windowed.
//! Both must give the same store, window for window; a sharded ingest of
//! per-recording files never opens another shard's files.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use wearlang_core::{SplitSpec, Window};
use wearlang_ingest::{ingest, IngestOptions, StreamOptions, TimeOptions, TimeUnit};
use wearlang_store::{ReadOptions, ShardSpec, StoreReader};

const SUBJECTS: [&str; 4] = ["s1", "s2", "s3", "s4"];
const RECORDINGS: [&str; 2] = ["day1", "day2"];

fn ms_time() -> TimeOptions {
    TimeOptions {
        column: Some("t".into()),
        unit: TimeUnit::Ms,
        rate_hz: None,
        ..Default::default()
    }
}

/// 40 s of motion at 50 Hz (with a label that changes halfway) and of
/// heart rate at 1 Hz, starting a little later, for one recording; `keys`
/// adds subject and recording columns.
fn motion_rows(s: usize, r: usize, keys: bool) -> String {
    let mut text = String::new();
    for i in 0..2000 {
        let t = i * 20;
        let label = if i < 1000 { "walk" } else { "sit" };
        let x = ((i + 7 * s + 3 * r) as f32 * 0.05).sin();
        if keys {
            let _ = write!(text, "{},{},", SUBJECTS[s], RECORDINGS[r]);
        }
        let _ = writeln!(text, "{t},{x},{},{label}", x * 0.5 + s as f32);
    }
    text
}

fn heart_rows(s: usize, r: usize, keys: bool) -> String {
    let mut text = String::new();
    for i in 0..38 {
        if keys {
            let _ = write!(text, "{},{},", SUBJECTS[s], RECORDINGS[r]);
        }
        let _ = writeln!(text, "{},{}", 1500 + i * 1000, 60 + (i + s + r) % 9);
    }
    text
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn options(motion: &Path, heart: &Path, keyed: bool) -> IngestOptions {
    let mut o = IngestOptions::new(motion);
    o.time = ms_time();
    o.columns.label = Some("label".into());
    if keyed {
        o.columns.subject = Some("subject".into());
        o.columns.recording = Some("recording".into());
    }
    o.window.size_s = 4.0;
    o.window.overlap = 0.5;
    o.window.rate_hz = 50.0;
    o.split = SplitSpec::SubjectRatios {
        train: 0.5,
        val: 0.25,
        seed: 3,
    };
    o.streams = vec![StreamOptions {
        path: heart.to_path_buf(),
        format: Default::default(),
        time: ms_time(),
        channels: Vec::new(),
        max_interp_gap_s: Some(2.0),
    }];
    o
}

/// Per-recording files: `motion/<subject>/<recording>.csv` and
/// `heart/<subject>/<recording>.csv`.
fn per_recording(dir: &Path) -> (PathBuf, PathBuf) {
    let (m, h) = (dir.join("motion"), dir.join("heart"));
    for (s, subject) in SUBJECTS.iter().enumerate() {
        for (r, recording) in RECORDINGS.iter().enumerate() {
            let name = format!("{subject}/{recording}.csv");
            write(
                &m.join(&name),
                &format!("t,ax,ay,label\n{}", motion_rows(s, r, false)),
            );
            write(
                &h.join(&name),
                &format!("t,hr\n{}", heart_rows(s, r, false)),
            );
        }
    }
    (m, h)
}

/// Every recording as one file per stream with subject and recording
/// columns: `motion.csv` and `heart.csv`.
fn keyed(dir: &Path) -> (PathBuf, PathBuf) {
    let (mk, hk) = (dir.join("motion.csv"), dir.join("heart.csv"));
    let (mut mt, mut ht) = (
        String::from("subject,recording,t,ax,ay,label\n"),
        String::from("subject,recording,t,hr\n"),
    );
    for s in 0..SUBJECTS.len() {
        for r in 0..RECORDINGS.len() {
            mt += &motion_rows(s, r, true);
            ht += &heart_rows(s, r, true);
        }
    }
    write(&mk, &mt);
    write(&hk, &ht);
    (mk, hk)
}

/// Same windows in the same order, values bit for bit.
fn assert_same_windows(wa: &[Window], wb: &[Window]) {
    assert_eq!(wa.len(), wb.len());
    for (x, y) in wa.iter().zip(wb) {
        assert_eq!(
            (&x.subject, &x.recording, x.start_ms, &x.label, x.split),
            (&y.subject, &y.recording, y.start_ms, &y.label, y.split)
        );
        assert!(x
            .values
            .iter()
            .zip(&y.values)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
    }
}

fn read(out: &Path) -> Vec<Window> {
    StoreReader::open(out)
        .unwrap()
        .read_all(ReadOptions::default())
        .unwrap()
}

#[test]
fn per_recording_files_give_the_store_of_whole_streams() {
    let dir = tempfile::tempdir().unwrap();
    let (m, h) = per_recording(dir.path());
    // The same samples as one file per stream, keyed by columns.
    let (mk, hk) = keyed(dir.path());
    let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    let sa = ingest(&options(&m, &h, false), &a).unwrap();
    let sb = ingest(&options(&mk, &hk, true), &b).unwrap();
    assert_eq!((sa.recordings, sb.recordings), (8, 8));
    assert_eq!(sa.rows, sb.rows);
    assert_eq!(sa.files, 16);
    let (wa, wb) = (read(&a), read(&b));
    assert!(wa.len() > 8 * 10, "{} windows", wa.len());
    assert_same_windows(&wa, &wb);
    // The motion stream as two keyed files (read in parallel, their
    // recordings set aside in one file): the same store again.
    let parts = dir.path().join("motion-parts");
    for (part, subjects) in [(0, 0..2), (1, 2..4)] {
        let mut text = String::from("subject,recording,t,ax,ay,label\n");
        for s in subjects {
            for r in 0..RECORDINGS.len() {
                text += &motion_rows(s, r, true);
            }
        }
        write(&parts.join(format!("part-{part}.csv")), &text);
    }
    let c = dir.path().join("c.parquet");
    let sc = ingest(&options(&parts, &hk, true), &c).unwrap();
    assert_eq!((sc.recordings, sc.rows, sc.files), (8, sa.rows, 3));
    assert_same_windows(&wa, &read(&c));
    // Heart rate sits beside motion: observed from 1.5 s on.
    let meta = StoreReader::open(&a).unwrap().meta().clone();
    let names: Vec<&str> = meta.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ax", "ay", "hr"]);
    assert!(wa.iter().any(|w| w.values[2].is_nan()));
    assert!(wa
        .iter()
        .any(|w| w.values.chunks(3).all(|r| !r[2].is_nan())));
}

/// A shard's ingest reads only its subjects' files (beyond the first file
/// of each stream, which gives the stream's columns): another subject's
/// unreadable file does not stop it.
#[test]
fn a_shard_reads_only_its_own_recordings() {
    let dir = tempfile::tempdir().unwrap();
    let (m, h) = per_recording(dir.path());
    let spec = ShardSpec::new(0, 2);
    let other = SUBJECTS.iter().find(|s| !spec.holds(s, "day1")).unwrap();
    write(
        &m.join(other).join("day2.csv"),
        "t,ax,ay,label\nnot,a,number,row\n",
    );
    let mut o = options(&m, &h, false);
    o.shard = Some(spec);
    let out = dir.path().join("shard.parquet");
    let summary = ingest(&o, &out).unwrap();
    let windows = read(&out);
    assert!(!windows.is_empty());
    assert!(windows.iter().all(|w| spec.holds(&w.subject, &w.recording)));
    assert!(summary.recordings < 8);
    // Without the shard, the bad file is read and named.
    o.shard = None;
    let err = ingest(&o, &dir.path().join("all.parquet"))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("{other}/day2.csv")), "{err}");
}

/// Streams keyed by columns, ingested as two shards: each shard windows only
/// its own subjects (the others' recordings are read but not set aside),
/// and together they hold the windows of one whole ingest.
#[test]
fn keyed_streams_shard_into_the_whole_store() {
    let dir = tempfile::tempdir().unwrap();
    let (mk, hk) = keyed(dir.path());
    let whole = dir.path().join("whole.parquet");
    ingest(&options(&mk, &hk, true), &whole).unwrap();
    let mut parts = Vec::new();
    for i in 0..2 {
        let spec = ShardSpec::new(i, 2);
        let mut o = options(&mk, &hk, true);
        o.shard = Some(spec);
        let out = dir.path().join(format!("shard{i}.parquet"));
        ingest(&o, &out).unwrap();
        let windows = read(&out);
        assert!(windows.iter().all(|w| spec.holds(&w.subject, &w.recording)));
        parts.extend(windows);
    }
    let key = |w: &Window| (w.subject.clone(), w.recording.clone(), w.start_ms);
    let mut wa = read(&whole);
    wa.sort_by_key(key);
    parts.sort_by_key(key);
    assert_same_windows(&wa, &parts);
}

/// Streams keyed by columns whose recordings interleave (every recording's
/// rows of one time together, as a logger writes them), gathered with
/// `columns.interleaved`: the store of the grouped files.
#[test]
fn interleaved_keyed_streams_give_the_grouped_store() {
    let dir = tempfile::tempdir().unwrap();
    let (mk, hk) = keyed(dir.path());
    let grouped = dir.path().join("grouped.parquet");
    ingest(&options(&mk, &hk, true), &grouped).unwrap();
    // The same rows sorted by time (stable: recordings in their order at
    // each time).
    let interleave = |path: &Path, out: &Path| {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let t_col = header.split(',').position(|c| c == "t").unwrap();
        let mut rows: Vec<&str> = lines.collect();
        rows.sort_by_key(|l| l.split(',').nth(t_col).unwrap().parse::<u64>().unwrap());
        write(out, &format!("{header}\n{}\n", rows.join("\n")));
    };
    let (mi, hi) = (dir.path().join("mi.csv"), dir.path().join("hi.csv"));
    interleave(&mk, &mi);
    interleave(&hk, &hi);
    let mut o = options(&mi, &hi, true);
    let e = ingest(&o, &dir.path().join("refused.parquet")).unwrap_err();
    assert!(e.to_string().contains("--interleaved"), "{e}");
    o.columns.interleaved = true;
    let out = dir.path().join("interleaved.parquet");
    ingest(&o, &out).unwrap();
    assert_same_windows(&read(&grouped), &read(&out));
}
