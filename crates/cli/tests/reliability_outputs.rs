//! Outputs that must not lose or overwrite anything, and stores whose
//! metadata is damaged, through the `wearlang` binary: an embedding written
//! over its store (directly or through a link), evaluation outputs through
//! planted links and under a strict umask, a store whose normalisation has
//! fewer standard deviations than means, and ISO-8601 times with more
//! fractional digits than nanoseconds.
mod common;
use common::{
    assert_clear_error, captioned_store, embed, minilm_dir, stderr, synth_store_of, trained_run,
    wearlang,
};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

#[test]
fn an_embedding_written_over_its_store_is_refused_and_the_store_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = captioned_store(dir.path());
    let run = trained_run(dir.path(), &store);
    let before = std::fs::read(&store).unwrap();
    let link = dir.path().join("link.parquet");
    std::os::unix::fs::symlink(&store, &link).unwrap();
    for out_path in [&store, &link] {
        let out = embed(&run, &store, out_path);
        assert_clear_error(&out, &["replace the input", "days.parquet"]);
        assert_eq!(std::fs::read(&store).unwrap(), before, "the store is kept");
    }
}

#[test]
fn evaluation_outputs_replace_planted_links_and_follow_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let store = captioned_store(dir.path());
    let run = trained_run(dir.path(), &store);
    let eval_dir = dir.path().join("eval");
    std::fs::create_dir(&eval_dir).unwrap();
    // Links planted at the outputs' and the old fixed temporary names.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    for name in ["metrics.json", "metrics.tmp", "report.md", "summary.json"] {
        std::os::unix::fs::symlink(&victim, eval_dir.join(name)).unwrap();
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 077 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_wearlang"))
        .args([
            "eval",
            "--checkpoint",
            run.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
            "--out",
            eval_dir.to_str().unwrap(),
            "--protocol",
            "zero-shot",
            "--minilm",
            minilm_dir().to_str().unwrap(),
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    for name in ["metrics.json", "report.md", "summary.json"] {
        let p = eval_dir.join(name);
        let meta = std::fs::symlink_metadata(&p).unwrap();
        assert!(meta.file_type().is_file(), "{name} is a file, not a link");
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "{name} under umask 077"
        );
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(eval_dir.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(metrics["results"][0]["protocol"], "zero_shot");
}

/// Rewrite the store at `path` with its metadata JSON changed by `edit`.
fn edit_store_meta(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::metadata::KeyValue;
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let kv = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap();
    let text = kv.iter().find(|k| k.key == "wearlang").unwrap();
    let mut meta: serde_json::Value = serde_json::from_str(text.value.as_deref().unwrap()).unwrap();
    edit(&mut meta);
    let schema = builder.schema().clone();
    let batches: Vec<arrow::record_batch::RecordBatch> =
        builder.build().unwrap().map(|b| b.unwrap()).collect();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "wearlang".to_string(),
            meta.to_string(),
        )]))
        .build();
    let out = std::fs::File::create(path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(out, schema, Some(props)).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
}

#[test]
fn a_store_with_fewer_standard_deviations_than_means_fails_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = captioned_store(dir.path());
    edit_store_meta(&store, |m| {
        let std = m["normalisation"]["std"].as_array_mut().unwrap();
        assert!(std.len() > 1);
        std.truncate(1);
    });
    let s = store.to_str().unwrap();
    for args in [
        vec!["inspect", s],
        vec![
            "caption",
            s,
            "--out",
            dir.path().join("c.parquet").to_str().unwrap(),
        ],
    ] {
        let out = wearlang(&args);
        assert_clear_error(&out, &["days.parquet", "std"]);
    }
}

#[test]
fn iso_times_with_twenty_fractional_digits_give_the_windows_of_nine() {
    let dir = tempfile::tempdir().unwrap();
    let starts = |digits: usize| -> Vec<i64> {
        let csv = dir.path().join(format!("iso{digits}.csv"));
        let mut text = String::from("time,x,y\n");
        for i in 0..400u64 {
            let ms = i * 20;
            // The fraction's first three digits are the milliseconds; the
            // rest is zeros (20 digits used to wrap around by 553 ms).
            let frac = format!("{:03}{}", ms % 1000, "0".repeat(digits - 3));
            text += &format!(
                "2024-03-01T10:{:02}:{:02}.{frac}Z,{},{}\n",
                ms / 60_000,
                (ms / 1000) % 60,
                i % 7,
                i % 5
            );
        }
        std::fs::write(&csv, text).unwrap();
        let out_store = dir.path().join(format!("iso{digits}.parquet"));
        let out = wearlang(&[
            "ingest",
            csv.to_str().unwrap(),
            "--out",
            out_store.to_str().unwrap(),
            "--channels",
            "x,y",
            "--time-unit",
            "iso8601",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let ws = wearlang_store::StoreReader::open(&out_store)
            .unwrap()
            .read_all(wearlang_store::ReadOptions {
                batch_size: 256,
                split: None,
                normalise: false,
            })
            .unwrap();
        ws.iter().map(|w| w.start_ms).collect()
    };
    let nine = starts(9);
    assert!(nine.len() > 5, "{nine:?}");
    assert_eq!(starts(20), nine);
    assert_eq!(starts(25), nine);
}

#[test]
fn output_piped_into_a_reader_that_stops_early_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store_of(dir.path(), 4, 8);
    // Far more than a pipe holds (64 KB): the captions of every window,
    // 260 KB.
    let out = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" caption \"$1\" --out \"$2\" --show 100000 | head -c 10 > /dev/null")
        .arg(env!("CARGO_BIN_EXE_wearlang"))
        .arg(&store)
        .arg(dir.path().join("shown.parquet"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
}
