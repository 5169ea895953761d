//! The robustness protocol (LSM-2): remove a share of the patches of test
//! windows, embed them with the frozen encoder, and classify with a linear
//! probe trained on clean training windows. AIM encodes the windows with the
//! removed patches hidden by attention; the LSM-1 way fills the gaps by
//! linear interpolation first and encodes the filled signal. With
//! [`RobustnessConfig::matched_probe`] a second probe per draw is fit on
//! training windows with the same share removed (another draw) and the same
//! gap handling: what is lost to the missing data itself rather than to a
//! probe that never saw gaps.

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};
use wearlang_encoders::{PatchTransformer, SensorEncoder};
use wearlang_masking::{artificial_masks, InheritedMask, RandomMask};
use wearlang_metrics::{ClassificationReport, MeanStd};

use crate::fill::interpolate_linear;
use crate::probe::{LinearProbe, ProbeConfig};
use crate::{EvalError, Result};

/// How the encoder sees windows with removed patches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapHandling {
    /// Removed patches are masked out of attention (no imputation).
    Aim,
    /// Gaps are filled by linear interpolation, then encoded as complete.
    Imputed,
}

impl GapHandling {
    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            GapHandling::Aim => "AIM (attention-masked)",
            GapHandling::Imputed => "impute, then encode",
        }
    }
}

/// Which training windows a robustness row's probe was fit on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeFit {
    /// Clean training windows (the LSM-2 protocol).
    #[default]
    Clean,
    /// Training windows with the same share of patches removed (another
    /// draw), handled as the test windows are.
    Matched,
}

impl ProbeFit {
    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeFit::Clean => "clean",
            ProbeFit::Matched => "same share removed",
        }
    }
}

/// Protocol settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RobustnessConfig {
    /// Shares of patches removed from the test windows.
    pub fractions: Vec<f32>,
    /// Windows per forward pass.
    pub batch_size: usize,
    /// Seed of the first draw of removed patches.
    pub seed: u64,
    /// Draws of removed patches per share (seeds `seed`, `seed + 1`, …);
    /// a row reports the mean and standard deviation over them.
    pub repeats: usize,
    /// The probe.
    pub probe: ProbeConfig,
    /// Also fit a probe per draw on training windows with the same share
    /// removed and the same gap handling ([`ProbeFit::Matched`] rows).
    pub matched_probe: bool,
}

impl Default for RobustnessConfig {
    fn default() -> Self {
        RobustnessConfig {
            fractions: vec![0.0, 0.25, 0.5],
            batch_size: 256,
            seed: 23,
            repeats: 5,
            probe: ProbeConfig::default(),
            matched_probe: true,
        }
    }
}

/// One cell of the robustness table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustnessRow {
    /// Share of patches removed.
    pub fraction: f32,
    /// How gaps were handled.
    pub handling: GapHandling,
    /// The training windows of the probe (reports written before matched
    /// probes say nothing: clean).
    #[serde(default)]
    pub probe: ProbeFit,
    /// Macro-F1 on the test windows (mean over the draws).
    pub macro_f1: f64,
    /// Accuracy on the test windows (mean over the draws).
    pub accuracy: f64,
    /// Standard deviation of macro-F1 over the draws (0 for one draw).
    #[serde(default)]
    pub macro_f1_sd: f64,
    /// Draws of removed patches behind the row (1 when nothing is removed;
    /// reports written before draws were repeated say 1).
    #[serde(default = "one")]
    pub draws: usize,
}

fn one() -> usize {
    1
}

/// Added to a test draw's seed for the training windows' draw of a matched
/// probe, so that no training window loses the same patches as a test one
/// by construction.
const TRAIN_DRAW_OFFSET: u64 = 0x7261_696e;

/// Pooled embeddings `[N, D]` of `x` (`[N, T, C]`, NaN = missing) on the CPU.
pub fn embed_windows(
    encoder: &dyn SensorEncoder,
    x: &Tensor,
    batch_size: usize,
    device: Device,
) -> Result<Tensor> {
    let n = x.size()[0];
    let mut parts = Vec::new();
    tch::no_grad(|| -> Result<()> {
        for start in (0..n).step_by(batch_size.max(1)) {
            let len = (n - start).min(batch_size.max(1) as i64);
            let out = encoder.encode(&x.narrow(0, start, len).to_device(device), None, false)?;
            parts.push(out.pooled.to_device(Device::Cpu));
        }
        Ok(())
    })?;
    if parts.is_empty() {
        return Err(EvalError::Data("embed: no windows".into()));
    }
    Ok(Tensor::cat(&parts, 0))
}

/// Remove `fraction` of the observed patches of every window (set to NaN).
pub fn remove_patches(
    encoder: &PatchTransformer,
    x: &Tensor,
    fraction: f32,
    seed: u64,
) -> Result<Tensor> {
    if fraction == 0.0 {
        return Ok(x.shallow_clone());
    }
    let spec = encoder.patch_spec();
    let grid = encoder.grid();
    let inherited =
        InheritedMask::new(encoder.config().min_missing_fraction)?.from_tensor(&spec, x)?;
    let hide = artificial_masks(&RandomMask::new(fraction)?, &inherited, grid, seed)?;
    let values = spec.token_mask_to_values(&hide, grid)?;
    Ok(x.where_self(
        &values.logical_not(),
        &Tensor::from(f32::NAN).to_device(x.device()),
    ))
}

