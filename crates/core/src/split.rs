//! Deterministic train / validation / test splits.
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which side of a split a window is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Training data (normalisation is fitted here only).
    Train,
    /// Validation data (model selection).
    Val,
    /// Held-out test data.
    Test,
}

impl Split {
    /// "train", "val" or "test".
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
    /// Parse "train" / "val" / "test".
    pub fn parse(s: &str) -> Result<Split> {
        match s {
            "train" => Ok(Split::Train),
            "val" | "valid" | "validation" => Ok(Split::Val),
            "test" => Ok(Split::Test),
            other => Err(Error::param("split", format!("unknown split '{other}'"))),
        }
    }
}

/// How windows are assigned to splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SplitSpec {
    /// Subject-wise: subjects (sorted, then shuffled with `seed`) are cut by
    /// ratio; a subject is never on two sides.
    SubjectRatios {
        /// Fraction of subjects for training.
        train: f64,
        /// Fraction of subjects for validation (the rest is test).
        val: f64,
        /// Shuffle seed.
        seed: u64,
    },
    /// Subject-wise with explicit lists; every subject must be listed once.
    SubjectLists {
        /// Training subjects.
        train: Vec<String>,
        /// Validation subjects.
        val: Vec<String>,
        /// Test subjects.
        test: Vec<String>,
    },
    /// Time-wise within each recording: the first `train` fraction of its
    /// duration is training, the next `val` validation, the rest test.
    TimeRatios {
        /// Fraction of each recording for training.
        train: f64,
        /// Fraction for validation.
        val: f64,
    },
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec::SubjectRatios {
            train: 0.6,
            val: 0.2,
            seed: 0,
        }
    }
}

fn check_ratios(train: f64, val: f64) -> Result<()> {
    let ok = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
    if !ok(train) || !ok(val) || train + val > 1.0 + 1e-9 {
        return Err(Error::param(
            "split",
            format!("ratios must be in [0, 1] and sum to at most 1 (train {train}, val {val})"),
        ));
    }
    Ok(())
}

