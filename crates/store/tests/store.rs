//! Integration tests of the window store.
use std::collections::BTreeSet;
use std::path::Path;
use wearlang_core::{
    ChannelKind, ChannelSpec, Error, Event, EventKind, LabelVocab, Normalisation, Split, SplitSpec,
    Window,
};
use wearlang_store::{
    add_caption_columns, rewrite, rewrite_batches, ReadOptions, StoreMeta, StoreReader,
    StoreWriter, WriteOptions, FORMAT_VERSION, META_KEY,
};

const LEN: usize = 4;

fn channels() -> Vec<ChannelSpec> {
    vec![
        ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate),
        ChannelSpec::new("steps", "count", ChannelKind::Steps),
    ]
}

/// Window `i`: values depend on `i` so that every window is distinct; every
/// third window has a NaN, odd windows have events and a caption.
fn window(i: usize) -> Window {
    let mut values: Vec<f32> = (0..LEN * 2).map(|k| (i * 100 + k) as f32 * 0.5).collect();
    if i.is_multiple_of(3) {
        values[3] = f32::NAN;
        values[6] = f32::NAN;
    }
    let mut w = Window::from_values(
        format!("s{}", i % 5),
        format!("s{}-r{}", i % 5, i / 5),
        i as i64 * 1000,
        1.0,
        2,
        values,
    )
    .unwrap();
    w.split = match i % 5 {
        0..=2 => Split::Train,
        3 => Split::Val,
        _ => Split::Test,
    };
    w.label = (!i.is_multiple_of(4)).then(|| ["walk", "run", "sit"][i % 3].to_string());
    if i % 2 == 1 {
        w.events = vec![
            Event {
                kind: EventKind::Activity,
                label: "running".into(),
                start_s: 0.5,
                end_s: 2.0 + i as f64,
            },
            Event {
                kind: EventKind::Mood,
                label: "happy".into(),
                start_s: 3.0,
                end_s: 3.0,
            },
        ];
        w.captions
            .insert("low".into(), format!("caption of window {i}"));
    }
    w
}

fn meta() -> StoreMeta {
    let mut m = StoreMeta::new(channels(), LEN, 1.0);
    m.source = "test".into();
    m.caption_columns = vec!["low".into(), "high".into()];
    m.labels = LabelVocab::sorted(["walk", "run", "sit"]);
    m.split = Some(SplitSpec::default());
    m.extra.insert("seed".into(), serde_json::json!(7));
    m
}

fn write_store(path: &Path, n: usize, row_group_rows: usize) -> Vec<Window> {
    let windows: Vec<Window> = (0..n).map(window).collect();
    let opts = WriteOptions {
        row_group_rows,
        ..WriteOptions::default()
    };
    let mut w = StoreWriter::create_with(path, meta(), opts).unwrap();
    // Several write calls of different sizes.
    for chunk in windows.chunks(7) {
        w.write(chunk).unwrap();
    }
    let norm = Normalisation::fit(&windows, 2);
    w.meta_mut().normalisation = Some(norm);
    w.finish().unwrap();
    windows
}

/// Equality that treats NaN == NaN.
fn same_window(a: &Window, b: &Window) -> bool {
    let vals = a.values.len() == b.values.len()
        && a.values
            .iter()
            .zip(&b.values)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
    let mut a2 = a.clone();
    let mut b2 = b.clone();
    a2.values.clear();
    b2.values.clear();
    vals && a2 == b2
}

#[test]
fn round_trip_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let windows = write_store(&path, 23, 0);
    let r = StoreReader::open(&path).unwrap();
    assert_eq!(r.num_windows(), 23);
    let mut expected_meta = meta();
    expected_meta.normalisation = Some(Normalisation::fit(&windows, 2));
    assert_eq!(r.meta(), &expected_meta);
    assert_eq!(r.meta().format_version, FORMAT_VERSION);
    let back = r.read_all(ReadOptions::default()).unwrap();
    assert_eq!(back.len(), windows.len());
    for (a, b) in windows.iter().zip(&back) {
        assert!(same_window(a, b), "{a:?}\n!=\n{b:?}");
    }
    // NaN and masks survive.
    assert!(back[0].values[3].is_nan() && back[0].missing[3]);
    assert!(!back[1].missing[3]);
    assert_eq!(back[1].events.len(), 2);
    assert_eq!(back[1].captions["low"], "caption of window 1");
    assert!(!back[0].captions.contains_key("low"));
}

