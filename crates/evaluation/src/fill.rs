//! Simple gap fillers: the baselines of the imputation protocol and the
//! "impute first, then encode" path of the robustness protocol (LSM-1).

/// Fill NaNs of a time-major `T × C` window channel by channel with linear
/// interpolation between the nearest observed neighbours; before the first
/// and after the last observed value the nearest observed value is held.
/// A channel with no observed value is filled with `fallback[c]`.
pub fn interpolate_linear(values: &[f32], channels: usize, fallback: &[f32]) -> Vec<f32> {
    let mut out = values.to_vec();
    if channels == 0 {
        return out;
    }
    let steps = values.len() / channels;
    for c in 0..channels {
        let obs: Vec<usize> = (0..steps)
            .filter(|&t| values[t * channels + c].is_finite())
            .collect();
        let fb = fallback.get(c).copied().unwrap_or(0.0);
        if obs.is_empty() {
            for t in 0..steps {
                out[t * channels + c] = fb;
            }
            continue;
        }
        let mut k = 0; // index into obs of the next observed step at or after t
        for t in 0..steps {
            while k < obs.len() && obs[k] < t {
                k += 1;
            }
            if values[t * channels + c].is_finite() {
                continue;
            }
            let v = if k == 0 {
                values[obs[0] * channels + c]
            } else if k == obs.len() {
                values[obs[obs.len() - 1] * channels + c]
            } else {
                let (a, b) = (obs[k - 1], obs[k]);
                let (va, vb) = (values[a * channels + c], values[b * channels + c]);
                let w = (t - a) as f32 / (b - a) as f32;
                va + w * (vb - va)
            };
            out[t * channels + c] = v;
        }
    }
    out
}

/// Fill NaNs with the mean of the channel's observed values in the same
/// window (`fallback[c]` when the channel has none).
pub fn fill_channel_mean(values: &[f32], channels: usize, fallback: &[f32]) -> Vec<f32> {
    let mut out = values.to_vec();
    if channels == 0 {
        return out;
    }
    let steps = values.len() / channels;
    for c in 0..channels {
        let (mut s, mut n) = (0.0f64, 0usize);
        for t in 0..steps {
            let v = values[t * channels + c];
            if v.is_finite() {
                s += v as f64;
                n += 1;
            }
        }
        let m = if n > 0 {
            (s / n as f64) as f32
        } else {
            fallback.get(c).copied().unwrap_or(0.0)
        };
        for t in 0..steps {
            if !values[t * channels + c].is_finite() {
                out[t * channels + c] = m;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_interpolation_fills_inside_and_holds_edges() {
        let n = f32::NAN;
        // 5 steps × 2 channels; channel 1 fully missing.
        let v = [n, n, 1.0, n, n, n, 3.0, n, n, n];
        let out = interpolate_linear(&v, 2, &[0.0, 7.0]);
        let c0: Vec<f32> = out.iter().step_by(2).copied().collect();
        assert_eq!(c0, vec![1.0, 1.0, 2.0, 3.0, 3.0]);
        assert!(out.iter().skip(1).step_by(2).all(|&x| x == 7.0));
    }

    #[test]
    fn channel_mean_uses_observed_values_only() {
        let n = f32::NAN;
        let v = [1.0, n, n, n, 3.0, n];
        let out = fill_channel_mean(&v, 2, &[0.0, -1.0]);
        assert_eq!(out, vec![1.0, -1.0, 2.0, -1.0, 3.0, -1.0]);
    }
}
