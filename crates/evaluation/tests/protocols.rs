//! The pretraining protocols on small tensors: imputation counts exactly the
//! hidden observed values and the baselines behave as their definitions say;
//! the probe separates separable data; robustness runs both gap handlings.

use tch::{nn, Device, Kind, Tensor};
use wearlang_encoders::{
    MaeDecoderConfig, MaskedAutoencoder, MaskedAutoencoderConfig, PatchTransformerConfig,
};
use wearlang_evaluation::{
    evaluate_imputation, evaluate_robustness, impute_linear, remove_patches, GapHandling, HideKind,
    ImputationConfig, LinearProbe, ProbeConfig, ProbeFit, RobustnessConfig,
};
use wearlang_masking::MaskConfig;

fn mae() -> (nn::VarStore, MaskedAutoencoder) {
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = MaskedAutoencoderConfig {
        encoder: PatchTransformerConfig::preset("tiny", 40, 2, 4, 1).unwrap(),
        decoder: MaeDecoderConfig {
            dim: 32,
            depth: 1,
            heads: 4,
            mlp_ratio: 2.0,
            relative_bias: false,
            interpolation_prior: false,
        },
        mask: MaskConfig::default(),
        keep_all_tokens: false,
    };
    let m = MaskedAutoencoder::new(vs.root(), &cfg).unwrap();
    (vs, m)
}

/// Linear ramps: linear interpolation is exact inside the window.
fn ramps(n: i64) -> Tensor {
    let t = Tensor::arange(40, (Kind::Float, Device::Cpu)) / 40.0;
    let rows: Vec<Tensor> = (0..n)
        .map(|i| Tensor::stack(&[&t * (i as f64 + 1.0), -&t + 0.5], 1))
        .collect();
    Tensor::stack(&rows, 0)
}

#[test]
fn imputation_counts_hidden_observed_values_and_baselines_are_right() {
    let (_vs, m) = mae();
    let x = ramps(6);
    let _ = x.get(0).narrow(0, 0, 8).fill_(f64::NAN); // real gap: never counted
    let cfg = ImputationConfig {
        ratios: vec![0.25, 0.5],
        kinds: vec![HideKind::Random, HideKind::TemporalBlock],
        block_len: 2,
        batch_size: 4,
        seed: 1,
    };
    let rows = evaluate_imputation(&m, &x, &cfg).unwrap();
    assert_eq!(rows.len(), 4);
    // 20 tokens per window (10 rows × 2 channels) of 4 values; window 0 has 4 missing tokens.
    let observed_tokens = 6 * 20 - 4;
    for r in &rows {
        let hidden_tokens = r.hidden_values / 4;
        assert_eq!(r.hidden_values % 4, 0);
        let want = (r.ratio * 16.0).round() as usize + 5 * (r.ratio * 20.0).round() as usize;
        assert_eq!(hidden_tokens, want, "{r:?}");
        assert!(hidden_tokens < observed_tokens);
        assert!(r.mse_model.is_finite() && r.mse_mean.is_finite());
        // Interior gaps of a ramp are filled exactly; only gaps at the
        // window's ends (held constant) cost anything, so interpolation
        // beats the channel mean.
        assert!(r.mse_linear < r.mse_mean, "{r:?}");
    }
    assert!(evaluate_imputation(
        &m,
        &Tensor::zeros([0, 40, 2], (Kind::Float, Device::Cpu)),
        &cfg
    )
    .is_err());
}

