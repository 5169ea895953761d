//! Ingests the real shoulder-exercise fixture (`fixtures/shoulder/`) with its
//! manifest and checks the store against figures computed independently from
//! `fixtures/shoulder/recordings.csv` and from the fixture's Parquet file.
use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{Float32Type, Int32Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use wearlang_core::{Split, SplitSpec, Window};
use wearlang_ingest::{ingest, IngestOptions};
use wearlang_store::{ReadOptions, StoreReader};

mod common;
use common::assert_imu_store;

const CHANNELS: [&str; 6] = ["ax", "ay", "az", "wx", "wy", "wz"];
const WIN: usize = 100; // 2 s at 50 Hz
const HOP: usize = 50; // 50 % overlap

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/shoulder")
}

/// One row of `recordings.csv`.
struct Rec {
    recording: String,
    subject: String,
    label: String,
    n_samples: usize,
}

fn recordings() -> Vec<Rec> {
    let text = std::fs::read_to_string(fixture_dir().join("recordings.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (ri, si, li, ni) = (
        col("recording"),
        col("subject"),
        col("label"),
        col("n_samples"),
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Rec {
                recording: f[ri].to_string(),
                subject: f[si].to_string(),
                label: f[li].to_string(),
                n_samples: f[ni].parse().unwrap(),
            }
        })
        .collect()
}

/// Windows of a recording of `n` samples: floor((n − 100) / 50) + 1.
fn expected_windows(n: usize) -> usize {
    if n < WIN {
        0
    } else {
        (n - WIN) / HOP + 1
    }
}

