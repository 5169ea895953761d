//! `cargo xtask pipeline`: raw files to an evaluated model and a report,
//! one stage after another.
//!
//! Stages write under `target/pipeline/` (or `--out`). Each stage is a
//! `wearlang` CLI call on the release binary, so what the pipeline does, a
//! user can do by hand. A stage is skipped when its outputs exist and its
//! key (its settings, the keys of the stages it reads, the config files'
//! contents and the binary) matches the one recorded when it last finished
//! (`stamps/<stage>.done`); a training stage that was interrupted with the
//! same key resumes from its checkpoint.
use crate::util::{cargo, exec, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
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
    /// Run every stage even when its outputs are up to date.
    #[arg(long)]
    force: bool,
    /// Use the dev-profile `wearlang` (the one `cargo test` builds) instead
    /// of a release build: no second full build, slower Rust-side stages.
    #[arg(long)]
    debug: bool,
    /// libtorch intra-op threads of every stage (`WEARLANG_THREADS`). Results
    /// depend on it: 2 is what `docs/results.md`'s figures were produced
    /// with (this project's 2-core machine); 0 takes libtorch's default
    /// (every core: faster on a larger machine, other figures).
    #[arg(long, default_value_t = DOCUMENTED_THREADS)]
    threads: usize,
}

/// The libtorch thread count the documented figures were produced with.
pub(crate) const DOCUMENTED_THREADS: usize = 2;

/// The variable every `wearlang` process reads its libtorch thread count
/// from (`wearlang_device::THREADS_ENV`; xtask does not link libtorch, so
/// the name is repeated here and a test checks the two agree).
pub(crate) const THREADS_ENV: &str = "WEARLANG_THREADS";

impl PipelineArgs {
    /// The smoke profile into `out` on the dev-profile binary (what
    /// `cargo xtask test` runs after `cargo test` has built it).
    pub fn smoke(out: PathBuf) -> Self {
        PipelineArgs {
            profile: "smoke".into(),
            out: Some(out),
            data: None,
            manifest: None,
            force: false,
            debug: true,
            threads: DOCUMENTED_THREADS,
        }
    }
}

/// Sizes per profile.
struct Profile {
    synth_subjects: usize,
    synth_days: usize,
    /// Masked-pretraining steps on the fixture windows.
    pretrain_steps_fixture: u64,
    /// Masked-pretraining steps on the synthetic days.
    pretrain_steps_days: u64,
    /// Masked-pretraining steps on the real actigraphy days.
    pretrain_steps_actigraphy: u64,
    /// Masked-pretraining steps of the general model (fixture + HAPT).
    pretrain_steps_general: u64,
    /// Sensor-language steps of the general model (0: its config's epochs).
    general_steps: u64,
    /// Leave-one-data-set-out rounds with the general recipe (two more
    /// AIM + CLIP runs: about 30 minutes at the default step counts).
    lodo: bool,
    /// Held-out windows for the imputation report (0: all).
    report_windows: usize,
    /// Labelled training (and test) windows for the pretraining report's
    /// robustness probe (0: all).
    report_probe_windows: usize,
    /// Sensor-language training steps on the fixture (NLS and CoCa runs).
    train_steps: u64,
    /// Test windows captioned in the CoCa evaluation.
    caption_windows: usize,
    /// Few-shot seeds.
    few_shot_seeds: u64,
    /// Steps of the supervised conv baseline.
    supervised_steps: u64,
    /// SensorLLM stage-1 (alignment) steps.
    sensorllm_align_steps: u64,
    /// SensorLLM stage-2 (classification) steps.
    sensorllm_tune_steps: u64,
    /// Validation windows stage 2 selects on (0: all).
    sensorllm_val_windows: usize,
    /// Training windows stage 2 trains on (0: all).
    sensorllm_train_windows: usize,
    /// Labelled test windows SensorLLM classifies (0: all).
    sensorllm_classify: usize,
    /// Test windows SensorLLM describes.
    sensorllm_describe: usize,
}

fn profile(name: &str) -> Result<Profile> {
    Ok(match name {
        "smoke" => Profile {
            synth_subjects: 4,
            synth_days: 2,
            pretrain_steps_fixture: 20,
            pretrain_steps_days: 10,
            pretrain_steps_actigraphy: 20,
            pretrain_steps_general: 20,
            general_steps: 20,
            lodo: true,
            report_windows: 128,
            // The probe embeds its windows some 30 times; on every HAPT
            // training window that was 700 s of the smoke run's debug build.
            report_probe_windows: 512,
            train_steps: 20,
            caption_windows: 32,
            few_shot_seeds: 2,
            supervised_steps: 40,
            sensorllm_align_steps: 3,
            sensorllm_tune_steps: 10,
            sensorllm_val_windows: 14,
            sensorllm_train_windows: 28,
            sensorllm_classify: 14,
            sensorllm_describe: 2,
        },
        "default" => Profile {
            // 100 subjects and 2,000 steps: with 20 subjects (84 training
            // days) and 600 steps, AIM was at 0.83-0.85 of interpolation at
            // 80 % random; here 0.67 (docs/pretraining.md, `s4`).
            synth_subjects: 100,
            synth_days: 7,
            pretrain_steps_fixture: 3000,
            pretrain_steps_days: 2000,
            pretrain_steps_actigraphy: 600,
            pretrain_steps_general: 6000,
            general_steps: 0,
            lodo: false,
            report_windows: 0,
            report_probe_windows: 0,
            train_steps: 300,
            caption_windows: 300,
            few_shot_seeds: 5,
            supervised_steps: 600,
            sensorllm_align_steps: 60,
            // Every training window and 600 steps: stage 2 on the NLS conv
            // encoder reached test macro-F1 0.868 so (0.822 with 700
            // windows and 300 steps; validation 0.819 / 0.806), 98 s in the
            // pipeline at b6ce418 (docs/sensorllm.md).
            sensorllm_tune_steps: 600,
            sensorllm_val_windows: 140,
            sensorllm_train_windows: 0,
            sensorllm_classify: 210,
            sensorllm_describe: 16,
        },
        "full" => Profile {
            synth_subjects: 100,
            synth_days: 14,
            pretrain_steps_fixture: 10000,
            pretrain_steps_days: 3000,
            pretrain_steps_actigraphy: 2000,
            pretrain_steps_general: 10000,
            general_steps: 0,
            lodo: true,
            report_windows: 0,
            report_probe_windows: 0,
            train_steps: 1500,
            caption_windows: 0,
            few_shot_seeds: 5,
            supervised_steps: 3000,
            sensorllm_align_steps: 400,
            sensorllm_tune_steps: 1000,
            sensorllm_val_windows: 0,
            sensorllm_train_windows: 0,
            sensorllm_classify: 0,
            sensorllm_describe: 50,
        },
        other => bail!("unknown profile '{other}' (smoke, default, full)"),
    })
}

