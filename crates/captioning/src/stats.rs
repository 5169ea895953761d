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

/// Run `$body` (an inlined generic function of `$arg`) compiled for AVX2
/// when the CPU has it (detected once per call, cheap), else as built: the
/// same operations in the same order, so the same results bit for bit, on
/// four lanes instead of two (the default x86-64 target has SSE2 only).
macro_rules! with_avx2 {
    ($body:ident($arg:expr)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2")]
            fn avx2<T, R>(f: impl Fn(T) -> R, x: T) -> R {
                f(x)
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU was just found to support AVX2.
                return unsafe { avx2($body, $arg) };
            }
        }
        $body($arg)
    }};
}

/// [`channel_stats`] of every channel in one time-major pass (two, for the
/// standard deviation) over the window: much faster than one strided pass
/// per channel on wide windows.
pub fn all_channel_stats(window: &Window) -> Vec<Option<ChannelStats>> {
    with_avx2!(all_channel_stats_in(window))
}

#[inline(always)]
fn all_channel_stats_in(window: &Window) -> Vec<Option<ChannelStats>> {
    let ch = window.channels.max(1);
    let rows = window.values.len().min(window.missing.len()) / ch;
    let mut n = vec![0u64; ch];
    let mut sum = vec![0.0f64; ch];
    let mut min = vec![f64::INFINITY; ch];
    let mut max = vec![f64::NEG_INFINITY; ch];
    // Branch-free accumulation, row by row, with every slice cut to the
    // channel count first (no bounds checks in the inner loop, so the
    // compiler vectorises it): an unobserved value adds 0 and compares as
    // ±infinity, which gives the same results bit for bit as skipping it.
    {
        let (n, sum, min, max) = (&mut n[..ch], &mut sum[..ch], &mut min[..ch], &mut max[..ch]);
        for r in 0..rows {
            let vals = &window.values[r * ch..][..ch];
            let miss = &window.missing[r * ch..][..ch];
            for c in 0..ch {
                let v = f64::from(vals[c]);
                let ok = !miss[c] & v.is_finite();
                n[c] += u64::from(ok);
                sum[c] += if ok { v } else { 0.0 };
                let lo = if ok { v } else { f64::INFINITY };
                let hi = if ok { v } else { f64::NEG_INFINITY };
                min[c] = if lo < min[c] { lo } else { min[c] };
                max[c] = if hi > max[c] { hi } else { max[c] };
            }
        }
    }
    let mean: Vec<f64> = (0..ch).map(|c| sum[c] / n[c].max(1) as f64).collect();
    let mut sq = vec![0.0f64; ch];
    {
        let (sq, mean) = (&mut sq[..ch], &mean[..ch]);
        for r in 0..rows {
            let vals = &window.values[r * ch..][..ch];
            let miss = &window.missing[r * ch..][..ch];
            for c in 0..ch {
                let v = f64::from(vals[c]);
                let d = if !miss[c] & v.is_finite() {
                    v - mean[c]
                } else {
                    0.0
                };
                sq[c] += d * d;
            }
        }
    }
    (0..ch)
        .map(|c| {
            (n[c] > 0).then(|| ChannelStats {
                count: n[c] as usize,
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
    with_avx2!(downsample_all_in((window, n_bins)))
}

#[inline(always)]
fn downsample_all_in((window, n_bins): (&Window, usize)) -> Vec<Vec<f64>> {
    let ch = window.channels.max(1);
    // Rows with both values and flags (a well-formed window: all of them).
    let len = window.values.len().min(window.missing.len()) / ch;
    if len == 0 {
        return vec![Vec::new(); ch];
    }
    let bounds = bin_bounds(len, n_bins);
    let nb = bounds.len() - 1;
    let mut sum = vec![0.0f64; nb * ch];
    let mut cnt = vec![0u32; nb * ch];
    for b in 0..nb {
        let (sum, cnt) = (&mut sum[b * ch..][..ch], &mut cnt[b * ch..][..ch]);
        for r in bounds[b]..bounds[b + 1] {
            let vals = &window.values[r * ch..][..ch];
            let miss = &window.missing[r * ch..][..ch];
            for c in 0..ch {
                let v = f64::from(vals[c]);
                let ok = !miss[c] & v.is_finite();
                sum[c] += if ok { v } else { 0.0 };
                cnt[c] += u32::from(ok);
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

    /// The AVX2 build of the channel passes (taken on CPUs that have it)
    /// and the portable one give the same results bit for bit, on
    /// day-long windows with gaps.
    #[test]
    fn vector_and_portable_passes_agree_bit_for_bit() {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for d in 0..8 {
            let w = crate::bench_input::day(d);
            assert!(w.missing.iter().any(|&m| m), "day {d} has gaps");
            let (a, b) = (all_channel_stats(&w), all_channel_stats_in(&w));
            for (x, y) in a.iter().zip(&b) {
                let key = |s: &ChannelStats| (s.count, bits(&[s.mean, s.std, s.min, s.max]));
                assert_eq!(x.as_ref().map(key), y.as_ref().map(key));
            }
            let (a, b) = (downsample_all(&w, 48), downsample_all_in((&w, 48)));
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(bits(x), bits(y));
            }
        }
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
