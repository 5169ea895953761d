//! Embeddings as plain data: the windows of a store, or texts, through a
//! trained sensor-language model, as an [`EmbeddingMatrix`] that
//! `wearlang_store::embeddings` writes to Parquet (what `wearlang embed`
//! does).

use std::path::Path;

use tch::{Device, Kind, Tensor};
use wearlang_core::{Split, Window};
use wearlang_store::embeddings::EmbeddingMatrix;

use wearlang_captioning::{class_prompts, PromptOptions};

use crate::{
    InputNormalisation, ModelError, Result, SensorLanguageCheckpointConfig, SensorLanguageModel,
    SensorTextModel, WindowSet,
};

/// Windows embedded per forward pass.
const WINDOW_BATCH: usize = 256;
/// Texts embedded per forward pass.
const TEXT_BATCH: usize = 64;

/// The windows of a store and their embeddings (row `i` is `windows[i]`).
pub struct StoreEmbeddings {
    /// The windows, in store order (values normalised with the store's
    /// training statistics, as the model saw them).
    pub windows: Vec<Window>,
    /// Their L2-normalised sensor embeddings.
    pub embeddings: EmbeddingMatrix,
}

/// Embed the windows of `store` (only `split`, or all when `None`) with
/// `model`, trained as `checkpoint` records: the store's channels are
/// matched by name or by kind and axis and reordered (extra ones dropped; a
/// missing one is an error), normalised as `how` says
/// ([`SensorLanguageCheckpointConfig::onto_model`]), 256 per forward pass.
/// Errors when the split is empty.
pub fn embed_store(
    model: &SensorLanguageModel,
    checkpoint: &SensorLanguageCheckpointConfig,
    store: &Path,
    split: Option<Split>,
    how: InputNormalisation,
) -> Result<StoreEmbeddings> {
    let set = WindowSet::load(store, split, true)?;
    let (set, _) = checkpoint.onto_model(set, &store.display().to_string(), how)?;
    let e = model.embed_windows(&set.x, WINDOW_BATCH)?;
    Ok(StoreEmbeddings {
        windows: set.windows,
        embeddings: embedding_matrix(&e)?,
    })
}

/// The L2-normalised text embeddings of `texts` (64 per forward pass).
pub fn embed_texts<S: AsRef<str>>(
    model: &SensorLanguageModel,
    texts: &[S],
) -> Result<EmbeddingMatrix> {
    embedding_matrix(&model.embed_texts(texts, TEXT_BATCH)?)
}

/// A `[N, E]` tensor as plain float32 rows.
pub fn embedding_matrix(e: &Tensor) -> Result<EmbeddingMatrix> {
    let size = e.size();
    if size.len() != 2 {
        return Err(crate::ModelError::Data(format!(
            "embeddings must be [N, E], got {size:?}"
        )));
    }
    let values: Vec<f32> = Vec::try_from(
        e.f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Float)?
            .f_flatten(0, -1)?,
    )?;
    Ok(EmbeddingMatrix::new(size[1] as usize, values)?)
}

/// The zero-shot classifier of `model` over `classes`: each class's
/// prompts (`wearlang_captioning::class_prompts` with `opts`) embedded in
/// batches of `batch`, averaged and re-normalised into one row of `[K, E]`;
/// also the number of prompts per class. The evaluation's zero-shot
/// protocols and the trainer's step selection both classify with it.
pub fn class_embeddings<S: AsRef<str>>(
    model: &dyn SensorTextModel,
    classes: &[S],
    opts: PromptOptions,
    batch: usize,
) -> Result<(Tensor, usize)> {
    if classes.is_empty() {
        return Err(ModelError::Data("zero-shot: no candidate classes".into()));
    }
    let prompts = class_prompts(classes, opts);
    let per = prompts[0].len();
    let flat: Vec<String> = prompts.into_iter().flatten().collect();
    let e = model.embed_texts(&flat, batch)?;
    let k = classes.len() as i64;
    let mean = e
        .f_reshape([k, per as i64, -1])?
        .f_mean_dim(1, false, Kind::Float)?;
    Ok((wearlang_objectives::normalize(&mean), per))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_become_rows() {
        let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).reshape([3, 2]);
        let m = embedding_matrix(&t).unwrap();
        assert_eq!((m.rows(), m.dim()), (3, 2));
        assert_eq!(m.row(2), [5.0, 6.0]);
        let d = Tensor::from_slice(&[1.0f64, 2.0]).reshape([1, 2]);
        assert_eq!(embedding_matrix(&d).unwrap().values(), [1.0, 2.0]);
        assert!(embedding_matrix(&Tensor::from_slice(&[1.0f32])).is_err());
    }
}
