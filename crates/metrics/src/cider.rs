//! CIDEr-D (Vedantam et al., 2015) as in the COCO caption evaluator
//! (`pycocoevalcap/cider/cider_scorer.py`, reported there as "CIDEr").
//!
//! - n-grams of orders 1..4; each caption becomes, per order, a TF-IDF
//!   vector `g(w) = count(w) · (ln N − ln max(1, df(w)))`, where `N` is the
//!   number of hypotheses (images) in the corpus and `df(w)` the number of
//!   them whose references contain `w`. The IDF therefore comes from the
//!   *reference corpus being scored*: with a single hypothesis every weight
//!   is 0 and so is CIDEr-D.
//! - Per order and reference, the clipped similarity
//!   `Σ_w min(g_c(w), g_r(w)) · g_r(w) / (‖g_c‖ · ‖g_r‖)` (the division is
//!   skipped when a norm is 0), times the Gaussian length penalty
//!   `exp(−δ² / (2σ²))` with `σ = 6`. As in the COCO code, `δ` is the
//!   difference of the candidate's and the reference's *bigram* counts
//!   (i.e. of their lengths when both have at least one token).
//! - Per hypothesis: the mean over the 4 orders of the mean over its
//!   references, × 10. The corpus score is the mean over hypotheses.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::ngrams::{all_ngram_counts, borrow_corpus, Counts};
use crate::Result;

/// Largest n-gram order of CIDEr-D.
const MAX_N: usize = 4;
/// σ of the Gaussian length penalty.
pub const CIDER_SIGMA: f64 = 6.0;

/// CIDEr-D over a corpus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CiderD {
    /// Mean CIDEr-D over the hypotheses (0 to about 10).
    pub score: f64,
    /// Per hypothesis.
    pub per_caption: Vec<f64>,
}

/// Corpus CIDEr-D of tokenised `hypotheses` against their `references`.
///
/// Errors when the lengths differ, the corpus is empty, or a hypothesis has
/// no reference.
///
/// ```
/// use wearlang_metrics::cider_d;
/// let hyps = vec![vec!["a", "walk"], vec!["a", "run"]];
/// let refs = vec![vec![vec!["a", "walk"]], vec![vec!["a", "nap"]]];
/// let c = cider_d(&hyps, &refs).unwrap();
/// // "a" is in every image's references (IDF 0); "walk", "a walk" match.
/// assert!((c.per_caption[0] - 5.0).abs() < 1e-12);
/// assert_eq!(c.per_caption[1], 0.0);
/// ```
pub fn cider_d<H: AsRef<str>, R: AsRef<str>>(
    hypotheses: &[Vec<H>],
    references: &[Vec<Vec<R>>],
) -> Result<CiderD> {
    let (hyps, refs) = borrow_corpus(hypotheses, references)?;
    let hyp_counts: Vec<Counts> = hyps.iter().map(|h| all_ngram_counts(h, MAX_N)).collect();
    let ref_counts: Vec<Vec<Counts>> = refs
        .iter()
        .map(|rs| rs.iter().map(|r| all_ngram_counts(r, MAX_N)).collect())
        .collect();
    // Document frequency over the reference sets.
    let mut df: HashMap<&[&str], f64> = HashMap::new();
    for rs in &ref_counts {
        let grams: HashSet<&[&str]> = rs.iter().flat_map(|c| c.keys().copied()).collect();
        for g in grams {
            *df.entry(g).or_insert(0.0) += 1.0;
        }
    }
    let ref_len = (hyps.len() as f64).ln();
    let to_vec = |counts| tf_idf(counts, &df, ref_len);
    let per_caption: Vec<f64> = hyp_counts
        .iter()
        .zip(&ref_counts)
        .map(|(hc, rcs)| {
            let h = to_vec(hc);
            let mut score = [0.0f64; MAX_N];
            for rc in rcs {
                let r = to_vec(rc);
                let sim = similarity(&h, &r);
                for n in 0..MAX_N {
                    score[n] += sim[n];
                }
            }
            let mean = score.iter().sum::<f64>() / MAX_N as f64;
            mean / rcs.len() as f64 * 10.0
        })
        .collect();
    let score = per_caption.iter().sum::<f64>() / per_caption.len() as f64;
    Ok(CiderD { score, per_caption })
}

