//! Reading stores in streaming batches.
use crate::meta::SummaryBuilder;
use crate::schema::{check_schema, col, from_batch, BatchColumns, Chain};
use crate::{StoreMeta, StoreSummary, FORMAT_VERSION, META_KEY};
use arrow::array::{Array, BooleanArray, Float32Array, RecordBatch, StringArray};
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder, RowFilter,
};
use parquet::arrow::ProjectionMask;
use std::fs::File;
use std::path::{Path, PathBuf};
use wearlang_core::{Error, Location, Result, Split, Window};

/// Default number of windows per batch.
pub const DEFAULT_BATCH_SIZE: usize = 1024;

/// How to read windows from a store.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Windows per batch; 0 means [`DEFAULT_BATCH_SIZE`].
    pub batch_size: usize,
    /// Only windows of this split (filtered while decoding, so the values of
    /// other windows are not materialised).
    pub split: Option<Split>,
    /// Apply the store's normalisation to the values (NaN stays NaN). An
    /// error if the store has none.
    pub normalise: bool,
}

/// An open window store: one Parquet file, or a directory of shards read
/// as one store (see [`crate::shards`]).
#[derive(Debug, Clone)]
pub struct StoreReader {
    path: PathBuf,
    meta: StoreMeta,
    parts: Vec<Part>,
}

/// One Parquet file of a store.
#[derive(Debug, Clone)]
struct Part {
    path: PathBuf,
    /// The file's layout version (1 or [`FORMAT_VERSION`]).
    version: u32,
    reader_meta: ArrowReaderMetadata,
}

fn not_a_store(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::data(
        Location::file(path),
        format!("not a wearlang window store: {why}"),
    )
}

impl StoreReader {
    /// Open a store: reads and checks the footer, the metadata (format
    /// version) and the schema. A directory is read as a sharded store:
    /// every shard present, their metadata compatible (labels joined,
    /// normalisation pooled). Errors name the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_dir() {
            let (meta, part) = open_part(path)?;
            return Ok(Self {
                path: path.to_path_buf(),
                meta,
                parts: vec![part],
            });
        }
        let files = crate::shards::shard_files(path)?;
        let (metas, parts): (Vec<StoreMeta>, Vec<Part>) = files
            .iter()
            .map(|f| open_part(f))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
        let windows: Vec<usize> = (parts.iter())
            .map(|p| p.reader_meta.metadata().file_metadata().num_rows() as usize)
            .collect();
        let meta = crate::shards::merge_meta(&metas, &files, &windows)?;
        Ok(Self {
            path: path.to_path_buf(),
            meta,
            parts,
        })
    }

    /// The path the store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's metadata.
    pub fn meta(&self) -> &StoreMeta {
        &self.meta
    }

    /// The Parquet files of the store (one, or its shards in order).
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.parts.iter().map(|p| p.path.as_path())
    }

    /// Number of windows (rows) in the store.
    pub fn num_windows(&self) -> usize {
        self.parts
            .iter()
            .map(|p| p.reader_meta.metadata().file_metadata().num_rows() as usize)
            .sum()
    }

    /// Number of row groups (units of streaming).
    pub fn num_row_groups(&self) -> usize {
        self.parts
            .iter()
            .map(|p| p.reader_meta.metadata().num_row_groups())
            .sum()
    }

    /// Stream the windows in batches of at most `opts.batch_size`, one row
    /// group in memory at a time (shard after shard).
    pub fn batches(&self, opts: ReadOptions) -> Result<WindowBatches> {
        if opts.normalise && self.meta.normalisation.is_none() {
            return Err(Error::param(
                "normalise",
                format!("{} has no normalisation statistics", self.path.display()),
            ));
        }
        Ok(WindowBatches {
            store: self.clone(),
            opts,
            next_part: 0,
            inner: None,
            chain: Chain::default(),
        })
    }

    /// All windows (that pass `opts`) in one vector.
    pub fn read_all(&self, opts: ReadOptions) -> Result<Vec<Window>> {
        let mut out = Vec::new();
        for batch in self.batches(opts)? {
            out.extend(batch?);
        }
        Ok(out)
    }

    /// Counts over the whole store, streaming only the small columns
    /// (values are not decoded).
    pub fn summary(&self) -> Result<StoreSummary> {
        let mut acc = SummaryBuilder::default();
        for part in &self.parts {
            part.add_to_summary(&mut acc)?;
        }
        Ok(acc.finish(&self.meta))
    }
}

