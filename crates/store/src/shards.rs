//! Sharded stores: a directory of `shard-IIIII-of-NNNNN.parquet` files,
//! each an ordinary store holding the windows of the subjects (or
//! recordings) that [`ShardSpec`] puts in it, read by
//! [`crate::StoreReader`] as one store.
//!
//! Shards are written independently (`wearlang ingest --shard I/N`, one job
//! of a Slurm or Kubernetes array per shard, no coordination): the
//! partition is a stable hash of the subject ([`ShardBy::Subject`], the
//! default) or of the subject and recording ([`ShardBy::Recording`]: for
//! data with few subjects and many recordings), so every job agrees on it
//! without talking to the others. A reader refuses a directory with a shard
//! missing, so a failed job cannot silently shrink the data.
use crate::StoreMeta;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use wearlang_core::{Error, LabelVocab, Location, Normalisation, Result};

/// What a shard partition hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShardBy {
    /// The subject id: a subject's windows all go to one shard (default).
    #[default]
    Subject,
    /// The subject and recording ids: a subject's recordings spread over
    /// the shards (a few subjects with many days each).
    Recording,
}

impl ShardBy {
    /// Parse `subject` or `recording`, naming `what` (the option) in errors.
    pub fn parse(text: &str, what: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "subject" => Ok(Self::Subject),
            "recording" => Ok(Self::Recording),
            other => Err(Error::param(
                what,
                format!("'{other}' (expected subject or recording)"),
            )),
        }
    }
}

/// Shard `index` of `count` (0-based), as `--shard I/N` gives it, of a
/// partition by `by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    /// This shard, `0 ≤ index < count`.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
    /// What the partition hashes (a manifest may leave it out: subject).
    #[serde(default)]
    pub by: ShardBy,
}

impl ShardSpec {
    /// Shard `index` of `count` of a partition by subject.
    pub fn new(index: usize, count: usize) -> Self {
        Self {
            index,
            count,
            by: ShardBy::Subject,
        }
    }

    /// Parse `I/N` (e.g. `2/8`), naming `what` (the option) in errors.
    pub fn parse(text: &str, what: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::param(
                what,
                format!("'{text}': {why} (expected I/N, 0 ≤ I < N, e.g. 0/4)"),
            )
        };
        let (i, n) = text.split_once('/').ok_or_else(|| bad("no '/'"))?;
        let index: usize = i.trim().parse().map_err(|_| bad("I is not a number"))?;
        let count: usize = n.trim().parse().map_err(|_| bad("N is not a number"))?;
        let spec = Self::new(index, count);
        spec.validate(what).map_err(|e| bad(&e.to_string()))?;
        Ok(spec)
    }

    /// Check `0 ≤ index < count ≤` [`MAX_SHARDS`], naming `what` (a
    /// manifest's `shard`, say) in the error.
    pub fn validate(&self, what: &str) -> Result<()> {
        if self.count == 0 || self.index >= self.count {
            return Err(Error::param(
                what,
                format!("shard {} of {}: out of range", self.index, self.count),
            ));
        }
        if self.count > MAX_SHARDS {
            return Err(Error::param(
                what,
                format!("{} shards, more than {MAX_SHARDS}", self.count),
            ));
        }
        Ok(())
    }

    /// The shard a subject's windows go to: FNV-1a (64 bit) of the subject
    /// id modulo the count, the same on every machine and in every release.
    pub fn of_subject(subject: &str, count: usize) -> usize {
        if count == 0 {
            return 0;
        }
        (wearlang_core::hash::fnv1a(subject.as_bytes()) % count as u64) as usize
    }

    /// The shard of a recording when partitioning by recording: FNV-1a of
    /// `subject`, a NUL byte and `recording`, modulo the count.
    pub fn of_recording(subject: &str, recording: &str, count: usize) -> usize {
        if count == 0 {
            return 0;
        }
        let key = [subject.as_bytes(), &[0], recording.as_bytes()].concat();
        (wearlang_core::hash::fnv1a(&key) % count as u64) as usize
    }

    /// Whether the windows of `recording` of `subject` belong to this shard.
    pub fn holds(&self, subject: &str, recording: &str) -> bool {
        let shard = match self.by {
            ShardBy::Subject => Self::of_subject(subject, self.count),
            ShardBy::Recording => Self::of_recording(subject, recording, self.count),
        };
        shard == self.index
    }

    /// The shard's file name in a sharded store directory.
    pub fn file_name(&self) -> String {
        format!("shard-{:05}-of-{:05}.parquet", self.index, self.count)
    }

    /// The shard's file in the sharded store directory `dir`.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        dir.join(self.file_name())
    }
}

impl std::fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The most shards a store may have.
pub const MAX_SHARDS: usize = 99_999;

