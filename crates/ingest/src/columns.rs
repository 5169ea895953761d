//! Which columns of a file play which role.
use crate::options::{ChannelOption, IngestOptions, InputFormat, StreamOptions, TimeOptions};
use crate::parse::missing_column_message;
use crate::source::{TimeMode, TimeOrder};
use std::path::Path;
use wearlang_core::{ChannelSpec, Error, Location, Result};

/// What a reader needs to know about one input (the main input or a stream).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    /// Format (auto = by extension).
    pub format: InputFormat,
    /// CSV delimiter.
    pub delimiter: u8,
    /// Time axis.
    pub time: TimeOptions,
    /// Subject column.
    pub subject_column: Option<String>,
    /// Recording column.
    pub recording_column: Option<String>,
    /// Rows of different recordings may interleave (they are regrouped;
    /// [`crate::ColumnOptions::interleaved`]).
    pub interleaved: bool,
    /// Label column.
    pub label_column: Option<String>,
    /// Channels; empty = every numeric column without another role.
    pub channels: Vec<ChannelOption>,
    /// Subject when there is no subject column (else derived from the path).
    pub subject: Option<String>,
    /// Recording id when there is no recording column (else the file stem).
    pub recording: Option<String>,
    /// Read only the time, subject and recording columns (first pass).
    pub scan_only: bool,
}

impl SourceSpec {
    /// The spec of the main input of `opts`.
    pub fn main(opts: &IngestOptions) -> Self {
        Self {
            format: opts.input.format.clone(),
            delimiter: opts.input.delimiter.map(|c| c as u8).unwrap_or(b','),
            time: opts.time.clone(),
            subject_column: opts.columns.subject.clone(),
            recording_column: opts.columns.recording.clone(),
            interleaved: opts.columns.interleaved,
            label_column: opts.columns.label.clone(),
            channels: opts.columns.channels.clone(),
            subject: opts.input.subject.clone(),
            recording: None,
            scan_only: false,
        }
    }

    /// The spec of a further stream of `opts` (same subject / recording
    /// columns, no label column).
    pub fn stream(opts: &IngestOptions, s: &StreamOptions) -> Self {
        Self {
            format: s.format.clone(),
            delimiter: opts.input.delimiter.map(|c| c as u8).unwrap_or(b','),
            time: s.time.clone(),
            subject_column: opts.columns.subject.clone(),
            recording_column: opts.columns.recording.clone(),
            interleaved: opts.columns.interleaved,
            label_column: None,
            channels: s.channels.clone(),
            subject: opts.input.subject.clone(),
            recording: None,
            scan_only: false,
        }
    }

    /// The subject and recording of the recordings of `file` when the
    /// input has no subject / recording column: the recording is
    /// [`recording`](Self::recording), else the file stem; the subject is
    /// [`subject`](Self::subject), else the name of the file's parent
    /// directory when the file lies in a sub-directory of the input
    /// directory `root`, else the stem. The built-in readers use it, and so
    /// must a registered format's (the split of subjects is planned from
    /// these names without opening the files).
    pub fn default_keys(&self, file: &Path, root: Option<&Path>) -> (String, String) {
        default_keys(file, root, self)
    }

    /// Whether the subject column is also the recording column: each
    /// recording is then a subject of its own.
    pub(crate) fn subject_is_recording(&self) -> bool {
        self.subject_column.is_some() && self.subject_column == self.recording_column
    }
}

/// Column indices (in the file's header / schema) for each role.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub time: Option<usize>,
    pub time_mode: TimeMode,
    pub subject: Option<usize>,
    pub recording: Option<usize>,
    pub label: Option<usize>,
    pub channels: Vec<usize>,
    pub specs: Vec<ChannelSpec>,
}

const TIME_NAMES: [&str; 4] = ["timestamp", "time", "ts", "datetime"];

