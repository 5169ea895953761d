//! Streaming resampling onto a regular grid, and sliding windows.
use crate::options::MixedLabels;
use std::sync::Arc;

/// Rows of a regular grid at the target rate, with per-row labels. Rows
/// already consumed by a [`Windower`] are dropped from the front.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    /// Channels per row.
    pub channels: usize,
    /// Grid index of the first row held.
    pub start: usize,
    /// Values, time-major; NaN = missing.
    pub values: Vec<f32>,
    /// Label of each row held.
    pub labels: Vec<Option<Arc<str>>>,
}

impl Grid {
    /// An empty grid of `channels` channels.
    pub fn new(channels: usize) -> Self {
        Self {
            channels,
            ..Self::default()
        }
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Grid index one past the last row held.
    pub fn end(&self) -> usize {
        self.start + self.rows()
    }

    /// Drop every row held and continue at grid row `row` (at least
    /// [`end`](Self::end)): the rows in between are never held (rows of a
    /// hole that no window needs, see [`Resampler::nan_gap_before`]).
    pub fn restart_at(&mut self, row: usize) {
        debug_assert!(row >= self.end(), "restart_at goes back");
        self.values.clear();
        self.labels.clear();
        self.start = row;
    }
}

/// A source sample: time in ms, values, label.
type Sample<'a> = (f64, &'a [f32], Option<&'a Arc<str>>);

/// Streaming resampler of one stream onto the grid `t0 + k × 1000 / rate` ms.
///
/// Target sample `k` owns the bin `[t_k − dt/2, t_k + dt/2)`. A bin with
/// source samples gets, per channel, the mean of their observed (non-NaN)
/// values — the average when downsampling, the sample itself at equal
/// rates — or NaN if all of them are NaN: a NaN in the source stays missing.
/// A bin without any source sample (upsampling, jitter, holes) is linearly
/// interpolated between the neighbouring source samples only if they are at
/// most `max_gap` apart and both observed; otherwise it is NaN. Nothing is
/// ever extrapolated or filled across a longer gap.
#[derive(Debug, Clone)]
pub struct Resampler {
    t0: f64,
    dt: f64,
    c: usize,
    max_gap_ms: f64,
    cur_bin: i64,
    sum: Vec<f64>,
    cnt: Vec<u32>,
    bin_label: Option<Arc<str>>,
    prev_t: f64,
    prev: Vec<f32>,
    prev_label: Option<Arc<str>>,
    has_prev: bool,
    next_out: i64,
}

impl Resampler {
    /// A resampler for `channels` channels onto a grid starting at `t0_ms`
    /// with rate `rate_hz`, interpolating across gaps of at most `max_gap_s`.
    pub fn new(t0_ms: f64, rate_hz: f64, channels: usize, max_gap_s: f64) -> Self {
        Self {
            t0: t0_ms,
            dt: 1000.0 / rate_hz,
            c: channels,
            max_gap_ms: max_gap_s * 1000.0 + 1e-6,
            cur_bin: -1,
            sum: vec![0.0; channels],
            cnt: vec![0; channels],
            bin_label: None,
            prev_t: f64::NEG_INFINITY,
            prev: vec![f32::NAN; channels],
            prev_label: None,
            has_prev: false,
            next_out: 0,
        }
    }

    /// Grid index of the bin containing time `t_ms`.
    pub fn bin(&self, t_ms: f64) -> i64 {
        ((t_ms - self.t0) / self.dt + 0.5).floor() as i64
    }

    fn emit_bin(&mut self, out: &mut Grid) {
        if self.cur_bin < self.next_out {
            return;
        }
        // One sample per bin (equal rates) needs no division: the sum is
        // the sample, exactly.
        out.values
            .extend(self.sum.iter().zip(&self.cnt).map(|(&sum, &n)| match n {
                0 => f32::NAN,
                1 => sum as f32,
                n => (sum / n as f64) as f32,
            }));
        out.labels.push(self.bin_label.take());
        self.next_out = self.cur_bin + 1;
    }

    fn emit_gap_until(&mut self, end: i64, next: Option<Sample<'_>>, out: &mut Grid) {
        while self.next_out < end {
            let g = self.t0 + self.next_out as f64 * self.dt;
            match next {
                Some((t, row, label)) if self.has_prev => {
                    let span = t - self.prev_t;
                    let w = ((g - self.prev_t) / span) as f32;
                    let ok = span <= self.max_gap_ms;
                    for (&a, &b) in self.prev.iter().zip(row) {
                        out.values.push(if ok && a.is_finite() && b.is_finite() {
                            a + (b - a) * w
                        } else {
                            f32::NAN
                        });
                    }
                    // The label is kept across a hole only if both sides agree.
                    out.labels
                        .push(if self.prev_label.as_deref() == label.map(|l| &**l) {
                            label.cloned()
                        } else {
                            None
                        });
                }
                _ => {
                    out.values.extend(std::iter::repeat_n(f32::NAN, self.c));
                    out.labels.push(None);
                }
            }
            self.next_out += 1;
        }
    }

