//! Windows cut again from a store: the same windows when cut as stored;
//! at another length and stride, the windows a direct cut of the recording
//! gives wherever the store covers it; gaps, splits, events and errors.

use wearlang_core::{ChannelKind, ChannelSpec, Event, EventKind, Split, Window};
use wearlang_store::{
    MixedLabels, ReadOptions, Rewindow, Rewindowed, StoreMeta, StoreReader, StoreWriter, Uncovered,
    WindowSource,
};

const RATE: f64 = 2.0;
const C: usize = 2;

/// A recording of `n` steps: values from the step index, a missing stretch,
/// and labels `a` then `b` then unlabelled.
fn recording(n: usize) -> (Vec<f32>, Vec<Option<&'static str>>) {
    let mut values = Vec::with_capacity(n * C);
    let mut labels = Vec::with_capacity(n);
    for t in 0..n {
        let gap = (30..36).contains(&t);
        values.push(if gap { f32::NAN } else { t as f32 });
        values.push(if t % 7 == 3 { f32::NAN } else { -(t as f32) });
        labels.push(match t {
            _ if t < 41 => Some("a"),
            _ if t < 76 => Some("b"),
            _ => None,
        });
    }
    (values, labels)
}

/// Cut a recording directly, as ingest does: windows of `len` steps every
/// `stride`, dropped when all missing or more than `max_missing`, or when
/// their labels are mixed.
fn cut(
    (values, labels): &(Vec<f32>, Vec<Option<&'static str>>),
    len: usize,
    stride: usize,
    max_missing: f64,
) -> Vec<Window> {
    let n = labels.len();
    let mut out = Vec::new();
    let mut s = 0;
    while s + len <= n {
        let v = values[s * C..(s + len) * C].to_vec();
        let missing = v.iter().filter(|x| x.is_nan()).count() as f64 / v.len() as f64;
        let l = &labels[s..s + len];
        if missing < 1.0 && missing <= max_missing && l.iter().all(|x| *x == l[0]) {
            let start_ms = 5_000 + (s as f64 * 1000.0 / RATE).round() as i64;
            let mut w = Window::from_values("s1", "r1", start_ms, RATE, C, v).unwrap();
            w.label = l[0].map(str::to_string);
            out.push(w);
        }
        s += stride;
    }
    out
}

fn meta(len: usize) -> StoreMeta {
    let channels = vec![
        ChannelSpec::new("ax", "g", ChannelKind::Accelerometer),
        ChannelSpec::new("ay", "g", ChannelKind::Accelerometer),
    ];
    let mut m = StoreMeta::new(channels, len, RATE);
    m.source = "test".into();
    m
}

fn write(path: &std::path::Path, len: usize, windows: &[Window]) {
    let mut w = StoreWriter::create(path, meta(len)).unwrap();
    w.write(windows).unwrap();
    w.finish().unwrap();
}

fn read(src: &dyn WindowSource) -> Vec<Window> {
    src.read_all(ReadOptions::default()).unwrap()
}

fn same(a: &Window, b: &Window) -> bool {
    a.start_ms == b.start_ms
        && a.label == b.label
        && a.split == b.split
        && a.subject == b.subject
        && a.recording == b.recording
        && a.values.len() == b.values.len()
        && a.values
            .iter()
            .zip(&b.values)
            .all(|(x, y)| x.to_bits() == y.to_bits())
        && a.missing == b.missing
}

/// Whether steps `[s, s + len)` all lie in some stored window.
fn covered(stored: &[Window], stored_len: usize, start_ms: i64, len: usize) -> bool {
    let step = |ms: i64| ((ms - 5_000) as f64 * RATE / 1000.0).round() as usize;
    let s = step(start_ms);
    (s..s + len).all(|t| {
        stored
            .iter()
            .any(|w| (step(w.start_ms)..step(w.start_ms) + stored_len).contains(&t))
    })
}

#[test]
fn cut_as_stored_gives_the_stored_windows() {
    let rec = recording(120);
    let stored = cut(&rec, 8, 4, 0.5);
    assert!(stored.len() > 15);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write(&path, 8, &stored);
    let spec = Rewindow {
        window_len: 8,
        stride: 4,
        max_missing: 0.5,
        ..Rewindow::default()
    };
    let again = Rewindowed::new(StoreReader::open(&path).unwrap(), spec).unwrap();
    let back = read(&again);
    assert_eq!(back.len(), stored.len());
    assert_eq!(again.num_windows(), stored.len());
    for (a, b) in back.iter().zip(&stored) {
        assert!(same(a, b), "{} vs {}", a.start_ms, b.start_ms);
    }
    assert_eq!(again.meta().window_len, 8);
    assert_eq!(again.meta().extra["rewindow"]["stride"], 4);
}

/// At another length and stride: every new window the store covers whole
/// is the direct cut's window of the same start, and every direct window
/// the store covers whole is cut; a window reaching into uncovered steps
/// has them missing and keeps the rest.
#[test]
fn another_length_matches_a_direct_cut_where_covered() {
    let rec = recording(120);
    let stored = cut(&rec, 8, 2, 0.6);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write(&path, 8, &stored);
    for (len, stride, uncovered) in [
        (6, 2, Uncovered::Missing),
        (4, 3, Uncovered::Missing),
        (12, 4, Uncovered::Missing),
        (8, 1, Uncovered::Missing),
        (16, 6, Uncovered::Missing),
        (6, 2, Uncovered::Drop),
        (12, 4, Uncovered::Drop),
    ] {
        let spec = Rewindow {
            window_len: len,
            stride,
            max_missing: 0.6,
            mixed: MixedLabels::Drop,
            uncovered,
        };
        let new = read(&Rewindowed::new(StoreReader::open(&path).unwrap(), spec).unwrap());
        let direct = cut(&rec, len, stride, 0.6);
        let mut checked = 0;
        for w in &new {
            if covered(&stored, 8, w.start_ms, len) {
                let d = direct.iter().find(|d| d.start_ms == w.start_ms);
                assert!(
                    d.is_some_and(|d| same(d, w)),
                    "{len}/{stride}: window at {} ms differs from the direct cut",
                    w.start_ms
                );
                checked += 1;
            } else {
                assert_eq!(uncovered, Uncovered::Missing, "an uncovered window kept");
                // Uncovered steps are missing, the rest are the recording's.
                let s = ((w.start_ms - 5_000) as f64 * RATE / 1000.0).round() as usize;
                for (i, v) in w.values.iter().enumerate() {
                    let truth = rec.0[s * C + i];
                    assert!(v.is_nan() || v.to_bits() == truth.to_bits());
                }
            }
        }
        for d in &direct {
            if covered(&stored, 8, d.start_ms, len) {
                assert!(
                    new.iter().any(|w| same(d, w)),
                    "{len}/{stride}: direct window at {} ms not cut",
                    d.start_ms
                );
            }
        }
        assert!(
            checked > 10,
            "{len}/{stride}: only {checked} covered windows"
        );
    }
}

/// Mixed windows follow the policy: dropped, majority, or unlabelled.
#[test]
fn mixed_labels_follow_the_policy() {
    let rec = recording(120);
    let stored = cut(&rec, 4, 4, 1.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write(&path, 4, &stored);
    let at = |mixed| {
        let spec = Rewindow {
            window_len: 8,
            stride: 8,
            max_missing: 1.0,
            mixed,
            uncovered: Uncovered::Missing,
        };
        read(&Rewindowed::new(StoreReader::open(&path).unwrap(), spec).unwrap())
    };
    // Steps 40..48: 40 is `a`, 41..48 are `b` (the stored windows at 40 and
    // 44 are pure: 40..44 is mixed in truth, so it was dropped at ingest
    // and its steps are uncovered; 44..48 is `b`).
    let start = 5_000 + 40 * 500;
    let find = |ws: &[Window]| ws.iter().find(|w| w.start_ms == start).cloned();
    let drop = at(MixedLabels::Drop);
    assert_eq!(find(&drop).unwrap().label.as_deref(), Some("b"));
    // By default a window reaching into uncovered steps is dropped.
    let spec = Rewindow {
        window_len: 8,
        stride: 8,
        ..Rewindow::default()
    };
    let default = read(&Rewindowed::new(StoreReader::open(&path).unwrap(), spec).unwrap());
    assert!(find(&default).is_none());
    assert!(default.len() < drop.len());
    // 72..80: `b` to 76, unlabelled after: both stored windows are pure,
    // the new one is mixed (a tie for the majority: the first seen wins).
    let start = 5_000 + 72 * 500;
    let find = |ws: &[Window]| ws.iter().find(|w| w.start_ms == start).cloned();
    assert!(find(&drop).is_none());
    assert_eq!(find(&at(MixedLabels::KeepUnlabelled)).unwrap().label, None);
    assert_eq!(
        find(&at(MixedLabels::Majority)).unwrap().label.as_deref(),
        Some("b")
    );
}

/// A long gap inside a recording costs no memory and cuts no window of
/// nothing; a split or recording change ends a run; the split filter keeps
/// one split's windows, the same as filtering after.
#[test]
fn gaps_splits_and_filters() {
    let mk = |rec: &str, split, step: usize| {
        let v = (0..4 * C).map(|i| (step * 10 + i) as f32).collect();
        let start_ms = (step as f64 * 1000.0 / RATE) as i64;
        let mut w = Window::from_values("s", rec, start_ms, RATE, C, v).unwrap();
        w.split = split;
        w
    };
    let stored = vec![
        mk("r", Split::Train, 0),
        mk("r", Split::Train, 4),
        // A gap of ten million steps.
        mk("r", Split::Train, 10_000_000),
        mk("r", Split::Test, 10_000_004),
        mk("q", Split::Test, 10_000_008),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write(&path, 4, &stored);
    let spec = Rewindow {
        window_len: 6,
        stride: 2,
        max_missing: 0.5,
        mixed: MixedLabels::Drop,
        uncovered: Uncovered::Missing,
    };
    let cut = Rewindowed::new(StoreReader::open(&path).unwrap(), spec).unwrap();
    let all = read(&cut);
    let starts: Vec<(i64, Split)> = all.iter().map(|w| (w.start_ms, w.split)).collect();
    // Steps 0..8 → windows at 0 and 2; those at 4 and 6 reach into the gap
    // (4..10 has 4 of 6 steps observed: kept; 6..12 has 2: dropped). After
    // the gap (same run): 9,999,998..10,000,004 has 4 observed steps, kept;
    // the one before has 2. The test split's and recording q's runs are one
    // stored window each, too short for 6 steps.
    assert_eq!(
        starts,
        [
            (0, Split::Train),
            (1_000, Split::Train),
            (2_000, Split::Train),
            (4_999_999_000, Split::Train)
        ]
    );
    assert!(all[2].values[4 * C..].iter().all(|v| v.is_nan()));
    let spec = Rewindow {
        window_len: 4,
        stride: 4,
        ..Rewindow::default()
    };
    let cut = Rewindowed::new(StoreReader::open(&path).unwrap(), spec).unwrap();
    let all = read(&cut);
    assert_eq!(all.len(), 5);
    let test = cut
        .read_all(ReadOptions {
            split: Some(Split::Test),
            batch_size: 1,
            ..ReadOptions::default()
        })
        .unwrap();
    let want: Vec<&Window> = all.iter().filter(|w| w.split == Split::Test).collect();
    assert_eq!(test.len(), 2);
    assert!(test.iter().zip(want).all(|(a, b)| same(a, b)));
}

/// Events seen clipped by several stored windows come back whole in a
/// longer window, clipped to it.
#[test]
fn events_are_merged_and_clipped() {
    let mut stored = Vec::new();
    for i in 0..3usize {
        let v = vec![1.0; 4 * C];
        let mut w = Window::from_values("s", "r", (i * 2000) as i64, RATE, C, v).unwrap();
        // A walk from 1 s to 5 s of the recording, clipped to each window.
        let (a, b) = (1.0 - 2.0 * i as f64, 5.0 - 2.0 * i as f64);
        if b > 0.0 && a < 2.0 {
            w.events.push(Event {
                kind: EventKind::Activity,
                label: "walk".into(),
                start_s: a.max(0.0),
                end_s: b.min(2.0),
            });
        }
        stored.push(w);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write(&path, 4, &stored);
    let spec = Rewindow {
        window_len: 10,
        stride: 2,
        ..Rewindow::default()
    };
    let all = read(&Rewindowed::new(StoreReader::open(&path).unwrap(), spec).unwrap());
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].events.len(), 1);
    assert_eq!(
        (all[0].events[0].start_s, all[0].events[0].end_s),
        (1.0, 5.0)
    );
    assert_eq!(
        (all[1].events[0].start_s, all[1].events[0].end_s),
        (0.0, 4.0)
    );
}

#[test]
fn settings_are_checked() {
    let bad = |spec: Rewindow, field: &str| {
        let err = spec.validate().unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    };
    bad(
        Rewindow {
            window_len: 0,
            ..Rewindow::default()
        },
        "window_len",
    );
    bad(
        Rewindow {
            stride: 0,
            ..Rewindow::default()
        },
        "stride",
    );
    bad(
        Rewindow {
            max_missing: 1.5,
            ..Rewindow::default()
        },
        "max_missing",
    );
    let ok = Rewindow::from_seconds(2.5, 0.5, 50.0).unwrap();
    assert_eq!((ok.window_len, ok.stride), (125, 25));
    let err = Rewindow::from_seconds(2.51, 1.0, 10.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("window_s") && err.contains("25.1"), "{err}");
    assert_eq!(
        MixedLabels::parse("keep-unlabelled").unwrap(),
        MixedLabels::KeepUnlabelled
    );
    assert_eq!(Uncovered::parse("Missing").unwrap(), Uncovered::Missing);
    assert!(Uncovered::parse("fill")
        .unwrap_err()
        .to_string()
        .contains("uncovered"));
    assert!(MixedLabels::parse("vote").is_err());
}
