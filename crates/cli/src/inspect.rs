//! `wearlang inspect`: summarise a window store.
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use wearlang_store::{StoreMeta, StoreReader, StoreSummary};

/// Options of `wearlang inspect`.
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// The window store (Parquet) to inspect.
    pub store: PathBuf,
    /// Print JSON (summary plus metadata) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Run `wearlang inspect`.
pub fn run(args: &InspectArgs) -> Result<()> {
    let reader = StoreReader::open(&args.store)
        .with_context(|| format!("cannot inspect {}", args.store.display()))?;
    let summary = reader
        .summary()
        .with_context(|| format!("reading {}", args.store.display()))?;
    if args.json {
        let out = serde_json::json!({
            "path": args.store.display().to_string(),
            "summary": summary,
            "meta": reader.meta(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", table(&args.store, &summary, reader.meta()));
    }
    Ok(())
}

/// "1440 steps, one every 60 s (24.0 h)" or "100 steps at 50 Hz (2.0 s)".
fn window_text(len: usize, rate_hz: f64) -> String {
    let secs = len as f64 / rate_hz;
    let duration = if secs >= 3600.0 {
        format!("{:.1} h", secs / 3600.0)
    } else if secs >= 60.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{secs:.2} s")
    };
    if rate_hz < 1.0 {
        format!("{len} steps, one every {:.4} s ({duration})", 1.0 / rate_hz)
            .replace(".0000 s", " s")
    } else {
        format!("{len} steps at {rate_hz} Hz ({duration})")
    }
}

/// At most 12 subjects, then a count of the rest.
fn subject_list(subjects: &[String]) -> String {
    const SHOWN: usize = 12;
    let mut text = subjects[..subjects.len().min(SHOWN)].join(", ");
    if subjects.len() > SHOWN {
        text.push_str(&format!(", … (+{} more)", subjects.len() - SHOWN));
    }
    text
}

/// The human-readable report.
fn table(path: &std::path::Path, s: &StoreSummary, meta: &StoreMeta) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "store        {}", path.display());
    let _ = writeln!(o, "source       {}", meta.source);
    let _ = writeln!(o, "windows      {}", s.windows);
    let _ = writeln!(o, "subjects     {}", s.subjects);
    let _ = writeln!(o, "recordings   {}", s.recordings);
    let _ = writeln!(o, "window       {}", window_text(s.window_len, s.rate_hz));
    let _ = writeln!(o, "missing      {:.2}%", 100.0 * s.missing_fraction);
    let _ = writeln!(
        o,
        "normalised   {}",
        if meta.normalisation.is_some() {
            "statistics fitted on train"
        } else {
            "no statistics"
        }
    );
    if !meta.caption_columns.is_empty() {
        let _ = writeln!(o, "captions     {}", meta.caption_columns.join(", "));
    }
    let _ = writeln!(o, "\nchannels");
    let w = meta
        .channels
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for (i, c) in s.channels.iter().enumerate() {
        let norm = meta
            .normalisation
            .as_ref()
            .and_then(|n| Some((n.mean.get(i)?, n.std.get(i)?)))
            .map(|(m, sd)| format!("  mean {m:.3} std {sd:.3}"))
            .unwrap_or_default();
        let placement = c
            .placement()
            .map(|p| format!("  ({p})"))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  {:<w$}  {:<14} {:<12}{}{}",
            c.name,
            c.unit,
            c.group,
            norm,
            placement,
            w = w
        );
    }
    let _ = writeln!(o, "\nsplits");
    for (split, n) in &s.split_counts {
        let subjects = s
            .subjects_per_split
            .get(split)
            .map(|v| subject_list(v))
            .unwrap_or_default();
        let _ = writeln!(o, "  {split:<6} {n:>8} windows  subjects: {subjects}");
    }
    let _ = writeln!(o, "\nlabels");
    let lw = s.label_counts.keys().map(|l| l.len()).max().unwrap_or(0);
    for (label, n) in &s.label_counts {
        let _ = writeln!(o, "  {label:<lw$}  {n:>8}");
    }
    if s.unlabelled > 0 {
        let _ = writeln!(o, "  {:<lw$}  {:>8}", "(none)", s.unlabelled);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::window_text;

    #[test]
    fn window_text_is_readable() {
        assert_eq!(
            window_text(1440, 1.0 / 60.0),
            "1440 steps, one every 60 s (24.0 h)"
        );
        assert_eq!(window_text(100, 50.0), "100 steps at 50 Hz (2.00 s)");
    }
}
