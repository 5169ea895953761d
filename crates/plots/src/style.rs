//! Colours, text styles and text measuring shared by the plots.

use plotters::prelude::*;

/// Series colours: matplotlib's `tab10` palette (colour-blind friendlier
/// than pure hues), cycled.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of series `i`.
pub(crate) fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// matplotlib's sequential `Blues` colour map, stops at 0, 1/8, ..., 1.
const BLUES: [(u8, u8, u8); 9] = [
    (247, 251, 255),
    (222, 235, 247),
    (198, 219, 239),
    (158, 202, 225),
    (107, 174, 214),
    (66, 146, 198),
    (33, 113, 181),
    (8, 81, 156),
    (8, 48, 107),
];

/// The `Blues` colour of `t ∈ [0, 1]` (clamped), linearly interpolated.
pub(crate) fn blues(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (BLUES.len() - 1) as f64;
    let i = (x.floor() as usize).min(BLUES.len() - 2);
    let f = x - i as f64;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Dark grey used for text and axes.
pub(crate) const INK: RGBColor = RGBColor(34, 34, 34);
/// Light grey used for grid lines.
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);

/// Title text size (em, pixels).
pub(crate) const TITLE_SIZE: f64 = 19.0;
/// Axis-title text size (em, pixels).
pub(crate) const LABEL_SIZE: f64 = 15.0;
/// Tick-label and legend text size (em, pixels).
pub(crate) const TICK_SIZE: f64 = 13.5;

/// `s` shortened to at most `max` characters, ending in "…" when cut.
pub(crate) fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_map_ends_and_middle() {
        assert_eq!(blues(0.0), RGBColor(247, 251, 255));
        assert_eq!(blues(1.0), RGBColor(8, 48, 107));
        assert_eq!(blues(0.5), RGBColor(107, 174, 214));
        assert_eq!(blues(f64::NAN), blues(0.0));
        assert_eq!(series_color(10), series_color(0));
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(ellipsize("abc", 4), "abc");
    }
}
