//! The WordPiece tokenizer of BERT-family models (lower-cased, accents
//! stripped), batched into padded id and mask tensors.

use std::path::Path;

use rust_tokenizers::tokenizer::{BertTokenizer, Tokenizer, TruncationStrategy};
use rust_tokenizers::vocab::Vocab;
use tch::{Device, Kind, Tensor};

use crate::{EncoderError, Result};

/// A batch of tokenised texts.
#[derive(Debug)]
pub struct TokenBatch {
    /// `[B, L]` int64 ids, `[CLS] … [SEP]`, right-padded with `[PAD]`.
    pub ids: Tensor,
    /// `[B, L]` int64, 1 on real tokens and 0 on padding.
    pub attention_mask: Tensor,
    /// Tokens per text (with the special tokens).
    pub lengths: Vec<usize>,
}

/// BERT's WordPiece tokenizer from a `vocab.txt`.
pub struct WordPieceTokenizer {
    inner: BertTokenizer,
    pad: i64,
    cls: i64,
    sep: i64,
    vocab_size: usize,
}

impl std::fmt::Debug for WordPieceTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPieceTokenizer")
            .field("vocab_size", &self.vocab_size)
            .finish()
    }
}

impl WordPieceTokenizer {
    /// Read `vocab.txt` (lower-case, strip accents: the uncased models).
    pub fn from_vocab(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(EncoderError::File {
                path: path.to_path_buf(),
                reason: "vocabulary not found (run `cargo xtask setup`)".into(),
            });
        }
        let inner = BertTokenizer::from_file(path, true, true).map_err(|e| EncoderError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let vocab = inner.vocab();
        let id = |t: &str| -> Result<i64> {
            vocab
                .values()
                .get(t)
                .copied()
                .ok_or_else(|| EncoderError::File {
                    path: path.to_path_buf(),
                    reason: format!("the vocabulary has no `{t}` token"),
                })
        };
        let (pad, cls, sep) = (id("[PAD]")?, id("[CLS]")?, id("[SEP]")?);
        let vocab_size = vocab.values().len();
        Ok(WordPieceTokenizer {
            inner,
            pad,
            cls,
            sep,
            vocab_size,
        })
    }

    /// Number of entries in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// `[PAD]`, `[CLS]` and `[SEP]` ids.
    pub fn special_ids(&self) -> (i64, i64, i64) {
        (self.pad, self.cls, self.sep)
    }

    /// Ids of one text, `[CLS] … [SEP]`, truncated to `max_len` tokens.
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<i64> {
        self.inner
            .encode(text, None, max_len, &TruncationStrategy::LongestFirst, 0)
            .token_ids
    }

    /// Tokenise and pad a batch (to its longest text, at most `max_len`).
    pub fn encode_batch<S: AsRef<str>>(
        &self,
        texts: &[S],
        max_len: usize,
        device: Device,
    ) -> Result<TokenBatch> {
        if texts.is_empty() {
            return Err(EncoderError::Shape("no texts to tokenise".into()));
        }
        if max_len < 2 {
            return Err(EncoderError::config(
                "max_len",
                "must be at least 2 ([CLS] and [SEP])",
            ));
        }
        let enc = self
            .inner
            .encode_list(texts, max_len, &TruncationStrategy::LongestFirst, 0);
        let lengths: Vec<usize> = enc.iter().map(|e| e.token_ids.len()).collect();
        let l = lengths.iter().copied().max().unwrap_or(0);
        let mut ids = Vec::with_capacity(texts.len() * l);
        let mut mask = Vec::with_capacity(texts.len() * l);
        for e in &enc {
            ids.extend_from_slice(&e.token_ids);
            ids.extend(std::iter::repeat_n(self.pad, l - e.token_ids.len()));
            mask.extend(std::iter::repeat_n(1i64, e.token_ids.len()));
            mask.extend(std::iter::repeat_n(0i64, l - e.token_ids.len()));
        }
        let shape = [texts.len() as i64, l as i64];
        Ok(TokenBatch {
            ids: Tensor::from_slice(&ids)
                .reshape(shape)
                .to_kind(Kind::Int64)
                .to_device(device),
            attention_mask: Tensor::from_slice(&mask).reshape(shape).to_device(device),
            lengths,
        })
    }

    /// Text of `ids`, special tokens skipped, word pieces joined.
    pub fn decode(&self, ids: &[i64]) -> String {
        self.inner.decode(ids, true, true)
    }
}
