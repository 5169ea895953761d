//! The metrics log: one JSON object per line (`metrics.jsonl`), appended as
//! training goes; on resume, lines past the resumed step are dropped so the
//! log reads as one uninterrupted run.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{EngineError, Result};

/// An append-only JSONL log.
pub struct MetricsLog {
    path: PathBuf,
    file: File,
}

impl MetricsLog {
    /// Open `path` for a run that starts at `resume_step` (0 = fresh run:
    /// the file is truncated). Lines whose `step` is greater than
    /// `resume_step` are removed.
    pub fn open(path: &Path, resume_step: u64) -> Result<Self> {
        if resume_step == 0 || !path.exists() {
            let file = File::create(path).map_err(|e| EngineError::io(path, e))?;
            return Ok(MetricsLog {
                path: path.to_path_buf(),
                file,
            });
        }
        let reader = BufReader::new(File::open(path).map_err(|e| EngineError::io(path, e))?);
        let mut kept = String::new();
        for line in reader.lines() {
            let line = line.map_err(|e| EngineError::io(path, e))?;
            let step = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_u64()));
            if matches!(step, Some(s) if s <= resume_step) {
                kept.push_str(&line);
                kept.push('\n');
            }
        }
        wearlang_core::fs::write_atomic(path, kept.as_bytes())?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| EngineError::io(path, e))?;
        Ok(MetricsLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Append one record.
    pub fn write(&mut self, record: &impl Serialize) -> Result<()> {
        let line = serde_json::to_string(record)
            .map_err(|e| EngineError::Data(format!("cannot serialise a log record: {e}")))?;
        writeln!(self.file, "{line}").map_err(|e| EngineError::io(&self.path, e))?;
        self.file
            .flush()
            .map_err(|e| EngineError::io(&self.path, e))
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_drops_later_lines_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let mut log = MetricsLog::open(&path, 0).unwrap();
        for step in 1..=5u64 {
            log.write(&serde_json::json!({ "step": step, "loss": 1.0 }))
                .unwrap();
        }
        drop(log);
        let mut log = MetricsLog::open(&path, 3).unwrap();
        log.write(&serde_json::json!({ "step": 4, "loss": 0.5 }))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let steps: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["step"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(steps, [1, 2, 3, 4]);
        assert!(text.ends_with("{\"loss\":0.5,\"step\":4}\n"), "{text}");
        // Only the log itself: no temporary file is left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
