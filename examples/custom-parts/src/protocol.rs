//! `nearest-centroid`: classify each labelled test window by the class whose
//! mean training embedding (L2-normalised) is closest in cosine — a
//! parameter-free probe of how well the sensor space clusters by class.

use tch::{Kind, Tensor};
use wearlang_evaluation::{
    CustomResult, EvalContext, EvalError, Evaluator, ProtocolFactory, ProtocolResult,
};
use wearlang_metrics::ClassificationReport;
use wearlang_objectives::normalize;

/// The protocol.
pub struct NearestCentroid {
    batch: usize,
}

fn labelled(labels: &[Option<usize>]) -> (Vec<i64>, Vec<usize>) {
    labels
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.map(|l| (i as i64, l)))
        .unzip()
}

impl Evaluator for NearestCentroid {
    fn name(&self) -> &'static str {
        "nearest-centroid"
    }

    fn evaluate(&self, ctx: &EvalContext) -> wearlang_evaluation::Result<ProtocolResult> {
        let (tr_idx, tr_y) = labelled(&ctx.train.labels);
        let (te_idx, te_y) = labelled(&ctx.test.labels);
        if tr_idx.is_empty() || te_idx.is_empty() {
            return Err(EvalError::Data(
                "nearest-centroid: needs labelled training and test windows".into(),
            ));
        }
        let k = ctx.classes.len();
        let rows = |x: &Tensor, idx: &[i64]| x.index_select(0, &Tensor::from_slice(idx));
        let tr = ctx
            .model
            .embed_windows(&rows(&ctx.train.x, &tr_idx), self.batch)?;
        let te = ctx
            .model
            .embed_windows(&rows(&ctx.test.x, &te_idx), self.batch)?;
        // One-hot [N, K]: centroids are its transpose times the embeddings.
        let y = Tensor::from_slice(&tr_y.iter().map(|&l| l as i64).collect::<Vec<_>>());
        let onehot = y.one_hot(k as i64).to_kind(Kind::Float);
        let counts = onehot.sum_dim_intlist([0i64].as_slice(), false, Kind::Float);
        let centroids = normalize(&(onehot.tr().mm(&tr) / counts.clamp_min(1.0).unsqueeze(1)));
        // Classes without training windows can never be predicted.
        let absent = counts.eq(0.0).unsqueeze(0);
        let scores = te
            .mm(&centroids.tr())
            .masked_fill(&absent, f64::NEG_INFINITY);
        let pred: Vec<usize> = Vec::<i64>::try_from(scores.argmax(-1, false))
            .map_err(|e| EvalError::Data(format!("nearest-centroid: {e}")))?
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let report = ClassificationReport::compute(&te_y, &pred, k)?;
        Ok(ProtocolResult::Custom(CustomResult {
            name: "nearest-centroid".into(),
            summary: vec![(
                "nearest-centroid macro-F1 / accuracy".into(),
                format!("{:.3} / {:.3}", report.macro_f1, report.accuracy),
            )],
            markdown: format!(
                "Each of {} labelled test windows is given the class whose mean training \
                 embedding ({} labelled windows) is nearest in cosine: macro-F1 {:.3}, \
                 accuracy {:.3}.",
                te_idx.len(),
                tr_idx.len(),
                report.macro_f1,
                report.accuracy
            ),
            data: serde_json::to_value(&report)
                .map_err(|e| EvalError::Data(format!("nearest-centroid: {e}")))?,
        }))
    }
}

/// Its factory: `params` `batch` (windows per forward pass, default 256).
pub struct NearestCentroidFactory;

impl ProtocolFactory for NearestCentroidFactory {
    fn build(
        &self,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> wearlang_evaluation::Result<Box<dyn Evaluator>> {
        let batch = params.get("batch").and_then(|v| v.as_u64()).unwrap_or(256);
        if batch == 0 {
            return Err(EvalError::Data(
                "custom.nearest-centroid.batch must be at least 1".into(),
            ));
        }
        Ok(Box::new(NearestCentroid {
            batch: batch as usize,
        }))
    }
}
