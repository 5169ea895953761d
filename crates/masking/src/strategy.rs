//! Artificial masks: which observed tokens to hide for masked pretraining.
//!
//! Every strategy hides exactly `round(ratio * n_observed)` tokens, where
//! `n_observed` counts the tokens that are not inherited-missing, and never
//! marks an inherited-missing token. Structured strategies (temporal blocks,
//! channels) mark whole rows or columns of the grid until the next one would
//! overshoot, then mark a random subset of the observed tokens of that last
//! row or column, so the count is exact and the structure holds for all but
//! one row (column).

use rand::seq::{index, SliceRandom};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

use crate::error::{check_unit, MaskError, Result};
use crate::inherited::check_len;
use crate::patch::Grid;

/// The default artificial masking ratio (80 %, the best MAE setting in the
/// LSM papers).
pub const DEFAULT_MASK_RATIO: f32 = 0.8;

/// A way to choose artificially masked tokens.
pub trait MaskStrategy: std::fmt::Debug + Send + Sync {
    /// The artificial mask (`true` = hidden), one entry per token of `grid`
    /// in time-major order. `observed[n]` is `false` for inherited-missing
    /// tokens, which are never marked. An error when `observed` does not
    /// have `grid.len()` entries.
    fn mask(&self, observed: &[bool], grid: Grid, rng: &mut dyn RngCore) -> Result<Vec<bool>>;
}

/// Number of tokens to hide: `round(ratio * n_observed)`.
pub fn target_count(n_observed: usize, ratio: f32) -> usize {
    ((f64::from(ratio) * n_observed as f64).round() as usize).min(n_observed)
}

/// Mark observed tokens unit by unit (a unit = the tokens of a row or a
/// column) until `k` are marked; the last unit is cut to a random subset.
fn fill_units(
    units: impl IntoIterator<Item = Vec<usize>>,
    observed: &[bool],
    k: usize,
    rng: &mut dyn RngCore,
) -> Vec<bool> {
    let mut out = vec![false; observed.len()];
    let mut marked = 0;
    for unit in units {
        if marked == k {
            break;
        }
        let free: Vec<usize> = unit.into_iter().filter(|&n| observed[n]).collect();
        let need = k - marked;
        if free.len() <= need {
            for &n in &free {
                out[n] = true;
            }
            marked += free.len();
        } else {
            for i in index::sample(rng, free.len(), need) {
                out[free[i]] = true;
            }
            marked += need;
        }
    }
    out
}

/// Uniformly random masking of `ratio` of the observed tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RandomMask {
    ratio: f32,
}

impl RandomMask {
    /// Random masking of `ratio` (in `[0, 1]`) of the observed tokens.
    pub fn new(ratio: f32) -> Result<Self> {
        check_unit("ratio", ratio)?;
        Ok(Self { ratio })
    }

    /// The masking ratio.
    pub fn ratio(&self) -> f32 {
        self.ratio
    }
}

impl Default for RandomMask {
    fn default() -> Self {
        Self {
            ratio: DEFAULT_MASK_RATIO,
        }
    }
}

impl MaskStrategy for RandomMask {
    fn mask(&self, observed: &[bool], grid: Grid, rng: &mut dyn RngCore) -> Result<Vec<bool>> {
        check_len("observed", observed.len(), grid)?;
        let free: Vec<usize> = (0..observed.len()).filter(|&n| observed[n]).collect();
        let k = target_count(free.len(), self.ratio);
        let mut out = vec![false; observed.len()];
        for i in index::sample(rng, free.len(), k) {
            out[free[i]] = true;
        }
        Ok(out)
    }
}

/// Temporal block masking: contiguous runs of `block_len` time rows, across
/// all channels.
///
/// The time rows are cut into blocks of `block_len` rows at a random offset
/// (the first and last blocks may be shorter); blocks are taken in random
/// order and their rows masked until `round(ratio * n_observed)` tokens are
/// hidden (the last row cut to a random subset).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TemporalBlockMask {
    ratio: f32,
    block_len: usize,
}

impl TemporalBlockMask {
    /// Blocks of `block_len ≥ 1` time rows, hiding `ratio` of the observed
    /// tokens.
    pub fn new(ratio: f32, block_len: usize) -> Result<Self> {
        check_unit("ratio", ratio)?;
        if block_len == 0 {
            return Err(MaskError::param("block_len", "must be at least 1"));
        }
        Ok(Self { ratio, block_len })
    }

