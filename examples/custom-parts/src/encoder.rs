//! `stats_mlp`: a sensor encoder that summarises each channel by the mean
//! and standard deviation of its observed values and maps them through a
//! two-layer MLP. Missing values (NaN, or the `missing` mask) are left out
//! of the statistics, never imputed.

use tch::{nn, nn::Module, Kind, Tensor};
use wearlang_encoders::{EncoderError, SensorEncoder, SensorOutput};
use wearlang_models::SensorEncoderFactory;

/// The encoder.
pub struct StatsMlp {
    fc1: nn::Linear,
    fc2: nn::Linear,
    steps: usize,
    channels: usize,
    dim: i64,
}

impl StatsMlp {
    /// Build under `p` for windows of `steps × channels`.
    pub fn new(p: nn::Path, steps: usize, channels: usize, hidden: i64, dim: i64) -> Self {
        let c = channels as i64;
        StatsMlp {
            fc1: nn::linear(&p / "fc1", 2 * c, hidden, Default::default()),
            fc2: nn::linear(&p / "fc2", hidden, dim, Default::default()),
            steps,
            channels,
            dim,
        }
    }
}

impl SensorEncoder for StatsMlp {
    fn encode(
        &self,
        x: &Tensor,
        missing: Option<&Tensor>,
        _train: bool,
    ) -> wearlang_encoders::Result<SensorOutput> {
        let size = x.size();
        if size.len() != 3 || size[1] != self.steps as i64 || size[2] != self.channels as i64 {
            return Err(EncoderError::Shape(format!(
                "stats_mlp expects windows [B, {}, {}], got {size:?}",
                self.steps, self.channels
            )));
        }
        let (features, any) = channel_statistics(x, missing);
        let pooled = self.fc2.forward(&self.fc1.forward(&features).gelu("none"))
            * any.to_kind(Kind::Float).unsqueeze(-1);
        Ok(SensorOutput {
            tokens: pooled.unsqueeze(1),
            token_mask: any.unsqueeze(1),
            pooled,
        })
    }

    fn dim(&self) -> i64 {
        self.dim
    }

    fn window_shape(&self) -> (usize, usize) {
        (self.steps, self.channels)
    }
}

/// Per-channel statistics of windows `[B, T, C]` over their observed values
/// (NaN and `missing` left out): `[B, 2C]` features (the C means, then the
/// C standard deviations, `sqrt(var + 1e-6)`), and `[B]` whether a window
/// has any observed value.
pub fn channel_statistics(x: &Tensor, missing: Option<&Tensor>) -> (Tensor, Tensor) {
    let mut miss = x.isnan();
    if let Some(m) = missing {
        miss = miss.logical_or(m);
    }
    let observed = miss.logical_not();
    let w = observed.to_kind(Kind::Float);
    let xz = x.where_self(&observed, &x.zeros_like());
    let n = w.sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    let count = n.clamp_min(1.0);
    let mean = xz.sum_dim_intlist([1i64].as_slice(), false, Kind::Float) / &count;
    let centred = (&xz - mean.unsqueeze(1)) * &w;
    let var = centred
        .square()
        .sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
        / &count;
    let features = Tensor::cat(&[&mean, &(var + 1e-6).sqrt()], -1);
    let any = n
        .sum_dim_intlist([-1i64].as_slice(), false, Kind::Float)
        .gt(0.0);
    (features, any)
}

/// Its factory: `params` `hidden` (default 128) and `dim` (default 64).
pub struct StatsMlpFactory;

fn int(params: &serde_json::Map<String, serde_json::Value>, key: &str, default: i64) -> i64 {
    params.get(key).and_then(|v| v.as_i64()).unwrap_or(default)
}

impl SensorEncoderFactory for StatsMlpFactory {
    fn build(
        &self,
        p: nn::Path,
        steps: usize,
        channels: usize,
        params: &serde_json::Map<String, serde_json::Value>,
        saved: Option<&serde_json::Value>,
    ) -> wearlang_models::Result<(Box<dyn SensorEncoder>, serde_json::Value)> {
        // A checkpoint's record wins over the config, so a model loads as trained.
        let (hidden, dim) = match saved {
            Some(s) => (
                s["hidden"].as_i64().unwrap_or(128),
                s["dim"].as_i64().unwrap_or(64),
            ),
            None => (int(params, "hidden", 128), int(params, "dim", 64)),
        };
        if hidden < 1 || dim < 1 {
            return Err(wearlang_models::ModelError::config(
                "sensor.params",
                format!("hidden ({hidden}) and dim ({dim}) must be at least 1"),
            ));
        }
        let enc = StatsMlp::new(p, steps, channels, hidden, dim);
        let record = serde_json::json!({ "hidden": hidden, "dim": dim });
        Ok((Box::new(enc), record))
    }
}
