//! Offline text diversification: ask the instruct model for rewrites of
//! each activity description of the knowledge base and each template of the
//! bank (what the NLS paper did with ChatGPT), filter them, and record how
//! they were made. The result is written once (`wearlang paraphrase`) and
//! read at training time by `wearlang_captioning::Paraphrases`; no LLM runs
//! while training.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};
use wearlang_captioning::paraphrases::{
    check_rewrite, clean_rewrite, ParaphraseProvenance, ParaphraseSet, Paraphrases, SLOT,
};
use wearlang_captioning::{derive_seed, KnowledgeBase};

use crate::generate::LlmModel;
use crate::sampling::Sampling;
use crate::{LlmError, Result};

/// The system message.
pub const SYSTEM_PROMPT: &str =
    "You rewrite sentences in plain English. Answer with the rewritten sentence only.";
/// The user message for templates (`{text}`: the filled template).
pub const TEMPLATE_PROMPT: &str =
    "Rewrite this sentence with different words but the same meaning. Keep the word \"cycling\".\n{text}";
/// The user message for descriptions.
pub const DESCRIPTION_PROMPT: &str =
    "Here is how {name} is done: {text}\nRewrite this in one sentence that mentions {name}.";
/// The activity that stands in for `{activity}` while a template is rewritten.
pub const FILLER: &str = "cycling";

/// Settings of a paraphrasing run.
#[derive(Clone, Debug, PartialEq)]
pub struct ParaphraseSettings {
    /// Rewrites wanted per source.
    pub n: usize,
    /// Generations tried per source at most, as a multiple of `n`.
    pub attempts_per_rewrite: usize,
    /// Base seed.
    pub seed: u64,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus threshold.
    pub top_p: f64,
    /// Token limit per rewrite.
    pub max_tokens: usize,
    /// Shortest accepted rewrite, in words.
    pub min_words: usize,
    /// Longest accepted rewrite, in words.
    pub max_words: usize,
    /// Only the first `limit` descriptions and templates (0: all).
    pub limit: usize,
}

impl Default for ParaphraseSettings {
    fn default() -> Self {
        ParaphraseSettings {
            n: 4,
            attempts_per_rewrite: 3,
            seed: 0,
            temperature: 0.8,
            top_p: 0.95,
            max_tokens: 48,
            min_words: 4,
            max_words: 40,
            limit: 0,
        }
    }
}

/// SHA-256 (hex) of a file.
pub fn file_sha256(path: &Path) -> Result<String> {
    let io = |e: std::io::Error| LlmError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// One source to rewrite.
struct Job {
    key: String,
    source: String,
    prompt: String,
    must_contain: String,
    /// Template jobs put the slot back in place of the filler.
    template: bool,
}

/// Rewrite the descriptions of `kb` and the `templates`; `progress(done,
/// total)` is called after each source.
pub fn paraphrase_knowledge(
    model: &LlmModel,
    model_sha256: &str,
    kb: &KnowledgeBase,
    templates: &[&str],
    s: &ParaphraseSettings,
    mut progress: impl FnMut(usize, usize),
) -> Result<Paraphrases> {
    if s.n == 0 || s.attempts_per_rewrite == 0 {
        return Err(LlmError::config(
            "n",
            "at least one rewrite and one attempt",
        ));
    }
    let take = |len: usize| if s.limit == 0 { len } else { s.limit.min(len) };
    let mut jobs = Vec::new();
    for a in kb
        .activities()
        .iter()
        .filter(|a| !a.description.trim().is_empty())
        .take(take(kb.activities().len()))
    {
        jobs.push(Job {
            key: a.name.clone(),
            source: a.description.clone(),
            prompt: DESCRIPTION_PROMPT
                .replace("{name}", &a.name)
                .replace("{text}", a.description.trim()),
            must_contain: a.name.clone(),
            template: false,
        });
    }
    let n_desc = jobs.len();
    for t in templates.iter().take(take(templates.len())) {
        if t.matches(SLOT).count() != 1 {
            return Err(LlmError::config(
                "templates",
                format!("`{t}` must hold {SLOT} once"),
            ));
        }
        jobs.push(Job {
            key: t.to_string(),
            source: t.to_string(),
            prompt: TEMPLATE_PROMPT.replace("{text}", &format!("{}.", t.replace(SLOT, FILLER))),
            must_contain: FILLER.to_string(),
            template: true,
        });
    }
    let filler = regex::Regex::new(&format!(r"(?i)\b{FILLER}\b"))
        .map_err(|e| LlmError::config("filler", e.to_string()))?;
    let total = jobs.len();
    let mut sets = Vec::with_capacity(total);
    for (j, job) in jobs.iter().enumerate() {
        let prompt = model.chat_prompt(Some(SYSTEM_PROMPT), &job.prompt)?;
        let mut seen = HashSet::new();
        let mut rewrites = Vec::new();
        // Every attempt of a source is sampled in one batch (attempt k with
        // its own seed); they are examined in order until n are accepted.
        let samplings: Vec<Sampling> = (0..s.n * s.attempts_per_rewrite)
            .map(|k| Sampling {
                temperature: s.temperature,
                top_k: 0,
                top_p: s.top_p,
                seed: derive_seed(derive_seed(s.seed, j as u64), k as u64),
            })
            .collect();
        let stop = model.options(s.max_tokens, Sampling::greedy()).stop_ids;
        let outs = model.generate_many(&prompt, &samplings, s.max_tokens, &stop)?;
        let mut attempts = 0;
        for out in outs {
            if rewrites.len() == s.n {
                break;
            }
            attempts += 1;
            let cleaned = clean_rewrite(&out.text);
            if cleaned.contains(['{', '}']) {
                continue;
            }
            let candidate = if job.template {
                // The filler must appear exactly once to become the slot, and
                // nothing else may speak of it (“cyclist”, “bicycle”).
                let rest = filler.replace(&cleaned, "").to_lowercase();
                if ["cycl", "bike", "bicy", "pedal", "ride", "riding"]
                    .iter()
                    .any(|w| rest.contains(w))
                {
                    continue;
                }
                let found: Vec<_> = filler.find_iter(&cleaned).collect();
                let [m] = found.as_slice() else { continue };
                format!("{}{SLOT}{}", &cleaned[..m.start()], &cleaned[m.end()..])
            } else {
                cleaned
            };
            let must = if job.template {
                SLOT
            } else {
                job.must_contain.as_str()
            };
            if check_rewrite(
                &candidate,
                &job.source,
                must,
                s.min_words,
                s.max_words,
                &mut seen,
            )
            .is_ok()
            {
                rewrites.push(candidate);
            }
        }
        sets.push(ParaphraseSet {
            key: job.key.clone(),
            source: job.source.clone(),
            rewrites,
            attempts,
        });
        progress(j + 1, total);
    }
    let templates_sets = sets.split_off(n_desc);
    let file_name = model
        .source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let p = Paraphrases {
        provenance: ParaphraseProvenance {
            model: file_name,
            model_sha256: model_sha256.to_string(),
            system_prompt: SYSTEM_PROMPT.to_string(),
            prompt: TEMPLATE_PROMPT.to_string(),
            filler: FILLER.to_string(),
            description_prompt: DESCRIPTION_PROMPT.to_string(),
            seed: s.seed,
            n: s.n,
            temperature: s.temperature,
            top_p: s.top_p,
            max_tokens: s.max_tokens,
            min_words: s.min_words,
            max_words: s.max_words,
        },
        descriptions: sets,
        templates: templates_sets,
    };
    p.validate()
        .map_err(|e| LlmError::config("paraphrases", e))?;
    Ok(p)
}
