//! Known-truth signals through every caption level, faithfulness, and
//! determinism.
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wearlang_captioning::*;
use wearlang_core::{ChannelKind, ChannelSpec, Event, EventKind, Window};

const DAY: usize = 1440;

fn day_channels() -> Vec<ChannelSpec> {
    vec![
        ChannelSpec::new("heart_rate", "bpm", ChannelKind::HeartRate),
        ChannelSpec::new("steps", "count", ChannelKind::Steps),
    ]
}

/// A day window whose channel `c` at minute `t` is `f(c, t)`.
fn day(f: impl Fn(usize, usize) -> f32, channels: usize) -> Window {
    let values = (0..DAY)
        .flat_map(|t| (0..channels).map(move |c| (t, c)))
        .map(|(t, c)| f(c, t));
    Window::from_values("s", "day", 0, 1.0 / 60.0, channels, values.collect()).unwrap()
}

fn noise(seed: u64) -> Vec<f32> {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    (0..DAY * 4).map(|_| r.random_range(-0.5f32..0.5)).collect()
}

fn structural() -> StructuralConfig {
    StructuralConfig::default()
}

fn event(kind: EventKind, label: &str, start_min: f64, end_min: f64) -> Event {
    Event {
        kind,
        label: label.into(),
        start_s: start_min * 60.0,
        end_s: end_min * 60.0,
    }
}

fn assert_clean(text: &str) {
    assert!(!text.trim().is_empty(), "empty caption");
    for bad in ["NaN", "nan", "inf", "{", "}", "  ", " .", "()"] {
        assert!(!text.contains(bad), "caption contains {bad:?}: {text}");
    }
}

#[test]
fn clean_ramp_gives_one_increasing_trend_over_the_day() {
    let w = day(|_, t| 60.0 + 60.0 * t as f32 / DAY as f32, 1);
    let s = analyse_channel(&w, 0, &structural());
    assert!(s.anomalies.is_empty(), "{:?}", s.anomalies);
    assert_eq!(s.trends.len(), 1, "{:?}", s.trends);
    let t = s.trends[0];
    assert_eq!(t.direction, TrendDirection::Increasing);
    assert_eq!((t.start_minute, t.end_minute), (0.0, 1440.0));

    // The text says the same and nothing else.
    let ch = &day_channels()[..1];
    let text = StructuralCaptioner::default().caption(&w, ch, 3).unwrap();
    assert_eq!(split_sentences(&text).len(), 1, "{text}");
    assert!(text.contains(" 0") && text.contains("1440"), "{text}");
    let report = check_faithfulness(&text, &w, ch);
    assert!(report.is_fully_verified(), "{report:?}");
    assert_eq!(report.claims.len(), 1);
    assert!(report.claims[0].what.starts_with("increasing"));
}

#[test]
fn partial_ramp_is_found_at_the_right_minutes() {
    // Flat 60 until minute 400, ramp to 120 at minute 800, flat after.
    let n = noise(1);
    let w = day(
        |_, t| {
            let base = if t < 400 {
                60.0
            } else if t < 800 {
                60.0 + 60.0 * (t - 400) as f32 / 400.0
            } else {
                120.0
            };
            base + n[t]
        },
        1,
    );
    let s = analyse_channel(&w, 0, &structural());
    let inc: Vec<_> = s
        .trends
        .iter()
        .filter(|t| t.direction == TrendDirection::Increasing)
        .collect();
    assert_eq!(inc.len(), 1, "{:?}", s.trends);
    assert!((inc[0].start_minute - 400.0).abs() <= 80.0, "{:?}", inc[0]);
    assert!((inc[0].end_minute - 800.0).abs() <= 80.0, "{:?}", inc[0]);
    assert!(s
        .trends
        .iter()
        .all(|t| t.direction != TrendDirection::Decreasing));
    // Anything else is a stable stretch outside the ramp.
    for t in s
        .trends
        .iter()
        .filter(|t| t.direction == TrendDirection::Stable)
    {
        assert!(t.end_minute <= 440.0 || t.start_minute >= 760.0, "{t:?}");
    }
    assert!(s.anomalies.is_empty());
}

#[test]
fn single_spike_gives_a_spike_near_its_minute_and_no_trend() {
    for (m, drop) in [(500usize, false), (733, false), (1000, true), (215, true)] {
        let n = noise(m as u64);
        let w = day(
            |_, t| {
                let spike = if t == m {
                    if drop {
                        -400.0
                    } else {
                        400.0
                    }
                } else {
                    0.0
                };
                70.0 + 0.2 * n[t] + spike
            },
            1,
        );
        let s = analyse_channel(&w, 0, &structural());
        assert_eq!(s.anomalies.len(), 1, "minute {m}: {:?}", s.anomalies);
        let a = s.anomalies[0];
        let kind = if drop {
            AnomalyKind::Drop
        } else {
            AnomalyKind::Spike
        };
        assert_eq!(a.kind, kind);
        // Reported at the end of its 40-minute bin (the reference's
        // (index + 1) × 40).
        assert!(
            a.minute > m as f64 && a.minute <= m as f64 + 40.0,
            "{m}: {a:?}"
        );
        assert_eq!(a.minute % 40.0, 0.0);
        assert!(
            s.trends
                .iter()
                .all(|t| t.direction == TrendDirection::Stable),
            "minute {m}: {:?}",
            s.trends
        );
        let ch = &day_channels()[..1];
        let text = StructuralCaptioner::default().caption(&w, ch, 9).unwrap();
        assert!(text.contains(&format!("{}", a.minute as i64)), "{text}");
        let report = check_faithfulness(&text, &w, ch);
        assert!(report.is_fully_verified(), "{report:?}");
    }
}

