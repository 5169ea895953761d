//! A store cut again at another window length or stride
//! (`wearlang_store::Rewindowed`) against ingesting the raw files again
//! with those settings: the real shoulder fixture (one label per
//! recording) and the real HAPT recordings when `cargo xtask setup` has
//! fetched them (label changes inside sessions). Every window cut is the
//! new ingest's; every new-ingest window inside the spans the first store
//! covers is cut (the others reach past a recording's last stored window).
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wearlang_core::Window;
use wearlang_ingest::{ingest, IngestOptions};
use wearlang_store::{
    write_rewindowed, ReadOptions, Rewindow, Rewindowed, StoreReader, Uncovered, WindowSource,
};

mod common;

type Key = (String, String, i64);

fn by_key(windows: &[Window]) -> BTreeMap<Key, &Window> {
    windows
        .iter()
        .map(|w| ((w.subject.clone(), w.recording.clone(), w.start_ms), w))
        .collect()
}

fn equal(a: &Window, b: &Window) -> bool {
    a.label == b.label
        && a.split == b.split
        && a.values.len() == b.values.len()
        && a.values
            .iter()
            .zip(&b.values)
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

fn ingest_with(opts: &IngestOptions, window_s: f64, overlap: f64, out: &Path) {
    let mut o = opts.clone();
    o.window.size_s = window_s;
    o.window.overlap = overlap;
    ingest(&o, out).unwrap();
}

fn read(path: &Path) -> Vec<Window> {
    StoreReader::open(path)
        .unwrap()
        .read_all(ReadOptions::default())
        .unwrap()
}

/// Start and end (ms) of the spans the windows of each recording cover.
fn coverage(windows: &[Window], len_ms: i64) -> BTreeMap<(String, String), Vec<(i64, i64)>> {
    let mut spans: BTreeMap<(String, String), Vec<(i64, i64)>> = BTreeMap::new();
    for w in windows {
        let v = spans
            .entry((w.subject.clone(), w.recording.clone()))
            .or_default();
        match v.last_mut() {
            Some(last) if w.start_ms <= last.1 => last.1 = last.1.max(w.start_ms + len_ms),
            _ => v.push((w.start_ms, w.start_ms + len_ms)),
        }
    }
    spans
}

/// Compare the windows cut from `base` (stored windows `base_ms` long)
/// with `direct` (`len_ms` long): every window cut is the direct ingest's,
/// and every direct window inside a covered span is cut. Returns how many
/// direct windows were covered and how many not.
fn compare(
    base: &[Window],
    base_ms: i64,
    cut: &[Window],
    direct: &[Window],
    len_ms: i64,
) -> (usize, usize) {
    let spans = coverage(base, base_ms);
    let covered = |w: &Window| {
        spans[&(w.subject.clone(), w.recording.clone())]
            .iter()
            .any(|&(a, b)| a <= w.start_ms && w.start_ms + len_ms <= b)
    };
    let (want, got) = (by_key(direct), by_key(cut));
    for (k, g) in &got {
        assert!(covered(g), "{k:?} reaches into an uncovered step");
        assert!(
            want.get(k).is_some_and(|w| equal(g, w)),
            "{k:?} differs or is extra"
        );
    }
    let (mut both, mut not) = (0, 0);
    for (k, w) in &want {
        if covered(w) {
            assert!(got.contains_key(k), "{k:?} not cut");
            both += 1;
        } else {
            not += 1;
        }
    }
    (both, not)
}

#[test]
fn the_shoulder_fixture_cut_again_equals_a_new_ingest() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/shoulder");
    let opts = IngestOptions::from_manifest(fixture.join("manifest.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.parquet");
    ingest_with(&opts, 2.0, 0.5, &base);
    let stored = read(&base);
    // (window s, stride s), the overlap that gives the stride directly, and
    // whether every direct window lies inside the 2 s store's spans.
    for (window_s, stride_s, overlap, whole) in [
        (4.0, 1.0, 0.75, true),
        (2.0, 2.0, 0.0, true),
        (1.0, 0.5, 0.5, false),
    ] {
        let direct = dir
            .path()
            .join(format!("direct-{window_s}-{stride_s}.parquet"));
        ingest_with(&opts, window_s, overlap, &direct);
        let cut = dir
            .path()
            .join(format!("cut-{window_s}-{stride_s}.parquet"));
        let spec = Rewindow::from_seconds(window_s, stride_s, 50.0).unwrap();
        let summary = write_rewindowed(&base, &cut, spec).unwrap();
        let len_ms = (window_s * 1000.0) as i64;
        let (both, not) = compare(&stored, 2000, &read(&cut), &read(&direct), len_ms);
        assert_eq!(summary.windows, both, "{window_s}/{stride_s}");
        assert_eq!(not == 0, whole, "{window_s}/{stride_s}: {not} uncovered");
        let (a, b) = (
            StoreReader::open(&cut).unwrap(),
            StoreReader::open(&direct).unwrap(),
        );
        assert_eq!(a.meta().window_len, (window_s * 50.0) as usize);
        if whole {
            // The same training windows: the same statistics.
            let (na, nb) = (
                a.meta().normalisation.as_ref().unwrap(),
                b.meta().normalisation.as_ref().unwrap(),
            );
            for (x, y) in na
                .mean
                .iter()
                .zip(&nb.mean)
                .chain(na.std.iter().zip(&nb.std))
            {
                assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{x} vs {y}");
            }
        }
    }
}

#[test]
fn hapt_cut_again_equals_a_new_ingest_where_covered() {
    let Some(dir) = common::cache_dir().map(|d| d.join("data/hapt-0.1.5")) else {
        return;
    };
    if !dir.join(".complete").exists() {
        eprintln!("skipped: HAPT is not in the cache (run `cargo xtask setup`)");
        return;
    }
    let manifest =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/hapt/manifest.toml");
    let mut opts = IngestOptions::from_manifest(&manifest).unwrap();
    opts.input.path = Some(dir.join("hapt.parquet"));
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base.parquet");
    ingest_with(&opts, 2.0, 0.5, &base);
    let stored = read(&base);
    let direct = tmp.path().join("direct.parquet");
    ingest_with(&opts, 4.0, 0.75, &direct);
    let spec = Rewindow::from_seconds(4.0, 1.0, 50.0).unwrap();
    let cut = Rewindowed::new(StoreReader::open(&base).unwrap(), spec)
        .unwrap()
        .read_all(ReadOptions::default())
        .unwrap();
    let (both, _) = compare(&stored, 2000, &cut, &read(&direct), 4000);
    assert!(both > 5_000, "{both} covered");
    // With uncovered steps kept as missing, windows across an activity
    // change come back too (with a gap), labelled from the covered steps.
    let spec = Rewindow {
        uncovered: Uncovered::Missing,
        ..Rewindow::from_seconds(4.0, 1.0, 50.0).unwrap()
    };
    let gappy = Rewindowed::new(StoreReader::open(&base).unwrap(), spec).unwrap();
    assert!(
        gappy.num_windows() > cut.len(),
        "{} vs {}",
        gappy.num_windows(),
        cut.len()
    );
}
