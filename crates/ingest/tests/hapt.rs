//! Checks the UCI HAPT conversion that `cargo xtask setup` writes into the
//! cache (`xtask/python/convert_hapt.py`, see `fixtures/hapt/README.md`):
//! the Parquet file against the published figures (30 subjects, 61
//! sessions, 1,122,772 rows of which 815,614 labelled, 12 labels, units),
//! then an ingest with `fixtures/hapt/manifest.toml` against windows
//! counted independently from the file's labels.
//!
//! The data set is never committed: without the converted file (no
//! `cargo xtask setup` yet) the test says so and passes.
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float32Type, Int32Type, Int8Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use wearlang_core::{Split, SplitSpec, Window};
use wearlang_ingest::{ingest, IngestOptions};
use wearlang_store::{ReadOptions, StoreReader};

mod common;
use common::assert_imu_store;

const CHANNELS: [&str; 6] = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"];
const LABELS: [&str; 12] = [
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
    "STAND_TO_SIT",
    "SIT_TO_STAND",
    "SIT_TO_LIE",
    "LIE_TO_SIT",
    "STAND_TO_LIE",
    "LIE_TO_STAND",
];
const WIN: usize = 100; // 2 s at 50 Hz
const HOP: usize = 50; // 50 % overlap

/// The converted file where `cargo xtask setup` puts it: the cache is
/// `$WEARLANG_CACHE`, else `$XDG_CACHE_HOME/wearlang`, else
/// `~/.cache/wearlang` (as in `xtask/src/setup.rs`).
fn converted_hapt() -> Option<PathBuf> {
    let dir = common::cache_dir()?.join("data/hapt-0.1.5");
    dir.join(".complete")
        .exists()
        .then(|| dir.join("hapt.parquet"))
}

/// One session of the converted file, in file order.
#[derive(Default)]
struct Session {
    subject: String,
    recording: String,
    /// Per row: the label (None = unlabelled).
    labels: Vec<Option<String>>,
}

/// Rows of one label and their summed |acc| (g) and |gyro| (rad/s).
#[derive(Default)]
struct LabelRows {
    rows: usize,
    acc: f64,
    gyro: f64,
}

impl LabelRows {
    /// Mean |acc| and |gyro| over the rows.
    fn means(&self) -> (f64, f64) {
        let n = self.rows as f64;
        (self.acc / n, self.gyro / n)
    }
}

/// Read the converted file, checking per row what needs no aggregation:
/// `sample` counts 0, 1, 2, ... within each session (the source order),
/// `label` is null exactly where `label_id` is -1 and names the code's
/// UCI activity otherwise. Returns the sessions and the rows per label.
fn read_converted(path: &PathBuf) -> (Vec<Session>, BTreeMap<String, LabelRows>) {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut sessions: Vec<Session> = Vec::new();
    let mut per_label: BTreeMap<String, LabelRows> = BTreeMap::new();
    for batch in reader {
        let batch: RecordBatch = batch.unwrap();
        let col = |name: &str| batch.column_by_name(name).unwrap().clone();
        let strings = |name: &str| arrow::compute::cast(&col(name), &DataType::Utf8).unwrap();
        let (subject, recording, label) =
            (strings("subject"), strings("recording"), strings("label"));
        let (subject, recording, label) = (
            subject.as_string::<i32>(),
            recording.as_string::<i32>(),
            label.as_string::<i32>(),
        );
        let sample = col("sample");
        let sample = sample.as_primitive::<Int32Type>();
        let label_id = col("label_id");
        let label_id = label_id.as_primitive::<Int8Type>();
        let chans: Vec<_> = CHANNELS
            .iter()
            .map(|c| col(c).as_primitive::<Float32Type>().clone())
            .collect();
        for i in 0..batch.num_rows() {
            let new_session = sessions
                .last()
                .is_none_or(|s| s.recording != recording.value(i) || s.subject != subject.value(i));
            if new_session {
                sessions.push(Session {
                    subject: subject.value(i).to_string(),
                    recording: recording.value(i).to_string(),
                    labels: Vec::new(),
                });
            }
            let s = sessions.last_mut().unwrap();
            assert_eq!(
                sample.value(i) as usize,
                s.labels.len(),
                "row order of {}",
                s.recording
            );
            let id = label_id.value(i);
            let name = label.is_valid(i).then(|| label.value(i).to_string());
            match &name {
                None => assert_eq!(id, -1, "null label with code {id} in {}", s.recording),
                Some(n) => assert_eq!(
                    LABELS.get((id as usize).wrapping_sub(1)),
                    Some(&n.as_str()),
                    "label {n} with code {id} in {}",
                    s.recording
                ),
            }
            let norm = |cs: &[arrow::array::PrimitiveArray<Float32Type>]| {
                cs.iter()
                    .map(|c| (c.value(i) as f64).powi(2))
                    .sum::<f64>()
                    .sqrt()
            };
            let e = per_label
                .entry(name.clone().unwrap_or_else(|| "(unlabelled)".into()))
                .or_default();
            e.rows += 1;
            e.acc += norm(&chans[..3]);
            e.gyro += norm(&chans[3..]);
            s.labels.push(name);
        }
    }
    (sessions, per_label)
}

