//! Running protocols into one [`EvalReport`], its Markdown, and its plots
//! (confusion matrices, few-shot curve, training loss curves, retrieval
//! ranks; PNG and SVG through `wearlang-plots`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use wearlang_metrics::{ClassificationReport, RetrievalReport};
use wearlang_plots::Series;

use crate::few_shot::FewShotResult;
use crate::protocol::{ClassifierResult, EvalContext, Evaluator, ProtocolResult};
use crate::{EvalError, PretrainReport, Result};
use wearlang_core::fs::write_atomic;

/// Everything `wearlang eval` found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalReport {
    /// The evaluated run's name.
    pub run: String,
    /// Its steps (the run's budget).
    pub steps: u64,
    /// The store.
    pub store: PathBuf,
    /// Candidate classes.
    pub classes: Vec<String>,
    /// Training windows.
    pub train_windows: usize,
    /// Test windows (held-out subjects).
    pub test_windows: usize,
    /// One entry per protocol run.
    pub results: Vec<ProtocolResult>,
    /// Protocols that did not apply, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Wall seconds per protocol.
    pub seconds: BTreeMap<String, f64>,
    /// Imputation and robustness of the pretrained encoder (from its
    /// `wearlang pretrain` report), when given.
    pub pretraining: Option<PretrainReport>,
}

/// Run `evaluators` in order; `log` is told when each starts.
pub fn run_protocols(
    ctx: &EvalContext,
    evaluators: &[Box<dyn Evaluator>],
    mut log: impl FnMut(&str),
) -> Result<EvalReport> {
    let mut report = EvalReport {
        run: ctx.model.config().name.clone(),
        steps: ctx.model.config().max_steps,
        store: ctx.store.to_path_buf(),
        classes: ctx.classes.clone(),
        train_windows: ctx.train.len(),
        test_windows: ctx.test.len(),
        results: Vec::new(),
        skipped: Vec::new(),
        seconds: BTreeMap::new(),
        pretraining: None,
    };
    for e in evaluators {
        if let Some(why) = e.skip_reason(ctx) {
            log(&format!("{}: skipped ({why})", e.name()));
            report.skipped.push((e.name().to_string(), why));
            continue;
        }
        log(&format!("{} …", e.name()));
        let t = Instant::now();
        let r = e
            .evaluate(ctx)
            .map_err(|err| EvalError::Data(format!("protocol {}: {err}", e.name())))?;
        report
            .seconds
            .insert(e.name().to_string(), t.elapsed().as_secs_f64());
        report.results.push(r);
    }
    Ok(report)
}

impl EvalReport {
    /// The zero-shot result, if run.
    pub fn zero_shot(&self) -> Option<&crate::zero_shot::ZeroShotResult> {
        self.results.iter().find_map(|r| match r {
            ProtocolResult::ZeroShot(z) => Some(z),
            _ => None,
        })
    }

    /// The supervised baseline, if run.
    pub fn supervised(&self) -> Option<&ClassifierResult> {
        self.results.iter().find_map(|r| match r {
            ProtocolResult::Supervised(z) => Some(z),
            _ => None,
        })
    }