/// A sensor-language run of the pipeline and its evaluation: one `[[run]]`
/// table of `configs/pipeline/runs.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Run {
    /// Run directory under the output (and the config's `name`).
    name: String,
    /// Its config, relative to the workspace root.
    config: String,
    /// Initialise the sensor encoder from the AIM pretraining run.
    #[serde(default)]
    init_from_aim: bool,
    /// Evaluation directory under the output.
    eval_dir: String,
    /// `wearlang eval --protocol` (empty: every protocol).
    #[serde(default)]
    protocols: String,
    /// `wearlang eval --retrieval-variant` (empty: the run's first variant).
    #[serde(default)]
    retrieval_variant: String,
    /// Put the pretraining report into this evaluation's report.
    #[serde(default)]
    with_pretrain_report: bool,
    /// Heading in `report.md`.
    title: String,
    /// Part of the smoke profile (a run that only repeats code paths the
    /// others cover and costs minutes there is left out).
    #[serde(default)]
    in_smoke: bool,
    /// Files besides the config whose content the run depends on (they
    /// enter its stage key).
    #[serde(default)]
    inputs: Vec<String>,
    /// Training steps for this run in every profile, in place of the
    /// profile's `train_steps` (a recipe whose budget was measured apart,
    /// e.g. trend-caption retrieval).
    #[serde(default)]
    steps: Option<u64>,
}

impl Run {
    /// The run's training steps under profile `p`.
    fn steps(&self, p: &Profile) -> u64 {
        self.steps.unwrap_or(p.train_steps)
    }
}

/// The run table, relative to the workspace root.
const RUNS_FILE: &str = "configs/pipeline/runs.toml";

/// The runs of `configs/pipeline/runs.toml`, in order; names and evaluation
/// directories must be unique.
fn runs(root: &Path) -> Result<Vec<Run>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Table {
        run: Vec<Run>,
    }
    let path = root.join(RUNS_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let table: Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut seen = std::collections::BTreeSet::new();
    for r in &table.run {
        for dir in [&r.name, &r.eval_dir] {
            if !seen.insert(dir.clone()) {
                bail!(
                    "{}: `{dir}` names two run or evaluation directories",
                    path.display()
                );
            }
        }
    }
    Ok(table.run)
}

/// SHA-256 (hex) of some strings.
pub(crate) fn key_of(parts: &[String]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's identity for a key: its path and the SHA-256 of its content
/// (a rebuilt but identical binary, or a touched file, changes nothing); a
/// directory by the keys of its files, in name order.
pub(crate) fn file_key(path: &Path) -> Result<String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("listing {}", path.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        entries.sort();
        let keys = entries
            .iter()
            .map(|p| file_key(p))
            .collect::<Result<Vec<_>>>()?;
        return Ok(format!("{}:{}", path.display(), key_of(&keys)));
    }
    let mut f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("{}:{digest}", path.display()))
}

/// Stage bookkeeping under `<out>/stamps/`.
struct Stages {
    dir: PathBuf,
    force: bool,
    times: Vec<(String, f64, bool)>,
}

impl Stages {
    /// Run `f(resume)` unless `name` finished with `key` and `outputs` exist.
    /// `resume` is true when the last attempt had the same key but did not
    /// finish (it was interrupted or failed).
    fn run(
        &mut self,
        name: &str,
        key: &str,
        outputs: &[&Path],
        f: impl FnOnce(bool) -> Result<()>,
    ) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let file = name.replace([' ', '(', ')', '/'], "_");
        let done = self.dir.join(format!("{file}.done"));
        let started = self.dir.join(format!("{file}.started"));
        let seconds = self.dir.join(format!("{file}.seconds"));
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        if !self.force && read(&done) == key && outputs.iter().all(|p| p.exists()) {
            eprintln!("== stage {name}: up to date, skipped");
            // The time it took when it last ran (NaN when not recorded).
            let secs = read(&seconds).trim().parse().unwrap_or(f64::NAN);
            self.times.push((name.to_string(), secs, true));
            return Ok(());
        }
        // Started with this key and not finished since: pick up its run
        // directory (a training stage passes --resume when a checkpoint is
        // there). The outputs are what a finished stage writes, so they are
        // not asked for here.
        let resume = !self.force && read(&started) == key && read(&done) != key;
        let _ = std::fs::remove_file(&done);
        std::fs::write(&started, key)?;
        eprintln!(
            "== stage: {name}{}",
            if resume { " (resuming)" } else { "" }
        );
        let t = Instant::now();
        f(resume).map_err(|e| e.context(format!("pipeline stage '{name}' failed")))?;
        let secs = t.elapsed().as_secs_f64();
        eprintln!("== stage {name} done in {secs:.1} s");
        std::fs::write(&seconds, format!("{secs:.3}"))?;
        std::fs::write(&done, key)?;
        self.times.push((name.to_string(), secs, false));
        Ok(())
    }
}

/// Remove a training run's directory unless the stage resumes and a
/// checkpoint is there to resume from (`wearlang` refuses a fresh run into
/// a directory that holds one; an attempt cut before its first checkpoint
/// starts again).
fn fresh_run(dir: &Path, resume: bool) -> Result<()> {
    fresh(dir, resume && dir.join("checkpoint").exists())
}

/// Remove a run directory that a fresh (not resumed) stage will rewrite.
fn fresh(dir: &Path, resume: bool) -> Result<()> {
    if !resume && dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Ok(())
}

/// What the stages of one pipeline invocation share.
struct Ctx<'a> {
    args: &'a PipelineArgs,
    p: Profile,
    root: PathBuf,
    out: PathBuf,
    /// The `wearlang` binary and its key.
    bin: PathBuf,
    bin_key: String,
    minilm: PathBuf,
    /// The ingested fixture windows and the synthetic days.
    fixture_store: PathBuf,
    synth_store: PathBuf,
    /// UCI HAPT as `cargo xtask setup` converted it (`hapt.parquet`).
    hapt_input: PathBuf,
    /// BasicMotions as `cargo xtask setup` converted it (`basic_motions.csv`).
    basic_motions_input: PathBuf,
    /// The Actiwatch recordings `cargo xtask setup` extracted (`awd/`).
    actigraphy_input: PathBuf,
}

