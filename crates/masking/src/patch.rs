//! Splitting a window (time × channel) into a grid of patches (tokens).
//!
//! A window of `T` time steps and `C` channels, stored time-major
//! (`values[t * C + c]`), is cut into `nt = T / pt` time rows and
//! `nc = C / pc` channel columns of patches, each `pt × pc` values.
//! `T` and `C` must be multiples of `pt` and `pc` (no padding: an error
//! otherwise).
//!
//! **Token order** is time-major over the grid: token `n = i * nc + j` is the
//! patch of time row `i` and channel column `j`. **Within a patch** the values
//! are time-major too: element `dt * pc + dc` is the value at time
//! `i * pt + dt`, channel `j * pc + dc`.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use wearlang_core::Window;

use crate::error::{MaskError, Result};

/// The shape of a patch grid: `time` rows × `channel` columns of tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Grid {
    /// Number of patch rows along time (`T / pt`).
    pub time: usize,
    /// Number of patch columns along channels (`C / pc`).
    pub channel: usize,
}

impl Grid {
    /// A grid of `time` × `channel` tokens.
    pub fn new(time: usize, channel: usize) -> Self {
        Self { time, channel }
    }

    /// Number of tokens, `time * channel`.
    pub fn len(&self) -> usize {
        self.time * self.channel
    }

    /// True when the grid has no tokens.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Token index of time row `i`, channel column `j` (time-major).
    pub fn token(&self, i: usize, j: usize) -> usize {
        i * self.channel + j
    }

    /// `(time row, channel column)` of token `n`.
    pub fn coords(&self, n: usize) -> (usize, usize) {
        (n / self.channel.max(1), n % self.channel.max(1))
    }
}

impl From<(usize, usize)> for Grid {
    fn from((time, channel): (usize, usize)) -> Self {
        Self { time, channel }
    }
}

/// Patch size: `time` steps × `channel` channels per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PatchSpec {
    /// Time steps per patch (`pt`).
    pub time: usize,
    /// Channels per patch (`pc`).
    pub channel: usize,
}

impl PatchSpec {
    /// A patch of `time` steps × `channel` channels; both must be ≥ 1.
    pub fn new(time: usize, channel: usize) -> Result<Self> {
        let spec = Self { time, channel };
        spec.check()?;
        Ok(spec)
    }

    /// Values per patch, `pt * pc` (the token dimension `D`).
    pub fn dim(&self) -> usize {
        self.time * self.channel
    }

    fn check(&self) -> Result<()> {
        if self.time == 0 || self.channel == 0 {
            return Err(MaskError::param(
                "patch",
                format!(
                    "patch size must be at least 1 × 1, got {} × {}",
                    self.time, self.channel
                ),
            ));
        }
        Ok(())
    }

    /// The grid of a `steps × channels` window; an error unless both divide
    /// exactly and the window is not empty.
    pub fn grid(&self, steps: usize, channels: usize) -> Result<Grid> {
        self.check()?;
        if steps == 0 || channels == 0 {
            return Err(MaskError::Shape(format!(
                "empty window ({steps} steps × {channels} channels)"
            )));
        }
        if !steps.is_multiple_of(self.time) || !channels.is_multiple_of(self.channel) {
            return Err(MaskError::Shape(format!(
                "window of {steps} steps × {channels} channels is not divisible into \
                 {} × {} patches",
                self.time, self.channel
            )));
        }
        Ok(Grid::new(steps / self.time, channels / self.channel))
    }

    fn grid_of_len(&self, len: usize, channels: usize) -> Result<Grid> {
        if channels == 0 || !len.is_multiple_of(channels) {
            return Err(MaskError::Shape(format!(
                "{len} values do not form rows of {channels} channels"
            )));
        }
        self.grid(len / channels, channels)
    }

    /// Rearrange time-major values (`[t * channels + c]`) into patches:
    /// `N * D` values, token-major (see the module docs for the order).
    /// Generic, so it serves values (`f32`) and masks (`bool`) alike.
    pub fn patchify<T: Copy>(&self, values: &[T], channels: usize) -> Result<(Grid, Vec<T>)> {
        let grid = self.grid_of_len(values.len(), channels)?;
        let mut out = Vec::with_capacity(values.len());
        for i in 0..grid.time {
            for j in 0..grid.channel {
                for dt in 0..self.time {
                    let row = (i * self.time + dt) * channels + j * self.channel;
                    out.extend_from_slice(&values[row..row + self.channel]);
                }
            }
        }
        Ok((grid, out))
    }

    /// Inverse of [`PatchSpec::patchify`]: patches (`N * D` values) back to a
    /// time-major window of `grid.time * pt` steps × `grid.channel * pc`
    /// channels.
    pub fn unpatchify<T: Copy + Default>(&self, patches: &[T], grid: Grid) -> Result<Vec<T>> {
        self.check()?;
        let d = self.dim();
        if patches.len() != grid.len() * d {
            return Err(MaskError::Shape(format!(
                "{} patch values for a {} × {} grid of {d}-value patches",
                patches.len(),
                grid.time,
                grid.channel
            )));
        }
        let channels = grid.channel * self.channel;
        let mut out = vec![T::default(); patches.len()];
        for (n, patch) in patches.chunks_exact(d).enumerate() {
            let (i, j) = grid.coords(n);
            for dt in 0..self.time {
                let row = (i * self.time + dt) * channels + j * self.channel;
                out[row..row + self.channel]
                    .copy_from_slice(&patch[dt * self.channel..(dt + 1) * self.channel]);
            }
        }
        Ok(out)
    }

