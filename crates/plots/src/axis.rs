//! Axis ranges and tick positions (linear and log10), and tick-label
//! formatting.

use crate::error::input;
use crate::Result;

/// One axis of a chart, in plotting coordinates (log10 of the data on a log
/// axis).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Axis {
    /// Lower end (plotting coordinates).
    pub lo: f64,
    /// Upper end (plotting coordinates).
    pub hi: f64,
    /// Tick positions (plotting coordinates), inside `lo..=hi`.
    pub ticks: Vec<f64>,
    /// Whether plotting coordinates are log10 of the data.
    pub log: bool,
    /// Step between ticks in data units (linear axes; used for decimals).
    pub step: f64,
}

impl Axis {
    /// Map a data value to plotting coordinates.
    pub fn to_plot(&self, v: f64) -> f64 {
        if self.log {
            v.log10()
        } else {
            v
        }
    }

    /// The label of the tick at plotting coordinate `p`.
    pub fn label(&self, p: f64) -> String {
        if self.log {
            format_sig(10f64.powf(p))
        } else {
            format_step(p, self.step)
        }
    }

    /// A linear axis covering `[min, max]` (data units) with a margin of
    /// `pad` (share of the span) on each side and about `n` ticks.
    pub fn linear(min: f64, max: f64, pad: f64, n: usize) -> Axis {
        let (mut lo, mut hi) = (min, max);
        if hi - lo <= 0.0 {
            let half = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
            lo -= half;
            hi += half;
        } else {
            let m = (hi - lo) * pad;
            lo -= m;
            hi += m;
        }
        let step = nice_step((hi - lo) / n.max(1) as f64);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        let ticks = (first..=last).map(|k| k as f64 * step).collect();
        Axis {
            lo,
            hi,
            ticks,
            log: false,
            step,
        }
    }

    /// A log10 axis covering `[min, max]` (data units, both > 0) with a
    /// margin of `pad` (share of the span in decades). Ticks are at
    /// `preferred` values when given (e.g. the few-shot `k`s), else at 1, 2,
    /// 5 × 10ⁿ (short spans) or powers of ten.
    pub fn log(min: f64, max: f64, pad: f64, preferred: Option<&[f64]>) -> Result<Axis> {
        if !(min > 0.0 && max > 0.0) {
            return Err(input(format!(
                "a log axis needs positive values, got range {min} to {max}"
            )));
        }
        let (mut lo, mut hi) = (min.log10(), max.log10());
        if hi - lo <= 0.0 {
            lo -= 0.5;
            hi += 0.5;
        } else {
            let m = (hi - lo) * pad;
            lo -= m;
            hi += m;
        }
        let ticks: Vec<f64> = match preferred {
            Some(values) => values.iter().map(|v| v.log10()).collect(),
            None => {
                let span = hi - lo;
                let mults: &[f64] = if span <= 1.5 {
                    &[1.0, 2.0, 5.0]
                } else if span <= 4.0 {
                    &[1.0, 3.0]
                } else {
                    &[1.0]
                };
                let every = ((span / 8.0).ceil() as i64).max(1);
                let mut t = Vec::new();
                for d in (lo.floor() as i64 - 1)..=(hi.ceil() as i64) {
                    if d.rem_euclid(every) != 0 {
                        continue;
                    }
                    for &m in mults {
                        let p = d as f64 + m.log10();
                        if p >= lo - 1e-9 && p <= hi + 1e-9 {
                            t.push(p);
                        }
                    }
                }
                t
            }
        };
        Ok(Axis {
            lo,
            hi,
            ticks,
            log: true,
            step: 1.0,
        })
    }
}

/// A "nice" step (1, 2, 2.5 or 5 × 10ⁿ) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= raw * (1.0 - 1e-9) {
            return m * p;
        }
    }
    10.0 * p
}

/// Format a tick value with as many decimals as its step needs.
fn format_step(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-(step.log10()).floor() as usize + 1).min(8)
    };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Format with up to 3 significant digits, scientific for very large or
/// small magnitudes.
pub(crate) fn format_sig(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let decimals = if a == 0.0 {
        0
    } else {
        (2 - a.log10().floor() as i64).max(0) as usize
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_nice() {
        let a = Axis::linear(0.0, 1.0, 0.0, 5);
        let labels: Vec<String> = a.ticks.iter().map(|&t| a.label(t)).collect();
        assert_eq!(labels, ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
        let a = Axis::linear(-0.013, 0.021, 0.0, 6);
        let labels: Vec<String> = a.ticks.iter().map(|&t| a.label(t)).collect();
        assert_eq!(labels, ["-0.01", "0", "0.01", "0.02"]);
        let a = Axis::linear(0.0, 1.0, 0.0, 4);
        let labels: Vec<String> = a.ticks.iter().map(|&t| a.label(t)).collect();
        assert_eq!(labels, ["0", "0.25", "0.5", "0.75", "1"]);
        let a = Axis::linear(0.0, 1000.0, 0.0, 4);
        assert_eq!(a.ticks.len(), 5);
        assert_eq!(a.label(250.0), "250");
        // Degenerate range still has a span.
        let a = Axis::linear(3.0, 3.0, 0.1, 5);
        assert!(a.lo < 3.0 && a.hi > 3.0);
    }

    #[test]
    fn log_ticks() {
        let a = Axis::log(2.0, 100.0, 0.05, Some(&[2.0, 5.0, 10.0, 25.0, 50.0, 100.0])).unwrap();
        let labels: Vec<String> = a.ticks.iter().map(|&t| a.label(t)).collect();
        assert_eq!(labels, ["2", "5", "10", "25", "50", "100"]);
        let a = Axis::log(0.01, 10.0, 0.0, None).unwrap();
        let labels: Vec<String> = a.ticks.iter().map(|&t| a.label(t)).collect();
        assert_eq!(labels, ["0.01", "0.03", "0.1", "0.3", "1", "3", "10"]);
        assert!(Axis::log(0.0, 1.0, 0.0, None).is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(format_sig(0.000012), "1.2e-5");
        assert_eq!(format_sig(123456.0), "123456");
        assert_eq!(format_sig(2.5), "2.5");
        assert_eq!(format_step(-0.0, 0.5), "0");
        assert_eq!(format_step(0.25, 0.05), "0.25");
    }
}
