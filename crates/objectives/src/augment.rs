//! Sensor augmentations for SimCLR / SLIP views, on `[B, T, C]` windows
//! (NaN = missing), seeded and reproducible (randomness from ChaCha8, not
//! libtorch's global generator).
//!
//! Jitter and scaling keep every NaN where it was; rotation makes a time
//! step of a triplet missing on all three axes when any axis is missing (a
//! vector that is not fully known cannot be rotated); channel dropout
//! adds NaN (a dropped channel becomes missing, which AIM encoders mask);
//! time warp moves values in time, and with them the missing pattern (a
//! warped value is missing when a neighbour it interpolates from is);
//! mean removal keeps every NaN where it was (the mean is over the observed
//! steps); downsampling keeps a step's value only where a kept sample it
//! interpolates from is observed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::{ObjectiveError, Result};

/// One augmentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Augmentation {
    /// Add N(0, σ²) noise.
    Jitter {
        /// σ.
        sigma: f64,
    },
    /// Multiply each channel of each window by a factor ~ N(1, σ²).
    Scaling {
        /// σ.
        sigma: f64,
    },
    /// Rotate each listed channel triplet (x, y, z of an IMU sensor) by one
    /// uniformly random 3-D rotation per window.
    Rotation {
        /// Channel index triplets, e.g. `[[0, 1, 2], [3, 4, 5]]`.
        triplets: Vec<[usize; 3]>,
    },
    /// Warp time smoothly: speeds ~ N(1, σ²) at `knots` points, linearly
    /// interpolated, integrated and rescaled to the window.
    TimeWarp {
        /// Interior knots.
        knots: usize,
        /// σ of the speeds.
        sigma: f64,
    },
    /// Make each channel of each window missing with probability `p`
    /// (never all channels of a window).
    ChannelDropout {
        /// Probability.
        p: f64,
    },
    /// With probability `p` per window, remove the listed channels' mean
    /// over the window (over its observed steps): an accelerometer then
    /// reads as one that reports no gravity (linear acceleration, as some
    /// watches export), and a sensor offset goes. Training on both forms
    /// keeps posture where gravity is there and teaches the gravity-free
    /// form too.
    RemoveMean {
        /// Channel indices, e.g. `[0, 1, 2]` for an accelerometer.
        channels: Vec<usize>,
        /// Probability per window.
        p: f64,
    },
    /// With probability `p` per window, keep one sample in `k` (`k` drawn
    /// uniformly from `factors`, at a random phase) and interpolate
    /// linearly between the kept ones (holding the first and last): the
    /// window then reads as one recorded at 1/k of the rate and resampled
    /// up, as a 10 Hz watch resampled to 50 Hz does (`k = 5`).
    Downsample {
        /// Rate factors to draw from, each ≥ 1 (e.g. `[2, 5]`).
        factors: Vec<usize>,
        /// Probability per window.
        p: f64,
    },
}

