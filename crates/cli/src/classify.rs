//! `wearlang classify`: label-open zero-shot classification of a store's
//! windows with a trained sensor-language model, over any label names or
//! descriptions (not only the ones it was trained on), written as CSV.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use wearlang_captioning::{KnowledgeBase, PromptTemplates};
use wearlang_core::Split;
use wearlang_device::DeviceChoice;
use wearlang_evaluation::{zero_shot_scores, CandidateLabel, ZeroShotConfig};
use wearlang_metrics::ClassificationReport;
use wearlang_models::{load_sensor_language, InputNormalisation, WindowSet};

/// Arguments of `wearlang classify`.
#[derive(Args, Debug)]
pub struct ClassifyArgs {
    /// A `wearlang train` run directory (or its checkpoint directory).
    #[arg(long)]
    pub model: PathBuf,
    /// The window store to classify (its own channels are matched to the
    /// model's by name).
    #[arg(long)]
    pub store: PathBuf,
    /// Only this split (train, val or test; default: every window).
    #[arg(long)]
    pub split: Option<String>,
    /// Candidate labels, comma-separated (`"walking,running,sitting"`).
    #[arg(long, conflicts_with = "label_text")]
    pub labels: Option<String>,
    /// A file of candidate labels: one per line, `name` or `name:
    /// description` (the description joins the class's prompts); `#` lines
    /// are comments.
    #[arg(long)]
    pub label_text: Option<PathBuf>,
    /// Prompt templates: `all` (the ensemble) or `base`.
    #[arg(long, default_value = "all")]
    pub templates: String,
    /// Add the knowledge base's body parts and movement description to the
    /// prompts of the labels it knows.
    #[arg(long)]
    pub knowledge: bool,
    /// The statistics the store's windows are normalised with: `store`
    /// (its own) or `model` (the model's training statistics, units
    /// converted; for a data set the model never saw). Default: what the
    /// model was trained with (`store` unless its config says otherwise).
    #[arg(long, value_parser = crate::eval::parse_normalisation)]
    pub normalisation: Option<InputNormalisation>,
    /// The CSV file to write: one row per window (recording, subject,
    /// start, split, the store's label, the prediction, its score and the
    /// score of every candidate).
    #[arg(long)]
    pub out: PathBuf,
    /// MiniLM's directory (default: $WEARLANG_MINILM or target/models/all-MiniLM-L6-v2).
    #[arg(long)]
    pub minilm: Option<PathBuf>,
}

/// Run `wearlang classify`.
pub fn run(a: &ClassifyArgs) -> Result<()> {
    let candidates = match (&a.labels, &a.label_text) {
        (Some(list), None) => CandidateLabel::parse_list(list, true, "--labels")?,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            CandidateLabel::parse_list(&text, false, &path.display().to_string())?
        }
        _ => bail!("give the candidate labels with --labels \"a,b,c\" or --label-text FILE"),
    };
    let templates = match a.templates.as_str() {
        "all" => PromptTemplates::All,
        "base" => PromptTemplates::Base,
        t => bail!("--templates {t}: expected all or base"),
    };
    let split = match a.split.as_deref() {
        None => None,
        Some(s) => Some(Split::parse(s).with_context(|| format!("--split {s}"))?),
    };
    let mut inputs = vec![a.store.as_path()];
    inputs.extend(a.label_text.as_deref());
    wearlang_core::fs::check_output_not_input(&a.out, &inputs)?;
    crate::run_dir::warn_if_unfinished(&a.model);
    let loaded = load_sensor_language(&a.model, a.minilm.as_deref(), DeviceChoice::Cpu.resolve()?)
        .with_context(|| format!("loading {}", a.model.display()))?;
    let name = a.store.display().to_string();
    let (set, dropped) = loaded.config.onto_model(
        WindowSet::load(&a.store, split, true)?,
        &name,
        a.normalisation.unwrap_or(loaded.config.run.normalisation),
    )?;
    if !dropped.is_empty() {
        eprintln!("note: channels the model does not read, left out: {dropped:?}");
    }
    if let Some((m, s)) = loaded.config.unseen_placement(&set.meta.channels) {
        eprintln!(
            "note: {name} was worn at {} ({}); the model never trained on data worn there (its: {})",
            s.location.as_deref().unwrap_or("?"),
            s.name,
            m.location.as_deref().unwrap_or("?"),
        );
    }
    let cfg = ZeroShotConfig {
        templates,
        knowledge: a.knowledge,
        ..ZeroShotConfig::default()
    };
    let scores = zero_shot_scores(&loaded.model, &set.x, &candidates, &cfg)?;
    let k = candidates.len();
    let pred: Vec<usize> = scores
        .iter()
        .map(|row| {
            (0..k)
                .max_by(|&i, &j| row[i].total_cmp(&row[j]))
                .unwrap_or(0)
        })
        .collect();

    let mut csv = String::from("window,recording,subject,start_ms,split,label,predicted,score");
    for c in &candidates {
        csv.push(',');
        csv.push_str(&field(&format!("score:{}", c.name)));
    }
    csv.push('\n');
    for (i, w) in set.windows.iter().enumerate() {
        let row = &scores[i];
        csv.push_str(&format!(
            "{i},{},{},{},{},{},{},{:.6}",
            field(&w.recording),
            field(&w.subject),
            w.start_ms,
            w.split.as_str(),
            field(w.label.as_deref().unwrap_or("")),
            field(&candidates[pred[i]].name),
            row[pred[i]]
        ));
        for v in row {
            csv.push_str(&format!(",{v:.6}"));
        }
        csv.push('\n');
    }
    wearlang_core::fs::write_atomic(&a.out, csv.as_bytes())?;

    println!(
        "{} windows of {} → {} ({} candidate labels; the model was trained on {:?})",
        set.len(),
        a.store.display(),
        a.out.display(),
        k,
        loaded.config.labels
    );
    for (j, c) in candidates.iter().enumerate() {
        let n = pred.iter().filter(|&&p| p == j).count();
        println!("  {:<24} {n:>6} windows", c.name);
    }
    score_against_labels(&set, &candidates, &pred)?;
    Ok(())
}

/// When the store's labels name some of the candidates (the same name, or
/// the same plain name in the knowledge base), print accuracy and
/// macro-F1 over those windows.
fn score_against_labels(
    set: &WindowSet,
    candidates: &[CandidateLabel],
    pred: &[usize],
) -> Result<()> {
    let kb = KnowledgeBase::builtin();
    let plain = |s: &str| kb.plain_name(s).to_lowercase();
    let mut truth = Vec::new();
    let mut guess = Vec::new();
    let mut other = 0usize;
    for (w, &p) in set.windows.iter().zip(pred) {
        let Some(label) = w.label.as_deref() else {
            continue;
        };
        match candidates
            .iter()
            .position(|c| c.name == label || plain(&c.name) == plain(label))
        {
            Some(t) => {
                truth.push(t);
                guess.push(p);
            }
            None => other += 1,
        }
    }
    if truth.is_empty() {
        return Ok(());
    }
    let r = ClassificationReport::compute(&truth, &guess, candidates.len())?;
    println!(
        "against the store's labels ({} windows{}): accuracy {:.3}, macro-F1 {:.3} (chance ≈ {:.3})",
        truth.len(),
        if other > 0 {
            format!("; {other} with labels not among the candidates left out")
        } else {
            String::new()
        },
        r.accuracy,
        r.macro_f1,
        1.0 / candidates.len() as f64
    );
    Ok(())
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(field("walk"), "walk");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
