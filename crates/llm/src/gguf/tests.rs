use super::*;
use std::io::Cursor as IoCursor;

fn parse(bytes: &[u8]) -> Result<Gguf> {
    Gguf::parse(
        IoCursor::new(bytes.to_vec()),
        bytes.len() as u64,
        PathBuf::from("test.gguf"),
    )
}

fn sample() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.meta("general.architecture", MetaValue::String("llama".into()))
        .meta("a.u8", MetaValue::U8(7))
        .meta("a.i8", MetaValue::I8(-7))
        .meta("a.u16", MetaValue::U16(700))
        .meta("a.i16", MetaValue::I16(-700))
        .meta("a.u32", MetaValue::U32(70000))
        .meta("a.i32", MetaValue::I32(-70000))
        .meta("a.f32", MetaValue::F32(1.5))
        .meta("a.bool", MetaValue::Bool(true))
        .meta("a.u64", MetaValue::U64(1 << 40))
        .meta("a.i64", MetaValue::I64(-(1 << 40)))
        .meta("a.f64", MetaValue::F64(-2.25))
        .meta(
            "a.strings",
            MetaValue::Array(vec![
                MetaValue::String("x".into()),
                MetaValue::String("héllo".into()),
            ]),
        )
        .meta(
            "a.ints",
            MetaValue::Array(vec![MetaValue::I32(1), MetaValue::I32(-2)]),
        );
    let values: Vec<f32> = (0..64).map(|i| (i as f32 - 30.0) / 7.0).collect();
    w.tensor("f32", &[2, 32], &values, GgmlType::F32).unwrap();
    w.tensor("f16", &[64], &values, GgmlType::F16).unwrap();
    w.tensor("q8", &[2, 32], &values, GgmlType::Q8_0).unwrap();
    w.tensor("q41", &[2, 32], &values, GgmlType::Q4_1).unwrap();
    w
}

