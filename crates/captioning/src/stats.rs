//! Numeric building blocks: statistics over observed values, average
//! downsampling, least-squares lines and correlations. All in `f64`.
use serde::{Deserialize, Serialize};
use wearlang_core::Window;

/// Mean, population standard deviation, minimum and maximum of the observed
/// values of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelStats {
    /// Number of observed values.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation (numpy's default, `ddof = 0`).
    pub std: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

/// Iterate the observed, finite values of channel `c` of `window` with their
/// time index.
pub(crate) fn observed_indexed(
    window: &Window,
    c: usize,
) -> impl Iterator<Item = (usize, f64)> + Clone + '_ {
    // Index arithmetic rather than `step_by` over a zip, which walks every
    // element of the other channels too.
    let ch = window.channels.max(1);
    let (values, missing) = (&window.values[..], &window.missing[..]);
    let len = values.len().min(missing.len()) / ch;
    (0..len).filter_map(move |t| {
        let i = t * ch + c;
        let v = values[i];
        (!missing[i] && v.is_finite()).then_some((t, f64::from(v)))
    })
}

/// Statistics of the observed values of channel `c`; `None` when nothing is
/// observed. Masked values (and any non-finite value) are ignored.
pub fn channel_stats(window: &Window, c: usize) -> Option<ChannelStats> {
    stats_of(observed_indexed(window, c).map(|(_, v)| v))
}

