//! Line charts: several named series, optional error bars (e.g. mean ± std
//! over seeds), optional log axes, legend to the right of the plot.
//!
//! Used for few-shot curves ([`few_shot_curve`]: x = shots per class on a
//! log axis with ticks at the shot counts, y = macro-F1) and loss curves
//! ([`loss_curves`]: x = step, y = loss, optionally log).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::Axis;
use crate::chart::{frame, Labels};
use crate::error::input;
use crate::style::{series_color, INK, TICK_SIZE};
use crate::text::{draw_text, text_width, Output, TextSpec};
use crate::{save_both, Plot, Result};

/// Series with more points than this are drawn without markers.
const MAX_MARKERS: usize = 60;
/// Width of the plot area in pixels (the legend is added to the right).
const PLOT_W: u32 = 760;
/// Height of the canvas.
const PLOT_H: u32 = 500;

/// One named series of `(x, y)` points, with optional symmetric error bars.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Name shown in the legend.
    pub name: String,
    /// x values.
    pub x: Vec<f64>,
    /// y values (same length as `x`).
    pub y: Vec<f64>,
    /// Half-heights of the error bars (same length as `y`), e.g. the std.
    pub err: Option<Vec<f64>>,
}

impl Series {
    /// A series without error bars.
    pub fn new(name: &str, x: &[f64], y: &[f64]) -> Self {
        Series {
            name: name.to_string(),
            x: x.to_vec(),
            y: y.to_vec(),
            err: None,
        }
    }

    /// The same series with error bars `y ± err`.
    pub fn with_error(mut self, err: &[f64]) -> Self {
        self.err = Some(err.to_vec());
        self
    }

    /// `(x, y, y_lo, y_hi)` per point.
    fn points(&self) -> impl Iterator<Item = (f64, f64, f64, f64)> + '_ {
        self.x.iter().zip(&self.y).enumerate().map(|(i, (&x, &y))| {
            let e = self.err.as_ref().map_or(0.0, |e| e[i]);
            (x, y, y - e, y + e)
        })
    }
}

/// A line chart of several series.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    /// The series, drawn in order with the `tab10` colours.
    pub series: Vec<Series>,
    /// Title and axis labels.
    pub labels: Labels,
    /// log10 x axis (x must be > 0).
    pub log_x: bool,
    /// log10 y axis (y must be > 0; error bars are cut at the axis).
    pub log_y: bool,
    /// Put x ticks at the distinct x values of the data (e.g. shot counts)
    /// instead of round numbers, when there are at most 12 of them.
    pub ticks_at_data: bool,
    /// y range in data units (e.g. `(0.0, 1.0)` for F1), widened where the
    /// data or error bars go beyond it; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
}

impl LineChart {
    /// A chart with linear axes fitted to the data.
    pub fn new(series: Vec<Series>, labels: Labels) -> Self {
        LineChart {
            series,
            labels,
            log_x: false,
            log_y: false,
            ticks_at_data: false,
            y_range: None,
        }
    }

    fn legend_width(&self) -> u32 {
        let w = self
            .series
            .iter()
            .map(|s| text_width(&s.name, TICK_SIZE) as u32)
            .max()
            .unwrap_or(0);
        w + 40 + 24
    }

