//! N-gram counting and the input checks shared by the caption metrics.

use std::collections::HashMap;

use crate::{MetricsError, Result};

/// Counts of n-grams, keyed by the token slice.
pub(crate) type Counts<'a> = HashMap<&'a [&'a str], usize>;

/// Count the `n`-grams of `tokens` (empty when `tokens` is shorter than `n`).
pub(crate) fn ngram_counts<'a>(tokens: &'a [&'a str], n: usize) -> Counts<'a> {
    let mut counts = Counts::new();
    if n > 0 && tokens.len() >= n {
        for gram in tokens.windows(n) {
            *counts.entry(gram).or_insert(0) += 1;
        }
    }
    counts
}

/// Count all n-grams of orders `1..=max_n` in one map.
pub(crate) fn all_ngram_counts<'a>(tokens: &'a [&'a str], max_n: usize) -> Counts<'a> {
    let mut counts = Counts::new();
    for n in 1..=max_n {
        counts.extend(ngram_counts(tokens, n));
    }
    counts
}

/// Token lists as `&str` slices: the hypotheses and, per hypothesis, its
/// references.
pub(crate) type Corpus<'a> = (Vec<Vec<&'a str>>, Vec<Vec<Vec<&'a str>>>);

/// Check a corpus (one hypothesis per entry, at least one reference each)
/// and borrow its tokens as `&str`.
pub(crate) fn borrow_corpus<'a, H: AsRef<str>, R: AsRef<str>>(
    hypotheses: &'a [Vec<H>],
    references: &'a [Vec<Vec<R>>],
) -> Result<Corpus<'a>> {
    if hypotheses.len() != references.len() {
        return Err(MetricsError::Input(format!(
            "{} hypotheses but {} reference sets",
            hypotheses.len(),
            references.len()
        )));
    }
    if hypotheses.is_empty() {
        return Err(MetricsError::Input("no captions to score".into()));
    }
    if let Some(i) = references.iter().position(|r| r.is_empty()) {
        return Err(MetricsError::Input(format!(
            "hypothesis {i} has no reference"
        )));
    }
    let hyps = hypotheses
        .iter()
        .map(|h| h.iter().map(AsRef::as_ref).collect())
        .collect();
    let refs = references
        .iter()
        .map(|rs| {
            rs.iter()
                .map(|r| r.iter().map(AsRef::as_ref).collect())
                .collect()
        })
        .collect();
    Ok((hyps, refs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let t = ["a", "b", "a", "b"];
        let c = ngram_counts(&t, 2);
        assert_eq!(c[&["a", "b"][..]], 2);
        assert_eq!(c[&["b", "a"][..]], 1);
        assert!(ngram_counts(&t, 5).is_empty());
        assert_eq!(
            all_ngram_counts(&t, 4).values().sum::<usize>(),
            4 + 3 + 2 + 1
        );
    }
}
