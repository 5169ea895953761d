//! Errors of the evaluation crate.

/// Errors returned by the evaluation protocols.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Inputs that do not fit together (shapes, empty sets, missing labels).
    #[error("{0}")]
    Data(String),
    /// A parameter outside its range.
    #[error("invalid parameter `{name}`: {reason}")]
    Param {
        /// The parameter.
        name: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A file that could not be written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// From the data crates (atomic writes, windows, stores).
    #[error(transparent)]
    Core(#[from] wearlang_core::Error),
    /// What was being done when `source` happened.
    #[error("{what}: {source}")]
    Context {
        /// What was being done ("loading the model in runs/nls").
        what: String,
        /// The error.
        source: Box<EvalError>,
    },
    /// From the masking crate.
    #[error(transparent)]
    Mask(#[from] wearlang_masking::MaskError),
    /// From the encoders crate.
    #[error(transparent)]
    Encoder(#[from] wearlang_encoders::EncoderError),
    /// From the models crate (loading, checkpoints, the training a
    /// protocol calls).
    #[error(transparent)]
    Model(#[from] wearlang_models::ModelError),
    /// From the optimiser (few-shot heads, the linear probe).
    #[error(transparent)]
    Optim(#[from] wearlang_optim::OptimError),
    /// From the training engine (the fits of the linear probe and the
    /// few-shot heads).
    #[error(transparent)]
    Engine(#[from] wearlang_engine::EngineError),
    /// From the metrics crate.
    #[error(transparent)]
    Metrics(#[from] wearlang_metrics::MetricsError),
    /// From the plots crate.
    #[error(transparent)]
    Plot(#[from] wearlang_plots::PlotError),
    /// From libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl EvalError {
    /// A [`EvalError::Param`] error.
    pub fn param(name: &'static str, reason: impl Into<String>) -> Self {
        EvalError::Param {
            name,
            reason: reason.into(),
        }
    }
}

/// Adds what was being done to an error ([`EvalError::Context`]).
pub(crate) trait Context<T> {
    /// The error, if any, wrapped with `what()`.
    fn context_with(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<EvalError>> Context<T> for std::result::Result<T, E> {
    fn context_with(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| EvalError::Context {
            what: what(),
            source: Box::new(e.into()),
        })
    }
}

/// Result with an [`EvalError`].
pub type Result<T> = std::result::Result<T, EvalError>;
