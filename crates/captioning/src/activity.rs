//! Activity text (NLS): templates, a knowledge base of activities and class
//! prompts for zero-shot classification.
use crate::config::{ActivityConfig, TemplateChoice};
use crate::paraphrases::Paraphrases;
use crate::templates::{ACTIVITY, ACTIVITY_BASE};
use crate::util::{check_window, derive_seed, fill, join_and, pick, rng};
use crate::{Captioner, Error, Result};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::OnceLock;
use wearlang_core::{ChannelSpec, Location, Window};

/// The built-in knowledge base (`data/activities.toml`).
pub const BUILTIN_KNOWLEDGE: &str = include_str!("../data/activities.toml");

/// What is known about one activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityInfo {
    /// Short code used as a label by a data set ("PEN"), if any.
    #[serde(default)]
    pub code: Option<String>,
    /// Plain name used in text ("pendulum exercise").
    pub name: String,
    /// Other spellings a label may take.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Body parts mainly involved.
    #[serde(default)]
    pub body_parts: Vec<String>,
    /// How the movement is performed.
    #[serde(default)]
    pub description: String,
}

impl ActivityInfo {
    /// "It mainly involves the shoulder, upper arm and forearm."
    pub fn body_parts_sentence(&self) -> Option<String> {
        if self.body_parts.is_empty() {
            None
        } else {
            Some(format!(
                "It mainly involves the {}.",
                join_and(&self.body_parts)
            ))
        }
    }

    /// The description as a sentence, if any.
    pub fn description_sentence(&self) -> Option<String> {
        let d = self.description.trim();
        if d.is_empty() {
            None
        } else if d.ends_with(['.', '!', '?']) {
            Some(d.to_string())
        } else {
            Some(format!("{d}."))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnowledgeFile {
    activity: Vec<ActivityInfo>,
}

/// A set of activities, looked up by code, name or alias (case-insensitive;
/// `_` and `-` count as spaces).
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeBase {
    activities: Vec<ActivityInfo>,
}

fn normalise_key(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl KnowledgeBase {
    /// The built-in knowledge base (parsed once).
    pub fn builtin() -> &'static KnowledgeBase {
        static KB: OnceLock<KnowledgeBase> = OnceLock::new();
        KB.get_or_init(|| {
            // The built-in file is checked by a unit test; fall back to an
            // empty base rather than panicking should it ever be broken.
            KnowledgeBase::from_toml_str(BUILTIN_KNOWLEDGE).unwrap_or(KnowledgeBase {
                activities: Vec::new(),
            })
        })
    }

    /// Parse a knowledge base from TOML text (`[[activity]]` tables).
    pub fn from_toml_str(text: &str) -> Result<Self> {
        Self::parse(text, Location::default())
    }

    /// Read a knowledge base from a TOML file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, Location::file(path))
    }

    fn parse(text: &str, location: Location) -> Result<Self> {
        let file: KnowledgeFile =
            toml::from_str(text).map_err(|e| Error::data(location.clone(), e.to_string()))?;
        let kb = Self {
            activities: file.activity,
        };
        let mut seen = std::collections::BTreeMap::new();
        for (i, a) in kb.activities.iter().enumerate() {
            if a.name.trim().is_empty() || a.name.contains(['{', '}']) {
                return Err(Error::data(
                    location.clone().column("name"),
                    format!("activity {} has an empty or invalid name", i + 1),
                ));
            }
            for key in a.keys() {
                if let Some(j) = seen.insert(key.clone(), i) {
                    if j != i {
                        return Err(Error::data(
                            location.clone(),
                            format!("'{key}' names activities {} and {}", j + 1, i + 1),
                        ));
                    }
                }
            }
        }
        Ok(kb)
    }

    /// All activities.
    pub fn activities(&self) -> &[ActivityInfo] {
        &self.activities
    }

    /// The activity a label refers to, by code, name or alias.
    pub fn lookup(&self, label: &str) -> Option<&ActivityInfo> {
        let key = normalise_key(label);
        self.activities.iter().find(|a| a.keys().any(|k| k == key))
    }

    /// The plain name of a label: the knowledge base name, or the label with
    /// `_`/`-` as spaces, lower-cased, when unknown.
    pub fn plain_name(&self, label: &str) -> String {
        self.lookup(label)
            .map(|a| a.name.clone())
            .unwrap_or_else(|| normalise_key(label))
    }

    /// Class prompts for `labels`: per class, the texts to embed and average.
    pub fn class_prompts<S: AsRef<str>>(
        &self,
        labels: &[S],
        options: PromptOptions,
    ) -> Vec<Vec<String>> {
        labels
            .iter()
            .map(|label| {
                let label = label.as_ref();
                let name = self.plain_name(label);
                let info = self.lookup(label);
                let templates: &[&str] = match options.templates {
                    PromptTemplates::Base => &[ACTIVITY_BASE],
                    PromptTemplates::All => ACTIVITY,
                };
                templates
                    .iter()
                    .map(|t| {
                        let mut s = format!("{}.", t.replace("{activity}", &name));
                        if options.knowledge {
                            if let Some(info) = info {
                                for extra in
                                    [info.body_parts_sentence(), info.description_sentence()]
                                        .into_iter()
                                        .flatten()
                                {
                                    s.push(' ');
                                    s.push_str(&extra);
                                }
                            }
                        }
                        s
                    })
                    .collect()
            })
            .collect()
    }
}

impl ActivityInfo {
    fn keys(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(normalise_key(&self.name))
            .chain(self.code.iter().map(|c| normalise_key(c)))
            .chain(self.aliases.iter().map(|a| normalise_key(a)))
    }
}

/// Which templates class prompts use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptTemplates {
    /// Every template of the bank (ensembled).
    All,
    /// The base template only.
    Base,
}

/// Options of [`class_prompts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptOptions {
    /// Templates to use.
    pub templates: PromptTemplates,
    /// Append body parts and movement description from the knowledge base.
    pub knowledge: bool,
}

