//! What the sensor-language tests share: the real MiniLM's directory and a
//! small two-channel accelerometer store written from windows.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use wearlang_core::{ChannelKind, ChannelSpec, LabelVocab, Normalisation, Split, Window};
use wearlang_store::{StoreMeta, StoreWriter};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// MiniLM's directory (set up by `cargo xtask setup`).
pub fn minilm() -> PathBuf {
    let dir = wearlang_encoders::text::default_model_dir(None, &workspace());
    assert!(
        dir.join("model.safetensors").is_file(),
        "MiniLM not found in {} (run `cargo xtask setup`)",
        dir.display()
    );
    dir
}

/// Write `windows` (2 channels `ax`, `ay`, `steps` samples at 50 Hz) to
/// `path` under the sorted vocabulary of `labels` and `captions` columns,
/// normalised with the training split's statistics.
pub fn write_store(
    path: &Path,
    windows: &[Window],
    steps: usize,
    labels: &[&str],
    captions: &[&str],
) -> PathBuf {
    let mut meta = StoreMeta::new(
        vec![
            ChannelSpec::new("ax", "g", ChannelKind::Accelerometer),
            ChannelSpec::new("ay", "g", ChannelKind::Accelerometer),
        ],
        steps,
        50.0,
    );
    meta.caption_columns = captions.iter().map(|c| c.to_string()).collect();
    meta.labels = LabelVocab::sorted(labels.iter().copied());
    meta.normalisation = Some(Normalisation::fit(
        windows.iter().filter(|w| w.split == Split::Train),
        2,
    ));
    let mut w = StoreWriter::create(path, meta).unwrap();
    w.write(windows).unwrap();
    w.finish().unwrap();
    path.to_path_buf()
}
