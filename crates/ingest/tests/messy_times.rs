//! Messy time axes: holes of days, absurd timestamps, rows out of time
//! order and duplicate timestamps, long fractions, CR-only line endings and
//! wrong time units. Each ends in a correct store or an error naming the
//! file, row, column or option, never a panic or an allocation of the size
//! of a hole.
mod common;

use common::{ingest_and_read, read_windows};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use wearlang_core::{Error, Window};
use wearlang_ingest::{
    ingest, ChannelOption, Grid, IngestOptions, IngestSummary, Resampler, TimeUnit, Windower,
};

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Tests run one at a time, so that the peak of one is its own.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `t,ax,ay` rows at the given times (ms), values from the index.
fn csv_at(times: &[f64]) -> String {
    let mut s = String::from("t,ax,ay\n");
    for (i, t) in times.iter().enumerate() {
        s += &format!("{t},{},{}\n", i as f32 * 0.5, (i % 7) as f32);
    }
    s
}

/// `n` times 20 ms apart from `from` ms.
fn times(from: f64, n: usize) -> Vec<f64> {
    (0..n).map(|i| from + i as f64 * 20.0).collect()
}

fn opts(path: &Path) -> IngestOptions {
    let mut o = IngestOptions::new(path);
    o.time.column = Some("t".into());
    o.time.unit = TimeUnit::Ms;
    o.columns.channels = vec![ChannelOption::new("ax"), ChannelOption::new("ay")];
    o.input.subject = Some("p1".into());
    o.split = wearlang_core::SplitSpec::TimeRatios {
        train: 0.6,
        val: 0.2,
    };
    o
}

fn run(o: &IngestOptions, dir: &Path) -> (IngestSummary, Vec<Window>) {
    let out = dir.join("out.parquet");
    let done = ingest_and_read(o, &out);
    std::fs::remove_file(&out).unwrap();
    done
}

/// Run an ingest that must fail and leave no store behind.
fn fail(o: &IngestOptions, dir: &Path) -> Error {
    let out = dir.join("out.parquet");
    let err = ingest(o, &out).expect_err("ingest should fail");
    assert!(!out.exists(), "no store may be left behind");
    err
}

fn assert_mentions(e: &Error, parts: &[&str]) {
    let msg = e.to_string();
    for p in parts {
        assert!(msg.contains(p), "'{msg}' should mention {p}");
    }
}

/// The windows of one recording as the plain resampler and windower make
/// them (every row of every hole written), without those wholly missing.
fn reference_windows(times: &[f64], o: &IngestOptions) -> Vec<(i64, Vec<f32>)> {
    let (rate, len, hop) = (o.window.rate_hz, o.window.len(), o.window.hop());
    let mut r = Resampler::new(times[0], rate, 2, o.resample.max_interp_gap_s);
    let mut g = Grid::new(2);
    for (i, &t) in times.iter().enumerate() {
        r.push(t, &[i as f32 * 0.5, (i % 7) as f32], None, &mut g);
    }
    r.finish(None, &mut g);
    let mut out = Vec::new();
    Windower::new(len, hop)
        .drain::<()>(&mut g, |s, v, _| {
            if v.iter().any(|x| !x.is_nan()) {
                let start = (times[0] + s as f64 * 1000.0 / rate).round() as i64;
                out.push((start, v.to_vec()));
            }
            Ok(())
        })
        .unwrap();
    out
}

fn same_windows(got: &[Window], want: &[(i64, Vec<f32>)]) {
    assert_eq!(got.len(), want.len());
    for (w, (start, v)) in got.iter().zip(want) {
        assert_eq!(w.start_ms, *start);
        assert_eq!(w.values.len(), v.len());
        for (a, b) in w.values.iter().zip(v) {
            assert!(a == b || (a.is_nan() && b.is_nan()), "{a} vs {b}");
        }
    }
}

