//! The TOML configuration of a sensor-language run (`wearlang train --config`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wearlang_captioning::ActivityConfig;
use wearlang_encoders::text::{CaptionDecoderConfig, SmallTextConfig};
use wearlang_encoders::ProjectionConfig;
use wearlang_objectives::{Augmentation, ObjectiveConfig};

use super::select::SelectConfig;
use crate::mae::EncoderSpec;
use crate::{ModelError, Result};
use wearlang_optim::{OptimConfig, ScheduleConfig};

/// Which sensor encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// The NLS 1-D conv encoder.
    Conv,
    /// The patch Transformer (ViT-1D), optionally from a `pretrain` checkpoint.
    Patch,
    /// An encoder another crate registered with
    /// [`register_sensor_encoder`](crate::register_sensor_encoder), named by
    /// `sensor.name`, with its settings in `[sensor.params]`.
    Custom,
}

/// The sensor tower.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensorSpec {
    /// `conv`, `patch` or `custom`.
    pub kind: SensorKind,
    /// With `kind = "custom"`: the registered encoder's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// With `kind = "custom"`: its settings, handed to its factory as they are.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Patch Transformer size (ignored for `conv` and with `init_from`,
    /// where the checkpoint's encoder config is used).
    pub patch: EncoderSpec,
    /// Dropout of the conv encoder.
    pub conv_dropout: f64,
    /// A `wearlang pretrain` run directory (or checkpoint) whose encoder
    /// initialises the patch Transformer.
    pub init_from: Option<PathBuf>,
    /// Remove each channel's mean over the window before encoding
    /// ([`WindowCentred`](wearlang_encoders::WindowCentred)): gravity and
    /// sensor offsets go, so that devices worn in other places and
    /// accelerometers with or without gravity read alike; posture (the
    /// direction of gravity of a still device) goes with them. For motion
    /// data; off by default.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub centre: bool,
}

impl Default for SensorSpec {
    fn default() -> Self {
        SensorSpec {
            kind: SensorKind::Conv,
            name: None,
            params: serde_json::Map::new(),
            patch: EncoderSpec::default(),
            conv_dropout: 0.1,
            init_from: None,
            centre: false,
        }
    }
}

/// Which text tower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextKind {
    /// Pretrained all-MiniLM-L6-v2.
    Minilm,
    /// The small Transformer trained from scratch.
    Small,
    /// A text tower another crate registered with
    /// [`register_text_tower`](crate::register_text_tower), named by
    /// `text.name`, with its settings in `[text.params]`.
    Custom,
}

/// The text tower and where training text comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextSpec {
    /// `minilm`, `small` or `custom`.
    pub kind: TextKind,
    /// With `kind = "custom"`: the registered text tower's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// With `kind = "custom"`: its settings, handed to its factory as they are.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Fine-tune MiniLM (`false`: frozen).
    pub trainable: bool,
    /// With frozen MiniLM: embed each distinct text once and reuse it
    /// (`false` runs MiniLM on every batch, e.g. to measure its cost).
    pub cache: bool,
    /// Directory of `model.safetensors`, `vocab.txt`, `config.json` (default:
    /// `$WEARLANG_MINILM` or `target/models/all-MiniLM-L6-v2`). The small
    /// tower and the decoder use its vocabulary too.
    pub model_dir: Option<PathBuf>,
    /// Longest text in tokens for the text tower.
    pub max_len: usize,
    /// Size of the small Transformer (`vocab_size` is set from the vocabulary).
    pub small: SmallTextConfig,
    /// Text sources, one drawn per window and epoch (seeded): `activity`
    /// writes NLS activity text from the label; any other name is a caption
    /// column of the store (e.g. `trend`, `high+middle+low`).
    pub variants: Vec<String>,
    /// How `activity` text is written (template bank, knowledge).
    pub activity: ActivityConfig,
}

impl Default for TextSpec {
    fn default() -> Self {
        TextSpec {
            kind: TextKind::Minilm,
            name: None,
            params: serde_json::Map::new(),
            trainable: false,
            cache: true,
            model_dir: None,
            max_len: 64,
            small: SmallTextConfig::default(),
            variants: vec!["activity".into()],
            activity: ActivityConfig::default(),
        }
    }
}