#[test]
fn summary_matches_the_windows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let windows = write_store(&path, 23, 5);
    let from_reader = StoreReader::open(&path).unwrap().summary().unwrap();
    assert_eq!(from_reader.windows, 23);
    assert_eq!(from_reader.subjects, 5);
    let recs: BTreeSet<_> = windows.iter().map(|w| &w.recording).collect();
    assert_eq!(from_reader.recordings, recs.len());
    let labelled = windows.iter().filter(|w| w.label.is_some()).count();
    assert_eq!(from_reader.label_counts.values().sum::<usize>(), labelled);
    assert_eq!(from_reader.unlabelled, 23 - labelled);
    let train = windows.iter().filter(|w| w.split == Split::Train).count();
    assert_eq!(from_reader.split_counts["train"], train);
    assert_eq!(
        from_reader.subjects_per_split["val"],
        vec!["s3".to_string()]
    );
    let mf = windows.iter().map(|w| w.missing_fraction()).sum::<f64>() / 23.0;
    assert!((from_reader.missing_fraction - mf).abs() < 1e-6);
    assert_eq!(from_reader.window_len, LEN);
    assert_eq!(from_reader.channels, channels());
}

#[test]
fn batches_cover_every_window_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write_store(&path, 50, 8);
    let r = StoreReader::open(&path).unwrap();
    assert!(r.num_row_groups() >= 6, "{} row groups", r.num_row_groups());
    let opts = ReadOptions {
        batch_size: 3,
        ..ReadOptions::default()
    };
    let mut seen = Vec::new();
    for batch in r.batches(opts).unwrap() {
        let batch = batch.unwrap();
        assert!(!batch.is_empty() && batch.len() <= 3);
        seen.extend(batch.into_iter().map(|w| w.start_ms));
    }
    let expected: Vec<i64> = (0..50).map(|i| i * 1000).collect();
    assert_eq!(seen, expected);
}

#[test]
fn split_filter_returns_only_that_split() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let windows = write_store(&path, 40, 6);
    let r = StoreReader::open(&path).unwrap();
    let mut total = 0;
    for split in [Split::Train, Split::Val, Split::Test] {
        let opts = ReadOptions {
            split: Some(split),
            batch_size: 4,
            ..ReadOptions::default()
        };
        let got = r.read_all(opts).unwrap();
        let want: Vec<&Window> = windows.iter().filter(|w| w.split == split).collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!(same_window(g, w));
        }
        total += got.len();
    }
    assert_eq!(total, 40);
}

#[test]
fn normalise_applies_the_stored_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let windows = write_store(&path, 12, 0);
    let r = StoreReader::open(&path).unwrap();
    let norm = r.meta().normalisation.clone().unwrap();
    let got = r
        .read_all(ReadOptions {
            normalise: true,
            ..ReadOptions::default()
        })
        .unwrap();
    for (g, w) in got.iter().zip(&windows) {
        for (k, (&x, &raw)) in g.values.iter().zip(&w.values).enumerate() {
            if raw.is_nan() {
                assert!(x.is_nan());
                assert!(g.missing[k]);
            } else {
                let c = k % 2;
                let want = ((raw as f64 - norm.mean[c]) / norm.std[c]) as f32;
                assert!((x - want).abs() < 1e-5, "{x} vs {want}");
            }
        }
    }
    // Train-split values normalised have mean ~0 per channel.
    let train: Vec<f32> = got
        .iter()
        .filter(|w| w.split == Split::Train)
        .flat_map(|w| w.observed(0).collect::<Vec<_>>())
        .collect();
    let mean = train.iter().map(|&v| v as f64).sum::<f64>() / train.len() as f64;
    assert!(mean.abs() < 1e-4, "{mean}");
}

#[test]
fn normalise_without_statistics_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let mut w = StoreWriter::create(&path, StoreMeta::new(channels(), LEN, 1.0)).unwrap();
    w.write(&[window(1)]).unwrap_err(); // caption 'low' has no column
    let mut plain = window(2);
    plain.captions.clear();
    w.write(&[plain]).unwrap();
    w.finish().unwrap();
    let r = StoreReader::open(&path).unwrap();
    let err = r
        .batches(ReadOptions {
            normalise: true,
            ..ReadOptions::default()
        })
        .err()
        .unwrap();
    assert!(err.to_string().contains("normalisation"), "{err}");
}

