//! Running protocols into one [`EvalReport`], its Markdown, and its plots
//! (confusion matrices, few-shot curve, training loss curves, retrieval
//! ranks; PNG and SVG through `wearlang-plots`).
//!
//! The Markdown is put together here (header, summary table, training
//! curves, pretraining and time sections); each result renders its own
//! summary rows and section in the results layer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use wearlang_core::fs::write_atomic;
use wearlang_models::InputNormalisation;
use wearlang_plots::Series;

use crate::context::{evaluated_split, EvalContext, Evaluator};
use crate::results::{ClassifierResult, ProtocolResult, ZeroShotResult};
use crate::{EvalError, PretrainReport, Result};

/// File stem of the training loss curves.
const LOSS_PLOT: &str = "loss_curves";

/// Everything `wearlang eval` found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EvalReport {
    /// The evaluated run's name.
    pub run: String,
    /// The split every score is on: `test` (held-out subjects), or `val`
    /// when the evaluation selects a model (absent in reports written
    /// before it could be chosen: `test`).
    #[serde(default = "test_split", skip_serializing_if = "is_test_split")]
    pub split: String,
    /// The steps its weights were trained for (the checkpoint's step: less
    /// than the run's budget for an unfinished run).
    pub steps: u64,
    /// The store.
    pub store: PathBuf,
    /// Candidate classes: the store's labels.
    pub classes: Vec<String>,
    /// The classes the model was trained with (empty when unknown, e.g. a
    /// fork's model evaluated through [`run_protocols`] alone).
    #[serde(default)]
    pub model_classes: Vec<String>,
    /// The store's classes that are new to the model, by the activity they
    /// name ([`Self::new_classes`], filled in by [`crate::evaluate_run`]
    /// when [`Self::model_classes`] is known), so that readers of
    /// `metrics.json` need no knowledge base to tell.
    #[serde(default)]
    pub unseen_classes: Vec<String>,
    /// Channels of the store the model does not read (left out).
    #[serde(default)]
    pub dropped_channels: Vec<String>,
    /// Where (and on what) the model's training data were worn, from its
    /// channel schema ([`wearlang_core::ChannelSpec::placement`]); absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_placement: Option<String>,
    /// Where the store's windows were worn; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_placement: Option<String>,
    /// Whether a channel of the store was worn at a location the model
    /// never trained on ([`wearlang_core::ChannelSpec::seen_at`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub placement_unseen: bool,
    /// Which statistics normalised the store's windows (absent: the
    /// store's own).
    #[serde(default, skip_serializing_if = "is_store_scale")]
    pub normalisation: InputNormalisation,
    /// Training windows.
    pub train_windows: usize,
    /// Test windows (the store's test split: held-out subjects, or the last
    /// part of each recording with a time split).
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

fn is_store_scale(n: &InputNormalisation) -> bool {
    *n == InputNormalisation::Store
}

fn test_split() -> String {
    "test".into()
}

fn is_test_split(s: &String) -> bool {
    s == "test"
}