    /// The grid rows `[first, end)` that a sample at `t_ms` (after the
    /// previous one) would fill with NaN only: a hole longer than the
    /// interpolation limit, or rows before the first sample. `None` when
    /// there is no such row (or the rows would be interpolated).
    pub fn nan_gap_before(&self, t_ms: f64) -> Option<(usize, usize)> {
        let b = self.bin(t_ms);
        let first = self.next_out.max(self.cur_bin + 1);
        let interpolated = self.has_prev && t_ms - self.prev_t <= self.max_gap_ms;
        (b > first && first >= 0 && !interpolated).then_some((first as usize, b as usize))
    }

    /// Emit what [`push`](Self::push) of the sample `(t_ms, row, label)`
    /// would emit before the sample's own bin, but only up to grid row
    /// `end` (exclusive): the current bin and the first rows of a hole.
    pub fn emit_before(
        &mut self,
        t_ms: f64,
        row: &[f32],
        label: Option<&Arc<str>>,
        end: usize,
        out: &mut Grid,
    ) {
        let b = self.bin(t_ms);
        if b == self.cur_bin {
            return;
        }
        if self.cur_bin >= 0 {
            self.emit_bin(out);
        }
        let end = b.min(i64::try_from(end).unwrap_or(i64::MAX));
        self.emit_gap_until(end, Some((t_ms, row, label)), out);
    }

    /// Continue emitting at grid row `row`, leaving out the rows before it
    /// (rows of a NaN hole that no window needs; the [`Grid`] is restarted
    /// there with [`Grid::restart_at`]).
    pub fn skip_to(&mut self, row: usize) {
        self.next_out = self.next_out.max(i64::try_from(row).unwrap_or(i64::MAX));
    }

    /// Add a source sample at `t_ms` (strictly after the previous one).
    pub fn push(&mut self, t_ms: f64, row: &[f32], label: Option<&Arc<str>>, out: &mut Grid) {
        let b = self.bin(t_ms);
        if b != self.cur_bin {
            if self.cur_bin >= 0 {
                self.emit_bin(out);
            }
            if b >= 0 {
                self.emit_gap_until(b, Some((t_ms, row, label)), out);
            }
            self.cur_bin = b;
            self.sum.iter_mut().for_each(|s| *s = 0.0);
            self.cnt.iter_mut().for_each(|n| *n = 0);
            set_label(&mut self.bin_label, label);
        }
        for ((&v, sum), cnt) in row.iter().zip(&mut self.sum).zip(&mut self.cnt) {
            if v.is_finite() {
                *sum += v as f64;
                *cnt += 1;
            }
        }
        self.prev_t = t_ms;
        self.prev.copy_from_slice(row);
        set_label(&mut self.prev_label, label);
        self.has_prev = true;
    }

    /// End of the stream: emit the last bin, then NaN rows up to `total`
    /// grid rows if given (for streams that end before others).
    pub fn finish(&mut self, total: Option<usize>, out: &mut Grid) {
        if self.cur_bin >= 0 {
            self.emit_bin(out);
        }
        if let Some(n) = total {
            self.emit_gap_until(n as i64, None, out);
        }
    }
}

/// Set `slot` to `label`, without touching the reference counts when it
/// already holds that very label (consecutive rows share one `Arc`; two
/// atomic updates per row were a tenth of the resampler's time).
fn set_label(slot: &mut Option<Arc<str>>, label: Option<&Arc<str>>) {
    let same = match (slot.as_ref(), label) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    };
    if !same {
        *slot = label.cloned();
    }
}

/// Number of windows of `len` samples with hop `hop` in `n` samples:
/// `floor((n − len) / hop) + 1` when `n ≥ len`, else 0.
pub fn window_count(n: usize, len: usize, hop: usize) -> usize {
    if n < len || hop == 0 {
        0
    } else {
        (n - len) / hop + 1
    }
}

/// Cuts windows of `len` rows every `hop` rows out of a [`Grid`].
#[derive(Debug, Clone)]
pub struct Windower {
    len: usize,
    hop: usize,
    next_start: usize,
}

