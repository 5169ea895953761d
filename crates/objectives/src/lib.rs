//! Training objectives for wearlang, side by side (open_clip style), behind
//! one [`Objective`] trait:
//!
//! | objective | needs | file |
//! | --- | --- | --- |
//! | [`Clip`] | sensor, text | `clip.rs` |
//! | [`Siglip`] | sensor, text | `siglip.rs` |
//! | [`Unicl`] | sensor, text, labels | `unicl.rs` |
//! | [`Simclr`] | views | `simclr.rs` |
//! | [`Slip`] | sensor, text, views | `simclr.rs` |
//! | [`Captioning`] | caption logits, targets | `captioning.rs` |
//! | [`MaskedReconstruction`] | reconstruction | `reconstruction.rs` |
//! | [`SensorLm`] | α·contrastive + β·captioning | `sensorlm.rs` |
//!
//! [`ObjectiveConfig`] describes any of them as data and [`build`] creates
//! it; [`augment()`] makes the sensor views for SimCLR / SLIP. See
//! `docs/objectives.md` for formulas and initialisations.
//!
//! ```no_run
//! use tch::{nn, Device, Kind, Tensor};
//! use wearlang_objectives::{build, ObjectiveConfig, ObjectiveInputs};
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let clip = build(vs.root() / "objective", &ObjectiveConfig::default()).unwrap();
//! let s = Tensor::randn([8, 64], (Kind::Float, Device::Cpu));
//! let t = Tensor::randn([8, 64], (Kind::Float, Device::Cpu));
//! let out = clip
//!     .loss(&ObjectiveInputs { sensor: Some(&s), text: Some(&t), ..Default::default() })
//!     .unwrap();
//! out.total.backward();
//! clip.clamp_(); // after the optimiser step
//! ```

#![warn(missing_docs)]

mod augment;
mod captioning;
mod clip;
mod config;
mod error;
mod objective;
mod reconstruction;
mod sensorlm;
mod siglip;
mod simclr;
mod unicl;

pub use augment::{augment, Augmentation};
pub use captioning::{caption_ce, Captioning, CaptioningConfig};
pub use clip::{Clip, ClipConfig, ScaledSimilarity};
pub use config::{
    build, register_objective, registered_objectives, ObjectiveConfig, ObjectiveFactory,
    ObjectiveNeeds,
};
pub use error::{ObjectiveError, Result};
pub use objective::{normalize, symmetric_ce, LossOutput, Objective, ObjectiveInputs};
pub use reconstruction::MaskedReconstruction;
pub use sensorlm::SensorLm;
pub use siglip::{Siglip, SiglipConfig};
pub use simclr::{nt_xent, Simclr, SimclrConfig, Slip};
pub use unicl::Unicl;
