//! Adaptors over a [`RecordingSource`]: the channels of every file of an
//! input put into the order of its first file, matched by name; and each
//! recording made a subject of its own.
use crate::source::{Recording, RecordingSource};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wearlang_core::{ChannelSpec, Error, Location, Result};

/// The channels of an input (the main input or a stream) as its first file
/// has them; every other file of the input must have the same channels, in
/// any order.
#[derive(Debug, Clone)]
pub(crate) struct ChannelLayout {
    /// The file the channels come from.
    pub first_file: PathBuf,
    /// The channels, in the order of the store.
    pub channels: Arc<[ChannelSpec]>,
}

impl ChannelLayout {
    /// The layout of `src`, the reader of `first_file`.
    pub fn of(first_file: &Path, src: &dyn RecordingSource) -> Self {
        Self {
            first_file: first_file.to_path_buf(),
            channels: src.channels().into(),
        }
    }

    /// `src`, the reader of `file`, with its channels put into this
    /// layout's order by name.
    ///
    /// Errors (naming the file and the channel): the file has a channel the
    /// first file lacks, or lacks one of its channels.
    pub fn conform(
        &self,
        file: &Path,
        src: Box<dyn RecordingSource>,
    ) -> Result<Box<dyn RecordingSource>> {
        let order = self.order_of(file, src.channels())?;
        let identity =
            order.len() == src.channels().len() && order.iter().enumerate().all(|(j, &i)| i == j);
        if identity {
            return Ok(src);
        }
        Ok(Box::new(Reordered {
            width: src.channels().len(),
            inner: src,
            order,
            channels: self.channels.clone(),
        }))
    }

    /// For each channel of the layout, its index among `got`, the channels
    /// of `file`.
    ///
    /// Errors: as [`conform`](Self::conform).
    fn order_of(&self, file: &Path, got: &[ChannelSpec]) -> Result<Vec<usize>> {
        if let Some(extra) = got.iter().find(|g| self.index_of(&g.name).is_none()) {
            return Err(self.mismatch(
                file,
                &extra.name,
                format!(
                    "a channel that the first file {} lacks",
                    self.first_file.display()
                ),
                got,
            ));
        }
        self.channels
            .iter()
            .map(|c| {
                got.iter().position(|g| g.name == c.name).ok_or_else(|| {
                    let what = format!(
                        "a channel of the first file {} that this file lacks",
                        self.first_file.display()
                    );
                    self.mismatch(file, &c.name, what, got)
                })
            })
            .collect()
    }

    /// Index of the channel `name` in the layout.
    fn index_of(&self, name: &str) -> Option<usize> {
        self.channels.iter().position(|c| c.name == name)
    }

    /// The error of `file`, whose channels are `got`, about `channel`.
    fn mismatch(&self, file: &Path, channel: &str, what: String, got: &[ChannelSpec]) -> Error {
        Error::data(
            Location::file(file).column(channel),
            format!(
                "{what}: the files of one input need the same channels (this file has {}, the \
                 first {}); list the channels to use in the manifest",
                names(got),
                names(&self.channels)
            ),
        )
    }
}

/// Channel names, comma-separated.
fn names(channels: &[ChannelSpec]) -> String {
    let v: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
    v.join(", ")
}

/// A source whose channels are reordered: channel `j` is the inner
/// source's channel `order[j]`.
struct Reordered {
    inner: Box<dyn RecordingSource>,
    /// Channels of the inner source.
    width: usize,
    order: Vec<usize>,
    channels: Arc<[ChannelSpec]>,
}

impl RecordingSource for Reordered {
    fn channels(&self) -> &[ChannelSpec] {
        &self.channels
    }

    fn next_part(&mut self) -> Result<Option<Recording>> {
        let Some(mut part) = self.inner.next_part()? else {
            return Ok(None);
        };
        part.values = part
            .values
            .chunks_exact(self.width)
            .flat_map(|row| self.order.iter().map(move |&i| row[i]))
            .collect();
        part.channels = self.channels.clone();
        Ok(Some(part))
    }
}

/// A source whose recordings are each a subject of their own (the subject
/// column is the recording column).
pub(crate) struct SubjectFromRecording(pub Box<dyn RecordingSource>);

impl RecordingSource for SubjectFromRecording {
    fn channels(&self) -> &[ChannelSpec] {
        self.0.channels()
    }

    fn next_part(&mut self) -> Result<Option<Recording>> {
        let part = self.0.next_part()?;
        Ok(part.map(|p| Recording {
            subject: p.recording.clone(),
            ..p
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Timing;
    use wearlang_core::ChannelKind;

    /// A source of one recording of two samples over `names`, channel `c`
    /// of sample `i` being `10 i + c`.
    struct Fixed {
        channels: Arc<[ChannelSpec]>,
        done: bool,
    }

    fn source(names: &[&str]) -> Box<dyn RecordingSource> {
        let channels = names
            .iter()
            .map(|n| ChannelSpec::new(*n, "", ChannelKind::Accelerometer));
        Box::new(Fixed {
            channels: channels.collect(),
            done: false,
        })
    }

    impl RecordingSource for Fixed {
        fn channels(&self) -> &[ChannelSpec] {
            &self.channels
        }

        fn next_part(&mut self) -> Result<Option<Recording>> {
            if std::mem::replace(&mut self.done, true) {
                return Ok(None);
            }
            let c = self.channels.len();
            Ok(Some(Recording {
                file: "f.csv".into(),
                first_row: 2,
                subject: "s".into(),
                recording: "r".into(),
                channels: self.channels.clone(),
                n: 2,
                timing: Timing::Timestamps(vec![0.0, 20.0]),
                values: (0..2)
                    .flat_map(|i| (0..c).map(move |j| (10 * i + j) as f32))
                    .collect(),
                labels: Vec::new(),
                last: true,
                rows: Vec::new(),
            }))
        }
    }

    fn layout(names: &[&str]) -> ChannelLayout {
        ChannelLayout::of(Path::new("first.csv"), source(names).as_ref())
    }

    #[test]
    fn channels_in_another_order_are_put_in_the_layout_order() {
        let mut src = layout(&["ax", "ay", "az"])
            .conform(Path::new("f.csv"), source(&["ay", "az", "ax"]))
            .unwrap();
        let names: Vec<&str> = src.channels().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["ax", "ay", "az"]);
        let part = src.next_part().unwrap().unwrap();
        assert_eq!(part.values, [2.0, 0.0, 1.0, 12.0, 10.0, 11.0]);
        assert_eq!(part.channels.len(), 3);
        assert!(src.next_part().unwrap().is_none());
    }

    #[test]
    fn a_missing_or_extra_channel_is_an_error_naming_file_and_channel() {
        let l = layout(&["ax", "ay"]);
        let missing = l
            .conform(Path::new("f.csv"), source(&["ax"]))
            .err()
            .unwrap();
        let msg = missing.to_string();
        assert!(
            msg.contains("file f.csv, column 'ay'") && msg.contains("first.csv"),
            "{msg}"
        );
        let extra = l
            .conform(Path::new("g.csv"), source(&["ay", "t", "ax"]))
            .err()
            .unwrap();
        assert!(
            extra.to_string().contains("file g.csv, column 't'"),
            "{extra}"
        );
    }

    #[test]
    fn subject_from_recording_names_each_recording_its_own_subject() {
        let mut src = SubjectFromRecording(source(&["ax"]));
        let part = src.next_part().unwrap().unwrap();
        assert_eq!((part.subject.as_str(), part.recording.as_str()), ("r", "r"));
    }
}
