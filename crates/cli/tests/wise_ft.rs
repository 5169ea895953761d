//! `wearlang wise-ft` end to end: AIM pretraining, a sensor-language run
//! initialised from it, blends of the two that `embed` and `eval` read.
mod common;
use common::{captioned_store, embed, minilm_dir, stderr, tiny_pretrain_config, wearlang};
use std::path::Path;

fn run_ok(args: &[&str]) {
    let out = wearlang(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

fn wise(run: &Path, alpha: &str, out: &Path) -> std::process::Output {
    wearlang(&[
        "wise-ft",
        "--run",
        run.to_str().unwrap(),
        "--alpha",
        alpha,
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn blends_of_a_fine_tuned_run_and_its_pretraining_load_like_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = captioned_store(d);
    let s = store.to_str().unwrap();
    let mae_cfg = tiny_pretrain_config(d);
    let mae = d.join("mae");
    run_ok(&[
        "pretrain",
        "--store",
        s,
        "--config",
        mae_cfg.to_str().unwrap(),
        "--out",
        mae.to_str().unwrap(),
        "--quiet",
        "--no-report",
    ]);
    let cfg = d.join("clip.toml");
    std::fs::write(
        &cfg,
        "name = \"t\"\nbatch_size = 2\nmax_steps = 2\nlog_every = 1\ncheckpoint_every = 1\n\
         [sensor]\nkind = \"patch\"\n[text]\nvariants = [\"high+middle+low\"]\n\
         [projection]\nout_dim = 16\n[optim]\nlr = 0.05\n",
    )
    .unwrap();
    let ft = d.join("clip");
    let minilm = minilm_dir();
    run_ok(&[
        "train",
        "--store",
        s,
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        ft.to_str().unwrap(),
        "--init-from",
        mae.to_str().unwrap(),
        "--minilm",
        minilm.to_str().unwrap(),
        "--quiet",
        "--no-report",
    ]);

    // The pretraining run is found from the run's own config.
    let keep = d.join("keep");
    let out = wise(&ft, "1", &keep);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("tensors blended"));
    let half = d.join("half");
    assert!(wise(&ft, "0.5", &half).status.success());
    let config = std::fs::read_to_string(half.join("checkpoint/config.json")).unwrap();
    assert!(
        config.contains("\"wise_ft\"") && config.contains("\"alpha\": 0.5"),
        "{config}"
    );

    // α = 1 embeds exactly as the fine-tuned run; α = 0.5 does not.
    let emb = |model: &Path, name: &str| {
        let path = d.join(name);
        let o = embed(model, &store, &path);
        assert!(o.status.success(), "{}", stderr(&o));
        std::fs::read(&path).unwrap()
    };
    let fine = emb(&ft, "ft.parquet");
    assert_eq!(emb(&keep, "keep.parquet"), fine);
    assert_ne!(emb(&half, "half.parquet"), fine);
    // And the evaluation reads the blend.
    let ev = d.join("eval_half");
    run_ok(&[
        "eval",
        "--checkpoint",
        half.to_str().unwrap(),
        "--store",
        s,
        "--out",
        ev.to_str().unwrap(),
        "--protocol",
        "zero-shot",
        "--minilm",
        minilm.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(ev.join("metrics.json").is_file());

    // Clear errors: α out of range, a run that is not a blendable one.
    let bad = d.join("bad");
    let o = wise(&ft, "2", &bad);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("alpha"), "{}", stderr(&o));
    let o = wise(&mae, "0.5", &bad);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("kind is \"mae\"") && !stderr(&o).contains("panicked"),
        "{}",
        stderr(&o)
    );
    assert!(!bad.join("checkpoint").exists());
}
