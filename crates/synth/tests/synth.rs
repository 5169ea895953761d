//! Tests of the synthetic generator against its own ground truth.
use wearlang_core::{EventKind, Normalisation, Split, SplitSpec, Window};
use wearlang_store::{ReadOptions, StoreReader};
use wearlang_synth::{
    generate, generate_day, generate_day_with_truth, write_store, GapKind, MissingConfig,
    SynthConfig, CHANNELS, HEART_RATE, MINUTES, SLEEP, STEPS,
};

fn cfg(seed: u64) -> SynthConfig {
    SynthConfig {
        subjects: 4,
        days: 6,
        seed,
        ..SynthConfig::default()
    }
}

fn bits(w: &Window) -> Vec<u32> {
    w.values.iter().map(|v| v.to_bits()).collect()
}

fn mean(xs: impl IntoIterator<Item = f32>) -> Option<f64> {
    let (mut s, mut n) = (0.0, 0usize);
    for x in xs {
        if !x.is_nan() {
            s += x as f64;
            n += 1;
        }
    }
    (n > 0).then(|| s / n as f64)
}

fn at(w: &Window, t: usize, c: usize) -> f32 {
    w.values[t * CHANNELS + c]
}

#[test]
fn shape_and_channels() {
    let w = generate_day(&cfg(1), 0, 0);
    assert_eq!(w.len(), MINUTES);
    assert_eq!(w.channels, CHANNELS);
    assert!((w.rate_hz - 1.0 / 60.0).abs() < 1e-15);
    w.validate().unwrap();
    let ch = wearlang_synth::channels();
    let groups: Vec<&str> = ch.iter().map(|c| c.group.as_str()).collect();
    assert_eq!(
        groups,
        ["Heart", "Activity", "Sleep", "Activity", "Temperature"]
    );
}

#[test]
fn activity_raises_heart_rate_above_rest() {
    let c = SynthConfig {
        missing: MissingConfig::none(),
        ..cfg(3)
    };
    let mut checked = 0;
    for s in 0..c.subjects {
        let mut rest = Vec::new();
        let mut days = Vec::new();
        for d in 0..c.days {
            let (w, truth) = generate_day_with_truth(&c, s, d);
            // Resting: awake, no bout within 30 minutes, no steps.
            for t in 0..MINUTES {
                let near_bout = truth
                    .bouts
                    .iter()
                    .any(|b| t + 30 >= b.start_min && t < b.end_min + 30);
                if at(&w, t, SLEEP) == 0.0 && !near_bout && at(&w, t, STEPS) == 0.0 {
                    rest.push(at(&w, t, HEART_RATE));
                }
            }
            days.push((w, truth));
        }
        let rest = mean(rest).unwrap();
        for (w, truth) in &days {
            for b in &truth.bouts {
                if b.end_min - b.start_min < 10 {
                    continue;
                }
                let spec = c
                    .activities
                    .catalogue
                    .iter()
                    .find(|a| a.name == b.activity)
                    .unwrap();
                let hr = mean((b.start_min + 3..b.end_min).map(|t| at(w, t, HEART_RATE))).unwrap();
                assert!(
                    hr > rest + 0.5 * spec.hr_increase,
                    "{} bout: {hr:.1} bpm vs rest {rest:.1}",
                    b.activity
                );
                checked += 1;
            }
            // Sleep heart rate is below the awake resting level.
            for &(a, e) in &truth.sleep {
                let hr = mean((a..e).map(|t| at(w, t, HEART_RATE))).unwrap();
                assert!(hr < rest, "sleep {hr:.1} vs rest {rest:.1}");
            }
        }
    }
    assert!(checked >= 10, "only {checked} bouts checked");
}

