//! Retrieval metrics from a similarity matrix: Recall@1/5/10, mean and
//! median rank of the first relevant item, and the per-query ranks.
//!
//! For a query with similarity row `s` and relevant set `R`, let
//! `s* = max_{j ∈ R} s_j` be the score of its best relevant item. Its rank is
//!
//! ```text
//! rank = 1 + #{ j ∉ R : s_j ≥ s* }
//! ```
//!
//! — the worst case (pessimistic) ordering of ties: an irrelevant item with
//! exactly the same similarity as the best relevant one is ranked before it.
//! So a model that gives every item the same similarity gets rank
//! `n_items − |R| + 1`, not 1. A query is a hit at `k` when `rank ≤ k`,
//! i.e. when ANY relevant item is among the top `k`. Recall@k is the share of
//! queries that hit. Ranks are 1-based; the median of an even number of ranks
//! is the mean of the two middle ones (as `numpy.median`).

use serde::{Deserialize, Serialize};

use crate::{MetricsError, Result};

/// Retrieval scores of a set of queries against a set of items.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetrievalReport {
    /// Number of queries (rows of the similarity matrix).
    pub n_queries: usize,
    /// Number of items (columns of the similarity matrix).
    pub n_items: usize,
    /// Share of queries with a relevant item in the top 1.
    pub recall_at_1: f64,
    /// Share of queries with a relevant item in the top 5.
    pub recall_at_5: f64,
    /// Share of queries with a relevant item in the top 10.
    pub recall_at_10: f64,
    /// Mean (1-based) rank of the first relevant item.
    pub mean_rank: f64,
    /// Median (1-based) rank of the first relevant item.
    pub median_rank: f64,
    /// Per query, the (1-based, pessimistic) rank of its first relevant item.
    pub ranks: Vec<usize>,
}

/// Scores of both directions of a cross-modal retrieval (e.g. sensor → text
/// and text → sensor) from one similarity matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BidirectionalRetrieval {
    /// Rows as queries, columns as items.
    pub forward: RetrievalReport,
    /// Columns as queries, rows as items (the transposed matrix).
    pub backward: RetrievalReport,
}

impl RetrievalReport {
    /// Score a row-major `[n_queries × n_items]` similarity matrix;
    /// `relevant[q]` lists the items relevant to query `q`.
    ///
    /// Errors when `sim` does not hold `n_queries · n_items` values, when
    /// there is no query or no item, when `relevant` does not have one entry
    /// per query, when a query has no relevant item or names an item out of
    /// range, or when a similarity is NaN (the error names the query row and
    /// the item column). Infinite similarities are ordered as usual.
    pub fn from_similarity(
        sim: &[f32],
        n_queries: usize,
        n_items: usize,
        relevant: &[Vec<usize>],
    ) -> Result<Self> {
        if relevant.len() != n_queries {
            return Err(MetricsError::Input(format!(
                "{} relevance lists for {n_queries} queries",
                relevant.len()
            )));
        }
        check_shape(sim, n_queries, n_items)?;
        let mut mask = vec![false; n_items];
        let mut ranks = Vec::with_capacity(n_queries);
        for (q, rel) in relevant.iter().enumerate() {
            if let Some(&j) = rel.iter().find(|&&j| j >= n_items) {
                return Err(MetricsError::Input(format!(
                    "query {q}: relevant item {j} is not below n_items = {n_items}"
                )));
            }
            mask.iter_mut().for_each(|m| *m = false);
            rel.iter().for_each(|&j| mask[j] = true);
            let row = &sim[q * n_items..(q + 1) * n_items];
            ranks.push(rank_of_first_relevant(q, row, |j| mask[j])?);
        }
        Ok(Self::from_ranks(ranks, n_items))
    }