#[test]
fn without_anomaly_exclusion_the_reference_sees_spurious_trends() {
    // Documents why `exclude_anomalies_from_trends` exists: with the bare
    // reference rules an isolated spike also yields a directional trend.
    let w = day(|_, t| if t == 733 { 470.0 } else { 70.0 }, 1);
    let cfg = StructuralConfig {
        exclude_anomalies_from_trends: false,
        ..structural()
    };
    let s = analyse_channel(&w, 0, &cfg);
    assert_eq!(s.anomalies.len(), 1);
    assert!(s
        .trends
        .iter()
        .any(|t| t.direction != TrendDirection::Stable));
}

#[test]
fn flat_line_is_stable_with_no_anomalies() {
    let w = day(|_, _| 72.0, 1);
    let s = analyse_channel(&w, 0, &structural());
    assert!(s.anomalies.is_empty());
    assert_eq!(s.trends.len(), 1, "{:?}", s.trends);
    assert_eq!(s.trends[0].direction, TrendDirection::Stable);
    assert_eq!(
        (s.trends[0].start_minute, s.trends[0].end_minute),
        (0.0, 1440.0)
    );
    let ch = &day_channels()[..1];
    let low = StatisticalCaptioner::default().caption(&w, ch, 0).unwrap();
    assert!(low.contains("72.0") && low.contains("0.0"), "{low}");
    let mid = StructuralCaptioner::default().caption(&w, ch, 0).unwrap();
    assert!(check_faithfulness(&mid, &w, ch).is_fully_verified());
    assert!(check_faithfulness(&low, &w, ch).is_fully_verified());
}

#[test]
fn all_nan_channel_produces_no_numbers() {
    let w = day(
        |c, t| {
            if c == 1 {
                f32::NAN
            } else {
                60.0 + (t % 5) as f32
            }
        },
        2,
    );
    let ch = day_channels();
    for seed in 0..10 {
        let low = StatisticalCaptioner::default()
            .caption(&w, &ch, seed)
            .unwrap();
        let steps: Vec<String> = split_sentences(&low)
            .into_iter()
            .filter(|s| s.to_lowercase().contains("steps"))
            .collect();
        assert_eq!(steps.len(), 1, "{low}");
        assert!(
            !steps[0].chars().any(|c| c.is_ascii_digit()),
            "{}",
            steps[0]
        );
        let mid = StructuralCaptioner::default()
            .caption(&w, &ch, seed)
            .unwrap();
        assert!(!mid.to_lowercase().contains("steps"), "{mid}");
        let trend = TrendCaptioner::default().caption(&w, &ch, seed).unwrap();
        assert!(!trend.to_lowercase().contains("steps"), "{trend}");
        for text in [&low, &mid, &trend] {
            assert_clean(text);
            let r = check_faithfulness(text, &w, &ch);
            assert!(r.is_fully_verified(), "{r:?}");
        }
    }
}

#[test]
fn masked_values_never_influence_statistics_or_structure() {
    let n = noise(5);
    let clean = day(
        |c, t| {
            if (300..420).contains(&t) || t % 13 == 0 {
                f32::NAN
            } else {
                60.0 + c as f32 * 10.0 + n[t] + (t / 200) as f32
            }
        },
        2,
    );
    // Same observed values; the masked positions hold wild numbers.
    let mut dirty = clean.clone();
    for (i, v) in dirty.values.iter_mut().enumerate() {
        if dirty.missing[i] {
            *v = 1e6 * ((i % 7) as f32 - 3.0);
        }
    }
    let ch = day_channels();
    for variant in CaptionVariant::ALL {
        let c = HierarchicalCaptioner::new(variant);
        assert_eq!(
            c.caption(&clean, &ch, 11).unwrap(),
            c.caption(&dirty, &ch, 11).unwrap(),
            "{variant}"
        );
    }
    let t = TrendCaptioner::default();
    assert_eq!(
        t.caption(&clean, &ch, 1).unwrap(),
        t.caption(&dirty, &ch, 1).unwrap()
    );
    let s = stats::channel_stats(&dirty, 0).unwrap();
    assert!(s.max < 100.0 && s.min > 50.0);
    assert_eq!(s.count, clean.observed(0).count());
}

