//! Cell parsing: fast float paths, ISO-8601 timestamps, name suggestions.

/// What a numeric cell turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    /// A finite value or NaN (missing).
    Value(f32),
    /// An infinity: an error for the caller to report.
    Infinite,
    /// Not a number at all.
    Invalid,
}

const POW10_F32: [f32; 11] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// True when a cell spells a missing value (empty, NaN, NA, null).
pub(crate) fn is_missing_token(s: &[u8]) -> bool {
    s.is_empty()
        || s.eq_ignore_ascii_case(b"nan")
        || s.eq_ignore_ascii_case(b"na")
        || s.eq_ignore_ascii_case(b"null")
        || s.eq_ignore_ascii_case(b"none")
        || s.eq_ignore_ascii_case(b"-nan")
}

/// Parse a cell as `f32`. Empty cells and NaN spellings give NaN; the fast
/// path (at most 7 significant digits, no exponent) is exact, everything
/// else goes through the standard library's correctly rounded parser.
pub(crate) fn parse_f32(cell: &[u8]) -> Num {
    let s = trim(cell);
    if let Some(v) = fast_f32(s) {
        return Num::Value(v);
    }
    if is_missing_token(s) {
        return Num::Value(f32::NAN);
    }
    match std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse::<f32>().ok())
    {
        Some(v) if v.is_infinite() => Num::Infinite,
        Some(v) => Num::Value(v),
        None => Num::Invalid,
    }
}

/// `[+-]digits[.digits]` whose digits, read as one integer, are below
/// 2^24, with at most 10 after the point: that integer and the power of ten
/// are exact in `f32`, so one (correctly rounded) division gives the
/// correctly rounded value, as the standard parser would. `None` for
/// anything else (exponents, more digits, other characters).
fn fast_f32(s: &[u8]) -> Option<f32> {
    let (neg, d) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if d.len() > 18 {
        return None; // cannot overflow u64 below
    }
    let mut mant: u64 = 0;
    let mut i = 0;
    while let Some(&b) = d.get(i).filter(|b| b.is_ascii_digit()) {
        mant = mant * 10 + u64::from(b - b'0');
        i += 1;
    }
    let int_digits = i;
    let mut frac = 0;
    if d.get(i) == Some(&b'.') {
        i += 1;
        let first = i;
        while let Some(&b) = d.get(i).filter(|b| b.is_ascii_digit()) {
            mant = mant * 10 + u64::from(b - b'0');
            i += 1;
        }
        frac = i - first;
    }
    if i != d.len() || int_digits + frac == 0 || frac > 10 || mant >= 1 << 24 {
        return None;
    }
    let v = mant as f32 / POW10_F32[frac];
    Some(if neg { -v } else { v })
}

