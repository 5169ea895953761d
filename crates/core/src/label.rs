//! Label vocabularies.
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// An ordered set of class labels; the index of a label is its class id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelVocab {
    labels: Vec<String>,
}

impl LabelVocab {
    /// A vocabulary from labels in the given order; duplicates are removed,
    /// keeping the first occurrence.
    pub fn new<I, S>(labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut v = Self::default();
        for l in labels {
            v.insert(l.into());
        }
        v
    }

    /// A vocabulary of the distinct labels, sorted.
    pub fn sorted<I, S>(labels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut all: Vec<String> = labels.into_iter().map(Into::into).collect();
        all.sort();
        all.dedup();
        Self { labels: all }
    }

    /// Add a label if absent; returns its index.
    pub fn insert(&mut self, label: String) -> usize {
        match self.labels.iter().position(|l| *l == label) {
            Some(i) => i,
            None => {
                self.labels.push(label);
                self.labels.len() - 1
            }
        }
    }

    /// The class index of `label`, or [`Error::UnknownLabel`].
    pub fn index(&self, label: &str) -> Result<usize> {
        self.labels
            .iter()
            .position(|l| l == label)
            .ok_or_else(|| Error::UnknownLabel(label.to_string()))
    }

    /// The label of class `i`.
    pub fn label(&self, i: usize) -> Option<&str> {
        self.labels.get(i).map(String::as_str)
    }

    /// All labels in class order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no classes.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// What to do with a window whose samples carry more than one label (at
/// ingest, and when a store's windows are cut again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixedLabels {
    /// Drop the window (default).
    #[default]
    Drop,
    /// Keep it with the most frequent label (ties: the one seen first).
    Majority,
    /// Keep it without a label.
    KeepUnlabelled,
}

impl MixedLabels {
    /// Parse `drop`, `majority` or `keep-unlabelled` (or `keep_unlabelled`).
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "drop" => Ok(Self::Drop),
            "majority" => Ok(Self::Majority),
            "keep_unlabelled" | "keep_unlabeled" | "keep" => Ok(Self::KeepUnlabelled),
            other => Err(crate::Error::param(
                "mixed_labels",
                format!("unknown policy '{other}' (expected drop, majority or keep-unlabelled)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_stable_and_unknown_is_an_error() {
        let v = LabelVocab::sorted(["ROW", "ABD", "PEN", "ABD"]);
        assert_eq!(v.labels(), ["ABD", "PEN", "ROW"]);
        assert_eq!(v.index("PEN").unwrap(), 1);
        assert!(matches!(v.index("XYZ"), Err(Error::UnknownLabel(l)) if l == "XYZ"));
    }
}
