//! Sharded ingest: the shards of one ingest (`IngestOptions::shard`),
//! written separately as the jobs of an array would write them, read back
//! as one store equal that ingest window for window, with the same splits,
//! labels and (pooled) normalisation; a missing shard is an error.
mod common;

use common::read_windows;
use std::path::{Path, PathBuf};
use wearlang_core::Window;
use wearlang_ingest::{ingest, ChannelOption, IngestOptions, StreamOptions, TimeOptions};
use wearlang_store::{ShardBy, ShardSpec, StoreReader};

fn fixture_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/shoulder/manifest.toml")
}

fn read(path: &Path) -> (StoreReader, Vec<Window>) {
    let r = StoreReader::open(path).unwrap();
    let mut ws = read_windows(path);
    ws.sort_by(|a, b| {
        (&a.subject, &a.recording, a.start_ms).cmp(&(&b.subject, &b.recording, b.start_ms))
    });
    (r, ws)
}

/// Ingest `opts` whole and as `count` shards into `dir`; assert the two
/// stores hold the same windows and metadata. Returns the shard directory.
fn assert_shards_equal_whole(
    opts: &IngestOptions,
    count: usize,
    by: ShardBy,
    dir: &Path,
) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let whole = dir.join("whole.parquet");
    ingest(opts, &whole).unwrap();
    let sharded = dir.join(format!("sharded{count}-{by:?}"));
    std::fs::create_dir_all(&sharded).unwrap();
    for index in 0..count {
        let mut o = opts.clone();
        let spec = ShardSpec { index, count, by };
        o.shard = Some(spec);
        ingest(&o, &spec.path_in(&sharded)).unwrap();
    }
    let (a, wa) = read(&whole);
    let (b, wb) = read(&sharded);
    assert_eq!(wa.len(), wb.len());
    for (x, y) in wa.iter().zip(&wb) {
        assert_eq!(
            (&x.subject, &x.recording, x.start_ms, &x.label, x.split),
            (&y.subject, &y.recording, y.start_ms, &y.label, y.split)
        );
        assert_eq!(x.missing, y.missing);
        assert!(x
            .values
            .iter()
            .zip(&y.values)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
    }
    let (ma, mb) = (a.meta(), b.meta());
    assert_eq!(ma.labels, mb.labels);
    assert_eq!(ma.split, mb.split);
    let (na, nb) = (
        ma.normalisation.as_ref().unwrap(),
        mb.normalisation.as_ref().unwrap(),
    );
    assert_eq!(na.count, nb.count);
    for j in 0..na.mean.len() {
        assert!(
            (na.mean[j] - nb.mean[j]).abs() <= 1e-9 * na.std[j],
            "mean {j}"
        );
        assert!((na.std[j] - nb.std[j]).abs() <= 1e-9 * na.std[j], "std {j}");
    }
    assert_eq!(a.summary().unwrap(), b.summary().unwrap());
    sharded
}

#[test]
fn shards_of_the_fixture_equal_one_ingest_with_subject_ratio_splits() {
    // One Parquet file with a subject column; splits drawn over subjects.
    let dir = tempfile::tempdir().unwrap();
    let opts = IngestOptions::from_manifest(fixture_manifest()).unwrap();
    assert!(matches!(
        opts.split,
        wearlang_core::SplitSpec::SubjectRatios { .. }
    ));
    assert_shards_equal_whole(&opts, 4, ShardBy::Subject, dir.path());
    // By recording: a subject's recordings spread over the shards, the
    // store read back is the same.
    let by_rec = assert_shards_equal_whole(&opts, 4, ShardBy::Recording, dir.path());
    let shards_of = |subject: &str| {
        (0..4)
            .filter(|&i| {
                read_windows(&ShardSpec::new(i, 4).path_in(&by_rec))
                    .iter()
                    .any(|w| w.subject == subject)
            })
            .count()
    };
    let (_, all) = read(&by_rec);
    assert!(all.iter().any(|w| shards_of(&w.subject) > 1));
    // Shards of a partition by subject beside one by recording: refused.
    let mixed = dir.path().join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    for (i, by) in [(0, ShardBy::Subject), (1, ShardBy::Recording)] {
        let mut o = opts.clone();
        let spec = ShardSpec {
            index: i,
            count: 2,
            by,
        };
        o.shard = Some(spec);
        ingest(&o, &spec.path_in(&mixed)).unwrap();
    }
    let e = StoreReader::open(&mixed).unwrap_err().to_string();
    assert!(e.contains("partition by"), "{e}");
    // More shards than the fixture's 10 subjects: some shards are empty.
    let sharded = assert_shards_equal_whole(&opts, 13, ShardBy::Subject, dir.path());
    let empty = (0..13)
        .map(|i| ShardSpec::new(i, 13).path_in(&sharded))
        .filter(|p| StoreReader::open(p).unwrap().num_windows() == 0)
        .count();
    assert!(empty >= 3, "{empty} empty shards");
    // A shard job that did not finish: the store is refused, naming it.
    std::fs::remove_file(ShardSpec::new(5, 13).path_in(&sharded)).unwrap();
    let e = StoreReader::open(&sharded).unwrap_err().to_string();
    assert!(e.contains("1 of 13 shards missing (index 5)"), "{e}");
}

/// `t,ax,ay` rows of `n` samples at 50 Hz, values from `seed`.
fn csv(n: usize, seed: usize) -> String {
    let mut s = String::from("t,ax,ay\n");
    for i in 0..n {
        s += &format!(
            "{},{},{}\n",
            i * 20,
            (i * seed % 17) as f32 * 0.25,
            (i % 5) as f32
        );
    }
    s
}

#[test]
fn shards_of_a_directory_and_of_several_streams_equal_one_ingest() {
    // Subjects from file names (files of other shards are not opened), a
    // time split per recording; then a second stream beside it.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("acc");
    let hr = dir.path().join("hr");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&hr).unwrap();
    for p in 0..7 {
        std::fs::write(data.join(format!("p{p}.csv")), csv(400 + 37 * p, p + 3)).unwrap();
        std::fs::write(
            hr.join(format!("p{p}.csv")),
            "t,hr\n0,60\n1000,61\n2000,63\n5000,70\n",
        )
        .unwrap();
    }
    let mut opts = IngestOptions::new(&data);
    opts.time = TimeOptions {
        column: Some("t".into()),
        unit: wearlang_ingest::TimeUnit::Ms,
        ..Default::default()
    };
    opts.columns.channels = vec![ChannelOption::new("ax"), ChannelOption::new("ay")];
    opts.split = wearlang_core::SplitSpec::TimeRatios {
        train: 0.6,
        val: 0.2,
    };
    assert_shards_equal_whole(&opts, 3, ShardBy::Subject, &dir.path().join("one"));
    opts.streams = vec![StreamOptions {
        path: hr,
        format: Default::default(),
        time: opts.time.clone(),
        channels: vec![ChannelOption::new("hr")],
        max_interp_gap_s: Some(3.5),
    }];
    assert_shards_equal_whole(&opts, 3, ShardBy::Subject, &dir.path().join("two"));
    assert_shards_equal_whole(&opts, 3, ShardBy::Recording, &dir.path().join("three"));
}
