//! Formats, directories, multi-rate streams, interval labels, splits and
//! normalisation, end to end through the store.
mod common;

use common::{batch, opts, table, write_csv, write_ipc, write_parquet};
use std::path::Path;
use wearlang_core::{Split, SplitSpec, Window};
use wearlang_ingest::{
    ingest, window_count, ChannelOption, IngestOptions, InputFormat, LabelsOptions, MixedLabels,
    StreamOptions, TimeOptions, TimeUnit,
};
use wearlang_store::{ReadOptions, StoreReader};

fn read(path: &Path) -> Vec<Window> {
    StoreReader::open(path)
        .unwrap()
        .read_all(ReadOptions {
            batch_size: 256,
            split: None,
            normalise: false,
        })
        .unwrap()
}

fn same(a: &[Window], b: &[Window]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            (&x.subject, &x.recording, x.start_ms, &x.label, x.split),
            (&y.subject, &y.recording, y.start_ms, &y.label, y.split)
        );
        assert_eq!(x.missing, y.missing);
        for (u, v) in x.values.iter().zip(&y.values) {
            assert!(u == v || (u.is_nan() && v.is_nan()), "{u} vs {v}");
        }
    }
}

#[test]
fn csv_parquet_and_ipc_give_identical_windows() {
    let dir = tempfile::tempdir().unwrap();
    let t = table(4, 2, 777);
    let b = batch(&t);
    let (c, p, i) = (
        dir.path().join("d.csv"),
        dir.path().join("d.parquet"),
        dir.path().join("d.arrow"),
    );
    write_csv(&t, &c);
    write_parquet(&b, &p);
    write_ipc(&b, &i);
    let mut outs = Vec::new();
    for (k, f) in [&c, &p, &i].iter().enumerate() {
        let out = dir.path().join(format!("out{k}.parquet"));
        let s = ingest(&opts(f), &out).unwrap();
        assert_eq!(s.recordings, 8);
        assert_eq!(s.rows, 8 * 777);
        outs.push(read(&out));
    }
    // Per recording: 777 samples → 14 windows, of which the one straddling
    // the label change (at sample 388) is dropped.
    let per_rec = window_count(777, 100, 50);
    assert_eq!(per_rec, 14);
    let straddling = (0..per_rec)
        .filter(|k| k * 50 < 388 && k * 50 + 100 > 388)
        .count();
    assert_eq!(outs[0].len(), 8 * (per_rec - straddling));
    same(&outs[0], &outs[1]);
    same(&outs[0], &outs[2]);
    // The values are the source values (equal rate: no resampling change).
    let w = &outs[0][0];
    assert_eq!(w.values[0], t.ax[0]);
    assert_eq!(w.values[1], t.ay[0]);
    assert!(w.missing[2 * 5 + 1], "the NaN at sample 5 stays missing");
}

#[test]
fn padded_keys_and_labels_in_parquet_are_the_trimmed_ones() {
    // Cells of one key or label that differ only by surrounding blanks,
    // alternating row by row and between runs of equal raw cells, name one
    // recording and one label: the same windows as the clean table.
    let dir = tempfile::tempdir().unwrap();
    let t = table(2, 2, 500);
    let mut padded = table(2, 2, 500);
    for i in 0..padded.t.len() {
        let pad = |s: &str| match (i / 3) % 4 {
            0 => s.to_string(),
            1 => format!(" {s}"),
            2 => format!("{s}\t"),
            _ => format!("  {s} "),
        };
        padded.subject[i] = pad(&t.subject[i]);
        padded.recording[i] = pad(&t.recording[i]);
        padded.label[i] = pad(&t.label[i]);
    }
    let (clean, messy) = (dir.path().join("c.parquet"), dir.path().join("m.parquet"));
    write_parquet(&batch(&t), &clean);
    write_parquet(&batch(&padded), &messy);
    let mut outs = Vec::new();
    for (k, f) in [&clean, &messy].iter().enumerate() {
        let out = dir.path().join(format!("out{k}.parquet"));
        let s = ingest(&opts(f), &out).unwrap();
        assert_eq!(s.recordings, 4);
        outs.push(read(&out));
    }
    assert!(!outs[0].is_empty());
    same(&outs[0], &outs[1]);
    assert_eq!(outs[1][0].subject, "s0");
    assert_eq!(outs[1][0].label.as_deref(), Some("walk"));
}