#[test]
fn no_steps_during_sleep_and_sleep_channel_matches_events() {
    let c = cfg(5);
    for s in 0..c.subjects {
        for d in 0..c.days {
            let w = generate_day(&c, s, d);
            let mut in_sleep = vec![false; MINUTES];
            for e in w.events.iter().filter(|e| e.kind == EventKind::Sleep) {
                for flag in &mut in_sleep[e.start_min() as usize..e.end_min() as usize] {
                    *flag = true;
                }
            }
            assert!(in_sleep.iter().any(|&x| x), "no sleep on day {d}");
            for (t, &sleeping) in in_sleep.iter().enumerate() {
                let steps = at(&w, t, STEPS);
                let sl = at(&w, t, SLEEP);
                if sleeping {
                    assert!(steps == 0.0 || steps.is_nan());
                }
                if !sl.is_nan() {
                    assert_eq!(sl == 1.0, sleeping, "minute {t}");
                }
            }
        }
    }
}

#[test]
fn missing_blocks_are_nan_in_all_channels_and_masked() {
    let c = SynthConfig {
        missing: MissingConfig {
            nonwear_prob: 1.0,
            charging_prob: 1.0,
            dropout_rate: 0.01,
            ..MissingConfig::default()
        },
        ..cfg(9)
    };
    let mut kinds = std::collections::BTreeSet::new();
    for d in 0..c.days {
        let (w, truth) = generate_day_with_truth(&c, 1, d);
        w.validate().unwrap();
        let mut expect = vec![false; MINUTES * CHANNELS];
        for g in &truth.gaps {
            kinds.insert(format!("{:?}", g.kind));
            if g.kind == GapKind::Charging {
                assert!((30..=90).contains(&(g.end_min - g.start_min)));
            }
            for t in g.start_min..g.end_min {
                let chans: Vec<usize> = match g.channel {
                    Some(ch) => vec![ch],
                    None => (0..CHANNELS).collect(),
                };
                for ch in chans {
                    expect[t * CHANNELS + ch] = true;
                    assert!(at(&w, t, ch).is_nan());
                }
            }
        }
        assert_eq!(w.missing, expect, "mask is exactly the gaps");
    }
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    // Without missingness nothing is missing.
    let full = SynthConfig {
        missing: MissingConfig::none(),
        ..cfg(9)
    };
    assert_eq!(generate_day(&full, 1, 0).missing_fraction(), 0.0);
}

#[test]
fn events_lie_inside_the_day_and_do_not_overlap() {
    let c = cfg(11);
    let mut activities = 0;
    let mut moods = 0;
    for s in 0..c.subjects {
        for d in 0..c.days {
            let (w, truth) = generate_day_with_truth(&c, s, d);
            for e in &w.events {
                assert!(e.start_s >= 0.0 && e.end_s <= 86_400.0 && e.start_s <= e.end_s);
                match e.kind {
                    EventKind::Mood => {
                        assert_eq!(e.start_s, e.end_s);
                        moods += 1;
                    }
                    _ => assert!(e.end_s > e.start_s),
                }
            }
            // Activities and sleep periods are pairwise disjoint; moods
            // happen while awake.
            let spans: Vec<_> = w
                .events
                .iter()
                .filter(|e| e.kind != EventKind::Mood)
                .collect();
            for (i, a) in spans.iter().enumerate() {
                for b in &spans[i + 1..] {
                    assert!(
                        a.end_s <= b.start_s || b.end_s <= a.start_s,
                        "{a:?} overlaps {b:?}"
                    );
                }
            }
            for m in w.events.iter().filter(|e| e.kind == EventKind::Mood) {
                assert!(!spans.iter().any(|s| s.kind == EventKind::Sleep
                    && m.start_s >= s.start_s
                    && m.start_s < s.end_s));
            }
            activities += truth.bouts.len();
            assert_eq!(
                truth.bouts.len(),
                w.events
                    .iter()
                    .filter(|e| e.kind == EventKind::Activity)
                    .count()
            );
            // The label is the activity with the most minutes.
            match &w.label {
                None => assert!(truth.bouts.is_empty()),
                Some(l) => {
                    let minutes = |name: &str| -> usize {
                        truth
                            .bouts
                            .iter()
                            .filter(|b| b.activity == name)
                            .map(|b| b.end_min - b.start_min)
                            .sum()
                    };
                    for b in &truth.bouts {
                        assert!(minutes(l) >= minutes(&b.activity));
                    }
                }
            }
        }
    }
    assert!(
        activities > 10 && moods > 10,
        "{activities} bouts, {moods} moods"
    );
}

