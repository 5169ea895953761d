//! `cargo xtask bench <what>`: benchmarks that print figures and ratios.
//!
//! `ingest` generates a large multi-channel wide CSV and its Parquet twin
//! under `target/bench/ingest/` (deterministic, reused when present) with the
//! `crates/ingest/examples/bench_data.rs` helper, which also counts the rows
//! of Parquet outputs (so that xtask builds without arrow and parquet). It
//! then times the release `wearlang ingest` on both, a pandas/numpy/pyarrow
//! reference (`xtask/bench/ingest_reference.py`) doing the same work on the
//! CSV, and plain Parquet decoding of the same file
//! (`crates/ingest/examples/decode_parquet.rs`). It prints MB/s, windows/s,
//! peak RSS and the ratios, and writes them to `results-<size>mb.json` beside
//! the data.
use crate::util::{
    build_release_example, cargo, ensure_venv, stdout_of, target_dir, workspace_root,
};
use anyhow::{bail, Context, Result};
use clap::Parser;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The benchmarks `run` knows.
const KNOWN: &[&str] = &["ingest", "caption", "pretrain", "train", "llm"];

/// Run the benchmark `what` with its own arguments.
pub fn run(what: &str, args: &[String]) -> Result<()> {
    match what {
        "ingest" => ingest(args),
        "caption" => crate::bench_caption::run(args),
        "pretrain" => crate::bench_pretrain::run(args),
        "train" => crate::bench_train::run(args),
        "llm" => crate::bench_llm::run(args),
        other => bail!("unknown benchmark '{other}' (known: {})", KNOWN.join(", ")),
    }
}

/// Options of `cargo xtask bench ingest`.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask bench ingest")]
struct IngestArgs {
    /// Size of the generated CSV in MB (10^6 bytes); the default gives a file
    /// of just over 1 GB.
    #[arg(long, default_value_t = 1024)]
    size_mb: u64,
    /// Skip the Python reference (and its virtual environment).
    #[arg(long)]
    no_reference: bool,
    /// Regenerate the input files even when they are present.
    #[arg(long)]
    regenerate: bool,
    /// Time this binary (called as `BIN ingest --manifest M --out O`)
    /// instead of building and timing the release `wearlang`.
    #[arg(long, value_name = "BIN")]
    wearlang: Option<PathBuf>,
}

/// Window protocol of the benchmark (the NLS protocol).
const WINDOW_S: f64 = 2.0;
const OVERLAP: f64 = 0.5;
/// Longest gap bridged by linear interpolation (ingest's default).
const MAX_INTERP_GAP_S: f64 = 0.1;

