//! [`WindowSource`]: the one interface through which training, evaluation
//! and captioning read windows. A [`StoreReader`] streams a Parquet store;
//! a [`MemorySource`] serves windows already in memory (tests, windows made
//! on the fly, a fork's own data). Both filter by split and normalise the
//! same way, and both hand out batches, so a reader never needs the whole
//! source at once.

use crate::{ReadOptions, StoreMeta, StoreReader, DEFAULT_BATCH_SIZE};
use wearlang_core::{Error, Result, Window};

/// Batches of windows, in source order.
pub type WindowBatchIter<'a> = Box<dyn Iterator<Item = Result<Vec<Window>>> + 'a>;

/// A source of windows that share one [`StoreMeta`] (channels, window
/// length, rate, labels, normalisation), read in batches.
pub trait WindowSource {
    /// Where the windows come from, for messages (a path or a name).
    fn name(&self) -> String;

    /// The metadata every window of the source shares.
    fn meta(&self) -> &StoreMeta;

    /// Number of windows in the source, over all splits.
    fn num_windows(&self) -> usize;

    /// The windows that pass `opts` (split, normalisation) in batches of at
    /// most `opts.batch_size` ([`DEFAULT_BATCH_SIZE`] when 0), in source
    /// order. An error when `opts.normalise` is set and the source has no
    /// normalisation statistics.
    fn batches(&self, opts: ReadOptions) -> Result<WindowBatchIter<'_>>;

    /// All windows that pass `opts`, in one vector.
    fn read_all(&self, opts: ReadOptions) -> Result<Vec<Window>> {
        let mut out = Vec::new();
        for batch in self.batches(opts)? {
            out.extend(batch?);
        }
        Ok(out)
    }
}

impl WindowSource for StoreReader {
    fn name(&self) -> String {
        self.path().display().to_string()
    }

    fn meta(&self) -> &StoreMeta {
        StoreReader::meta(self)
    }

    fn num_windows(&self) -> usize {
        StoreReader::num_windows(self)
    }

    fn batches(&self, opts: ReadOptions) -> Result<WindowBatchIter<'_>> {
        Ok(Box::new(StoreReader::batches(self, opts)?))
    }
}

/// Windows held in memory, served like a store: split filter, the
/// metadata's normalisation, batches.
#[derive(Debug, Clone)]
pub struct MemorySource {
    name: String,
    meta: StoreMeta,
    windows: Vec<Window>,
}

impl MemorySource {
    /// A source called `name` (for messages). Errors when a window's length
    /// does not match `meta` (window length × channels), naming the window.
    pub fn new(name: impl Into<String>, meta: StoreMeta, windows: Vec<Window>) -> Result<Self> {
        let name = name.into();
        let want = meta.window_len * meta.channels.len();
        for (i, w) in windows.iter().enumerate() {
            if w.values.len() != want || w.missing.len() != want {
                return Err(Error::param(
                    "windows",
                    format!(
                        "{name}: window {i} (subject {}, recording {}, start {} ms) has {} values \
                         and {} missing flags, the metadata says {} steps × {} channels = {want}",
                        w.subject,
                        w.recording,
                        w.start_ms,
                        w.values.len(),
                        w.missing.len(),
                        meta.window_len,
                        meta.channels.len()
                    ),
                ));
            }
        }
        Ok(MemorySource {
            name,
            meta,
            windows,
        })
    }

    /// The windows, raw (as given).
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }
}

impl WindowSource for MemorySource {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn meta(&self) -> &StoreMeta {
        &self.meta
    }

    fn num_windows(&self) -> usize {
        self.windows.len()
    }

