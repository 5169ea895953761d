//! `wearlang caption`: add caption columns to a window store.
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use wearlang_captioning::{add_captions, captioner_for, default_variants, CaptionConfig};
use wearlang_store::{add_caption_columns, write_source_where, ShardBy, ShardSpec, StoreReader};

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
    /// Caption only shard I of N (`I/N`: the windows of the subjects a
    /// stable hash puts there, as `wearlang ingest --shard`) into
    /// `OUT/shard-IIIII-of-NNNNN.parquet` (OUT: `--out`, else STORE when it
    /// is a sharded store). A window's caption does not depend on its shard.
    /// Give every shard job the same `--variant` list: the default one
    /// depends on whether the shard's windows carry labels.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// What `--shard` partitions when it picks windows from a whole store:
    /// subject or recording (as the ingest's `--shard-by`). A shard file
    /// captioned in place keeps all its windows whatever this says.
    #[arg(long, default_value = "subject", requires = "shard")]
    pub shard_by: String,
}

/// The store to read and the file to write: STORE (or its own shard file
/// when STORE is a store of the same shards) and OUT (or its shard file).
fn source_and_output(args: &CaptionArgs) -> Result<(PathBuf, PathBuf, Option<ShardSpec>)> {
    let Some(text) = &args.shard else {
        let out = args.out.clone().unwrap_or_else(|| args.store.clone());
        return Ok((args.store.clone(), out, None));
    };
    let mut shard = ShardSpec::parse(text, "--shard")?;
    shard.by = ShardBy::parse(&args.shard_by, "--shard-by")?;
    let dir = match &args.out {
        Some(d) => d.clone(),
        None if args.store.is_dir() => args.store.clone(),
        None => bail!(
            "--shard writes OUT/{}: give --out DIR (or a sharded STORE to caption in place)",
            shard.file_name()
        ),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the shard directory {}", dir.display()))?;
    let own = shard.path_in(&args.store);
    if args.store.is_dir() && own.is_file() {
        // The shard's own file: all its windows are the shard's, however
        // its ingest partitioned them.
        return Ok((own, shard.path_in(&dir), None));
    }
    Ok((args.store.clone(), shard.path_in(&dir), Some(shard)))
}

/// Run `wearlang caption`. A sharded STORE captioned in place (no
/// `--shard`, no other `--out`) is captioned shard by shard.
pub fn run(args: &CaptionArgs) -> Result<()> {
    let config = match &args.config {
        Some(p) => CaptionConfig::from_path(p)?,
        None => CaptionConfig::default(),
    };
    let in_place = args.out.as_ref().is_none_or(|o| o == &args.store);
    if args.shard.is_none() && args.store.is_dir() && in_place {
        let whole = StoreReader::open(&args.store)?;
        if whole.num_windows() == 0 {
            bail!("{} holds no windows to caption", args.store.display());
        }
        // One choice of default variants for every shard.
        let variants = variants_for(args, whole.meta());
        let files: Vec<PathBuf> = whole.files().map(Path::to_path_buf).collect();
        for f in &files {
            caption_store(args, &config, f, f, None, &variants)?;
        }
        return Ok(());
    }
    let (src, out, shard) = source_and_output(args)?;
    let reader = StoreReader::open(&src)?;
    // An empty shard is fine (more shards than subjects), an empty store not.
    if reader.num_windows() == 0 && args.shard.is_none() {
        bail!("{} holds no windows to caption", args.store.display());
    }
    let variants = variants_for(args, reader.meta());
    drop(reader);
    caption_store(args, &config, &src, &out, shard, &variants)
}

/// The variants asked for, or the defaults for a store with `meta`
/// (`default_variants`: by rate, and `activity` when it has labels).
fn variants_for(args: &CaptionArgs, meta: &wearlang_store::StoreMeta) -> Vec<String> {
    if args.variants.is_empty() {
        default_variants(meta.rate_hz, !meta.labels.is_empty())
    } else {
        args.variants.clone()
    }
}

/// Caption the windows of `src` (those of `shard` only, when given) into
/// `out` (which may be `src`), printing a summary and sample captions.
fn caption_store(
    args: &CaptionArgs,
    config: &CaptionConfig,
    src: &Path,
    out: &Path,
    shard: Option<ShardSpec>,
    variants: &[String],
) -> Result<()> {
    let reader = StoreReader::open(src)?;
    let meta = reader.meta().clone();
    let captioners = variants
        .iter()
        .map(|v| captioner_for(v, config))
        .collect::<Result<Vec<_>, _>>()?;
    let _lock = crate::lock_output(out)?;
    let mut samples: Vec<Vec<String>> = vec![Vec::new(); variants.len()];
    // The reader holds the source open; the output replaces `out` (which
    // may be the source) only when complete.
    let summary = write_source_where(
        &reader,
        out,
        |w| shard.is_none_or(|s| s.holds(&w.subject, &w.recording)),
        |new_meta| -> Result<()> {
            add_caption_columns(new_meta, variants);
            new_meta.extra.insert(
                "captioning".into(),
                serde_json::json!({ "seed": args.seed, "variants": variants, "config": config }),
            );
            Ok(())
        },
        |_, batch| -> Result<()> {
            for ((name, cap), shown) in variants.iter().zip(&captioners).zip(&mut samples) {
                add_captions(cap, name, batch, &meta.channels, args.seed)
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
