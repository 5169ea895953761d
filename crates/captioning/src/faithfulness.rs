//! Faithfulness: parse the numbers, minutes and seconds back out of a
//! caption and compare them with values recomputed from the window.
//!
//! Sentences are recognised by matching them against the crate's templates
//! (so every caption the crate writes is fully parsed); each recognised
//! sentence yields claims (a statistic, a trend over a span, a spike at a
//! minute, an event, a correlation …) that are checked against the data.
//! Numbers are compared within half a unit of their last written decimal;
//! trends, spikes and segments are checked with the generating rules at half
//! their thresholds, so that text close to the data (e.g. from a trained
//! captioning model) is judged fairly. Sentences that match no template are
//! listed as unparsed.
use crate::activity::KnowledgeBase;
use crate::config::{BinTime, CaptionConfig};
use crate::semantic::{event_text, minute_of, select_events, summarise};
use crate::stats::{bin_bounds, channel_stats, linear_fit, pearson, stats_of};
use crate::structural::{analyse_channel, minutes_per_sample, ChannelStructure};
use crate::templates as t;
use crate::trend::{channel_f64, overall_trend, SegmentKind};
use crate::util::{display_name, join_and, match_template, parse_template, split_sentences, Piece};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use wearlang_core::{ChannelSpec, EventKind, Window};

/// One checked claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// Index of the sentence in the caption.
    pub sentence: usize,
    /// What is claimed ("mean of heart rate", "increasing trend of steps
    /// from minute 40 to 480" …).
    pub what: String,
    /// The value as written.
    pub stated: String,
    /// The value recomputed from the data (or why it cannot be).
    pub actual: String,
    /// Whether the claim agrees with the data.
    pub ok: bool,
}

/// The result of [`check_faithfulness`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FaithfulnessReport {
    /// Number of sentences.
    pub sentences: usize,
    /// Every claim found.
    pub claims: Vec<Claim>,
    /// Sentences that match no known template.
    pub unparsed: Vec<String>,
}

impl FaithfulnessReport {
    /// True when no claim disagrees with the data.
    pub fn is_faithful(&self) -> bool {
        self.claims.iter().all(|c| c.ok)
    }

    /// True when every sentence was recognised and every claim holds.
    pub fn is_fully_verified(&self) -> bool {
        self.is_faithful() && self.unparsed.is_empty()
    }

    /// Fraction of claims that hold; `None` without claims.
    pub fn accuracy(&self) -> Option<f64> {
        if self.claims.is_empty() {
            None
        } else {
            Some(self.claims.iter().filter(|c| c.ok).count() as f64 / self.claims.len() as f64)
        }
    }

    /// The claims that disagree with the data.
    pub fn failures(&self) -> Vec<&Claim> {
        self.claims.iter().filter(|c| !c.ok).collect()
    }
}

struct Banks {
    stat: Vec<Vec<Piece>>,
    no_data: Vec<Vec<Piece>>,
    trend: Vec<Vec<Piece>>,
    anomaly: Vec<Vec<Piece>>,
    activity_event: Vec<Vec<Piece>>,
    sleep_event: Vec<Vec<Piece>>,
    mood_event: Vec<Vec<Piece>>,
    sum_activity: Vec<Vec<Piece>>,
    sum_sleep: Vec<Vec<Piece>>,
    sum_mood: Vec<Vec<Piece>>,
    intro: Vec<Vec<Piece>>,
    seg_up: Vec<Vec<Piece>>,
    seg_down: Vec<Vec<Piece>>,
    seg_steady: Vec<Vec<Piece>>,
    chan_summary: Vec<Vec<Piece>>,
    correlation: Vec<Vec<Piece>>,
    activity_text: Vec<Vec<Piece>>,
    body_parts: Vec<Vec<Piece>>,
}

fn parse_all(bank: &[&str]) -> Vec<Vec<Piece>> {
    bank.iter().filter_map(|s| parse_template(s).ok()).collect()
}

