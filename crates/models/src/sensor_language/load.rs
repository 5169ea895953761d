//! Sensor-language checkpoints: what a run records, the options of a run,
//! and [`load_sensor_language`], which rebuilds a trained model.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::Device;

use super::config::SensorLanguageConfig;
use super::select::StepSelection;
use wearlang_core::{ChannelKind, ChannelSpec, Normalisation};

use super::model::{resolve_minilm_dir, ResolvedModel, SensorLanguageModel, TextIdentity};
use crate::checkpoint::{self, CONFIG_FILE};
use crate::windows::WindowSet;
use crate::{ModelError, Result};

/// What a sensor-language checkpoint's `config.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SensorLanguageCheckpointConfig {
    /// Always `"sensor_language"`.
    pub kind: String,
    /// The run's configuration.
    pub run: SensorLanguageConfig,
    /// The architecture as built.
    pub model: ResolvedModel,
    /// The pretrained text model / vocabulary it depends on.
    pub text: TextIdentity,
    /// The store's channel names, in order.
    pub channels: Vec<String>,
    /// The store's channels in full (unit, kind): what a store to embed is
    /// matched against (by name, or by kind and axis). Empty in
    /// checkpoints written before it was recorded.
    #[serde(default)]
    pub channel_specs: Vec<ChannelSpec>,
    /// The store's label vocabulary.
    pub labels: Vec<String>,
    /// The store file.
    pub store: PathBuf,
    /// The other stores it was trained on, with their training windows
    /// (empty: `store` alone).
    #[serde(default)]
    pub extra_stores: Vec<PathBuf>,
    /// How the step budget was chosen on held-out classes (`[select]`),
    /// when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<StepSelection>,
    /// The statistics of its training windows (all stores pooled), in the
    /// units of [`Self::channel_specs`]: the scale a store's windows are
    /// put on with [`InputNormalisation::Model`]. `None` in checkpoints
    /// written before it was recorded ([`load_sensor_language`] then reads
    /// it from the recorded store when that is still there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalisation: Option<Normalisation>,
    /// When this checkpoint is a fine-tuned one's sensor encoder blended
    /// with its pretrained weights ([`super::wise_ft()`]), what was blended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wise_ft: Option<super::WiseFt>,
}

/// Which statistics put a store's windows on the scale a model reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputNormalisation {
    /// The store's own training statistics: every data set on its own
    /// scale, which depends on its mix of activities (a store of runs and a
    /// store of desk work put the same movement at different values).
    #[default]
    Store,
    /// The statistics the model was trained with (its checkpoint's
    /// `normalisation`), after converting units: a window reads the same
    /// whatever else the store holds.
    Model,
}

impl InputNormalisation {
    /// Parse `store` / `model`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "store" => Ok(Self::Store),
            "model" => Ok(Self::Model),
            other => Err(ModelError::config(
                "normalisation",
                format!("'{other}': expected store or model"),
            )),
        }
    }
}

impl SensorLanguageCheckpointConfig {
    /// The channels the model reads, in order: [`Self::channel_specs`] (for
    /// an older checkpoint, [`load_sensor_language`] reads them from its
    /// recorded store when that is still there), or else its names alone
    /// (matched by name only).
    pub fn channel_schema(&self) -> Vec<ChannelSpec> {
        if self.channel_specs.len() == self.channels.len() && !self.channel_specs.is_empty() {
            return self.channel_specs.clone();
        }
        self.channels
            .iter()
            .map(|n| ChannelSpec::new(n.clone(), "", ChannelKind::Other))
            .collect()
    }

    /// The first of a store's `channels` (in the model's order, as
    /// [`Self::onto_model`] leaves them) worn at a location the model's
    /// matching channel never trained on ([`ChannelSpec::seen_at`]), with
    /// that model channel; `None` when every location was seen or is
    /// unknown.
    pub fn unseen_placement<'s>(
        &self,
        channels: &'s [ChannelSpec],
    ) -> Option<(ChannelSpec, &'s ChannelSpec)> {
        self.channel_schema()
            .into_iter()
            .zip(channels)
            .find(|(m, s)| !m.seen_at(s))
    }

    /// `set` (windows of the store `source`) as the model reads them: its
    /// channels matched and reordered onto [`Self::channel_schema`]
    /// ([`WindowSet::onto_channels`]), normalised as `how` says. Returns the
    /// set and the names of the store's channels the model does not read.
    /// Errors: a channel is missing, or `how` is
    /// [`InputNormalisation::Model`] and the checkpoint records no
    /// statistics or a unit cannot be converted.
    pub fn onto_model(
        &self,
        set: WindowSet,
        source: &str,
        how: InputNormalisation,
    ) -> Result<(WindowSet, Vec<String>)> {
        let schema = self.channel_schema();
        let (set, dropped) = set.onto_channels(&schema, source)?;
        let set = match how {
            InputNormalisation::Store => set,
            InputNormalisation::Model => {
                let to = self.normalisation.as_ref().ok_or_else(|| {
                    ModelError::config(
                        "normalisation",
                        "the checkpoint records no training statistics (and its store is gone): \
                         normalise with the store's own (`store`)",
                    )
                })?;
                set.renormalise(to, &schema, source)?
            }
        };
        Ok((set, dropped))
    }
}

