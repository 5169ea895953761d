//! `wearlang synth`: generate synthetic minute-level days into a store.
use anyhow::{Context, Result};
use std::path::PathBuf;
use wearlang_core::SplitSpec;
use wearlang_synth::{MissingConfig, SynthConfig};

/// Options of `wearlang synth`.
#[derive(clap::Args, Debug)]
pub struct SynthArgs {
    /// Days per subject (one 1440-minute window per day).
    #[arg(long, default_value_t = 7)]
    pub days: usize,
    /// Number of subjects.
    #[arg(long, default_value_t = 10)]
    pub subjects: usize,
    /// Seed; the same seed gives the same data.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The window store to write (Parquet; written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Generator settings (TOML with the fields of `SynthConfig`); --days,
    /// --subjects and --seed override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Fraction of subjects in the train split.
    #[arg(long, default_value_t = 0.6)]
    pub train: f64,
    /// Fraction of subjects in the validation split (the rest is test).
    #[arg(long, default_value_t = 0.2)]
    pub val: f64,
    /// Generate complete data (no non-wear, charging or dropouts).
    #[arg(long)]
    pub no_missing: bool,
    /// Print the summary as JSON instead of one line.
    #[arg(long)]
    pub json: bool,
}

/// Run `wearlang synth`.
pub fn run(args: &SynthArgs) -> Result<()> {
    let mut cfg = match &args.config {
        Some(p) => SynthConfig::from_path(p)?,
        None => SynthConfig::default(),
    };
    cfg.days = args.days;
    cfg.subjects = args.subjects;
    cfg.seed = args.seed;
    if args.no_missing {
        cfg.missing = MissingConfig::none();
    }
    let split = SplitSpec::SubjectRatios {
        train: args.train,
        val: args.val,
        seed: args.seed,
    };
    let _lock = crate::lock_output(&args.out)?;
    let summary = wearlang_synth::write_store(&cfg, &args.out, &split)
        .with_context(|| format!("writing synthetic store {}", args.out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "wrote {} windows ({} subjects × {} days, {:.1}% missing) to {}",
            summary.windows,
            summary.subjects,
            args.days,
            100.0 * summary.missing_fraction,
            args.out.display()
        );
    }
    Ok(())
}
