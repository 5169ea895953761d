//! High level (semantic) captions: labelled activities, sleep periods and
//! moods from the window's events.
use crate::config::{EventOrder, SemanticConfig};
use crate::templates::{
    ACTIVITY_EVENT, MOOD_EVENT, NO_EVENTS, SLEEP_EVENT, SUMMARY_ACTIVITY, SUMMARY_MOOD,
    SUMMARY_NO_ACTIVITY, SUMMARY_NO_MOOD, SUMMARY_NO_SLEEP, SUMMARY_SLEEP,
};
use crate::util::{check_window, derive_seed, fill, fill_into, join_and, pick, rng};
use crate::{Captioner, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use wearlang_core::{ChannelSpec, Event, EventKind, Window};

/// Salt of the semantic level's random stream.
pub(crate) const SALT: u64 = 0x5345_4d41;

/// Which high-level caption to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SemanticMode {
    /// One sentence per selected event ("high-all").
    All,
    /// Counts and totals per kind ("high-summary").
    Summary,
}

/// An event label as written in text: `_` becomes a space.
pub(crate) fn event_text(label: &str) -> std::borrow::Cow<'_, str> {
    let t = label.trim();
    if t.contains('_') {
        t.replace('_', " ").into()
    } else {
        t.into()
    }
}

/// Minutes from the window start, rounded.
pub(crate) fn minute_of(seconds: f64) -> i64 {
    (seconds / 60.0).round() as i64
}

/// The events a semantic caption describes, in the configured order:
/// activities lasting at least `min_activity_minutes` (at most
/// `max_activities`), sleep periods (at most `max_sleep`), moods (at most
/// `max_moods`). With the caps, the order decides which events are kept.
pub fn select_events<'a>(events: &'a [Event], cfg: &SemanticConfig) -> Vec<&'a Event> {
    let finite = |e: &&Event| e.start_s.is_finite() && e.end_s.is_finite() && e.end_s >= e.start_s;
    let order = |v: &mut Vec<&Event>| match cfg.order {
        EventOrder::DurationAscending => v.sort_by(|a, b| {
            a.duration_s()
                .total_cmp(&b.duration_s())
                .then(a.start_s.total_cmp(&b.start_s))
        }),
        EventOrder::DurationDescending => v.sort_by(|a, b| {
            b.duration_s()
                .total_cmp(&a.duration_s())
                .then(a.start_s.total_cmp(&b.start_s))
        }),
        EventOrder::Chronological => v.sort_by(|a, b| a.start_s.total_cmp(&b.start_s)),
    };
    let of_kind = |k: EventKind, cap: usize, min_s: f64| {
        let mut v: Vec<&Event> = events
            .iter()
            .filter(finite)
            .filter(|e| e.kind == k && e.duration_s() >= min_s)
            .collect();
        order(&mut v);
        v.truncate(cap);
        v
    };
    let mut all = of_kind(
        EventKind::Activity,
        cfg.max_activities,
        cfg.min_activity_minutes * 60.0,
    );
    all.extend(of_kind(EventKind::Sleep, cfg.max_sleep, 0.0));
    all.extend(of_kind(
        EventKind::Mood,
        cfg.max_moods.unwrap_or(usize::MAX),
        0.0,
    ));
    order(&mut all);
    all
}

/// High-level captioner.
#[derive(Debug, Clone)]
pub struct SemanticCaptioner {
    /// Parameters.
    pub config: SemanticConfig,
    /// All events or a summary.
    pub mode: SemanticMode,
}

impl Default for SemanticCaptioner {
    fn default() -> Self {
        Self::new(SemanticConfig::default(), SemanticMode::All)
    }
}

impl SemanticCaptioner {
    /// A captioner.
    pub fn new(config: SemanticConfig, mode: SemanticMode) -> Self {
        Self { config, mode }
    }

