//! Learned relative position biases over the time × channel patch grid
//! (Swin / T5 style): one table per block and head, indexed by the offset
//! `(Δtime, Δchannel)` between a query token and a key token, added to the
//! attention logits.
//!
//! With absolute positions alone, a masked autoencoder on 50 Hz IMU patches
//! spends about a thousand steps on a plateau (the loss of predicting each
//! window's level) before its attention learns to read a hidden patch's
//! temporal neighbours; a bias per offset gives that routing one scalar per
//! head to learn (`docs/pretraining.md`, ablations).

use tch::{nn, Kind, Tensor};
use wearlang_masking::Grid;

use crate::{EncoderError, Result};

/// Relative position biases for `depth` blocks: variables `{i}` `[H, R]`
/// with `R = (2·time − 1)·(2·channel − 1)`, initialised to zero (so a new
/// model starts as one without them).
#[derive(Debug)]
pub struct RelativeBias {
    tables: Vec<Tensor>,
    /// `[N, N]` i64: the table column of each (query, key) pair.
    index: Tensor,
    heads: i64,
    n: i64,
}

impl RelativeBias {
    /// Build under `p` for `depth` blocks of `heads` heads on `grid`.
    pub fn new(p: nn::Path, depth: i64, heads: i64, grid: Grid) -> Result<Self> {
        if grid.is_empty() {
            return Err(EncoderError::config("grid", "no tokens"));
        }
        let (t, c) = (grid.time as i64, grid.channel as i64);
        let span_c = 2 * c - 1;
        let columns = (2 * t - 1) * span_c;
        let n = grid.len();
        let mut index = Vec::with_capacity(n * n);
        for q in 0..n {
            let (qt, qc) = grid.coords(q);
            for k in 0..n {
                let (kt, kc) = grid.coords(k);
                let dt = kt as i64 - qt as i64 + t - 1;
                let dc = kc as i64 - qc as i64 + c - 1;
                index.push(dt * span_c + dc);
            }
        }
        let tables = (0..depth)
            .map(|i| p.var(&i.to_string(), &[heads, columns], nn::Init::Const(0.0)))
            .collect();
        Ok(RelativeBias {
            tables,
            index: Tensor::from_slice(&index)
                .reshape([n as i64, n as i64])
                .to_device(p.device()),
            heads,
            n: n as i64,
        })
    }

    /// [`RelativeBias::new`] when `enabled`, else `None`.
    pub fn when(
        enabled: bool,
        p: nn::Path,
        depth: i64,
        heads: i64,
        grid: Grid,
    ) -> Result<Option<Self>> {
        enabled
            .then(|| RelativeBias::new(p, depth, heads, grid))
            .transpose()
    }

    /// One additive bias per block for every token: `[1, H, N, N]`.
    pub fn full(&self) -> Vec<Tensor> {
        let flat = self.index.reshape([-1]);
        self.tables
            .iter()
            .map(|tab| {
                tab.index_select(1, &flat)
                    .reshape([1, self.heads, self.n, self.n])
            })
            .collect()
    }

    /// One additive bias per block for the kept tokens `keep_idx` `[B, k]`
    /// (token indices in `0..N`, in the order the encoder sees them):
    /// `[B, H, k, k]`. Indices out of range are an error (from libtorch, on
    /// the CPU).
    pub fn kept(&self, keep_idx: &Tensor) -> Result<Vec<Tensor>> {
        let size = keep_idx.size();
        if size.len() != 2 || keep_idx.kind() != Kind::Int64 {
            return Err(EncoderError::Shape(format!(
                "keep_idx must be i64 [B, k], got {:?} {size:?}",
                keep_idx.kind()
            )));
        }
        let (b, k) = (size[0], size[1]);
        // pair[b, i, j] = index[keep[b, i], keep[b, j]]
        let rows = self
            .index
            .f_index_select(0, &keep_idx.f_reshape([-1])?)?
            .f_reshape([b, k, self.n])?;
        let cols = keep_idx.f_unsqueeze(1)?.f_expand([b, k, k], false)?;
        let flat = rows.f_gather(2, &cols, false)?.f_reshape([-1])?;
        self.tables
            .iter()
            .map(|tab| {
                Ok(tab
                    .f_index_select(1, &flat)?
                    .f_reshape([self.heads, b, k, k])?
                    .f_permute([1, 0, 2, 3])?)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn filled(grid: Grid) -> (nn::VarStore, RelativeBias) {
        let vs = nn::VarStore::new(Device::Cpu);
        let rb = RelativeBias::new(vs.root(), 2, 3, grid).unwrap();
        // Distinct values: column r of head h, block i = 1000·i + 100·h + r.
        tch::no_grad(|| {
            for (i, tab) in rb.tables.iter().enumerate() {
                let (h, r) = (tab.size()[0], tab.size()[1]);
                let v = Tensor::arange(h * r, (Kind::Float, Device::Cpu)).reshape([h, r]);
                let head = Tensor::arange(h, (Kind::Float, Device::Cpu)).unsqueeze(1);
                let mut t = tab.shallow_clone();
                t.copy_(&(v.remainder(r) + head * 100.0 + 1000.0 * i as f64));
            }
        });
        (vs, rb)
    }

    #[test]
    fn starts_at_zero_and_indexes_offsets() {
        let grid = Grid::new(3, 2);
        let vs = nn::VarStore::new(Device::Cpu);
        let rb = RelativeBias::new(vs.root(), 1, 2, grid).unwrap();
        assert_eq!(rb.full()[0].abs().sum(Kind::Float).double_value(&[]), 0.0);
        let (_vs, rb) = filled(grid);
        let full = &rb.full()[1];
        assert_eq!(full.size(), [1, 3, 6, 6]);
        // Same offset, same bias: (0,0)→(1,1) and (1,0)→(2,1).
        let at = |q: i64, k: i64, h: i64| full.double_value(&[0, h, q, k]);
        assert_eq!(at(0, 3, 2), at(2, 5, 2));
        // Offset (Δt, Δc) = (+1, +1) is column (1 + 2)·3 + (1 + 1) = 11.
        assert_eq!(at(0, 3, 2), 1000.0 + 200.0 + 11.0);
        // Distinct offsets differ; each token to itself is the centre (2·3 + 1 = 7).
        assert_ne!(at(0, 3, 0), at(0, 1, 0));
        assert_eq!(at(4, 4, 0), 1007.0);
    }

    #[test]
    fn kept_matches_full_at_the_kept_pairs() {
        let grid = Grid::new(4, 3);
        let (_vs, rb) = filled(grid);
        let keep = Tensor::from_slice(&[5i64, 0, 11, 7, 1, 2, 3, 4]).reshape([2, 4]);
        let kept = rb.kept(&keep).unwrap();
        let full = rb.full();
        for (blk, (kb, fb)) in kept.iter().zip(&full).enumerate() {
            assert_eq!(kb.size(), [2, 3, 4, 4], "block {blk}");
            for b in 0..2 {
                for i in 0..4 {
                    for j in 0..4 {
                        let (q, k) = (keep.int64_value(&[b, i]), keep.int64_value(&[b, j]));
                        for h in 0..3 {
                            assert_eq!(
                                kb.double_value(&[b, h, i, j]),
                                fb.double_value(&[0, h, q, k])
                            );
                        }
                    }
                }
            }
        }
        assert!(rb.kept(&Tensor::from_slice(&[1i64, 2])).is_err());
        let outside = Tensor::from_slice(&[0i64, 12]).reshape([1, 2]);
        assert!(rb.kept(&outside).is_err());
        assert!(rb.kept(&(outside - 13)).is_err());
    }
}
