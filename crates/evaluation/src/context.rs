//! What a protocol sees and does: the [`EvalContext`] (the trained model,
//! the train / test splits of its store, the candidate classes, the trainer)
//! and the [`Evaluator`] trait, one protocol of the papers giving one
//! [`ProtocolResult`].
//!
//! The model is any [`SensorTextModel`]: wearlang's `SensorLanguageModel`,
//! or a fork's own, whose missing capabilities (projection heads, a
//! captioning decoder, a run configuration to retrain) make the protocols
//! that need them skip with the reason.
//!
//! This module imports the results layer, never a protocol module or the
//! registry.

use std::path::{Path, PathBuf};

use wearlang_core::Split;
use wearlang_models::{SensorTextModel, Trainer, WindowSet};

use crate::results::ProtocolResult;
use crate::{EvalError, Result};

/// Everything a protocol may use.
pub struct EvalContext<'a> {
    /// The trained model (`&loaded.model` of a loaded sensor-language run,
    /// or a fork's own model).
    pub model: &'a dyn SensorTextModel,
    /// The window store.
    pub store: &'a Path,
    /// Training windows (normalised with the store's training statistics).
    pub train: &'a WindowSet,
    /// Test windows (normalised likewise).
    pub test: &'a WindowSet,
    /// The candidate classes: the store's label vocabulary.
    pub classes: Vec<String>,
    /// Where protocols that train models (unseen activities) write them.
    pub work_dir: PathBuf,
    /// MiniLM's directory (for models trained by a protocol).
    pub minilm_dir: Option<PathBuf>,
    /// Show progress bars.
    pub progress: bool,
    /// The training the protocols that train call (unseen activities, the
    /// supervised baseline): `wearlang_train::DefaultTrainer`, or a fork's.
    /// `None`: those protocols fail with an error that says so.
    pub trainer: Option<&'a dyn Trainer>,
}

impl<'a> EvalContext<'a> {
    /// The trainer, or an error naming `protocol`, which needs one.
    pub fn trainer(&self, protocol: &str) -> Result<&'a dyn Trainer> {
        self.trainer.ok_or_else(|| {
            EvalError::param(
                "trainer",
                format!(
                    "the `{protocol}` protocol trains a model: give EvalContext a trainer \
                     (wearlang_train::DefaultTrainer)"
                ),
            )
        })
    }

    /// True class index (into [`Self::classes`]) of every labelled test
    /// window, with the window's index.
    pub fn test_truths(&self) -> Vec<(usize, usize)> {
        self.test
            .labels
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.map(|l| (i, l)))
            .collect()
    }
}

/// The split the evaluated windows `set` come from (test, or val when the
/// evaluation selects a model); `test` for an empty set.
pub(crate) fn evaluated_split(set: &WindowSet) -> Split {
    set.windows.first().map_or(Split::Test, |w| w.split)
}

/// One evaluation protocol.
pub trait Evaluator {
    /// Its name (as given to `wearlang eval --protocol`).
    fn name(&self) -> &'static str;
    /// Why the protocol does not apply to this model (e.g. captioning
    /// without a decoder); `None` when it does.
    fn skip_reason(&self, _ctx: &EvalContext) -> Option<String> {
        None
    }
    /// Run it.
    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult>;
}
