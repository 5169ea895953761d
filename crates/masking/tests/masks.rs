//! Plain-Rust properties of patching, inherited and artificial masks.
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wearlang_core::Window;
use wearlang_masking::{
    target_count, ChannelMask, Grid, InheritedMask, MaskConfig, MaskError, MaskStrategy,
    MixtureMask, PatchSpec, RandomMask, TemporalBlockMask,
};

fn count(m: &[bool]) -> usize {
    m.iter().filter(|&&b| b).count()
}

#[test]
fn patchify_order_is_time_major_and_round_trips() {
    // 4 steps × 4 channels, value = 10 * t + c.
    let values: Vec<f32> = (0..4)
        .flat_map(|t| (0..4).map(move |c| (10 * t + c) as f32))
        .collect();
    let spec = PatchSpec::new(2, 2).unwrap();
    let (grid, p) = spec.patchify(&values, 4).unwrap();
    assert_eq!(grid, Grid::new(2, 2));
    // token 0 = rows 0-1, channels 0-1; token 1 = rows 0-1, channels 2-3.
    assert_eq!(&p[0..4], &[0.0, 1.0, 10.0, 11.0]);
    assert_eq!(&p[4..8], &[2.0, 3.0, 12.0, 13.0]);
    assert_eq!(&p[8..12], &[20.0, 21.0, 30.0, 31.0]);
    assert_eq!(spec.unpatchify(&p, grid).unwrap(), values);
    assert_eq!(grid.coords(3), (1, 1));
    assert_eq!(grid.token(1, 0), 2);
}

#[test]
fn patching_rejects_bad_shapes() {
    assert!(matches!(PatchSpec::new(0, 1), Err(MaskError::Param { .. })));
    let spec = PatchSpec::new(3, 1).unwrap();
    assert!(matches!(spec.grid(10, 2), Err(MaskError::Shape(_))));
    assert!(spec.patchify(&[1.0f32; 7], 2).is_err());
    assert!(spec.patchify(&[1.0f32; 6], 0).is_err());
    assert!(spec.unpatchify(&[1.0f32; 5], Grid::new(1, 2)).is_err());
    assert!(spec.token_weights(Grid::new(1, 2), &[1.0]).is_err());
    assert!(spec
        .token_weights(Grid::new(1, 2), &[1.0, f32::NAN])
        .is_err());
}

#[test]
fn token_weights_follow_channels() {
    let spec = PatchSpec::new(2, 1).unwrap();
    let w = spec.token_weights(Grid::new(1, 2), &[1.0, 3.0]).unwrap();
    assert_eq!(w, vec![1.0, 1.0, 3.0, 3.0]);
}

#[test]
fn inherited_threshold_semantics() {
    let fractions = [0.0, 0.25, 0.5, 1.0];
    let only_full = InheritedMask::default().from_fractions(&fractions).unwrap();
    assert_eq!(only_full, vec![false, false, false, true]);
    let half = InheritedMask::new(0.5)
        .unwrap()
        .from_fractions(&fractions)
        .unwrap();
    assert_eq!(half, vec![false, false, true, true]);
    let any = InheritedMask::new(0.0)
        .unwrap()
        .from_fractions(&fractions)
        .unwrap();
    assert_eq!(any, vec![false, true, true, true]);
    assert!(InheritedMask::new(1.5).is_err());
    assert!(InheritedMask::new(f32::NAN).is_err());
    assert!(InheritedMask::default()
        .from_fractions(&[f32::NAN])
        .is_err());
}

#[test]
fn inherited_from_window() {
    let nan = f32::NAN;
    // 4 steps × 2 channels; patches of 2 × 1: channel 0 rows 0-1 fully
    // missing, channel 1 rows 2-3 half missing.
    let values = vec![nan, 1.0, nan, 2.0, 3.0, nan, 4.0, 5.0];
    let w = Window::from_values("s", "r", 0, 1.0, 2, values).unwrap();
    let spec = PatchSpec::new(2, 1).unwrap();
    let pw = spec.patch_window(&w).unwrap();
    assert_eq!(pw.missing_fraction, vec![1.0, 0.0, 0.0, 0.5]);
    let (_, m) = InheritedMask::default().from_window(&spec, &w).unwrap();
    assert_eq!(m, vec![true, false, false, false]);
    let (_, m) = InheritedMask::new(0.5)
        .unwrap()
        .from_window(&spec, &w)
        .unwrap();
    assert_eq!(m, vec![true, false, false, true]);
}