    /// As [`RetrievalReport::from_similarity`], with relevance given by a
    /// function `is_relevant(query, item)` (e.g. "same activity label").
    pub fn from_similarity_fn(
        sim: &[f32],
        n_queries: usize,
        n_items: usize,
        is_relevant: impl Fn(usize, usize) -> bool,
    ) -> Result<Self> {
        check_shape(sim, n_queries, n_items)?;
        let ranks = (0..n_queries)
            .map(|q| {
                let row = &sim[q * n_items..(q + 1) * n_items];
                rank_of_first_relevant(q, row, |j| is_relevant(q, j))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::from_ranks(ranks, n_items))
    }

    /// Score a square `[n × n]` matrix of paired data: item `q` is the one
    /// relevant item of query `q` (the diagonal).
    pub fn paired(sim: &[f32], n: usize) -> Result<Self> {
        Self::from_similarity_fn(sim, n, n, |q, j| q == j)
    }

    /// Build the report from per-query ranks (1-based) over `n_items` items.
    fn from_ranks(ranks: Vec<usize>, n_items: usize) -> Self {
        let n = ranks.len() as f64;
        let mut sorted = ranks.clone();
        sorted.sort_unstable();
        let m = sorted.len();
        let median_rank = if m % 2 == 1 {
            sorted[m / 2] as f64
        } else {
            (sorted[m / 2 - 1] + sorted[m / 2]) as f64 / 2.0
        };
        let mut report = RetrievalReport {
            n_queries: ranks.len(),
            n_items,
            recall_at_1: 0.0,
            recall_at_5: 0.0,
            recall_at_10: 0.0,
            mean_rank: ranks.iter().sum::<usize>() as f64 / n,
            median_rank,
            ranks,
        };
        report.recall_at_1 = report.recall_at(1);
        report.recall_at_5 = report.recall_at(5);
        report.recall_at_10 = report.recall_at(10);
        report
    }

    /// Share of queries whose first relevant item has rank `≤ k` (any `k`).
    pub fn recall_at(&self, k: usize) -> f64 {
        if self.ranks.is_empty() {
            return 0.0;
        }
        self.ranks.iter().filter(|&&r| r <= k).count() as f64 / self.ranks.len() as f64
    }
}

impl BidirectionalRetrieval {
    /// Score a row-major `[n_rows × n_cols]` similarity matrix in both
    /// directions: rows → columns with `relevant[row]`, and columns → rows
    /// with the inverted relevance (see [`invert_relevance`]).
    pub fn from_similarity(
        sim: &[f32],
        n_rows: usize,
        n_cols: usize,
        relevant: &[Vec<usize>],
    ) -> Result<Self> {
        let forward = RetrievalReport::from_similarity(sim, n_rows, n_cols, relevant)?;
        let transposed = transpose(sim, n_rows, n_cols)?;
        let inverted = invert_relevance(relevant, n_cols)?;
        let backward = RetrievalReport::from_similarity(&transposed, n_cols, n_rows, &inverted)?;
        Ok(BidirectionalRetrieval { forward, backward })
    }

    /// Both directions of a square matrix of paired data (the diagonal is
    /// relevant).
    pub fn paired(sim: &[f32], n: usize) -> Result<Self> {
        let forward = RetrievalReport::paired(sim, n)?;
        let backward = RetrievalReport::paired(&transpose(sim, n, n)?, n)?;
        Ok(BidirectionalRetrieval { forward, backward })
    }
}

/// Transpose a row-major `[rows × cols]` matrix into `[cols × rows]`.
pub fn transpose(sim: &[f32], rows: usize, cols: usize) -> Result<Vec<f32>> {
    if sim.len() != rows * cols {
        return Err(MetricsError::Input(format!(
            "similarity has {} values, expected {rows} × {cols}",
            sim.len()
        )));
    }
    let mut out = vec![0.0; sim.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = sim[r * cols + c];
        }
    }
    Ok(out)
}

/// Invert per-query relevance lists over `n_items` items: entry `j` of the
/// result lists the queries to which item `j` is relevant.
pub fn invert_relevance(relevant: &[Vec<usize>], n_items: usize) -> Result<Vec<Vec<usize>>> {
    let mut out = vec![Vec::new(); n_items];
    for (q, rel) in relevant.iter().enumerate() {
        for &j in rel {
            if j >= n_items {
                return Err(MetricsError::Input(format!(
                    "query {q}: relevant item {j} is not below n_items = {n_items}"
                )));
            }
            if !out[j].contains(&q) {
                out[j].push(q);
            }
        }
    }
    Ok(out)
}

fn check_shape(sim: &[f32], n_queries: usize, n_items: usize) -> Result<()> {
    if n_queries == 0 || n_items == 0 {
        return Err(MetricsError::Input(format!(
            "nothing to rank: {n_queries} queries × {n_items} items"
        )));
    }
    if sim.len() != n_queries * n_items {
        return Err(MetricsError::Input(format!(
            "similarity has {} values, expected {n_queries} queries × {n_items} items",
            sim.len()
        )));
    }
    Ok(())
}

