//! The seed files every target starts from, built once per run from the
//! repository's real data: two recordings of the shoulder-exercise fixture
//! (300 samples each) written as CSV, Parquet and Arrow IPC, manifests for
//! them, the store ingest writes, a tiny pretraining checkpoint trained on
//! that store, and the run configs under `configs/`.
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, ArrayRef, Int64Array, StringArray, UInt32Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;

use crate::targets;
use crate::Target;

/// Samples taken from each of the fixture's first recordings.
const ROWS_PER_RECORDING: usize = 300;
/// How many recordings.
const RECORDINGS: usize = 2;
/// The fixture's columns the seeds keep.
const COLUMNS: [&str; 9] = [
    "subject",
    "recording",
    "label",
    "ax",
    "ay",
    "az",
    "wx",
    "wy",
    "wz",
];

/// The seed files of one fuzz run, in a directory the caller owns.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Where the seed files are.
    pub dir: PathBuf,
    /// The repository root (for `configs/`).
    pub root: PathBuf,
    /// CSV seed (with a `t` column in ms).
    pub csv: PathBuf,
    /// Parquet seed (no time column: 50 Hz from each recording's start).
    pub parquet: PathBuf,
    /// Arrow IPC seed (as the Parquet one).
    pub arrow: PathBuf,
    /// The store `ingest` wrote from the CSV seed.
    pub store: PathBuf,
    /// A pretraining run directory (2 steps, tiny encoder) on that store.
    pub checkpoint: PathBuf,
}

/// The manifest for a seed input: the fixture's channels, 2 s windows at
/// 50 Hz, a time-ratio split (the slice holds one subject).
pub fn manifest(input: &Path, format: &str, time_column: Option<&str>) -> String {
    let time = match time_column {
        Some(c) => format!("column = \"{c}\"\nunit = \"ms\""),
        None => "rate_hz = 50.0".to_string(),
    };
    format!(
        r#"[input]
path = "{}"
format = "{format}"

[time]
{time}

[columns]
subject = "subject"
recording = "recording"
label = "label"
channels = [
  {{ name = "ax", unit = "g", kind = "accelerometer" }},
  {{ name = "ay", unit = "g", kind = "accelerometer" }},
  {{ name = "az", unit = "g", kind = "accelerometer" }},
  {{ name = "wx", unit = "rad/s", kind = "gyroscope" }},
  {{ name = "wy", unit = "rad/s", kind = "gyroscope" }},
  {{ name = "wz", unit = "rad/s", kind = "gyroscope" }},
]

[window]
rate_hz = 50.0
size_s = 2.0
overlap = 0.5
mixed_labels = "drop"
max_missing = 1.0

[split]
kind = "time_ratios"
train = 0.6
val = 0.2
"#,
        input.display()
    )
}

impl Fixture {
    /// The repository root this crate was built in.
    pub fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// The seed files [`Fixture::build`] wrote into `dir` earlier.
    pub fn open(dir: &Path) -> Self {
        // Absolute: the manifests name the seed files, and a relative path
        // in a manifest is read against the manifest's own directory.
        let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Fixture {
            dir: dir.to_path_buf(),
            csv: dir.join("seed.csv"),
            parquet: dir.join("seed.parquet"),
            arrow: dir.join("seed.arrow"),
            store: dir.join("store.parquet"),
            checkpoint: dir.join("mae"),
            root: Self::repo_root(),
        }
    }

    /// Write every seed file into `dir` (seconds: it ingests and trains a
    /// tiny model for two steps).
    pub fn build(dir: &Path) -> Result<Self> {
        let root = Self::repo_root();
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
        let slice = fixture_slice(&root.join("fixtures/shoulder/shoulder.parquet"))?;
        let f = Self::open(dir);
        if f.store.exists() {
            std::fs::remove_file(&f.store)?;
        }
        if f.checkpoint.exists() {
            std::fs::remove_dir_all(&f.checkpoint)?;
        }
        std::fs::write(&f.csv, to_csv(&slice)?)?;
        write_parquet(&slice, &f.parquet)?;
        write_ipc(&slice, &f.arrow)?;
        let opts =
            targets::parse_manifest(&manifest(&f.csv, "csv", Some("t")), &dir.join("seed.toml"))?;
        wearlang_ingest::ingest(&opts, &f.store).context("ingesting the CSV seed")?;
        pretrain_tiny(&f.store, &f.checkpoint)?;
        Ok(f)
    }

