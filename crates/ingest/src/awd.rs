//! Actiwatch `.AWD` exports (Cambridge Neurotechnology / CamNtech
//! Actiwatch 4, 7, L, L-Plus, Insomnia, S, T and Mini), the format
//! pyActigraphy's `read_raw_awd` reads.
//!
//! A file is seven header lines and one line per epoch:
//!
//! ```text
//! example_01          name
//! 23-Jan-1918         start date (dd-Mon-yyyy)
//! 13:58               start time (hh:mm, hh:mm:ss, optionally AM/PM)
//!  4                  epoch code (4: 60 s; see `epoch_seconds`)
//! 00                  age
//! V664055             serial number; its first letter is the device
//! X                   sex or other
//! 408                 activity counts of epoch 0
//! 776 , 0             activity , the device's second channel
//! 224 , 0.00 M        ... with an event marker (read and dropped)
//! ```
//!
//! The recording starts at the header's date and time read as UTC (the
//! file has no zone) and epoch `i` is at `start + i × epoch`; the data have
//! no time column. Channels: `activity` (counts per epoch, kind
//! `activity_intensity`, so the Activity caption group) and, for devices
//! with one, `light` (lux; L, L-Plus and Actiwatch 7), `pressure`
//! (Insomnia), `sound` (S) or `temperature` (°C; T).
use crate::columns::SourceSpec;
use crate::options::ChannelOption;
use crate::parse::{days_from_civil, num, parse_f32, Num};
use crate::source::{Recording, RecordingSource, Timing};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wearlang_core::{ChannelKind, ChannelSpec, Error, Location, Result};

/// Lines of an AWD header.
pub const AWD_HEADER_LINES: usize = 7;

/// The epoch length in seconds of an AWD epoch code (the header's fourth
/// line, trimmed, case-insensitive): `1` 15 s, `2` 30 s, `4` 60 s, `8`
/// 2 min, `20` 5 min, `81` 2 s, `C1` 5 s, `C2` 10 s; `None` otherwise.
pub fn epoch_seconds(code: &str) -> Option<f64> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "1" => 15.0,
        "2" => 30.0,
        "4" => 60.0,
        "8" => 120.0,
        "20" => 300.0,
        "81" => 2.0,
        "C1" => 5.0,
        "C2" => 10.0,
        _ => return None,
    })
}

/// The device an AWD serial number names by its first letter, and the
/// channel of its second column if it has one.
fn device(serial: &str) -> (&'static str, Option<ChannelSpec>) {
    let other = |name: &str, unit: &str| Some(ChannelSpec::new(name, unit, ChannelKind::Other));
    match serial.chars().next().map(|c| c.to_ascii_uppercase()) {
        Some('V') => ("Actiwatch 4", None),
        Some('M') => ("Actiwatch Mini", None),
        Some('L') => ("Actiwatch L", other("light", "lux")),
        Some('P') => ("Actiwatch L-Plus", other("light", "lux")),
        Some('D') => ("Actiwatch 7", other("light", "lux")),
        Some('I') => ("Actiwatch Insomnia", other("pressure", "")),
        Some('S') => ("Actiwatch S", other("sound", "")),
        Some('T') => (
            "Actiwatch T",
            Some(ChannelSpec::new(
                "temperature",
                "°C",
                ChannelKind::SkinTemperature,
            )),
        ),
        _ => ("an unknown device (activity only)", None),
    }
}

/// The header of an AWD file.
#[derive(Debug, Clone, PartialEq)]
pub struct AwdHeader {
    /// First line: the recording's name.
    pub name: String,
    /// Start of epoch 0 in ms since the Unix epoch (the header's local
    /// date and time read as UTC).
    pub start_ms: f64,
    /// Epoch length in seconds (from the code, or the rate the options
    /// give when the code is unknown).
    pub epoch_s: f64,
    /// Sixth line: the serial number (its first letter names the device).
    pub serial: String,
    /// The device, from the serial's first letter.
    pub device: &'static str,
}