#[test]
fn a_hole_of_two_days_costs_no_memory_and_skips_only_its_empty_windows() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // 4 s at 50 Hz, two days without data, 4 s more.
    let hole_ms = 2.0 * 86_400_000.0;
    let mut t = times(0.0, 200);
    t.extend(times(hole_ms + 4000.0, 200));
    let p = write(dir.path(), "watch.csv", &csv_at(&t));
    let o = opts(&p);
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    let before = LIVE.load(Ordering::Relaxed);
    let (s, ws) = run(&o, dir.path());
    let peak = PEAK.load(Ordering::Relaxed) - before;
    // Writing every row of the hole took 8.6 million rows × 24 bytes.
    assert!(peak < 64 << 20, "peak {} MB", peak >> 20);
    // Windows with data on either side of the hole: 4 + 4.
    assert_eq!(ws.len(), 8);
    let grid_rows = (hole_ms + 4000.0) / 20.0 + 200.0;
    let all = ((grid_rows - 100.0) / 50.0) as usize + 1;
    assert_eq!(s.dropped_missing, all - 8);
    same_windows(&ws, &reference_windows(&t, &o));
}

#[test]
fn windows_around_a_skipped_hole_equal_those_of_the_plain_resampler() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    for (hole_ms, gap_s) in [(61_230.0, 0.1), (7_010.0, 0.1), (20_000.0, 30.0)] {
        let mut t = times(0.0, 230);
        t.extend(times(4600.0 + hole_ms, 170));
        t.extend(times(4600.0 + 2.0 * hole_ms + 3400.0, 333));
        let p = write(dir.path(), "holes.csv", &csv_at(&t));
        let mut o = opts(&p);
        o.resample.max_interp_gap_s = gap_s;
        let (_, ws) = run(&o, dir.path());
        same_windows(&ws, &reference_windows(&t, &o));
    }
}

#[test]
fn one_absurd_timestamp_is_an_error_naming_file_and_row() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // Rows at 0 … 3980 ms, then one at epoch ms, at 1e300 and at infinity.
    for (name, last, what) in [
        ("epoch", "1700000000000", "time jumps"),
        ("huge", "1e300", "beyond"),
        ("inf", "inf", "t"),
        ("epoch_us", "1700000000000000", "beyond"),
    ] {
        let mut text = csv_at(&times(0.0, 200));
        text += &format!("{last},1.0,1.0\n");
        let p = write(dir.path(), &format!("{name}.csv"), &text);
        for unit in [TimeUnit::Ms, TimeUnit::Auto] {
            let mut o = opts(&p);
            o.time.unit = unit;
            let e = fail(&o, dir.path());
            // Header is row 1, the 200 rows are 2..=201.
            assert_mentions(&e, &[&format!("{name}.csv"), "row 202", what]);
        }
    }
}

#[test]
fn a_source_rate_far_below_the_window_is_an_error_naming_the_option() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "fixed.csv", &{
        let mut s = String::from("ax,ay\n");
        for i in 0..4000 {
            s += &format!("{i},1\n");
        }
        s
    });
    let mut o = opts(&p);
    o.time.column = None;
    o.time.rate_hz = Some(0.001);
    let e = fail(&o, dir.path());
    assert_mentions(&e, &["time.rate_hz", "0.001"]);
}

/// A smartwatch export: 400 rows 20 ms apart, shuffled in runs of three
/// (rows 10 apart swapped), with some rows exported twice.
fn watch_export() -> (Vec<f64>, String) {
    let sorted = times(1_700_000_000_000.0, 400);
    let mut order: Vec<usize> = (0..400).collect();
    for k in (0..390).step_by(10) {
        order.swap(k, k + 7);
    }
    let mut s = String::from("t,ax,ay,label\n");
    for (pos, &i) in order.iter().enumerate() {
        let row = format!("{},{},{},walk\n", sorted[i], i as f32 * 0.5, (i % 7) as f32);
        s += &row;
        if pos % 50 == 3 {
            // The same time again, another value (averaged with "mean").
            s += &format!("{},{},{},walk\n", sorted[i], i as f32 * 0.5 + 1.0, "");
        }
    }
    (sorted, s)
}

