//! Confusion-matrix heatmap: class names on both axes, counts in the cells,
//! colour normalised by row (the share of the true class predicted as each
//! class).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::error::input;
use crate::style::{blues, ellipsize, INK, LABEL_SIZE, TICK_SIZE, TITLE_SIZE};
use crate::text::{draw_text, text_width, Output, TextSpec};
use crate::{save_both, Plot, Result};

/// Longest class name shown (longer names are cut with "…").
const MAX_NAME_CHARS: usize = 28;
/// Outer margin in pixels.
const MARGIN: i32 = 16;

/// A confusion matrix heatmap (`counts[true][predicted]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionMatrixPlot {
    /// `counts[t][p]`: samples of true class `t` predicted as `p`
    /// (square, one row per class).
    pub counts: Vec<Vec<usize>>,
    /// One name per class.
    pub class_names: Vec<String>,
    /// Title above the matrix (may be empty).
    pub title: String,
}

impl ConfusionMatrixPlot {
    /// A plot of `counts` (rows = true class) with `class_names`.
    pub fn new<S: AsRef<str>>(counts: &[Vec<usize>], class_names: &[S], title: &str) -> Self {
        ConfusionMatrixPlot {
            counts: counts.to_vec(),
            class_names: class_names.iter().map(|s| s.as_ref().to_string()).collect(),
            title: title.to_string(),
        }
    }

    fn k(&self) -> usize {
        self.class_names.len()
    }

    /// Side of one cell in pixels: large for few classes, at least 34.
    fn cell(&self) -> i32 {
        (640 / self.k().max(1) as i32).clamp(34, 72)
    }

    fn names(&self) -> Vec<String> {
        self.class_names
            .iter()
            .map(|n| ellipsize(n, MAX_NAME_CHARS))
            .collect()
    }

    /// (left, top, right, bottom) space around the grid.
    fn layout(&self) -> (i32, i32, i32, i32) {
        let name_w = self
            .names()
            .iter()
            .map(|n| text_width(n, TICK_SIZE))
            .max()
            .unwrap_or(0);
        let label_h = (LABEL_SIZE * 1.2).ceil() as i32 + 8;
        let left = MARGIN + label_h + name_w + 10;
        let top = MARGIN
            + if self.title.is_empty() {
                0
            } else {
                TITLE_SIZE as i32 + 14
            };
        // Colour bar (18) + tick labels + its vertical label.
        let right = 24 + 18 + 8 + text_width("100%", TICK_SIZE) + 8 + label_h + MARGIN;
        let bottom = 10 + name_w + 8 + label_h + MARGIN;
        (left, top, right, bottom)
    }

    /// Font size of the counts that fits the widest count in a cell.
    fn count_size(&self) -> f64 {
        let cell = self.cell() as f64;
        let widest = self
            .counts
            .iter()
            .flatten()
            .max()
            .copied()
            .unwrap_or(0)
            .to_string();
        let mut size = (cell * 0.36).clamp(11.0, 18.0);
        while size > 8.0 && text_width(&widest, size) as f64 > cell * 0.86 {
            size -= 1.0;
        }
        size
    }
}

impl Plot for ConfusionMatrixPlot {
    fn size(&self) -> Result<(u32, u32)> {
        let (l, t, r, b) = self.layout();
        let grid = self.cell() * self.k() as i32;
        let title_w = text_width(&self.title, TITLE_SIZE) + 2 * MARGIN;
        Ok((((l + grid + r).max(title_w)) as u32, (t + grid + b) as u32))
    }

