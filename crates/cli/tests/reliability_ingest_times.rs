//! `wearlang ingest` on messy time axes: one absurd timestamp, a source
//! rate in the wrong unit, a smartwatch export out of time order with
//! duplicate times, CR-only line endings, integer seconds under
//! `--time-unit auto`, milliseconds read as seconds and interval labels in
//! milliseconds. Each ends in a correct store (rc 0) or an error naming the
//! file, row or option (rc 1), never a panic or an allocation of the size of
//! a hole.
mod common;
use common::{stderr, summary, wearlang};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;
use wearlang_store::{ReadOptions, StoreReader};

/// `wearlang ingest <input>` with `args` and `--out <dir>/out.parquet
/// --json`; returns the run and the store path.
fn ingest(dir: &Path, input: &str, args: &[&str]) -> (Output, PathBuf) {
    let out = dir.join("out.parquet");
    let _ = std::fs::remove_file(&out);
    let mut all = vec!["ingest", input, "--out", out.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    (wearlang(&all), out)
}

fn windows(o: &Output) -> u64 {
    summary(o)["store"]["windows"].as_u64().unwrap()
}

/// Assert that an ingest failed with rc 1, without a panic or a store, in a
/// short message that mentions every one of `parts`.
fn assert_fails_naming(o: &Output, store: &Path, parts: &[&str]) {
    common::assert_fails_naming(o, store, parts);
    let msg = stderr(o);
    assert!(msg.len() < 2000, "{} bytes of error", msg.len());
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

/// CSV text `t,ax` at the given times.
fn csv_at(times: impl IntoIterator<Item = String>) -> String {
    let mut s = String::from("t,ax\n");
    for (i, t) in times.into_iter().enumerate() {
        s += &format!("{t},{}\n", i % 13);
    }
    s
}

/// `n` times in ms, 20 ms apart.
fn ms(n: usize) -> Vec<String> {
    (0..n).map(|i| (i * 20).to_string()).collect()
}

#[test]
fn one_absurd_timestamp_fails_naming_file_and_row_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, last) in [("epoch", "1700000000000"), ("huge", "1e300")] {
        let mut t = ms(200);
        t.push(last.into());
        let input = write(d, &format!("{name}.csv"), &csv_at(t));
        let started = Instant::now();
        let (o, store) = ingest(d, &input, &["--time-column", "t"]);
        assert_fails_naming(&o, &store, &[&format!("{name}.csv"), "row 202"]);
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }
}

#[test]
fn a_hole_of_days_ingests_the_data_around_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut t = ms(200);
    // Ten days later: 43 million grid rows that are never written.
    t.extend((0..200).map(|i| (864_000_000 + 4000 + i * 20).to_string()));
    let input = write(d, "hole.csv", &csv_at(t));
    let (o, _) = ingest(d, &input, &["--time-column", "t", "--time-unit", "ms"]);
    let s = summary(&o);
    assert_eq!(s["store"]["windows"], 8);
    // 43.2 million rows are 864,000 windows every 50 rows.
    assert!(s["dropped_missing"].as_u64().unwrap() > 860_000);
}

#[test]
fn a_source_rate_in_the_wrong_unit_fails_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut text = String::from("ax\n");
    for i in 0..4000 {
        text += &format!("{}\n", i % 13);
    }
    let input = write(d, "fixed.csv", &text);
    let (o, store) = ingest(d, &input, &["--source-rate", "0.001"]);
    assert_fails_naming(&o, &store, &["--source-rate", "0.001", "1000 s"]);
}

/// A smartwatch export: 50 Hz rows, every tenth pair swapped, and every
/// 25th row exported twice (the copy with ax + 1).
fn watch_export() -> String {
    let mut order: Vec<usize> = (0..600).collect();
    for k in (0..590).step_by(10) {
        order.swap(k, k + 1);
    }
    let mut s = String::from("t,ax\n");
    for (pos, &i) in order.iter().enumerate() {
        s += &format!("{},{}\n", 1_700_000_000_000u64 + i as u64 * 20, i % 13);
        if pos % 25 == 7 {
            s += &format!("{},{}\n", 1_700_000_000_000u64 + i as u64 * 20, i % 13 + 1);
        }
    }
    s
}

