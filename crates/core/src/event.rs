//! Ground-truth events of a recording (activities, sleep, moods).
use serde::{Deserialize, Serialize};

/// The kind of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A labelled activity bout (walking, running, ...).
    Activity,
    /// A sleep period.
    Sleep,
    /// A logged mood (instantaneous: start == end).
    Mood,
}

/// An event in seconds from the start of the recording (or window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Kind.
    pub kind: EventKind,
    /// Label ("running", "sleep", "happy", ...).
    pub label: String,
    /// Start, seconds from the start of the window.
    pub start_s: f64,
    /// End (exclusive), seconds from the start of the window.
    pub end_s: f64,
}

impl Event {
    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.end_s - self.start_s
    }
    /// Start in whole minutes.
    pub fn start_min(&self) -> u32 {
        (self.start_s / 60.0).round() as u32
    }
    /// End in whole minutes.
    pub fn end_min(&self) -> u32 {
        (self.end_s / 60.0).round() as u32
    }
}
