//! Helpers shared by the integration tests.
#![allow(dead_code)]
use arrow::array::{ArrayRef, Float32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A table of: timestamp (ms, i64), subject, recording, label, ax, ay.
pub struct Table {
    pub t: Vec<i64>,
    pub subject: Vec<String>,
    pub recording: Vec<String>,
    pub label: Vec<String>,
    pub ax: Vec<f32>,
    pub ay: Vec<f32>,
}

/// `subjects` × `recs` recordings of `n` samples at 50 Hz, labels changing
/// halfway, values derived from the indices, a few NaNs.
pub fn table(subjects: usize, recs: usize, n: usize) -> Table {
    let mut t = Table {
        t: vec![],
        subject: vec![],
        recording: vec![],
        label: vec![],
        ax: vec![],
        ay: vec![],
    };
    for s in 0..subjects {
        for r in 0..recs {
            for i in 0..n {
                t.t.push(1_700_000_000_000 + (i as i64) * 20);
                t.subject.push(format!("s{s}"));
                t.recording.push(format!("s{s}-r{r}"));
                t.label.push(if i < n / 2 {
                    "walk".into()
                } else {
                    "run".into()
                });
                t.ax.push(((i * 7 + s * 3 + r) % 101) as f32 * 0.25 - 10.0);
                t.ay.push(if i % 97 == 5 {
                    f32::NAN
                } else {
                    (i as f32 * 0.013).sin()
                });
            }
        }
    }
    t
}

pub fn write_csv(t: &Table, path: &Path) {
    let mut s = String::from("timestamp,subject,recording,label,ax,ay\n");
    for i in 0..t.t.len() {
        let ay = if t.ay[i].is_nan() {
            String::new()
        } else {
            format!("{}", t.ay[i])
        };
        s += &format!(
            "{},{},{},{},{},{}\n",
            t.t[i], t.subject[i], t.recording[i], t.label[i], t.ax[i], ay
        );
    }
    std::fs::write(path, s).unwrap();
}

pub fn batch(t: &Table) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("timestamp", DataType::Int64, false),
        Field::new("subject", DataType::Utf8, false),
        Field::new("recording", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("ax", DataType::Float32, true),
        Field::new("ay", DataType::Float32, true),
    ]));
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(t.t.clone())),
        Arc::new(StringArray::from(t.subject.clone())),
        Arc::new(StringArray::from(t.recording.clone())),
        Arc::new(StringArray::from(t.label.clone())),
        Arc::new(Float32Array::from(t.ax.clone())),
        Arc::new(Float32Array::from(t.ay.clone())),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

pub fn write_parquet(b: &RecordBatch, path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_size(700)
        .build();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, b.schema(), Some(props)).unwrap();
    w.write(b).unwrap();
    w.close().unwrap();
}

pub fn write_ipc(b: &RecordBatch, path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = arrow::ipc::writer::FileWriter::try_new(f, &b.schema()).unwrap();
    // Several batches, to exercise recordings spanning batches.
    let mut off = 0;
    while off < b.num_rows() {
        let len = 333.min(b.num_rows() - off);
        w.write(&b.slice(off, len)).unwrap();
        off += len;
    }
    w.finish().unwrap();
}

/// Files in `dir` (to check that nothing was left behind).
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Assert the layout of a store of six inertial channels at 50 Hz in 2-s
/// windows: the channels are `names` in order, the first three accelerometer
/// axes in g and the last three gyroscope axes in rad/s.
pub fn assert_imu_store(meta: &wearlang_store::StoreMeta, names: &[&str]) {
    use wearlang_core::ChannelKind;
    assert_eq!((meta.window_len, meta.rate_hz), (100, 50.0));
    let got: Vec<&str> = meta.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(got, names);
    assert_eq!(names.len(), 6);
    for c in &meta.channels[..3] {
        assert_eq!((c.unit.as_str(), c.kind), ("g", ChannelKind::Accelerometer));
    }
    for c in &meta.channels[3..] {
        assert_eq!((c.unit.as_str(), c.kind), ("rad/s", ChannelKind::Gyroscope));
    }
}

/// Every window of the store at `path`, raw (not normalised), in store
/// order.
pub fn read_windows(path: &Path) -> Vec<wearlang_core::Window> {
    wearlang_store::StoreReader::open(path)
        .unwrap()
        .read_all(wearlang_store::ReadOptions::default())
        .unwrap()
}

/// Ingest `o` into `out` (which must succeed) and read its windows back.
pub fn ingest_and_read(
    o: &wearlang_ingest::IngestOptions,
    out: &Path,
) -> (wearlang_ingest::IngestSummary, Vec<wearlang_core::Window>) {
    let s = wearlang_ingest::ingest(o, out).unwrap();
    (s, read_windows(out))
}

/// The cache `cargo xtask setup` fills: `$WEARLANG_CACHE`, else
/// `$XDG_CACHE_HOME/wearlang`, else `~/.cache/wearlang` (as in
/// `xtask/src/setup.rs`); `None` without any of them.
pub fn cache_dir() -> Option<PathBuf> {
    std::env::var_os("WEARLANG_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("wearlang")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/wearlang")))
}

/// Options for a [`Table`] file at `path`: its subject, recording and
/// label columns, subjects split by ratio (seed 7).
pub fn opts(path: &Path) -> wearlang_ingest::IngestOptions {
    let mut o = wearlang_ingest::IngestOptions::new(path);
    o.columns.subject = Some("subject".into());
    o.columns.recording = Some("recording".into());
    o.columns.label = Some("label".into());
    o.split = wearlang_core::SplitSpec::SubjectRatios {
        train: 0.5,
        val: 0.25,
        seed: 7,
    };
    o
}