    /// The masking ratio.
    pub fn ratio(&self) -> f32 {
        self.ratio
    }

    /// Time rows per block.
    pub fn block_len(&self) -> usize {
        self.block_len
    }
}

impl MaskStrategy for TemporalBlockMask {
    fn mask(&self, observed: &[bool], grid: Grid, rng: &mut dyn RngCore) -> Result<Vec<bool>> {
        check_len("observed", observed.len(), grid)?;
        let n_obs = observed.iter().filter(|&&o| o).count();
        let k = target_count(n_obs, self.ratio);
        let offset = rng.random_range(0..self.block_len);
        let mut blocks: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        let mut end = if offset == 0 { self.block_len } else { offset };
        while start < grid.time {
            blocks.push(start..end.min(grid.time));
            start = end;
            end += self.block_len;
        }
        blocks.shuffle(rng);
        let units = blocks.into_iter().flatten().map(|i| {
            (0..grid.channel)
                .map(|j| grid.token(i, j))
                .collect::<Vec<_>>()
        });
        Ok(fill_units(units, observed, k, rng))
    }
}

/// Channel masking: whole channel columns (or groups of columns, e.g. the
/// three axes of an accelerometer) over the whole window.
///
/// Groups are taken in random order and their columns masked until
/// `round(ratio * n_observed)` tokens are hidden (the last column cut to a
/// random subset). Columns not named in any group form groups of their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelMask {
    ratio: f32,
    groups: Vec<Vec<usize>>,
}

impl ChannelMask {
    /// Channel masking of `ratio` of the observed tokens, each channel column
    /// its own group.
    pub fn new(ratio: f32) -> Result<Self> {
        Self::with_groups(ratio, Vec::new())
    }

    /// Channel masking with groups of channel-column indices that are masked
    /// together; an error when a column appears twice or a group is empty.
    /// Indices beyond the grid are reported by [`MaskStrategy::mask`].
    pub fn with_groups(ratio: f32, groups: Vec<Vec<usize>>) -> Result<Self> {
        check_unit("ratio", ratio)?;
        let mut seen = std::collections::BTreeSet::new();
        for g in &groups {
            if g.is_empty() {
                return Err(MaskError::param("groups", "a channel group is empty"));
            }
            for &c in g {
                if !seen.insert(c) {
                    return Err(MaskError::param(
                        "groups",
                        format!("channel column {c} is in more than one group"),
                    ));
                }
            }
        }
        Ok(Self { ratio, groups })
    }

    /// The masking ratio.
    pub fn ratio(&self) -> f32 {
        self.ratio
    }

    /// The configured groups (columns not listed are singleton groups).
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }
}

impl MaskStrategy for ChannelMask {
    fn mask(&self, observed: &[bool], grid: Grid, rng: &mut dyn RngCore) -> Result<Vec<bool>> {
        check_len("observed", observed.len(), grid)?;
        let mut listed = vec![false; grid.channel];
        for &c in self.groups.iter().flatten() {
            match listed.get_mut(c) {
                Some(l) => *l = true,
                None => {
                    return Err(MaskError::Shape(format!(
                        "channel group names column {c}, grid has {}",
                        grid.channel
                    )))
                }
            }
        }
        let mut groups: Vec<Vec<usize>> = self.groups.clone();
        groups.extend((0..grid.channel).filter(|&c| !listed[c]).map(|c| vec![c]));
        groups.shuffle(rng);
        let n_obs = observed.iter().filter(|&&o| o).count();
        let k = target_count(n_obs, self.ratio);
        let units = groups
            .into_iter()
            .flatten()
            .map(|j| (0..grid.time).map(|i| grid.token(i, j)).collect::<Vec<_>>());
        Ok(fill_units(units, observed, k, rng))
    }
}

/// A mixture: each call picks one strategy with probability proportional to
/// its weight, so each sample of a batch gets its own kind of mask.
#[derive(Debug)]
pub struct MixtureMask {
    components: Vec<(f64, Box<dyn MaskStrategy>)>,
    total: f64,
}

impl MixtureMask {
    /// A mixture of `(weight, strategy)` pairs; weights must be finite and
    /// ≥ 0 with a positive sum.
    pub fn new(components: Vec<(f64, Box<dyn MaskStrategy>)>) -> Result<Self> {
        if components.is_empty() {
            return Err(MaskError::param("components", "a mixture needs a strategy"));
        }
        if let Some((w, _)) = components
            .iter()
            .find(|(w, _)| !(w.is_finite() && *w >= 0.0))
        {
            return Err(MaskError::param(
                "weight",
                format!("must be finite and ≥ 0, got {w}"),
            ));
        }
        let total: f64 = components.iter().map(|(w, _)| w).sum();
        if total <= 0.0 {
            return Err(MaskError::param("weight", "weights sum to zero"));
        }
        Ok(Self { components, total })
    }