#[test]
fn key_and_label_columns_read_alike_whatever_their_parquet_encoding() {
    // Key and label text is read from Parquet as dictionary indices. The
    // windows must not depend on how the writer encoded those columns:
    // dictionary pages per small row group, plain pages (no dictionary),
    // a dictionary that overflows into plain pages mid-chunk, and null
    // labels (unlabelled stretches) among them; the CSV twin (an empty
    // label cell) is the reference.
    use arrow::array::{ArrayRef, StringArray};
    use parquet::file::properties::WriterProperties;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let mut t = table(3, 2, 900);
    // Every recording gets a distinct label per third, and an unlabelled
    // stretch in its middle third for the second recording of each subject.
    let mut labels: Vec<Option<String>> = Vec::new();
    for i in 0..t.t.len() {
        let (rec, k) = (i / 900, i % 900);
        let l = match (k / 300, rec % 2) {
            (1, 1) => None,
            (part, _) => Some(format!("act-{}-{part}", rec % 3)),
        };
        t.label[i] = l.clone().unwrap_or_default();
        labels.push(l);
    }
    let csv = dir.path().join("d.csv");
    write_csv(&t, &csv);
    let b = batch(&t);
    let schema = Arc::new(arrow::datatypes::Schema::new(
        b.schema()
            .fields()
            .iter()
            .map(|f| {
                let f = f.as_ref().clone();
                if f.name() == "label" {
                    f.with_nullable(true)
                } else {
                    f
                }
            })
            .collect::<Vec<_>>(),
    ));
    let mut cols = b.columns().to_vec();
    cols[3] = Arc::new(StringArray::from(labels)) as ArrayRef;
    let b = arrow::array::RecordBatch::try_new(schema, cols).unwrap();
    let variants: Vec<(&str, WriterProperties)> = vec![
        (
            "dictionary",
            WriterProperties::builder()
                .set_max_row_group_size(700)
                .build(),
        ),
        (
            "plain",
            WriterProperties::builder()
                .set_dictionary_enabled(false)
                .build(),
        ),
        (
            "overflow",
            WriterProperties::builder()
                .set_dictionary_page_size_limit(8)
                .set_data_page_row_count_limit(64)
                .set_write_batch_size(64)
                .build(),
        ),
    ];
    let reference = {
        let out = dir.path().join("csv.parquet");
        ingest(&opts(&csv), &out).unwrap();
        read(&out)
    };
    assert!(reference.iter().any(|w| w.label.is_none()));
    assert!(reference
        .iter()
        .filter_map(|w| w.label.as_deref())
        .any(|l| l == "act-2-2"));
    for (name, props) in variants {
        let p = dir.path().join(format!("{name}.parquet"));
        let f = std::fs::File::create(&p).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, b.schema(), Some(props)).unwrap();
        w.write(&b).unwrap();
        w.close().unwrap();
        let out = dir.path().join(format!("out-{name}.parquet"));
        let s = ingest(&opts(&p), &out).unwrap();
        assert_eq!(s.recordings, 6, "{name}");
        same(&reference, &read(&out));
    }
}

#[test]
fn subject_split_keeps_subjects_apart_and_norm_uses_train_only() {
    let dir = tempfile::tempdir().unwrap();
    let t = table(8, 1, 400);
    let p = dir.path().join("d.parquet");
    write_parquet(&batch(&t), &p);
    let out = dir.path().join("o.parquet");
    ingest(&opts(&p), &out).unwrap();
    let ws = read(&out);
    let mut by_subject = std::collections::BTreeMap::new();
    for w in &ws {
        let prev = by_subject.insert(w.subject.clone(), w.split);
        assert!(
            prev.is_none_or(|s| s == w.split),
            "subject {} on two sides",
            w.subject
        );
    }
    let train: Vec<&Window> = ws.iter().filter(|w| w.split == Split::Train).collect();
    assert_eq!(
        by_subject.values().filter(|&&s| s == Split::Train).count(),
        4
    );
    let meta = StoreReader::open(&out).unwrap().meta().clone();
    let norm = meta.normalisation.unwrap();
    let fitted = wearlang_core::Normalisation::fit(train.iter().copied(), 2);
    for c in 0..2 {
        assert!((norm.mean[c] - fitted.mean[c]).abs() < 1e-9);
        assert!((norm.std[c] - fitted.std[c]).abs() < 1e-9);
    }
    // ...and differs from a fit over all windows.
    let mut all = ws.clone();
    all.iter_mut().for_each(|w| w.split = Split::Train);
    let everything = wearlang_core::Normalisation::fit(all.iter(), 2);
    assert!((everything.mean[0] - norm.mean[0]).abs() > 1e-6);
    assert!(meta.extra.contains_key("ingest"));
    assert_eq!(
        meta.labels.labels(),
        &["run".to_string(), "walk".to_string()]
    );
}