/// Run the pipeline.
pub fn run(args: &PipelineArgs) -> Result<()> {
    let p = profile(&args.profile)?;
    let setup = crate::setup::run()?;
    setup.print();
    let bin = if args.debug {
        cargo(&["build", "-p", "wearlang-cli"])?;
        target_dir().join("debug/wearlang")
    } else {
        cargo(&["build", "--release", "-p", "wearlang-cli"])?;
        target_dir().join("release/wearlang")
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("pipeline"));
    std::fs::create_dir_all(&out)?;
    // Every stage's `wearlang` inherits one thread count; it enters every
    // stage key (through the binary's), since results depend on it.
    std::env::set_var(THREADS_ENV, args.threads.to_string());
    let started = Instant::now();
    let mut stages = Stages {
        dir: out.join("stamps"),
        force: args.force,
        times: Vec::new(),
    };
    let ctx = Ctx {
        args,
        p,
        root: workspace_root(),
        bin_key: key_of(&[file_key(&bin)?, format!("threads={}", args.threads)]),
        bin,
        minilm: setup.minilm.clone(),
        fixture_store: out.join("windows.parquet"),
        synth_store: out.join("synthetic_days.parquet"),
        hapt_input: setup.hapt.join("hapt.parquet"),
        basic_motions_input: setup.basic_motions.join("basic_motions.csv"),
        actigraphy_input: setup.actigraphy.join("awd"),
        out,
    };

    let caption_key = data_stages(&ctx, &mut stages)?;
    let pretrain_keys = pretrain_stages(&ctx, &mut stages, &caption_key)?;
    actigraphy_stages(&ctx, &mut stages)?;
    // Sensor-language training and evaluation, one run per table of
    // configs/pipeline/runs.toml: the
    // default model (NLS) with every protocol, the others with the
    // protocols that compare them.
    let runs = runs(&ctx.root)?;
    let mut first_key: Option<String> = None;
    for run in &runs {
        if args.profile == "smoke" && !run.in_smoke {
            eprintln!("== stage train {}: not in the smoke profile", run.name);
            continue;
        }
        let train_key = train_stage(&ctx, &mut stages, run, &caption_key, &pretrain_keys)?;
        first_key.get_or_insert_with(|| train_key.clone());
        eval_stage(&ctx, &mut stages, run, train_key, &pretrain_keys)?;
    }
    // The evaluation needs a sensor-language checkpoint to open the store
    // with: the default model's (the first run, always in smoke).
    if let Some(first) = runs.first() {
        let first_key = first_key.unwrap_or_default();
        sensorllm_stages(&ctx, &mut stages, &caption_key, &first_key, first)?;
        cross_dataset_stages(&ctx, &mut stages, &caption_key, first, &first_key)?;
    }

    let total = started.elapsed().as_secs_f64();
    let out = &ctx.out;
    let report = write_report(out, args, &runs, &stages.times, total)?;
    print_summary(out, &runs)?;
    eprintln!(
        "pipeline ({} profile) finished in {total:.1} s; report {}",
        args.profile,
        report.display()
    );
    Ok(())
}

/// The data stages: ingest the recordings, generate the synthetic days and
/// caption both. Returns the caption stage's key.
fn data_stages(ctx: &Ctx, stages: &mut Stages) -> Result<String> {
    let (args, bin, p) = (ctx.args, &ctx.bin, &ctx.p);
    let (fixture_store, synth_store) = (&ctx.fixture_store, &ctx.synth_store);
    let mut ingest_key = vec!["ingest".to_string(), ctx.bin_key.clone()];
    let manifest = args
        .manifest
        .clone()
        .unwrap_or_else(|| ctx.root.join("fixtures/shoulder/manifest.toml"));
    ingest_key.push(file_key(&manifest)?);
    if let Some(d) = &args.data {
        ingest_key.push(file_key(d)?);
    }
    let ingest_key = key_of(&ingest_key);
    stages.run("ingest", &ingest_key, &[fixture_store], |_| {
        let mut cmd = Command::new(bin);
        cmd.arg("ingest");
        if let Some(data) = &args.data {
            cmd.arg(data);
        }
        cmd.arg("--manifest").arg(&manifest);
        exec(cmd.arg("--out").arg(fixture_store))?;
        exec(Command::new(bin).arg("inspect").arg(fixture_store))
    })?;

    let synth_key = key_of(&[
        "synth".into(),
        ctx.bin_key.clone(),
        p.synth_subjects.to_string(),
        p.synth_days.to_string(),
    ]);
    stages.run("synthetic days", &synth_key, &[synth_store], |_| {
        exec(
            Command::new(bin)
                .arg("synth")
                .arg("--subjects")
                .arg(p.synth_subjects.to_string())
                .arg("--days")
                .arg(p.synth_days.to_string())
                .arg("--seed")
                .arg("0")
                .arg("--out")
                .arg(synth_store),
        )?;
        exec(Command::new(bin).arg("inspect").arg(synth_store))
    })?;

    let caption_key = key_of(&["caption".into(), ingest_key, synth_key]);
    stages.run(
        "caption",
        &caption_key,
        &[fixture_store, synth_store],
        |_| {
            // Fixture windows get SensorLLM trend text, its brief form (per
            // channel shape, no numbers) and NLS activity text;
            // synthetic days get the eight SensorLM hierarchical variants.
            for store in [fixture_store, synth_store] {
                exec(
                    Command::new(bin)
                        .arg("caption")
                        .arg(store)
                        .arg("--seed")
                        .arg("0")
                        .arg("--show")
                        .arg("2"),
                )?;
            }
            Ok(())
        },
    )?;
    Ok(caption_key)
}

/// Masked pretraining on the fixture windows, then on the synthetic days.
/// Returns their stage keys, in that order.
fn pretrain_stages(ctx: &Ctx, stages: &mut Stages, caption_key: &str) -> Result<Vec<String>> {
    let p = &ctx.p;
    [
        (
            &ctx.fixture_store,
            "configs/pretrain_fixture.toml",
            "mae_fixture",
            p.pretrain_steps_fixture,
        ),
        (
            &ctx.synth_store,
            "configs/pretrain_synth.toml",
            "mae_days",
            p.pretrain_steps_days,
        ),
    ]
    .into_iter()
    .map(|(store, config, run, steps)| {
        pretrain_stage(ctx, stages, (store, caption_key), &[], config, run, steps)
    })
    .collect()
}

/// Masked pretraining with `config` (relative to the workspace root) on
/// `store` (the pair: the store and the key of the stage that wrote it)
/// and the training windows of `extra` stores (`--extra-store`; their
/// stage keys must be part of `store_key`), for `steps` steps into
/// `<out>/<run>`, with its report (`report.md`, `report.json`). Returns the
/// stage key.
fn pretrain_stage(
    ctx: &Ctx,
    stages: &mut Stages,
    (store, store_key): (&Path, &str),
    extra: &[&Path],
    config: &str,
    run: &str,
    steps: u64,
) -> Result<String> {
    let (bin, p, root) = (&ctx.bin, &ctx.p, &ctx.root);
    let dir = ctx.out.join(run);
    let key = key_of(&[
        "pretrain".into(),
        store_key.to_string(),
        file_key(&root.join(config))?,
        steps.to_string(),
        p.report_windows.to_string(),
        p.report_probe_windows.to_string(),
        extra.len().to_string(),
    ]);
    let report = dir.join("report.json");
    stages.run(&format!("pretrain {run}"), &key, &[&report], |resume| {
        fresh_run(&dir, resume)?;
        let mut cmd = Command::new(bin);
        cmd.arg("pretrain").arg("--store").arg(store);
        for e in extra {
            cmd.arg("--extra-store").arg(e);
        }
        cmd.arg("--config")
            .arg(root.join(config))
            .arg("--out")
            .arg(&dir)
            .arg("--max-steps")
            .arg(steps.to_string())
            .arg("--report-windows")
            .arg(p.report_windows.to_string())
            .arg("--report-probe-windows")
            .arg(p.report_probe_windows.to_string());
        if resume && dir.join("checkpoint").exists() {
            cmd.arg("--resume");
        }
        exec(&mut cmd)
    })?;
    Ok(key)
}