    /// Number of component strategies.
    pub fn len(&self) -> usize {
        self.components.len()
    }

    /// True when there are no components (never, once built).
    pub fn is_empty(&self) -> bool {
        self.components.is_empty()
    }

    /// Index of the component a draw `u` in `[0, 1)` selects.
    fn pick(&self, u: f64) -> usize {
        let mut acc = 0.0;
        let target = u * self.total;
        for (i, (w, _)) in self.components.iter().enumerate() {
            acc += w;
            if target < acc && *w > 0.0 {
                return i;
            }
        }
        // Rounding at the top end: the last component with positive weight.
        self.components
            .iter()
            .rposition(|(w, _)| *w > 0.0)
            .unwrap_or(0)
    }
}

impl MaskStrategy for MixtureMask {
    fn mask(&self, observed: &[bool], grid: Grid, rng: &mut dyn RngCore) -> Result<Vec<bool>> {
        let i = self.pick(rng.random::<f64>());
        self.components[i].1.mask(observed, grid, rng)
    }
}

/// A serialisable description of a strategy, for configs
/// (`{"kind": "random", "ratio": 0.8}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MaskConfig {
    /// [`RandomMask`].
    Random {
        /// Masking ratio of the observed tokens.
        ratio: f32,
    },
    /// [`TemporalBlockMask`].
    TemporalBlock {
        /// Masking ratio of the observed tokens.
        ratio: f32,
        /// Time rows per block.
        block_len: usize,
    },
    /// [`ChannelMask`].
    Channel {
        /// Masking ratio of the observed tokens.
        ratio: f32,
        /// Groups of channel columns masked together.
        #[serde(default)]
        groups: Vec<Vec<usize>>,
    },
    /// [`MixtureMask`].
    Mixture {
        /// `(weight, strategy)` pairs.
        components: Vec<(f64, MaskConfig)>,
    },
    /// A strategy another crate registered with
    /// [`register_mask_strategy`](crate::register_mask_strategy)
    /// (`kind = "custom"`, `name = "<registered name>"`, settings in
    /// `[mask.params]`).
    Custom {
        /// The registered name.
        name: String,
        /// Its settings, handed to its factory as they are.
        #[serde(default)]
        params: crate::registry::MaskParams,
    },
}

impl Default for MaskConfig {
    fn default() -> Self {
        MaskConfig::Random {
            ratio: DEFAULT_MASK_RATIO,
        }
    }
}

impl MaskConfig {
    /// Build the strategy, checking every parameter.
    pub fn build(&self) -> Result<Box<dyn MaskStrategy>> {
        Ok(match self {
            MaskConfig::Random { ratio } => Box::new(RandomMask::new(*ratio)?),
            MaskConfig::TemporalBlock { ratio, block_len } => {
                Box::new(TemporalBlockMask::new(*ratio, *block_len)?)
            }
            MaskConfig::Channel { ratio, groups } => {
                Box::new(ChannelMask::with_groups(*ratio, groups.clone())?)
            }
            MaskConfig::Mixture { components } => Box::new(MixtureMask::new(
                components
                    .iter()
                    .map(|(w, c)| Ok((*w, c.build()?)))
                    .collect::<Result<Vec<_>>>()?,
            )?),
            MaskConfig::Custom { name, params } => crate::registry::build_custom(name, params)?,
        })
    }

    /// The fraction of observed tokens the strategy hides (a mixture's
    /// weighted mean; a registered strategy's own answer).
    pub fn ratio(&self) -> Result<f32> {
        Ok(match self {
            MaskConfig::Random { ratio }
            | MaskConfig::TemporalBlock { ratio, .. }
            | MaskConfig::Channel { ratio, .. } => *ratio,
            MaskConfig::Mixture { components } => {
                let total: f64 = components.iter().map(|(w, _)| *w).sum();
                if total <= 0.0 {
                    return Ok(0.0);
                }
                let mut sum = 0.0;
                for (w, c) in components {
                    sum += w * c.ratio()? as f64;
                }
                (sum / total) as f32
            }
            MaskConfig::Custom { name, params } => crate::registry::custom_ratio(name, params)?,
        })
    }
}
