//! AdamW against PyTorch's update rule computed by hand, weight-decay groups,
//! clipping, and the optimiser state round trip.

use tch::{nn, Device, Kind, Tensor};
use wearlang_optim::{AdamW, LrScale, OptimConfig};

fn cfg() -> OptimConfig {
    OptimConfig {
        lr: 0.1,
        weight_decay: 0.5,
        beta1: 0.9,
        beta2: 0.99,
        eps: 1e-8,
        clip_grad_norm: None,
        no_decay: vec!["skip".into()],
        lr_scale: Vec::new(),
    }
}

/// Reference AdamW (torch.optim.AdamW, single-tensor path) in f64.
fn reference(p0: f64, grads: &[f64], c: &OptimConfig, decay: bool) -> f64 {
    let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
    for (i, &g) in grads.iter().enumerate() {
        let t = (i + 1) as i32;
        if decay {
            p *= 1.0 - c.lr * c.weight_decay;
        }
        m = c.beta1 * m + (1.0 - c.beta1) * g;
        v = c.beta2 * v + (1.0 - c.beta2) * g * g;
        let bc1 = 1.0 - c.beta1.powi(t);
        let bc2 = 1.0 - c.beta2.powi(t);
        p -= c.lr / bc1 * m / (v.sqrt() / bc2.sqrt() + c.eps);
    }
    p
}

#[test]
fn adamw_matches_the_reference_update_and_groups() {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let w = root.var_copy(
        "w",
        &Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0]).reshape([2, 2]),
    );
    let b = root.var_copy("b", &Tensor::from_slice(&[0.25f32, -0.75]));
    let s = root.var_copy(
        "skip_me",
        &Tensor::from_slice(&[1.5f32, 2.5]).reshape([1, 2]),
    );
    let c = cfg();
    let mut opt = AdamW::new(&vs, c.clone()).unwrap();
    assert_eq!(opt.decayed(), vec!["w"]);
    // loss = Σ coeff ⊙ x²  → g = 2·coeff·x; use a fixed gradient instead:
    // loss = Σ k ⊙ x (gradient = k, constant), easy to mirror.
    let kw = Tensor::from_slice(&[0.3f32, -1.0, 2.0, 0.01]).reshape([2, 2]);
    let kb = Tensor::from_slice(&[-0.5f32, 4.0]);
    let ks = Tensor::from_slice(&[1.0f32, -1.0]).reshape([1, 2]);
    for _ in 0..3 {
        opt.zero_grad();
        let loss =
            (&w * &kw).sum(Kind::Float) + (&b * &kb).sum(Kind::Float) + (&s * &ks).sum(Kind::Float);
        loss.backward();
        opt.step(c.lr).unwrap();
    }
    let got_w = Vec::<f32>::try_from(w.flatten(0, -1)).unwrap();
    let kw_v = [0.3, -1.0, 2.0, 0.01];
    for (i, (p0, k)) in [1.0, -2.0, 0.5, 3.0].iter().zip(kw_v).enumerate() {
        let want = reference(*p0, &[k, k, k], &c, true);
        assert!(
            (got_w[i] as f64 - want).abs() < 1e-5,
            "w[{i}]: {} vs {want}",
            got_w[i]
        );
    }
    let got_b = Vec::<f32>::try_from(&b).unwrap();
    for (i, (p0, k)) in [0.25, -0.75].iter().zip([-0.5, 4.0]).enumerate() {
        let want = reference(*p0, &[k, k, k], &c, false);
        assert!((got_b[i] as f64 - want).abs() < 1e-5, "b[{i}]");
    }
    let got_s = Vec::<f32>::try_from(s.flatten(0, -1)).unwrap();
    let want = reference(1.5, &[1.0, 1.0, 1.0], &c, false);
    assert!(
        (got_s[0] as f64 - want).abs() < 1e-5,
        "no_decay pattern honoured"
    );
    assert_eq!(opt.steps(), 3);
}

/// A store with `encoder.w` and `head.w`, both 2 × 2 from the same values.
fn encoder_and_head() -> (nn::VarStore, Tensor, Tensor, Tensor) {
    let vs = nn::VarStore::new(Device::Cpu);
    let root = vs.root();
    let init = Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0]).reshape([2, 2]);
    let enc = root.sub("encoder").var_copy("w", &init);
    let head = root.sub("head").var_copy("w", &init);
    (vs, init, enc, head)
}

