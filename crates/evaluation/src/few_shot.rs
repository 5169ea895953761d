//! Few-shot adaptation (NLS): k labelled training windows per class, several
//! seeds, two methods, macro-F1 on the test windows as mean ± std.
//!
//! - `projection_heads`: only the sensor and text projection heads are
//!   updated, with the contrastive loss between each window and its class's
//!   base-template prompt (UniCL targets: every window of the same class is
//!   a positive), at the model's learned logit scale; then zero-shot
//!   classification with the configured prompts. The encoders stay frozen, so
//!   their features are computed once.
//! - `linear_probe`: a [`LinearProbe`] on the frozen sensor features of the
//!   k-shot windows.
//!
//! The k windows of a class are drawn by a ChaCha8 shuffle seeded with
//! `(seed, k)`; a class with fewer training windows uses all it has.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use wearlang_captioning::{class_prompts, PromptOptions, PromptTemplates};
use wearlang_metrics::{ClassificationReport, MeanStd};
use wearlang_models::SensorLanguageModel;
use wearlang_objectives::normalize;
use wearlang_optim::{AdamW, OptimConfig};

use crate::context::{EvalContext, Evaluator};
use crate::results::{FewShotMethod, FewShotResult, FewShotSeries, ProtocolResult};
use crate::select::{labelled, rows};
use crate::zero_shot::ZeroShotConfig;
use crate::{EvalError, LinearProbe, ProbeConfig, Result};

/// Few-shot settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FewShotConfig {
    /// Windows per class.
    pub shots: Vec<usize>,
    /// Seeds per shot count (`0..seeds`).
    pub seeds: u64,
    /// Methods to run.
    pub methods: Vec<FewShotMethod>,
    /// Full-batch steps of the projection-head update.
    pub head_steps: usize,
    /// Adam learning rate of the projection-head update.
    pub head_lr: f64,
}

impl Default for FewShotConfig {
    fn default() -> Self {
        FewShotConfig {
            shots: vec![2, 5, 10, 25, 50, 100],
            seeds: 5,
            methods: vec![FewShotMethod::ProjectionHeads, FewShotMethod::LinearProbe],
            head_steps: 50,
            head_lr: 1e-3,
        }
    }
}

/// The few-shot protocol.
pub struct FewShotEval {
    /// Its settings.
    pub cfg: FewShotConfig,
    /// The probe's settings (its seed is replaced by each run's).
    pub probe: ProbeConfig,
    /// Prompts for the zero-shot step after the head update.
    pub zero_shot: ZeroShotConfig,
}

/// Restores the projection heads and the `requires_grad` flags on drop.
struct HeadGuard<'a> {
    model: &'a SensorLanguageModel,
    snapshot: Vec<(Tensor, Tensor)>,
    flags: Vec<(Tensor, bool)>,
}

impl<'a> HeadGuard<'a> {
    fn new(model: &'a SensorLanguageModel) -> Self {
        let heads = model.projection_variables();
        let mut snapshot = Vec::new();
        let mut flags = Vec::new();
        for (name, var) in model.vs.variables() {
            flags.push((var.shallow_clone(), var.requires_grad()));
            if heads.contains(&name) {
                snapshot.push((var.shallow_clone(), var.detach().copy()));
            } else {
                let _ = var.set_requires_grad(false);
            }
        }
        HeadGuard {
            model,
            snapshot,
            flags,
        }
    }

    fn restore(&self) {
        tch::no_grad(|| {
            for (var, saved) in &self.snapshot {
                let mut v = var.shallow_clone();
                v.copy_(saved);
            }
        });
    }
}

impl Drop for HeadGuard<'_> {
    fn drop(&mut self) {
        self.restore();
        for (var, flag) in &self.flags {
            let _ = var.set_requires_grad(*flag);
        }
        let _ = self.model;
    }
}

/// The k-shot sample of `seed`: per class, up to `k` indices into `by_class`.
fn sample(by_class: &[Vec<usize>], k: usize, seed: u64) -> (Vec<usize>, Vec<i64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(k as u64));
    let mut idx = Vec::new();
    let mut y = Vec::new();
    for (c, members) in by_class.iter().enumerate() {
        let mut m = members.clone();
        m.shuffle(&mut rng);
        for &i in m.iter().take(k) {
            idx.push(i);
            y.push(c as i64);
        }
    }
    (idx, y)
}

/// Symmetric cross-entropy with label-equality targets (UniCL).
fn unicl_loss(logits: &Tensor, y: &Tensor) -> Tensor {
    let eq = y
        .unsqueeze(1)
        .eq_tensor(&y.unsqueeze(0))
        .to_kind(Kind::Float);
    let targets = &eq / eq.sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
    let b = logits.size()[0] as f64;
    let row = -(&targets * logits.log_softmax(1, Kind::Float)).sum(Kind::Float) / b;
    let col = -(targets.tr() * logits.tr().log_softmax(1, Kind::Float)).sum(Kind::Float) / b;
    (row + col) / 2.0
}

impl FewShotEval {
    fn macro_f1(truth: &[usize], pred: &[usize], k: usize) -> Result<f64> {
        Ok(ClassificationReport::compute(truth, pred, k)?.macro_f1)
    }

