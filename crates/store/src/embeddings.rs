//! Embedding files, as `wearlang embed` writes them: Parquet with one row per
//! embedded window or text and a fixed-size list column `embedding`
//! (float32, `dim` values per row).
//!
//! * Windows ([`write_window_embeddings`]): columns `subject`, `recording`,
//!   `start_ms` (int64), `label` (nullable), `split`, `embedding`.
//! * Texts ([`write_text_embeddings`]): columns `text`, `embedding`.
//!
//! Files are written atomically (through [`wearlang_core::fs::AtomicFile`])
//! and read back with [`read_embeddings`].
//!
//! ```
//! use wearlang_store::embeddings::{read_embeddings, write_text_embeddings, EmbeddingMatrix};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("texts.parquet");
//! let emb = EmbeddingMatrix::new(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
//! write_text_embeddings(&path, &["walking", "sleeping"], &emb).unwrap();
//! let back = read_embeddings(&path).unwrap();
//! assert_eq!(back.texts.as_deref(), Some(&["walking".to_string(), "sleeping".to_string()][..]));
//! assert_eq!(back.embeddings, emb);
//! ```
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use wearlang_core::fs::AtomicFile;
use wearlang_core::{Error, Location, Result, Split, Window};

/// Embeddings as plain data: `rows × dim` float32 values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingMatrix {
    dim: usize,
    values: Vec<f32>,
}

impl EmbeddingMatrix {
    /// `values` holds `dim` values per row; errors when `dim` is 0 or does
    /// not divide the number of values.
    pub fn new(dim: usize, values: Vec<f32>) -> Result<Self> {
        if dim == 0 || !values.len().is_multiple_of(dim) {
            return Err(Error::Shape(format!(
                "{} embedding values do not make rows of {dim}",
                values.len()
            )));
        }
        Ok(Self { dim, values })
    }

    /// Values per row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.dim
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// All values, row-major.
    pub fn values(&self) -> &[f32] {
        &self.values
    }
}

/// Which window a row of a window-embeddings file embeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowKey {
    /// The window's subject.
    pub subject: String,
    /// The window's recording.
    pub recording: String,
    /// The window's start, in ms.
    pub start_ms: i64,
    /// The window's label, if any.
    pub label: Option<String>,
    /// The window's split.
    pub split: Split,
}

/// An embeddings file read back by [`read_embeddings`]: the embeddings and
/// either the windows or the texts they belong to (row by row).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingsFile {
    /// One row per window or text.
    pub embeddings: EmbeddingMatrix,
    /// The windows, for a window-embeddings file.
    pub windows: Option<Vec<WindowKey>>,
    /// The texts, for a text-embeddings file.
    pub texts: Option<Vec<String>>,
}

fn data_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::data(Location::file(path), e.to_string())
}

fn check_rows(path: &Path, rows: usize, emb: &EmbeddingMatrix) -> Result<()> {
    if rows != emb.rows() {
        return Err(Error::Shape(format!(
            "{}: {rows} rows but {} embeddings",
            path.display(),
            emb.rows()
        )));
    }
    Ok(())
}

/// The `embedding` column: a non-null fixed-size list of non-null float32.
fn embedding_column(path: &Path, emb: &EmbeddingMatrix) -> Result<(Field, ArrayRef)> {
    let dim = i32::try_from(emb.dim).map_err(|_| data_err(path, "embedding too wide"))?;
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let arr = FixedSizeListArray::try_new(
        item.clone(),
        dim,
        Arc::new(Float32Array::from(emb.values.clone())),
        None,
    )
    .map_err(|e| data_err(path, e))?;
    Ok((
        Field::new("embedding", DataType::FixedSizeList(item, dim), false),
        Arc::new(arr),
    ))
}

/// One record batch with default writer properties, atomically.
fn write_parquet(path: &Path, fields: Vec<Field>, cols: Vec<ArrayRef>) -> Result<()> {
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols).map_err(|e| data_err(path, e))?;
    let file = AtomicFile::create(path)?;
    let mut w = ArrowWriter::try_new(file, schema, None).map_err(|e| data_err(path, e))?;
    w.write(&batch).map_err(|e| data_err(path, e))?;
    w.into_inner().map_err(|e| data_err(path, e))?.commit()
}

/// Write the embeddings of `windows` (row `i` of `embeddings` belongs to
/// `windows[i]`) to `path`, atomically: columns `subject`, `recording`,
/// `start_ms`, `label`, `split`, `embedding`.
pub fn write_window_embeddings(
    path: impl AsRef<Path>,
    windows: &[Window],
    embeddings: &EmbeddingMatrix,
) -> Result<()> {
    let path = path.as_ref();
    check_rows(path, windows.len(), embeddings)?;
    let w = windows;
    let (ef, ec) = embedding_column(path, embeddings)?;
    let fields = vec![
        Field::new("subject", DataType::Utf8, false),
        Field::new("recording", DataType::Utf8, false),
        Field::new("start_ms", DataType::Int64, false),
        Field::new("label", DataType::Utf8, true),
        Field::new("split", DataType::Utf8, false),
        ef,
    ];
    let cols: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            w.iter().map(|w| w.subject.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            w.iter().map(|w| w.recording.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(w.iter().map(|w| w.start_ms))),
        Arc::new(StringArray::from_iter(w.iter().map(|w| w.label.as_deref()))),
        Arc::new(StringArray::from_iter_values(
            w.iter().map(|w| w.split.as_str()),
        )),
        ec,
    ];
    write_parquet(path, fields, cols)
}