/// Resolve roles against `header`; `numeric(i)` says whether column `i` can
/// be a channel (for automatic channel selection).
pub(crate) fn resolve(
    file: &Path,
    header: &[String],
    spec: &SourceSpec,
    numeric: impl Fn(usize) -> bool,
) -> Result<Resolved> {
    let find = |name: &str| -> Result<usize> {
        header.iter().position(|h| h == name).ok_or_else(|| {
            Error::data(
                Location::file(file).column(name),
                missing_column_message(name, header),
            )
        })
    };
    let opt =
        |name: &Option<String>| -> Result<Option<usize>> { name.as_deref().map(find).transpose() };
    let subject = opt(&spec.subject_column)?;
    let recording = opt(&spec.recording_column)?;
    let label = opt(&spec.label_column)?;
    let keys = [subject, recording, label];
    let (time, time_mode) = match (&spec.time.column, spec.time.rate_hz) {
        (Some(c), _) => (
            Some(find(c)?),
            TimeMode::Column(c.clone(), spec.time.unit, TimeOrder::of(&spec.time)),
        ),
        (None, Some(r)) => (None, TimeMode::Fixed(r)),
        (None, None) => {
            let found = (0..header.len()).find(|&i| {
                !keys.contains(&Some(i))
                    && TIME_NAMES.contains(&header[i].to_ascii_lowercase().as_str())
            });
            match found {
                Some(i) => (
                    Some(i),
                    TimeMode::Column(
                        header[i].clone(),
                        spec.time.unit,
                        TimeOrder::of(&spec.time),
                    ),
                ),
                None => {
                    return Err(Error::data(
                        Location::file(file),
                        format!(
                            "no timestamp column (none named {}) and no source rate: \
                             give time.column / --time-column or time.rate_hz / --source-rate; columns: {}",
                            TIME_NAMES.join(", "),
                            header.join(", ")
                        ),
                    ))
                }
            }
        }
    };
    check_one_role_per_column(
        file,
        header,
        &[
            ("time", time),
            ("subject", subject),
            ("recording", recording),
            ("label", label),
        ],
    )?;
    let taken = [time, subject, recording, label];
    let (channels, specs) = if spec.channels.is_empty() {
        let idx: Vec<usize> = (0..header.len())
            .filter(|i| !taken.contains(&Some(*i)) && numeric(*i))
            .collect();
        if idx.is_empty() {
            return Err(Error::data(
                Location::file(file),
                format!("no numeric channel columns; columns: {}", header.join(", ")),
            ));
        }
        let specs = idx
            .iter()
            .map(|&i| ChannelOption::new(header[i].clone()).spec())
            .collect();
        (idx, specs)
    } else {
        let mut idx = Vec::new();
        for c in &spec.channels {
            let i = find(&c.name)?;
            if taken.contains(&Some(i)) {
                return Err(Error::param(
                    "channels",
                    format!(
                        "column '{}' cannot be both a channel and another role",
                        c.name
                    ),
                ));
            }
            idx.push(i);
        }
        (idx, spec.channels.iter().map(ChannelOption::spec).collect())
    };
    let (channels, specs) = if spec.scan_only {
        (Vec::new(), Vec::new())
    } else {
        (channels, specs)
    };
    Ok(Resolved {
        time,
        time_mode,
        subject,
        recording,
        label: if spec.scan_only { None } else { label },
        channels,
        specs,
    })
}

/// Check that no column plays two of the `roles` (role name, column index).
///
/// Errors (naming the file and column): a column has two roles.
fn check_one_role_per_column(
    file: &Path,
    header: &[String],
    roles: &[(&str, Option<usize>)],
) -> Result<()> {
    for (k, &(role, column)) in roles.iter().enumerate() {
        let Some(i) = column else { continue };
        if let Some((other, _)) = roles[k + 1..].iter().find(|(_, c)| *c == Some(i)) {
            return Err(Error::data(
                Location::file(file).column(header[i].clone()),
                format!(
                    "the column is both the {role} column and the {other} column; \
                     give each role a column of its own"
                ),
            ));
        }
    }
    Ok(())
}

/// Default subject and recording of a file: the recording is the file stem;
/// the subject is `spec.subject`, else the parent directory's name when the
/// file lies in a sub-directory of the input directory, else the stem.
pub(crate) fn default_keys(
    file: &Path,
    root: Option<&Path>,
    spec: &SourceSpec,
) -> (String, String) {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "recording".into());
    let subject = spec.subject.clone().unwrap_or_else(|| {
        let parent = file.parent();
        match (root, parent) {
            (Some(r), Some(p)) if p != r && p.starts_with(r) => p
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| stem.clone()),
            _ => stem.clone(),
        }
    });
    (subject, spec.recording.clone().unwrap_or(stem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::IngestOptions;

    fn header(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn spec() -> SourceSpec {
        SourceSpec::main(&IngestOptions::new("d.csv"))
    }

    fn resolve_all_numeric(names: &[&str], spec: &SourceSpec) -> Result<Resolved> {
        resolve(Path::new("d.csv"), &header(names), spec, |_| true)
    }

    #[test]
    fn a_column_with_two_roles_is_an_error_naming_it_and_both_roles() {
        let mut s = spec();
        s.time.column = Some("t".into());
        s.label_column = Some("t".into());
        let e = resolve_all_numeric(&["t", "ax"], &s)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("file d.csv, column 't'"), "{e}");
        assert!(e.contains("time column and the label column"), "{e}");
        let mut s = spec();
        s.subject_column = Some("id".into());
        s.recording_column = Some("id".into());
        let e = resolve_all_numeric(&["time", "id", "ax"], &s)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("subject column and the recording column"), "{e}");
    }

    #[test]
    fn the_time_column_is_not_guessed_among_columns_with_other_roles() {
        let mut s = spec();
        s.label_column = Some("time".into());
        let r = resolve_all_numeric(&["time", "timestamp", "ax"], &s).unwrap();
        assert_eq!((r.time, r.label, r.channels), (Some(1), Some(0), vec![2]));
    }
}
