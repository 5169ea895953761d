//! Peak finding with the semantics of `scipy.signal.find_peaks`: local
//! maxima (plateaus give their middle sample, edges are never peaks), then
//! filters in scipy's order: height, distance, prominence, width.
//!
//! Prominence: from the peak, walk left while values stay ≤ the peak and note
//! the lowest value (the left base); likewise right; prominence = peak −
//! max(left minimum, right minimum). Width: at `peak − rel_height ×
//! prominence`, the distance between the linearly interpolated crossings on
//! either side, searched no further than the bases.

/// Parameters of [`find_peaks`]; `None` disables a filter. Bounds are
/// inclusive, as in scipy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeakParams {
    /// Minimum height (inclusive).
    pub min_height: Option<f64>,
    /// Minimum distance in samples between kept peaks (higher peaks win).
    pub distance: Option<usize>,
    /// Minimum prominence (inclusive).
    pub min_prominence: Option<f64>,
    /// Minimum width (inclusive).
    pub min_width: Option<f64>,
    /// Maximum width (inclusive).
    pub max_width: Option<f64>,
    /// Relative height at which widths are measured (scipy default 0.5).
    pub rel_height: f64,
}

impl Default for PeakParams {
    fn default() -> Self {
        Self {
            min_height: None,
            distance: None,
            min_prominence: None,
            min_width: None,
            max_width: None,
            rel_height: 0.5,
        }
    }
}

/// A peak and its properties.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Sample index.
    pub index: usize,
    /// Value at the peak.
    pub height: f64,
    /// Prominence.
    pub prominence: f64,
    /// Left base index.
    pub left_base: usize,
    /// Right base index.
    pub right_base: usize,
    /// Width at `rel_height`.
    pub width: f64,
    /// Height at which the width was measured.
    pub width_height: f64,
    /// Interpolated left crossing.
    pub left_ip: f64,
    /// Interpolated right crossing.
    pub right_ip: f64,
}

/// Local maxima of `x` (scipy's `_local_maxima_1d`): a sample (or the middle
/// of a plateau) strictly higher than its neighbours. Edges are excluded.
pub fn local_maxima(x: &[f64]) -> Vec<usize> {
    let mut peaks = Vec::new();
    if x.len() < 3 {
        return peaks;
    }
    let i_max = x.len() - 1;
    let mut i = 1;
    while i < i_max {
        if x[i - 1] < x[i] {
            let mut ahead = i + 1;
            while ahead < i_max && x[ahead] == x[i] {
                ahead += 1;
            }
            if x[ahead] < x[i] {
                peaks.push((i + ahead - 1) / 2);
                i = ahead;
            }
        }
        i += 1;
    }
    peaks
}

/// Prominence and bases of the peak at `p` (scipy's `_peak_prominences`,
/// no window length).
pub fn prominence(x: &[f64], p: usize) -> (f64, usize, usize) {
    let h = x[p];
    let (mut left_min, mut left_base) = (h, p);
    let mut i = p as isize;
    while i >= 0 && x[i as usize] <= h {
        if x[i as usize] < left_min {
            left_min = x[i as usize];
            left_base = i as usize;
        }
        i -= 1;
    }
    let (mut right_min, mut right_base) = (h, p);
    let mut i = p;
    while i < x.len() && x[i] <= h {
        if x[i] < right_min {
            right_min = x[i];
            right_base = i;
        }
        i += 1;
    }
    (h - left_min.max(right_min), left_base, right_base)
}

/// Width of the peak at `p` (scipy's `_peak_widths`): returns `(width,
/// width_height, left_ip, right_ip)`.
pub fn width(
    x: &[f64],
    p: usize,
    prominence: f64,
    left_base: usize,
    right_base: usize,
    rel_height: f64,
) -> (f64, f64, f64, f64) {
    let height = x[p] - prominence * rel_height;
    let mut i = p;
    while left_base < i && height < x[i] {
        i -= 1;
    }
    let mut left_ip = i as f64;
    if x[i] < height {
        left_ip += (height - x[i]) / (x[i + 1] - x[i]);
    }
    let mut i = p;
    while i < right_base && height < x[i] {
        i += 1;
    }
    let mut right_ip = i as f64;
    if x[i] < height {
        right_ip -= (height - x[i]) / (x[i - 1] - x[i]);
    }
    (right_ip - left_ip, height, left_ip, right_ip)
}

/// Peaks of a finite series, filtered as `scipy.signal.find_peaks` does.
/// Non-finite samples are not allowed (callers compact them out first);
/// a series containing any gives no peaks.
pub fn find_peaks(x: &[f64], params: &PeakParams) -> Vec<Peak> {
    if x.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let mut idx = local_maxima(x);
    if let Some(h) = params.min_height {
        idx.retain(|&p| x[p] >= h);
    }
    if let Some(d) = params.distance {
        idx = select_by_distance(x, &idx, d.max(1));
    }
    let mut peaks: Vec<Peak> = idx
        .into_iter()
        .map(|p| {
            let (prom, lb, rb) = prominence(x, p);
            Peak {
                index: p,
                height: x[p],
                prominence: prom,
                left_base: lb,
                right_base: rb,
                width: 0.0,
                width_height: 0.0,
                left_ip: p as f64,
                right_ip: p as f64,
            }
        })
        .collect();
    if let Some(mp) = params.min_prominence {
        peaks.retain(|p| p.prominence >= mp);
    }
    for p in &mut peaks {
        let (w, wh, l, r) = width(
            x,
            p.index,
            p.prominence,
            p.left_base,
            p.right_base,
            params.rel_height,
        );
        p.width = w;
        p.width_height = wh;
        p.left_ip = l;
        p.right_ip = r;
    }
    if let Some(mw) = params.min_width {
        peaks.retain(|p| p.width >= mw);
    }
    if let Some(mw) = params.max_width {
        peaks.retain(|p| p.width <= mw);
    }
    peaks
}