/// The real minute-level days (`docs/actigraphy.md`): ingest the Actiwatch
/// recordings into day windows with `fixtures/actigraphy/manifest.toml`,
/// caption them, and pretrain AIM on them with
/// `configs/pretrain_actigraphy.toml` (its imputation report in
/// `mae_actigraphy/report.md`). Skipped, saying so, when the recordings
/// are not where setup puts them.
fn actigraphy_stages(ctx: &Ctx, stages: &mut Stages) -> Result<()> {
    let (bin, p) = (&ctx.bin, &ctx.p);
    if !ctx.actigraphy_input.is_dir() {
        eprintln!(
            "== stages actigraphy: skipped, no recordings at {} (run `cargo xtask setup`)",
            ctx.actigraphy_input.display()
        );
        return Ok(());
    }
    let store = ctx.out.join(ACTIGRAPHY_STORE);
    let ingest_key = ingest_stage(
        ctx,
        stages,
        "ingest actigraphy",
        (&ctx.actigraphy_input, "fixtures/actigraphy/manifest.toml"),
        &store,
    )?;
    let caption_key = key_of(&["caption actigraphy".into(), ingest_key]);
    stages.run("caption actigraphy", &caption_key, &[&store], |_| {
        // The eight SensorLM variants; an activity-only day has no events,
        // so its high level says that nothing was logged.
        exec(
            Command::new(bin)
                .arg("caption")
                .arg(&store)
                .arg("--seed")
                .arg("0")
                .arg("--show")
                .arg("2"),
        )
    })?;
    pretrain_stage(
        ctx,
        stages,
        (&store, &caption_key),
        &[],
        "configs/pretrain_actigraphy.toml",
        "mae_actigraphy",
        p.pretrain_steps_actigraphy,
    )?;
    Ok(())
}

/// Ingest stage `name`: `input` with `manifest` (relative to the
/// workspace root) into `store`, then `wearlang inspect` of the store.
/// Returns the stage key.
fn ingest_stage(
    ctx: &Ctx,
    stages: &mut Stages,
    name: &str,
    (input, manifest): (&Path, &str),
    store: &Path,
) -> Result<String> {
    let bin = &ctx.bin;
    let manifest = ctx.root.join(manifest);
    let key = key_of(&[
        name.into(),
        ctx.bin_key.clone(),
        file_key(&manifest)?,
        file_key(input)?,
    ]);
    stages.run(name, &key, &[store], |_| {
        exec(
            Command::new(bin)
                .arg("ingest")
                .arg(input)
                .arg("--manifest")
                .arg(&manifest)
                .arg("--out")
                .arg(store),
        )?;
        exec(Command::new(bin).arg("inspect").arg(store))
    })?;
    Ok(key)
}

/// The actigraphy day store under the pipeline's output.
const ACTIGRAPHY_STORE: &str = "actigraphy_days.parquet";

/// Train the sensor-language model of `run` on the fixture windows.
/// Returns the stage key.
fn train_stage(
    ctx: &Ctx,
    stages: &mut Stages,
    run: &Run,
    caption_key: &str,
    pretrain_keys: &[String],
) -> Result<String> {
    let (bin, p, root) = (&ctx.bin, &ctx.p, &ctx.root);
    let dir = ctx.out.join(&run.name);
    let init = run
        .init_from_aim
        .then(|| (ctx.out.join("mae_fixture"), pretrain_keys[0].clone()));
    let steps = run.steps(p);
    let mut train_parts = vec![
        "train".into(),
        caption_key.to_string(),
        file_key(&root.join(&run.config))?,
        steps.to_string(),
        init.as_ref().map(|(_, k)| k.clone()).unwrap_or_default(),
    ];
    for input in &run.inputs {
        train_parts.push(file_key(&root.join(input))?);
    }
    let train_key = key_of(&train_parts);
    let ckpt = dir.join("checkpoint/config.json");
    let name = format!("train {}", run.name);
    stages.run(&name, &train_key, &[&ckpt], |resume| {
        fresh_run(&dir, resume)?;
        let mut cmd = Command::new(bin);
        cmd.arg("train")
            .arg("--store")
            .arg(&ctx.fixture_store)
            .arg("--config")
            .arg(root.join(&run.config))
            .arg("--out")
            .arg(&dir)
            .arg("--max-steps")
            .arg(steps.to_string())
            .arg("--minilm")
            .arg(&ctx.minilm)
            .arg("--no-report");
        if let Some((init_dir, _)) = &init {
            cmd.arg("--init-from").arg(init_dir);
        }
        if resume && dir.join("checkpoint").exists() {
            cmd.arg("--resume");
        }
        exec(&mut cmd)
    })?;
    Ok(train_key)
}

/// Evaluate the trained model of `run` (stage key `train_key`).
fn eval_stage(
    ctx: &Ctx,
    stages: &mut Stages,
    run: &Run,
    train_key: String,
    pretrain_keys: &[String],
) -> Result<()> {
    let p = &ctx.p;
    let dir = ctx.out.join(&run.name);
    let eval_dir = ctx.out.join(&run.eval_dir);
    // The pretraining run enters the key through the training key when
    // it initialised the encoder, and here only when its report is
    // included.
    let key = key_of(&[
        "eval".into(),
        train_key,
        if run.with_pretrain_report {
            pretrain_keys[0].clone()
        } else {
            String::new()
        },
        run.protocols.clone(),
        run.retrieval_variant.clone(),
        p.few_shot_seeds.to_string(),
        p.supervised_steps.to_string(),
        p.caption_windows.to_string(),
    ]);
    let metrics = eval_dir.join("metrics.json");
    let name = format!("evaluate {}", run.name);
    stages.run(&name, &key, &[&metrics], |resume| {
        // Resuming keeps finished unseen-activity runs (they are reused
        // or resumed by `wearlang eval`); a fresh stage starts clean.
        fresh(&eval_dir, resume)?;
        let mut cmd = Command::new(&ctx.bin);
        cmd.arg("eval")
            .arg("--checkpoint")
            .arg(&dir)
            .arg("--store")
            .arg(&ctx.fixture_store)
            .arg("--out")
            .arg(&eval_dir)
            .arg("--minilm")
            .arg(&ctx.minilm)
            // Unseen activities retrain for the run's own budget: the one
            // it chose on held-out classes (`[select]`), else `--steps`.
            .arg("--few-shot-seeds")
            .arg(p.few_shot_seeds.to_string())
            .arg("--supervised-steps")
            .arg(p.supervised_steps.to_string())
            .arg("--caption-windows")
            .arg(p.caption_windows.to_string())
            .arg("--quiet");
        if !run.retrieval_variant.is_empty() {
            cmd.arg("--retrieval-variant").arg(&run.retrieval_variant);
        }
        if run.with_pretrain_report {
            cmd.arg("--pretrain").arg(ctx.out.join("mae_fixture"));
        }
        if !run.protocols.is_empty() {
            cmd.arg("--protocol").arg(&run.protocols);
        }
        exec(&mut cmd)
    })?;
    Ok(())
}

/// The SensorLLM config of the pipeline, relative to the workspace root.
const SENSORLLM_CONFIG: &str = "configs/sensorllm_fixture.toml";