    fn batches(&self, opts: ReadOptions) -> Result<WindowBatchIter<'_>> {
        let norm = match (opts.normalise, &self.meta.normalisation) {
            (false, _) => None,
            (true, Some(n)) => Some(n),
            (true, None) => {
                return Err(Error::param(
                    "normalise",
                    format!("{} has no normalisation statistics", self.name),
                ))
            }
        };
        let size = if opts.batch_size == 0 {
            DEFAULT_BATCH_SIZE
        } else {
            opts.batch_size
        };
        let mut kept = self
            .windows
            .iter()
            .filter(move |w| opts.split.is_none_or(|s| w.split == s));
        Ok(Box::new(std::iter::from_fn(move || {
            let mut batch: Vec<Window> = kept.by_ref().take(size).cloned().collect();
            if batch.is_empty() {
                return None;
            }
            if let Some(norm) = norm {
                for w in &mut batch {
                    if let Err(e) = norm.apply(&mut w.values) {
                        return Some(Err(e));
                    }
                }
            }
            Some(Ok(batch))
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreWriter;
    use wearlang_core::{ChannelKind, ChannelSpec, Normalisation, Split};

    fn windows() -> (StoreMeta, Vec<Window>) {
        let channels = vec![
            ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate),
            ChannelSpec::new("steps", "count", ChannelKind::Steps),
        ];
        let mut meta = StoreMeta::new(channels, 2, 1.0);
        meta.source = "test".into();
        let mut out = Vec::new();
        for i in 0..7 {
            let v = i as f32;
            let mut w =
                Window::from_values("s", "r", i * 2000, 1.0, 2, vec![v, 1.0, f32::NAN, 3.0])
                    .unwrap();
            w.split = [Split::Train, Split::Test][i as usize % 2];
            w.label = Some(["a", "b"][i as usize % 3 % 2].into());
            out.push(w);
        }
        meta.normalisation = Some(Normalisation {
            mean: vec![1.0, 2.0],
            std: vec![2.0, 4.0],
            count: Vec::new(),
        });
        (meta, out)
    }

    /// A store and a memory source of the same windows read the same,
    /// batch by batch, for every split filter and normalisation.
    #[test]
    fn memory_source_reads_like_a_store() {
        let (meta, ws) = windows();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.parquet");
        let mut writer = StoreWriter::create(&path, meta.clone()).unwrap();
        writer.write(&ws).unwrap();
        writer.finish().unwrap();
        let store = StoreReader::open(&path).unwrap();
        let mem = MemorySource::new("memory", meta, ws).unwrap();
        let sources: [&dyn WindowSource; 2] = [&store, &mem];
        assert_eq!(sources[0].num_windows(), sources[1].num_windows());
        for split in [
            None,
            Some(Split::Train),
            Some(Split::Test),
            Some(Split::Val),
        ] {
            for normalise in [false, true] {
                let opts = ReadOptions {
                    batch_size: 3,
                    split,
                    normalise,
                };
                let read = |s: &dyn WindowSource| -> Vec<Vec<Window>> {
                    s.batches(opts.clone())
                        .unwrap()
                        .collect::<Result<_>>()
                        .unwrap()
                };
                let (a, b) = (read(sources[0]), read(sources[1]));
                assert_eq!(a.len(), b.len(), "{split:?} {normalise}");
                for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
                    assert_eq!(x.start_ms, y.start_ms);
                    assert_eq!(x.label, y.label);
                    assert_eq!(x.split, y.split);
                    for (p, q) in x.values.iter().zip(&y.values) {
                        assert!(p.to_bits() == q.to_bits(), "{p} vs {q}");
                    }
                }
                assert!(a.iter().all(|b| b.len() <= 3));
            }
        }
        let train = mem
            .read_all(ReadOptions {
                split: Some(Split::Train),
                normalise: true,
                ..ReadOptions::default()
            })
            .unwrap();
        assert_eq!(train.len(), 4);
        assert_eq!(train[1].values[0], (2.0 - 1.0) / 2.0);
    }

    #[test]
    fn memory_source_errors_name_the_window_and_the_setting() {
        let (mut meta, mut ws) = windows();
        ws[3].values.pop();
        let err = MemorySource::new("mine", meta.clone(), ws).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("mine") && msg.contains("window 3"), "{msg}");
        meta.normalisation = None;
        let (_, ws) = windows();
        let mem = MemorySource::new("mine", meta, ws).unwrap();
        let opts = ReadOptions {
            normalise: true,
            ..ReadOptions::default()
        };
        let msg = mem.batches(opts).err().unwrap().to_string();
        assert!(msg.contains("normalisation"), "{msg}");
    }
}
