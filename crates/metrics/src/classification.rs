//! Classification metrics: accuracy, macro and weighted F1, per-class
//! precision / recall / F1 and the confusion matrix.
//!
//! F1 follows scikit-learn's `f1_score(average="macro", labels=range(K),
//! zero_division=0)`: a class with no prediction has precision 0, a class
//! with no sample has recall 0, and every one of the `K` classes counts in
//! the macro average, present in the data or not.

use serde::{Deserialize, Serialize};

use crate::{MetricsError, Result};

/// Metrics of one class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Precision (0 when nothing was predicted as this class).
    pub precision: f64,
    /// Recall (0 when the class has no sample).
    pub recall: f64,
    /// F1 (0 when precision + recall is 0).
    pub f1: f64,
    /// True samples of the class.
    pub support: usize,
}

/// Scores of a set of predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Share of correct predictions.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 over all `K` classes.
    pub macro_f1: f64,
    /// Mean of the per-class F1 weighted by support.
    pub weighted_f1: f64,
    /// Per class, by index.
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
}

impl ClassificationReport {
    /// Score `y_pred` against `y_true` (class indices in `0..n_classes`).
    pub fn compute(y_true: &[usize], y_pred: &[usize], n_classes: usize) -> Result<Self> {
        if y_true.len() != y_pred.len() {
            return Err(MetricsError::Input(format!(
                "{} true labels but {} predictions",
                y_true.len(),
                y_pred.len()
            )));
        }
        if y_true.is_empty() {
            return Err(MetricsError::Input("no samples to score".into()));
        }
        if n_classes == 0 {
            return Err(MetricsError::Input("n_classes is 0".into()));
        }
        let mut confusion = vec![vec![0usize; n_classes]; n_classes];
        for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
            if t >= n_classes || p >= n_classes {
                return Err(MetricsError::Input(format!(
                    "sample {i}: label {} outside 0..{n_classes}",
                    t.max(p)
                )));
            }
            confusion[t][p] += 1;
        }
        let n = y_true.len();
        let correct: usize = (0..n_classes).map(|k| confusion[k][k]).sum();
        let per_class: Vec<ClassMetrics> = (0..n_classes)
            .map(|k| {
                let tp = confusion[k][k] as f64;
                let support: usize = confusion[k].iter().sum();
                let predicted: usize = (0..n_classes).map(|t| confusion[t][k]).sum();
                let precision = if predicted > 0 {
                    tp / predicted as f64
                } else {
                    0.0
                };
                let recall = if support > 0 {
                    tp / support as f64
                } else {
                    0.0
                };
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let macro_f1 = per_class.iter().map(|c| c.f1).sum::<f64>() / n_classes as f64;
        let weighted_f1 = per_class
            .iter()
            .map(|c| c.f1 * c.support as f64)
            .sum::<f64>()
            / n as f64;
        Ok(ClassificationReport {
            accuracy: correct as f64 / n as f64,
            macro_f1,
            weighted_f1,
            per_class,
            confusion,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_sklearn_values() {
        // sklearn: f1_score([0,0,1,1,2], [0,1,1,1,0], average="macro",
        // labels=[0,1,2], zero_division=0) = (0.5 + 0.8 + 0) / 3
        let r = ClassificationReport::compute(&[0, 0, 1, 1, 2], &[0, 1, 1, 1, 0], 3).unwrap();
        assert!((r.macro_f1 - 1.3 / 3.0).abs() < 1e-12);
        assert!((r.accuracy - 0.6).abs() < 1e-12);
        assert_eq!(r.per_class[2].f1, 0.0);
        assert!((r.weighted_f1 - (0.5 * 2.0 + 0.8 * 2.0) / 5.0).abs() < 1e-12);
        assert_eq!(r.confusion[0], vec![1, 1, 0]);
        // An absent class still counts in the macro average.
        let r = ClassificationReport::compute(&[0, 1], &[0, 1], 4).unwrap();
        assert!((r.macro_f1 - 0.5).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(ClassificationReport::compute(&[0], &[0, 1], 2).is_err());
        assert!(ClassificationReport::compute(&[], &[], 2).is_err());
        let e = ClassificationReport::compute(&[0, 5], &[0, 1], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sample 1") && e.contains('5'), "{e}");
    }
}
