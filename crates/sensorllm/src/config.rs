//! The TOML configuration of a SensorLLM run (`wearlang sensorllm align /
//! tune --config`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wearlang_captioning::TrendConfig;
use wearlang_llm::LoraConfig;
use wearlang_models::{ModelError, Result};
use wearlang_optim::{OptimConfig, ScheduleConfig};

/// Loop settings of one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StageConfig {
    /// Windows per step.
    pub batch_size: usize,
    /// Steps of the stage.
    pub max_steps: u64,
    /// Write a metrics line every this many steps.
    pub log_every: u64,
    /// Write a checkpoint every this many steps (and at the end).
    pub checkpoint_every: u64,
    /// AdamW settings (`lr` is the peak learning rate).
    pub optim: OptimConfig,
    /// Learning-rate schedule.
    pub schedule: ScheduleConfig,
}

impl Default for StageConfig {
    fn default() -> Self {
        StageConfig {
            batch_size: 8,
            max_steps: 200,
            log_every: 10,
            checkpoint_every: 50,
            optim: OptimConfig {
                lr: 1e-3,
                ..OptimConfig::default()
            },
            schedule: ScheduleConfig::default(),
        }
    }
}

impl StageConfig {
    fn validate(&self, name: &str) -> Result<()> {
        if self.batch_size == 0 || self.max_steps == 0 {
            return Err(ModelError::config(
                format!("{name}.batch_size / {name}.max_steps"),
                "must be at least 1",
            ));
        }
        if self.log_every == 0 || self.checkpoint_every == 0 {
            return Err(ModelError::config(
                format!("{name}.log_every / {name}.checkpoint_every"),
                "must be at least 1",
            ));
        }
        self.optim.validate()?;
        Ok(self.schedule.validate()?)
    }
}

/// Which LLM state stage 2's head reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// The final hidden state at the prompt's last token (the paper's).
    Last,
    /// The mean of the final hidden states at the sensor tokens (those the
    /// encoder does not mark as all missing). The default: on the fixture,
    /// a linear probe on it scores higher than on the last state
    /// (`docs/sensorllm.md`).
    #[default]
    SensorMean,
}

/// Stage 2 (task-aware tuning) settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TuneConfig {
    /// The loop (`[align.train]`, `[tune.train]`).
    pub train: StageConfig,
    /// Score validation macro-F1 every this many steps (and at the end);
    /// the best-scoring weights are kept as the selected model.
    pub eval_every: u64,
    /// Weight the cross-entropy by inverse class frequency.
    pub balanced: bool,
    /// Score at most this many validation windows, evenly spaced over the
    /// split (0: all of them); with a large LLM on a CPU, scoring is the
    /// costly part of selection.
    pub val_windows: usize,
    /// Which state the head reads (`last`, `sensor_mean`).
    pub pool: Pool,
    /// Train on at most this many labelled training windows, evenly spaced
    /// over the split (0: all of them).
    pub train_windows: usize,
    /// Train the projector and the channel tokens along with the head
    /// (through the frozen LLM). Off by default: the head then reads fixed
    /// states, a step needs no backward pass through the LLM (about three
    /// times cheaper on a CPU; the states of the training windows are
    /// computed once and the epochs run on them), and the head's
    /// standardisation stays valid.
    pub train_projector: bool,
    /// Training windows (evenly spaced) whose pooled states give the head's
    /// per-dimension standardisation, computed once before training (0:
    /// none, the head reads the raw state).
    pub norm_windows: usize,
    /// Low-rank adapters on the LLM's attention projections, trained with
    /// the head (`[tune.lora]`: `rank`, `alpha`, `targets`; absent: the LLM
    /// stays as it is). Each step then runs a backward pass through the
    /// LLM, and nothing is precomputed.
    pub lora: Option<LoraConfig>,
    /// The instruction after the sensor tokens.
    pub instruction: String,
}