#[test]
fn seeded_and_order_independent() {
    let a = generate(&cfg(21));
    let b = generate(&cfg(21));
    assert_eq!(a.len(), 24);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(bits(x), bits(y));
        assert_eq!(x.events, y.events);
    }
    // One day on its own equals the same day inside the parallel batch.
    let single = generate_day(&cfg(21), 2, 3);
    let inside = &a[2 * 6 + 3];
    assert_eq!(bits(&single), bits(inside));
    assert_eq!(single.recording, inside.recording);
    // More days or subjects do not change the existing ones.
    let bigger = SynthConfig {
        subjects: 6,
        days: 9,
        ..cfg(21)
    };
    assert_eq!(bits(&generate_day(&bigger, 2, 3)), bits(&single));
    // Another seed gives other data.
    let other = generate_day(&cfg(22), 2, 3);
    assert_ne!(bits(&other), bits(&single));
}

#[test]
fn store_round_trip_keeps_events_and_fits_on_train() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth.parquet");
    let c = cfg(31);
    let split = SplitSpec::SubjectRatios {
        train: 0.5,
        val: 0.25,
        seed: 1,
    };
    let summary = write_store(&c, &path, &split).unwrap();
    assert_eq!(summary.windows, 24);
    assert_eq!(summary.subjects, 4);
    assert_eq!(summary.split_counts["train"], 12);
    let r = StoreReader::open(&path).unwrap();
    assert_eq!(r.meta().source, "synthetic");
    let gen: SynthConfig = serde_json::from_value(r.meta().extra["generator"].clone()).unwrap();
    assert_eq!(gen, c);
    let back = r.read_all(ReadOptions::default()).unwrap();
    let direct = generate(&c);
    for (x, y) in back.iter().zip(&direct) {
        assert_eq!(bits(x), bits(y));
        assert_eq!(x.events, y.events);
        assert_eq!(x.label, y.label);
        assert_eq!(x.missing, y.missing);
    }
    // Every subject's days share one split.
    for s in 0..4 {
        let splits: std::collections::BTreeSet<Split> = back
            .iter()
            .filter(|w| w.subject == wearlang_synth::subject_id(s))
            .map(|w| w.split)
            .collect();
        assert_eq!(splits.len(), 1);
    }
    let fitted = Normalisation::fit(&back, CHANNELS);
    let stored = r.meta().normalisation.clone().unwrap();
    for ch in 0..CHANNELS {
        assert!((fitted.mean[ch] - stored.mean[ch]).abs() < 1e-6);
        assert!((fitted.std[ch] - stored.std[ch]).abs() < 1e-6);
    }
    // Time-wise split by day position.
    let tpath = dir.path().join("time.parquet");
    let tsum = write_store(
        &c,
        &tpath,
        &SplitSpec::TimeRatios {
            train: 0.5,
            val: 0.25,
        },
    )
    .unwrap();
    assert_eq!(tsum.split_counts["train"], 4 * 3);
    // Invalid settings are errors, not panics, and leave no file.
    let bad = SynthConfig { days: 0, ..cfg(1) };
    let bpath = dir.path().join("bad.parquet");
    assert!(write_store(&bad, &bpath, &split).is_err());
    assert!(!bpath.exists());
}

#[test]
fn config_files_read_with_defaults_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth.toml");
    std::fs::write(&path, "days = 3\nsubjects = 2\n").unwrap();
    let cfg = SynthConfig::from_path(&path).unwrap();
    assert_eq!((cfg.days, cfg.subjects), (3, 2));
    assert_eq!(cfg.missing, SynthConfig::default().missing);
    std::fs::write(&path, "days = \"many\"\n").unwrap();
    let err = SynthConfig::from_path(&path).unwrap_err().to_string();
    assert!(err.contains("synth.toml"), "{err}");
    let err = SynthConfig::from_path(dir.path().join("nowhere.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere.toml"), "{err}");
}
