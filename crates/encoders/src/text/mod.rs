//! Text towers: the WordPiece tokenizer, the pretrained MiniLM
//! (all-MiniLM-L6-v2) sentence encoder, a small trainable text Transformer
//! over the same vocabulary, and CoCa's captioning decoder.

mod decoder;
mod minilm;
mod small;
mod tokenizer;

pub use decoder::{CaptionDecoder, CaptionDecoderConfig, DecodeOptions, IGNORE_INDEX};
pub use minilm::{default_model_dir, load_safetensors_into, BertConfig, MiniLm, MiniLmEncoder};
pub use small::{SmallTextConfig, SmallTextTransformer};
pub use tokenizer::{TokenBatch, WordPieceTokenizer};
