//! Recordings of a stream set aside on disk while the other streams are
//! read: several streams given as files that hold many recordings each
//! (subject and recording columns) are each read once, front to back, and
//! every recording is written to an unnamed temporary file as soon as it
//! ends; it is read back when it is windowed and dropped after. Memory then
//! holds the recordings being read or windowed, not the input.
//!
//! A spill file holds, per recording, its times (`f64`), values (`f32`,
//! time-major) and, when the stream has labels, one `u32` per sample (an
//! index into the file's label table, `u32::MAX` for none), in the
//! machine's byte order; it has no name (it is gone when the process ends,
//! however it ends).
use crate::align::Whole;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wearlang_core::{Error, Location, Result};

/// Bytes converted at a time when writing.
const CHUNK: usize = 1 << 16;

/// No label (a sample outside every labelled row).
const NO_LABEL: u32 = u32::MAX;

/// An unnamed temporary file of recordings, with its label table.
pub(crate) struct Spill {
    file: File,
    /// Directory the file lies in (errors).
    dir: PathBuf,
    len: u64,
    labels: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u32>,
}

/// Where one recording lies in a [`Spill`], with what the checks before
/// windowing need (its first and last time, its first intervals).
#[derive(Debug, Clone)]
pub(crate) struct Spilled {
    offset: u64,
    n: usize,
    labelled: bool,
    /// Whether its samples were written ([`Spilled::unstored`]: only what
    /// the checks need was kept).
    stored: bool,
    /// The first `head` times (for the rate check).
    pub head: Vec<f64>,
    /// First and last time (`None`: no samples).
    pub span: Option<(f64, f64)>,
}

impl Spilled {
    /// What the checks need of `w` (its first `head` times and its span),
    /// its samples not set aside (a recording another shard windows).
    pub fn unstored(w: &Whole, head: usize) -> Self {
        Self {
            offset: 0,
            n: w.times.len(),
            labelled: false,
            stored: false,
            head: w.times[..w.times.len().min(head)].to_vec(),
            span: w.times.first().zip(w.times.last()).map(|(a, b)| (*a, *b)),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.n
    }
}

impl Spill {
    /// An empty spill file in `dir`.
    ///
    /// Errors: the file cannot be created there.
    pub fn new(dir: &Path) -> Result<Self> {
        let file = tempfile::tempfile_in(dir).map_err(|e| io_error(dir, "create", e))?;
        Ok(Self {
            file,
            dir: dir.to_path_buf(),
            len: 0,
            labels: Vec::new(),
            index: HashMap::new(),
        })
    }

    /// Append `w` (`width` channels), keeping its first `head` times in
    /// memory. Returns where it lies.
    ///
    /// Errors: the file cannot be written (a full disk).
    pub fn put(&mut self, w: &Whole, head: usize) -> Result<Spilled> {
        let labelled = !w.labels.is_empty();
        let offset = self.len;
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 8);
        let flush = |buf: &mut Vec<u8>, file: &File, len: &mut u64, dir: &Path| {
            file.write_all_at(buf, *len)
                .map_err(|e| io_error(dir, "write", e))?;
            *len += buf.len() as u64;
            buf.clear();
            Ok::<(), Error>(())
        };
        for t in &w.times {
            buf.extend_from_slice(&t.to_ne_bytes());
            if buf.len() >= CHUNK {
                flush(&mut buf, &self.file, &mut self.len, &self.dir)?;
            }
        }
        for v in &w.values {
            buf.extend_from_slice(&v.to_ne_bytes());
            if buf.len() >= CHUNK {
                flush(&mut buf, &self.file, &mut self.len, &self.dir)?;
            }
        }
        if labelled {
            let mut last: Option<(&Arc<str>, u32)> = None;
            for l in &w.labels {
                let i = match l {
                    None => NO_LABEL,
                    Some(l) => match last {
                        Some((p, i)) if Arc::ptr_eq(p, l) || **p == **l => i,
                        _ => {
                            let i = self.label_index(l);
                            last = Some((l, i));
                            i
                        }
                    },
                };
                buf.extend_from_slice(&i.to_ne_bytes());
                if buf.len() >= CHUNK {
                    flush(&mut buf, &self.file, &mut self.len, &self.dir)?;
                }
            }
        }
        flush(&mut buf, &self.file, &mut self.len, &self.dir)?;
        Ok(Spilled {
            offset,
            labelled,
            stored: true,
            ..Spilled::unstored(w, head)
        })
    }

