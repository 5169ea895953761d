//! `cargo xtask ablate DIR`: train every config of an ablation directory
//! the same way, evaluate each on the same splits, and write the table.
//!
//! `DIR/ablation.toml` says how (see [`Manifest`]). Sensor-language
//! ablations (`kind = "sensor_language"`, the default): each listed config
//! is trained with `wearlang train`, evaluated with `wearlang eval --split
//! S` for each split, and the evaluations' `summary.json` rows go into
//! `OUT/table.md` (printed too). Pretraining ablations (`kind =
//! "pretrain"`): each config is trained with `wearlang pretrain`, whose
//! report (imputation against the baselines, the robustness probe) writes
//! the run's `summary.json`. A row whose inputs (binary, config, manifest,
//! store, initialising run, steps, thread count) have not changed since its
//! last run is reused.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::pipeline::{file_key, key_of, DOCUMENTED_THREADS, THREADS_ENV};
use crate::util::{cargo, exec, target_dir, workspace_root};

/// Options of `cargo xtask ablate`.
#[derive(clap::Args)]
pub struct AblateArgs {
    /// The ablation directory (with an `ablation.toml`).
    dir: PathBuf,
    /// Output directory (default: target/ablations/<directory name>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Training steps instead of the manifest's (a quick check of the
    /// plumbing; the table then says so).
    #[arg(long)]
    max_steps: Option<u64>,
    /// libtorch intra-op threads of every run (`WEARLANG_THREADS`; the
    /// documented figures use 2).
    #[arg(long, default_value_t = DOCUMENTED_THREADS)]
    threads: usize,
    /// Rerun every row even when its inputs are unchanged.
    #[arg(long)]
    force: bool,
}

/// What the configs of an ablation train.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Sensor-language configs: `wearlang train`, then `wearlang eval`.
    #[default]
    SensorLanguage,
    /// Masked pretraining configs: `wearlang pretrain` and its report.
    Pretrain,
}

/// `ablation.toml`: what every config of the directory is trained on and
/// scored with. Paths are relative to the workspace root, configs to the
/// manifest's directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Heading of the table.
    pub title: String,
    /// What the configs train (default: sensor-language).
    #[serde(default)]
    pub kind: Kind,
    /// The window store every run trains on and is scored on.
    pub store: PathBuf,
    /// A pretraining run whose encoder initialises each run
    /// (`wearlang train --init-from`).
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// Training steps of every run (`--max-steps`) that does not set its
    /// own (0 or absent: each config's own `max_steps`).
    #[serde(default)]
    pub max_steps: u64,
    /// `wearlang eval --protocol` (sensor-language ablations).
    #[serde(default)]
    pub protocols: String,
    /// `wearlang eval --retrieval-variant` (empty: the run's first).
    #[serde(default)]
    pub retrieval_variant: String,
    /// Splits to score on, in order (`val` first: choices are made there;
    /// sensor-language ablations).
    #[serde(default)]
    pub splits: Vec<String>,
    /// `wearlang pretrain --report-windows` (pretraining ablations; 0:
    /// every held-out window).
    #[serde(default)]
    pub report_windows: usize,
    /// `wearlang pretrain --report-probe-windows` (pretraining ablations;
    /// 0: every labelled window).
    #[serde(default)]
    pub report_probe_windows: usize,
    /// The rows, in order.
    pub row: Vec<Row>,
}

/// One config of the ablation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// The config, relative to the manifest's directory (or to the
    /// workspace root when it starts with `configs/`).
    pub config: PathBuf,
    /// What it changes, for the table.
    pub label: String,
    /// Its own training steps instead of the manifest's.
    #[serde(default)]
    pub max_steps: Option<u64>,
}

