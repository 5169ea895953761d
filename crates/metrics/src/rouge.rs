//! ROUGE-L as in the COCO caption evaluator (`pycocoevalcap/rouge/rouge.py`).
//!
//! For a candidate `c` and references `r_1..r_m`, with `LCS` the length of
//! the longest common subsequence of tokens:
//!
//! ```text
//! P = max_i LCS(c, r_i) / |c|      R = max_i LCS(c, r_i) / |r_i|
//! ROUGE-L = (1 + β²) · P · R / (R + β² · P),   β = 1.2   (0 when P or R is 0)
//! ```
//!
//! Note that, as in the COCO code, precision and recall are maximised over
//! the references *separately* (not the F-measure per reference). The corpus
//! score is the mean over candidates. An empty candidate or reference has
//! `P` or `R` = 0 for that pair.

use serde::{Deserialize, Serialize};

use crate::ngrams::borrow_corpus;
use crate::Result;

/// The β of the COCO ROUGE-L F-measure.
pub const ROUGE_L_BETA: f64 = 1.2;

/// ROUGE-L over a corpus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RougeL {
    /// Mean ROUGE-L over the candidates, in `[0, 1]`.
    pub score: f64,
    /// Per candidate.
    pub per_caption: Vec<f64>,
}

/// Corpus ROUGE-L of tokenised `hypotheses` against their `references`.
///
/// Errors when the lengths differ, the corpus is empty, or a hypothesis has
/// no reference.
///
/// ```
/// use wearlang_metrics::rouge_l;
/// let r = rouge_l(&[vec!["a", "b", "c"]], &[vec![vec!["a", "c"]]]).unwrap();
/// // LCS 2: P = 2/3, R = 1 → 2.44 · (2/3) / (1 + 1.44 · 2/3)
/// assert!((r.score - 2.44 * (2.0 / 3.0) / (1.0 + 1.44 * 2.0 / 3.0)).abs() < 1e-12);
/// ```
pub fn rouge_l<H: AsRef<str>, R: AsRef<str>>(
    hypotheses: &[Vec<H>],
    references: &[Vec<Vec<R>>],
) -> Result<RougeL> {
    let (hyps, refs) = borrow_corpus(hypotheses, references)?;
    let per_caption: Vec<f64> = hyps
        .iter()
        .zip(&refs)
        .map(|(h, rs)| rouge_l_sentence(h, rs))
        .collect();
    let score = per_caption.iter().sum::<f64>() / per_caption.len() as f64;
    Ok(RougeL { score, per_caption })
}

/// ROUGE-L of one candidate against its references (0 without references).
pub fn rouge_l_sentence<S: AsRef<str>>(candidate: &[S], references: &[Vec<S>]) -> f64 {
    let mut p_max = 0.0f64;
    let mut r_max = 0.0f64;
    for reference in references {
        let lcs = lcs_len(candidate, reference) as f64;
        if !candidate.is_empty() {
            p_max = p_max.max(lcs / candidate.len() as f64);
        }
        if !reference.is_empty() {
            r_max = r_max.max(lcs / reference.len() as f64);
        }
    }
    if p_max == 0.0 || r_max == 0.0 {
        return 0.0;
    }
    let b2 = ROUGE_L_BETA * ROUGE_L_BETA;
    (1.0 + b2) * p_max * r_max / (r_max + b2 * p_max)
}

/// Length of the longest common subsequence of two token lists.
fn lcs_len<S: AsRef<str>>(a: &[S], b: &[S]) -> usize {
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x.as_ref() == y.as_ref() {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn lcs_by_hand() {
        assert_eq!(lcs_len(&split("a b c d e"), &split("a c e")), 3);
        assert_eq!(lcs_len(&split("a b c"), &split("c b a")), 1);
        assert_eq!(lcs_len(&split("a b a b"), &split("b a b a")), 3);
        assert_eq!(lcs_len::<&str>(&[], &split("a")), 0);
    }

    #[test]
    fn precision_and_recall_are_maximised_separately() {
        // ref1 "a b" gives P = 2/4, R = 1; ref2 "a b c d e f g h" gives
        // P = 4/4, R = 4/8. COCO combines P = 1 and R = 1 → 1.0.
        let cand = split("a b c d");
        let refs = vec![split("a b"), split("a b c d e f g h")];
        assert!((rouge_l_sentence(&cand, &refs) - 1.0).abs() < 1e-12);
        // Identical → 1; disjoint → 0.
        assert_eq!(rouge_l_sentence(&cand, std::slice::from_ref(&cand)), 1.0);
        assert_eq!(rouge_l_sentence(&cand, &[split("x y")]), 0.0);
        assert_eq!(rouge_l_sentence(&[], &[split("x y")]), 0.0);
    }

    #[test]
    fn corpus_mean() {
        let hyps = vec![split("a b c"), split("x")];
        let refs = vec![vec![split("a b c")], vec![split("y")]];
        let r = rouge_l(&hyps, &refs).unwrap();
        assert_eq!(r.per_caption, vec![1.0, 0.0]);
        assert_eq!(r.score, 0.5);
        assert!(rouge_l(&hyps, &refs[..1]).is_err());
    }
}