/// An Actiwatch `.AWD` file as a [`RecordingSource`]: one recording (the
/// subject and recording are those of
/// [`SourceSpec::default_keys`]), read whole (AWD files are small: a month
/// of 15-s epochs is about 4 MB).
///
/// Options: `time.rate_hz` gives the rate of a file whose epoch code is
/// unknown (a file whose code is known must agree with it); `channels`
/// picks and describes channels by the names above (empty: all of the
/// device's). A time column, subject, recording or label column is an error:
/// the file has no columns.
pub struct AwdSource {
    header: AwdHeader,
    channels: Arc<[ChannelSpec]>,
    part: Option<Recording>,
}

/// A header or data line, with its 1-based line number, for errors.
struct Line<'a> {
    file: &'a Path,
    no: u64,
    text: &'a str,
}

impl Line<'_> {
    fn err(&self, msg: impl std::fmt::Display) -> Error {
        Error::data(
            Location::file(self.file).row(self.no),
            format!("{msg} (line {}: '{}')", self.no, shorten(self.text)),
        )
    }
}

/// `s` trimmed and cut to 60 characters for an error message.
fn shorten(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Parse `dd-Mon-yyyy` (`23-Jan-1918`) to days since 1970-01-01.
fn parse_date(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let mut it = s.trim().split('-');
    let (d, m, y) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || !(1..=2).contains(&d.len()) {
        return None;
    }
    let (d, y) = (num(d.as_bytes())?, num(y.as_bytes())?);
    let m = MONTHS.iter().position(|n| n.eq_ignore_ascii_case(m))? as i64 + 1;
    let days_in_month = match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (1..=days_in_month)
        .contains(&d)
        .then(|| days_from_civil(y, m, d))
}

/// Parse `hh:mm`, `hh:mm:ss`, either followed by `AM`/`PM`, to seconds
/// after midnight.
fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let (clock, half) = match s.len().checked_sub(2).map(|i| s.split_at(i)) {
        Some((c, h)) if h.eq_ignore_ascii_case("am") => (c.trim_end(), Some(0)),
        Some((c, h)) if h.eq_ignore_ascii_case("pm") => (c.trim_end(), Some(12)),
        _ => (s, None),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() > 2) {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(Some(0), |p| num(p.as_bytes()));
    let (mut h, m, sec) = (n(0)?, n(1)?, n(2)?);
    if m > 59 || sec > 59 {
        return None;
    }
    match half {
        Some(add) if (1..=12).contains(&h) => h = h % 12 + add,
        Some(_) => return None,
        None if h > 23 => return None,
        None => {}
    }
    Some(h * 3600 + m * 60 + sec)
}

/// Refuse the column options an AWD file cannot honour.
fn check_spec(path: &Path, spec: &SourceSpec) -> Result<()> {
    let columns = [
        ("time.column", &spec.time.column),
        ("columns.subject", &spec.subject_column),
        ("columns.recording", &spec.recording_column),
        ("columns.label", &spec.label_column),
    ];
    if let Some((option, Some(name))) = columns.iter().find(|(_, c)| c.is_some()) {
        return Err(Error::data(
            Location::file(path),
            format!(
                "{option} = '{name}', but an AWD file has no named columns (its times come \
                 from the header, its subject and recording from the file name or \
                 input.subject); remove the option"
            ),
        ));
    }
    Ok(())
}

impl AwdSource {
    /// Read `path`; `root` is the input directory when the file is one of
    /// several (for the default subject).
    ///
    /// Errors name the file and the line: fewer than seven header lines, a
    /// start date that is not `dd-Mon-yyyy` or a time that is not
    /// `hh:mm[:ss][ AM|PM]`, an unknown epoch code without `time.rate_hz`
    /// (or a `time.rate_hz` that contradicts a known code), a value that is
    /// not a number, a line with more or fewer values than the device has
    /// channels, no data lines; and options that name columns or a channel
    /// the file lacks.
    pub fn open(path: &Path, root: Option<&Path>, spec: &SourceSpec) -> Result<Self> {
        check_spec(path, spec)?;
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        // Names and notes may be Latin-1; only the numbers matter.
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, text)| Line {
                file: path,
                no: i as u64 + 1,
                text,
            })
            .collect::<Vec<_>>();
        while lines.last().is_some_and(|l| l.text.trim().is_empty()) {
            lines.pop();
        }
        if lines.len() < AWD_HEADER_LINES {
            return Err(Error::data(
                Location::file(path).row(lines.len() as u64 + 1),
                format!(
                    "short AWD header: {} line(s), expected {AWD_HEADER_LINES} (name, start \
                     date, start time, epoch code, age, serial number, sex) before the data",
                    lines.len()
                ),
            ));
        }
        let header = parse_header(&lines[..AWD_HEADER_LINES], spec)?;
        let (_, extra) = device(&header.serial);
        let file_channels: Vec<ChannelSpec> = std::iter::once(ChannelSpec::new(
            "activity",
            "counts",
            ChannelKind::ActivityIntensity,
        ))
        .chain(extra)
        .collect();
        let (pick, channels) = select_channels(path, &file_channels, &spec.channels)?;
        let data = &lines[AWD_HEADER_LINES..];
        if data.is_empty() {
            return Err(Error::data(
                Location::file(path).row(AWD_HEADER_LINES as u64 + 1),
                "no data lines after the AWD header",
            ));
        }
        let mut values = Vec::with_capacity(data.len() * pick.len());
        let mut row = Vec::with_capacity(file_channels.len());
        for line in data {
            parse_row(line, &header, &file_channels, &mut row)?;
            values.extend(pick.iter().map(|&i| row[i]));
        }
        let (subject, recording) = spec.default_keys(path, root);
        let channels: Arc<[ChannelSpec]> = channels.into();
        let part = Recording {
            file: PathBuf::from(path),
            first_row: AWD_HEADER_LINES as u64 + 1,
            subject,
            recording,
            channels: channels.clone(),
            n: data.len(),
            timing: Timing::Fixed {
                start_ms: header.start_ms,
                rate_hz: 1.0 / header.epoch_s,
            },
            values,
            labels: Vec::new(),
            last: true,
            rows: Vec::new(),
        };
        Ok(Self {
            header,
            channels,
            part: Some(part),
        })
    }

    /// The file's header.
    pub fn header(&self) -> &AwdHeader {
        &self.header
    }
}

