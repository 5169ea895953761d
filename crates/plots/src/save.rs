//! Rendering a plot to both PNG and SVG, written atomically.

use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::font::ensure_font;
use crate::text::Output;
use crate::{PlotError, Result};

/// Something that can be drawn on any plotters backend.
///
/// Implemented by [`ConfusionMatrixPlot`](crate::ConfusionMatrixPlot),
/// [`LineChart`](crate::LineChart) and [`HistogramPlot`](crate::HistogramPlot);
/// [`save_both`] renders it to PNG and SVG.
pub trait Plot {
    /// Canvas size in pixels, `(width, height)`.
    fn size(&self) -> Result<(u32, u32)>;

    /// Check the data; called by [`save_both`] before any file is written.
    fn validate(&self) -> Result<()>;

    /// Draw onto `root`, already filled with white, for the file kind
    /// `output` (text is drawn differently in PNG and SVG). Errors from
    /// plotters are returned as strings (the caller adds the path).
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        output: Output,
    ) -> std::result::Result<(), String>;
}

/// Render `plot` to `<path_stem>.png` and `<path_stem>.svg` and return the
/// two paths (PNG first).
///
/// Any extension on `path_stem` is kept (`"out/cm"` → `out/cm.png`;
/// `"out/cm.v2"` → `out/cm.v2.png`). Missing parent directories are
/// created. Each file is rendered into a temporary file beside it and renamed
/// when complete.
pub fn save_both<P: Plot + ?Sized>(plot: &P, path_stem: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    ensure_font()?;
    plot.validate()?;
    let (w, h) = plot.size()?;
    let stem = path_stem.as_ref();
    let png = with_suffix(stem, "png");
    let svg = with_suffix(stem, "svg");
    if let Some(dir) = png.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|source| PlotError::Io {
            path: dir.display().to_string(),
            source,
        })?;
    }

    // PNG: BitMapBackend picks the encoder from the extension, so the
    // temporary file also ends in `.png`.
    let png_tmp = with_suffix(stem, &format!("tmp-{}.png", std::process::id()));
    let draw_err = |path: &Path, message: String| PlotError::Draw {
        path: path.display().to_string(),
        message,
    };
    let rendered = (|| {
        let root = BitMapBackend::new(&png_tmp, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        plot.draw(&root, Output::Png)?;
        root.present().map_err(|e| e.to_string())
    })();
    if let Err(message) = rendered {
        // The backend may still write the file when it is dropped.
        let _ = fs::remove_file(&png_tmp);
        return Err(draw_err(&png, message));
    }
    rename(&png_tmp, &png)?;

    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| draw_err(&svg, e.to_string()))?;
        plot.draw(&root, Output::Svg)
            .map_err(|e| draw_err(&svg, e))?;
        root.present().map_err(|e| draw_err(&svg, e.to_string()))?;
    }
    let svg_tmp = with_suffix(stem, &format!("tmp-{}.svg", std::process::id()));
    fs::write(&svg_tmp, text).map_err(|source| PlotError::Io {
        path: svg_tmp.display().to_string(),
        source,
    })?;
    rename(&svg_tmp, &svg)?;
    Ok(vec![png, svg])
}

/// `stem` with `.suffix` appended to its file name.
fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|source| {
        let _ = fs::remove_file(from);
        PlotError::Io {
            path: to.display().to_string(),
            source,
        }
    })
}