#[test]
fn a_watch_export_out_of_order_with_duplicates_fails_naming_the_flags_then_ingests() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = write(d, "watch.csv", &watch_export());
    let (o, store) = ingest(d, &input, &["--time-column", "t"]);
    assert_fails_naming(
        &o,
        &store,
        &["watch.csv", "row 3", "decreasing", "--sort-by-time"],
    );
    let (o, store) = ingest(d, &input, &["--time-column", "t", "--sort-by-time"]);
    assert_fails_naming(&o, &store, &["watch.csv", "duplicate", "--duplicate-times"]);
    let (o, store) = ingest(
        d,
        &input,
        &[
            "--time-column",
            "t",
            "--sort-by-time",
            "--duplicate-times",
            "bogus",
        ],
    );
    assert_fails_naming(&o, &store, &["bogus", "first", "mean"]);
    for policy in ["first", "mean"] {
        let (o, store) = ingest(
            d,
            &input,
            &[
                "--time-column",
                "t",
                "--sort-by-time",
                "--duplicate-times",
                policy,
            ],
        );
        // 600 samples: 11 windows of 2 s every second.
        assert_eq!(windows(&o), 11, "{policy}");
        let ws = StoreReader::open(&store)
            .unwrap()
            .read_all(ReadOptions {
                batch_size: 64,
                split: None,
                normalise: false,
            })
            .unwrap();
        // Samples 0 and 1 come back in time order; sample 7 was exported
        // twice, the copy with ax + 1.
        assert_eq!(ws[0].values[..2], [0.0, 1.0], "{policy}");
        let want = if policy == "mean" { 7.5 } else { 7.0 };
        assert_eq!(ws[0].values[7], want, "{policy}");
    }
}

