//! The caption metrics together: tokenise raw captions with [`tokenize`]
//! and compute corpus BLEU-4, ROUGE-L and CIDEr-D.

use serde::{Deserialize, Serialize};

use crate::{cider_d, corpus_bleu, rouge_l, tokenize, Bleu, BleuSmoothing, Result};

/// Corpus caption metrics of generated captions against references.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptionReport {
    /// Number of scored captions.
    pub n_captions: usize,
    /// Corpus BLEU-4 in `[0, 1]` (NLTK `corpus_bleu`).
    pub bleu4: f64,
    /// BLEU-4's parts (precisions, brevity penalty, lengths).
    pub bleu: Bleu,
    /// The smoothing used for BLEU.
    pub bleu_smoothing: BleuSmoothing,
    /// Mean ROUGE-L in `[0, 1]` (COCO, β = 1.2).
    pub rouge_l: f64,
    /// Mean CIDEr-D (COCO, × 10; 0 to about 10).
    pub cider_d: f64,
}

impl CaptionReport {
    /// Tokenise `hypotheses[i]` and each of `references[i]` with
    /// [`tokenize`] and score them (BLEU without smoothing, as NLTK's
    /// default).
    ///
    /// Errors when the lengths differ, there is no caption, or a hypothesis
    /// has no reference.
    pub fn compute<H: AsRef<str>, R: AsRef<str>>(
        hypotheses: &[H],
        references: &[Vec<R>],
    ) -> Result<Self> {
        Self::compute_with(hypotheses, references, BleuSmoothing::None)
    }

    /// As [`CaptionReport::compute`], with the given BLEU smoothing.
    pub fn compute_with<H: AsRef<str>, R: AsRef<str>>(
        hypotheses: &[H],
        references: &[Vec<R>],
        smoothing: BleuSmoothing,
    ) -> Result<Self> {
        let hyps: Vec<Vec<String>> = hypotheses.iter().map(|h| tokenize(h.as_ref())).collect();
        let refs: Vec<Vec<Vec<String>>> = references
            .iter()
            .map(|rs| rs.iter().map(|r| tokenize(r.as_ref())).collect())
            .collect();
        let bleu = corpus_bleu(&hyps, &refs, smoothing)?;
        let rouge = rouge_l(&hyps, &refs)?;
        let cider = cider_d(&hyps, &refs)?;
        Ok(CaptionReport {
            n_captions: hyps.len(),
            bleu4: bleu.score,
            bleu,
            bleu_smoothing: smoothing,
            rouge_l: rouge.score,
            cider_d: cider.score,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenises_then_scores() {
        let hyps = ["Walking, steady pace.", "Sleeping"];
        let refs = vec![
            vec!["walking at a steady pace", "a steady walk"],
            vec!["sleeping deeply"],
        ];
        let r = CaptionReport::compute(&hyps, &refs).unwrap();
        assert_eq!(r.n_captions, 2);
        // Same as scoring the tokens directly.
        let h: Vec<Vec<String>> = hyps.iter().map(|h| tokenize(h)).collect();
        let rr: Vec<Vec<Vec<String>>> = refs
            .iter()
            .map(|rs| rs.iter().map(|r| tokenize(r)).collect())
            .collect();
        assert_eq!(r.rouge_l, rouge_l(&h, &rr).unwrap().score);
        assert_eq!(r.cider_d, cider_d(&h, &rr).unwrap().score);
        assert_eq!(
            r.bleu4,
            corpus_bleu(&h, &rr, BleuSmoothing::None).unwrap().score
        );
        // Identical captions score perfectly on BLEU and ROUGE-L.
        let same = CaptionReport::compute(&["a b c d e"], &[vec!["A b, c d e!"]]).unwrap();
        assert!((same.bleu4 - 1.0).abs() < 1e-12 && same.rouge_l == 1.0);
        let json = serde_json::to_string(&same).unwrap();
        assert!(
            json.contains("\"bleu_smoothing\":{\"method\":\"none\"}"),
            "{json}"
        );
        assert!(CaptionReport::compute(&["a"], &[] as &[Vec<&str>]).is_err());
    }
}