fn labelled(o: &mut IngestOptions) {
    o.columns.label = Some("label".into());
}

#[test]
fn rows_out_of_time_order_are_an_error_naming_the_option_or_sorted_on_request() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // Out of order only (no duplicates).
    let sorted = times(0.0, 400);
    let mut shuffled = sorted.clone();
    shuffled.swap(100, 250);
    let p = write(dir.path(), "order.csv", &csv_at(&shuffled));
    let e = fail(&opts(&p), dir.path());
    // Row 1 is the header: index 100 is row 102, the first that decreases
    // is index 101 (row 103).
    assert_mentions(
        &e,
        &["order.csv", "row 103", "'t'", "time.sort", "--sort-by-time"],
    );
    let mut o = opts(&p);
    o.time.sort = true;
    let (_, ws) = run(&o, dir.path());
    // The values follow their rows: the sample at 2000 ms is file index
    // 250 (value 125), the one at 5000 ms file index 100 (value 50).
    assert_eq!(ws.len(), 7);
    assert_eq!((ws[2].start_ms, ws[2].values[0]), (2000, 125.0));
    assert_eq!((ws[5].start_ms, ws[5].values[0]), (5000, 50.0));
    assert_eq!(ws[5].values[2], 251.0 * 0.5);
}

#[test]
fn errors_after_sorting_or_merging_name_the_rows_of_the_file() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // A wrong timestamp (two years on) at file index 50, rows 100 and 101
    // swapped and a duplicate of index 10: once sorted and merged, the bad
    // sample is the last one (position 199, which read as row 201), but
    // the error names its row in the file (index 51 after the inserted
    // duplicate: row 53, row 1 being the header).
    let mut ts = times(0.0, 200);
    ts[50] = 2.0 * 366.0 * 86_400_000.0;
    ts.swap(100, 101);
    ts.insert(11, ts[10]);
    let p = write(dir.path(), "late.csv", &csv_at(&ts));
    let mut o = opts(&p);
    o.time.sort = true;
    o.time.duplicates = wearlang_ingest::DuplicateTimes::First;
    let e = fail(&o, dir.path());
    assert_mentions(&e, &["late.csv", "row 53:", "366 days"]);
}

#[test]
fn duplicate_times_are_an_error_naming_the_option_or_resolved_first_or_mean() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let (sorted, text) = watch_export();
    let p = write(dir.path(), "watch.csv", &text);
    let mut o = opts(&p);
    labelled(&mut o);
    // Row 2 … : the first row out of order is a decreasing one.
    let e = fail(&o, dir.path());
    assert_mentions(&e, &["watch.csv", "decreasing", "time.sort"]);
    o.time.sort = true;
    let e = fail(&o, dir.path());
    assert_mentions(
        &e,
        &[
            "watch.csv",
            "duplicate",
            "time.duplicates",
            "--duplicate-times",
        ],
    );
    // The duplicate of file row 5 (index 3) is row 6.
    assert_mentions(&e, &["row 6", "also at row 5"]);
    for (policy, bump) in [
        (wearlang_ingest::DuplicateTimes::First, 0.0),
        (wearlang_ingest::DuplicateTimes::Mean, 0.5),
    ] {
        o.time.duplicates = policy;
        let (s, ws) = run(&o, dir.path());
        // Rows count the samples after merging.
        assert_eq!(s.rows, 400);
        assert_eq!(ws.len(), 7);
        // Sample k of the grid is sorted[k] with the value k × 0.5, except
        // the duplicated ones under "mean" (+ 0.5; the empty ay is missing
        // and does not count).
        let mut dup = std::collections::BTreeSet::new();
        let mut order: Vec<usize> = (0..400).collect();
        for k in (0..390).step_by(10) {
            order.swap(k, k + 7);
        }
        for (pos, &i) in order.iter().enumerate() {
            if pos % 50 == 3 {
                dup.insert(i);
            }
        }
        for w in &ws {
            let k0 = ((w.start_ms as f64 - sorted[0]) / 20.0).round() as usize;
            for r in 0..100 {
                let k = k0 + r;
                let want = k as f32 * 0.5 + if dup.contains(&k) { bump } else { 0.0 };
                assert_eq!(w.values[r * 2], want, "{policy:?} sample {k}");
                assert_eq!(w.values[r * 2 + 1], (k % 7) as f32, "{policy:?} sample {k}");
            }
            assert_eq!(w.label.as_deref(), Some("walk"));
        }
    }
}

