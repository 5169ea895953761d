//! Objectives as data: a serde enum (`kind = "clip"`, ...) and [`build`].

use serde::{Deserialize, Serialize};
use tch::nn;

use crate::{
    Captioning, CaptioningConfig, Clip, ClipConfig, Objective, Result, SensorLm, Siglip,
    SiglipConfig, Simclr, SimclrConfig, Slip, Unicl,
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
        }
    }

    /// Whether the loss needs class labels (UniCL).
    pub fn needs_labels(&self) -> bool {
        match self {
            ObjectiveConfig::Unicl { .. } => true,
            ObjectiveConfig::Sensorlm {
                contrastive, alpha, ..
            } => *alpha != 0.0 && contrastive.needs_labels(),
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
            _ => false,
        }
    }

    /// Whether the loss needs the captioning decoder.
    pub fn needs_captions(&self) -> bool {
        match self {
            ObjectiveConfig::Captioning { .. } => true,
            ObjectiveConfig::Sensorlm { beta, .. } => *beta != 0.0,
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
    })
}
