//! The engine with a run directory: a run stopped (or killed) between two
//! metrics records and resumed writes the same `metrics.jsonl` as an
//! uninterrupted one, also when `checkpoint_every` is not a multiple of
//! `log_every`; a second loop into a locked run directory fails.

use std::path::Path;

use tch::{nn, nn::Module, Device, Kind, Tensor};
use wearlang_engine::{initial_state, run, BatchSource, EngineError, LoopConfig, Step, StepLoss};
use wearlang_optim::{AdamW, OptimConfig};

struct Data {
    x: Tensor,
    y: Tensor,
}

impl BatchSource for Data {
    type Batch = (Tensor, Tensor);
    type Error = EngineError;
    fn batch(&self, idx: &[usize], _epoch: u64) -> Result<Self::Batch, EngineError> {
        let i = Tensor::from_slice(&idx.iter().map(|&i| i as i64).collect::<Vec<_>>());
        Ok((self.x.index_select(0, &i), self.y.index_select(0, &i)))
    }
}

struct Mse<'a>(&'a nn::Linear);

impl Step<(Tensor, Tensor)> for Mse<'_> {
    type Error = EngineError;
    fn loss(&mut self, _step: u64, (x, y): (Tensor, Tensor)) -> Result<StepLoss, EngineError> {
        let total = (self.0.forward(&x) - y).square().mean(Kind::Float);
        let half = total.double_value(&[]) / 2.0;
        Ok(StepLoss {
            total,
            terms: vec![("half".into(), half)],
        })
    }
}

const TOTAL: u64 = 10;

/// Run (or resume) the loop in `out` until `stop_after`.
fn go(out: &Path, resume: bool, stop_after: Option<u64>) -> Result<(), EngineError> {
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(5);
    let x = Tensor::randn([16, 3], (Kind::Float, Device::Cpu));
    let y = x.matmul(&Tensor::from_slice(&[1f32, -2.0, 3.0]).unsqueeze(1));
    let mut vs = nn::VarStore::new(Device::Cpu);
    let lin = nn::linear(vs.root(), 3, 1, Default::default());
    let mut opt = AdamW::new(
        &vs,
        OptimConfig {
            lr: 0.05,
            weight_decay: 0.0,
            clip_grad_norm: None,
            ..OptimConfig::default()
        },
    )
    .unwrap();
    let mut cfg = LoopConfig::full_batch(16, TOTAL, 0.05, 1);
    cfg.batch_size = 4;
    cfg.log_every = 4;
    cfg.checkpoint_every = 3;
    cfg.out = Some(out.to_path_buf());
    cfg.stop_after = stop_after;
    let state = initial_state(out, resume, &mut vs, &mut opt, TOTAL, &"cfg", &[])?;
    run(
        &cfg,
        Data { x, y },
        &mut Mse(&lin),
        &vs,
        &mut opt,
        state,
        &"cfg",
    )?;
    Ok(())
}

/// The log's records without their timing fields.
fn records(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("samples_per_s");
            o.remove("data_wait_s");
            v
        })
        .collect()
}

#[test]
fn a_resumed_run_logs_what_an_uninterrupted_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let straight = dir.path().join("straight");
    go(&straight, false, None).unwrap();
    let want = records(&straight);
    let steps: Vec<u64> = want.iter().map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, [4, 8, 10]);

    // Stopped between two records (5 and 7), resumed each time.
    let stopped = dir.path().join("stopped");
    go(&stopped, false, Some(5)).unwrap();
    go(&stopped, true, Some(7)).unwrap();
    go(&stopped, true, None).unwrap();
    assert_eq!(records(&stopped), want);

    // Killed after the checkpoint of step 6 (its log trimmed to it on
    // resume): the checkpoint carries the sums of steps 5 and 6.
    let killed = dir.path().join("killed");
    go(&killed, false, Some(6)).unwrap();
    let mut log = std::fs::read_to_string(killed.join("metrics.jsonl")).unwrap();
    log.push_str("{\"step\":8,\"loss\":99.0}\n");
    std::fs::write(killed.join("metrics.jsonl"), log).unwrap();
    go(&killed, true, None).unwrap();
    assert_eq!(records(&killed), want);
}

#[test]
fn each_checkpoint_records_the_thread_count_it_was_trained_with() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    go(&out, false, None).unwrap();
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("checkpoint/state.json")).unwrap())
            .unwrap();
    let threads = tch::get_num_threads();
    assert!(threads > 0);
    assert_eq!(state["threads"], serde_json::json!(threads));
}

#[test]
fn a_second_loop_into_a_locked_run_directory_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    std::fs::create_dir_all(&out).unwrap();
    let other = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(out.join(".lock"))
        .unwrap();
    other.try_lock().unwrap();
    let err = go(&out, false, None).unwrap_err().to_string();
    assert!(
        err.contains(&out.display().to_string()) && err.contains("in use"),
        "{err}"
    );
    assert!(!out.join("metrics.jsonl").exists());
    drop(other);
    go(&out, false, None).unwrap();
}