/// SplitMix64, a small deterministic generator so that splits do not depend
/// on the version of any random-number crate.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SplitSpec {
    /// Check the parameters.
    pub fn validate(&self) -> Result<()> {
        match self {
            SplitSpec::SubjectRatios { train, val, .. } | SplitSpec::TimeRatios { train, val } => {
                check_ratios(*train, *val)
            }
            SplitSpec::SubjectLists { train, val, test } => {
                let mut seen = BTreeMap::new();
                for (side, list) in [("train", train), ("val", val), ("test", test)] {
                    for s in list {
                        if let Some(prev) = seen.insert(s.clone(), side) {
                            return Err(Error::param(
                                "split",
                                format!("subject '{s}' is listed in both {prev} and {side}"),
                            ));
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// True for the subject-wise specs.
    pub fn is_subject_wise(&self) -> bool {
        !matches!(self, SplitSpec::TimeRatios { .. })
    }

    /// Assign every subject to a split (subject-wise specs only). The result
    /// depends only on the set of subjects and the spec, not on their order.
    pub fn assign_subjects<S: AsRef<str>>(
        &self,
        subjects: &[S],
    ) -> Result<BTreeMap<String, Split>> {
        self.validate()?;
        let mut sorted: Vec<String> = subjects.iter().map(|s| s.as_ref().to_string()).collect();
        sorted.sort();
        sorted.dedup();
        let mut out = BTreeMap::new();
        match self {
            SplitSpec::SubjectRatios { train, val, seed } => {
                let mut state = *seed;
                for i in (1..sorted.len()).rev() {
                    let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
                    sorted.swap(i, j);
                }
                let n = sorted.len();
                let n_train = (train * n as f64).round() as usize;
                let n_val = ((val * n as f64).round() as usize).min(n - n_train.min(n));
                for (i, s) in sorted.into_iter().enumerate() {
                    let split = if i < n_train {
                        Split::Train
                    } else if i < n_train + n_val {
                        Split::Val
                    } else {
                        Split::Test
                    };
                    out.insert(s, split);
                }
            }
            SplitSpec::SubjectLists { train, val, test } => {
                for s in sorted {
                    let split = if train.contains(&s) {
                        Split::Train
                    } else if val.contains(&s) {
                        Split::Val
                    } else if test.contains(&s) {
                        Split::Test
                    } else {
                        return Err(Error::param(
                            "split",
                            format!("subject '{s}' is in the data but in none of the split lists"),
                        ));
                    };
                    out.insert(s, split);
                }
            }
            SplitSpec::TimeRatios { .. } => {
                return Err(Error::param(
                    "split",
                    "a time-wise split assigns windows, not subjects",
                ))
            }
        }
        Ok(out)
    }

    /// For a time-wise spec: the split of a window whose centre lies at
    /// `position` (0 = start of its recording, 1 = end).
    pub fn assign_time(&self, position: f64) -> Result<Split> {
        match self {
            SplitSpec::TimeRatios { train, val } => {
                check_ratios(*train, *val)?;
                Ok(if position < *train {
                    Split::Train
                } else if position < train + val {
                    Split::Val
                } else {
                    Split::Test
                })
            }
            _ => Err(Error::param(
                "split",
                "a subject-wise split assigns subjects, not time ranges",
            )),
        }
    }
}

/// `k` positions spread evenly over `0..n` (`i * n / k` for `i` in
/// `0..k`), in order; all of `0..n` when `k` is 0 or at least `n`. Stores
/// are ordered by recording, so the first `k` windows would cover few
/// activities.
pub fn evenly_spaced(n: usize, k: usize) -> Vec<usize> {
    if k == 0 || k >= n {
        return (0..n).collect();
    }
    (0..k).map(|i| i * n / k).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn evenly_spaced_covers_the_range_in_order() {
        assert_eq!(super::evenly_spaced(10, 4), vec![0, 2, 5, 7]);
        assert_eq!(super::evenly_spaced(3, 0), vec![0, 1, 2]);
        assert_eq!(super::evenly_spaced(3, 5), vec![0, 1, 2]);
        assert!(super::evenly_spaced(0, 2).is_empty());
    }

    use super::*;

    #[test]
    fn subject_ratios_are_deterministic_and_order_free() {
        let subjects: Vec<String> = (0..10).map(|i| format!("s{i}")).collect();
        let spec = SplitSpec::SubjectRatios {
            train: 0.6,
            val: 0.2,
            seed: 3,
        };
        let a = spec.assign_subjects(&subjects).unwrap();
        let mut rev = subjects.clone();
        rev.reverse();
        assert_eq!(a, spec.assign_subjects(&rev).unwrap());
        let count = |s: Split| a.values().filter(|&&x| x == s).count();
        assert_eq!(
            (count(Split::Train), count(Split::Val), count(Split::Test)),
            (6, 2, 2)
        );
        let other = SplitSpec::SubjectRatios {
            train: 0.6,
            val: 0.2,
            seed: 4,
        };
        assert_ne!(a, other.assign_subjects(&subjects).unwrap());
    }

    #[test]
    fn lists_must_cover_every_subject_once() {
        let spec = SplitSpec::SubjectLists {
            train: vec!["a".into()],
            val: vec![],
            test: vec!["b".into()],
        };
        assert!(spec.assign_subjects(&["a", "b"]).is_ok());
        assert!(spec
            .assign_subjects(&["a", "b", "c"])
            .unwrap_err()
            .to_string()
            .contains("'c'"));
        let dup = SplitSpec::SubjectLists {
            train: vec!["a".into()],
            val: vec!["a".into()],
            test: vec![],
        };
        assert!(dup.validate().is_err());
    }

    #[test]
    fn bad_ratios_and_time_split() {
        assert!(SplitSpec::TimeRatios {
            train: 0.9,
            val: 0.2
        }
        .validate()
        .is_err());
        let t = SplitSpec::TimeRatios {
            train: 0.7,
            val: 0.1,
        };
        assert_eq!(t.assign_time(0.1).unwrap(), Split::Train);
        assert_eq!(t.assign_time(0.75).unwrap(), Split::Val);
        assert_eq!(t.assign_time(0.95).unwrap(), Split::Test);
    }
}
