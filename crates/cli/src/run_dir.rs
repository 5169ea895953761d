//! The run directory of `train`, `pretrain` and `sensorllm align/tune`: a
//! fresh run does not silently replace one that is there.

use std::path::Path;

use anyhow::{bail, Result};
use wearlang_core::fs::LockGuard;

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

/// Lock the run directory `out` (created if missing) for the whole
/// command: a second `train` / `pretrain` / `sensorllm` into the same
/// `--out` fails with an error naming the directory and the process
/// holding it. The lock ends with the process.
pub fn lock(out: &Path) -> Result<LockGuard> {
    Ok(wearlang_core::fs::lock_run_dir(out)?)
}

/// Warn on stderr when the run in `dir` is unfinished (its checkpoint is
/// of step 100 of 300, say) before it is evaluated, embedded with or
/// initialised from. Such a checkpoint is still used (it is a valid model,
/// and inspecting a run part-way is useful); the warning says which step.
pub fn warn_if_unfinished(dir: &Path) {
    if let Some(w) = wearlang_models::checkpoint::unfinished_warning(dir) {
        eprintln!("warning: {w}");
    }
}

/// Where a training run keeps its windows' values: in memory, or with
/// `--values-on-disk` in a mapped file in its run directory `out`.
pub fn value_home(on_disk: bool, out: &Path) -> wearlang_models::ValueHome {
    if on_disk {
        wearlang_models::ValueHome::Disk(out.to_path_buf())
    } else {
        wearlang_models::ValueHome::Memory
    }
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
