//! Few-shot adaptation (NLS): k labelled training windows per class, several
//! seeds, several methods, macro-F1 on the test windows as mean ± std.
//!
//! - `projection_heads`: only the sensor and text projection heads are
//!   updated (the model's [`ProjectionHeads`]), with the contrastive loss
//!   between each window and its class's base-template prompt (UniCL
//!   targets: every window of the same class is a positive), at the model's
//!   learned logit scale, full-batch on the training engine in memory; then
//!   zero-shot classification with the configured prompts. The encoders stay
//!   frozen, so their features are computed once.
//! - `linear_probe`: a [`LinearProbe`] on the frozen sensor features of the
//!   k-shot windows.
//! - `supervised_from_scratch` (off by default): the supervised conv
//!   classifier of the `supervised` protocol trained from scratch on the
//!   same k-shot windows (`supervised_steps` steps, the run's seed), through
//!   the context's trainer: the reference adaptation is measured against.
//! - `fine_tune` (off by default): the sensor encoder **and** the heads
//!   updated on the k-shot windows with the same contrastive loss
//!   (`fine_tune_steps` mini-batch steps of `fine_tune_batch` windows, the
//!   encoder at `fine_tune_encoder_lr_scale` × `head_lr`, dropout on), then
//!   zero-shot with the fine-tuned encoder; "fine-tune like you pretrain"
//!   (FLYP, Goyal et al. 2023). The model's weights are restored after each
//!   run (tested bit for bit).
//!
//! The k windows of a class are drawn by a ChaCha8 shuffle seeded with
//! `(seed, k)`; a class with fewer training windows uses all it has.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use wearlang_captioning::{class_prompts, PromptOptions, PromptTemplates};
use wearlang_engine::{LoopConfig, Step, StepLoss};
use wearlang_metrics::{ClassificationReport, MeanStd};
use wearlang_models::{ProjectionHeads, SupervisedConfig, TrainState};
use wearlang_objectives::normalize;
use wearlang_optim::{AdamW, LrScale, OptimConfig};

use crate::context::{EvalContext, Evaluator};
use crate::probe::FullBatch;
use crate::results::{FewShotMethod, FewShotResult, FewShotSeries, ProtocolResult};
use crate::select::{labelled, rows};
use crate::zero_shot::{class_embeddings, ZeroShotConfig};
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
    /// Steps of each from-scratch conv classifier
    /// (`supervised_from_scratch`; its other settings are `[supervised]`'s).
    pub supervised_steps: u64,
    /// Mini-batch steps of each fine-tuning run (`fine_tune`).
    pub fine_tune_steps: u64,
    /// Windows per fine-tuning batch (all of them when fewer).
    pub fine_tune_batch: usize,
    /// The sensor encoder's learning rate as a multiple of `head_lr`
    /// (`fine_tune`).
    pub fine_tune_encoder_lr_scale: f64,
}

