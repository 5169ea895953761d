//! The GPT-2 style byte-level BPE tokenizer and the chat template, both read
//! from a GGUF file's `tokenizer.*` metadata.
//!
//! Written here rather than taken from `rust_tokenizers`: its GPT-2
//! tokenizer reads `vocab.json` / `merges.txt` files and has no digit-split
//! pre-tokenizer, while GGUF holds the vocabulary and merges as metadata
//! arrays and SmolLM2 (`tokenizer.ggml.pre = smollm`) splits every number
//! character into its own piece before the GPT-2 pattern runs. The steps:
//! 1. control and user-defined tokens (`<|im_start|>`, …) are cut out of
//!    the text first (longest first) and map to their ids;
//! 2. the rest is split into pieces: each `\p{N}` character alone (for the
//!    digit-splitting pre-tokenizers), then the GPT-2 pattern
//!    `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
//!    (the look-ahead, which the `regex` crate lacks, is done by hand);
//! 3. each piece's UTF-8 bytes map to GPT-2's printable byte alphabet and
//!    are merged pairwise by merge rank until no ranked pair is left.

use std::collections::HashMap;

use regex::Regex;

use crate::gguf::{Gguf, MetaValue};
use crate::{LlmError, Result};

/// GGUF token types (`tokenizer.ggml.token_type`).
pub mod token_type {
    /// An ordinary token.
    pub const NORMAL: i32 = 1;
    /// A control token (`<|im_start|>`).
    pub const CONTROL: i32 = 3;
    /// A token the model's authors added, matched verbatim in text.
    pub const USER_DEFINED: i32 = 4;
}

/// How text is split before BPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreTokenizer {
    /// The GPT-2 pattern.
    Gpt2,
    /// Every number character alone, then the GPT-2 pattern (SmolLM,
    /// StarCoder, …).
    Gpt2SplitDigits,
}

impl PreTokenizer {
    /// The pre-tokenizer llama.cpp uses for a `tokenizer.ggml.pre` name.
    pub fn from_gguf_name(name: &str) -> Option<Self> {
        match name {
            "default" | "gpt2" | "gpt-2" | "mpt" | "olmo" | "jais" => Some(PreTokenizer::Gpt2),
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone"
            | "minerva" => Some(PreTokenizer::Gpt2SplitDigits),
            _ => None,
        }
    }
}

/// GPT-2's map from bytes to printable characters.
fn byte_alphabet() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut extra = 0u32;
    for b in 0..256u32 {
        let printable =
            (0x21..=0x7E).contains(&b) || (0xA1..=0xAC).contains(&b) || (0xAE..=0xFF).contains(&b);
        table[b as usize] = if printable {
            char::from_u32(b).unwrap_or('\0')
        } else {
            extra += 1;
            char::from_u32(255 + extra).unwrap_or('\0')
        };
    }
    table
}

/// One message of a chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// What was said.
    pub content: String,
}

impl ChatMessage {
    /// A message.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.to_string(),
            content: content.into(),
        }
    }
}

/// The ChatML chat template (`<|im_start|>role\ncontent<|im_end|>\n`) with
/// the default system message the GGUF's Jinja template inserts when a chat
/// does not start with one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatTemplate {
    /// The system message added when the first message is not `system`.
    pub default_system: Option<String>,
}

impl ChatTemplate {
    /// Read the template from `tokenizer.chat_template`: only ChatML
    /// templates are understood (a clear error otherwise); the default
    /// system message is the literal after `'<|im_start|>system\n` in it.
    pub fn from_jinja(template: &str) -> Result<Self> {
        if !template.contains("<|im_start|>") || !template.contains("<|im_end|>") {
            return Err(LlmError::metadata(
                "tokenizer.chat_template",
                "only ChatML templates (<|im_start|> … <|im_end|>) are supported",
            ));
        }
        let default_system = template
            .split("'<|im_start|>system\n")
            .nth(1)
            .and_then(|rest| rest.split("<|im_end|>").next())
            .map(str::to_string);
        Ok(ChatTemplate { default_system })
    }

    /// The prompt for `messages`, ending with `<|im_start|>assistant\n` when
    /// `add_generation_prompt`.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> String {
        let mut out = String::new();
        if let Some(system) = &self.default_system {
            if messages.first().is_none_or(|m| m.role != "system") {
                out.push_str(&format!("<|im_start|>system\n{system}<|im_end|>\n"));
            }
        }
        for m in messages {
            out.push_str(&format!(
                "<|im_start|>{}\n{}<|im_end|>\n",
                m.role, m.content
            ));
        }
        if add_generation_prompt {
            out.push_str("<|im_start|>assistant\n");
        }
        out
    }
}

