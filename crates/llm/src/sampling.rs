//! Next-token choice: greedy, or seeded sampling with temperature, top-k and
//! top-p (nucleus) filtering.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{LlmError, Result};

/// How the next token is chosen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sampling {
    /// Softmax temperature; 0 means greedy (argmax).
    pub temperature: f64,
    /// Keep only the `top_k` most likely tokens (0: all).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches `top_p`
    /// (1: all).
    pub top_p: f64,
    /// Seed of the sampler's generator.
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

impl Sampling {
    /// Greedy decoding.
    pub fn greedy() -> Self {
        Self::default()
    }

    /// Check the values.
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(LlmError::config(
                "temperature",
                format!("{} (must be ≥ 0; 0 is greedy)", self.temperature),
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(LlmError::config(
                "top_p",
                format!("{} (must be in (0, 1])", self.top_p),
            ));
        }
        Ok(())
    }
}

/// A seeded sampler over logits.
#[derive(Debug)]
pub struct Sampler {
    cfg: Sampling,
    rng: ChaCha8Rng,
}

impl Sampler {
    /// A sampler; the same settings and seed give the same tokens.
    pub fn new(cfg: Sampling) -> Result<Self> {
        cfg.validate()?;
        let rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        Ok(Sampler { cfg, rng })
    }

    /// Choose a token from one position's logits. NaN logits are never
    /// chosen; an all-NaN row is an error.
    pub fn sample(&mut self, logits: &[f32]) -> Result<u32> {
        let finite = |v: &f32| !v.is_nan();
        if !logits.iter().any(finite) {
            return Err(LlmError::Shape("every logit is NaN".into()));
        }
        if self.cfg.temperature == 0.0 {
            let mut best = 0usize;
            for (i, v) in logits.iter().enumerate() {
                if finite(v) && (logits[best].is_nan() || *v > logits[best]) {
                    best = i;
                }
            }
            return Ok(best as u32);
        }
        let mut cand: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .filter(|(_, v)| finite(v))
            .map(|(i, &v)| (i as u32, v))
            .collect();
        // Most likely first; ties by token id for determinism.
        let by_logit = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if self.cfg.top_k > 0 && self.cfg.top_k < cand.len() {
            cand.select_nth_unstable_by(self.cfg.top_k - 1, by_logit);
            cand.truncate(self.cfg.top_k);
        }
        cand.sort_by(by_logit);
        let t = self.cfg.temperature;
        let max = cand[0].1 as f64;
        let mut probs: Vec<f64> = cand
            .iter()
            .map(|(_, v)| ((*v as f64 - max) / t).exp())
            .collect();
        let sum: f64 = probs.iter().sum();
        probs.iter_mut().for_each(|p| *p /= sum);
        let mut keep = probs.len();
        if self.cfg.top_p < 1.0 {
            let mut acc = 0.0;
            for (i, p) in probs.iter().enumerate() {
                acc += p;
                if acc >= self.cfg.top_p {
                    keep = i + 1;
                    break;
                }
            }
        }
        let total: f64 = probs[..keep].iter().sum();
        let mut u = self.rng.random::<f64>() * total;
        for (i, p) in probs[..keep].iter().enumerate() {
            u -= p;
            if u <= 0.0 {
                return Ok(cand[i].0);
            }
        }
        Ok(cand[keep - 1].0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(temperature: f64, top_k: usize, top_p: f64, seed: u64) -> Sampler {
        Sampler::new(Sampling {
            temperature,
            top_k,
            top_p,
            seed,
        })
        .unwrap()
    }

    #[test]
    fn greedy_takes_the_argmax_and_skips_nan() {
        let mut s = sampler(0.0, 0, 1.0, 0);
        assert_eq!(s.sample(&[0.1, 3.0, 2.0]).unwrap(), 1);
        assert_eq!(s.sample(&[f32::NAN, 1.0, 0.5]).unwrap(), 1);
        assert!(s.sample(&[f32::NAN]).is_err());
    }

    #[test]
    fn top_k_and_top_p_restrict_the_choice() {
        let logits = [5.0, 4.9, 4.8, -10.0, 4.7];
        let mut s = sampler(1.0, 2, 1.0, 3);
        for _ in 0..200 {
            assert!(s.sample(&logits).unwrap() < 2);
        }
        // top_p 0.25 keeps only the first token here (p ≈ 0.29).
        let mut s = sampler(1.0, 0, 0.25, 3);
        for _ in 0..50 {
            assert_eq!(s.sample(&logits).unwrap(), 0);
        }
        // Without filters every plausible token shows up.
        let mut s = sampler(1.0, 0, 1.0, 3);
        let mut seen = [0usize; 5];
        for _ in 0..2000 {
            seen[s.sample(&logits).unwrap() as usize] += 1;
        }
        assert!(seen[0] > 300 && seen[4] > 300 && seen[3] == 0, "{seen:?}");
    }

    #[test]
    fn a_seed_fixes_the_draws() {
        let logits: Vec<f32> = (0..100).map(|i| (i % 7) as f32 * 0.3).collect();
        let draw = |seed| {
            let mut s = sampler(0.8, 20, 0.9, seed);
            (0..30)
                .map(|_| s.sample(&logits).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1), draw(1));
        assert_ne!(draw(1), draw(2));
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(Sampler::new(Sampling {
            temperature: -1.0,
            ..Sampling::default()
        })
        .is_err());
        assert!(Sampler::new(Sampling {
            top_p: 0.0,
            ..Sampling::default()
        })
        .is_err());
    }
}
