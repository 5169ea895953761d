//! Time the masked-pretraining step (the loop body of
//! `wearlang_train::pretrain`) on random windows; prints one JSON object.
//! `cargo xtask bench pretrain` runs this beside a PyTorch eager reference
//! (`xtask/bench/pretrain_reference.py`) of the same model and step.
//!
//! ```text
//! cargo run --release -p wearlang-train --example bench_pretrain_step -- \
//!     --threads 1 --batch 64 --steps 30 --preset small
//! ```

use std::time::Instant;

use tch::{nn, Device, Kind, Tensor};
use wearlang_encoders::{
    MaeDecoderConfig, MaskedAutoencoder, MaskedAutoencoderConfig, PatchTransformerConfig,
};
use wearlang_masking::MaskConfig;
use wearlang_models::step_seed;
use wearlang_train::{AdamW, OptimConfig};

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let threads: i32 = arg(&args, "--threads", 1);
    let batch: i64 = arg(&args, "--batch", 64);
    let steps: usize = arg(&args, "--steps", 30);
    let warmup: usize = arg(&args, "--warmup", 5);
    let preset: String = arg(&args, "--preset", "small".to_string());
    tch::set_num_threads(threads);
    tch::manual_seed(0);
    let cfg = MaskedAutoencoderConfig {
        encoder: PatchTransformerConfig::preset(&preset, 100, 6, 10, 1)?,
        decoder: MaeDecoderConfig::default(),
        mask: MaskConfig::Random { ratio: 0.8 },
        keep_all_tokens: false,
    };
    let vs = nn::VarStore::new(Device::Cpu);
    let model = MaskedAutoencoder::new(vs.root(), &cfg)?;
    let mut opt = AdamW::new(&vs, OptimConfig::default())?;
    let params: i64 = vs.variables().values().map(|t| t.numel() as i64).sum();
    let x = Tensor::randn([batch, 100, 6], (Kind::Float, Device::Cpu));
    let mut step = |i: u64| -> Result<f64, Box<dyn std::error::Error>> {
        let out = model.forward_t(&x, step_seed(0, i), true)?;
        let loss = model.loss(&out, None)?;
        let v = loss.double_value(&[]);
        opt.zero_grad();
        loss.backward();
        opt.step(1e-3)?;
        Ok(v)
    };
    for i in 0..warmup {
        step(i as u64)?;
    }
    let t = Instant::now();
    for i in 0..steps {
        step((warmup + i) as u64)?;
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "{{\"impl\":\"wearlang\",\"threads\":{},\"params\":{params},\"batch\":{batch},\"steps\":{steps},\"steps_per_s\":{},\"samples_per_s\":{}}}",
        tch::get_num_threads(),
        steps as f64 / dt,
        steps as f64 * batch as f64 / dt
    );
    Ok(())
}