    /// Fraction of missing values in each patch (`N` values in `[0, 1]`),
    /// from a time-major missingness mask.
    pub fn missing_fractions(&self, missing: &[bool], channels: usize) -> Result<(Grid, Vec<f32>)> {
        let (grid, patches) = self.patchify(missing, channels)?;
        let d = self.dim() as f32;
        let fractions = patches
            .chunks_exact(self.dim())
            .map(|p| p.iter().filter(|&&m| m).count() as f32 / d)
            .collect();
        Ok((grid, fractions))
    }

    /// Patch a [`Window`]: its grid, patch values (`N * D`, NaN where
    /// missing) and per-patch missing fractions. The window is validated
    /// first.
    pub fn patch_window(&self, window: &Window) -> Result<PatchedWindow> {
        window.validate()?;
        let (grid, values) = self.patchify(&window.values, window.channels)?;
        let (_, missing_fraction) = self.missing_fractions(&window.missing, window.channels)?;
        Ok(PatchedWindow {
            grid,
            dim: self.dim(),
            values,
            missing_fraction,
        })
    }

    /// Per-token, per-element weights (`N * D` values, a `[N, D]` tensor once
    /// shaped) from one weight per window channel, for
    /// [`masked_mse`](crate::masked_mse).
    pub fn token_weights(&self, grid: Grid, per_channel: &[f32]) -> Result<Vec<f32>> {
        let channels = grid.channel * self.channel;
        if per_channel.len() != channels {
            return Err(MaskError::Shape(format!(
                "{} channel weights for {channels} channels",
                per_channel.len()
            )));
        }
        if let Some(w) = per_channel.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
            return Err(MaskError::param(
                "channel_weights",
                format!("weights must be finite and ≥ 0, got {w}"),
            ));
        }
        let tiled: Vec<f32> = (0..grid.time * self.time)
            .flat_map(|_| per_channel.iter().copied())
            .collect();
        Ok(self.patchify(&tiled, channels)?.1)
    }

    fn check_tensor(&self, x: &Tensor, what: &str) -> Result<(i64, Grid)> {
        let size = x.size();
        if size.len() != 3 {
            return Err(MaskError::Shape(format!(
                "{what} must be [B, T, C], got {size:?}"
            )));
        }
        let grid = self.grid(size[1] as usize, size[2] as usize)?;
        Ok((size[0], grid))
    }

    /// Patch a `[B, T, C]` tensor into `[B, N, pt * pc]` tokens, in the same
    /// order as [`PatchSpec::patchify`]. Works for any kind (values or bool
    /// masks) and keeps the device.
    pub fn patchify_tensor(&self, x: &Tensor) -> Result<Tensor> {
        let (b, grid) = self.check_tensor(x, "input")?;
        let (pt, pc) = (self.time as i64, self.channel as i64);
        let (nt, nc) = (grid.time as i64, grid.channel as i64);
        Ok(x.f_reshape([b, nt, pt, nc, pc])?
            .f_permute([0, 1, 3, 2, 4])?
            .f_reshape([b, nt * nc, pt * pc])?)
    }

    /// Inverse of [`PatchSpec::patchify_tensor`]: `[B, N, pt * pc]` back to
    /// `[B, grid.time * pt, grid.channel * pc]`.
    pub fn unpatchify_tensor(&self, x: &Tensor, grid: Grid) -> Result<Tensor> {
        self.check()?;
        let size = x.size();
        let (pt, pc) = (self.time as i64, self.channel as i64);
        let (nt, nc) = (grid.time as i64, grid.channel as i64);
        if size.len() != 3 || size[1] != nt * nc || size[2] != pt * pc {
            return Err(MaskError::Shape(format!(
                "patches must be [B, {}, {}], got {size:?}",
                nt * nc,
                pt * pc
            )));
        }
        Ok(x.f_reshape([size[0], nt, nc, pt, pc])?
            .f_permute([0, 1, 3, 2, 4])?
            .f_reshape([size[0], nt * pt, nc * pc])?)
    }

    /// Spread a token mask `[B, N]` (bool) to the values it covers:
    /// `[B, grid.time * pt, grid.channel * pc]` bool, `true` on every value
    /// of a marked patch.
    pub fn token_mask_to_values(&self, mask: &Tensor, grid: Grid) -> Result<Tensor> {
        let size = mask.size();
        if size.len() != 2 || size[1] != grid.len() as i64 {
            return Err(MaskError::Shape(format!(
                "token mask must be [B, {}], got {size:?}",
                grid.len()
            )));
        }
        let tokens = mask
            .f_to_kind(Kind::Float)?
            .f_unsqueeze(-1)?
            .f_expand([size[0], size[1], self.dim() as i64], false)?;
        Ok(self.unpatchify_tensor(&tokens, grid)?.f_gt(0.5)?)
    }

    /// Per-patch missing fraction `[B, N]` (float) from a `[B, T, C]` mask
    /// (bool, `true` = missing) or from values (NaN = missing).
    pub fn missing_fractions_tensor(&self, x: &Tensor) -> Result<Tensor> {
        let missing = if x.kind() == Kind::Bool {
            x.shallow_clone()
        } else {
            x.f_isnan()?
        };
        let patches = self.patchify_tensor(&missing)?;
        Ok(patches
            .f_to_kind(Kind::Float)?
            .f_mean_dim(-1i64, false, Kind::Float)?)
    }
}

/// A window cut into patches by [`PatchSpec::patch_window`].
#[derive(Debug, Clone, PartialEq)]
pub struct PatchedWindow {
    /// The patch grid.
    pub grid: Grid,
    /// Values per patch (`D = pt * pc`).
    pub dim: usize,
    /// Patch values, token-major, `N * D` (NaN where missing).
    pub values: Vec<f32>,
    /// Fraction of missing values per patch, `N` values.
    pub missing_fraction: Vec<f32>,
}