/// Run `evaluators` in order; `log` is told when each starts.
pub fn run_protocols(
    ctx: &EvalContext,
    evaluators: &[Box<dyn Evaluator>],
    mut log: impl FnMut(&str),
) -> Result<EvalReport> {
    let mut report = EvalReport {
        run: ctx.model.run_name().to_string(),
        split: evaluated_split(ctx.test).as_str().to_string(),
        steps: ctx.model.training_steps(),
        store: ctx.store.to_path_buf(),
        classes: ctx.classes.clone(),
        model_classes: Vec::new(),
        unseen_classes: Vec::new(),
        dropped_channels: Vec::new(),
        model_placement: None,
        store_placement: None,
        placement_unseen: false,
        normalisation: InputNormalisation::Store,
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
    pub fn zero_shot(&self) -> Option<&ZeroShotResult> {
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
        self.results
            .iter()
            .flat_map(ProtocolResult::summary_rows)
            .collect()
    }

    /// The Markdown report (plots referenced by their PNG names).
    pub fn to_markdown(&self, plots: &[PathBuf]) -> String {
        let has_plot = |stem: &str| has_png(plots, stem);
        let mut s = self.header_markdown();
        s.push_str(&self.summary_markdown());
        if has_plot(LOSS_PLOT) {
            s.push_str(&format!(
                "\n## Training\n\n![training loss]({LOSS_PLOT}.png)\n"
            ));
        }
        for r in &self.results {
            s.push_str(&r.markdown(&self.classes, &has_plot));
        }
        s.push_str(&self.pretraining_markdown());
        s.push_str(&self.time_markdown());
        s
    }

    /// The store's classes the model was not trained with (empty when
    /// [`Self::model_classes`] is unknown), compared by the activity they
    /// name in the knowledge base (`Walking` and `WALKING` are one class;
    /// unknown labels by their lower-case words).
    pub fn new_classes(&self) -> Vec<String> {
        if self.model_classes.is_empty() {
            return Vec::new();
        }
        let kb = wearlang_captioning::KnowledgeBase::builtin();
        let seen: Vec<String> = self
            .model_classes
            .iter()
            .map(|c| kb.plain_name(c))
            .collect();
        self.classes
            .iter()
            .filter(|c| !seen.contains(&kb.plain_name(c)))
            .cloned()
            .collect()
    }

    /// The title and the line about the run, the store and the classes.
    fn header_markdown(&self) -> String {
        let k = self.classes.len();
        let mut s = format!(
            "# Evaluation of `{}`\n\n{} steps; store `{}`; {} training windows, {} test windows (the store's test split); {k} classes (chance macro-F1 ≈ {:.2}).\n\n",
            self.run,
            self.steps,
            self.store.display(),
            self.train_windows,
            self.test_windows,
            1.0 / k.max(1) as f64
        );
        if self.split != "test" {
            s.push_str(&format!(
                "**Every score here is on the `{}` split, not on the test subjects** \
                 (model selection): read \"test windows\" below as its windows.\n\n",
                self.split
            ));
        }
        if !self.model_classes.is_empty() && self.model_classes != self.classes {
            let new = self.new_classes();
            s.push_str(&format!(
                "The model was trained on other classes than this store's: {:?}. New to it: {} of {k} ({:?}); every score here is over the store's classes.\n\n",
                self.model_classes,
                new.len(),
                new
            ));
        }
        if self.normalisation == InputNormalisation::Model {
            s.push_str(
                "Windows on the model's training scale (its checkpoint's statistics, units \
                 converted), not on the store's own.\n\n",
            );
        }
        if !self.dropped_channels.is_empty() {
            s.push_str(&format!(
                "Channels of the store the model does not read, left out: {:?}.\n\n",
                self.dropped_channels
            ));
        }
        if let (Some(model), Some(store)) = (&self.model_placement, &self.store_placement) {
            s.push_str(&if self.placement_unseen {
                format!(
                    "The store was worn at a place the model never trained on: {store} \
                     (the model's training data: {model}).\n\n"
                )
            } else {
                format!("Worn: {store} (the model's training data: {model}).\n\n")
            });
        }
        s
    }

    /// The summary table ([`Self::summary`]) and the skipped protocols.
    fn summary_markdown(&self) -> String {
        let mut s = String::from("## Summary\n\n| metric | value |\n| --- | --- |\n");
        for (m, v) in self.summary() {
            s.push_str(&format!("| {m} | {v} |\n"));
        }
        for (name, why) in &self.skipped {
            s.push_str(&format!("\n_{name}: skipped ({why})._\n"));
        }
        s
    }

    /// The pretraining report's Markdown with its headings demoted under
    /// this section; empty without one.
    fn pretraining_markdown(&self) -> String {
        let Some(p) = &self.pretraining else {
            return String::new();
        };
        let mut s = String::from("\n## Pretraining (AIM): imputation and robustness\n\n");
        for line in p.to_markdown().lines() {
            if line.starts_with('#') {
                s.push('#');
            }
            s.push_str(line);
            s.push('\n');
        }
        s
    }

    /// Wall seconds per protocol; empty when none were timed.
    fn time_markdown(&self) -> String {
        if self.seconds.is_empty() {
            return String::new();
        }
        let mut s = String::from("\n## Time\n\n| protocol | seconds |\n| --- | --- |\n");
        for (k, v) in &self.seconds {
            s.push_str(&format!("| {k} | {v:.1} |\n"));
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
            // The stem the result's Markdown section references.
            let Some(stem) = r.plot_stem() else {
                continue;
            };
            let path = dir.join(stem);
            match r {
                ProtocolResult::ZeroShot(z) => files.extend(wearlang_plots::confusion_matrix(
                    path,
                    &z.ensemble.report.confusion,
                    &names,
                    "Zero-shot (template ensemble), test subjects",
                )?),
                ProtocolResult::LinearProbe(c) => files.extend(wearlang_plots::confusion_matrix(
                    path,
                    &c.report.confusion,
                    &names,
                    "Linear probe, test subjects",
                )?),
                ProtocolResult::Supervised(c) => files.extend(wearlang_plots::confusion_matrix(
                    path,
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
                        path,
                        &series,
                        &format!("Few-shot adaptation ({} seeds)", f.seeds),
                    )?);
                }
                ProtocolResult::Retrieval(r) => files.extend(wearlang_plots::rank_histogram(
                    path,
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
                    dir.join(LOSS_PLOT),
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
/// data wait). A torn last line (no newline after it and not valid JSON: a
/// write interrupted by a crash) is skipped; [`check_metrics_log`] reports
/// it. Any other bad line is an error naming the file and line.
pub fn loss_series(path: &Path) -> Result<Vec<Series>> {
    Ok(read_loss_series(path)?.0)
}

/// Check a `metrics.jsonl` before any work is done on it: an error naming
/// the file and line for a bad line, `Ok(Some(warning))` when its torn last
/// line will be skipped, `Ok(None)` when it is whole.
pub fn check_metrics_log(path: &Path) -> Result<Option<String>> {
    Ok(read_loss_series(path)?.1.map(|n| {
        format!(
            "{}: line {n} is incomplete (a write interrupted by a crash); it is skipped",
            path.display()
        )
    }))
}

/// The loss series and the number of a skipped torn last line.
fn read_loss_series(path: &Path) -> Result<(Vec<Series>, Option<usize>)> {
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
    let n_lines = text.lines().count();
    let mut torn = None;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            // Every record is written with its newline: a last line
            // without one is a write cut short.
            Err(_) if n + 1 == n_lines && !text.ends_with('\n') => {
                torn = Some(n + 1);
                continue;
            }
            Err(e) => {
                return Err(EvalError::Data(format!(
                    "{}: line {}: {e}",
                    path.display(),
                    n + 1
                )))
            }
        };
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
    Ok((
        by_key
            .into_iter()
            .map(|(k, (x, y))| Series::new(&k, &x, &y))
            .collect(),
        torn,
    ))
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

/// Whether `plots` holds the PNG of the plot named `stem`.
fn has_png(plots: &[PathBuf], stem: &str) -> bool {
    plots.iter().any(|p| {
        p.file_stem().is_some_and(|s| s == stem) && p.extension().is_some_and(|e| e == "png")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_of_the_metrics_log_is_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.jsonl");
        let whole = "{\"step\":1,\"loss\":2.0}\n{\"step\":2,\"loss\":1.5}\n";
        std::fs::write(&path, whole).unwrap();
        assert_eq!(check_metrics_log(&path).unwrap(), None);
        let series = loss_series(&path).unwrap();
        assert_eq!(series.len(), 1);

        // Killed while writing the third record.
        std::fs::write(&path, format!("{whole}{{\"step\":3,\"lo")).unwrap();
        let warning = check_metrics_log(&path).unwrap().unwrap();
        assert!(
            warning.contains("metrics.jsonl") && warning.contains("line 3"),
            "{warning}"
        );
        assert_eq!(loss_series(&path).unwrap().len(), 1);

        // A bad line that is not the torn last one stays an error.
        std::fs::write(&path, format!("{{\"step\":1,\"lo\n{whole}")).unwrap();
        let err = check_metrics_log(&path).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        std::fs::write(&path, format!("{whole}not json\n")).unwrap();
        assert!(loss_series(&path).is_err());
    }
}
