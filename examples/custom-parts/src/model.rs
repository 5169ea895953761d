//! `StatsTextModel`: a fork's own sensor-language model that is not a
//! `wearlang_models::SensorLanguageModel`, evaluated by wearlang's built-in
//! protocols through `wearlang_models::SensorTextModel`.
//!
//! - Sensor side: the per-channel statistics of the observed values
//!   ([`crate::encoder::channel_statistics`], the frozen features), then a
//!   linear sensor head, initialised as a fixed seeded random projection.
//! - Text side: a hashed bag of words (each lower-case word a fixed seeded
//!   random vector; a text is the mean of its words', the frozen features),
//!   then a linear text head, initialised likewise.
//!
//! Both heads are [`ProjectionHeads`], so few-shot adaptation trains them;
//! the model has no captioning decoder and no `SensorLanguageConfig`, so the
//! captioning and unseen-activities protocols are skipped with the reason.

use rand::{Rng, SeedableRng};
use tch::nn::{self, Module, VarStore};
use tch::{Device, Kind, Tensor};
use wearlang_models::{ModelError, ProjectionHeads, Result, SensorTextModel};
use wearlang_objectives::normalize;

use crate::encoder::channel_statistics;

/// The model (on the CPU).
pub struct StatsTextModel {
    vs: VarStore,
    sensor_head: nn::Linear,
    text_head: nn::Linear,
    words_dim: i64,
    seed: u64,
    name: String,
}

/// `rows × cols` values uniform in `[-scale, scale)`, seeded.
fn uniform(rows: i64, cols: i64, scale: f32, seed: u64) -> Tensor {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let v: Vec<f32> = (0..rows * cols)
        .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
        .collect();
    Tensor::from_slice(&v).reshape([rows, cols])
}

/// FNV-1a, a stable hash of a word.
fn fnv1a(word: &str) -> u64 {
    word.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

impl StatsTextModel {
    /// A model for windows of `channels` channels, embedding into `dim`
    /// dimensions from `words_dim`-dimensional word vectors; `seed` fixes
    /// the word vectors and the heads' initial projections.
    pub fn new(channels: usize, words_dim: i64, dim: i64, seed: u64) -> Result<Self> {
        if channels == 0 || words_dim < 1 || dim < 1 {
            return Err(ModelError::config(
                "stats_text",
                format!("channels ({channels}), words_dim ({words_dim}) and dim ({dim}) must be at least 1"),
            ));
        }
        let vs = VarStore::new(Device::Cpu);
        let features = 2 * channels as i64;
        let sensor_head = nn::linear(vs.root() / "sensor_head", features, dim, Default::default());
        let text_head = nn::linear(vs.root() / "text_head", words_dim, dim, Default::default());
        tch::no_grad(|| {
            let mut ws = sensor_head.ws.shallow_clone();
            ws.copy_(&uniform(dim, features, 1.0, seed ^ 1));
            let mut wt = text_head.ws.shallow_clone();
            wt.copy_(&uniform(dim, words_dim, 1.0, seed ^ 2));
            for b in [&sensor_head.bs, &text_head.bs].into_iter().flatten() {
                let _ = b.shallow_clone().zero_();
            }
        });
        Ok(StatsTextModel {
            vs,
            sensor_head,
            text_head,
            words_dim,
            seed,
            name: "stats-text".into(),
        })
    }

    /// The hashed bag of words of `text` `[words_dim]`: the mean of its
    /// lower-case words' vectors (zeros without words).
    fn bag_of_words(&self, text: &str) -> Vec<f32> {
        let mut sum = vec![0f32; self.words_dim as usize];
        let mut n = 0usize;
        let lower = text.to_lowercase();
        for word in lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let mut rng = rand::rngs::StdRng::seed_from_u64(fnv1a(word) ^ self.seed);
            for s in &mut sum {
                *s += rng.random::<f32>() * 2.0 - 1.0;
            }
            n += 1;
        }
        sum.iter().map(|s| s / n.max(1) as f32).collect()
    }
}

impl SensorTextModel for StatsTextModel {
    fn run_name(&self) -> &str {
        &self.name
    }

    fn training_steps(&self) -> u64 {
        0
    }

    fn device(&self) -> Device {
        Device::Cpu
    }

    /// Its two sides share one space (a random one until few-shot
    /// adaptation trains the heads).
    fn has_text_alignment(&self) -> bool {
        true
    }

    fn embed_windows(&self, x: &Tensor, batch: usize) -> Result<Tensor> {
        let f = self.sensor_features(x, batch)?;
        Ok(tch::no_grad(|| normalize(&self.sensor_head.forward(&f))))
    }

    fn embed_texts(&self, texts: &[String], batch: usize) -> Result<Tensor> {
        let f = self.text_features(texts, batch)?;
        Ok(tch::no_grad(|| normalize(&self.text_head.forward(&f))))
    }

    fn sensor_features(&self, x: &Tensor, _batch: usize) -> Result<Tensor> {
        if x.dim() != 3 {
            return Err(ModelError::Data(format!(
                "stats-text expects windows [N, T, C], got {:?}",
                x.size()
            )));
        }
        let x = x.to_device(Device::Cpu).to_kind(Kind::Float);
        Ok(tch::no_grad(|| channel_statistics(&x, None).0))
    }

    fn heads(&self) -> Option<&dyn ProjectionHeads> {
        Some(self)
    }
}

impl ProjectionHeads for StatsTextModel {
    fn var_store(&self) -> &VarStore {
        &self.vs
    }

    fn head_variables(&self) -> Vec<String> {
        let mut names: Vec<String> = self.vs.variables().into_keys().collect();
        names.sort();
        names
    }

    fn text_features(&self, texts: &[String], _batch: usize) -> Result<Tensor> {
        if texts.is_empty() {
            return Err(ModelError::Data("no texts to embed".into()));
        }
        let v: Vec<f32> = texts.iter().flat_map(|t| self.bag_of_words(t)).collect();
        Ok(Tensor::from_slice(&v).reshape([texts.len() as i64, self.words_dim]))
    }

    fn project_sensor(&self, features: &Tensor) -> Result<Tensor> {
        Ok(self.sensor_head.forward(features))
    }

    fn project_text(&self, features: &Tensor) -> Result<Tensor> {
        Ok(self.text_head.forward(features))
    }
}
