//! Masking for masked pretraining on wearable data (LSM-2's AIM: adaptive
//! and inherited masking).
//!
//! 1. [`PatchSpec`] cuts a window (`T × C`, time-major) into a [`Grid`] of
//!    `(T / pt) × (C / pc)` patch tokens, time-major over the grid (token
//!    `n = i * nc + j`), in plain Rust or as `[B, T, C] → [B, N, pt·pc]`
//!    tensors.
//! 2. [`InheritedMask`] marks tokens that are missing in the data (by default
//!    only fully missing patches).
//! 3. A [`MaskStrategy`] ([`RandomMask`], [`TemporalBlockMask`],
//!    [`ChannelMask`], [`MixtureMask`], or a [`MaskConfig`]) hides exactly
//!    `round(ratio · n_observed)` observed tokens, never inherited ones
//!    (default ratio [`DEFAULT_MASK_RATIO`] = 0.8). Another crate adds its
//!    own with [`register_mask_strategy`] and names it in a config as
//!    `kind = "custom"`, `name = "<name>"`.
//! 4. [`aim_select`] keeps a fixed number of tokens per sample, dropping
//!    masked tokens first and hiding surviving masked ones with an attention
//!    mask, and gives the loss mask `artificial ∧ ¬inherited`.
//! 5. [`masked_mse`] is the reconstruction loss over that mask, immune to NaN
//!    in the targets.
//!
//! See `docs/masking.md` for the full semantics. Examples that call libtorch
//! are `no_run` (doctests cannot find libtorch); `tests/` runs them.
//!
//! Plain-Rust masks (`no_run` only because the crate links libtorch;
//! `tests/masks.rs` runs the same steps):
//!
//! ```no_run
//! use rand::SeedableRng;
//! use rand_chacha::ChaCha8Rng;
//! use wearlang_masking::{InheritedMask, MaskStrategy, PatchSpec, RandomMask};
//!
//! // 4 time steps × 2 channels, time-major; step 0 is fully missing.
//! let nan = f32::NAN;
//! let missing: Vec<bool> = [nan, nan, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
//!     .iter()
//!     .map(|v| v.is_nan())
//!     .collect();
//! let spec = PatchSpec::new(1, 1).unwrap();
//! let (grid, inherited) = InheritedMask::default().from_missing(&spec, &missing, 2).unwrap();
//! assert_eq!((grid.time, grid.channel), (4, 2));
//! assert_eq!(inherited.iter().filter(|&&m| m).count(), 2);
//!
//! let observed: Vec<bool> = inherited.iter().map(|&m| !m).collect();
//! let mut rng = ChaCha8Rng::seed_from_u64(0);
//! let artificial = RandomMask::new(0.5).unwrap().mask(&observed, grid, &mut rng).unwrap();
//! assert_eq!(artificial.iter().filter(|&&m| m).count(), 3); // round(0.5 · 6)
//! assert!(artificial.iter().zip(&inherited).all(|(a, i)| !(*a && *i)));
//! ```
//!
//! Batching with tensors:
//!
//! ```no_run
//! use tch::{Device, Kind, Tensor};
//! use wearlang_masking::{
//!     aim_select, artificial_masks, keep_count, masked_mse, InheritedMask, PatchSpec, RandomMask,
//! };
//!
//! let spec = PatchSpec::new(10, 1).unwrap();
//! let x = Tensor::randn([8, 60, 4], (Kind::Float, Device::Cpu)); // [B, T, C]
//! let grid = spec.grid(60, 4).unwrap();
//! let tokens = spec.patchify_tensor(&x).unwrap(); // [8, 24, 10]
//! let inherited = InheritedMask::default().from_tensor(&spec, &x).unwrap(); // [8, 24]
//! let artificial = artificial_masks(&RandomMask::default(), &inherited, grid, 7).unwrap();
//! let k = keep_count(grid.len(), 0.8).unwrap();
//! let aim = aim_select(&inherited, &artificial, k, 7).unwrap();
//! let kept = aim.gather_kept(&tokens.nan_to_num(0.0, None, None)).unwrap(); // [8, k, 10]
//! // ... encoder(kept, aim.attn_mask), decoder(aim.restore(..)) ...
//! let pred = Tensor::zeros([8, 24, 10], (Kind::Float, Device::Cpu));
//! let loss = masked_mse(&pred, &tokens, &aim.target_mask, None).unwrap();
//! # let _ = (kept, loss);
//! ```

#![warn(missing_docs)]

mod aim;
mod error;
mod fill;
mod inherited;
mod loss;
mod patch;
mod registry;
mod strategy;

pub use aim::{aim_select, artificial_masks, keep_count, mask_rows, mask_tensor, AimBatch};
pub use error::{MaskError, Result};
pub use fill::interpolate_time;
pub use inherited::{observed_from_inherited, InheritedMask};
pub use loss::masked_mse;
pub use patch::{Grid, PatchSpec, PatchedWindow};
pub use registry::{
    register_mask_strategy, registered_mask_strategies, MaskParams, MaskStrategyFactory,
};
pub use strategy::{
    target_count, ChannelMask, MaskConfig, MaskStrategy, MixtureMask, RandomMask,
    TemporalBlockMask, DEFAULT_MASK_RATIO,
};