    fn all(&self, window: &Window, seed: u64) -> Result<String> {
        let mut r = rng(derive_seed(seed, SALT));
        let events = select_events(&window.events, &self.config);
        if events.is_empty() {
            return Ok(pick(&mut r, NO_EVENTS).to_string());
        }
        // One caption string; the numbers and labels go through two
        // reused buffers: no string per sentence.
        let mut out = String::with_capacity(64 * events.len());
        let (mut start, mut end) = (String::new(), String::new());
        for (i, e) in events.into_iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            start.clear();
            end.clear();
            let _ = write!(start, "{}", minute_of(e.start_s));
            let _ = write!(end, "{}", minute_of(e.end_s));
            let label = event_text(&e.label);
            match e.kind {
                EventKind::Activity => fill_into(
                    &mut out,
                    pick(&mut r, ACTIVITY_EVENT),
                    &[("activity", &label), ("start", &start), ("end", &end)],
                )?,
                EventKind::Sleep => fill_into(
                    &mut out,
                    pick(&mut r, SLEEP_EVENT),
                    &[("start", &start), ("end", &end)],
                )?,
                EventKind::Mood => fill_into(
                    &mut out,
                    pick(&mut r, MOOD_EVENT),
                    &[("mood", &label), ("time", &start)],
                )?,
            }
        }
        Ok(out)
    }

    fn summary(&self, window: &Window, seed: u64) -> Result<String> {
        let mut r = rng(derive_seed(seed, SALT ^ 2));
        let s = summarise(&window.events, &self.config);
        let mut out = Vec::with_capacity(3);
        out.push(if s.activities.is_empty() {
            pick(&mut r, SUMMARY_NO_ACTIVITY).to_string()
        } else {
            fill(
                pick(&mut r, SUMMARY_ACTIVITY),
                &[
                    ("n", &s.activity_bouts.to_string()),
                    ("list", &join_and(&s.activities)),
                ],
            )?
        });
        out.push(if s.sleep_periods == 0 {
            pick(&mut r, SUMMARY_NO_SLEEP).to_string()
        } else {
            fill(
                pick(&mut r, SUMMARY_SLEEP),
                &[
                    ("n", &s.sleep_periods.to_string()),
                    ("minutes", &s.sleep_minutes.to_string()),
                ],
            )?
        });
        out.push(if s.moods.is_empty() {
            pick(&mut r, SUMMARY_NO_MOOD).to_string()
        } else {
            fill(
                pick(&mut r, SUMMARY_MOOD),
                &[
                    ("n", &s.mood_entries.to_string()),
                    ("list", &join_and(&s.moods)),
                ],
            )?
        });
        Ok(out.join(" "))
    }
}

/// Counts and totals behind a high-level summary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventSummary {
    /// Activity bouts of at least the minimum duration.
    pub activity_bouts: usize,
    /// Their distinct labels, in order of first occurrence.
    pub activities: Vec<String>,
    /// Sleep periods.
    pub sleep_periods: usize,
    /// Total sleep in whole minutes.
    pub sleep_minutes: i64,
    /// Mood entries.
    pub mood_entries: usize,
    /// Distinct moods, in order of first occurrence.
    pub moods: Vec<String>,
}

/// Summarise events (all qualifying events, no caps).
pub fn summarise(events: &[Event], cfg: &SemanticConfig) -> EventSummary {
    let mut ev: Vec<&Event> = events
        .iter()
        .filter(|e| e.start_s.is_finite() && e.end_s.is_finite() && e.end_s >= e.start_s)
        .collect();
    ev.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    let mut s = EventSummary::default();
    let mut sleep_s = 0.0;
    for e in ev {
        let label = event_text(&e.label);
        match e.kind {
            EventKind::Activity if e.duration_s() >= cfg.min_activity_minutes * 60.0 => {
                s.activity_bouts += 1;
                if !s.activities.iter().any(|a| *a == label) {
                    s.activities.push(label.into_owned());
                }
            }
            EventKind::Activity => {}
            EventKind::Sleep => {
                s.sleep_periods += 1;
                sleep_s += e.duration_s();
            }
            EventKind::Mood => {
                s.mood_entries += 1;
                if !s.moods.iter().any(|m| *m == label) {
                    s.moods.push(label.into_owned());
                }
            }
        }
    }
    s.sleep_minutes = (sleep_s / 60.0).round() as i64;
    s
}

impl Captioner for SemanticCaptioner {
    fn name(&self) -> &str {
        match self.mode {
            SemanticMode::All => "high-all",
            SemanticMode::Summary => "high-summary",
        }
    }

    fn caption(&self, window: &Window, channels: &[ChannelSpec], seed: u64) -> Result<String> {
        check_window(window, channels)?;
        match self.mode {
            SemanticMode::All => self.all(window, seed),
            SemanticMode::Summary => self.summary(window, seed),
        }
    }
}
