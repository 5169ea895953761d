//! Claims of generated text checked against the raw windows (shared by the
//! captioning and SensorLLM protocols).

use wearlang_captioning::check_faithfulness;
use wearlang_core::{ChannelSpec, Window};

use crate::results::FaithfulnessSummary;
use crate::{EvalError, Result};

/// Check `captions[k]` against `windows[k]` (raw, unnormalised values).
pub fn faithfulness(
    captions: &[String],
    windows: &[&Window],
    channels: &[ChannelSpec],
) -> Result<FaithfulnessSummary> {
    if captions.len() != windows.len() {
        return Err(EvalError::Data(format!(
            "faithfulness: {} captions for {} windows",
            captions.len(),
            windows.len()
        )));
    }
    let (mut with, mut claims, mut holding, mut faithful) = (0, 0, 0, 0);
    for (c, w) in captions.iter().zip(windows) {
        let r = check_faithfulness(c, w, channels);
        if !r.claims.is_empty() {
            with += 1;
            claims += r.claims.len();
            holding += r.claims.iter().filter(|c| c.ok).count();
            if r.is_faithful() {
                faithful += 1;
            }
        }
    }
    Ok(FaithfulnessSummary {
        captions: captions.len(),
        captions_with_claims: with,
        claims,
        claims_holding: holding,
        faithful_share: (with > 0).then(|| faithful as f64 / with as f64),
    })
}
