//! The training engine of wearlang: one resumable loop for every kind of
//! training, and for the small fits of evaluation.
//!
//! A kind of training supplies two halves:
//! - a [`BatchSource`], moved to a second thread, that prepares the batch of
//!   each step from the indices the engine hands it (a seeded ChaCha8
//!   shuffle per epoch, `wearlang_models::epoch_order`; the last partial
//!   batch of an epoch is dropped so shapes stay fixed), so the next batch
//!   is ready while the current one trains;
//! - a [`Step`], on the calling thread, that computes the loss of a batch
//!   and returns it for the engine to back-propagate and apply (AdamW at the
//!   schedule's learning rate).
//!
//! The engine owns everything else: resuming from the run directory's
//! checkpoint (model, optimiser and progress, checked against the run), the
//! metrics log ([`MetricsLog`], `metrics.jsonl`: step, epoch, loss and the
//! step's named terms averaged over `log_every` steps, lr, gradient norm,
//! windows/s, time waiting for data), the progress bar, periodic and final
//! checkpoints (atomic), and stopping early (`stop_after`) as an
//! interruption would. Every step depends only on `(seed, step)`, so a
//! resumed run continues bit for bit. Without a run directory (`out: None`)
//! the same loop fits a model in memory (no log file, no checkpoints):
//! the supervised baseline, and the linear probe and few-shot projection
//! heads of `wearlang-evaluation` ([`LoopConfig::full_batch`]).
//!
//! Steps and batch sources return their caller's error type
//! ([`Step::Error`], [`BatchSource::Error`]), which converts from
//! [`EngineError`]; [`run`] returns the step's. `wearlang-train` uses the
//! models crate's error (its `TrainError`), evaluation its `EvalError`.
//!
//! This crate depends on models (checkpoints, progress, epoch orders),
//! optim and core; never on `wearlang-train` or `wearlang-evaluation`, so
//! both can run on it. `wearlang-train` re-exports it as
//! `wearlang_train::engine`.
//!
//! Example (`no_run`: doctests cannot find libtorch; `tests/` runs this):
//!
//! ```no_run
//! use tch::{nn, nn::Module, Device, Kind, Tensor};
//! use wearlang_engine::{run, BatchSource, EngineError, LoopConfig, Step, StepLoss};
//! use wearlang_models::TrainState;
//! use wearlang_optim::{AdamW, OptimConfig};
//!
//! /// The whole data set as one batch.
//! struct All(Tensor, Tensor);
//! impl BatchSource for All {
//!     type Batch = (Tensor, Tensor);
//!     type Error = EngineError;
//!     fn batch(&self, _idx: &[usize], _epoch: u64) -> Result<Self::Batch, EngineError> {
//!         Ok((self.0.shallow_clone(), self.1.shallow_clone()))
//!     }
//! }
//! struct Mse<'a>(&'a nn::Linear);
//! impl Step<(Tensor, Tensor)> for Mse<'_> {
//!     type Error = EngineError;
//!     fn loss(&mut self, _step: u64, (x, y): (Tensor, Tensor)) -> Result<StepLoss, EngineError> {
//!         let total = (self.0.forward(&x) - y).square().mean(Kind::Float);
//!         Ok(StepLoss { total, terms: Vec::new() })
//!     }
//! }
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let lin = nn::linear(vs.root(), 3, 1, Default::default());
//! let x = Tensor::randn([32, 3], (Kind::Float, Device::Cpu));
//! let y = x.sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
//! let mut opt = AdamW::new(&vs, OptimConfig { weight_decay: 0.0, ..OptimConfig::default() }).unwrap();
//! let cfg = LoopConfig::full_batch(32, 200, 0.05, 0);
//! let state = TrainState { total_steps: cfg.total_steps, ..TrainState::default() };
//! let out = run(&cfg, All(x, y), &mut Mse(&lin), &vs, &mut opt, state, &()).unwrap();
//! println!("loss {:.4}", out.final_loss);
//! ```

#![warn(missing_docs)]

mod error;
mod log;
mod record;
mod run;
mod step;

pub use error::{EngineError, Result};
pub use log::MetricsLog;
pub use record::{record_differences, FileIdentity, RunRecord, IGNORED_ON_RESUME};
pub use run::{initial_state, progress_bar, resume_from, run};
pub use step::{BatchSource, LoopConfig, LoopOutcome, Step, StepLoss};
