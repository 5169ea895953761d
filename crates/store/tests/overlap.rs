//! Layout 2: windows that overlap the window before them store only their
//! new time steps, read back whole; layout-1 stores stay readable.
use parquet::file::metadata::KeyValue;
use std::path::Path;
use wearlang_core::{
    ChannelKind, ChannelSpec, Event, EventKind, LabelVocab, Normalisation, Split, SplitSpec, Window,
};
use wearlang_store::{
    rewrite, ReadOptions, StoreMeta, StoreReader, StoreWriter, WriteOptions, FORMAT_VERSION,
    META_KEY,
};

const LEN: usize = 8;
const HOP: usize = 4;
const C: usize = 2;

fn meta() -> StoreMeta {
    let channels = vec![
        ChannelSpec::new("x", "g", ChannelKind::Accelerometer),
        ChannelSpec::new("y", "g", ChannelKind::Accelerometer),
    ];
    let mut m = StoreMeta::new(channels, LEN, 50.0);
    m.source = "overlap test".into();
    m.caption_columns = vec!["low".into()];
    m.labels = LabelVocab::sorted(["walk", "run"]);
    m
}

/// Windows cut at a hop of half a window from two recordings of one
/// subject and one of another, NaN gaps included; the second recording
/// changes split half-way (as a time-wise split does) and one window's
/// shared steps are edited so that it cannot share them.
fn windows() -> Vec<Window> {
    let mut out = Vec::new();
    for (rec, subject, n) in [("a", "s1", 9), ("b", "s1", 6), ("c", "s2", 5)] {
        let series: Vec<f32> = (0..(n * HOP + LEN) * C)
            .map(|k| {
                if k % 23 == 5 {
                    f32::NAN
                } else {
                    (k as f32 * 0.37).sin() + rec.len() as f32
                }
            })
            .collect();
        for i in 0..n {
            let start = i * HOP;
            let mut w = Window::from_values(
                subject,
                format!("{subject}-{rec}"),
                1_000 + (start as i64) * 20,
                50.0,
                C,
                series[start * C..(start + LEN) * C].to_vec(),
            )
            .unwrap();
            w.label = Some(["walk", "run"][i % 2].into());
            w.split = if rec == "b" && i >= 3 {
                Split::Test
            } else {
                Split::Train
            };
            if i == 2 {
                w.events.push(Event {
                    kind: EventKind::Activity,
                    label: "walking".into(),
                    start_s: 0.0,
                    end_s: 0.1,
                });
                w.captions
                    .insert("low".into(), format!("window {i} of {rec}"));
            }
            out.push(w);
        }
    }
    // Edited after windowing: shares nothing any more.
    out[4].values[0] += 1.0;
    out
}

fn write(path: &Path, ws: &[Window], opts: WriteOptions) {
    let mut w = StoreWriter::create_with(path, meta(), opts).unwrap();
    for chunk in ws.chunks(5) {
        w.write(chunk).unwrap();
    }
    w.finish().unwrap();
}

fn same(a: &Window, b: &Window) -> bool {
    let bits = |w: &Window| w.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let strip = |w: &Window| {
        let mut w = w.clone();
        w.values.clear();
        w
    };
    bits(a) == bits(b) && strip(a) == strip(b)
}

/// The stored overlap counts and the number of values in the file.
fn raw_layout(path: &Path) -> (Vec<i32>, usize) {
    use arrow::array::{Array, Int32Array, ListArray};
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let (mut overlap, mut values) = (Vec::new(), 0);
    for b in reader {
        let b = b.unwrap();
        let o = b.column_by_name("overlap").unwrap();
        let o = o.as_any().downcast_ref::<Int32Array>().unwrap();
        overlap.extend(o.values().iter().copied());
        let v = b.column_by_name("values").unwrap();
        values += v
            .as_any()
            .downcast_ref::<ListArray>()
            .unwrap()
            .values()
            .len();
    }
    (overlap, values)
}

#[test]
fn overlapping_windows_are_stored_once_and_read_back_whole() {
    let ws = windows();
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared.parquet");
    let whole = dir.path().join("whole.parquet");
    let row_groups = WriteOptions {
        row_group_rows: 7,
        ..WriteOptions::default()
    };
    write(&shared, &ws, row_groups.clone());
    write(
        &whole,
        &ws,
        WriteOptions {
            share_overlap: false,
            ..row_groups
        },
    );

    let (overlap, stored) = raw_layout(&shared);
    // Which windows continue the row before them: same recording and split,
    // not the first of a row group (rows 0, 7, 14), not the edited window.
    let expect: Vec<i32> = (0..ws.len())
        .map(|i| {
            let continues = i % 7 != 0
                && i != 4
                && ws[i].recording == ws[i - 1].recording
                && ws[i].split == ws[i - 1].split;
            if continues {
                (LEN - HOP) as i32
            } else {
                0
            }
        })
        .collect();
    assert_eq!(overlap, expect);
    let shared_steps: usize = expect.iter().map(|&k| k as usize).sum();
    assert_eq!(stored, (ws.len() * LEN - shared_steps) * C);
    let (none, all) = raw_layout(&whole);
    assert!(none.iter().all(|&k| k == 0));
    assert_eq!(all, ws.len() * LEN * C);

    for path in [&shared, &whole] {
        let store = StoreReader::open(path).unwrap();
        assert_eq!(store.meta().format_version, FORMAT_VERSION);
        for batch_size in [1, 3, 64] {
            for split in [None, Some(Split::Train), Some(Split::Test)] {
                let opts = ReadOptions {
                    batch_size,
                    split,
                    normalise: false,
                };
                let got = store.read_all(opts).unwrap();
                let want: Vec<&Window> = ws
                    .iter()
                    .filter(|w| split.is_none_or(|s| w.split == s))
                    .collect();
                assert_eq!(got.len(), want.len(), "{batch_size} {split:?}");
                for (g, w) in got.iter().zip(want) {
                    assert!(same(g, w), "{batch_size} {split:?}: {g:?}\n{w:?}");
                }
            }
        }
    }
}

