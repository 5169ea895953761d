//! ggml storage types and their dequantisation to f32, in parallel over
//! blocks.
//!
//! | type | block | bytes | value |
//! | --- | --- | --- | --- |
//! | F32 | 1 | 4 | as is |
//! | F16 | 1 | 2 | IEEE half |
//! | BF16 | 1 | 2 | bfloat16 |
//! | Q8_0 | 32 | 34 | f16 `d`, 32 × i8 `q`: `d·q` |
//! | Q4_0 | 32 | 18 | f16 `d`, 16 bytes of nibbles: `d·(q − 8)` |
//! | Q4_1 | 32 | 20 | f16 `d`, f16 `m`, 16 bytes of nibbles: `d·q + m` |
//!
//! In the 4-bit types the low nibbles of the 16 bytes are elements 0..15 of
//! the block and the high nibbles elements 16..31. Any other type is an
//! error naming the tensor.

use half::{bf16, f16};
use rayon::prelude::*;

use crate::{LlmError, Result};

/// The ggml storage types this crate knows by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// 16-bit IEEE float.
    F16,
    /// 4-bit, block scale.
    Q4_0,
    /// 4-bit, block scale and minimum.
    Q4_1,
    /// 8-bit, block scale.
    Q8_0,
    /// bfloat16.
    Bf16,
    /// A type the file may hold but this crate cannot dequantise (its id and
    /// block geometry, so offsets still check out).
    Other {
        /// ggml type id.
        id: u32,
        /// Elements per block.
        block: u64,
        /// Bytes per block.
        bytes: u64,
    },
}

impl GgmlType {
    /// The type with ggml id `id`, or `None` for an id ggml does not define.
    pub fn from_id(id: u32) -> Option<Self> {
        let other = |block, bytes| Some(GgmlType::Other { id, block, bytes });
        match id {
            0 => Some(GgmlType::F32),
            1 => Some(GgmlType::F16),
            2 => Some(GgmlType::Q4_0),
            3 => Some(GgmlType::Q4_1),
            6 => other(32, 22), // Q5_0
            7 => other(32, 24), // Q5_1
            8 => Some(GgmlType::Q8_0),
            9 => other(32, 36),    // Q8_1
            10 => other(256, 84),  // Q2_K
            11 => other(256, 110), // Q3_K
            12 => other(256, 144), // Q4_K
            13 => other(256, 176), // Q5_K
            14 => other(256, 210), // Q6_K
            15 => other(256, 292), // Q8_K
            24 => other(1, 1),     // I8
            25 => other(1, 2),     // I16
            26 => other(1, 4),     // I32
            27 => other(1, 8),     // I64
            28 => other(1, 8),     // F64
            30 => Some(GgmlType::Bf16),
            _ => None,
        }
    }

    /// The ggml id.
    pub fn id(self) -> u32 {
        match self {
            GgmlType::F32 => 0,
            GgmlType::F16 => 1,
            GgmlType::Q4_0 => 2,
            GgmlType::Q4_1 => 3,
            GgmlType::Q8_0 => 8,
            GgmlType::Bf16 => 30,
            GgmlType::Other { id, .. } => id,
        }
    }

    /// Elements per block and bytes per block.
    pub fn block(self) -> (u64, u64) {
        match self {
            GgmlType::F32 => (1, 4),
            GgmlType::F16 | GgmlType::Bf16 => (1, 2),
            GgmlType::Q4_0 => (32, 18),
            GgmlType::Q4_1 => (32, 20),
            GgmlType::Q8_0 => (32, 34),
            GgmlType::Other { block, bytes, .. } => (block, bytes),
        }
    }

    /// Bytes that `n` elements occupy (rounded up to whole blocks).
    pub fn n_bytes(self, n: u64) -> u64 {
        let (block, bytes) = self.block();
        n.div_ceil(block).saturating_mul(bytes)
    }

    /// The name llama.cpp uses.
    pub fn name(self) -> String {
        match self {
            GgmlType::F32 => "F32".into(),
            GgmlType::F16 => "F16".into(),
            GgmlType::Q4_0 => "Q4_0".into(),
            GgmlType::Q4_1 => "Q4_1".into(),
            GgmlType::Q8_0 => "Q8_0".into(),
            GgmlType::Bf16 => "BF16".into(),
            GgmlType::Other { id, .. } => format!("ggml type {id}"),
        }
    }
}

fn half_at(b: &[u8], i: usize) -> f32 {
    f16::from_le_bytes([b[i], b[i + 1]]).to_f32()
}

