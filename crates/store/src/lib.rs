//! The wearlang window store: one Parquet row per [`Window`], with the
//! store's [`StoreMeta`] (channels, window length, rate, normalisation,
//! labels, split, provenance) as JSON in the Parquet footer.
//!
//! Writes are atomic ([`StoreWriter`] writes a hidden temporary file beside
//! the destination and renames it on [`StoreWriter::finish`]); reads stream
//! row groups in batches ([`StoreReader::batches`]) with bounded memory,
//! optionally filtered to one split and normalised. The layout is described
//! in `docs/store.md`.
//!
//! ```
//! use wearlang_core::{ChannelKind, ChannelSpec, Split, Window};
//! use wearlang_store::{ReadOptions, StoreMeta, StoreReader, StoreWriter};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("windows.parquet");
//! let channels = vec![ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate)];
//! let mut meta = StoreMeta::new(channels, 3, 1.0);
//! meta.source = "doctest".into();
//!
//! let mut w = Window::from_values("s1", "r1", 0, 1.0, 1, vec![60.0, f32::NAN, 62.0]).unwrap();
//! w.label = Some("rest".into());
//! let mut writer = StoreWriter::create(&path, meta).unwrap();
//! writer.write(&[w.clone()]).unwrap();
//! let summary = writer.finish().unwrap();
//! assert_eq!(summary.windows, 1);
//!
//! let reader = StoreReader::open(&path).unwrap();
//! assert_eq!(reader.meta().source, "doctest");
//! let back = reader.read_all(ReadOptions::default()).unwrap();
//! assert_eq!(back[0].label.as_deref(), Some("rest"));
//! assert!(back[0].values[1].is_nan() && back[0].missing[1]);
//! let test_only = ReadOptions { split: Some(Split::Test), ..ReadOptions::default() };
//! assert!(reader.read_all(test_only).unwrap().is_empty());
//! ```

mod meta;
mod reader;
mod schema;
mod writer;

pub use meta::{StoreMeta, StoreSummary, FORMAT_VERSION, META_KEY};
pub use reader::{ReadOptions, StoreReader, WindowBatches, DEFAULT_BATCH_SIZE};
pub use writer::{StoreWriter, WriteOptions};

use std::path::Path;
use wearlang_core::{Result, Window};

/// Copy the store at `src` to `dst`, passing every window (raw values, in
/// store order) through `f`, and adding the caption variants
/// `new_caption_columns` (columns `caption_<name>`, filled from
/// `window.captions`) to those already present. Streams batch by batch and
/// writes atomically, so `dst` may equal `src`: the source is replaced only
/// when the copy is complete.
pub fn rewrite(
    src: impl AsRef<Path>,
    dst: impl AsRef<Path>,
    mut f: impl FnMut(&mut Window) -> Result<()>,
    new_caption_columns: &[String],
) -> Result<StoreSummary> {
    let reader = StoreReader::open(src)?;
    let mut meta = reader.meta().clone();
    for name in new_caption_columns {
        if !meta.caption_columns.contains(name) {
            meta.caption_columns.push(name.clone());
        }
    }
    let mut writer = StoreWriter::create(dst, meta)?;
    for batch in reader.batches(ReadOptions::default())? {
        let mut batch = batch?;
        for w in &mut batch {
            f(w)?;
        }
        writer.write(&batch)?;
    }
    writer.finish()
}