#[test]
fn duplicate_times_without_sorting_keep_the_stream_in_file_order() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut t = times(0.0, 300);
    t.insert(150, t[150]);
    let p = write(dir.path(), "dup.csv", &csv_at(&t));
    let e = fail(&opts(&p), dir.path());
    assert_mentions(&e, &["dup.csv", "row 153", "duplicate", "time.duplicates"]);
    let mut o = opts(&p);
    o.time.duplicates = wearlang_ingest::DuplicateTimes::First;
    let (s, ws) = run(&o, dir.path());
    assert_eq!((s.rows, ws.len()), (300, 5));
    // Window 3 starts at sample 150; its row 1 (values 2, 3) is sample
    // 151, file index 152 (index 151 was the duplicate).
    assert_eq!(ws[3].values[2], 152.0 * 0.5);
}

#[test]
fn iso_times_with_twenty_fractional_digits_do_not_wrap_around() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("t,ax,ay\n");
    for i in 0..300 {
        // 2024-03-01T12:00:00 + i × 20 ms, written with 20 fractional digits.
        let ms = i * 20;
        s += &format!(
            "2024-03-01T12:00:{:02}.{:03}00000000000000000Z,{i},1\n",
            ms / 1000,
            ms % 1000
        );
    }
    let p = write(dir.path(), "iso.csv", &s);
    let mut o = opts(&p);
    o.time.unit = TimeUnit::Auto;
    let (_, ws) = run(&o, dir.path());
    assert_eq!(ws.len(), 5);
    for (k, w) in ws.iter().enumerate() {
        assert_eq!(w.start_ms, 1_709_294_400_000 + k as i64 * 1000);
        assert_eq!(w.values[0], (k * 50) as f32);
    }
}

#[test]
fn cr_only_line_endings_after_the_first_lines_give_a_short_error_naming_them() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // LF for the first 100 rows, then 200,000 rows ending in CR only.
    let head = csv_at(&times(0.0, 100));
    let tail = csv_at(&times(2000.0, 200_000)).replacen("t,ax,ay\n", "", 1);
    let p = write(dir.path(), "mixed.csv", &(head + &tail.replace('\n', "\r")));
    let e = fail(&opts(&p), dir.path());
    let msg = e.to_string();
    assert_mentions(&e, &["mixed.csv", "row 102", "CR-only"]);
    assert!(msg.len() < 400, "{} bytes of error", msg.len());
    // CR-only from the start: named before any row is read.
    let all = csv_at(&times(0.0, 200_000)).replace('\n', "\r");
    let p = write(dir.path(), "mac.csv", &all);
    let started = std::time::Instant::now();
    let e = fail(&opts(&p), dir.path());
    assert_mentions(&e, &["mac.csv", "CR-only"]);
    assert!(e.to_string().len() < 400);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}