#[test]
fn drop_without_finish_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    {
        let mut w = StoreWriter::create(&path, meta()).unwrap();
        w.write(&[window(1), window(2)]).unwrap();
        assert!(!path.exists());
    }
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn destination_is_untouched_until_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write_store(&path, 10, 0);
    let before = std::fs::read(&path).unwrap();
    let mut w = StoreWriter::create(&path, meta()).unwrap();
    w.write(&[window(1)]).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(StoreReader::open(&path).unwrap().num_windows(), 10);
    // A hidden temporary file exists beside it meanwhile.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.iter().any(|n| n.starts_with(".s.parquet")));
    w.finish().unwrap();
    assert_eq!(StoreReader::open(&path).unwrap().num_windows(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let plain_mode = std::fs::metadata(&plain).unwrap().permissions().mode();
        std::fs::remove_file(&plain).unwrap();
        assert_eq!(
            mode & 0o777,
            plain_mode & 0o777,
            "a store is readable like any data file"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn truncated_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write_store(&path, 10, 0);
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = StoreReader::open(&cut).unwrap_err();
    assert!(err.to_string().contains("cut.parquet"), "{err}");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello, not parquet").unwrap();
    let err = StoreReader::open(&text).unwrap_err();
    assert!(err.to_string().contains("notes.txt"), "{err}");
    let err = StoreReader::open(dir.path().join("absent.parquet")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }));
    assert!(err.to_string().contains("absent.parquet"), "{err}");
}

#[test]
fn wrong_shape_windows_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let mut w = StoreWriter::create(&path, meta()).unwrap();
    let short = Window::from_values("s", "r", 0, 1.0, 2, vec![1.0; 6]).unwrap();
    let err = w.write(&[window(0), short]).unwrap_err();
    assert!(matches!(err, Error::Shape(_)), "{err}");
    assert!(err.to_string().contains("s.parquet"), "{err}");
    let three = Window::from_values("s", "r", 0, 1.0, 3, vec![1.0; 12]).unwrap();
    assert!(w.write(&[three]).is_err());
    let slow = Window::from_values("s", "r", 0, 2.0, 2, vec![1.0; 8]).unwrap();
    assert!(w.write(&[slow]).is_err());
    let mut bad_mask = window(1);
    bad_mask.missing[0] = true;
    assert!(w.write(&[bad_mask]).is_err());
    // Nothing of the rejected calls was written.
    w.write(&[window(5)]).unwrap();
    let s = w.finish().unwrap();
    assert_eq!(s.windows, 1);
    assert_eq!(StoreReader::open(&path).unwrap().num_windows(), 1);
}

#[test]
fn changing_fixed_meta_fails_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let mut w = StoreWriter::create(&path, meta()).unwrap();
    w.meta_mut().window_len = 99;
    assert!(w.finish().is_err());
    assert!(!path.exists());
}

/// Write a plain Parquet file with the store's metadata but without the
/// `values` column.
fn write_without_values(path: &Path) {
    use arrow::array::{ArrayRef, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use parquet::file::metadata::KeyValue;
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![Field::new(
        "subject",
        DataType::Utf8,
        false,
    )]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(vec!["s1"])) as ArrayRef],
    )
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    w.write(&batch).unwrap();
    let json = serde_json::to_string(&meta()).unwrap();
    w.append_key_value_metadata(KeyValue::new(META_KEY.to_string(), json));
    w.close().unwrap();
}

#[test]
fn missing_column_and_missing_metadata_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("partial.parquet");
    write_without_values(&path);
    let err = StoreReader::open(&path).unwrap_err().to_string();
    assert!(err.contains("partial.parquet"), "{err}");
    assert!(err.contains("recording"), "{err}");
    assert!(err.contains("missing"), "{err}");

    // Parquet without our metadata key.
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let batch = arrow::record_batch::RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(Int64Array::from(vec![1])) as ArrayRef],
    )
    .unwrap();
    let other = dir.path().join("other.parquet");
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&other).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let err = StoreReader::open(&other).unwrap_err().to_string();
    assert!(
        err.contains("other.parquet") && err.contains(META_KEY),
        "{err}"
    );
}

#[test]
fn wrong_version_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    write_store(&path, 3, 0);
    let dst = dir.path().join("v2.parquet");
    // Rewrite the footer metadata with another version via a raw copy.
    let r = StoreReader::open(&path).unwrap();
    let mut m = r.meta().clone();
    m.format_version = FORMAT_VERSION + 1;
    assert!(StoreWriter::create(&dst, m.clone()).is_err());
    // Forge one with the parquet writer directly.
    let file = std::fs::File::open(&path).unwrap();
    let builder =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = builder.schema().clone();
    let reader = builder.build().unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&dst).unwrap(), schema, None)
            .unwrap();
    for b in reader {
        w.write(&b.unwrap()).unwrap();
    }
    w.append_key_value_metadata(parquet::file::metadata::KeyValue::new(
        META_KEY.to_string(),
        serde_json::to_string(&m).unwrap(),
    ));
    w.close().unwrap();
    let err = StoreReader::open(&dst).unwrap_err().to_string();
    assert!(
        err.contains("v2.parquet") && err.contains("version"),
        "{err}"
    );
}