    fn label_index(&mut self, l: &Arc<str>) -> u32 {
        if let Some(&i) = self.index.get(l) {
            return i;
        }
        let i = self.labels.len() as u32;
        self.labels.push(l.clone());
        self.index.insert(l.clone(), i);
        i
    }

    /// Read back the recording at `s`, of `width` channels.
    ///
    /// Errors: the file cannot be read.
    pub fn get(&self, s: &Spilled, width: usize) -> Result<Whole> {
        if !s.stored {
            return Err(Error::data(
                Location::file(&self.dir),
                "a recording that was not set aside (another shard's) was asked for",
            ));
        }
        let mut at = s.offset;
        let times = self.read_array(&mut at, s.n, f64::from_ne_bytes)?;
        let values = self.read_array(&mut at, s.n * width, f32::from_ne_bytes)?;
        let labels = if s.labelled {
            self.read_array(&mut at, s.n, u32::from_ne_bytes)?
                .into_iter()
                .map(|i| self.labels.get(i as usize).cloned())
                .collect()
        } else {
            Vec::new()
        };
        Ok(Whole {
            times,
            values,
            labels,
        })
    }

    /// `n` values of `N` bytes from `*at`, advancing it.
    fn read_array<T, const N: usize>(
        &self,
        at: &mut u64,
        n: usize,
        from: fn([u8; N]) -> T,
    ) -> Result<Vec<T>> {
        let mut out = Vec::with_capacity(n);
        let mut buf = vec![0u8; CHUNK.min(n * N)];
        let mut left = n * N;
        while left > 0 {
            let take = left.min(buf.len());
            let b = &mut buf[..take];
            self.file
                .read_exact_at(b, *at)
                .map_err(|e| io_error(&self.dir, "read", e))?;
            out.extend(b.chunks_exact(N).map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                from(a)
            }));
            *at += take as u64;
            left -= take;
        }
        Ok(out)
    }
}

fn io_error(dir: &Path, what: &str, e: std::io::Error) -> Error {
    Error::data(
        Location::file(dir),
        format!("cannot {what} the temporary file of recordings set aside in this directory: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(dir.path()).unwrap();
        let (walk, sit): (Arc<str>, Arc<str>) = ("walk".into(), "sit".into());
        let a = Whole {
            times: (0..70_000).map(|i| i as f64 * 20.0).collect(),
            values: (0..140_000).map(|i| i as f32 * 0.5 - 3.0).collect(),
            labels: (0..70_000)
                .map(|i| match i % 3 {
                    0 => Some(walk.clone()),
                    1 => None,
                    _ => Some(Arc::from("sit")),
                })
                .collect(),
        };
        let b = Whole {
            times: vec![5.0, 6.0, f64::MAX],
            values: vec![f32::NAN, 1.0, -0.0, f32::INFINITY, 2.0, 3.0],
            labels: Vec::new(),
        };
        let sa = spill.put(&a, 10).unwrap();
        let sb = spill.put(&b, 10).unwrap();
        assert_eq!(sa.head, a.times[..10]);
        assert_eq!(sb.head, b.times);
        assert_eq!(sa.span, Some((0.0, 69_999.0 * 20.0)));
        let (ra, rb) = (spill.get(&sa, 2).unwrap(), spill.get(&sb, 2).unwrap());
        assert_eq!(ra.times, a.times);
        assert_eq!(ra.values, a.values);
        assert_eq!(ra.labels, a.labels);
        assert_eq!(ra.labels[2].as_deref(), Some(&*sit));
        assert_eq!(rb.times, b.times);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&rb.values), bits(&b.values));
        assert!(rb.labels.is_empty());
        // Two distinct labels in the table, however many samples.
        assert_eq!(spill.labels.len(), 2);
        // Kept for the checks only: its head and span, never its samples.
        let u = Spilled::unstored(&b, 2);
        assert_eq!(
            (u.len(), u.head.clone(), u.span),
            (3, vec![5.0, 6.0], Some((5.0, f64::MAX)))
        );
        assert!(spill.get(&u, 2).is_err());
    }

    #[test]
    fn an_unwritable_directory_is_named() {
        let err = Spill::new(Path::new("/nonexistent/spill-dir"))
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/spill-dir"), "{text}");
        assert!(text.contains("temporary file"), "{text}");
    }
}