#[test]
fn integer_seconds_under_auto_are_an_error_asking_for_the_unit() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // Ten minutes at 1 Hz, integer seconds (read as ms: 0.6 s of data).
    let t: Vec<f64> = (0..600).map(f64::from).collect();
    let p = write(dir.path(), "secs.csv", &csv_at(&t));
    let mut o = opts(&p);
    o.time.unit = TimeUnit::Auto;
    let e = fail(&o, dir.path());
    assert_mentions(&e, &["secs.csv", "'t'", "time.unit", "--time-unit"]);
    o.time.unit = TimeUnit::S;
    o.resample.max_interp_gap_s = 1.5;
    let (_, ws) = run(&o, dir.path());
    // 599 s at 50 Hz: 29,951 grid rows.
    assert_eq!(ws.len(), (29_951 - 100) / 50 + 1);
}

#[test]
fn milliseconds_read_as_seconds_are_an_error_with_the_numbers() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "ms.csv", &csv_at(&times(0.0, 500)));
    let mut o = opts(&p);
    o.time.unit = TimeUnit::S;
    let e = fail(&o, dir.path());
    // 20 "s" apart against windows of 2 s.
    assert_mentions(
        &e,
        &[
            "ms.csv",
            "'t'",
            "median 20 s",
            "2 s",
            "time.unit",
            "max_interp_gap_s",
        ],
    );
    // A long recording is refused after its first samples, not at its end.
    let p = write(dir.path(), "long.csv", &csv_at(&times(0.0, 5000)));
    let mut o = opts(&p);
    o.time.unit = TimeUnit::S;
    assert_mentions(&fail(&o, dir.path()), &["long.csv", "median 20 s"]);
}

#[test]
fn interval_labels_in_milliseconds_read_as_seconds_are_an_error_naming_the_unit() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "rel.csv", &csv_at(&times(0.0, 400)));
    let labels = write(
        dir.path(),
        "labels.csv",
        "start,end,label\n0,4000,sit\n4000,8000,walk\n",
    );
    let mut o = opts(&p);
    o.labels = Some(wearlang_ingest::LabelsOptions::new(&labels));
    let e = fail(&o, dir.path());
    assert_mentions(&e, &["labels.csv", "labels.unit", "\"ms\""]);
    o.labels.as_mut().unwrap().unit = TimeUnit::Ms;
    let (_, ws) = run(&o, dir.path());
    let got: Vec<Option<&str>> = ws.iter().map(|w| w.label.as_deref()).collect();
    // Windows at 0, 1, 2 s are sit; 3 s straddles (dropped); 4, 5, 6 s walk.
    assert_eq!(
        got,
        [
            Some("sit"),
            Some("sit"),
            Some("sit"),
            Some("walk"),
            Some("walk"),
            Some("walk")
        ]
    );
}

/// One stream of a multi-stream test: its sample times (ms), the values of
/// each sample, its channel names and its interpolation limit.
struct TestStream {
    times: Vec<f64>,
    values: Vec<Vec<f32>>,
    names: &'static [&'static str],
    gap_s: f64,
}

impl TestStream {
    fn csv(&self) -> String {
        let mut s = format!("t,{}\n", self.names.join(","));
        for (t, v) in self.times.iter().zip(&self.values) {
            let cells: Vec<String> = v.iter().map(|x| x.to_string()).collect();
            s += &format!("{t},{}\n", cells.join(","));
        }
        s
    }
}