fn banks() -> &'static Banks {
    static B: OnceLock<Banks> = OnceLock::new();
    B.get_or_init(|| {
        let dotted: Vec<String> = t::ACTIVITY.iter().map(|s| format!("{s}.")).collect();
        let dotted: Vec<&str> = dotted.iter().map(String::as_str).collect();
        Banks {
            stat: parse_all(t::STATISTICAL),
            no_data: parse_all(t::NO_DATA),
            trend: parse_all(t::TREND),
            anomaly: parse_all(t::ANOMALY),
            activity_event: parse_all(t::ACTIVITY_EVENT),
            sleep_event: parse_all(t::SLEEP_EVENT),
            mood_event: parse_all(t::MOOD_EVENT),
            sum_activity: parse_all(t::SUMMARY_ACTIVITY),
            sum_sleep: parse_all(t::SUMMARY_SLEEP),
            sum_mood: parse_all(t::SUMMARY_MOOD),
            intro: parse_all(t::SEGMENT_INTRO),
            seg_up: parse_all(t::SEGMENT_UP),
            seg_down: parse_all(t::SEGMENT_DOWN),
            seg_steady: parse_all(t::SEGMENT_STEADY),
            chan_summary: parse_all(t::CHANNEL_SUMMARY),
            correlation: parse_all(t::CORRELATION),
            activity_text: parse_all(&dotted),
            body_parts: parse_all(&["It mainly involves the {parts}."]),
        }
    })
}

type Caps = BTreeMap<String, String>;

fn match_bank(bank: &[Vec<Piece>], text: &str) -> Option<Caps> {
    bank.iter()
        .find_map(|p| match_template(p, text))
        .map(|v| v.into_iter().collect())
}

fn phrase_in(bank: &[&str], phrase: &str) -> bool {
    bank.iter().any(|p| p.eq_ignore_ascii_case(phrase.trim()))
}

fn decimals_of(s: &str) -> usize {
    s.split_once('.').map(|(_, d)| d.len()).unwrap_or(0)
}

/// Does a written number agree with `actual` to its written precision?
fn number_ok(stated: &str, actual: f64) -> bool {
    let Ok(v) = stated.parse::<f64>() else {
        return false;
    };
    let tol = 0.5 * 10f64.powi(-(decimals_of(stated) as i32)) * (1.0 + 1e-9) + 1e-9 * actual.abs();
    actual.is_finite() && (v - actual).abs() <= tol
}

fn fmt(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.4}")
    } else {
        "none".into()
    }
}

/// Check a caption against a window with the default parameters and the
/// built-in knowledge base.
pub fn check_faithfulness(
    caption: &str,
    window: &Window,
    channels: &[ChannelSpec],
) -> FaithfulnessReport {
    check_faithfulness_with(
        caption,
        window,
        channels,
        &CaptionConfig::default(),
        KnowledgeBase::builtin(),
    )
}

/// Check a caption against a window with explicit parameters. A window that
/// does not match its channel specs gives one failed claim.
pub fn check_faithfulness_with(
    caption: &str,
    window: &Window,
    channels: &[ChannelSpec],
    config: &CaptionConfig,
    knowledge: &KnowledgeBase,
) -> FaithfulnessReport {
    let sentences = split_sentences(caption);
    let mut report = FaithfulnessReport {
        sentences: sentences.len(),
        ..FaithfulnessReport::default()
    };
    if let Err(e) = crate::util::check_window(window, channels) {
        report.claims.push(Claim {
            sentence: 0,
            what: "window shape".into(),
            stated: "valid".into(),
            actual: e.to_string(),
            ok: false,
        });
        return report;
    }
    let mut checker = Checker {
        window,
        channels,
        config,
        knowledge,
        structure: BTreeMap::new(),
        claims: Vec::new(),
        index: 0,
    };
    for (i, s) in sentences.iter().enumerate() {
        checker.index = i;
        if !checker.sentence(s) {
            report.unparsed.push(s.clone());
        }
    }
    report.claims = checker.claims;
    report
}

struct Checker<'a> {
    window: &'a Window,
    channels: &'a [ChannelSpec],
    config: &'a CaptionConfig,
    knowledge: &'a KnowledgeBase,
    structure: BTreeMap<usize, ChannelStructure>,
    claims: Vec<Claim>,
    index: usize,
}

