//! Write a store `N` times as large as another, for memory and speed
//! measurements: every window `N` times, copy `k` with `-copyK` appended to
//! its subject and recording (so splits, labels and captions are kept and
//! copies stay apart); the metadata (normalisation included) is the
//! source's. Streams batch by batch.
//!
//! `cargo run --release -p wearlang-store --example replicate_store -- IN OUT N`
use wearlang_store::{ReadOptions, StoreReader, StoreWriter};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, src, dst, n] = args.as_slice() else {
        return Err("usage: replicate_store IN OUT N".into());
    };
    let n: usize = n.parse()?;
    let reader = StoreReader::open(src)?;
    let mut writer = StoreWriter::create(dst, reader.meta().clone())?;
    for k in 0..n {
        for batch in reader.batches(ReadOptions::default())? {
            let mut batch = batch?;
            for w in &mut batch {
                w.subject = format!("{}-copy{k}", w.subject);
                w.recording = format!("{}-copy{k}", w.recording);
            }
            writer.write(&batch)?;
        }
    }
    let summary = writer.finish()?;
    println!("{} windows written to {dst}", summary.windows);
    Ok(())
}