/// Pessimistic 1-based rank of the best relevant item of query `q`.
fn rank_of_first_relevant(
    q: usize,
    row: &[f32],
    is_relevant: impl Fn(usize) -> bool,
) -> Result<usize> {
    if let Some(j) = row.iter().position(|s| s.is_nan()) {
        return Err(MetricsError::Input(format!(
            "similarity of query {q} (row {q}) to item {j} is NaN"
        )));
    }
    let best = row
        .iter()
        .enumerate()
        .filter(|&(j, _)| is_relevant(j))
        .map(|(_, &s)| s)
        .fold(None, |acc: Option<f32>, s| {
            Some(acc.map_or(s, |a| a.max(s)))
        });
    let Some(best) = best else {
        return Err(MetricsError::Input(format!(
            "query {q} has no relevant item"
        )));
    };
    let ahead = row
        .iter()
        .enumerate()
        .filter(|&(j, &s)| s >= best && !is_relevant(j))
        .count();
    Ok(ahead + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_recalls_by_hand() {
        // 3 queries × 4 items, diagonal relevant for q0..q2.
        #[rustfmt::skip]
        let sim = [
            0.9, 0.1, 0.2, 0.3, // q0: item 0 first → rank 1
            0.8, 0.5, 0.7, 0.1, // q1: item 1 behind 0 and 2 → rank 3
            0.1, 0.2, 0.3, 0.4, // q2: item 2 behind 3 → rank 2
        ];
        let r = RetrievalReport::paired_rect(&sim, 3, 4);
        assert_eq!(r.ranks, vec![1, 3, 2]);
        assert!((r.recall_at_1 - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.recall_at(2), 2.0 / 3.0);
        assert_eq!(r.recall_at_5, 1.0);
        assert_eq!(r.mean_rank, 2.0);
        assert_eq!(r.median_rank, 2.0);
    }

    impl RetrievalReport {
        fn paired_rect(sim: &[f32], nq: usize, ni: usize) -> Self {
            Self::from_similarity_fn(sim, nq, ni, |q, j| q == j).unwrap()
        }
    }

    #[test]
    fn any_relevant_item_counts_and_ties_are_pessimistic() {
        let sim = [0.5, 0.9, 0.5, 0.5];
        // Items 0 and 3 relevant: best relevant score 0.5, tied with the
        // irrelevant item 2 and beaten by item 1 → rank 3.
        let r = RetrievalReport::from_similarity(&sim, 1, 4, &[vec![0, 3]]).unwrap();
        assert_eq!(r.ranks, vec![3]);
        // Item 1 relevant → rank 1, whatever the others.
        let r = RetrievalReport::from_similarity(&sim, 1, 4, &[vec![1, 0]]).unwrap();
        assert_eq!(r.ranks, vec![1]);
        // All equal: rank n_items − |R| + 1.
        let r = RetrievalReport::from_similarity(&[0.0; 5], 1, 5, &[vec![2, 4]]).unwrap();
        assert_eq!(r.ranks, vec![4]);
    }

    #[test]
    fn median_of_even_count_and_infinities() {
        let sim = [
            1.0,
            0.0,
            f32::NEG_INFINITY,
            f32::INFINITY,
            0.0,
            2.0,
            0.0,
            1.0,
            0.0,
            0.0,
            1.0,
            0.0,
            0.0,
            0.0,
            0.0,
            1.0,
        ];
        let r = RetrievalReport::paired(&sim, 4).unwrap();
        // q0 rank 2 (item 3 is +inf), q1 rank 1, q2 rank 1, q3 rank 1.
        assert_eq!(r.ranks, vec![2, 1, 1, 1]);
        assert_eq!(r.median_rank, 1.0);
        let r = RetrievalReport::from_similarity(&[0.0, 1.0, 1.0, 0.0], 2, 2, &[vec![0], vec![1]])
            .unwrap();
        assert_eq!(r.ranks, vec![2, 2]);
        let r = RetrievalReport::from_similarity(&[1.0, 0.0, 1.0, 0.0], 2, 2, &[vec![0], vec![1]])
            .unwrap();
        assert_eq!(r.ranks, vec![1, 2]);
        assert_eq!(r.median_rank, 1.5);
    }

    #[test]
    fn bidirectional_uses_the_transpose() {
        // rows = sensors, cols = texts; row 0 loves text 1.
        let sim = [0.1, 0.9, 0.0, 0.8];
        let b = BidirectionalRetrieval::paired(&sim, 2).unwrap();
        assert_eq!(b.forward.ranks, vec![2, 1]);
        // text 0: sensors scored [0.1, 0.0] → sensor 0 first; text 1: [0.9, 0.8] → rank 2.
        assert_eq!(b.backward.ranks, vec![1, 2]);
        let b2 = BidirectionalRetrieval::from_similarity(&sim, 2, 2, &[vec![0], vec![1]]).unwrap();
        assert_eq!(b, b2);
        assert_eq!(
            transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3).unwrap(),
            vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
        assert_eq!(
            invert_relevance(&[vec![1, 2], vec![2]], 3).unwrap(),
            vec![vec![], vec![0], vec![0, 1]]
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let e = RetrievalReport::paired(&[0.0, f32::NAN, 0.0, 0.0], 2)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("query 0") && e.contains("item 1") && e.contains("NaN"),
            "{e}"
        );
        assert!(RetrievalReport::paired(&[0.0; 3], 2).is_err());
        assert!(RetrievalReport::paired(&[], 0).is_err());
        let e = RetrievalReport::from_similarity(&[0.0; 4], 2, 2, &[vec![0], vec![]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("query 1 has no relevant item"), "{e}");
        let e = RetrievalReport::from_similarity(&[0.0; 4], 2, 2, &[vec![0], vec![2]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("query 1") && e.contains("item 2"), "{e}");
        assert!(RetrievalReport::from_similarity(&[0.0; 4], 2, 2, &[vec![0]]).is_err());
    }
}
