//! Objectives as data: a serde enum (`kind = "clip"`, ...) and [`build`];
//! objectives of other crates join through [`register_objective`] and are
//! named with `kind = "custom"`, `name = "..."`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tch::nn;
use wearlang_core::registry::Registry;

use crate::{
    Captioning, CaptioningConfig, Clip, ClipConfig, Objective, ObjectiveError, Result, SensorLm,
    Siglip, SiglipConfig, Simclr, SimclrConfig, Slip, Unicl,
};

/// An objective and its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ObjectiveConfig {
    /// CLIP.
    Clip {
        /// Temperature settings.
        #[serde(default)]
        clip: ClipConfig,
    },
    /// SigLIP.
    Siglip {
        /// Scale and bias initialisation.
        #[serde(default)]
        siglip: SiglipConfig,
    },
    /// UniCL (labels needed).
    Unicl {
        /// Temperature settings.
        #[serde(default)]
        clip: ClipConfig,
    },
    /// SimCLR on two views.
    Simclr {
        /// Temperature.
        #[serde(default)]
        simclr: SimclrConfig,
    },
    /// SLIP = CLIP + λ·SimCLR.
    Slip {
        /// CLIP's temperature settings.
        #[serde(default)]
        clip: ClipConfig,
        /// SimCLR's temperature.
        #[serde(default)]
        simclr: SimclrConfig,
        /// λ.
        #[serde(default = "one")]
        lambda: f64,
    },
    /// Captioning only.
    Captioning {
        /// Settings.
        #[serde(default)]
        captioning: CaptioningConfig,
    },
    /// α · contrastive + β · captioning.
    Sensorlm {
        /// The contrastive part (clip, siglip or unicl).
        contrastive: Box<ObjectiveConfig>,
        /// α.
        alpha: f64,
        /// β.
        beta: f64,
        /// Captioning settings.
        #[serde(default)]
        captioning: CaptioningConfig,
    },
    /// An objective another crate registered with [`register_objective`]
    /// (`kind = "custom"`, `name = "<registered name>"`, its settings in
    /// `[objective.params]`).
    Custom {
        /// The registered name.
        name: String,
        /// Its settings, handed to its factory as they are.
        #[serde(default)]
        params: serde_json::Map<String, serde_json::Value>,
    },
}

/// What an objective's loss reads, so the model computes only that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectiveNeeds {
    /// Sensor and text embeddings.
    pub text: bool,
    /// Class labels.
    pub labels: bool,
    /// Two augmented sensor views.
    pub views: bool,
    /// The captioning decoder's logits and targets.
    pub captions: bool,
}

/// Builds a registered objective from its `params`.
pub trait ObjectiveFactory: Send + Sync {
    /// What its loss reads.
    fn needs(&self, params: &serde_json::Map<String, serde_json::Value>) -> ObjectiveNeeds;
    /// Build it under `p` (learnable variables live there and are saved
    /// with the model).
    fn build(
        &self,
        p: nn::Path,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Box<dyn Objective>>;
}

static OBJECTIVES: Registry<dyn ObjectiveFactory> = Registry::new("objective");

/// Make an objective available to configs as `kind = "custom"`,
/// `name = "<name>"`. Register before building a model that uses it; a name
/// is registered once per process.
pub fn register_objective(name: &str, factory: Arc<dyn ObjectiveFactory>) -> Result<()> {
    OBJECTIVES
        .register(name, factory)
        .map_err(|e| ObjectiveError::Param {
            name: "objective.name",
            reason: e.to_string(),
        })
}

/// The names of the registered objectives.
pub fn registered_objectives() -> Vec<String> {
    OBJECTIVES.names()
}

fn custom_needs(name: &str, params: &serde_json::Map<String, serde_json::Value>) -> ObjectiveNeeds {
    OBJECTIVES
        .get(name)
        .map(|f| f.needs(params))
        .unwrap_or_default()
}

fn one() -> f64 {
    1.0
}

impl Default for ObjectiveConfig {
    fn default() -> Self {
        ObjectiveConfig::Clip {
            clip: ClipConfig::default(),
        }
    }
}

impl ObjectiveConfig {
    /// Whether the loss compares sensor and text embeddings.
    pub fn needs_text(&self) -> bool {
        match self {
            ObjectiveConfig::Clip { .. }
            | ObjectiveConfig::Siglip { .. }
            | ObjectiveConfig::Unicl { .. }
            | ObjectiveConfig::Slip { .. } => true,
            ObjectiveConfig::Simclr { .. } | ObjectiveConfig::Captioning { .. } => false,
            ObjectiveConfig::Sensorlm {
                contrastive, alpha, ..
            } => *alpha != 0.0 && contrastive.needs_text(),
            ObjectiveConfig::Custom { name, params } => custom_needs(name, params).text,
        }
    }

    /// Whether the loss needs class labels (UniCL).
    pub fn needs_labels(&self) -> bool {
        match self {
            ObjectiveConfig::Unicl { .. } => true,
            ObjectiveConfig::Sensorlm {
                contrastive, alpha, ..
            } => *alpha != 0.0 && contrastive.needs_labels(),
            ObjectiveConfig::Custom { name, params } => custom_needs(name, params).labels,
            _ => false,
        }
    }

    /// Whether the loss needs two augmented sensor views (SimCLR, SLIP).
    pub fn needs_views(&self) -> bool {
        match self {
            ObjectiveConfig::Simclr { .. } | ObjectiveConfig::Slip { .. } => true,
            ObjectiveConfig::Sensorlm {
                contrastive, alpha, ..
            } => *alpha != 0.0 && contrastive.needs_views(),
            ObjectiveConfig::Custom { name, params } => custom_needs(name, params).views,
            _ => false,
        }
    }

    /// Whether the loss needs the captioning decoder.
    pub fn needs_captions(&self) -> bool {
        match self {
            ObjectiveConfig::Captioning { .. } => true,
            ObjectiveConfig::Sensorlm { beta, .. } => *beta != 0.0,
            ObjectiveConfig::Custom { name, params } => custom_needs(name, params).captions,
            _ => false,
        }
    }
}

/// Build the objective under `p` (its learnable variables live there).
pub fn build(p: nn::Path, cfg: &ObjectiveConfig) -> Result<Box<dyn Objective>> {
    Ok(match cfg {
        ObjectiveConfig::Clip { clip } => Box::new(Clip::new(p, clip)?),
        ObjectiveConfig::Siglip { siglip } => Box::new(Siglip::new(p, siglip)?),
        ObjectiveConfig::Unicl { clip } => Box::new(Unicl::new(p, clip)?),
        ObjectiveConfig::Simclr { simclr } => Box::new(Simclr::new(simclr)?),
        ObjectiveConfig::Slip {
            clip,
            simclr,
            lambda,
        } => Box::new(Slip::new(p, clip, simclr, *lambda)?),
        ObjectiveConfig::Captioning { captioning } => Box::new(Captioning::new(captioning)),
        ObjectiveConfig::Sensorlm {
            contrastive,
            alpha,
            beta,
            captioning,
        } => Box::new(SensorLm::new(
            build(p, contrastive)?,
            Captioning::new(captioning),
            *alpha,
            *beta,
        )?),
        ObjectiveConfig::Custom { name, params } => OBJECTIVES
            .get(name)
            .map_err(|e| ObjectiveError::Param {
                name: "objective.name",
                reason: format!("{e}; register it with wearlang_objectives::register_objective"),
            })?
            .build(p, params)?,
    })
}
