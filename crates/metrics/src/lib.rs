//! Metrics for wearlang evaluation, in plain Rust (no libtorch).
//!
//! - [`ClassificationReport`]: accuracy, macro / weighted F1 (scikit-learn
//!   semantics with `labels=range(K)`, `zero_division=0`), per-class
//!   precision / recall / F1 / support, confusion matrix (rows = true).
//! - [`RetrievalReport`] / [`BidirectionalRetrieval`]: Recall@1/5/10, mean
//!   and median rank of the first relevant item, per-query ranks, from a
//!   similarity matrix; ties are ranked pessimistically.
//! - Caption metrics on token lists: [`corpus_bleu`] (NLTK `corpus_bleu`),
//!   [`rouge_l`] and [`cider_d`] (COCO caption evaluator); [`tokenize`] and
//!   [`CaptionReport`] for raw strings.
//! - [`MeanStd`]: mean ± sample standard deviation over seeds.
//!
//! Everything is `serde::Serialize`, so a report can be written as JSON.
//! Definitions and the reference implementations are in `docs/metrics.md`.
//!
//! Classification:
//!
//! ```
//! use wearlang_metrics::ClassificationReport;
//! let r = ClassificationReport::compute(&[0, 0, 1, 1], &[0, 1, 1, 1], 2).unwrap();
//! assert_eq!(r.accuracy, 0.75);
//! assert_eq!(r.confusion, vec![vec![1, 1], vec![0, 2]]);
//! // F1: class 0 = 2/3, class 1 = 0.8.
//! assert!((r.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-12);
//! ```
//!
//! Retrieval (query `q` ↔ item `q`):
//!
//! ```
//! use wearlang_metrics::RetrievalReport;
//! let sim = [0.9, 0.1, 0.2, // query 0: item 0 is first
//!            0.8, 0.5, 0.7, // query 1: item 1 is third
//!            0.1, 0.2, 0.3];
//! let r = RetrievalReport::paired(&sim, 3).unwrap();
//! assert_eq!(r.ranks, vec![1, 3, 1]);
//! assert!((r.recall_at_1 - 2.0 / 3.0).abs() < 1e-12);
//! assert_eq!(r.median_rank, 1.0);
//! ```
//!
//! Captions:
//!
//! ```
//! use wearlang_metrics::CaptionReport;
//! let generated = ["Walking at a steady pace, heart rate 95 bpm.", "Asleep."];
//! let references = vec![
//!     vec!["walking at a steady pace with heart rate 95 bpm"],
//!     vec!["asleep, heart rate 52 bpm"],
//! ];
//! let r = CaptionReport::compute(&generated, &references).unwrap();
//! // NLTK corpus_bleu and pycocoevalcap give the same on these tokens.
//! assert!((r.bleu4 - 0.409_772).abs() < 1e-6);
//! assert!((r.rouge_l - 0.618_011).abs() < 1e-6);
//! assert!((r.cider_d - 4.231_806).abs() < 1e-6);
//! ```
//!
//! Few-shot runs over seeds:
//!
//! ```
//! use wearlang_metrics::MeanStd;
//! let f1 = MeanStd::from_values(&[0.61, 0.65, 0.63]).unwrap();
//! assert_eq!(format!("{f1:.2}"), "0.63 ± 0.02");
//! ```

#![warn(missing_docs)]

mod bleu;
mod captioning;
mod cider;
mod classification;
mod error;
mod ngrams;
mod retrieval;
mod rouge;
mod stats;
mod tokenize;

pub use bleu::{corpus_bleu, Bleu, BleuSmoothing};
pub use captioning::CaptionReport;
pub use cider::{cider_d, CiderD, CIDER_SIGMA};
pub use classification::{ClassMetrics, ClassificationReport};
pub use error::{MetricsError, Result};
pub use retrieval::{invert_relevance, transpose, BidirectionalRetrieval, RetrievalReport};
pub use rouge::{rouge_l, rouge_l_sentence, RougeL, ROUGE_L_BETA};
pub use stats::MeanStd;
pub use tokenize::tokenize;
