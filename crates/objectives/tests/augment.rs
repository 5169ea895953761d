//! Sensor augmentations: shapes, missing values, rotation invariants,
//! reproducibility.

use tch::{Device, Kind, Tensor};
use wearlang_objectives::{augment, Augmentation};

fn windows() -> Tensor {
    let x = Tensor::randn([4, 20, 6], (Kind::Float, Device::Cpu));
    let _ = x.get(0).narrow(0, 3, 4).narrow(1, 1, 2).fill_(f64::NAN);
    x
}

fn same_nan(a: &Tensor, b: &Tensor) -> bool {
    a.isnan().equal(&b.isnan())
}

#[test]
fn value_augmentations_keep_missing_values_and_are_seeded() {
    let x = windows();
    for aug in [
        Augmentation::Jitter { sigma: 0.1 },
        Augmentation::Scaling { sigma: 0.2 },
    ] {
        let a = augment(&x, std::slice::from_ref(&aug), 1).unwrap();
        let b = augment(&x, std::slice::from_ref(&aug), 1).unwrap();
        let c = augment(&x, std::slice::from_ref(&aug), 2).unwrap();
        assert_eq!(a.size(), x.size());
        assert!(same_nan(&a, &x), "{aug:?}");
        assert!(
            a.nan_to_num(0.0, None, None)
                .equal(&b.nan_to_num(0.0, None, None)),
            "{aug:?}"
        );
        assert!(
            !a.nan_to_num(0.0, None, None)
                .equal(&c.nan_to_num(0.0, None, None)),
            "{aug:?}"
        );
    }
}

#[test]
fn rotation_spreads_missing_axes_to_the_whole_triplet() {
    let x = windows(); // window 0: channels 1 and 2 missing at steps 3..7
    let r = augment(
        &x,
        &[Augmentation::Rotation {
            triplets: vec![[0, 1, 2], [3, 4, 5]],
        }],
        1,
    )
    .unwrap();
    let want = x.isnan().copy();
    let _ = want.get(0).narrow(0, 3, 4).narrow(1, 0, 3).fill_(1);
    assert!(r.isnan().equal(&want));
    let again = augment(
        &x,
        &[Augmentation::Rotation {
            triplets: vec![[0, 1, 2], [3, 4, 5]],
        }],
        1,
    )
    .unwrap();
    assert!(r
        .nan_to_num(0.0, None, None)
        .equal(&again.nan_to_num(0.0, None, None)));
}

#[test]
fn rotation_preserves_triplet_norms_and_mixes_axes() {
    let x = Tensor::randn([3, 10, 6], (Kind::Float, Device::Cpu));
    let r = augment(
        &x,
        &[Augmentation::Rotation {
            triplets: vec![[0, 1, 2], [3, 4, 5]],
        }],
        7,
    )
    .unwrap();
    for start in [0, 3] {
        let n0 = x
            .narrow(2, start, 3)
            .norm_scalaropt_dim(2.0, [2i64].as_slice(), false);
        let n1 = r
            .narrow(2, start, 3)
            .norm_scalaropt_dim(2.0, [2i64].as_slice(), false);
        assert!((n0 - n1).abs().max().double_value(&[]) < 1e-4);
    }
    assert!((&r - &x).abs().max().double_value(&[]) > 1e-2);
    assert!(augment(
        &x,
        &[Augmentation::Rotation {
            triplets: vec![[4, 5, 6]]
        }],
        0
    )
    .is_err());
}

#[test]
fn scaling_and_jitter_statistics() {
    let x = Tensor::ones([200, 50, 2], (Kind::Float, Device::Cpu));
    let j = augment(&x, &[Augmentation::Jitter { sigma: 0.1 }], 3).unwrap() - 1.0;
    assert!((j.std(true).double_value(&[]) - 0.1).abs() < 0.005);
    let s = augment(&x, &[Augmentation::Scaling { sigma: 0.2 }], 3).unwrap();
    // One factor per (window, channel): constant over time.
    assert!(
        s.std_dim([1i64].as_slice(), true, false)
            .max()
            .double_value(&[])
            < 1e-6
    );
    assert!((s.select(1, 0).std(true).double_value(&[]) - 0.2).abs() < 0.03);
}