#[test]
fn activity_and_sleep_spans_appear_with_the_right_minutes() {
    let mut w = day(|_, t| 60.0 + (t % 3) as f32, 2);
    w.events = vec![
        event(EventKind::Sleep, "sleep", 0.0, 420.0),
        event(EventKind::Activity, "running", 480.0, 540.0),
        event(EventKind::Activity, "walking", 600.0, 625.0),
        event(EventKind::Activity, "cycling", 700.0, 710.0), // < 20 min: left out
        event(EventKind::Mood, "happy", 650.0, 650.0),
        event(EventKind::Sleep, "sleep", 1380.0, 1440.0),
    ];
    let ch = day_channels();
    let high = SemanticCaptioner::default().caption(&w, &ch, 4).unwrap();
    assert!(!high.contains("cycling"), "{high}");
    let r = check_faithfulness(&high, &w, &ch);
    assert!(r.is_fully_verified(), "{r:?}");
    let whats: Vec<&str> = r.claims.iter().map(|c| c.what.as_str()).collect();
    for expected in [
        "running from minute 480 to 540",
        "walking from minute 600 to 625",
        "sleep from minute 0 to 420",
        "sleep from minute 1380 to 1440",
        "happy at minute 650",
    ] {
        assert!(
            whats.contains(&expected),
            "{expected} not in {whats:?}\n{high}"
        );
    }
    // Reference order: ascending duration (mood 0, walking 25, running 60,
    // sleep 60 at 1380, sleep 420).
    let high_l = high.to_lowercase();
    let pos = |needle: &str| {
        high_l
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}: {high}"))
    };
    assert!(pos("happy") < pos("walking") && pos("walking") < pos("running"));
    assert!(pos("420") > pos("1380"));
    // Chronological and descending orders are choices.
    let chrono = SemanticCaptioner::new(
        SemanticConfig {
            order: EventOrder::Chronological,
            ..SemanticConfig::default()
        },
        SemanticMode::All,
    )
    .caption(&w, &ch, 4)
    .unwrap()
    .to_lowercase();
    let p = |needle: &str| chrono.find(needle).unwrap();
    assert!(p("420") < p("running") && p("running") < p("walking") && p("walking") < p("1380"));
    let desc = SemanticCaptioner::new(
        SemanticConfig {
            order: EventOrder::DurationDescending,
            ..SemanticConfig::default()
        },
        SemanticMode::All,
    )
    .caption(&w, &ch, 4)
    .unwrap()
    .to_lowercase();
    assert!(desc.find("420").unwrap() < desc.find("walking").unwrap());
    assert!(desc.find("walking").unwrap() < desc.find("happy").unwrap());

    // The summary counts bouts ≥ 20 min and totals sleep.
    let summary = SemanticCaptioner::new(SemanticConfig::default(), SemanticMode::Summary)
        .caption(&w, &ch, 4)
        .unwrap();
    assert!(summary.contains("480"), "{summary}"); // 420 + 60 minutes of sleep
    assert!(
        summary.contains(" 2") && summary.contains("running and walking"),
        "{summary}"
    );
    assert!(check_faithfulness(&summary, &w, &ch).is_fully_verified());
}

#[test]
fn event_caps_keep_the_shortest_under_the_reference_order() {
    let mut w = day(|_, _| 1.0, 1);
    // Ten activities of 20..=29 minutes plus three sleeps.
    for i in 0..10 {
        let start = 100.0 * i as f64;
        w.events.push(event(
            EventKind::Activity,
            &format!("act{i}"),
            start,
            start + 20.0 + i as f64,
        ));
    }
    for (i, len) in [100.0f64, 50.0, 200.0].into_iter().enumerate() {
        let start = 1000.0 + 120.0 * i as f64;
        w.events.push(event(
            EventKind::Sleep,
            "sleep",
            start,
            start + len.min(100.0) - i as f64,
        ));
    }
    let cfg = SemanticConfig::default();
    let sel = select_events(&w.events, &cfg);
    let acts: Vec<&str> = sel
        .iter()
        .filter(|e| e.kind == EventKind::Activity)
        .map(|e| e.label.as_str())
        .collect();
    assert_eq!(
        acts,
        vec!["act0", "act1", "act2", "act3", "act4", "act5", "act6", "act7"]
    );
    assert_eq!(sel.iter().filter(|e| e.kind == EventKind::Sleep).count(), 2);
    let desc = SemanticConfig {
        order: EventOrder::DurationDescending,
        ..cfg
    };
    let sel = select_events(&w.events, &desc);
    assert!(sel.iter().any(|e| e.label == "act9") && !sel.iter().any(|e| e.label == "act0"));
}

#[test]
fn statistical_groups_draw_extra_channels_by_seed() {
    // Activity group of 6 channels: 3 always, 1 drawn at random.
    let mut ch = vec![ChannelSpec::new(
        "heart_rate",
        "bpm",
        ChannelKind::HeartRate,
    )];
    for i in 0..6 {
        ch.push(ChannelSpec::new(format!("act_{i}"), "", ChannelKind::Steps));
    }
    let w = day(|c, t| (c * 10 + t % 4) as f32, ch.len());
    let cap = StatisticalCaptioner::default();
    let mut extras = std::collections::BTreeSet::new();
    for seed in 0..30 {
        let sel = cap.selected_channels(&ch, seed);
        assert_eq!(sel[0], ("Heart".to_string(), vec![0]));
        assert_eq!(sel[1].0, "Activity");
        assert_eq!(sel[1].1.len(), 4);
        assert_eq!(&sel[1].1[..3], &[1, 2, 3]);
        extras.insert(sel[1].1[3]);
        let text = cap.caption(&w, &ch, seed).unwrap();
        assert_eq!(split_sentences(&text).len(), 5);
        let lower = text.to_lowercase();
        assert!(
            lower.find("heart rate").unwrap() < lower.find("act 0").unwrap(),
            "groups in order"
        );
        assert!(check_faithfulness(&text, &w, &ch).is_fully_verified());
    }
    assert_eq!(extras, [4, 5, 6].into_iter().collect());
    // Group overrides move a channel.
    let mut c2 = StatisticalCaptioner::default();
    c2.groups.overrides.insert("act_5".into(), "Heart".into());
    let sel = c2.selected_channels(&ch, 0);
    assert_eq!(sel[0].1, vec![0, 6]);
}

