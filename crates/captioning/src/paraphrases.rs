//! Paraphrases of the activity text (offline text diversification, what the
//! NLS paper did with a chat LLM): rewrites of each activity description of
//! the knowledge base and of each template of the bank, with the prompt,
//! seed and model hash that produced them.
//!
//! `wearlang paraphrase` (crate `wearlang-llm`) writes the file;
//! `data/paraphrases.toml` is the one built in. This module only reads,
//! checks and filters text: no model runs here.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use wearlang_core::Location;

use crate::{Error, Result};

/// The built-in paraphrases (`data/paraphrases.toml`).
pub const BUILTIN_PARAPHRASES: &str = include_str!("../data/paraphrases.toml");

/// The slot every template rewrite must keep.
pub const SLOT: &str = "{activity}";

/// Rewrites of one source text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParaphraseSet {
    /// What the rewrites stand for: the activity's name for a description,
    /// the template itself for a template.
    pub key: String,
    /// The text that was rewritten.
    pub source: String,
    /// Accepted rewrites, in the order they were produced.
    pub rewrites: Vec<String>,
    /// Generations tried to get them (rejected ones included).
    pub attempts: usize,
}

/// How the rewrites were produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParaphraseProvenance {
    /// The model file's name.
    pub model: String,
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// The system message.
    pub system_prompt: String,
    /// The user message for templates; `{text}` is replaced by the
    /// template with `{activity}` filled by `filler`.
    pub prompt: String,
    /// The activity that stands in for `{activity}` while a template is
    /// rewritten (a rewrite must keep it; it becomes the slot again).
    pub filler: String,
    /// The user message for descriptions; `{name}` is the activity's name,
    /// `{text}` its description.
    pub description_prompt: String,
    /// Base seed (each attempt's seed derives from it).
    pub seed: u64,
    /// Rewrites asked for per source.
    pub n: usize,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus threshold.
    pub top_p: f64,
    /// Token limit per rewrite.
    pub max_tokens: usize,
    /// The filter's length bounds in words.
    pub min_words: usize,
    /// The filter's length bounds in words.
    pub max_words: usize,
}

/// A paraphrase file: provenance, description rewrites, template rewrites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paraphrases {
    /// How they were made.
    pub provenance: ParaphraseProvenance,
    /// Rewrites of activity descriptions (key: activity name).
    #[serde(default)]
    pub descriptions: Vec<ParaphraseSet>,
    /// Rewrites of templates (key: the template; every rewrite holds
    /// `{activity}` once).
    #[serde(default)]
    pub templates: Vec<ParaphraseSet>,
}

/// Why a rewrite was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Empty after cleaning.
    Empty,
    /// Fewer or more words than allowed.
    Length(usize),
    /// Does not name the activity (or lost the slot).
    Missing(String),
    /// The same as the source or an earlier rewrite.
    Duplicate,
    /// Chat or markup debris (`<|`, `assistant`), or talk about the task
    /// (“rewritten”, “sentence”, “your …”).
    Debris,
}

