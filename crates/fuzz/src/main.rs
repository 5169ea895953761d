//! `wearlang-fuzz`: run the fuzz targets (`cargo xtask fuzz <target>`).
//!
//! Each target runs in a worker process under an address-space limit; the
//! supervisor restarts a worker that aborted (out of memory, a stack
//! overflow) or hung, and keeps the input that did it. Every crash is
//! written to `<out>/crashes/<target>/` as `<kind>-<id>.bin` with a `.txt`
//! beside it; copy a fixed one into `crates/fuzz/corpus/<target>/` to keep
//! it as a regression test. Input `i` of a run depends only on `(seed, i)`.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wearlang_fuzz::{input_id, next_input, run_catching, Fixture, Outcome, Target};

#[derive(Parser)]
#[command(name = "wearlang-fuzz", about = "Fuzz wearlang's file readers")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// A target (see `list`) or `all`.
    target: String,
    /// Seconds per target (with --runs: whichever ends first).
    #[arg(long)]
    seconds: Option<f64>,
    /// Inputs per target (default 200 without --seconds).
    #[arg(long)]
    runs: Option<u64>,
    /// Seed of the mutations.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where seeds, worker state and crashes go.
    #[arg(long, default_value = "target/fuzz")]
    out: PathBuf,
    /// The worker's address-space limit in MiB (an allocation beyond it aborts).
    #[arg(long, default_value_t = 6144)]
    mem_mib: u64,
    /// Seconds one input may take before it counts as a hang.
    #[arg(long, default_value_t = 30.0)]
    hang_s: f64,
    /// Also print the most frequent error messages of each target.
    #[arg(long)]
    verbose: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// List the targets.
    List,
    /// Fuzz one target or all of them.
    Run(RunArgs),
    /// Feed files (or every file of directories) to a target; fails on a panic.
    Replay {
        /// The target.
        target: String,
        /// Files or directories of inputs.
        inputs: Vec<PathBuf>,
    },
    /// (internal) one target's inputs `[from, runs)` in this process.
    #[command(hide = true)]
    Worker {
        target: String,
        #[arg(long)]
        seeds_dir: PathBuf,
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        crashes: PathBuf,
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        from: u64,
        #[arg(long)]
        runs: u64,
        #[arg(long)]
        until_ms: u64,
        #[arg(long)]
        mem_mib: u64,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::List => list(),
        Cmd::Run(mut args) => {
            // Absolute: manifests in the scratch directories name their files.
            args.out = std::path::absolute(&args.out).unwrap_or(args.out);
            supervise(&args)
        }
        Cmd::Replay { target, inputs } => replay(&target, &inputs),
        Cmd::Worker {
            target,
            seeds_dir,
            state,
            crashes,
            seed,
            from,
            runs,
            until_ms,
            mem_mib,
        } => worker(
            &target,
            &seeds_dir,
            &state,
            &crashes,
            seed,
            (from, runs, until_ms),
            mem_mib,
        ),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn list() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for t in Fixture::build(dir.path())?.targets() {
        println!("{}", t.name());
    }
    Ok(())
}

fn pick<'a>(targets: &'a [Box<dyn Target>], name: &str) -> Result<&'a dyn Target> {
    targets
        .iter()
        .find(|t| t.name() == name)
        .map(|t| t.as_ref())
        .with_context(|| {
            let names: Vec<_> = targets.iter().map(|t| t.name()).collect();
            format!("unknown target `{name}` (known: {})", names.join(", "))
        })
}

