//! The metrics log: one JSON object per line (`metrics.jsonl`), appended as
//! training goes; on resume, lines past the resumed step are dropped so the
//! log reads as one uninterrupted run.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{Result, TrainError};

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
            let file = File::create(path).map_err(|e| TrainError::io(path, e))?;
            return Ok(MetricsLog {
                path: path.to_path_buf(),
                file,
            });
        }
        let reader = BufReader::new(File::open(path).map_err(|e| TrainError::io(path, e))?);
        let mut kept = String::new();
        for line in reader.lines() {
            let line = line.map_err(|e| TrainError::io(path, e))?;
            let step = serde_json::from_str::<serde_json::Value>(&line)
                .ok()
                .and_then(|v| v.get("step").and_then(|s| s.as_u64()));
            if matches!(step, Some(s) if s <= resume_step) {
                kept.push_str(&line);
                kept.push('\n');
            }
        }
        let tmp = path.with_extension("jsonl.tmp");
        fs::write(&tmp, kept).map_err(|e| TrainError::io(&tmp, e))?;
        fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| TrainError::io(path, e))?;
        Ok(MetricsLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Append one record.
    pub fn write(&mut self, record: &impl Serialize) -> Result<()> {
        let line = serde_json::to_string(record)
            .map_err(|e| TrainError::Data(format!("cannot serialise a log record: {e}")))?;
        writeln!(self.file, "{line}").map_err(|e| TrainError::io(&self.path, e))?;
        self.file.flush().map_err(|e| TrainError::io(&self.path, e))
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
