//! Reading ahead: a [`RecordingSource`] whose parts are read and parsed on
//! a thread of their own while the caller resamples and windows the parts
//! before them.
use crate::source::{Recording, RecordingSource};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;
use wearlang_core::{ChannelSpec, Error, Result};

/// Parts decoded ahead of the one handed out: enough to keep the reading
/// thread busy, small enough to bound memory (a part is one block of the
/// file, a few MiB).
pub const PREFETCH_PARTS: usize = 2;

/// A source read on a background thread, at most `depth` parts ahead. It
/// hands out the same parts, in the same order, with the same error at
/// the same place as the source it wraps; dropping it stops the thread
/// after the part it is reading.
///
/// Do not wait on one from a rayon worker: the sources parse on the rayon
/// pool, and workers all blocked waiting would leave none to parse.
pub struct Prefetch {
    channels: Vec<ChannelSpec>,
    rx: Receiver<Result<Option<Recording>>>,
    worker: Option<JoinHandle<()>>,
    done: bool,
}

impl Prefetch {
    /// Start reading `inner` (of the file `file`, for errors) on a thread
    /// of its own, at most `depth` (at least 1) parts ahead.
    ///
    /// Errors: the thread cannot be started (an I/O error naming `file`).
    pub fn new(file: &Path, mut inner: Box<dyn RecordingSource>, depth: usize) -> Result<Self> {
        let channels = inner.channels().to_vec();
        let (tx, rx) = sync_channel(depth.max(1));
        let worker = std::thread::Builder::new()
            .name("wearlang-read".into())
            .spawn(move || loop {
                let part = inner.next_part();
                let end = !matches!(part, Ok(Some(_)));
                // A send fails when the reader was dropped: stop reading.
                if tx.send(part).is_err() || end {
                    break;
                }
            })
            .map_err(|e| Error::io(file, e))?;
        Ok(Self {
            channels,
            rx,
            worker: Some(worker),
            done: false,
        })
    }
}

impl RecordingSource for Prefetch {
    fn channels(&self) -> &[ChannelSpec] {
        &self.channels
    }

    fn next_part(&mut self) -> Result<Option<Recording>> {
        if self.done {
            return Ok(None);
        }
        match self.rx.recv() {
            Ok(Ok(Some(part))) => Ok(Some(part)),
            Ok(end) => {
                self.done = true;
                end
            }
            Err(_) => {
                // The thread ended without a last message: it panicked.
                // Hand the panic on, as if the source had been read here.
                self.done = true;
                if let Some(Err(panic)) = self.worker.take().map(JoinHandle::join) {
                    std::panic::resume_unwind(panic);
                }
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Timing;
    use std::path::PathBuf;
    use std::sync::Arc;
    use wearlang_core::{ChannelKind, Location};

    /// `n` one-sample parts, then `Err` at part `fail_at` if given.
    struct Counting {
        channels: Vec<ChannelSpec>,
        next: usize,
        n: usize,
        fail_at: Option<usize>,
    }

    impl RecordingSource for Counting {
        fn channels(&self) -> &[ChannelSpec] {
            &self.channels
        }
        fn next_part(&mut self) -> Result<Option<Recording>> {
            let i = self.next;
            self.next += 1;
            if Some(i) == self.fail_at {
                return Err(Error::data(Location::file("f.csv").row(i as u64), "bad"));
            }
            if i >= self.n {
                return Ok(None);
            }
            Ok(Some(Recording {
                file: PathBuf::from("f.csv"),
                first_row: i as u64,
                subject: "s".into(),
                recording: format!("r{i}"),
                channels: Arc::from(self.channels.clone()),
                n: 1,
                timing: Timing::Timestamps(vec![i as f64]),
                values: vec![i as f32],
                labels: Vec::new(),
                last: true,
                rows: Vec::new(),
            }))
        }
    }

    fn counting(n: usize, fail_at: Option<usize>) -> Box<dyn RecordingSource> {
        let channels = vec![ChannelSpec::new("x", "g", ChannelKind::Accelerometer)];
        Box::new(Counting {
            channels,
            next: 0,
            n,
            fail_at,
        })
    }

    #[test]
    fn hands_out_the_same_parts_then_the_end() {
        let mut p = Prefetch::new(Path::new("f.csv"), counting(50, None), 2).unwrap();
        assert_eq!(p.channels()[0].name, "x");
        for i in 0..50 {
            let part = p.next_part().unwrap().unwrap();
            assert_eq!((part.first_row, part.values[0]), (i, i as f32));
        }
        assert!(p.next_part().unwrap().is_none());
        assert!(p.next_part().unwrap().is_none());
    }

    #[test]
    fn an_error_arrives_where_the_source_raised_it() {
        let mut p = Prefetch::new(Path::new("f.csv"), counting(50, Some(7)), 1).unwrap();
        for _ in 0..7 {
            assert!(p.next_part().unwrap().is_some());
        }
        let e = p.next_part().unwrap_err().to_string();
        assert!(e.contains("f.csv") && e.contains("row 7"), "{e}");
        assert!(p.next_part().unwrap().is_none());
    }

    #[test]
    fn dropping_it_early_stops_the_thread() {
        let mut p = Prefetch::new(Path::new("f.csv"), counting(usize::MAX, None), 1).unwrap();
        p.next_part().unwrap();
        let worker = p.worker.take().unwrap();
        drop(p);
        worker.join().unwrap();
    }
}