fn replay(target: &str, inputs: &[PathBuf]) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let fixture = Fixture::build(&dir.path().join("seeds"))?;
    let targets = fixture.targets();
    let t = pick(&targets, target)?;
    let mut files = Vec::new();
    for p in inputs {
        if p.is_dir() {
            for e in std::fs::read_dir(p)? {
                let f = e?.path();
                if f.extension().is_some_and(|x| x == "bin") {
                    files.push(f);
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    files.sort();
    let mut panics = 0;
    for f in &files {
        let input = std::fs::read(f).with_context(|| f.display().to_string())?;
        let outcome = run_catching(t, &input, &dir.path().join("scratch"));
        println!("{}: {outcome:?}", f.display());
        panics += usize::from(matches!(outcome, Outcome::Panic(_)));
    }
    if panics > 0 {
        bail!("{panics} of {} inputs panicked", files.len());
    }
    Ok(())
}

/// The seed of input `i` of a run seeded `seed`.
fn input_rng(seed: u64, i: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn limit_address_space(mib: u64) {
    let bytes = mib.saturating_mul(1 << 20);
    let lim = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit reads a valid rlimit; failing leaves the limit off.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &lim);
    }
}

fn save_crash(dir: &Path, kind: &str, input: &[u8], note: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let id = input_id(input);
    let bin = dir.join(format!("{kind}-{id}.bin"));
    std::fs::write(&bin, input)?;
    std::fs::write(bin.with_extension("txt"), note)?;
    Ok(bin)
}

/// The first and last `n` characters of `s` (a worker's stderr: the
/// message comes first, the backtrace after).
fn head_and_tail(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 2 * n {
        return s.to_string();
    }
    let head: String = chars[..n].iter().collect();
    let tail: String = chars[chars.len() - n..].iter().collect();
    format!("{head}\n[…]\n{tail}")
}

fn one_line(s: &str, max: usize) -> String {
    s.replace(['\n', '\r'], " ").chars().take(max).collect()
}

/// Inputs `[from, runs)` of `target` until `until_ms`, one line each on
/// stdout; panics are written to `crashes`.
fn worker(
    target: &str,
    seeds_dir: &Path,
    state: &Path,
    crashes: &Path,
    seed: u64,
    (from, runs, until_ms): (u64, u64, u64),
    mem_mib: u64,
) -> Result<()> {
    let fixture = Fixture::open(seeds_dir);
    let targets = fixture.targets();
    let t = pick(&targets, target)?;
    limit_address_space(mem_mib);
    let scratch = state.join("scratch");
    let mut out = std::io::stdout().lock();
    for i in from..runs {
        if now_ms() >= until_ms {
            break;
        }
        let input = next_input(t, &mut input_rng(seed, i));
        std::fs::write(state.join("current.bin"), &input)?;
        std::fs::write(state.join("current.idx"), i.to_string())?;
        let outcome = run_catching(t, &input, &scratch);
        let tag = match &outcome {
            Outcome::Ok => "ok".to_string(),
            Outcome::Error(e) => format!("error {}", one_line(e, 160)),
            Outcome::Panic(msg) => {
                let note = format!("target {target}, seed {seed}, input {i}\npanic: {msg}\n");
                let f = save_crash(crashes, "panic", &input, &note)?;
                format!("panic {} {msg}", f.display())
            }
        };
        writeln!(out, "{i} {tag}")?;
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    runs: u64,
    ok: u64,
    errors: u64,
    crashes: Vec<String>,
    messages: std::collections::BTreeMap<String, u64>,
}

fn supervise(args: &RunArgs) -> Result<()> {
    let seeds_dir = args.out.join("seeds");
    let fixture = Fixture::build(&seeds_dir)?;
    let targets = fixture.targets();
    let names: Vec<&str> = if args.target == "all" {
        targets.iter().map(|t| t.name()).collect()
    } else {
        vec![pick(&targets, &args.target)?.name()]
    };
    let runs = args.runs.unwrap_or(if args.seconds.is_some() {
        u64::MAX
    } else {
        200
    });
    let mut total_crashes = 0;
    for name in names {
        let tally = fuzz_target(args, name, &seeds_dir, runs)?;
        println!(
            "{name}: {} inputs, {} accepted, {} refused with an error, {} crashes",
            tally.runs,
            tally.ok,
            tally.errors,
            tally.crashes.len()
        );
        for c in &tally.crashes {
            println!("  {c}");
        }
        if args.verbose {
            let mut top: Vec<_> = tally.messages.iter().collect();
            top.sort_by(|a, b| b.1.cmp(a.1));
            for (m, n) in top.iter().take(8) {
                println!("  {n:>5} × {m}");
            }
        }
        total_crashes += tally.crashes.len();
    }
    if total_crashes > 0 {
        bail!(
            "{total_crashes} crashes (inputs under {}/crashes)",
            args.out.display()
        );
    }
    Ok(())
}

/// Run one target's workers until `runs` inputs or the time is up,
/// restarting after aborts and hangs.
fn fuzz_target(args: &RunArgs, name: &str, seeds_dir: &Path, runs: u64) -> Result<Tally> {
    let state = args.out.join("state").join(name);
    let crashes = args.out.join("crashes").join(name);
    std::fs::create_dir_all(&state)?;
    let until_ms = args
        .seconds
        .map_or(u64::MAX, |s| now_ms() + (s * 1000.0) as u64);
    let exe = std::env::current_exe()?;
    let mut tally = Tally::default();
    let mut from = 0u64;
    while from < runs && now_ms() < until_ms {
        let _ = std::fs::remove_file(state.join("current.idx"));
        let err_path = state.join("worker.err");
        let mut child = Command::new(&exe)
            .args(["worker", name, "--seeds-dir"])
            .arg(seeds_dir)
            .arg("--state")
            .arg(&state)
            .arg("--crashes")
            .arg(&crashes)
            .args(["--seed", &args.seed.to_string()])
            .args(["--from", &from.to_string()])
            .args(["--runs", &runs.to_string()])
            .args(["--until-ms", &until_ms.to_string()])
            .args(["--mem-mib", &args.mem_mib.to_string()])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&err_path)?)
            .spawn()
            .context("starting a worker")?;
        let stdout = child.stdout.take().context("worker stdout")?;
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            std::io::BufReader::new(stdout)
                .lines()
                .map_while(|l| l.ok())
                .collect::<Vec<String>>()
        });
        let hung = watch(&mut child, &state.join("current.bin"), args.hang_s)?;
        let status = child.wait()?;
        let lines = reader.join().unwrap_or_default();
        let mut last = None;
        for l in &lines {
            let mut parts = l.splitn(3, ' ');
            let i: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            last = Some(i);
            tally.runs += 1;
            match parts.next() {
                Some("ok") => tally.ok += 1,
                Some("error") => {
                    tally.errors += 1;
                    let msg: String = parts
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(if args.verbose { 300 } else { 90 })
                        .collect();
                    *tally.messages.entry(msg).or_default() += 1;
                }
                _ => tally
                    .crashes
                    .push(l.split_once(' ').map_or("", |x| x.1).to_string()),
            }
        }
        if status.success() && !hung {
            break;
        }
        // The worker died on the input after its last reported one.
        let i = std::fs::read_to_string(state.join("current.idx"))
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .or(last.map(|l| l + 1))
            .unwrap_or(from);
        let input = std::fs::read(state.join("current.bin")).unwrap_or_default();
        let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
        let tail = head_and_tail(&stderr, 1500);
        let kind = if hung { "hang" } else { "abort" };
        let note = format!(
            "target {name}, seed {}, input {i}\n{kind}: worker {status}\n{tail}\n",
            args.seed
        );
        let f = save_crash(&crashes, kind, &input, &note)?;
        tally.runs += 1;
        tally
            .crashes
            .push(format!("{kind} {} ({status})", f.display()));
        from = i + 1;
    }
    Ok(tally)
}

/// Wait for `child`; kill it when `current` (rewritten before each input)
/// is older than `hang_s`. Returns whether it was killed as hung.
fn watch(child: &mut std::process::Child, current: &Path, hang_s: f64) -> Result<bool> {
    let started = Instant::now();
    loop {
        if child.try_wait()?.is_some() {
            return Ok(false);
        }
        let age = std::fs::metadata(current)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_else(|| started.elapsed());
        // Building the fixture's targets takes a moment before the first input.
        if age.as_secs_f64() > hang_s && started.elapsed().as_secs_f64() > hang_s {
            child.kill()?;
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