    /// The short summary `cargo xtask pipeline` prints: `(metric, value)`.
    pub fn summary(&self) -> Vec<(String, String)> {
        let mut rows = Vec::new();
        for r in &self.results {
            match r {
                ProtocolResult::ZeroShot(z) => {
                    rows.push((
                        "zero-shot macro-F1 (base / ensemble / +knowledge)".into(),
                        format!(
                            "{:.3} / {:.3} / {:.3}",
                            z.base.report.macro_f1,
                            z.ensemble.report.macro_f1,
                            z.knowledge.report.macro_f1
                        ),
                    ));
                }
                ProtocolResult::LinearProbe(c) => rows.push((
                    "linear probe macro-F1".into(),
                    format!("{:.3}", c.report.macro_f1),
                )),
                ProtocolResult::Supervised(c) => rows.push((
                    "supervised conv macro-F1".into(),
                    format!("{:.3}", c.report.macro_f1),
                )),
                ProtocolResult::FewShot(f) => {
                    for s in &f.series {
                        if let (Some(k), Some(m)) = (f.shots.last(), s.summary.last()) {
                            rows.push((
                                format!("few-shot {} at {k}/class", s.method.label()),
                                format!("{:.3} ± {:.3}", m.mean, m.std),
                            ));
                        }
                    }
                }
                ProtocolResult::Unseen(u) => rows.push((
                    "unseen activities macro-F1 (base / ensemble / +knowledge)".into(),
                    format!(
                        "{:.3} / {:.3} / {:.3} (chance {:.2})",
                        u.mean_macro_f1_base,
                        u.mean_macro_f1_ensemble,
                        u.mean_macro_f1_knowledge,
                        u.mean_chance
                    ),
                )),
                ProtocolResult::Retrieval(r) => rows.push((
                    "retrieval R@1 sensor→text / text→sensor".into(),
                    format!(
                        "{:.3} / {:.3}",
                        r.scores.forward.recall_at_1, r.scores.backward.recall_at_1
                    ),
                )),
                ProtocolResult::Captioning(c) => rows.push((
                    "captions naming the activity / CIDEr-D".into(),
                    format!(
                        "{:.1} % / {:.3}",
                        100.0 * c.mentions_true_activity,
                        c.metrics.cider_d
                    ),
                )),
                ProtocolResult::Custom(c) => rows.extend(c.summary.iter().cloned()),
            }
        }
        rows
    }

