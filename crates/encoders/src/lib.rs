//! Sensor encoders for wearlang, in tch.
//!
//! - [`PatchTransformer`]: ViT-1D over time × channel patches; missing
//!   patches are hidden by the attention mask (LSM-2's AIM), never imputed;
//!   MAP, mean or max pooling; presets `tiny` / `small` / `base`.
//! - [`ConvEncoder`]: the 1-D conv encoder of the NLS paper.
//! - [`WindowCentred`]: per-window centring (gravity and offsets removed)
//!   in front of either.
//! - [`MaskedAutoencoder`]: patch Transformer + [`MaeDecoder`] with AIM token
//!   selection and the masked-reconstruction loss, for pretraining and
//!   imputation.
//! - [`layers`]: the Transformer blocks they share (self / cross attention,
//!   key and causal masks).
//!
//! Both encoders implement [`SensorEncoder`]: windows `[B, T, C]` with NaN
//! where data is missing → token embeddings, a validity mask and a pooled
//! embedding. [`text`] holds the pretrained MiniLM sentence encoder, its
//! WordPiece tokenizer, a small trainable text Transformer and CoCa's
//! captioning decoder (greedy and beam search); [`heads`] the MLP
//! projections into the shared sensor-text space.
//! See `docs/encoders.md` for the semantics and checkpoint tensor names.
//!
//! Example (`no_run`: doctests cannot find libtorch; `tests/` runs the same):
//!
//! ```no_run
//! use tch::{nn, Device, Kind, Tensor};
//! use wearlang_encoders::{PatchTransformer, PatchTransformerConfig, SensorEncoder};
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! // 2 s at 50 Hz, 6 IMU channels, 0.2 s × 1 channel patches.
//! let cfg = PatchTransformerConfig::preset("small", 100, 6, 10, 1).unwrap();
//! let enc = PatchTransformer::new(vs.root(), &cfg).unwrap();
//! let x = Tensor::randn([8, 100, 6], (Kind::Float, Device::Cpu));
//! let _ = x.narrow(1, 0, 20).fill_(f64::NAN); // a gap: 12 patches missing
//! let out = enc.encode(&x, None, false).unwrap();
//! assert_eq!(out.pooled.size(), [8, 128]);
//! ```

#![warn(missing_docs)]

// --- shared building blocks and sensor side ---
pub mod centred;
pub mod conv;
pub mod error;
pub mod heads;
pub mod layers;
pub mod mae;
pub mod pooling;
pub mod posenc;
pub mod relpos;
pub mod sensor;
pub mod vit;

// --- text side ---
pub mod text;

pub use centred::WindowCentred;
pub use conv::{ConvEncoder, ConvEncoderConfig};
pub use error::{EncoderError, Result};
pub use heads::{ProjectionConfig, ProjectionHead};
pub use layers::{Block, BlockConfig, MultiHeadAttention, Transformer};
pub use mae::{
    MaeDecoder, MaeDecoderConfig, MaeOutput, MaskedAutoencoder, MaskedAutoencoderConfig,
};
pub use pooling::{Pool, Pooling};
pub use sensor::{SensorEncoder, SensorOutput};
pub use vit::{PatchTransformer, PatchTransformerConfig, Positions};
