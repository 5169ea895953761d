//! Text drawing. For PNG the text is rasterised here with the embedded
//! font through `ab_glyph` (sub-pixel glyph positions and kerning; plotters'
//! own `ab_glyph` text path drops each glyph's side bearing, which spaces
//! letters unevenly). For SVG it is a plotters `Text` element, i.e. a
//! `<text>` element the viewer renders.

use std::collections::HashMap;
use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

use crate::font::{DEJAVU_SANS, FAMILY};

/// The file being drawn: decides how text is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// A bitmap: text is rasterised with the embedded font.
    Png,
    /// A vector file: text stays text (`<text>` elements).
    Svg,
}

/// How a piece of text is drawn. `size` is the em size in pixels.
#[derive(Clone, Copy)]
pub(crate) struct TextSpec {
    pub size: f64,
    pub color: RGBColor,
    pub h: HPos,
    pub v: VPos,
    /// Rotated to read bottom to top (then always centred on the anchor).
    pub vertical: bool,
}

impl TextSpec {
    /// Horizontal text of em size `size`, anchored at `(h, v)`.
    pub fn new(size: f64, color: RGBColor, h: HPos, v: VPos) -> Self {
        TextSpec {
            size,
            color,
            h,
            v,
            vertical: false,
        }
    }

    /// Vertical text (reading bottom to top) centred on its anchor.
    pub fn vertical(size: f64, color: RGBColor) -> Self {
        TextSpec {
            size,
            color,
            h: HPos::Center,
            v: VPos::Center,
            vertical: true,
        }
    }
}

fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(DEJAVU_SANS).ok())
        .as_ref()
}

/// ab_glyph's scale (ascent − descent in pixels) for an em of `size` pixels.
fn scale(font: &FontRef, size: f64) -> PxScale {
    let upem = font.units_per_em().unwrap_or(2048.0);
    PxScale::from(size as f32 * font.height_unscaled() / upem)
}

/// Width and height (ascent − descent) in pixels of `s` at em size `size`,
/// unrotated.
pub(crate) fn measure(s: &str, size: f64) -> (f64, f64) {
    let Some(font) = font() else {
        return (s.chars().count() as f64 * size * 0.6, size * 1.2);
    };
    let sf = font.as_scaled(scale(font, size));
    let mut width = 0.0f32;
    let mut prev = None;
    for c in s.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            width += sf.kern(p, id);
        }
        width += sf.h_advance(id);
        prev = Some(id);
    }
    (width as f64, (sf.ascent() - sf.descent()) as f64)
}

/// Width of `s` in whole pixels (rounded up).
pub(crate) fn text_width(s: &str, size: f64) -> i32 {
    measure(s, size).0.ceil() as i32
}

/// Draw `s` on `area` at `pos` (pixels of `area`).
pub(crate) fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    output: Output,
    s: &str,
    pos: (i32, i32),
    spec: TextSpec,
) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    match (output, font()) {
        (Output::Png, Some(font)) => raster(area, font, s, pos, spec),
        _ => {
            let mut desc = (FAMILY, spec.size * 1.24).into_font();
            if spec.vertical {
                desc = desc.transform(FontTransform::Rotate270);
            }
            let style = TextStyle {
                font: desc,
                color: spec.color.to_backend_color(),
                pos: Pos::new(spec.h, spec.v),
            };
            area.draw(&Text::new(s.to_string(), pos, style))
                .map_err(|e| e.to_string())
        }
    }
}

fn raster<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    font: &FontRef<'static>,
    s: &str,
    pos: (i32, i32),
    spec: TextSpec,
) -> Result<(), String> {
    let sc = scale(font, spec.size);
    let sf = font.as_scaled(sc);
    let (width, _) = measure(s, spec.size);
    let left = match spec.h {
        HPos::Left => 0.0,
        HPos::Center => -width as f32 / 2.0,
        HPos::Right => -width as f32,
    };
    // Baseline below the anchor: Top = top of the ascent, Center = middle
    // of the digits / capitals, Bottom = bottom of the descent.
    let baseline = match spec.v {
        VPos::Top => sf.ascent(),
        VPos::Center => 0.36 * spec.size as f32,
        VPos::Bottom => sf.descent(),
    };
    // Coverage per pixel in the text's own frame (x right, y down).
    let mut coverage: HashMap<(i32, i32), f32> = HashMap::new();
    let mut x = left;
    let mut prev = None;
    for c in s.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            x += sf.kern(p, id);
        }
        let glyph = id.with_scale_and_position(sc, point(x, baseline));
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, cov| {
                let key = (b.min.x as i32 + gx as i32, b.min.y as i32 + gy as i32);
                *coverage.entry(key).or_insert(0.0) += cov;
            });
        }
        x += sf.h_advance(id);
        prev = Some(id);
    }
    for ((ox, oy), cov) in coverage {
        let cov = cov.min(1.0);
        if cov < 0.02 {
            continue;
        }
        let p = if spec.vertical {
            (pos.0 + oy, pos.1 - ox)
        } else {
            (pos.0 + ox, pos.1 + oy)
        };
        area.draw_pixel(p, &spec.color.mix(cov as f64))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_with_the_embedded_font() {
        assert!(font().is_some());
        let (w1, h) = measure("walking", 14.0);
        let (w2, _) = measure("walking walking", 14.0);
        assert!(w1 > 30.0 && w1 < 80.0, "{w1}");
        assert!(w2 > 2.0 * w1, "{w1} {w2}");
        assert!((h - 14.0 * 1.164).abs() < 0.5, "{h}");
        assert_eq!(measure("", 14.0).0, 0.0);
    }
}
