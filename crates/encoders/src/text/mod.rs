//! Text towers. So far: the WordPiece tokenizer and the pretrained MiniLM
//! (all-MiniLM-L6-v2) sentence encoder. The small trainable text
//! Transformer, the captioning decoder and projection heads are still to
//! come (issue 5).

mod minilm;
mod tokenizer;

pub use minilm::{default_model_dir, load_safetensors_into, BertConfig, MiniLm, MiniLmEncoder};
pub use tokenizer::{TokenBatch, WordPieceTokenizer};