    /// The Markdown report (plots referenced by their PNG names).
    pub fn to_markdown(&self, plots: &[PathBuf]) -> String {
        let has = |stem: &str| {
            plots.iter().any(|p| {
                p.file_stem().is_some_and(|s| s == stem)
                    && p.extension().is_some_and(|e| e == "png")
            })
        };
        let k = self.classes.len();
        let mut s = format!(
            "# Evaluation of `{}`\n\n{} steps; store `{}`; {} training windows, {} test windows (held-out subjects); {k} classes (chance macro-F1 ≈ {:.2}).\n\n",
            self.run,
            self.steps,
            self.store.display(),
            self.train_windows,
            self.test_windows,
            1.0 / k.max(1) as f64
        );
        s.push_str("## Summary\n\n| metric | value |\n| --- | --- |\n");
        for (m, v) in self.summary() {
            s.push_str(&format!("| {m} | {v} |\n"));
        }
        for (name, why) in &self.skipped {
            s.push_str(&format!("\n_{name}: skipped ({why})._\n"));
        }
        if has("loss_curves") {
            s.push_str("\n## Training\n\n![training loss](loss_curves.png)\n");
        }
        let classes = &self.classes;
        for r in &self.results {
            match r {
                ProtocolResult::ZeroShot(z) => {
                    s.push_str("\n## Zero-shot classification\n\nClass prompts from the captioning crate; cosine similarity between window and class embeddings.\n\n| prompts | per class | accuracy | macro-F1 | weighted F1 |\n| --- | --- | --- | --- | --- |\n");
                    for (name, r) in [
                        ("base template", &z.base),
                        ("template ensemble", &z.ensemble),
                        ("ensemble + knowledge", &z.knowledge),
                    ] {
                        s.push_str(&format!(
                            "| {name} | {} | {:.3} | {:.3} | {:.3} |\n",
                            r.prompts_per_class,
                            r.report.accuracy,
                            r.report.macro_f1,
                            r.report.weighted_f1
                        ));
                    }
                    s.push_str(&per_class_table(classes, &z.ensemble.report));
                    if has("confusion_zero_shot") {
                        s.push_str("\n![zero-shot confusion matrix](confusion_zero_shot.png)\n");
                    }
                }
                ProtocolResult::LinearProbe(c) | ProtocolResult::Supervised(c) => {
                    let (title, stem) = if matches!(r, ProtocolResult::Supervised(_)) {
                        ("Supervised baseline", "confusion_supervised")
                    } else {
                        ("Linear probe", "confusion_linear_probe")
                    };
                    s.push_str(&format!(
                        "\n## {title}\n\n{} on {} labelled training windows: accuracy {:.3}, macro-F1 {:.3}.\n",
                        c.method, c.train_windows, c.report.accuracy, c.report.macro_f1
                    ));
                    if has(stem) {
                        s.push_str(&format!("\n![{title} confusion matrix]({stem}.png)\n"));
                    }
                }
                ProtocolResult::FewShot(f) => s.push_str(&few_shot_md(f, has("few_shot"))),
                ProtocolResult::Unseen(u) => {
                    s.push_str(&format!(
                        "\n## Unseen activities\n\nFor each group, the run's config trained for {} steps without the group's windows; zero-shot among the group's classes. Mean macro-F1: {:.3} (base template), {:.3} (ensemble), {:.3} (ensemble + knowledge: body parts and movement descriptions); chance {:.2}.\n\n| held-out classes | training windows | macro-F1 base | macro-F1 ensemble | macro-F1 + knowledge | accuracy among all classes |\n| --- | --- | --- | --- | --- | --- |\n",
                        u.steps,
                        u.mean_macro_f1_base,
                        u.mean_macro_f1_ensemble,
                        u.mean_macro_f1_knowledge,
                        u.mean_chance
                    ));
                    for g in &u.groups {
                        s.push_str(&format!(
                            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
                            g.classes.join(", "),
                            g.train_windows,
                            g.base.report.macro_f1,
                            g.ensemble.report.macro_f1,
                            g.knowledge.report.macro_f1,
                            g.accuracy_among_all
                        ));
                    }
                }
                ProtocolResult::Retrieval(r) => {
                    s.push_str(&format!(
                        "\n## Retrieval\n\n{} test windows, {} distinct `{}` texts.\n\n| direction | R@1 | R@5 | R@10 | mean rank | median rank |\n| --- | --- | --- | --- | --- | --- |\n",
                        r.windows, r.texts, r.variant
                    ));
                    for (name, x) in [
                        ("sensor → text", &r.scores.forward),
                        ("text → sensor", &r.scores.backward),
                    ] {
                        s.push_str(&retrieval_row(name, x));
                    }
                    if has("retrieval_ranks") {
                        s.push_str("\n![sensor → text ranks](retrieval_ranks.png)\n");
                    }
                }
                ProtocolResult::Captioning(c) => {
                    s.push_str(&format!(
                        "\n## Captioning\n\n{} test windows: {:.1} % of captions name the true activity, {:.1} % another one; BLEU-4 {:.3}, ROUGE-L {:.3}, CIDEr-D {:.3}.\n",
                        c.windows,
                        100.0 * c.mentions_true_activity,
                        100.0 * c.mentions_other_activity,
                        c.metrics.bleu4,
                        c.metrics.rouge_l,
                        c.metrics.cider_d
                    ));
                    if let Some(f) = &c.faithfulness {
                        s.push_str(&match f.faithful_share {
                            Some(share) => format!(
                                "Faithfulness: {} of {} captions make checkable claims; {} of {} claims hold; {:.1} % of those captions are fully faithful.\n",
                                f.captions_with_claims, f.captions, f.claims_holding, f.claims, 100.0 * share
                            ),
                            None => format!(
                                "Faithfulness: none of the {} captions makes a checkable numeric claim (activity text), so there is nothing to verify.\n",
                                f.captions
                            ),
                        });
                    }
                    s.push('\n');
                    s.push_str(&examples_table(&c.examples));
                }
                ProtocolResult::Custom(c) => {
                    s.push_str(&format!("\n## {}\n\n{}\n", c.name, c.markdown.trim_end()));
                }
            }
        }
        if let Some(p) = &self.pretraining {
            s.push_str("\n## Pretraining (AIM): imputation and robustness\n\n");
            let md = p.to_markdown();
            // Demote the pretraining report's headings under this section.
            for line in md.lines() {
                if line.starts_with('#') {
                    s.push_str(&format!("#{line}\n"));
                } else {
                    s.push_str(line);
                    s.push('\n');
                }
            }
        }
        if !self.seconds.is_empty() {
            s.push_str("\n## Time\n\n| protocol | seconds |\n| --- | --- |\n");
            for (k, v) in &self.seconds {
                s.push_str(&format!("| {k} | {v:.1} |\n"));
            }
        }
        s
    }