impl Checker<'_> {
    fn claim(
        &mut self,
        what: impl Into<String>,
        stated: impl Into<String>,
        actual: impl Into<String>,
        ok: bool,
    ) {
        self.claims.push(Claim {
            sentence: self.index,
            what: what.into(),
            stated: stated.into(),
            actual: actual.into(),
            ok,
        });
    }

    fn channel(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.channels.iter().position(|c| {
            display_name(c).eq_ignore_ascii_case(name) || c.name.eq_ignore_ascii_case(name)
        })
    }

    /// Returns whether the sentence was recognised.
    fn sentence(&mut self, s: &str) -> bool {
        let b = banks();
        let lits = |bank: &[&str]| bank.iter().any(|l| l.eq_ignore_ascii_case(s));
        if lits(t::NO_INSIGHTS) {
            return true;
        }
        if lits(t::NO_EVENTS) {
            let n = select_events(&self.window.events, &self.config.semantic).len();
            self.claim("no events", "0", n.to_string(), n == 0);
            return true;
        }
        let summary = summarise(&self.window.events, &self.config.semantic);
        if lits(t::SUMMARY_NO_ACTIVITY) {
            let n = summary.activity_bouts;
            self.claim("activity bouts", "0", n.to_string(), n == 0);
            return true;
        }
        if lits(t::SUMMARY_NO_SLEEP) {
            let n = summary.sleep_periods;
            self.claim("sleep periods", "0", n.to_string(), n == 0);
            return true;
        }
        if lits(t::SUMMARY_NO_MOOD) {
            let n = summary.mood_entries;
            self.claim("mood entries", "0", n.to_string(), n == 0);
            return true;
        }
        if let Some(c) = match_bank(&b.stat, s) {
            return self.statistic(&c);
        }
        if let Some(c) = match_bank(&b.no_data, s) {
            return match self.channel(&c["channel"]) {
                Some(ch) => {
                    let n = channel_stats(self.window, ch).map(|s| s.count).unwrap_or(0);
                    self.claim(
                        format!("no data for {}", c["channel"]),
                        "0",
                        n.to_string(),
                        n == 0,
                    );
                    true
                }
                None => false,
            };
        }
        if let Some(c) = match_bank(&b.trend, s) {
            return self.trend(&c);
        }
        if let Some(c) = match_bank(&b.anomaly, s) {
            return self.anomaly(&c);
        }
        if let Some(c) = match_bank(&b.sleep_event, s) {
            return self.event(EventKind::Sleep, "", &c["start"], Some(&c["end"]));
        }
        if let Some(c) = match_bank(&b.mood_event, s) {
            return self.event(EventKind::Mood, &c["mood"], &c["time"], None);
        }
        // After sleep: "Sleep occurred during minutes …" also fits an
        // activity template.
        if let Some(c) = match_bank(&b.activity_event, s) {
            return self.event(
                EventKind::Activity,
                &c["activity"],
                &c["start"],
                Some(&c["end"]),
            );
        }
        if let Some(c) = match_bank(&b.sum_activity, s) {
            self.count("activity bouts", &c["n"], summary.activity_bouts);
            self.list("activities", &c["list"], &summary.activities);
            return true;
        }
        if let Some(c) = match_bank(&b.sum_sleep, s) {
            self.count("sleep periods", &c["n"], summary.sleep_periods);
            let ok = c["minutes"]
                .parse::<i64>()
                .is_ok_and(|m| (m - summary.sleep_minutes).abs() <= 1);
            self.claim(
                "sleep minutes",
                &c["minutes"],
                summary.sleep_minutes.to_string(),
                ok,
            );
            return true;
        }
        if let Some(c) = match_bank(&b.sum_mood, s) {
            self.count("mood entries", &c["n"], summary.mood_entries);
            self.list("moods", &c["list"], &summary.moods);
            return true;
        }
        if let Some(c) = match_bank(&b.chan_summary, s) {
            return self.channel_summary(&c);
        }
        if let Some(c) = match_bank(&b.correlation, s) {
            return self.correlation(&c);
        }
        if let Some((intro, rest)) = s.split_once(": ") {
            if let Some(c) = match_bank(&b.intro, intro) {
                return self.segments(&c["channel"], rest);
            }
        }
        if let Some(c) = match_bank(&b.activity_text, s) {
            let actual = self
                .window
                .label
                .as_deref()
                .map(|l| self.knowledge.plain_name(l))
                .unwrap_or_else(|| "none".into());
            let ok = actual.eq_ignore_ascii_case(c["activity"].trim());
            self.claim("activity", c["activity"].clone(), actual, ok);
            return true;
        }
        let info = self
            .window
            .label
            .as_deref()
            .and_then(|l| self.knowledge.lookup(l));
        if let Some(c) = match_bank(&b.body_parts, s) {
            let actual = info
                .map(|i| join_and(&i.body_parts))
                .unwrap_or_else(|| "none".into());
            let ok = actual.eq_ignore_ascii_case(c["parts"].trim());
            self.claim("body parts", c["parts"].clone(), actual, ok);
            return true;
        }
        if let Some(d) = info.and_then(|i| i.description_sentence()) {
            if d == s {
                self.claim("movement description", s, d, true);
                return true;
            }
        }
        false
    }

    fn count(&mut self, what: &str, stated: &str, actual: usize) {
        let ok = stated.parse::<usize>().is_ok_and(|n| n == actual);
        self.claim(what, stated, actual.to_string(), ok);
    }

    fn list(&mut self, what: &str, stated: &str, actual: &[String]) {
        let norm = |s: &str| s.trim().to_lowercase();
        let mut items: BTreeSet<String> = BTreeSet::new();
        for part in stated.split(", ") {
            for p in part.split(" and ") {
                if !p.trim().is_empty() {
                    items.insert(norm(p));
                }
            }
        }
        // Labels may themselves contain " and "; compare the joined forms too.
        let want: BTreeSet<String> = actual.iter().map(|a| norm(a)).collect();
        let ok = norm(stated) == norm(&join_and(actual)) || items == want;
        self.claim(what, stated, join_and(actual), ok);
    }

    fn statistic(&mut self, c: &Caps) -> bool {
        let Some(ch) = self.channel(&c["channel"]) else {
            return false;
        };
        let st = channel_stats(self.window, ch);
        for key in ["mean", "max", "min", "std"] {
            let actual = st.map(|s| match key {
                "mean" => s.mean,
                "max" => s.max,
                "min" => s.min,
                _ => s.std,
            });
            let ok = actual.is_some_and(|a| number_ok(&c[key], a));
            self.claim(
                format!("{key} of {}", c["channel"]),
                c[key].clone(),
                actual.map(fmt).unwrap_or_else(|| "no data".into()),
                ok,
            );
        }
        true
    }

    fn structure(&mut self, ch: usize) -> &ChannelStructure {
        let (w, cfg) = (self.window, &self.config.structural);
        self.structure
            .entry(ch)
            .or_insert_with(|| analyse_channel(w, ch, cfg))
    }

    /// The bin whose time (under `at`, or the span start/end) is closest to
    /// `minute`.
    fn bin_at(&self, minute: f64, at: BinTime) -> Option<usize> {
        let bounds = bin_bounds(self.window.len(), self.config.structural.n_bins);
        let mps = minutes_per_sample(self.window);
        (0..bounds.len() - 1).min_by(|&a, &b| {
            let ta = crate::structural::bin_minute(&bounds, a, mps, at);
            let tb = crate::structural::bin_minute(&bounds, b, mps, at);
            (ta - minute).abs().total_cmp(&(tb - minute).abs())
        })
    }

    fn trend(&mut self, c: &Caps) -> bool {
        let Some(ch) = self.channel(&c["channel"]) else {
            return false;
        };
        let phrase = c["trend"].as_str();
        let dir = if phrase_in(t::TREND_UP, phrase) {
            "increasing"
        } else if phrase_in(t::TREND_DOWN, phrase) {
            "decreasing"
        } else if phrase_in(t::TREND_STABLE, phrase) {
            "stable"
        } else {
            return false;
        };
        let what = format!(
            "{dir} {} from minute {} to {}",
            c["channel"], c["start"], c["end"]
        );
        let (Ok(start), Ok(end)) = (c["start"].parse::<f64>(), c["end"].parse::<f64>()) else {
            return false;
        };
        let (Some(lo), Some(hi)) = (
            self.bin_at(start, BinTime::Start),
            self.bin_at(end, BinTime::End),
        ) else {
            self.claim(what, "trend", "no data", false);
            return true;
        };
        let cfg = self.config.structural.clone();
        let s = self.structure(ch).clone();
        if hi <= lo {
            self.claim(what, "trend", "empty span", false);
            return true;
        }
        let pts = (lo..=hi)
            .filter(|&i| s.fit_bins[i].is_finite())
            .map(|i| (i as f64, s.fit_bins[i]));
        let fit = linear_fit(pts.clone());
        let (wmin, wmax) = pts.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, y)| {
            (a.min(y), b.max(y))
        });
        let Some((slope, _)) = fit else {
            self.claim(what, "trend", "too few observed points", false);
            return true;
        };
        let change = slope * (hi - lo) as f64;
        let range = s.range;
        let ok = match dir {
            "increasing" => {
                range > 0.0 && slope > 0.0 && change >= 0.5 * cfg.min_change_fraction * range
            }
            "decreasing" => {
                range > 0.0 && slope < 0.0 && -change >= 0.5 * cfg.min_change_fraction * range
            }
            _ => {
                range <= 0.0
                    || (slope.abs() <= 1.5 * cfg.stable_slope_fraction * range
                        && wmax - wmin <= 1.5 * cfg.stable_range_fraction * range)
            }
        };
        let actual = format!(
            "fitted change {} over a range of {}",
            fmt(change),
            fmt(range)
        );
        self.claim(what, dir, actual, ok);
        true
    }

    fn anomaly(&mut self, c: &Caps) -> bool {
        let Some(ch) = self.channel(&c["channel"]) else {
            return false;
        };
        let phrase = c["anomaly"].as_str();
        let spike = if phrase_in(t::SPIKE, phrase) {
            true
        } else if phrase_in(t::DROP, phrase) {
            false
        } else {
            return false;
        };
        let Ok(minute) = c["time"].parse::<f64>() else {
            return false;
        };
        let kind = if spike { "spike" } else { "drop" };
        let what = format!("{kind} in {} at minute {}", c["channel"], c["time"]);
        let at = self.config.structural.anomaly_time;
        let h = self.config.structural.peak_height_fraction;
        let Some(k) = self.bin_at(minute, at) else {
            self.claim(what, kind, "no data", false);
            return true;
        };
        let s = self.structure(ch).clone();
        let sign = if spike { 1.0 } else { -1.0 };
        let observed: Vec<usize> = (0..s.bins.len())
            .filter(|&i| s.bins[i].is_finite())
            .collect();
        // Accept the stated bin or a neighbour: an extreme among its observed
        // neighbours, beyond half the generating height threshold.
        let ok = (k.saturating_sub(1)..=(k + 1).min(s.bins.len().saturating_sub(1))).any(|b| {
            let Some(pos) = observed.iter().position(|&o| o == b) else {
                return false;
            };
            let v = sign * s.bins[b];
            let left = pos.checked_sub(1).map(|p| sign * s.bins[observed[p]]);
            let right = observed.get(pos + 1).map(|&o| sign * s.bins[o]);
            s.range > 0.0
                && left.is_none_or(|l| v >= l)
                && right.is_none_or(|r| v >= r)
                && v > sign * s.mean + 0.5 * h * s.range
        });
        let actual = format!(
            "value {} (mean {}, range {})",
            fmt(s.bins.get(k).copied().unwrap_or(f64::NAN)),
            fmt(s.mean),
            fmt(s.range)
        );
        self.claim(what, kind, actual, ok);
        true
    }

    fn event(&mut self, kind: EventKind, label: &str, start: &str, end: Option<&str>) -> bool {
        let (Ok(a), b) = (start.parse::<i64>(), end.map(|e| e.parse::<i64>())) else {
            return false;
        };
        let b = match b {
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => return false,
            None => None,
        };
        let found = self.window.events.iter().any(|e| {
            e.kind == kind
                && (kind == EventKind::Sleep
                    || event_text(&e.label).eq_ignore_ascii_case(label.trim()))
                && (minute_of(e.start_s) - a).abs() <= 1
                && b.is_none_or(|b| (minute_of(e.end_s) - b).abs() <= 1)
        });
        let what = match (kind, b) {
            (EventKind::Sleep, Some(b)) => format!("sleep from minute {a} to {b}"),
            (_, Some(b)) => format!("{label} from minute {a} to {b}"),
            (_, None) => format!("{label} at minute {a}"),
        };
        self.claim(
            what,
            "logged",
            if found { "logged" } else { "not in the events" },
            found,
        );
        true
    }

    fn channel_summary(&mut self, c: &Caps) -> bool {
        let Some(ch) = self.channel(&c["channel"]) else {
            return false;
        };
        let x = channel_f64(self.window, ch);
        let st = stats_of(x.iter().copied());
        for key in ["mean", "std"] {
            let actual = st.map(|s| if key == "mean" { s.mean } else { s.std });
            let ok = actual.is_some_and(|a| number_ok(&c[key], a));
            self.claim(
                format!("{key} of {}", c["channel"]),
                c[key].clone(),
                actual.map(fmt).unwrap_or_else(|| "no data".into()),
                ok,
            );
        }
        let phrase = c["overall"].as_str();
        let stated = if phrase_in(t::OVERALL_UP, phrase) {
            SegmentKind::Increase
        } else if phrase_in(t::OVERALL_DOWN, phrase) {
            SegmentKind::Decrease
        } else if phrase_in(t::OVERALL_FLAT, phrase) {
            SegmentKind::Steady
        } else {
            return false;
        };
        let actual = overall_trend(&x, &self.config.trend);
        self.claim(
            format!("overall trend of {}", c["channel"]),
            format!("{stated:?}"),
            format!("{actual:?}"),
            actual == Some(stated),
        );
        true
    }

    fn correlation(&mut self, c: &Caps) -> bool {
        let (Some(a), Some(b)) = (self.channel(&c["a"]), self.channel(&c["b"])) else {
            return false;
        };
        let r = pearson(&channel_f64(self.window, a), &channel_f64(self.window, b));
        let ok = r.is_some_and(|r| number_ok(&c["r"], r));
        self.claim(
            format!("correlation of {} and {}", c["a"], c["b"]),
            c["r"].clone(),
            r.map(fmt).unwrap_or_else(|| "undefined".into()),
            ok,
        );
        true
    }

    fn segments(&mut self, channel: &str, rest: &str) -> bool {
        let Some(ch) = self.channel(channel) else {
            return false;
        };
        // Generated text may separate the clauses with commas, and may stop
        // mid-sentence (cut at its token budget): then an incomplete last
        // clause is left out, and the complete ones are still claims.
        let (body, complete) = match rest.strip_suffix('.') {
            Some(body) => (body, true),
            None => (rest, false),
        };
        let clauses: Vec<&str> = body
            .split([';', ','])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let b = banks();
        let x = channel_f64(self.window, ch);
        let Some(st) = stats_of(x.iter().copied()) else {
            self.claim(format!("segments of {channel}"), "data", "no data", false);
            return true;
        };
        let tau = self.config.trend.steady_fraction * (st.max - st.min);
        let rate = self.window.rate_hz;
        for (k, clause) in clauses.iter().copied().enumerate() {
            let (kind, caps) = if let Some(c) = match_bank(&b.seg_up, clause) {
                (SegmentKind::Increase, c)
            } else if let Some(c) = match_bank(&b.seg_down, clause) {
                (SegmentKind::Decrease, c)
            } else if let Some(c) = match_bank(&b.seg_steady, clause) {
                (SegmentKind::Steady, c)
            } else if !complete && k > 0 && k + 1 == clauses.len() {
                break;
            } else {
                return false;
            };
            let (Ok(s0), Ok(s1)) = (caps["start"].parse::<f64>(), caps["end"].parse::<f64>())
            else {
                return false;
            };
            let (i0, i1) = ((s0 * rate).round(), (s1 * rate).round());
            let what = format!(
                "{kind:?} of {channel} from {} s to {} s",
                caps["start"], caps["end"]
            );
            let valid = i0 >= 0.0 && i1 > i0 && (i1 as usize) < x.len();
            let net = if valid {
                x[i1 as usize] - x[i0 as usize]
            } else {
                f64::NAN
            };
            let ok = net.is_finite()
                && match kind {
                    SegmentKind::Increase => net > 0.0,
                    SegmentKind::Decrease => net < 0.0,
                    SegmentKind::Steady => net.abs() <= 1.5 * tau + 1e-12,
                };
            self.claim(
                what,
                format!("{kind:?}"),
                format!("net change {}", fmt(net)),
                ok,
            );
        }
        true
    }
}
