//! Small shared helpers: seeding, number formatting, template filling and
//! template matching (used by the faithfulness checker).
use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wearlang_core::{ChannelSpec, Window};

/// SplitMix64 finaliser: a bijective 64-bit mixer.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A seed derived from `seed` and a salt (window index, caption level …).
pub fn derive_seed(seed: u64, salt: u64) -> u64 {
    splitmix64(seed ^ splitmix64(salt))
}

/// A seeded generator.
pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Pick one element of a non-empty slice.
pub(crate) fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// Format `x` with `decimals` decimals; `None` for NaN or infinities.
/// Negative zero is written as zero.
pub fn format_number(x: f64, decimals: usize) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    let s = format!("{x:.decimals$}");
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        Some(s[1..].to_string())
    } else {
        Some(s)
    }
}

/// The name of a channel as written in captions: underscores become spaces.
pub fn display_name(spec: &ChannelSpec) -> String {
    spec.name.replace('_', " ")
}

/// The unit slot value: `" unit"`, or empty when the channel has no unit.
pub(crate) fn unit_slot(spec: &ChannelSpec) -> String {
    if spec.unit.trim().is_empty() {
        String::new()
    } else {
        format!(" {}", spec.unit.trim())
    }
}

/// Slots that may be filled with an empty string.
const OPTIONAL_SLOTS: &[&str] = &["u"];

/// Slots holding numbers: matched as `-?digits(.digits)?`.
pub(crate) const NUMBER_SLOTS: &[&str] = &[
    "mean", "max", "min", "std", "start", "end", "time", "r", "n", "minutes",
];

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Lit(String),
    Slot(String),
}

/// The slot whose `{` is at `open` in `rest` (the unparsed end of
/// `template`): its name and the index of its `}` in `rest`.
fn slot_at<'a>(template: &str, rest: &'a str, open: usize) -> Result<(&'a str, usize)> {
    let close = rest[open..]
        .find('}')
        .ok_or_else(|| Error::param("template", format!("unclosed slot in '{template}'")))?
        + open;
    let name = &rest[open + 1..close];
    if name.is_empty() || name.contains('{') {
        return Err(Error::param(
            "template",
            format!("bad slot name in '{template}'"),
        ));
    }
    Ok((name, close))
}

/// Split a template into literals and `{slot}`s.
pub(crate) fn parse_template(template: &str) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Lit(rest[..open].to_string()));
        }
        let (name, close) = slot_at(template, rest, open)?;
        pieces.push(Piece::Slot(name.to_string()));
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err(Error::param(
            "template",
            format!("stray '}}' in '{template}'"),
        ));
    }
    if !rest.is_empty() {
        pieces.push(Piece::Lit(rest.to_string()));
    }
    Ok(pieces)
}

/// Fill `template` with `slots`; every slot must have a value, and only the
/// unit slot `{u}` may be empty. The first letter of the result is
/// capitalised (templates may start with a slot).
pub fn fill(template: &str, slots: &[(&str, &str)]) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 32);
    fill_into(&mut out, template, slots)?;
    Ok(out)
}

/// [`fill`], appending to `out` (the appended sentence capitalised): many
/// sentences into one caption without a string each.
pub fn fill_into(out: &mut String, template: &str, slots: &[(&str, &str)]) -> Result<()> {
    let start = out.len();
    fill_raw_into(out, template, slots)?;
    capitalise_from(out, start);
    Ok(())
}

/// [`fill`] without capitalisation (for clauses inside a sentence).
/// Parses the template as it fills it (the same rules and errors as
/// [`parse_template`]) without building its pieces: captions fill
/// thousands of templates a second.
pub fn fill_raw(template: &str, slots: &[(&str, &str)]) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 32);
    fill_raw_into(&mut out, template, slots)?;
    Ok(out)
}

/// [`fill_raw`], appending to `out` (on error `out` may hold part of it).
fn fill_raw_into(out: &mut String, template: &str, slots: &[(&str, &str)]) -> Result<()> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let (name, close) = slot_at(template, rest, open)?;
        let value = slots
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| Error::param("template", format!("no value for slot {{{name}}}")))?;
        if value.trim().is_empty() && !OPTIONAL_SLOTS.contains(&name) {
            return Err(Error::param(
                "template",
                format!("empty value for slot {{{name}}}"),
            ));
        }
        if value.contains(['{', '}']) {
            return Err(Error::param(
                "template",
                format!("value for slot {{{name}}} contains a brace"),
            ));
        }
        out.push_str(value);
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err(Error::param(
            "template",
            format!("stray '}}' in '{template}'"),
        ));
    }
    out.push_str(rest);
    Ok(())
}

/// Upper-case the first character of `s` at byte `start` or after, in
/// place (without reallocating when it is ASCII, as template text is).
fn capitalise_from(s: &mut String, start: usize) {
    let Some(first) = s[start..].chars().next() else {
        return;
    };
    if first.is_ascii() {
        s[start..start + 1].make_ascii_uppercase();
    } else {
        let upper: String = first.to_uppercase().collect();
        s.replace_range(start..start + first.len_utf8(), &upper);
    }
}

/// Lower-case the first character.
fn decapitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Length of the number at the start of `s` (`-?digits(.digits)?`), if any.
fn number_prefix(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i = 1;
    }
    let d0 = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == d0 {
        return None;
    }
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    Some(i)
}

/// Match `text` against a parsed template; on success, the slot values in
/// order. Matching ignores the case of the first character.
pub(crate) fn match_template(pieces: &[Piece], text: &str) -> Option<Vec<(String, String)>> {
    let text = decapitalise(text);
    let mut lowered = pieces.to_vec();
    if let Some(Piece::Lit(first)) = lowered.first_mut() {
        *first = decapitalise(first);
    }
    let mut caps = Vec::new();
    if match_rec(&lowered, &text, &mut caps) {
        Some(caps)
    } else {
        None
    }
}