/// Write the embeddings of `texts` (row `i` of `embeddings` belongs to
/// `texts[i]`) to `path`, atomically: columns `text`, `embedding`.
pub fn write_text_embeddings<S: AsRef<str>>(
    path: impl AsRef<Path>,
    texts: &[S],
    embeddings: &EmbeddingMatrix,
) -> Result<()> {
    let path = path.as_ref();
    check_rows(path, texts.len(), embeddings)?;
    let (ef, ec) = embedding_column(path, embeddings)?;
    write_parquet(
        path,
        vec![Field::new("text", DataType::Utf8, false), ef],
        vec![
            Arc::new(StringArray::from_iter_values(
                texts.iter().map(|t| t.as_ref()),
            )),
            ec,
        ],
    )
}

fn string_column<'a>(
    path: &Path,
    batch: &'a RecordBatch,
    name: &str,
) -> Result<Option<&'a StringArray>> {
    match batch.column_by_name(name) {
        None => Ok(None),
        Some(c) => c
            .as_any()
            .downcast_ref::<StringArray>()
            .map(Some)
            .ok_or_else(|| Error::data(Location::file(path).column(name), "not a string column")),
    }
}

/// Read an embeddings file written by [`write_window_embeddings`] or
/// [`write_text_embeddings`].
pub fn read_embeddings(path: impl AsRef<Path>) -> Result<EmbeddingsFile> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| data_err(path, e))?;
    let mut dim = None;
    let mut values = Vec::new();
    let mut windows: Option<Vec<WindowKey>> = None;
    let mut texts: Option<Vec<String>> = None;
    for batch in reader {
        let batch = batch.map_err(|e| data_err(path, e))?;
        let at = |c: &str| Location::file(path).column(c);
        let list = batch
            .column_by_name("embedding")
            .and_then(|c| c.as_any().downcast_ref::<FixedSizeListArray>())
            .ok_or_else(|| Error::data(at("embedding"), "no fixed-size list column"))?;
        let d = list.value_length() as usize;
        if *dim.get_or_insert(d) != d {
            return Err(Error::data(at("embedding"), "the width changes"));
        }
        let floats = list
            .values()
            .as_any()
            .downcast_ref::<Float32Array>()
            .ok_or_else(|| Error::data(at("embedding"), "not float32"))?;
        let (start, len) = (list.offset() * d, list.len() * d);
        values.extend_from_slice(&floats.values()[start..start + len]);
        if let Some(t) = string_column(path, &batch, "text")? {
            texts
                .get_or_insert_with(Vec::new)
                .extend(t.iter().map(|s| s.unwrap_or_default().to_string()));
        }
        if let Some(subject) = string_column(path, &batch, "subject")? {
            let need = |c: &str| {
                string_column(path, &batch, c)?.ok_or_else(|| Error::data(at(c), "column missing"))
            };
            let (recording, label, split) = (need("recording")?, need("label")?, need("split")?);
            let start_ms = batch
                .column_by_name("start_ms")
                .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
                .ok_or_else(|| Error::data(at("start_ms"), "no int64 column"))?;
            let out = windows.get_or_insert_with(Vec::new);
            for i in 0..batch.num_rows() {
                out.push(WindowKey {
                    subject: subject.value(i).to_string(),
                    recording: recording.value(i).to_string(),
                    start_ms: start_ms.value(i),
                    label: label.is_valid(i).then(|| label.value(i).to_string()),
                    split: Split::parse(split.value(i))?,
                });
            }
        }
    }
    let dim = dim.unwrap_or(1);
    Ok(EmbeddingsFile {
        embeddings: EmbeddingMatrix::new(dim, values)?,
        windows,
        texts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.parquet");
        let mut a = Window::from_values("s1", "r1", 0, 1.0, 1, vec![1.0, 2.0]).unwrap();
        a.label = Some("walking".into());
        a.split = Split::Test;
        let b = Window::from_values("s2", "r9", 60_000, 1.0, 1, vec![3.0, 4.0]).unwrap();
        let emb = EmbeddingMatrix::new(3, vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6]).unwrap();
        write_window_embeddings(&path, &[a.clone(), b.clone()], &emb).unwrap();
        let back = read_embeddings(&path).unwrap();
        assert_eq!(back.embeddings, emb);
        assert_eq!(back.embeddings.row(1), [0.4, 0.5, 0.6]);
        assert!(back.texts.is_none());
        let keys = back.windows.unwrap();
        assert_eq!(
            keys[0],
            WindowKey {
                subject: "s1".into(),
                recording: "r1".into(),
                start_ms: 0,
                label: Some("walking".into()),
                split: Split::Test,
            }
        );
        assert_eq!(keys[1].label, None);
        assert_eq!(keys[1].start_ms, 60_000);
        assert_eq!(keys[1].split, b.split);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn mismatched_rows_are_refused_and_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let emb = EmbeddingMatrix::new(2, vec![1.0, 2.0]).unwrap();
        let err = write_text_embeddings(&path, &["a", "b"], &emb).unwrap_err();
        assert!(err.to_string().contains("2 rows but 1"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(EmbeddingMatrix::new(2, vec![1.0]).is_err());
        assert!(EmbeddingMatrix::new(0, vec![]).is_err());
    }
}