impl Default for TuneConfig {
    fn default() -> Self {
        TuneConfig {
            train: StageConfig::default(),
            eval_every: 50,
            balanced: true,
            val_windows: 0,
            pool: Pool::SensorMean,
            train_windows: 0,
            train_projector: false,
            norm_windows: 64,
            lora: None,
            instruction: "Which activity is the person doing?".into(),
        }
    }
}

/// What one stage-1 answer describes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerScope {
    /// One channel per question, as the paper asks Chronos-encoded
    /// channels: the instruction `channel_instruction` names the channel,
    /// and the answer is that channel's trend text alone (its segments and
    /// summary, from [`wearlang_captioning::TrendCaptioner::channel_caption`]
    /// on the raw window, with `trend`'s parameters). A window gives one
    /// question per channel with observed values.
    #[default]
    Channel,
    /// One question per window (`instruction`), answered by the window's
    /// `caption` column: every channel, then the strongest correlations.
    Window,
}

/// Stage 1 (alignment) settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlignConfig {
    /// The loop (`[align.train]`, `[tune.train]`).
    pub train: StageConfig,
    /// What an answer describes: one channel (default) or the whole window.
    pub answer: AnswerScope,
    /// `answer = "window"`: the caption column whose text is the answer (the
    /// `trend` captions of `wearlang caption`).
    pub caption: String,
    /// Answers are cut to this many tokens (the end-of-turn token included).
    pub max_answer_tokens: usize,
    /// `answer = "window"`: the instruction after the sensor tokens.
    pub instruction: String,
    /// `answer = "channel"`: the instruction after the sensor tokens, with
    /// `{channel}` replaced by the channel's name as the trend text writes
    /// it (`acc_x` → `acc x`).
    pub channel_instruction: String,
    /// `answer = "channel"`: the opening words of every answer, given in
    /// the prompt as the start of the assistant's turn (`{channel}` filled
    /// as in the instruction), so the model writes what follows them;
    /// empty: none. A reference answer that does not open with them (a
    /// channel too short for segments) is not asked.
    pub answer_prefix: String,
    /// `answer = "channel"`: the trend text's parameters (segments,
    /// decimals), as `[trend]` of `wearlang caption`; by default with
    /// `fixed_wording = true`, so that an answer's form depends on the data
    /// alone and the scores measure what it says, not which paraphrase the
    /// reference drew.
    pub trend: TrendConfig,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig {
            train: StageConfig::default(),
            answer: AnswerScope::Channel,
            caption: "trend".into(),
            max_answer_tokens: 128,
            instruction: "Describe the trend of each channel.".into(),
            channel_instruction: "Describe the trend of {channel} in this window: each segment \
                                  as rises, falls or stays steady from a time to a time in \
                                  seconds, then its mean, standard deviation and overall trend."
                .into(),
            answer_prefix: "Trend of {channel}:".into(),
            trend: TrendConfig {
                fixed_wording: true,
                ..TrendConfig::default()
            },
        }
    }
}

impl AlignConfig {
    /// The instruction of the question about the channel named `channel`.
    pub fn channel_question(&self, channel: &str) -> String {
        self.channel_instruction
            .replace("{channel}", &channel.replace('_', " "))
    }

    /// The given opening of the answer about the channel named `channel`
    /// (empty with whole-window answers).
    pub fn channel_prefix(&self, channel: &str) -> String {
        match self.answer {
            AnswerScope::Channel => self
                .answer_prefix
                .replace("{channel}", &channel.replace('_', " ")),
            AnswerScope::Window => String::new(),
        }
    }
}

