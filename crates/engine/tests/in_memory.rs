//! The engine without a run directory, with a caller's own error type: a
//! full-batch fit converges and writes nothing; a step's, a batch source's
//! and the engine's own errors all come back as the caller's type. (Runs
//! with a run directory, resume and the metrics log are tested through
//! `wearlang-train`'s runs.)

use tch::{nn, nn::Module, Device, Kind, Tensor};
use wearlang_engine::{run, BatchSource, EngineError, LoopConfig, Step, StepLoss};
use wearlang_models::TrainState;
use wearlang_optim::{AdamW, OptimConfig};

/// A caller's error: the engine's, or its own kinds.
#[derive(Debug)]
enum MyError {
    Engine(EngineError),
    Step(u64),
    Source(usize),
}

impl From<EngineError> for MyError {
    fn from(e: EngineError) -> Self {
        MyError::Engine(e)
    }
}

/// `y = x · [1, -2, 3]`, batched; fails at epoch `fail_at_epoch`, if any.
struct Data {
    x: Tensor,
    y: Tensor,
    fail_at_epoch: Option<u64>,
}

impl BatchSource for Data {
    type Batch = (Tensor, Tensor);
    type Error = MyError;
    fn batch(&self, idx: &[usize], epoch: u64) -> Result<Self::Batch, MyError> {
        if self.fail_at_epoch == Some(epoch) {
            return Err(MyError::Source(idx.len()));
        }
        let i = Tensor::from_slice(&idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
        Ok((self.x.index_select(0, &i), self.y.index_select(0, &i)))
    }
}

struct Mse<'a> {
    lin: &'a nn::Linear,
    fail_at: Option<u64>,
    nan: bool,
}

impl Step<(Tensor, Tensor)> for Mse<'_> {
    type Error = MyError;
    fn loss(&mut self, step: u64, (x, y): (Tensor, Tensor)) -> Result<StepLoss, MyError> {
        if self.fail_at == Some(step) {
            return Err(MyError::Step(step));
        }
        let mut total = (self.lin.forward(&x) - y).square().mean(Kind::Float);
        if self.nan {
            total *= f64::NAN;
        }
        Ok(StepLoss {
            total,
            terms: vec![("mse".into(), 0.0)],
        })
    }
}

fn data(n: i64, fail_at_epoch: Option<u64>) -> Data {
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(3);
    let x = Tensor::randn([n, 3], (Kind::Float, Device::Cpu));
    let y = x.matmul(&Tensor::from_slice(&[1f32, -2.0, 3.0]).unsqueeze(1));
    Data {
        x,
        y,
        fail_at_epoch,
    }
}

/// Fit `steps` full-batch steps; the model's loss on all the data after.
fn fit(
    steps: u64,
    source: Data,
    fail_at: Option<u64>,
    nan: bool,
) -> Result<(f64, wearlang_engine::LoopOutcome), MyError> {
    let vs = nn::VarStore::new(Device::Cpu);
    let lin = nn::linear(vs.root(), 3, 1, Default::default());
    let (x, y) = (source.x.shallow_clone(), source.y.shallow_clone());
    let mut opt = AdamW::new(
        &vs,
        OptimConfig {
            lr: 0.1,
            weight_decay: 0.0,
            clip_grad_norm: None,
            ..OptimConfig::default()
        },
    )
    .unwrap();
    let cfg = LoopConfig::full_batch(x.size()[0] as usize, steps, 0.1, 0);
    let state = TrainState {
        total_steps: steps,
        ..TrainState::default()
    };
    let mut step = Mse {
        lin: &lin,
        fail_at,
        nan,
    };
    let out = run(&cfg, source, &mut step, &vs, &mut opt, state, &())?;
    let loss = tch::no_grad(|| (lin.forward(&x) - y).square().mean(Kind::Float));
    Ok((loss.double_value(&[]), out))
}

#[test]
fn a_full_batch_fit_in_memory_converges_and_writes_nothing() {
    let (loss, out) = fit(300, data(64, None), None, false).unwrap();
    assert!(loss < 1e-3, "loss {loss}");
    assert_eq!(out.state.step, 300);
    assert!(out.state.finished);
    assert_eq!(out.state.samples, 300 * 64);
    assert!(out.checkpoint.is_none());
    assert!(out.final_loss.is_finite());
    // A constant learning rate: no warmup, no decay.
    let cfg = LoopConfig::full_batch(64, 300, 0.1, 0);
    assert_eq!(cfg.batch_size, 64);
    assert!(cfg.out.is_none() && !cfg.progress);
    for s in [0, 150, 299] {
        assert_eq!(cfg.schedule.lr(cfg.lr, s, 300), 0.1);
    }
}

#[test]
fn errors_come_back_in_the_callers_type() {
    // The step's own error, at the step it happened.
    let err = fit(10, data(16, None), Some(4), false).unwrap_err();
    assert!(matches!(err, MyError::Step(4)), "{err:?}");
    // The batch source's, from the prefetch thread (the second epoch).
    let err = fit(10, data(16, Some(1)), None, false).unwrap_err();
    assert!(matches!(err, MyError::Source(16)), "{err:?}");
    // The engine's own: a non-finite loss names the step.
    let err = fit(10, data(16, None), None, true).unwrap_err();
    match err {
        MyError::Engine(EngineError::Data(m)) => {
            assert!(m.starts_with("loss is NaN at step 1"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    // And no items at all.
    let err = fit(10, data(0, None), None, false).unwrap_err();
    match err {
        MyError::Engine(e) => assert_eq!(e.to_string(), "data: no training items"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_models_error_gets_the_engines_unchanged() {
    let e = wearlang_models::ModelError::from(EngineError::Data("x".into()));
    assert!(matches!(&e, wearlang_models::ModelError::Data(m) if m == "x"));
    let inner = wearlang_models::ModelError::checkpoint("ckpt", "bad");
    let msg = inner.to_string();
    let e = wearlang_models::ModelError::from(EngineError::from(inner));
    assert_eq!(e.to_string(), msg);
    assert!(matches!(e, wearlang_models::ModelError::Checkpoint { .. }));
}