#[test]
fn every_value_type_round_trips() {
    let w = sample();
    let g = parse(&w.to_bytes()).unwrap();
    assert_eq!(g.version, 3);
    assert_eq!(g.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(g.get("a.u8"), Some(&MetaValue::U8(7)));
    assert_eq!(g.get("a.i8"), Some(&MetaValue::I8(-7)));
    assert_eq!(g.get("a.u16"), Some(&MetaValue::U16(700)));
    assert_eq!(g.get("a.i16"), Some(&MetaValue::I16(-700)));
    assert_eq!(g.get_u64("a.u32").unwrap(), 70000);
    assert_eq!(g.get("a.i32").unwrap().as_i64(), Some(-70000));
    assert_eq!(g.get_f64("a.f32").unwrap(), 1.5);
    assert_eq!(g.get("a.bool").unwrap().as_bool(), Some(true));
    assert_eq!(g.get_u64("a.u64").unwrap(), 1 << 40);
    assert_eq!(g.get("a.i64").unwrap().as_i64(), Some(-(1 << 40)));
    assert_eq!(g.get_f64("a.f64").unwrap(), -2.25);
    let strings = g.get("a.strings").unwrap().as_array().unwrap();
    assert_eq!(strings[1].as_str(), Some("héllo"));
    assert_eq!(
        g.get("a.ints").unwrap().as_array().unwrap()[1],
        MetaValue::I32(-2)
    );
    assert!(g.get_u64("a.i8").is_err(), "negative is not unsigned");
    assert!(g
        .get_str("missing")
        .unwrap_err()
        .to_string()
        .contains("missing"));
    assert_eq!(g.data_offset % 32, 0);
    assert_eq!(g.tensor("q8").unwrap().shape(), vec![2, 32]);
}

#[test]
fn dequantisation_matches_the_values_written() {
    let g = parse(&sample().to_bytes());
    // parse() reads no tensor data; tensor_f32 needs a file on disk.
    drop(g);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.gguf");
    sample().write(&path).unwrap();
    let g = Gguf::open(&path).unwrap();
    let values: Vec<f32> = (0..64).map(|i| (i as f32 - 30.0) / 7.0).collect();
    let (f32s, shape) = g.tensor_f32("f32").unwrap();
    assert_eq!(shape, vec![2, 32]);
    assert_eq!(f32s, values);
    let (f16s, _) = g.tensor_f32("f16").unwrap();
    for (a, b) in f16s.iter().zip(&values) {
        assert!((a - b).abs() <= 2e-3 * b.abs().max(1.0), "{a} vs {b}");
    }
    // Q8_0: error at most half a step (d/2) plus the f16 rounding of d.
    let (q8, _) = g.tensor_f32("q8").unwrap();
    for (blk_q, blk_v) in q8.chunks(32).zip(values.chunks(32)) {
        let d = blk_v.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
        for (a, b) in blk_q.iter().zip(blk_v) {
            assert!((a - b).abs() <= 0.51 * d + 1e-3, "{a} vs {b}");
        }
    }
    let (q4, _) = g.tensor_f32("q41").unwrap();
    for (blk_q, blk_v) in q4.chunks(32).zip(values.chunks(32)) {
        let (lo, hi) = blk_v
            .iter()
            .fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        let d = (hi - lo) / 15.0;
        for (a, b) in blk_q.iter().zip(blk_v) {
            assert!((a - b).abs() <= 0.51 * d + 1e-2, "{a} vs {b}");
        }
    }
}

#[test]
fn hand_made_blocks_follow_the_layouts() {
    // Q4_1: d = 0.5, m = -1; byte j holds element j (low) and j + 16 (high).
    let mut blk = Vec::new();
    blk.extend_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
    blk.extend_from_slice(&half::f16::from_f32(-1.0).to_le_bytes());
    for j in 0..16u8 {
        blk.push(j | ((15 - j) << 4));
    }
    let v = dequant::dequantize("t", GgmlType::Q4_1, &blk, 32).unwrap();
    assert_eq!(v[0], -1.0);
    assert_eq!(v[3], 0.5);
    assert_eq!(v[16], 0.5 * 15.0 - 1.0);
    assert_eq!(v[31], -1.0);
    // Q8_0: d = 0.25, q = -128..
    let mut blk = half::f16::from_f32(0.25).to_le_bytes().to_vec();
    blk.extend((0..32).map(|i| (i as i8 - 16) as u8));
    let v = dequant::dequantize("t", GgmlType::Q8_0, &blk, 32).unwrap();
    assert_eq!(v[0], -4.0);
    assert_eq!(v[31], 3.75);
    // Q4_0: d = 2, value d * (q - 8).
    let mut blk = half::f16::from_f32(2.0).to_le_bytes().to_vec();
    blk.extend(std::iter::repeat_n(0x8Fu8, 16));
    let v = dequant::dequantize("t", GgmlType::Q4_0, &blk, 32).unwrap();
    assert_eq!(v[0], 14.0);
    assert_eq!(v[16], 0.0);
    // BF16.
    let b = half::bf16::from_f32(-3.5).to_le_bytes();
    assert_eq!(
        dequant::dequantize("t", GgmlType::Bf16, &b, 1).unwrap(),
        vec![-3.5]
    );
}

#[test]
fn unsupported_types_and_wrong_lengths_name_the_tensor() {
    let q6k = GgmlType::from_id(14).unwrap();
    let err = dequant::dequantize("blk.0.ffn_up.weight", q6k, &vec![0u8; 210], 256)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("blk.0.ffn_up.weight") && err.contains("cannot"),
        "{err}"
    );
    let err = dequant::dequantize("w", GgmlType::Q8_0, &[0u8; 33], 32)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`w`") && err.contains("33 bytes"), "{err}");
    let err = dequant::dequantize("w", GgmlType::Q8_0, &[0u8; 34], 31)
        .unwrap_err()
        .to_string();
    assert!(err.contains("whole number"), "{err}");
    assert!(GgmlType::from_id(99).is_none());
}