impl Manifest {
    /// Read `dir/ablation.toml`, checking that every config exists and the
    /// splits are known.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("ablation.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let m: Manifest =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if let Some(s) = m
            .splits
            .iter()
            .find(|s| !["train", "val", "test"].contains(&s.as_str()))
        {
            bail!("{}: split `{s}` (train, val or test)", path.display());
        }
        if m.row.is_empty() {
            bail!("{}: no [[row]]", path.display());
        }
        match m.kind {
            Kind::SensorLanguage => {
                if m.splits.is_empty() || m.protocols.is_empty() {
                    bail!(
                        "{}: a sensor-language ablation needs `splits` and `protocols`",
                        path.display()
                    );
                }
                if m.report_windows > 0 || m.report_probe_windows > 0 {
                    bail!(
                        "{}: `report_windows` and `report_probe_windows` are for \
                         kind = \"pretrain\"",
                        path.display()
                    );
                }
            }
            Kind::Pretrain => {
                if !m.splits.is_empty()
                    || !m.protocols.is_empty()
                    || !m.retrieval_variant.is_empty()
                    || m.init_from.is_some()
                {
                    bail!(
                        "{}: a pretraining ablation is scored by its report: no `splits`, \
                         `protocols`, `retrieval_variant` or `init_from`",
                        path.display()
                    );
                }
            }
        }
        for r in &m.row {
            let c = m.config_path(dir, r);
            if !c.is_file() {
                bail!("{}: config {} is not a file", path.display(), c.display());
            }
        }
        Ok(m)
    }

    /// The config file of `row`.
    pub fn config_path(&self, dir: &Path, row: &Row) -> PathBuf {
        if row.config.starts_with("configs") {
            workspace_root().join(&row.config)
        } else {
            dir.join(&row.config)
        }
    }
}

/// Run `cargo xtask ablate`.
pub fn run(args: &AblateArgs) -> Result<()> {
    let root = workspace_root();
    let dir = if args.dir.is_absolute() {
        args.dir.clone()
    } else {
        root.join(&args.dir)
    };
    let m = Manifest::read(&dir)?;
    let setup = crate::setup::run()?;
    cargo(&["build", "--release", "-p", "wearlang-cli"])?;
    let bin = target_dir().join("release/wearlang");
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ablation".into());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| target_dir().join("ablations").join(&name));
    std::fs::create_dir_all(&out)?;
    std::env::set_var(THREADS_ENV, args.threads.to_string());
    let store = root.join(&m.store);
    let init = m.init_from.as_ref().map(|p| root.join(p));
    let own_steps = args.max_steps.is_none()
        && (m.max_steps == 0 || m.row.iter().any(|r| r.max_steps.is_some()));
    let manifest_text = std::fs::read_to_string(dir.join("ablation.toml"))?;
    let mut common = vec![
        file_key(&bin)?,
        format!("threads={}", args.threads),
        manifest_text,
        file_key(&store)?,
    ];
    if let Some(i) = &init {
        common.push(file_key(i)?);
    }
    let steps_said = match (args.max_steps, own_steps) {
        (Some(s), _) if m.max_steps == 0 => format!("{s} steps per run, not each config's own"),
        (Some(s), _) if s != m.max_steps => {
            format!("{s} steps per run, not the manifest's {}", m.max_steps)
        }
        (_, true) => "the steps of each row".to_string(),
        _ => format!("{} steps per run", m.max_steps),
    };
    let mut table = format!(
        "# {}\n\n`cargo xtask ablate {}` ({steps_said}, {} libtorch threads); store `{}`{}{}.\n\n",
        m.title,
        args.dir.display(),
        args.threads,
        m.store.display(),
        m.init_from
            .as_ref()
            .map(|p| format!(", initialised from `{}`", p.display()))
            .unwrap_or_default(),
        match (m.kind, m.report_windows) {
            (Kind::Pretrain, 0) => ", scored on every held-out window".to_string(),
            (Kind::Pretrain, n) => format!(", scored on the first {n} held-out windows"),
            _ => String::new(),
        },
    );
    table.push_str(if own_steps {
        "| config | change | steps |"
    } else {
        "| config | change |"
    });
    let mut header_done = false;
    let mut rows = Vec::new();
    for row in &m.row {
        let config = m.config_path(&dir, row);
        let stem = config
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let run_dir = out.join(&stem);
        let steps = match args.max_steps.or(row.max_steps) {
            Some(s) => s,
            None if m.max_steps > 0 => m.max_steps,
            None => config_steps(&config)?,
        };
        let mut parts = common.clone();
        parts.push(file_key(&config)?);
        parts.push(steps.to_string());
        let key = key_of(&parts);
        let stamp = run_dir.join("ablation-key");
        let fresh = std::fs::read_to_string(&stamp).ok().as_deref() == Some(key.as_str());
        if args.force || !fresh {
            eprintln!("== ablation {stem}: training");
            let _ = std::fs::remove_file(&stamp);
            match m.kind {
                Kind::SensorLanguage => {
                    train(
                        &bin,
                        &store,
                        init.as_deref(),
                        &config,
                        &run_dir,
                        steps,
                        &setup.minilm,
                    )?;
                    for split in &m.splits {
                        eprintln!("== ablation {stem}: evaluating on {split}");
                        eval(&bin, &m, &store, &run_dir, split, &setup.minilm)?;
                    }
                }
                Kind::Pretrain => pretrain(&bin, &m, &store, &config, &run_dir, steps)?,
            }
            std::fs::write(&stamp, &key)?;
        } else {
            eprintln!("== ablation {stem}: up to date");
        }
        let mut cells = Vec::new();
        let mut names = Vec::new();
        let sources: Vec<(String, PathBuf)> = match m.kind {
            Kind::SensorLanguage => (m.splits.iter())
                .map(|split| {
                    let path = run_dir.join(format!("eval_{split}")).join("summary.json");
                    (format!("{split}: "), path)
                })
                .collect(),
            Kind::Pretrain => vec![(String::new(), run_dir.join("summary.json"))],
        };
        for (prefix, path) in sources {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let summary: Vec<(String, String)> = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            for (metric, value) in summary {
                names.push(format!("{prefix}{metric}"));
                cells.push(value);
            }
        }
        if !header_done {
            for n in &names {
                table.push_str(&format!(" {n} |"));
            }
            let fixed = if own_steps { 3 } else { 2 };
            table.push_str(&format!("\n|{}\n", " --- |".repeat(fixed + names.len())));
            header_done = true;
        }
        let steps_cell = if own_steps {
            format!(" {steps} |")
        } else {
            String::new()
        };
        rows.push(format!(
            "| `{stem}` | {} |{steps_cell} {} |\n",
            row.label,
            cells.join(" | ")
        ));
    }
    for r in rows {
        table.push_str(&r);
    }
    let path = out.join("table.md");
    std::fs::write(&path, &table)?;
    println!("{table}");
    eprintln!("table written to {}", path.display());
    Ok(())
}

