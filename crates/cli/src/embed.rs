//! `wearlang embed`: sensor windows or texts → normalised embeddings of a
//! trained sensor-language model, written as Parquet.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{ArrayRef, FixedSizeListArray, Float32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use clap::Args;
use parquet::arrow::ArrowWriter;
use wearlang_core::Split;
use wearlang_models::load_split;
use wearlang_train::{load_sensor_language, WindowSet};

/// Arguments of `wearlang embed`.
#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// A `wearlang train` run directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Embed the windows of this store …
    #[arg(long, conflicts_with = "texts")]
    pub store: Option<PathBuf>,
    /// … (only this split: train, val or test) …
    #[arg(long, requires = "store")]
    pub split: Option<String>,
    /// … or the lines of this UTF-8 text file.
    #[arg(long)]
    pub texts: Option<PathBuf>,
    /// The Parquet file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// MiniLM's directory (default: $WEARLANG_MINILM or target/models/all-MiniLM-L6-v2).
    #[arg(long)]
    pub minilm: Option<PathBuf>,
}

fn embedding_column(e: &tch::Tensor) -> Result<(Field, ArrayRef)> {
    let size = e.size();
    let dim = size[1] as i32;
    let values: Vec<f32> = Vec::try_from(e.flatten(0, -1))?;
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let arr = FixedSizeListArray::try_new(
        item.clone(),
        dim,
        Arc::new(Float32Array::from(values)),
        None,
    )?;
    Ok((
        Field::new("embedding", DataType::FixedSizeList(item, dim), false),
        Arc::new(arr),
    ))
}

fn write_parquet(path: &Path, fields: Vec<Field>, cols: Vec<ArrayRef>) -> Result<()> {
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), cols)?;
    let tmp = path.with_extension("parquet.tmp");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = ArrowWriter::try_new(file, schema, None)?;
    w.write(&batch)?;
    w.close()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Run `wearlang embed`.
pub fn run(a: &EmbedArgs) -> Result<()> {
    if a.store.is_some() == a.texts.is_some() {
        bail!("give either --store (windows) or --texts (a file with one text per line)");
    }
    let loaded = load_sensor_language(&a.model, a.minilm.as_deref(), tch::Device::Cpu)
        .with_context(|| format!("loading {}", a.model.display()))?;
    let model = &loaded.model;
    match (&a.store, &a.texts) {
        (Some(store), None) => {
            let set = match &a.split {
                Some(s) => {
                    let split = match s.as_str() {
                        "train" => Split::Train,
                        "val" => Split::Val,
                        "test" => Split::Test,
                        _ => bail!("--split {s}: expected train, val or test"),
                    };
                    load_split(store, split)?
                }
                None => WindowSet::load(store, None, true)?,
            };
            let e = model.embed_windows(&set.x, 256)?;
            let (ef, ec) = embedding_column(&e)?;
            let w = &set.windows;
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
            write_parquet(&a.out, fields, cols)?;
            println!(
                "{} windows → {} ({}-d embeddings)",
                w.len(),
                a.out.display(),
                e.size()[1]
            );
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.is_empty() {
                bail!("{}: no non-empty lines to embed", path.display());
            }
            let e = model.embed_texts(&lines, 64)?;
            let (ef, ec) = embedding_column(&e)?;
            write_parquet(
                &a.out,
                vec![Field::new("text", DataType::Utf8, false), ef],
                vec![
                    Arc::new(StringArray::from_iter_values(lines.iter().copied())),
                    ec,
                ],
            )?;
            println!("{} texts → {}", lines.len(), a.out.display());
        }
        _ => unreachable!("checked above"),
    }
    Ok(())
}