/// Parse a shard file name `shard-IIIII-of-NNNNN.parquet`.
fn parse_name(name: &str) -> Option<ShardSpec> {
    let rest = name.strip_prefix("shard-")?.strip_suffix(".parquet")?;
    let (i, n) = rest.split_once("-of-")?;
    let (index, count) = (i.parse().ok()?, n.parse().ok()?);
    (index < count).then_some(ShardSpec::new(index, count))
}

/// The shard files of the sharded store directory `dir`, in shard order.
///
/// Errors: `dir` cannot be read, holds no shard files, shards of different
/// counts, or lacks some shard (naming the missing ones: a job that failed).
pub fn shard_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut found: Vec<(ShardSpec, PathBuf)> = Vec::new();
    for e in entries {
        let e = e.map_err(|e| Error::io(dir, e))?;
        if let Some(spec) = e.file_name().to_str().and_then(parse_name) {
            found.push((spec, e.path()));
        }
    }
    let not_sharded = || {
        Error::data(
            Location::file(dir),
            "a directory without shard files (shard-IIIII-of-NNNNN.parquet, written by \
             `wearlang ingest --shard I/N`)",
        )
    };
    let count = found.first().ok_or_else(not_sharded)?.0.count;
    if let Some((other, p)) = found.iter().find(|(s, _)| s.count != count) {
        return Err(Error::data(
            Location::file(p),
            format!(
                "a shard of {} beside shards of {count}: shards of two ingests in one directory",
                other.count
            ),
        ));
    }
    found.sort_by_key(|(s, _)| s.index);
    let missing: Vec<String> = (0..count)
        .filter(|i| found.binary_search_by_key(i, |(s, _)| s.index).is_err())
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::data(
            Location::file(dir),
            format!(
                "{} of {count} shards missing (index {}): a shard job did not finish",
                missing.len(),
                shown(&missing)
            ),
        ));
    }
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

fn shown(items: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut s = items[..items.len().min(SHOWN)].join(", ");
    if items.len() > SHOWN {
        s.push_str(", …");
    }
    s
}

/// The metadata of a store made of shards with metadata `metas` (from the
/// files `paths`, holding `windows` windows each): that of the first
/// shard without its `extra.ingest.shard`, with the label vocabularies
/// joined and the normalisation statistics pooled
/// ([`Normalisation::pool`]). The caption columns are those of the shards
/// with windows (an empty shard, captioned or not, has nothing to caption).
///
/// Errors: the three lists differ in length, the shards differ in
/// channels, window length, rate, split or caption columns (naming the
/// shard and the field), or their statistics cannot be pooled.
pub fn merge_meta(metas: &[StoreMeta], paths: &[PathBuf], windows: &[usize]) -> Result<StoreMeta> {
    if paths.len() != metas.len() || windows.len() != metas.len() {
        return Err(Error::param(
            "shards",
            format!(
                "{} metadata, {} paths and {} window counts",
                metas.len(),
                paths.len(),
                windows.len()
            ),
        ));
    }
    let (first, rest) = metas
        .split_first()
        .ok_or_else(|| Error::param("shards", "no shards"))?;
    let mut merged = first.clone();
    let with_windows: Vec<usize> = (0..metas.len()).filter(|&i| windows[i] > 0).collect();
    if let Some(&i) = with_windows.first() {
        merged.caption_columns = metas[i].caption_columns.clone();
        for &j in &with_windows[1..] {
            if metas[j].caption_columns != metas[i].caption_columns {
                return Err(Error::data(
                    Location::file(&paths[j]),
                    format!(
                        "caption columns {:?}, {} has {:?}: caption every shard with the same \
                         variants (give the jobs one --variant list)",
                        metas[j].caption_columns,
                        paths[i].display(),
                        metas[i].caption_columns
                    ),
                ));
            }
        }
    }
    for (m, p) in rest.iter().zip(&paths[1..]) {
        let differs = |field: &str| {
            Error::data(
                Location::file(p),
                format!(
                    "`{field}` differs from {}'s: shards of different ingests?",
                    paths[0].display()
                ),
            )
        };
        if m.channels != first.channels {
            return Err(differs("channels"));
        }
        if m.window_len != first.window_len {
            return Err(differs("window_len"));
        }
        if m.rate_hz != first.rate_hz {
            return Err(differs("rate_hz"));
        }
        if m.split != first.split {
            return Err(differs("split"));
        }
        if partition_of(m) != partition_of(first) {
            return Err(Error::data(
                Location::file(p),
                format!(
                    "a shard of a partition by {:?}, {} one by {:?}: shards of two ingests",
                    partition_of(m),
                    paths[0].display(),
                    partition_of(first)
                ),
            ));
        }
    }
    // The provenance is the first shard's, less which shard it was.
    if let Some(serde_json::Value::Object(ingest)) = merged.extra.get_mut("ingest") {
        ingest.remove("shard");
    }
    merged.labels = join_labels(metas.iter().map(|m| &m.labels));
    let norms: Vec<&Normalisation> = metas
        .iter()
        .filter_map(|m| m.normalisation.as_ref())
        .collect();
    merged.normalisation = match norms.len() {
        0 => None,
        n if n == metas.len() => Some(
            Normalisation::pool(&norms)
                .map_err(|e| Error::data(Location::file(&paths[0]), e.to_string()))?,
        ),
        _ => {
            return Err(Error::data(
                Location::file(&paths[0]),
                "some shards have normalisation statistics and some not",
            ))
        }
    };
    Ok(merged)
}

