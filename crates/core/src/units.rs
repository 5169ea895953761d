//! Units of motion channels: the canonical unit of each kind, and the
//! factors between the spellings data sets use.
//!
//! Accelerometers are stored in standard gravity (`g`), gyroscopes in
//! `rad/s`. Other kinds have no canonical unit and are kept as they are.
use crate::{ChannelKind, ChannelSpec, Error, Result};

/// Standard gravity in m/s².
pub const STANDARD_GRAVITY: f64 = 9.806_65;

/// The canonical unit of a kind (`g`, `rad/s`), `None` for kinds that have
/// none.
pub fn canonical_unit(kind: ChannelKind) -> Option<&'static str> {
    match kind {
        ChannelKind::Accelerometer => Some("g"),
        ChannelKind::Gyroscope => Some("rad/s"),
        _ => None,
    }
}

/// A unit spelling reduced to compare: lower case, no spaces, `²` as `^2`,
/// `per`/`⁻¹` forms folded (`m s^-2` → `m/s^2`, `deg s-1` → `deg/s`).
fn fold(unit: &str) -> String {
    let u: String = unit
        .trim()
        .to_lowercase()
        .replace('²', "^2")
        .replace('°', "deg")
        .replace("⁻²", "^-2")
        .replace("⁻¹", "^-1")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    u.replace(" s^-2", "/s^2")
        .replace(" s-2", "/s^2")
        .replace(" s^-1", "/s")
        .replace(" s-1", "/s")
        .replace("/s2", "/s^2")
        .replace(' ', "")
}

/// How many canonical units one `unit` is, for a channel of `kind`; `None`
/// when the unit is not one this module knows for that kind.
pub fn factor_to_canonical(kind: ChannelKind, unit: &str) -> Option<f64> {
    let u = fold(unit);
    match kind {
        ChannelKind::Accelerometer => match u.as_str() {
            "g" | "g0" | "gn" => Some(1.0),
            "mg" | "milli-g" => Some(1e-3),
            "m/s^2" | "ms^-2" | "m/s/s" => Some(1.0 / STANDARD_GRAVITY),
            _ => None,
        },
        ChannelKind::Gyroscope => match u.as_str() {
            "rad/s" | "rads^-1" => Some(1.0),
            "deg/s" | "dps" | "degrees/s" | "degree/s" => Some(std::f64::consts::PI / 180.0),
            "mrad/s" => Some(1e-3),
            _ => None,
        },
        _ => None,
    }
}

/// The channel in its kind's canonical unit and the factor its values are
/// multiplied by. Channels of kinds without a canonical unit, and channels
/// without a unit, stay as they are (factor 1). A unit that cannot be
/// converted is an error naming the channel.
pub fn to_canonical(spec: &ChannelSpec) -> Result<(ChannelSpec, f64)> {
    let Some(canonical) = canonical_unit(spec.kind) else {
        return Ok((spec.clone(), 1.0));
    };
    if spec.unit.trim().is_empty() {
        return Ok((spec.clone(), 1.0));
    }
    let factor = factor_to_canonical(spec.kind, &spec.unit).ok_or_else(|| {
        Error::param(
            format!("channel {}", spec.name),
            format!(
                "unit '{}' of a {:?} channel cannot be converted to {canonical} \
                 (known: {}); give the unit in the manifest, or `units = \"as_is\"` \
                 to keep the values as they are",
                spec.unit,
                spec.kind,
                match spec.kind {
                    ChannelKind::Accelerometer => "g, mg, m/s^2",
                    _ => "rad/s, mrad/s, deg/s",
                }
            ),
        )
    })?;
    let mut out = spec.clone();
    out.unit = canonical.to_string();
    Ok((out, factor))
}

/// The factor from `from`'s unit to `to`'s, for two channels of the same
/// kind (1 when the units are spelled alike); `None` when either unit is
/// unknown or the kinds differ.
pub fn factor_between(from: &ChannelSpec, to: &ChannelSpec) -> Option<f64> {
    if fold(&from.unit) == fold(&to.unit) {
        return Some(1.0);
    }
    if from.kind != to.kind {
        return None;
    }
    Some(factor_to_canonical(from.kind, &from.unit)? / factor_to_canonical(to.kind, &to.unit)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn spellings_of_the_same_unit_convert_alike() {
        use ChannelKind::*;
        for u in ["m/s^2", "m/s²", "m s^-2", "m s-2", "M/S2", " m·s⁻²"] {
            let got = factor_to_canonical(Accelerometer, u);
            if u.contains('·') {
                assert_eq!(got, None, "{u}");
            } else {
                assert!(close(got.unwrap(), 1.0 / STANDARD_GRAVITY), "{u}");
            }
        }
        assert_eq!(factor_to_canonical(Accelerometer, "G"), Some(1.0));
        assert_eq!(factor_to_canonical(Accelerometer, "mg"), Some(1e-3));
        for u in ["deg/s", "°/s", "dps", "deg s-1"] {
            let f = factor_to_canonical(Gyroscope, u).unwrap();
            assert!(close(f, std::f64::consts::PI / 180.0), "{u}");
        }
        assert_eq!(factor_to_canonical(Gyroscope, "g"), None);
        assert_eq!(factor_to_canonical(HeartRate, "bpm"), None);
    }

    #[test]
    fn channels_go_to_canonical_units_or_fail_by_name() {
        let acc = ChannelSpec::new("ax", "m/s^2", ChannelKind::Accelerometer);
        let (spec, f) = to_canonical(&acc).unwrap();
        assert_eq!(spec.unit, "g");
        assert!(close(f, 1.0 / STANDARD_GRAVITY));
        // 1 g read in m/s² is 1 g again.
        assert!(close(STANDARD_GRAVITY * f, 1.0));
        let hr = ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate);
        assert_eq!(to_canonical(&hr).unwrap(), (hr.clone(), 1.0));
        let bare = ChannelSpec::new("ax", "", ChannelKind::Accelerometer);
        assert_eq!(to_canonical(&bare).unwrap(), (bare.clone(), 1.0));
        let odd = ChannelSpec::new("gz", "furlongs", ChannelKind::Gyroscope);
        let err = to_canonical(&odd).unwrap_err().to_string();
        assert!(err.contains("gz") && err.contains("furlongs"), "{err}");
        let deg = ChannelSpec::new("gz", "deg/s", ChannelKind::Gyroscope);
        let rad = ChannelSpec::new("wz", "rad/s", ChannelKind::Gyroscope);
        assert!(close(
            factor_between(&deg, &rad).unwrap(),
            std::f64::consts::PI / 180.0
        ));
        assert_eq!(factor_between(&rad, &rad), Some(1.0));
        assert_eq!(factor_between(&hr, &rad), None);
    }
}
