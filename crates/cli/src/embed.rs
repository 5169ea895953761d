//! `wearlang embed`: sensor windows or texts → normalised embeddings of a
//! trained sensor-language model, written as Parquet.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use wearlang_core::Split;
use wearlang_device::DeviceChoice;
use wearlang_models::{embed_store, embed_texts, load_sensor_language, InputNormalisation};
use wearlang_store::embeddings::{write_text_embeddings, write_window_embeddings};

/// Arguments of `wearlang embed`.
#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// A `wearlang train` run directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Embed the windows of this store …
    #[arg(long, conflicts_with = "texts")]
    pub store: Option<PathBuf>,
    /// … (only this split: train, val or test) …
    #[arg(long, requires = "store")]
    pub split: Option<String>,
    /// The statistics the store's windows are normalised with: `store`
    /// (its own) or `model` (the model's training statistics, units
    /// converted; for a data set the model never saw). Default: what the
    /// model was trained with (`store` unless its config says otherwise).
    #[arg(long, value_parser = crate::eval::parse_normalisation, requires = "store")]
    pub normalisation: Option<InputNormalisation>,
    /// … or the lines of this UTF-8 text file.
    #[arg(long)]
    pub texts: Option<PathBuf>,
    /// The Parquet file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// MiniLM's directory (default: $WEARLANG_MINILM or target/models/all-MiniLM-L6-v2).
    #[arg(long)]
    pub minilm: Option<PathBuf>,
}

/// Run `wearlang embed`.
pub fn run(a: &EmbedArgs) -> Result<()> {
    if a.store.is_some() == a.texts.is_some() {
        bail!("give either --store (windows) or --texts (a file with one text per line)");
    }
    let inputs: Vec<&std::path::Path> = a
        .store
        .iter()
        .chain(&a.texts)
        .map(PathBuf::as_path)
        .collect();
    wearlang_core::fs::check_output_not_input(&a.out, &inputs)?;
    let _lock = wearlang_cli::lock_output(&a.out)?;
    crate::run_dir::warn_if_unfinished(&a.model);
    let loaded = load_sensor_language(&a.model, a.minilm.as_deref(), DeviceChoice::Cpu.resolve()?)
        .with_context(|| format!("loading {}", a.model.display()))?;
    let model = &loaded.model;
    match (&a.store, &a.texts) {
        (Some(store), None) => {
            let split = match a.split.as_deref() {
                None => None,
                Some("train") => Some(Split::Train),
                Some("val") => Some(Split::Val),
                Some("test") => Some(Split::Test),
                Some(s) => bail!("--split {s}: expected train, val or test"),
            };
            let e = embed_store(
                model,
                &loaded.config,
                store,
                split,
                a.normalisation.unwrap_or(loaded.config.run.normalisation),
            )?;
            write_window_embeddings(&a.out, &e.windows, &e.embeddings)?;
            println!(
                "{} windows → {} ({}-d embeddings)",
                e.windows.len(),
                a.out.display(),
                e.embeddings.dim()
            );
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.is_empty() {
                bail!("{}: no non-empty lines to embed", path.display());
            }
            let e = embed_texts(model, &lines)?;
            write_text_embeddings(&a.out, &lines, &e)?;
            println!("{} texts → {}", lines.len(), a.out.display());
        }
        _ => unreachable!("checked above"),
    }
    Ok(())
}
