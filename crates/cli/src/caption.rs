//! `wearlang caption`: add caption columns to a window store.
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::PathBuf;
use wearlang_captioning::{
    window_seed, ActivityCaptioner, CaptionConfig, CaptionVariant, Captioner,
    HierarchicalCaptioner, TrendCaptioner,
};
use wearlang_store::{ReadOptions, StoreReader, StoreWriter};

/// Options of `wearlang caption`.
#[derive(clap::Args, Debug)]
pub struct CaptionArgs {
    /// The window store to caption.
    pub store: PathBuf,
    /// Write a new store here instead of replacing STORE (both are atomic).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Caption variants to add as columns `caption_<name>`: low, middle,
    /// high-summary, high-all, middle+low, high+low, high+middle,
    /// high+middle+low, trend, activity. Default: the eight hierarchical
    /// variants for minute-level data, trend + activity for high-rate windows.
    #[arg(long = "variant", value_delimiter = ',')]
    pub variants: Vec<String>,
    /// Seed (captions are deterministic for a seed).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Captioning configuration (TOML; see docs/captioning.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print this many sample captions per variant.
    #[arg(long, default_value_t = 2)]
    pub show: usize,
}

/// A captioner for a variant name.
fn captioner(name: &str, config: &CaptionConfig) -> Result<Box<dyn Captioner>> {
    Ok(match name {
        "trend" => Box::new(TrendCaptioner::new(config.trend.clone())),
        "activity" => Box::new(ActivityCaptioner::new(config.activity.clone())),
        other => Box::new(HierarchicalCaptioner::with_config(
            CaptionVariant::parse(other)?,
            config.clone(),
        )),
    })
}

/// Run `wearlang caption`.
pub fn run(args: &CaptionArgs) -> Result<()> {
    let config = match &args.config {
        Some(p) => CaptionConfig::from_path(p)?,
        None => CaptionConfig::default(),
    };
    let reader = StoreReader::open(&args.store)?;
    let meta = reader.meta().clone();
    let variants: Vec<String> = if args.variants.is_empty() {
        if meta.rate_hz < 0.1 {
            CaptionVariant::ALL
                .iter()
                .map(|v| v.name().to_string())
                .collect()
        } else if meta.labels.is_empty() {
            vec!["trend".into()]
        } else {
            vec!["trend".into(), "activity".into()]
        }
    } else {
        args.variants.clone()
    };
    let captioners = variants
        .iter()
        .map(|v| captioner(v, &config))
        .collect::<Result<Vec<_>>>()?;
    let out = args.out.clone().unwrap_or_else(|| args.store.clone());
    let mut new_meta = meta.clone();
    for v in &variants {
        if !new_meta.caption_columns.contains(v) {
            new_meta.caption_columns.push(v.clone());
        }
    }
    new_meta.extra.insert(
        "captioning".into(),
        serde_json::json!({ "seed": args.seed, "variants": variants, "config": config }),
    );
    // The reader holds the source open; the writer's temporary file is
    // renamed over `out` only after the last batch, so in-place is safe.
    let mut writer = StoreWriter::create(&out, new_meta)?;
    let mut offset = 0usize;
    let mut samples: Vec<Vec<String>> = vec![Vec::new(); variants.len()];
    for batch in reader.batches(ReadOptions::default())? {
        let mut batch = batch?;
        for ((name, cap), shown) in variants.iter().zip(&captioners).zip(&mut samples) {
            let texts: Vec<String> = batch
                .par_iter()
                .enumerate()
                .map(|(i, w)| cap.caption(w, &meta.channels, window_seed(args.seed, offset + i)))
                .collect::<wearlang_core::Result<_>>()
                .with_context(|| format!("captioning variant '{name}'"))?;
            for (w, t) in batch.iter_mut().zip(texts) {
                if shown.len() < args.show {
                    shown.push(t.clone());
                }
                w.captions.insert(name.clone(), t);
            }
        }
        offset += batch.len();
        writer.write(&batch)?;
    }
    if offset == 0 {
        bail!("{} holds no windows to caption", args.store.display());
    }
    writer.finish()?;
    println!(
        "captioned {offset} windows with {} into {}",
        variants.join(", "),
        out.display()
    );
    for (name, texts) in variants.iter().zip(samples) {
        for t in texts {
            println!("  [{name}] {t}");
        }
    }
    Ok(())
}