/// SensorLLM on the fixture: stage 1 (trend descriptions) on the frozen
/// sensor encoder of `run`, the default model (NLS's conv encoder; its
/// training key `encoder_key`), stage 2 (classification) from it, and the
/// `sensorllm` protocol into `eval_sensorllm/`, opened with the checkpoint
/// of `run`. (The AIM encoder of `mae_fixture` gave stage 2 test macro-F1
/// 0.762 to the conv encoder's 0.822 at the same sizes; docs/sensorllm.md.)
fn sensorllm_stages(
    ctx: &Ctx,
    stages: &mut Stages,
    caption_key: &str,
    encoder_key: &str,
    run: &Run,
) -> Result<()> {
    let (bin, p, root) = (&ctx.bin, &ctx.p, &ctx.root);
    let config = root.join(SENSORLLM_CONFIG);
    let align_dir = ctx.out.join("sensorllm_align");
    let tune_dir = ctx.out.join("sensorllm_tune");
    let encoder = ctx.out.join(&run.name);
    let align_key = key_of(&[
        "sensorllm align".into(),
        caption_key.to_string(),
        encoder_key.to_string(),
        file_key(&config)?,
        p.sensorllm_align_steps.to_string(),
    ]);
    let stage_cmd = |stage: &str, config: &Path, dir: &Path, resume: bool, steps: u64| {
        let mut cmd = Command::new(bin);
        // The encoder run's text model, wherever setup put it.
        cmd.env("WEARLANG_MINILM", &ctx.minilm)
            .arg("sensorllm")
            .arg(stage)
            .arg("--store")
            .arg(&ctx.fixture_store)
            .arg("--config")
            .arg(config)
            .arg("--out")
            .arg(dir)
            .arg("--max-steps")
            .arg(steps.to_string())
            .arg("--no-progress");
        if resume && dir.join("checkpoint").exists() {
            cmd.arg("--resume");
        }
        cmd
    };
    stages.run(
        "sensorllm align",
        &align_key,
        &[&align_dir.join("checkpoint/config.json")],
        |resume| {
            fresh_run(&align_dir, resume)?;
            let mut cmd = stage_cmd(
                "align",
                &config,
                &align_dir,
                resume,
                p.sensorllm_align_steps,
            );
            exec(cmd.arg("--encoder").arg(&encoder))
        },
    )?;
    let tune_key = key_of(&[
        "sensorllm tune".into(),
        align_key,
        p.sensorllm_tune_steps.to_string(),
        p.sensorllm_val_windows.to_string(),
        p.sensorllm_train_windows.to_string(),
    ]);
    stages.run(
        "sensorllm tune",
        &tune_key,
        &[&tune_dir.join("selected/checkpoint/config.json")],
        |resume| {
            fresh_run(&tune_dir, resume)?;
            // The config's settings apply, with the profile's caps on the
            // validation windows each selection scores and the training
            // windows.
            let mut cfg: toml::Table = toml::from_str(&std::fs::read_to_string(&config)?)?;
            let tune = cfg
                .entry("tune")
                .or_insert_with(|| toml::Value::Table(Default::default()));
            if let Some(t) = tune.as_table_mut() {
                for (k, v) in [
                    ("val_windows", p.sensorllm_val_windows),
                    ("train_windows", p.sensorllm_train_windows),
                ] {
                    t.insert(k.into(), toml::Value::Integer(v as i64));
                }
            }
            std::fs::create_dir_all(&tune_dir)?;
            let sized = tune_dir.join("pipeline_config.toml");
            std::fs::write(&sized, toml::to_string(&cfg)?)?;
            let mut cmd = stage_cmd("tune", &sized, &tune_dir, resume, p.sensorllm_tune_steps);
            exec(cmd.arg("--from").arg(&align_dir))
        },
    )?;
    let eval_dir = ctx.out.join("eval_sensorllm");
    let key = key_of(&[
        "evaluate sensorllm".into(),
        tune_key,
        p.sensorllm_classify.to_string(),
        p.sensorllm_describe.to_string(),
    ]);
    stages.run(
        "evaluate sensorllm",
        &key,
        &[&eval_dir.join("metrics.json")],
        |_| {
            fresh(&eval_dir, false)?;
            exec(
                Command::new(bin)
                    .env("WEARLANG_MINILM", &ctx.minilm)
                    .arg("eval")
                    .arg("--checkpoint")
                    .arg(ctx.out.join(&run.name))
                    .arg("--store")
                    .arg(&ctx.fixture_store)
                    .arg("--out")
                    .arg(&eval_dir)
                    .arg("--minilm")
                    .arg(&ctx.minilm)
                    .arg("--protocol")
                    .arg("sensorllm")
                    .arg("--sensorllm-align")
                    .arg(&align_dir)
                    .arg("--sensorllm-tune")
                    .arg(&tune_dir)
                    .arg("--sensorllm-classify")
                    .arg(p.sensorllm_classify.to_string())
                    .arg("--sensorllm-describe")
                    .arg(p.sensorllm_describe.to_string())
                    .arg("--quiet"),
            )
        },
    )
}

/// The evaluation settings of the cross-data-set stages.
const CROSS_EVAL_CONFIG: &str = "configs/eval_cross_dataset.toml";

/// The cross-data-set evaluations: `(directory, report heading, model)`.
const CROSS_EVALS: [(&str, &str, &str); 12] = [
    (
        "eval_hapt",
        "UCI HAPT in domain: NLS trained on HAPT, scored on HAPT's test subjects",
        "nls_hapt",
    ),
    (
        "eval_hapt_on_fixture",
        "Across data sets: NLS trained on HAPT, scored on the shoulder fixture",
        "nls_hapt → fixture",
    ),
    (
        "eval_fixture_on_hapt",
        "Across data sets: NLS trained on the shoulder fixture, scored on HAPT",
        "nls_clip → hapt",
    ),
    (
        "eval_union_on_fixture",
        "One model for both: NLS trained on the fixture and HAPT, scored on the fixture",
        "nls_union → fixture",
    ),
    (
        "eval_union_on_hapt",
        "One model for both: NLS trained on the fixture and HAPT, scored on HAPT",
        "nls_union → hapt",
    ),
    (
        "eval_hapt_on_basicmotions",
        "Across data sets: NLS trained on HAPT (waist), scored on BasicMotions (wrist)",
        "nls_hapt → basicmotions",
    ),
    (
        "eval_union_on_basicmotions",
        "Left-out data set: NLS trained on the fixture and HAPT, scored on BasicMotions",
        "nls_union → basicmotions",
    ),
    (
        "eval_general_on_fixture",
        "The general model (AIM on every window of the fixture and HAPT, then CLIP with descriptions), scored on the fixture",
        "general → fixture",
    ),
    (
        "eval_general_on_hapt",
        "The general model, scored on HAPT",
        "general → hapt",
    ),
    (
        "eval_general_on_basicmotions",
        "Left-out data set: the general model, scored on BasicMotions",
        "general → basicmotions",
    ),
    (
        "eval_lodo_hapt",
        "Left-out data set: the general recipe trained on the fixture and BasicMotions, scored on HAPT",
        "lodo_hapt → hapt",
    ),
    (
        "eval_lodo_fixture",
        "Left-out data set: the general recipe trained on HAPT and BasicMotions, scored on the fixture",
        "lodo_fixture → fixture",
    ),
];