/// Read the seven header lines.
fn parse_header(lines: &[Line<'_>], spec: &SourceSpec) -> Result<AwdHeader> {
    let days = parse_date(lines[1].text)
        .ok_or_else(|| lines[1].err("start date is not dd-Mon-yyyy (e.g. 23-Jan-1918)"))?;
    let secs = parse_time(lines[2].text).ok_or_else(|| {
        lines[2].err("start time is not hh:mm or hh:mm:ss (optionally followed by AM or PM)")
    })?;
    let code = lines[3].text.trim();
    let given = spec.time.rate_hz;
    let epoch_s = match (epoch_seconds(code), given) {
        (Some(e), Some(r)) if (r * e - 1.0).abs() > 1e-9 => {
            return Err(lines[3].err(format!(
                "epoch code '{code}' means {e} s epochs ({} Hz) but time.rate_hz = {r}; \
                 leave time.rate_hz out for AWD files with a known code",
                1.0 / e
            )))
        }
        (Some(e), _) => e,
        (None, Some(r)) if r.is_finite() && r > 0.0 => 1.0 / r,
        (None, _) => {
            return Err(lines[3].err(format!(
                "unknown epoch code '{code}' (known: 1 = 15 s, 2 = 30 s, 4 = 60 s, 8 = 2 min, \
                 20 = 5 min, 81 = 2 s, C1 = 5 s, C2 = 10 s); give the rate with time.rate_hz \
                 (--source-rate), e.g. 0.0166667 for 60 s epochs"
            )))
        }
    };
    let serial = lines[5].text.trim().to_string();
    Ok(AwdHeader {
        name: lines[0].text.trim().to_string(),
        start_ms: (days * 86_400 + secs) as f64 * 1000.0,
        epoch_s,
        device: device(&serial).0,
        serial,
    })
}

/// The file's channels that `wanted` picks (their indices) and the specs
/// they get: all of them as they are when `wanted` is empty.
///
/// Errors: a wanted channel the file lacks, naming the ones it has.
fn select_channels(
    path: &Path,
    have: &[ChannelSpec],
    wanted: &[ChannelOption],
) -> Result<(Vec<usize>, Vec<ChannelSpec>)> {
    if wanted.is_empty() {
        return Ok(((0..have.len()).collect(), have.to_vec()));
    }
    wanted
        .iter()
        .map(|w| {
            let i = have.iter().position(|h| h.name == w.name).ok_or_else(|| {
                let names: Vec<&str> = have.iter().map(|h| h.name.as_str()).collect();
                Error::data(
                    Location::file(path).column(w.name.clone()),
                    format!(
                        "no channel '{}' in this AWD file (it has {})",
                        w.name,
                        names.join(", ")
                    ),
                )
            })?;
            Ok((i, w.spec()))
        })
        .collect::<Result<Vec<_>>>()
        .map(|v| v.into_iter().unzip())
}

/// Parse a data line into `out` (one value per channel of the file): the
/// values separated by commas, optionally followed by a marker `M`.
fn parse_row(
    line: &Line<'_>,
    header: &AwdHeader,
    channels: &[ChannelSpec],
    out: &mut Vec<f32>,
) -> Result<()> {
    let mut s = line.text.trim();
    if let Some(rest) = s.strip_suffix(['M', 'm']) {
        if rest.ends_with(|c: char| c.is_whitespace()) {
            s = rest.trim_end();
        }
    }
    out.clear();
    let fields: Vec<&str> = s.split(',').map(str::trim).collect();
    if fields.len() != channels.len() || fields.iter().any(|f| f.is_empty()) {
        let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
        return Err(line.err(format!(
            "{} value(s) where a file of {} (serial {}) has {} ({}), comma-separated and \
             optionally followed by a marker M",
            fields.iter().filter(|f| !f.is_empty()).count(),
            header.device,
            header.serial,
            channels.len(),
            names.join(", ")
        )));
    }
    for (f, c) in fields.iter().zip(channels) {
        match parse_f32(f.as_bytes()) {
            Num::Value(v) => out.push(v),
            Num::Infinite | Num::Invalid => {
                return Err(line.err(format!("{} value '{}' is not a number", c.name, shorten(f))))
            }
        }
    }
    Ok(())
}

impl RecordingSource for AwdSource {
    fn channels(&self) -> &[ChannelSpec] {
        &self.channels
    }

    fn next_part(&mut self) -> Result<Option<Recording>> {
        Ok(self.part.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_parse_as_in_the_files() {
        assert_eq!(parse_date("01-Jan-1970"), Some(0));
        assert_eq!(
            parse_date("23-Jan-1918"),
            Some(days_from_civil(1918, 1, 23))
        );
        assert_eq!(parse_date("1-mar-2000"), Some(days_from_civil(2000, 3, 1)));
        for bad in [
            "2018-01-01",
            "30-Feb-2001",
            "1-Jan-18",
            "x1-Jan-2018",
            "01-Jon-2018",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(parse_time("13:58"), Some(13 * 3600 + 58 * 60));
        assert_eq!(parse_time("09:38:00 AM "), Some(9 * 3600 + 38 * 60));
        assert_eq!(parse_time("12:05 AM"), Some(5 * 60));
        assert_eq!(parse_time("12:05 PM"), Some(12 * 3600 + 5 * 60));
        assert_eq!(parse_time("01:00:30 pm"), Some(13 * 3600 + 30));
        assert_eq!(parse_time("18:11:00 "), Some(18 * 3600 + 11 * 60));
        for bad in ["24:00", "13:60", "13", "13:5x", "13:00 PM", "0:00 AM", ""] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn epoch_codes_and_devices() {
        assert_eq!(epoch_seconds(" 4 "), Some(60.0));
        assert_eq!(epoch_seconds("c2"), Some(10.0));
        assert_eq!(epoch_seconds("3"), None);
        assert_eq!(device("V664055").1, None);
        assert_eq!(device("L11FFFF220").1.unwrap().name, "light");
        assert_eq!(
            device("T4460210140").1.unwrap().kind,
            ChannelKind::SkinTemperature
        );
        assert_eq!(device("").1, None);
    }
}
