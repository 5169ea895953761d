//! Aligning several streams of one recording (accelerometer, heart rate,
//! …) on one grid, a chunk of rows at a time: each stream is resampled
//! separately and its rows are handed over as far as every stream has
//! them, so memory follows the chunk and the data, never the span. Rows
//! where every stream is in a hole are found ahead ([`StreamCursor::nan_run`])
//! so that the caller can skip them without writing them.
use crate::resample::{Grid, Resampler};
use std::sync::Arc;

/// A whole recording of one stream, in memory.
#[derive(Debug, Default, Clone)]
pub(crate) struct Whole {
    /// Sample times, ms, increasing.
    pub times: Vec<f64>,
    /// Values, time-major.
    pub values: Vec<f32>,
    /// Per-sample labels (empty without a label column).
    pub labels: Vec<Option<Arc<str>>>,
}

/// One stream of a recording being resampled onto the recording's grid.
/// Its [`Grid`] holds the rows not yet handed over; its first row is the
/// next row of the aligned grid.
pub(crate) struct StreamCursor<'w> {
    whole: Option<&'w Whole>,
    width: usize,
    resampler: Resampler,
    grid: Grid,
    next: usize,
    /// Every sample pushed and the last bin emitted: later rows are NaN.
    done: bool,
}

impl<'w> StreamCursor<'w> {
    /// The stream's samples of the recording (`None`: the stream lacks it,
    /// all rows NaN) on the grid `t0 + k × 1000 / rate` ms, `width`
    /// channels, interpolating across gaps up to `gap_s`.
    pub fn new(whole: Option<&'w Whole>, t0: f64, rate: f64, width: usize, gap_s: f64) -> Self {
        Self {
            whole,
            width,
            resampler: Resampler::new(t0, rate, width, gap_s),
            grid: Grid::new(width),
            next: 0,
            done: whole.is_none_or(|w| w.times.is_empty()),
        }
    }

    /// Grid index one past the last row resampled.
    pub fn end(&self) -> usize {
        self.grid.end()
    }

    /// The grid rows `[first, end)` ahead that this stream fills with NaN
    /// only (`end` = `usize::MAX` when the stream has no later sample);
    /// `None` when its next rows may hold data.
    pub fn nan_run(&self) -> Option<(usize, usize)> {
        if self.done {
            return Some((self.grid.end(), usize::MAX));
        }
        let w = self.whole?;
        self.resampler.nan_gap_before(w.times[self.next])
    }

    /// Resample until at least row `hi` is held (NaN rows after the last
    /// sample). The rows of a NaN hole are written only up to `hi`.
    pub fn fill_to(&mut self, hi: usize) {
        let c = self.width;
        while self.grid.end() < hi {
            let Some(w) = self.whole.filter(|_| !self.done) else {
                let n = hi - self.grid.end();
                self.grid
                    .values
                    .extend(std::iter::repeat_n(f32::NAN, n * c));
                self.grid.labels.extend(std::iter::repeat_n(None, n));
                break;
            };
            let i = self.next;
            let (t, row) = (w.times[i], &w.values[i * c..(i + 1) * c]);
            let label = w.labels.get(i).and_then(|l| l.as_ref());
            match self.resampler.nan_gap_before(t) {
                Some((_, end)) if end > hi => {
                    self.resampler
                        .emit_before(t, row, label, hi, &mut self.grid);
                }
                _ => {
                    self.resampler.push(t, row, label, &mut self.grid);
                    self.next += 1;
                    if self.next == w.times.len() {
                        self.resampler.finish(None, &mut self.grid);
                        self.done = true;
                    }
                }
            }
        }
    }

    /// Leave out the rows before `row` (at least [`end`](Self::end)): rows
    /// of a hole that no window needs.
    pub fn skip_to(&mut self, row: usize) {
        self.grid.restart_at(row);
        self.resampler.skip_to(row);
    }
}

/// Hand the rows that every stream of `streams` holds over to `out`, the
/// streams' channels side by side, the labels those of the first stream.
/// `out` ends where each stream's held rows start.
pub(crate) fn hand_over(streams: &mut [StreamCursor<'_>], out: &mut Grid) {
    let upto = streams
        .iter()
        .map(StreamCursor::end)
        .min()
        .unwrap_or(out.end());
    let n = upto.saturating_sub(out.end());
    if n == 0 {
        return;
    }
    let (width, first) = (out.channels, out.end());
    let base = out.values.len();
    out.values.resize(base + n * width, f32::NAN);
    let mut offset = 0;
    for (s, cur) in streams.iter_mut().enumerate() {
        let g = &mut cur.grid;
        debug_assert_eq!(g.start, first, "stream rows follow the aligned rows");
        let c = cur.width;
        for row in 0..n {
            let dst = base + row * width + offset;
            out.values[dst..dst + c].copy_from_slice(&g.values[row * c..(row + 1) * c]);
        }
        if s == 0 {
            out.labels.extend(g.labels.drain(..n));
        } else {
            g.labels.drain(..n);
        }
        g.values.drain(..n * c);
        g.start += n;
        offset += c;
    }
}

/// The rows `[first, end)` ahead in which every stream is NaN (`None` when
/// some stream may have data next).
pub(crate) fn common_hole(streams: &[StreamCursor<'_>]) -> Option<(usize, usize)> {
    streams
        .iter()
        .map(StreamCursor::nan_run)
        .try_fold((0usize, usize::MAX), |(a, b), r| {
            r.map(|(f, e)| (a.max(f), b.min(e)))
        })
        .filter(|(a, b)| b > a)
}