/// Parse a cell as `f64` (timestamps). `None` when it is not a number.
pub(crate) fn parse_f64(cell: &[u8]) -> Option<f64> {
    let s = trim(cell);
    if s.is_empty() {
        return None;
    }
    // Integers (epoch ms) first: exact and quick.
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
        // At most 18 digits fit in i64; checked all the same.
        let v = num(digits)?;
        return Some(if neg { -(v as f64) } else { v as f64 });
    }
    let t = std::str::from_utf8(s).ok()?;
    // Reject words the std parser accepts ("inf", "nan"): not timestamps.
    if !t.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d`.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A non-empty run of ASCII digits as a number (`None` otherwise or when it
/// overflows).
pub(crate) fn num(s: &[u8]) -> Option<i64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Checked: a number too long for i64 is not a number (it wrapped).
    s.iter().try_fold(0i64, |a, &b| {
        a.checked_mul(10)?.checked_add((b - b'0') as i64)
    })
}

/// Parse an ISO-8601 date-time (`YYYY-MM-DD`, optionally `[T ]hh:mm[:ss[.fff]]`
/// and `Z` or `±hh:mm`) to milliseconds since the Unix epoch (UTC; no zone
/// means UTC).
pub(crate) fn parse_iso8601_ms(cell: &[u8]) -> Option<f64> {
    let s = trim(cell);
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) as f64 * 86_400_000.0;
    let mut rest = &s[10..];
    if rest.is_empty() {
        return Some(ms);
    }
    if rest[0] != b'T' && rest[0] != b't' && rest[0] != b' ' {
        return None;
    }
    rest = &rest[1..];
    if rest.len() < 5 || rest[2] != b':' {
        return None;
    }
    let (h, mi) = (num(&rest[0..2])?, num(&rest[3..5])?);
    if h > 23 || mi > 59 {
        return None;
    }
    ms += (h * 3_600_000 + mi * 60_000) as f64;
    rest = &rest[5..];
    if rest.len() >= 3 && rest[0] == b':' {
        let sec = num(&rest[1..3])?;
        if sec > 60 {
            return None;
        }
        ms += (sec * 1000) as f64;
        rest = &rest[3..];
        if let [b'.' | b',', tail @ ..] = rest {
            let n = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if n == 0 {
                return None;
            }
            // Nanoseconds at most; further digits are below f64's
            // resolution of a timestamp (and 19 of them overflowed i64).
            let used = n.min(9);
            let frac = num(&tail[..used])? as f64 / 10f64.powi(used as i32);
            ms += frac * 1000.0;
            rest = &tail[n..];
        }
    }
    match rest {
        [] | [b'Z'] | [b'z'] => Some(ms),
        [sign @ (b'+' | b'-'), tz @ ..] => {
            let (oh, om) = match tz.len() {
                2 => (num(tz)?, 0),
                4 => (num(&tz[0..2])?, num(&tz[2..4])?),
                5 if tz[2] == b':' => (num(&tz[0..2])?, num(&tz[3..5])?),
                _ => return None,
            };
            let off = (oh * 3_600_000 + om * 60_000) as f64;
            Some(if *sign == b'+' { ms - off } else { ms + off })
        }
        _ => None,
    }
}

fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The available name closest to `wanted` (edit distance, case-insensitive),
/// if it is reasonably close.
pub(crate) fn closest<'a>(wanted: &str, available: &'a [String]) -> Option<&'a str> {
    available
        .iter()
        .map(|a| (levenshtein(wanted, a), a))
        .filter(|(d, a)| *d <= (wanted.len().max(a.len()) / 2).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a.as_str())
}

/// The message for a column that is not there, with a suggestion.
pub(crate) fn missing_column_message(wanted: &str, available: &[String]) -> String {
    match closest(wanted, available) {
        Some(s) => format!(
            "no column '{wanted}' (did you mean '{s}'?); columns: {}",
            available.join(", ")
        ),
        None => format!("no column '{wanted}'; columns: {}", available.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_parse_exactly_like_std() {
        for s in [
            "0.1",
            "-12.5",
            "3",
            "1e-3",
            "0.0000001",
            "123456.7",
            "-0.98765432",
            "7.",
        ] {
            assert_eq!(
                parse_f32(s.as_bytes()),
                Num::Value(s.parse::<f32>().unwrap()),
                "{s}"
            );
        }
        for i in 0..20_000 {
            let v = (i as f32 - 10_000.0) * 0.0137;
            let s = format!("{v}");
            assert_eq!(parse_f32(s.as_bytes()), Num::Value(v), "{s}");
        }
        assert!(matches!(parse_f32(b""), Num::Value(v) if v.is_nan()));
        assert!(matches!(parse_f32(b"NaN"), Num::Value(v) if v.is_nan()));
        assert_eq!(parse_f32(b"inf"), Num::Infinite);
        assert_eq!(parse_f32(b"-Infinity"), Num::Infinite);
        assert_eq!(parse_f32(b"abc"), Num::Invalid);
        assert_eq!(parse_f32(b"1.2.3"), Num::Invalid);
    }

    /// The fast path agrees bit for bit with the standard parser on
    /// decimals of every length it takes and just past its limits (2^24,
    /// 10 decimals, 18 characters), with signs, leading zeros and a bare
    /// point; what it does not take goes to the standard parser.
    #[test]
    fn the_fast_path_rounds_like_std_at_its_limits() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut cases: Vec<String> = vec![
            "16777215".into(),
            "16777216".into(),
            "16777217".into(),
            "1677721.7".into(),
            "0.1677721".into(),
            "0.16777217".into(),
            "1.0000000001".into(),
            "0.00000000001".into(),
            "-0".into(),
            "+.5".into(),
            "0003.25".into(),
            "123456789012345678".into(),
            "1234567890123456789".into(),
        ];
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = 1 + (x % 11) as usize;
            let point = (x >> 8) as usize % (digits + 1);
            let n = (x >> 16) % 10u64.pow(digits as u32);
            let body = format!("{n:0digits$}");
            let sign = ["", "-", "+"][(x >> 40) as usize % 3];
            cases.push(format!("{sign}{}.{}", &body[..point], &body[point..]));
        }
        for s in &cases {
            let want = s.parse::<f32>().unwrap();
            match parse_f32(s.as_bytes()) {
                Num::Value(v) => assert_eq!(v.to_bits(), want.to_bits(), "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
        assert!(fast_f32(b"16777216").is_none());
        assert!(fast_f32(b"1.2e3").is_none());
        assert!(fast_f32(b".").is_none());
        assert!(fast_f32(b"-").is_none());
        assert_eq!(fast_f32(b"16777215"), Some(16_777_215.0));
    }

    #[test]
    fn iso_timestamps() {
        assert_eq!(parse_iso8601_ms(b"1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_iso8601_ms(b"1970-01-02"), Some(86_400_000.0));
        assert_eq!(
            parse_iso8601_ms(b"2024-03-01 12:00:00.250"),
            Some(1_709_294_400_250.0)
        );
        assert_eq!(
            parse_iso8601_ms(b"2024-03-01T13:00:00+01:00"),
            parse_iso8601_ms(b"2024-03-01T12:00:00Z")
        );
        // 19 or more fractional digits wrapped around (off by 553 ms).
        assert_eq!(
            parse_iso8601_ms(b"2024-03-01T12:00:00.2500000000000000000Z"),
            Some(1_709_294_400_250.0)
        );
        assert_eq!(
            parse_iso8601_ms(b"2024-03-01T12:00:00.123456789123456789123Z"),
            parse_iso8601_ms(b"2024-03-01T12:00:00.123456789Z")
        );
        assert_eq!(num(b"99999999999999999999"), None);
        assert_eq!(parse_iso8601_ms(b"12345"), None);
        assert_eq!(parse_iso8601_ms(b"2024-13-01"), None);
        assert_eq!(parse_f64(b"1700000000000"), Some(1.7e12));
        assert_eq!(parse_f64(b"2.5"), Some(2.5));
        assert_eq!(parse_f64(b"inf"), None);
    }

    #[test]
    fn suggestions() {
        let cols = vec![
            "timestamp".to_string(),
            "ax".to_string(),
            "label".to_string(),
        ];
        assert_eq!(closest("timestmp", &cols), Some("timestamp"));
        assert_eq!(closest("Label", &cols), Some("label"));
        assert_eq!(closest("zzzzzzzz", &cols), None);
        assert!(missing_column_message("lable", &cols).contains("did you mean 'label'"));
    }
}