/// Where and how to run.
#[derive(Clone, Debug, Default)]
pub struct SensorLanguageOptions {
    /// The window store (its test split is the one a run's report scores).
    pub store: PathBuf,
    /// More stores whose training windows join `store`'s (one model over
    /// several data sets; see `wearlang_models::load_training_union`).
    pub extra_stores: Vec<PathBuf>,
    /// The run directory.
    pub out: PathBuf,
    /// Continue from `out`'s checkpoint.
    pub resume: bool,
    /// Show a progress bar.
    pub progress: bool,
    /// Stop after this many steps in total (to test resumption).
    pub stop_after: Option<u64>,
    /// MiniLM's directory (default: see [`resolve_minilm_dir`]).
    pub minilm_dir: Option<PathBuf>,
    /// Where the training windows' values are kept (in memory by default;
    /// [`crate::ValueHome::Disk`] maps them from a file, for training sets
    /// larger than memory; the run is the same either way).
    pub values: crate::ValueHome,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct SensorLanguageSummary {
    /// Steps done in total.
    pub steps: u64,
    /// Training windows.
    pub train_windows: usize,
    /// Unlabelled training windows left out (their text would come from a
    /// label, or the objective needs one).
    pub unlabelled_skipped: usize,
    /// Trainable parameters.
    pub parameters: i64,
    /// Mean loss of the last logged steps.
    pub final_loss: f64,
    /// Windows per second in this invocation.
    pub samples_per_s: f64,
    /// Share of the training time spent waiting for the next batch.
    pub data_wait_fraction: f64,
    /// The checkpoint written at the end.
    pub checkpoint: PathBuf,
    /// The budget chosen on held-out classes (`[select]`), when it was.
    pub selection: Option<StepSelection>,
}

/// A trained sensor-language model and its checkpoint's configuration.
pub struct LoadedSensorLanguage {
    /// The model with the checkpoint's weights.
    pub model: SensorLanguageModel,
    /// What the checkpoint recorded.
    pub config: SensorLanguageCheckpointConfig,
}

/// The directory of a checkpoint (a release) that holds its text model.
pub const BUNDLED_TEXT_DIR: &str = "text";

/// Load a `wearlang train` run directory (or its checkpoint directory).
/// MiniLM's files must be the ones the checkpoint was trained with (checked
/// by SHA-256); they are read from `minilm_dir` when given, else from the
/// checkpoint's `text/` when it has one (a release), else from the
/// configured or default location.
pub fn load_sensor_language(
    dir: &Path,
    minilm_dir: Option<&Path>,
    device: Device,
) -> Result<LoadedSensorLanguage> {
    let ckpt = checkpoint::checkpoint_of(dir)
        .ok_or_else(|| ModelError::checkpoint(dir, "no checkpoint in this directory"))?;
    let mut config: SensorLanguageCheckpointConfig = checkpoint::read_json(&ckpt, CONFIG_FILE)?;
    let wants_specs = config.channel_specs.is_empty();
    let wants_stats = config.normalisation.is_none() && config.extra_stores.is_empty();
    if wants_specs || wants_stats {
        // An older checkpoint: its store, when still there with the same
        // channel names, says what the channels are and (for a
        // single-store run) its training statistics.
        if let Ok(reader) = wearlang_store::StoreReader::open(&config.store) {
            let meta = reader.meta();
            if meta
                .channels
                .iter()
                .map(|c| &c.name)
                .eq(config.channels.iter())
            {
                if wants_specs {
                    config.channel_specs = meta.channels.clone();
                }
                if wants_stats {
                    config.normalisation = meta.normalisation.clone();
                }
            }
        }
    }
    if config.kind != "sensor_language" {
        return Err(ModelError::checkpoint(
            &ckpt,
            format!("kind is `{}`, expected `sensor_language`", config.kind),
        ));
    }
    // A release bundles the text model it was trained with under `text/`.
    let bundled = ckpt.join(BUNDLED_TEXT_DIR);
    let minilm_dir = minilm_dir.or_else(|| {
        bundled
            .join("vocab.txt")
            .is_file()
            .then_some(bundled.as_path())
    });
    let minilm = resolve_minilm_dir(&config.run, minilm_dir);
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(config.run.seed as i64);
    let mut model =
        SensorLanguageModel::from_resolved(&config.run, &config.model, &minilm, device)?;
    let have = model.text_identity();
    if have.vocab_sha256 != config.text.vocab_sha256
        || (!config.text.model_sha256.is_empty() && have.model_sha256 != config.text.model_sha256)
    {
        return Err(ModelError::checkpoint(
            &ckpt,
            format!(
                "trained with a different text model or vocabulary than the one in {}",
                minilm.display()
            ),
        ));
    }
    checkpoint::load_model(&ckpt, &mut model.vs)?;
    if let Some(state) = checkpoint::read_state(&ckpt) {
        model.set_trained_steps(state.step);
    }
    model.set_step_selection(config.selection.clone());
    Ok(LoadedSensorLanguage { model, config })
}
