//! AIM token selection: fixed-size batches however much data is missing.
//!
//! For each sample, `total = inherited ∪ artificial`. Tokens are ranked by
//! `priority = total × 100 + u`, `u ~ U[0, 1)` drawn from a seeded ChaCha8
//! generator on the CPU (then moved to the inputs' device, so CPU and CUDA
//! give the same selection), and sorted ascending: unmasked tokens first, in
//! random order, then masked ones. The first `k` are kept (`keep_idx`). When
//! fewer than `k` tokens are unmasked, some masked tokens survive the drop;
//! `attn_mask` hides them from attention. Shapes depend only on `B`, `N` and
//! `k`, never on the amount of missing data.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use crate::error::{check_unit, MaskError, Result};
use crate::patch::Grid;
use crate::strategy::{target_count, MaskStrategy};

/// The output of [`aim_select`]. All tensors live on the inputs' device.
#[derive(Debug)]
pub struct AimBatch {
    /// `[B, k]` int64: token indices kept for the encoder, in shuffled order.
    pub keep_idx: Tensor,
    /// `[B, N]` int64: the inverse permutation; gathering the shuffled
    /// sequence (kept tokens then dropped ones) with it restores token order.
    pub restore_idx: Tensor,
    /// `[B, k]` bool, `true` = attend: `false` exactly on kept tokens that
    /// are masked (inherited or artificial).
    pub attn_mask: Tensor,
    /// `[B, N]` bool: `artificial ∧ ¬inherited`, the tokens the
    /// reconstruction loss counts.
    pub target_mask: Tensor,
    /// `[B, N]` bool: `inherited ∨ artificial`.
    pub total_mask: Tensor,
}

fn check_mask(t: &Tensor, what: &str) -> Result<(i64, i64)> {
    let size = t.size();
    if size.len() != 2 {
        return Err(MaskError::Shape(format!(
            "{what} must be [B, N], got {size:?}"
        )));
    }
    if t.kind() != Kind::Bool {
        return Err(MaskError::Shape(format!(
            "{what} must be a bool tensor, got {:?}",
            t.kind()
        )));
    }
    Ok((size[0], size[1]))
}

/// Select `keep` tokens per sample from inherited and artificial masks
/// (`[B, N]` bool, same device). `keep` must be in `1..=N`; `seed` fixes the
/// random order.
pub fn aim_select(
    inherited: &Tensor,
    artificial: &Tensor,
    keep: usize,
    seed: u64,
) -> Result<AimBatch> {
    let (b, n) = check_mask(inherited, "inherited")?;
    let shape = check_mask(artificial, "artificial")?;
    if shape != (b, n) {
        return Err(MaskError::Shape(format!(
            "inherited is [{b}, {n}], artificial is [{}, {}]",
            shape.0, shape.1
        )));
    }
    if inherited.device() != artificial.device() {
        return Err(MaskError::Shape(format!(
            "inherited on {:?}, artificial on {:?}",
            inherited.device(),
            artificial.device()
        )));
    }
    let k = keep as i64;
    if keep == 0 || k > n {
        return Err(MaskError::param(
            "keep",
            format!("must be in 1..={n}, got {keep}"),
        ));
    }
    let device = inherited.device();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise: Vec<f32> = (0..b * n).map(|_| rng.random::<f32>()).collect();
    let noise = Tensor::from_slice(&noise)
        .f_reshape([b, n])?
        .f_to_device(device)?;

    let total = inherited.f_logical_or(artificial)?;
    let priority = total
        .f_to_kind(Kind::Float)?
        .f_mul_scalar(100.0)?
        .f_add(&noise)?;
    let shuffle = priority.f_argsort_stable(true, 1, false)?;
    let restore_idx = shuffle.f_argsort_stable(true, 1, false)?;
    let keep_idx = shuffle.f_narrow(1, 0, k)?;
    let attn_mask = total.f_gather(1, &keep_idx, false)?.f_logical_not()?;
    let target_mask = artificial.f_logical_and(&inherited.f_logical_not()?)?;
    Ok(AimBatch {
        keep_idx,
        restore_idx,
        attn_mask,
        target_mask,
        total_mask: total,
    })
}

impl AimBatch {
    /// Tokens kept per sample (`k`).
    pub fn keep(&self) -> i64 {
        self.keep_idx.size()[1]
    }