impl TextSpec {
    /// The variants read from a store's caption columns: every variant but
    /// `activity`, which is written from the label. A read that keeps only
    /// these captions keeps all that this text needs.
    pub fn caption_columns(&self) -> Vec<String> {
        (self.variants.iter())
            .filter(|v| *v != super::text::ACTIVITY)
            .cloned()
            .collect()
    }
}

/// The output vocabulary of the captioning decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecoderVocabulary {
    /// All 30,522 WordPiece tokens.
    Full,
    /// Only the word pieces of the texts it can be trained on (the text
    /// sources over the training windows, every activity template): the
    /// output layer shrinks by two orders of magnitude, and so does its cost.
    Corpus,
}

/// A sensor-language training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensorLanguageConfig {
    /// A name for reports.
    pub name: String,
    /// Seed of everything random.
    pub seed: u64,
    /// Windows per step.
    pub batch_size: usize,
    /// Passes over the training split (ignored when `max_steps > 0`).
    pub epochs: usize,
    /// Stop after this many steps (0: `epochs` decides).
    pub max_steps: u64,
    /// Checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// Log every this many steps.
    pub log_every: u64,
    /// `cpu`, `cuda`, `cuda:N` or `auto`.
    pub device: String,
    /// Intra-op threads (0: libtorch's default).
    pub threads: usize,
    /// Sensor tower.
    pub sensor: SensorSpec,
    /// Text tower and training text.
    pub text: TextSpec,
    /// Projection heads of both towers (and of SimCLR views).
    pub projection: ProjectionConfig,
    /// Captioning decoder (built when the objective has a captioning part).
    pub decoder: CaptionDecoderConfig,
    /// The decoder's output vocabulary.
    pub decoder_vocabulary: DecoderVocabulary,
    /// The loss.
    pub objective: ObjectiveConfig,
    /// Augmentations of the two SimCLR / SLIP views.
    pub augment: Vec<Augmentation>,
    /// Augmentations of the sensor input that is paired with text and
    /// captions (training only; none by default). Use only those that keep
    /// the text true: amplitude `scaling` and a smooth `time_warp` keep a
    /// trend caption's rises and falls in order, rotations and jitter may
    /// not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pair_augment: Vec<Augmentation>,
    /// AdamW.
    pub optim: OptimConfig,
    /// Learning-rate schedule.
    pub schedule: ScheduleConfig,
    /// Training windows with one of these labels are left out (the
    /// unseen-activities protocol trains without a group of classes).
    pub exclude_labels: Vec<String>,
    /// Choose the step budget on held-out classes (`[select]`; off by
    /// default; see [`SelectConfig`]).
    pub select: SelectConfig,
    /// The statistics the training windows are normalised with: `store`
    /// (each store's own, the default) or `model` (the statistics of all
    /// training stores pooled, which the model records: every data set on
    /// one scale in physical units, so that `wearlang eval --normalisation
    /// model` reads a new store as the model learnt; see
    /// [`InputNormalisation`](crate::InputNormalisation)).
    #[serde(skip_serializing_if = "is_store_scale")]
    pub normalisation: crate::InputNormalisation,
}

fn is_store_scale(n: &crate::InputNormalisation) -> bool {
    *n == crate::InputNormalisation::Store
}

impl Default for SensorLanguageConfig {
    fn default() -> Self {
        SensorLanguageConfig {
            name: "clip".into(),
            seed: 0,
            batch_size: 64,
            epochs: 10,
            max_steps: 0,
            checkpoint_every: 200,
            log_every: 10,
            device: "cpu".into(),
            threads: 0,
            sensor: SensorSpec::default(),
            text: TextSpec::default(),
            projection: ProjectionConfig::default(),
            decoder: CaptionDecoderConfig::default(),
            decoder_vocabulary: DecoderVocabulary::Corpus,
            objective: ObjectiveConfig::default(),
            augment: vec![
                Augmentation::Jitter { sigma: 0.05 },
                Augmentation::Scaling { sigma: 0.1 },
            ],
            pair_augment: Vec::new(),
            optim: OptimConfig::default(),
            schedule: ScheduleConfig::default(),
            exclude_labels: Vec::new(),
            select: SelectConfig::default(),
            normalisation: crate::InputNormalisation::Store,
        }
    }
}