#[test]
fn statistics_are_exact_to_one_decimal() {
    let w = day(|_, t| if t < 720 { 50.0 } else { 70.0 }, 1);
    let ch = &day_channels()[..1];
    let text = StatisticalCaptioner::default().caption(&w, ch, 0).unwrap();
    for n in ["60.0", "70.0", "50.0", "10.0"] {
        assert!(text.contains(n), "{n}: {text}");
    }
    let r = check_faithfulness(&text, &w, ch);
    assert_eq!(r.claims.len(), 4);
    assert!(r.is_fully_verified());
}

#[test]
fn structural_insights_are_capped_per_group() {
    // Six heart channels, each with two spikes, two drops and trends.
    let ch: Vec<ChannelSpec> = (0..6)
        .map(|i| ChannelSpec::new(format!("hr_{i}"), "bpm", ChannelKind::HeartRate))
        .collect();
    let w = day(
        |c, t| {
            let s = match t {
                200 | 900 => 500.0,
                500 | 1200 => -500.0,
                _ => 0.0,
            };
            60.0 + (c as f32 + 1.0) * t as f32 / 100.0 + s
        },
        6,
    );
    let text = StructuralCaptioner::default().caption(&w, &ch, 0).unwrap();
    let n = split_sentences(&text).len();
    assert_eq!(n, 7, "{text}");
    // Round robin: every channel is mentioned.
    for i in 0..6 {
        assert!(
            text.to_lowercase().contains(&format!("hr {i}")),
            "hr {i}: {text}"
        );
    }
    assert!(check_faithfulness(&text, &w, &ch).is_fully_verified());
}

fn messy_windows() -> (Vec<Window>, Vec<ChannelSpec>) {
    let mut ch = day_channels();
    ch.push(ChannelSpec::new("sleep", "", ChannelKind::Sleep));
    ch.push(ChannelSpec::new(
        "skin_temperature",
        "°C",
        ChannelKind::SkinTemperature,
    ));
    let mut windows = Vec::new();
    for k in 0..12u64 {
        let mut r = ChaCha8Rng::seed_from_u64(k);
        let gap_start: usize = r.random_range(0..1300);
        let spike: usize = r.random_range(1..1439);
        let mut w = day(
            |c, t| {
                if k % 4 == 3 && c == 2 {
                    return f32::NAN; // all-NaN channel
                }
                if k % 5 == 4 && c == 3 {
                    return 33.0; // constant channel
                }
                if (gap_start..gap_start + 100 + 10 * k as usize).contains(&t) {
                    return f32::NAN;
                }
                let base = 50.0 + 10.0 * c as f32;
                let wave =
                    8.0 * ((t as f32 / 1440.0 * std::f32::consts::TAU) + c as f32 + k as f32).sin();
                let ramp = if k % 2 == 0 { t as f32 / 40.0 } else { 0.0 };
                let s = if t == spike { 300.0 } else { 0.0 };
                base + wave + ramp + s + ((t * 7919 + c * 31) % 17) as f32 * 0.1
            },
            ch.len(),
        );
        w.events = vec![
            event(EventKind::Sleep, "sleep", 0.0, 300.0 + k as f64),
            event(
                EventKind::Activity,
                "brisk_walking",
                500.0,
                530.0 + k as f64,
            ),
            event(EventKind::Mood, "calm", 800.0, 800.0),
        ];
        if k % 3 == 0 {
            w.events.clear();
        }
        windows.push(w);
    }
    (windows, ch)
}

#[test]
fn every_generated_caption_is_clean_and_passes_the_faithfulness_checker() {
    let (windows, ch) = messy_windows();
    for w in &windows {
        for seed in 0..4 {
            for variant in CaptionVariant::ALL {
                let text = HierarchicalCaptioner::new(variant)
                    .caption(w, &ch, seed)
                    .unwrap();
                assert_clean(&text);
                let r = check_faithfulness(&text, w, &ch);
                assert!(r.is_fully_verified(), "{variant}: {:?}\n{text}", r);
                if variant != CaptionVariant::HighSummary && variant != CaptionVariant::HighAll {
                    assert!(!r.claims.is_empty());
                }
            }
            let text = TrendCaptioner::default().caption(w, &ch, seed).unwrap();
            assert_clean(&text);
            let r = check_faithfulness(&text, w, &ch);
            assert!(r.is_fully_verified(), "{:?}\n{text}", r);
        }
    }
}

#[test]
fn the_checker_catches_wrong_numbers_minutes_and_labels() {
    let (windows, ch) = messy_windows();
    let w = &windows[1];
    let low = HierarchicalCaptioner::new(CaptionVariant::Low)
        .caption(w, &ch, 0)
        .unwrap();
    let r = check_faithfulness(&low, w, &ch);
    let mean = r
        .claims
        .iter()
        .find(|c| c.what.starts_with("mean of"))
        .unwrap();
    let wrong: f64 = mean.stated.parse::<f64>().unwrap() + 0.2;
    let bad = low.replacen(&mean.stated, &format!("{wrong:.1}"), 1);
    let r = check_faithfulness(&bad, w, &ch);
    assert!(!r.is_faithful());
    assert_eq!(r.failures().len(), 1);

    let high = HierarchicalCaptioner::new(CaptionVariant::HighAll)
        .caption(w, &ch, 0)
        .unwrap();
    assert!(check_faithfulness(&high, w, &ch).is_faithful());
    assert!(!check_faithfulness(&high.replace("500", "560"), w, &ch).is_faithful());
    assert!(!check_faithfulness(&high.replace("brisk walking", "swimming"), w, &ch).is_faithful());

    // A trend that is not in the data.
    let flat = day(|_, _| 5.0, 1);
    let c1 = &day_channels()[..1];
    let claim = "Heart rate showed an increasing trend from minute 0 to minute 480.";
    assert!(!check_faithfulness(claim, &flat, c1).is_faithful());
    let ok = "Heart rate showed a stable pattern from minute 0 to minute 480.";
    assert!(check_faithfulness(ok, &flat, c1).is_fully_verified());
    // A spike where there is none.
    let r = check_faithfulness("There was a spike in heart rate at minute 400.", &flat, c1);
    assert!(!r.is_faithful() && r.claims.len() == 1);
    // Unknown text is reported, not judged.
    let r = check_faithfulness("The weather was nice.", &flat, c1);
    assert!(r.is_faithful() && !r.is_fully_verified());
    assert_eq!(r.accuracy(), None);
}