impl Default for PromptOptions {
    fn default() -> Self {
        Self {
            templates: PromptTemplates::Base,
            knowledge: false,
        }
    }
}

/// Class prompts from the built-in knowledge base: per label, the texts to
/// embed and average (one text with [`PromptTemplates::Base`], one per
/// template with [`PromptTemplates::All`]).
///
/// ```
/// use wearlang_captioning::{class_prompts, PromptOptions, PromptTemplates};
/// let p = class_prompts(&["PEN", "walking"], PromptOptions { templates: PromptTemplates::Base, knowledge: false });
/// assert_eq!(p[0], vec!["This is wearable sensor data for a person engaged in pendulum exercise.".to_string()]);
/// ```
pub fn class_prompts<S: AsRef<str>>(labels: &[S], options: PromptOptions) -> Vec<Vec<String>> {
    KnowledgeBase::builtin().class_prompts(labels, options)
}

/// NLS activity text from the window's label: a template (base or drawn by
/// seed) with the plain activity name, optionally followed by body parts and
/// the movement description.
#[derive(Debug, Clone)]
pub struct ActivityCaptioner {
    /// Options.
    pub config: ActivityConfig,
    /// The knowledge base (built-in unless replaced).
    pub knowledge: KnowledgeBase,
}

impl Default for ActivityCaptioner {
    fn default() -> Self {
        Self::new(ActivityConfig::default())
    }
}

impl ActivityCaptioner {
    /// A captioner with the built-in knowledge base.
    pub fn new(config: ActivityConfig) -> Self {
        Self {
            config,
            knowledge: KnowledgeBase::builtin().clone(),
        }
    }

