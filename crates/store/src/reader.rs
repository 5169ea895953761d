//! Reading stores in streaming batches.
use crate::meta::SummaryBuilder;
use crate::schema::{check_schema, col, from_batch, BatchColumns};
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

/// An open window store.
#[derive(Debug, Clone)]
pub struct StoreReader {
    path: PathBuf,
    meta: StoreMeta,
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
    /// version) and the schema. Errors name the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        wearlang_core::guard::catch_reader_panic(path, "store (Parquet)", || Self::open_inner(path))
    }

    fn open_inner(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        let reader_meta =
            ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| {
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
        if version != Some(FORMAT_VERSION as u64) {
            return Err(Error::data(
                Location::file(&path),
                format!(
                    "store format version {}, this build reads version {FORMAT_VERSION}",
                    version.map_or("unknown".to_string(), |v| v.to_string())
                ),
            ));
        }
        let meta: StoreMeta = serde_json::from_str(&json)
            .map_err(|e| not_a_store(&path, format!("bad '{META_KEY}' metadata: {e}")))?;
        meta.validate()
            .map_err(|e| not_a_store(&path, format!("bad '{META_KEY}' metadata: {e}")))?;
        check_schema(reader_meta.schema(), &meta, &path)?;
        Ok(Self {
            path,
            meta,
            reader_meta,
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

    /// Number of windows (rows) in the store.
    pub fn num_windows(&self) -> usize {
        self.reader_meta.metadata().file_metadata().num_rows() as usize
    }

    /// Number of row groups (units of streaming).
    pub fn num_row_groups(&self) -> usize {
        self.reader_meta.metadata().num_row_groups()
    }

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

    /// Stream the windows in batches of at most `opts.batch_size`, one row
    /// group in memory at a time.
    pub fn batches(&self, opts: ReadOptions) -> Result<WindowBatches> {
        if opts.normalise && self.meta.normalisation.is_none() {
            return Err(Error::param(
                "normalise",
                format!("{} has no normalisation statistics", self.path.display()),
            ));
        }
        let batch_size = if opts.batch_size == 0 {
            DEFAULT_BATCH_SIZE
        } else {
            opts.batch_size
        };
        let mut builder = self.builder()?.with_batch_size(batch_size);
        if let Some(split) = opts.split {
            builder = builder.with_row_filter(self.split_filter(split)?);
        }
        let inner = builder
            .build()
            .map_err(|e| Error::data(Location::file(&self.path), e.to_string()))?;
        Ok(WindowBatches {
            path: self.path.clone(),
            meta: self.meta.clone(),
            inner,
            normalise: opts.normalise,
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
        let reader = self
            .builder()?
            .with_projection(mask)
            .with_batch_size(8192)
            .build()
            .map_err(|e| Error::data(Location::file(&self.path), e.to_string()))?;
        let mut acc = SummaryBuilder::default();
        let mut reader = reader;
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
        Ok(acc.finish(&self.meta))
    }
}

/// Iterator over batches of windows from [`StoreReader::batches`].
pub struct WindowBatches {
    path: PathBuf,
    meta: StoreMeta,
    inner: ParquetRecordBatchReader,
    normalise: bool,
}

impl Iterator for WindowBatches {
    type Item = Result<Vec<Window>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let inner = &mut self.inner;
            let next =
                wearlang_core::guard::catch_reader_panic(&self.path, "store (Parquet)", || {
                    Ok(inner.next())
                });
            let next = match next {
                Ok(n) => n,
                Err(e) => return Some(Err(e)),
            };
            let batch = match next? {
                Ok(b) => b,
                Err(e) => {
                    return Some(Err(Error::data(
                        Location::file(&self.path),
                        format!("reading store: {e}"),
                    )))
                }
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let mut windows = match from_batch(&batch, &self.meta, &self.path) {
                Ok(w) => w,
                Err(e) => return Some(Err(e)),
            };
            if self.normalise {
                if let Some(norm) = &self.meta.normalisation {
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
