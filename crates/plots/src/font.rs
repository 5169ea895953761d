//! The embedded font (DejaVu Sans, see `assets/README.md`), registered with
//! plotters' `ab_glyph` text renderer as the `sans-serif` family.

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle};

use crate::{PlotError, Result};

/// The font file, compiled into the crate.
pub(crate) static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// The family name under which the font is registered and that every plot
/// uses.
pub(crate) const FAMILY: &str = "sans-serif";

/// Register the embedded font once per process (later calls are free).
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            for style in [FontStyle::Normal, FontStyle::Bold] {
                register_font(FAMILY, style, DEJAVU_SANS)
                    .map_err(|_| "the embedded DejaVu Sans font did not parse".to_string())?;
            }
            Ok(())
        })
        .clone()
        .map_err(|message| PlotError::Draw {
            path: "(font)".into(),
            message,
        })
}