#[test]
fn time_split_orders_windows_within_each_recording() {
    let dir = tempfile::tempdir().unwrap();
    let t = table(2, 1, 1000);
    let p = dir.path().join("d.csv");
    write_csv(&t, &p);
    let mut o = opts(&p);
    o.split = SplitSpec::TimeRatios {
        train: 0.6,
        val: 0.2,
    };
    o.window.mixed_labels = MixedLabels::Majority;
    let out = dir.path().join("o.parquet");
    ingest(&o, &out).unwrap();
    let ws = read(&out);
    assert_eq!(ws.len(), 2 * window_count(1000, 100, 50));
    for rec in ["s0-r0", "s1-r0"] {
        let splits: Vec<Split> = ws
            .iter()
            .filter(|w| w.recording == rec)
            .map(|w| w.split)
            .collect();
        let mut sorted = splits.clone();
        sorted.sort();
        assert_eq!(splits, sorted, "train, then val, then test in time");
        assert!(
            splits.contains(&Split::Train)
                && splits.contains(&Split::Val)
                && splits.contains(&Split::Test)
        );
        let train = splits.iter().filter(|&&s| s == Split::Train).count();
        assert!((train as f64 / splits.len() as f64 - 0.6).abs() < 0.1);
    }
}

#[test]
fn directory_of_files_one_recording_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for s in 0..3 {
        std::fs::create_dir_all(data.join(format!("subj{s}"))).unwrap();
        for r in 0..2 {
            let mut text = String::from("ax,ay\n");
            for i in 0..(300 + 50 * r) {
                text += &format!("{},{}\n", i % 10, s);
            }
            std::fs::write(data.join(format!("subj{s}/rec{r}.csv")), text).unwrap();
        }
    }
    std::fs::write(data.join("README.md"), "not data").unwrap();
    // A manifest kept beside the data is skipped even with an explicit format.
    std::fs::write(data.join("manifest.toml"), "[input]\nformat = 'csv'\n").unwrap();
    let mut o = IngestOptions::new(&data);
    o.input.format = InputFormat::Csv;
    o.time.rate_hz = Some(50.0);
    o.split = SplitSpec::SubjectLists {
        train: vec!["subj0".into(), "subj1".into()],
        val: vec![],
        test: vec!["subj2".into()],
    };
    let out = dir.path().join("o.parquet");
    let s = ingest(&o, &out).unwrap();
    assert_eq!((s.files, s.recordings), (6, 6));
    let expect = 3 * (window_count(300, 100, 50) + window_count(350, 100, 50));
    assert_eq!(s.store.windows, expect);
    let ws = read(&out);
    assert!(ws
        .iter()
        .all(|w| (w.subject == "subj2") == (w.split == Split::Test)));
    assert!(ws
        .iter()
        .all(|w| w.values[1] == w.subject[4..].parse::<f32>().unwrap()));
    // Parallel processing keeps the file order.
    let order: Vec<String> = ws
        .iter()
        .map(|w| format!("{}/{}", w.subject, w.recording))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}

