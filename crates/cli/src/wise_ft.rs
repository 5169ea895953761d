//! `wearlang wise-ft`: a sensor-language run's fine-tuned sensor encoder
//! blended with the pretrained weights it started from (WiSE-FT), written
//! as a new run directory for `eval`, `embed`, `classify` and `release`.
use anyhow::Result;
use std::path::PathBuf;
use wearlang_models::sensor_language::wise_ft;

/// Options of `wearlang wise-ft`.
#[derive(clap::Args, Debug)]
pub struct WiseFtArgs {
    /// The fine-tuned `wearlang train` run (or its checkpoint directory).
    #[arg(long)]
    pub run: PathBuf,
    /// The fine-tuned model's share: 1 keeps it, 0 puts its heads on the
    /// pretrained encoder.
    #[arg(long)]
    pub alpha: f64,
    /// The pretraining run (default: the one the run's `sensor.init_from` named).
    #[arg(long)]
    pub pretrained: Option<PathBuf>,
    /// The run directory to write (its checkpoint is written atomically).
    #[arg(long)]
    pub out: PathBuf,
}

/// Run `wearlang wise-ft`.
pub fn run(a: &WiseFtArgs) -> Result<()> {
    let done = wise_ft(&a.run, a.pretrained.as_deref(), a.alpha, &a.out)?;
    println!(
        "{} of {} tensors blended: {:.3} × {} + {:.3} × {} → {}",
        done.blended,
        done.tensors,
        1.0 - done.alpha,
        done.pretrained.display(),
        done.alpha,
        done.fine_tuned.display(),
        a.out.display()
    );
    Ok(())
}
