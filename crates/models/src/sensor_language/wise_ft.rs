//! Weight-space ensembling of a fine-tuned sensor encoder with the one it
//! was fine-tuned from (WiSE-FT, Wortsman et al., CVPR 2022): every
//! `sensor.*` variable of a sensor-language checkpoint that came from the
//! pretraining checkpoint's `encoder.*` becomes `(1 − α) · pretrained + α ·
//! fine-tuned`; the projection heads, the text tower and anything else the
//! pretraining run did not have keep their fine-tuned values. `α = 1` is
//! the fine-tuned model, `α = 0` its heads on the pretrained encoder.
//!
//! ```no_run
//! use std::path::Path;
//! use wearlang_models::sensor_language::wise_ft;
//!
//! // The pretraining run is the one the training config's `init_from` named.
//! let done = wise_ft(Path::new("runs/sensorlm_clip"), None, 0.5, Path::new("runs/clip_wise05"))?;
//! println!("{} of {} tensors blended", done.blended, done.tensors);
//! # Ok::<(), wearlang_models::ModelError>(())
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::SensorLanguageCheckpointConfig;
use crate::checkpoint::{self, CONFIG_FILE, MODEL_FILE, STATE_FILE};
use crate::{ModelError, Result};

/// What [`wise_ft`] blended, recorded in the new checkpoint's `config.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WiseFt {
    /// The fine-tuned checkpoint (the weight given `alpha`).
    pub fine_tuned: PathBuf,
    /// The pretraining checkpoint (the weight given `1 − alpha`).
    pub pretrained: PathBuf,
    /// The fine-tuned model's share, in [0, 1].
    pub alpha: f64,
    /// Tensors blended (the sensor encoder's).
    pub blended: usize,
    /// Tensors in the model file.
    pub tensors: usize,
}

/// Write into run directory `out` the checkpoint of run `run` (a `wearlang
/// train` run directory or its checkpoint) with its sensor encoder blended
/// towards the pretraining checkpoint `pretrained` (default: the one its
/// configuration's `sensor.init_from` names) by `alpha` (see the module
/// docs). Everything else is copied; the new `config.json` records the
/// blend ([`SensorLanguageCheckpointConfig::wise_ft`]); nothing is left in
/// `out` on error. The result is a run directory that `wearlang eval`,
/// `embed`, `classify` and `cargo xtask release` read like any other.
pub fn wise_ft(run: &Path, pretrained: Option<&Path>, alpha: f64, out: &Path) -> Result<WiseFt> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(ModelError::config(
            "alpha",
            format!("must lie in [0, 1], got {alpha}"),
        ));
    }
    let ft_dir = resolve(run, "the fine-tuned run")?;
    let raw: serde_json::Value = checkpoint::read_json(&ft_dir, CONFIG_FILE)?;
    if raw["kind"] != "sensor_language" {
        return Err(ModelError::checkpoint(
            ft_dir.join(CONFIG_FILE),
            format!(
                "kind is {}, expected \"sensor_language\": only a sensor-language run \
                 (`wearlang train`) has a fine-tuned sensor encoder to blend",
                raw["kind"]
            ),
        ));
    }
    let mut cfg: SensorLanguageCheckpointConfig = serde_json::from_value(raw)
        .map_err(|e| ModelError::checkpoint(ft_dir.join(CONFIG_FILE), e.to_string()))?;
    if cfg.wise_ft.is_some() {
        return Err(ModelError::checkpoint(
            &ft_dir,
            "already a blend (wise_ft in config.json); blend the fine-tuned run itself",
        ));
    }
    let pre_run = match pretrained {
        Some(p) => p.to_path_buf(),
        None => cfg.run.sensor.init_from.clone().ok_or_else(|| {
            ModelError::checkpoint(
                ft_dir.join(CONFIG_FILE),
                "its sensor encoder was not initialised from a pretraining run \
                 (no sensor.init_from); name one with `pretrained`",
            )
        })?,
    };
    let pre_dir = resolve(&pre_run, "the pretraining run")?;
    let pre_file = pre_dir.join(MODEL_FILE);
    let mut pre: BTreeMap<String, Tensor> = Tensor::read_safetensors(&pre_file)?
        .into_iter()
        .filter_map(|(k, t)| k.strip_prefix("encoder.").map(|r| (r.to_string(), t)))
        .collect();
    let ft_file = ft_dir.join(MODEL_FILE);
    let mut blended = 0;
    let mut tensors = Vec::new();
    for (name, t) in Tensor::read_safetensors(&ft_file)? {
        let from_pre = name.strip_prefix("sensor.").and_then(|r| pre.remove(r));
        let t = match from_pre {
            Some(p) => {
                if p.size() != t.size() || p.kind() != t.kind() {
                    return Err(ModelError::checkpoint(
                        &pre_file,
                        format!(
                            "tensor `encoder.{}` is {:?} {:?}, the fine-tuned `{name}` {:?} {:?}: \
                             not the encoder this run was fine-tuned from",
                            &name["sensor.".len()..],
                            p.kind(),
                            p.size(),
                            t.kind(),
                            t.size()
                        ),
                    ));
                }
                blended += 1;
                (p * (1.0 - alpha) + &t * alpha).contiguous()
            }
            None => t,
        };
        tensors.push((name, t));
    }
    if blended == 0 {
        return Err(ModelError::checkpoint(
            &pre_file,
            "no `encoder.*` tensor matches a `sensor.*` variable of the fine-tuned model",
        ));
    }
    if let Some(left) = pre.keys().next() {
        return Err(ModelError::checkpoint(
            &pre_file,
            format!("tensor `encoder.{left}` matches no variable of the fine-tuned sensor encoder"),
        ));
    }
    let record = WiseFt {
        fine_tuned: ft_dir.clone(),
        pretrained: pre_dir,
        alpha,
        blended,
        tensors: tensors.len(),
    };
    cfg.wise_ft = Some(record.clone());
    // The fine-tuned run's loss history, for the evaluation report's plot:
    // written (atomically) before the checkpoint, so that a blend that is
    // there always has it.
    let history = run.join("metrics.jsonl");
    if history.is_file() {
        let bytes = std::fs::read(&history).map_err(|e| ModelError::io(&history, e))?;
        std::fs::create_dir_all(out).map_err(|e| ModelError::io(out, e))?;
        wearlang_core::fs::write_atomic(out.join("metrics.jsonl"), &bytes)?;
    }
    checkpoint::commit_checkpoint(out, |tmp| {
        Tensor::write_safetensors(&tensors, tmp.join(MODEL_FILE))?;
        let state = ft_dir.join(STATE_FILE);
        std::fs::copy(&state, tmp.join(STATE_FILE)).map_err(|e| ModelError::io(&state, e))?;
        checkpoint::write_json(&tmp.join(CONFIG_FILE), &cfg)
    })?;
    Ok(record)
}

