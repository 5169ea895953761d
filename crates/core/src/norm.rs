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

/// Streaming accumulator for [`Normalisation`] (Welford's algorithm), for
/// fitting over windows that do not all fit in memory.
#[derive(Debug, Clone)]
pub struct NormAccumulator {
    n: Vec<u64>,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl NormAccumulator {
    /// An empty accumulator for `channels` channels.
    pub fn new(channels: usize) -> Self {
        Self {
            n: vec![0; channels],
            mean: vec![0.0; channels],
            m2: vec![0.0; channels],
        }
    }

    /// Add the observed values of one window (whatever its split).
    pub fn add(&mut self, w: &Window) {
        let c = self.n.len();
        if w.channels != c {
            return;
        }
        for (i, (&v, &miss)) in w.values.iter().zip(&w.missing).enumerate() {
            if miss || !v.is_finite() {
                continue;
            }
            let j = i % c;
            self.n[j] += 1;
            let d = v as f64 - self.mean[j];
            self.mean[j] += d / self.n[j] as f64;
            self.m2[j] += d * (v as f64 - self.mean[j]);
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
