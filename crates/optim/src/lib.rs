//! Optimisation for wearlang, shared by training (`wearlang-train`) and by
//! the evaluation protocols that fit small heads (`wearlang-evaluation`):
//!
//! - [`AdamW`]: AdamW with weight-decay groups and global-norm gradient
//!   clipping, whose state lives in tensors a checkpoint saves, so that a
//!   resumed run continues bit for bit;
//! - [`ScheduleConfig`]: linear warmup, then cosine, inverse-sqrt or constant.
//!
//! Example (`no_run`: doctests cannot find libtorch; `tests/` runs this):
//!
//! ```no_run
//! use tch::{nn, Device, Kind, Tensor};
//! use wearlang_optim::{AdamW, OptimConfig, ScheduleConfig};
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let w = vs.root().var("w", &[3], nn::Init::Const(1.0));
//! let mut opt = AdamW::new(&vs, OptimConfig::default()).unwrap();
//! let schedule = ScheduleConfig::default();
//! for step in 0..10 {
//!     let loss = (&w * &w).sum(Kind::Float);
//!     opt.zero_grad();
//!     loss.backward();
//!     opt.step(schedule.lr(1e-3, step, 10)).unwrap();
//! }
//! ```

#![warn(missing_docs)]

mod adamw;
mod error;
mod schedule;

pub use adamw::{AdamW, LrScale, OptimConfig};
pub use error::{OptimError, Result};
pub use schedule::{Decay, ScheduleConfig};