    /// The caption for a label (no window needed).
    pub fn caption_label(&self, label: &str, seed: u64) -> Result<String> {
        let name = self.knowledge.plain_name(label);
        if name.is_empty() || name.contains(['{', '}']) {
            return Err(Error::param("label", format!("unusable label '{label}'")));
        }
        let rewrites = if self.config.paraphrases {
            Paraphrases::builtin().template_rewrites()
        } else {
            Vec::new()
        };
        let template = match self.config.template {
            TemplateChoice::Base => ACTIVITY_BASE,
            TemplateChoice::Random if rewrites.is_empty() => pick(&mut rng(seed), ACTIVITY),
            TemplateChoice::Random => {
                let i = rng(seed).random_range(0..ACTIVITY.len() + rewrites.len());
                match ACTIVITY.get(i) {
                    Some(t) => t,
                    None => rewrites[i - ACTIVITY.len()],
                }
            }
        };
        // Keep the template's own capitalisation (the name may be lower case).
        let mut text = fill(template, &[("activity", &name)])?;
        if !text.ends_with(['.', '!', '?']) {
            text.push('.');
        }
        if let Some(info) = self.knowledge.lookup(label) {
            if self.config.body_parts {
                if let Some(s) = info.body_parts_sentence() {
                    text.push(' ');
                    text.push_str(&s);
                }
            }
            if self.config.description {
                let rewrites = if self.config.paraphrases {
                    Paraphrases::builtin().description_rewrites(&info.name)
                } else {
                    &[]
                };
                let description = match rng(derive_seed(seed, 7)).random_range(0..=rewrites.len()) {
                    0 => info.description_sentence(),
                    i => Some(rewrites[i - 1].clone()),
                };
                if let Some(s) = description {
                    text.push(' ');
                    text.push_str(&s);
                }
            }
        }
        Ok(text)
    }
}

impl Captioner for ActivityCaptioner {
    fn name(&self) -> &str {
        "activity"
    }

