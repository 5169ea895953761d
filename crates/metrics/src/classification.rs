//! Classification metrics: accuracy, macro and weighted F1, per-class
//! precision / recall / F1 and the confusion matrix.
//!
//! The F1 scores follow scikit-learn's
//! `f1_score(y_true, y_pred, average=..., labels=range(n_classes), zero_division=0)`:
//!
//! - precision is 0 for a class that was never predicted, recall is 0 for a
//!   class with no true sample, and F1 is 0 when precision + recall is 0 —
//!   so a class absent from both `y_true` and `y_pred` has F1 = 0;
//! - every one of the `n_classes` classes counts in the macro average,
//!   present in the data or not (this is what passing `labels=range(K)` does
//!   in scikit-learn; without it scikit-learn would average only over the
//!   labels that occur);
//! - the weighted average weights each class's F1 by its support (number of
//!   true samples).

use serde::{Deserialize, Serialize};

use crate::{MetricsError, Result};

/// Metrics of one class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Precision `tp / (tp + fp)` (0 when nothing was predicted as this class).
    pub precision: f64,
    /// Recall `tp / (tp + fn)` (0 when the class has no sample).
    pub recall: f64,
    /// F1, the harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// True samples of the class.
    pub support: usize,
}

/// Scores of a set of predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Number of scored samples.
    #[serde(default)]
    pub n_samples: usize,
    /// Share of correct predictions.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 over all `n_classes` classes.
    pub macro_f1: f64,
    /// Mean of the per-class F1 weighted by support.
    pub weighted_f1: f64,
    /// Per class, by index.
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[true][predicted]` counts (rows = true class, columns =
    /// predicted class), `n_classes × n_classes`.
    pub confusion: Vec<Vec<usize>>,
}

impl ClassificationReport {
    /// Score `y_pred` against `y_true` (class indices in `0..n_classes`).
    ///
    /// Errors when the lengths differ, when there is no sample, when
    /// `n_classes` is 0, or when a label is not below `n_classes` (the error
    /// names the slice and the index, e.g. `y_pred[7] = 12`).
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
            for (name, label) in [("y_true", t), ("y_pred", p)] {
                if label >= n_classes {
                    return Err(MetricsError::Input(format!(
                        "{name}[{i}] = {label} is not a class index (n_classes = {n_classes})"
                    )));
                }
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
            n_samples: n,
            accuracy: correct as f64 / n as f64,
            macro_f1,
            weighted_f1,
            per_class,
            confusion,
        })
    }

    /// Number of classes (`per_class.len()`).
    pub fn n_classes(&self) -> usize {
        self.per_class.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn matches_hand_computed_sklearn_values() {
        // sklearn: f1_score([0,0,1,1,2], [0,1,1,1,0], average="macro",
        // labels=[0,1,2], zero_division=0) = (0.5 + 0.8 + 0) / 3
        let r = ClassificationReport::compute(&[0, 0, 1, 1, 2], &[0, 1, 1, 1, 0], 3).unwrap();
        assert!(close(r.macro_f1, 1.3 / 3.0));
        assert!(close(r.accuracy, 0.6));
        assert_eq!(r.per_class[2].f1, 0.0);
        assert!(close(r.weighted_f1, (0.5 * 2.0 + 0.8 * 2.0) / 5.0));
        assert_eq!(r.confusion[0], vec![1, 1, 0]);
        assert_eq!(r.n_samples, 5);
        assert_eq!(r.n_classes(), 3);
        // An absent class still counts in the macro average.
        let r = ClassificationReport::compute(&[0, 1], &[0, 1], 4).unwrap();
        assert!(close(r.macro_f1, 0.5));
        assert!(close(r.weighted_f1, 1.0));
    }

    #[test]
    fn matches_sklearn_on_a_larger_case() {
        // Values from scikit-learn 1.9.1:
        //   y_true = [0,1,2,3,0,1,2,3,0,0,1,4,4,2,2,3]
        //   y_pred = [0,2,2,3,1,1,0,3,0,4,1,4,0,2,1,1]
        //   f1_score(..., average="macro", labels=range(6), zero_division=0)
        //   f1_score(..., average="weighted", labels=range(6), zero_division=0)
        //   precision_score / recall_score(..., average=None, ...)
        let y_true = [0, 1, 2, 3, 0, 1, 2, 3, 0, 0, 1, 4, 4, 2, 2, 3];
        let y_pred = [0, 2, 2, 3, 1, 1, 0, 3, 0, 4, 1, 4, 0, 2, 1, 1];
        let r = ClassificationReport::compute(&y_true, &y_pred, 6).unwrap();
        assert!(close(r.macro_f1, 0.478_571_428_571_428_6), "{}", r.macro_f1);
        assert!(
            close(r.weighted_f1, 0.574_107_142_857_142_9),
            "{}",
            r.weighted_f1
        );
        assert!(close(r.accuracy, 9.0 / 16.0));
        let precision = [0.5, 0.4, 2.0 / 3.0, 1.0, 0.5, 0.0];
        let recall = [0.5, 2.0 / 3.0, 0.5, 2.0 / 3.0, 0.5, 0.0];
        for k in 0..6 {
            assert!(close(r.per_class[k].precision, precision[k]), "class {k}");
            assert!(close(r.per_class[k].recall, recall[k]), "class {k}");
        }
        assert_eq!(
            r.per_class.iter().map(|c| c.support).collect::<Vec<_>>(),
            vec![4, 3, 4, 3, 2, 0]
        );
        // Rows = true, columns = predicted.
        assert_eq!(r.confusion[3], vec![0, 1, 0, 2, 0, 0]);
        let total: usize = r.confusion.iter().flatten().sum();
        assert_eq!(total, 16);
    }

    #[test]
    fn perfect_and_all_wrong_predictions() {
        let r = ClassificationReport::compute(&[0, 1, 2, 2], &[0, 1, 2, 2], 3).unwrap();
        assert_eq!((r.accuracy, r.macro_f1, r.weighted_f1), (1.0, 1.0, 1.0));
        let r = ClassificationReport::compute(&[0, 0, 1], &[1, 1, 0], 2).unwrap();
        assert_eq!((r.accuracy, r.macro_f1, r.weighted_f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn serialises_to_json() {
        let r = ClassificationReport::compute(&[0, 1], &[0, 0], 2).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"macro_f1\"") && json.contains("\"confusion\":[[1,0],[1,0]]"));
        let back: ClassificationReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(ClassificationReport::compute(&[0], &[0, 1], 2).is_err());
        assert!(ClassificationReport::compute(&[], &[], 2).is_err());
        let e = ClassificationReport::compute(&[0, 5], &[0, 1], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("y_true[1] = 5"), "{e}");
        let e = ClassificationReport::compute(&[0, 1], &[0, 2], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("y_pred[1] = 2"), "{e}");
        assert!(ClassificationReport::compute(&[0], &[0], 0).is_err());
    }
}
