//! libtorch-backed properties: tensor patching, AIM selection, loss.
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};
use wearlang_masking::{
    aim_select, artificial_masks, keep_count, mask_rows, mask_tensor, masked_mse, Grid,
    InheritedMask, MaskError, PatchSpec, RandomMask,
};

fn devices() -> Vec<Device> {
    let mut d = vec![Device::Cpu];
    if tch::Cuda::is_available() {
        d.push(Device::Cuda(0));
    }
    d
}

fn i64s(t: &Tensor) -> Vec<i64> {
    Vec::try_from(t.to_device(Device::Cpu).flatten(0, -1)).unwrap()
}

fn f32s(t: &Tensor) -> Vec<f32> {
    Vec::try_from(t.to_device(Device::Cpu).to_kind(Kind::Float).flatten(0, -1)).unwrap()
}

#[test]
fn tensor_patching_matches_plain_rust_and_inverts() {
    let spec = PatchSpec::new(3, 2).unwrap();
    let (t, c) = (6, 4);
    let values: Vec<f32> = (0..2 * t * c).map(|v| v as f32).collect();
    for device in devices() {
        let x = Tensor::from_slice(&values)
            .reshape([2, t as i64, c as i64])
            .to_device(device);
        let p = spec.patchify_tensor(&x).unwrap();
        assert_eq!(p.size(), [2, 4, 6]);
        for b in 0..2 {
            let (grid, want) = spec
                .patchify(&values[b * t * c..(b + 1) * t * c], c)
                .unwrap();
            assert_eq!(f32s(&p.get(b as i64)), want);
            assert_eq!(grid, Grid::new(2, 2));
        }
        let back = spec.unpatchify_tensor(&p, Grid::new(2, 2)).unwrap();
        assert!(back.equal(&x));
    }
    let bad = Tensor::zeros([1, 5, 4], (Kind::Float, Device::Cpu));
    assert!(matches!(
        spec.patchify_tensor(&bad),
        Err(MaskError::Shape(_))
    ));
    assert!(spec
        .patchify_tensor(&Tensor::zeros([6, 4], (Kind::Float, Device::Cpu)))
        .is_err());
}

#[test]
fn inherited_tensor_matches_plain_rust() {
    let spec = PatchSpec::new(2, 1).unwrap();
    let nan = f32::NAN;
    let values = vec![nan, 1.0, nan, 2.0, 3.0, nan, 4.0, 5.0];
    let x = Tensor::from_slice(&values).reshape([1, 4, 2]);
    for thr in [1.0, 0.5, 0.0] {
        let m = InheritedMask::new(thr).unwrap();
        let missing: Vec<bool> = values.iter().map(|v| v.is_nan()).collect();
        let (_, want) = m.from_missing(&spec, &missing, 2).unwrap();
        assert_eq!(
            mask_rows(&m.from_tensor(&spec, &x).unwrap()).unwrap(),
            vec![want.clone()]
        );
        let as_bool = x.isnan();
        assert_eq!(
            mask_rows(&m.from_tensor(&spec, &as_bool).unwrap()).unwrap(),
            vec![want]
        );
    }
}

fn random_rows(rng: &mut ChaCha8Rng, b: usize, n: usize, p: f64) -> Vec<Vec<bool>> {
    (0..b)
        .map(|_| (0..n).map(|_| rng.random::<f64>() < p).collect())
        .collect()
}

#[test]
fn aim_properties_hold_for_any_missingness() {
    let grid = Grid::new(12, 2);
    let n = grid.len();
    let k = keep_count(n, 0.8).unwrap();
    assert_eq!(k, 5);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for device in devices() {
        for (trial, p) in [0.0, 0.1, 0.3, 0.5, 0.8, 0.95, 1.0].into_iter().enumerate() {
            let inh_rows = random_rows(&mut rng, 6, n, p);
            let inherited = mask_tensor(&inh_rows, device).unwrap();
            let artificial =
                artificial_masks(&RandomMask::default(), &inherited, grid, trial as u64).unwrap();
            let art_rows = mask_rows(&artificial).unwrap();
            let aim = aim_select(&inherited, &artificial, k, 42).unwrap();
            assert_eq!(aim.keep_idx.size(), [6, k as i64]);
            assert_eq!(aim.keep_idx.kind(), Kind::Int64);
            assert_eq!(aim.restore_idx.size(), [6, n as i64]);
            assert_eq!(aim.attn_mask.size(), [6, k as i64]);
            assert_eq!(aim.keep_idx.device(), device);
            let keep = i64s(&aim.keep_idx);
            let attn = mask_rows(&aim.attn_mask).unwrap();
            let target = mask_rows(&aim.target_mask).unwrap();
            let restore = i64s(&aim.restore_idx);
            for b in 0..6 {
                let total: Vec<bool> = (0..n).map(|i| inh_rows[b][i] || art_rows[b][i]).collect();
                let n_unmasked = total.iter().filter(|&&m| !m).count();
                let kept = &keep[b * k..(b + 1) * k];
                // Unmasked tokens first: every kept slot is unmasked until they run out.
                for (s, &idx) in kept.iter().enumerate() {
                    assert_eq!(
                        attn[b][s], !total[idx as usize],
                        "attn false exactly on masked"
                    );
                    assert_eq!(total[idx as usize], s >= n_unmasked);
                }
                let mut distinct = kept.to_vec();
                distinct.sort();
                distinct.dedup();
                assert_eq!(distinct.len(), k);
                for i in 0..n {
                    assert_eq!(target[b][i], art_rows[b][i] && !inh_rows[b][i]);
                    assert!(!(target[b][i] && inh_rows[b][i]));
                }
                // restore_idx is a permutation.
                let mut r = restore[b * n..(b + 1) * n].to_vec();
                r.sort();
                assert_eq!(r, (0..n as i64).collect::<Vec<_>>());
            }
        }
    }
}