/// A second real data set (UCI HAPT, converted by setup): ingest it, train
/// the default recipe of `first` (the default model) on it and on the union
/// of both data sets (`first_key`: the default model's training key), and
/// evaluate every model on both data sets' test
/// subjects (zero-shot over the target's own labels, linear probe, few-shot
/// adaptation from 1 to 100 windows per class where the model never saw the
/// target's data, against a conv classifier trained from scratch on the same
/// windows; on HAPT the supervised conv baseline and unseen activities).
fn cross_dataset_stages(
    ctx: &Ctx,
    stages: &mut Stages,
    caption_key: &str,
    first: &Run,
    first_key: &str,
) -> Result<()> {
    let (bin, p, root) = (&ctx.bin, &ctx.p, &ctx.root);
    let hapt_store = ctx.out.join("hapt.parquet");
    let ingest_key = ingest_stage(
        ctx,
        stages,
        "ingest hapt",
        (&ctx.hapt_input, "fixtures/hapt/manifest.toml"),
        &hapt_store,
    )?;
    // A third data set that no model trains on: a wrist-worn smartwatch
    // (BasicMotions), the left-out data set of the union model.
    let bm_store = ctx.out.join("basicmotions.parquet");
    let bm_ingest_key = ingest_stage(
        ctx,
        stages,
        "ingest basicmotions",
        (
            &ctx.basic_motions_input,
            "fixtures/basicmotions/manifest.toml",
        ),
        &bm_store,
    )?;
    // The general model (configs/pretrain_general.toml, then
    // configs/general.toml): AIM on every training window of both data
    // sets, labelled or not, then sensor-language training from it on
    // their labelled windows.
    let union_key = key_of(&[caption_key.to_string(), ingest_key.clone()]);
    let general_aim_key = pretrain_stage(
        ctx,
        stages,
        (&ctx.fixture_store, &union_key),
        &[&hapt_store],
        "configs/pretrain_general.toml",
        "general_aim",
        p.pretrain_steps_general,
    )?;
    let general_aim = ctx.out.join("general_aim");
    // (run, config, stores, AIM run to start from and its key, steps; 0:
    // the config's epochs)
    type Training<'a> = (
        &'a str,
        PathBuf,
        Vec<&'a Path>,
        Option<(&'a Path, &'a str)>,
        u64,
    );
    let trainings: [Training; 3] = [
        (
            "nls_hapt",
            root.join(&first.config),
            vec![&hapt_store],
            None,
            p.train_steps,
        ),
        (
            "nls_union",
            root.join(&first.config),
            vec![&ctx.fixture_store, &hapt_store],
            None,
            p.train_steps,
        ),
        (
            "general",
            root.join("configs/general.toml"),
            vec![&ctx.fixture_store, &hapt_store],
            Some((&general_aim, &general_aim_key)),
            p.general_steps,
        ),
    ];
    let mut keys = std::collections::BTreeMap::new();
    for (name, config, stores, init, steps) in trainings {
        let key = sensor_language_stage(
            ctx,
            stages,
            (name, &config),
            &stores,
            &[caption_key.to_string(), ingest_key.clone()],
            init,
            steps,
        )?;
        keys.insert(name, key);
    }
    let fixture = &ctx.fixture_store;
    // (directory, model, store, protocols, the store's ingest key)
    let plan: [(&str, &str, &Path, &str, &str); 10] = [
        (
            "eval_hapt",
            "nls_hapt",
            &hapt_store,
            "zero-shot,linear-probe,supervised,unseen",
            &ingest_key,
        ),
        (
            "eval_hapt_on_fixture",
            "nls_hapt",
            fixture,
            "zero-shot,linear-probe,few-shot",
            &ingest_key,
        ),
        (
            "eval_fixture_on_hapt",
            first.name.as_str(),
            &hapt_store,
            "zero-shot,linear-probe,few-shot",
            &ingest_key,
        ),
        (
            "eval_union_on_fixture",
            "nls_union",
            fixture,
            "zero-shot,linear-probe",
            &ingest_key,
        ),
        (
            "eval_union_on_hapt",
            "nls_union",
            &hapt_store,
            "zero-shot,linear-probe",
            &ingest_key,
        ),
        (
            "eval_hapt_on_basicmotions",
            "nls_hapt",
            &bm_store,
            "zero-shot,linear-probe,few-shot",
            &bm_ingest_key,
        ),
        (
            "eval_union_on_basicmotions",
            "nls_union",
            &bm_store,
            "zero-shot,linear-probe,few-shot",
            &bm_ingest_key,
        ),
        (
            "eval_general_on_fixture",
            "general",
            fixture,
            "zero-shot,linear-probe",
            &ingest_key,
        ),
        (
            "eval_general_on_hapt",
            "general",
            &hapt_store,
            "zero-shot,linear-probe",
            &ingest_key,
        ),
        (
            "eval_general_on_basicmotions",
            "general",
            &bm_store,
            "zero-shot,linear-probe,few-shot",
            &bm_ingest_key,
        ),
    ];
    for (eval_dir, model, store, protocols, store_key) in plan {
        let model_key = keys
            .get(model)
            .cloned()
            .unwrap_or_else(|| first_key.to_string());
        cross_eval_stage(
            ctx,
            stages,
            eval_dir,
            (model, &model_key),
            (store, store_key),
            protocols,
        )?;
    }
    if p.lodo {
        lodo_stages(
            ctx,
            stages,
            [
                (fixture, key_of(&[caption_key.to_string()])),
                (&hapt_store, ingest_key.clone()),
                (&bm_store, bm_ingest_key.clone()),
            ],
        )?;
    }
    // The general model, released as a self-contained directory with its
    // card, then used from that directory alone.
    let release_out = ctx.out.join("release");
    // The evaluations its card quotes: the two data sets it was trained on
    // and the one it never saw.
    let release_evals = [
        "eval_general_on_fixture",
        "eval_general_on_hapt",
        "eval_general_on_basicmotions",
    ];
    let release_key = key_of(&[
        "release".into(),
        keys["general"].clone(),
        file_key(&root.join("xtask/src/release.rs"))?,
        p.few_shot_seeds.to_string(),
        release_evals.join(","),
        bm_ingest_key.clone(),
    ]);
    let released = release_out.join(format!("{RELEASE_NAME}-{RELEASE_VERSION}"));
    stages.run(
        "release general",
        &release_key,
        &[&released.join("SHA256SUMS")],
        |_| {
            fresh(&release_out, false)?;
            crate::release::run(&crate::release::ReleaseArgs {
                run: ctx.out.join("general"),
                name: RELEASE_NAME.into(),
                version: RELEASE_VERSION.into(),
                out: release_out.clone(),
                eval: release_evals.iter().map(|d| ctx.out.join(d)).collect(),
                minilm: None,
            })?;
            exec(
                Command::new(bin)
                    .arg("classify")
                    .arg("--model")
                    .arg(&released)
                    .arg("--store")
                    .arg(&hapt_store)
                    .arg("--split")
                    .arg("test")
                    .arg("--labels")
                    .arg("walking,climbing stairs,going down stairs,sitting,standing,lying down")
                    .arg("--out")
                    // No --minilm: a release reads its own text model.
                    .arg(release_out.join("classify_hapt_test.csv")),
            )
        },
    )?;
    Ok(())
}

