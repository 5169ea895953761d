//! Checks the BasicMotions conversion that `cargo xtask setup` writes into
//! the cache (`xtask/src/setup/basic_motions.rs`, see
//! `fixtures/basicmotions/README.md`) and its ingest with
//! `fixtures/basicmotions/manifest.toml`: 80 recordings of 100 samples at
//! 10 Hz, 20 per activity, resampled to 50 Hz and cut into 8 windows each,
//! with the archive's TRAIN / TEST split kept.
//!
//! The data set is never committed: without the converted file (no
//! `cargo xtask setup` yet) the test says so and passes.
use std::collections::BTreeMap;
use std::path::PathBuf;
use wearlang_core::Split;
use wearlang_ingest::IngestOptions;

mod common;
use common::{assert_imu_store, ingest_and_read};

fn converted() -> Option<PathBuf> {
    let dir = common::cache_dir()?.join("data/basicmotions-aeon-1.6.0");
    dir.join(".complete")
        .exists()
        .then(|| dir.join("basic_motions.csv"))
}

#[test]
fn converted_basic_motions_ingests_at_50_hz_with_the_archive_split() {
    let Some(path) = converted() else {
        eprintln!("BasicMotions is not converted (run `cargo xtask setup`); skipping");
        return;
    };
    // The CSV: 80 recordings × 100 samples, 20 per activity.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "group,recording,label,acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z"
    );
    let mut samples: BTreeMap<String, Vec<Vec<f32>>> = BTreeMap::new();
    let mut per_label: BTreeMap<String, usize> = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 9, "{line}");
        let values = f[3..].iter().map(|v| v.parse::<f32>().unwrap()).collect();
        let rows = samples.entry(f[1].to_string()).or_default();
        if rows.is_empty() {
            *per_label.entry(f[2].to_string()).or_default() += 1;
        }
        rows.push(values);
    }
    assert_eq!(samples.len(), 80);
    assert!(samples.values().all(|r| r.len() == 100));
    assert_eq!(
        per_label.into_iter().collect::<Vec<_>>(),
        [
            ("Badminton".to_string(), 20),
            ("Running".to_string(), 20),
            ("Standing".to_string(), 20),
            ("Walking".to_string(), 20)
        ]
    );

    let manifest =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/basicmotions/manifest.toml");
    let mut opts = IngestOptions::from_manifest(&manifest).unwrap();
    opts.input.path = Some(path.clone());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bm.parquet");
    let (summary, windows) = ingest_and_read(&opts, &out);
    // m/s² in the file, g in the store (gyroscope: rad/s either way).
    let meta = wearlang_store::StoreReader::open(&out)
        .unwrap()
        .meta()
        .clone();
    assert_imu_store(
        &meta,
        &["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"],
    );
    assert_eq!(summary.recordings, 80);
    assert_eq!(windows.len(), 640);
    let mut per_split: BTreeMap<Split, usize> = BTreeMap::new();
    let mut per_recording: BTreeMap<&str, usize> = BTreeMap::new();
    for w in &windows {
        *per_split.entry(w.split).or_default() += 1;
        *per_recording.entry(&w.recording).or_default() += 1;
        // The archive's TEST file is the test split; TRAIN gives training
        // and validation.
        let from_test = w.recording.starts_with("test_");
        assert_eq!(w.split == Split::Test, from_test, "{}", w.recording);
        assert!(w.missing.iter().all(|m| !m), "{}", w.recording);
        assert_eq!((w.rate_hz, w.channels), (50.0, 6));
    }
    assert!(per_recording.values().all(|&n| n == 8));
    assert_eq!(
        per_split.into_iter().collect::<Vec<_>>(),
        [(Split::Train, 256), (Split::Val, 64), (Split::Test, 320)]
    );
    // Resampled from 10 Hz (and read back in m/s²): every 5th step of a window is a recorded sample,
    // the steps between lie on the line between two samples.
    let w = windows
        .iter()
        .find(|w| w.recording == "train_000" && w.start_ms == 1000)
        .unwrap();
    let raw = &samples["train_000"];
    let g = wearlang_core::units::STANDARD_GRAVITY as f32;
    let at = |t: usize, c: usize| w.values[t * 6 + c] * if c < 3 { g } else { 1.0 };
    // 1 s in is sample 10.
    for (k, row) in raw[10..30].iter().enumerate() {
        for (c, &sample) in row.iter().enumerate() {
            assert!(
                (at(5 * k, c) - sample).abs() < 1e-4,
                "channel {c} sample {k}"
            );
        }
    }
    for (c, (&a, &b)) in raw[10].iter().zip(&raw[11]).enumerate() {
        let mid = 0.4 * a + 0.6 * b;
        assert!((at(3, c) - mid).abs() < 1e-4, "channel {c} between samples");
    }
}