/// Open and check one Parquet file of a store.
fn open_part(path: &Path) -> Result<(StoreMeta, Part)> {
    wearlang_core::guard::catch_reader_panic(path, "store (Parquet)", || open_part_inner(path))
}

fn open_part_inner(path: &Path) -> Result<(StoreMeta, Part)> {
    let path = path.to_path_buf();
    let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
    let reader_meta = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| {
        not_a_store(
            &path,
            format!("unreadable Parquet (truncated or not Parquet): {e}"),
        )
    })?;
    let kv = reader_meta.metadata().file_metadata().key_value_metadata();
    let json = kv
        .and_then(|kv| kv.iter().find(|k| k.key == META_KEY))
        .and_then(|k| k.value.clone())
        .ok_or_else(|| {
            not_a_store(
                &path,
                format!("no '{META_KEY}' metadata in the Parquet footer"),
            )
        })?;
    let version: Option<u64> = serde_json::from_str::<serde_json::Value>(&json)
        .ok()
        .and_then(|v| v.get("format_version").and_then(|v| v.as_u64()));
    let Some(version) = version.filter(|v| (1..=FORMAT_VERSION as u64).contains(v)) else {
        return Err(Error::data(
            Location::file(&path),
            format!(
                "store format version {}, this build reads versions 1 to {FORMAT_VERSION}",
                version.map_or("unknown".to_string(), |v| v.to_string())
            ),
        ));
    };
    let version = version as u32;
    let meta: StoreMeta = serde_json::from_str(&json)
        .map_err(|e| not_a_store(&path, format!("bad '{META_KEY}' metadata: {e}")))?;
    meta.validate()
        .map_err(|e| not_a_store(&path, format!("bad '{META_KEY}' metadata: {e}")))?;
    check_schema(reader_meta.schema(), &meta, version, &path)?;
    Ok((
        meta,
        Part {
            path,
            version,
            reader_meta,
        },
    ))
}