/// scipy's `_select_by_peak_distance`: visit peaks from highest to lowest
/// and drop lower peaks closer than `distance`. Equal heights: scipy's order
/// depends on numpy's (unstable) argsort; here the earlier peak wins.
fn select_by_distance(x: &[f64], peaks: &[usize], distance: usize) -> Vec<usize> {
    let n = peaks.len();
    let mut keep = vec![true; n];
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| x[peaks[a]].total_cmp(&x[peaks[b]]).then(b.cmp(&a)));
    for &j in order.iter().rev() {
        if !keep[j] {
            continue;
        }
        let mut k = j;
        while k > 0 && peaks[j] - peaks[k - 1] < distance {
            keep[k - 1] = false;
            k -= 1;
        }
        let mut k = j + 1;
        while k < n && peaks[k] - peaks[j] < distance {
            keep[k] = false;
            k += 1;
        }
    }
    peaks
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(&p, _)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_maxima_handle_plateaus_and_edges() {
        assert_eq!(local_maxima(&[0.0, 1.0, 0.0]), vec![1]);
        // Plateau of 3 → middle; edge maxima are not peaks.
        assert_eq!(local_maxima(&[5.0, 1.0, 2.0, 2.0, 2.0, 1.0, 3.0]), vec![3]);
        // Plateau of 2 → left of middle (scipy: (left + right) // 2).
        assert_eq!(local_maxima(&[0.0, 2.0, 2.0, 0.0]), vec![1]);
        // A plateau that runs into the edge is not a peak.
        assert!(local_maxima(&[0.0, 2.0, 2.0]).is_empty());
        assert!(local_maxima(&[1.0, 1.0, 1.0, 1.0]).is_empty());
    }

    #[test]
    fn prominence_and_width_by_hand() {
        // x: 0 1 0 3 1 2 0
        let x = [0.0, 1.0, 0.0, 3.0, 1.0, 2.0, 0.0];
        // Peak at 3 (height 3): left min 0 (index 0 or 2 → first lower found
        // walking left is 2, later 0 equal not lower), right min 0 at 6.
        let (p, lb, rb) = prominence(&x, 3);
        assert_eq!((p, lb, rb), (3.0, 2, 6));
        // Width at height 1.5: left crossing between 2 (0) and 3 (3) → 2.5;
        // right crossing between 3 (3) and 4 (1) → 3 + 1.5/2 = 3.75.
        let (w, h, l, r) = width(&x, 3, p, lb, rb, 0.5);
        assert_eq!(h, 1.5);
        assert!((l - 2.5).abs() < 1e-12 && (r - 3.75).abs() < 1e-12);
        assert!((w - 1.25).abs() < 1e-12);
        // Peak at 5 (height 2): left walk stops at the 3 → min 1 at 4;
        // right min 0 at 6 → prominence 2 − max(1, 0) = 1.
        let (p5, lb5, rb5) = prominence(&x, 5);
        assert_eq!((p5, lb5, rb5), (1.0, 4, 6));
        // Width at 1.5: left crossing 4.5, right crossing 5.25.
        let (w5, _, _, _) = width(&x, 5, p5, lb5, rb5, 0.5);
        assert!((w5 - 0.75).abs() < 1e-12);
        // Peak at 1: prominence 1 (both neighbours 0).
        assert_eq!(prominence(&x, 1).0, 1.0);
    }

    #[test]
    fn filters_apply_in_scipy_order() {
        let x = [0.0, 1.0, 0.0, 3.0, 1.0, 2.0, 0.0];
        let all = find_peaks(&x, &PeakParams::default());
        assert_eq!(
            all.iter().map(|p| p.index).collect::<Vec<_>>(),
            vec![1, 3, 5]
        );
        let by_height = PeakParams {
            min_height: Some(2.0),
            ..PeakParams::default()
        };
        assert_eq!(
            find_peaks(&x, &by_height)
                .iter()
                .map(|p| p.index)
                .collect::<Vec<_>>(),
            vec![3, 5]
        );
        // Distance 3: the highest (3) removes 1 and 5.
        let by_distance = PeakParams {
            distance: Some(3),
            ..PeakParams::default()
        };
        assert_eq!(
            find_peaks(&x, &by_distance)
                .iter()
                .map(|p| p.index)
                .collect::<Vec<_>>(),
            vec![3]
        );
        let by_prom = PeakParams {
            min_prominence: Some(1.5),
            ..PeakParams::default()
        };
        assert_eq!(
            find_peaks(&x, &by_prom)
                .iter()
                .map(|p| p.index)
                .collect::<Vec<_>>(),
            vec![3]
        );
        let by_width = PeakParams {
            max_width: Some(1.0),
            ..PeakParams::default()
        };
        // Widths: peak 1 → 1.0, peak 3 → 1.25, peak 5 → 0.75.
        assert_eq!(
            find_peaks(&x, &by_width)
                .iter()
                .map(|p| p.index)
                .collect::<Vec<_>>(),
            vec![1, 5]
        );
        assert!(find_peaks(&[0.0, f64::NAN, 0.0], &PeakParams::default()).is_empty());
    }
}