fn strategies() -> Vec<(&'static str, Box<dyn MaskStrategy>)> {
    vec![
        ("random", Box::new(RandomMask::new(0.8).unwrap())),
        ("random-0.3", Box::new(RandomMask::new(0.3).unwrap())),
        (
            "temporal",
            Box::new(TemporalBlockMask::new(0.5, 3).unwrap()),
        ),
        ("channel", Box::new(ChannelMask::new(0.6).unwrap())),
        (
            "channel-groups",
            Box::new(ChannelMask::with_groups(0.4, vec![vec![0, 1, 2]]).unwrap()),
        ),
        (
            "mixture",
            MaskConfig::Mixture {
                components: vec![
                    (1.0, MaskConfig::Random { ratio: 0.7 }),
                    (
                        1.0,
                        MaskConfig::TemporalBlock {
                            ratio: 0.7,
                            block_len: 2,
                        },
                    ),
                    (
                        1.0,
                        MaskConfig::Channel {
                            ratio: 0.7,
                            groups: vec![],
                        },
                    ),
                ],
            }
            .build()
            .unwrap(),
        ),
    ]
}

#[test]
fn ratios_are_exact_and_inherited_never_marked() {
    let mut pat = ChaCha8Rng::seed_from_u64(1);
    for (name, s) in strategies() {
        for trial in 0..300 {
            let grid = Grid::new(pat.random_range(1..12), pat.random_range(4..6));
            let p_missing: f64 = pat.random();
            let observed: Vec<bool> = (0..grid.len())
                .map(|_| pat.random::<f64>() >= p_missing)
                .collect();
            let mut rng = ChaCha8Rng::seed_from_u64(trial);
            let m = s.mask(&observed, grid, &mut rng).unwrap();
            assert_eq!(m.len(), grid.len());
            assert!(
                m.iter().zip(&observed).all(|(&a, &o)| !a || o),
                "{name}: inherited token marked"
            );
            let n_obs = count(&observed);
            let want = match name {
                "random" => target_count(n_obs, 0.8),
                "random-0.3" => target_count(n_obs, 0.3),
                "temporal" => target_count(n_obs, 0.5),
                "channel" => target_count(n_obs, 0.6),
                "channel-groups" => target_count(n_obs, 0.4),
                _ => target_count(n_obs, 0.7),
            };
            assert_eq!(count(&m), want, "{name}: {n_obs} observed");
        }
    }
}

#[test]
fn structured_masks_have_structure() {
    let grid = Grid::new(20, 4);
    let observed = vec![true; grid.len()];
    // 0.5 of 80 = 40 tokens = exactly 10 whole rows.
    let m = TemporalBlockMask::new(0.5, 5)
        .unwrap()
        .mask(&observed, grid, &mut ChaCha8Rng::seed_from_u64(3))
        .unwrap();
    for i in 0..grid.time {
        let row = &m[i * 4..(i + 1) * 4];
        assert!(
            row.iter().all(|&b| b) || row.iter().all(|&b| !b),
            "row {i} split"
        );
    }
    // 0.5 of 80 = exactly 2 whole columns; groups {0,1} and {2,3} go together.
    let m = ChannelMask::with_groups(0.5, vec![vec![0, 1], vec![2, 3]])
        .unwrap()
        .mask(&observed, grid, &mut ChaCha8Rng::seed_from_u64(4))
        .unwrap();
    let col = |j: usize| (0..grid.time).all(|i| m[grid.token(i, j)]);
    assert!((col(0) && col(1) && !col(2)) || (col(2) && col(3) && !col(0)));
    assert!(ChannelMask::with_groups(0.5, vec![vec![7]])
        .unwrap()
        .mask(&observed, grid, &mut ChaCha8Rng::seed_from_u64(4))
        .is_err());
}

