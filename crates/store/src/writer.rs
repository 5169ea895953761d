//! Writing stores atomically.
use crate::meta::SummaryBuilder;
use crate::schema::{arrow_schema, to_batch};
use crate::{StoreMeta, StoreSummary, FORMAT_VERSION, META_KEY};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;
use wearlang_core::fs::AtomicFile;
use wearlang_core::{Error, Location, Result, Window};

/// Target size of one row group's windows once decoded (4-byte values and
/// their 1-byte mask flags, as a reader holds them) when the row count is
/// chosen automatically; what the file stores is smaller when windows
/// share steps.
const ROW_GROUP_BYTES: usize = 32 << 20;

/// Options of a [`StoreWriter`].
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Windows per row group (the unit of streaming reads); 0 chooses about
    /// 32 MiB of decoded windows (values and mask) per row group.
    pub row_group_rows: usize,
    /// Zstd compression level (1–22).
    pub zstd_level: i32,
    /// Store the time steps a window shares with the window before it (same
    /// subject, recording and split, next in the file, same row group) only
    /// once: the later window keeps an `overlap` count instead of a copy.
    /// On by default; off, every row holds its whole window (plain to read
    /// with other Parquet tools, larger by the overlap).
    pub share_overlap: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            row_group_rows: 0,
            zstd_level: 3,
            share_overlap: true,
        }
    }
}

/// Writes windows to a store. Everything goes to a hidden temporary file
/// beside the destination, which [`StoreWriter::finish`] renames onto the
/// destination; dropping the writer without finishing removes it, so a
/// half-written store never appears at the destination.
pub struct StoreWriter {
    path: PathBuf,
    meta: StoreMeta,
    /// Shape fields fixed by the schema, to detect changes through `meta_mut`.
    fixed: StoreMeta,
    schema: SchemaRef,
    /// Encodes and compresses batches on its own thread.
    encoder: Encoder,
    /// Rows in the row group being filled.
    group_rows: usize,
    row_group_rows: usize,
    share_overlap: bool,
    /// The last window written, which the next may continue.
    last: Option<Window>,
    summary: SummaryBuilder,
}

