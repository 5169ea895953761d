//! `forecast`: a mask strategy for masked pretraining that hides the latest
//! observed tokens of a window (whole time rows, newest first), so the
//! encoder learns to forecast from the past rather than to fill gaps.
//! Inherited-missing tokens are never marked, and exactly
//! `round(ratio · observed)` tokens are hidden, as the built-ins promise.

use rand::RngCore;
use wearlang_masking::{
    target_count, Grid, MaskError, MaskParams, MaskStrategy, MaskStrategyFactory, Result,
};

/// The strategy.
#[derive(Debug, Clone, Copy)]
pub struct Forecast {
    ratio: f32,
}

impl Forecast {
    /// Hide `ratio` of the observed tokens, newest rows first.
    pub fn new(ratio: f32) -> Result<Self> {
        if !(ratio.is_finite() && (0.0..=1.0).contains(&ratio)) {
            return Err(MaskError::Param {
                name: "mask.params.ratio",
                reason: format!("must be in [0, 1], got {ratio}"),
            });
        }
        Ok(Forecast { ratio })
    }
}

impl MaskStrategy for Forecast {
    fn mask(&self, observed: &[bool], grid: Grid, _rng: &mut dyn RngCore) -> Result<Vec<bool>> {
        if observed.len() != grid.len() {
            return Err(MaskError::Shape(format!(
                "{} observed flags for a grid of {} tokens",
                observed.len(),
                grid.len()
            )));
        }
        let k = target_count(observed.iter().filter(|&&o| o).count(), self.ratio);
        let mut out = vec![false; observed.len()];
        let mut marked = 0;
        'rows: for i in (0..grid.time).rev() {
            for j in 0..grid.channel {
                if marked == k {
                    break 'rows;
                }
                let n = grid.token(i, j);
                if observed[n] {
                    out[n] = true;
                    marked += 1;
                }
            }
        }
        Ok(out)
    }
}

/// Its factory: `params.ratio` (default 0.5).
pub struct ForecastFactory;

fn ratio(params: &MaskParams) -> Result<f32> {
    match params.get("ratio") {
        None => Ok(0.5),
        Some(v) => v
            .as_f64()
            .map(|r| r as f32)
            .ok_or_else(|| MaskError::Param {
                name: "mask.params.ratio",
                reason: format!("must be a number, got {v}"),
            }),
    }
}

impl MaskStrategyFactory for ForecastFactory {
    fn build(&self, params: &MaskParams) -> Result<Box<dyn MaskStrategy>> {
        Ok(Box::new(Forecast::new(ratio(params)?)?))
    }

    fn ratio(&self, params: &MaskParams) -> Result<f32> {
        ratio(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn hides_the_newest_observed_rows() {
        let grid = Grid::new(4, 2);
        // Token 7 (last row, channel 1) is inherited-missing.
        let mut observed = vec![true; 8];
        observed[7] = false;
        let m = Forecast::new(0.5)
            .unwrap()
            .mask(&observed, grid, &mut rand::rngs::StdRng::seed_from_u64(0))
            .unwrap();
        // round(0.5 · 7) = 4: tokens 6, 4, 5, then 2 (rows 3, 2, then 1).
        assert_eq!(m, vec![false, false, true, false, true, true, true, false]);
        assert!(Forecast::new(1.5).is_err());
    }
}
