//! Corpus BLEU-4 (Papineni et al., 2002), matching NLTK's
//! `nltk.translate.bleu_score.corpus_bleu` with the default uniform weights
//! `(0.25, 0.25, 0.25, 0.25)`.
//!
//! - Modified (clipped) n-gram precision for n = 1..4: each hypothesis
//!   n-gram counts at most as often as it occurs in any single reference.
//!   Numerators and denominators are summed over the corpus before dividing
//!   (micro-average); a hypothesis contributes `max(1, #n-grams)` to a
//!   denominator, as in NLTK.
//! - Brevity penalty from the summed hypothesis length `c` and the summed
//!   *closest* reference lengths `r` (per hypothesis, the reference whose
//!   length is closest; on a tie the shorter one): 1 when `c > r`, 0 when
//!   `c = 0`, else `exp(1 − r / c)`.
//! - BLEU = 0 when no unigram matches at all.
//! - [`BleuSmoothing::None`] (NLTK's `method0`, the default): an n-gram order
//!   with no match gets precision `f64::MIN_POSITIVE` (NLTK's
//!   `sys.float_info.min`), so the score is ≈ 1e-77, i.e. effectively 0.
//! - [`BleuSmoothing::Method1`] (Chen & Cherry 2014, method 1, NLTK's
//!   `method1`): an order with no match gets precision `ε / denominator`
//!   (`ε = 0.1` by default).

use serde::{Deserialize, Serialize};

use crate::ngrams::{borrow_corpus, ngram_counts};
use crate::Result;

/// Smoothing of zero n-gram precisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum BleuSmoothing {
    /// No smoothing (NLTK `method0`).
    #[default]
    None,
    /// Add `epsilon` to zero match counts (NLTK `method1`).
    Method1 {
        /// The count added to an order with no match (NLTK: 0.1).
        epsilon: f64,
    },
}

impl BleuSmoothing {
    /// [`BleuSmoothing::Method1`] with NLTK's default `epsilon = 0.1`.
    pub fn method1() -> Self {
        BleuSmoothing::Method1 { epsilon: 0.1 }
    }
}

/// Corpus BLEU-4 and its parts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bleu {
    /// The BLEU-4 score in `[0, 1]`.
    pub score: f64,
    /// Clipped n-gram precisions `matches[n] / totals[n]` for n = 1..4
    /// (unsmoothed).
    pub precisions: [f64; 4],
    /// Clipped n-gram matches summed over the corpus, for n = 1..4.
    pub matches: [usize; 4],
    /// Hypothesis n-gram counts (each at least 1) summed over the corpus.
    pub totals: [usize; 4],
    /// The brevity penalty.
    pub brevity_penalty: f64,
    /// Summed hypothesis length.
    pub hypothesis_length: usize,
    /// Summed closest-reference length.
    pub reference_length: usize,
}

/// Corpus BLEU-4 of tokenised `hypotheses` against their `references`
/// (`references[i]` holds the references of hypothesis `i`).
///
/// Errors when the lengths differ, the corpus is empty, or a hypothesis has
/// no reference.
///
/// ```
/// use wearlang_metrics::{corpus_bleu, BleuSmoothing};
/// let hyp = vec![vec!["the", "cat", "sat", "on", "the", "mat"]];
/// let refs = vec![vec![vec!["the", "cat", "sat", "on", "the", "mat"]]];
/// let b = corpus_bleu(&hyp, &refs, BleuSmoothing::None).unwrap();
/// assert!((b.score - 1.0).abs() < 1e-12);
/// ```
pub fn corpus_bleu<H: AsRef<str>, R: AsRef<str>>(
    hypotheses: &[Vec<H>],
    references: &[Vec<Vec<R>>],
    smoothing: BleuSmoothing,
) -> Result<Bleu> {
    let (hyps, refs) = borrow_corpus(hypotheses, references)?;
    let mut matches = [0usize; 4];
    let mut totals = [0usize; 4];
    let mut hyp_len = 0usize;
    let mut ref_len = 0usize;
    for (hyp, rs) in hyps.iter().zip(&refs) {
        for n in 1..=4 {
            let counts = ngram_counts(hyp, n);
            let ref_counts: Vec<_> = rs.iter().map(|r| ngram_counts(r, n)).collect();
            let clipped: usize = counts
                .iter()
                .map(|(gram, &c)| {
                    let max_ref = ref_counts
                        .iter()
                        .map(|rc| rc.get(gram).copied().unwrap_or(0))
                        .max()
                        .unwrap_or(0);
                    c.min(max_ref)
                })
                .sum();
            matches[n - 1] += clipped;
            totals[n - 1] += counts.values().sum::<usize>().max(1);
        }
        hyp_len += hyp.len();
        ref_len += closest_ref_length(rs, hyp.len());
    }
    let brevity_penalty = brevity_penalty(ref_len, hyp_len);
    let precisions: [f64; 4] = std::array::from_fn(|i| matches[i] as f64 / totals[i] as f64);
    let score = if matches[0] == 0 {
        0.0
    } else {
        let log_sum: f64 = (0..4)
            .map(|i| {
                let p = if matches[i] > 0 {
                    precisions[i]
                } else {
                    match smoothing {
                        BleuSmoothing::None => f64::MIN_POSITIVE,
                        BleuSmoothing::Method1 { epsilon } => epsilon / totals[i] as f64,
                    }
                };
                if p > 0.0 {
                    0.25 * p.ln()
                } else {
                    0.0
                }
            })
            .sum();
        brevity_penalty * log_sum.exp()
    };
    Ok(Bleu {
        score,
        precisions,
        matches,
        totals,
        brevity_penalty,
        hypothesis_length: hyp_len,
        reference_length: ref_len,
    })
}

