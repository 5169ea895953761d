//! `wearlang rewindow`: cut a store's windows again at another length or
//! stride, without re-ingesting the raw files.
use anyhow::{Context, Result};
use std::path::PathBuf;
use wearlang_store::{write_rewindowed, MixedLabels, Rewindow, StoreMeta, StoreReader, Uncovered};

/// Options of `wearlang rewindow`.
#[derive(clap::Args, Debug)]
pub struct RewindowArgs {
    /// The window store to cut again.
    #[arg(long)]
    pub store: PathBuf,
    /// The new store (may be the same path: written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Window length in seconds (a whole number of steps at the store's rate).
    #[arg(long)]
    pub window_s: f64,
    /// Seconds between window starts; default: the window length (no overlap).
    #[arg(long)]
    pub stride_s: Option<f64>,
    /// Largest fraction of missing values a window may have; default: the
    /// store's ingest setting, else 1 (a window with no observed value is
    /// always dropped).
    #[arg(long)]
    pub max_missing: Option<f64>,
    /// Windows whose steps carry more than one label: drop, majority or
    /// keep-unlabelled; default: the store's ingest setting, else drop.
    #[arg(long)]
    pub mixed_labels: Option<String>,
    /// Windows that reach into steps no stored window covers: drop (every
    /// window kept is then what a new ingest gives) or missing (kept with
    /// those steps missing, labelled from the rest).
    #[arg(long, default_value = "drop")]
    pub uncovered: String,
}

/// The ingest setting `window.<key>` recorded in a store's metadata.
fn ingest_setting<'a>(meta: &'a StoreMeta, key: &str) -> Option<&'a serde_json::Value> {
    meta.extra.get("ingest")?.get("window")?.get(key)
}

/// Run `wearlang rewindow`.
pub fn run(a: &RewindowArgs) -> Result<()> {
    let reader = StoreReader::open(&a.store)
        .with_context(|| format!("cannot read {}", a.store.display()))?;
    let meta = reader.meta();
    let mut spec =
        Rewindow::from_seconds(a.window_s, a.stride_s.unwrap_or(a.window_s), meta.rate_hz)?;
    spec.max_missing = match a.max_missing {
        Some(m) => m,
        None => ingest_setting(meta, "max_missing")
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(1.0),
    };
    spec.mixed = match (&a.mixed_labels, ingest_setting(meta, "mixed_labels")) {
        (Some(m), _) => MixedLabels::parse(m)?,
        (None, Some(v)) => serde_json::from_value(v.clone()).unwrap_or_default(),
        (None, None) => MixedLabels::Drop,
    };
    spec.uncovered = Uncovered::parse(&a.uncovered)?;
    let before = reader.num_windows();
    let had_captions = !meta.caption_columns.is_empty();
    let from = (meta.window_len, meta.rate_hz);
    drop(reader);
    let summary = write_rewindowed(&a.store, &a.out, spec.clone())
        .with_context(|| format!("cutting {} again", a.store.display()))?;
    println!(
        "{} windows of {} steps ({:.2} s) → {} windows of {} steps every {} ({:.2} s, max missing {}, \
         mixed labels {:?}, uncovered {:?}) in {}",
        before,
        from.0,
        from.0 as f64 / from.1,
        summary.windows,
        spec.window_len,
        spec.stride,
        spec.window_len as f64 / from.1,
        spec.max_missing,
        spec.mixed,
        spec.uncovered,
        a.out.display()
    );
    if had_captions {
        println!("captions are not carried over: run `wearlang caption` on the new store");
    }
    Ok(())
}