/// A SensorLLM run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensorLlmConfig {
    /// Seed of weights, data order and dropout.
    pub seed: u64,
    /// `cpu`, `cuda`, `cuda:N` or `auto`.
    pub device: String,
    /// CPU threads for libtorch (0: its default).
    pub threads: usize,
    /// The GGUF file of the LLM (default: SmolLM2-135M-Instruct as
    /// `cargo xtask setup` places it).
    pub llm: Option<PathBuf>,
    /// Width of the projector's hidden layer (0: the LLM's width).
    pub projector_hidden: i64,
    /// Sensor tokens per window when the encoder is a `wearlang train`
    /// run's (e.g. the NLS conv encoder, one token per time step): its
    /// tokens are max-pooled in time into this many. A pretraining run's
    /// patch tokens are used as they are.
    pub sensor_tokens: usize,
    /// The system message (default: the chat template's own).
    pub system: Option<String>,
    /// Stage 1.
    pub align: AlignConfig,
    /// Stage 2.
    pub tune: TuneConfig,
}

impl Default for SensorLlmConfig {
    fn default() -> Self {
        SensorLlmConfig {
            seed: 0,
            device: "cpu".into(),
            threads: 0,
            llm: None,
            projector_hidden: 0,
            sensor_tokens: 10,
            system: None,
            align: AlignConfig::default(),
            tune: TuneConfig::default(),
        }
    }
}

impl SensorLlmConfig {
    /// Read and check a TOML file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let cfg: SensorLlmConfig = wearlang_models::read_toml(path)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every setting.
    pub fn validate(&self) -> Result<()> {
        if self.projector_hidden < 0 {
            return Err(ModelError::config("projector_hidden", "must be ≥ 0"));
        }
        if self.sensor_tokens == 0 {
            return Err(ModelError::config("sensor_tokens", "must be at least 1"));
        }
        if self.align.max_answer_tokens < 2 {
            return Err(ModelError::config(
                "align.max_answer_tokens",
                "must be at least 2",
            ));
        }
        match self.align.answer {
            AnswerScope::Window if self.align.caption.is_empty() => {
                return Err(ModelError::config("align.caption", "name a caption column"));
            }
            AnswerScope::Channel if !self.align.channel_instruction.contains("{channel}") => {
                return Err(ModelError::config(
                    "align.channel_instruction",
                    "must name the channel with `{channel}`",
                ));
            }
            _ => {}
        }
        if self.tune.norm_windows == 1 {
            return Err(ModelError::config(
                "tune.norm_windows",
                "needs 0 (off) or at least 2 windows",
            ));
        }
        if let Some(l) = &self.tune.lora {
            l.validate()
                .map_err(|e| ModelError::config("tune.lora", e.to_string()))?;
        }
        if self.tune.eval_every == 0 {
            return Err(ModelError::config("tune.eval_every", "must be at least 1"));
        }
        self.align.train.validate("align.train")?;
        self.tune.train.validate("tune.train")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lora_is_off_unless_its_table_is_there_and_bad_settings_name_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "seed = 3\n").unwrap();
        assert_eq!(SensorLlmConfig::from_file(&path).unwrap().tune.lora, None);

        std::fs::write(&path, "[tune.lora]\nrank = 4\n").unwrap();
        let lora = SensorLlmConfig::from_file(&path)
            .unwrap()
            .tune
            .lora
            .unwrap();
        assert_eq!(lora.rank, 4);
        assert_eq!(lora.alpha, 16.0);
        assert_eq!(lora.targets, ["q", "v"]);

        std::fs::write(&path, "[tune.lora]\ntargets = [\"q\", \"up\"]\n").unwrap();
        let err = SensorLlmConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("tune.lora") && err.contains("`up`"), "{err}");
        std::fs::write(&path, "[tune.lora]\ndropout = 0.1\n").unwrap();
        let err = SensorLlmConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("dropout"), "{err}");
    }

    #[test]
    fn the_shipped_fixture_config_parses_and_zero_sensor_tokens_is_refused() {
        let shipped =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/sensorllm_fixture.toml");
        let c = SensorLlmConfig::from_file(&shipped).unwrap();
        assert_eq!(c.sensor_tokens, 10);
        assert_eq!(c.tune.train_windows, 0);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "sensor_tokens = 0\n").unwrap();
        let err = SensorLlmConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("sensor_tokens"), "{err}");
    }
}
