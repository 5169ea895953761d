//! Channel specifications.
use serde::{Deserialize, Serialize};

/// What a channel measures. Used for grouping (captions), augmentation (IMU
/// rotations) and defaults (units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Accelerometer axis (g or m/s²).
    Accelerometer,
    /// Gyroscope axis (rad/s or deg/s).
    Gyroscope,
    /// Magnetometer axis.
    Magnetometer,
    /// Heart rate (bpm).
    HeartRate,
    /// Step count per sample period.
    Steps,
    /// Sleep indicator or stage.
    Sleep,
    /// Activity intensity (e.g. METs).
    ActivityIntensity,
    /// Skin temperature.
    SkinTemperature,
    /// Electrodermal activity.
    Eda,
    /// Anything else.
    Other,
}

impl ChannelKind {
    /// The caption group a channel of this kind belongs to by default.
    pub fn default_group(self) -> &'static str {
        match self {
            ChannelKind::Accelerometer | ChannelKind::Gyroscope | ChannelKind::Magnetometer => {
                "Motion"
            }
            ChannelKind::HeartRate => "Heart",
            ChannelKind::Steps | ChannelKind::ActivityIntensity => "Activity",
            ChannelKind::Sleep => "Sleep",
            ChannelKind::SkinTemperature => "Temperature",
            ChannelKind::Eda => "EDA",
            ChannelKind::Other => "Other",
        }
    }

    /// Parse a kind from its snake_case name; unknown names give [`ChannelKind::Other`].
    pub fn parse(name: &str) -> ChannelKind {
        serde_json::from_value(serde_json::Value::String(name.to_ascii_lowercase()))
            .unwrap_or(ChannelKind::Other)
    }
}

/// One channel: its name, unit, kind and caption group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelSpec {
    /// Column name.
    pub name: String,
    /// Unit ("g", "rad/s", "bpm", ...).
    pub unit: String,
    /// What it measures.
    pub kind: ChannelKind,
    /// Caption group ("Heart", "Activity", ...).
    pub group: String,
    /// Where on the body the sensor was worn ("wrist", "waist", ...), if
    /// known. A model trained on several data sets lists every location it
    /// saw, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The device that recorded it ("smartwatch", "smartphone", ...), if
    /// known; comma-separated as `location` for a model of several data sets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

impl ChannelSpec {
    /// A channel in the default group of its kind.
    pub fn new(name: impl Into<String>, unit: impl Into<String>, kind: ChannelKind) -> Self {
        Self {
            name: name.into(),
            unit: unit.into(),
            kind,
            group: kind.default_group().to_string(),
            location: None,
            device: None,
        }
    }

    /// Where and on what the channel was recorded, as one phrase ("wrist,
    /// smartwatch"); `None` when neither is known.
    pub fn placement(&self) -> Option<String> {
        match (&self.location, &self.device) {
            (Some(l), Some(d)) => Some(format!("{l}, {d}")),
            (Some(x), None) | (None, Some(x)) => Some(x.clone()),
            (None, None) => None,
        }
    }

    /// Whether `self` (a model's channel) was trained on data worn at
    /// `other`'s location: true when either location is unknown.
    pub fn seen_at(&self, other: &ChannelSpec) -> bool {
        match (&self.location, &other.location) {
            (Some(mine), Some(theirs)) => mine
                .split(',')
                .any(|l| l.trim().eq_ignore_ascii_case(theirs.trim())),
            _ => true,
        }
    }
}

/// The union of comma-separated lists `a` and `b` (order of first
/// appearance, case-insensitive), `None` when both are.
pub fn union_of_lists(a: Option<&str>, b: Option<&str>) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    for item in a.into_iter().chain(b).flat_map(|s| s.split(',')) {
        let item = item.trim();
        if !item.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(item)) {
            out.push(item.to_string());
        }
    }
    (!out.is_empty()).then(|| out.join(", "))
}

impl ChannelSpec {
    /// The axis of a motion channel (accelerometer, gyroscope,
    /// magnetometer) whose name ends in `x`, `y` or `z` (`ax`, `acc_x`,
    /// `gyro-Y`); `None` for other channels.
    pub fn axis(&self) -> Option<char> {
        let motion = matches!(
            self.kind,
            ChannelKind::Accelerometer | ChannelKind::Gyroscope | ChannelKind::Magnetometer
        );
        let last = self.name.chars().last()?.to_ascii_lowercase();
        (motion && matches!(last, 'x' | 'y' | 'z')).then_some(last)
    }

    /// The channel's identity across data sets: kind and axis for motion
    /// channels (`accelerometer_x`: the same for `ax`, `acc_x` or
    /// `Accel-X`), kind for the other known kinds (`heart_rate`), the
    /// lower-case name for [`ChannelKind::Other`]. Units are not part of
    /// it: stores are normalised per channel with their own statistics.
    pub fn canonical(&self) -> String {
        let kind = serde_json::to_value(self.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match (self.kind, self.axis()) {
            (ChannelKind::Other, _) => self.name.to_lowercase(),
            (_, Some(a)) => format!("{kind}_{a}"),
            _ => kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names_ignore_naming_conventions() {
        let acc = |n: &str| ChannelSpec::new(n, "g", ChannelKind::Accelerometer);
        for n in ["ax", "acc_x", "Accel-X"] {
            assert_eq!(acc(n).canonical(), "accelerometer_x", "{n}");
        }
        assert_eq!(
            ChannelSpec::new("wz", "rad/s", ChannelKind::Gyroscope).canonical(),
            "gyroscope_z"
        );
        assert_eq!(acc("magnitude").axis(), None);
        assert_eq!(acc("magnitude").canonical(), "accelerometer");
        assert_eq!(
            ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate).canonical(),
            "heart_rate"
        );
        assert_eq!(
            ChannelSpec::new("Lux", "lx", ChannelKind::Other).canonical(),
            "lux"
        );
    }

    #[test]
    fn placements_join_and_match() {
        let mut wrist = ChannelSpec::new("ax", "g", ChannelKind::Accelerometer);
        assert_eq!(wrist.placement(), None);
        wrist.location = Some("wrist".into());
        wrist.device = Some("smartwatch".into());
        assert_eq!(wrist.placement().as_deref(), Some("wrist, smartwatch"));
        let mut waist = wrist.clone();
        waist.location = Some("Waist".into());
        assert!(!wrist.seen_at(&waist));
        let both = union_of_lists(wrist.location.as_deref(), Some("waist, wrist"));
        assert_eq!(both.as_deref(), Some("wrist, waist"));
        let mut model = wrist.clone();
        model.location = both;
        assert!(model.seen_at(&waist) && model.seen_at(&wrist));
        let unknown = ChannelSpec::new("ax", "g", ChannelKind::Accelerometer);
        assert!(unknown.seen_at(&waist) && wrist.seen_at(&unknown));
        assert_eq!(union_of_lists(None, Some(" ,")), None);
    }

    #[test]
    fn kinds_parse_and_group() {
        assert_eq!(ChannelKind::parse("heart_rate"), ChannelKind::HeartRate);
        assert_eq!(ChannelKind::parse("Gyroscope"), ChannelKind::Gyroscope);
        assert_eq!(ChannelKind::parse("banana"), ChannelKind::Other);
        assert_eq!(ChannelKind::Steps.default_group(), "Activity");
    }
}
