//! Sharded stores through the `wearlang` binary, as the jobs of an array
//! would run them: `ingest --shard I/N` and `caption --shard I/N` per
//! shard, then every command reading the directory as one store. The
//! shards equal one ingest and one captioning, window for window and
//! caption for caption.
mod common;
use common::{minilm_dir, stderr, wearlang};
use std::path::Path;
use wearlang_core::Window;
use wearlang_store::{ReadOptions, StoreReader};

fn manifest() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/shoulder/manifest.toml")
        .display()
        .to_string()
}

fn ok(args: &[&str]) {
    let out = wearlang(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

/// Ingest shard `i/n` of the fixture into the directory `out`; returns
/// `i/n`.
fn ingest_shard(out: &str, i: usize, n: usize) -> String {
    let shard = format!("{i}/{n}");
    let m = manifest();
    ok(&["ingest", "--manifest", &m, "--out", out, "--shard", &shard]);
    shard
}

fn sorted_windows(store: &Path) -> Vec<Window> {
    let mut ws = StoreReader::open(store)
        .unwrap()
        .read_all(ReadOptions::default())
        .unwrap();
    ws.sort_by(|a, b| {
        (&a.subject, &a.recording, a.start_ms).cmp(&(&b.subject, &b.recording, b.start_ms))
    });
    ws
}

fn assert_same(a: &[Window], b: &[Window]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            (&x.subject, &x.recording, x.start_ms, &x.label, x.split),
            (&y.subject, &y.recording, y.start_ms, &y.label, y.split)
        );
        assert_eq!(x.values, y.values);
        assert_eq!(x.captions, y.captions);
    }
}

#[test]
fn shards_ingested_and_captioned_separately_equal_one_run_and_train() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let whole = d.join("whole.parquet");
    let whole_s = whole.to_str().unwrap();
    ok(&["ingest", "--manifest", &manifest(), "--out", whole_s]);
    ok(&["caption", whole_s, "--show", "0"]);

    let sharded = d.join("sharded");
    let sharded_s = sharded.to_str().unwrap();
    for i in 0..3 {
        let shard = ingest_shard(sharded_s, i, 3);
        // In place: each job captions its own shard file.
        ok(&["caption", sharded_s, "--shard", &shard, "--show", "0"]);
    }
    let shard_files = std::fs::read_dir(&sharded)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("shard-")
        })
        .count();
    assert_eq!(shard_files, 3);
    assert_same(&sorted_windows(&whole), &sorted_windows(&sharded));

    // A sharded store captioned in place, whole: shard by shard.
    let sharded_b = d.join("sharded_b");
    let sharded_b_s = sharded_b.to_str().unwrap();
    for i in 0..3 {
        ingest_shard(sharded_b_s, i, 3);
    }
    ok(&["caption", sharded_b_s, "--show", "0"]);
    assert_same(&sorted_windows(&whole), &sorted_windows(&sharded_b));

    // Sharding a captioned single-file store gives the same shards too.
    let resharded = d.join("resharded");
    for i in 0..3 {
        let shard = format!("{i}/3");
        ok(&[
            "caption",
            whole_s,
            "--shard",
            &shard,
            "--out",
            resharded.to_str().unwrap(),
            "--show",
            "0",
        ]);
    }
    assert_same(&sorted_windows(&whole), &sorted_windows(&resharded));

    // Partitioned by recording: ingested and captioned in place per shard
    // (a shard file keeps all its windows), or cut from the whole store.
    let m = manifest();
    let by_rec = d.join("by_recording");
    let by_rec_s = by_rec.to_str().unwrap();
    let resharded_rec = d.join("resharded_recording");
    for i in 0..3 {
        let shard = format!("{i}/3");
        let by = ["--shard", shard.as_str(), "--shard-by", "recording"];
        ok(&[
            &["ingest", "--manifest", &m, "--out", by_rec_s][..],
            &by[..],
        ]
        .concat());
        ok(&[&["caption", by_rec_s, "--show", "0"][..], &by[..]].concat());
        let out = ["--out", resharded_rec.to_str().unwrap(), "--show", "0"];
        ok(&[&["caption", whole_s][..], &by[..], &out[..]].concat());
    }
    assert_same(&sorted_windows(&whole), &sorted_windows(&by_rec));
    assert_same(&sorted_windows(&whole), &sorted_windows(&resharded_rec));

    // Every command reads the directory as one store.
    let out = wearlang(&["inspect", sharded_s, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["subjects"], 10);
    let cfg = d.join("run.toml");
    std::fs::write(
        &cfg,
        "name = \"t\"\nbatch_size = 4\nmax_steps = 2\nlog_every = 1\n\
         [text]\nvariants = [\"activity\"]\n[projection]\nout_dim = 16\n",
    )
    .unwrap();
    ok(&[
        "train",
        "--store",
        sharded_s,
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        d.join("run").to_str().unwrap(),
        "--minilm",
        minilm_dir().to_str().unwrap(),
        "--quiet",
        "--no-report",
    ]);
    let cfg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("run/checkpoint/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(cfg["inputs"]["store"]["path"], sharded_s);

    // A shard job that did not finish.
    std::fs::remove_file(sharded.join("shard-00001-of-00003.parquet")).unwrap();
    let out = wearlang(&["inspect", sharded_s]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("1 of 3 shards missing (index 1)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_shard_option_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("s");
    for bad in ["3/3", "x", "1/0"] {
        let out = wearlang(&[
            "ingest",
            "--manifest",
            &manifest(),
            "--out",
            out_dir.to_str().unwrap(),
            "--shard",
            bad,
        ]);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("--shard"), "{}", stderr(&out));
    }
}
