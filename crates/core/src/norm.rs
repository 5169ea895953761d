//! Per-channel normalisation statistics.
use crate::{Error, Result, Split, Window};
use serde::{Deserialize, Serialize};

/// Per-channel mean and standard deviation, fitted on observed values of the
/// training split only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    /// Mean per channel.
    pub mean: Vec<f64>,
    /// Standard deviation per channel (at least `min_std`).
    pub std: Vec<f64>,
    /// Observed training values per channel the statistics come from
    /// (empty when unknown: stores written before it was recorded). What
    /// [`Normalisation::pool`] weighs shards by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub count: Vec<u64>,
}

impl Normalisation {
    /// Smallest standard deviation used, so that constant channels do not
    /// divide by zero.
    pub const MIN_STD: f64 = 1e-6;

    /// Fit on the observed values of the windows in [`Split::Train`].
    /// Channels with no observed training value get mean 0, std 1.
    pub fn fit<'a>(windows: impl IntoIterator<Item = &'a Window>, channels: usize) -> Self {
        let mut acc = NormAccumulator::new(channels);
        for w in windows {
            if w.split == Split::Train {
                acc.add(w);
            }
        }
        acc.finish()
    }

    /// Check the statistics: as many standard deviations as means, all
    /// finite, every standard deviation positive. Errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.std.len() != self.mean.len() {
            return Err(Error::param(
                "normalisation.std",
                format!("{} values for {} means", self.std.len(), self.mean.len()),
            ));
        }
        if let Some(i) = self.mean.iter().position(|m| !m.is_finite()) {
            return Err(Error::param(
                format!("normalisation.mean[{i}]"),
                format!("not finite ({})", self.mean[i]),
            ));
        }
        if let Some(i) = self.std.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Error::param(
                format!("normalisation.std[{i}]"),
                format!("must be finite and positive, got {}", self.std[i]),
            ));
        }
        Ok(())
    }

    /// The statistics of the union of the data behind each of `parts` (the
    /// shards of one store), as one fit over all of it would give them (up
    /// to rounding): means weighted by counts, variances pooled with the
    /// spread of the means. Parts without data (count 0) do not count.
    ///
    /// Errors: a part without counts (and statistics that differ from the
    /// first part's: identical ones pool to themselves), parts of
    /// different channel counts, or a part that fails
    /// [`validate`](Self::validate).
    pub fn pool(parts: &[&Normalisation]) -> Result<Normalisation> {
        let Some(first) = parts.first() else {
            return Err(Error::param("normalisation", "nothing to pool"));
        };
        if parts
            .iter()
            .all(|p| p.mean == first.mean && p.std == first.std)
        {
            return Ok((*first).clone());
        }
        let c = first.mean.len();
        for p in parts {
            p.validate()?;
            if p.mean.len() != c {
                return Err(Error::param(
                    "normalisation",
                    format!("parts of {} and {c} channels", p.mean.len()),
                ));
            }
            if p.count.len() != c {
                return Err(Error::param(
                    "normalisation.count",
                    "the parts' statistics differ and some lack value counts to pool them by \
                     (written before counts were recorded): ingest again",
                ));
            }
        }
        let mut out = Normalisation {
            mean: vec![0.0; c],
            std: vec![1.0; c],
            count: vec![0; c],
        };
        for j in 0..c {
            let n: u64 = parts.iter().map(|p| p.count[j]).sum();
            out.count[j] = n;
            if n == 0 {
                continue;
            }
            let mean = parts
                .iter()
                .map(|p| p.count[j] as f64 * p.mean[j])
                .sum::<f64>()
                / n as f64;
            // Each part's sum of squared deviations (0 below two values,
            // where its std is a placeholder), plus its mean's offset.
            let m2: f64 = parts
                .iter()
                .filter(|p| p.count[j] > 0)
                .map(|p| {
                    let k = p.count[j] as f64;
                    let own = if p.count[j] < 2 {
                        0.0
                    } else {
                        p.std[j] * p.std[j] * k
                    };
                    own + k * (p.mean[j] - mean).powi(2)
                })
                .sum();
            out.mean[j] = mean;
            if n >= 2 {
                out.std[j] = (m2 / n as f64).sqrt().max(Self::MIN_STD);
            }
        }
        Ok(out)
    }

    /// Normalise `values` (time-major, `channels` wide) in place; NaN stays NaN.
    pub fn apply(&self, values: &mut [f32]) -> Result<()> {
        self.validate()?;
        let c = self.mean.len();
        if c == 0 || !values.len().is_multiple_of(c) {
            return Err(Error::Shape(format!(
                "{} values are not a multiple of {c} channels",
                values.len()
            )));
        }
        for row in values.chunks_exact_mut(c) {
            for (j, v) in row.iter_mut().enumerate() {
                *v = ((*v as f64 - self.mean[j]) / self.std[j]) as f32;
            }
        }
        Ok(())
    }

    /// Undo [`Normalisation::apply`] in place.
    pub fn invert(&self, values: &mut [f32]) -> Result<()> {
        self.validate()?;
        let c = self.mean.len();
        if c == 0 || !values.len().is_multiple_of(c) {
            return Err(Error::Shape(format!(
                "{} values are not a multiple of {c} channels",
                values.len()
            )));
        }
        for row in values.chunks_exact_mut(c) {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (*v as f64 * self.std[j] + self.mean[j]) as f32;
            }
        }
        Ok(())
    }
}

