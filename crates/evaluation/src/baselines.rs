//! Baselines on the same split as zero-shot: a linear probe on the frozen
//! sensor encoder's pooled features, and the supervised conv classifier of
//! the NLS paper trained end to end.

use tch::Tensor;
use wearlang_metrics::ClassificationReport;
use wearlang_models::SupervisedConfig;

use crate::context::{EvalContext, Evaluator};
use crate::results::{ClassifierResult, ProtocolResult};
use crate::select::{labelled, rows};
use crate::{EvalError, LinearProbe, ProbeConfig, Result};

/// The linear-probe baseline: multinomial logistic regression on the pooled
/// features of the model's (frozen) sensor encoder, all labelled training
/// windows.
pub struct LinearProbeEval(pub ProbeConfig);

impl Evaluator for LinearProbeEval {
    fn name(&self) -> &'static str {
        "linear-probe"
    }

    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult> {
        let (tr_idx, tr_y) = labelled(&ctx.train.labels);
        let (te_idx, te_y) = labelled(&ctx.test.labels);
        if tr_idx.is_empty() || te_idx.is_empty() {
            return Err(EvalError::Data(
                "linear probe: needs labelled training and test windows".into(),
            ));
        }
        let ftr = ctx
            .model
            .sensor_features(&rows(&ctx.train.x, &tr_idx), 256)?;
        let fte = ctx
            .model
            .sensor_features(&rows(&ctx.test.x, &te_idx), 256)?;
        let probe = LinearProbe::fit(&ftr, &Tensor::from_slice(&tr_y), ctx.classes.len(), &self.0)?;
        let pred = probe.predict(&fte)?;
        let truth: Vec<usize> = te_y.iter().map(|&v| v as usize).collect();
        Ok(ProtocolResult::LinearProbe(ClassifierResult {
            method: "linear probe on frozen sensor features".into(),
            train_windows: tr_idx.len(),
            report: ClassificationReport::compute(&truth, &pred, ctx.classes.len())?,
        }))
    }
}

/// The supervised reference: the NLS conv encoder + linear classifier,
/// trained end to end with (class-balanced) cross-entropy on the labelled
/// training windows.
pub struct SupervisedEval(pub SupervisedConfig);

impl Evaluator for SupervisedEval {
    fn name(&self) -> &'static str {
        "supervised"
    }

    fn evaluate(&self, ctx: &EvalContext) -> Result<ProtocolResult> {
        let (te_idx, te_y) = labelled(&ctx.test.labels);
        if te_idx.is_empty() {
            return Err(EvalError::Data(
                "supervised baseline: no labelled test window".into(),
            ));
        }
        let clf =
            ctx.trainer(self.name())?
                .fit_supervised(ctx.train, ctx.classes.len(), &self.0)?;
        let pred = clf.predict(&rows(&ctx.test.x, &te_idx), 256)?;
        let truth: Vec<usize> = te_y.iter().map(|&v| v as usize).collect();
        Ok(ProtocolResult::Supervised(ClassifierResult {
            method: format!(
                "conv classifier trained end to end ({} steps, batch {})",
                self.0.steps, self.0.batch_size
            ),
            train_windows: ctx.train.labels.iter().filter(|l| l.is_some()).count(),
            report: ClassificationReport::compute(&truth, &pred, ctx.classes.len())?,
        }))
    }
}
