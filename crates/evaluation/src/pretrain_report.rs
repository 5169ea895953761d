//! The report `wearlang pretrain` writes: imputation on held-out windows and
//! robustness of a linear probe to removed patches, as JSON and Markdown.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::Device;
use wearlang_core::fs::write_atomic;
use wearlang_core::Split;
use wearlang_models::{LoadedMae, SetOptions, ValueHome, Values, WindowSet};

use crate::imputation::{evaluate_imputation, ImputationConfig, ImputationRow};
use crate::robustness::{
    evaluate_robustness, GapHandling, ProbeFit, RobustnessConfig, RobustnessRow,
};
use crate::{EvalError, Result};

/// Settings of the pretraining report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PretrainReportConfig {
    /// The imputation protocol.
    pub imputation: ImputationConfig,
    /// The robustness protocol.
    pub robustness: RobustnessConfig,
    /// Use at most this many held-out windows for imputation (0: all).
    pub max_windows: usize,
    /// Use at most this many labelled training windows, and as many
    /// labelled test windows, for the robustness probe, evenly spaced
    /// through the split (0: all).
    pub max_probe_windows: usize,
}

/// At most `max` of `idx`, evenly spaced (all of them when `max` is 0).
fn spread(idx: Vec<usize>, max: usize) -> Vec<usize> {
    if max == 0 || idx.len() <= max {
        return idx;
    }
    (0..max).map(|i| idx[i * idx.len() / max]).collect()
}

/// The report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PretrainReport {
    /// The store evaluated.
    pub store: String,
    /// The split the held-out windows came from.
    pub heldout_split: String,
    /// Held-out windows used for imputation.
    pub heldout_windows: usize,
    /// Imputation rows.
    pub imputation: Vec<ImputationRow>,
    /// Robustness rows (empty when the store has no labels or no train/test split).
    pub robustness: Vec<RobustnessRow>,
    /// Why robustness was skipped, if it was.
    pub robustness_skipped: Option<String>,
    /// `[training windows used, labelled training windows, test windows
    /// used, labelled test windows]` of the robustness probe when
    /// [`PretrainReportConfig::max_probe_windows`] left some out (`None`:
    /// it used every labelled window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_capped: Option<[usize; 4]>,
}