/// Fill every window's NaNs by linear interpolation (0 for empty channels:
/// the training mean in normalised units).
pub fn impute_linear(x: &Tensor) -> Result<Tensor> {
    let size = x.size();
    let flat = Vec::<f32>::try_from(x.to_device(Device::Cpu).flatten(0, -1))?;
    let per = (size[1] * size[2]) as usize;
    let c = size[2] as usize;
    let zeros = vec![0.0; c];
    let mut out = Vec::with_capacity(flat.len());
    for w in flat.chunks(per.max(1)) {
        out.extend(interpolate_linear(w, c, &zeros));
    }
    Ok(Tensor::from_slice(&out).reshape(size).to_device(x.device()))
}

/// Run the protocol: `train_x`/`train_y` (clean) fit the probe, `test_x`
/// /`test_y` are degraded and classified. Labels are `[N]` int64.
pub fn evaluate_robustness(
    encoder: &PatchTransformer,
    train_x: &Tensor,
    train_y: &Tensor,
    test_x: &Tensor,
    test_y: &Tensor,
    n_classes: usize,
    cfg: &RobustnessConfig,
) -> Result<Vec<RobustnessRow>> {
    if cfg.repeats == 0 {
        return Err(EvalError::param("repeats", "must be at least 1"));
    }
    let device = encoder.device();
    let train_emb = embed_windows(encoder, train_x, cfg.batch_size, device)?;
    let probe = LinearProbe::fit(&train_emb, train_y, n_classes, &cfg.probe)?;
    let truth: Vec<usize> = Vec::<i64>::try_from(test_y.to_device(Device::Cpu))?
        .into_iter()
        .map(|v| v as usize)
        .collect();
    let handlings = [GapHandling::Aim, GapHandling::Imputed];
    let handle = |x: &Tensor, h: GapHandling| match h {
        GapHandling::Aim => Ok(x.shallow_clone()),
        GapHandling::Imputed => impute_linear(x),
    };
    let mut rows = Vec::new();
    for &fraction in &cfg.fractions {
        // Nothing removed: one input whatever the seed, and the matched
        // probe is the clean one.
        let draws = if fraction == 0.0 { 1 } else { cfg.repeats };
        let fits: &[ProbeFit] = if cfg.matched_probe && fraction > 0.0 {
            &[ProbeFit::Clean, ProbeFit::Matched]
        } else {
            &[ProbeFit::Clean]
        };
        // (macro-F1s, accuracies) per probe fit and handling.
        let mut scores = vec![[(Vec::new(), Vec::new()), (Vec::new(), Vec::new())]; fits.len()];
        for draw in 0..draws {
            let seed = cfg.seed + draw as u64;
            let degraded = remove_patches(encoder, test_x, fraction, seed)?;
            // The training windows' own draw: another seed than any test draw.
            let train_degraded = if fits.len() > 1 {
                Some(remove_patches(
                    encoder,
                    train_x,
                    fraction,
                    seed.wrapping_add(TRAIN_DRAW_OFFSET),
                )?)
            } else {
                None
            };
            for (h, &handling) in handlings.iter().enumerate() {
                if fraction == 0.0 && handling == GapHandling::Imputed {
                    continue; // identical input
                }
                let emb = embed_windows(
                    encoder,
                    &handle(&degraded, handling)?,
                    cfg.batch_size,
                    device,
                )?;
                for (f, &fit) in fits.iter().enumerate() {
                    let pred = match (fit, &train_degraded) {
                        (ProbeFit::Matched, Some(tr)) => {
                            let tr_emb = embed_windows(
                                encoder,
                                &handle(tr, handling)?,
                                cfg.batch_size,
                                device,
                            )?;
                            LinearProbe::fit(&tr_emb, train_y, n_classes, &cfg.probe)?
                                .predict(&emb)?
                        }
                        _ => probe.predict(&emb)?,
                    };
                    let report = ClassificationReport::compute(&truth, &pred, n_classes)?;
                    scores[f][h].0.push(report.macro_f1);
                    scores[f][h].1.push(report.accuracy);
                }
            }
        }
        for (&fit, per_handling) in fits.iter().zip(scores) {
            for (handling, (f1, acc)) in handlings.into_iter().zip(per_handling) {
                if f1.is_empty() {
                    continue;
                }
                let f1 = MeanStd::from_values(&f1)?;
                rows.push(RobustnessRow {
                    fraction,
                    handling,
                    probe: fit,
                    macro_f1: f1.mean,
                    accuracy: MeanStd::from_values(&acc)?.mean,
                    macro_f1_sd: f1.std,
                    draws: f1.n,
                });
            }
        }
    }
    Ok(rows)
}