/// The byte-level BPE tokenizer of a GGUF model.
#[derive(Clone, Debug)]
pub struct BpeTokenizer {
    tokens: Vec<String>,
    types: Vec<i32>,
    ids: HashMap<String, u32>,
    /// (left, right) → (rank, merged id).
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// Byte → id of its one-character token (`None` for the few bytes a
    /// vocabulary may lack, such as 0xC0 or 0xF5..0xFF, which never occur
    /// in UTF-8, and some control characters: they are dropped, as the
    /// reference tokenizer without an unknown token does).
    byte_ids: [Option<u32>; 256],
    /// Alphabet character → byte.
    char_bytes: HashMap<char, u8>,
    /// Tokens matched verbatim in text, longest first.
    specials: Vec<(String, u32)>,
    pre: PreTokenizer,
    pattern: Regex,
    /// Beginning-of-sequence id.
    pub bos_id: Option<u32>,
    /// End-of-sequence id.
    pub eos_id: Option<u32>,
    /// Whether prompts start with BOS (`tokenizer.ggml.add_bos_token`).
    pub add_bos: bool,
    /// The chat template, when the file has one.
    pub chat: Option<ChatTemplate>,
}

const GPT2_PATTERN: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+";

fn string_array<'a>(g: &'a Gguf, key: &str) -> Result<Vec<&'a str>> {
    let arr = g
        .get(key)
        .ok_or_else(|| LlmError::metadata(key, "missing"))?
        .as_array()
        .ok_or_else(|| LlmError::metadata(key, "not an array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .ok_or_else(|| LlmError::metadata(key, format!("item {i} is not a string")))
        })
        .collect()
}

