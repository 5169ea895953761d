//! The run directory of `train`, `pretrain` and `sensorllm align/tune`: a
//! fresh run does not silently replace one that is there.

use std::path::Path;

use anyhow::{bail, Result};

/// What a run writes that marks its directory as holding one.
const RUN_FILES: [&str; 4] = ["checkpoint", "checkpoint.old", "metrics.jsonl", "selected"];

/// Refuse a fresh run into `out` when it already holds a run, unless the
/// user asked to continue it (`--resume`) or to replace it
/// (`--overwrite`).
pub fn check_fresh(out: &Path, resume: bool, overwrite: bool) -> Result<()> {
    if resume || overwrite {
        return Ok(());
    }
    if let Some(found) = RUN_FILES.iter().find(|f| out.join(f).exists()) {
        bail!(
            "{} already holds a run ({found} is there): pass --resume to continue it, \
             --overwrite to replace it, or choose another --out",
            out.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_directory_is_not_replaced_without_asking() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_fresh(dir.path(), false, false).is_ok());
        std::fs::write(dir.path().join("metrics.jsonl"), "{}\n").unwrap();
        let err = check_fresh(dir.path(), false, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("metrics.jsonl") && err.contains("--overwrite"),
            "{err}"
        );
        assert!(check_fresh(dir.path(), true, false).is_ok());
        assert!(check_fresh(dir.path(), false, true).is_ok());
    }
}
