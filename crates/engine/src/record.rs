//! What a run records of itself for `--resume` ([`RunRecord`]: its
//! checkpoint config plus the identity of its input files) and the one
//! comparison of a recorded run with the run asked for now
//! ([`record_differences`]).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{EngineError, Result};

/// Bytes hashed at each end of an input file by [`FileIdentity::of`].
const HASHED_END: u64 = 1 << 20;

/// The identity of an input file (a window store): its size and a SHA-256
/// of its first and last MiB (all of it when smaller; a Parquet file's
/// footer, with its schema, row counts and statistics, is at the end). Cheap
/// for any size, and unchanged when the same file is rewritten with the same
/// content (unlike a modification time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIdentity {
    /// The path as given.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 (hex) of the first and last MiB.
    pub sha256_ends: String,
}

impl FileIdentity {
    /// The identity of the file `path` (errors name it). A directory (a
    /// sharded store) is identified by its files: their total size and a
    /// SHA-256 of each one's name and identity, in name order.
    pub fn of(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Self::of_dir(path);
        }
        let io = |e| EngineError::io(path, e);
        let mut f = std::fs::File::open(path).map_err(io)?;
        let size = f.metadata().map_err(io)?.len();
        let mut h = Sha256::new();
        let mut buf = Vec::new();
        if size <= 2 * HASHED_END {
            f.read_to_end(&mut buf).map_err(io)?;
            h.update(&buf);
        } else {
            buf.resize(HASHED_END as usize, 0);
            f.read_exact(&mut buf).map_err(io)?;
            h.update(&buf);
            f.seek(SeekFrom::Start(size - HASHED_END)).map_err(io)?;
            f.read_exact(&mut buf).map_err(io)?;
            h.update(&buf);
        }
        Ok(Self {
            path: path.to_path_buf(),
            size,
            sha256_ends: hex(h),
        })
    }

    fn of_dir(dir: &Path) -> Result<Self> {
        let io = |e| EngineError::io(dir, e);
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()).map_err(io))
            .collect::<Result<Vec<_>>>()?;
        files.retain(|f| f.extension().is_some_and(|x| x == "parquet") && f.is_file());
        files.sort();
        let mut h = Sha256::new();
        let mut size = 0;
        for f in &files {
            let id = Self::of(f)?;
            size += id.size;
            h.update(
                f.file_name()
                    .map(|n| n.as_encoded_bytes())
                    .unwrap_or_default(),
            );
            h.update(id.sha256_ends.as_bytes());
        }
        Ok(Self {
            path: dir.to_path_buf(),
            size,
            sha256_ends: hex(h),
        })
    }
}

/// The digest of `h` in lower-case hex.
fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What a run writes as its checkpoint's `config.json`: the caller's
/// checkpoint config (flattened: readers of that config see it unchanged)
/// plus `inputs`, the identities of the files it trains on by role
/// (`store`, `extra_store.0` …). [`crate::initial_state`] compares a
/// recorded one with the one of the run asked for.
#[derive(Debug, Serialize)]
pub struct RunRecord<'a, C: Serialize> {
    /// The checkpoint config.
    #[serde(flatten)]
    pub config: &'a C,
    /// The input files by role.
    pub inputs: BTreeMap<String, FileIdentity>,
}

impl<'a, C: Serialize> RunRecord<'a, C> {
    /// The record of `config` with the identities of `inputs` (role, path).
    pub fn new(config: &'a C, inputs: &[(&str, &Path)]) -> Result<Self> {
        let inputs = inputs
            .iter()
            .map(|(role, p)| Ok((role.to_string(), FileIdentity::of(p)?)))
            .collect::<Result<_>>()?;
        Ok(Self { config, inputs })
    }

    /// The record of a run on `store` and the further stores `extra`
    /// (roles `store`, `extra_store.0`, `extra_store.1` …).
    pub fn of_stores(config: &'a C, store: &Path, extra: &[PathBuf]) -> Result<Self> {
        let roles: Vec<String> = (0..extra.len())
            .map(|i| format!("extra_store.{i}"))
            .collect();
        let mut inputs: Vec<(&str, &Path)> = vec![("store", store)];
        inputs.extend(
            roles
                .iter()
                .map(String::as_str)
                .zip(extra.iter().map(PathBuf::as_path)),
        );
        Self::new(config, &inputs)
    }
}