#[test]
fn probe_separates_separable_data_and_rejects_bad_input() {
    let a = Tensor::randn([20, 3], (Kind::Float, Device::Cpu)) * 0.1 + 2.0;
    let b = Tensor::randn([20, 3], (Kind::Float, Device::Cpu)) * 0.1 - 2.0;
    let x = Tensor::cat(&[a, b], 0);
    let y = Tensor::cat(
        &[
            Tensor::zeros([20], (Kind::Int64, Device::Cpu)),
            Tensor::ones([20], (Kind::Int64, Device::Cpu)),
        ],
        0,
    );
    let probe = LinearProbe::fit(&x, &y, 2, &ProbeConfig::default()).unwrap();
    let pred = probe.predict(&x).unwrap();
    assert_eq!(pred.iter().filter(|&&p| p == 0).count(), 20);
    assert_eq!(&pred[..20], &[0; 20]);
    assert!(LinearProbe::fit(&x, &y.narrow(0, 0, 5), 2, &ProbeConfig::default()).is_err());
    assert!(LinearProbe::fit(&x, &(&y * 5), 2, &ProbeConfig::default()).is_err());
    let nan = x.copy();
    let _ = nan.get(0).get(0).fill_(f64::NAN);
    assert!(LinearProbe::fit(&nan, &y, 2, &ProbeConfig::default()).is_err());
    assert!(probe
        .predict(&Tensor::zeros([2, 4], (Kind::Float, Device::Cpu)))
        .is_err());
}

#[test]
fn robustness_removes_patches_and_reports_both_handlings() {
    let (_vs, m) = mae();
    let enc = m.encoder();
    let x = ramps(8);
    let removed = remove_patches(enc, &x, 0.5, 3).unwrap();
    let missing = i64::try_from(removed.isnan().sum(Kind::Int64)).unwrap();
    assert_eq!(missing, 8 * 10 * 4); // half of 20 tokens × 4 values, per window
    let filled = impute_linear(&removed).unwrap();
    assert!(bool::try_from(filled.isfinite().all()).unwrap());
    let y = Tensor::from_slice(&[0i64, 1, 0, 1, 0, 1, 0, 1]);
    let cfg = RobustnessConfig {
        fractions: vec![0.0, 0.5],
        matched_probe: false,
        ..RobustnessConfig::default()
    };
    let rows = evaluate_robustness(enc, &x, &y, &x, &y, 2, &cfg).unwrap();
    assert_eq!(rows.len(), 3); // 0 %: AIM only; 50 %: AIM and imputed
    assert_eq!(rows[0].handling, GapHandling::Aim);
    assert!(rows.iter().all(|r| r.probe == ProbeFit::Clean));
    // Matched probes add a row per handling where patches are removed,
    // and leave the clean-probe rows as they were.
    let matched = evaluate_robustness(
        enc,
        &x,
        &y,
        &x,
        &y,
        2,
        &RobustnessConfig {
            matched_probe: true,
            ..cfg.clone()
        },
    )
    .unwrap();
    let clean: Vec<_> = matched
        .iter()
        .filter(|r| r.probe == ProbeFit::Clean)
        .cloned()
        .collect();
    assert_eq!(clean, rows);
    let fitted: Vec<_> = matched
        .iter()
        .filter(|r| r.probe == ProbeFit::Matched)
        .map(|r| (r.fraction, r.handling, r.draws))
        .collect();
    assert_eq!(
        fitted,
        vec![
            (0.5, GapHandling::Aim, cfg.repeats),
            (0.5, GapHandling::Imputed, cfg.repeats)
        ]
    );
    assert!(rows.iter().all(|r| (0.0..=1.0).contains(&r.macro_f1)));
    // Nothing removed is one draw; a removed share is averaged over
    // `repeats` draws of removed patches.
    assert_eq!(rows[0].draws, 1);
    assert_eq!(rows[0].macro_f1_sd, 0.0);
    assert!(rows[1..].iter().all(|r| r.draws == cfg.repeats));
    // A single draw is deterministic (the same rows twice) and reports no
    // spread.
    let single = RobustnessConfig {
        repeats: 1,
        ..cfg.clone()
    };
    let a = evaluate_robustness(enc, &x, &y, &x, &y, 2, &single).unwrap();
    let b = evaluate_robustness(enc, &x, &y, &x, &y, 2, &single).unwrap();
    assert_eq!(a, b);
    assert!(a[1..].iter().all(|r| r.draws == 1 && r.macro_f1_sd == 0.0));
    let none = RobustnessConfig { repeats: 0, ..cfg };
    assert!(evaluate_robustness(enc, &x, &y, &x, &y, 2, &none).is_err());
}
