//! Writes a keyed multi-stream input for measuring `wearlang-data ingest`
//! on several streams whose files hold many recordings: `motion.csv`
//! (50 Hz, three channels and an activity label that changes every minute)
//! and `heart.csv` (1 Hz), each one file with subject and recording
//! columns, two recordings per subject, plus `manifest.toml` (4 s windows,
//! 50 % overlap, subject split). Deterministic.
//!
//! ```sh
//! cargo run --release -p wearlang-ingest --example keyed_streams -- DIR SUBJECTS SECONDS
//! target/release/wearlang-data ingest --manifest DIR/manifest.toml --out DIR/store.parquet
//! ```
use std::fmt::Write as _;
use std::io::{BufWriter, Write as _};
use std::path::PathBuf;

const MANIFEST: &str = r#"[input]
path = "motion.csv"
[time]
column = "t"
unit = "ms"
[columns]
subject = "subject"
recording = "recording"
label = "label"
[window]
size_s = 4.0
overlap = 0.5
rate_hz = 50.0
[split]
kind = "subject_ratios"
train = 0.5
val = 0.25
seed = 3
[[streams]]
path = "heart.csv"
max_interp_gap_s = 2.0
[streams.time]
column = "t"
unit = "ms"
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: keyed_streams DIR SUBJECTS SECONDS";
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let subjects: usize = args.next().ok_or(usage)?.parse()?;
    let seconds: usize = args.next().ok_or(usage)?.parse()?;
    std::fs::create_dir_all(&dir)?;
    let mut motion = BufWriter::new(std::fs::File::create(dir.join("motion.csv"))?);
    let mut heart = BufWriter::new(std::fs::File::create(dir.join("heart.csv"))?);
    writeln!(motion, "subject,recording,t,ax,ay,az,label")?;
    writeln!(heart, "subject,recording,t,hr")?;
    let mut line = String::new();
    for s in 0..subjects {
        for r in 0..2 {
            for i in 0..seconds * 50 {
                let x = ((i + 7 * s + 3 * r) as f64 * 0.05).sin();
                let label = ["walk", "sit", "run"][(i / 3000) % 3];
                line.clear();
                let (y, t) = (x * 0.5 + s as f64, i * 20);
                writeln!(line, "s{s},d{r},{t},{x:.4},{y:.4},{:.4},{label}", -x)?;
                motion.write_all(line.as_bytes())?;
            }
            for i in 0..seconds.saturating_sub(2) {
                let hr = 60 + (i + s + r) % 9;
                writeln!(heart, "s{s},d{r},{},{hr}", 1500 + i * 1000)?;
            }
        }
    }
    motion.flush()?;
    heart.flush()?;
    std::fs::write(dir.join("manifest.toml"), MANIFEST)?;
    Ok(())
}
