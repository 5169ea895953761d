//! `cargo xtask kill-test`: `kill -9` a training run at random moments and
//! while it writes a checkpoint, `--resume` it each time, and compare the
//! result byte for byte with an uninterrupted run: weights, optimizer state,
//! step counters and every metrics record (timing fields aside).
//!
//! It runs `wearlang pretrain` (tiny encoder) and `wearlang train` (the NLS
//! CLIP recipe, batch 32) on the fixture's windows, on the release binary,
//! with a seeded schedule of kills, so a failure can be replayed.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::util::{exec, workspace_root};

/// Arguments of `cargo xtask kill-test`.
#[derive(clap::Args, Debug, Clone)]
pub struct KillTestArgs {
    /// The `wearlang` binary (default: build the release one).
    #[arg(long)]
    pub bin: Option<PathBuf>,
    /// The window store to train on (default: ingest the fixture).
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// Working directory (replaced).
    #[arg(long, default_value = "target/kill-test")]
    pub out: PathBuf,
    /// Kills per command before the run may finish.
    #[arg(long, default_value_t = 4)]
    pub kills: usize,
    /// Seed of the kill schedule.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Fields of a metrics record that measure time, not the run.
const TIMING_FIELDS: [&str; 2] = ["samples_per_s", "data_wait_s"];
/// Steps of each run; a checkpoint every 10, a record every 5.
const STEPS: u64 = 40;

/// A small seeded generator for the kill schedule (SplitMix64).
struct Schedule(u64);

impl Schedule {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One command under test: its arguments apart from `--out`, `--resume`.
struct Case {
    name: &'static str,
    args: Vec<String>,
}

/// Run the kill test.
pub fn run(args: &KillTestArgs) -> Result<()> {
    let root = workspace_root();
    let bin = match &args.bin {
        Some(b) => b.clone(),
        None => {
            exec(Command::new(env!("CARGO")).current_dir(&root).args([
                "build",
                "--release",
                "-p",
                "wearlang-cli",
            ]))?;
            crate::util::target_dir().join("release/wearlang")
        }
    };
    let out = root.join(&args.out);
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| out.display().to_string())?;
    }
    std::fs::create_dir_all(&out)?;
    let store = match &args.store {
        Some(s) => s.clone(),
        None => {
            let s = out.join("windows.parquet");
            exec(
                Command::new(&bin)
                    .args(["ingest", "--manifest"])
                    .arg(root.join("fixtures/shoulder/manifest.toml"))
                    .arg("--out")
                    .arg(&s),
            )?;
            s
        }
    };
    let cases = cases(&root, &out, &store)?;
    let mut schedule = Schedule(args.seed);
    for case in &cases {
        check_case(&bin, case, &out, args.kills, &mut schedule)?;
    }
    println!(
        "kill test: {} commands, resumed runs equal uninterrupted ones",
        cases.len()
    );
    Ok(())
}

fn cases(root: &Path, out: &Path, store: &Path) -> Result<Vec<Case>> {
    let pretrain_cfg = out.join("pretrain.toml");
    std::fs::write(
        &pretrain_cfg,
        "seed = 3\nbatch_size = 32\nepochs = 1\ncheckpoint_every = 10\nlog_every = 4\n\
         [encoder]\npreset = \"tiny\"\npatch_time = 10\npatch_channel = 1\n\
         [decoder]\ndim = 16\ndepth = 1\nheads = 2\n",
    )?;
    let mut train: toml::Table = toml::from_str(&std::fs::read_to_string(
        root.join("configs/nls_clip.toml"),
    )?)?;
    train.insert("batch_size".into(), 32.into());
    train.insert("checkpoint_every".into(), 10.into());
    // Checkpoints between log records (10 is not a multiple of 4): the
    // resumed log must carry the sums of the unfinished log interval.
    train.insert("log_every".into(), 4.into());
    let train_cfg = out.join("train.toml");
    std::fs::write(&train_cfg, toml::to_string(&train)?)?;
    let common = |cfg: &Path| {
        vec![
            "--store".to_string(),
            store.display().to_string(),
            "--config".into(),
            cfg.display().to_string(),
            "--max-steps".into(),
            STEPS.to_string(),
            "--no-report".into(),
            "--quiet".into(),
        ]
    };
    let mut pretrain = vec!["pretrain".to_string()];
    pretrain.extend(common(&pretrain_cfg));
    let mut nls = vec!["train".to_string()];
    nls.extend(common(&train_cfg));
    Ok(vec![
        Case {
            name: "pretrain",
            args: pretrain,
        },
        Case {
            name: "train",
            args: nls,
        },
    ])
}