    /// Every target, built on these seeds.
    pub fn targets(&self) -> Vec<Box<dyn Target>> {
        targets::all(self)
    }
}

/// The first `RECORDINGS` recordings' first `ROWS_PER_RECORDING` rows of
/// `COLUMNS`, with `t` (ms from the recording's start, 50 Hz) in front.
fn fixture_slice(path: &Path) -> Result<RecordBatch> {
    let file = File::open(path).with_context(|| path.display().to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let batches = reader.collect::<std::result::Result<Vec<_>, _>>()?;
    let Some(first) = batches.first() else {
        bail!("{} holds no rows", path.display());
    };
    let all = arrow::compute::concat_batches(&first.schema(), &batches)?;
    let rec = arrow::compute::cast(
        all.column_by_name("recording").context("recording")?,
        &DataType::Utf8,
    )?;
    let rec = rec
        .as_any()
        .downcast_ref::<StringArray>()
        .context("recording as text")?;
    let (mut take, mut t, mut seen) = (Vec::new(), Vec::new(), Vec::<String>::new());
    let mut in_rec = 0usize;
    for i in 0..rec.len() {
        let r = rec.value(i);
        if seen.last().map(String::as_str) != Some(r) {
            if seen.len() == RECORDINGS {
                break;
            }
            seen.push(r.to_string());
            in_rec = 0;
        }
        if in_rec < ROWS_PER_RECORDING {
            take.push(i as u32);
            t.push(in_rec as i64 * 20);
        }
        in_rec += 1;
    }
    let idx = UInt32Array::from(take);
    let mut fields = vec![Field::new("t", DataType::Int64, false)];
    let mut cols: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(t))];
    for name in COLUMNS {
        let col = all
            .column_by_name(name)
            .with_context(|| format!("column {name}"))?;
        let col = arrow::compute::take(col.as_ref(), &idx, None)?;
        fields.push(Field::new(name, col.data_type().clone(), true));
        cols.push(col);
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?)
}

fn to_csv(batch: &RecordBatch) -> Result<String> {
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut out = names.join(",") + "\n";
    let opts = FormatOptions::default();
    let fmts = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for row in 0..batch.num_rows() {
        let fields: Vec<String> = fmts.iter().map(|f| f.value(row).to_string()).collect();
        out += &fields.join(",");
        out.push('\n');
    }
    Ok(out)
}

/// The slice without its `t` column (the Parquet and IPC seeds are on a
/// fixed rate, like the fixture itself).
fn without_time(batch: &RecordBatch) -> Result<RecordBatch> {
    let keep: Vec<usize> = (1..batch.num_columns()).collect();
    Ok(batch.project(&keep)?)
}

fn write_parquet(batch: &RecordBatch, path: &Path) -> Result<()> {
    let batch = without_time(batch)?;
    let file = File::create(path)?;
    let mut w = ArrowWriter::try_new(file, batch.schema(), None)?;
    w.write(&batch)?;
    w.close()?;
    Ok(())
}

fn write_ipc(batch: &RecordBatch, path: &Path) -> Result<()> {
    let batch = without_time(batch)?;
    let file = File::create(path)?;
    let mut w = arrow::ipc::writer::FileWriter::try_new(file, &batch.schema())?;
    w.write(&batch)?;
    w.finish()?;
    Ok(())
}

fn pretrain_tiny(store: &Path, out: &Path) -> Result<()> {
    let mut cfg = wearlang_models::PretrainConfig {
        seed: 1,
        batch_size: 4,
        max_steps: 2,
        checkpoint_every: 2,
        log_every: 1,
        encoder: wearlang_models::EncoderSpec {
            preset: "tiny".into(),
            patch_time: 10,
            patch_channel: 1,
            ..wearlang_models::EncoderSpec::default()
        },
        ..wearlang_models::PretrainConfig::default()
    };
    cfg.decoder.dim = 16;
    cfg.decoder.depth = 1;
    wearlang_train::pretrain(
        &cfg,
        &wearlang_train::PretrainOptions {
            store: store.to_path_buf(),
            extra_stores: Vec::new(),
            out: out.to_path_buf(),
            resume: false,
            progress: false,
            stop_after: None,
            values: Default::default(),
        },
    )
    .context("pretraining the tiny seed checkpoint")?;
    Ok(())
}

/// `path` relative to the repository root.
pub(crate) fn repo_file(root: &Path, path: &str) -> Result<Vec<u8>> {
    let p = root.join(path);
    std::fs::read(&p).with_context(|| p.display().to_string())
}