#[test]
fn restore_idx_inverts_the_shuffle() {
    for device in devices() {
        let (b, n, d) = (3i64, 10i64, 4i64);
        let tokens = Tensor::arange(b * n * d, (Kind::Float, device)).reshape([b, n, d]);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let inherited = mask_tensor(&random_rows(&mut rng, 3, 10, 0.3), device).unwrap();
        let artificial = mask_tensor(&random_rows(&mut rng, 3, 10, 0.5), device).unwrap();
        let aim = aim_select(&inherited, &artificial, 10, 3).unwrap();
        // k = N keeps everything: gathering with keep_idx then restore_idx is the identity.
        let shuffled = aim.gather_kept(&tokens).unwrap();
        let index = aim.restore_idx.unsqueeze(-1).expand([b, n, d], false);
        assert!(shuffled.gather(1, &index, false).equal(&tokens));
        // restore() with k < N: unmasked kept tokens come back in place, the
        // rest is the fill token.
        let aim = aim_select(&inherited, &artificial, 4, 3).unwrap();
        let kept = aim.gather_kept(&tokens).unwrap();
        let fill = Tensor::full([d], -1.0, (Kind::Float, device));
        let full = aim.restore(&kept, &fill).unwrap();
        assert_eq!(full.size(), [b, n, d]);
        let keep = i64s(&aim.keep_idx);
        let total = mask_rows(&aim.total_mask).unwrap();
        let got = f32s(&full);
        let want = f32s(&tokens);
        for bi in 0..b as usize {
            for i in 0..n as usize {
                let is_kept = keep[bi * 4..(bi + 1) * 4].contains(&(i as i64));
                let row = &got[(bi * 10 + i) * 4..(bi * 10 + i + 1) * 4];
                if is_kept && !total[bi][i] {
                    assert_eq!(row, &want[(bi * 10 + i) * 4..(bi * 10 + i + 1) * 4]);
                } else {
                    assert_eq!(row, &[-1.0; 4]);
                }
            }
        }
        assert!(aim.restore(&tokens, &fill).is_err());
        assert!(aim
            .restore(&kept, &Tensor::zeros([3], (Kind::Float, device)))
            .is_err());
    }
}

#[test]
fn seeds_decide_the_selection_and_devices_agree() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let inherited = mask_tensor(&random_rows(&mut rng, 4, 30, 0.2), Device::Cpu).unwrap();
    let artificial = mask_tensor(&random_rows(&mut rng, 4, 30, 0.6), Device::Cpu).unwrap();
    let a = aim_select(&inherited, &artificial, 8, 11).unwrap();
    let b = aim_select(&inherited, &artificial, 8, 11).unwrap();
    let c = aim_select(&inherited, &artificial, 8, 12).unwrap();
    assert!(a.keep_idx.equal(&b.keep_idx));
    assert!(!a.keep_idx.equal(&c.keep_idx));
    let grid = Grid::new(10, 3);
    let s = RandomMask::default();
    let m1 = artificial_masks(&s, &inherited, grid, 5).unwrap();
    let m2 = artificial_masks(&s, &inherited, grid, 5).unwrap();
    let m3 = artificial_masks(&s, &inherited, grid, 6).unwrap();
    assert!(m1.equal(&m2));
    assert!(!m1.equal(&m3));
    if tch::Cuda::is_available() {
        let g = Device::Cuda(0);
        let d = aim_select(&inherited.to_device(g), &artificial.to_device(g), 8, 11).unwrap();
        assert_eq!(i64s(&d.keep_idx), i64s(&a.keep_idx));
    }
}

