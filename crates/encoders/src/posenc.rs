//! Fixed sine-cosine position embeddings (MAE's 2-D variant over the
//! time × channel patch grid).

use tch::{Device, Kind, Tensor};

use crate::{EncoderError, Result};

/// 1-D sin-cos embedding `[len, dim]` (`dim` even): the first half sines,
/// the second half cosines, frequencies `1 / 10000^(2i/dim)`.
pub fn sincos_1d(positions: &[f64], dim: i64) -> Result<Vec<f32>> {
    if dim <= 0 || dim % 2 != 0 {
        return Err(EncoderError::config(
            "dim",
            format!("sin-cos needs an even width, got {dim}"),
        ));
    }
    let half = (dim / 2) as usize;
    let mut out = Vec::with_capacity(positions.len() * dim as usize);
    for &p in positions {
        let freq = |i: usize| p / 10000f64.powf(i as f64 / half as f64);
        out.extend((0..half).map(|i| freq(i).sin() as f32));
        out.extend((0..half).map(|i| freq(i).cos() as f32));
    }
    Ok(out)
}

/// 2-D sin-cos embedding `[rows · cols, dim]` for a grid in row-major order
/// (token `n = i · cols + j`): half the width encodes the row (time) index,
/// half the column (channel) index. `dim` must be a multiple of 4.
pub fn sincos_2d(rows: usize, cols: usize, dim: i64, device: Device) -> Result<Tensor> {
    if dim <= 0 || dim % 4 != 0 {
        return Err(EncoderError::config(
            "dim",
            format!("2-D sin-cos needs a width divisible by 4, got {dim}"),
        ));
    }
    let half = dim / 2;
    let row_emb = sincos_1d(&(0..rows).map(|i| i as f64).collect::<Vec<_>>(), half)?;
    let col_emb = sincos_1d(&(0..cols).map(|j| j as f64).collect::<Vec<_>>(), half)?;
    let h = half as usize;
    let mut out = Vec::with_capacity(rows * cols * dim as usize);
    for i in 0..rows {
        for j in 0..cols {
            out.extend_from_slice(&row_emb[i * h..(i + 1) * h]);
            out.extend_from_slice(&col_emb[j * h..(j + 1) * h]);
        }
    }
    Ok(Tensor::from_slice(&out)
        .reshape([(rows * cols) as i64, dim])
        .to_kind(Kind::Float)
        .to_device(device))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_d_values() {
        let e = sincos_1d(&[0.0, 1.0], 4).unwrap();
        // position 0: sin 0, sin 0, cos 0, cos 0
        assert_eq!(&e[..4], &[0.0, 0.0, 1.0, 1.0]);
        // position 1: sin(1), sin(1/100), cos(1), cos(1/100)
        let want = [1f64.sin(), 0.01f64.sin(), 1f64.cos(), 0.01f64.cos()];
        for (a, b) in e[4..].iter().zip(want) {
            assert!((*a as f64 - b).abs() < 1e-6);
        }
        assert!(sincos_1d(&[0.0], 3).is_err());
    }

    #[test]
    fn two_d_layout() {
        let t = sincos_2d(3, 2, 8, Device::Cpu).unwrap();
        assert_eq!(t.size(), [6, 8]);
        // Tokens in the same row share the first half; same column the second.
        let row = |n: i64| t.get(n).narrow(0, 0, 4);
        let col = |n: i64| t.get(n).narrow(0, 4, 4);
        assert!(row(2).equal(&row(3)));
        assert!(col(1).equal(&col(5)));
        assert!(!row(0).equal(&row(2)));
        assert!(sincos_2d(2, 2, 6, Device::Cpu).is_err());
    }
}