fn gguf_err(bytes: &[u8]) -> String {
    match parse(bytes) {
        Ok(_) => panic!("a malformed file was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_files_fail_with_an_offset_at_every_length() {
    let bytes = sample().to_bytes();
    // Every prefix that cuts the header or the tensor data is an error,
    // never a panic; the message carries an offset.
    let g = parse(&bytes).unwrap();
    let header_end = g.data_offset as usize;
    // The writer pads after the last tensor; cutting into padding is fine.
    let data_end = g
        .tensors
        .iter()
        .map(|t| (g.data_offset + t.offset + t.n_bytes()) as usize)
        .max()
        .unwrap();
    for cut in (0..data_end).step_by(7) {
        let prefix = &bytes[..cut];
        let err = gguf_err(prefix);
        assert!(err.contains("byte offset"), "cut {cut}: {err}");
        if cut < header_end.saturating_sub(32) {
            // Cut inside the header: the offset named is at most the cut.
            let off: u64 = err
                .split("byte offset ")
                .nth(1)
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(off <= cut as u64, "cut {cut}: {err}");
        }
    }
}

#[test]
fn malformed_headers_are_named_errors() {
    let good = sample().to_bytes();
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(gguf_err(&bad).contains("not a GGUF file"));
    let mut bad = good.clone();
    bad[4..8].copy_from_slice(&1u32.to_le_bytes());
    assert!(gguf_err(&bad).contains("version 1"));
    // A huge tensor count must not allocate: it does not fit the file.
    let mut bad = good.clone();
    bad[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
    let err = gguf_err(&bad);
    assert!(
        err.contains("tensor count") && err.contains("offset 8"),
        "{err}"
    );
    let mut bad = good.clone();
    bad[16..24].copy_from_slice(&(1u64 << 60).to_le_bytes());
    assert!(gguf_err(&bad).contains("metadata count"));
    // A huge string length.
    let mut bad = good.clone();
    bad[24..32].copy_from_slice(&(1u64 << 62).to_le_bytes());
    let err = gguf_err(&bad);
    assert!(
        err.contains("length of metadata key") && err.contains("offset 24"),
        "{err}"
    );
    // An unknown value type right after the first key.
    let key_len = u64::from_le_bytes(good[24..32].try_into().unwrap()) as usize;
    let mut bad = good.clone();
    bad[32 + key_len..36 + key_len].copy_from_slice(&77u32.to_le_bytes());
    assert!(gguf_err(&bad).contains("unknown value type 77"));
}

#[test]
fn bad_tensor_infos_are_named_errors() {
    let values = vec![0f32; 32];
    // Unknown ggml type.
    let mut w = GgufWriter::new();
    w.raw_tensor(
        "w",
        vec![32],
        GgmlType::Other {
            id: 99,
            block: 1,
            bytes: 1,
        },
        vec![0; 32],
    );
    assert!(gguf_err(&w.to_bytes()).contains("unknown ggml type 99"));
    // Too many dimensions.
    let mut w = GgufWriter::new();
    w.raw_tensor("w", vec![1, 1, 1, 1, 32], GgmlType::F32, vec![0; 128]);
    assert!(gguf_err(&w.to_bytes()).contains("5 dimensions"));
    // Dimensions whose product overflows.
    let mut w = GgufWriter::new();
    w.raw_tensor("w", vec![u64::MAX, 4], GgmlType::F32, vec![0; 128]);
    assert!(gguf_err(&w.to_bytes()).contains("dimensions"));
    // Rows that are not whole blocks.
    let mut w = GgufWriter::new();
    w.raw_tensor("w", vec![30], GgmlType::Q8_0, vec![0; 34]);
    assert!(gguf_err(&w.to_bytes()).contains("whole Q8_0 blocks"));
    // Data past the end of the file.
    let mut w = GgufWriter::new();
    w.tensor("w", &[32], &values, GgmlType::F32).unwrap();
    let mut bytes = w.to_bytes();
    bytes.truncate(bytes.len() - 1);
    let err = gguf_err(&bytes);
    assert!(
        err.contains("tensor `w`") && err.contains("outside"),
        "{err}"
    );
}

#[test]
fn missing_files_are_named() {
    let err = Gguf::open("/nonexistent/model.gguf")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/model.gguf"), "{err}");
}
