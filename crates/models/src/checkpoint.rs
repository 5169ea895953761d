//! Checkpoints: a directory holding `model.safetensors` (the model's
//! variables under their VarStore names), `optimizer.safetensors` (AdamW
//! moments and step), `state.json` (progress) and `config.json` (the full
//! configuration the model was built from).
//!
//! Writes are atomic: the files go to a temporary sibling directory that is
//! renamed into place when complete, so an interrupted run leaves either the
//! previous checkpoint or the new one, never a mix.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use tch::{nn::VarStore, Tensor};

use crate::{ModelError, Result};
use wearlang_optim::AdamW;

/// File names inside a checkpoint directory.
pub const MODEL_FILE: &str = "model.safetensors";
/// Optimiser state file.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Progress file.
pub const STATE_FILE: &str = "state.json";
/// Configuration file.
pub const CONFIG_FILE: &str = "config.json";

/// The checkpoint directory inside a run directory `out`.
pub fn checkpoint_dir(out: &Path) -> PathBuf {
    out.join("checkpoint")
}

/// The checkpoint to read in run directory `out`: `out/checkpoint`, or
/// `out/checkpoint.old` when a save was interrupted between its two
/// renames. `None` when there is none.
pub fn find_checkpoint(out: &Path) -> Option<PathBuf> {
    let main = checkpoint_dir(out);
    if main.join(STATE_FILE).is_file() {
        return Some(main);
    }
    let old = out.join("checkpoint.old");
    old.join(STATE_FILE).is_file().then_some(old)
}

/// Write `value` as pretty JSON to `path` (not atomic: for files inside a
/// checkpoint being committed by [`commit_checkpoint`]).
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| ModelError::checkpoint(path, format!("cannot serialise: {e}")))?;
    fs::write(path, text).map_err(|e| ModelError::io(path, e))
}

