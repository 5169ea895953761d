//! Sensor encoders: shapes, masking invariance (missing data never reaches
//! valid outputs), gradients, learning, bad input.

use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};
use wearlang_encoders::{
    ConvEncoder, ConvEncoderConfig, PatchTransformer, PatchTransformerConfig, Pooling, Positions,
    SensorEncoder,
};
use wearlang_masking::{aim_select, artificial_masks, keep_count, RandomMask};

fn vit(pooling: Pooling, positions: Positions) -> (nn::VarStore, PatchTransformer) {
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut cfg = PatchTransformerConfig::preset("tiny", 20, 4, 5, 2).unwrap();
    cfg.pooling = pooling;
    cfg.positions = positions;
    let m = PatchTransformer::new(vs.root(), &cfg).unwrap();
    (vs, m)
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn shapes_and_presets() {
    for pooling in [Pooling::Map, Pooling::Mean, Pooling::Max] {
        for positions in [Positions::SinCos, Positions::Learned] {
            let (_vs, m) = vit(pooling, positions);
            let x = Tensor::randn([3, 20, 4], (Kind::Float, Device::Cpu));
            let out = m.encode(&x, None, false).unwrap();
            assert_eq!(out.tokens.size(), [3, 8, 64]); // (20/5) × (4/2) tokens
            assert_eq!(out.token_mask.size(), [3, 8]);
            assert_eq!(out.pooled.size(), [3, 64]);
            assert!(bool::try_from(out.pooled.isfinite().all()).unwrap());
        }
    }
    for (name, dim) in [("tiny", 64), ("small", 128), ("base", 256)] {
        let c = PatchTransformerConfig::preset(name, 100, 6, 10, 1).unwrap();
        assert_eq!(c.dim, dim);
    }
    assert!(PatchTransformerConfig::preset("huge", 100, 6, 10, 1).is_err());
    assert!(PatchTransformerConfig::preset("tiny", 100, 6, 7, 1).is_err()); // 100 % 7 != 0

    let vs = nn::VarStore::new(Device::Cpu);
    let conv = ConvEncoder::new(vs.root(), &ConvEncoderConfig::nls(50, 3)).unwrap();
    let out = conv
        .encode(
            &Tensor::randn([2, 50, 3], (Kind::Float, Device::Cpu)),
            None,
            false,
        )
        .unwrap();
    assert_eq!(out.tokens.size(), [2, 50, 96]);
    assert_eq!(out.pooled.size(), [2, 96]);
    assert_eq!(conv.dim(), 96);
}

#[test]
fn bad_shapes_are_errors() {
    let (_vs, m) = vit(Pooling::Map, Positions::SinCos);
    let e = m
        .encode(
            &Tensor::zeros([2, 21, 4], (Kind::Float, Device::Cpu)),
            None,
            false,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("[B, 20, 4]"), "{e}");
    let bad_mask = Tensor::zeros([2, 20, 3], (Kind::Bool, Device::Cpu));
    assert!(m
        .encode(
            &Tensor::zeros([2, 20, 4], (Kind::Float, Device::Cpu)),
            Some(&bad_mask),
            false
        )
        .is_err());
    assert!(m
        .encode(
            &Tensor::zeros([2, 20, 4], (Kind::Int64, Device::Cpu)),
            None,
            false
        )
        .is_err());
}

#[test]
fn missing_patches_cannot_change_the_output() {
    for pooling in [Pooling::Map, Pooling::Mean, Pooling::Max] {
        let (_vs, m) = vit(pooling, Positions::SinCos);
        let x = Tensor::randn([2, 20, 4], (Kind::Float, Device::Cpu));
        // Patch (time row 1, channel column 0) = steps 5..10, channels 0..2, sample 0;
        // and patch (row 3, col 1) of sample 1.
        let missing = Tensor::zeros([2, 20, 4], (Kind::Bool, Device::Cpu));
        let _ = missing.get(0).narrow(0, 5, 5).narrow(1, 0, 2).fill_(1);
        let _ = missing.get(1).narrow(0, 15, 5).narrow(1, 2, 2).fill_(1);
        let a = m.encode(&x, Some(&missing), false).unwrap();
        // Any numbers at the missing positions: same outputs.
        let noise = Tensor::randn([2, 20, 4], (Kind::Float, Device::Cpu)) * 100.0;
        let x2 = x.where_self(&missing.logical_not(), &noise);
        let b = m.encode(&x2, Some(&missing), false).unwrap();
        assert!(max_diff(&a.pooled, &b.pooled) < 1e-5, "{pooling:?}");
        let valid = a.token_mask.unsqueeze(-1);
        assert!(max_diff(&(&a.tokens * &valid), &(&b.tokens * &valid)) < 1e-5);
        assert_eq!(
            i64::try_from(a.token_mask.logical_not().sum(Kind::Int64)).unwrap(),
            2
        );
        // NaN marks missing the same way.
        let nan = Tensor::from(f32::NAN);
        let x3 = x.where_self(&missing.logical_not(), &nan);
        let c = m.encode(&x3, None, false).unwrap();
        assert!(max_diff(&a.pooled, &c.pooled) < 1e-5);
        // Values of a partly missing patch do matter (it is a valid token).
        let x4 = x.shallow_clone().copy();
        let _ = x4.get(0).get(5).get(0).fill_(50.0);
        let partly = Tensor::zeros([2, 20, 4], (Kind::Bool, Device::Cpu));
        let _ = partly.get(0).get(6).get(0).fill_(1);
        let d = m.encode(&x, Some(&partly), false).unwrap();
        let e = m.encode(&x4, Some(&partly), false).unwrap();
        assert!(max_diff(&d.pooled.get(0), &e.pooled.get(0)) > 1e-4);
    }
}

#[test]
fn hidden_kept_tokens_cannot_change_visible_outputs() {
    let (_vs, m) = vit(Pooling::Map, Positions::SinCos);
    let spec = m.patch_spec();
    let grid = m.grid();
    let x = Tensor::randn([4, 20, 4], (Kind::Float, Device::Cpu));
    let patches = spec.patchify_tensor(&x).unwrap();
    let inherited = Tensor::zeros([4, 8], (Kind::Bool, Device::Cpu));
    let _ = inherited.get(0).get(2).fill_(1);
    let artificial = artificial_masks(&RandomMask::new(0.5).unwrap(), &inherited, grid, 3).unwrap();
    // Keep more tokens than are unmasked, so some kept tokens are hidden.
    let keep = keep_count(grid.len(), 0.25).unwrap();
    let aim = aim_select(&inherited, &artificial, keep, 3).unwrap();
    let hidden_kept = aim.attn_mask.logical_not();
    assert!(i64::try_from(hidden_kept.sum(Kind::Int64)).unwrap() > 0);
    let a = m.encode_kept(&patches, &aim, false).unwrap();
    // Perturb every masked token's values (in token order).
    let masked = aim.total_mask.unsqueeze(-1);
    let noisy = patches.where_self(
        &masked.logical_not(),
        &(Tensor::randn_like(&patches) * 50.0),
    );
    let b = m.encode_kept(&noisy, &aim, false).unwrap();
    let vis = aim.attn_mask.unsqueeze(-1);
    assert!(max_diff(&(&a * &vis), &(&b * &vis)) < 1e-5);
    // Sanity: perturbing a visible token does change outputs.
    let c = m
        .encode_kept(&(Tensor::randn_like(&patches) * 50.0), &aim, false)
        .unwrap();
    assert!(max_diff(&(&a * &vis), &(&c * &vis)) > 1e-3);
}

#[test]
fn conv_encoder_ignores_values_at_missing_steps_and_learns() {
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut cfg = ConvEncoderConfig::nls(32, 3);
    cfg.dropout = 0.0;
    let enc = ConvEncoder::new(vs.root() / "enc", &cfg).unwrap();
    let x = Tensor::randn([2, 32, 3], (Kind::Float, Device::Cpu));
    let missing = Tensor::zeros([2, 32, 3], (Kind::Bool, Device::Cpu));
    let _ = missing.narrow(1, 10, 4).fill_(1);
    let a = enc.encode(&x, Some(&missing), false).unwrap();
    let x2 = x.where_self(&missing.logical_not(), &(Tensor::randn_like(&x) * 100.0));
    let b = enc.encode(&x2, Some(&missing), false).unwrap();
    assert!(max_diff(&a.pooled, &b.pooled) < 1e-6);
    assert_eq!(
        i64::try_from(a.token_mask.logical_not().sum(Kind::Int64)).unwrap(),
        8
    );

    // Two classes of 4 windows (sine vs. square-ish), learnt perfectly.
    let t = Tensor::arange(32, (Kind::Float, Device::Cpu)) / 4.0;
    let sine = t.sin().view([1, 32, 1]).expand([4, 32, 3], false);
    let square = t.sin().sign().view([1, 32, 1]).expand([4, 32, 3], false) * 0.5;
    let xs = Tensor::cat(&[sine, square], 0)
        + Tensor::randn([8, 32, 3], (Kind::Float, Device::Cpu)) * 0.05;
    let ys = Tensor::from_slice(&[0i64, 0, 0, 0, 1, 1, 1, 1]);
    let head = nn::linear(vs.root() / "head", 96, 2, Default::default());
    let mut opt = nn::AdamW::default().build(&vs, 1e-2).unwrap();
    for _ in 0..60 {
        let out = enc.encode(&xs, None, true).unwrap();
        let loss = head.forward(&out.pooled).cross_entropy_for_logits(&ys);
        opt.backward_step(&loss);
    }
    let pred = head
        .forward(&enc.encode(&xs, None, false).unwrap().pooled)
        .argmax(1, false);
    assert!(pred.equal(&ys), "{pred:?}");
}

/// A tiny patch Transformer with relative position biases set to random
/// (non-zero) values.
fn vit_with_relative_bias() -> (nn::VarStore, PatchTransformer) {
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut cfg = PatchTransformerConfig::preset("tiny", 20, 4, 5, 2).unwrap();
    cfg.relative_bias = true;
    let m = PatchTransformer::new(vs.root(), &cfg).unwrap();
    tch::no_grad(|| {
        for (name, mut var) in vs.variables() {
            if name.contains("rel_bias") {
                var.copy_(&Tensor::randn_like(&var));
            }
        }
    });
    (vs, m)
}

#[test]
fn relative_bias_is_the_same_on_the_kept_path_and_the_full_path() {
    let (vs, m) = vit_with_relative_bias();
    assert_eq!(
        vs.variables()
            .keys()
            .filter(|k| k.contains("rel_bias"))
            .count(),
        2
    );
    let spec = m.patch_spec();
    let grid = m.grid();
    let x = Tensor::randn([3, 20, 4], (Kind::Float, Device::Cpu));
    let patches = spec.patchify_tensor(&x).unwrap();
    // Keep every token, in a shuffled order per sample, nothing masked.
    let none = Tensor::zeros([3, grid.len() as i64], (Kind::Bool, Device::Cpu));
    let aim = aim_select(&none, &none, grid.len(), 7).unwrap();
    let kept = m.encode_kept(&patches, &aim, false).unwrap();
    let full = m.encode(&x, None, false).unwrap().tokens;
    let index = aim.keep_idx.unsqueeze(-1).expand_as(&full);
    let full_in_kept_order = full.gather(1, &index, false);
    assert!(max_diff(&kept, &full_in_kept_order) < 1e-4);
    // The biases matter: zeroing them changes the outputs.
    tch::no_grad(|| {
        for (name, mut var) in vs.variables() {
            if name.contains("rel_bias") {
                let _ = var.zero_();
            }
        }
    });
    let unbiased = m.encode(&x, None, false).unwrap().tokens;
    assert!(max_diff(&full, &unbiased) > 1e-3);
}

#[test]
fn relative_bias_keeps_missing_patches_out() {
    let (_vs, m) = vit_with_relative_bias();
    let x = Tensor::randn([2, 20, 4], (Kind::Float, Device::Cpu));
    let missing = Tensor::zeros([2, 20, 4], (Kind::Bool, Device::Cpu));
    let _ = missing.get(0).narrow(0, 5, 5).narrow(1, 0, 2).fill_(1);
    let a = m.encode(&x, Some(&missing), false).unwrap();
    let noise = Tensor::randn([2, 20, 4], (Kind::Float, Device::Cpu)) * 100.0;
    let b = m
        .encode(
            &x.where_self(&missing.logical_not(), &noise),
            Some(&missing),
            false,
        )
        .unwrap();
    assert!(max_diff(&a.pooled, &b.pooled) < 1e-5);
}