/// Dequantise `n` elements of type `ty` from `bytes` (exactly
/// `ty.n_bytes(n)` long) to f32; `name` names the tensor in errors.
pub fn dequantize(name: &str, ty: GgmlType, bytes: &[u8], n: u64) -> Result<Vec<f32>> {
    let (block, block_bytes) = ty.block();
    if !n.is_multiple_of(block) {
        return Err(LlmError::tensor(
            name,
            format!(
                "{n} elements are not a whole number of {} blocks",
                ty.name()
            ),
        ));
    }
    if bytes.len() as u64 != ty.n_bytes(n) {
        return Err(LlmError::tensor(
            name,
            format!(
                "{} bytes for {n} {} elements (expected {})",
                bytes.len(),
                ty.name(),
                ty.n_bytes(n)
            ),
        ));
    }
    let mut out = vec![0f32; n as usize];
    let block = block as usize;
    let block_bytes = block_bytes as usize;
    // Work in chunks of many blocks so that each rayon task is worth it.
    let blocks_per_task = (16384 / block).max(1);
    let chunks = out
        .par_chunks_mut(block * blocks_per_task)
        .zip(bytes.par_chunks(block_bytes * blocks_per_task));
    match ty {
        GgmlType::F32 => chunks.for_each(|(o, b)| {
            for (v, c) in o.iter_mut().zip(b.chunks_exact(4)) {
                *v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }),
        GgmlType::F16 => chunks.for_each(|(o, b)| {
            for (v, c) in o.iter_mut().zip(b.chunks_exact(2)) {
                *v = f16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }),
        GgmlType::Bf16 => chunks.for_each(|(o, b)| {
            for (v, c) in o.iter_mut().zip(b.chunks_exact(2)) {
                *v = bf16::from_le_bytes([c[0], c[1]]).to_f32();
            }
        }),
        GgmlType::Q8_0 => chunks.for_each(|(o, b)| {
            for (vals, blk) in o.chunks_exact_mut(32).zip(b.chunks_exact(34)) {
                let d = half_at(blk, 0);
                for (v, &q) in vals.iter_mut().zip(&blk[2..34]) {
                    *v = d * (q as i8) as f32;
                }
            }
        }),
        GgmlType::Q4_0 => chunks.for_each(|(o, b)| {
            for (vals, blk) in o.chunks_exact_mut(32).zip(b.chunks_exact(18)) {
                let d = half_at(blk, 0);
                let (lo, hi) = vals.split_at_mut(16);
                for (j, &q) in blk[2..18].iter().enumerate() {
                    lo[j] = d * ((q & 0x0F) as i32 - 8) as f32;
                    hi[j] = d * ((q >> 4) as i32 - 8) as f32;
                }
            }
        }),
        GgmlType::Q4_1 => chunks.for_each(|(o, b)| {
            for (vals, blk) in o.chunks_exact_mut(32).zip(b.chunks_exact(20)) {
                let d = half_at(blk, 0);
                let m = half_at(blk, 2);
                let (lo, hi) = vals.split_at_mut(16);
                for (j, &q) in blk[4..20].iter().enumerate() {
                    lo[j] = d * (q & 0x0F) as f32 + m;
                    hi[j] = d * (q >> 4) as f32 + m;
                }
            }
        }),
        GgmlType::Other { .. } => {
            return Err(LlmError::tensor(
                name,
                format!(
                    "stored as {}, which wearlang cannot dequantise (F32, F16, BF16, Q8_0, \
                     Q4_0 and Q4_1 are supported)",
                    ty.name()
                ),
            ))
        }
    }
    Ok(out)
}

/// Quantise f32 values to Q8_0 blocks the way ggml does (`d = max|x| / 127`,
/// `q = round(x / d)`): for tests and for writing small GGUF files.
pub fn quantize_q8_0(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / 32 * 34);
    for blk in values.chunks(32) {
        let amax = blk.iter().fold(0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        for &v in blk {
            out.push((v * inv).round().clamp(-128.0, 127.0) as i8 as u8);
        }
    }
    out
}

/// Quantise f32 values to Q4_1 blocks the way ggml does (`d = (max − min) /
/// 15`, `m = min`, `q = round((x − m) / d)`): for tests and small files.
pub fn quantize_q4_1(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / 32 * 20);
    for blk in values.chunks(32) {
        let min = blk.iter().cloned().fold(f32::INFINITY, f32::min);
        let max = blk.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let d = (max - min) / 15.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        out.extend_from_slice(&f16::from_f32(min).to_le_bytes());
        let q = |v: f32| ((v - min) * inv).round().clamp(0.0, 15.0) as u8;
        for j in 0..16 {
            out.push(q(blk[j]) | (q(blk[j + 16]) << 4));
        }
    }
    out
}
