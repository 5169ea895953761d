//! AdamW with weight-decay groups and gradient clipping, with its state
//! (moments, step count) held in plain tensors so that a checkpoint can save
//! it and `--resume` continues exactly.
//!
//! The update is PyTorch's `torch.optim.AdamW` (single-tensor path):
//! `p ← p·(1 − lr·wd)`, `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`,
//! `p ← p − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + ε)`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tch::{nn::VarStore, Kind, Tensor};

use crate::{OptimError, Result};

/// Optimiser settings (serde; the `[optim]` table of a training config).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    /// Peak learning rate.
    pub lr: f64,
    /// Decoupled weight decay for the decay group.
    pub weight_decay: f64,
    /// Adam's β₁.
    pub beta1: f64,
    /// Adam's β₂.
    pub beta2: f64,
    /// Adam's ε.
    pub eps: f64,
    /// Clip the global gradient norm to this value (`None`: no clipping).
    pub clip_grad_norm: Option<f64>,
    /// Variables whose name contains one of these substrings get no weight
    /// decay (in addition to every variable with fewer than 2 dimensions:
    /// biases, norms, scales).
    pub no_decay: Vec<String>,
    /// Learning-rate multipliers by variable name: a variable takes the
    /// `scale` of the first entry whose `contains` is a substring of its
    /// name (1 when none is), for both its update and its weight decay. A
    /// pretrained part fine-tuned beside new heads usually wants a smaller
    /// rate, e.g. `lr_scale = [{ contains = "text.", scale = 0.03 }]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lr_scale: Vec<LrScale>,
}

/// One learning-rate multiplier of [`OptimConfig::lr_scale`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LrScale {
    /// Applies to the variables whose name contains this substring.
    pub contains: String,
    /// Multiplies the learning rate (≥ 0; 0 freezes the variables in
    /// effect, though their moments are still kept).
    pub scale: f64,
    /// Keep the matching variables frozen for the first `frozen_steps`
    /// updates (a frozen-encoder warm-up: new heads settle before a
    /// pretrained part moves). While frozen a variable is not updated, not
    /// decayed, its moments stay at zero and its gradient does not count
    /// towards gradient clipping; afterwards it learns at `scale`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub frozen_steps: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            lr: 1e-3,
            weight_decay: 0.05,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            clip_grad_norm: Some(1.0),
            no_decay: vec![
                "pos_embed".into(),
                "mask_token".into(),
                "embeddings".into(),
                "logit_scale".into(),
                "logit_bias".into(),
                "query".into(),
            ],
            lr_scale: Vec::new(),
        }
    }
}

impl OptimConfig {
    /// Check ranges; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let check = |name: &str, ok: bool, v: f64| {
            if ok {
                Ok(())
            } else {
                Err(OptimError::config(
                    format!("optim.{name}"),
                    format!("out of range: {v}"),
                ))
            }
        };
        check("lr", self.lr.is_finite() && self.lr > 0.0, self.lr)?;
        check(
            "weight_decay",
            self.weight_decay.is_finite() && self.weight_decay >= 0.0,
            self.weight_decay,
        )?;
        check("beta1", (0.0..1.0).contains(&self.beta1), self.beta1)?;
        check("beta2", (0.0..1.0).contains(&self.beta2), self.beta2)?;
        check("eps", self.eps.is_finite() && self.eps > 0.0, self.eps)?;
        if let Some(c) = self.clip_grad_norm {
            check("clip_grad_norm", c.is_finite() && c > 0.0, c)?;
        }
        for (i, s) in self.lr_scale.iter().enumerate() {
            check(
                &format!("lr_scale[{i}].scale"),
                s.scale.is_finite() && s.scale >= 0.0,
                s.scale,
            )?;
            if s.contains.is_empty() {
                return Err(OptimError::config(
                    format!("optim.lr_scale[{i}].contains"),
                    "empty: it would match every variable (set optim.lr instead)",
                ));
            }
        }
        Ok(())
    }
}