/// Length of the reference closest in length to the hypothesis (the shorter
/// one on a tie), as NLTK's `closest_ref_length`.
fn closest_ref_length(references: &[Vec<&str>], hyp_len: usize) -> usize {
    references
        .iter()
        .map(Vec::len)
        .min_by_key(|&r| (r.abs_diff(hyp_len), r))
        .unwrap_or(0)
}

/// BLEU's brevity penalty, as NLTK's `brevity_penalty`.
fn brevity_penalty(ref_len: usize, hyp_len: usize) -> f64 {
    if hyp_len > ref_len {
        1.0
    } else if hyp_len == 0 {
        0.0
    } else {
        (1.0 - ref_len as f64 / hyp_len as f64).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn hand_computed_single_pair() {
        // hyp "the cat sat on the mat" vs ref "the cat is on the mat":
        // p1 = 5/6, p2 = 3/5 (the cat, on the, the mat), p3 = 1/4 (on the mat),
        // p4 = 0/3 → unsmoothed BLEU ≈ 0; BP = 1 (equal lengths).
        let hyp = vec![split("the cat sat on the mat")];
        let refs = vec![vec![split("the cat is on the mat")]];
        let b = corpus_bleu(&hyp, &refs, BleuSmoothing::None).unwrap();
        assert_eq!(b.matches, [5, 3, 1, 0]);
        assert_eq!(b.totals, [6, 5, 4, 3]);
        assert_eq!(b.brevity_penalty, 1.0);
        assert!(b.score < 1e-70 && b.score > 0.0, "{}", b.score);
        // Method 1: p4 = 0.1 / 3.
        let b = corpus_bleu(&hyp, &refs, BleuSmoothing::method1()).unwrap();
        let expect = (5.0f64 / 6.0 * 3.0 / 5.0 * 1.0 / 4.0 * (0.1 / 3.0)).powf(0.25);
        assert!((b.score - expect).abs() < 1e-12, "{} vs {expect}", b.score);
    }

    #[test]
    fn clipping_brevity_and_closest_reference() {
        // "the the the the": unigram "the" clipped to 2 (max in one ref).
        let hyp = vec![split("the the the the")];
        let refs = vec![vec![split("the cat the mat"), split("a the")]];
        let b = corpus_bleu(&hyp, &refs, BleuSmoothing::None).unwrap();
        assert_eq!(b.matches[0], 2);
        // closest reference: lengths 4 and 2 for hyp length 4 → 4.
        assert_eq!(b.reference_length, 4);
        // Tie in distance (3 vs 5 around 4) → the shorter, 3.
        assert_eq!(
            closest_ref_length(&[split("a b c d e"), split("a b c")], 4),
            3
        );
        // Short hypothesis: BP = exp(1 − 6/3).
        let hyp = vec![split("the cat sat")];
        let refs = vec![vec![split("the cat sat on the mat")]];
        let b = corpus_bleu(&hyp, &refs, BleuSmoothing::method1()).unwrap();
        assert!((b.brevity_penalty - (-1.0f64).exp()).abs() < 1e-15);
        // p1 = 1, p2 = 1, p3 = 1, p4 = 0.1 / 1 (denominator max(1, 0)).
        assert_eq!(b.totals[3], 1);
        assert!((b.score - (-1.0f64).exp() * 0.1f64.powf(0.25)).abs() < 1e-12);
    }

    #[test]
    fn no_unigram_match_or_empty_hypothesis_is_zero() {
        let refs = vec![vec![split("a b c")]];
        let b = corpus_bleu(&[split("x y z")], &refs, BleuSmoothing::method1()).unwrap();
        assert_eq!(b.score, 0.0);
        let b = corpus_bleu(&[Vec::<&str>::new()], &refs, BleuSmoothing::method1()).unwrap();
        assert_eq!((b.score, b.brevity_penalty), (0.0, 0.0));
    }

    #[test]
    fn bad_input_is_an_error() {
        let hyp = vec![split("a")];
        assert!(corpus_bleu(&hyp, &Vec::<Vec<Vec<&str>>>::new(), BleuSmoothing::None).is_err());
        let e = corpus_bleu(&hyp, &[vec![]] as &[Vec<Vec<&str>>], BleuSmoothing::None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hypothesis 0 has no reference"), "{e}");
        let empty: Vec<Vec<&str>> = vec![];
        assert!(corpus_bleu(&empty, &[] as &[Vec<Vec<&str>>], BleuSmoothing::None).is_err());
    }
}