#[test]
fn channel_dropout_and_time_warp() {
    let x = Tensor::randn([50, 10, 4], (Kind::Float, Device::Cpu));
    let d = augment(&x, &[Augmentation::ChannelDropout { p: 0.5 }], 5).unwrap();
    let missing = d.isnan();
    // Whole channels: a channel is missing at every step or none.
    let per_channel =
        missing
            .to_kind(Kind::Int64)
            .sum_dim_intlist([1i64].as_slice(), false, Kind::Int64);
    assert!(bool::try_from(per_channel.eq(0).logical_or(&per_channel.eq(10)).all()).unwrap());
    // Never every channel of a window; some channels dropped overall.
    assert!(bool::try_from(
        missing
            .all_dim(1, false)
            .all_dim(1, false)
            .logical_not()
            .all()
    )
    .unwrap());
    assert!(i64::try_from(missing.sum(Kind::Int64)).unwrap() > 0);
    assert!(augment(&x, &[Augmentation::ChannelDropout { p: 1.5 }], 5).is_err());

    // A ramp stays a monotone ramp with its end points.
    let ramp = Tensor::arange(30, (Kind::Float, Device::Cpu))
        .view([1, 30, 1])
        .expand([2, 30, 1], false)
        .contiguous();
    let w = augment(
        &ramp,
        &[Augmentation::TimeWarp {
            knots: 3,
            sigma: 0.3,
        }],
        9,
    )
    .unwrap();
    let diffs = w.narrow(1, 1, 29) - w.narrow(1, 0, 29);
    assert!(diffs.min().double_value(&[]) >= -1e-5);
    assert!(w.get(0).get(0).double_value(&[0]).abs() < 1e-5);
    assert!((w.get(0).get(29).double_value(&[0]) - 29.0).abs() < 1e-3);
    assert!(!w.equal(&ramp));
    assert!(augment(&Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)), &[], 0).is_err());
}

#[test]
fn mean_removal_centres_the_listed_channels_of_the_chosen_windows() {
    // Offsets as gravity would give: every channel far from zero.
    let x = windows() + 5.0;
    let aug = Augmentation::RemoveMean {
        channels: vec![0, 1, 2],
        p: 1.0,
    };
    let y = augment(&x, &[aug], 3).unwrap();
    assert!(same_nan(&x, &y));
    // The listed channels have mean 0 over each window's observed steps
    // (window 0 has missing steps on channels 1 and 2), the others are
    // untouched.
    let observed_mean = |t: &Tensor| {
        let seen = t.isnan().logical_not().to_kind(Kind::Float);
        t.nan_to_num(0.0, None, None)
            .sum_dim_intlist(1, false, Kind::Float)
            / seen.sum_dim_intlist(1, false, Kind::Float)
    };
    let m = observed_mean(&y);
    assert!(m.narrow(1, 0, 3).abs().max().double_value(&[]) < 1e-4);
    assert!(y.narrow(2, 3, 3).equal(&x.narrow(2, 3, 3)));
    // p = 0 changes nothing; p = 0.5 centres some windows and not others,
    // the same ones for the same seed.
    let none = Augmentation::RemoveMean {
        channels: vec![0],
        p: 0.0,
    };
    assert!(augment(&x, &[none], 3)
        .unwrap()
        .nan_to_num(0.0, None, None)
        .equal(&x.nan_to_num(0.0, None, None)));
    let half = Augmentation::RemoveMean {
        channels: vec![0],
        p: 0.5,
    };
    let big = Tensor::randn([64, 20, 6], (Kind::Float, Device::Cpu)) + 5.0;
    let a = augment(&big, std::slice::from_ref(&half), 9).unwrap();
    assert!(a.equal(&augment(&big, std::slice::from_ref(&half), 9).unwrap()));
    let centred = observed_mean(&a)
        .select(1, 0)
        .abs()
        .lt(1e-4)
        .sum(Kind::Int64)
        .int64_value(&[]);
    assert!(
        (16..=48).contains(&centred),
        "{centred} of 64 windows centred"
    );
    for bad in [
        Augmentation::RemoveMean {
            channels: vec![6],
            p: 0.5,
        },
        Augmentation::RemoveMean {
            channels: vec![0],
            p: 1.5,
        },
    ] {
        assert!(augment(&x, &[bad], 3).is_err());
    }
}