/// Windows the manifest should give for one session (2 s, 50 % overlap,
/// `mixed_labels = "drop"`: a window whose rows do not all carry the same
/// label, unlabelled counting as its own, is dropped), counted per label.
fn expected_windows(s: &Session, out: &mut BTreeMap<Option<String>, usize>) -> usize {
    let mut dropped = 0;
    let mut start = 0;
    while start + WIN <= s.labels.len() {
        let rows = &s.labels[start..start + WIN];
        if rows.iter().all(|l| l == &rows[0]) {
            *out.entry(rows[0].clone()).or_default() += 1;
        } else {
            dropped += 1;
        }
        start += HOP;
    }
    dropped
}

#[test]
fn converted_hapt_matches_the_published_figures_and_ingests() {
    let Some(path) = converted_hapt() else {
        eprintln!(
            "note: skipped: no converted UCI HAPT in the cache (run `cargo xtask setup`; \
             see fixtures/hapt/README.md)"
        );
        return;
    };

    // The file itself.
    let (sessions, per_label) = read_converted(&path);
    let rows: usize = sessions.iter().map(|s| s.labels.len()).sum();
    let unlabelled = per_label.get("(unlabelled)").map_or(0, |e| e.rows);
    assert_eq!(sessions.len(), 61, "sessions");
    let recordings: BTreeSet<&str> = sessions.iter().map(|s| s.recording.as_str()).collect();
    assert_eq!(recordings.len(), 61, "each session is contiguous");
    let subjects: BTreeSet<&str> = sessions.iter().map(|s| s.subject.as_str()).collect();
    assert_eq!(subjects.len(), 30, "subjects");
    assert_eq!(rows, 1_122_772, "rows");
    assert_eq!(rows - unlabelled, 815_614, "labelled rows");
    let mut names: Vec<&str> = per_label
        .keys()
        .map(String::as_str)
        .filter(|l| *l != "(unlabelled)")
        .collect();
    names.sort_unstable();
    let mut want = LABELS.to_vec();
    want.sort_unstable();
    assert_eq!(names, want);
    // Units: at rest the accelerometer reads gravity, 1 g, and the
    // gyroscope almost nothing; walking turns the body at a fraction of a
    // rad/s on average.
    for rest in ["SITTING", "STANDING", "LAYING"] {
        let (acc, gyro) = per_label[rest].means();
        assert!((acc - 1.0).abs() < 0.05, "mean |acc| while {rest}: {acc} g");
        assert!(gyro < 0.1, "mean |gyro| while {rest}: {gyro} rad/s");
    }
    let (acc, gyro) = per_label["WALKING"].means();
    assert!(
        (0.9..1.3).contains(&acc),
        "mean |acc| while walking: {acc} g"
    );
    assert!(
        (0.2..3.0).contains(&gyro),
        "mean |gyro| while walking: {gyro} rad/s"
    );

    // Windows expected from the labels alone.
    let mut expected: BTreeMap<Option<String>, usize> = BTreeMap::new();
    let dropped: usize = sessions
        .iter()
        .map(|s| expected_windows(s, &mut expected))
        .sum();
    let expected_total: usize = expected.values().sum();
    let subject_of: BTreeMap<&str, &str> = sessions
        .iter()
        .map(|s| (s.recording.as_str(), s.subject.as_str()))
        .collect();

    // Ingest with the committed manifest, reading the cached file.
    let manifest =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/hapt/manifest.toml");
    let mut opts = IngestOptions::from_manifest(&manifest).unwrap();
    opts.input.path = Some(path.clone());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hapt.store.parquet");
    let summary = ingest(&opts, &out).unwrap();
    assert_eq!(summary.rows, rows as u64);
    assert_eq!(summary.recordings, 61);
    assert_eq!(summary.dropped_mixed, dropped);
    assert_eq!(summary.store.windows, expected_total);
    assert_eq!(summary.store.subjects, 30);
    assert_eq!(summary.store.unlabelled, expected[&None]);

    let reader = StoreReader::open(&out).unwrap();
    let meta = reader.meta().clone();
    assert_imu_store(&meta, &CHANNELS);
    let windows: Vec<Window> = reader.read_all(ReadOptions::default()).unwrap();
    let mut got: BTreeMap<Option<String>, usize> = BTreeMap::new();
    let mut split_of: BTreeMap<&str, BTreeSet<Split>> = BTreeMap::new();
    for w in &windows {
        *got.entry(w.label.clone()).or_default() += 1;
        assert_eq!(subject_of[w.recording.as_str()], w.subject);
        assert!(w.missing.iter().all(|m| !m), "no gaps in {}", w.recording);
        split_of.entry(&w.subject).or_default().insert(w.split);
    }
    assert_eq!(got, expected);

    // Subject-wise split as the manifest asks: 18 / 6 / 6 volunteers.
    let spec = SplitSpec::SubjectRatios {
        train: 0.6,
        val: 0.2,
        seed: 0,
    };
    assert_eq!(meta.split.as_ref(), Some(&spec));
    let assigned = spec
        .assign_subjects(&subjects.iter().collect::<Vec<_>>())
        .unwrap();
    assert_eq!(split_of.len(), 30, "every subject has windows");
    for (s, splits) in &split_of {
        assert_eq!(splits.len(), 1, "subject {s} is in {splits:?}");
        assert_eq!(splits.iter().next(), assigned.get(*s), "split of {s}");
    }
    let n_subjects = |want: Split| assigned.values().filter(|s| **s == want).count();
    assert_eq!(
        (
            n_subjects(Split::Train),
            n_subjects(Split::Val),
            n_subjects(Split::Test)
        ),
        (18, 6, 6)
    );
}