fn ingest(args: &[String]) -> Result<()> {
    let opts = IngestArgs::try_parse_from(
        std::iter::once("cargo xtask bench ingest".to_string()).chain(args.iter().cloned()),
    )?;
    if opts.size_mb == 0 {
        bail!("--size-mb must be at least 1");
    }
    let dir = target_dir().join("bench/ingest");
    let tool = build_release_example("wearlang-ingest", "bench_data")?;
    let data = ensure_data(&tool, &dir, opts.size_mb, opts.regenerate)?;
    println!(
        "input: {} recordings, {} subjects, {} rows, {} channels at {} Hz; CSV {:.1} MB, Parquet {:.1} MB",
        data.recordings,
        data.subjects,
        data.rows,
        data.channels.len(),
        data.rate_hz,
        mb(data.csv_bytes),
        mb(data.parquet_bytes)
    );

    let bin = match &opts.wearlang {
        Some(bin) => bin.clone(),
        None => {
            // The data binary: the same ingest as `wearlang`, without
            // loading libtorch at start-up.
            cargo(&[
                "build",
                "--release",
                "-p",
                "wearlang-cli",
                "--bin",
                "wearlang-data",
            ])?;
            target_dir().join("release/wearlang-data")
        }
    };
    let decoder = build_release_example("wearlang-ingest", "decode_parquet")?;

    let mut results = Vec::new();
    for (name, input) in [("csv", &data.csv), ("parquet", &data.parquet)] {
        let manifest = dir.join(format!("{name}.toml"));
        std::fs::write(&manifest, manifest_text(input, &data))?;
        let out = dir.join(format!("windows-{name}.parquet"));
        let _ = std::fs::remove_file(&out);
        let mut cmd = Command::new(&bin);
        cmd.arg("ingest")
            .arg("--manifest")
            .arg(&manifest)
            .arg("--out")
            .arg(&out);
        let m = measure(&format!("wearlang ingest ({name})"), &mut cmd)?;
        let windows = parquet_rows(&tool, &out)?;
        results.push(Run {
            what: format!("wearlang ingest, {name}"),
            input_bytes: std::fs::metadata(input)?.len(),
            windows: Some(windows),
            output_bytes: Some(std::fs::metadata(&out)?.len()),
            m,
        });
    }

    let mut cmd = Command::new(&decoder);
    cmd.arg(&data.parquet);
    let m = measure("decode_parquet", &mut cmd)?;
    results.push(Run {
        what: "plain Parquet decode".into(),
        input_bytes: data.parquet_bytes,
        windows: None,
        output_bytes: None,
        m,
    });

    if !opts.no_reference {
        let python = ensure_venv(&target_dir().join("bench/venv"))?;
        let out = dir.join("windows-reference.parquet");
        let _ = std::fs::remove_file(&out);
        let script = workspace_root().join("xtask/bench/ingest_reference.py");
        let mut cmd = Command::new(&python);
        cmd.arg(&script)
            .arg(&data.csv)
            .arg("--out")
            .arg(&out)
            .arg("--channels")
            .arg(
                data.channels
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .args(["--rate-hz", &data.rate_hz.to_string()])
            .args(["--size-s", &WINDOW_S.to_string()])
            .args(["--overlap", &OVERLAP.to_string()])
            .args(["--max-interp-gap-s", &MAX_INTERP_GAP_S.to_string()]);
        let m = measure("python reference (csv)", &mut cmd)?;
        let windows = parquet_rows(&tool, &out)?;
        results.push(Run {
            what: "python reference, csv".into(),
            input_bytes: data.csv_bytes,
            windows: Some(windows),
            output_bytes: Some(std::fs::metadata(&out)?.len()),
            m,
        });
    }

    report(&dir, &opts, &data, &results)
}

/// One timed child process.
struct Measured {
    seconds: f64,
    peak_rss_bytes: u64,
}

struct Run {
    what: String,
    input_bytes: u64,
    windows: Option<u64>,
    /// Size of the store (or the reference's window file) written.
    output_bytes: Option<u64>,
    m: Measured,
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn report(dir: &Path, opts: &IngestArgs, data: &DataInfo, results: &[Run]) -> Result<()> {
    println!();
    println!(
        "{:<28} {:>10} {:>9} {:>9} {:>10} {:>12} {:>10} {:>10}",
        "run", "input MB", "seconds", "MB/s", "windows", "windows/s", "peak RSS MB", "output MB"
    );
    for r in results {
        let (w, ws) = match r.windows {
            Some(w) => (w.to_string(), format!("{:.0}", w as f64 / r.m.seconds)),
            None => ("-".into(), "-".into()),
        };
        let out = r
            .output_bytes
            .map_or("-".into(), |b| format!("{:.1}", mb(b)));
        println!(
            "{:<28} {:>10.1} {:>9.2} {:>9.1} {:>10} {:>12} {:>10.1} {:>10}",
            r.what,
            mb(r.input_bytes),
            r.m.seconds,
            mb(r.input_bytes) / r.m.seconds,
            w,
            ws,
            mb(r.m.peak_rss_bytes),
            out
        );
    }
    let find = |prefix: &str| results.iter().find(|r| r.what.starts_with(prefix));
    let csv = find("wearlang ingest, csv");
    let pq = find("wearlang ingest, parquet");
    let decode = find("plain Parquet decode");
    let reference = find("python reference");
    println!();
    let mut problems = Vec::new();
    let mut ratios = serde_json::Map::new();
    if let (Some(c), Some(r)) = (csv, reference) {
        let x = r.m.seconds / c.m.seconds;
        println!("CSV: wearlang is {x:.2}x the speed of the reference (target >= 5x)");
        ratios.insert("csv_speedup_vs_reference".into(), x.into());
        if c.windows != r.windows {
            problems.push(format!(
                "window counts differ: wearlang {:?}, reference {:?}",
                c.windows, r.windows
            ));
        }
    }
    if let (Some(p), Some(d)) = (pq, decode) {
        let x = p.m.seconds / d.m.seconds;
        println!("Parquet: ingest takes {x:.2}x the time of plain decoding (target <= 2x)");
        ratios.insert("parquet_ingest_over_decode".into(), x.into());
    }
    if let (Some(c), Some(p)) = (csv, pq) {
        if c.windows != p.windows {
            problems.push(format!(
                "window counts differ between CSV ({:?}) and Parquet ({:?})",
                c.windows, p.windows
            ));
        }
    }
    for r in [csv, pq].into_iter().flatten() {
        println!(
            "{}: peak RSS {:.1} MB (target <= 512 MB)",
            r.what,
            mb(r.m.peak_rss_bytes)
        );
    }

    let runs: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "what": r.what,
                "input_bytes": r.input_bytes,
                "seconds": r.m.seconds,
                "mb_per_s": mb(r.input_bytes) / r.m.seconds,
                "windows": r.windows,
                "peak_rss_bytes": r.m.peak_rss_bytes,
                "output_bytes": r.output_bytes,
            })
        })
        .collect();
    let json = serde_json::json!({
        "size_mb": opts.size_mb,
        "rows": data.rows,
        "recordings": data.recordings,
        "subjects": data.subjects,
        "csv_bytes": data.csv_bytes,
        "parquet_bytes": data.parquet_bytes,
        "runs": runs,
        "ratios": ratios,
        "problems": problems,
    });
    let path = dir.join(format!("results-{}mb.json", opts.size_mb));
    std::fs::write(&path, serde_json::to_string_pretty(&json)?)?;
    println!("results: {}", path.display());
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}

