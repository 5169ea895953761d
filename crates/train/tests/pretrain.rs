//! The pretraining loop on real window stores (synthetic days with real
//! gaps): it learns, checkpoints atomically, resumes exactly, and rejects
//! bad configurations with the field's name.

use std::path::{Path, PathBuf};

use tch::Tensor;
use wearlang_core::SplitSpec;
use wearlang_synth::{write_store, SynthConfig};
use wearlang_train::checkpoint::{find_checkpoint, MODEL_FILE};
use wearlang_train::{load_mae, pretrain, EncoderSpec, PretrainConfig, PretrainOptions};

fn synth_store(dir: &Path) -> PathBuf {
    synth_store_seeded(dir, "days.parquet", 5)
}

fn synth_store_seeded(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let path = dir.join(name);
    let cfg = SynthConfig {
        subjects: 4,
        days: 3,
        seed,
        ..SynthConfig::default()
    };
    let split = SplitSpec::SubjectRatios {
        train: 0.5,
        val: 0.25,
        seed: 0,
    };
    write_store(&cfg, &path, &split).unwrap();
    path
}

fn tiny(max_steps: u64) -> PretrainConfig {
    let mut c = PretrainConfig {
        seed: 3,
        batch_size: 3,
        max_steps,
        checkpoint_every: 2,
        log_every: 1,
        encoder: EncoderSpec {
            preset: "tiny".into(),
            patch_time: 60,
            patch_channel: 1,
            ..EncoderSpec::default()
        },
        ..PretrainConfig::default()
    };
    c.schedule.warmup_steps = 2;
    c.decoder.dim = 32;
    c.decoder.depth = 1;
    c
}

fn opts(store: &Path, out: &Path, resume: bool, stop_after: Option<u64>) -> PretrainOptions {
    PretrainOptions {
        store: store.to_path_buf(),
        extra_stores: Vec::new(),
        out: out.to_path_buf(),
        resume,
        progress: false,
        stop_after,
        values: Default::default(),
    }
}

/// The `loss` field of every line of a metrics log.
fn logged_losses(log: &str) -> Vec<f64> {
    log.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["loss"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

fn model_tensors(out: &Path) -> Vec<(String, Tensor)> {
    let dir = find_checkpoint(out).expect("a checkpoint");
    let mut t = Tensor::read_safetensors(dir.join(MODEL_FILE)).unwrap();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

#[test]
fn pretraining_learns_and_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let store = synth_store(tmp.path());

    // Straight run of 6 steps.
    let a = tmp.path().join("a");
    let sa = pretrain(&tiny(6), &opts(&store, &a, false, None)).unwrap();
    assert_eq!(sa.steps, 6);
    assert!(sa.final_loss.is_finite());
    let log = std::fs::read_to_string(a.join("metrics.jsonl")).unwrap();
    let losses = logged_losses(&log);
    assert_eq!(losses.len(), 6);

    // Interrupted after 3 steps, then resumed to 6: identical weights and log.
    let b = tmp.path().join("b");
    let sb = pretrain(&tiny(6), &opts(&store, &b, false, Some(3))).unwrap();
    assert_eq!(sb.steps, 3);
    let sb = pretrain(&tiny(6), &opts(&store, &b, true, None)).unwrap();
    assert_eq!(sb.steps, 6);
    let (ta, tb) = (model_tensors(&a), model_tensors(&b));
    assert_eq!(ta.len(), tb.len());
    for ((na, va), (nb, vb)) in ta.iter().zip(&tb) {
        assert_eq!(na, nb);
        let d = (va - vb).abs().max().double_value(&[]);
        assert!(d == 0.0, "{na} differs by {d} after resume");
    }
    // The resumed log holds the same records (all but the timing fields).
    let strip = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                let o = v.as_object_mut().unwrap();
                o.remove("samples_per_s");
                o.remove("data_wait_s");
                v
            })
            .collect()
    };
    let log_b = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
    assert_eq!(strip(&log_b), strip(&log));

    // A different seed gives different weights (the comparison above is not vacuous).
    let c = tmp.path().join("c");
    let mut other = tiny(6);
    other.seed = 4;
    pretrain(&other, &opts(&store, &c, false, None)).unwrap();
    let tc = model_tensors(&c);
    assert!(ta.iter().zip(&tc).any(|((_, x), (_, y))| !x.equal(y)));

    // The checkpoint loads back into a model.
    let mae = load_mae(&a, tch::Device::Cpu).unwrap();
    assert_eq!(mae.config.kind, "mae");
    // No temporary directories are left behind.
    assert!(std::fs::read_dir(&a).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp")));
}

#[test]
fn pretraining_reduces_the_masked_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let store = synth_store(tmp.path());
    let out = tmp.path().join("run");
    let mut cfg = tiny(200);
    cfg.log_every = 20;
    cfg.checkpoint_every = 1000;
    cfg.optim.lr = 3e-3;
    pretrain(&cfg, &opts(&store, &out, false, None)).unwrap();
    let log = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let losses = logged_losses(&log);
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(last < 0.8 * first, "loss {first} -> {last}: {losses:?}");
}

