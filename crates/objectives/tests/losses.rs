//! Every loss against values computed by hand in f64, plus symmetry,
//! gradients, clamping and the SensorLM weighting identities.

use tch::{nn, Device, Kind, Tensor};
use wearlang_objectives::{
    build, caption_ce, nt_xent, Captioning, CaptioningConfig, Clip, ClipConfig,
    MaskedReconstruction, Objective, ObjectiveConfig, ObjectiveInputs, SensorLm, Siglip,
    SiglipConfig, Unicl,
};

fn t2(rows: &[[f32; 2]]) -> Tensor {
    Tensor::from_slice(&rows.concat()).reshape([rows.len() as i64, 2])
}

fn lse(v: &[f64]) -> f64 {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

fn inputs<'a>(s: &'a Tensor, t: &'a Tensor) -> ObjectiveInputs<'a> {
    ObjectiveInputs {
        sensor: Some(s),
        text: Some(t),
        ..Default::default()
    }
}

/// Hand-computed symmetric CE over M (2 × 2 cosines) at scale k.
fn clip_by_hand(m: [[f64; 2]; 2], k: f64) -> f64 {
    let l = |i: usize, j: usize| k * m[i][j];
    let rows = (lse(&[l(0, 0), l(0, 1)]) - l(0, 0)) + (lse(&[l(1, 0), l(1, 1)]) - l(1, 1));
    let cols = (lse(&[l(0, 0), l(1, 0)]) - l(0, 0)) + (lse(&[l(0, 1), l(1, 1)]) - l(1, 1));
    (rows / 2.0 + cols / 2.0) / 2.0
}

#[test]
fn clip_matches_hand_computation_and_is_symmetric() {
    let vs = nn::VarStore::new(Device::Cpu);
    let clip = Clip::new(vs.root(), &ClipConfig::default()).unwrap();
    // Not normalised on purpose: the loss normalises.
    let s = t2(&[[2.0, 0.0], [0.0, 3.0]]);
    let t = t2(&[[1.0, 0.0], [0.6, 0.8]]);
    let got = clip.loss(&inputs(&s, &t)).unwrap().total.double_value(&[]);
    let want = clip_by_hand([[1.0, 0.6], [0.0, 0.8]], 1.0 / 0.07);
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    let swapped = clip.loss(&inputs(&t, &s)).unwrap().total.double_value(&[]);
    assert!((got - swapped).abs() < 1e-6);
}

#[test]
fn gradients_are_finite_and_reach_the_scale() {
    let vs = nn::VarStore::new(Device::Cpu);
    let clip = Clip::new(vs.root(), &ClipConfig::default()).unwrap();
    let s = Tensor::randn([6, 8], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let t = Tensor::randn([6, 8], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    clip.loss(&inputs(&s, &t)).unwrap().total.backward();
    for g in [s.grad(), t.grad(), clip.similarity().logit_scale.grad()] {
        assert!(bool::try_from(g.isfinite().all()).unwrap());
        assert!(g.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }
    let vs2 = nn::VarStore::new(Device::Cpu);
    let sig = Siglip::new(vs2.root(), &SiglipConfig::default()).unwrap();
    sig.loss(&inputs(&s, &t)).unwrap().total.backward();
    assert!(sig.logit_bias.grad().abs().double_value(&[]) > 0.0);
    assert!(sig.logit_scale.grad().isfinite().all().int64_value(&[]) == 1);
}

#[test]
fn logit_scale_is_clamped_at_100() {
    let vs = nn::VarStore::new(Device::Cpu);
    let clip = Clip::new(vs.root(), &ClipConfig::default()).unwrap();
    let init = clip.similarity().logit_scale.double_value(&[]);
    assert!((init - (1.0f64 / 0.07).ln()).abs() < 1e-6);
    let mut v = clip.similarity().logit_scale.shallow_clone();
    let _ = tch::no_grad(|| v.fill_(10.0));
    assert!((clip.similarity().scale().double_value(&[]) - 100.0).abs() < 1e-3);
    let s = t2(&[[1.0, 0.0], [0.0, 1.0]]);
    let t = t2(&[[1.0, 0.0], [0.6, 0.8]]);
    let got = clip.loss(&inputs(&s, &t)).unwrap().total.double_value(&[]);
    assert!((got - clip_by_hand([[1.0, 0.6], [0.0, 0.8]], 100.0)).abs() < 1e-4);
    clip.clamp_();
    assert!((clip.similarity().logit_scale.double_value(&[]) - 100f64.ln()).abs() < 1e-6);
}

#[test]
fn siglip_matches_hand_computation() {
    let vs = nn::VarStore::new(Device::Cpu);
    let sig = Siglip::new(vs.root(), &SiglipConfig::default()).unwrap();
    let s = t2(&[[1.0, 0.0], [0.0, 1.0]]);
    let t = t2(&[[1.0, 0.0], [0.6, 0.8]]);
    let m = [[1.0, 0.6], [0.0, 0.8]];
    let log_sig = |x: f64| -(1.0 + (-x).exp()).ln();
    let mut want = 0.0;
    for (i, row) in m.iter().enumerate() {
        for (j, &mij) in row.iter().enumerate() {
            let z = if i == j { 1.0 } else { -1.0 };
            want -= log_sig(z * (10.0 * mij - 10.0));
        }
    }
    want /= 2.0;
    let got = sig.loss(&inputs(&s, &t)).unwrap().total.double_value(&[]);
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
}

#[test]
fn unicl_equals_clip_for_unique_labels_and_shares_positives() {
    let vs = nn::VarStore::new(Device::Cpu);
    let clip = Clip::new(vs.root() / "a", &ClipConfig::default()).unwrap();
    let unicl = Unicl::new(vs.root() / "b", &ClipConfig::default()).unwrap();
    let s = Tensor::randn([5, 4], (Kind::Float, Device::Cpu));
    let t = Tensor::randn([5, 4], (Kind::Float, Device::Cpu));
    let unique = Tensor::from_slice(&[0i64, 1, 2, 3, 4]);
    let mut i = inputs(&s, &t);
    i.labels = Some(&unique);
    let a = clip.loss(&i).unwrap().total.double_value(&[]);
    let b = unicl.loss(&i).unwrap().total.double_value(&[]);
    assert!((a - b).abs() < 1e-5);

    // Two windows of the same class: the targets are (½, ½) in both rows and columns.
    let s = t2(&[[1.0, 0.0], [0.0, 1.0]]);
    let t = t2(&[[1.0, 0.0], [0.6, 0.8]]);
    let same = Tensor::from_slice(&[3i64, 3]);
    let mut i = inputs(&s, &t);
    i.labels = Some(&same);
    let k = 1.0 / 0.07;
    let l = |r: usize, c: usize| k * [[1.0, 0.6], [0.0, 0.8]][r][c];
    let row = |r: usize| {
        -0.5 * ((l(r, 0) - lse(&[l(r, 0), l(r, 1)])) + (l(r, 1) - lse(&[l(r, 0), l(r, 1)])))
    };
    let col = |c: usize| {
        -0.5 * ((l(0, c) - lse(&[l(0, c), l(1, c)])) + (l(1, c) - lse(&[l(0, c), l(1, c)])))
    };
    let want = ((row(0) + row(1)) / 2.0 + (col(0) + col(1)) / 2.0) / 2.0;
    let got = unicl.loss(&i).unwrap().total.double_value(&[]);
    assert!((got - want).abs() < 1e-4, "{got} vs {want}");
    // Missing labels are a named error.
    let e = unicl.loss(&inputs(&s, &t)).unwrap_err().to_string();
    assert!(e.contains("labels"), "{e}");
}

#[test]
fn nt_xent_matches_hand_computation() {
    let v1 = t2(&[[1.0, 0.0], [0.0, 1.0]]);
    let v2 = t2(&[[0.6, 0.8], [0.0, 1.0]]);
    let z = [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.0, 1.0]];
    let tau = 0.5;
    let mut want = 0.0;
    for i in 0..4 {
        let pos = (i + 2) % 4;
        let others: Vec<f64> = (0..4)
            .filter(|&j| j != i)
            .map(|j| (z[i][0] * z[j][0] + z[i][1] * z[j][1]) / tau)
            .collect();
        let p = (z[i][0] * z[pos][0] + z[i][1] * z[pos][1]) / tau;
        want += lse(&others) - p;
    }
    want /= 4.0;
    let got = nt_xent(&v1, &v2, tau).unwrap().double_value(&[]);
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
}

#[test]
fn captioning_ignores_padding_and_matches_hand_computation() {
    let logits = Tensor::from_slice(&[1.0f32, 2.0, 0.5, -0.5, 3.0, 3.0]).reshape([1, 3, 2]);
    let targets = Tensor::from_slice(&[1i64, 0, -100]).reshape([1, 3]);
    let cfg = CaptioningConfig::default();
    let got = caption_ce(&logits, &targets, &cfg)
        .unwrap()
        .double_value(&[]);
    let want = ((lse(&[1.0, 2.0]) - 2.0) + (lse(&[0.5, -0.5]) - 0.5)) / 2.0;
    assert!((got - want).abs() < 1e-5);
    let changed = logits.copy();
    let _ = changed.get(0).get(2).fill_(100.0);
    assert_eq!(
        caption_ce(&changed, &targets, &cfg)
            .unwrap()
            .double_value(&[]),
        got
    );
    let all_pad = Tensor::from_slice(&[-100i64, -100, -100]).reshape([1, 3]);
    assert_eq!(
        caption_ce(&logits, &all_pad, &cfg)
            .unwrap()
            .double_value(&[]),
        0.0
    );
    assert!(caption_ce(&logits, &targets.narrow(1, 0, 2), &cfg).is_err());
}

#[test]
fn sensorlm_weights_recover_clip_coca_and_captioning() {
    let vs = nn::VarStore::new(Device::Cpu);
    let s = Tensor::randn([4, 6], (Kind::Float, Device::Cpu));
    let t = Tensor::randn([4, 6], (Kind::Float, Device::Cpu));
    let logits = Tensor::randn([4, 5, 10], (Kind::Float, Device::Cpu));
    let targets = Tensor::randint(10, [4, 5], (Kind::Int64, Device::Cpu));
    let full = ObjectiveInputs {
        sensor: Some(&s),
        text: Some(&t),
        caption_logits: Some(&logits),
        caption_targets: Some(&targets),
        ..Default::default()
    };
    let clip = Clip::new(vs.root() / "c", &ClipConfig::default()).unwrap();
    let c = clip.loss(&full).unwrap().total.double_value(&[]);
    let cap = caption_ce(&logits, &targets, &CaptioningConfig::default())
        .unwrap()
        .double_value(&[]);
    let make = |name: &str, a: f64, b: f64| {
        SensorLm::new(
            Box::new(Clip::new(vs.root() / name, &ClipConfig::default()).unwrap()),
            Captioning::new(&CaptioningConfig::default()),
            a,
            b,
        )
        .unwrap()
    };
    let v = |o: &SensorLm, i: &ObjectiveInputs| o.loss(i).unwrap().total.double_value(&[]);
    assert!((v(&make("a", 1.0, 0.0), &full) - c).abs() < 1e-6);
    assert!((v(&make("b", 0.0, 1.0), &full) - cap).abs() < 1e-6);
    assert!((v(&make("d", 1.0, 2.0), &full) - (c + 2.0 * cap)).abs() < 1e-5);
    // β = 0 needs no caption inputs, α = 0 no embeddings.
    assert!(make("e", 1.0, 0.0).loss(&inputs(&s, &t)).is_ok());
    let cap_only = ObjectiveInputs {
        caption_logits: Some(&logits),
        caption_targets: Some(&targets),
        ..Default::default()
    };
    assert!(make("f", 0.0, 1.0).loss(&cap_only).is_ok());
    assert!(make("g", 1.0, 1.0).loss(&cap_only).is_err());
    assert!(SensorLm::new(
        Box::new(Clip::new(vs.root() / "h", &ClipConfig::default()).unwrap()),
        Captioning::new(&CaptioningConfig::default()),
        0.0,
        0.0
    )
    .is_err());
}

#[test]
fn reconstruction_counts_only_target_tokens() {
    let pred = Tensor::zeros([1, 3, 2], (Kind::Float, Device::Cpu));
    let target = Tensor::from_slice(&[1.0f32, 1.0, 5.0, 5.0, 2.0, f32::NAN]).reshape([1, 3, 2]);
    let mask = Tensor::from_slice(&[true, false, true]).reshape([1, 3]);
    let rec = MaskedReconstruction::default();
    let out = rec
        .loss(&ObjectiveInputs {
            reconstruction: Some((&pred, &target, &mask)),
            ..Default::default()
        })
        .unwrap();
    // (1 + 1 + 4) / 3: token 1 is not a target, the NaN does not count.
    assert!((out.total.double_value(&[]) - 2.0).abs() < 1e-6);
}

#[test]
fn configs_round_trip_and_build() {
    let text = r#"
kind = "sensorlm"
alpha = 1.0
beta = 2.0
[contrastive]
kind = "siglip"
"#;
    let cfg: ObjectiveConfig = toml::from_str(text).unwrap();
    let back: ObjectiveConfig =
        serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(cfg, back);
    let vs = nn::VarStore::new(Device::Cpu);
    let obj = build(vs.root() / "objective", &cfg).unwrap();
    assert_eq!(obj.name(), "sensorlm");
    let mut names: Vec<String> = vs.variables().into_keys().collect();
    names.sort();
    assert_eq!(names, vec!["objective.logit_bias", "objective.logit_scale"]);
    assert!(toml::from_str::<ObjectiveConfig>("kind = \"clip\"\ntemperature = 1.0").is_err());
    for kind in ["clip", "unicl", "slip", "captioning", "simclr"] {
        let c: ObjectiveConfig = toml::from_str(&format!("kind = \"{kind}\"")).unwrap();
        build(vs.root() / kind, &c).unwrap();
    }
}