/// What an ingested shard's partition hashed (`extra.ingest.shard.by`;
/// subject when absent, as before recordings could be).
fn partition_of(meta: &StoreMeta) -> ShardBy {
    meta.extra
        .get("ingest")
        .and_then(|i| i.get("shard"))
        .and_then(|s| s.get("by"))
        .and_then(|b| serde_json::from_value(b.clone()).ok())
        .unwrap_or_default()
}

/// The labels of every vocabulary: sorted when each is sorted (as ingest
/// writes them), else in order of first appearance.
fn join_labels<'a>(vocabs: impl Iterator<Item = &'a LabelVocab> + Clone) -> LabelVocab {
    let all = vocabs.clone().flat_map(|v| v.labels().iter().cloned());
    if vocabs.clone().all(|v| v.labels().is_sorted()) {
        LabelVocab::sorted(all)
    } else {
        LabelVocab::new(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_partition_stably() {
        let s = ShardSpec::parse("2/4", "--shard").unwrap();
        assert_eq!((s.index, s.count), (2, 4));
        assert_eq!(s.file_name(), "shard-00002-of-00004.parquet");
        assert_eq!(parse_name(&s.file_name()), Some(s));
        for bad in ["4/4", "1", "a/2", "0/0", "1/-2"] {
            let e = ShardSpec::parse(bad, "--shard").unwrap_err().to_string();
            assert!(e.contains("--shard") && e.contains(bad), "{e}");
        }
        let e = ShardSpec::new(0, 0).validate("shard").unwrap_err();
        assert!(e.to_string().contains("shard 0 of 0"), "{e}");
        assert_eq!(ShardSpec::of_subject("x", 0), 0);
        // Fixed values: the partition must never change between releases.
        assert_eq!(ShardSpec::of_subject("s01", 4), 1);
        assert_eq!(ShardSpec::of_subject("", 7), 0xcbf2_9ce4_8422_2325 % 7);
        let held = (0..4)
            .filter(|&i| ShardSpec::new(i, 4).holds("p17", "any"))
            .count();
        assert_eq!(held, 1);
    }

    #[test]
    fn empty_shards_do_not_count_for_caption_columns_and_labels_join() {
        use wearlang_core::{ChannelKind, ChannelSpec};
        let meta = |captions: &[&str], labels: &[&str]| {
            let mut m = StoreMeta::new(vec![ChannelSpec::new("x", "", ChannelKind::Other)], 2, 1.0);
            m.caption_columns = captions.iter().map(|c| c.to_string()).collect();
            m.labels = LabelVocab::sorted(labels.iter().copied());
            m
        };
        let paths: Vec<PathBuf> = (0..3).map(|i| PathBuf::from(format!("s{i}"))).collect();
        let mut first = meta(&["trend", "activity"], &["walk"]);
        first.extra.insert(
            "ingest".into(),
            serde_json::json!({"shard": {"index": 0, "count": 3}, "batch_windows": 1024}),
        );
        let metas = [
            first,
            meta(&["trend"], &[]),
            meta(&["trend", "activity"], &["run"]),
        ];
        let m = merge_meta(&metas, &paths, &[5, 0, 7]).unwrap();
        assert_eq!(m.caption_columns, ["trend", "activity"]);
        assert_eq!(m.labels.labels(), ["run", "walk"]);
        assert_eq!(
            m.extra["ingest"],
            serde_json::json!({"batch_windows": 1024})
        );
        let e = merge_meta(&metas, &paths, &[5, 1, 7])
            .unwrap_err()
            .to_string();
        assert!(e.contains("s1") && e.contains("--variant"), "{e}");
    }

    #[test]
    fn a_missing_shard_or_a_foreign_one_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        assert!(shard_files(dir.path()).is_err());
        for i in [0, 2] {
            std::fs::write(
                dir.path().join(format!("shard-0000{i}-of-00003.parquet")),
                "",
            )
            .unwrap();
        }
        let e = shard_files(dir.path()).unwrap_err().to_string();
        assert!(e.contains("1 of 3 shards missing (index 1)"), "{e}");
        std::fs::write(dir.path().join("shard-00001-of-00003.parquet"), "").unwrap();
        assert_eq!(shard_files(dir.path()).unwrap().len(), 3);
        std::fs::write(dir.path().join("shard-00001-of-00002.parquet"), "").unwrap();
        let e = shard_files(dir.path()).unwrap_err().to_string();
        assert!(e.contains("two ingests"), "{e}");
    }
}
