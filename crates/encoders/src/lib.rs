//! Encoders for wearlang (crate docs: to be completed).

#![warn(missing_docs)]

// --- shared building blocks and sensor side ---
pub mod conv;
pub mod error;
pub mod layers;
pub mod mae;
pub mod pooling;
pub mod posenc;
pub mod sensor;
pub mod vit;

// --- text side ---
pub mod text;

pub use conv::{ConvEncoder, ConvEncoderConfig};
pub use error::{EncoderError, Result};
pub use layers::{Block, BlockConfig, MultiHeadAttention, Transformer};
pub use mae::{
    MaeDecoder, MaeDecoderConfig, MaeOutput, MaskedAutoencoder, MaskedAutoencoderConfig,
};
pub use pooling::{Pool, Pooling};
pub use sensor::{SensorEncoder, SensorOutput};
pub use vit::{PatchTransformer, PatchTransformerConfig, Positions};