fn check_meta(meta: &StoreMeta) -> Result<()> {
    if meta.format_version == 0 || meta.format_version > FORMAT_VERSION {
        return Err(Error::param(
            "format_version",
            format!(
                "this crate writes version {FORMAT_VERSION} (and reads older ones), meta says {}",
                meta.format_version
            ),
        ));
    }
    if meta.channels.is_empty() {
        return Err(Error::param(
            "channels",
            "a store needs at least one channel",
        ));
    }
    if meta.window_len == 0 {
        return Err(Error::param("window_len", "must be at least 1"));
    }
    if !(meta.rate_hz.is_finite() && meta.rate_hz > 0.0) {
        return Err(Error::param(
            "rate_hz",
            format!("must be > 0, got {}", meta.rate_hz),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in &meta.caption_columns {
        if name.is_empty() || !seen.insert(name) {
            return Err(Error::param(
                "caption_columns",
                format!("caption column names must be non-empty and unique ('{name}')"),
            ));
        }
    }
    if let Some(n) = &meta.normalisation {
        if n.mean.len() != meta.channels.len() || n.std.len() != meta.channels.len() {
            return Err(Error::param(
                "normalisation",
                format!(
                    "{} means / {} stds for {} channels",
                    n.mean.len(),
                    n.std.len(),
                    meta.channels.len()
                ),
            ));
        }
    }
    Ok(())
}

impl StoreWriter {
    /// Start a store at `path` with default [`WriteOptions`].
    pub fn create(path: impl AsRef<Path>, meta: StoreMeta) -> Result<Self> {
        Self::create_with(path, meta, WriteOptions::default())
    }

    /// Start a store at `path` with explicit options.
    pub fn create_with(
        path: impl AsRef<Path>,
        meta: StoreMeta,
        opts: WriteOptions,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        check_meta(&meta)?;
        // Metadata read from an older layout is written in the current one.
        let mut meta = meta;
        meta.format_version = FORMAT_VERSION;
        let schema = arrow_schema(&meta, FORMAT_VERSION)?;
        let tmp = AtomicFile::create(&path)?;
        let row_group_rows = if opts.row_group_rows > 0 {
            opts.row_group_rows
        } else {
            let bytes = meta.values_per_window() * 5 + 256;
            (ROW_GROUP_BYTES / bytes).clamp(1, 65_536)
        };
        let level = ZstdLevel::try_new(opts.zstd_level)
            .map_err(|e| Error::param("zstd_level", e.to_string()))?;
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_size(row_group_rows)
            .set_dictionary_enabled(false)
            .set_statistics_enabled(EnabledStatistics::Chunk);
        for c in ["subject", "recording", "label", "split"] {
            props = props.set_column_dictionary_enabled(ColumnPath::from(c), true);
        }
        let items = ColumnPath::new(vec!["values".into(), "list".into(), "item".into()]);
        props = props.set_column_encoding(items.clone(), Encoding::BYTE_STREAM_SPLIT);
        // Min / max of every value cost a tenth of an ingest and nothing
        // reads them (the other columns keep their chunk statistics).
        props = props.set_column_statistics_enabled(items, EnabledStatistics::None);
        let writer = ArrowWriter::try_new(tmp, schema.clone(), Some(props.build()))
            .map_err(|e| Error::data(Location::file(&path), e.to_string()))?;
        Ok(Self {
            encoder: Encoder::start(writer, path.clone()),
            path,
            fixed: meta.clone(),
            meta,
            schema,
            group_rows: 0,
            row_group_rows,
            share_overlap: opts.share_overlap,
            last: None,
            summary: SummaryBuilder::default(),
        })
    }

    /// The destination path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The metadata that [`StoreWriter::finish`] will save.
    pub fn meta(&self) -> &StoreMeta {
        &self.meta
    }

    /// Change the metadata before finishing (normalisation, labels, split,
    /// provenance). The channels, window length, rate and caption columns
    /// are fixed by the schema; changing them makes `finish` fail.
    pub fn meta_mut(&mut self) -> &mut StoreMeta {
        &mut self.meta
    }

    fn check_window(&self, w: &Window) -> Result<()> {
        let shape = |msg: String| {
            Error::Shape(format!(
                "{}: window {}/{} at {} ms: {msg}",
                self.path.display(),
                w.subject,
                w.recording,
                w.start_ms
            ))
        };
        let c = self.fixed.channels.len();
        if w.channels != c {
            return Err(shape(format!("{} channels, the store has {c}", w.channels)));
        }
        let n = self.fixed.values_per_window();
        if w.values.len() != n {
            return Err(shape(format!(
                "{} values ({} steps), the store expects {n} ({} steps × {c} channels)",
                w.values.len(),
                w.values.len() / c,
                self.fixed.window_len
            )));
        }
        let tol = 1e-9 * self.fixed.rate_hz.abs();
        if (w.rate_hz - self.fixed.rate_hz).abs() > tol {
            return Err(shape(format!(
                "rate {} Hz, the store has {} Hz",
                w.rate_hz, self.fixed.rate_hz
            )));
        }
        w.validate().map_err(|e| shape(e.to_string()))?;
        if let Some(name) = w
            .captions
            .keys()
            .find(|k| !self.fixed.caption_columns.contains(k))
        {
            return Err(shape(format!(
                "caption '{name}' has no column; add it to StoreMeta::caption_columns"
            )));
        }
        Ok(())
    }

    /// Append windows. Each is checked against the metadata (channels,
    /// length, rate, mask consistency, caption columns) before anything is
    /// written; complete row groups are flushed to disk as they fill.
    pub fn write(&mut self, windows: &[Window]) -> Result<()> {
        for w in windows {
            self.check_window(w)?;
        }
        let mut rest = windows;
        while !rest.is_empty() {
            if self.group_rows == 0 {
                // A row group never continues a window of the one before.
                self.last = None;
            }
            let room = self.row_group_rows.saturating_sub(self.group_rows).max(1);
            let (chunk, tail) = rest.split_at(room.min(rest.len()));
            let overlap: Vec<usize> = if self.share_overlap {
                let before = std::iter::once(self.last.as_ref()).chain(chunk.iter().map(Some));
                before
                    .zip(chunk)
                    .map(|(prev, w)| prev.map_or(0, |p| shared_steps(p, w, &self.fixed)))
                    .collect()
            } else {
                vec![0; chunk.len()]
            };
            let batch = to_batch(chunk, &overlap, &self.fixed, &self.schema, &self.path)?;
            self.encoder.send(Job::Batch(batch))?;
            self.group_rows += chunk.len();
            if self.group_rows >= self.row_group_rows {
                self.encoder.send(Job::Flush)?;
                self.group_rows = 0;
            }
            for w in chunk {
                self.summary.add(
                    &w.subject,
                    &w.recording,
                    w.label.as_deref(),
                    w.split,
                    w.missing_fraction(),
                );
            }
            if self.share_overlap {
                self.last = chunk.last().cloned();
            }
            rest = tail;
        }
        Ok(())
    }

    /// Write the metadata and footer, fsync, and rename the file atomically
    /// onto the destination. Returns the summary of what was written.
    pub fn finish(mut self) -> Result<StoreSummary> {
        let m = &self.meta;
        let f = &self.fixed;
        if m.channels != f.channels
            || m.window_len != f.window_len
            || m.rate_hz != f.rate_hz
            || m.caption_columns != f.caption_columns
        {
            return Err(Error::param(
                "meta",
                "channels, window_len, rate_hz and caption_columns cannot change after create",
            ));
        }
        check_meta(&self.meta)?;
        let json =
            serde_json::to_string(&self.meta).map_err(|e| Error::param("meta", e.to_string()))?;
        let path = self.path.clone();
        let mut writer = self.encoder.finish()?;
        writer.append_key_value_metadata(KeyValue::new(META_KEY.to_string(), json));
        let tmp = writer
            .into_inner()
            .map_err(|e| Error::data(Location::file(&path), e.to_string()))?;
        tmp.commit()?;
        Ok(self.summary.finish(&self.meta))
    }
}

/// How many first time steps of `w` equal the last steps of `prev`, the
/// window written just before it: `window_len - shift` when both are of
/// the same subject, recording and split, `w` starts `shift` steps later
/// (0 < shift < window_len, from the start times and the rate) and the
/// shared steps agree bit for bit (NaN included); otherwise 0. The check
/// makes sharing exact whatever the caller did to the values.
fn shared_steps(prev: &Window, w: &Window, meta: &StoreMeta) -> usize {
    if prev.subject != w.subject || prev.recording != w.recording || prev.split != w.split {
        return 0;
    }
    let len = meta.window_len;
    let c = meta.channels.len();
    let dt_ms = (w.start_ms - prev.start_ms) as f64;
    let shift = (dt_ms * meta.rate_hz / 1000.0).round();
    if !(shift >= 1.0 && shift < len as f64) {
        return 0;
    }
    let k = len - shift as usize;
    let same = prev.values[(len - k) * c..]
        .iter()
        .zip(&w.values[..k * c])
        .all(|(a, b)| a.to_bits() == b.to_bits());
    if same {
        k
    } else {
        0
    }
}

/// What the encoding thread does next.
enum Job {
    /// Encode and compress a batch into the row group being filled.
    Batch(RecordBatch),
    /// Close the row group.
    Flush,
}

/// The Parquet writer on a thread of its own, so that encoding and zstd
/// compression of one batch overlap with making the next (resampling,
/// windowing, captioning) on the caller's thread. At most two batches wait,
/// so memory stays bounded. The first error ends the thread; the next
/// `send` (or `finish`) returns it.
struct Encoder {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<Result<ArrowWriter<AtomicFile>>>>,
}

impl Encoder {
    fn start(mut writer: ArrowWriter<AtomicFile>, path: PathBuf) -> Self {
        let (jobs, queue) = sync_channel::<Job>(2);
        let thread = std::thread::spawn(move || {
            for job in queue {
                match job {
                    Job::Batch(b) => writer.write(&b),
                    Job::Flush => writer.flush(),
                }
                .map_err(|e| Error::data(Location::file(&path), e.to_string()))?;
            }
            Ok(writer)
        });
        Self {
            jobs: Some(jobs),
            thread: Some(thread),
        }
    }

    /// Queue a job; when the thread has stopped on an error, that error.
    fn send(&mut self, job: Job) -> Result<()> {
        let sent = self.jobs.as_ref().map(|j| j.send(job).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        match self.finish() {
            Err(e) => Err(e),
            Ok(_) => Err(Error::param(
                "store writer",
                "the writer was already finished",
            )),
        }
    }

    /// Stop taking jobs, wait for the queued ones and hand back the Parquet
    /// writer (or the thread's error).
    fn finish(&mut self) -> Result<ArrowWriter<AtomicFile>> {
        self.jobs = None;
        let thread = self
            .thread
            .take()
            .ok_or_else(|| Error::param("store writer", "the writer has stopped"))?;
        thread
            .join()
            .map_err(|_| Error::param("store writer", "the encoding thread panicked"))?
    }
}

impl Drop for Encoder {
    /// Stop the thread and wait for it, so that an unfinished store's
    /// temporary file is gone when the writer is.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