/// Pretraining on every window of several stores: the second store's
/// training windows join the first's, the checkpoint records both, a
/// resume with another set of stores is refused, and the validation loss
/// covers both stores' validation windows.
#[test]
fn pretraining_pools_several_stores() {
    let tmp = tempfile::tempdir().unwrap();
    let first = synth_store(tmp.path());
    let second = synth_store_seeded(tmp.path(), "more.parquet", 9);
    let out = tmp.path().join("run");
    let one = pretrain(
        &tiny(2),
        &opts(&first, &tmp.path().join("one"), false, None),
    )
    .unwrap();
    let mut o = opts(&first, &out, false, None);
    o.extra_stores = vec![second.clone()];
    let both = pretrain(&tiny(2), &o).unwrap();
    let n2 = wearlang_models::load_training_windows(&second)
        .unwrap()
        .len();
    assert!(n2 > 0);
    assert_eq!(both.train_windows, one.train_windows + n2);
    assert!(both.val_loss.is_some_and(f64::is_finite));
    let loaded = load_mae(&out, tch::Device::Cpu).unwrap();
    assert_eq!(loaded.config.extra_stores, std::slice::from_ref(&second));
    // Resuming on the first store alone is another run.
    let err = pretrain(&tiny(4), &opts(&first, &out, true, None))
        .unwrap_err()
        .to_string();
    assert!(err.contains("extra_store"), "{err}");
}

/// Pretraining with the windows' values in a mapped file gives the run
/// it gives with them in memory, bit for bit.
#[test]
fn values_on_disk_pretrain_the_same_model() {
    let tmp = tempfile::tempdir().unwrap();
    let first = synth_store(tmp.path());
    let second = synth_store_seeded(tmp.path(), "more.parquet", 9);
    let run = |name: &str, on_disk: bool| {
        let out = tmp.path().join(name);
        let mut o = opts(&first, &out, false, None);
        o.extra_stores = vec![second.clone()];
        if on_disk {
            o.values = wearlang_models::ValueHome::Disk(out.clone());
        }
        pretrain(&tiny(3), &o).unwrap();
        model_tensors(&out)
    };
    let (a, b) = (run("mem", false), run("disk", true));
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na} differs");
    }
}

#[test]
fn bad_configs_and_resume_mismatches_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let store = synth_store(tmp.path());
    let out = tmp.path().join("run");

    let mut cfg = tiny(2);
    cfg.channel_weights = Some(vec![1.0, 2.0]);
    let err = pretrain(&cfg, &opts(&store, &out, false, None))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("channel_weights") && err.contains("5 channels"),
        "{err}"
    );

    let mut cfg = tiny(2);
    cfg.encoder.patch_time = 7; // 1440 is not a multiple of 7
    assert!(pretrain(&cfg, &opts(&store, &out, false, None)).is_err());

    let err = pretrain(
        &tiny(2),
        &opts(&store, &tmp.path().join("none"), true, None),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no checkpoint"), "{err}");

    pretrain(&tiny(2), &opts(&store, &out, false, None)).unwrap();
    let mut other = tiny(4);
    other.encoder.dim = Some(32);
    let err = pretrain(&other, &opts(&store, &out, true, None))
        .unwrap_err()
        .to_string();
    // Every difference is named with both values.
    assert!(
        err.contains("config.json")
            && err.contains("run.encoder.dim: null → 32")
            && err.contains("run.max_steps: 2 → 4"),
        "{err}"
    );

    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "batch_size = 0\n").unwrap();
    let err = PretrainConfig::from_file(&bad).unwrap_err().to_string();
    assert!(err.contains("batch_size"), "{err}");
    std::fs::write(&bad, "batchsize = 3\n").unwrap();
    let err = PretrainConfig::from_file(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad.toml") && err.contains("batchsize"),
        "{err}"
    );
}

#[test]
fn shipped_configs_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    for name in [
        "pretrain_fixture.toml",
        "pretrain_synth.toml",
        "pretrain_general.toml",
    ] {
        PretrainConfig::from_file(&root.join(name)).unwrap();
    }
    // The AIM ablations of docs/pretraining.md.
    let ablations = root.join("ablations/aim");
    let mut n = 0;
    for entry in std::fs::read_dir(&ablations).unwrap() {
        let path = entry.unwrap().path();
        // `ablation.toml` is the directory's manifest (`cargo xtask ablate`).
        let manifest = path.file_name().is_some_and(|n| n == "ablation.toml");
        if path.extension().is_some_and(|e| e == "toml") && !manifest {
            PretrainConfig::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            n += 1;
        }
    }
    assert!(n >= 10, "{n} ablation configs in {}", ablations.display());
}
