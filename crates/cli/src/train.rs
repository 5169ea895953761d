//! `wearlang train`: sensor-language training (NLS, SensorLM CLIP / SigLIP /
//! CoCa, UniCL, SLIP) from a TOML config, then a quick report on the test
//! subjects: zero-shot classification with class prompts and, for CoCa,
//! generated captions.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use wearlang_core::Split;
use wearlang_encoders::text::DecodeOptions;
use wearlang_evaluation::{
    evaluate_captions, reference_texts, write_atomic, zero_shot, CaptionEval, ZeroShotConfig,
    ZeroShotReport,
};
use wearlang_models::load_split;
use wearlang_train::{
    load_sensor_language, train_sensor_language, SensorLanguageConfig, SensorLanguageOptions,
};

/// Arguments of `wearlang train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The window store (its train split is used for training).
    #[arg(long)]
    pub store: PathBuf,
    /// A TOML run config (see `configs/*.toml`); defaults (NLS-style CLIP) when left out.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The run directory: checkpoint/, metrics.jsonl, report.{md,json}.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run in `--out` from its checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Override the config's step budget.
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Override the config's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Initialise the patch Transformer from this `wearlang pretrain` run.
    #[arg(long)]
    pub init_from: Option<PathBuf>,
    /// MiniLM's directory (default: $WEARLANG_MINILM or target/models/all-MiniLM-L6-v2).
    #[arg(long)]
    pub minilm: Option<PathBuf>,
    /// Skip the test-split report.
    #[arg(long)]
    pub no_report: bool,
    /// Caption at most this many test windows in the report (CoCa).
    #[arg(long, default_value_t = 200)]
    pub caption_windows: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Serialize)]
struct TrainReport {
    run: String,
    steps: u64,
    test_windows: usize,
    zero_shot_base: ZeroShotReport,
    zero_shot_ensemble: ZeroShotReport,
    captions: Option<CaptionEval>,
}

/// Run `wearlang train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let mut cfg = match &a.config {
        Some(p) => SensorLanguageConfig::from_file(p)?,
        None => SensorLanguageConfig::default(),
    };
    if let Some(s) = a.max_steps {
        cfg.max_steps = s;
    }
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    if let Some(p) = &a.init_from {
        cfg.sensor.init_from = Some(p.clone());
    }
    let summary = train_sensor_language(
        &cfg,
        &SensorLanguageOptions {
            store: a.store.clone(),
            out: a.out.clone(),
            resume: a.resume,
            progress: !a.quiet,
            stop_after: None,
            minilm_dir: a.minilm.clone(),
        },
    )
    .with_context(|| format!("training {} on {}", cfg.name, a.store.display()))?;
    println!(
        "trained {} for {} steps on {} windows ({} parameters): loss {:.4}, {:.0} windows/s, {:.1} % of the time waiting for data; checkpoint {}",
        cfg.name,
        summary.steps,
        summary.train_windows,
        summary.parameters,
        summary.final_loss,
        summary.samples_per_s,
        100.0 * summary.data_wait_fraction,
        summary.checkpoint.display()
    );
    if a.no_report {
        return Ok(());
    }
    let device = wearlang_device::parse_device(&cfg.device)?;
    let loaded = load_sensor_language(&a.out, a.minilm.as_deref(), device)?;
    let test = load_split(&a.store, Split::Test).context("the report needs test windows")?;
    let classes = loaded.config.labels.clone();
    let base = zero_shot(
        &loaded.model,
        &test,
        &classes,
        &ZeroShotConfig {
            templates: wearlang_captioning::PromptTemplates::Base,
            ..ZeroShotConfig::default()
        },
    )?;
    let ens = zero_shot(&loaded.model, &test, &classes, &ZeroShotConfig::default())?;
    let captions = if loaded.model.has_decoder() {
        let variants = cfg.text.variants.clone();
        let activity =
            wearlang_captioning::ActivityCaptioner::new(wearlang_captioning::ActivityConfig {
                template: wearlang_captioning::TemplateChoice::Base,
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
            a.caption_windows,
        )?)
    } else {
        None
    };
    let report = TrainReport {
        run: cfg.name.clone(),
        steps: summary.steps,
        test_windows: test.len(),
        zero_shot_base: base,
        zero_shot_ensemble: ens,
        captions,
    };
    let md = to_markdown(&report);
    write_atomic(
        &a.out.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    write_atomic(&a.out.join("report.md"), md.as_bytes())?;
    println!("{md}");
    println!("report: {}", a.out.join("report.md").display());
    Ok(())
}

fn to_markdown(r: &TrainReport) -> String {
    let mut s = format!(
        "# Sensor-language run `{}`\n\n{} steps; {} test windows (held-out subjects); chance macro-F1 ≈ {:.2}.\n\n",
        r.run,
        r.steps,
        r.test_windows,
        1.0 / r.zero_shot_base.classes.len() as f64
    );
    s.push_str("| zero-shot prompts | accuracy | macro-F1 |\n| --- | --- | --- |\n");
    for (name, z) in [
        ("base template", &r.zero_shot_base),
        ("template ensemble", &r.zero_shot_ensemble),
    ] {
        s.push_str(&format!(
            "| {name} ({} per class) | {:.3} | {:.3} |\n",
            z.prompts_per_class, z.report.accuracy, z.report.macro_f1
        ));
    }
    if let Some(c) = &r.captions {
        s.push_str(&format!(
            "\nCaptions (beam 3) of {} test windows: {:.1} % name the true activity, {:.1} % another one; BLEU-4 {:.3}, ROUGE-L {:.3}, CIDEr-D {:.3}.\n\n| reference | generated |\n| --- | --- |\n",
            c.windows,
            100.0 * c.mentions_true_activity,
            100.0 * c.mentions_other_activity,
            c.metrics.bleu4,
            c.metrics.rouge_l,
            c.metrics.cider_d
        ));
        for (r, g) in &c.examples {
            s.push_str(&format!("| {r} | {g} |\n"));
        }
    }
    s
}