#[test]
fn determinism_parallel_equals_sequential_and_levels_compose() {
    let (windows, ch) = messy_windows();
    let c = HierarchicalCaptioner::new(CaptionVariant::HighMiddleLow);
    let par = caption_all(&c, &windows, &ch, 99).unwrap();
    let seq = caption_all_sequential(&c, &windows, &ch, 99).unwrap();
    assert_eq!(par, seq);
    assert_eq!(par, caption_all(&c, &windows, &ch, 99).unwrap());
    let other = caption_all(&c, &windows, &ch, 100).unwrap();
    assert_ne!(par, other, "the seed changes the wording");
    // Each window uses window_seed(seed, window).
    assert_eq!(
        par[3],
        c.caption(&windows[3], &ch, window_seed(99, &windows[3]))
            .unwrap()
    );
    // A combination is the concatenation of its levels with the same seed.
    let w = &windows[2];
    let parts: Vec<String> = [
        CaptionVariant::HighAll,
        CaptionVariant::Middle,
        CaptionVariant::Low,
    ]
    .into_iter()
    .map(|v| HierarchicalCaptioner::new(v).caption(w, &ch, 5).unwrap())
    .collect();
    assert_eq!(c.caption(w, &ch, 5).unwrap(), parts.join(" "));
    // Boxed trait objects work too.
    let boxed: Vec<Box<dyn Captioner>> = vec![
        Box::new(TrendCaptioner::default()),
        Box::new(ActivityCaptioner::default()),
    ];
    assert_eq!(boxed[0].name(), "trend");
    let t1 = caption_all(&boxed[0], &windows, &ch, 1).unwrap();
    assert_eq!(
        t1,
        caption_all_sequential(&boxed[0], &windows, &ch, 1).unwrap()
    );
}

#[test]
fn captions_follow_the_window_not_its_batch_and_names_build_captioners() {
    let (mut windows, ch) = messy_windows();
    for w in &mut windows {
        w.label = Some("walking".into());
    }
    let config = CaptionConfig::default();
    for name in ["trend", "activity", "high+middle+low", "low"] {
        let c = captioner_for(name, &config).unwrap();
        assert_eq!(c.name(), name);
        let whole = caption_all(&c, &windows, &ch, 7).unwrap();
        let (a, b) = windows.split_at(2);
        let mut parts = caption_all(&c, a, &ch, 7).unwrap();
        parts.extend(caption_all(&c, b, &ch, 7).unwrap());
        assert_eq!(parts, whole, "{name}");
        let mut batch = b.to_vec();
        add_captions(&c, name, &mut batch, &ch, 7).unwrap();
        for (w, t) in batch.iter().zip(&whole[2..]) {
            assert_eq!(&w.captions[name], t);
        }
        // In another order (another shard, another batch), the same texts.
        let reversed: Vec<Window> = windows.iter().rev().cloned().collect();
        let mut back = caption_all(&c, &reversed, &ch, 7).unwrap();
        back.reverse();
        assert_eq!(back, whole, "{name}");
    }
    let err = captioner_for("medium", &config)
        .err()
        .expect("an unknown variant")
        .to_string();
    assert!(err.contains("medium"), "{err}");
    assert_eq!(default_variants(1.0 / 60.0, true).len(), 8);
    assert_eq!(
        default_variants(50.0, true),
        ["trend", "trend_brief", "activity"]
    );
    assert_eq!(default_variants(50.0, false), ["trend", "trend_brief"]);
}