    /// Gather the kept tokens: `[B, N, D]` → `[B, k, D]`.
    pub fn gather_kept(&self, tokens: &Tensor) -> Result<Tensor> {
        let size = tokens.size();
        let idx = self.keep_idx.size();
        if size.len() != 3 || size[0] != idx[0] || size[1] != self.restore_idx.size()[1] {
            return Err(MaskError::Shape(format!(
                "tokens must be [{}, {}, D], got {size:?}",
                idx[0],
                self.restore_idx.size()[1]
            )));
        }
        let index = self
            .keep_idx
            .f_unsqueeze(-1)?
            .f_expand([idx[0], idx[1], size[2]], false)?;
        Ok(tokens.f_gather(1, &index, false)?)
    }

    /// The decoder's input: put the encoded kept tokens `[B, k, D]` back in
    /// token order `[B, N, D]`, with `fill` (`[D]`, e.g. a learnable mask
    /// token) in every dropped slot and every masked slot (inherited or
    /// artificial), so that no masked token leaks into the decoder.
    pub fn restore(&self, kept: &Tensor, fill: &Tensor) -> Result<Tensor> {
        let size = kept.size();
        let idx = self.keep_idx.size();
        let n = self.restore_idx.size()[1];
        if size.len() != 3 || size[0] != idx[0] || size[1] != idx[1] {
            return Err(MaskError::Shape(format!(
                "kept tokens must be [{}, {}, D], got {size:?}",
                idx[0], idx[1]
            )));
        }
        let d = size[2];
        if fill.size() != [d] {
            return Err(MaskError::Shape(format!(
                "fill must be [{d}], got {:?}",
                fill.size()
            )));
        }
        let fill_full = fill
            .f_reshape([1, 1, d])?
            .f_expand([size[0], n, d], false)?;
        let dropped = fill_full.f_narrow(1, 0, n - size[1])?;
        let shuffled = Tensor::f_cat(&[kept, &dropped], 1)?;
        let index = self
            .restore_idx
            .f_unsqueeze(-1)?
            .f_expand([size[0], n, d], false)?;
        let ordered = shuffled.f_gather(1, &index, false)?;
        let masked = self.total_mask.f_unsqueeze(-1)?;
        Ok(fill_full.f_where_self(&masked, &ordered)?)
    }
}

/// The fixed number of tokens to keep for `n_tokens` tokens and a masking
/// ratio: `n_tokens - round(ratio * n_tokens)`, at least 1. With no
/// inherited missingness this keeps exactly the unmasked tokens.
pub fn keep_count(n_tokens: usize, mask_ratio: f32) -> Result<usize> {
    check_unit("mask_ratio", mask_ratio)?;
    if n_tokens == 0 {
        return Err(MaskError::Shape("no tokens".into()));
    }
    Ok((n_tokens - target_count(n_tokens, mask_ratio)).max(1))
}

/// A `[B, N]` bool tensor from per-sample token masks (all of length `N`).
pub fn mask_tensor(rows: &[Vec<bool>], device: Device) -> Result<Tensor> {
    let n = rows.first().map_or(0, Vec::len);
    if rows.is_empty() || n == 0 {
        return Err(MaskError::Shape("empty mask batch".into()));
    }
    if let Some(r) = rows.iter().find(|r| r.len() != n) {
        return Err(MaskError::Shape(format!(
            "mask rows of {} and {n} tokens",
            r.len()
        )));
    }
    let flat: Vec<bool> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_slice(&flat)
        .f_reshape([rows.len() as i64, n as i64])?
        .f_to_device(device)?)
}

/// Per-sample token masks from a `[B, N]` bool tensor (any device).
pub fn mask_rows(t: &Tensor) -> Result<Vec<Vec<bool>>> {
    let (b, n) = check_mask(t, "mask")?;
    let flat: Vec<u8> = Vec::try_from(
        t.f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Uint8)?
            .f_flatten(0, -1)?,
    )?;
    debug_assert_eq!(flat.len() as i64, b * n);
    Ok(flat
        .chunks_exact(n.max(1) as usize)
        .map(|r| r.iter().map(|&v| v != 0).collect())
        .collect())
}

/// Artificial masks `[B, N]` (bool, on the input's device) for a batch of
/// inherited masks `[B, N]`, one draw of `strategy` per sample from a
/// ChaCha8 generator seeded with `seed`.
pub fn artificial_masks(
    strategy: &dyn MaskStrategy,
    inherited: &Tensor,
    grid: Grid,
    seed: u64,
) -> Result<Tensor> {
    let rows = mask_rows(inherited)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rng: &mut dyn RngCore = &mut rng;
    let masks = rows
        .iter()
        .map(|r| {
            let observed: Vec<bool> = r.iter().map(|&m| !m).collect();
            strategy.mask(&observed, grid, rng)
        })
        .collect::<Result<Vec<_>>>()?;
    mask_tensor(&masks, inherited.device())
}