impl Default for FewShotConfig {
    fn default() -> Self {
        FewShotConfig {
            shots: vec![2, 5, 10, 25, 50, 100],
            seeds: 5,
            methods: vec![FewShotMethod::ProjectionHeads, FewShotMethod::LinearProbe],
            head_steps: 50,
            head_lr: 1e-3,
            supervised_steps: 200,
            fine_tune_steps: 100,
            fine_tune_batch: 64,
            fine_tune_encoder_lr_scale: 0.1,
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
    /// The from-scratch classifier's settings (`steps` and `seed` replaced
    /// by `supervised_steps` and each run's seed).
    pub supervised: SupervisedConfig,
}

/// Restores the variables it trains (the projection heads, and the sensor
/// encoder when fine-tuning) and every `requires_grad` flag on drop.
struct HeadGuard {
    snapshot: Vec<(Tensor, Tensor)>,
    flags: Vec<(Tensor, bool)>,
}

impl HeadGuard {
    /// Only the heads train; every other variable is frozen.
    fn new(model: &dyn ProjectionHeads) -> Self {
        Self::training(model, &model.head_variables())
    }

    /// Only the variables named `heads` train; every other one is frozen.
    fn training(model: &dyn ProjectionHeads, heads: &[String]) -> Self {
        let mut snapshot = Vec::new();
        let mut flags = Vec::new();
        for (name, var) in model.var_store().variables() {
            flags.push((var.shallow_clone(), var.requires_grad()));
            if heads.contains(&name) {
                snapshot.push((var.shallow_clone(), var.detach().copy()));
                let _ = var.set_requires_grad(true);
            } else {
                let _ = var.set_requires_grad(false);
            }
        }
        HeadGuard { snapshot, flags }
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

impl Drop for HeadGuard {
    fn drop(&mut self) {
        self.restore();
        for (var, flag) in &self.flags {
            let _ = var.set_requires_grad(*flag);
        }
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

/// One step of the contrastive update: the batch is (sensor features, or
/// windows to encode first when `encode`, text features of each window's
/// class prompt, class indices).
struct ContrastiveStep<'a> {
    heads: &'a dyn ProjectionHeads,
    scale: f64,
    device: tch::Device,
    /// The batch holds windows: run the sensor encoder on them (with
    /// gradients and dropout), as fine-tuning does.
    encode: bool,
}

impl Step<Vec<Tensor>> for ContrastiveStep<'_> {
    type Error = EvalError;
    fn loss(&mut self, _step: u64, batch: Vec<Tensor>) -> Result<StepLoss> {
        let [x, t_feat, y] = <[Tensor; 3]>::try_from(batch).map_err(|_| {
            EvalError::Data("few-shot: a batch is (sensor, text features, labels)".into())
        })?;
        let features = if self.encode {
            self.heads.encode_sensor(&x, true)?
        } else {
            x
        };
        let s = normalize(&self.heads.project_sensor(&features)?);
        let t = normalize(&self.heads.project_text(&t_feat)?);
        let total = unicl_loss(&(s.matmul(&t.tr()) * self.scale), &y.to_device(self.device));
        Ok(StepLoss {
            total,
            terms: Vec::new(),
        })
    }
}

/// The projection heads of a model during the protocol: the frozen text
/// features it adapts and predicts with, and the heads' saved state.
struct Heads<'a> {
    heads: &'a dyn ProjectionHeads,
    /// Text features of each class's base-template prompt `[K, D]`.
    t_class: Tensor,
    /// Text features of the configured prompts, class-major.
    t_prompts: Tensor,
    /// The logit scale of the contrastive loss.
    scale: f64,
    guard: HeadGuard,
}

impl<'a> Heads<'a> {
    fn new(
        heads: &'a dyn ProjectionHeads,
        classes: &[String],
        zs: &ZeroShotConfig,
    ) -> Result<Self> {
        let base = class_prompts(
            classes,
            PromptOptions {
                templates: PromptTemplates::Base,
                knowledge: false,
            },
        );
        let base: Vec<String> = base.into_iter().map(|mut p| p.remove(0)).collect();
        let t_class = heads.text_features(&base, 256)?;
        let prompts: Vec<String> = class_prompts(
            classes,
            PromptOptions {
                templates: zs.templates,
                knowledge: zs.knowledge,
            },
        )
        .into_iter()
        .flatten()
        .collect();
        let t_prompts = heads.text_features(&prompts, 256)?;
        Ok(Heads {
            heads,
            t_class,
            t_prompts,
            scale: heads.logit_scale().unwrap_or(1.0 / 0.07),
            guard: HeadGuard::new(heads),
        })
    }

    /// Zero-shot predictions of `test_features` with the current heads.
    fn predict(&self, test_features: &Tensor, n_classes: usize) -> Result<Vec<usize>> {
        FewShotEval::predict_heads(self.heads, test_features, &self.t_prompts, n_classes)
    }

    /// Restore the heads, then update them on sensor features `x` with class
    /// indices `y`: `head_steps` full-batch steps on the training engine in
    /// memory, AdamW (no weight decay) at the constant rate `head_lr`.
    fn fit(&self, x: &Tensor, y: &Tensor, cfg: &FewShotConfig) -> Result<()> {
        self.guard.restore();
        let vs = self.heads.var_store();
        let mut opt = AdamW::new(
            vs,
            OptimConfig {
                lr: cfg.head_lr,
                weight_decay: 0.0,
                ..OptimConfig::default()
            },
        )?;
        let loop_cfg =
            LoopConfig::full_batch(y.size()[0] as usize, cfg.head_steps as u64, cfg.head_lr, 0);
        self.update((x, y), loop_cfg, &mut opt, false)
    }

    /// Run `loop_cfg` of [`ContrastiveStep`]s on `x` (features, or windows
    /// when `encode`) with class indices `y`, the targets each class's
    /// base-prompt text features.
    fn update(
        &self,
        (x, y): (&Tensor, &Tensor),
        loop_cfg: LoopConfig,
        opt: &mut AdamW,
        encode: bool,
    ) -> Result<()> {
        let y_idx: Vec<usize> = Vec::<i64>::try_from(y)?
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let t_feat = rows(&self.t_class, &y_idx);
        let state = TrainState {
            total_steps: loop_cfg.total_steps,
            ..TrainState::default()
        };
        let vs = self.heads.var_store();
        let mut step = ContrastiveStep {
            heads: self.heads,
            scale: self.scale,
            device: vs.device(),
            encode,
        };
        let source = FullBatch(vec![x.shallow_clone(), t_feat, y.shallow_clone()]);
        wearlang_engine::run(&loop_cfg, source, &mut step, vs, opt, state, &())?;
        Ok(())
    }
}

impl Heads<'_> {
    /// Fine-tune the sensor encoder and the heads on windows `x` `[N, T,
    /// C]` with class indices `y` (see the module doc), `predict` with the
    /// fine-tuned model, and restore every weight.
    fn fine_tune(
        &self,
        (x, y): (&Tensor, &Tensor),
        cfg: &FewShotConfig,
        seed: u64,
        predict: impl FnOnce() -> Result<Vec<usize>>,
    ) -> Result<Vec<usize>> {
        // From the model as trained: the heads as saved, the encoder as is.
        self.guard.restore();
        let mut train = self.heads.head_variables();
        let sensor = self.heads.sensor_variables();
        if sensor.is_empty() {
            return Err(EvalError::param(
                "few_shot.methods",
                "`fine_tune`: the model's sensor encoder has no variables to fine-tune",
            ));
        }
        train.extend(sensor);
        // Restores the encoder and the heads, and every flag, on return.
        let _restore = HeadGuard::training(self.heads, &train);
        let vs = self.heads.var_store();
        let mut opt = AdamW::new(
            vs,
            OptimConfig {
                lr: cfg.head_lr,
                weight_decay: 0.0,
                lr_scale: vec![LrScale {
                    contains: "sensor.".into(),
                    scale: cfg.fine_tune_encoder_lr_scale,
                    frozen_steps: 0,
                }],
                ..OptimConfig::default()
            },
        )?;
        let n = y.size()[0] as usize;
        let loop_cfg = LoopConfig {
            batch_size: cfg.fine_tune_batch.clamp(1, n.max(1)),
            ..LoopConfig::full_batch(n, cfg.fine_tune_steps, cfg.head_lr, seed)
        };
        self.update((x, y), loop_cfg, &mut opt, true)?;
        predict()
    }
}

impl FewShotEval {
    fn macro_f1(truth: &[usize], pred: &[usize], k: usize) -> Result<f64> {
        Ok(ClassificationReport::compute(truth, pred, k)?.macro_f1)
    }

    /// Zero-shot predictions with the current heads.
    fn predict_heads(
        model: &dyn ProjectionHeads,
        test_features: &Tensor,
        prompt_features: &Tensor,
        n_classes: usize,
    ) -> Result<Vec<usize>> {
        tch::no_grad(|| {
            let t = normalize(&model.project_text(prompt_features)?);
            let cls = normalize(&t.reshape([n_classes as i64, -1, t.size()[1]]).mean_dim(
                1,
                false,
                Kind::Float,
            ));
            let s = normalize(&model.project_sensor(test_features)?);
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
        let adapts = [FewShotMethod::ProjectionHeads, FewShotMethod::FineTune];
        if self.cfg.methods.iter().any(|m| adapts.contains(m)) {
            if !ctx.model.has_text_alignment() {
                return Some("the model has no contrastive text alignment".into());
            }
            if ctx.model.heads().is_none() {
                return Some("the model has no projection heads to adapt".into());
            }
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
        let test_x = rows(&ctx.test.x, &te_idx);
        let f_test = model.sensor_features(&test_x, 256)?;
        // With projection heads: the frozen text features of each class's
        // base prompt (the update's targets) and of the configured prompts
        // (zero-shot after it), and the heads' state, restored on drop.
        let adapt = match model.heads() {
            Some(heads) => Some(Heads::new(heads, &ctx.classes, &self.zero_shot)?),
            None => None,
        };
        let zero_pred = match &adapt {
            Some(a) => a.predict(&f_test, n_classes)?,
            None => {
                // Without heads: the model's own zero-shot embeddings.
                let test = rows(&ctx.test.x, &te_idx);
                let (cls, _) = class_embeddings(model, &ctx.classes, &self.zero_shot)?;
                let s = model.embed_windows(&test, self.zero_shot.batch)?;
                Vec::<i64>::try_from(s.matmul(&cls.tr()).argmax(1, false))?
                    .into_iter()
                    .map(|p| p as usize)
                    .collect()
            }
        };
        let zero = Self::macro_f1(&truth, &zero_pred, n_classes)?;
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
                        FewShotMethod::SupervisedFromScratch => {
                            let windows: Vec<usize> = idx.iter().map(|&j| tr_idx[j]).collect();
                            let subset = ctx.train.select(&windows)?;
                            let clf = ctx.trainer("few-shot")?.fit_supervised(
                                &subset,
                                n_classes,
                                &SupervisedConfig {
                                    seed,
                                    steps: self.cfg.supervised_steps,
                                    ..self.supervised.clone()
                                },
                            )?;
                            clf.predict(&test_x, 256)?
                        }
                        FewShotMethod::FineTune => {
                            let a = adapt.as_ref().ok_or_else(|| {
                                EvalError::Data(
                                    "few-shot: the model has no projection heads".into(),
                                )
                            })?;
                            let windows: Vec<usize> = idx.iter().map(|&j| tr_idx[j]).collect();
                            a.fine_tune((&rows(&ctx.train.x, &windows), &y), cfg, seed, || {
                                let f = model.sensor_features(&test_x, 256)?;
                                a.predict(&f, n_classes)
                            })?
                        }
                        FewShotMethod::ProjectionHeads => {
                            let a = adapt.as_ref().ok_or_else(|| {
                                EvalError::Data(
                                    "few-shot: the model has no projection heads".into(),
                                )
                            })?;
                            a.fit(&x, &y, cfg)?;
                            a.predict(&f_test, n_classes)?
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
        drop(adapt);
        Ok(ProtocolResult::FewShot(FewShotResult {
            shots: cfg.shots.clone(),
            seeds: cfg.seeds,
            available_per_class: by_class.iter().map(Vec::len).collect(),
            zero_shot_macro_f1: zero,
            series,
        }))
    }
}