/// Normal form for duplicate checks: lower case, letters and digits only.
fn normal(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Clean an LLM answer: first line only, surrounding quotes and list marks
/// removed, whitespace collapsed, a final full stop added.
pub fn clean_rewrite(answer: &str) -> String {
    let line = answer
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let line = line
        .trim_start_matches(|c: char| c == '-' || c == '*' || c.is_ascii_digit() || c == '.')
        .trim();
    let line = line
        .trim_matches(|c| c == '"' || c == '\'' || c == '“' || c == '”')
        .trim();
    let mut s = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if !s.is_empty() && !s.ends_with(['.', '!', '?']) {
        s.push('.');
    }
    s
}

/// Accept or reject a cleaned rewrite of `source`: it must contain
/// `must_contain` (case-insensitive), have `min_words..=max_words` words,
/// carry no chat debris, and differ from the source and from `seen`
/// (normal forms, updated on acceptance).
pub fn check_rewrite(
    rewrite: &str,
    source: &str,
    must_contain: &str,
    min_words: usize,
    max_words: usize,
    seen: &mut HashSet<String>,
) -> std::result::Result<(), Rejection> {
    if rewrite.trim().is_empty() {
        return Err(Rejection::Empty);
    }
    let lower = rewrite.to_lowercase();
    if [
        "<|",
        "|>",
        "assistant",
        "rewrit",
        "sentence",
        "paraphras",
        "{text}",
        "your ",
    ]
    .iter()
    .any(|d| lower.contains(d))
    {
        return Err(Rejection::Debris);
    }
    let words = rewrite.split_whitespace().count();
    if words < min_words || words > max_words {
        return Err(Rejection::Length(words));
    }
    if !lower.contains(&must_contain.to_lowercase()) {
        return Err(Rejection::Missing(must_contain.to_string()));
    }
    let key = normal(rewrite);
    if key == normal(source) || seen.contains(&key) {
        return Err(Rejection::Duplicate);
    }
    seen.insert(key);
    Ok(())
}

impl Paraphrases {
    /// The built-in file (parsed once; a test checks it parses).
    pub fn builtin() -> &'static Paraphrases {
        static P: OnceLock<Option<Paraphrases>> = OnceLock::new();
        static EMPTY: OnceLock<Paraphrases> = OnceLock::new();
        P.get_or_init(|| Paraphrases::from_toml_str(BUILTIN_PARAPHRASES).ok())
            .as_ref()
            .unwrap_or_else(|| {
                EMPTY.get_or_init(|| Paraphrases {
                    provenance: ParaphraseProvenance {
                        model: String::new(),
                        model_sha256: String::new(),
                        system_prompt: String::new(),
                        prompt: String::new(),
                        filler: String::new(),
                        description_prompt: String::new(),
                        seed: 0,
                        n: 0,
                        temperature: 0.0,
                        top_p: 1.0,
                        max_tokens: 0,
                        min_words: 0,
                        max_words: 0,
                    },
                    descriptions: Vec::new(),
                    templates: Vec::new(),
                })
            })
    }

    /// Parse and check TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::parse(text, Location::default())
    }

    /// Read and check a file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, Location::file(path))
    }

    fn parse(text: &str, location: Location) -> Result<Self> {
        let p: Paraphrases =
            toml::from_str(text).map_err(|e| Error::data(location.clone(), e.to_string()))?;
        p.validate().map_err(|msg| Error::data(location, msg))?;
        Ok(p)
    }

    /// Every template rewrite holds `{activity}` exactly once and no other
    /// slot; no rewrite is empty.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for set in &self.templates {
            for r in &set.rewrites {
                if r.matches(SLOT).count() != 1 || r.replace(SLOT, "").contains(['{', '}']) {
                    return Err(format!(
                        "template rewrite `{r}` (of `{}`) must hold {SLOT} exactly once",
                        set.key
                    ));
                }
            }
        }
        for set in self.descriptions.iter().chain(&self.templates) {
            if set.rewrites.iter().any(|r| r.trim().is_empty()) {
                return Err(format!("an empty rewrite of `{}`", set.key));
            }
        }
        Ok(())
    }

    /// Every template rewrite.
    pub fn template_rewrites(&self) -> Vec<&str> {
        self.templates
            .iter()
            .flat_map(|s| s.rewrites.iter().map(String::as_str))
            .collect()
    }

    /// The description rewrites of an activity (by its plain name).
    pub fn description_rewrites(&self, name: &str) -> &[String] {
        self.descriptions
            .iter()
            .find(|s| s.key.eq_ignore_ascii_case(name))
            .map(|s| s.rewrites.as_slice())
            .unwrap_or(&[])
    }

    /// Serialise as TOML.
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::param("paraphrases", e.to_string()))
    }

    /// The text of a paraphrase file: a comment saying what it is, then
    /// [`Paraphrases::to_toml_string`].
    pub fn to_file_string(&self) -> Result<String> {
        let mut text = String::from(FILE_HEADER);
        text.push_str(&self.to_toml_string()?);
        Ok(text)
    }

    /// Write [`Paraphrases::to_file_string`] to `path`, atomically (the file
    /// `wearlang paraphrase` writes).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        wearlang_core::fs::write_atomic(path, self.to_file_string()?.as_bytes())
    }

    /// `(sources, rewrites kept, generations tried)` over the descriptions
    /// and templates.
    pub fn counts(&self) -> (usize, usize, usize) {
        let sets = || self.descriptions.iter().chain(&self.templates);
        (
            sets().count(),
            sets().map(|s| s.rewrites.len()).sum(),
            sets().map(|s| s.attempts).sum(),
        )
    }
}