#[test]
fn lr_scale_multiplies_the_rate_of_matching_variables_only() {
    let (vs, _, enc, head) = encoder_and_head();
    let c = OptimConfig {
        lr_scale: vec![
            LrScale {
                contains: "encoder.".into(),
                scale: 0.1,
                frozen_steps: 0,
            },
            LrScale {
                contains: "w".into(),
                scale: 0.5,
                frozen_steps: 0,
            },
        ],
        ..cfg()
    };
    let mut opt = AdamW::new(&vs, c.clone()).unwrap();
    // The first matching entry wins.
    assert_eq!(opt.lr_scales(), vec![("encoder.w", 0.1), ("head.w", 0.5)]);
    let k = Tensor::from_slice(&[0.3f32, -1.0, 2.0, 0.01]).reshape([2, 2]);
    for _ in 0..3 {
        opt.zero_grad();
        ((&enc * &k).sum(Kind::Float) + (&head * &k).sum(Kind::Float)).backward();
        opt.step(c.lr).unwrap();
    }
    for (var, scale) in [(&enc, 0.1), (&head, 0.5)] {
        let scaled = OptimConfig {
            lr: c.lr * scale,
            ..cfg()
        };
        let got = Vec::<f32>::try_from(var.flatten(0, -1)).unwrap();
        for (i, (p0, g)) in [1.0, -2.0, 0.5, 3.0]
            .iter()
            .zip([0.3, -1.0, 2.0, 0.01])
            .enumerate()
        {
            let want = reference(*p0, &[g, g, g], &scaled, true);
            assert!(
                (got[i] as f64 - want).abs() < 1e-5,
                "{scale}: [{i}] {} vs {want}",
                got[i]
            );
        }
    }
    // A negative scale or an empty pattern is an error naming the entry.
    for (contains, scale, field) in [
        ("x", -1.0, "lr_scale[0].scale"),
        ("", 1.0, "lr_scale[0].contains"),
    ] {
        let bad = OptimConfig {
            lr_scale: vec![LrScale {
                contains: contains.into(),
                scale,
                frozen_steps: 0,
            }],
            ..cfg()
        };
        let err = AdamW::new(&vs, bad).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
}

#[test]
fn frozen_steps_hold_a_variable_then_it_learns_from_fresh_moments() {
    let (vs, init, enc, head) = encoder_and_head();
    let c = OptimConfig {
        lr_scale: vec![LrScale {
            contains: "encoder.".into(),
            scale: 0.5,
            frozen_steps: 2,
        }],
        clip_grad_norm: Some(1.0),
        ..cfg()
    };
    // The config reads from TOML with and without the field.
    let parsed: OptimConfig =
        toml::from_str("lr_scale = [{ contains = \"encoder.\", scale = 0.5, frozen_steps = 2 }]")
            .unwrap();
    assert_eq!(parsed.lr_scale, c.lr_scale);
    let plain: OptimConfig =
        toml::from_str("lr_scale = [{ contains = \"encoder.\", scale = 0.5 }]").unwrap();
    assert_eq!(plain.lr_scale[0].frozen_steps, 0);

    let mut opt = AdamW::new(&vs, c.clone()).unwrap();
    let k = Tensor::from_slice(&[0.3f32, -1.0, 2.0, 0.01]).reshape([2, 2]);
    let mut head_norms = Vec::new();
    for step in 1..=4 {
        opt.zero_grad();
        // The encoder's gradient is 100 × the head's: were it counted, the
        // clipped head update would shrink a hundredfold.
        ((&enc * (&k * 100.0)).sum(Kind::Float) + (&head * &k).sum(Kind::Float)).backward();
        head_norms.push(opt.grad_norm().unwrap());
        opt.step(c.lr).unwrap();
        let moved = !enc.allclose(&init, 0.0, 0.0, false);
        assert_eq!(moved, step > 2, "step {step}: encoder moved = {moved}");
    }
    // While frozen, only the head's gradient counts (its norm, 2.23).
    let head_only = k.norm().double_value(&[]);
    assert!((head_norms[0] - head_only).abs() < 1e-4, "{head_norms:?}");
    assert!(head_norms[2] > 50.0 * head_only, "{head_norms:?}");
    // Once unfrozen the encoder's first update is AdamW's at step 3 with
    // moments that saw only steps 3 and 4.
    let got = Vec::<f32>::try_from(enc.flatten(0, -1)).unwrap();
    let (b1, b2) = (c.beta1, c.beta2);
    for (i, (&p0, g)) in [1.0f64, -2.0, 0.5, 3.0]
        .iter()
        .zip([0.3f64, -1.0, 2.0, 0.01])
        .enumerate()
    {
        // Clipping scales every counted gradient alike; Adam's update is
        // invariant to that scale up to ε, so the unclipped gradient does.
        let g = g * 100.0;
        let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
        for t in 3..=4 {
            let lr = c.lr * 0.5;
            p *= 1.0 - lr * c.weight_decay;
            m = b1 * m + (1.0 - b1) * g;
            v = b2 * v + (1.0 - b2) * g * g;
            let bc1 = 1.0 - b1.powi(t);
            let bc2 = (1.0 - b2.powi(t)).sqrt();
            p -= lr / bc1 * m / (v.sqrt() / bc2 + c.eps);
        }
        assert!((got[i] as f64 - p).abs() < 1e-4, "[{i}] {} vs {p}", got[i]);
    }
}

#[test]
fn clipping_scales_gradients_to_the_max_norm() {
    let vs = nn::VarStore::new(Device::Cpu);
    let x = vs.root().var_copy("x", &Tensor::from_slice(&[3.0f32, 4.0]));
    let mut opt = AdamW::new(&vs, cfg()).unwrap();
    opt.zero_grad();
    (&x * &x).sum(Kind::Float).backward(); // grad = 2x = (6, 8), norm 10
    let norm = opt.clip_grad_norm(1.0).unwrap();
    assert!((norm - 10.0).abs() < 1e-5);
    let g = Vec::<f32>::try_from(x.grad()).unwrap();
    assert!(
        (g[0] - 0.6).abs() < 1e-4 && (g[1] - 0.8).abs() < 1e-4,
        "{g:?}"
    );
    // Below the max nothing changes.
    let norm2 = opt.clip_grad_norm(5.0).unwrap();
    assert!((norm2 - 1.0).abs() < 1e-4);
    // NaN gradients are an error, not a silent update.
    opt.zero_grad();
    (&x * f64::NAN).sum(Kind::Float).backward();
    assert!(opt.clip_grad_norm(1.0).is_err());
}

#[test]
fn state_round_trip_and_mismatch_errors() {
    let make = || {
        let vs = nn::VarStore::new(Device::Cpu);
        let x = vs
            .root()
            .var_copy("x", &Tensor::from_slice(&[1.0f32, 2.0]).reshape([1, 2]));
        (vs, x)
    };
    let (vs, x) = make();
    let mut opt = AdamW::new(&vs, cfg()).unwrap();
    for _ in 0..2 {
        opt.zero_grad();
        (&x * &x).sum(Kind::Float).backward();
        opt.step(0.1).unwrap();
    }
    let state = opt.state_tensors();
    let (vs2, _x2) = make();
    let mut opt2 = AdamW::new(&vs2, cfg()).unwrap();
    opt2.load_state_tensors(state.iter().map(|(k, v)| (k.clone(), v.copy())).collect())
        .unwrap();
    assert_eq!(opt2.steps(), 2);
    let a = opt.state_tensors();
    let b = opt2.state_tensors();
    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        assert!(va.equal(vb), "{ka}");
    }
    // A `step` of another shape, or a moment of another dtype, is an error
    // naming the tensor (the first panicked).
    let mut with = |name: &str, t: Tensor| -> String {
        let edited: Vec<(String, Tensor)> = state
            .iter()
            .map(|(k, v)| (k.clone(), if k == name { t.copy() } else { v.copy() }))
            .collect();
        opt2.load_state_tensors(edited).unwrap_err().to_string()
    };
    let err = with("step", Tensor::from(2i64));
    assert!(err.contains("`step` has shape []"), "{err}");
    let err = with("m.x", Tensor::from_slice(&[1i32, 2]).reshape([1, 2]));
    assert!(err.contains("m.x"), "{err}");
    // A state missing a moment is rejected with its name.
    let partial: Vec<(String, Tensor)> = state.into_iter().filter(|(k, _)| k != "v.x").collect();
    let err = opt2.load_state_tensors(partial).unwrap_err().to_string();
    assert!(err.contains("v.x"), "{err}");
    // Bad settings are rejected with the field's name.
    let bad = OptimConfig { lr: -1.0, ..cfg() };
    assert!(AdamW::new(&vs, bad)
        .unwrap_err()
        .to_string()
        .contains("optim.lr"));
}
