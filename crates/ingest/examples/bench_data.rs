//! Input data of `cargo xtask bench ingest`, kept out of xtask so that xtask
//! builds without arrow and parquet.
//!
//! ```sh
//! # Write DIR/data-<N>mb.csv and its Parquet twin DIR/data-<N>mb.parquet
//! # (reused when DIR/data-<N>mb.json matches), print their description as JSON.
//! cargo run --release -p wearlang-ingest --example bench_data -- generate --dir DIR --size-mb N [--regenerate]
//! # Print the number of rows of a Parquet file (from its footer).
//! cargo run --release -p wearlang-ingest --example bench_data -- rows FILE.parquet
//! ```
//!
//! `generate` prints one JSON object: `version` and `seed` of the generator,
//! `size_mb`, the paths `csv` and `parquet`, their sizes `csv_bytes` and
//! `parquet_bytes`, `rows`, `recordings`, `subjects`, `rate_hz` and
//! `channels` (`name`, `unit`, `kind` of each channel column). Progress goes
//! to stderr.
//!
//! The generator is deterministic: the same version, seed and size give
//! byte-identical files, so figures of earlier runs stay comparable.
use arrow::array::{ArrayRef, Float32Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: bench_data generate --dir DIR --size-mb N [--regenerate]\n       \
                     bench_data rows FILE.parquet";

/// Channel columns of the generated data (name, unit, kind).
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
/// Sampling rate of the generated recordings.
const RATE_HZ: f64 = 50.0;
/// Timestamp step of one sample in ms (1000 / RATE_HZ).
const STEP_MS: i64 = 20;
/// Recordings cycle through this many subjects.
const SUBJECTS: u64 = 60;
/// Seed of the generator.
const SEED: u64 = 0x5EED_1A6E_5743;
/// Bump when the generator changes, so that old files are regenerated.
const GEN_VERSION: u64 = 1;

fn main() {
    if let Err(e) = run(&std::env::args().skip(1).collect::<Vec<_>>()) {
        eprintln!("bench_data: {e}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("generate") => {
            let (mut dir, mut size_mb, mut regenerate) = (None, None, false);
            let mut rest = args[1..].iter();
            while let Some(a) = rest.next() {
                match a.as_str() {
                    "--dir" => dir = rest.next().map(PathBuf::from),
                    "--size-mb" => {
                        let v = rest.next().ok_or("--size-mb needs a value")?;
                        size_mb = Some(
                            v.parse::<u64>()
                                .map_err(|e| format!("--size-mb {v}: {e}"))?,
                        );
                    }
                    "--regenerate" => regenerate = true,
                    other => return Err(format!("unknown argument '{other}'\n{USAGE}").into()),
                }
            }
            let dir = dir.ok_or_else(|| format!("--dir is required\n{USAGE}"))?;
            let size_mb = size_mb.ok_or_else(|| format!("--size-mb is required\n{USAGE}"))?;
            if size_mb == 0 {
                return Err("--size-mb must be at least 1".into());
            }
            let info = ensure_data(&dir, size_mb, regenerate)?;
            println!("{}", serde_json::to_string_pretty(&info)?);
            Ok(())
        }
        Some("rows") if args.len() == 2 => {
            println!("{}", parquet_rows(Path::new(&args[1]))?);
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

/// Number of rows in a Parquet file, from its footer.
fn parquet_rows(path: &Path) -> Result<u64> {
    let f = File::open(path).map_err(|e| format!("open {}: {e}", path.display()))?;
    let r = SerializedFileReader::new(f).map_err(|e| format!("read {}: {e}", path.display()))?;
    Ok(r.metadata().file_metadata().num_rows() as u64)
}

/// Generate `data-<size>mb.csv` and `data-<size>mb.parquet` in `dir`
/// unless a previous run left them with the same parameters and sizes
/// (recorded in `data-<size>mb.json`); returns the description printed by
/// `generate`.
fn ensure_data(dir: &Path, size_mb: u64, regenerate: bool) -> Result<serde_json::Value> {
    std::fs::create_dir_all(dir)?;
    let csv = dir.join(format!("data-{size_mb}mb.csv"));
    let parquet = dir.join(format!("data-{size_mb}mb.parquet"));
    let info_path = dir.join(format!("data-{size_mb}mb.json"));
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    let describe = |recorded: serde_json::Value| {
        let mut v = recorded;
        v["csv"] = csv.display().to_string().into();
        v["parquet"] = parquet.display().to_string().into();
        v["rate_hz"] = RATE_HZ.into();
        v["channels"] = CHANNELS
            .iter()
            .map(|(name, unit, kind)| serde_json::json!({"name": name, "unit": unit, "kind": kind}))
            .collect();
        v
    };
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
                return Ok(describe(v));
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
    eprintln!("  generated in {:.1} s", started.elapsed().as_secs_f64());
    let recorded = serde_json::json!({
        "version": GEN_VERSION,
        "seed": SEED,
        "size_mb": size_mb,
        "csv_bytes": size(&csv).unwrap_or(0),
        "parquet_bytes": size(&parquet).unwrap_or(0),
        "rows": g.rows,
        "recordings": g.recordings,
        "subjects": g.subjects,
    });
    std::fs::write(&info_path, serde_json::to_string_pretty(&recorded)?)?;
    Ok(describe(recorded))
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

/// Append the decimal digits of `v`.
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

/// Counts of what `generate` wrote.
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