/// The first `len` samples of `recording` from the fixture Parquet, time-major.
fn fixture_samples(recording: &str, len: usize) -> Vec<f32> {
    let file = std::fs::File::open(fixture_dir().join("shoulder.parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut rows: Vec<(i32, Vec<f32>)> = Vec::new();
    for batch in reader {
        let batch: RecordBatch = batch.unwrap();
        let rec = batch.column_by_name("recording").unwrap();
        let rec = arrow::compute::cast(rec, &arrow::datatypes::DataType::Utf8).unwrap();
        let rec = rec.as_string::<i32>();
        let sample = batch.column_by_name("sample").unwrap();
        let sample = sample.as_primitive::<Int32Type>();
        let chans: Vec<_> = CHANNELS
            .iter()
            .map(|c| {
                batch
                    .column_by_name(c)
                    .unwrap()
                    .as_primitive::<Float32Type>()
                    .clone()
            })
            .collect();
        for i in 0..batch.num_rows() {
            if rec.value(i) == recording && (sample.value(i) as usize) < len {
                rows.push((sample.value(i), chans.iter().map(|c| c.value(i)).collect()));
            }
        }
    }
    rows.sort_by_key(|r| r.0);
    assert_eq!(rows.len(), len, "fixture rows of {recording}");
    rows.into_iter().flat_map(|r| r.1).collect()
}

fn ingest_fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shoulder-windows.parquet");
    let opts = IngestOptions::from_manifest(fixture_dir().join("manifest.toml")).unwrap();
    ingest(&opts, &out).unwrap();
    (dir, out)
}

#[test]
fn shoulder_fixture_ingests_to_the_expected_store() {
    let recs = recordings();
    assert_eq!(recs.len(), 140);
    let expected_total: usize = recs.iter().map(|r| expected_windows(r.n_samples)).sum();
    assert_eq!(expected_total, 4677, "recordings.csv disagrees with SPEC");
    let mut expected_per_label: BTreeMap<&str, usize> = BTreeMap::new();
    let mut expected_per_rec: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &recs {
        *expected_per_label.entry(&r.label).or_default() += expected_windows(r.n_samples);
        expected_per_rec.insert(&r.recording, expected_windows(r.n_samples));
    }
    let subject_of: BTreeMap<&str, &str> = recs
        .iter()
        .map(|r| (r.recording.as_str(), r.subject.as_str()))
        .collect();

    let (_dir, out) = ingest_fixture();
    let reader = StoreReader::open(&out).unwrap();
    let meta = reader.meta().clone();
    let windows: Vec<Window> = reader.read_all(ReadOptions::default()).unwrap();

    // Shape and channels, and where they were worn (the manifest's
    // `[columns] location` / `device`, given to every channel).
    assert_imu_store(&meta, &CHANNELS);
    for c in &meta.channels {
        assert_eq!(c.location.as_deref(), Some("wrist"), "{}", c.name);
        assert!(c.device.as_deref().unwrap().starts_with("smartwatch"));
    }

    // Counts: total, per class, per recording.
    assert_eq!(windows.len(), expected_total);
    assert_eq!(reader.num_windows(), expected_total);
    let mut per_label: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_rec: BTreeMap<&str, usize> = BTreeMap::new();
    for w in &windows {
        *per_label
            .entry(w.label.as_deref().expect("every window is labelled"))
            .or_default() += 1;
        *per_rec.entry(&w.recording).or_default() += 1;
        assert_eq!(
            subject_of[w.recording.as_str()],
            w.subject,
            "subject of {}",
            w.recording
        );
        assert_eq!(w.channels, CHANNELS.len());
        assert_eq!(w.values.len(), WIN * CHANNELS.len());
        // The fixture has no gaps: nothing may be missing.
        assert!(
            w.missing.iter().all(|m| !m),
            "missing values in {}",
            w.recording
        );
        assert!(w.values.iter().all(|v| v.is_finite()));
    }
    assert_eq!(per_label, expected_per_label);
    assert_eq!(per_rec, expected_per_rec);

    // The values are the fixture's samples: first two windows of one recording.
    let rec = &recs[0].recording;
    let mut first: Vec<&Window> = windows.iter().filter(|w| &w.recording == rec).collect();
    first.sort_by_key(|w| w.start_ms);
    let raw = fixture_samples(rec, WIN + HOP);
    assert_eq!(first[0].values, raw[..WIN * 6]);
    assert_eq!(first[1].values, raw[HOP * 6..(HOP + WIN) * 6]);
    assert_eq!(first[1].start_ms - first[0].start_ms, 1000, "hop is 1 s");

    // Subject-wise split: one split per subject, as the manifest's spec assigns.
    let spec = SplitSpec::SubjectRatios {
        train: 0.6,
        val: 0.2,
        seed: 0,
    };
    assert_eq!(meta.split.as_ref(), Some(&spec));
    let mut split_of: BTreeMap<&str, BTreeSet<Split>> = BTreeMap::new();
    for w in &windows {
        split_of.entry(&w.subject).or_default().insert(w.split);
    }
    assert_eq!(split_of.len(), 10);
    for (s, splits) in &split_of {
        assert_eq!(
            splits.len(),
            1,
            "subject {s} is on more than one side: {splits:?}"
        );
    }
    let subjects: Vec<&str> = split_of.keys().copied().collect();
    let assigned = spec.assign_subjects(&subjects).unwrap();
    for (s, splits) in &split_of {
        assert_eq!(splits.iter().next(), assigned.get(*s), "split of {s}");
    }
    let n_subjects = |want: Split| split_of.values().filter(|v| v.contains(&want)).count();
    assert_eq!(
        (
            n_subjects(Split::Train),
            n_subjects(Split::Val),
            n_subjects(Split::Test)
        ),
        (6, 2, 2)
    );

    // Normalisation: fitted on the training windows only.
    let norm = meta
        .normalisation
        .as_ref()
        .expect("normalisation statistics");
    assert_eq!(norm.mean.len(), CHANNELS.len());
    assert_eq!(norm.std.len(), CHANNELS.len());
    let stats = |keep: &dyn Fn(&Window) -> bool| -> (Vec<f64>, Vec<f64>) {
        let (mut n, mut s, mut ss) = (0f64, vec![0f64; 6], vec![0f64; 6]);
        for w in windows.iter().filter(|w| keep(w)) {
            for row in w.values.chunks_exact(6) {
                n += 1.0;
                for c in 0..6 {
                    s[c] += row[c] as f64;
                    ss[c] += (row[c] as f64).powi(2);
                }
            }
        }
        let mean: Vec<f64> = s.iter().map(|x| x / n).collect();
        let std = (0..6)
            .map(|c| (ss[c] / n - mean[c] * mean[c]).sqrt())
            .collect();
        (mean, std)
    };
    let (train_mean, train_std) = stats(&|w| w.split == Split::Train);
    let (all_mean, _) = stats(&|_| true);
    for c in 0..6 {
        assert!(
            (norm.mean[c] - train_mean[c]).abs() < 1e-4,
            "mean of {}: store {} vs train windows {}",
            CHANNELS[c],
            norm.mean[c],
            train_mean[c]
        );
        assert!(
            (norm.std[c] - train_std[c]).abs() < 1e-3 * train_std[c].max(1e-3),
            "std of {}: store {} vs train windows {}",
            CHANNELS[c],
            norm.std[c],
            train_std[c]
        );
    }
    // The check above could not tell train-only from all windows unless the
    // two differ: make sure they do on some channel.
    assert!(
        (0..6).any(|c| (all_mean[c] - train_mean[c]).abs() > 1e-3),
        "train and all-window means coincide: the train-only check is void"
    );

    // Reading with normalisation gives mean ≈ 0 and std ≈ 1 on train.
    let train_norm = reader
        .read_all(ReadOptions {
            split: Some(Split::Train),
            normalise: true,
            ..ReadOptions::default()
        })
        .unwrap();
    assert_eq!(
        train_norm.len(),
        windows.iter().filter(|w| w.split == Split::Train).count()
    );
    let n = (train_norm.len() * WIN) as f64;
    let mean_ax: f64 = train_norm
        .iter()
        .flat_map(|w| w.values.chunks_exact(6).map(|r| r[0] as f64))
        .sum::<f64>()
        / n;
    assert!(
        mean_ax.abs() < 1e-3,
        "normalised train mean of ax: {mean_ax}"
    );
}