/// The ingest manifest for a generated file described by `data`.
fn manifest_text(input: &Path, data: &DataInfo) -> String {
    let rate_hz = data.rate_hz;
    let channels: Vec<String> = data
        .channels
        .iter()
        .map(|c| {
            let (n, u, k) = (&c.name, &c.unit, &c.kind);
            format!("  {{ name = \"{n}\", unit = \"{u}\", kind = \"{k}\" }},")
        })
        .collect();
    format!(
        "[input]\npath = \"{}\"\n\n[time]\ncolumn = \"timestamp\"\nunit = \"ms\"\n\n\
         [columns]\nsubject = \"subject\"\nrecording = \"recording\"\nlabel = \"label\"\n\
         channels = [\n{}\n]\n\n[window]\nrate_hz = {rate_hz:?}\nsize_s = {WINDOW_S:?}\n\
         overlap = {OVERLAP:?}\nmixed_labels = \"drop\"\n\n[resample]\nmax_interp_gap_s = {MAX_INTERP_GAP_S:?}\n\n\
         [split]\nkind = \"subject_ratios\"\ntrain = 0.6\nval = 0.2\nseed = 0\n",
        input.display().to_string().replace('\\', "\\\\"),
        channels.join("\n")
    )
}

/// Number of rows in a Parquet file, from its footer (`bench_data rows`).
fn parquet_rows(tool: &Path, path: &Path) -> Result<u64> {
    let out = stdout_of(Command::new(tool).arg("rows").arg(path))?;
    out.trim()
        .parse()
        .with_context(|| format!("bench_data rows printed {out:?}"))
}

/// Run `cmd` to completion, timing it and reading its peak resident set
/// size from `wait4`'s resource usage.
fn measure(label: &str, cmd: &mut Command) -> Result<Measured> {
    eprintln!("$ {cmd:?}");
    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain C struct for which all-zero bytes are valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std only reaps on
        // wait/try_wait, which are never called on `child`); the pointers
        // are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context(format!("wait4 for {label}"));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(child);
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{label} failed (wait status {status:#x})");
    }
    // ru_maxrss is in KiB on Linux.
    let peak_rss_bytes = usage.ru_maxrss.max(0) as u64 * 1024;
    eprintln!(
        "  {label}: {seconds:.2} s, peak RSS {:.1} MB",
        mb(peak_rss_bytes)
    );
    Ok(Measured {
        seconds,
        peak_rss_bytes,
    })
}

/// What `ensure_data` produced (the JSON of `bench_data generate`).
struct DataInfo {
    csv: PathBuf,
    parquet: PathBuf,
    csv_bytes: u64,
    parquet_bytes: u64,
    rows: u64,
    recordings: u64,
    subjects: u64,
    rate_hz: f64,
    channels: Vec<Channel>,
}

/// A channel column of the generated data.
struct Channel {
    name: String,
    unit: String,
    kind: String,
}

impl DataInfo {
    /// Read the JSON object printed by `bench_data generate`.
    fn from_json(v: &Value) -> Result<Self> {
        let num = |k: &str| v[k].as_u64().with_context(|| format!("no number `{k}`"));
        let text = |v: &Value, k: &str| {
            v[k].as_str()
                .map(str::to_string)
                .with_context(|| format!("no string `{k}`"))
        };
        let channels = v["channels"]
            .as_array()
            .context("no `channels` array")?
            .iter()
            .map(|c| {
                Ok(Channel {
                    name: text(c, "name")?,
                    unit: text(c, "unit")?,
                    kind: text(c, "kind")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(DataInfo {
            csv: text(v, "csv")?.into(),
            parquet: text(v, "parquet")?.into(),
            csv_bytes: num("csv_bytes")?,
            parquet_bytes: num("parquet_bytes")?,
            rows: num("rows")?,
            recordings: num("recordings")?,
            subjects: num("subjects")?,
            rate_hz: v["rate_hz"].as_f64().context("no number `rate_hz`")?,
            channels,
        })
    }
}

/// Have `bench_data generate` write (or reuse) `data-<size>mb.csv` and
/// `data-<size>mb.parquet` in `dir`, and read its description of them.
fn ensure_data(tool: &Path, dir: &Path, size_mb: u64, regenerate: bool) -> Result<DataInfo> {
    let mut cmd = Command::new(tool);
    cmd.arg("generate")
        .arg("--dir")
        .arg(dir)
        .args(["--size-mb", &size_mb.to_string()]);
    if regenerate {
        cmd.arg("--regenerate");
    }
    let out = stdout_of(&mut cmd)?;
    let v: Value = serde_json::from_str(&out)
        .with_context(|| format!("bench_data generate printed invalid JSON:\n{out}"))?;
    DataInfo::from_json(&v).with_context(|| format!("bench_data generate printed {v}"))
}
