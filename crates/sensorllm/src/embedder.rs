//! The frozen sensor encoder SensorLLM reads windows with ([`Embedder`]):
//! the AIM patch Transformer of a `wearlang pretrain` run, or the sensor
//! encoder of a `wearlang train` run (e.g. the NLS 1-D conv encoder), with
//! the channel groups and token order the prompt uses.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tch::{Device, Kind, Tensor};
use wearlang_encoders::SensorEncoder;
use wearlang_models::checkpoint::{self, CONFIG_FILE};
use wearlang_models::{
    load_mae, load_sensor_language, LoadedMae, LoadedSensorLanguage, ModelError, Result,
};

use crate::model::weights_sha256;

/// Where the encoder comes from.
enum Source {
    /// A `wearlang pretrain` run: the masked autoencoder's patch
    /// Transformer, whose tokens are (time patch, channel group) cells.
    Mae(Box<LoadedMae>),
    /// A `wearlang train` run: its sensor encoder, whose tokens are time
    /// steps (the conv encoder) or patches, max-pooled in time into
    /// `tokens` segments.
    SensorLanguage {
        /// The run.
        loaded: Box<LoadedSensorLanguage>,
        /// Sensor tokens per window after pooling.
        tokens: usize,
    },
}

/// A frozen sensor encoder with its prompt layout: which channels each
/// group of tokens covers and where each group's tokens are in what
/// [`Embedder::encode`] returns.
pub struct Embedder {
    source: Source,
    run: PathBuf,
    channels: Vec<String>,
    groups: Vec<Vec<String>>,
    group_tokens: Vec<Vec<i64>>,
    sha256: String,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("kind", &self.kind())
            .field("run", &self.run)
            .field("groups", &self.groups)
            .finish()
    }
}

/// The `kind` of the checkpoint of run `dir` (`mae`, `sensor_language`, …).
pub fn checkpoint_kind(dir: &Path) -> Result<String> {
    #[derive(Deserialize)]
    struct Kind {
        kind: String,
    }
    let ckpt = if dir.join(CONFIG_FILE).is_file() {
        dir.to_path_buf()
    } else {
        checkpoint::find_checkpoint(dir)
            .ok_or_else(|| ModelError::checkpoint(dir, "no checkpoint in this directory"))?
    };
    Ok(checkpoint::read_json::<Kind>(&ckpt, CONFIG_FILE)?.kind)
}

impl Embedder {
    /// Load the encoder of run `dir`, whichever command wrote it: a
    /// pretraining run (`mae`) or a sensor-language run
    /// (`sensor_language`; its text model is found as `wearlang eval`
    /// finds it, and its time tokens are max-pooled into `tokens`
    /// segments). Other kinds are an error naming the run.
    pub fn load(dir: &Path, tokens: usize, device: Device) -> Result<Self> {
        match checkpoint_kind(dir)?.as_str() {
            "mae" => Self::from_mae(load_mae(dir, device)?, dir),
            "sensor_language" => {
                Self::from_sensor_language(load_sensor_language(dir, None, device)?, dir, tokens)
            }
            other => Err(ModelError::checkpoint(
                dir,
                format!(
                    "kind is `{other}`: SensorLLM reads windows with a `wearlang pretrain` (mae) \
                     or `wearlang train` (sensor_language) run"
                ),
            )),
        }
    }

    /// The patch Transformer of a pretraining run `run`, frozen: one group
    /// per column of patch tokens.
    pub fn from_mae(mut mae: LoadedMae, run: &Path) -> Result<Self> {
        mae.vs.freeze();
        let enc = mae.model.encoder();
        let (grid, spec) = (enc.grid(), enc.patch_spec());
        let channels = mae.config.channels.clone();
        if channels.len() != grid.channel * spec.channel {
            return Err(ModelError::checkpoint(
                run,
                format!(
                    "{} channels recorded for a grid of {} groups of {}",
                    channels.len(),
                    grid.channel,
                    spec.channel
                ),
            ));
        }
        let groups = (0..grid.channel)
            .map(|j| channels[j * spec.channel..(j + 1) * spec.channel].to_vec())
            .collect();
        let group_tokens = (0..grid.channel)
            .map(|j| (0..grid.time).map(|i| grid.token(i, j) as i64).collect())
            .collect();
        let sha256 = weights_sha256(&mae.vs)?;
        Ok(Embedder {
            source: Source::Mae(Box::new(mae)),
            run: run.to_path_buf(),
            channels,
            groups,
            group_tokens,
            sha256,
        })
    }