/// The comment at the top of a paraphrase file.
const FILE_HEADER: &str =
    "# Rewrites of the activity descriptions and templates by the instruct LLM\n\
     # (offline text diversification). Written by `wearlang paraphrase`; the\n\
     # provenance table records the model, its SHA-256, prompts and seed.\n\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::ACTIVITY;
    use crate::KnowledgeBase;

    #[test]
    fn cleaning_and_filtering() {
        assert_eq!(
            clean_rewrite("  \"A person is walking\"  \nmore"),
            "A person is walking."
        );
        assert_eq!(
            clean_rewrite("1. Someone walks briskly!"),
            "Someone walks briskly!"
        );
        let mut seen = HashSet::new();
        let src = "A person is walking.";
        let ok =
            |s: &str, seen: &mut HashSet<String>| check_rewrite(s, src, "walking", 3, 20, seen);
        assert_eq!(ok("Someone is walking along.", &mut seen), Ok(()));
        assert_eq!(
            ok("Someone is Walking along!", &mut seen),
            Err(Rejection::Duplicate)
        );
        assert_eq!(
            ok("a person is walking", &mut seen),
            Err(Rejection::Duplicate)
        );
        assert_eq!(
            ok("Someone strolls in the park.", &mut seen),
            Err(Rejection::Missing("walking".into()))
        );
        assert_eq!(ok("walking.", &mut seen), Err(Rejection::Length(1)));
        assert_eq!(
            ok("<|im_start|>assistant walking here", &mut seen),
            Err(Rejection::Debris)
        );
    }

    #[test]
    fn the_builtin_file_parses_and_passes_its_own_filter() {
        let p = Paraphrases::from_toml_str(BUILTIN_PARAPHRASES).unwrap();
        let prov = &p.provenance;
        assert_eq!(prov.model, "SmolLM2-135M-Instruct.Q4_1.gguf");
        assert_eq!(prov.model_sha256.len(), 64);
        assert!(prov.prompt.contains("{text}") && prov.n > 0);
        // Every description key is an activity of the knowledge base, every
        // template key a template of the bank.
        let kb = KnowledgeBase::builtin();
        assert!(!p.descriptions.is_empty() && !p.templates.is_empty());
        for set in &p.descriptions {
            let info = kb.lookup(&set.key).unwrap_or_else(|| panic!("{}", set.key));
            assert_eq!(set.source, info.description);
        }
        for set in &p.templates {
            assert!(ACTIVITY.contains(&set.key.as_str()), "{}", set.key);
        }
        // The filter, rerun on the stored text, accepts every rewrite (so the
        // file holds no duplicates, debris or off-length text) and the sets
        // are not padded past n.
        let mut total = 0;
        for set in &p.descriptions {
            let mut seen = HashSet::new();
            assert!(set.rewrites.len() <= prov.n && set.attempts >= set.rewrites.len());
            for r in &set.rewrites {
                check_rewrite(
                    r,
                    &set.source,
                    &set.key,
                    prov.min_words,
                    prov.max_words,
                    &mut seen,
                )
                .unwrap_or_else(|why| panic!("{r:?}: {why:?}"));
                total += 1;
            }
        }
        for set in &p.templates {
            let mut seen = HashSet::new();
            for r in &set.rewrites {
                check_rewrite(
                    r,
                    &set.source,
                    SLOT,
                    prov.min_words,
                    prov.max_words,
                    &mut seen,
                )
                .unwrap_or_else(|why| panic!("{r:?}: {why:?}"));
                total += 1;
            }
        }
        assert!(total >= p.descriptions.len() + p.templates.len(), "{total}");
        assert!(std::ptr::eq(Paraphrases::builtin(), Paraphrases::builtin()));
        assert!(!Paraphrases::builtin().template_rewrites().is_empty());
    }

    #[test]
    fn written_file_has_the_header_and_reads_back() {
        let p = Paraphrases::builtin();
        let text = p.to_file_string().unwrap();
        assert!(text.starts_with("# Rewrites of the activity descriptions"));
        assert_eq!(&Paraphrases::from_toml_str(&text).unwrap(), p);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        p.write(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let (sources, kept, tried) = p.counts();
        assert_eq!(sources, p.descriptions.len() + p.templates.len());
        assert!(kept <= tried && kept > 0);
    }

    #[test]
    fn bad_files_are_errors() {
        let text = BUILTIN_PARAPHRASES.to_string();
        assert!(Paraphrases::from_toml_str("provenance = 3").is_err());
        let mut p = Paraphrases::from_toml_str(&text).unwrap();
        if let Some(set) = p.templates.first_mut() {
            set.rewrites.push("No slot here.".into());
        }
        let bad = p.to_toml_string().unwrap();
        let err = Paraphrases::from_toml_str(&bad).unwrap_err().to_string();
        assert!(err.contains("exactly once"), "{err}");
        let err = Paraphrases::from_path("/nonexistent/p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/p.toml"));
    }
}
