//! Small helpers shared by the xtask subcommands.
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// The cargo target directory of the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Run `cargo ARGS` in the workspace root, streaming its output.
pub fn cargo(args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("$ cargo {}", args.join(" "));
    exec(Command::new(cargo).args(args).current_dir(workspace_root()))
}

/// Build `example` of `package` in release and return its binary's path.
pub fn build_release_example(package: &str, example: &str) -> Result<PathBuf> {
    cargo(&["build", "--release", "-p", package, "--example", example])?;
    Ok(target_dir().join("release/examples").join(example))
}

/// The value after `name` in a benchmark's arguments, or `default`.
pub fn arg_value(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

/// Run a command, failing with its command line if it exits non-zero.
pub fn exec(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// Run a command and return its stdout, passing its stderr through; fails
/// with its command line if it exits non-zero.
pub fn stdout_of(cmd: &mut Command) -> Result<String> {
    eprintln!("$ {cmd:?}");
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!("{cmd:?} failed with {}", out.status);
    }
    String::from_utf8(out.stdout).with_context(|| format!("{cmd:?} printed invalid UTF-8"))
}

/// A virtual environment with pandas, numpy, pyarrow and scipy (for the
/// Python references of the ingest and caption benchmarks); returns its
/// python.
pub fn ensure_venv(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    let has = |python: &Path| {
        Command::new(python)
            .args(["-c", "import pandas, numpy, pyarrow, scipy"])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if python.exists() && has(&python) {
        return Ok(python);
    }
    if !python.exists() {
        exec(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    }
    exec(Command::new(&python).args([
        "-m", "pip", "install", "--quiet", "pandas", "numpy", "pyarrow", "scipy",
    ]))?;
    if !has(&python) {
        bail!(
            "{} cannot import pandas, numpy, pyarrow and scipy",
            python.display()
        );
    }
    Ok(python)
}