    /// Zero-shot predictions with the current heads.
    fn predict_heads(
        model: &SensorLanguageModel,
        test_features: &Tensor,
        prompt_features: &Tensor,
        n_classes: usize,
    ) -> Result<Vec<usize>> {
        tch::no_grad(|| {
            let t = normalize(&model.project_text(prompt_features));
            let cls = normalize(&t.reshape([n_classes as i64, -1, t.size()[1]]).mean_dim(
                1,
                false,
                Kind::Float,
            ));
            let s = normalize(&model.project_sensor(test_features));
            let p = Vec::<i64>::try_from(
                s.matmul(&cls.tr())
                    .argmax(1, false)
                    .to_device(tch::Device::Cpu),
            )?;
            Ok(p.into_iter().map(|v| v as usize).collect())
        })
    }
}

impl Evaluator for FewShotEval {
    fn name(&self) -> &'static str {
        "few-shot"
    }

    fn skip_reason(&self, ctx: &EvalContext) -> Option<String> {
        if self.cfg.methods.contains(&FewShotMethod::ProjectionHeads)
            && !ctx.model.config().objective.needs_text()
        {
            return Some("the model has no contrastive text alignment".into());
        }
        None
    }

    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult> {
        let cfg = &self.cfg;
        if cfg.shots.is_empty() || cfg.seeds == 0 || cfg.methods.is_empty() {
            return Err(EvalError::param(
                "few_shot",
                "needs at least one shot count, seed and method",
            ));
        }
        if let Some(&k) = cfg.shots.iter().find(|&&k| k == 0) {
            return Err(EvalError::param(
                "few_shot.shots",
                format!("{k}: shot counts must be at least 1"),
            ));
        }
        let n_classes = ctx.classes.len();
        let model = ctx.model;
        let (tr_idx, tr_y) = labelled(&ctx.train.labels);
        let (te_idx, te_y) = labelled(&ctx.test.labels);
        if tr_idx.is_empty() || te_idx.is_empty() {
            return Err(EvalError::Data(
                "few-shot: needs labelled training and test windows".into(),
            ));
        }
        let truth: Vec<usize> = te_y.iter().map(|&v| v as usize).collect();
        let mut by_class = vec![Vec::new(); n_classes];
        for (j, &c) in tr_y.iter().enumerate() {
            by_class[c as usize].push(j);
        }
        let f_train = model.sensor_features(&rows(&ctx.train.x, &tr_idx), 256)?;
        let f_test = model.sensor_features(&rows(&ctx.test.x, &te_idx), 256)?;
        let base = class_prompts(
            &ctx.classes,
            PromptOptions {
                templates: PromptTemplates::Base,
                knowledge: false,
            },
        );
        let base: Vec<String> = base.into_iter().map(|mut p| p.remove(0)).collect();
        let t_class = model.text_tower_features(&base, 256)?;
        let prompts: Vec<String> = class_prompts(
            &ctx.classes,
            PromptOptions {
                templates: self.zero_shot.templates,
                knowledge: self.zero_shot.knowledge,
            },
        )
        .into_iter()
        .flatten()
        .collect();
        let t_prompts = model.text_tower_features(&prompts, 256)?;
        let scale = model.logit_scale().unwrap_or(1.0 / 0.07);

        let guard = HeadGuard::new(model);
        let zero = Self::macro_f1(
            &truth,
            &Self::predict_heads(model, &f_test, &t_prompts, n_classes)?,
            n_classes,
        )?;
        let mut series = Vec::new();
        for &method in &cfg.methods {
            let mut per_k = Vec::new();
            for &k in &cfg.shots {
                let mut scores = Vec::new();
                for seed in 0..cfg.seeds {
                    let (idx, y) = sample(&by_class, k, seed);
                    let x = rows(&f_train, &idx);
                    let y = Tensor::from_slice(&y);
                    let pred = match method {
                        FewShotMethod::LinearProbe => {
                            let probe = LinearProbe::fit(
                                &x,
                                &y,
                                n_classes,
                                &ProbeConfig {
                                    seed,
                                    ..self.probe.clone()
                                },
                            )?;
                            probe.predict(&f_test)?
                        }
                        FewShotMethod::ProjectionHeads => {
                            guard.restore();
                            let mut opt = AdamW::new(
                                &model.vs,
                                OptimConfig {
                                    lr: cfg.head_lr,
                                    weight_decay: 0.0,
                                    ..OptimConfig::default()
                                },
                            )?;
                            let y_idx: Vec<usize> = Vec::<i64>::try_from(&y)?
                                .into_iter()
                                .map(|v| v as usize)
                                .collect();
                            let t_feat = rows(&t_class, &y_idx);
                            let y_dev = y.to_device(model.device());
                            for _ in 0..cfg.head_steps {
                                let s = normalize(&model.project_sensor(&x));
                                let t = normalize(&model.project_text(&t_feat));
                                let loss = unicl_loss(&(s.matmul(&t.tr()) * scale), &y_dev);
                                opt.zero_grad();
                                loss.backward();
                                opt.step(cfg.head_lr)?;
                            }
                            Self::predict_heads(model, &f_test, &t_prompts, n_classes)?
                        }
                    };
                    scores.push(Self::macro_f1(&truth, &pred, n_classes)?);
                }
                per_k.push(scores);
            }
            let summary = per_k
                .iter()
                .map(|s| MeanStd::from_values(s))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            series.push(FewShotSeries {
                method,
                macro_f1: per_k,
                summary,
            });
        }
        drop(guard);
        Ok(ProtocolResult::FewShot(FewShotResult {
            shots: cfg.shots.clone(),
            seeds: cfg.seeds,
            available_per_class: by_class.iter().map(Vec::len).collect(),
            zero_shot_macro_f1: zero,
            series,
        }))
    }
}