#[test]
fn variants_parse_by_name() {
    for v in CaptionVariant::ALL {
        assert_eq!(CaptionVariant::parse(v.name()).unwrap(), v);
        assert_eq!(v.to_string().parse::<CaptionVariant>().unwrap(), v);
        assert_eq!(HierarchicalCaptioner::new(v).name(), v.name());
    }
    assert_eq!(
        CaptionVariant::parse(" High+Middle+Low ").unwrap(),
        CaptionVariant::HighMiddleLow
    );
    let err = CaptionVariant::parse("medium").unwrap_err().to_string();
    assert!(
        err.contains("medium") && err.contains("high-summary"),
        "{err}"
    );
    let json = serde_json::to_string(&CaptionVariant::HighLow).unwrap();
    assert_eq!(json, "\"high+low\"");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let w = day(|_, _| 1.0, 2);
    let one = &day_channels()[..1];
    for v in CaptionVariant::ALL {
        assert!(HierarchicalCaptioner::new(v).caption(&w, one, 0).is_err());
    }
    assert!(TrendCaptioner::default().caption(&w, one, 0).is_err());
    let mut broken = w.clone();
    broken.missing.pop();
    assert!(StatisticalCaptioner::default()
        .caption(&broken, &day_channels(), 0)
        .is_err());
    let mut bad_rate = w.clone();
    bad_rate.rate_hz = 0.0;
    assert!(StructuralCaptioner::default()
        .caption(&bad_rate, &day_channels(), 0)
        .is_err());
    let mut bad_label = w.clone();
    bad_label
        .events
        .push(event(EventKind::Activity, "{x}", 0.0, 30.0));
    assert!(SemanticCaptioner::default()
        .caption(&bad_label, &day_channels(), 0)
        .is_err());
    let r = check_faithfulness("Heart rate averaged 1.0.", &w, one);
    assert!(!r.is_faithful());
    // A tiny window still captions.
    let tiny = Window::from_values("s", "r", 0, 1.0 / 60.0, 1, vec![1.0, 2.0, 3.0]).unwrap();
    let text = HierarchicalCaptioner::new(CaptionVariant::HighMiddleLow)
        .caption(&tiny, one, 0)
        .unwrap();
    assert_clean(&text);
    assert!(
        check_faithfulness(&text, &tiny, one).is_fully_verified(),
        "{text}"
    );
}

#[test]
fn config_constants_are_parameters() {
    let cfg = CaptionConfig::default();
    let s = &cfg.structural;
    assert_eq!(s.n_bins, 36);
    assert_eq!(s.window_sizes, vec![6, 8, 12]);
    assert_eq!(s.slope_factors, vec![1.5, 1.3, 1.0]);
    assert_eq!((s.slope_divisor, s.min_change_fraction), (40.0, 0.2));
    assert_eq!(
        (s.stable_slope_fraction, s.stable_range_fraction),
        (0.01, 0.1)
    );
    assert_eq!((s.max_trends, s.max_trend_overlap), (3, 0.3));
    assert_eq!(
        (s.peak_prominence_fraction, s.peak_height_fraction),
        (0.5, 0.6)
    );
    assert_eq!((s.peak_distance, s.peak_max_width), (5, 4.0));
    assert_eq!(s.max_insights_per_group, 7);
    assert_eq!(cfg.semantic.min_activity_minutes, 20.0);
    assert_eq!(
        (cfg.semantic.max_activities, cfg.semantic.max_sleep),
        (8, 2)
    );
    assert_eq!(cfg.statistical.decimals, 1);

    // TOML round trip and a changed constant changes the captions.
    let text = toml::to_string(&cfg).unwrap();
    assert_eq!(CaptionConfig::from_toml_str(&text).unwrap(), cfg);
    let cfg24 =
        CaptionConfig::from_toml_str("[structural]\nn_bins = 24\nanomaly_time = \"start\"\n")
            .unwrap();
    assert_eq!(cfg24.structural.window_sizes, vec![6, 8, 12]);
    let w = day(|_, t| if t == 733 { 470.0 } else { 70.0 }, 1);
    let s24 = analyse_channel(&w, 0, &cfg24.structural);
    assert_eq!(s24.bins.len(), 24);
    assert_eq!(s24.anomalies[0].minute, 720.0); // bin 12 of 60 minutes, start time
    let decimals = CaptionConfig::from_toml_str("[statistical]\ndecimals = 3\n").unwrap();
    let low = HierarchicalCaptioner::with_config(CaptionVariant::Low, decimals.clone())
        .caption(&w, &day_channels()[..1], 0)
        .unwrap();
    assert!(low.contains("70.278"), "{low}");
    let r = check_faithfulness_with(
        &low,
        &w,
        &day_channels()[..1],
        &decimals,
        KnowledgeBase::builtin(),
    );
    assert!(r.is_fully_verified());

    for bad in [
        "[structural]\nslope_factors = [1.0]\n",
        "[structural]\nn_bins = 1\n",
        "[structural]\nwindow_overlap = 1.0\n",
        "[structural]\npeak_distance = 0\n",
        "[trend]\nmax_segments = 0\n",
        "[structural]\nbogus = 1\n",
    ] {
        assert!(CaptionConfig::from_toml_str(bad).is_err(), "{bad}");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, "[semantic]\norder = \"chronological\"\n").unwrap();
    assert_eq!(
        CaptionConfig::from_path(&p).unwrap().semantic.order,
        EventOrder::Chronological
    );
    std::fs::write(&p, "[semantic]\norder = \"sideways\"\n").unwrap();
    assert!(CaptionConfig::from_path(&p)
        .unwrap_err()
        .to_string()
        .contains("c.toml"));
}

fn imu_window(f: impl Fn(usize, usize) -> f32, channels: usize, n: usize) -> Window {
    let values = (0..n)
        .flat_map(|t| (0..channels).map(move |c| (t, c)))
        .map(|(t, c)| f(c, t));
    Window::from_values("s", "r", 0, 50.0, channels, values.collect()).unwrap()
}

/// Two accelerometer axes and a gyroscope axis.
fn imu_channels() -> Vec<ChannelSpec> {
    vec![
        ChannelSpec::new("acc_x", "g", ChannelKind::Accelerometer),
        ChannelSpec::new("acc_y", "g", ChannelKind::Accelerometer),
        ChannelSpec::new("gyro_z", "rad/s", ChannelKind::Gyroscope),
    ]
}

