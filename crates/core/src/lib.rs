//! Shared types of wearlang, free of tensors so that every crate can use them.
//!
//! A [`Window`] is a fixed-length, multichannel slice of one recording, stored
//! time-major (`values[t * channels + c]`) together with a missingness mask
//! (`missing[t * channels + c] == true` where the value is NaN / not observed).
//! [`ChannelSpec`]s name the channels, [`LabelVocab`] maps labels to class
//! indices, [`SplitSpec`] assigns subjects or time ranges to
//! [`Split`]s, [`Normalisation`] holds per-channel statistics fitted on the
//! training split, and [`Event`]s carry ground truth (activities, sleep, moods)
//! of synthetic days. [`fs`] holds the one atomic file writer
//! ([`fs::write_atomic`], [`fs::AtomicFile`]) that every crate uses.
//!
//! ```
//! use wearlang_core::{ChannelKind, ChannelSpec, Window};
//!
//! let channels = vec![
//!     ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate),
//!     ChannelSpec::new("steps", "count", ChannelKind::Steps),
//! ];
//! let values = vec![60.0, 0.0, f32::NAN, 12.0];
//! let w = Window::from_values("s1", "day-0", 0, 1.0 / 60.0, 2, values).unwrap();
//! assert_eq!(w.len(), 2);
//! assert_eq!(w.missing_fraction(), 0.25);
//! assert_eq!(w.channel(0).collect::<Vec<_>>().len(), 2);
//! assert_eq!(channels[0].group, "Heart");
//! ```

mod channel;
mod error;
mod event;
pub mod fs;
pub mod guard;
pub mod hash;
mod label;
mod norm;
pub mod registry;
mod split;
pub mod units;
mod window;

pub use channel::{union_of_lists, ChannelKind, ChannelSpec};
pub use error::{Error, Location, Result};
pub use event::{Event, EventKind};
pub use label::{LabelVocab, MixedLabels};
pub use norm::{NormAccumulator, Normalisation};
pub use split::{evenly_spaced, Split, SplitSpec};
pub use window::Window;