impl SensorLanguageConfig {
    /// Parse a TOML file; errors name the file and the offending field.
    pub fn from_file(path: &Path) -> Result<Self> {
        let cfg: SensorLanguageConfig = crate::read_toml(path)?;
        cfg.validate().map_err(|e| ModelError::ConfigFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(cfg)
    }

    /// Check everything that does not depend on the data or model files.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size < 2 {
            return Err(ModelError::config(
                "batch_size",
                "contrastive losses need at least 2 windows per step",
            ));
        }
        if self.epochs == 0 && self.max_steps == 0 {
            return Err(ModelError::config(
                "epochs",
                "epochs and max_steps are both 0",
            ));
        }
        if self.log_every == 0 || self.checkpoint_every == 0 {
            return Err(ModelError::config(
                "log_every / checkpoint_every",
                "must be at least 1",
            ));
        }
        if self.text.variants.is_empty() {
            return Err(ModelError::config(
                "text.variants",
                "name at least one text source (e.g. \"activity\")",
            ));
        }
        if self.text.max_len < 2 {
            return Err(ModelError::config("text.max_len", "must be at least 2"));
        }
        if self.sensor.init_from.is_some() && self.sensor.kind != SensorKind::Patch {
            return Err(ModelError::config(
                "sensor.init_from",
                "only the patch Transformer can start from a pretraining checkpoint",
            ));
        }
        match (self.sensor.kind, &self.sensor.name) {
            (SensorKind::Custom, None) => {
                return Err(ModelError::config(
                    "sensor.name",
                    "`kind = \"custom\"` needs the name the encoder was registered under",
                ))
            }
            (SensorKind::Conv | SensorKind::Patch, Some(_)) => {
                return Err(ModelError::config(
                    "sensor.name",
                    "names a registered encoder: only with `kind = \"custom\"`",
                ))
            }
            _ => {}
        }
        match (self.text.kind, &self.text.name) {
            (TextKind::Custom, None) => {
                return Err(ModelError::config(
                    "text.name",
                    "`kind = \"custom\"` needs the name the text tower was registered under",
                ))
            }
            (TextKind::Minilm | TextKind::Small, Some(_)) => {
                return Err(ModelError::config(
                    "text.name",
                    "names a registered text tower: only with `kind = \"custom\"`",
                ))
            }
            _ => {}
        }
        if let ObjectiveConfig::Custom { name, .. } = &self.objective {
            if !wearlang_objectives::registered_objectives().contains(name) {
                return Err(ModelError::config(
                    "objective.name",
                    format!(
                        "no objective `{name}` is registered (registered: {:?}); register it with \
                         wearlang_objectives::register_objective",
                        wearlang_objectives::registered_objectives()
                    ),
                ));
            }
        }
        if self.objective.needs_views() && self.augment.is_empty() {
            return Err(ModelError::config(
                "augment",
                "SimCLR / SLIP need at least one augmentation",
            ));
        }
        if !self.objective.needs_text()
            && !self.objective.needs_captions()
            && !self.objective.needs_views()
        {
            return Err(ModelError::config("objective", "uses no input"));
        }
        self.projection.validate()?;
        if self.objective.needs_captions() {
            self.decoder.validate()?;
        }
        self.select.validate()?;
        self.optim.validate()?;
        Ok(self.schedule.validate()?)
    }
}

#[cfg(test)]
mod tests {
    use super::TextSpec;

    #[test]
    fn caption_columns_are_the_variants_but_activity() {
        let text = TextSpec {
            variants: vec!["activity".into(), "trend".into(), "high+low".into()],
            ..TextSpec::default()
        };
        assert_eq!(text.caption_columns(), ["trend", "high+low"]);
        assert!(TextSpec::default().caption_columns().is_empty());
    }
}
