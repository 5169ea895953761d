//! `cargo xtask ablate DIR`: train every config of an ablation directory
//! the same way, evaluate each on the same splits, and write the table.
//!
//! `DIR/ablation.toml` says how (see [`Manifest`]). Sensor-language
//! ablations (`kind = "sensor_language"`, the default): each listed config
//! is trained with `wearlang train` (on the store and any extra stores),
//! evaluated with `wearlang eval --split S` for each split and with each
//! `[[eval]]` of the manifest (other stores, protocols, evaluation configs
//! or flags: a model trained on two data sets scored on a third), and the
//! evaluations' `summary.json` rows go into `OUT/table.md` (printed too).
//! Pretraining ablations (`kind = "pretrain"`): each config is trained with `wearlang pretrain`, whose
//! report (imputation against the baselines, the robustness probe) writes
//! the run's `summary.json`. A row whose inputs (binary, config, store,
//! initialising run, evaluations, steps, thread count) have not changed
//! since its last run is reused, so a row can be added to a manifest
//! without running the others again.

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
    /// Stores whose training windows join the store's in every run
    /// (`--extra-store`, in order).
    #[serde(default)]
    pub extra_stores: Vec<PathBuf>,
    /// A pretraining run whose encoder initialises each run
    /// (`wearlang train --init-from`).
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// Training steps of every run (`--max-steps`) that does not set its
    /// own (0 or absent: each config's own `max_steps`, or its epochs when
    /// it sets none).
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
    /// Evaluations besides the splits of the store (sensor-language
    /// ablations), each a column group of the table, in order.
    #[serde(default)]
    pub eval: Vec<EvalSpec>,
    /// The rows, in order.
    pub row: Vec<Row>,
}

/// One `[[eval]]` of a manifest: `wearlang eval` of every row's model on a
/// store and split, with its protocols and settings, into `eval_<name>/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalSpec {
    /// Its directory (`eval_<name>`) and the prefix of its columns.
    pub name: String,
    /// The store scored (default: the manifest's).
    #[serde(default)]
    pub store: Option<PathBuf>,
    /// The split scored (default `test`).
    #[serde(default = "test_split")]
    pub split: String,
    /// `wearlang eval --protocol`.
    pub protocols: String,
    /// `wearlang eval --config`, relative to the workspace root (default:
    /// `wearlang eval`'s defaults).
    #[serde(default)]
    pub config: Option<PathBuf>,
    /// Further `wearlang eval` arguments (`["--normalisation", "model"]`).
    #[serde(default)]
    pub args: Vec<String>,
}

fn test_split() -> String {
    "test".into()
}

