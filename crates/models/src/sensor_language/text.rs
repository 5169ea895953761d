//! Training text per window and epoch, and the cache of frozen-MiniLM
//! embeddings.

use std::collections::HashMap;

use tch::Tensor;
use wearlang_captioning::{derive_seed, ActivityCaptioner, PromptOptions, PromptTemplates};
use wearlang_core::Window;
use wearlang_encoders::text::MiniLmEncoder;

use super::config::TextSpec;
use crate::{ModelError, Result};

/// The text source name that writes NLS activity text from the label.
pub const ACTIVITY: &str = "activity";

/// Chooses each window's training text: one of the configured variants,
/// drawn per `(seed, epoch, window)`, so every epoch may pair a window with
/// a different caption or activity template (text diversity) and a resumed
/// run sees the same texts.
#[derive(Debug, Clone)]
pub struct TextSampler {
    variants: Vec<String>,
    activity: ActivityCaptioner,
    seed: u64,
}

impl TextSampler {
    /// A sampler for `spec`'s variants, seeded with the run seed.
    pub fn new(spec: &TextSpec, seed: u64) -> Self {
        TextSampler {
            variants: spec.variants.clone(),
            activity: ActivityCaptioner::new(spec.activity.clone()),
            seed,
        }
    }

    /// The text of `window` (index `index` in its set) in `epoch`.
    pub fn text(&self, window: &Window, index: usize, epoch: u64) -> Result<String> {
        let s = derive_seed(
            self.seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            index as u64,
        );
        let variant = &self.variants[(s % self.variants.len() as u64) as usize];
        let name = || {
            format!(
                "window {index} (subject {}, recording {}, start {} ms)",
                window.subject, window.recording, window.start_ms
            )
        };
        if variant == ACTIVITY {
            let label = window.label.as_deref().ok_or_else(|| {
                ModelError::Data(format!("{}: no label to write activity text from", name()))
            })?;
            Ok(self.activity.caption_label(label, derive_seed(s, 1))?)
        } else {
            window.captions.get(variant).cloned().ok_or_else(|| {
                ModelError::Data(format!(
                    "{}: no caption `{variant}` (it has: {}); run `wearlang caption` first",
                    name(),
                    window
                        .captions
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        }
    }

    /// Every text this sampler can produce for `windows`: the caption
    /// columns it reads, and each activity template (with the knowledge
    /// sentences) for each label. The captioning decoder's vocabulary is
    /// built from these.
    pub fn corpus(&self, windows: &[Window]) -> Vec<String> {
        let mut out = std::collections::BTreeSet::new();
        let mut labels = std::collections::BTreeSet::new();
        for w in windows {
            for v in &self.variants {
                if v == ACTIVITY {
                    if let Some(l) = &w.label {
                        labels.insert(l.clone());
                    }
                } else if let Some(c) = w.captions.get(v) {
                    out.insert(c.clone());
                }
            }
        }
        // Every template for every label, with the sentences the activity
        // captioner appends (as `ActivityCaptioner::caption_label` does).
        let labels: Vec<String> = labels.into_iter().collect();
        let kb = &self.activity.knowledge;
        let prompts = kb.class_prompts(
            &labels,
            PromptOptions {
                templates: PromptTemplates::All,
                knowledge: false,
            },
        );
        for (label, texts) in labels.iter().zip(prompts) {
            let info = kb.lookup(label);
            for mut t in texts {
                if let Some(info) = info {
                    let cfg = &self.activity.config;
                    let extra = [
                        cfg.body_parts.then(|| info.body_parts_sentence()).flatten(),
                        cfg.description
                            .then(|| info.description_sentence())
                            .flatten(),
                    ];
                    for e in extra.into_iter().flatten() {
                        t.push(' ');
                        t.push_str(&e);
                    }
                }
                out.insert(t);
            }
        }
        out.into_iter().collect()
    }

    /// Check that every window has a text for every variant (fail before
    /// training, not at step 3,000).
    pub fn check(&self, windows: &[Window]) -> Result<()> {
        for (i, w) in windows.iter().enumerate() {
            for v in &self.variants {
                let ok = if v == ACTIVITY {
                    w.label.is_some()
                } else {
                    w.captions.contains_key(v)
                };
                if !ok {
                    let one = TextSampler {
                        variants: vec![v.clone()],
                        ..self.clone()
                    };
                    return Err(one.text(w, i, 0).err().unwrap_or_else(|| {
                        ModelError::Data(format!("window {i}: no text `{v}`"))
                    }));
                }
            }
        }
        Ok(())
    }
}

/// Frozen-MiniLM embeddings by text: each distinct text is embedded once per
/// run (class prompts, template banks and caption sets repeat every epoch).
#[derive(Debug, Default)]
pub struct TextEmbeddingCache {
    map: HashMap<String, Tensor>,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Texts that had to be embedded.
    pub misses: u64,
}

impl TextEmbeddingCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Distinct texts held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Normalised embeddings `[B, 384]` of `texts`, embedding only the ones
    /// not seen before.
    pub fn embed<S: AsRef<str>>(&mut self, enc: &MiniLmEncoder, texts: &[S]) -> Result<Tensor> {
        let mut missing: Vec<&str> = Vec::new();
        for t in texts {
            let t = t.as_ref();
            if self.map.contains_key(t) || missing.contains(&t) {
                self.hits += 1;
            } else {
                missing.push(t);
            }
        }
        if !missing.is_empty() {
            self.misses += missing.len() as u64;
            let e = enc.embed_texts(&missing, 64)?;
            for (i, t) in missing.iter().enumerate() {
                self.map.insert((*t).to_string(), e.get(i as i64));
            }
        }
        if texts.is_empty() {
            return Err(ModelError::Data("no texts to embed".into()));
        }
        let rows: Vec<&Tensor> = texts.iter().map(|t| &self.map[t.as_ref()]).collect();
        Ok(Tensor::stack(&rows, 0))
    }
}
