//! `wearlang caption`: add caption columns to a window store.
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use wearlang_captioning::{add_captions, captioner_for, default_variants, CaptionConfig};
use wearlang_store::{add_caption_columns, rewrite_batches, StoreReader};

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

/// Run `wearlang caption`.
pub fn run(args: &CaptionArgs) -> Result<()> {
    let config = match &args.config {
        Some(p) => CaptionConfig::from_path(p)?,
        None => CaptionConfig::default(),
    };
    let reader = StoreReader::open(&args.store)?;
    let meta = reader.meta().clone();
    let variants: Vec<String> = if args.variants.is_empty() {
        default_variants(meta.rate_hz, !meta.labels.is_empty())
    } else {
        args.variants.clone()
    };
    let captioners = variants
        .iter()
        .map(|v| captioner_for(v, &config))
        .collect::<Result<Vec<_>, _>>()?;
    if reader.num_windows() == 0 {
        bail!("{} holds no windows to caption", args.store.display());
    }
    drop(reader);
    let out = args.out.clone().unwrap_or_else(|| args.store.clone());
    let _lock = crate::run_dir::lock_output(&out)?;
    let mut samples: Vec<Vec<String>> = vec![Vec::new(); variants.len()];
    let summary = rewrite_batches(
        &args.store,
        &out,
        |new_meta| -> Result<()> {
            add_caption_columns(new_meta, &variants);
            new_meta.extra.insert(
                "captioning".into(),
                serde_json::json!({ "seed": args.seed, "variants": variants, "config": config }),
            );
            Ok(())
        },
        |offset, batch| -> Result<()> {
            for ((name, cap), shown) in variants.iter().zip(&captioners).zip(&mut samples) {
                add_captions(cap, name, batch, &meta.channels, args.seed, offset)
                    .with_context(|| format!("captioning variant '{name}'"))?;
                let more = args.show.saturating_sub(shown.len());
                shown.extend(batch.iter().take(more).map(|w| w.captions[name].clone()));
            }
            Ok(())
        },
    )?;
    println!(
        "captioned {} windows with {} into {}",
        summary.windows,
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