    fn validate(&self) -> Result<()> {
        let k = self.k();
        if k == 0 {
            return Err(input("confusion matrix: no classes"));
        }
        if self.counts.len() != k {
            return Err(input(format!(
                "confusion matrix: {} rows for {k} class names",
                self.counts.len()
            )));
        }
        if let Some(r) = self.counts.iter().position(|row| row.len() != k) {
            return Err(input(format!(
                "confusion matrix: row {r} has {} columns, expected {k}",
                self.counts[r].len()
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
        let k = self.k();
        let cell = self.cell();
        let (left, top, _, _) = self.layout();
        let grid = cell * k as i32;
        let (w, _) = root.dim_in_pixel();
        let names = self.names();

        if !self.title.is_empty() {
            draw_text(
                root,
                output,
                &self.title,
                (w as i32 / 2, MARGIN),
                TextSpec::new(TITLE_SIZE, INK, HPos::Center, VPos::Top),
            )?;
        }

        let count_size = self.count_size();
        for (t, row) in self.counts.iter().enumerate() {
            let total: usize = row.iter().sum();
            for (p, &c) in row.iter().enumerate() {
                let share = if total > 0 {
                    c as f64 / total as f64
                } else {
                    0.0
                };
                let x0 = left + p as i32 * cell;
                let y0 = top + t as i32 * cell;
                root.draw(&Rectangle::new(
                    [(x0, y0), (x0 + cell, y0 + cell)],
                    blues(share).filled(),
                ))
                .map_err(e)?;
                let ink = if share > 0.5 { WHITE } else { INK };
                draw_text(
                    root,
                    output,
                    &c.to_string(),
                    (x0 + cell / 2, y0 + cell / 2),
                    TextSpec::new(count_size, ink, HPos::Center, VPos::Center),
                )?;
            }
        }
        // Frame and thin cell borders.
        for i in 0..=k as i32 {
            let style = if i == 0 || i == k as i32 {
                INK
            } else {
                RGBColor(255, 255, 255)
            };
            root.draw(&PathElement::new(
                vec![(left, top + i * cell), (left + grid, top + i * cell)],
                style,
            ))
            .map_err(e)?;
            root.draw(&PathElement::new(
                vec![(left + i * cell, top), (left + i * cell, top + grid)],
                style,
            ))
            .map_err(e)?;
        }

        // Class names: rows (true) on the left, columns (predicted) below,
        // reading bottom to top.
        let name_w = names
            .iter()
            .map(|n| text_width(n, TICK_SIZE))
            .max()
            .unwrap_or(0);
        for (i, name) in names.iter().enumerate() {
            let c = i as i32 * cell + cell / 2;
            draw_text(
                root,
                output,
                name,
                (left - 8, top + c),
                TextSpec::new(TICK_SIZE, INK, HPos::Right, VPos::Center),
            )?;
            let tw = text_width(name, TICK_SIZE);
            draw_text(
                root,
                output,
                name,
                (left + c, top + grid + 8 + tw / 2),
                TextSpec::vertical(TICK_SIZE, INK),
            )?;
        }
        let label_h = (LABEL_SIZE * 1.2).ceil() as i32 + 8;
        draw_text(
            root,
            output,
            "predicted class",
            (left + grid / 2, top + grid + 10 + name_w + 8),
            TextSpec::new(LABEL_SIZE, INK, HPos::Center, VPos::Top),
        )?;
        draw_text(
            root,
            output,
            "true class",
            (MARGIN + label_h / 2, top + grid / 2),
            TextSpec::vertical(LABEL_SIZE, INK),
        )?;

        // Colour bar: share of the row, 0 at the bottom, 100% at the top.
        let bx = left + grid + 24;
        let steps = 100;
        for s in 0..steps {
            let y1 = top + grid - (s * grid) / steps;
            let y0 = top + grid - ((s + 1) * grid) / steps;
            root.draw(&Rectangle::new(
                [(bx, y0), (bx + 18, y1)],
                blues((s as f64 + 0.5) / steps as f64).filled(),
            ))
            .map_err(e)?;
        }
        root.draw(&Rectangle::new([(bx, top), (bx + 18, top + grid)], INK))
            .map_err(e)?;
        for (v, label) in [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")] {
            let y = top + grid - (v * grid as f64) as i32;
            root.draw(&PathElement::new(vec![(bx + 18, y), (bx + 22, y)], INK))
                .map_err(e)?;
            draw_text(
                root,
                output,
                label,
                (bx + 26, y),
                TextSpec::new(TICK_SIZE, INK, HPos::Left, VPos::Center),
            )?;
        }
        let lx = bx + 18 + 8 + text_width("100%", TICK_SIZE) + 8 + label_h / 2;
        draw_text(
            root,
            output,
            "share of true class",
            (lx, top + grid / 2),
            TextSpec::vertical(LABEL_SIZE, INK),
        )?;
        Ok(())
    }
}

/// Draw a confusion matrix (`counts[true][predicted]`, one name per class)
/// to `<path_stem>.png` and `<path_stem>.svg`; returns both paths.
///
/// Errors when the matrix is not square with one row per name.
pub fn confusion_matrix<S: AsRef<str>>(
    path_stem: impl AsRef<Path>,
    counts: &[Vec<usize>],
    class_names: &[S],
    title: &str,
) -> Result<Vec<PathBuf>> {
    save_both(
        &ConfusionMatrixPlot::new(counts, class_names, title),
        path_stem,
    )
}