/// Name and version of the model the pipeline releases.
const RELEASE_NAME: &str = "wearlang-general";
const RELEASE_VERSION: &str = "0.2.0";

/// Rewrite a sub-report's image links and headings for inclusion under
/// `prefix/`, one heading level down.
fn include_report(text: &str, prefix: &str) -> String {
    let mut s = String::new();
    for line in text.lines() {
        if line.starts_with('#') {
            s.push('#');
            s.push_str(line);
        } else if let (Some(a), Some(b)) = (line.find("]("), line.rfind(".png)")) {
            if line.starts_with('!') && a < b {
                s.push_str(&line[..a + 2]);
                s.push_str(prefix);
                s.push('/');
                s.push_str(&line[a + 2..]);
            } else {
                s.push_str(line);
            }
        } else {
            s.push_str(line);
        }
        s.push('\n');
    }
    s
}

/// `<out>/report.md`: how it was made, stage times, both evaluations.
fn write_report(
    out: &Path,
    args: &PipelineArgs,
    runs: &[Run],
    times: &[(String, f64, bool)],
    total: f64,
) -> Result<PathBuf> {
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(workspace_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut s = format!(
        "# wearlang pipeline report\n\n`cargo xtask pipeline --profile {} --threads {}` at commit `{commit}` (libtorch intra-op threads: {}); {total:.0} s in this invocation.\n\n## Stages\n\n| stage | seconds |\n| --- | --- |\n",
        args.profile,
        args.threads,
        match args.threads {
            0 => "libtorch's default".to_string(),
            n => n.to_string(),
        }
    );
    for (name, secs, skipped) in times {
        if *skipped && secs.is_finite() {
            s.push_str(&format!(
                "| {name} | up to date ({secs:.1} when it last ran) |\n"
            ));
        } else if *skipped {
            s.push_str(&format!("| {name} | up to date |\n"));
        } else {
            s.push_str(&format!("| {name} | {secs:.1} |\n"));
        }
    }
    let actigraphy = (
        "mae_actigraphy".to_string(),
        "AIM on real minute-level days (pyActigraphy Actiwatch recordings)".to_string(),
    );
    let reports = evaluations(runs)
        .into_iter()
        .map(|(dir, title, _)| (dir, title))
        .chain([actigraphy]);
    for (dir, title) in reports {
        let path = out.join(&dir).join("report.md");
        if let Ok(text) = std::fs::read_to_string(&path) {
            s.push_str(&format!("\n## {title}\n\nFrom `{dir}/report.md`.\n\n"));
            // Drop the sub-report's own title line.
            let body: String = text.lines().skip(1).collect::<Vec<_>>().join("\n");
            s.push_str(&include_report(&body, &dir));
        }
    }
    let path = out.join("report.md");
    std::fs::write(&path, s)?;
    Ok(path)
}

/// A sensor-language training stage: `config` on `stores` (the first is
/// `--store`, the rest `--extra-store`) into `<out>/<name>`, from an AIM
/// run (`init`: its directory and stage key) or from scratch, for `steps`
/// steps (0: the config's epochs). `store_keys` are the keys of the stages
/// that wrote the stores. Returns the stage key.
fn sensor_language_stage(
    ctx: &Ctx,
    stages: &mut Stages,
    (name, config): (&str, &Path),
    stores: &[&Path],
    store_keys: &[String],
    init: Option<(&Path, &str)>,
    steps: u64,
) -> Result<String> {
    let dir = ctx.out.join(name);
    let mut parts = vec!["train".to_string()];
    parts.extend(store_keys.iter().cloned());
    parts.extend([
        file_key(config)?,
        steps.to_string(),
        stores.len().to_string(),
        init.map(|(_, k)| k.to_string()).unwrap_or_default(),
    ]);
    let key = key_of(&parts);
    stages.run(
        &format!("train {name}"),
        &key,
        &[&dir.join("checkpoint/config.json")],
        |resume| {
            fresh_run(&dir, resume)?;
            let mut cmd = Command::new(&ctx.bin);
            cmd.arg("train").arg("--store").arg(stores[0]);
            for extra in &stores[1..] {
                cmd.arg("--extra-store").arg(extra);
            }
            cmd.arg("--config")
                .arg(config)
                .arg("--out")
                .arg(&dir)
                .arg("--minilm")
                .arg(&ctx.minilm)
                .arg("--no-report");
            if steps > 0 {
                cmd.arg("--max-steps").arg(steps.to_string());
            }
            if let Some((aim, _)) = init {
                cmd.arg("--init-from").arg(aim);
            }
            if resume && dir.join("checkpoint").exists() {
                cmd.arg("--resume");
            }
            exec(&mut cmd)
        },
    )?;
    Ok(key)
}

/// `wearlang eval` of the run `<out>/<model>` (with its stage key) on
/// `store` (with the key of the stage that wrote it) into
/// `<out>/<eval_dir>`, with `configs/eval_cross_dataset.toml` and
/// `protocols`.
fn cross_eval_stage(
    ctx: &Ctx,
    stages: &mut Stages,
    eval_dir: &str,
    (model, model_key): (&str, &str),
    (store, store_key): (&Path, &str),
    protocols: &str,
) -> Result<()> {
    let p = &ctx.p;
    let eval_config = ctx.root.join(CROSS_EVAL_CONFIG);
    let out = ctx.out.join(eval_dir);
    let key = key_of(&[
        "eval".into(),
        model_key.to_string(),
        store_key.to_string(),
        file_key(&eval_config)?,
        protocols.into(),
        p.few_shot_seeds.to_string(),
        p.supervised_steps.to_string(),
    ]);
    stages.run(
        &format!("evaluate {eval_dir}"),
        &key,
        &[&out.join("metrics.json")],
        |resume| {
            fresh(&out, resume)?;
            exec(
                Command::new(&ctx.bin)
                    .arg("eval")
                    .arg("--checkpoint")
                    .arg(ctx.out.join(model))
                    .arg("--store")
                    .arg(store)
                    .arg("--out")
                    .arg(&out)
                    .arg("--minilm")
                    .arg(&ctx.minilm)
                    .arg("--config")
                    .arg(&eval_config)
                    .arg("--protocol")
                    .arg(protocols)
                    .arg("--few-shot-seeds")
                    .arg(p.few_shot_seeds.to_string())
                    .arg("--supervised-steps")
                    .arg(p.supervised_steps.to_string())
                    // Unseen activities retrain for the model's own
                    // budget (chosen on held-out classes with
                    // `[select]`).
                    .arg("--quiet"),
            )
        },
    )
}

/// Leave-one-data-set-out with the general recipe: for the fixture and
/// HAPT in turn, AIM (`configs/pretrain_general.toml`) and CLIP
/// (`configs/general.toml`) on the other two data sets (BasicMotions is
/// always among them), then zero-shot, probe and few-shot on the one left
/// out (`lodo_<left out>`, `eval_lodo_<left out>`). The third round, with
/// BasicMotions left out, is the general model itself
/// (`eval_general_on_basicmotions`). `sets`: fixture, HAPT and
/// BasicMotions stores with the keys of the stages that wrote them.
fn lodo_stages(ctx: &Ctx, stages: &mut Stages, sets: [(&Path, String); 3]) -> Result<()> {
    let [fixture, hapt, bm] = &sets;
    let rounds = [
        ("fixture", fixture, [hapt, bm]),
        ("hapt", hapt, [fixture, bm]),
    ];
    for (left_name, left, train) in rounds {
        let name = format!("lodo_{left_name}");
        let store_keys = [train[0].1.clone(), train[1].1.clone()];
        let aim_name = format!("{name}_aim");
        let aim_key = pretrain_stage(
            ctx,
            stages,
            (train[0].0, &key_of(&store_keys)),
            &[train[1].0],
            "configs/pretrain_general.toml",
            &aim_name,
            ctx.p.pretrain_steps_general,
        )?;
        let aim = ctx.out.join(&aim_name);
        let key = sensor_language_stage(
            ctx,
            stages,
            (&name, &ctx.root.join("configs/general.toml")),
            &[train[0].0, train[1].0],
            &store_keys,
            Some((&aim, &aim_key)),
            ctx.p.general_steps,
        )?;
        cross_eval_stage(
            ctx,
            stages,
            &format!("eval_{name}"),
            (&name, &key),
            (left.0, &left.1),
            "zero-shot,linear-probe,few-shot",
        )?;
    }
    Ok(())
}

/// Every evaluation of the pipeline: `(directory, report heading, model)`
/// of the runs' and SensorLLM's.
fn evaluations(runs: &[Run]) -> Vec<(String, String, String)> {
    let mut all: Vec<(String, String, String)> = runs
        .iter()
        .map(|r| (r.eval_dir.clone(), r.title.clone(), r.name.clone()))
        .collect();
    all.push((
        "eval_sensorllm".into(),
        "SensorLLM (AIM encoder + frozen SmolLM2-135M-Instruct)".into(),
        "sensorllm".into(),
    ));
    all.extend(
        CROSS_EVALS
            .iter()
            .map(|(d, t, m)| (d.to_string(), t.to_string(), m.to_string())),
    );
    all
}

/// Print the evaluations' summary rows as one table.
fn print_summary(out: &Path, runs: &[Run]) -> Result<()> {
    eprintln!("\n| model | metric | value |\n| --- | --- | --- |");
    for (dir, _, model) in evaluations(runs) {
        let path = out.join(dir).join("summary.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let rows: Vec<(String, String)> =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        for (m, v) in rows {
            eprintln!("| {model} | {m} | {v} |");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_variable_is_the_one_wearlang_reads() {
        let device = workspace_root().join("crates/device/src/lib.rs");
        let text = std::fs::read_to_string(&device).unwrap();
        assert!(
            text.contains(&format!("pub const THREADS_ENV: &str = \"{THREADS_ENV}\";")),
            "{} names another variable than {THREADS_ENV}",
            device.display()
        );
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn stages(dir: &Path, force: bool) -> Stages {
        Stages {
            dir: dir.join("stamps"),
            force,
            times: Vec::new(),
        }
    }

    #[test]
    fn stages_skip_when_up_to_date_resume_when_interrupted_rerun_when_changed() {
        let dir = scratch("stages");
        let out = dir.join("out.txt");
        let mut st = stages(&dir, false);
        let mut calls: Vec<(String, bool)> = Vec::new();
        fn step(
            st: &mut Stages,
            out: &Path,
            calls: &mut Vec<(String, bool)>,
            key: &str,
            fail: bool,
        ) -> bool {
            st.run("train x", key, &[out], |resume| {
                calls.push((key.to_string(), resume));
                if fail {
                    // Killed before writing its outputs.
                    bail!("interrupted");
                }
                std::fs::write(out, key)?;
                Ok(())
            })
            .is_ok()
        }
        assert!(step(&mut st, &out, &mut calls, "k1", false));
        // Same key, output present: skipped, with the time it took.
        assert!(step(&mut st, &out, &mut calls, "k1", false));
        assert_eq!(calls, [("k1".to_string(), false)]);
        let (_, secs, skipped) = st.times.last().unwrap().clone();
        assert!(skipped && secs.is_finite());
        // Output gone: runs again.
        std::fs::remove_file(&out).unwrap();
        assert!(step(&mut st, &out, &mut calls, "k1", false));
        // A new key fails half-way, before any output; the next attempt
        // with it resumes.
        std::fs::remove_file(&out).unwrap();
        assert!(!step(&mut st, &out, &mut calls, "k2", true));
        assert!(step(&mut st, &out, &mut calls, "k2", false));
        // --force runs from scratch.
        let mut forced = stages(&dir, true);
        assert!(step(&mut forced, &out, &mut calls, "k2", false));
        assert_eq!(
            calls,
            [
                ("k1".to_string(), false),
                ("k1".to_string(), false),
                ("k2".to_string(), false),
                ("k2".to_string(), true),
                ("k2".to_string(), false),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn file_keys_follow_content_not_time() {
        let dir = scratch("keys");
        let f = dir.join("a.toml");
        std::fs::write(&f, "x = 1").unwrap();
        let k1 = file_key(&f).unwrap();
        std::fs::write(&f, "x = 1").unwrap();
        assert_eq!(
            file_key(&f).unwrap(),
            k1,
            "rewriting the same bytes changes nothing"
        );
        std::fs::write(&f, "x = 2").unwrap();
        assert_ne!(file_key(&f).unwrap(), k1);
        let d1 = file_key(&dir).unwrap();
        std::fs::write(dir.join("b.toml"), "y").unwrap();
        assert_ne!(
            file_key(&dir).unwrap(),
            d1,
            "a directory's key covers its files"
        );
        assert!(file_key(&dir.join("missing")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sub_reports_move_one_level_down_with_their_images() {
        let md = "## Summary\n![curve](few_shot.png)\ntext (a](b) .png)\n";
        assert_eq!(
            include_report(md, "eval"),
            "### Summary\n![curve](eval/few_shot.png)\ntext (a](b) .png)\n"
        );
    }

    #[test]
    fn profiles_are_known_by_name() {
        assert!(profile("smoke").is_ok() && profile("default").is_ok() && profile("full").is_ok());
        assert!(profile("huge").err().unwrap().to_string().contains("huge"));
        // Every run's config exists.
        let runs = runs(&workspace_root()).unwrap();
        assert_eq!(runs[0].name, "nls_clip", "the default model comes first");
        for run in &runs {
            assert!(
                workspace_root().join(&run.config).is_file(),
                "{}",
                run.config
            );
            for input in &run.inputs {
                assert!(workspace_root().join(input).is_file(), "{input}");
            }
        }
    }
}
