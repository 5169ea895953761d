//! Deterministic day-long inputs for the captioning benchmark, defined by
//! closed formulas so that `benches/reference_caption.py` regenerates the
//! same values in numpy: 1440 minutes × 34 channels in six groups, a daily
//! cycle plus hashed noise, rare spikes, two 45-minute gaps per channel, and
//! a few activity, sleep and mood events.
use crate::util::splitmix64;
use wearlang_core::{ChannelKind, ChannelSpec, Event, EventKind, Window};

/// Minutes per benchmark day.
pub const MINUTES: usize = 1440;

/// The 34 benchmark channels: (name, unit, kind, group).
const CHANNELS: [(&str, &str, ChannelKind, &str); 34] = [
    ("heart_rate", "bpm", ChannelKind::HeartRate, "Heart"),
    ("resting_heart_rate", "bpm", ChannelKind::HeartRate, "Heart"),
    ("hrv_rmssd", "ms", ChannelKind::Other, "Heart"),
    ("hrv_sdnn", "ms", ChannelKind::Other, "Heart"),
    ("rr_interval", "ms", ChannelKind::Other, "Heart"),
    ("hr_zone", "", ChannelKind::Other, "Heart"),
    ("steps", "count", ChannelKind::Steps, "Activity"),
    (
        "activity_intensity",
        "METs",
        ChannelKind::ActivityIntensity,
        "Activity",
    ),
    ("calories", "kcal", ChannelKind::Other, "Activity"),
    ("distance", "m", ChannelKind::Other, "Activity"),
    ("floors", "count", ChannelKind::Other, "Activity"),
    ("active_minutes", "min", ChannelKind::Other, "Activity"),
    ("cadence", "spm", ChannelKind::Other, "Activity"),
    ("sedentary_minutes", "min", ChannelKind::Other, "Activity"),
    ("vo2_estimate", "ml/kg/min", ChannelKind::Other, "Activity"),
    ("met_minutes", "MET-min", ChannelKind::Other, "Activity"),
    ("sleep", "", ChannelKind::Sleep, "Sleep"),
    ("sleep_stage", "", ChannelKind::Sleep, "Sleep"),
    ("sleep_probability", "", ChannelKind::Sleep, "Sleep"),
    ("sleep_movement", "", ChannelKind::Sleep, "Sleep"),
    (
        "skin_temperature",
        "°C",
        ChannelKind::SkinTemperature,
        "Temperature",
    ),
    (
        "wrist_temperature",
        "°C",
        ChannelKind::SkinTemperature,
        "Temperature",
    ),
    (
        "ambient_temperature",
        "°C",
        ChannelKind::Other,
        "Temperature",
    ),
    ("eda_level", "µS", ChannelKind::Eda, "EDA"),
    ("eda_tonic", "µS", ChannelKind::Eda, "EDA"),
    ("eda_phasic", "µS", ChannelKind::Eda, "EDA"),
    ("scr_count", "count", ChannelKind::Eda, "EDA"),
    ("scr_amplitude", "µS", ChannelKind::Eda, "EDA"),
    ("eda_slope", "µS/min", ChannelKind::Eda, "EDA"),
    ("acc_x", "g", ChannelKind::Accelerometer, "Motion"),
    ("acc_y", "g", ChannelKind::Accelerometer, "Motion"),
    ("acc_z", "g", ChannelKind::Accelerometer, "Motion"),
    ("acc_magnitude", "g", ChannelKind::Accelerometer, "Motion"),
    ("gyro_magnitude", "rad/s", ChannelKind::Gyroscope, "Motion"),
];

/// The 34 benchmark channel specs.
pub fn channels() -> Vec<ChannelSpec> {
    CHANNELS
        .iter()
        .map(|(name, unit, kind, group)| {
            let mut s = ChannelSpec::new(*name, *unit, *kind);
            s.group = group.to_string();
            s
        })
        .collect()
}

/// Uniform in [0, 1) from a hash of (day, channel, minute, salt).
pub fn uniform(day: u64, c: u64, t: u64, salt: u64) -> f64 {
    let h = splitmix64(
        day.wrapping_mul(1_000_003)
            .wrapping_add(c.wrapping_mul(10_007))
            .wrapping_add(t)
            .wrapping_add(salt.wrapping_mul(0x1000_0000)),
    );
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// The value of channel `c` at minute `t` of `day` (NaN when missing).
pub fn value(day: u64, c: u64, t: u64) -> f64 {
    if (t + 97 * day + 31 * c) % 720 < 45 {
        return f64::NAN;
    }
    let base = 10.0 + 5.0 * c as f64;
    let amp = 1.0 + (c % 7) as f64;
    let phase =
        2.0 * std::f64::consts::PI * t as f64 / MINUTES as f64 + 0.7 * c as f64 + 0.3 * day as f64;
    let mut v = base + amp * phase.sin() + 0.3 * amp * (uniform(day, c, t, 0) - 0.5);
    if uniform(day, c, t, 1) < 0.002 {
        v += 40.0 * amp;
    }
    v
}

/// Events of a benchmark day (seconds from the start of the day).
pub fn events(day: u64) -> Vec<Event> {
    let m = |x: u64| x as f64 * 60.0;
    let run = 300 + (17 * day) % 200;
    vec![
        Event {
            kind: EventKind::Sleep,
            label: "sleep".into(),
            start_s: 0.0,
            end_s: m(360),
        },
        Event {
            kind: EventKind::Activity,
            label: "running".into(),
            start_s: m(run),
            end_s: m(run + 35),
        },
        Event {
            kind: EventKind::Activity,
            label: "walking".into(),
            start_s: m(700),
            end_s: m(725),
        },
        Event {
            kind: EventKind::Activity,
            label: "cycling".into(),
            start_s: m(900),
            end_s: m(910),
        },
        Event {
            kind: EventKind::Mood,
            label: "happy".into(),
            start_s: m(600),
            end_s: m(600),
        },
        Event {
            kind: EventKind::Sleep,
            label: "sleep".into(),
            start_s: m(1380),
            end_s: m(1440),
        },
    ]
}

/// Benchmark day `day`: a 1440 × 34 window at one sample per minute with its
/// events.
pub fn day(day: u64) -> Window {
    let n = CHANNELS.len();
    let mut values = Vec::with_capacity(MINUTES * n);
    for t in 0..MINUTES as u64 {
        for c in 0..n as u64 {
            values.push(value(day, c, t) as f32);
        }
    }
    let missing = values.iter().map(|v| v.is_nan()).collect();
    Window {
        subject: "bench".into(),
        recording: format!("day-{day}"),
        start_ms: 0,
        rate_hz: 1.0 / 60.0,
        channels: n,
        values,
        missing,
        label: None,
        split: wearlang_core::Split::Train,
        events: events(day),
        captions: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_are_deterministic_and_have_gaps() {
        let a = super::day(3);
        let b = super::day(3);
        assert_eq!(a.values.len(), 1440 * 34);
        assert!(a
            .values
            .iter()
            .zip(&b.values)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
        let f = a.missing_fraction();
        assert!(f > 0.05 && f < 0.08, "{f}");
        a.validate().unwrap();
        assert_ne!(super::day(4).values[5], a.values[5]);
    }
}
