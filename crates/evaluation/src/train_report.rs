//! The quick report `wearlang train` writes after training: zero-shot
//! classification of the test subjects with the base template and the
//! template ensemble and, for a model with a captioning decoder, generated
//! captions; as `report.json` and `report.md` in the run directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wearlang_captioning::{ActivityCaptioner, ActivityConfig, PromptTemplates, TemplateChoice};
use wearlang_core::fs::write_atomic;
use wearlang_core::Split;
use wearlang_encoders::text::DecodeOptions;
use wearlang_models::{
    load_sensor_language, ModelError, SensorLanguageConfig, SetOptions, ValueHome, Values,
    WindowSet,
};

use crate::error::Context;
use crate::report::pretty_json;
use crate::results::examples_table;
use crate::{
    evaluate_captions, reference_texts, zero_shot, CaptionEval, Result, ZeroShotConfig,
    ZeroShotReport,
};

/// Where [`train_report`] finds the run and how much it captions.
#[derive(Clone, Debug, Default)]
pub struct TrainReportOptions {
    /// The run directory `wearlang train` wrote (its checkpoint is loaded on
    /// the run config's device).
    pub run_dir: PathBuf,
    /// The window store; its test split is scored.
    pub store: PathBuf,
    /// MiniLM's directory (default: `$WEARLANG_MINILM` or the one `cargo
    /// xtask setup` links).
    pub minilm_dir: Option<PathBuf>,
    /// Caption at most this many test windows (models with a decoder; 0: all).
    pub caption_windows: usize,
    /// Where the test windows' values are kept (a run trained with its
    /// values on disk reports the same way: the test split may be as large
    /// as the training one). Either way they are held once, in the tensor,
    /// and each window keeps only the captions the report reads.
    pub values: ValueHome,
}

/// The quick report of a sensor-language run on its test subjects.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainReport {
    /// The run's name.
    pub run: String,
    /// Steps trained.
    pub steps: u64,
    /// Test windows scored.
    pub test_windows: usize,
    /// Zero-shot with one prompt per class (the base template).
    pub zero_shot_base: ZeroShotReport,
    /// Zero-shot with the template ensemble.
    pub zero_shot_ensemble: ZeroShotReport,
    /// Generated captions (beam 3), for a model with a captioning decoder.
    pub captions: Option<CaptionEval>,
}

/// Score the run of `cfg` (trained for `steps` steps) in `opts.run_dir` on
/// the labelled windows of the test split of `opts.store`, among the
/// store's classes: zero-shot with the base template and with
/// the ensemble and, when the model has a decoder, beam-3 captions of at
/// most `opts.caption_windows` windows against the run's text variants (the
/// activity text with its base template).
pub fn train_report(
    cfg: &SensorLanguageConfig,
    steps: u64,
    opts: &TrainReportOptions,
) -> Result<TrainReport> {
    let device = wearlang_device::parse_device(&cfg.device).map_err(ModelError::from)?;
    let loaded = load_sensor_language(&opts.run_dir, opts.minilm_dir.as_deref(), device)?;
    let read = SetOptions {
        home: opts.values.clone(),
        // The caption columns the decoder's references come from.
        captions: Some(if loaded.model.has_decoder() {
            cfg.text.caption_columns()
        } else {
            Vec::new()
        }),
    };
    let all = WindowSet::load_in(
        &opts.store,
        Some(Split::Test),
        true,
        Values::InTensorOnly,
        &read,
    )
    .context_with(|| "the report needs test windows".to_string())?;
    let labelled: Vec<usize> = (0..all.len())
        .filter(|&i| all.labels[i].is_some())
        .collect();
    let (test, _) = all
        .select(&labelled)
        .context_with(|| "the report needs labelled test windows".to_string())?
        .onto_channels(
            &loaded.config.channel_schema(),
            &opts.store.display().to_string(),
        )?;
    // The store's own classes: a model trained on several stores knows
    // more, and its report is about this one.
    let classes = test.meta.labels.labels().to_vec();
    let base = zero_shot(
        &loaded.model,
        &test,
        &classes,
        &ZeroShotConfig {
            templates: PromptTemplates::Base,
            ..ZeroShotConfig::default()
        },
    )?;
    let ensemble = zero_shot(&loaded.model, &test, &classes, &ZeroShotConfig::default())?;
    let captions = if loaded.model.has_decoder() {
        let variants = cfg.text.variants.clone();
        let activity = ActivityCaptioner::new(ActivityConfig {
            template: TemplateChoice::Base,
            ..cfg.text.activity.clone()
        });
        let windows = &test.windows;
        Some(evaluate_captions(
            &loaded.model,
            &test,
            &classes,
            |i| reference_texts(&variants, &activity, &windows[i]),
            &DecodeOptions {
                beam: 3,
                ..DecodeOptions::default()
            },
            opts.caption_windows,
        )?)
    } else {
        None
    };
    Ok(TrainReport {
        run: cfg.name.clone(),
        steps,
        test_windows: test.len(),
        zero_shot_base: base,
        zero_shot_ensemble: ensemble,
        captions,
    })
}

impl TrainReport {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "# Sensor-language run `{}`\n\n{} steps; {} test windows (the store's test split); chance macro-F1 ≈ {:.2}.\n\n",
            self.run,
            self.steps,
            self.test_windows,
            1.0 / self.zero_shot_base.classes.len() as f64
        );
        s.push_str("| zero-shot prompts | accuracy | macro-F1 |\n| --- | --- | --- |\n");
        for (name, z) in [
            ("base template", &self.zero_shot_base),
            ("template ensemble", &self.zero_shot_ensemble),
        ] {
            s.push_str(&format!(
                "| {name} ({} per class) | {:.3} | {:.3} |\n",
                z.prompts_per_class, z.report.accuracy, z.report.macro_f1
            ));
        }
        if let Some(c) = &self.captions {
            s.push_str(&format!(
                "\nCaptions (beam 3) of {} test windows: {:.1} % name the true activity, {:.1} % another one; BLEU-4 {:.3}, ROUGE-L {:.3}, CIDEr-D {:.3}.\n\n",
                c.windows,
                100.0 * c.mentions_true_activity,
                100.0 * c.mentions_other_activity,
                c.metrics.bleu4,
                c.metrics.rouge_l,
                c.metrics.cider_d
            ));
            s.push_str(&examples_table(&c.examples));
        }
        s
    }

    /// Write `report.json` and `report.md` into `dir` (atomically each).
    /// Returns the Markdown.
    pub fn write(&self, dir: &Path) -> Result<String> {
        let md = self.to_markdown();
        write_atomic(dir.join("report.json"), pretty_json(self)?.as_bytes())?;
        write_atomic(dir.join("report.md"), md.as_bytes())?;
        Ok(md)
    }
}