/// Statistics of the finite values of an iterator; `None` when empty.
pub fn stats_of(values: impl Iterator<Item = f64> + Clone) -> Option<ChannelStats> {
    let (mut n, mut sum, mut min, mut max) = (0usize, 0.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for v in values.clone().filter(|v| v.is_finite()) {
        n += 1;
        sum += v;
        min = min.min(v);
        max = max.max(v);
    }
    if n == 0 {
        return None;
    }
    let mean = sum / n as f64;
    let var = values
        .filter(|v| v.is_finite())
        .map(|v| (v - mean) * (v - mean))
        .sum::<f64>()
        / n as f64;
    Some(ChannelStats {
        count: n,
        mean,
        std: var.sqrt(),
        min,
        max,
    })
}

/// [`channel_stats`] of every channel in one time-major pass (two, for the
/// standard deviation) over the window: much faster than one strided pass
/// per channel on wide windows.
pub fn all_channel_stats(window: &Window) -> Vec<Option<ChannelStats>> {
    let ch = window.channels.max(1);
    let mut n = vec![0usize; ch];
    let mut sum = vec![0.0f64; ch];
    let mut min = vec![f64::INFINITY; ch];
    let mut max = vec![f64::NEG_INFINITY; ch];
    let rows = window
        .values
        .chunks_exact(ch)
        .zip(window.missing.chunks_exact(ch));
    // Branch-free accumulation over zipped rows (no bounds checks, so the
    // compiler vectorises it); an unobserved value adds 0 and leaves the
    // extremes, which gives the same sums bit for bit as skipping it.
    for (vals, miss) in rows.clone() {
        let acc = n.iter_mut().zip(sum.iter_mut()).zip(min.iter_mut());
        for (((((n, s), lo), hi), &x), &m) in acc.zip(max.iter_mut()).zip(vals).zip(miss) {
            let v = f64::from(x);
            let ok = !m && v.is_finite();
            *n += usize::from(ok);
            *s += if ok { v } else { 0.0 };
            *lo = if ok { lo.min(v) } else { *lo };
            *hi = if ok { hi.max(v) } else { *hi };
        }
    }
    let mean: Vec<f64> = (0..ch).map(|c| sum[c] / n[c].max(1) as f64).collect();
    let mut sq = vec![0.0f64; ch];
    for (vals, miss) in rows {
        for (((q, &mu), &x), &m) in sq.iter_mut().zip(&mean).zip(vals).zip(miss) {
            let v = f64::from(x);
            let d = if !m && v.is_finite() { v - mu } else { 0.0 };
            *q += d * d;
        }
    }
    (0..ch)
        .map(|c| {
            (n[c] > 0).then(|| ChannelStats {
                count: n[c],
                mean: mean[c],
                std: (sq[c] / n[c] as f64).sqrt(),
                min: min[c],
                max: max[c],
            })
        })
        .collect()
}

/// [`downsample`] of every channel in one time-major pass.
pub fn downsample_all(window: &Window, n_bins: usize) -> Vec<Vec<f64>> {
    let ch = window.channels.max(1);
    let len = window.len();
    if len == 0 {
        return vec![Vec::new(); ch];
    }
    let bounds = bin_bounds(len, n_bins);
    let nb = bounds.len() - 1;
    let mut sum = vec![0.0f64; nb * ch];
    let mut cnt = vec![0u32; nb * ch];
    for b in 0..nb {
        let (sum, cnt) = (
            &mut sum[b * ch..(b + 1) * ch],
            &mut cnt[b * ch..(b + 1) * ch],
        );
        let (start, end) = (bounds[b] * ch, bounds[b + 1] * ch);
        let rows = window.values[start..end]
            .chunks_exact(ch)
            .zip(window.missing[start..end].chunks_exact(ch));
        for (vals, miss) in rows {
            for (((s, k), &x), &m) in sum.iter_mut().zip(cnt.iter_mut()).zip(vals).zip(miss) {
                let v = f64::from(x);
                let ok = !m && v.is_finite();
                *s += if ok { v } else { 0.0 };
                *k += u32::from(ok);
            }
        }
    }
    (0..ch)
        .map(|c| {
            (0..nb)
                .map(|b| {
                    let k = b * ch + c;
                    if cnt[k] > 0 {
                        sum[k] / f64::from(cnt[k])
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        })
        .collect()
}

/// Boundaries (sample indices) of `n_bins` near-equal bins over `len`
/// samples: bin `i` covers `bounds[i]..bounds[i + 1]`. With fewer samples
/// than bins, one bin per sample.
pub fn bin_bounds(len: usize, n_bins: usize) -> Vec<usize> {
    let n = n_bins.min(len).max(1);
    (0..=n).map(|i| i * len / n).collect()
}

/// Average-downsample channel `c` into bins (see [`bin_bounds`]); a bin
/// without observed values is NaN.
pub fn downsample(window: &Window, c: usize, n_bins: usize) -> Vec<f64> {
    let len = window.len();
    if len == 0 {
        return Vec::new();
    }
    let bounds = bin_bounds(len, n_bins);
    let nb = bounds.len() - 1;
    let mut sum = vec![0.0f64; nb];
    let mut cnt = vec![0usize; nb];
    let mut b = 0;
    for (t, v) in observed_indexed(window, c) {
        while t >= bounds[b + 1] {
            b += 1;
        }
        sum[b] += v;
        cnt[b] += 1;
    }
    sum.iter()
        .zip(&cnt)
        .map(|(&s, &n)| if n > 0 { s / n as f64 } else { f64::NAN })
        .collect()
}

/// Least-squares line through `(x, y)` points: `(slope, intercept)`; `None`
/// with fewer than two points or no spread in `x`.
pub fn linear_fit(points: impl Iterator<Item = (f64, f64)> + Clone) -> Option<(f64, f64)> {
    let (mut n, mut sx, mut sy) = (0usize, 0.0, 0.0);
    for (x, y) in points.clone() {
        n += 1;
        sx += x;
        sy += y;
    }
    if n < 2 {
        return None;
    }
    let (mx, my) = (sx / n as f64, sy / n as f64);
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (x, y) in points {
        sxx += (x - mx) * (x - mx);
        sxy += (x - mx) * (y - my);
    }
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    Some((slope, my - slope * mx))
}

/// Pearson correlation of two equally long series over the positions where
/// both are finite; `None` with fewer than three such positions or a
/// constant series.
pub fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let pairs = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite());
    let (mut n, mut sa, mut sb) = (0usize, 0.0, 0.0);
    for (x, y) in pairs.clone() {
        n += 1;
        sa += x;
        sb += y;
    }
    if n < 3 {
        return None;
    }
    let (ma, mb) = (sa / n as f64, sb / n as f64);
    let (mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
        sab += (x - ma) * (y - mb);
    }
    let denom = (saa * sbb).sqrt();
    if denom <= 1e-12 * (1.0 + saa.max(sbb)) || !denom.is_finite() {
        return None;
    }
    Some((sab / denom).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(values: Vec<f32>, channels: usize) -> Window {
        Window::from_values("s", "r", 0, 1.0 / 60.0, channels, values).unwrap()
    }

    #[test]
    fn stats_ignore_masked_values() {
        // Channel 0: 1, NaN, 3 ; a masked non-NaN value must not count either.
        let mut w = window(vec![1.0, 0.0, f32::NAN, 0.0, 3.0, 0.0], 2);
        let s = channel_stats(&w, 0).unwrap();
        assert_eq!(s.count, 2);
        assert!((s.mean - 2.0).abs() < 1e-12);
        assert!((s.std - 1.0).abs() < 1e-12);
        w.missing[4] = true; // masks the 3.0
        let s = channel_stats(&w, 0).unwrap();
        assert_eq!((s.count, s.mean, s.max), (1, 1.0, 1.0));
        w.missing[0] = true;
        assert!(channel_stats(&w, 0).is_none());
    }

    #[test]
    fn downsample_averages_bins_and_marks_empty_bins() {
        let mut v: Vec<f32> = (0..12).map(|i| i as f32).collect();
        v[4] = f32::NAN;
        v[5] = f32::NAN;
        v[6] = f32::NAN;
        v[7] = f32::NAN;
        let w = window(v, 1);
        let d = downsample(&w, 0, 3);
        assert_eq!(d.len(), 3);
        assert!((d[0] - 1.5).abs() < 1e-12);
        assert!(d[1].is_nan());
        assert!((d[2] - 9.5).abs() < 1e-12);
        assert_eq!(bin_bounds(5, 36), vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn all_channel_passes_equal_per_channel_ones() {
        let mut v: Vec<f32> = (0..300).map(|i| ((i * 37) % 11) as f32).collect();
        v[7] = f32::NAN;
        for i in (0..300).filter(|i| i % 3 == 2) {
            v[i] = f32::NAN; // channel 2 all missing
        }
        let w = window(v, 3);
        let all = all_channel_stats(&w);
        let bins = downsample_all(&w, 7);
        for c in 0..3 {
            assert_eq!(all[c], channel_stats(&w, c));
            let one = downsample(&w, c, 7);
            assert_eq!(bins[c].len(), one.len());
            for (a, b) in bins[c].iter().zip(&one) {
                assert!((a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-12);
            }
        }
        assert!(all[2].is_none());
    }

    #[test]
    fn line_and_correlation() {
        let pts: Vec<(f64, f64)> = (0..5).map(|i| (i as f64, 2.0 * i as f64 + 1.0)).collect();
        let (s, b) = linear_fit(pts.iter().copied()).unwrap();
        assert!((s - 2.0).abs() < 1e-12 && (b - 1.0).abs() < 1e-12);
        assert!(linear_fit([(1.0, 1.0), (1.0, 2.0)].into_iter()).is_none());
        let a = [1.0, 2.0, 3.0, 4.0, f64::NAN];
        let c = [2.0, 4.0, 6.0, 8.0, 1.0];
        assert!((pearson(&a, &c).unwrap() - 1.0).abs() < 1e-12);
        let d = [8.0, 6.0, 4.0, 2.0, 0.0];
        assert!((pearson(&a, &d).unwrap() + 1.0).abs() < 1e-12);
        assert!(pearson(&a, &[1.0; 5]).is_none());
    }
}