/// One optimised variable with its Adam moments.
#[derive(Debug)]
struct Param {
    name: String,
    var: Tensor,
    m: Tensor,
    v: Tensor,
    decay: bool,
    /// Multiplier of the learning rate ([`OptimConfig::lr_scale`]).
    lr_scale: f64,
    /// Updates for which the variable stays frozen ([`LrScale::frozen_steps`]).
    frozen_steps: u64,
}

impl Param {
    /// Whether update number `step` (1-based) leaves this variable alone.
    fn frozen_at(&self, step: i64) -> bool {
        step <= self.frozen_steps as i64
    }
}

/// AdamW over the trainable variables of a [`VarStore`].
#[derive(Debug)]
pub struct AdamW {
    cfg: OptimConfig,
    params: Vec<Param>,
    step: i64,
}

impl AdamW {
    /// Optimise every variable of `vs` that requires a gradient, in name
    /// order. Frozen variables (`requires_grad == false`) are left alone.
    pub fn new(vs: &VarStore, cfg: OptimConfig) -> Result<Self> {
        cfg.validate()?;
        let vars: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
        let mut params = Vec::new();
        for (name, var) in vars {
            if !var.requires_grad() {
                continue;
            }
            let decay = var.dim() >= 2 && !cfg.no_decay.iter().any(|p| name.contains(p.as_str()));
            let rule = cfg
                .lr_scale
                .iter()
                .find(|s| name.contains(s.contains.as_str()));
            let lr_scale = rule.map_or(1.0, |s| s.scale);
            let frozen_steps = rule.map_or(0, |s| s.frozen_steps);
            let m = var.zeros_like().detach();
            let v = var.zeros_like().detach();
            params.push(Param {
                name,
                var,
                m,
                v,
                decay,
                lr_scale,
                frozen_steps,
            });
        }
        if params.is_empty() {
            return Err(OptimError::config(
                "optim",
                "the model has no trainable variables",
            ));
        }
        Ok(AdamW {
            cfg,
            params,
            step: 0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &OptimConfig {
        &self.cfg
    }

    /// Steps taken so far.
    pub fn steps(&self) -> i64 {
        self.step
    }

    /// Names of the variables in the weight-decay group.
    pub fn decayed(&self) -> Vec<&str> {
        self.params
            .iter()
            .filter(|p| p.decay)
            .map(|p| p.name.as_str())
            .collect()
    }

    /// The learning-rate multiplier of each optimised variable, by name
    /// ([`OptimConfig::lr_scale`]).
    pub fn lr_scales(&self) -> Vec<(&str, f64)> {
        self.params
            .iter()
            .map(|p| (p.name.as_str(), p.lr_scale))
            .collect()
    }

    /// Number of optimised scalars.
    pub fn num_parameters(&self) -> i64 {
        self.params.iter().map(|p| p.var.numel() as i64).sum()
    }

    /// Reset every gradient to zero.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.var.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }

    /// The global L2 norm of the gradients; when it exceeds `max`, scale every
    /// gradient by `max / (norm + 1e-6)` (PyTorch's `clip_grad_norm_`).
    /// Returns the norm before clipping. Errors when the norm is not finite.
    pub fn clip_grad_norm(&mut self, max: f64) -> Result<f64> {
        let norm = self.grad_norm()?;
        if !norm.is_finite() {
            return Err(OptimError::Data(format!(
                "gradient norm is {norm} (NaN/Inf in the loss or the data)"
            )));
        }
        if norm > max {
            let scale = max / (norm + 1e-6);
            tch::no_grad(|| {
                for p in &self.params {
                    let mut g = p.var.grad();
                    if g.defined() {
                        let _ = g.g_mul_scalar_(scale);
                    }
                }
            });
        }
        Ok(norm)
    }

    /// The global L2 norm of the current gradients (of the variables the
    /// next update moves: those still frozen by [`LrScale::frozen_steps`]
    /// do not count).
    pub fn grad_norm(&self) -> Result<f64> {
        let step = self.step + 1;
        let norms: Vec<Tensor> = self
            .params
            .iter()
            .filter(|p| !p.frozen_at(step))
            .map(|p| p.var.grad())
            .filter(|g| g.defined())
            .map(|g| g.norm().to_kind(Kind::Float))
            .collect();
        if norms.is_empty() {
            return Ok(0.0);
        }
        Ok(Tensor::f_stack(&norms, 0)?.norm().double_value(&[]))
    }

    /// One AdamW update at learning rate `lr` (times each variable's
    /// [`OptimConfig::lr_scale`]; clipping first when the config asks for
    /// it). Returns the gradient norm before clipping (0 when
    /// clipping is off and the norm was not computed).
    pub fn step(&mut self, lr: f64) -> Result<f64> {
        let norm = match self.cfg.clip_grad_norm {
            Some(max) => self.clip_grad_norm(max)?,
            None => 0.0,
        };
        self.step += 1;
        let (b1, b2, eps, wd) = (
            self.cfg.beta1,
            self.cfg.beta2,
            self.cfg.eps,
            self.cfg.weight_decay,
        );
        let bc1 = 1.0 - b1.powi(self.step as i32);
        let bc2_sqrt = (1.0 - b2.powi(self.step as i32)).sqrt();
        tch::no_grad(|| -> Result<()> {
            for p in &mut self.params {
                let g = p.var.grad();
                if !g.defined() || p.frozen_at(self.step) {
                    continue;
                }
                let lr = lr * p.lr_scale;
                let step_size = lr / bc1;
                if p.decay && wd > 0.0 {
                    let _ = p.var.f_mul_scalar_(1.0 - lr * wd)?;
                }
                let _ = p.m.f_lerp_(&g, 1.0 - b1)?;
                let _ = p.v.f_mul_scalar_(b2)?;
                let _ = p.v.f_addcmul_(&g, &(&g * (1.0 - b2)))?;
                let mut denom = p.v.f_sqrt()?;
                let _ = denom.f_div_scalar_(bc2_sqrt)?.f_add_scalar_(eps)?;
                let _ = p.var.f_addcdiv_(&(&p.m * -step_size), &denom)?;
            }
            Ok(())
        })?;
        Ok(norm)
    }

    /// The optimiser state as named tensors (`m.<var>`, `v.<var>`, `step`),
    /// for a checkpoint.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.params.len() + 1);
        for p in &self.params {
            out.push((format!("m.{}", p.name), p.m.shallow_clone()));
            out.push((format!("v.{}", p.name), p.v.shallow_clone()));
        }
        out.push(("step".into(), Tensor::from_slice(&[self.step])));
        out
    }

    /// Restore the state written by [`AdamW::state_tensors`]. Every moment
    /// must be present with the variable's shape.
    pub fn load_state_tensors(&mut self, tensors: Vec<(String, Tensor)>) -> Result<()> {
        let mut map: BTreeMap<String, Tensor> = tensors.into_iter().collect();
        let step = map
            .remove("step")
            .ok_or_else(|| OptimError::checkpoint("optimizer", "no `step` tensor"))?;
        if step.size() != [1] {
            return Err(OptimError::checkpoint(
                "optimizer",
                format!("`step` has shape {:?}, expected [1]", step.size()),
            ));
        }
        for p in &mut self.params {
            for (prefix, slot) in [("m", &mut p.m), ("v", &mut p.v)] {
                let key = format!("{prefix}.{}", p.name);
                let t = map.remove(&key).ok_or_else(|| {
                    OptimError::checkpoint("optimizer", format!("no tensor `{key}`"))
                })?;
                if t.kind() != slot.kind() {
                    return Err(OptimError::checkpoint(
                        "optimizer",
                        format!("`{key}` is {:?}, the model {:?}", t.kind(), slot.kind()),
                    ));
                }
                if t.size() != slot.size() {
                    return Err(OptimError::checkpoint(
                        "optimizer",
                        format!(
                            "`{key}` has shape {:?}, the model {:?}",
                            t.size(),
                            slot.size()
                        ),
                    ));
                }
                tch::no_grad(|| slot.f_copy_(&t))?;
            }
        }
        if let Some(extra) = map.keys().next() {
            return Err(OptimError::checkpoint(
                "optimizer",
                format!("tensor `{extra}` matches no trainable variable of the model"),
            ));
        }
        self.step = step.int64_value(&[0]);
        Ok(())
    }
}
