//! The wearlang window store: one Parquet row per [`Window`], with the
//! store's [`StoreMeta`] (channels, window length, rate, normalisation,
//! labels, split, provenance) as JSON in the Parquet footer. A window
//! stores only the time steps it does not share with the window before it
//! (layout version 2), so overlapping windows do not copy their samples;
//! readers hand out whole windows and still read version-1 stores.
//!
//! Writes are atomic ([`StoreWriter`] writes a hidden temporary file beside
//! the destination and renames it on [`StoreWriter::finish`]); reads stream
//! row groups in batches ([`StoreReader::batches`]) with bounded memory,
//! optionally filtered to one split and normalised. [`WindowSource`] is the
//! one interface training, evaluation and captioning read windows through
//! (a store, or windows in memory as a [`MemorySource`]). The layout is described
//! in `docs/store.md`. [`Rewindowed`] cuts a store's windows again at
//! another length or stride without re-ingesting ([`rewindow`]).
//! [`rewrite`] and [`rewrite_batches`] copy a store
//! while editing its windows (adding captions); [`embeddings`] writes and
//! reads the embedding files of `wearlang embed`.
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

pub mod embeddings;
mod meta;
mod reader;
pub mod rewindow;
mod schema;
pub mod shards;
mod source;
mod writer;

pub use meta::{StoreMeta, StoreSummary, FORMAT_VERSION, META_KEY};
pub use reader::{ReadOptions, StoreReader, WindowBatches, DEFAULT_BATCH_SIZE};
pub use rewindow::{write_rewindowed, MixedLabels, Rewindow, Rewindowed, Uncovered};
pub use shards::{ShardBy, ShardSpec};
pub use source::{MemorySource, WindowBatchIter, WindowSource};
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
    rewrite_batches(
        src,
        dst,
        |meta| {
            add_caption_columns(meta, new_caption_columns);
            Ok(())
        },
        |_, batch| batch.iter_mut().try_for_each(&mut f),
    )
}

/// Add the caption variants `names` to `meta.caption_columns`, skipping
/// those already present.
pub fn add_caption_columns(meta: &mut StoreMeta, names: &[String]) {
    for name in names {
        if !meta.caption_columns.contains(name) {
            meta.caption_columns.push(name.clone());
        }
    }
}

/// The general form of [`rewrite`]: `meta` edits a copy of the source's
/// metadata before anything is written (add caption columns with
/// [`add_caption_columns`], record provenance in `extra`; the channels,
/// window length and rate must stay), then `f` edits each batch of windows
/// (raw values, in store order) together with the index of its first window
/// in the store. Streams batch by batch and writes atomically, so `dst` may
/// equal `src`; on any error the destination is untouched. The error type is
/// the caller's (anything a [`wearlang_core::Error`] converts into, such as
/// `anyhow::Error`).
pub fn rewrite_batches<E: From<wearlang_core::Error>>(
    src: impl AsRef<Path>,
    dst: impl AsRef<Path>,
    meta: impl FnOnce(&mut StoreMeta) -> std::result::Result<(), E>,
    f: impl FnMut(usize, &mut [Window]) -> std::result::Result<(), E>,
) -> std::result::Result<StoreSummary, E> {
    // The reader holds the source open; the writer's temporary file is
    // renamed over `dst` only after the last batch, so in-place is safe.
    let reader = StoreReader::open(src)?;
    write_source(&reader, dst, meta, f)
}

/// Write the windows of any [`WindowSource`] (raw values, in source order)
/// to a new store at `dst`, as [`rewrite_batches`] does for a store: `meta`
/// edits a copy of the source's metadata, `f` edits each batch with the
/// index of its first window. Atomic: on any error `dst` is untouched.
pub fn write_source<E: From<wearlang_core::Error>>(
    source: &dyn WindowSource,
    dst: impl AsRef<Path>,
    meta: impl FnOnce(&mut StoreMeta) -> std::result::Result<(), E>,
    f: impl FnMut(usize, &mut [Window]) -> std::result::Result<(), E>,
) -> std::result::Result<StoreSummary, E> {
    write_source_where(source, dst, |_| true, meta, f)
}

/// [`write_source`] for the windows of `source` that `keep` accepts (the
/// windows of one shard, say); `f` sees the kept windows, with the index
/// of the batch's first among them.
pub fn write_source_where<E: From<wearlang_core::Error>>(
    source: &dyn WindowSource,
    dst: impl AsRef<Path>,
    keep: impl Fn(&Window) -> bool,
    meta: impl FnOnce(&mut StoreMeta) -> std::result::Result<(), E>,
    mut f: impl FnMut(usize, &mut [Window]) -> std::result::Result<(), E>,
) -> std::result::Result<StoreSummary, E> {
    let mut new_meta = source.meta().clone();
    meta(&mut new_meta)?;
    let mut writer = StoreWriter::create(dst, new_meta)?;
    let mut offset = 0;
    for batch in source.batches(ReadOptions::default())? {
        let mut batch = batch?;
        batch.retain(&keep);
        if batch.is_empty() {
            continue;
        }
        f(offset, &mut batch)?;
        offset += batch.len();
        writer.write(&batch)?;
    }
    Ok(writer.finish()?)
}
