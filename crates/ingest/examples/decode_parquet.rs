//! Plain Parquet decoding, the baseline of `cargo xtask bench ingest`.
//!
//! Decodes every column of a Parquet file with the parquet crate's Arrow
//! reader and folds the values into a checksum (so that nothing is optimised
//! away): numbers are summed, strings contribute their byte length.
//!
//! ```sh
//! cargo run --release -p wearlang-ingest --example decode_parquet -- FILE.parquet
//! ```
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type, Int32Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: decode_parquet FILE.parquet")?;
    let started = Instant::now();
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path)?)?
        .with_batch_size(65_536)
        .build()?;
    let (mut rows, mut sum, mut string_bytes, mut nulls) = (0usize, 0f64, 0usize, 0usize);
    for batch in reader {
        let batch = batch?;
        rows += batch.num_rows();
        for col in batch.columns() {
            nulls += col.null_count();
            match col.data_type() {
                DataType::Float32 => {
                    let a = col.as_primitive::<Float32Type>();
                    sum += a.iter().flatten().map(f64::from).sum::<f64>();
                }
                DataType::Float64 => {
                    sum += col
                        .as_primitive::<Float64Type>()
                        .iter()
                        .flatten()
                        .sum::<f64>();
                }
                DataType::Int64 => {
                    let a = col.as_primitive::<Int64Type>();
                    sum += a.iter().flatten().map(|v| v as f64).sum::<f64>();
                }
                DataType::Int32 => {
                    let a = col.as_primitive::<Int32Type>();
                    sum += a.iter().flatten().map(f64::from).sum::<f64>();
                }
                DataType::Utf8 => {
                    string_bytes += col
                        .as_string::<i32>()
                        .iter()
                        .flatten()
                        .map(str::len)
                        .sum::<usize>();
                }
                DataType::LargeUtf8 => {
                    string_bytes += col
                        .as_string::<i64>()
                        .iter()
                        .flatten()
                        .map(str::len)
                        .sum::<usize>();
                }
                other => return Err(format!("unsupported column type {other}").into()),
            }
        }
    }
    println!(
        "{path}: {rows} rows, {nulls} nulls, {string_bytes} string bytes, checksum {sum:.6e}, {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