/// The TF-IDF vectors of one caption's n-gram `counts`.
fn tf_idf<'a>(counts: &Counts<'a>, df: &HashMap<&[&str], f64>, ref_len: f64) -> TfIdf<'a> {
    let mut vec: [HashMap<&'a [&'a str], f64>; MAX_N] = Default::default();
    let mut norm = [0.0f64; MAX_N];
    let mut length = 0usize;
    for (&gram, &tf) in counts {
        let n = gram.len() - 1;
        // An n-gram in no reference counts as in one (IDF ln N).
        let d = df.get(gram).copied().unwrap_or(0.0).max(1.0).ln();
        let w = tf as f64 * (ref_len - d);
        norm[n] += w * w;
        vec[n].insert(gram, w);
        if n == 1 {
            length += tf;
        }
    }
    TfIdf {
        vec,
        norm: norm.map(f64::sqrt),
        length,
    }
}

/// TF-IDF vectors of one caption, per n-gram order.
struct TfIdf<'a> {
    vec: [HashMap<&'a [&'a str], f64>; MAX_N],
    norm: [f64; MAX_N],
    /// Number of bigrams (the COCO code's "length").
    length: usize,
}

/// Clipped, length-penalised cosine similarity per order.
fn similarity(h: &TfIdf, r: &TfIdf) -> [f64; MAX_N] {
    let delta = h.length as f64 - r.length as f64;
    let penalty = (-(delta * delta) / (2.0 * CIDER_SIGMA * CIDER_SIGMA)).exp();
    std::array::from_fn(|n| {
        let mut val: f64 = h.vec[n]
            .iter()
            .map(|(gram, &wh)| {
                let wr = r.vec[n].get(gram).copied().unwrap_or(0.0);
                wh.min(wr) * wr
            })
            .sum();
        if h.norm[n] != 0.0 && r.norm[n] != 0.0 {
            val /= h.norm[n] * r.norm[n];
        }
        val * penalty
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn single_image_corpus_is_zero() {
        let c = cider_d(&[split("a b c")], &[vec![split("a b c")]]).unwrap();
        assert_eq!(c.score, 0.0);
    }

    #[test]
    fn hand_computed_two_images() {
        // Image 0: hyp "x y", ref "x y"; image 1: hyp "z", ref "w".
        // N = 2, ln N = ln 2. df: x, y, "x y" → 1 (weight ln 2), w → 1.
        // Image 0: order 1 vectors (ln2, ln2) for both → cos 1; order 2:
        // "x y" → 1; orders 3, 4 empty → 0. Length penalty δ = 0.
        // → (1 + 1 + 0 + 0) / 4 · 10 = 5.
        // Image 1: no overlap → 0. Corpus: 2.5.
        let c = cider_d(
            &[split("x y"), split("z")],
            &[vec![split("x y")], vec![split("w")]],
        )
        .unwrap();
        assert!((c.per_caption[0] - 5.0).abs() < 1e-12);
        assert_eq!(c.per_caption[1], 0.0);
        assert!((c.score - 2.5).abs() < 1e-12);
    }

    #[test]
    fn clipping_and_length_penalty() {
        // Image 0: hyp "x x x x" vs ref "x": order-1 vectors: hyp 4·ln2,
        // ref ln2 → min(4ln2, ln2)·ln2 / (4ln2 · ln2) = 1/4. Bigram
        // "x x" (3 of them) is not in the ref: 0. δ = 3 − 0 bigrams:
        // penalty exp(−9/72). Score = (1/4)/4 · 10 · exp(−1/8).
        let c = cider_d(
            &[split("x x x x"), split("q")],
            &[vec![split("x")], vec![split("r")]],
        )
        .unwrap();
        let expect = 0.25 / 4.0 * 10.0 * (-9.0f64 / 72.0).exp();
        assert!(
            (c.per_caption[0] - expect).abs() < 1e-12,
            "{}",
            c.per_caption[0]
        );
    }

    #[test]
    fn mean_over_references() {
        // Two references, one identical, one disjoint → half of the identical score.
        let hyps = vec![split("x y"), split("z")];
        let one = cider_d(&hyps, &[vec![split("x y")], vec![split("w")]]).unwrap();
        let two = cider_d(&hyps, &[vec![split("x y"), split("u v")], vec![split("w")]]).unwrap();
        assert!((two.per_caption[0] - one.per_caption[0] / 2.0).abs() < 1e-12);
    }
}