/// `wearlang <command>` training `config` on `store` into `run_dir`
/// afresh for `steps` steps, quietly (the arguments `train` and `pretrain`
/// share).
fn training_command(
    bin: &Path,
    command: &str,
    store: &Path,
    config: &Path,
    run_dir: &Path,
    steps: u64,
) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg(command)
        .arg("--store")
        .arg(store)
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(run_dir)
        .arg("--max-steps")
        .arg(steps.to_string())
        .arg("--overwrite")
        .arg("--quiet");
    cmd
}

/// Train one row's config into `run_dir`, afresh.
fn train(
    bin: &Path,
    store: &Path,
    init: Option<&Path>,
    config: &Path,
    run_dir: &Path,
    steps: u64,
    minilm: &Path,
) -> Result<()> {
    let mut cmd = training_command(bin, "train", store, config, run_dir, steps);
    cmd.arg("--no-report").arg("--minilm").arg(minilm);
    if let Some(i) = init {
        cmd.arg("--init-from").arg(i);
    }
    exec(&mut cmd)
}

/// The `max_steps` a config sets.
///
/// Errors: it cannot be read, or sets none (the manifest or the row must
/// then give the steps).
fn config_steps(config: &Path) -> Result<u64> {
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let v: toml::Value =
        toml::from_str(&text).with_context(|| format!("parsing {}", config.display()))?;
    match v.get("max_steps").and_then(toml::Value::as_integer) {
        Some(s) if s > 0 => Ok(s as u64),
        _ => bail!(
            "{} sets no max_steps > 0: give `max_steps` in the ablation manifest or its row",
            config.display()
        ),
    }
}