fn match_rec(pieces: &[Piece], text: &str, caps: &mut Vec<(String, String)>) -> bool {
    let Some(first) = pieces.first() else {
        return text.is_empty();
    };
    match first {
        Piece::Lit(lit) => text
            .strip_prefix(lit.as_str())
            .is_some_and(|rest| match_rec(&pieces[1..], rest, caps)),
        Piece::Slot(name) => {
            if NUMBER_SLOTS.contains(&name.as_str()) {
                let Some(n) = number_prefix(text) else {
                    return false;
                };
                caps.push((name.clone(), text[..n].to_string()));
                if match_rec(&pieces[1..], &text[n..], caps) {
                    return true;
                }
                caps.pop();
                return false;
            }
            let optional = OPTIONAL_SLOTS.contains(&name.as_str());
            let min = usize::from(!optional);
            // Try every possible end of this slot, shortest first.
            let mut ends: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain(std::iter::once(text.len()))
                .filter(|&i| i >= min)
                .collect();
            if let Some(Piece::Lit(next)) = pieces.get(1) {
                ends.retain(|&i| text[i..].starts_with(next.as_str()));
            } else if pieces.len() == 1 {
                ends.retain(|&i| i == text.len());
            }
            for end in ends {
                caps.push((name.clone(), text[..end].to_string()));
                if match_rec(&pieces[1..], &text[end..], caps) {
                    return true;
                }
                caps.pop();
            }
            false
        }
    }
}

/// Split a caption into sentences: a sentence ends with `.`, `!` or `?`
/// followed by a space or the end of the text (decimal points are never
/// followed by a space). The terminating punctuation is kept.
pub fn split_sentences(caption: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = caption.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?') && (i + 1 == bytes.len() || bytes[i + 1] == b' ') {
            let s = caption[start..=i].trim();
            if !s.is_empty() {
                out.push(s.to_string());
            }
            start = i + 1;
        }
    }
    let tail = caption[start..].trim();
    if !tail.is_empty() {
        out.push(tail.to_string());
    }
    out
}

/// Check that a window and its channel specs agree.
pub(crate) fn check_window(window: &Window, channels: &[ChannelSpec]) -> Result<()> {
    if window.channels != channels.len() {
        return Err(Error::Shape(format!(
            "window {}/{} has {} channels but {} channel specs were given",
            window.subject,
            window.recording,
            window.channels,
            channels.len()
        )));
    }
    if window.values.len() != window.missing.len()
        || window.channels == 0
        || !window.values.len().is_multiple_of(window.channels)
    {
        return Err(Error::Shape(format!(
            "window {}/{}: {} values, {} mask entries, {} channels",
            window.subject,
            window.recording,
            window.values.len(),
            window.missing.len(),
            window.channels
        )));
    }
    if !(window.rate_hz.is_finite() && window.rate_hz > 0.0) {
        return Err(Error::param(
            "rate_hz",
            format!("must be > 0, got {}", window.rate_hz),
        ));
    }
    Ok(())
}

/// Join words as "a", "a and b", "a, b and c".
pub(crate) fn join_and(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_rejects_missing_and_empty_slots() {
        assert_eq!(
            fill("{a} x {b}", &[("a", "one"), ("b", "2")]).unwrap(),
            "One x 2"
        );
        assert!(fill("{a} x {b}", &[("a", "one")]).is_err());
        assert!(fill("{a} x", &[("a", " ")]).is_err());
        assert!(fill("{a x", &[("a", "1")]).is_err());
        assert!(fill("a} x", &[]).is_err());
        assert_eq!(
            fill("{mean}{u}.", &[("mean", "1.0"), ("u", "")]).unwrap(),
            "1.0."
        );
    }

    #[test]
    fn match_recovers_slots_and_rejects_other_text() {
        let p = parse_template("{channel} averaged {mean}{u} (max {max}).").unwrap();
        let text = fill(
            "{channel} averaged {mean}{u} (max {max}).",
            &[
                ("channel", "heart rate"),
                ("mean", "-72.5"),
                ("u", " bpm"),
                ("max", "90"),
            ],
        )
        .unwrap();
        let caps = match_template(&p, &text).unwrap();
        assert_eq!(
            caps,
            vec![
                ("channel".to_string(), "heart rate".to_string()),
                ("mean".to_string(), "-72.5".to_string()),
                ("u".to_string(), " bpm".to_string()),
                ("max".to_string(), "90".to_string()),
            ]
        );
        assert!(match_template(&p, "Heart rate averaged x bpm (max 90).").is_none());
        assert!(match_template(&p, "Heart rate averaged 72.5 bpm (max 90)").is_none());
    }

    #[test]
    fn sentences_split_on_terminal_punctuation_only() {
        let s = split_sentences("Mean was 72.5 bpm. Max 90.1. Done");
        assert_eq!(s, vec!["Mean was 72.5 bpm.", "Max 90.1.", "Done"]);
    }

    #[test]
    fn numbers_format_without_negative_zero_or_nan() {
        assert_eq!(format_number(-0.04, 1).unwrap(), "0.0");
        assert_eq!(format_number(-0.06, 1).unwrap(), "-0.1");
        assert!(format_number(f64::NAN, 1).is_none());
        assert!(format_number(f64::INFINITY, 1).is_none());
    }

    #[test]
    fn derived_seeds_differ() {
        assert_ne!(derive_seed(1, 0), derive_seed(1, 1));
        assert_ne!(derive_seed(1, 0), derive_seed(2, 0));
        assert_eq!(derive_seed(7, 3), derive_seed(7, 3));
    }
}
