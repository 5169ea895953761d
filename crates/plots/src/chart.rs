//! The axes frame shared by the line charts and the histogram: a plotters
//! chart over plotting coordinates with ticks at exactly the [`Axis`] ticks.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::style::text_anchor::{HPos, VPos};

use crate::axis::Axis;
use crate::font::FAMILY;
use crate::style::{GRID, INK, LABEL_SIZE, TICK_SIZE, TITLE_SIZE};
use crate::text::{draw_text, text_width, Output, TextSpec};

/// Outer margin in pixels.
const MARGIN: i32 = 16;

/// The coordinate system of a chart.
pub(crate) type Coords = Cartesian2d<TickAxis, TickAxis>;

/// A linear plotters coordinate over `lo..hi` whose ticks (and grid lines)
/// are exactly `ticks`.
#[derive(Clone, Debug)]
pub(crate) struct TickAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
}

impl From<&Axis> for TickAxis {
    fn from(a: &Axis) -> Self {
        TickAxis {
            lo: a.lo,
            hi: a.hi,
            ticks: a.ticks.clone(),
        }
    }
}

impl Ranged for TickAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span <= 0.0 || !v.is_finite() {
            return (limit.0 + limit.1) / 2;
        }
        let t = (v - self.lo) / span;
        limit.0 + ((limit.1 - limit.0) as f64 * t + 1e-3).floor() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Title and axis labels of a chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Labels {
    /// Title above the chart (may be empty).
    pub title: String,
    /// Label of the x axis.
    pub x: String,
    /// Label of the y axis.
    pub y: String,
}

impl Labels {
    /// Title and axis labels.
    pub fn new(title: &str, x: &str, y: &str) -> Self {
        Labels {
            title: title.to_string(),
            x: x.to_string(),
            y: y.to_string(),
        }
    }
}

/// Build the chart on `area` (which must start at the backend's origin,
/// as the left part of a horizontal split does): title, grid lines and
/// tick marks at the [`Axis`] ticks, tick labels and axis labels.
pub(crate) fn frame<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    output: Output,
    labels: &Labels,
    x: &Axis,
    y: &Axis,
    x_grid: bool,
) -> std::result::Result<ChartContext<'a, DB, Coords>, String> {
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    let y_tick_w = y
        .ticks
        .iter()
        .map(|&t| text_width(&y.label(t), TICK_SIZE))
        .max()
        .unwrap_or(0);
    let tick_h = (TICK_SIZE * 1.2).ceil() as i32;
    let label_h = (LABEL_SIZE * 1.2).ceil() as i32;
    let title_h = if labels.title.is_empty() {
        0
    } else {
        (TITLE_SIZE * 1.2).ceil() as i32 + 12
    };
    let mut chart = ChartBuilder::on(area)
        .margin(MARGIN)
        .margin_top(MARGIN + title_h)
        .margin_right(24)
        .x_label_area_size(8 + tick_h + 8 + label_h + 4)
        .y_label_area_size(y_tick_w + 10 + label_h + 10)
        .build_cartesian_2d(TickAxis::from(x), TickAxis::from(y))
        .map_err(e)?;
    // plotters draws the grid, the axes and the tick marks; its own labels
    // are transparent because the text is drawn by `draw_text`.
    let mut mesh = chart.configure_mesh();
    if !x_grid {
        mesh.disable_x_mesh();
    }
    mesh.bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(INK)
        .label_style((FAMILY, 12).into_font().color(&TRANSPARENT))
        .draw()
        .map_err(e)?;

    let tick = TextSpec::new(TICK_SIZE, INK, HPos::Center, VPos::Top);
    let (x0, y0) = chart.backend_coord(&(x.lo, y.lo));
    let (x1, y1) = chart.backend_coord(&(x.hi, y.hi));
    if !labels.title.is_empty() {
        let spec = TextSpec::new(TITLE_SIZE, INK, HPos::Center, VPos::Top);
        draw_text(area, output, &labels.title, ((x0 + x1) / 2, MARGIN), spec)?;
    }
    for &t in &x.ticks {
        let (px, _) = chart.backend_coord(&(t, y.lo));
        draw_text(area, output, &x.label(t), (px, y0 + 8), tick)?;
    }
    let tick = TextSpec::new(TICK_SIZE, INK, HPos::Right, VPos::Center);
    for &t in &y.ticks {
        let (_, py) = chart.backend_coord(&(x.lo, t));
        draw_text(area, output, &y.label(t), (x0 - 8, py), tick)?;
    }
    let spec = TextSpec::new(LABEL_SIZE, INK, HPos::Center, VPos::Top);
    draw_text(
        area,
        output,
        &labels.x,
        ((x0 + x1) / 2, y0 + 8 + tick_h + 6),
        spec,
    )?;
    let spec = TextSpec::vertical(LABEL_SIZE, INK);
    let lx = x0 - 10 - y_tick_w - 8 - label_h / 2;
    draw_text(
        area,
        output,
        &labels.y,
        (lx.max(MARGIN + label_h / 2), (y0 + y1) / 2),
        spec,
    )?;
    Ok(chart)
}