/// The windows of one recording of several streams as the plain resampler
/// makes them: each stream resampled whole onto every row of the grid
/// spanning all streams (every hole written), the channels side by side,
/// then windowed; windows wholly missing left out.
fn aligned_reference(streams: &[TestStream], o: &IngestOptions) -> Vec<(i64, Vec<f32>)> {
    let (rate, len, hop) = (o.window.rate_hz, o.window.len(), o.window.hop());
    let t0 = streams
        .iter()
        .map(|s| s.times[0])
        .fold(f64::INFINITY, f64::min);
    let t1 = streams
        .iter()
        .map(|s| *s.times.last().unwrap())
        .fold(f64::NEG_INFINITY, f64::max);
    let total = ((t1 - t0) * rate / 1000.0 + 0.5).floor() as usize + 1;
    let width: usize = streams.iter().map(|s| s.names.len()).sum();
    let mut all = Grid::new(width);
    all.values = vec![f32::NAN; total * width];
    all.labels = vec![None; total];
    let mut offset = 0;
    for s in streams {
        let c = s.names.len();
        let mut r = Resampler::new(t0, rate, c, s.gap_s);
        let mut g = Grid::new(c);
        for (t, v) in s.times.iter().zip(&s.values) {
            r.push(*t, v, None, &mut g);
        }
        r.finish(Some(total), &mut g);
        for row in 0..total {
            all.values[row * width + offset..row * width + offset + c]
                .copy_from_slice(&g.values[row * c..(row + 1) * c]);
        }
        offset += c;
    }
    let mut out = Vec::new();
    Windower::new(len, hop)
        .drain::<()>(&mut all, |s, v, _| {
            if v.iter().any(|x| !x.is_nan()) {
                out.push(((t0 + s as f64 * 1000.0 / rate).round() as i64, v.to_vec()));
            }
            Ok(())
        })
        .unwrap();
    out
}

/// Ingest `streams` as recording `r1` of subject `p1` (the first stream the
/// main input, the others `[[streams]]`), returning the summary, the
/// windows and the peak allocation.
fn run_streams(streams: &[TestStream], dir: &Path) -> (IngestSummary, Vec<Window>, usize) {
    let mut paths = Vec::new();
    for (i, s) in streams.iter().enumerate() {
        let d = dir.join(format!("s{i}"));
        std::fs::create_dir_all(&d).unwrap();
        write(&d, "r1.csv", &s.csv());
        paths.push(d);
    }
    let mut o = opts(&paths[0]);
    o.columns.channels = streams[0]
        .names
        .iter()
        .map(|n| ChannelOption::new(*n))
        .collect();
    o.resample.max_interp_gap_s = streams[0].gap_s;
    o.streams = streams[1..]
        .iter()
        .zip(&paths[1..])
        .map(|(s, p)| wearlang_ingest::StreamOptions {
            path: p.clone(),
            format: Default::default(),
            time: o.time.clone(),
            channels: s.names.iter().map(|n| ChannelOption::new(*n)).collect(),
            max_interp_gap_s: Some(s.gap_s),
        })
        .collect();
    // The peak of the ingest alone (not of reading the store back).
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
    let before = LIVE.load(Ordering::Relaxed);
    let out = dir.join("streams.parquet");
    let s = ingest(&o, &out).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let ws = read_windows(&out);
    std::fs::remove_file(&out).unwrap();
    let want = aligned_reference(streams, &o);
    same_windows(&ws, &want);
    (s, ws, peak)
}

/// A 50 Hz accelerometer (two channels) at `times`, values from the index.
fn acc(times: Vec<f64>) -> TestStream {
    let values = (0..times.len())
        .map(|i| vec![i as f32 * 0.5, (i % 7) as f32])
        .collect();
    TestStream {
        times,
        values,
        names: &["ax", "ay"],
        gap_s: 0.1,
    }
}

/// Heart rate about once a second (jittered) over `[from, to)` ms,
/// interpolated over gaps of up to 2.5 s.
fn heart_rate(from: f64, to: f64, seed: u64) -> TestStream {
    let mut times = Vec::new();
    let mut t = from;
    let mut x = seed;
    while t < to {
        times.push(t.round());
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        t += 700.0 + (x >> 33) as f64 % 600.0;
    }
    let values = (0..times.len())
        .map(|i| vec![60.0 + (i % 11) as f32])
        .collect();
    TestStream {
        times,
        values,
        names: &["hr"],
        gap_s: 2.5,
    }
}