    /// The sensor encoder of a sensor-language run `run`, frozen: one group
    /// of every channel, its tokens max-pooled in time into `tokens`
    /// segments (each the maximum over its steps, as the conv encoder
    /// pools a whole window; steps the encoder marks as missing are left
    /// out, and a segment with none observed is a zero token masked out of
    /// the prompt).
    pub fn from_sensor_language(
        mut loaded: LoadedSensorLanguage,
        run: &Path,
        tokens: usize,
    ) -> Result<Self> {
        let steps = loaded.model.sensor_encoder().window_shape().0;
        if tokens == 0 || tokens > steps {
            return Err(ModelError::config(
                "sensor_tokens",
                format!("must be between 1 and the encoder's {steps} time steps, got {tokens}"),
            ));
        }
        loaded.model.vs.freeze();
        let channels = loaded.config.channels.clone();
        let sha256 = weights_sha256(&loaded.model.vs)?;
        Ok(Embedder {
            source: Source::SensorLanguage {
                loaded: Box::new(loaded),
                tokens,
            },
            run: run.to_path_buf(),
            groups: vec![channels.clone()],
            group_tokens: vec![(0..tokens as i64).collect()],
            channels,
            sha256,
        })
    }

    /// `mae` or `sensor_language`.
    pub fn kind(&self) -> &'static str {
        match self.source {
            Source::Mae(_) => "mae",
            Source::SensorLanguage { .. } => "sensor_language",
        }
    }

    /// The run the encoder was loaded from.
    pub fn run(&self) -> &Path {
        &self.run
    }

    /// The channels the encoder reads, in order.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// The channel groups, in prompt order.
    pub fn groups(&self) -> &[Vec<String>] {
        &self.groups
    }

    /// Per group, the indices of its tokens in [`Embedder::encode`]'s
    /// output, in time order.
    pub fn group_tokens(&self) -> &[Vec<i64>] {
        &self.group_tokens
    }

    /// Sensor tokens per group.
    pub fn tokens_per_group(&self) -> usize {
        self.group_tokens.first().map_or(0, Vec::len)
    }

    /// SHA-256 of the encoder's weights (of the whole run's variables).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Width of the tokens.
    pub fn dim(&self) -> i64 {
        match &self.source {
            Source::Mae(m) => m.model.encoder().dim(),
            Source::SensorLanguage { loaded, .. } => loaded.model.sensor_encoder().dim(),
        }
    }

    /// Tokens `[B, N, D]` of windows `x` `[B, T, C]` (NaN = missing) and
    /// their mask `[B, N]` (`true` = holds observed data), without
    /// gradients.
    pub fn encode(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        tch::no_grad(|| match &self.source {
            Source::Mae(m) => {
                let out = m.model.encoder().encode(x, None, false)?;
                Ok((out.tokens, out.token_mask.to_kind(Kind::Bool)))
            }
            Source::SensorLanguage { loaded, tokens } => {
                let out = loaded.model.sensor_encoder().encode(x, None, false)?;
                Ok(pool_time(&out.tokens, &out.token_mask, *tokens))
            }
        })
    }
}

/// Max-pool tokens `[B, T, D]` in time into `n` segments (adaptive
/// boundaries), over the steps `valid` `[B, T]` marks; a segment without a
/// valid step is zero and masked. Returns `([B, n, D], [B, n] bool)`.
fn pool_time(tokens: &Tensor, valid: &Tensor, n: usize) -> (Tensor, Tensor) {
    let valid = valid.to_kind(Kind::Bool);
    let hidden = tokens.masked_fill(&valid.logical_not().unsqueeze(-1), f64::NEG_INFINITY);
    let (pooled, _) = hidden.transpose(1, 2).adaptive_max_pool1d([n as i64]);
    let (any, _) = valid
        .to_kind(tokens.kind())
        .unsqueeze(1)
        .adaptive_max_pool1d([n as i64]);
    let mask = any.squeeze_dim(1).gt(0.5);
    let pooled = pooled
        .transpose(1, 2)
        .masked_fill(&mask.logical_not().unsqueeze(-1), 0.0);
    (pooled, mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_pooling_takes_the_maximum_of_observed_steps_per_segment() {
        // One window, 6 steps, 1 feature: 1 2 3 | 4 5 6, step 5 (value 6)
        // missing; a second window with nothing observed in its second half.
        let t =
            Tensor::from_slice(&[1f32, 2., 3., 4., 5., 6., 1., 2., 3., 4., 5., 6.]).view([2, 6, 1]);
        let v = Tensor::from_slice(&[
            true, true, true, true, true, false, true, true, true, false, false, false,
        ])
        .view([2, 6]);
        let (p, m) = pool_time(&t, &v, 2);
        assert_eq!(p.size(), [2, 2, 1]);
        assert_eq!(
            Vec::<f32>::try_from(p.flatten(0, -1)).unwrap(),
            [3., 5., 3., 0.]
        );
        assert_eq!(
            Vec::<bool>::try_from(m.flatten(0, -1)).unwrap(),
            [true, true, true, false]
        );
    }
}