/// Whether `s` names a split of a store (`train`, `val` or `test`).
fn is_split(s: &str) -> bool {
    ["train", "val", "test"].contains(&s)
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
        if let Some(s) = m.splits.iter().find(|s| !is_split(s)) {
            bail!("{}: split `{s}` (train, val or test)", path.display());
        }
        if m.row.is_empty() {
            bail!("{}: no [[row]]", path.display());
        }
        match m.kind {
            Kind::SensorLanguage => {
                if m.splits.is_empty() && m.eval.is_empty() {
                    bail!(
                        "{}: a sensor-language ablation needs `splits` (with `protocols`) \
                         or an [[eval]]",
                        path.display()
                    );
                }
                if m.splits.is_empty() != m.protocols.is_empty() {
                    bail!(
                        "{}: `splits` and `protocols` go together (the evaluations of the \
                         store itself)",
                        path.display()
                    );
                }
                let mut names: Vec<&str> = m.splits.iter().map(String::as_str).collect();
                for e in &m.eval {
                    let ok = !e.name.is_empty()
                        && (e.name.chars()).all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !ok {
                        bail!(
                            "{}: [[eval]] name `{}` (letters, digits and `_`: it names a \
                             directory)",
                            path.display(),
                            e.name
                        );
                    }
                    if names.contains(&e.name.as_str()) {
                        bail!(
                            "{}: [[eval]] name `{}` is used twice (a split's evaluation is \
                             named by its split)",
                            path.display(),
                            e.name
                        );
                    }
                    names.push(&e.name);
                    if !is_split(&e.split) {
                        bail!(
                            "{}: [[eval]] `{}`: split `{}` (train, val or test)",
                            path.display(),
                            e.name,
                            e.split
                        );
                    }
                    if e.protocols.is_empty() {
                        bail!("{}: [[eval]] `{}` has no protocols", path.display(), e.name);
                    }
                    if let Some(c) = &e.config {
                        if !workspace_root().join(c).is_file() {
                            bail!(
                                "{}: [[eval]] `{}`: config {} is not a file",
                                path.display(),
                                e.name,
                                c.display()
                            );
                        }
                    }
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
                    || !m.eval.is_empty()
                {
                    bail!(
                        "{}: a pretraining ablation is scored by its report: no `splits`, \
                         `protocols`, `retrieval_variant`, `init_from` or [[eval]]",
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

    /// Every evaluation of a sensor-language ablation, in table order: one
    /// per split of the store, then the `[[eval]]`s.
    pub fn evals(&self) -> Vec<EvalSpec> {
        let variant = if self.retrieval_variant.is_empty() {
            Vec::new()
        } else {
            vec!["--retrieval-variant".into(), self.retrieval_variant.clone()]
        };
        let splits = self.splits.iter().map(|split| EvalSpec {
            name: split.clone(),
            store: None,
            split: split.clone(),
            protocols: self.protocols.clone(),
            config: None,
            args: variant.clone(),
        });
        splits.chain(self.eval.iter().cloned()).collect()
    }

    /// What every row's runs depend on besides the files they read: the
    /// kind, the stores and initialising run named, the evaluations and
    /// the report sizes (not the title, the labels or the other rows, so
    /// that a row added or relabelled leaves the others up to date).
    pub fn run_key(&self) -> String {
        format!(
            "{:?} {:?} {:?} {:?} {:?} {} {}",
            self.kind,
            self.store,
            self.extra_stores,
            self.init_from,
            self.evals(),
            self.report_windows,
            self.report_probe_windows
        )
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
    let extra: Vec<PathBuf> = m.extra_stores.iter().map(|p| root.join(p)).collect();
    let stores = Stores {
        store: &store,
        extra: &extra,
    };
    let init = m.init_from.as_ref().map(|p| root.join(p));
    let evals = m.evals();
    let own_steps = args.max_steps.is_none()
        && (m.max_steps == 0 || m.row.iter().any(|r| r.max_steps.is_some()));
    let mut common = vec![
        file_key(&bin)?,
        format!("threads={}", args.threads),
        m.run_key(),
        file_key(&store)?,
    ];
    // Every other file the runs read, each hashed once (an evaluation
    // store is often a training store too, or scored twice).
    let mut inputs: Vec<PathBuf> = extra.clone();
    inputs.extend(init.clone());
    for e in &evals {
        inputs.extend(e.store.iter().chain(&e.config).map(|p| root.join(p)));
    }
    let mut hashed = vec![store.clone()];
    for p in inputs {
        if !hashed.contains(&p) {
            common.push(file_key(&p)?);
            hashed.push(p);
        }
    }
    let steps_said = match (args.max_steps, own_steps) {
        (Some(s), _) if m.max_steps == 0 => {
            format!("{s} steps per run (and per unseen-activity retraining), not each config's own")
        }
        (Some(s), _) if s != m.max_steps => {
            format!("{s} steps per run, not the manifest's {}", m.max_steps)
        }
        (_, true) => "the steps of each row".to_string(),
        _ => format!("{} steps per run", m.max_steps),
    };
    let mut table = format!(
        "# {}\n\n`cargo xtask ablate {}` ({steps_said}, {} libtorch threads); store `{}`{}{}{}.\n\n",
        m.title,
        args.dir.display(),
        args.threads,
        m.store.display(),
        (m.extra_stores.iter())
            .map(|p| format!(" + `{}`", p.display()))
            .collect::<String>(),
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
    // The evaluations a column name does not explain: their store and
    // settings, one line each.
    let described: Vec<&EvalSpec> = (evals.iter())
        .filter(|e| e.store.is_some() || !e.args.is_empty())
        .collect();
    for e in &described {
        table.push_str(&format!(
            "`{}`: {} split of `{}`{}{}.\n",
            e.name,
            e.split,
            e.store.as_ref().unwrap_or(&m.store).display(),
            e.config
                .as_ref()
                .map(|c| format!(", settings `{}`", c.display()))
                .unwrap_or_default(),
            if e.args.is_empty() {
                String::new()
            } else {
                format!(", `{}`", e.args.join(" "))
            },
        ));
    }
    if !described.is_empty() {
        table.push('\n');
    }
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
            Some(s) => Steps::Given(s),
            None if m.max_steps > 0 => Steps::Given(m.max_steps),
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
                        stores,
                        init.as_deref(),
                        &config,
                        &run_dir,
                        steps,
                        &setup.minilm,
                    )?;
                    for e in &evals {
                        eprintln!("== ablation {stem}: evaluating `{}`", e.name);
                        let scored = e.store.as_ref().map_or(store.clone(), |s| root.join(s));
                        eval(&bin, e, &scored, &run_dir, args.max_steps, &setup.minilm)?;
                    }
                }
                Kind::Pretrain => pretrain(&bin, &m, stores, &config, &run_dir, steps)?,
            }
            std::fs::write(&stamp, &key)?;
        } else {
            eprintln!("== ablation {stem}: up to date");
        }
        let mut cells = Vec::new();
        let mut names = Vec::new();
        let sources: Vec<(String, PathBuf)> = match m.kind {
            Kind::SensorLanguage => (evals.iter())
                .map(|e| {
                    let path = run_dir
                        .join(format!("eval_{}", e.name))
                        .join("summary.json");
                    (format!("{}: ", e.name), path)
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

/// The stores a run trains on: `--store` and the `--extra-store`s.
#[derive(Clone, Copy)]
struct Stores<'a> {
    store: &'a Path,
    extra: &'a [PathBuf],
}

/// A run's training budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Steps {
    /// `--max-steps N`.
    Given(u64),
    /// The config's own epochs (it sets no `max_steps`).
    Epochs(u64),
}

impl std::fmt::Display for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Steps::Given(s) => write!(f, "{s}"),
            Steps::Epochs(e) => write!(f, "{e} epochs"),
        }
    }
}

/// `wearlang <command>` training `config` on `stores` into `run_dir`
/// afresh for `steps`, quietly (the arguments `train` and `pretrain`
/// share).
fn training_command(
    bin: &Path,
    command: &str,
    stores: Stores,
    config: &Path,
    run_dir: &Path,
    steps: Steps,
) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg(command).arg("--store").arg(stores.store);
    for e in stores.extra {
        cmd.arg("--extra-store").arg(e);
    }
    cmd.arg("--config")
        .arg(config)
        .arg("--out")
        .arg(run_dir)
        .arg("--overwrite")
        .arg("--quiet");
    if let Steps::Given(s) = steps {
        cmd.arg("--max-steps").arg(s.to_string());
    }
    cmd
}

/// Train one row's config into `run_dir`, afresh.
fn train(
    bin: &Path,
    stores: Stores,
    init: Option<&Path>,
    config: &Path,
    run_dir: &Path,
    steps: Steps,
    minilm: &Path,
) -> Result<()> {
    let mut cmd = training_command(bin, "train", stores, config, run_dir, steps);
    cmd.arg("--no-report").arg("--minilm").arg(minilm);
    if let Some(i) = init {
        cmd.arg("--init-from").arg(i);
    }
    exec(&mut cmd)
}

/// The budget a config sets: its `max_steps`, else its `epochs`.
///
/// Errors: it cannot be read, or sets neither (the manifest or the row
/// must then give the steps).
fn config_steps(config: &Path) -> Result<Steps> {
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let v: toml::Value =
        toml::from_str(&text).with_context(|| format!("parsing {}", config.display()))?;
    let positive = |key: &str| {
        v.get(key)
            .and_then(toml::Value::as_integer)
            .filter(|&n| n > 0)
            .map(|n| n as u64)
    };
    match (positive("max_steps"), positive("epochs")) {
        (Some(s), _) => Ok(Steps::Given(s)),
        (None, Some(e)) => Ok(Steps::Epochs(e)),
        _ => bail!(
            "{} sets no max_steps or epochs > 0: give `max_steps` in the ablation manifest \
             or its row",
            config.display()
        ),
    }
}

/// Pretrain one row's config into `run_dir`, afresh, with its report
/// (which writes the run's `summary.json`).
fn pretrain(
    bin: &Path,
    m: &Manifest,
    stores: Stores,
    config: &Path,
    run_dir: &Path,
    steps: Steps,
) -> Result<()> {
    let mut cmd = training_command(bin, "pretrain", stores, config, run_dir, steps);
    cmd.arg("--report-windows")
        .arg(m.report_windows.to_string())
        .arg("--report-probe-windows")
        .arg(m.report_probe_windows.to_string());
    exec(&mut cmd)
}

/// Evaluate `run_dir` as `e` says on `store` into `run_dir/eval_<name>`
/// (`unseen_steps`: the steps of each unseen-activity retraining instead
/// of the evaluation settings').
fn eval(
    bin: &Path,
    e: &EvalSpec,
    store: &Path,
    run_dir: &Path,
    unseen_steps: Option<u64>,
    minilm: &Path,
) -> Result<()> {
    let out = run_dir.join(format!("eval_{}", e.name));
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
        .arg(&e.protocols)
        .arg("--split")
        .arg(&e.split)
        .arg("--quiet");
    if let Some(c) = &e.config {
        cmd.arg("--config").arg(workspace_root().join(c));
    }
    if let Some(s) = unseen_steps {
        cmd.arg("--unseen-steps").arg(s.to_string());
    }
    cmd.args(&e.args);
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
                assert_eq!(m.kind == Kind::SensorLanguage, !m.evals().is_empty());
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
        // ... or evaluations of their own; those are checked.
        let row = "[[row]]\nconfig = \"a.toml\"\nlabel = \"a\"\n";
        let ev = |fields: &str| format!("[[eval]]\n{fields}\n");
        write(&format!(
            "splits = [\"val\"]\n{}{row}",
            ev("name = \"other\"\nstore = \"o.parquet\"\nprotocols = \"unseen\"")
        ));
        let m = Manifest::read(&dir).unwrap();
        let evals = m.evals();
        assert_eq!(
            evals.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["val", "other"]
        );
        assert_eq!(
            (evals[0].split.as_str(), evals[1].split.as_str()),
            ("val", "test")
        );
        assert_eq!(evals[1].store.as_deref(), Some(Path::new("o.parquet")));
        for (fields, needle) in [
            ("name = \"val\"\nprotocols = \"zero-shot\"", "used twice"),
            ("name = \"a b\"\nprotocols = \"zero-shot\"", "`a b`"),
            (
                "name = \"o\"\nsplit = \"dev\"\nprotocols = \"zero-shot\"",
                "dev",
            ),
            ("name = \"o\"\nprotocols = \"\"", "no protocols"),
            (
                "name = \"o\"\nprotocols = \"zero-shot\"\nconfig = \"nowhere.toml\"",
                "nowhere.toml",
            ),
            ("name = \"o\"\nprotocol = \"zero-shot\"", "protocol"),
        ] {
            write(&format!("splits = [\"val\"]\n{}{row}", ev(fields)));
            let e = format!("{:#}", Manifest::read(&dir).unwrap_err());
            assert!(e.contains(needle), "{fields}: {e}");
        }
        // Protocols without splits say nothing: refused.
        write(&format!(
            "{}{row}",
            ev("name = \"o\"\nprotocols = \"zero-shot\"")
        ));
        let e = format!("{:#}", Manifest::read(&dir).unwrap_err());
        assert!(e.contains("go together"), "{e}");
        // A pretraining ablation has no [[eval]].
        std::fs::write(
            dir.join("ablation.toml"),
            format!(
                "title = \"t\"\nstore = \"s.parquet\"\nkind = \"pretrain\"\n{}{row}",
                ev("name = \"o\"\nprotocols = \"zero-shot\"")
            ),
        )
        .unwrap();
        let e = format!("{:#}", Manifest::read(&dir).unwrap_err());
        assert!(e.contains("[[eval]]"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A row's key follows what its runs depend on, not the title, the
    /// labels or the other rows.
    #[test]
    fn run_key_ignores_title_labels_and_rows() {
        let read = |text: &str| -> Manifest { toml::from_str(text).unwrap() };
        let base = "store = \"s.parquet\"\nsplits = [\"val\"]\nprotocols = \"zero-shot\"\n";
        let row = |c: &str, l: &str| format!("[[row]]\nconfig = \"{c}\"\nlabel = \"{l}\"\n");
        let a = read(&format!("title = \"a\"\n{base}{}", row("x.toml", "x")));
        let b = read(&format!(
            "title = \"b\"\n{base}{}{}",
            row("x.toml", "another label"),
            row("y.toml", "y")
        ));
        assert_eq!(a.run_key(), b.run_key());
        let c = read(&format!(
            "title = \"a\"\n{base}extra_stores = [\"h.parquet\"]\n{}",
            row("x.toml", "x")
        ));
        assert_ne!(a.run_key(), c.run_key());
        let d = read(&format!(
            "title = \"a\"\n{base}[[eval]]\nname = \"o\"\nprotocols = \"unseen\"\n{}",
            row("x.toml", "x")
        ));
        assert_ne!(a.run_key(), d.run_key());
    }

    /// A config's own budget: `max_steps` when it sets one, else its
    /// epochs (then no `--max-steps` is passed).
    #[test]
    fn config_budget_is_its_steps_or_its_epochs() {
        let dir = std::env::temp_dir().join(format!("xtask-ablate-steps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, "epochs = 8\nmax_steps = 40\n").unwrap();
        assert_eq!(config_steps(&path).unwrap(), Steps::Given(40));
        std::fs::write(&path, "epochs = 8\n").unwrap();
        assert_eq!(config_steps(&path).unwrap(), Steps::Epochs(8));
        assert_eq!(Steps::Epochs(8).to_string(), "8 epochs");
        std::fs::write(&path, "epochs = 0\n").unwrap();
        let e = format!("{:#}", config_steps(&path).unwrap_err());
        assert!(e.contains("c.toml") && e.contains("epochs"), "{e}");
        let cmd = training_command(
            Path::new("wearlang"),
            "train",
            Stores {
                store: Path::new("a.parquet"),
                extra: &[PathBuf::from("b.parquet")],
            },
            &path,
            &dir,
            Steps::Epochs(8),
        );
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into()).collect();
        assert!(!args.contains(&"--max-steps".to_string()), "{args:?}");
        let extra = args.iter().position(|a| a == "--extra-store").unwrap();
        assert_eq!(args[extra + 1], "b.parquet");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