/// Up from 0 to 1 over the first second at 50 Hz, then down again.
fn tri(t: usize) -> f32 {
    if t <= 50 {
        t as f32 / 50.0
    } else {
        (100 - t) as f32 / 50.0
    }
}

#[test]
fn trend_text_segments_times_and_correlation() {
    let ch = imu_channels();
    // acc_x: up for 1 s, then down; acc_y = −acc_x; gyro flat.
    let w = imu_window(
        |c, t| match c {
            0 => tri(t),
            1 => -tri(t),
            _ => 0.25,
        },
        3,
        100,
    );
    let x: Vec<f64> = w.channel(0).map(f64::from).collect();
    let segs = segments(&x, &TrendConfig::default());
    assert_eq!(
        segs,
        vec![
            Segment {
                kind: SegmentKind::Increase,
                start: 0,
                end: 50
            },
            Segment {
                kind: SegmentKind::Decrease,
                start: 50,
                end: 99
            },
        ]
    );
    let flat: Vec<f64> = w.channel(2).map(f64::from).collect();
    assert_eq!(
        segments(&flat, &TrendConfig::default()),
        vec![Segment {
            kind: SegmentKind::Steady,
            start: 0,
            end: 99
        }]
    );
    let text = TrendCaptioner::default().caption(&w, &ch, 2).unwrap();
    assert_clean(&text);
    assert!(text.contains("1.00") && text.contains("1.98"), "{text}");
    assert!(text.contains("-1.00"), "anti-correlated: {text}");
    let r = check_faithfulness(&text, &w, &ch);
    assert!(r.is_fully_verified(), "{r:?}");
    // Wording varies with the seed, facts do not.
    let texts: std::collections::BTreeSet<String> = (0..20)
        .map(|s| TrendCaptioner::default().caption(&w, &ch, s).unwrap())
        .collect();
    assert!(texts.len() > 10);
    // A wrong direction is caught.
    let wrong = text.replacen("0.00 s to 1.00 s", "0.50 s to 1.50 s", 1);
    if wrong != text {
        assert!(!check_faithfulness(&wrong, &w, &ch).is_faithful());
    }
}

#[test]
fn one_channel_trend_text_describes_that_channel_only() {
    let ch = imu_channels();
    // acc_x rises for 1 s then falls; acc_y falls all along; gyro_z missing.
    let w = imu_window(
        |c, t| match c {
            0 => tri(t),
            1 => -(t as f32) / 100.0,
            _ => f32::NAN,
        },
        3,
        100,
    );
    let t = TrendCaptioner::default();
    let x = t.channel_caption(&w, &ch, 0, 7).unwrap();
    let y = t.channel_caption(&w, &ch, 1, 7).unwrap();
    assert_clean(&x);
    // Each text names its own channel and no other, and makes claims the
    // checker confirms against the whole window.
    assert!(x.contains("acc x") || x.contains("Acc x"), "{x}");
    assert!(
        !x.to_lowercase().contains("acc y") && !x.contains("gyro"),
        "{x}"
    );
    assert!(
        x.contains("0.00") && x.contains("1.00") && x.contains("1.98"),
        "{x}"
    );
    assert!(
        y.to_lowercase().contains("acc y") && !y.to_lowercase().contains("acc x"),
        "{y}"
    );
    for text in [&x, &y] {
        let r = check_faithfulness(text, &w, &ch);
        assert!(
            r.is_fully_verified() && r.claims.len() >= 3,
            "{text}: {r:?}"
        );
    }
    // No correlations in a one-channel text; deterministic for a seed.
    assert!(!x.contains("correlat"), "{x}");
    assert_eq!(x, t.channel_caption(&w, &ch, 0, 7).unwrap());
    // A channel with nothing observed has no text; a channel that does not
    // exist is an error naming it.
    assert_eq!(t.channel_caption(&w, &ch, 2, 7).unwrap(), "");
    let e = t.channel_caption(&w, &ch, 3, 7).unwrap_err().to_string();
    assert!(e.contains("no channel 3"), "{e}");
    // With one wording, the text no longer depends on the seed, only on
    // the data, and it still checks out.
    let fixed = TrendCaptioner::new(TrendConfig {
        fixed_wording: true,
        ..TrendConfig::default()
    });
    let one = fixed.channel_caption(&w, &ch, 0, 1).unwrap();
    assert_eq!(
        one,
        "Trend of acc x: rises from 0.00 s to 1.00 s; falls from 1.00 s to 1.98 s. Overall, \
         acc x has a mean of 0.500 and a standard deviation of 0.289, showing no clear overall trend."
    );
    for seed in 2..12 {
        assert_eq!(fixed.channel_caption(&w, &ch, 0, seed).unwrap(), one);
    }
    let full = check_faithfulness(&one, &w, &ch);
    assert!(full.is_fully_verified());
    // Generated text that separates its clauses with commas and is cut off
    // mid-clause keeps the claims of its complete clauses; a wrong one is
    // still caught.
    let cut = "Trend of acc x: rises from 0.00 s to 1.00 s, falls from 1.00 s to 1.98 s, rises fr";
    let r = check_faithfulness(cut, &w, &ch);
    assert!(r.unparsed.is_empty(), "{r:?}");
    assert_eq!(r.claims.len(), 2);
    assert!(r.claims.iter().all(|c| c.ok), "{r:?}");
    let wrong = "Trend of acc x: falls from 0.00 s to 1.00 s, falls from 1.00 s to 1.98 s,";
    assert!(!check_faithfulness(wrong, &w, &ch).is_faithful());
    // A sentence whose first clause is not one is not a segment sentence.
    let junk = check_faithfulness("Trend of acc x: 1.0% increase from 2000 to 20000", &w, &ch);
    assert!(
        junk.claims.is_empty() && junk.unparsed.len() == 1,
        "{junk:?}"
    );
    // A wrong mean is caught.
    let wrong = x.replacen("0.500", "0.900", 1);
    assert_ne!(wrong, x);
    assert!(
        !check_faithfulness(&wrong, &w, &ch).is_faithful(),
        "{wrong}"
    );
}