#[test]
fn downsampling_keeps_one_sample_in_k_and_interpolates_between_them() {
    let opts = (Kind::Float, Device::Cpu);
    // A ramp survives linear interpolation between kept samples except at
    // the held ends; a sine at 10 cycles per 30 steps does not.
    let ramp = Tensor::arange(30, opts)
        .reshape([1, 30, 1])
        .repeat([8, 1, 2]);
    let five = Augmentation::Downsample {
        factors: vec![5],
        p: 1.0,
    };
    let y = augment(&ramp, std::slice::from_ref(&five), 4).unwrap();
    assert!(y.isnan().logical_not().all().int64_value(&[]) == 1);
    for b in 0..8 {
        let v: Vec<f32> = Vec::try_from(y.get(b).select(1, 0)).unwrap();
        let orig: Vec<f32> = (0..30).map(|i| i as f32).collect();
        // The kept samples sit k = 5 apart at one phase < 5.
        let kept: Vec<usize> = (0..30).filter(|&i| (v[i] - orig[i]).abs() < 1e-4).collect();
        let phase = kept[0];
        assert!(phase < 5, "window {b}: first exact value at {phase}");
        let last = phase + (29 - phase) / 5 * 5;
        // Exact between the first and last kept sample, held outside.
        for i in 0..30 {
            let want = orig[i.clamp(phase, last)];
            assert!(
                (v[i] - want).abs() < 1e-4,
                "window {b} step {i}: {} vs {want}",
                v[i]
            );
        }
    }
    // A fast sine loses its detail; p = 0 or k = 1 changes nothing.
    let t = Tensor::arange(30, opts) * (2.0 * std::f64::consts::PI / 3.0);
    let sine = t.sin().reshape([1, 30, 1]).repeat([4, 1, 3]);
    let smooth = augment(&sine, std::slice::from_ref(&five), 1).unwrap();
    assert!((&smooth - &sine).abs().max().double_value(&[]) > 0.5);
    for same in [
        Augmentation::Downsample {
            factors: vec![5],
            p: 0.0,
        },
        Augmentation::Downsample {
            factors: vec![1],
            p: 1.0,
        },
    ] {
        assert!(augment(&sine, &[same], 1).unwrap().equal(&sine));
    }
    // Seeded; a missing kept sample makes the steps it feeds missing, and
    // only those.
    let x = windows();
    let a = augment(&x, std::slice::from_ref(&five), 7).unwrap();
    assert!(a.allclose(
        &augment(&x, std::slice::from_ref(&five), 7).unwrap(),
        0.0,
        0.0,
        true
    ));
    let nan_in = x.isnan().sum(Kind::Int64).int64_value(&[]);
    let nan_out = a.isnan().sum(Kind::Int64).int64_value(&[]);
    assert!(nan_out > 0 && nan_in > 0);
    assert!(a.get(1).isnan().sum(Kind::Int64).int64_value(&[]) == 0);
    for bad in [
        Augmentation::Downsample {
            factors: vec![],
            p: 0.5,
        },
        Augmentation::Downsample {
            factors: vec![0, 2],
            p: 0.5,
        },
        Augmentation::Downsample {
            factors: vec![2],
            p: -0.1,
        },
    ] {
        assert!(augment(&x, &[bad], 3).is_err());
    }
}