    /// Write `metrics.json` (the whole report), `report.md` (its Markdown,
    /// referencing `plots`) and `summary.json` (the [`EvalReport::summary`]
    /// rows) into `dir`, each atomically. Returns the Markdown.
    pub fn write(&self, dir: &Path, plots: &[PathBuf]) -> Result<String> {
        let md = self.to_markdown(plots);
        write_atomic(dir.join("metrics.json"), pretty_json(self)?.as_bytes())?;
        write_atomic(dir.join("report.md"), md.as_bytes())?;
        write_atomic(
            dir.join("summary.json"),
            pretty_json(&self.summary())?.as_bytes(),
        )?;
        Ok(md)
    }

    /// Write the plots into `dir`: confusion matrices (zero-shot ensemble,
    /// linear probe, supervised), the few-shot curve, training loss curves
    /// from `metrics_log` (a run's `metrics.jsonl`), and the sensor → text
    /// rank histogram. Returns every file written.
    pub fn write_plots(&self, dir: &Path, metrics_log: Option<&Path>) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| EvalError::Io {
            path: dir.to_path_buf(),
            cause: e,
        })?;
        let mut files = Vec::new();
        let names: Vec<String> = self
            .classes
            .iter()
            .map(|c| wearlang_captioning::KnowledgeBase::builtin().plain_name(c))
            .collect();
        for r in &self.results {
            match r {
                ProtocolResult::ZeroShot(z) => files.extend(wearlang_plots::confusion_matrix(
                    dir.join("confusion_zero_shot"),
                    &z.ensemble.report.confusion,
                    &names,
                    "Zero-shot (template ensemble), test subjects",
                )?),
                ProtocolResult::LinearProbe(c) => files.extend(wearlang_plots::confusion_matrix(
                    dir.join("confusion_linear_probe"),
                    &c.report.confusion,
                    &names,
                    "Linear probe, test subjects",
                )?),
                ProtocolResult::Supervised(c) => files.extend(wearlang_plots::confusion_matrix(
                    dir.join("confusion_supervised"),
                    &c.report.confusion,
                    &names,
                    "Supervised conv classifier, test subjects",
                )?),
                ProtocolResult::FewShot(f) => {
                    let x: Vec<f64> = f.shots.iter().map(|&k| k as f64).collect();
                    let series: Vec<Series> = f
                        .series
                        .iter()
                        .map(|s| {
                            let m: Vec<f64> = s.summary.iter().map(|v| v.mean).collect();
                            let e: Vec<f64> = s.summary.iter().map(|v| v.std).collect();
                            Series::new(s.method.label(), &x, &m).with_error(&e)
                        })
                        .collect();
                    files.extend(wearlang_plots::few_shot_curve(
                        dir.join("few_shot"),
                        &series,
                        &format!("Few-shot adaptation ({} seeds)", f.seeds),
                    )?);
                }
                ProtocolResult::Retrieval(r) => files.extend(wearlang_plots::rank_histogram(
                    dir.join("retrieval_ranks"),
                    &r.scores.forward.ranks,
                    r.texts,
                    "Sensor → text retrieval, test windows",
                )?),
                _ => {}
            }
        }
        if let Some(log) = metrics_log {
            let series = loss_series(log)?;
            if !series.is_empty() {
                files.extend(wearlang_plots::loss_curves(
                    dir.join("loss_curves"),
                    &series,
                    false,
                    &format!("Training of {}", self.run),
                )?);
            }
        }
        Ok(files)
    }
}