#[test]
fn noisy_trend_text_respects_the_segment_cap() {
    let ch = vec![ChannelSpec::new("acc_x", "g", ChannelKind::Accelerometer)];
    let mut r = ChaCha8Rng::seed_from_u64(3);
    let v: Vec<f32> = (0..200).map(|_| r.random_range(-1.0f32..1.0)).collect();
    let w = imu_window(|_, t| v[t], 1, 200);
    let x: Vec<f64> = w.channel(0).map(f64::from).collect();
    let cfg = TrendConfig::default();
    let segs = segments(&x, &cfg);
    assert!(!segs.is_empty() && segs.len() <= cfg.max_segments);
    // Segments tile the window and each label matches its net change.
    assert_eq!(segs[0].start, 0);
    assert_eq!(segs.last().unwrap().end, 199);
    for pair in segs.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
        assert_ne!(pair[0].kind, pair[1].kind);
    }
    let text = TrendCaptioner::default().caption(&w, &ch, 0).unwrap();
    assert!(
        check_faithfulness(&text, &w, &ch).is_fully_verified(),
        "{text}"
    );
}

#[test]
fn activity_text_on_fixture_labels_passes_the_checker() {
    let ch = vec![ChannelSpec::new("ax", "g", ChannelKind::Accelerometer)];
    for label in ["PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW", "walking"] {
        let mut w = imu_window(|_, t| t as f32, 1, 10);
        w.label = Some(label.into());
        let c = ActivityCaptioner::new(ActivityConfig {
            template: TemplateChoice::Random,
            body_parts: true,
            description: true,
            paraphrases: false,
        });
        for seed in 0..5 {
            let text = c.caption(&w, &ch, seed).unwrap();
            assert_clean(&text);
            let r = check_faithfulness(&text, &w, &ch);
            assert!(r.is_fully_verified(), "{label}: {r:?}");
            assert_eq!(r.claims.len(), 3);
            let mut other = w.clone();
            other.label = Some(if label == "ROW" { "PEN" } else { "ROW" }.into());
            assert!(!check_faithfulness(&text, &other, &ch).is_faithful());
        }
    }
}

#[test]
fn brief_trend_text_names_each_channel_shape_without_numbers() {
    let ch = vec![
        ChannelSpec::new("acc_x", "g", ChannelKind::Accelerometer),
        ChannelSpec::new("acc_y", "g", ChannelKind::Accelerometer),
        ChannelSpec::new("gyro_z", "rad/s", ChannelKind::Gyroscope),
    ];
    // acc_x: a zig-zag of five legs (more than brief_segments = 3); acc_y
    // falls; gyro_z flat.
    let zig = |t: usize| {
        let leg = t / 20;
        let u = (t % 20) as f32 / 20.0;
        if leg.is_multiple_of(2) {
            u
        } else {
            1.0 - u
        }
    };
    let w = imu_window(
        |c, t| match c {
            0 => zig(t),
            1 => -(t as f32) / 100.0,
            _ => 0.25,
        },
        3,
        100,
    );
    let cfg = TrendConfig::default();
    let brief = BriefTrendCaptioner::new(cfg.clone());
    assert_eq!(brief.name(), "trend_brief");
    let text = brief.caption(&w, &ch, 0).unwrap();
    assert_clean(&text);
    assert!(!text.chars().any(|c| c.is_ascii_digit()), "{text}");
    // Deterministic: the seed does not matter.
    assert_eq!(text, brief.caption(&w, &ch, 99).unwrap());
    // Each channel's words are its segments at brief_segments, in order.
    let sentences: Vec<&str> = text.split(". ").collect();
    assert_eq!(sentences.len(), 3, "{text}");
    assert!(sentences[1].starts_with("acc y falls"), "{text}");
    assert_eq!(sentences[2], "gyro z holds steady.", "{text}");
    let x: Vec<f64> = w.channel(0).map(f64::from).collect();
    let short = TrendConfig {
        max_segments: 3,
        ..cfg
    };
    let kinds: Vec<&str> = segments(&x, &short)
        .iter()
        .map(|s| match s.kind {
            SegmentKind::Increase => "rises",
            SegmentKind::Decrease => "falls",
            SegmentKind::Steady => "holds steady",
        })
        .collect();
    assert!(kinds.len() <= 3 && kinds.len() >= 2, "{kinds:?}");
    assert_eq!(sentences[0], format!("acc x {}", kinds.join(" then ")));
    // Through the registry, and a window with nothing observed.
    let by_name = captioner_for("trend_brief", &CaptionConfig::default()).unwrap();
    assert_eq!(by_name.caption(&w, &ch, 1).unwrap(), text);
    let mut empty = w.clone();
    empty.missing.iter_mut().for_each(|m| *m = true);
    assert_eq!(
        brief.caption(&empty, &ch, 0).unwrap(),
        "No observed values."
    );
}