/// Field paths never compared on resume: `run.threads`, so that a run can
/// go on with another thread count (it then trains on, but not to the
/// last digit of an uninterrupted run: the order of floating-point sums
/// follows the thread count; each checkpoint's `state.json` records the
/// count of the segment that wrote it), or fields the caller compares
/// another way.
pub const IGNORED_ON_RESUME: &[&str] = &["run.threads"];

/// The differences between a recorded run (`then`, its `config.json`) and
/// the run asked for (`now`), one `field: then → now` line each, in field
/// order. Fields listed in `ignore` (dotted paths, such as `run.threads`)
/// are skipped, and so are fields the recorded run lacks (written by an
/// older version, before the field existed). Empty when the runs are the
/// same.
pub fn record_differences(then: &Value, now: &Value, ignore: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    diff(then, now, "", ignore, &mut out);
    out
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn diff(then: &Value, now: &Value, path: &str, ignore: &[&str], out: &mut Vec<String>) {
    if ignore.contains(&path) {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (then, now) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                match b.get(k) {
                    Some(vb) => diff(va, vb, &join(k), ignore, out),
                    None => {
                        if !ignore.contains(&join(k).as_str()) {
                            out.push(format!("{}: {} → (absent)", join(k), short(va)));
                        }
                    }
                }
            }
            // Fields the recorded run lacks are from a newer version: not
            // compared.
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                diff(va, vb, &join(&i.to_string()), ignore, out);
            }
        }
        (a, b) if a == b => {}
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) => out.push(format!(
            "{}: {} → {}",
            if path.is_empty() { "(config)" } else { path },
            short(a),
            short(b)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_name_each_field_with_both_values() {
        let then = json!({"kind": "mae", "run": {"max_steps": 300, "threads": 2,
            "optim": {"lr": 0.001}}, "store": "a.parquet", "channels": ["x", "y"],
            "inputs": {"store": {"size": 10, "sha256_ends": "aa"}}});
        let same = then.clone();
        assert!(record_differences(&then, &same, IGNORED_ON_RESUME).is_empty());
        let mut now = then.clone();
        now["run"]["max_steps"] = json!(600);
        now["run"]["optim"]["lr"] = json!(0.01);
        now["run"]["threads"] = json!(8);
        now["store"] = json!("b.parquet");
        now["channels"] = json!(["x"]);
        now["inputs"]["store"]["size"] = json!(11);
        now["new_field"] = json!(1);
        let d = record_differences(&then, &now, IGNORED_ON_RESUME);
        assert_eq!(
            d,
            [
                "channels: [\"x\",\"y\"] → [\"x\"]",
                "inputs.store.size: 10 → 11",
                "run.max_steps: 300 → 600",
                "run.optim.lr: 0.001 → 0.01",
                "store: \"a.parquet\" → \"b.parquet\"",
            ]
        );
        // A field the run asked for now lacks.
        let mut fewer = then.clone();
        fewer.as_object_mut().unwrap().remove("store");
        assert_eq!(
            record_differences(&then, &fewer, &[]),
            ["store: \"a.parquet\" → (absent)"]
        );
    }

    #[test]
    fn a_file_identity_follows_content_not_time() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.parquet");
        std::fs::write(&p, vec![7u8; 3 << 20]).unwrap();
        let a = FileIdentity::of(&p).unwrap();
        std::fs::write(&p, vec![7u8; 3 << 20]).unwrap();
        assert_eq!(FileIdentity::of(&p).unwrap(), a);
        let mut bytes = vec![7u8; 3 << 20];
        *bytes.last_mut().unwrap() = 8;
        std::fs::write(&p, &bytes).unwrap();
        assert_ne!(FileIdentity::of(&p).unwrap(), a);
        let err = FileIdentity::of(&dir.path().join("none")).unwrap_err();
        assert!(err.to_string().contains("none"), "{err}");
    }

    #[test]
    fn a_sharded_store_is_identified_by_its_shards() {
        let dir = tempfile::tempdir().unwrap();
        let shard = |i: u8, byte: u8| {
            let p = dir.path().join(format!("shard-0000{i}-of-00002.parquet"));
            std::fs::write(p, vec![byte; 1000]).unwrap();
        };
        shard(0, 1);
        shard(1, 2);
        let a = FileIdentity::of(dir.path()).unwrap();
        assert_eq!(a.size, 2000);
        assert_eq!(FileIdentity::of(dir.path()).unwrap(), a);
        shard(1, 3);
        assert_ne!(FileIdentity::of(dir.path()).unwrap(), a);
    }
}