impl BpeTokenizer {
    /// Build from a GGUF file's metadata (`tokenizer.ggml.model = gpt2`).
    pub fn from_gguf(g: &Gguf) -> Result<Self> {
        let model = g.get_str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(LlmError::metadata(
                "tokenizer.ggml.model",
                format!("`{model}` is not supported (gpt2, the byte-level BPE)"),
            ));
        }
        let pre_name = g
            .get("tokenizer.ggml.pre")
            .and_then(MetaValue::as_str)
            .unwrap_or("default");
        let pre = PreTokenizer::from_gguf_name(pre_name).ok_or_else(|| {
            LlmError::metadata(
                "tokenizer.ggml.pre",
                format!("pre-tokenizer `{pre_name}` is not supported"),
            )
        })?;
        let tokens: Vec<String> = string_array(g, "tokenizer.ggml.tokens")?
            .into_iter()
            .map(str::to_string)
            .collect();
        let types = match g.get("tokenizer.ggml.token_type") {
            None => vec![token_type::NORMAL; tokens.len()],
            Some(v) => {
                let arr = v.as_array().ok_or_else(|| {
                    LlmError::metadata("tokenizer.ggml.token_type", "not an array")
                })?;
                if arr.len() != tokens.len() {
                    return Err(LlmError::metadata(
                        "tokenizer.ggml.token_type",
                        format!("{} types for {} tokens", arr.len(), tokens.len()),
                    ));
                }
                arr.iter()
                    .map(|t| t.as_i64().unwrap_or(token_type::NORMAL as i64) as i32)
                    .collect()
            }
        };
        let merges = string_array(g, "tokenizer.ggml.merges")?;
        let id = |key: &str| -> Result<Option<u32>> {
            match g.get(key) {
                None => Ok(None),
                Some(v) => match v.as_u64() {
                    Some(i) if (i as usize) < tokens.len() => Ok(Some(i as u32)),
                    _ => Err(LlmError::metadata(
                        key,
                        format!("{v:?} is not a token id below {}", tokens.len()),
                    )),
                },
            }
        };
        let bos_id = id("tokenizer.ggml.bos_token_id")?;
        let eos_id = id("tokenizer.ggml.eos_token_id")?;
        let add_bos = g
            .get("tokenizer.ggml.add_bos_token")
            .and_then(MetaValue::as_bool)
            .unwrap_or(false);
        let chat = match g.get("tokenizer.chat_template").and_then(MetaValue::as_str) {
            Some(t) => Some(ChatTemplate::from_jinja(t)?),
            None => None,
        };
        Self::new(tokens, types, &merges, pre, bos_id, eos_id, add_bos, chat)
    }

    /// Build from parts: `merges` are `"left right"` strings in rank order.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tokens: Vec<String>,
        types: Vec<i32>,
        merges: &[&str],
        pre: PreTokenizer,
        bos_id: Option<u32>,
        eos_id: Option<u32>,
        add_bos: bool,
        chat: Option<ChatTemplate>,
    ) -> Result<Self> {
        if tokens.is_empty() || tokens.len() > u32::MAX as usize {
            return Err(LlmError::metadata(
                "tokenizer.ggml.tokens",
                format!("{} tokens", tokens.len()),
            ));
        }
        let mut ids = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            ids.entry(t.clone()).or_insert(i as u32);
        }
        let alphabet = byte_alphabet();
        let mut byte_ids = [None; 256];
        let mut char_bytes = HashMap::with_capacity(256);
        for (b, &c) in alphabet.iter().enumerate() {
            byte_ids[b] = ids.get(&c.to_string()).copied();
            char_bytes.insert(c, b as u8);
        }
        if let Some(b) = (b' '..=b'~').find(|&b| byte_ids[b as usize].is_none()) {
            return Err(LlmError::metadata(
                "tokenizer.ggml.tokens",
                format!(
                    "no token for byte {b:#04x} ('{}'): not a byte-level vocabulary",
                    alphabet[b as usize]
                ),
            ));
        }
        let mut merge_map = HashMap::with_capacity(merges.len());
        for (rank, m) in merges.iter().enumerate() {
            let Some((l, r)) = m.split_once(' ') else {
                return Err(LlmError::metadata(
                    "tokenizer.ggml.merges",
                    format!("merge {rank} `{m}` is not two tokens"),
                ));
            };
            // A merge whose parts or result are not tokens can never apply.
            if let (Some(&li), Some(&ri), Some(&mi)) =
                (ids.get(l), ids.get(r), ids.get(&format!("{l}{r}")))
            {
                merge_map.entry((li, ri)).or_insert((rank as u32, mi));
            }
        }
        let mut specials: Vec<(String, u32)> = tokens
            .iter()
            .zip(&types)
            .enumerate()
            .filter(|(_, (t, &ty))| {
                !t.is_empty() && (ty == token_type::CONTROL || ty == token_type::USER_DEFINED)
            })
            .map(|(i, (t, _))| (t.clone(), i as u32))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));
        let pattern =
            Regex::new(GPT2_PATTERN).map_err(|e| LlmError::config("pattern", e.to_string()))?;
        Ok(BpeTokenizer {
            tokens,
            types,
            ids,
            merges: merge_map,
            byte_ids,
            char_bytes,
            specials,
            pre,
            pattern,
            bos_id,
            eos_id,
            add_bos,
            chat,
        })
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The id of a token's text, if it is in the vocabulary.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    /// The text of a token id as stored in the vocabulary.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    /// Whether `id` is a control token (`<|im_end|>`, …).
    pub fn is_control(&self, id: u32) -> bool {
        self.types.get(id as usize) == Some(&token_type::CONTROL)
    }

    /// Token ids of `text`. With `parse_special`, control and user-defined
    /// tokens written in the text (`<|im_start|>`) become their ids;
    /// without, they are tokenized as plain text. BOS is added when the
    /// model asks for it (`add_bos`).
    pub fn encode(&self, text: &str, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::new();
        if self.add_bos {
            out.extend(self.bos_id);
        }
        let mut rest = text;
        while !rest.is_empty() {
            let found = if parse_special {
                self.next_special(rest)
            } else {
                None
            };
            match found {
                Some((at, len, id)) => {
                    self.encode_plain(&rest[..at], &mut out);
                    out.push(id);
                    rest = &rest[at + len..];
                }
                None => {
                    self.encode_plain(rest, &mut out);
                    break;
                }
            }
        }
        out
    }

    /// The earliest special token in `text` (longest at a tie): (byte
    /// offset, length, id).
    fn next_special(&self, text: &str) -> Option<(usize, usize, u32)> {
        let mut best: Option<(usize, usize, u32)> = None;
        for (tok, id) in &self.specials {
            if let Some(at) = text.find(tok.as_str()) {
                if best.is_none_or(|(b, _, _)| at < b) {
                    best = Some((at, tok.len(), *id));
                }
            }
        }
        best
    }

    fn encode_plain(&self, text: &str, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        match self.pre {
            PreTokenizer::Gpt2 => self.encode_fragment(text, out),
            PreTokenizer::Gpt2SplitDigits => {
                let mut start = 0;
                for (i, c) in text.char_indices() {
                    if c.is_numeric() {
                        self.encode_fragment(&text[start..i], out);
                        self.encode_fragment(&text[i..i + c.len_utf8()], out);
                        start = i + c.len_utf8();
                    }
                }
                self.encode_fragment(&text[start..], out);
            }
        }
    }

    /// Pre-tokenize a fragment with the GPT-2 pattern and BPE each piece.
    fn encode_fragment(&self, text: &str, out: &mut Vec<u32>) {
        for piece in self.pieces(text) {
            self.bpe(piece, out);
        }
    }

    /// The GPT-2 pattern's pieces of `text`, with `\s+(?!\S)`: a run of
    /// whitespace followed by more text leaves its last character to the
    /// next piece.
    pub fn pieces<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let mut pieces = Vec::new();
        let mut pos = 0;
        while pos < text.len() {
            let Some(m) = self.pattern.find_at(text, pos) else {
                pieces.push(&text[pos..]);
                break;
            };
            if m.start() > pos {
                // Cannot happen (every character matches an alternative),
                // but keep the text rather than drop it.
                pieces.push(&text[pos..m.start()]);
            }
            let s = m.as_str();
            let mut end = m.end();
            if end < text.len() && s.chars().all(char::is_whitespace) {
                let mut chars = s.chars();
                if let (Some(last), Some(_)) = (chars.next_back(), chars.next()) {
                    end -= last.len_utf8();
                }
            }
            pieces.push(&text[m.start()..end]);
            pos = end;
        }
        pieces
    }

    /// Byte-level BPE of one piece.
    fn bpe(&self, piece: &str, out: &mut Vec<u32>) {
        let mut syms: Vec<u32> = piece
            .bytes()
            .filter_map(|b| self.byte_ids[b as usize])
            .collect();
        while syms.len() > 1 {
            let mut best: Option<(u32, usize, u32)> = None;
            for i in 0..syms.len() - 1 {
                if let Some(&(rank, merged)) = self.merges.get(&(syms[i], syms[i + 1])) {
                    if best.is_none_or(|(r, _, _)| rank < r) {
                        best = Some((rank, i, merged));
                    }
                }
            }
            let Some((_, i, merged)) = best else { break };
            syms[i] = merged;
            syms.remove(i + 1);
        }
        out.extend(syms);
    }

    /// The bytes a token stands for: its text for control tokens (unless
    /// `skip_special`, then nothing), else the byte alphabet mapped back.
    pub fn token_bytes(&self, id: u32, skip_special: bool) -> Vec<u8> {
        let Some(tok) = self.tokens.get(id as usize) else {
            return Vec::new();
        };
        let ty = self.types[id as usize];
        if ty == token_type::CONTROL || ty == token_type::USER_DEFINED {
            return if skip_special && ty == token_type::CONTROL {
                Vec::new()
            } else {
                tok.as_bytes().to_vec()
            };
        }
        let mut bytes = Vec::with_capacity(tok.len());
        for c in tok.chars() {
            match self.char_bytes.get(&c) {
                Some(&b) => bytes.push(b),
                None => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        bytes
    }

    /// Text of a sequence of ids (invalid UTF-8 replaced by U+FFFD).
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .flat_map(|&id| self.token_bytes(id, skip_special))
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Turns tokens into text as they come, holding back bytes of a character
/// that is not complete yet (byte-level tokens can split a character).
#[derive(Debug, Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// A decoder with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a token; returns the text that is complete now.
    pub fn push(&mut self, tokenizer: &BpeTokenizer, id: u32, skip_special: bool) -> String {
        self.pending.extend(tokenizer.token_bytes(id, skip_special));
        match std::str::from_utf8(&self.pending) {
            Ok(s) => {
                let s = s.to_string();
                self.pending.clear();
                s
            }
            Err(e) => {
                let valid = e.valid_up_to();
                // An invalid sequence (not merely incomplete) is flushed
                // lossily so it cannot block the stream.
                let cut = if e.error_len().is_some() {
                    self.pending.len()
                } else {
                    valid
                };
                let text = String::from_utf8_lossy(&self.pending[..cut]).into_owned();
                self.pending.drain(..cut);
                text
            }
        }
    }

    /// Whatever is still held back, lossily.
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny byte-level vocabulary: the 256 byte characters, a few merges
    /// and two control tokens.
    pub(crate) fn tiny() -> BpeTokenizer {
        let alphabet = byte_alphabet();
        let mut tokens: Vec<String> = vec![
            "<|endoftext|>".into(),
            "<|im_start|>".into(),
            "<|im_end|>".into(),
        ];
        tokens.extend(alphabet.iter().map(|c| c.to_string()));
        let merges = [
            "h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o", "r l", "Ġwo rl", "Ġworl d",
        ];
        for m in merges {
            tokens.push(m.replace(' ', ""));
        }
        let mut types = vec![token_type::CONTROL; 3];
        types.resize(tokens.len(), token_type::NORMAL);
        BpeTokenizer::new(
            tokens,
            types,
            &merges,
            PreTokenizer::Gpt2SplitDigits,
            Some(1),
            Some(2),
            false,
            Some(ChatTemplate {
                default_system: Some("Be brief.".into()),
            }),
        )
        .unwrap()
    }

    #[test]
    fn merges_apply_by_rank_and_round_trip() {
        let t = tiny();
        let ids = t.encode("hello world", true);
        let texts: Vec<&str> = ids.iter().map(|&i| t.token(i).unwrap()).collect();
        assert_eq!(texts, vec!["hello", "Ġworld"]);
        assert_eq!(t.decode(&ids, false), "hello world");
        // Bytes outside ASCII survive the byte alphabet.
        let s = "naïve café ☕ 12";
        assert_eq!(t.decode(&t.encode(s, true), false), s);
    }

    #[test]
    fn pieces_follow_the_gpt2_pattern() {
        let t = tiny();
        assert_eq!(
            t.pieces("Hello  world's end\n\nok  "),
            vec!["Hello", " ", " world", "'s", " end", "\n", "\n", "ok", "  "]
        );
        assert_eq!(t.pieces("a, b!?"), vec!["a", ",", " b", "!?"]);
        assert_eq!(t.pieces("x\ty"), vec!["x", "\t", "y"]);
    }

    #[test]
    fn digits_are_split_one_by_one() {
        let t = tiny();
        let ids = t.encode("a 123", true);
        let texts: Vec<&str> = ids.iter().map(|&i| t.token(i).unwrap()).collect();
        assert_eq!(texts, vec!["a", "Ġ", "1", "2", "3"]);
    }

    #[test]
    fn control_tokens_are_parsed_only_when_asked() {
        let t = tiny();
        assert_eq!(t.encode("<|im_start|>hello<|im_end|>", true)[0], 1);
        assert_eq!(
            *t.encode("<|im_start|>hello<|im_end|>", true)
                .last()
                .unwrap(),
            2
        );
        let plain = t.encode("<|im_start|>", false);
        assert!(plain.len() > 1 && !plain.contains(&1));
        assert_eq!(t.decode(&[1, 2], false), "<|im_start|><|im_end|>");
        assert_eq!(t.decode(&[1, 2], true), "");
    }

    #[test]
    fn chat_template_adds_the_default_system_message() {
        let t = tiny();
        let chat = t.chat.as_ref().unwrap();
        let p = chat.render(&[ChatMessage::new("user", "Hi")], true);
        assert_eq!(
            p,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        let p = chat.render(
            &[
                ChatMessage::new("system", "S"),
                ChatMessage::new("user", "Hi"),
            ],
            false,
        );
        assert!(p.starts_with("<|im_start|>system\nS<|im_end|>") && !p.contains("Be brief"));
        let jinja = "{{ '<|im_start|>system\nYou are X<|im_end|>\n' }}{{'<|im_start|>' + m }}";
        assert_eq!(
            ChatTemplate::from_jinja(jinja)
                .unwrap()
                .default_system
                .as_deref(),
            Some("You are X")
        );
        assert!(ChatTemplate::from_jinja("[INST] {{ m }} [/INST]").is_err());
    }

    #[test]
    fn stream_decoder_holds_back_split_characters() {
        let t = tiny();
        let ids = t.encode("é!", true); // 'é' is two byte tokens
        assert_eq!(ids.len(), 3);
        let mut d = StreamDecoder::new();
        assert_eq!(d.push(&t, ids[0], true), "");
        assert_eq!(d.push(&t, ids[1], true), "é");
        assert_eq!(d.push(&t, ids[2], true), "!");
        assert_eq!(d.finish(), "");
    }

    #[test]
    fn a_vocabulary_without_byte_tokens_is_refused() {
        let err = BpeTokenizer::new(
            vec!["a".into()],
            vec![1],
            &[],
            PreTokenizer::Gpt2,
            None,
            None,
            false,
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("byte-level"), "{err}");
        assert!(PreTokenizer::from_gguf_name("llama3").is_none());
    }
}