#[test]
fn a_manifest_sorts_and_averages_duplicate_times() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "watch.csv", &watch_export());
    let manifest = write(
        d,
        "manifest.toml",
        "[input]\npath = \"watch.csv\"\n\n[time]\ncolumn = \"t\"\nsort = true\n\
         duplicates = \"mean\"\n",
    );
    let out = d.join("out.parquet");
    let o = wearlang(&[
        "ingest",
        "--manifest",
        &manifest,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(windows(&o), 11);
    // Position 7 of the file is sample 7 (swaps touch positions 10k, 10k+1):
    // its copy has ax + 1, so the mean is 7 + 0.5.
    let ws = StoreReader::open(&out)
        .unwrap()
        .read_all(ReadOptions {
            batch_size: 64,
            split: None,
            normalise: false,
        })
        .unwrap();
    assert_eq!(ws[0].values[7], 7.5);
    assert_eq!(ws[0].values[6], 6.0);
}

#[test]
fn a_watch_export_of_several_streams_each_out_of_order_is_sorted_per_stream() {
    // The accelerometer and a 1 Hz heart rate of one recording, both with
    // rows out of order and duplicate times, as a real export has them.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("acc")).unwrap();
    std::fs::create_dir_all(d.join("hr")).unwrap();
    write(d, "acc/r1.csv", &watch_export());
    let mut hr = String::from("t,hr\n");
    let mut order: Vec<u64> = (0..12).collect();
    order.swap(3, 4);
    for (pos, &i) in order.iter().enumerate() {
        hr += &format!("{},{}\n", 1_700_000_000_000u64 + i * 1000, 60 + i);
        if pos == 6 {
            hr += &format!("{},{}\n", 1_700_000_000_000u64 + i * 1000, 90);
        }
    }
    write(d, "hr/r1.csv", &hr);
    let manifest_text = |policy: &str| {
        format!(
            "[input]\npath = \"acc\"\n[time]\ncolumn = \"t\"\nsort = true\n\
             duplicates = \"{policy}\"\n[[streams]]\npath = \"hr\"\n\
             max_interp_gap_s = 1.5\n\
             [streams.time]\ncolumn = \"t\"\nsort = true\nduplicates = \"{policy}\"\n"
        )
    };
    let out = d.join("out.parquet");
    let run = |policy: &str| {
        let manifest = write(d, "manifest.toml", &manifest_text(policy));
        wearlang(&[
            "ingest",
            "--manifest",
            &manifest,
            "--out",
            out.to_str().unwrap(),
            "--json",
        ])
    };
    // Errors name the stream's file and the option.
    let o = run("error");
    assert_fails_naming(&o, &out, &["r1.csv", "duplicate", "time.duplicates"]);
    let o = run("mean");
    assert_eq!(windows(&o), 11);
    let ws = StoreReader::open(&out)
        .unwrap()
        .read_all(ReadOptions {
            batch_size: 64,
            split: None,
            normalise: false,
        })
        .unwrap();
    // Channels ax, hr; window w starts at w s (hop 1 s, 50 rows). The heart
    // rate's swapped rows are back in order (63 at 3 s, 64 at 4 s), its
    // duplicate at 6 s averaged ((66 + 90) / 2), interpolated in between.
    let hr_at = |w: usize, row: usize| ws[w].values[row * 2 + 1];
    assert_eq!(hr_at(0, 0), 60.0);
    assert_eq!(hr_at(0, 50), 61.0);
    assert_eq!(hr_at(3, 0), 63.0);
    assert_eq!(hr_at(4, 0), 64.0);
    assert_eq!(hr_at(6, 0), 78.0);
    assert_eq!(hr_at(5, 50), 78.0);
    assert_eq!(hr_at(6, 25), 72.5);
}

#[test]
fn cr_only_line_endings_fail_in_a_short_message_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = write(d, "mac.csv", &csv_at(ms(300_000)).replace('\n', "\r"));
    let started = Instant::now();
    let (o, store) = ingest(d, &input, &["--time-column", "t"]);
    assert_fails_naming(&o, &store, &["mac.csv", "CR-only"]);
    assert!(stderr(&o).len() < 600, "{}", stderr(&o).len());
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn a_day_of_integer_seconds_fails_under_auto_and_ingests_with_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = write(d, "day.csv", &csv_at((0..86_400).map(|s| s.to_string())));
    let (o, store) = ingest(d, &input, &["--time-column", "t"]);
    assert_fails_naming(&o, &store, &["day.csv", "--time-unit", "1 Hz in seconds"]);
    let (o, _) = ingest(
        d,
        &input,
        &[
            "--time-column",
            "t",
            "--time-unit",
            "s",
            "--max-interp-gap-s",
            "1.5",
        ],
    );
    assert_eq!(windows(&o), 86_398);
}

#[test]
fn milliseconds_given_as_seconds_fail_with_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = write(d, "ms.csv", &csv_at(ms(3000)));
    let (o, store) = ingest(d, &input, &["--time-column", "t", "--time-unit", "s"]);
    assert_fails_naming(
        &o,
        &store,
        &["ms.csv", "median 20 s", "--time-unit", "--max-interp-gap-s"],
    );
}

#[test]
fn interval_labels_in_milliseconds_fail_naming_the_flag_then_label() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = write(d, "rel.csv", &csv_at(ms(400)));
    let labels = write(
        d,
        "labels.csv",
        "start,end,label\n0,4000,sit\n4000,8000,walk\n",
    );
    let base = [
        "--time-column",
        "t",
        "--time-unit",
        "ms",
        "--labels",
        &labels,
    ];
    let (o, store) = ingest(d, &input, &base);
    assert_fails_naming(&o, &store, &["labels.csv", "--labels-unit ms"]);
    let mut args = base.to_vec();
    args.extend(["--labels-unit", "ms"]);
    let (o, _) = ingest(d, &input, &args);
    let s = summary(&o);
    assert_eq!(s["store"]["label_counts"]["sit"], 3);
    assert_eq!(s["store"]["label_counts"]["walk"], 3);
}
