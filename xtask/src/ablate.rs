//! `cargo xtask ablate DIR`: train every config of an ablation directory
//! the same way, evaluate each on the same splits, and write the table.
//!
//! `DIR/ablation.toml` says how (see [`Manifest`]); each listed config is
//! trained with `wearlang train` (sensor-language configs), evaluated with
//! `wearlang eval --split S` for each split, and the evaluations'
//! `summary.json` rows go into `OUT/table.md` (printed too). A row whose
//! inputs (binary, config, manifest, store, initialising run, thread count)
//! have not changed since its last run is reused.

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

/// `ablation.toml`: what every config of the directory is trained on and
/// scored with. Paths are relative to the workspace root, configs to the
/// manifest's directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Heading of the table.
    pub title: String,
    /// The window store every run trains on and is scored on.
    pub store: PathBuf,
    /// A pretraining run whose encoder initialises each run
    /// (`wearlang train --init-from`).
    #[serde(default)]
    pub init_from: Option<PathBuf>,
    /// Training steps of every run (`--max-steps`).
    pub max_steps: u64,
    /// `wearlang eval --protocol`.
    pub protocols: String,
    /// `wearlang eval --retrieval-variant` (empty: the run's first).
    #[serde(default)]
    pub retrieval_variant: String,
    /// Splits to score on, in order (`val` first: choices are made there).
    pub splits: Vec<String>,
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
    let steps = args.max_steps.unwrap_or(m.max_steps);
    let manifest_text = std::fs::read_to_string(dir.join("ablation.toml"))?;
    let mut common = vec![
        file_key(&bin)?,
        format!("threads={}", args.threads),
        manifest_text,
        file_key(&store)?,
        steps.to_string(),
    ];
    if let Some(i) = &init {
        common.push(file_key(i)?);
    }
    let mut table = format!(
        "# {}\n\n`cargo xtask ablate {}` ({} steps per run{}, {} libtorch threads); store `{}`{}.\n\n",
        m.title,
        args.dir.display(),
        steps,
        if steps == m.max_steps {
            String::new()
        } else {
            format!(", not the manifest's {}", m.max_steps)
        },
        args.threads,
        m.store.display(),
        m.init_from
            .as_ref()
            .map(|p| format!(", initialised from `{}`", p.display()))
            .unwrap_or_default(),
    );
    table.push_str("| config | change |");
    let mut header_done = false;
    let mut rows = Vec::new();
    for row in &m.row {
        let config = m.config_path(&dir, row);
        let stem = config
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let run_dir = out.join(&stem);
        let mut parts = common.clone();
        parts.push(file_key(&config)?);
        let key = key_of(&parts);
        let stamp = run_dir.join("ablation-key");
        let fresh = std::fs::read_to_string(&stamp).ok().as_deref() == Some(key.as_str());
        if args.force || !fresh {
            eprintln!("== ablation {stem}: training");
            let _ = std::fs::remove_file(&stamp);
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
            std::fs::write(&stamp, &key)?;
        } else {
            eprintln!("== ablation {stem}: up to date");
        }
        let mut cells = Vec::new();
        let mut names = Vec::new();
        for split in &m.splits {
            let path = run_dir.join(format!("eval_{split}")).join("summary.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let summary: Vec<(String, String)> = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            for (metric, value) in summary {
                names.push(format!("{split}: {metric}"));
                cells.push(value);
            }
        }
        if !header_done {
            for n in &names {
                table.push_str(&format!(" {n} |"));
            }
            table.push_str(&format!(
                "\n| --- | --- |{}\n",
                " --- |".repeat(names.len())
            ));
            header_done = true;
        }
        rows.push(format!(
            "| `{stem}` | {} | {} |\n",
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
    let mut cmd = Command::new(bin);
    cmd.arg("train")
        .arg("--store")
        .arg(store)
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(run_dir)
        .arg("--max-steps")
        .arg(steps.to_string())
        .arg("--overwrite")
        .arg("--quiet")
        .arg("--no-report")
        .arg("--minilm")
        .arg(minilm);
    if let Some(i) = init {
        cmd.arg("--init-from").arg(i);
    }
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
                assert!(!m.row.is_empty() && !m.splits.is_empty());
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
        let _ = std::fs::remove_dir_all(&dir);
    }
}
