//! Rendering a plot to both PNG and SVG, written atomically.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use image::codecs::png::PngEncoder;
use image::{ColorType, ImageEncoder};
use plotters::coord::Shift;
use plotters::prelude::*;
use wearlang_core::fs::{write_atomic, AtomicFile};

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
/// created. Each file is written atomically ([`wearlang_core::fs`]): into
/// a temporary file beside it, renamed when complete.
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

    let draw_err = |path: &Path, message: String| PlotError::Draw {
        path: path.display().to_string(),
        message,
    };

    // PNG: drawn into an RGB buffer, encoded as `BitMapBackend` would encode
    // it into a file (the `image` crate's PNG encoder), written atomically.
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| draw_err(&png, e.to_string()))?;
        plot.draw(&root, Output::Png)
            .map_err(|e| draw_err(&png, e))?;
        root.present().map_err(|e| draw_err(&png, e.to_string()))?;
    }
    let mut file = AtomicFile::create(&png).map_err(|e| io_error(&png, e))?;
    {
        let mut out = BufWriter::new(&mut file);
        PngEncoder::new(&mut out)
            .write_image(&pixels, w, h, ColorType::Rgb8)
            .map_err(|e| draw_err(&png, e.to_string()))?;
        out.flush().map_err(|source| PlotError::Io {
            path: png.display().to_string(),
            source,
        })?;
    }
    file.commit().map_err(|e| io_error(&png, e))?;

    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| draw_err(&svg, e.to_string()))?;
        plot.draw(&root, Output::Svg)
            .map_err(|e| draw_err(&svg, e))?;
        root.present().map_err(|e| draw_err(&svg, e.to_string()))?;
    }
    write_atomic(&svg, text.as_bytes()).map_err(|e| io_error(&svg, e))?;
    Ok(vec![png, svg])
}

/// `stem` with `.suffix` appended to its file name.
fn with_suffix(stem: &Path, suffix: &str) -> PathBuf {
    let mut name = stem.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// A write error of the atomic writer as a [`PlotError::Io`] naming `path`.
fn io_error(path: &Path, e: wearlang_core::Error) -> PlotError {
    let source = match e {
        wearlang_core::Error::Io { cause, .. } => cause,
        other => std::io::Error::other(other.to_string()),
    };
    PlotError::Io {
        path: path.display().to_string(),
        source,
    }
}
