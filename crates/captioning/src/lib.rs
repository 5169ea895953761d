//! Automatic text for wearable sensor windows.
//!
//! * SensorLM's hierarchy for minute-level days: [`StatisticalCaptioner`]
//!   (low: mean, max, min, std per channel), [`StructuralCaptioner`] (middle:
//!   trends and spikes/drops of the 36-point downsampled series),
//!   [`SemanticCaptioner`] (high: activities, sleep, moods), combined into
//!   eight named variants by [`HierarchicalCaptioner`].
//! * SensorLLM trend text for short high-rate windows: [`TrendCaptioner`].
//! * NLS activity text from labels: [`ActivityCaptioner`], the
//!   [`KnowledgeBase`] (`data/activities.toml`) and [`class_prompts`];
//!   LLM rewrites of its descriptions and templates in [`Paraphrases`]
//!   (`data/paraphrases.toml`, written by `wearlang paraphrase`).
//! * [`check_faithfulness`]: parse numbers and times back out of a caption
//!   and compare them with the data.
//!
//! Every captioner implements [`Captioner`]; captions are deterministic for a
//! seed, and [`caption_all`] captions many windows in parallel with the same
//! output as [`caption_all_sequential`]. The constants of the reference
//! algorithm are fields of [`CaptionConfig`] (defaults = reference values);
//! `docs/captioning.md` describes the algorithm.
//!
//! ```
//! use wearlang_captioning::{
//!     caption_all, check_faithfulness, CaptionVariant, Captioner, HierarchicalCaptioner,
//! };
//! use wearlang_core::{ChannelKind, ChannelSpec, Event, EventKind, Window};
//!
//! // A day of minute data: heart rate rising through the day, steps.
//! let channels = vec![
//!     ChannelSpec::new("heart_rate", "bpm", ChannelKind::HeartRate),
//!     ChannelSpec::new("steps", "count", ChannelKind::Steps),
//! ];
//! let values: Vec<f32> = (0..1440)
//!     .flat_map(|t| [60.0 + t as f32 / 24.0, (t % 7) as f32])
//!     .collect();
//! let mut day = Window::from_values("s1", "day-0", 0, 1.0 / 60.0, 2, values).unwrap();
//! day.events.push(Event {
//!     kind: EventKind::Activity,
//!     label: "running".into(),
//!     start_s: 600.0 * 60.0,
//!     end_s: 640.0 * 60.0,
//! });
//!
//! let captioner = HierarchicalCaptioner::new("high+middle+low".parse::<CaptionVariant>().unwrap());
//! let text = captioner.caption(&day, &channels, 42).unwrap();
//! assert!(text.contains("running") && text.contains("600") && text.contains("640"));
//! assert!(check_faithfulness(&text, &day, &channels).is_fully_verified());
//!
//! // Many windows in parallel, identical to the sequential run.
//! let texts = caption_all(&captioner, &[day.clone(), day], &channels, 42).unwrap();
//! assert_eq!(texts.len(), 2);
//! ```

mod activity;
pub mod bench_input;
mod config;
mod faithfulness;
mod hierarchical;
pub mod paraphrases;
pub mod peaks;
mod semantic;
mod statistical;
pub mod stats;
mod structural;
pub mod templates;
mod trend;
mod util;

pub use activity::{
    class_prompts, ActivityCaptioner, ActivityInfo, KnowledgeBase, PromptOptions, PromptTemplates,
    BUILTIN_KNOWLEDGE,
};
pub use config::{
    default_group_order, ActivityConfig, BinTime, CaptionConfig, EventOrder, GroupConfig,
    SemanticConfig, StatisticalConfig, StructuralConfig, TemplateChoice, TrendConfig,
};
pub use faithfulness::{check_faithfulness, check_faithfulness_with, Claim, FaithfulnessReport};
pub use hierarchical::{CaptionVariant, HierarchicalCaptioner, Level};
pub use paraphrases::Paraphrases;
pub use semantic::{select_events, summarise, EventSummary, SemanticCaptioner, SemanticMode};
pub use statistical::{channel_group, grouped_channels, StatisticalCaptioner};
pub use structural::{
    analyse_all, analyse_channel, Anomaly, AnomalyKind, ChannelStructure, StructuralCaptioner,
    Trend, TrendDirection,
};
pub use trend::{
    overall_trend, segments, BriefTrendCaptioner, Segment, SegmentKind, TrendCaptioner,
};
pub use util::{derive_seed, display_name, fill, format_number, split_sentences};
pub use wearlang_core::{Error, Result};

use rayon::prelude::*;
use wearlang_core::{ChannelSpec, Window};