impl Windower {
    /// Windows of `len` rows every `hop` rows, starting at grid row 0.
    pub fn new(len: usize, hop: usize) -> Self {
        Self {
            len,
            hop: hop.max(1),
            next_start: 0,
        }
    }

    /// Grid row where the next window starts.
    pub fn next_start(&self) -> usize {
        self.next_start
    }

    /// Skip the windows that start before grid row `row` (windows lying
    /// wholly in a hole); returns how many were skipped. The next window
    /// then starts at the first start at or after `row`.
    pub fn skip_to(&mut self, row: usize) -> usize {
        if row <= self.next_start {
            return 0;
        }
        let n = (row - self.next_start).div_ceil(self.hop);
        self.next_start += n * self.hop;
        n
    }

    /// Emit every complete window in `grid` as `(start row, values, labels)`
    /// and drop the rows no later window needs.
    pub fn drain<E>(
        &mut self,
        grid: &mut Grid,
        mut emit: impl FnMut(usize, &[f32], &[Option<Arc<str>>]) -> Result<(), E>,
    ) -> Result<(), E> {
        let c = grid.channels;
        while self.next_start + self.len <= grid.end() {
            let off = self.next_start - grid.start;
            emit(
                self.next_start,
                &grid.values[off * c..(off + self.len) * c],
                &grid.labels[off..off + self.len],
            )?;
            self.next_start += self.hop;
        }
        let drop = self.next_start.min(grid.end()) - grid.start;
        if drop > 0 && (drop >= 4096 || drop * 2 >= grid.rows()) {
            grid.values.drain(..drop * c);
            grid.labels.drain(..drop);
            grid.start += drop;
        }
        Ok(())
    }
}

