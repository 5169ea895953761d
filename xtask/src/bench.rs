//! `cargo xtask bench <what>`: benchmarks that print figures and ratios.
//!
//! `ingest` generates a large multi-channel wide CSV and its Parquet twin
//! under `target/bench/ingest/` (deterministic, reused when present), then
//! times the release `wearlang ingest` on both, a pandas/numpy/pyarrow
//! reference (`xtask/bench/ingest_reference.py`) doing the same work on the
//! CSV, and plain Parquet decoding of the same file
//! (`crates/ingest/examples/decode_parquet.rs`). It prints MB/s, windows/s,
//! peak RSS and the ratios, and writes them to `results-<size>mb.json` beside
//! the data.
use crate::util::{cargo, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use arrow::array::{ArrayRef, Float32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use clap::Parser;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
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

/// Channel columns of the generated data (units in the manifest).
const CHANNELS: [(&str, &str, &str); 9] = [
    ("acc_x", "g", "accelerometer"),
    ("acc_y", "g", "accelerometer"),
    ("acc_z", "g", "accelerometer"),
    ("gyr_x", "rad/s", "gyroscope"),
    ("gyr_y", "rad/s", "gyroscope"),
    ("gyr_z", "rad/s", "gyroscope"),
    ("mag_x", "uT", "magnetometer"),
    ("mag_y", "uT", "magnetometer"),
    ("mag_z", "uT", "magnetometer"),
];
/// Activities with (movement amplitude, movement frequency in Hz).
const ACTIVITIES: [(&str, f64, f64); 8] = [
    ("lying", 0.02, 0.2),
    ("sitting", 0.05, 0.3),
    ("standing", 0.08, 0.3),
    ("walking", 1.0, 1.8),
    ("running", 2.5, 2.8),
    ("cycling", 1.5, 1.4),
    ("stairs_up", 1.2, 1.6),
    ("stairs_down", 1.3, 1.9),
];
const RATE_HZ: f64 = 50.0;
const STEP_MS: i64 = 20;
const SUBJECTS: u64 = 60;
const SEED: u64 = 0x5EED_1A6E_5743;
/// Bump when the generator changes, so that old files are regenerated.
const GEN_VERSION: u64 = 1;
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
    std::fs::create_dir_all(&dir)?;
    let data = ensure_data(&dir, opts.size_mb, opts.regenerate)?;
    println!(
        "input: {} recordings, {} subjects, {} rows, {} channels at {} Hz; CSV {:.1} MB, Parquet {:.1} MB",
        data.recordings,
        data.subjects,
        data.rows,
        CHANNELS.len(),
        RATE_HZ,
        mb(data.csv_bytes),
        mb(data.parquet_bytes)
    );

    let bin = match &opts.wearlang {
        Some(bin) => bin.clone(),
        None => {
            cargo(&["build", "--release", "-p", "wearlang-cli"])?;
            target_dir().join("release/wearlang")
        }
    };
    cargo(&[
        "build",
        "--release",
        "-p",
        "wearlang-ingest",
        "--example",
        "decode_parquet",
    ])?;
    let decoder = target_dir().join("release/examples/decode_parquet");

    let mut results = Vec::new();
    for (name, input) in [("csv", &data.csv), ("parquet", &data.parquet)] {
        let manifest = dir.join(format!("{name}.toml"));
        std::fs::write(&manifest, manifest_text(input))?;
        let out = dir.join(format!("windows-{name}.parquet"));
        let _ = std::fs::remove_file(&out);
        let mut cmd = Command::new(&bin);
        cmd.arg("ingest")
            .arg("--manifest")
            .arg(&manifest)
            .arg("--out")
            .arg(&out);
        let m = measure(&format!("wearlang ingest ({name})"), &mut cmd)?;
        let windows = parquet_rows(&out)?;
        results.push(Run {
            what: format!("wearlang ingest, {name}"),
            input_bytes: std::fs::metadata(input)?.len(),
            windows: Some(windows),
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
            .arg(CHANNELS.map(|c| c.0).join(","))
            .args(["--rate-hz", &RATE_HZ.to_string()])
            .args(["--size-s", &WINDOW_S.to_string()])
            .args(["--overlap", &OVERLAP.to_string()])
            .args(["--max-interp-gap-s", &MAX_INTERP_GAP_S.to_string()]);
        let m = measure("python reference (csv)", &mut cmd)?;
        let windows = parquet_rows(&out)?;
        results.push(Run {
            what: "python reference, csv".into(),
            input_bytes: data.csv_bytes,
            windows: Some(windows),
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
    m: Measured,
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn report(dir: &Path, opts: &IngestArgs, data: &DataInfo, results: &[Run]) -> Result<()> {
    println!();
    println!(
        "{:<28} {:>10} {:>9} {:>9} {:>10} {:>12} {:>10}",
        "run", "input MB", "seconds", "MB/s", "windows", "windows/s", "peak RSS MB"
    );
    for r in results {
        let (w, ws) = match r.windows {
            Some(w) => (w.to_string(), format!("{:.0}", w as f64 / r.m.seconds)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<28} {:>10.1} {:>9.2} {:>9.1} {:>10} {:>12} {:>10.1}",
            r.what,
            mb(r.input_bytes),
            r.m.seconds,
            mb(r.input_bytes) / r.m.seconds,
            w,
            ws,
            mb(r.m.peak_rss_bytes)
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

/// The ingest manifest for a generated file.
fn manifest_text(input: &Path) -> String {
    let channels: Vec<String> = CHANNELS
        .iter()
        .map(|(n, u, k)| format!("  {{ name = \"{n}\", unit = \"{u}\", kind = \"{k}\" }},"))
        .collect();
    format!(
        "[input]\npath = \"{}\"\n\n[time]\ncolumn = \"timestamp\"\nunit = \"ms\"\n\n\
         [columns]\nsubject = \"subject\"\nrecording = \"recording\"\nlabel = \"label\"\n\
         channels = [\n{}\n]\n\n[window]\nrate_hz = {RATE_HZ:?}\nsize_s = {WINDOW_S:?}\n\
         overlap = {OVERLAP:?}\nmixed_labels = \"drop\"\n\n[resample]\nmax_interp_gap_s = {MAX_INTERP_GAP_S:?}\n\n\
         [split]\nkind = \"subject_ratios\"\ntrain = 0.6\nval = 0.2\nseed = 0\n",
        input.display().to_string().replace('\\', "\\\\"),
        channels.join("\n")
    )
}

/// Number of rows in a Parquet file, from its footer.
fn parquet_rows(path: &Path) -> Result<u64> {
    let f = File::open(path).with_context(|| format!("open {}", path.display()))?;
    let r = SerializedFileReader::new(f).with_context(|| format!("read {}", path.display()))?;
    Ok(r.metadata().file_metadata().num_rows() as u64)
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

/// A virtual environment with pandas, numpy and pyarrow; returns its python.
pub(crate) fn ensure_venv(venv: &Path) -> Result<PathBuf> {
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
        crate::util::exec(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    }
    crate::util::exec(Command::new(&python).args([
        "-m", "pip", "install", "--quiet", "pandas", "numpy", "pyarrow", "scipy",
    ]))?;
    if !has(&python) {
        bail!(
            "{} cannot import pandas, numpy and pyarrow",
            python.display()
        );
    }
    Ok(python)
}

/// What `ensure_data` produced.
struct DataInfo {
    csv: PathBuf,
    parquet: PathBuf,
    csv_bytes: u64,
    parquet_bytes: u64,
    rows: u64,
    recordings: u64,
    subjects: u64,
}

/// Generate `data-<size>mb.csv` and `data-<size>mb.parquet` in `dir`
/// unless a previous run left them with the same parameters and sizes.
fn ensure_data(dir: &Path, size_mb: u64, regenerate: bool) -> Result<DataInfo> {
    let csv = dir.join(format!("data-{size_mb}mb.csv"));
    let parquet = dir.join(format!("data-{size_mb}mb.parquet"));
    let info_path = dir.join(format!("data-{size_mb}mb.json"));
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    if !regenerate {
        if let Ok(text) = std::fs::read_to_string(&info_path) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let get = |k: &str| v.get(k).and_then(|x| x.as_u64());
            if get("version") == Some(GEN_VERSION)
                && get("seed") == Some(SEED)
                && get("size_mb") == Some(size_mb)
                && get("csv_bytes") == size(&csv)
                && get("parquet_bytes") == size(&parquet)
            {
                eprintln!("reusing {} and {}", csv.display(), parquet.display());
                return Ok(DataInfo {
                    csv_bytes: get("csv_bytes").unwrap_or(0),
                    parquet_bytes: get("parquet_bytes").unwrap_or(0),
                    rows: get("rows").unwrap_or(0),
                    recordings: get("recordings").unwrap_or(0),
                    subjects: get("subjects").unwrap_or(0),
                    csv,
                    parquet,
                });
            }
        }
    }
    let _ = std::fs::remove_file(&info_path);
    let started = Instant::now();
    eprintln!(
        "generating {size_mb} MB of CSV and its Parquet twin in {}",
        dir.display()
    );
    let g = generate(&csv, &parquet, size_mb * 1_000_000)?;
    let info = DataInfo {
        csv_bytes: size(&csv).unwrap_or(0),
        parquet_bytes: size(&parquet).unwrap_or(0),
        rows: g.rows,
        recordings: g.recordings,
        subjects: g.subjects,
        csv,
        parquet,
    };
    eprintln!("  generated in {:.1} s", started.elapsed().as_secs_f64());
    let json = serde_json::json!({
        "version": GEN_VERSION,
        "seed": SEED,
        "size_mb": size_mb,
        "csv_bytes": info.csv_bytes,
        "parquet_bytes": info.parquet_bytes,
        "rows": info.rows,
        "recordings": info.recordings,
        "subjects": info.subjects,
    });
    std::fs::write(&info_path, serde_json::to_string_pretty(&json)?)?;
    Ok(info)
}

/// SplitMix64: small, fast and deterministic.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi` (`hi > lo`).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
    /// Uniform in [-1, 1).
    fn sym(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Append `q / 10^4` with exactly four decimals.
fn push_fixed4(buf: &mut Vec<u8>, q: i64) {
    if q < 0 {
        buf.push(b'-');
    }
    let a = q.unsigned_abs();
    push_uint(buf, a / 10_000);
    let f = a % 10_000;
    buf.extend_from_slice(&[
        b'.',
        b'0' + (f / 1000) as u8,
        b'0' + (f / 100 % 10) as u8,
        b'0' + (f / 10 % 10) as u8,
        b'0' + (f % 10) as u8,
    ]);
}

fn push_uint(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

struct Generated {
    rows: u64,
    recordings: u64,
    subjects: u64,
}

/// Write the CSV and Parquet twins (same rows, same values) until the CSV
/// reaches `target_bytes`.
///
/// Each recording is 10–40 minutes at 50 Hz on an exact 20 ms grid, with
/// activity segments of 30 s to 5 min, up to three dropouts of 0.5–5 s
/// (rows absent) and about one empty channel cell in 20,000 (NaN in CSV,
/// null in Parquet). Values have four decimals, so CSV and Parquet hold the
/// same `f32` numbers.
fn generate(csv_path: &Path, pq_path: &Path, target_bytes: u64) -> Result<Generated> {
    let csv_tmp = csv_path.with_extension("csv.tmp");
    let pq_tmp = pq_path.with_extension("parquet.tmp");
    let mut csv = BufWriter::with_capacity(1 << 22, File::create(&csv_tmp)?);
    let mut fields: Vec<Field> = vec![
        Field::new("timestamp", DataType::Int64, false),
        Field::new("subject", DataType::Utf8, false),
        Field::new("recording", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
    ];
    fields.extend(
        CHANNELS
            .iter()
            .map(|(n, _, _)| Field::new(*n, DataType::Float32, true)),
    );
    let schema = Arc::new(Schema::new(fields));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_size(1 << 18)
        .build();
    let mut pq = ArrowWriter::try_new(File::create(&pq_tmp)?, schema.clone(), Some(props))?;

    let mut header = b"timestamp,subject,recording,label".to_vec();
    for (n, _, _) in CHANNELS {
        header.push(b',');
        header.extend_from_slice(n.as_bytes());
    }
    header.push(b'\n');
    csv.write_all(&header)?;
    let mut written = header.len() as u64;

    let mut rng = Rng(SEED);
    let mut rows_total = 0u64;
    let mut rec = 0u64;
    let mut line = Vec::with_capacity(256);
    let tau = std::f64::consts::TAU;
    while written < target_bytes {
        let subject = format!("s{:03}", rec % SUBJECTS + 1);
        let recording = format!("{subject}-r{rec:05}");
        let n = rng.range(30_000, 120_001) as usize;
        let start_ms = 1_700_000_000_000i64 + rec as i64 * 3 * 3_600_000;
        // Dropouts: rows absent.
        let mut dropped = vec![false; n];
        for _ in 0..rng.range(0, 4) {
            let len = rng.range(25, 251) as usize;
            let pos = rng.range(100, (n - len) as u64) as usize;
            dropped[pos..pos + len].iter_mut().for_each(|d| *d = true);
        }
        // Activity segments.
        let mut seg_end = 0usize;
        let mut act = 0usize;
        let phase: Vec<f64> = (0..CHANNELS.len()).map(|_| rng.sym() * 3.0).collect();

        let mut ts = Vec::with_capacity(n);
        let mut labels: Vec<&str> = Vec::with_capacity(n);
        let mut vals: Vec<Vec<Option<f32>>> = vec![Vec::with_capacity(n); CHANNELS.len()];
        for (i, &drop_row) in dropped.iter().enumerate() {
            if i == seg_end {
                act = rng.range(0, ACTIVITIES.len() as u64) as usize;
                seg_end = i + rng.range(1_500, 15_001) as usize;
            }
            if drop_row {
                continue;
            }
            let (label, amp, freq) = ACTIVITIES[act];
            let t = i as f64 / RATE_HZ;
            let stamp = start_ms + i as i64 * STEP_MS;
            line.clear();
            push_uint(&mut line, stamp as u64);
            line.push(b',');
            line.extend_from_slice(subject.as_bytes());
            line.push(b',');
            line.extend_from_slice(recording.as_bytes());
            line.push(b',');
            line.extend_from_slice(label.as_bytes());
            for (c, col) in vals.iter_mut().enumerate() {
                line.push(b',');
                if rng.next_u64().is_multiple_of(20_000) {
                    col.push(None);
                    continue;
                }
                let s = (tau * freq * t + phase[c]).sin();
                let v = match c {
                    0 | 1 => 0.4 * amp * s + 0.02 * rng.sym(),
                    2 => 1.0 + 0.3 * amp * s + 0.02 * rng.sym(),
                    3..=5 => 1.5 * amp * s + 0.05 * rng.sym(),
                    _ => {
                        [25.0, -10.0, 40.0][c - 6]
                            + 2.0 * (tau * 0.01 * t + phase[c]).sin()
                            + 0.5 * rng.sym()
                    }
                };
                let q = (v * 10_000.0).round() as i64;
                push_fixed4(&mut line, q);
                col.push(Some(q as f32 / 10_000.0));
            }
            line.push(b'\n');
            csv.write_all(&line)?;
            written += line.len() as u64;
            ts.push(stamp);
            labels.push(label);
        }
        let rows = ts.len();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ts)),
            Arc::new(StringArray::from(vec![subject.as_str(); rows])),
            Arc::new(StringArray::from(vec![recording.as_str(); rows])),
            Arc::new(StringArray::from(labels)),
        ];
        columns.extend(
            vals.into_iter()
                .map(|v| Arc::new(Float32Array::from(v)) as ArrayRef),
        );
        pq.write(&RecordBatch::try_new(schema.clone(), columns)?)?;
        rows_total += rows as u64;
        rec += 1;
    }
    csv.flush()?;
    drop(csv);
    pq.close()?;
    std::fs::rename(&csv_tmp, csv_path)?;
    std::fs::rename(&pq_tmp, pq_path)?;
    Ok(Generated {
        rows: rows_total,
        recordings: rec,
        subjects: rec.min(SUBJECTS),
    })
}