/// Streaming accumulator for [`Normalisation`], for fitting over windows
/// that do not all fit in memory. Each window's per-channel count, mean and
/// sum of squared deviations come from one pass of sums shifted by a value
/// of the window (no division per value) and are merged into the running
/// statistics with the pairwise update of Chan, Golub and LeVeque.
#[derive(Debug, Clone)]
pub struct NormAccumulator {
    n: Vec<u64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
    /// One window's sums, reused between windows.
    scratch: Scratch,
}

/// Per-channel sums of one window for [`NormAccumulator::add`].
#[derive(Debug, Clone)]
struct Scratch {
    /// Observed values.
    cnt: Vec<u64>,
    /// The shift (first observed value), then the window's mean.
    shift: Vec<f64>,
    /// Sum of the shifted values.
    s1: Vec<f64>,
    /// Sum of their squares, then the squared deviations from the mean.
    s2: Vec<f64>,
}

impl NormAccumulator {
    /// An empty accumulator for `channels` channels.
    pub fn new(channels: usize) -> Self {
        Self {
            n: vec![0; channels],
            mean: vec![0.0; channels],
            m2: vec![0.0; channels],
            scratch: Scratch {
                cnt: vec![0; channels],
                shift: vec![0.0; channels],
                s1: vec![0.0; channels],
                s2: vec![0.0; channels],
            },
        }
    }

    /// Add the observed values of one window (whatever its split).
    pub fn add(&mut self, w: &Window) {
        let c = self.n.len();
        if w.channels != c || c == 0 {
            return;
        }
        let Scratch { cnt, shift, s1, s2 } = &mut self.scratch;
        // One pass of sums shifted by a value of the window (the first
        // observed one of each channel), which keeps the sum of squares
        // from cancelling; branch-free and without bounds checks (windows
        // rarely miss values).
        shift.fill(f64::NAN);
        let rows = || w.values.chunks_exact(c).zip(w.missing.chunks_exact(c));
        for (vals, miss) in rows() {
            for ((&v, &m), k) in vals.iter().zip(miss).zip(shift.iter_mut()) {
                if k.is_nan() && !m && v.is_finite() {
                    *k = v as f64;
                }
            }
            if !shift.iter().any(|k| k.is_nan()) {
                break;
            }
        }
        cnt.fill(0);
        s1.fill(0.0);
        s2.fill(0.0);
        for (vals, miss) in rows() {
            let acc = cnt.iter_mut().zip(s1.iter_mut()).zip(s2.iter_mut());
            for (((&v, &m), &k), ((n, s1), s2)) in vals.iter().zip(miss).zip(shift.iter()).zip(acc)
            {
                let ok = !m & v.is_finite();
                let d = if ok { v as f64 - k } else { 0.0 };
                *n += ok as u64;
                *s1 += d;
                *s2 += d * d;
            }
        }
        // The window's mean and squared deviations from its shifted sums.
        let (mean_b, m2_b) = (shift, s2);
        for ((mean, m2), (&n, &s1)) in mean_b
            .iter_mut()
            .zip(m2_b.iter_mut())
            .zip(cnt.iter().zip(s1.iter()))
        {
            if n > 0 {
                let nf = n as f64;
                *mean += s1 / nf;
                *m2 = (*m2 - s1 * s1 / nf).max(0.0);
            }
        }
        for j in 0..c {
            if cnt[j] == 0 {
                continue;
            }
            let (na, nb) = (self.n[j] as f64, cnt[j] as f64);
            let n = na + nb;
            let delta = mean_b[j] - self.mean[j];
            self.mean[j] += delta * (nb / n);
            self.m2[j] += m2_b[j] + delta * delta * (na * nb / n);
            self.n[j] += cnt[j];
        }
    }

