//! The small text Transformer, the captioning decoder and projection heads.

use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};
use wearlang_encoders::text::{
    CaptionDecoder, CaptionDecoderConfig, DecodeOptions, SmallTextConfig, SmallTextTransformer,
    TokenBatch, IGNORE_INDEX,
};
use wearlang_encoders::{ProjectionConfig, ProjectionHead};

fn ids(rows: &[&[i64]]) -> TokenBatch {
    let l = rows.iter().map(|r| r.len()).max().unwrap();
    let mut flat = Vec::new();
    let mut mask = Vec::new();
    for r in rows {
        flat.extend_from_slice(r);
        flat.extend(std::iter::repeat_n(0i64, l - r.len()));
        mask.extend(std::iter::repeat_n(1i64, r.len()));
        mask.extend(std::iter::repeat_n(0i64, l - r.len()));
    }
    let shape = [rows.len() as i64, l as i64];
    TokenBatch {
        ids: Tensor::from_slice(&flat).reshape(shape),
        attention_mask: Tensor::from_slice(&mask).reshape(shape),
        lengths: rows.iter().map(|r| r.len()).collect(),
    }
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn small_text_embedding_ignores_padding_and_trains() {
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = SmallTextConfig {
        vocab_size: 20,
        dim: 16,
        depth: 1,
        heads: 2,
        max_len: 8,
        ..Default::default()
    };
    let m = SmallTextTransformer::new(vs.root() / "text", &cfg).unwrap();
    let short = ids(&[&[1, 5, 6, 2]]);
    let padded = ids(&[&[1, 5, 6, 2], &[1, 7, 8, 9, 10, 2]]);
    let a = m.embed(&short.ids, &short.attention_mask, false).unwrap();
    let b = m.embed(&padded.ids, &padded.attention_mask, false).unwrap();
    assert_eq!(b.size(), [2, 16]);
    assert!(
        max_diff(&a.get(0), &b.get(0)) < 1e-5,
        "padding changed the embedding"
    );
    assert!(max_diff(&b.get(0), &b.get(1)) > 1e-3);
    // Too long and mismatched inputs are errors, not panics.
    let long = ids(&[&[1, 3, 3, 3, 3, 3, 3, 3, 2]]);
    assert!(m.embed(&long.ids, &long.attention_mask, false).is_err());
    assert!(m.embed(&short.ids, &padded.attention_mask, false).is_err());
    // Gradients reach every variable.
    let loss = b.square().sum(Kind::Float);
    loss.backward();
    for (name, v) in vs.variables() {
        let g = v.grad();
        assert!(g.defined(), "{name} has no gradient");
        assert!(g.abs().sum(Kind::Float).double_value(&[]) > 0.0, "{name}");
    }
}

fn decoder(tied: bool, context_dim: i64) -> (nn::VarStore, CaptionDecoder) {
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = CaptionDecoderConfig {
        vocab_size: 12,
        dim: 32,
        depth: 2,
        heads: 4,
        max_len: 10,
        tied,
        context_dim,
        ..Default::default()
    };
    let d = CaptionDecoder::new(vs.root() / "decoder", &cfg).unwrap();
    (vs, d)
}

#[test]
fn decoder_is_causal_and_honours_the_context_mask() {
    let (vs, d) = decoder(false, 8);
    let names: Vec<String> = vs.variables().into_keys().collect();
    assert!(names.iter().any(|n| n == "decoder.head.weight"));
    assert!(names.iter().any(|n| n == "decoder.context_proj.weight"));
    assert!(names
        .iter()
        .any(|n| n == "decoder.transformer.blocks.1.cross.kv.weight"));

    let ctx = Tensor::randn([2, 5, 8], (Kind::Float, Device::Cpu));
    let seq = Tensor::from_slice(&[1i64, 4, 5, 6, 1, 7, 8, 9]).reshape([2, 4]);
    let a = d.forward_t(&seq, &ctx, None, false).unwrap();
    assert_eq!(a.size(), [2, 4, 12]);
    // Changing the last token leaves earlier positions unchanged.
    let seq2 = Tensor::from_slice(&[1i64, 4, 5, 3, 1, 7, 8, 3]).reshape([2, 4]);
    let b = d.forward_t(&seq2, &ctx, None, false).unwrap();
    assert!(max_diff(&a.narrow(1, 0, 3), &b.narrow(1, 0, 3)) < 1e-6);
    assert!(max_diff(&a.narrow(1, 3, 1), &b.narrow(1, 3, 1)) > 1e-4);
    // Context tokens outside the mask do not matter; those inside do.
    let mask = Tensor::from_slice(&[true, true, true, false, false]).reshape([1, 5]);
    let mask = mask.expand([2, 5], false);
    let ctx2 = ctx.copy();
    let _ = ctx2.narrow(1, 3, 2).fill_(9.0);
    let c1 = d.forward_t(&seq, &ctx, Some(&mask), false).unwrap();
    let c2 = d.forward_t(&seq, &ctx2, Some(&mask), false).unwrap();
    assert!(max_diff(&c1, &c2) < 1e-6);
    let c3 = d.forward_t(&seq, &ctx2, None, false).unwrap();
    assert!(max_diff(&c1, &c3) > 1e-4);
    // Wrong shapes are errors.
    assert!(d
        .forward_t(&seq, &ctx.narrow(2, 0, 4), None, false)
        .is_err());
    let too_long = Tensor::zeros([2, 11], (Kind::Int64, Device::Cpu));
    assert!(d.forward_t(&too_long, &ctx, None, false).is_err());
}

#[test]
fn teacher_forcing_shifts_and_ignores_padding() {
    let (vs, d) = decoder(true, 0);
    assert!(!vs.variables().keys().any(|n| n.contains("head")));
    let tb = ids(&[&[1, 4, 5, 2], &[1, 6, 2]]);
    let (inp, tgt) = d.teacher_forcing(&tb).unwrap();
    assert_eq!(
        Vec::<i64>::try_from(inp.flatten(0, -1)).unwrap(),
        [1, 4, 5, 1, 6, 2]
    );
    assert_eq!(
        Vec::<i64>::try_from(tgt.flatten(0, -1)).unwrap(),
        [4, 5, 2, 6, 2, IGNORE_INDEX]
    );
}

/// Two contexts, two captions: the decoder must learn to tell them apart,
/// and greedy and beam search must both return them.
#[test]
fn decoder_learns_context_dependent_captions_and_decodes_them() {
    let (vs, d) = decoder(true, 0);
    let ctx = Tensor::zeros([2, 3, 32], (Kind::Float, Device::Cpu));
    let _ = ctx.get(0).fill_(1.0);
    let _ = ctx.get(1).fill_(-1.0);
    let tb = ids(&[&[1, 4, 5, 6, 7, 2], &[1, 4, 8, 9, 2]]);
    let (inp, tgt) = d.teacher_forcing(&tb).unwrap();
    let mut opt = nn::Adam::default().build(&vs, 3e-3).unwrap();
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..150 {
        let logits = d.forward_t(&inp, &ctx, None, true).unwrap();
        let loss = logits.flatten(0, 1).cross_entropy_loss::<Tensor>(
            &tgt.flatten(0, 1),
            None,
            tch::Reduction::Mean,
            IGNORE_INDEX,
            0.0,
        );
        last = loss.double_value(&[]);
        first.get_or_insert(last);
        opt.backward_step(&loss);
    }
    assert!(last < first.unwrap() / 20.0, "loss {first:?} → {last}");
    let greedy = d
        .generate(&ctx, None, 1, 2, &DecodeOptions::default())
        .unwrap();
    assert_eq!(greedy, vec![vec![4, 5, 6, 7], vec![4, 8, 9]]);
    let beam = d
        .generate(
            &ctx,
            None,
            1,
            2,
            &DecodeOptions {
                beam: 3,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(beam, greedy);
    // The length limit holds.
    let short = d
        .generate(
            &ctx,
            None,
            1,
            2,
            &DecodeOptions {
                beam: 2,
                max_new_tokens: 2,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(short.iter().all(|s| s.len() <= 2));
    assert!(d
        .generate(
            &ctx,
            None,
            1,
            2,
            &DecodeOptions {
                beam: 0,
                ..Default::default()
            }
        )
        .is_err()); // More beams than tokens: an error naming `beam` (tch's topk panicked).
    let err = d
        .generate(
            &ctx,
            None,
            1,
            2,
            &DecodeOptions {
                beam: 100_000,
                ..Default::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("beam") && err.contains("vocabulary"), "{err}");
}

#[test]
fn projection_heads_map_to_the_shared_width() {
    let vs = nn::VarStore::new(Device::Cpu);
    let h = ProjectionHead::new(
        vs.root() / "proj",
        24,
        &ProjectionConfig {
            out_dim: 8,
            hidden: 16,
            layers: 2,
        },
    )
    .unwrap();
    let y = h.forward(&Tensor::randn([3, 24], (Kind::Float, Device::Cpu)));
    assert_eq!(y.size(), [3, 8]);
    assert_eq!(vs.variables().len(), 4);
    let bad = ProjectionConfig {
        layers: 0,
        ..Default::default()
    };
    assert!(ProjectionHead::new(vs.root() / "bad", 24, &bad).is_err());
}
