//! Time one sensor-language training step (the loop body of
//! `wearlang_train::train_sensor_language`: loss, backward, AdamW) on random
//! 100 × 6 windows with NLS activity texts; prints one JSON object.
//! `cargo xtask bench train` runs this beside a PyTorch eager reference
//! (`xtask/bench/train_reference.py`) of the same models and step.
//!
//! Modes: `clip_cached` (conv encoder + frozen MiniLM, cached text
//! embeddings), `clip_minilm` (the same with MiniLM run on every batch),
//! `coca` (small patch Transformer + frozen cached MiniLM + captioning
//! decoder over the corpus vocabulary, α = β = 1).
//!
//! ```text
//! cargo run --release -p wearlang-train --example bench_train_step -- \
//!     --mode clip_cached --threads 1 --batch 64 --steps 20
//! ```

use std::path::PathBuf;
use std::time::Instant;

use tch::{Device, Kind, Tensor};
use wearlang_captioning::ActivityCaptioner;
use wearlang_models::sensor_language::{Batch, SensorKind, TextSampler};
use wearlang_models::{step_seed, SensorLanguageConfig, SensorLanguageModel};
use wearlang_optim::AdamW;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const LABELS: [&str; 7] = ["ABD", "ER", "FEL", "IR", "PEN", "ROW", "TRAP"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mode: String = arg(&args, "--mode", "clip_cached".to_string());
    let threads: i32 = arg(&args, "--threads", 1);
    let batch: usize = arg(&args, "--batch", 64);
    let steps: usize = arg(&args, "--steps", 20);
    let warmup: usize = arg(&args, "--warmup", 3);
    let minilm: PathBuf = arg(
        &args,
        "--minilm",
        wearlang_encoders::text::default_model_dir(None, std::path::Path::new(".")),
    );
    tch::set_num_threads(threads);
    tch::manual_seed(0);
    let mut cfg = SensorLanguageConfig::default();
    match mode.as_str() {
        "clip_cached" => {}
        "clip_minilm" => cfg.text.cache = false,
        "coca" => {
            cfg.sensor.kind = SensorKind::Patch;
            cfg.decoder.max_len = 32;
            cfg.objective = toml::from_str(
                "kind = \"sensorlm\"\nalpha = 1.0\nbeta = 1.0\ncontrastive = { kind = \"clip\" }",
            )?;
        }
        other => return Err(format!("unknown --mode {other}").into()),
    }
    // Every activity text of the template bank, for the cache and the
    // decoder's corpus vocabulary.
    let sampler = TextSampler::new(&cfg.text, 0);
    let captioner = ActivityCaptioner::new(cfg.text.activity.clone());
    let corpus: Vec<String> = {
        let windows: Vec<wearlang_core::Window> = LABELS
            .iter()
            .map(|l| {
                let mut w =
                    wearlang_core::Window::from_values("s", "r", 0, 50.0, 6, vec![0.0; 600])
                        .unwrap();
                w.label = Some(l.to_string());
                w
            })
            .collect();
        sampler.corpus(&windows)
    };
    let model = SensorLanguageModel::new(&cfg, 100, 6, &minilm, Device::Cpu, &corpus)?;
    model.warm_text_cache(&corpus)?;
    let mut opt = AdamW::new(&model.vs, cfg.optim.clone())?;
    let x = Tensor::randn([batch as i64, 100, 6], (Kind::Float, Device::Cpu));
    let texts = |i: u64| -> Vec<String> {
        (0..batch)
            .map(|j| {
                captioner
                    .caption_label(LABELS[j % LABELS.len()], i * 1000 + j as u64)
                    .unwrap()
            })
            .collect()
    };
    let mut step = |i: u64| -> Result<f64, Box<dyn std::error::Error>> {
        let b = Batch {
            x: x.shallow_clone(),
            texts: texts(i),
            labels: None,
            seed: step_seed(0, i),
        };
        let out = model.loss(&b, true)?;
        let v = out.total.double_value(&[]);
        opt.zero_grad();
        out.total.backward();
        opt.step(1e-3)?;
        model.clamp_();
        Ok(v)
    };
    // As the training engine's loop does.
    let _reuse = wearlang_device::ReuseFreedMemory::enter();
    for i in 0..warmup {
        step(i as u64)?;
    }
    let t = Instant::now();
    for i in 0..steps {
        step((warmup + i) as u64)?;
    }
    let dt = t.elapsed().as_secs_f64();
    // What the PyTorch reference needs to build the same shapes: the
    // decoder's vocabulary and the padded token length of a batch (texts
    // are padded to the longest of their batch; mean over the timed steps).
    let text_len = {
        let per_batch: Vec<usize> = (0..steps)
            .map(|i| {
                texts((warmup + i) as u64)
                    .iter()
                    .map(|t| model.tokenizer().encode(t, 64).len())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        (per_batch.iter().sum::<usize>() as f64 / per_batch.len().max(1) as f64).round() as usize
    };
    let vocab = model
        .resolved()
        .decoder
        .as_ref()
        .map(|d| d.vocab_size)
        .unwrap_or(0);
    println!(
        "{{\"impl\":\"wearlang\",\"mode\":\"{mode}\",\"text_len\":{text_len},\"decoder_vocab\":{vocab},\"threads\":{},\"params\":{},\"batch\":{batch},\"steps\":{steps},\"steps_per_s\":{},\"samples_per_s\":{}}}",
        tch::get_num_threads(),
        model.num_parameters(),
        steps as f64 / dt,
        steps as f64 * batch as f64 / dt
    );
    Ok(())
}