    fn distinct_x(&self) -> Vec<f64> {
        let mut xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.x.iter().copied())
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        xs
    }

    fn axes(&self) -> Result<(Axis, Axis)> {
        let pts: Vec<(f64, f64, f64, f64)> = self.series.iter().flat_map(|s| s.points()).collect();
        let (x_min, x_max) = min_max(pts.iter().map(|p| p.0));
        let x = if self.log_x {
            let xs = self.distinct_x();
            let preferred = (self.ticks_at_data && xs.len() <= 12).then_some(xs.as_slice());
            Axis::log(x_min, x_max, 0.06, preferred)?
        } else {
            let mut a = Axis::linear(x_min, x_max, 0.03, 7);
            let xs = self.distinct_x();
            if self.ticks_at_data && xs.len() <= 12 {
                a.ticks = xs;
            }
            a
        };
        let (lo, hi) = min_max(pts.iter().map(|p| p.1));
        let (elo, ehi) = if self.log_y {
            // Lower ends of error bars at or below 0 are cut at the axis.
            min_max(pts.iter().flat_map(|p| [p.2, p.3]).filter(|v| *v > 0.0))
        } else {
            min_max(pts.iter().flat_map(|p| [p.2, p.3]))
        };
        let (data_lo, data_hi) = (lo.min(elo), hi.max(ehi));
        let y = match self.y_range {
            Some((lo, hi)) => {
                // The fixed range, widened where the data go beyond it.
                let (lo, hi) = (lo.min(data_lo), hi.max(data_hi));
                if self.log_y {
                    Axis::log(lo, hi, 0.0, None)?
                } else {
                    let mut a = Axis::linear(lo, hi, 0.0, 6);
                    a.lo = lo;
                    a.hi = hi;
                    a
                }
            }
            None if self.log_y => Axis::log(data_lo, data_hi, 0.05, None)?,
            None => Axis::linear(data_lo, data_hi, 0.06, 6),
        };
        Ok((x, y))
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

impl Plot for LineChart {
    fn size(&self) -> Result<(u32, u32)> {
        Ok((PLOT_W + self.legend_width(), PLOT_H))
    }

    fn validate(&self) -> Result<()> {
        if self.series.is_empty() || self.series.iter().all(|s| s.x.is_empty()) {
            return Err(input("line chart: no data"));
        }
        for s in &self.series {
            let name = &s.name;
            if s.x.len() != s.y.len() {
                return Err(input(format!(
                    "line chart: series `{name}` has {} x values but {} y values",
                    s.x.len(),
                    s.y.len()
                )));
            }
            if let Some(err) = &s.err {
                if err.len() != s.y.len() {
                    return Err(input(format!(
                        "line chart: series `{name}` has {} error values for {} points",
                        err.len(),
                        s.y.len()
                    )));
                }
                if let Some(i) = err.iter().position(|e| !(e.is_finite() && *e >= 0.0)) {
                    return Err(input(format!(
                        "line chart: series `{name}` error {i} is {} (must be finite, ≥ 0)",
                        err[i]
                    )));
                }
            }
            for (i, (&x, &y)) in s.x.iter().zip(&s.y).enumerate() {
                if !x.is_finite() || !y.is_finite() {
                    return Err(input(format!(
                        "line chart: series `{name}` point {i} is ({x}, {y}), not finite"
                    )));
                }
                if self.log_x && x <= 0.0 {
                    return Err(input(format!(
                        "line chart: series `{name}` point {i} has x = {x} on a log axis"
                    )));
                }
                if self.log_y && y <= 0.0 {
                    return Err(input(format!(
                        "line chart: series `{name}` point {i} has y = {y} on a log axis"
                    )));
                }
            }
        }
        if let Some((lo, hi)) = self.y_range {
            let ordered = lo.is_finite() && hi.is_finite() && lo < hi;
            if !ordered || (self.log_y && lo <= 0.0) {
                return Err(input(format!("line chart: bad y range {lo} to {hi}")));
            }
        }
        Ok(())
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        output: Output,
    ) -> std::result::Result<(), String> {
        let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
        let (x_axis, y_axis) = self.axes().map_err(|err| err.to_string())?;
        let (plot_area, legend_area) = root.split_horizontally(PLOT_W);
        let mut chart = frame(&plot_area, output, &self.labels, &x_axis, &y_axis, true)?;
        let (ylo, yhi) = (y_axis.lo, y_axis.hi);
        let clamp = |v: f64| v.clamp(ylo, yhi);
        // Series with error bars are shifted sideways a little (0.8 % of the
        // x span apart) so that bars at the same x do not hide each other.
        let with_err = self.series.iter().filter(|s| s.err.is_some()).count();
        let mut k = 0;
        for (i, s) in self.series.iter().enumerate() {
            let color = series_color(i);
            let dodge = if s.err.is_some() && with_err > 1 {
                k += 1;
                (k as f64 - 1.0 - (with_err as f64 - 1.0) / 2.0) * 0.008 * (x_axis.hi - x_axis.lo)
            } else {
                0.0
            };
            let px = |x: f64| x_axis.to_plot(x) + dodge;
            let pts: Vec<(f64, f64)> =
                s.x.iter()
                    .zip(&s.y)
                    .map(|(&x, &y)| (px(x), y_axis.to_plot(y)))
                    .collect();
            let width = if s.x.len() > 300 { 1 } else { 2 };
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(width)))
                .map_err(e)?;
            if s.err.is_some() {
                let bars = s.points().map(|(x, y, lo, hi)| {
                    let lo = if y_axis.log && lo <= 0.0 {
                        ylo
                    } else {
                        clamp(y_axis.to_plot(lo))
                    };
                    ErrorBar::new_vertical(
                        px(x),
                        lo,
                        y_axis.to_plot(y),
                        clamp(y_axis.to_plot(hi)),
                        color.stroke_width(2),
                        10,
                    )
                });
                chart.draw_series(bars).map_err(e)?;
            }
            if s.x.len() <= MAX_MARKERS {
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                    .map_err(e)?;
            }
        }

        // Legend, top-aligned with the plot area.
        let top = 16 + if self.labels.title.is_empty() { 0 } else { 40 };
        for (i, s) in self.series.iter().enumerate() {
            let color = series_color(i);
            let y = top + 10 + i as i32 * 26;
            legend_area
                .draw(&PathElement::new(
                    vec![(4, y), (30, y)],
                    color.stroke_width(3),
                ))
                .map_err(e)?;
            if s.x.len() <= MAX_MARKERS {
                legend_area
                    .draw(&Circle::new((17, y), 4, color.filled()))
                    .map_err(e)?;
            }
            let spec = TextSpec::new(TICK_SIZE, INK, HPos::Left, VPos::Center);
            draw_text(&legend_area, output, &s.name, (38, y), spec)?;
        }
        Ok(())
    }
}

/// A few-shot curve: per method a series of `(shots, mean macro-F1)` with
/// error bars (std over seeds); log x axis with ticks at the shot counts,
/// y from 0 to 1.
pub fn few_shot_curve(
    path_stem: impl AsRef<Path>,
    series: &[Series],
    title: &str,
) -> Result<Vec<PathBuf>> {
    let mut chart = LineChart::new(
        series.to_vec(),
        Labels::new(title, "shots per class (log scale)", "macro-F1"),
    );
    chart.log_x = true;
    chart.ticks_at_data = true;
    chart.y_range = Some((0.0, 1.0));
    save_both(&chart, path_stem)
}

/// Loss curves: one series per named loss over training steps, optionally
/// with a log y axis.
pub fn loss_curves(
    path_stem: impl AsRef<Path>,
    series: &[Series],
    log_y: bool,
    title: &str,
) -> Result<Vec<PathBuf>> {
    let mut chart = LineChart::new(series.to_vec(), Labels::new(title, "step", "loss"));
    chart.log_y = log_y;
    save_both(&chart, path_stem)
}
