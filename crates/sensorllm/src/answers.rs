//! Stage 1's questions and reference answers.
//!
//! With `align.answer = "channel"` (the default, the paper's layout) a
//! window gives one question per channel with observed values: prompt `c`
//! asks about channel `c` (`align.channel_instruction`), and the answer is
//! that channel's trend text alone, written from the raw window by
//! [`TrendCaptioner::channel_caption`]. With `"window"` a window gives one
//! question (prompt 0) answered by its `align.caption` column.
//!
//! The same function writes the answers stage 1 trains on and the
//! references the evaluation scores against, so the two cannot drift apart.

use wearlang_captioning::TrendCaptioner;
use wearlang_core::{ChannelSpec, Window};
use wearlang_models::{ModelError, Result};

use crate::config::{AlignConfig, AnswerScope};

/// One stage-1 question about a window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// Index of the window in the slice it was asked of.
    pub window: usize,
    /// Which stage-1 prompt asks it (the channel's index with per-channel
    /// answers, 0 with whole-window ones).
    pub prompt: usize,
    /// The answer's opening words, given in the prompt (empty with
    /// whole-window answers or no `align.answer_prefix`).
    pub prefix: String,
    /// The reference answer: what the model is to write after `prefix`
    /// (with its leading space, as it continues the prefix).
    pub answer: String,
}

impl Question {
    /// The whole reference text: prefix and answer.
    pub fn full_text(&self) -> String {
        format!("{}{}", self.prefix, self.answer)
    }
}

/// A seed that belongs to a window (its subject, recording and start), so
/// the wording of its reference answer does not depend on where it sits in
/// a split or a batch.
pub fn window_seed(w: &Window) -> u64 {
    // FNV-1a over the identifying fields, separated so that ("ab", "c") and
    // ("a", "bc") differ.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes.iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(w.subject.as_bytes());
    eat(w.recording.as_bytes());
    eat(&w.start_ms.to_le_bytes());
    h
}

/// The questions and reference answers of `windows` (raw, unnormalised
/// values for per-channel answers; `source` names them in errors) under
/// `cfg`, in window order and, within a window, in channel order. A window
/// without the caption column (whole-window answers) is an error naming
/// it; a channel with nothing observed asks nothing.
pub fn questions<'a>(
    cfg: &AlignConfig,
    windows: impl IntoIterator<Item = &'a Window>,
    channels: &[ChannelSpec],
    source: &str,
) -> Result<Vec<Question>> {
    let mut out = Vec::new();
    let captioner = TrendCaptioner::new(cfg.trend.clone());
    for (i, w) in windows.into_iter().enumerate() {
        match cfg.answer {
            AnswerScope::Window => {
                let text = w.captions.get(&cfg.caption).ok_or_else(|| {
                    ModelError::Data(format!(
                        "{source}: window {i} (subject {}, recording {}, start {} ms) has no \
                         caption `{}` (run `wearlang caption --variants {}` first)",
                        w.subject, w.recording, w.start_ms, cfg.caption, cfg.caption
                    ))
                })?;
                out.push(Question {
                    window: i,
                    prompt: 0,
                    prefix: String::new(),
                    answer: text.clone(),
                });
            }
            AnswerScope::Channel => {
                if w.values.is_empty() {
                    return Err(ModelError::Data(format!(
                        "{source}: window {i} (subject {}, recording {}) carries no values; \
                         per-channel answers are written from the raw window",
                        w.subject, w.recording
                    )));
                }
                let seed = window_seed(w);
                for c in 0..channels.len() {
                    let text = captioner
                        .channel_caption(w, channels, c, seed)
                        .map_err(|e| ModelError::Data(format!("{source}: window {i}: {e}")))?;
                    let prefix = cfg.channel_prefix(&channels[c].name);
                    // A channel with nothing observed, or too short for
                    // the opening the prompt gives, is not asked.
                    if let Some(rest) = text.strip_prefix(&prefix).filter(|r| !r.is_empty()) {
                        out.push(Question {
                            window: i,
                            prompt: c,
                            answer: rest.to_string(),
                            prefix,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wearlang_captioning::check_faithfulness;
    use wearlang_core::ChannelKind;

    fn window(subject: &str, start_ms: i64) -> Window {
        // ax rises, ay falls, az missing.
        let values = (0..100)
            .flat_map(|t| [t as f32 / 100.0, -(t as f32) / 100.0, f32::NAN])
            .collect();
        Window::from_values(subject, "r", start_ms, 50.0, 3, values).unwrap()
    }

    fn channels() -> Vec<ChannelSpec> {
        ["ax", "ay", "az"]
            .iter()
            .map(|n| ChannelSpec::new(*n, "g", ChannelKind::Accelerometer))
            .collect()
    }

    #[test]
    fn per_channel_questions_skip_empty_channels_and_answers_hold() {
        let ws = [window("s1", 0), window("s2", 2000)];
        let q = questions(&AlignConfig::default(), &ws, &channels(), "test").unwrap();
        let asked: Vec<(usize, usize)> = q.iter().map(|q| (q.window, q.prompt)).collect();
        assert_eq!(asked, [(0, 0), (0, 1), (1, 0), (1, 1)]);
        for q in &q {
            let text = q.full_text();
            let r = check_faithfulness(&text, &ws[q.window], &channels());
            assert!(r.is_fully_verified(), "{text}: {r:?}");
            let name = ["ax", "ay"][q.prompt];
            // The prompt gives the opening; the answer continues it.
            assert_eq!(q.prefix, format!("Trend of {name}:"));
            assert!(q.answer.starts_with(' '), "{}", q.answer);
            assert!(
                q.answer.contains(&format!("{name} has a mean")),
                "{}",
                q.answer
            );
        }
        // Without a prefix the answer is the whole text.
        let bare = AlignConfig {
            answer_prefix: String::new(),
            ..AlignConfig::default()
        };
        let q0 = questions(&bare, &ws[..1], &channels(), "t").unwrap();
        assert_eq!(
            (q0[0].prefix.as_str(), q0[0].answer.clone()),
            ("", q[0].full_text())
        );
        // The wording is the window's own: the same window asked alone, or
        // after another one, gets the same answer.
        let alone = questions(&AlignConfig::default(), &ws[1..], &channels(), "t").unwrap();
        assert_eq!(alone[0].answer, q[2].answer);
        assert_ne!(window_seed(&ws[0]), window_seed(&ws[1]));
    }

    #[test]
    fn whole_window_answers_need_the_caption_column() {
        let cfg = AlignConfig {
            answer: AnswerScope::Window,
            ..AlignConfig::default()
        };
        let mut ws = [window("s1", 0), window("s2", 2000)];
        ws[0].captions.insert("trend".into(), "ax rises.".into());
        let err = questions(&cfg, &ws, &channels(), "store.parquet")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("store.parquet") && err.contains("window 1") && err.contains("`trend`"),
            "{err}"
        );
        ws[1].captions.insert("trend".into(), "ay falls.".into());
        let q = questions(&cfg, &ws, &channels(), "s").unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!((q[1].prompt, q[1].answer.as_str()), (0, "ay falls."));
    }
}
