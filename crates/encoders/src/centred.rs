//! [`WindowCentred`]: per-window centring in front of any sensor encoder.
//!
//! Each channel's mean over the window's observed steps is subtracted
//! before the inner encoder sees the window. For motion data this removes
//! gravity (whose direction depends on how the device is worn and held)
//! and constant sensor offsets, so that a model trained on a phone at the
//! waist with gravity in its accelerometer reads a watch whose
//! accelerometer reports linear acceleration alike. What it loses is
//! the same thing: posture, which a still device shows only through the
//! direction of gravity. Missing values (NaN) stay missing and do not enter
//! the mean.

use tch::Tensor;

use crate::sensor::{missing_mask, SensorEncoder, SensorOutput};
use crate::Result;

/// A sensor encoder that reads windows with each channel's per-window
/// mean removed. It has no variables of its own: a checkpoint of the inner
/// encoder loads into it unchanged.
pub struct WindowCentred {
    inner: Box<dyn SensorEncoder>,
}

impl WindowCentred {
    /// Wrap `inner`.
    pub fn new(inner: Box<dyn SensorEncoder>) -> Self {
        Self { inner }
    }

    /// `x` `[B, T, C]` with each channel's mean over its observed steps
    /// removed (NaN stays NaN; a channel with no observed step is left as
    /// it is).
    pub fn centre(&self, x: &Tensor, missing: Option<&Tensor>) -> Result<Tensor> {
        let (steps, channels) = self.inner.window_shape();
        let m = missing_mask(x, missing, steps, channels)?;
        let observed = m.logical_not();
        let filled = x.where_self(&observed, &x.zeros_like());
        let count = observed.sum_dim_intlist(1, true, x.kind()).clamp_min(1.0);
        let mean = filled.sum_dim_intlist(1, true, x.kind()) / count;
        Ok(x - mean)
    }
}

impl SensorEncoder for WindowCentred {
    fn encode(&self, x: &Tensor, missing: Option<&Tensor>, train: bool) -> Result<SensorOutput> {
        let centred = self.centre(x, missing)?;
        self.inner.encode(&centred, missing, train)
    }

    fn dim(&self) -> i64 {
        self.inner.dim()
    }

    fn window_shape(&self) -> (usize, usize) {
        self.inner.window_shape()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConvEncoder, ConvEncoderConfig};
    use tch::{nn, Device, Kind};

    fn encoder() -> (nn::VarStore, WindowCentred) {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let enc = ConvEncoder::new(vs.root() / "sensor", &ConvEncoderConfig::nls(20, 3)).unwrap();
        (vs, WindowCentred::new(Box::new(enc)))
    }

    #[test]
    fn offsets_per_window_and_channel_do_not_change_the_embedding() {
        let (_vs, enc) = encoder();
        let x = Tensor::randn([4, 20, 3], (Kind::Float, Device::Cpu));
        // A different constant per window and channel (gravity, an offset).
        let shift = Tensor::randn([4, 1, 3], (Kind::Float, Device::Cpu)) * 5.0;
        let a = enc.encode(&x, None, false).unwrap().pooled;
        let b = enc.encode(&(&x + &shift), None, false).unwrap().pooled;
        assert!(a.allclose(&b, 1e-4, 1e-4, false));
        // Scaling is not removed: intensity stays visible.
        let c = enc.encode(&(&x * 3.0), None, false).unwrap().pooled;
        assert!(!a.allclose(&c, 1e-3, 1e-3, false));
    }

    #[test]
    fn the_mean_skips_missing_steps_and_nan_stays_missing() {
        let (_vs, enc) = encoder();
        let x = Tensor::from_slice(&[1.0f32, 2.0, f32::NAN, 6.0]).view([1, 4, 1]);
        let x = x.repeat([1, 5, 3]);
        let c = enc.centre(&x, None).unwrap();
        // Observed mean of each channel: (1 + 2 + 6) × 5 / 15 = 3.
        let v = Vec::<f32>::try_from(c.flatten(0, -1)).unwrap();
        assert_eq!(v[0], -2.0); // step 0 holds 1.0
        assert_eq!(v[3], -1.0); // step 1 holds 2.0
        assert_eq!(v[3 * 3 + 2], 3.0); // step 3 holds 6.0
        assert!(v[2 * 3].is_nan());
        assert!(enc
            .centre(&Tensor::zeros([1, 5, 3], (Kind::Float, Device::Cpu)), None)
            .is_err());
    }
}
