//! Learning-rate schedules: linear warmup, then cosine, inverse square root
//! or constant.

use serde::{Deserialize, Serialize};

use crate::{OptimError, Result};

/// The decay after warmup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    /// Cosine from the peak down to `min_lr_ratio · peak` at the last step.
    Cosine,
    /// `peak · sqrt(warmup / step)` after warmup (`min_lr_ratio` is a floor).
    InverseSqrt,
    /// Stay at the peak.
    Constant,
}

/// A schedule (serde; the `[schedule]` table of a training config).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Linear warmup from 0 over this many steps.
    pub warmup_steps: u64,
    /// Decay after warmup.
    pub decay: Decay,
    /// The final (cosine) or minimum (inverse-sqrt) learning rate as a
    /// fraction of the peak.
    pub min_lr_ratio: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            warmup_steps: 20,
            decay: Decay::Cosine,
            min_lr_ratio: 0.01,
        }
    }
}

impl ScheduleConfig {
    /// Check ranges.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return Err(OptimError::config(
                "schedule.min_lr_ratio",
                format!("must be in [0, 1], got {}", self.min_lr_ratio),
            ));
        }
        Ok(())
    }

    /// The learning rate for step `step` (0-based) of `total` steps at peak
    /// `peak`.
    pub fn lr(&self, peak: f64, step: u64, total: u64) -> f64 {
        let w = self.warmup_steps;
        if step < w {
            return peak * (step + 1) as f64 / w as f64;
        }
        let floor = peak * self.min_lr_ratio;
        match self.decay {
            Decay::Constant => peak,
            Decay::Cosine => {
                let span = total.saturating_sub(w).max(1) as f64;
                let t = ((step - w) as f64 / span).min(1.0);
                floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Decay::InverseSqrt => {
                let base = w.max(1) as f64;
                (peak * (base / (step + 1).max(w.max(1)) as f64).sqrt()).max(floor)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine_reaches_floor() {
        let s = ScheduleConfig {
            warmup_steps: 10,
            decay: Decay::Cosine,
            min_lr_ratio: 0.1,
        };
        assert!((s.lr(1.0, 0, 100) - 0.1).abs() < 1e-12);
        assert!((s.lr(1.0, 9, 100) - 1.0).abs() < 1e-12);
        assert!((s.lr(1.0, 10, 100) - 1.0).abs() < 1e-12);
        assert!((s.lr(1.0, 55, 100) - 0.55).abs() < 1e-12);
        assert!((s.lr(1.0, 100, 100) - 0.1).abs() < 1e-12);
        let lrs: Vec<f64> = (10..100).map(|i| s.lr(1.0, i, 100)).collect();
        assert!(lrs.windows(2).all(|w| w[1] <= w[0]));
    }

    #[test]
    fn inverse_sqrt_and_constant() {
        let s = ScheduleConfig {
            warmup_steps: 4,
            decay: Decay::InverseSqrt,
            min_lr_ratio: 0.0,
        };
        assert!((s.lr(1.0, 15, 100) - 0.5).abs() < 1e-12); // sqrt(4/16)
        let c = ScheduleConfig {
            decay: Decay::Constant,
            ..s.clone()
        };
        assert_eq!(c.lr(2.0, 50, 100), 2.0);
        assert!(ScheduleConfig {
            min_lr_ratio: 2.0,
            ..s
        }
        .validate()
        .is_err());
    }
}
