//! `wearlang ingest` of Actiwatch `.AWD` files end to end: a directory of
//! synthetic recordings (60-s and 30-s epochs, devices with and without a
//! second channel) becomes a store of day windows with a manifest like
//! `fixtures/actigraphy/manifest.toml`, which `wearlang caption` then
//! captions although it has only an activity channel; a malformed file is
//! an error naming its line.
mod common;
use common::{assert_fails_naming, stderr, summary, wearlang};
use std::path::{Path, PathBuf};
use std::process::Output;
use wearlang_store::{ReadOptions, StoreReader};

/// An AWD file at `path`: start `date` 08:30, epoch `code`, `serial`, and
/// `n` epochs whose activity is the epoch's index modulo 300 (with a light
/// value for an `L` serial).
fn write_awd(path: &Path, code: &str, serial: &str, n: usize) {
    let mut text =
        format!("{serial}\r\n02-Mar-2020\r\n08:30\r\n {code} \r\n00\r\n{serial}\r\nM\r\n");
    for i in 0..n {
        let v = i % 300;
        if serial.starts_with('L') {
            text += &format!("{v} , 12\r\n");
        } else {
            text += &format!("{v}\r\n");
        }
    }
    std::fs::write(path, text).unwrap();
}

/// The manifest: activity only, one-minute steps, day windows, subjects
/// split by ratio.
const MANIFEST: &str = r#"
[input]
format = "awd"

[columns]
channels = [{ name = "activity", unit = "counts", kind = "activity_intensity" }]

[window]
rate_hz = 0.016666666666666666
size_s = 86400.0
overlap = 0.0

[split]
kind = "subject_ratios"
train = 0.5
val = 0.25
seed = 0
"#;

/// `wearlang ingest <data> --json` with [`MANIFEST`] (written into `dir`)
/// into `dir/days.parquet`; returns the run and the store path.
fn ingest(dir: &Path, data: &Path) -> (Output, PathBuf) {
    let manifest = dir.join("manifest.toml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let store = dir.join("days.parquet");
    let o = wearlang(&[
        "ingest",
        data.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "--out",
        store.to_str().unwrap(),
        "--json",
    ]);
    (o, store)
}

#[test]
fn awd_files_ingest_into_captioned_day_windows() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("awd");
    std::fs::create_dir_all(&data).unwrap();
    // Four people: 3, 2, 2 and 1 whole days.
    write_awd(&data.join("a.AWD"), "4", "V1", 1440 * 3 + 100);
    write_awd(&data.join("b.AWD"), "2", "M1", 2880 * 2 + 10);
    write_awd(&data.join("c.awd"), "4", "L1", 1440 * 2);
    write_awd(&data.join("d.AWD"), "4", "V2", 1440 + 1439);
    let (o, store) = ingest(dir.path(), &data);
    let s = summary(&o);
    assert_eq!(s["files"], 4);
    assert_eq!(s["store"]["windows"], 8);
    assert_eq!(s["store"]["window_len"], 1440);
    assert_eq!(s["store"]["subjects"], 4);
    assert_eq!(s["store"]["missing_fraction"], 0.0);

    let o = wearlang(&["caption", store.to_str().unwrap(), "--seed", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let reader = StoreReader::open(&store).unwrap();
    let windows = reader.read_all(ReadOptions::default()).unwrap();
    assert_eq!(windows.len(), 8);
    for w in &windows {
        assert_eq!((w.channels, w.values.len()), (1, 1440));
        let low = &w.captions["low"];
        assert!(low.to_lowercase().contains("activity"), "{low}");
        assert!(!w.captions["high+middle+low"].is_empty());
    }
    // The 30-s file's minutes are the mean of two epochs: minute k of day
    // 0 holds epochs 2k − 1 and 2k.
    let b = windows
        .iter()
        .find(|w| w.subject == "b" && w.values[0] == 0.0)
        .unwrap();
    assert_eq!(b.values[1], 1.5);
}

#[test]
fn a_malformed_awd_file_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("awd");
    std::fs::create_dir_all(&data).unwrap();
    write_awd(&data.join("a.AWD"), "4", "V1", 1440 * 2);
    let bad = data.join("b.AWD");
    let mut text = std::fs::read_to_string(data.join("a.AWD")).unwrap();
    text = text.replacen("\r\n17\r\n", "\r\n17 , 3\r\n", 1);
    std::fs::write(&bad, text).unwrap();
    let (o, store) = ingest(dir.path(), &data);
    // Epoch 17 is on line 7 + 18.
    assert_fails_naming(&o, &store, &["b.AWD", "row 25", "2 value(s)"]);
}