/// Pretrain one row's config into `run_dir`, afresh, with its report
/// (which writes the run's `summary.json`).
fn pretrain(
    bin: &Path,
    m: &Manifest,
    store: &Path,
    config: &Path,
    run_dir: &Path,
    steps: u64,
) -> Result<()> {
    let mut cmd = training_command(bin, "pretrain", store, config, run_dir, steps);
    cmd.arg("--report-windows")
        .arg(m.report_windows.to_string())
        .arg("--report-probe-windows")
        .arg(m.report_probe_windows.to_string());
    exec(&mut cmd)
}

/// Evaluate `run_dir` on `split` into `run_dir/eval_<split>`.
fn eval(
    bin: &Path,
    m: &Manifest,
    store: &Path,
    run_dir: &Path,
    split: &str,
    minilm: &Path,
) -> Result<()> {
    let out = run_dir.join(format!("eval_{split}"));
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let mut cmd = Command::new(bin);
    cmd.arg("eval")
        .arg("--checkpoint")
        .arg(run_dir)
        .arg("--store")
        .arg(store)
        .arg("--out")
        .arg(&out)
        .arg("--minilm")
        .arg(minilm)
        .arg("--protocol")
        .arg(&m.protocols)
        .arg("--split")
        .arg(split)
        .arg("--quiet");
    if !m.retrieval_variant.is_empty() {
        cmd.arg("--retrieval-variant").arg(&m.retrieval_variant);
    }
    exec(&mut cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ablation directory with a manifest reads, and each of its
    /// configs exists.
    #[test]
    fn shipped_manifests_read() {
        let root = workspace_root().join("configs/ablations");
        let mut found = 0;
        for e in std::fs::read_dir(&root).unwrap() {
            let dir = e.unwrap().path();
            if dir.join("ablation.toml").is_file() {
                let m = Manifest::read(&dir).unwrap();
                assert!(!m.row.is_empty());
                assert_eq!(m.kind == Kind::SensorLanguage, !m.splits.is_empty());
                found += 1;
            }
        }
        assert!(found >= 1, "no ablation.toml under {}", root.display());
    }

    #[test]
    fn bad_manifests_are_refused_naming_the_problem() {
        let dir = std::env::temp_dir().join(format!("xtask-ablate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.toml"), "name = \"a\"\n").unwrap();
        let base =
            "title = \"t\"\nstore = \"s.parquet\"\nmax_steps = 3\nprotocols = \"zero-shot\"\n";
        let write = |extra: &str| {
            std::fs::write(dir.join("ablation.toml"), format!("{base}{extra}")).unwrap()
        };
        write("splits = [\"val\"]\n[[row]]\nconfig = \"a.toml\"\nlabel = \"a\"\n");
        assert!(Manifest::read(&dir).is_ok());
        write("splits = [\"dev\"]\n[[row]]\nconfig = \"a.toml\"\nlabel = \"a\"\n");
        let e = format!("{:#}", Manifest::read(&dir).unwrap_err());
        assert!(e.contains("dev"), "{e}");
        write("splits = [\"val\"]\n[[row]]\nconfig = \"missing.toml\"\nlabel = \"a\"\n");
        let e = format!("{:#}", Manifest::read(&dir).unwrap_err());
        assert!(e.contains("missing.toml"), "{e}");
        write("splits = [\"val\"]\nstep = 3\n[[row]]\nconfig = \"a.toml\"\nlabel = \"a\"\n");
        let e = format!("{:#}", Manifest::read(&dir).unwrap_err());
        assert!(e.contains("step"), "{e}");
        // A pretraining ablation is scored by its report, not by splits.
        write("kind = \"pretrain\"\nsplits = [\"val\"]\n[[row]]\nconfig = \"a.toml\"\nlabel = \"a\"\n");
        let e = format!("{:#}", Manifest::read(&dir).unwrap_err());
        assert!(e.contains("pretraining ablation"), "{e}");
        write("kind = \"pretraining\"\n[[row]]\nconfig = \"a.toml\"\nlabel = \"a\"\n");
        let e = format!("{:#}", Manifest::read(&dir).unwrap_err());
        assert!(e.contains("pretraining"), "{e}");
        // A sensor-language ablation needs its splits.
        write("[[row]]\nconfig = \"a.toml\"\nlabel = \"a\"\n");
        let e = format!("{:#}", Manifest::read(&dir).unwrap_err());
        assert!(e.contains("splits"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