/// Remove the temporary checkpoint directories (`.checkpoint.tmp-<pid>`)
/// that killed processes left in the run directory `out`: those of a
/// process that is gone, and, while this process holds the run
/// directory's lock ([`wearlang_core::fs::lock_run_dir`]), those of any
/// other process (no other process can be writing there). Best effort;
/// returns how many were removed.
pub fn remove_stale_checkpoint_temps(out: &Path) -> usize {
    let me = std::process::id();
    let locked = wearlang_core::fs::holds_run_lock(out);
    let Ok(entries) = fs::read_dir(out) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(".checkpoint.tmp-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != me
            && (locked || wearlang_core::fs::process_is_gone(pid))
            && fs::remove_dir_all(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Save a checkpoint into `out/checkpoint` atomically. `optimizer` may be
/// `None` for a final, inference-only checkpoint.
pub fn save_checkpoint(
    out: &Path,
    vs: &VarStore,
    optimizer: Option<&AdamW>,
    state: &impl Serialize,
    config: &impl Serialize,
) -> Result<PathBuf> {
    commit_checkpoint(out, |tmp| {
        Tensor::write_safetensors(&sorted_variables(vs), tmp.join(MODEL_FILE))?;
        if let Some(opt) = optimizer {
            Tensor::write_safetensors(&opt.state_tensors(), tmp.join(OPTIMIZER_FILE))?;
        }
        write_json(&tmp.join(STATE_FILE), state)?;
        write_json(&tmp.join(CONFIG_FILE), config)
    })
}

/// Write a checkpoint directory into `out/checkpoint` atomically: `fill`
/// writes the files into a temporary sibling directory, which is synced and
/// renamed into place (the previous checkpoint goes only once the new one is
/// there). Used by [`save_checkpoint`] and by tools that derive a checkpoint
/// from others (e.g. [`crate::sensor_language::wise_ft`]).
pub fn commit_checkpoint(out: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    fs::create_dir_all(out).map_err(|e| ModelError::io(out, e))?;
    remove_stale_checkpoint_temps(out);
    let tmp = out.join(format!(".checkpoint.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| ModelError::io(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| ModelError::io(&tmp, e))?;
    if let Err(e) = fill(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    for entry in fs::read_dir(&tmp).map_err(|e| ModelError::io(&tmp, e))? {
        let p = entry.map_err(|e| ModelError::io(&tmp, e))?.path();
        fs::File::open(&p)
            .and_then(|f| f.sync_all())
            .map_err(|e| ModelError::io(&p, e))?;
    }
    let dst = checkpoint_dir(out);
    let old = out.join("checkpoint.old");
    if old.exists() {
        fs::remove_dir_all(&old).map_err(|e| ModelError::io(&old, e))?;
    }
    if dst.exists() {
        fs::rename(&dst, &old).map_err(|e| ModelError::io(&dst, e))?;
    }
    fs::rename(&tmp, &dst).map_err(|e| ModelError::io(&tmp, e))?;
    if old.exists() {
        fs::remove_dir_all(&old).map_err(|e| ModelError::io(&old, e))?;
    }
    Ok(dst)
}

/// The variables of `vs` sorted by name (detached, contiguous, on the CPU).
pub fn sorted_variables(vs: &VarStore) -> Vec<(String, Tensor)> {
    let map: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
    map.into_iter()
        .map(|(k, v)| (k, v.detach().to_device(tch::Device::Cpu).contiguous()))
        .collect()
}

/// Load the model variables of checkpoint directory `dir` into `vs`. Every
/// variable of `vs` must be in the file with the same shape; extra tensors
/// in the file are an error too (they mean the model and checkpoint differ).
pub fn load_model(dir: &Path, vs: &mut VarStore) -> Result<()> {
    let path = dir.join(MODEL_FILE);
    if !path.is_file() {
        return Err(ModelError::checkpoint(&path, "file not found"));
    }
    let tensors = Tensor::read_safetensors(&path)?;
    load_named(vs, tensors, "", "", &path, true)
}

/// Copy tensors whose name starts with `src_prefix` into the variables of
/// `vs` whose name starts with `dst_prefix` (the rest of the name must
/// match). With `strict`, every destination variable must be found and every
/// source tensor used. Used e.g. to initialise a training model's sensor
/// encoder (`sensor.`) from a pretraining checkpoint (`encoder.`).
pub fn load_named(
    vs: &mut VarStore,
    tensors: Vec<(String, Tensor)>,
    src_prefix: &str,
    dst_prefix: &str,
    origin: &Path,
    strict: bool,
) -> Result<()> {
    let mut src: BTreeMap<String, Tensor> = tensors
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix(src_prefix).map(|rest| (rest.to_string(), v)))
        .collect();
    let vars = vs.variables();
    let mut names: Vec<&String> = vars.keys().filter(|k| k.starts_with(dst_prefix)).collect();
    names.sort();
    if names.is_empty() {
        return Err(ModelError::checkpoint(
            origin,
            format!("the model has no variables under `{dst_prefix}`"),
        ));
    }
    for name in names {
        let rest = &name[dst_prefix.len()..];
        let mut var = vars[name].shallow_clone();
        match src.remove(rest) {
            Some(t) => {
                if t.kind() != var.kind() {
                    return Err(ModelError::checkpoint(
                        origin,
                        format!(
                            "tensor `{src_prefix}{rest}` is {:?}, the model's `{name}` {:?}",
                            t.kind(),
                            var.kind()
                        ),
                    ));
                }
                if t.size() != var.size() {
                    return Err(ModelError::checkpoint(
                        origin,
                        format!(
                            "tensor `{src_prefix}{rest}` has shape {:?}, the model's `{name}` {:?}",
                            t.size(),
                            var.size()
                        ),
                    ));
                }
                tch::no_grad(|| var.f_copy_(&t))?;
            }
            None if strict => {
                return Err(ModelError::checkpoint(
                    origin,
                    format!("no tensor `{src_prefix}{rest}` for the model's `{name}`"),
                ))
            }
            None => {}
        }
    }
    if strict {
        if let Some(extra) = src.keys().next() {
            return Err(ModelError::checkpoint(
                origin,
                format!("tensor `{src_prefix}{extra}` matches no variable of the model"),
            ));
        }
    }
    Ok(())
}

/// Load the optimiser state of checkpoint directory `dir`.
pub fn load_optimizer(dir: &Path, opt: &mut AdamW) -> Result<()> {
    let path = dir.join(OPTIMIZER_FILE);
    if !path.is_file() {
        return Err(ModelError::checkpoint(
            &path,
            "file not found (a final checkpoint cannot be resumed)",
        ));
    }
    opt.load_state_tensors(Tensor::read_safetensors(&path)?)
        .map_err(|e| ModelError::checkpoint(&path, e.to_string()))
}

/// Read and parse a JSON file of a checkpoint (`state.json`, `config.json`).
pub fn read_json<T: DeserializeOwned>(dir: &Path, name: &str) -> Result<T> {
    let path = dir.join(name);
    let text = fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| ModelError::checkpoint(&path, e.to_string()))
}

/// Progress of a run (`state.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimiser steps completed.
    pub step: u64,
    /// Steps in the whole run.
    pub total_steps: u64,
    /// Windows seen.
    pub samples: u64,
    /// Training wall time so far, in seconds.
    pub wall_s: f64,
    /// Loss of the last step.
    pub last_loss: f64,
    /// Whether the run reached `total_steps`.
    pub finished: bool,
    /// Sums of the loss and each loss term (in the order logged) over the
    /// steps since the last `metrics.jsonl` record: a checkpoint between two
    /// records carries them, so a resumed run writes the records an
    /// uninterrupted one does. Empty at a record's step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_sums: Vec<(String, f64)>,
    /// Steps summed in [`TrainState::log_sums`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub log_steps: u64,
    /// libtorch's intra-op threads while the run (its last segment, when
    /// resumed) trained; 0 when not recorded (older checkpoints). The
    /// order of floating-point sums, and so the trained model, depends on
    /// it: the same seeds on one thread and on two can end far apart
    /// (`docs/results.md`, "The CoCa regression, traced").
    #[serde(default, skip_serializing_if = "is_zero")]
    pub threads: usize,
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// The progress (`state.json`) of the checkpoint of `dir` (a run directory
/// or a checkpoint directory); `None` when there is none or it cannot be
/// read (a release, which has none).
pub fn read_state(dir: &Path) -> Option<TrainState> {
    read_json(&checkpoint_of(dir)?, STATE_FILE).ok()
}

/// The checkpoint directory of `dir`: `dir` itself when it is one (holds
/// `state.json`), else the run directory's ([`find_checkpoint`]).
pub fn checkpoint_of(dir: &Path) -> Option<PathBuf> {
    if dir.join(STATE_FILE).is_file() {
        Some(dir.to_path_buf())
    } else {
        find_checkpoint(dir)
    }
}

/// A warning to show before using the checkpoint of `dir` (to evaluate,
/// embed or initialise from): `Some` when it is of an unfinished run,
/// naming the directory and the steps trained of the budget. `None` for a
/// finished run or a directory without `state.json`.
pub fn unfinished_warning(dir: &Path) -> Option<String> {
    let state = read_state(dir)?;
    (!state.finished).then(|| {
        format!(
            "{} holds an unfinished run (step {} of {}): its weights are those of step {}; \
             finish it with --resume to use the trained model",
            dir.display(),
            state.step,
            state.total_steps,
            state.step
        )
    })
}