#[test]
fn rewrite_adds_captions_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let windows = write_store(&path, 30, 7);
    let summary = rewrite(
        &path,
        &path,
        |w| {
            w.captions.insert(
                "semantic".into(),
                format!("{} at {}", w.subject, w.start_ms),
            );
            Ok(())
        },
        &["semantic".to_string()],
    )
    .unwrap();
    assert_eq!(summary.windows, 30);
    let r = StoreReader::open(&path).unwrap();
    assert_eq!(r.meta().caption_columns, ["low", "high", "semantic"]);
    let back = r.read_all(ReadOptions::default()).unwrap();
    for (a, b) in windows.iter().zip(&back) {
        assert_eq!(
            b.captions["semantic"],
            format!("{} at {}", a.subject, a.start_ms)
        );
        assert_eq!(a.captions.get("low"), b.captions.get("low"));
        assert!(same_window(
            a,
            &Window {
                captions: a.captions.clone(),
                ..b.clone()
            }
        ));
    }
    // An error in the callback leaves the source untouched.
    let before = std::fs::read(&path).unwrap();
    let err = rewrite(
        &path,
        &path,
        |_| Err(Error::param("x", "boom")),
        &["other".to_string()],
    )
    .unwrap_err();
    assert!(err.to_string().contains("boom"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn rewrite_batches_sees_offsets_and_records_meta() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("s.parquet");
    let dst = dir.path().join("d.parquet");
    write_store(&src, 25, 10);
    let mut offsets = Vec::new();
    let summary = rewrite_batches::<Error>(
        &src,
        &dst,
        |m| {
            add_caption_columns(m, &["low".to_string(), "index".to_string()]);
            m.extra
                .insert("note".into(), serde_json::json!("rewritten"));
            Ok(())
        },
        |offset, batch| {
            offsets.push((offset, batch.len()));
            for (i, w) in batch.iter_mut().enumerate() {
                w.captions.insert("index".into(), (offset + i).to_string());
            }
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(summary.windows, 25);
    // Batches are contiguous and cover the store in order.
    let mut next = 0;
    for (o, n) in &offsets {
        assert_eq!(*o, next);
        next += n;
    }
    assert_eq!(next, 25);
    let r = StoreReader::open(&dst).unwrap();
    assert_eq!(r.meta().caption_columns, ["low", "high", "index"]);
    assert_eq!(r.meta().extra["note"], "rewritten");
    let back = r.read_all(ReadOptions::default()).unwrap();
    for (i, w) in back.iter().enumerate() {
        assert_eq!(w.captions["index"], i.to_string());
    }
    // The caller's error type passes through; nothing is written.
    #[derive(Debug)]
    enum CallerError {
        Store(#[allow(dead_code)] Error),
        Mine(String),
    }
    impl From<Error> for CallerError {
        fn from(e: Error) -> Self {
            CallerError::Store(e)
        }
    }
    let err = rewrite_batches(
        &src,
        dir.path().join("never.parquet"),
        |_| Ok(()),
        |_, _| Err(CallerError::Mine("caller's error".into())),
    )
    .unwrap_err();
    assert!(matches!(err, CallerError::Mine(m) if m == "caller's error"));
    assert!(!dir.path().join("never.parquet").exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn bad_metadata_is_refused_on_open_naming_the_field() {
    // Normalisation with fewer standard deviations than means (an index
    // panic when windows were normalised), a non-positive std.
    let dir = tempfile::tempdir().unwrap();
    type Edit = fn(&mut StoreMeta);
    let cases: [(&str, Edit); 2] = [
        ("normalisation.std", |m| {
            if let Some(n) = m.normalisation.as_mut() {
                n.std.pop();
            }
        }),
        ("normalisation.std[0]", |m| {
            if let Some(n) = m.normalisation.as_mut() {
                n.std[0] = 0.0;
            }
        }),
    ];
    for (i, (field, edit)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("s{i}.parquet"));
        let windows: Vec<Window> = (0..5).map(window).collect();
        let mut w = StoreWriter::create(&path, meta()).unwrap();
        w.write(&windows).unwrap();
        w.meta_mut().normalisation = Some(Normalisation::fit(&windows, 2));
        edit(w.meta_mut());
        // The writer may refuse it already; a store written by another tool
        // is refused when opened (the fuzz corpus holds one: store_meta).
        if let Err(e) = w.finish() {
            assert!(e.to_string().contains("normalisation"), "{e}");
            assert_eq!(i, 0, "only the length mismatch is the writer's to refuse");
            continue;
        }
        let err = StoreReader::open(&path).unwrap_err().to_string();
        assert!(
            err.contains(field) && err.contains(&format!("s{i}.parquet")),
            "{err}"
        );
    }
}