/// A layout-1 store written by the previous release (`tests/data`, the
/// twelve windows of `tests/store.rs`) reads as before, and rewriting it
/// migrates it to the current layout with the same windows.
#[test]
fn layout_1_stores_are_read_and_migrate_by_rewriting() {
    let v1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store_v1.parquet");
    let old = StoreReader::open(&v1).unwrap();
    assert_eq!(old.meta().format_version, 1);
    assert_eq!(old.num_windows(), 12);
    let windows = old.read_all(ReadOptions::default()).unwrap();
    for (i, w) in windows.iter().enumerate() {
        assert_eq!(w.subject, format!("s{}", i % 5));
        assert_eq!(w.start_ms, i as i64 * 1000);
        assert_eq!(w.values.len(), 8);
        assert_eq!(w.values[3].is_nan(), i % 3 == 0, "window {i}");
        assert_eq!(w.missing[3], i % 3 == 0);
        assert_eq!(w.events.len(), if i % 2 == 1 { 2 } else { 0 });
        assert_eq!(w.values[0], (i * 100) as f32 * 0.5);
    }
    let norm: &Normalisation = old.meta().normalisation.as_ref().unwrap();
    assert_eq!(norm.mean.len(), 2);
    let test_split = old
        .read_all(ReadOptions {
            split: Some(Split::Test),
            normalise: true,
            ..ReadOptions::default()
        })
        .unwrap();
    assert!(!test_split.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("v2.parquet");
    rewrite(&v1, &new, |_| Ok(()), &[]).unwrap();
    let migrated = StoreReader::open(&new).unwrap();
    assert_eq!(migrated.meta().format_version, FORMAT_VERSION);
    assert_eq!(migrated.meta().normalisation, old.meta().normalisation);
    assert_eq!(migrated.meta().split, Some(SplitSpec::default()));
    let again = migrated.read_all(ReadOptions::default()).unwrap();
    assert_eq!(again.len(), windows.len());
    for (a, b) in again.iter().zip(&windows) {
        assert!(same(a, b), "{a:?}\n{b:?}");
    }
}

/// Write `batch` as a Parquet file at `path` with the footer metadata `kv`
/// and return the error reading it as a store gives.
fn read_error(path: &Path, batch: &arrow::array::RecordBatch, kv: &KeyValue) -> String {
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.append_key_value_metadata(kv.clone());
    w.close().unwrap();
    StoreReader::open(path)
        .unwrap()
        .read_all(ReadOptions::default())
        .unwrap_err()
        .to_string()
}

/// A row that claims to continue a row of another recording (a file edited
/// by another tool) is an error naming the file and the window.
#[test]
fn an_overlap_without_its_window_before_is_an_error() {
    use arrow::array::{ArrayRef, Int32Array, RecordBatch};
    use std::sync::Arc;
    let ws = windows();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.parquet");
    write(&good, &ws, WriteOptions::default());
    let file = std::fs::File::open(&good).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .find(|k| k.key == META_KEY)
        .cloned()
        .unwrap();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 1);
    let all = &batches[0];
    let idx = all.schema().index_of("overlap").unwrap();
    let bad = dir.path().join("bad.parquet");

    // Keep the rows from the 2nd on: row 1 continues row 0, which is gone.
    let tail = all.slice(1, all.num_rows() - 1);
    let overlap = tail
        .column(idx)
        .as_any()
        .downcast_ref::<Int32Array>()
        .unwrap();
    assert_eq!(overlap.value(0), (LEN - HOP) as i32);
    let err = read_error(&bad, &tail, &kv);
    assert!(
        err.contains("bad.parquet") && err.contains("s1-a") && err.contains("overlap"),
        "{err}"
    );

    // An overlap as long as the window is refused too.
    let mut cols: Vec<ArrayRef> = all.columns().to_vec();
    cols[idx] = Arc::new(Int32Array::from_iter_values(
        (0..all.num_rows()).map(|_| LEN as i32),
    ));
    let forged = RecordBatch::try_new(all.schema(), cols).unwrap();
    let err = read_error(&bad, &forged, &kv);
    assert!(
        err.contains("bad.parquet") && err.contains("overlap 8"),
        "{err}"
    );
}