    fn caption(&self, window: &Window, channels: &[ChannelSpec], seed: u64) -> Result<String> {
        check_window(window, channels)?;
        let label = window.label.as_deref().ok_or_else(|| {
            Error::param(
                "label",
                format!(
                    "window {}/{} has no label to describe",
                    window.subject, window.recording
                ),
            )
        })?;
        self.caption_label(label, seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_covers_fixture_and_daily_activities() {
        let kb = KnowledgeBase::from_toml_str(BUILTIN_KNOWLEDGE).unwrap();
        for (code, name) in [
            ("PEN", "pendulum exercise"),
            ("ABD", "shoulder abduction"),
            ("FEL", "forward elevation"),
            ("IR", "internal rotation"),
            ("ER", "external rotation"),
            ("TRAP", "trapezius extension"),
            ("ROW", "upright row"),
        ] {
            let a = kb.lookup(code).unwrap();
            assert_eq!(a.name, name);
            assert!(!a.body_parts.is_empty() && !a.description.is_empty());
        }
        for label in [
            "walking",
            "running",
            "cycling",
            "stairs_up",
            "stairs-down",
            "sitting",
            "standing",
            "lying",
            "sleeping",
            "eating",
            "driving",
            "vacuuming",
            "ironing",
        ] {
            assert!(kb.lookup(label).is_some(), "{label}");
        }
        // BasicMotions' labels (fixtures/basicmotions) are words of it.
        for (label, name) in [
            ("Standing", "standing"),
            ("Walking", "walking"),
            ("Running", "running"),
            ("Badminton", "playing badminton"),
        ] {
            assert_eq!(kb.lookup(label).map(|a| a.name.as_str()), Some(name));
        }
        let common = kb.activities().iter().filter(|a| a.code.is_none()).count();
        assert!(common >= 25, "{common}");
        assert!(ACTIVITY.len() >= 30);
        assert_eq!(kb.plain_name("Some_New-Thing"), "some new thing");
    }

    #[test]
    fn uci_hapt_labels_map_to_words_with_descriptions() {
        let kb = KnowledgeBase::from_toml_str(BUILTIN_KNOWLEDGE).unwrap();
        let names: Vec<String> = [
            ("WALKING", "walking"),
            ("WALKING_UPSTAIRS", "climbing stairs"),
            ("WALKING_DOWNSTAIRS", "going down stairs"),
            ("SITTING", "sitting"),
            ("STANDING", "standing"),
            ("LAYING", "lying down"),
            ("STAND_TO_SIT", "stand to sit"),
            ("SIT_TO_STAND", "sit to stand"),
            ("SIT_TO_LIE", "sit to lie"),
            ("LIE_TO_SIT", "lie to sit"),
            ("STAND_TO_LIE", "stand to lie"),
            ("LIE_TO_STAND", "lie to stand"),
        ]
        .into_iter()
        .map(|(label, name)| {
            let a = kb.lookup(label).unwrap_or_else(|| panic!("{label}"));
            assert_eq!(a.name, name, "{label}");
            assert!(!a.body_parts.is_empty(), "{label}");
            let d = a.description_sentence().unwrap();
            assert!(d.split_whitespace().count() >= 12, "{label}: {d}");
            a.name.clone()
        })
        .collect();
        // The transitions are data-set classes with their code.
        for code in ["STAND_TO_SIT", "LIE_TO_STAND"] {
            assert_eq!(kb.lookup(code).unwrap().code.as_deref(), Some(code));
        }
        // Twelve distinct words, none inside another: a caption naming one
        // class does not also name a second.
        for (i, a) in names.iter().enumerate() {
            for (j, b) in names.iter().enumerate() {
                assert!(i == j || !a.contains(b.as_str()), "'{a}' contains '{b}'");
            }
        }
        // Text supervision uses the words, not the codes.
        let captioner = ActivityCaptioner::new(ActivityConfig {
            template: TemplateChoice::Base,
            body_parts: false,
            description: true,
            paraphrases: false,
        });
        let text = captioner.caption_label("SIT_TO_STAND", 0).unwrap();
        assert!(
            text.starts_with(
                "This is wearable sensor data for a person engaged in sit to stand. From sitting,"
            ),
            "{text}"
        );
        assert!(!text.contains('_'), "{text}");
    }

    #[test]
    fn bad_knowledge_files_are_errors() {
        assert!(KnowledgeBase::from_toml_str("[[activity]]\nname = ''\n").is_err());
        assert!(KnowledgeBase::from_toml_str("[[activity]]\nnam = 'x'\n").is_err());
        let dup = "[[activity]]\nname = 'a'\n[[activity]]\nname = 'b'\naliases = ['A']\n";
        assert!(KnowledgeBase::from_toml_str(dup).is_err());
        let err = KnowledgeBase::from_path("/nonexistent/kb.toml").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/kb.toml"));
    }

    #[test]
    fn user_knowledge_file_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kb.toml");
        std::fs::write(
            &path,
            "[[activity]]\ncode = 'X1'\nname = 'arm circles'\nbody_parts = ['shoulder']\ndescription = 'Circles'\n",
        )
        .unwrap();
        let kb = KnowledgeBase::from_path(&path).unwrap();
        let p = kb.class_prompts(
            &["x1"],
            PromptOptions {
                templates: PromptTemplates::Base,
                knowledge: true,
            },
        );
        assert_eq!(
            p,
            vec![vec![
                "This is wearable sensor data for a person engaged in arm circles. It mainly involves the shoulder. Circles."
                    .to_string()
            ]]
        );
    }

    #[test]
    fn prompts_ensemble_all_templates_and_knowledge() {
        let labels = ["ROW", "unknown_move"];
        let base = class_prompts(&labels, PromptOptions::default());
        assert_eq!(base.len(), 2);
        assert_eq!(base[0].len(), 1);
        assert!(base[0][0].contains("upright row"));
        assert!(base[1][0].ends_with("engaged in unknown move."));
        let all = class_prompts(
            &labels,
            PromptOptions {
                templates: PromptTemplates::All,
                knowledge: true,
            },
        );
        assert_eq!(all[0].len(), ACTIVITY.len());
        let distinct: std::collections::BTreeSet<_> = all[0].iter().collect();
        assert_eq!(distinct.len(), ACTIVITY.len());
        let row = KnowledgeBase::builtin().lookup("ROW").unwrap();
        for p in &all[0] {
            assert!(p.contains("upright row") && p.contains(&row.description));
            assert!(p.contains("It mainly involves the shoulder, upper arm, elbow and wrist."));
        }
        // Unknown labels get no knowledge but still every template.
        assert_eq!(all[1].len(), ACTIVITY.len());
        assert!(!all[1][0].contains("involves"));
    }

    #[test]
    fn activity_caption_uses_label_seed_and_knowledge() {
        let ch = vec![ChannelSpec::new(
            "ax",
            "g",
            wearlang_core::ChannelKind::Accelerometer,
        )];
        let mut w = Window::from_values("s", "r", 0, 50.0, 1, vec![0.0; 4]).unwrap();
        let base = ActivityCaptioner::new(ActivityConfig {
            template: TemplateChoice::Base,
            body_parts: true,
            description: true,
            paraphrases: false,
        });
        assert!(base.caption(&w, &ch, 0).is_err(), "no label");
        w.label = Some("FEL".into());
        let text = base.caption(&w, &ch, 0).unwrap();
        assert!(text.starts_with(
            "This is wearable sensor data for a person engaged in forward elevation."
        ));
        assert!(text.contains("It mainly involves the shoulder"));
        let random = ActivityCaptioner::default();
        let texts: std::collections::BTreeSet<String> = (0..40)
            .map(|s| random.caption(&w, &ch, s).unwrap())
            .collect();
        assert!(texts.len() > 10, "templates vary with the seed");
        assert!(texts.iter().all(|t| t.contains("forward elevation")));
        assert_eq!(
            random.caption(&w, &ch, 5).unwrap(),
            random.caption(&w, &ch, 5).unwrap()
        );
    }

    #[test]
    fn paraphrases_widen_the_text_and_leave_the_other_configs_alone() {
        let plain = ActivityCaptioner::default();
        let para = ActivityCaptioner::new(ActivityConfig {
            paraphrases: true,
            ..ActivityConfig::default()
        });
        let mut from_rewrites = 0;
        for seed in 0..200 {
            let t = para.caption_label("walking", seed).unwrap();
            assert!(t.to_lowercase().contains("walking"), "{t}");
            assert!(!t.contains('{'), "{t}");
            let bank = ACTIVITY.iter().any(|tpl| {
                format!("{}.", tpl.replace("{activity}", "walking")).eq_ignore_ascii_case(&t)
            });
            if !bank {
                from_rewrites += 1;
            }
            assert_eq!(t, para.caption_label("walking", seed).unwrap());
        }
        // The pool is the bank plus the rewrites, drawn uniformly.
        let rewrites = Paraphrases::builtin().template_rewrites().len();
        let expected = 200.0 * rewrites as f64 / (rewrites + ACTIVITY.len()) as f64;
        assert!(
            (from_rewrites as f64 - expected).abs() < 0.25 * expected,
            "{from_rewrites} of 200 from rewrites, expected about {expected:.0}"
        );
        // Descriptions are drawn from the original and its rewrites.
        let described = ActivityCaptioner::new(ActivityConfig {
            template: TemplateChoice::Base,
            description: true,
            paraphrases: true,
            ..ActivityConfig::default()
        });
        let texts: std::collections::BTreeSet<String> = (0..60)
            .map(|s| described.caption_label("walking", s).unwrap())
            .collect();
        let n_desc = Paraphrases::builtin().description_rewrites("walking").len();
        assert_eq!(texts.len(), n_desc + 1, "{texts:?}");
        // Without paraphrases nothing changed: the template bank only.
        for seed in 0..50 {
            let t = plain.caption_label("walking", seed).unwrap();
            assert!(
                ACTIVITY
                    .iter()
                    .any(|tpl| format!("{}.", tpl.replace("{activity}", "walking"))
                        .eq_ignore_ascii_case(&t)),
                "{t}"
            );
        }
    }
}
