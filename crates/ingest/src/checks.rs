//! Checks over a whole ingest: no recording is read twice (the same
//! recording at the same times in two files), and the split lists name only
//! subjects of the data.
use std::collections::BTreeSet;
use std::path::PathBuf;
use wearlang_core::{Error, Location, Result, SplitSpec};
use wearlang_store::{ShardBy, ShardSpec};

/// How many of the data's subjects an error about unknown subjects lists.
const SUBJECTS_SHOWN: usize = 10;

/// The times of one recording's samples in one file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecordingSpan {
    /// The file.
    pub file: PathBuf,
    /// Subject.
    pub subject: String,
    /// Recording identifier.
    pub recording: String,
    /// Time of the first sample in ms.
    pub first_ms: f64,
    /// Time of the last sample in ms.
    pub last_ms: f64,
}

/// Check that no two files hold samples of one (subject, recording) over
/// overlapping times.
///
/// Errors (naming both files, the recording and the subject): two such
/// files.
pub(crate) fn check_no_recording_twice(spans: &[RecordingSpan]) -> Result<()> {
    let mut sorted: Vec<&RecordingSpan> = spans.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.subject, &a.recording)
            .cmp(&(&b.subject, &b.recording))
            .then(a.first_ms.total_cmp(&b.first_ms))
            .then(a.file.cmp(&b.file))
    });
    sorted
        .chunk_by(|a, b| (&a.subject, &a.recording) == (&b.subject, &b.recording))
        .try_for_each(check_disjoint)
}

/// Check that the spans of one recording (in different files), sorted by
/// their first time, do not overlap.
///
/// Errors: as [`check_no_recording_twice`].
fn check_disjoint(spans: &[&RecordingSpan]) -> Result<()> {
    let mut latest = spans[0];
    for &s in &spans[1..] {
        if s.first_ms <= latest.last_ms {
            return Err(read_twice_error(latest, s));
        }
        if s.last_ms > latest.last_ms {
            latest = s;
        }
    }
    Ok(())
}

/// The error of recording samples at the same times in the files of `a`
/// and `b`.
fn read_twice_error(a: &RecordingSpan, b: &RecordingSpan) -> Error {
    let (first, second) = if a.file <= b.file { (a, b) } else { (b, a) };
    Error::data(
        Location::file(&second.file),
        format!(
            "recording '{}' of subject '{}' has samples at the same times ({} to {} ms) as in \
             file {} ({} to {} ms): a recording may be split over files only at different times \
             (is a file there twice?)",
            second.recording,
            second.subject,
            second.first_ms,
            second.last_ms,
            first.file.display(),
            first.first_ms,
            first.last_ms
        ),
    )
}

/// Check that the subject lists of `split` (if it has any) name only
/// `subjects`, those of the data.
///
/// Errors: a listed subject is not in the data; the error lists every such
/// subject and some of the data's.
pub(crate) fn check_split_subjects(
    split: &SplitSpec,
    subjects: &BTreeSet<String>,
    shard: Option<&ShardSpec>,
) -> Result<()> {
    let SplitSpec::SubjectLists { train, val, test } = split else {
        return Ok(());
    };
    // A shard checks the listed subjects that belong to it: each listed
    // subject is checked by exactly one shard. A partition by recording
    // spreads a subject over shards, so no shard can tell that it is
    // absent: only a whole ingest checks then.
    if shard.is_some_and(|sh| sh.by == ShardBy::Recording) {
        return Ok(());
    }
    let unknown: Vec<String> = train
        .iter()
        .chain(val)
        .chain(test)
        .filter(|s| shard.is_none_or(|sh| sh.holds(s, "")))
        .filter(|s| !subjects.contains(*s))
        .map(|s| format!("'{s}'"))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::param(
        "split",
        format!(
            "the split lists name subject(s) not in the data: {}; the data's {} subject(s): {}",
            unknown.join(", "),
            subjects.len(),
            some_of(subjects)
        ),
    ))
}

/// The first [`SUBJECTS_SHOWN`] of `subjects`, comma-separated, with `…`
/// when there are more.
fn some_of(subjects: &BTreeSet<String>) -> String {
    let mut shown: Vec<&str> = subjects
        .iter()
        .take(SUBJECTS_SHOWN)
        .map(String::as_str)
        .collect();
    if subjects.len() > SUBJECTS_SHOWN {
        shown.push("…");
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(file: &str, recording: &str, first_ms: f64, last_ms: f64) -> RecordingSpan {
        RecordingSpan {
            file: file.into(),
            subject: "s1".into(),
            recording: recording.into(),
            first_ms,
            last_ms,
        }
    }

    #[test]
    fn a_recording_split_over_files_at_different_times_is_fine() {
        let spans = [
            span("b.csv", "r1", 1000.0, 1980.0),
            span("a.csv", "r1", 0.0, 980.0),
            span("c.csv", "r2", 0.0, 980.0),
        ];
        check_no_recording_twice(&spans).unwrap();
    }

    #[test]
    fn overlapping_times_of_one_recording_name_both_files() {
        let spans = [
            span("a.csv", "r1", 0.0, 5000.0),
            span("b.csv", "r1", 6000.0, 7000.0),
            span("c.csv", "r1", 4000.0, 4500.0),
        ];
        let e = check_no_recording_twice(&spans).unwrap_err().to_string();
        assert!(e.contains("file c.csv") && e.contains("file a.csv"), "{e}");
        assert!(e.contains("'r1'") && e.contains("'s1'"), "{e}");
    }

    #[test]
    fn split_lists_may_name_only_subjects_of_the_data() {
        let subjects: BTreeSet<String> = (0..12).map(|i| format!("p{i:02}")).collect();
        let lists = |test: &[&str]| SplitSpec::SubjectLists {
            train: vec![],
            val: vec!["p01".into()],
            test: test.iter().map(|s| s.to_string()).collect(),
        };
        check_split_subjects(&lists(&["p02"]), &subjects, None).unwrap();
        let e = check_split_subjects(&lists(&["p02", "P3", "x"]), &subjects, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'P3', 'x'"), "{e}");
        assert!(
            e.contains("12 subject(s): p00, p01") && e.ends_with("p09, …"),
            "{e}"
        );
        let ratios = SplitSpec::default();
        check_split_subjects(&ratios, &BTreeSet::new(), None).unwrap();
    }
}