    /// The fitted statistics.
    pub fn finish(self) -> Normalisation {
        let std = self
            .n
            .iter()
            .zip(&self.m2)
            .map(|(&n, &m2)| {
                if n < 2 {
                    1.0
                } else {
                    (m2 / n as f64).sqrt().max(Normalisation::MIN_STD)
                }
            })
            .collect();
        let mean = self
            .n
            .iter()
            .zip(&self.mean)
            .map(|(&n, &m)| if n == 0 { 0.0 } else { m })
            .collect();
        Normalisation {
            mean,
            std,
            count: self.n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_on_train_observed_only_and_round_trips() {
        let mut a =
            Window::from_values("a", "r", 0, 1.0, 2, vec![1.0, 10.0, 3.0, f32::NAN]).unwrap();
        a.split = Split::Train;
        let mut b = Window::from_values("b", "r", 0, 1.0, 2, vec![1000.0, 1000.0]).unwrap();
        b.split = Split::Test;
        let n = Normalisation::fit([&a, &b], 2);
        assert_eq!(n.mean, vec![2.0, 10.0]);
        assert!((n.std[0] - 1.0).abs() < 1e-12);
        assert_eq!(n.std[1], 1.0); // one observed value only
        let mut v = a.values.clone();
        n.apply(&mut v).unwrap();
        assert_eq!(v[0], -1.0);
        assert!(v[3].is_nan());
        n.invert(&mut v).unwrap();
        assert_eq!(v[2], 3.0);
        assert!(n.apply(&mut [1.0, 2.0, 3.0]).is_err());
    }

    /// Window by window merging gives the mean and population variance of
    /// all observed values (missing ones left out), computed
    /// directly in two passes, on values far from zero (where a naive sum
    /// of squares loses digits).
    #[test]
    fn accumulated_statistics_equal_a_direct_two_pass_fit() {
        let c = 3;
        let mut acc = NormAccumulator::new(c);
        let mut all: Vec<Vec<f64>> = vec![Vec::new(); c];
        let mut x = 12345u64;
        for w in 0..40 {
            let len = 1 + w % 7;
            let mut vals = Vec::new();
            for t in 0..len * c {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (x >> 40) as f32 / (1u64 << 24) as f32;
                let v = match (t + w) % 11 {
                    0 | 5 => f32::NAN,
                    _ => 1.0e4 + u * (1 + t % c) as f32,
                };
                vals.push(v);
            }
            let win = Window::from_values("s", "r", 0, 1.0, c, vals.clone()).unwrap();
            acc.add(&win);
            for (i, v) in vals.iter().enumerate() {
                if v.is_finite() {
                    all[i % c].push(*v as f64);
                }
            }
        }
        let fit = acc.finish();
        for (j, vals) in all.iter().enumerate() {
            let n = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / n;
            let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            assert_eq!(fit.count[j], vals.len() as u64);
            assert!(
                (fit.mean[j] - mean).abs() < 1e-9,
                "{} vs {mean}",
                fit.mean[j]
            );
            assert!((fit.std[j] - var.sqrt()).abs() < 1e-9 * var.sqrt().max(1.0));
        }
    }

    #[test]
    fn pooled_statistics_equal_one_fit_over_all_parts() {
        let window = |vals: Vec<f32>| {
            let mut w = Window::from_values("s", "r", 0, 1.0, 2, vals).unwrap();
            w.split = Split::Train;
            w
        };
        let parts = [
            vec![window(vec![1.0, 5.0, 2.0, f32::NAN, 4.0, 7.0])],
            vec![window(vec![10.0, f32::NAN, -3.0, f32::NAN])],
            vec![window(vec![f32::NAN, 2.0])],
            vec![],
        ];
        let fits: Vec<Normalisation> = parts.iter().map(|p| Normalisation::fit(p, 2)).collect();
        let pooled = Normalisation::pool(&fits.iter().collect::<Vec<_>>()).unwrap();
        let all = Normalisation::fit(parts.iter().flatten(), 2);
        assert_eq!(pooled.count, all.count);
        for j in 0..2 {
            assert!((pooled.mean[j] - all.mean[j]).abs() < 1e-12);
            assert!((pooled.std[j] - all.std[j]).abs() < 1e-12);
        }
        // Without counts, only identical statistics pool.
        let bare = |n: &Normalisation| Normalisation {
            count: Vec::new(),
            ..n.clone()
        };
        assert_eq!(
            Normalisation::pool(&[&bare(&all), &bare(&all)]).unwrap(),
            bare(&all)
        );
        let e = Normalisation::pool(&[&bare(&fits[0]), &bare(&fits[1])]).unwrap_err();
        assert!(e.to_string().contains("normalisation.count"), "{e}");
    }
}