#[test]
fn several_streams_are_aligned_as_the_plain_resampler_aligns_them() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // The heart rate starts 1.3 s after the accelerometer and ends 9 s
    // before it; both have short holes (some interpolated, some not).
    let mut t = times(0.0, 900);
    t.extend(times(18_000.0 + 3_210.0, 700));
    t.extend(times(18_000.0 + 3_210.0 + 14_000.0 + 450.0, 1200));
    let end = *t.last().unwrap();
    let mut hr = heart_rate(1_300.0, 12_000.0, 3);
    hr.times
        .extend(heart_rate(19_500.0, end - 9_000.0, 5).times);
    hr.values = (0..hr.times.len())
        .map(|i| vec![60.0 + (i % 11) as f32])
        .collect();
    let (s, ws, _) = run_streams(&[acc(t), hr], dir.path());
    assert_eq!(s.recordings, 1);
    assert!(ws.len() > 40, "{} windows", ws.len());
}

#[test]
fn a_hole_of_two_days_in_several_streams_costs_no_memory() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // Accelerometer and heart rate: 10 s, two days without data (the heart
    // rate's hole a little shorter at both ends), 10 s more; the heart
    // rate then stops while the accelerometer goes on for a day (one of its
    // samples a minute).
    let hole_ms = 2.0 * 86_400_000.0;
    let mut t = times(0.0, 500);
    t.extend(times(hole_ms + 10_000.0, 500));
    let after = hole_ms + 20_000.0;
    t.extend((1..=1440).map(|m| after + m as f64 * 60_000.0));
    let mut hr = heart_rate(500.0, 12_000.0, 7);
    hr.times
        .extend(heart_rate(hole_ms + 9_000.0, after, 9).times);
    hr.values = (0..hr.times.len())
        .map(|i| vec![60.0 + (i % 11) as f32])
        .collect();
    let (s, ws, peak) = run_streams(&[acc(t), hr], dir.path());
    // Aligned in memory, the grid of three days at 50 Hz took 13 million
    // rows × (3 values + a label): over 350 MB.
    assert!(peak < 64 << 20, "peak {} MB", peak >> 20);
    assert!(ws.len() > 1440, "{} windows", ws.len());
    assert!(s.dropped_missing > 100_000, "{}", s.dropped_missing);
}

#[test]
fn streams_years_apart_or_a_jump_within_a_stream_are_errors_naming_the_stream() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    // Epoch milliseconds beside a heart rate in epoch seconds read as ms.
    let epoch = 1_700_000_000_000.0;
    let streams = [
        acc(times(epoch, 500)),
        heart_rate(epoch / 1000.0, epoch / 1000.0 + 10_000.0, 1),
    ];
    let mut paths = Vec::new();
    for (i, s) in streams.iter().enumerate() {
        let d = dir.path().join(format!("s{i}"));
        std::fs::create_dir_all(&d).unwrap();
        write(&d, "r1.csv", &s.csv());
        paths.push(d);
    }
    let with_streams = |paths: &[PathBuf]| {
        let mut o = opts(&paths[0]);
        o.streams = vec![wearlang_ingest::StreamOptions {
            path: paths[1].clone(),
            format: Default::default(),
            time: o.time.clone(),
            channels: vec![ChannelOption::new("hr")],
            max_interp_gap_s: Some(2.5),
        }];
        o
    };
    let e = fail(&with_streams(&paths), dir.path());
    assert_mentions(&e, &["s0", "p1/r1", "days after", "time unit"]);
    // One heart-rate sample two years on: an error naming its file and row.
    let mut hr = heart_rate(0.0, 10_000.0, 2);
    hr.times.push(2.0 * 366.0 * 86_400_000.0);
    hr.values.push(vec![70.0]);
    write(&paths[1], "r1.csv", &hr.csv());
    write(&paths[0], "r1.csv", &acc(times(0.0, 500)).csv());
    let e = fail(&with_streams(&paths), dir.path());
    let row = format!("row {}", hr.times.len() + 1);
    assert_mentions(&e, &["s1", "r1.csv", &row, "366 days"]);
}