#[test]
fn aim_rejects_bad_inputs() {
    let m = Tensor::zeros([2, 5], (Kind::Bool, Device::Cpu));
    assert!(aim_select(&m, &m, 0, 0).is_err());
    assert!(aim_select(&m, &m, 6, 0).is_err());
    let f = Tensor::zeros([2, 5], (Kind::Float, Device::Cpu));
    assert!(aim_select(&f, &m, 2, 0).is_err());
    let other = Tensor::zeros([2, 6], (Kind::Bool, Device::Cpu));
    assert!(aim_select(&m, &other, 2, 0).is_err());
    assert!(aim_select(&m.reshape([10]), &m.reshape([10]), 2, 0).is_err());
    assert!(keep_count(10, 1.5).is_err());
    assert_eq!(keep_count(10, 1.0).unwrap(), 1);
    assert!(mask_tensor(&[vec![true], vec![true, false]], Device::Cpu).is_err());
    assert!(mask_tensor(&[], Device::Cpu).is_err());
}

#[test]
fn masked_mse_hand_computed_and_nan_safe() {
    for device in devices() {
        let opts = (Kind::Float, device);
        // B = 1, N = 3, D = 2.
        let pred = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])
            .reshape([1, 3, 2])
            .to_device(device)
            .set_requires_grad(true);
        let nan = f32::NAN;
        // token 0 counted (errors 1, 2); token 1 counted but one NaN element
        // (error 2 on the other); token 2 not counted and all NaN.
        let target = Tensor::from_slice(&[0.0f32, 0.0, nan, 2.0, nan, nan])
            .reshape([1, 3, 2])
            .to_device(device);
        let mask = Tensor::from_slice(&[true, true, false])
            .reshape([1, 3])
            .to_device(device);
        let loss = masked_mse(&pred, &target, &mask, None).unwrap();
        // (1 + 4 + 4) / 3
        assert!((loss.double_value(&[]) - 3.0).abs() < 1e-6);
        loss.backward();
        let g = f32s(&pred.grad());
        assert!(g.iter().all(|v| v.is_finite()));
        // d/dpred of Σ e² / 3 = 2 e / 3 on counted elements, 0 elsewhere.
        let want = [2.0 / 3.0, 4.0 / 3.0, 0.0, 4.0 / 3.0, 0.0, 0.0];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{g:?}");
        }

        // Weights per element of D: w = [1, 3] → (1·1 + 3·4 + 3·4) / (1 + 3 + 3).
        let w = Tensor::from_slice(&[1.0f32, 3.0]).to_device(device);
        let loss = masked_mse(&pred, &target, &mask, Some(&w)).unwrap();
        assert!((loss.double_value(&[]) - 25.0 / 7.0).abs() < 1e-5);
        let w_nd = Tensor::ones([3, 2], opts);
        let loss = masked_mse(&pred, &target, &mask, Some(&w_nd)).unwrap();
        assert!((loss.double_value(&[]) - 3.0).abs() < 1e-6);

        // Nothing counted: 0, not NaN, and a finite zero gradient.
        let none = Tensor::zeros([1, 3], (Kind::Bool, device));
        let p2 = pred.detach().set_requires_grad(true);
        let loss = masked_mse(&p2, &target, &none, None).unwrap();
        assert_eq!(loss.double_value(&[]), 0.0);
        loss.backward();
        assert!(f32s(&p2.grad()).iter().all(|&v| v == 0.0));

        // Bad inputs.
        assert!(masked_mse(&pred, &target.narrow(1, 0, 2), &mask, None).is_err());
        assert!(masked_mse(&pred, &target, &mask.to_kind(Kind::Float), None).is_err());
        let bad_w = Tensor::from_slice(&[1.0f32, nan]).to_device(device);
        assert!(masked_mse(&pred, &target, &mask, Some(&bad_w)).is_err());
        let neg_w = Tensor::from_slice(&[1.0f32, -1.0]).to_device(device);
        assert!(masked_mse(&pred, &target, &mask, Some(&neg_w)).is_err());
        assert!(masked_mse(&pred, &target, &mask, Some(&Tensor::ones([3], opts))).is_err());
    }
}

#[test]
fn target_mask_excludes_inherited_even_when_artificial_overlaps() {
    let inherited = mask_tensor(&[vec![true, true, false, false]], Device::Cpu).unwrap();
    let artificial = mask_tensor(&[vec![true, false, true, false]], Device::Cpu).unwrap();
    let aim = aim_select(&inherited, &artificial, 2, 0).unwrap();
    assert_eq!(
        mask_rows(&aim.target_mask).unwrap(),
        vec![vec![false, false, true, false]]
    );
    assert_eq!(
        mask_rows(&aim.total_mask).unwrap(),
        vec![vec![true, true, true, false]]
    );
    // One unmasked token (3): it is kept first and attended; the other kept
    // token is masked and hidden.
    assert_eq!(i64s(&aim.keep_idx)[0], 3);
    assert_eq!(mask_rows(&aim.attn_mask).unwrap(), vec![vec![true, false]]);
}