fn load_first(store: &Path, splits: &[Split], how: &SetOptions) -> Result<(Split, WindowSet)> {
    let mut last = None;
    for &s in splits {
        match WindowSet::load_in(store, Some(s), true, Values::InTensorOnly, how) {
            Ok(set) => return Ok((s, set)),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .map(EvalError::from)
        .unwrap_or_else(|| EvalError::Data("no split".into())))
}

/// Evaluate a pretrained masked autoencoder on `store`, its windows'
/// values held in memory ([`pretrain_report_in`]).
pub fn pretrain_report(
    mae: &LoadedMae,
    store: &Path,
    cfg: &PretrainReportConfig,
) -> Result<PretrainReport> {
    pretrain_report_in(mae, store, cfg, &ValueHome::Memory)
}

/// [`pretrain_report`] with the held-out and training windows' values
/// kept where `values` says (a run pretrained with its values on disk
/// reports the same way). Either way each window's values are held once,
/// in the tensor, and no captions are kept. The robustness probe gathers
/// its windows into memory: [`PretrainReportConfig::max_probe_windows`]
/// bounds that.
pub fn pretrain_report_in(
    mae: &LoadedMae,
    store: &Path,
    cfg: &PretrainReportConfig,
    values: &ValueHome,
) -> Result<PretrainReport> {
    let device = mae.model.device();
    let how = SetOptions {
        home: values.clone(),
        captions: Some(Vec::new()),
    };
    let (split, heldout) = load_first(store, &[Split::Test, Split::Val], &how)?;
    let mut x = heldout.x.shallow_clone();
    if cfg.max_windows > 0 && heldout.len() > cfg.max_windows {
        x = x.narrow(0, 0, cfg.max_windows as i64);
    }
    let imputation = evaluate_imputation(&mae.model, &x.to_device(device), &cfg.imputation)?;

    let n_classes = heldout.meta.labels.len();
    let mut robustness = Vec::new();
    let mut skipped = None;
    let mut probe_capped = None;
    let train = WindowSet::load_in(store, Some(Split::Train), true, Values::InTensorOnly, &how);
    match (train, split) {
        (Ok(train), Split::Test) if n_classes >= 2 => {
            let labelled = |set: &WindowSet| -> Vec<usize> {
                (0..set.len())
                    .filter(|&i| set.labels[i].is_some())
                    .collect()
            };
            let cap = cfg.max_probe_windows;
            let (all_tr, all_te) = (labelled(&train), labelled(&heldout));
            let (n_tr, n_te) = (all_tr.len(), all_te.len());
            let (tr, te) = (spread(all_tr, cap), spread(all_te, cap));
            if tr.len() < n_tr || te.len() < n_te {
                probe_capped = Some([tr.len(), n_tr, te.len(), n_te]);
            }
            if tr.is_empty() || te.is_empty() {
                skipped = Some("no labelled windows in the train or test split".to_string());
            } else {
                robustness = evaluate_robustness(
                    mae.model.encoder(),
                    &train.batch(&tr, Device::Cpu)?,
                    &train.label_batch(&tr, Device::Cpu)?,
                    &heldout.batch(&te, Device::Cpu)?,
                    &heldout.label_batch(&te, Device::Cpu)?,
                    n_classes,
                    &cfg.robustness,
                )?;
            }
        }
        (Ok(_), Split::Test) => skipped = Some("the store has fewer than 2 labels".into()),
        (Ok(_), _) => skipped = Some("the store has no test split".into()),
        (Err(e), _) => skipped = Some(format!("no training split: {e}")),
    }
    Ok(PretrainReport {
        store: store.display().to_string(),
        heldout_split: split.as_str().to_string(),
        heldout_windows: x.size()[0] as usize,
        imputation,
        robustness,
        robustness_skipped: skipped,
        probe_capped,
    })
}

impl PretrainReport {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "## Imputation ({} {} windows of `{}`)\n",
            self.heldout_windows, self.heldout_split, self.store
        );
        let _ = writeln!(
            s,
            "MSE on hidden observed values, normalised units (lower is better).\n\n| hidden | share | values | model | channel mean | linear interp. | model / best baseline |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for r in &self.imputation {
            let best = r.mse_mean.min(r.mse_linear);
            let _ = writeln!(
                s,
                "| {} | {:.0} % | {} | {:.4} | {:.4} | {:.4} | {:.2} |",
                r.kind.as_str(),
                r.ratio * 100.0,
                r.hidden_values,
                r.mse_model,
                r.mse_mean,
                r.mse_linear,
                r.mse_model / best.max(1e-12)
            );
        }
        let _ = writeln!(
            s,
            "\n## Robustness (linear probe on training windows, clean or with the same share of patches removed)\n"
        );
        if let Some(why) = &self.robustness_skipped {
            let _ = writeln!(s, "Skipped: {why}.");
        } else {
            if let Some([tr, n_tr, te, n_te]) = self.probe_capped {
                let _ = writeln!(
                    s,
                    "The probe used {tr} of {n_tr} labelled training windows and {te} of {n_te} \
                     labelled test windows, evenly spaced (`--report-probe-windows`).\n"
                );
            }
            let _ = writeln!(s, "| patches removed | encoder input | probe fit on | macro-F1 | accuracy |\n| ---: | --- | --- | ---: | ---: |");
            for r in &self.robustness {
                // Several draws of removed patches: mean ± sd over them.
                let spread = if r.draws > 1 {
                    format!(" ± {:.3} ({} draws)", r.macro_f1_sd, r.draws)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    s,
                    "| {:.0} % | {} | {} | {:.3}{spread} | {:.3} |",
                    r.fraction * 100.0,
                    r.handling.as_str(),
                    r.probe.as_str(),
                    r.macro_f1,
                    r.accuracy
                );
            }
        }
        s
    }

    /// The headline figures as (metric, value) pairs, the cells of an
    /// ablation table row (`cargo xtask ablate`): per imputation row the
    /// model's MSE and, in brackets, its ratio to the better baseline
    /// (below 1: the model wins); per share of removed patches the probe's
    /// macro-F1 with the encoder masking them (AIM) and with them
    /// interpolated first (`a / b`), both with the probe fit on clean
    /// windows; the clean probe first.
    pub fn summary(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for r in &self.imputation {
            let best = r.mse_mean.min(r.mse_linear).max(1e-12);
            out.push((
                format!(
                    "{} {:.0} % MSE (/ best baseline)",
                    r.kind.as_str().replace('_', " "),
                    r.ratio * 100.0
                ),
                format!("{:.3} ({:.2})", r.mse_model, r.mse_model / best),
            ));
        }
        let clean = |h: GapHandling, f: f32| {
            self.robustness
                .iter()
                .find(|r| r.handling == h && r.probe == ProbeFit::Clean && r.fraction == f)
                .map(|r| r.macro_f1)
        };
        let mut fractions: Vec<f32> = self.robustness.iter().map(|r| r.fraction).collect();
        fractions.sort_by(f32::total_cmp);
        fractions.dedup();
        for f in fractions {
            let cell = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3}"));
            if f == 0.0 {
                let v = clean(GapHandling::Aim, f).or(clean(GapHandling::Imputed, f));
                out.push(("probe macro-F1, clean".into(), cell(v)));
            } else {
                out.push((
                    format!(
                        "probe macro-F1, {:.0} % removed: AIM / impute-then-encode",
                        f * 100.0
                    ),
                    format!(
                        "{} / {}",
                        cell(clean(GapHandling::Aim, f)),
                        cell(clean(GapHandling::Imputed, f))
                    ),
                ));
            }
        }
        out
    }

    /// Write `report.json`, `report.md` and `summary.json` (the
    /// [`PretrainReport::summary`] pairs) into `dir` (atomically each).
    pub fn write(&self, dir: &Path, title: &str) -> Result<()> {
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| EvalError::Data(format!("cannot serialise the report: {e}")))?;
        write_atomic(dir.join("report.json"), json.as_bytes())?;
        let summary = serde_json::to_string_pretty(&self.summary())
            .map_err(|e| EvalError::Data(format!("cannot serialise the summary: {e}")))?;
        write_atomic(dir.join("summary.json"), summary.as_bytes())?;
        let md = format!("# {title}\n\n{}", self.to_markdown());
        Ok(write_atomic(dir.join("report.md"), md.as_bytes())?)
    }

    /// Read the `report.json` that [`PretrainReport::write`] put in `dir`
    /// (a `wearlang pretrain` run directory).
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join("report.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            EvalError::Data(format!(
                "reading the pretraining report {}: {e}",
                path.display()
            ))
        })?;
        serde_json::from_str(&text)
            .map_err(|e| EvalError::Data(format!("parsing {}: {e}", path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::{spread, PretrainReport};

    #[test]
    fn a_capped_probe_says_how_many_windows_it_used() {
        let mut r = PretrainReport {
            store: "s.parquet".into(),
            heldout_split: "test".into(),
            heldout_windows: 4,
            imputation: Vec::new(),
            robustness: Vec::new(),
            robustness_skipped: None,
            probe_capped: None,
        };
        assert!(!r.to_markdown().contains("The probe used"));
        r.probe_capped = Some([512, 8711, 512, 3899]);
        let md = r.to_markdown();
        assert!(
            md.contains("512 of 8711 labelled training windows and 512 of 3899"),
            "{md}"
        );
        let back: PretrainReport =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back.probe_capped, r.probe_capped);
    }

    #[test]
    fn the_summary_gives_each_mse_with_its_ratio_and_the_probes_side_by_side() {
        use crate::imputation::{HideKind, ImputationRow};
        use crate::robustness::{GapHandling, ProbeFit, RobustnessRow};
        let rob = |fraction, handling, probe, macro_f1| RobustnessRow {
            fraction,
            handling,
            probe,
            macro_f1,
            accuracy: 0.0,
            macro_f1_sd: 0.0,
            draws: 1,
        };
        let r = PretrainReport {
            store: "s.parquet".into(),
            heldout_split: "test".into(),
            heldout_windows: 4,
            imputation: vec![ImputationRow {
                kind: HideKind::TemporalBlock,
                ratio: 0.8,
                hidden_values: 10,
                mse_model: 0.5,
                mse_mean: 1.0,
                mse_linear: 0.8,
            }],
            robustness: vec![
                rob(0.5, GapHandling::Imputed, ProbeFit::Clean, 0.61),
                rob(0.0, GapHandling::Aim, ProbeFit::Clean, 0.8),
                rob(0.5, GapHandling::Aim, ProbeFit::Clean, 0.7),
                // A probe fit on matched windows is not a cell.
                rob(0.5, GapHandling::Aim, ProbeFit::Matched, 0.1),
            ],
            robustness_skipped: None,
            probe_capped: None,
        };
        let s = r.summary();
        let expect = [
            ("temporal block 80 % MSE (/ best baseline)", "0.500 (0.62)"),
            ("probe macro-F1, clean", "0.800"),
            (
                "probe macro-F1, 50 % removed: AIM / impute-then-encode",
                "0.700 / 0.610",
            ),
        ];
        let got: Vec<(&str, &str)> = s.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn the_probe_cap_keeps_evenly_spaced_windows_or_all_of_them() {
        let idx: Vec<usize> = (10..20).collect();
        assert_eq!(spread(idx.clone(), 0), idx);
        assert_eq!(spread(idx.clone(), 10), idx);
        assert_eq!(spread(idx.clone(), 5), vec![10, 12, 14, 16, 18]);
        assert_eq!(spread(idx, 3), vec![10, 13, 16]);
    }
}
