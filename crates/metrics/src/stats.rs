//! Summary statistics over repeated runs (e.g. few-shot seeds).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{MetricsError, Result};

/// Mean and sample standard deviation of a metric over repeated runs.
///
/// `std` is the sample standard deviation (divisor `n − 1`, as
/// `numpy.std(x, ddof=1)`); with a single value it is 0 (numpy would give
/// NaN, which JSON cannot hold), and `n` tells the reader there was one run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (0 when `n == 1`).
    pub std: f64,
    /// Number of values.
    pub n: usize,
}

impl MeanStd {
    /// Mean and sample standard deviation of `values`.
    ///
    /// Errors when `values` is empty or holds a NaN or infinite value (the
    /// error names its index).
    pub fn from_values(values: &[f64]) -> Result<Self> {
        if values.is_empty() {
            return Err(MetricsError::Input("no values to summarise".into()));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(MetricsError::Input(format!(
                "value {i} is not finite ({})",
                values[i]
            )));
        }
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = if n > 1 {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Ok(MeanStd { mean, std, n })
    }
}

impl fmt::Display for MeanStd {
    /// `mean ± std`; a precision applies to both (`{:.3}` → `0.812 ± 0.013`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match f.precision() {
            Some(p) => write!(f, "{:.p$} ± {:.p$}", self.mean, self.std),
            None => write!(f, "{} ± {}", self.mean, self.std),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_std_by_hand() {
        // numpy: np.std([2, 4, 4, 4, 5, 5, 7, 9], ddof=1) = sqrt(32 / 7)
        let m = MeanStd::from_values(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(m.mean, 5.0);
        assert!((m.std - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(m.n, 8);
        assert_eq!(
            format!("{:.2}", MeanStd::from_values(&[1.0, 2.0]).unwrap()),
            "1.50 ± 0.71"
        );
        let one = MeanStd::from_values(&[0.25]).unwrap();
        assert_eq!((one.mean, one.std, one.n), (0.25, 0.0, 1));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(MeanStd::from_values(&[]).is_err());
        let e = MeanStd::from_values(&[1.0, f64::NAN])
            .unwrap_err()
            .to_string();
        assert!(e.contains("value 1"), "{e}");
    }
}