#[test]
fn streams_at_different_rates_are_aligned() {
    let dir = tempfile::tempdir().unwrap();
    // accelerometer 100 Hz, gyroscope 50 Hz with jittered timestamps,
    // heart rate 1 Hz; 10 s each, in seconds.
    let mut acc = String::from("time,ax\n");
    for i in 0..1000 {
        acc += &format!("{},{}\n", i as f64 / 100.0, i / 2);
    }
    let mut gyr = String::from("time,gx\n");
    for i in 0..500 {
        let jitter = if i % 2 == 0 { 0.002 } else { -0.002 };
        gyr += &format!("{},{}\n", i as f64 / 50.0 + jitter, i as f64 * 2.0);
    }
    let mut hr = String::from("time,hr\n");
    for i in 0..10 {
        hr += &format!("{}.0,{}\n", i, 60 + i);
    }
    for (n, t) in [("acc.csv", &acc), ("gyr.csv", &gyr), ("hr.csv", &hr)] {
        std::fs::write(dir.path().join(n), t).unwrap();
    }
    let stream = |file: &str, ch: &str, gap: Option<f64>| StreamOptions {
        path: dir.path().join(file),
        format: Default::default(),
        time: TimeOptions {
            column: Some("time".into()),
            unit: TimeUnit::S,
            rate_hz: None,
            ..Default::default()
        },
        channels: vec![ChannelOption::parse(ch).unwrap()],
        max_interp_gap_s: gap,
    };
    let mut o = IngestOptions::new(dir.path().join("acc.csv"));
    o.time.column = Some("time".into());
    o.time.unit = TimeUnit::S;
    o.input.subject = Some("p1".into());
    o.streams = vec![
        stream("gyr.csv", "gx:rad/s:gyroscope", None),
        stream("hr.csv", "hr:bpm:heart_rate", Some(1.5)),
    ];
    o.split = SplitSpec::SubjectLists {
        train: vec!["p1".into()],
        val: vec![],
        test: vec![],
    };
    let out = dir.path().join("o.parquet");
    let s = ingest(&o, &out).unwrap();
    let meta = StoreReader::open(&out).unwrap().meta().clone();
    let names: Vec<&str> = meta.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ax", "gx", "hr"]);
    assert_eq!(s.recordings, 1);
    // Grid: 0 .. 9990 ms at 20 ms → 501 rows → 9 windows.
    let ws = read(&out);
    assert_eq!(ws.len(), window_count(501, 100, 50));
    let w = &ws[0];
    for k in 1..100 {
        // ax: average of the two 100 Hz samples in the bin
        assert_eq!(w.values[k * 3], k as f32 - 0.5, "ax row {k}");
        // gx: the jittered 50 Hz sample of the bin
        assert_eq!(w.values[k * 3 + 1], 2.0 * k as f32, "gx row {k}");
        // hr: interpolated between 1 Hz samples (gap 1 s ≤ 1.5 s)
        assert!(
            (w.values[k * 3 + 2] - (60.0 + k as f32 / 50.0)).abs() < 1e-4,
            "hr row {k}"
        );
    }
    // After the last heart-rate sample (9 s = row 450) nothing is extrapolated.
    let last = ws.last().unwrap();
    assert_eq!(last.start_ms, 400 * 20);
    assert!(!last.missing[(450 - 400) * 3 + 2]);
    assert!(last.missing[(451 - 400) * 3 + 2]);
    assert!(!last.missing[(499 - 400) * 3]);
}

#[test]
fn interval_labels_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("ax\n");
    for i in 0..1000 {
        text += &format!("{}\n", i % 7);
    }
    std::fs::write(dir.path().join("rec.csv"), text).unwrap();
    // seconds from the start: 0-8 s sit, 8-20 s walk
    std::fs::write(
        dir.path().join("labels.csv"),
        "start,end,label,recording\n0,8,sit,rec\n8,20,walk,rec\n0,20,other,elsewhere\n",
    )
    .unwrap();
    let mut o = IngestOptions::new(dir.path().join("rec.csv"));
    o.time.rate_hz = Some(50.0);
    o.labels = Some(LabelsOptions::new(dir.path().join("labels.csv")));
    o.split = SplitSpec::TimeRatios {
        train: 1.0,
        val: 0.0,
    };
    let out = dir.path().join("o.parquet");
    let s = ingest(&o, &out).unwrap();
    // 19 windows; the change at 8 s = row 400 is inside windows starting at 350 only.
    assert_eq!(
        s.store.windows + s.dropped_mixed,
        window_count(1000, 100, 50)
    );
    assert_eq!(s.dropped_mixed, 1);
    let ws = read(&out);
    for w in &ws {
        let start = (w.start_ms / 20) as usize;
        let expect = if start + 100 <= 400 { "sit" } else { "walk" };
        assert_eq!(w.label.as_deref(), Some(expect), "window at row {start}");
    }
    assert_eq!(s.store.label_counts.get("sit"), Some(&7));
}