/// Apply `augs` in order to `x` `[B, T, C]` with randomness from `seed`.
pub fn augment(x: &Tensor, augs: &[Augmentation], seed: u64) -> Result<Tensor> {
    let size = x.size();
    if size.len() != 3 || !x.is_floating_point() {
        return Err(ObjectiveError::Shape(format!(
            "augment: windows must be a float [B, T, C] tensor, got {:?} {size:?}",
            x.kind()
        )));
    }
    let (b, t, c) = (size[0] as usize, size[1] as usize, size[2] as usize);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let device = x.device();
    let mut out = x.to_kind(Kind::Float);
    let normal = |sigma: f64, name: &'static str| {
        Normal::new(0.0, sigma).map_err(|e| ObjectiveError::Param {
            name,
            reason: e.to_string(),
        })
    };
    for aug in augs {
        out = match aug {
            Augmentation::Jitter { sigma } => {
                let n = normal(*sigma, "sigma")?;
                let v: Vec<f32> = (0..b * t * c).map(|_| n.sample(&mut rng) as f32).collect();
                &out + Tensor::from_slice(&v)
                    .reshape(size.as_slice())
                    .to_device(device)
            }
            Augmentation::Scaling { sigma } => {
                let n = normal(*sigma, "sigma")?;
                let v: Vec<f32> = (0..b * c)
                    .map(|_| 1.0 + n.sample(&mut rng) as f32)
                    .collect();
                &out * Tensor::from_slice(&v)
                    .reshape([b as i64, 1, c as i64])
                    .to_device(device)
            }
            Augmentation::Rotation { triplets } => {
                if let Some(bad) = triplets.iter().flatten().find(|&&i| i >= c) {
                    return Err(ObjectiveError::Param {
                        name: "triplets",
                        reason: format!("channel {bad} does not exist (windows have {c})"),
                    });
                }
                let mut cols: Vec<Tensor> = (0..c as i64).map(|j| out.select(2, j)).collect();
                for tri in triplets {
                    let mats: Vec<f32> = (0..b).flat_map(|_| random_rotation(&mut rng)).collect();
                    let r = Tensor::from_slice(&mats)
                        .reshape([b as i64, 3, 3])
                        .to_device(device);
                    let v = Tensor::stack(&[&cols[tri[0]], &cols[tri[1]], &cols[tri[2]]], 2); // [B, T, 3]
                    let rotated = v.matmul(&r.transpose(1, 2)); // each row vᵀ → (R v)ᵀ
                    for (k, &ch) in tri.iter().enumerate() {
                        cols[ch] = rotated.select(2, k as i64);
                    }
                }
                Tensor::stack(&cols, 2)
            }
            Augmentation::TimeWarp { knots, sigma } => {
                let n = normal(*sigma, "sigma")?;
                let mut idx = Vec::with_capacity(b * t);
                for _ in 0..b {
                    idx.extend(warp_positions(t, *knots, &n, &mut rng));
                }
                let mut lo = Vec::with_capacity(b * t);
                let mut hi = Vec::with_capacity(b * t);
                let mut w = Vec::with_capacity(b * t);
                for &pos in &idx {
                    let l = (pos.floor() as i64).clamp(0, t as i64 - 1);
                    lo.push(l);
                    hi.push((l + 1).min(t as i64 - 1));
                    w.push(pos - l as f32);
                }
                interpolate(&out, (&lo, &hi, &w))
            }
            Augmentation::ChannelDropout { p } => {
                if !(0.0..1.0).contains(p) {
                    return Err(ObjectiveError::Param {
                        name: "p",
                        reason: format!("must be in [0, 1), got {p}"),
                    });
                }
                let mut keep = vec![1.0f32; b * c];
                for w in 0..b {
                    let drop: Vec<bool> = (0..c).map(|_| rng.random::<f64>() < *p).collect();
                    if drop.iter().all(|&d| d) {
                        continue; // never drop every channel
                    }
                    for (j, d) in drop.iter().enumerate() {
                        if *d {
                            keep[w * c + j] = f32::NAN;
                        }
                    }
                }
                &out * Tensor::from_slice(&keep)
                    .reshape([b as i64, 1, c as i64])
                    .to_device(device)
            }
            Augmentation::RemoveMean { channels, p } => {
                if !(0.0..=1.0).contains(p) {
                    return Err(ObjectiveError::Param {
                        name: "p",
                        reason: format!("must be in [0, 1], got {p}"),
                    });
                }
                if let Some(bad) = channels.iter().find(|&&i| i >= c) {
                    return Err(ObjectiveError::Param {
                        name: "channels",
                        reason: format!("channel {bad} does not exist (windows have {c})"),
                    });
                }
                // 1 where a (window, channel) loses its mean.
                let mut pick = vec![0.0f32; b * c];
                for w in 0..b {
                    if rng.random::<f64>() < *p {
                        for &j in channels {
                            pick[w * c + j] = 1.0;
                        }
                    }
                }
                let pick = Tensor::from_slice(&pick)
                    .reshape([b as i64, 1, c as i64])
                    .to_device(device);
                let observed = out.isnan().logical_not().to_kind(Kind::Float);
                let sum = out
                    .nan_to_num(0.0, None, None)
                    .sum_dim_intlist(1, true, Kind::Float);
                let mean = sum
                    / observed
                        .sum_dim_intlist(1, true, Kind::Float)
                        .clamp_min(1.0);
                &out - mean * pick
            }
            Augmentation::Downsample { factors, p } => {
                if !(0.0..=1.0).contains(p) {
                    return Err(ObjectiveError::Param {
                        name: "p",
                        reason: format!("must be in [0, 1], got {p}"),
                    });
                }
                if factors.is_empty() || factors.contains(&0) {
                    return Err(ObjectiveError::Param {
                        name: "factors",
                        reason: format!("must be a non-empty list of factors ≥ 1, got {factors:?}"),
                    });
                }
                let (mut lo, mut hi, mut w) = (
                    Vec::with_capacity(b * t),
                    Vec::with_capacity(b * t),
                    Vec::with_capacity(b * t),
                );
                for _ in 0..b {
                    let k = if rng.random::<f64>() < *p {
                        factors[rng.random_range(0..factors.len())]
                    } else {
                        1
                    };
                    let phase = rng.random_range(0..k.min(t).max(1));
                    downsample_positions(t, k, phase, (&mut lo, &mut hi, &mut w));
                }
                interpolate(&out, (&lo, &hi, &w))
            }
        };
    }
    Ok(out)
}