/// Loss series from a `metrics.jsonl`: `loss` and every loss term (keys
/// other than step, epoch, lr, grad_norm, logit scale / bias, throughput and
/// data wait).
pub fn loss_series(path: &Path) -> Result<Vec<Series>> {
    const NOT_LOSS: [&str; 8] = [
        "step",
        "epoch",
        "lr",
        "grad_norm",
        "logit_scale",
        "logit_bias",
        "samples_per_s",
        "data_wait_s",
    ];
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::Io {
        path: path.to_path_buf(),
        cause: e,
    })?;
    let mut by_key: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| EvalError::Data(format!("{}: line {}: {e}", path.display(), n + 1)))?;
        let obj = v.as_object().ok_or_else(|| {
            EvalError::Data(format!(
                "{}: line {} is not an object",
                path.display(),
                n + 1
            ))
        })?;
        let step = obj.get("step").and_then(|s| s.as_f64()).ok_or_else(|| {
            EvalError::Data(format!("{}: line {} has no `step`", path.display(), n + 1))
        })?;
        for (k, val) in obj {
            if NOT_LOSS.contains(&k.as_str()) {
                continue;
            }
            if let Some(x) = val.as_f64().filter(|x| x.is_finite()) {
                let e = by_key.entry(k.clone()).or_default();
                e.0.push(step);
                e.1.push(x);
            }
        }
    }
    // A term logged under another name that equals the total (a single-term
    // loss, or SensorLM's combined `sensorlm`) would hide under `loss`.
    if let Some(total) = by_key.get("loss").cloned() {
        by_key.retain(|k, v| k == "loss" || *v != total);
    }
    Ok(by_key
        .into_iter()
        .map(|(k, (x, y))| Series::new(&k, &x, &y))
        .collect())
}

/// `value` as pretty JSON.
pub(crate) fn pretty_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map_err(|e| EvalError::Data(format!("cannot serialise the report: {e}")))
}

/// The metrics log (`metrics.jsonl`) of the run that `checkpoint` (a run
/// directory, or its checkpoint directory) belongs to, when there is one.
pub fn find_metrics_log(checkpoint: &Path) -> Option<PathBuf> {
    if checkpoint.join("metrics.jsonl").is_file() {
        Some(checkpoint.join("metrics.jsonl"))
    } else {
        checkpoint
            .parent()
            .map(|p| p.join("metrics.jsonl"))
            .filter(|p| p.is_file())
    }
}

/// The `| reference | generated |` table of caption examples.
pub(crate) fn examples_table(examples: &[(String, String)]) -> String {
    let mut s = String::from("| reference | generated |\n| --- | --- |\n");
    for (r, g) in examples {
        s.push_str(&format!("| {r} | {g} |\n"));
    }
    s
}

fn per_class_table(classes: &[String], r: &ClassificationReport) -> String {
    let mut s = String::from(
        "\nPer class (ensemble):\n\n| class | precision | recall | F1 | support |\n| --- | --- | --- | --- | --- |\n",
    );
    let kb = wearlang_captioning::KnowledgeBase::builtin();
    for (c, m) in classes.iter().zip(&r.per_class) {
        let plain = kb.plain_name(c);
        let c = if plain == *c {
            c.clone()
        } else {
            format!("{c} ({plain})")
        };
        s.push_str(&format!(
            "| {c} | {:.3} | {:.3} | {:.3} | {} |\n",
            m.precision, m.recall, m.f1, m.support
        ));
    }
    s
}

fn few_shot_md(f: &FewShotResult, plot: bool) -> String {
    let mut s = format!(
        "\n## Few-shot adaptation\n\nk labelled training windows per class, {} seeds, macro-F1 on the test windows (mean ± std). Unadapted zero-shot with the same prompts: {:.3}. Training windows per class: {:?}.\n\n| method |",
        f.seeds, f.zero_shot_macro_f1, f.available_per_class
    );
    for k in &f.shots {
        s.push_str(&format!(" k = {k} |"));
    }
    s.push_str("\n| --- |");
    for _ in &f.shots {
        s.push_str(" --- |");
    }
    s.push('\n');
    for series in &f.series {
        s.push_str(&format!("| {} |", series.method.label()));
        for m in &series.summary {
            s.push_str(&format!(" {:.3} ± {:.3} |", m.mean, m.std));
        }
        s.push('\n');
    }
    if plot {
        s.push_str("\n![few-shot curve](few_shot.png)\n");
    }
    s
}

fn retrieval_row(name: &str, r: &RetrievalReport) -> String {
    format!(
        "| {name} | {:.3} | {:.3} | {:.3} | {:.1} | {:.1} |\n",
        r.recall_at_1, r.recall_at_5, r.recall_at_10, r.mean_rank, r.median_rank
    )
}