/// The checkpoint directory of run directory (or checkpoint) `dir`.
fn resolve(dir: &Path, what: &str) -> Result<PathBuf> {
    checkpoint::checkpoint_of(dir)
        .ok_or_else(|| ModelError::checkpoint(dir, format!("{what}: no checkpoint here")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{save_checkpoint, TrainState};
    use crate::sensor_language::SensorLanguageConfig;
    use tch::{nn, Device, Kind};

    /// A variable named `name` (dots are path separators) filled with `v`.
    fn var(vs: &nn::VarStore, name: &str, shape: &[i64], v: f64) {
        let (path, last) = name.rsplit_once('.').unwrap();
        let p = path.split('.').fold(vs.root(), |p, part| p / part);
        let _ = p.var(last, shape, nn::Init::Const(v));
    }

    /// A pretraining-like checkpoint (`encoder.*`, `decoder.*`) and a
    /// fine-tuned one (`sensor.*` from it, plus a head) in `root`.
    fn two_runs(root: &Path, init_from: Option<&Path>) -> (PathBuf, PathBuf) {
        let pre = root.join("pre");
        let vs = nn::VarStore::new(Device::Cpu);
        var(&vs, "encoder.w", &[2, 3], 1.0);
        var(&vs, "encoder.b", &[3], -2.0);
        var(&vs, "decoder.w", &[4], 7.0);
        save_checkpoint(&pre, &vs, None, &TrainState::default(), &"pretrain").unwrap();

        let ft = root.join("ft");
        let vs = nn::VarStore::new(Device::Cpu);
        var(&vs, "sensor.w", &[2, 3], 3.0);
        var(&vs, "sensor.b", &[3], 2.0);
        var(&vs, "heads.sensor.w", &[5], 0.5);
        let mut run = SensorLanguageConfig::default();
        run.sensor.init_from = init_from.map(Path::to_path_buf);
        let cfg = serde_json::json!({
            "kind": "sensor_language",
            "run": run,
            "model": {"steps": 10, "channels": 3},
            "text": {"name": "minilm", "vocab_sha256": "", "model_sha256": ""},
            "channels": ["a", "b", "c"],
            "labels": ["x"],
            "store": "s.parquet",
        });
        let state = TrainState {
            step: 9,
            total_steps: 9,
            finished: true,
            ..TrainState::default()
        };
        save_checkpoint(&ft, &vs, None, &state, &cfg).unwrap();
        std::fs::write(ft.join("metrics.jsonl"), "{\"step\": 9}\n").unwrap();
        (pre, ft)
    }

    fn tensor(dir: &Path, name: &str) -> Vec<f32> {
        let file = checkpoint::checkpoint_dir(dir).join(MODEL_FILE);
        let t = Tensor::read_safetensors(&file)
            .unwrap()
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .1;
        Vec::<f32>::try_from(t.to_kind(Kind::Float).flatten(0, -1)).unwrap()
    }

    #[test]
    fn the_encoder_moves_towards_its_pretrained_weights_and_the_heads_stay() {
        let dir = tempfile::tempdir().unwrap();
        let pre_ckpt = dir.path().join("pre");
        let (_, ft) = two_runs(dir.path(), Some(&pre_ckpt));
        let out = dir.path().join("blend");
        let done = wise_ft(&ft, None, 0.25, &out).unwrap();
        assert_eq!((done.blended, done.tensors), (2, 3));
        // 0.75 · 1 + 0.25 · 3 and 0.75 · (−2) + 0.25 · 2.
        assert_eq!(tensor(&out, "sensor.w"), vec![1.5; 6]);
        assert_eq!(tensor(&out, "sensor.b"), vec![-1.0; 3]);
        assert_eq!(tensor(&out, "heads.sensor.w"), vec![0.5; 5]);
        // The blend is recorded; state and history are the fine-tuned run's.
        let ck = checkpoint::checkpoint_dir(&out);
        let cfg: serde_json::Value = checkpoint::read_json(&ck, CONFIG_FILE).unwrap();
        assert_eq!(cfg["wise_ft"]["alpha"], 0.25);
        assert_eq!(checkpoint::read_state(&ck).unwrap().step, 9);
        assert!(out.join("metrics.jsonl").is_file());
        // α = 1 is the fine-tuned model, α = 0 the pretrained encoder.
        wise_ft(&ft, None, 1.0, &out).unwrap();
        assert_eq!(tensor(&out, "sensor.w"), vec![3.0; 6]);
        wise_ft(&ft, None, 0.0, &out).unwrap();
        assert_eq!(tensor(&out, "sensor.b"), vec![-2.0; 3]);
        // A blend is not blended again.
        let err = wise_ft(&out, None, 0.5, &dir.path().join("again")).unwrap_err();
        assert!(err.to_string().contains("already a blend"), "{err}");
    }

    #[test]
    fn bad_alpha_a_missing_init_and_a_foreign_encoder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (pre, ft) = two_runs(dir.path(), None);
        let out = dir.path().join("blend");
        let err = wise_ft(&ft, Some(&pre), 1.5, &out).unwrap_err();
        assert!(err.to_string().contains("alpha"), "{err}");
        let err = wise_ft(&ft, None, 0.5, &out).unwrap_err();
        assert!(err.to_string().contains("sensor.init_from"), "{err}");
        // Named explicitly, it works.
        wise_ft(&ft, Some(&pre), 0.5, &out).unwrap();
        assert_eq!(tensor(&out, "sensor.w"), vec![2.0; 6]);

        // An encoder of another shape is named, and nothing is written.
        let other = dir.path().join("other");
        let vs = nn::VarStore::new(Device::Cpu);
        var(&vs, "encoder.w", &[3, 2], 1.0);
        var(&vs, "encoder.b", &[3], 1.0);
        save_checkpoint(&other, &vs, None, &TrainState::default(), &"pretrain").unwrap();
        let fresh = dir.path().join("fresh");
        let err = wise_ft(&ft, Some(&other), 0.5, &fresh).unwrap_err();
        assert!(err.to_string().contains("encoder.w"), "{err}");
        assert!(checkpoint::find_checkpoint(&fresh).is_none());
        // A pretrained tensor the fine-tuned encoder lacks means another encoder.
        let vs = nn::VarStore::new(Device::Cpu);
        var(&vs, "encoder.w", &[2, 3], 1.0);
        var(&vs, "encoder.b", &[3], 1.0);
        var(&vs, "encoder.extra", &[1], 1.0);
        save_checkpoint(&other, &vs, None, &TrainState::default(), &"pretrain").unwrap();
        let err = wise_ft(&ft, Some(&other), 0.5, &fresh).unwrap_err();
        assert!(err.to_string().contains("encoder.extra"), "{err}");
    }
}
