//! `cargo xtask pipeline`: raw files to a report, one stage after another.
//!
//! Stages write under `target/pipeline/` (or `--out`). Each stage is a
//! `wearlang` CLI call on the release binary, so what the pipeline does, a
//! user can do by hand.
use crate::util::{cargo, exec, target_dir, workspace_root};
use anyhow::{bail, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Options of `cargo xtask pipeline`.
#[derive(clap::Args)]
pub struct PipelineArgs {
    /// Size profile: smoke (about a minute), default, full.
    #[arg(long, default_value = "default")]
    profile: String,
    /// Output directory (default: target/pipeline).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Your own recordings (file or directory) instead of the shoulder fixture;
    /// use with --manifest.
    #[arg(long, requires = "manifest")]
    data: Option<PathBuf>,
    /// Ingest manifest (TOML) describing --data.
    #[arg(long)]
    manifest: Option<PathBuf>,
}

/// Sizes per profile.
struct Profile {
    synth_subjects: usize,
    synth_days: usize,
    /// Masked-pretraining steps on the fixture windows.
    pretrain_steps_fixture: u64,
    /// Masked-pretraining steps on the synthetic days.
    pretrain_steps_days: u64,
    /// Held-out windows for the imputation report (0: all).
    report_windows: usize,
    /// Sensor-language training steps on the fixture (NLS and CoCa runs).
    train_steps: u64,
    /// Test windows captioned in the CoCa report.
    caption_windows: usize,
}

fn profile(name: &str) -> Result<Profile> {
    Ok(match name {
        "smoke" => Profile {
            synth_subjects: 4,
            synth_days: 2,
            pretrain_steps_fixture: 20,
            pretrain_steps_days: 10,
            report_windows: 128,
            train_steps: 20,
            caption_windows: 64,
        },
        "default" => Profile {
            synth_subjects: 20,
            synth_days: 7,
            pretrain_steps_fixture: 300,
            pretrain_steps_days: 150,
            report_windows: 0,
            train_steps: 300,
            caption_windows: 300,
        },
        "full" => Profile {
            synth_subjects: 100,
            synth_days: 14,
            pretrain_steps_fixture: 2000,
            pretrain_steps_days: 1500,
            report_windows: 0,
            train_steps: 1500,
            caption_windows: 0,
        },
        other => bail!("unknown profile '{other}' (smoke, default, full)"),
    })
}

/// Run the pipeline.
pub fn run(args: &PipelineArgs) -> Result<()> {
    let p = profile(&args.profile)?;
    let setup = crate::setup::run()?;
    setup.print();
    cargo(&["build", "--release", "-p", "wearlang-cli"])?;
    let bin = target_dir().join("release/wearlang");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("pipeline"));
    std::fs::create_dir_all(&out)?;
    let root = workspace_root();
    let started = Instant::now();

    let fixture_store = out.join("windows.parquet");
    stage("ingest", || {
        let mut cmd = Command::new(&bin);
        cmd.arg("ingest");
        match (&args.data, &args.manifest) {
            (Some(data), Some(manifest)) => {
                cmd.arg(data).arg("--manifest").arg(manifest);
            }
            (None, Some(manifest)) => {
                cmd.arg("--manifest").arg(manifest);
            }
            _ => {
                cmd.arg("--manifest")
                    .arg(root.join("fixtures/shoulder/manifest.toml"));
            }
        }
        exec(cmd.arg("--out").arg(&fixture_store))?;
        exec(Command::new(&bin).arg("inspect").arg(&fixture_store))
    })?;

    let synth_store = out.join("synthetic_days.parquet");
    stage("synthetic days", || {
        exec(
            Command::new(&bin)
                .arg("synth")
                .arg("--subjects")
                .arg(p.synth_subjects.to_string())
                .arg("--days")
                .arg(p.synth_days.to_string())
                .arg("--seed")
                .arg("0")
                .arg("--out")
                .arg(&synth_store),
        )?;
        exec(Command::new(&bin).arg("inspect").arg(&synth_store))
    })?;

    stage("caption", || {
        // Fixture windows get SensorLLM trend text and NLS activity text;
        // synthetic days get the eight SensorLM hierarchical variants.
        for store in [&fixture_store, &synth_store] {
            exec(
                Command::new(&bin)
                    .arg("caption")
                    .arg(store)
                    .arg("--seed")
                    .arg("0")
                    .arg("--show")
                    .arg("2"),
            )?;
        }
        Ok(())
    })?;

    stage("pretrain (AIM)", || {
        for (store, config, run, steps) in [
            (
                &fixture_store,
                "configs/pretrain_fixture.toml",
                "mae_fixture",
                p.pretrain_steps_fixture,
            ),
            (
                &synth_store,
                "configs/pretrain_synth.toml",
                "mae_days",
                p.pretrain_steps_days,
            ),
        ] {
            exec(
                Command::new(&bin)
                    .arg("pretrain")
                    .arg("--store")
                    .arg(store)
                    .arg("--config")
                    .arg(root.join(config))
                    .arg("--out")
                    .arg(out.join(run))
                    .arg("--max-steps")
                    .arg(steps.to_string())
                    .arg("--report-windows")
                    .arg(p.report_windows.to_string()),
            )?;
        }
        Ok(())
    })?;

    stage("sensor-language training", || {
        // NLS (conv + frozen MiniLM, CLIP) and SensorLM-CoCa (the AIM
        // encoder from the previous stage + captioning decoder), each with a
        // zero-shot / caption report on the fixture's test subjects.
        for (config, run, init) in [
            ("configs/nls_clip.toml", "nls_clip", None),
            (
                "configs/sensorlm_coca.toml",
                "sensorlm_coca",
                Some(out.join("mae_fixture")),
            ),
        ] {
            let mut cmd = Command::new(&bin);
            cmd.arg("train")
                .arg("--store")
                .arg(&fixture_store)
                .arg("--config")
                .arg(root.join(config))
                .arg("--out")
                .arg(out.join(run))
                .arg("--max-steps")
                .arg(p.train_steps.to_string())
                .arg("--caption-windows")
                .arg(p.caption_windows.to_string())
                .arg("--minilm")
                .arg(&setup.minilm);
            if let Some(dir) = init {
                cmd.arg("--init-from").arg(dir);
            }
            exec(&mut cmd)?;
        }
        Ok(())
    })?;

    eprintln!(
        "pipeline ({} profile) finished in {:.1} s; outputs in {}",
        args.profile,
        started.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}

fn stage(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    eprintln!("== stage: {name}");
    let t = Instant::now();
    f().map_err(|e| e.context(format!("pipeline stage '{name}' failed")))?;
    eprintln!("== stage {name} done in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}