/// The label of a window under `policy`: `Some(label)` to keep it (with
/// `None` = unlabelled), `None` to drop it. A window is mixed when its rows
/// carry different labels (an unlabelled row counts as a label of its own).
pub fn window_label(labels: &[Option<Arc<str>>], policy: MixedLabels) -> Option<Option<Arc<str>>> {
    let first = labels.first()?.clone();
    if labels.iter().all(|l| *l == first) {
        return Some(first);
    }
    match policy {
        MixedLabels::Drop => None,
        MixedLabels::KeepUnlabelled => Some(None),
        MixedLabels::Majority => {
            let mut counts: Vec<(&Option<Arc<str>>, usize)> = Vec::new();
            for l in labels {
                match counts.iter_mut().find(|(k, _)| *k == l) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((l, 1)),
                }
            }
            let best = counts.iter().map(|(_, n)| *n).max().unwrap_or(0);
            counts
                .into_iter()
                .find(|(_, n)| *n == best)
                .map(|(l, _)| l.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(times: &[f64], vals: &[f32], rate: f64, gap: f64, total: Option<usize>) -> Vec<f32> {
        let mut r = Resampler::new(times[0], rate, 1, gap);
        let mut g = Grid::new(1);
        for (&t, &v) in times.iter().zip(vals) {
            r.push(t, &[v], None, &mut g);
        }
        r.finish(total, &mut g);
        g.values
    }

    #[test]
    fn downsampling_averages() {
        // 100 Hz → 50 Hz: bins centred on 0, 20, 40 ms.
        let t: Vec<f64> = (0..6).map(|i| i as f64 * 10.0).collect();
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let out = run(&t, &v, 50.0, 0.1, None);
        assert_eq!(out, vec![1.0, 2.5, 4.5, 6.0]);
    }

    #[test]
    fn equal_rate_is_identity_and_nan_stays() {
        let t: Vec<f64> = (0..5).map(|i| i as f64 * 20.0).collect();
        let v = [1.0, f32::NAN, 3.0, 4.0, 5.0];
        let out = run(&t, &v, 50.0, 1.0, None);
        assert_eq!(out.len(), 5);
        assert!(out[1].is_nan(), "a source NaN must not be interpolated");
        assert_eq!(out[4], 5.0);
    }

    #[test]
    fn upsampling_interpolates_only_within_gap() {
        // 10 Hz samples, then a 1 s hole, to 50 Hz with a 0.15 s gap limit.
        let t = [0.0, 100.0, 200.0, 1200.0];
        let v = [0.0, 10.0, 20.0, 30.0];
        let out = run(&t, &v, 50.0, 0.15, None);
        assert_eq!(out.len(), 61);
        assert_eq!(out[0], 0.0);
        assert!((out[1] - 2.0).abs() < 1e-5);
        assert!((out[7] - 14.0).abs() < 1e-5);
        assert_eq!(out[10], 20.0);
        assert!(
            out[11..60].iter().all(|v| v.is_nan()),
            "long hole stays NaN"
        );
        assert_eq!(out[60], 30.0);
        // With a larger limit the hole is bridged.
        let out = run(&t, &v, 50.0, 1.0, None);
        assert!((out[35] - 25.0).abs() < 1e-4);
    }

    #[test]
    fn finish_pads_with_nan() {
        let out = run(&[0.0, 20.0], &[1.0, 2.0], 50.0, 0.1, Some(4));
        assert_eq!(out.len(), 4);
        assert!(out[2].is_nan() && out[3].is_nan());
    }

    #[test]
    fn windows_follow_the_nls_count() {
        for n in [0usize, 99, 100, 149, 150, 151, 999, 1000, 2600] {
            let mut g = Grid::new(1);
            g.values = (0..n).map(|i| i as f32).collect();
            g.labels = vec![None; n];
            let mut w = Windower::new(100, 50);
            let mut starts = Vec::new();
            w.drain::<()>(&mut g, |s, v, _| {
                assert_eq!(v.len(), 100);
                assert_eq!(v[0], s as f32);
                starts.push(s);
                Ok(())
            })
            .unwrap();
            let expected = if n >= 100 { (n - 100) / 50 + 1 } else { 0 };
            assert_eq!(starts.len(), expected, "n = {n}");
            assert_eq!(window_count(n, 100, 50), expected);
        }
    }

    #[test]
    fn streaming_windows_equal_one_shot_windows() {
        let n = 10_000;
        let mut one = Grid::new(2);
        one.values = (0..2 * n).map(|i| i as f32).collect();
        one.labels = vec![None; n];
        let mut a = Vec::new();
        Windower::new(128, 37)
            .drain::<()>(&mut one, |s, v, _| {
                a.push((s, v.to_vec()));
                Ok(())
            })
            .unwrap();
        let mut b = Vec::new();
        let mut grid = Grid::new(2);
        let mut w = Windower::new(128, 37);
        for chunk in (0..n).collect::<Vec<_>>().chunks(333) {
            for &i in chunk {
                grid.values.extend([(2 * i) as f32, (2 * i + 1) as f32]);
                grid.labels.push(None);
            }
            w.drain::<()>(&mut grid, |s, v, _| {
                b.push((s, v.to_vec()));
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(a, b);
        assert!(grid.rows() < 1000, "consumed rows are dropped");
    }

    #[test]
    fn holes_are_found_and_skipped_on_the_window_lattice() {
        // 50 Hz, interpolation up to 0.1 s.
        let mut r = Resampler::new(0.0, 50.0, 1, 0.1);
        let mut g = Grid::new(1);
        assert_eq!(r.nan_gap_before(0.0), None);
        r.push(0.0, &[1.0], None, &mut g);
        r.push(20.0, &[2.0], None, &mut g);
        // 80 ms later: interpolated, no NaN hole.
        assert_eq!(r.nan_gap_before(100.0), None);
        // 10 s later: rows 2 … 500 are a NaN hole (row 501 has the sample).
        assert_eq!(r.nan_gap_before(10_020.0), Some((2, 501)));
        r.emit_before(10_020.0, &[3.0], None, 10, &mut g);
        assert_eq!(g.end(), 10);
        assert!(g.values[2..].iter().all(|v| v.is_nan()));
        g.restart_at(400);
        r.skip_to(400);
        r.push(10_020.0, &[3.0], None, &mut g);
        r.finish(None, &mut g);
        assert_eq!((g.start, g.end()), (400, 502));
        assert_eq!(g.values[101], 3.0);
        let mut w = Windower::new(100, 50);
        assert_eq!(w.skip_to(0), 0);
        assert_eq!(w.skip_to(401), 9);
        assert_eq!(w.next_start(), 450);
        assert_eq!(w.skip_to(450), 0);
    }

    #[test]
    fn label_policies() {
        let a: Option<Arc<str>> = Some("a".into());
        let b: Option<Arc<str>> = Some("b".into());
        let pure = vec![a.clone(); 4];
        assert_eq!(window_label(&pure, MixedLabels::Drop), Some(a.clone()));
        let mixed = vec![a.clone(), b.clone(), b.clone(), None];
        assert_eq!(window_label(&mixed, MixedLabels::Drop), None);
        assert_eq!(
            window_label(&mixed, MixedLabels::KeepUnlabelled),
            Some(None)
        );
        assert_eq!(window_label(&mixed, MixedLabels::Majority), Some(b.clone()));
        let tie = vec![a.clone(), b.clone()];
        assert_eq!(window_label(&tie, MixedLabels::Majority), Some(a));
        assert_eq!(window_label(&[None, None], MixedLabels::Drop), Some(None));
    }
}
