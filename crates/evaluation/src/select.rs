//! Selecting windows, shared by the protocols: the labelled windows of a
//! set, and rows of a tensor.

use tch::Tensor;

/// Indices and labels of the labelled windows of a set.
pub(crate) fn labelled(labels: &[Option<usize>]) -> (Vec<usize>, Vec<i64>) {
    labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.map(|l| (i, l as i64)))
        .unzip()
}

/// Rows `idx` of `x`.
pub(crate) fn rows(x: &Tensor, idx: &[usize]) -> Tensor {
    let idx: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    x.index_select(0, &Tensor::from_slice(&idx))
}
