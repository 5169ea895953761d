//! The eight caption variants of SensorLM's hierarchy.
use crate::config::CaptionConfig;
use crate::semantic::{SemanticCaptioner, SemanticMode};
use crate::statistical::StatisticalCaptioner;
use crate::structural::StructuralCaptioner;
use crate::{Captioner, Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use wearlang_core::{ChannelSpec, Window};

/// A combination of caption levels. In combinations, "high" is the full
/// event list (high-all) and the parts come high, middle, low.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CaptionVariant {
    /// Statistical only.
    #[serde(rename = "low")]
    Low,
    /// Structural only.
    #[serde(rename = "middle")]
    Middle,
    /// Semantic summary (counts and totals).
    #[serde(rename = "high-summary")]
    HighSummary,
    /// Semantic, every selected event.
    #[serde(rename = "high-all")]
    HighAll,
    /// Structural then statistical.
    #[serde(rename = "middle+low")]
    MiddleLow,
    /// Semantic then statistical.
    #[serde(rename = "high+low")]
    HighLow,
    /// Semantic then structural.
    #[serde(rename = "high+middle")]
    HighMiddle,
    /// All three levels.
    #[serde(rename = "high+middle+low")]
    HighMiddleLow,
}

impl CaptionVariant {
    /// Every variant.
    pub const ALL: [CaptionVariant; 8] = [
        CaptionVariant::Low,
        CaptionVariant::Middle,
        CaptionVariant::HighSummary,
        CaptionVariant::HighAll,
        CaptionVariant::MiddleLow,
        CaptionVariant::HighLow,
        CaptionVariant::HighMiddle,
        CaptionVariant::HighMiddleLow,
    ];

    /// The variant's name ("high+middle+low" …).
    pub fn name(self) -> &'static str {
        match self {
            CaptionVariant::Low => "low",
            CaptionVariant::Middle => "middle",
            CaptionVariant::HighSummary => "high-summary",
            CaptionVariant::HighAll => "high-all",
            CaptionVariant::MiddleLow => "middle+low",
            CaptionVariant::HighLow => "high+low",
            CaptionVariant::HighMiddle => "high+middle",
            CaptionVariant::HighMiddleLow => "high+middle+low",
        }
    }

    /// Parse a name (case-insensitive, surrounding spaces ignored).
    pub fn parse(name: &str) -> Result<Self> {
        let key = name.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|v| v.name() == key)
            .ok_or_else(|| {
                Error::param(
                    "variant",
                    format!(
                        "unknown caption variant '{name}' (expected one of: {})",
                        Self::ALL.map(|v| v.name()).join(", ")
                    ),
                )
            })
    }

    /// The levels in caption order.
    pub fn levels(self) -> &'static [Level] {
        use Level::*;
        match self {
            CaptionVariant::Low => &[Low],
            CaptionVariant::Middle => &[Middle],
            CaptionVariant::HighSummary => &[HighSummary],
            CaptionVariant::HighAll => &[HighAll],
            CaptionVariant::MiddleLow => &[Middle, Low],
            CaptionVariant::HighLow => &[HighAll, Low],
            CaptionVariant::HighMiddle => &[HighAll, Middle],
            CaptionVariant::HighMiddleLow => &[HighAll, Middle, Low],
        }
    }
}

/// One level of the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Statistical.
    Low,
    /// Structural.
    Middle,
    /// Semantic summary.
    HighSummary,
    /// Semantic, all events.
    HighAll,
}

impl fmt::Display for CaptionVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CaptionVariant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// A caption variant: the levels' captions joined with spaces. Each level
/// draws from its own seeded stream, so a combination equals the
/// concatenation of its levels captioned alone with the same seed.
#[derive(Debug, Clone)]
pub struct HierarchicalCaptioner {
    /// Which levels.
    pub variant: CaptionVariant,
    /// Parameters of every level.
    pub config: CaptionConfig,
}

impl HierarchicalCaptioner {
    /// A captioner with the default (reference) parameters.
    pub fn new(variant: CaptionVariant) -> Self {
        Self::with_config(variant, CaptionConfig::default())
    }

    /// A captioner with `config`.
    pub fn with_config(variant: CaptionVariant, config: CaptionConfig) -> Self {
        Self { variant, config }
    }

    /// Caption one level.
    pub fn caption_level(
        &self,
        level: Level,
        window: &Window,
        channels: &[ChannelSpec],
        seed: u64,
    ) -> Result<String> {
        let c = &self.config;
        match level {
            Level::Low => StatisticalCaptioner {
                config: c.statistical.clone(),
                groups: c.groups.clone(),
            }
            .caption(window, channels, seed),
            Level::Middle => StructuralCaptioner {
                config: c.structural.clone(),
                groups: c.groups.clone(),
            }
            .caption(window, channels, seed),
            Level::HighSummary => SemanticCaptioner::new(c.semantic.clone(), SemanticMode::Summary)
                .caption(window, channels, seed),
            Level::HighAll => SemanticCaptioner::new(c.semantic.clone(), SemanticMode::All)
                .caption(window, channels, seed),
        }
    }
}

impl Captioner for HierarchicalCaptioner {
    fn name(&self) -> &str {
        self.variant.name()
    }

    fn caption(&self, window: &Window, channels: &[ChannelSpec], seed: u64) -> Result<String> {
        let mut parts = Vec::with_capacity(3);
        for &level in self.variant.levels() {
            let text = self.caption_level(level, window, channels, seed)?;
            if !text.is_empty() {
                parts.push(text);
            }
        }
        Ok(parts.join(" "))
    }
}
