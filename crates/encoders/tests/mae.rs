//! The masked autoencoder: seeded masks, loss only on artificially masked
//! observed tokens, gradients reach every used variable, it overfits a tiny
//! batch, and reconstruction keeps visible values.

use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};
use wearlang_encoders::{
    MaeDecoderConfig, MaskedAutoencoder, MaskedAutoencoderConfig, PatchTransformerConfig,
};
use wearlang_masking::MaskConfig;

fn model(seed: i64) -> (nn::VarStore, MaskedAutoencoder) {
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = MaskedAutoencoderConfig {
        encoder: PatchTransformerConfig::preset("tiny", 32, 3, 4, 1).unwrap(),
        decoder: MaeDecoderConfig {
            dim: 32,
            depth: 1,
            heads: 4,
            mlp_ratio: 2.0,
        },
        mask: MaskConfig::Random { ratio: 0.5 },
    };
    let m = MaskedAutoencoder::new(vs.root(), &cfg).unwrap();
    (vs, m)
}

fn smooth_batch() -> Tensor {
    let t = Tensor::arange(32, (Kind::Float, Device::Cpu)) / 5.0;
    let rows: Vec<Tensor> = (0..4)
        .map(|i| {
            let phase = i as f64 * 0.7;
            Tensor::stack(
                &[
                    (&t + phase).sin(),
                    (&t * 0.5 + phase).cos(),
                    (&t + phase).sin() * 0.5,
                ],
                1,
            )
        })
        .collect();
    Tensor::stack(&rows, 0) // [4, 32, 3]
}

#[test]
fn same_seed_same_masks_and_loss() {
    let (_vs, m) = model(0);
    let x = smooth_batch();
    let a = m.forward_t(&x, 7, false).unwrap();
    let b = m.forward_t(&x, 7, false).unwrap();
    let c = m.forward_t(&x, 8, false).unwrap();
    assert!(a.target_mask.equal(&b.target_mask));
    assert!(a.aim.keep_idx.equal(&b.aim.keep_idx));
    assert!(!a.target_mask.equal(&c.target_mask));
    let (la, lb) = (m.loss(&a, None).unwrap(), m.loss(&b, None).unwrap());
    assert_eq!(la.double_value(&[]), lb.double_value(&[]));
    assert_eq!(a.pred.size(), [4, 24, 4]);
    assert_eq!(m.keep(), 12);
}

#[test]
fn inherited_missing_tokens_never_count_in_the_loss() {
    let (_vs, m) = model(0);
    let x = smooth_batch();
    let _ = x.get(0).narrow(0, 0, 16).fill_(f64::NAN); // 4 time rows × 3 channels missing
    let out = m.forward_t(&x, 1, true).unwrap();
    let inherited_in_target = out
        .target_mask
        .get(0)
        .narrow(0, 0, 12)
        .any()
        .int64_value(&[]);
    assert_eq!(inherited_in_target, 0);
    assert!(m.loss(&out, None).unwrap().double_value(&[]).is_finite());
    // A fully missing window gives no NaN either.
    let _ = x.get(1).fill_(f64::NAN);
    let out = m.forward_t(&x, 2, true).unwrap();
    assert!(m.loss(&out, None).unwrap().double_value(&[]).is_finite());
    assert_eq!(out.target_mask.get(1).any().int64_value(&[]), 0);
}

#[test]
fn gradients_reach_every_used_variable() {
    let (vs, m) = model(0);
    let out = m.forward_t(&smooth_batch(), 3, true).unwrap();
    m.loss(&out, Some(&[1.0, 2.0, 0.5])).unwrap().backward();
    for (name, var) in vs.variables() {
        if name.starts_with("encoder.pool.") {
            continue; // the pooling head is not used by the MAE objective
        }
        let g = var.grad();
        assert!(g.defined(), "{name} has no gradient");
        assert!(bool::try_from(g.isfinite().all()).unwrap(), "{name}");
        assert!(
            g.abs().sum(Kind::Float).double_value(&[]) > 0.0,
            "{name} has a zero gradient"
        );
    }
}

#[test]
fn overfits_a_tiny_batch_and_reconstructs() {
    let (vs, m) = model(0);
    let x = smooth_batch();
    let mut opt = nn::AdamW::default().build(&vs, 3e-3).unwrap();
    let first = m
        .loss(&m.forward_t(&x, 5, true).unwrap(), None)
        .unwrap()
        .double_value(&[]);
    let mut last = first;
    for step in 0..300u64 {
        let out = m.forward_t(&x, step % 4, true).unwrap();
        let loss = m.loss(&out, None).unwrap();
        last = loss.double_value(&[]);
        opt.backward_step(&loss);
    }
    assert!(last < first / 10.0, "loss {first} -> {last}");

    // Reconstruction: hide half of the tokens; visible values pass through,
    // hidden ones are predicted well after overfitting.
    let hide = Tensor::zeros([4, 24], (Kind::Bool, Device::Cpu));
    let _ = hide.narrow(1, 0, 12).fill_(1);
    let r = tch::no_grad(|| m.reconstruct(&x, &hide)).unwrap();
    assert_eq!(r.size(), [4, 32, 3]);
    let visible = r.narrow(1, 16, 16) - x.narrow(1, 16, 16);
    assert!(visible.abs().max().double_value(&[]) == 0.0);
    let err = (r.narrow(1, 0, 16) - x.narrow(1, 0, 16))
        .square()
        .mean(Kind::Float)
        .double_value(&[]);
    let var = x.narrow(1, 0, 16).var(false).double_value(&[]);
    assert!(err < 0.5 * var, "hidden MSE {err} vs variance {var}");
    assert!(m
        .reconstruct(&x, &Tensor::zeros([4, 5], (Kind::Bool, Device::Cpu)))
        .is_err());
}