#[test]
fn seeds_decide_the_masks() {
    let grid = Grid::new(16, 4);
    let observed = vec![true; grid.len()];
    for (name, s) in strategies() {
        let draw = |seed| {
            s.mask(&observed, grid, &mut ChaCha8Rng::seed_from_u64(seed))
                .unwrap()
        };
        assert_eq!(draw(5), draw(5), "{name}");
        assert!((0..4).any(|d| draw(5) != draw(6 + d)), "{name}");
    }
}

#[test]
fn mixture_uses_every_component_and_skips_zero_weight() {
    let grid = Grid::new(10, 5);
    let observed = vec![true; grid.len()];
    let mix = MixtureMask::new(vec![
        (
            1.0,
            Box::new(TemporalBlockMask::new(0.4, 10).unwrap()) as Box<dyn MaskStrategy>,
        ),
        (1.0, Box::new(ChannelMask::new(0.4).unwrap())),
        (0.0, Box::new(RandomMask::new(0.0).unwrap())),
    ])
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let rng: &mut dyn RngCore = &mut rng;
    let (mut rows, mut cols) = (0, 0);
    for _ in 0..100 {
        let m = mix.mask(&observed, grid, rng).unwrap();
        assert_eq!(count(&m), 20);
        // 20 tokens = 4 whole rows or 2 whole columns.
        if (0..grid.time)
            .filter(|&i| (0..5).all(|j| m[grid.token(i, j)]))
            .count()
            == 4
        {
            rows += 1;
        } else {
            assert_eq!(
                (0..5)
                    .filter(|&j| (0..10).all(|i| m[grid.token(i, j)]))
                    .count(),
                2
            );
            cols += 1;
        }
    }
    assert!(rows > 20 && cols > 20, "{rows} {cols}");
}

#[test]
fn bad_parameters_are_errors() {
    assert!(RandomMask::new(1.01).is_err());
    assert!(RandomMask::new(-0.1).is_err());
    assert!(RandomMask::new(f32::NAN).is_err());
    assert!(TemporalBlockMask::new(0.5, 0).is_err());
    assert!(ChannelMask::with_groups(0.5, vec![vec![0], vec![0]]).is_err());
    assert!(ChannelMask::with_groups(0.5, vec![vec![]]).is_err());
    assert!(MixtureMask::new(vec![]).is_err());
    assert!(MixtureMask::new(vec![(f64::NAN, Box::new(RandomMask::default()))]).is_err());
    assert!(MixtureMask::new(vec![(0.0, Box::new(RandomMask::default()))]).is_err());
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert!(matches!(
        RandomMask::default().mask(&[true; 3], Grid::new(2, 2), &mut rng),
        Err(MaskError::Shape(_))
    ));
    // Extremes: ratio 0 and 1, nothing observed.
    let grid = Grid::new(3, 2);
    let all = vec![true; 6];
    assert_eq!(
        count(
            &RandomMask::new(1.0)
                .unwrap()
                .mask(&all, grid, &mut rng)
                .unwrap()
        ),
        6
    );
    assert_eq!(
        count(
            &RandomMask::new(0.0)
                .unwrap()
                .mask(&all, grid, &mut rng)
                .unwrap()
        ),
        0
    );
    let none = vec![false; 6];
    assert_eq!(
        count(
            &TemporalBlockMask::new(1.0, 2)
                .unwrap()
                .mask(&none, grid, &mut rng)
                .unwrap()
        ),
        0
    );
}

#[test]
fn config_round_trips_through_json() {
    let cfg: MaskConfig =
        serde_json::from_str(r#"{"kind": "temporal_block", "ratio": 0.8, "block_len": 4}"#)
            .unwrap();
    assert_eq!(
        cfg,
        MaskConfig::TemporalBlock {
            ratio: 0.8,
            block_len: 4
        }
    );
    let back: MaskConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
    assert_eq!(MaskConfig::default(), MaskConfig::Random { ratio: 0.8 });
    assert!(MaskConfig::Random { ratio: 2.0 }.build().is_err());
}
