//! `wearlang ingest`: turn wearable recordings (CSV, Parquet, Arrow IPC, AWD, or a
//! directory of them) into a window store.
//!
//! Options come from a TOML manifest (`--manifest`, see `docs/ingest.md`)
//! and/or flags; a flag given on the command line overrides the manifest.
use anyhow::{bail, Context};
use std::path::PathBuf;
use wearlang_core::SplitSpec;
use wearlang_ingest::{ChannelOption, IngestOptions, InputFormat, LabelsOptions, TimeUnit};

/// Arguments of `wearlang ingest`.
#[derive(clap::Args, Debug)]
pub struct IngestArgs {
    /// Input file or directory (CSV, Parquet, Arrow IPC or Actiwatch AWD); may come from the manifest instead.
    pub input: Option<PathBuf>,
    /// Output window store (Parquet); nothing is left there on error.
    #[arg(long, value_name = "STORE")]
    pub out: PathBuf,
    /// TOML manifest with column roles, units, rates, windowing and split.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Input format (auto, csv, parquet, ipc, awd, or a registered format's name).
    #[arg(long)]
    pub format: Option<String>,
    /// Target sampling rate in Hz.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Window size in seconds.
    #[arg(long = "window-s")]
    pub window_s: Option<f64>,
    /// Window overlap fraction in [0, 1).
    #[arg(long)]
    pub overlap: Option<f64>,
    /// Policy for windows that straddle two labels: drop, majority, keep-unlabelled.
    #[arg(long)]
    pub mixed_labels: Option<String>,
    /// Drop windows whose missing fraction exceeds this (default 1.0: keep all).
    #[arg(long)]
    pub max_missing: Option<f64>,
    /// Longest gap in seconds bridged by linear interpolation when resampling.
    #[arg(long)]
    pub max_interp_gap_s: Option<f64>,
    /// Timestamp column (omit and give --source-rate for fixed-rate data).
    #[arg(long)]
    pub time_column: Option<String>,
    /// Timestamp unit: auto, ms, s, iso8601.
    #[arg(long)]
    pub time_unit: Option<String>,
    /// Source sampling rate in Hz when there is no timestamp column.
    #[arg(long)]
    pub source_rate: Option<f64>,
    /// Sort the rows of each recording by time (rows out of time order are
    /// an error otherwise); holds a recording in memory.
    #[arg(long)]
    pub sort_by_time: bool,
    /// Rows of a recording with the same timestamp: error (default), first
    /// (keep the first row) or mean (average them).
    #[arg(long, value_name = "POLICY")]
    pub duplicate_times: Option<String>,
    /// Channel columns, comma-separated (`name` or `name:unit:kind`).
    #[arg(long, value_delimiter = ',')]
    pub channels: Option<Vec<String>>,
    /// Subject column.
    #[arg(long)]
    pub subject_column: Option<String>,
    /// Recording (session) column.
    #[arg(long)]
    pub recording_column: Option<String>,
    /// Rows of different recordings interleave (a logger writing several
    /// subjects in time order): gather each recording's rows; holds the
    /// whole file in memory.
    #[arg(long)]
    pub interleaved: bool,
    /// Per-sample label column.
    #[arg(long)]
    pub label_column: Option<String>,
    /// Interval labels file (CSV with start, end, label and optionally recording columns).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Unit of the interval labels' numeric times: auto, ms, s.
    #[arg(long, value_name = "UNIT")]
    pub labels_unit: Option<String>,
    /// Split kind: subject or time.
    #[arg(long)]
    pub split: Option<String>,
    /// Training fraction (of subjects, or of each recording's time).
    #[arg(long)]
    pub train: Option<f64>,
    /// Validation fraction.
    #[arg(long)]
    pub val: Option<f64>,
    /// Seed of the subject-wise split.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Test subjects, comma-separated (the others go to train, or to val with --val-subjects).
    #[arg(long, value_delimiter = ',')]
    pub test_subjects: Option<Vec<String>>,
    /// Validation subjects, comma-separated (with --test-subjects).
    #[arg(long, value_delimiter = ',')]
    pub val_subjects: Option<Vec<String>>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Ingest only shard I of N (`I/N`, 0-based: the subjects a stable hash
    /// puts there) into `OUT/shard-IIIII-of-NNNNN.parquet`, OUT being a
    /// directory; the N shards, run anywhere, form one sharded store
    /// (splits are drawn over all subjects). See docs/scaling.md.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// What `--shard` partitions: subject (a subject's windows in one
    /// shard) or recording (a subject's recordings spread over shards).
    #[arg(long, default_value = "subject", requires = "shard")]
    pub shard_by: String,
}

/// Build the ingest options from the manifest (if any) and the flags.
pub fn options(args: &IngestArgs) -> anyhow::Result<IngestOptions> {
    let mut opts = match &args.manifest {
        Some(m) => IngestOptions::from_manifest(m)
            .with_context(|| format!("reading manifest {}", m.display()))?,
        None => match &args.input {
            Some(input) => IngestOptions::new(input),
            None => bail!("give an input file or directory, or --manifest"),
        },
    };
    if let Some(input) = &args.input {
        opts.input.path = Some(input.clone());
    }
    if let Some(s) = &args.shard {
        let mut spec = wearlang_store::ShardSpec::parse(s, "--shard")?;
        spec.by = wearlang_store::ShardBy::parse(&args.shard_by, "--shard-by")?;
        opts.shard = Some(spec);
    }
    if let Some(f) = &args.format {
        opts.input.format = InputFormat::parse(f)?;
    }
    if let Some(r) = args.rate {
        opts.window.rate_hz = r;
    }
    if let Some(s) = args.window_s {
        opts.window.size_s = s;
    }
    if let Some(o) = args.overlap {
        opts.window.overlap = o;
    }
    if let Some(m) = &args.mixed_labels {
        opts.window.mixed_labels = wearlang_ingest::MixedLabels::parse(m)?;
    }
    if let Some(m) = args.max_missing {
        opts.window.max_missing = m;
    }
    if let Some(g) = args.max_interp_gap_s {
        opts.resample.max_interp_gap_s = g;
    }
    if let Some(c) = &args.time_column {
        opts.time.column = Some(c.clone());
    }
    if let Some(u) = &args.time_unit {
        opts.time.unit = TimeUnit::parse(u)?;
    }
    if args.sort_by_time {
        opts.time.sort = true;
    }
    if let Some(d) = &args.duplicate_times {
        opts.time.duplicates = wearlang_ingest::DuplicateTimes::parse(d)?;
    }
    if let Some(r) = args.source_rate {
        opts.time.rate_hz = Some(r);
        if args.time_column.is_none() {
            opts.time.column = None;
        }
    }
    if let Some(ch) = &args.channels {
        opts.columns.channels = ch
            .iter()
            .map(|c| ChannelOption::parse(c))
            .collect::<Result<_, _>>()?;
    }
    if let Some(c) = &args.subject_column {
        opts.columns.subject = Some(c.clone());
    }
    if let Some(c) = &args.recording_column {
        opts.columns.recording = Some(c.clone());
    }
    if args.interleaved {
        opts.columns.interleaved = true;
    }
    if let Some(c) = &args.label_column {
        opts.columns.label = Some(c.clone());
    }
    if let Some(l) = &args.labels {
        opts.labels = Some(LabelsOptions::new(l));
    }
    if let Some(u) = &args.labels_unit {
        match opts.labels.as_mut() {
            Some(l) => l.unit = TimeUnit::parse(u)?,
            None => {
                bail!("--labels-unit needs interval labels (--labels or [labels] in the manifest)")
            }
        }
    }
    apply_split(args, &mut opts)?;
    Ok(opts)
}

fn apply_split(args: &IngestArgs, opts: &mut IngestOptions) -> anyhow::Result<()> {
    let (cur_train, cur_val, cur_seed) = match &opts.split {
        SplitSpec::SubjectRatios { train, val, seed } => (*train, *val, *seed),
        SplitSpec::TimeRatios { train, val } => (*train, *val, 0),
        SplitSpec::SubjectLists { .. } => (0.6, 0.2, 0),
    };
    let train = args.train.unwrap_or(cur_train);
    let val = args.val.unwrap_or(cur_val);
    let seed = args.seed.unwrap_or(cur_seed);
    if let Some(test) = &args.test_subjects {
        if args.split.as_deref() == Some("time") {
            bail!("--test-subjects needs a subject-wise split, not --split time");
        }
        // Explicit lists: the train list is filled in from the data.
        opts.split = SplitSpec::SubjectLists {
            train: Vec::new(),
            val: args.val_subjects.clone().unwrap_or_default(),
            test: test.clone(),
        };
        opts.split_rest_to_train = true;
        return Ok(());
    }
    let kind = match args.split.as_deref() {
        Some("subject") => "subject",
        Some("time") => "time",
        Some(other) => bail!("unknown --split '{other}' (expected subject or time)"),
        None => match opts.split {
            SplitSpec::TimeRatios { .. } => "time",
            SplitSpec::SubjectLists { .. } if args.train.is_none() && args.val.is_none() => {
                return Ok(())
            }
            _ => "subject",
        },
    };
    opts.split = if kind == "time" {
        SplitSpec::TimeRatios { train, val }
    } else {
        SplitSpec::SubjectRatios { train, val, seed }
    };
    Ok(())
}

/// Run `wearlang ingest`: ingest and print a summary.
pub fn run(args: &IngestArgs) -> anyhow::Result<()> {
    let opts = options(args)?;
    let mut inputs: Vec<&std::path::Path> = Vec::new();
    inputs.extend(opts.input.path.as_deref());
    inputs.extend(opts.streams.iter().map(|s| s.path.as_path()));
    inputs.extend(opts.labels.as_ref().map(|l| l.path.as_path()));
    inputs.extend(args.manifest.as_deref());
    let out = match &opts.shard {
        Some(shard) => {
            std::fs::create_dir_all(&args.out)
                .with_context(|| format!("creating the shard directory {}", args.out.display()))?;
            shard.path_in(&args.out)
        }
        None => args.out.clone(),
    };
    wearlang_core::fs::check_output_not_input(&out, &inputs)?;
    let _lock = crate::lock_output(&out)?;
    let summary = wearlang_ingest::ingest(&opts, &out)
        .with_context(|| format!("ingest into {} failed", out.display()))?;
    if args.json {
        println!("{}", summary.to_json_pretty());
    } else {
        println!("{summary}");
    }
    Ok(())
}