impl Part {
    fn builder(&self) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
            file,
            self.reader_meta.clone(),
        ))
    }

    fn root_index(&self, name: &str) -> Result<usize> {
        self.reader_meta
            .schema()
            .index_of(name)
            .map_err(|_| Error::data(Location::file(&self.path).column(name), "column missing"))
    }

    fn split_filter(&self, split: Split) -> Result<RowFilter> {
        let mask = ProjectionMask::roots(
            self.reader_meta.parquet_schema(),
            [self.root_index(col::SPLIT)?],
        );
        let pred = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
            let col = batch
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| {
                    arrow::error::ArrowError::SchemaError("split is not a string".into())
                })?;
            // Accept the aliases of Split::parse as stored by other writers.
            Ok(col
                .iter()
                .map(|s| Some(s.is_some_and(|s| Split::parse(s).is_ok_and(|p| p == split))))
                .collect::<BooleanArray>())
        });
        Ok(RowFilter::new(vec![Box::new(pred)]))
    }

    /// A reader of this file's windows (batches of `batch_size`, only those
    /// of `split` when given).
    fn reader(&self, batch_size: usize, split: Option<Split>) -> Result<ParquetRecordBatchReader> {
        let mut builder = self.builder()?.with_batch_size(batch_size);
        if let Some(split) = split {
            builder = builder.with_row_filter(self.split_filter(split)?);
        }
        builder
            .build()
            .map_err(|e| Error::data(Location::file(&self.path), e.to_string()))
    }

    /// Add this file's windows to `acc`, streaming only the small columns.
    fn add_to_summary(&self, acc: &mut SummaryBuilder) -> Result<()> {
        let cols = [
            col::SUBJECT,
            col::RECORDING,
            col::LABEL,
            col::SPLIT,
            col::MISSING_FRACTION,
        ];
        let idx = cols
            .iter()
            .map(|c| self.root_index(c))
            .collect::<Result<Vec<_>>>()?;
        let mask = ProjectionMask::roots(self.reader_meta.parquet_schema(), idx);
        let mut reader = self
            .builder()?
            .with_projection(mask)
            .with_batch_size(8192)
            .build()
            .map_err(|e| Error::data(Location::file(&self.path), e.to_string()))?;
        let path = self.path.clone();
        let mut next = move || {
            wearlang_core::guard::catch_reader_panic(&path, "store (Parquet)", || Ok(reader.next()))
        };
        while let Some(batch) = next()? {
            let batch =
                batch.map_err(|e| Error::data(Location::file(&self.path), e.to_string()))?;
            let c = BatchColumns::new(&self.path, &batch);
            let subject = c.get::<StringArray>(col::SUBJECT)?;
            let recording = c.get::<StringArray>(col::RECORDING)?;
            let label = c.get::<StringArray>(col::LABEL)?;
            let split = c.get::<StringArray>(col::SPLIT)?;
            let missing = c.get::<Float32Array>(col::MISSING_FRACTION)?;
            for row in 0..batch.num_rows() {
                acc.add(
                    subject.value(row),
                    recording.value(row),
                    label.is_valid(row).then(|| label.value(row)),
                    c.split(split, row)?,
                    missing.value(row) as f64,
                );
            }
        }
        Ok(())
    }
}

/// Iterator over batches of windows from [`StoreReader::batches`].
pub struct WindowBatches {
    store: StoreReader,
    opts: ReadOptions,
    next_part: usize,
    /// The file being read, its layout version and its reader.
    inner: Option<(PathBuf, u32, ParquetRecordBatchReader)>,
    /// The last window read, which the next row may continue.
    chain: Chain,
}

impl WindowBatches {
    /// The next batch of Parquet rows, moving on to the next file at the end
    /// of one; `None` after the last file.
    fn next_rows(&mut self) -> Option<Result<(PathBuf, u32, RecordBatch)>> {
        loop {
            if self.inner.is_none() {
                let part = self.store.parts.get(self.next_part)?;
                self.next_part += 1;
                let size = match self.opts.batch_size {
                    0 => DEFAULT_BATCH_SIZE,
                    n => n,
                };
                match part.reader(size, self.opts.split) {
                    Ok(r) => self.inner = Some((part.path.clone(), part.version, r)),
                    Err(e) => return Some(Err(e)),
                }
                self.chain.reset();
            }
            let (path, version, reader) = self.inner.as_mut().expect("a reader was just opened");
            let next = wearlang_core::guard::catch_reader_panic(path, "store (Parquet)", || {
                Ok(reader.next())
            });
            match next {
                Err(e) => return Some(Err(e)),
                Ok(None) => self.inner = None,
                Ok(Some(Err(e))) => {
                    return Some(Err(Error::data(
                        Location::file(path.as_path()),
                        format!("reading store: {e}"),
                    )))
                }
                Ok(Some(Ok(b))) => return Some(Ok((path.clone(), *version, b))),
            }
        }
    }
}

impl Iterator for WindowBatches {
    type Item = Result<Vec<Window>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (path, version, batch) = match self.next_rows()? {
                Ok(x) => x,
                Err(e) => return Some(Err(e)),
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let meta = &self.store.meta;
            let mut windows = match from_batch(&batch, meta, version, &mut self.chain, &path) {
                Ok(w) => w,
                Err(e) => return Some(Err(e)),
            };
            if self.opts.normalise {
                if let Some(norm) = &meta.normalisation {
                    for w in &mut windows {
                        if let Err(e) = norm.apply(&mut w.values) {
                            return Some(Err(e));
                        }
                    }
                }
            }
            return Some(Ok(windows));
        }
    }
}
