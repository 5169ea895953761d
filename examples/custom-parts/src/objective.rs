//! `smoothed_clip`: CLIP's symmetric cross-entropy with a fixed temperature
//! and label smoothing (targets `(1 − ε)·I + ε / B`).

use tch::{nn, Kind, Tensor};
use wearlang_objectives::{
    normalize, symmetric_ce, LossOutput, Objective, ObjectiveError, ObjectiveFactory,
    ObjectiveInputs, ObjectiveNeeds,
};

/// The objective.
pub struct SmoothedClip {
    temperature: f64,
    smoothing: f64,
}

impl Objective for SmoothedClip {
    fn name(&self) -> &str {
        "smoothed_clip"
    }

    fn loss(&self, inputs: &ObjectiveInputs) -> wearlang_objectives::Result<LossOutput> {
        let (s, t) = match (inputs.sensor, inputs.text) {
            (Some(s), Some(t)) => (s, t),
            (None, _) => {
                return Err(ObjectiveError::MissingInput {
                    objective: "smoothed_clip",
                    input: "sensor",
                })
            }
            (_, None) => {
                return Err(ObjectiveError::MissingInput {
                    objective: "smoothed_clip",
                    input: "text",
                })
            }
        };
        let logits = normalize(s).mm(&normalize(t).tr()) / self.temperature;
        let b = logits.size()[0];
        let eye = Tensor::eye(b, (Kind::Float, logits.device()));
        let targets = eye * (1.0 - self.smoothing) + self.smoothing / b as f64;
        let total = symmetric_ce(&logits, Some(&targets));
        let v = total.detach().double_value(&[]);
        Ok(LossOutput {
            total,
            terms: vec![("smoothed_clip".into(), v)],
        })
    }
}

/// Its factory: `params` `temperature` (default 0.07) and `smoothing`
/// (default 0.1, in `[0, 1)`).
pub struct SmoothedClipFactory;

impl ObjectiveFactory for SmoothedClipFactory {
    fn needs(&self, _params: &serde_json::Map<String, serde_json::Value>) -> ObjectiveNeeds {
        ObjectiveNeeds {
            text: true,
            ..ObjectiveNeeds::default()
        }
    }

    fn build(
        &self,
        _p: nn::Path,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> wearlang_objectives::Result<Box<dyn Objective>> {
        let get = |k: &str, d: f64| params.get(k).and_then(|v| v.as_f64()).unwrap_or(d);
        let (temperature, smoothing) = (get("temperature", 0.07), get("smoothing", 0.1));
        if temperature <= 0.0 || !(0.0..1.0).contains(&smoothing) {
            return Err(ObjectiveError::Param {
                name: "objective.params",
                reason: format!(
                    "temperature ({temperature}) must be > 0 and smoothing ({smoothing}) in [0, 1)"
                ),
            });
        }
        Ok(Box::new(SmoothedClip {
            temperature,
            smoothing,
        }))
    }
}