fn spawn(bin: &Path, case: &Case, dir: &Path, resume: bool) -> Result<Child> {
    let mut cmd = Command::new(bin);
    cmd.args(&case.args).arg("--out").arg(dir);
    if resume {
        cmd.arg("--resume");
    } else {
        cmd.arg("--overwrite");
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))
}

fn finish(child: Child, what: &str) -> Result<()> {
    let out = child.wait_with_output()?;
    ensure!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Whether a checkpoint is being written in `dir` right now.
fn writing_checkpoint(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()).any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".checkpoint.tmp")
            })
        })
        .unwrap_or(false)
}

fn check_case(
    bin: &Path,
    case: &Case,
    out: &Path,
    kills: usize,
    schedule: &mut Schedule,
) -> Result<()> {
    let straight = out.join(format!("{}_straight", case.name));
    let t0 = Instant::now();
    finish(spawn(bin, case, &straight, false)?, case.name)?;
    let whole = t0.elapsed().as_secs_f64();

    let killed = out.join(format!("{}_killed", case.name));
    let mut done = false;
    let (mut during_write, mut made) = (0, 0);
    for k in 0..kills {
        let resume = killed.join("checkpoint").is_dir() || killed.join("checkpoint.old").is_dir();
        let mut child = spawn(bin, case, &killed, resume)?;
        let started = Instant::now();
        if k % 2 == 0 {
            // At a random moment of the run.
            let at = Duration::from_secs_f64(schedule.between(0.05, 0.6) * whole);
            while started.elapsed() < at && child.try_wait()?.is_none() {
                std::thread::sleep(Duration::from_millis(5));
            }
        } else {
            // While a checkpoint is being written (or at the end of time).
            let limit = Duration::from_secs_f64(2.0 * whole);
            while started.elapsed() < limit && child.try_wait()?.is_none() {
                // Busy: a tiny model's checkpoint takes a millisecond or two.
                if writing_checkpoint(&killed) {
                    during_write += 1;
                    break;
                }
            }
        }
        if child.try_wait()?.is_some() {
            finish(child, case.name)?;
            done = true;
            break;
        }
        child.kill()?;
        child.wait()?;
        made += 1;
    }
    if !done {
        let resume = killed.join("checkpoint").is_dir() || killed.join("checkpoint.old").is_dir();
        finish(spawn(bin, case, &killed, resume)?, case.name)?;
    }
    compare(&straight, &killed)?;
    println!(
        "{}: killed {made} times ({during_write} while writing a checkpoint), resumed: identical",
        case.name
    );
    Ok(())
}

/// The two run directories hold the same run.
fn compare(a: &Path, b: &Path) -> Result<()> {
    for f in ["model.safetensors", "optimizer.safetensors", "config.json"] {
        let (x, y) = (a.join("checkpoint").join(f), b.join("checkpoint").join(f));
        let (bx, by) = (
            std::fs::read(&x).with_context(|| x.display().to_string())?,
            std::fs::read(&y).with_context(|| y.display().to_string())?,
        );
        if bx != by {
            bail!("{} differs from {}", y.display(), x.display());
        }
    }
    let state = |p: &Path| -> Result<serde_json::Value> {
        let f = p.join("checkpoint/state.json");
        let mut v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&f).with_context(|| f.display().to_string())?,
        )?;
        if let Some(o) = v.as_object_mut() {
            o.remove("wall_s");
        }
        Ok(v)
    };
    ensure!(
        state(a)? == state(b)?,
        "state.json differs: {} vs {}",
        state(a)?,
        state(b)?
    );
    let records = |p: &Path| -> Result<Vec<serde_json::Value>> {
        let f = p.join("metrics.jsonl");
        std::fs::read_to_string(&f)
            .with_context(|| f.display().to_string())?
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l)
                    .with_context(|| format!("{}: a torn line {l:?}", f.display()))?;
                if let Some(o) = v.as_object_mut() {
                    for k in TIMING_FIELDS {
                        o.remove(k);
                    }
                }
                Ok(v)
            })
            .collect()
    };
    let (ra, rb) = (records(a)?, records(b)?);
    ensure!(
        ra.len() == rb.len(),
        "metrics.jsonl: {} records uninterrupted, {} after kills",
        ra.len(),
        rb.len()
    );
    for (x, y) in ra.iter().zip(&rb) {
        ensure!(x == y, "metrics.jsonl differs: {x} vs {y}");
    }
    Ok(())
}
