//! Histograms: equal-width bins over values, or integer-aligned bins over
//! retrieval ranks.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axis::Axis;
use crate::chart::{frame, Labels};
use crate::error::input;
use crate::style::series_color;
use crate::text::Output;
use crate::{save_both, Plot, Result};

/// A histogram: `counts[i]` values fell in `[edges[i], edges[i + 1])`.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramPlot {
    /// Bin edges, increasing, one more than `counts`.
    pub edges: Vec<f64>,
    /// Values per bin.
    pub counts: Vec<usize>,
    /// Title and axis labels.
    pub labels: Labels,
    /// Whether the bins are integer ranges (ticks then fall on integers).
    pub integer: bool,
}

impl HistogramPlot {
    /// `bins` equal-width bins from the smallest to the largest value (the
    /// last bin includes the largest). Errors on no values, `bins == 0` or a
    /// non-finite value (naming its index).
    pub fn from_values(values: &[f64], bins: usize, labels: Labels) -> Result<Self> {
        if values.is_empty() || bins == 0 {
            return Err(input(format!(
                "histogram: {} values in {bins} bins",
                values.len()
            )));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(input(format!("histogram: value {i} is {}", values[i])));
        }
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let mut hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if hi <= lo {
            hi = lo + 1.0;
        }
        let width = (hi - lo) / bins as f64;
        let edges: Vec<f64> = (0..=bins).map(|i| lo + i as f64 * width).collect();
        let mut counts = vec![0usize; bins];
        for &v in values {
            let b = (((v - lo) / width) as usize).min(bins - 1);
            counts[b] += 1;
        }
        Ok(HistogramPlot {
            edges,
            counts,
            labels,
            integer: false,
        })
    }

    /// Histogram of 1-based retrieval ranks out of `n_items`: one bin per
    /// rank up to 30 items, else about 25 bins of equal integer width.
    /// Errors on no ranks or a rank outside `1..=n_items` (naming the query).
    pub fn from_ranks(ranks: &[usize], n_items: usize, labels: Labels) -> Result<Self> {
        if ranks.is_empty() {
            return Err(input("histogram: no ranks"));
        }
        if let Some(q) = ranks.iter().position(|&r| r == 0 || r > n_items) {
            return Err(input(format!(
                "histogram: rank {} of query {q} is outside 1..={n_items}",
                ranks[q]
            )));
        }
        let width = if n_items <= 30 {
            1
        } else {
            n_items.div_ceil(25)
        };
        let bins = n_items.div_ceil(width);
        let edges: Vec<f64> = (0..=bins).map(|i| (i * width) as f64 + 0.5).collect();
        let mut counts = vec![0usize; bins];
        for &r in ranks {
            counts[(r - 1) / width] += 1;
        }
        Ok(HistogramPlot {
            edges,
            counts,
            labels,
            integer: true,
        })
    }
}

impl Plot for HistogramPlot {
    fn size(&self) -> Result<(u32, u32)> {
        Ok((800, 500))
    }

    fn validate(&self) -> Result<()> {
        if self.counts.is_empty() || self.edges.len() != self.counts.len() + 1 {
            return Err(input(format!(
                "histogram: {} edges for {} bins",
                self.edges.len(),
                self.counts.len()
            )));
        }
        if let Some(i) = self
            .edges
            .windows(2)
            .position(|w| !(w[0].is_finite() && w[1].is_finite() && w[0] < w[1]))
        {
            return Err(input(format!(
                "histogram: edges {i} and {} are not increasing",
                i + 1
            )));
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        output: Output,
    ) -> std::result::Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        let lo = self.edges[0];
        let hi = *self.edges.last().expect("validated: edges are not empty");
        let max = self.counts.iter().copied().max().unwrap_or(0) as f64;
        let mut x = Axis::linear(lo, hi, 0.0, 8);
        x.lo = lo;
        x.hi = hi;
        if self.integer {
            // Every integer when there are few; else round multiples, with
            // 1 (the best rank) added when it is well apart from the next.
            let step = if hi - lo <= 16.0 {
                1.0
            } else {
                x.step.max(1.0).round()
            };
            x.step = step;
            x.ticks = (1..)
                .map(|k| k as f64 * step)
                .take_while(|&t| t <= hi)
                .filter(|&t| t >= lo)
                .collect();
            if step >= 5.0 && lo < 1.0 {
                x.ticks.insert(0, 1.0);
            }
        }
        let mut y = Axis::linear(0.0, max.max(1.0), 0.0, 6);
        y.lo = 0.0;
        y.hi = max.max(1.0) * 1.05;
        if y.step < 1.0 {
            y.step = 1.0;
            y.ticks = (0..=max as usize).map(|v| v as f64).collect();
        }
        let mut chart = frame(root, output, &self.labels, &x, &y, false)?;
        let fill = series_color(0);
        chart
            .draw_series(self.counts.iter().enumerate().map(|(i, &c)| {
                Rectangle::new(
                    [(self.edges[i], 0.0), (self.edges[i + 1], c as f64)],
                    fill.mix(0.85).filled(),
                )
            }))
            .map_err(e)?;
        chart
            .draw_series(
                self.counts
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c > 0)
                    .map(|(i, &c)| {
                        Rectangle::new(
                            [(self.edges[i], 0.0), (self.edges[i + 1], c as f64)],
                            WHITE.stroke_width(1),
                        )
                    }),
            )
            .map_err(e)?;
        Ok(())
    }
}

/// Histogram of `values` in `bins` equal-width bins.
pub fn histogram(
    path_stem: impl AsRef<Path>,
    values: &[f64],
    bins: usize,
    labels: &Labels,
) -> Result<Vec<PathBuf>> {
    save_both(
        &HistogramPlot::from_values(values, bins, labels.clone())?,
        path_stem,
    )
}

/// Histogram of 1-based retrieval ranks out of `n_items` (see
/// [`HistogramPlot::from_ranks`]); x = rank of the first relevant item,
/// y = queries.
pub fn rank_histogram(
    path_stem: impl AsRef<Path>,
    ranks: &[usize],
    n_items: usize,
    title: &str,
) -> Result<Vec<PathBuf>> {
    let labels = Labels::new(title, "rank of the first relevant item", "queries");
    save_both(
        &HistogramPlot::from_ranks(ranks, n_items, labels)?,
        path_stem,
    )
}