/// `x` `[B, T, C]` read at fractional steps: step `i` of window `b` is
/// `x[lo] + (x[hi] − x[lo]) · w` with `lo`, `hi`, `w` at `b · T + i`
/// (NaN where either end is NaN).
fn interpolate(x: &Tensor, (lo, hi, w): (&[i64], &[i64], &[f32])) -> Tensor {
    let size = x.size();
    let (b, t, c) = (size[0], size[1], size[2]);
    let device = x.device();
    let index = |i: &[i64]| {
        Tensor::from_slice(i)
            .reshape([b, t, 1])
            .to_device(device)
            .expand([b, t, c], false)
    };
    let a = x.gather(1, &index(lo), false);
    let z = x.gather(1, &index(hi), false);
    let w = Tensor::from_slice(w).reshape([b, t, 1]).to_device(device);
    &a + (&z - &a) * w
}

/// Append one window's interpolation (`lo`, `hi`, `w` of [`interpolate`])
/// for keeping samples `phase, phase + k, …` of `t` steps: steps before
/// the first kept sample and after the last hold it.
fn downsample_positions(
    t: usize,
    k: usize,
    phase: usize,
    (lo, hi, w): (&mut Vec<i64>, &mut Vec<i64>, &mut Vec<f32>),
) {
    if t == 0 {
        return;
    }
    let last = phase + (t - 1 - phase) / k * k;
    for i in 0..t {
        let (l, h, f) = if i <= phase {
            (phase, phase, 0.0)
        } else if i >= last {
            (last, last, 0.0)
        } else {
            let l = phase + (i - phase) / k * k;
            (l, l + k, (i - l) as f32 / k as f32)
        };
        lo.push(l as i64);
        hi.push(h as i64);
        w.push(f);
    }
}

/// A uniformly random rotation matrix (row-major 3 × 3) from a random unit
/// quaternion.
fn random_rotation(rng: &mut ChaCha8Rng) -> [f32; 9] {
    let n = Normal::new(0.0f64, 1.0).expect("unit normal");
    let mut q = [0.0f64; 4];
    loop {
        for v in &mut q {
            *v = n.sample(rng);
        }
        let norm = q.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm > 1e-9 {
            q.iter_mut().for_each(|v| *v /= norm);
            break;
        }
    }
    let [w, x, y, z] = q;
    [
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y - w * z),
        2.0 * (x * z + w * y),
        2.0 * (x * y + w * z),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z - w * x),
        2.0 * (x * z - w * y),
        2.0 * (y * z + w * x),
        1.0 - 2.0 * (x * x + y * y),
    ]
    .map(|v| v as f32)
}

/// Sample positions `0 ≤ pos ≤ t − 1` (monotone) of a smooth time warp.
fn warp_positions(t: usize, knots: usize, n: &Normal<f64>, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let k = knots + 2;
    let speeds: Vec<f64> = (0..k).map(|_| (1.0 + n.sample(rng)).max(0.1)).collect();
    let speed_at = |i: usize| {
        let x = i as f64 / (t.max(2) - 1) as f64 * (k - 1) as f64;
        let j = (x.floor() as usize).min(k - 2);
        let f = x - j as f64;
        speeds[j] * (1.0 - f) + speeds[j + 1] * f
    };
    let mut cum = Vec::with_capacity(t);
    let mut acc = 0.0;
    for i in 0..t {
        cum.push(acc);
        acc += speed_at(i);
    }
    let last = cum.last().copied().unwrap_or(0.0).max(1e-9);
    cum.into_iter()
        .map(|v| (v / last * (t - 1) as f64) as f32)
        .collect()
}