/// Writes text for one window. Implementations are deterministic for a seed
/// and return an error (never panic) on bad input.
pub trait Captioner: Send + Sync {
    /// Short name, used as the caption column ("low", "high+middle+low",
    /// "trend", "activity" …).
    fn name(&self) -> &str;

    /// Caption `window` (its values, label and events) whose channels are
    /// described by `channels`.
    fn caption(&self, window: &Window, channels: &[ChannelSpec], seed: u64) -> Result<String>;
}

impl<C: Captioner + ?Sized> Captioner for &C {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn caption(&self, window: &Window, channels: &[ChannelSpec], seed: u64) -> Result<String> {
        (**self).caption(window, channels, seed)
    }
}

impl<C: Captioner + ?Sized> Captioner for Box<C> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn caption(&self, window: &Window, channels: &[ChannelSpec], seed: u64) -> Result<String> {
        (**self).caption(window, channels, seed)
    }
}

/// The seed of `window`'s caption under `seed`: derived from the window's
/// identity (subject, recording, start time), not its position, so a
/// window's caption is the same whether its store is captioned whole, in
/// batches, in another order or shard by shard.
pub fn window_seed(seed: u64, window: &Window) -> u64 {
    let mut h = wearlang_core::hash::Fnv1a::new();
    h.write_field(window.subject.as_bytes());
    h.write_field(window.recording.as_bytes());
    h.write_field(&window.start_ms.to_le_bytes());
    derive_seed(seed, h.finish())
}

/// Caption every window in parallel (rayon); each uses
/// [`window_seed`]`(seed, window)`, so the output equals
/// [`caption_all_sequential`]'s whatever the thread count, and a window's
/// caption does not depend on the batch it is in. The first error (by
/// window order) is returned.
pub fn caption_all<C: Captioner + ?Sized>(
    captioner: &C,
    windows: &[Window],
    channels: &[ChannelSpec],
    seed: u64,
) -> Result<Vec<String>> {
    windows
        .par_iter()
        .map(|w| captioner.caption(w, channels, window_seed(seed, w)))
        .collect::<Vec<Result<String>>>()
        .into_iter()
        .collect()
}

/// Caption a batch of windows (as [`caption_all`]) and store each caption
/// in `window.captions` under `name` (the caption column it will fill).
pub fn add_captions<C: Captioner + ?Sized>(
    captioner: &C,
    name: &str,
    windows: &mut [Window],
    channels: &[ChannelSpec],
    seed: u64,
) -> Result<()> {
    let texts = caption_all(captioner, windows, channels, seed)?;
    for (w, t) in windows.iter_mut().zip(texts) {
        w.captions.insert(name.to_string(), t);
    }
    Ok(())
}

/// The captioner of a variant name, as `wearlang caption --variant` takes
/// them: `trend` ([`TrendCaptioner`]), `trend_brief`
/// ([`BriefTrendCaptioner`]), `activity` ([`ActivityCaptioner`]) or
/// a hierarchical variant ([`CaptionVariant::parse`]: `low`, `middle`,
/// `high+middle+low` …), each configured from `config`.
pub fn captioner_for(name: &str, config: &CaptionConfig) -> Result<Box<dyn Captioner>> {
    Ok(match name {
        "trend" => Box::new(TrendCaptioner::new(config.trend.clone())),
        "trend_brief" => Box::new(BriefTrendCaptioner::new(config.trend.clone())),
        "activity" => Box::new(ActivityCaptioner::new(config.activity.clone())),
        other => Box::new(HierarchicalCaptioner::with_config(
            CaptionVariant::parse(other)?,
            config.clone(),
        )),
    })
}

/// The variants to caption a store with when none are asked for: the eight
/// hierarchical ones for minute-level data (below 0.1 Hz), `trend` for
/// high-rate windows (and `trend_brief`), plus `activity` when the store has
/// labels.
pub fn default_variants(rate_hz: f64, labelled: bool) -> Vec<String> {
    if rate_hz < 0.1 {
        CaptionVariant::ALL
            .iter()
            .map(|v| v.name().to_string())
            .collect()
    } else if labelled {
        vec!["trend".into(), "trend_brief".into(), "activity".into()]
    } else {
        vec!["trend".into(), "trend_brief".into()]
    }
}

/// Caption every window on the calling thread (same output as
/// [`caption_all`]).
pub fn caption_all_sequential<C: Captioner + ?Sized>(
    captioner: &C,
    windows: &[Window],
    channels: &[ChannelSpec],
    seed: u64,
) -> Result<Vec<String>> {
    windows
        .iter()
        .map(|w| captioner.caption(w, channels, window_seed(seed, w)))
        .collect()
}
