//! The sensor-language training loop: seeded, resumable, with the next batch
//! prepared on a second thread while the current one trains.

use std::sync::mpsc;
use std::time::Instant;

use tch::{Device, Tensor};

use wearlang_models::checkpoint::{self, CONFIG_FILE, STATE_FILE};
use wearlang_models::sensor_language::{
    resolve_minilm_dir, Batch, SensorLanguageCheckpointConfig, SensorLanguageConfig,
    SensorLanguageModel, SensorLanguageOptions, SensorLanguageSummary, TextSampler,
};
use wearlang_models::{epoch_order, load_training_windows, step_seed, TrainState, WindowSet};
use wearlang_optim::AdamW;

use crate::pretrain::progress_bar;
use crate::{MetricsLog, Result, TrainError};

/// One prepared batch, before it moves to the device.
struct Prepared {
    x: Tensor,
    texts: Vec<String>,
    labels: Option<Tensor>,
}

fn prepare(
    set: &WindowSet,
    sampler: &TextSampler,
    idx: &[usize],
    epoch: u64,
    labels: bool,
) -> Result<Prepared> {
    let x = set.batch(idx, Device::Cpu)?;
    let texts = idx
        .iter()
        .map(|&i| sampler.text(&set.windows[i], i, epoch))
        .collect::<Result<Vec<_>>>()?;
    let labels = if labels {
        Some(set.label_batch(idx, Device::Cpu)?)
    } else {
        None
    };
    Ok(Prepared { x, texts, labels })
}

/// Drop the windows whose label is in `exclude` (every name must be in the
/// store's vocabulary).
fn exclude_labels(
    set: WindowSet,
    exclude: &[String],
    opts: &SensorLanguageOptions,
) -> Result<WindowSet> {
    if exclude.is_empty() {
        return Ok(set);
    }
    for l in exclude {
        if set.meta.labels.index(l).is_err() {
            return Err(TrainError::config(
                "exclude_labels",
                format!(
                    "`{l}` is not a label of {} (labels: {:?})",
                    opts.store.display(),
                    set.meta.labels.labels()
                ),
            ));
        }
    }
    let dropped = set.indices_with_labels(exclude);
    let keep: Vec<usize> = (0..set.len())
        .filter(|i| dropped.binary_search(i).is_err())
        .collect();
    if keep.is_empty() {
        return Err(TrainError::Data(format!(
            "{}: no training window left after excluding {exclude:?}",
            opts.store.display()
        )));
    }
    set.select(&keep)
}

/// Run (or resume) sensor-language training as configured.
pub fn train_sensor_language(
    cfg: &SensorLanguageConfig,
    opts: &SensorLanguageOptions,
) -> Result<SensorLanguageSummary> {
    cfg.validate()?;
    let device = wearlang_device::parse_device(&cfg.device)?;
    if cfg.threads > 0 {
        tch::set_num_threads(cfg.threads as i32);
    }
    let train = exclude_labels(
        load_training_windows(&opts.store)?,
        &cfg.exclude_labels,
        opts,
    )?;
    let sampler = TextSampler::new(&cfg.text, cfg.seed);
    sampler.check(&train.windows)?;
    let needs_labels = cfg.objective.needs_labels();
    if needs_labels {
        if let Some(i) = train.labels.iter().position(Option::is_none) {
            return Err(TrainError::Data(format!(
                "{}: window {i} (subject {}) has no label, which {} needs",
                opts.store.display(),
                train.subjects[i],
                cfg.name
            )));
        }
    }
    let n = train.len();
    if n < 2 {
        return Err(TrainError::Data(format!(
            "{}: {n} training window(s); contrastive training needs at least 2",
            opts.store.display()
        )));
    }
    let bs = cfg.batch_size.min(n);
    let steps_per_epoch = (n / bs).max(1) as u64;
    let total = if cfg.max_steps > 0 {
        cfg.max_steps
    } else {
        cfg.epochs as u64 * steps_per_epoch
    };
    let minilm_dir = resolve_minilm_dir(cfg, opts.minilm_dir.as_deref());

    // Torch's generator is shared by the whole process: hold it for the run.
    let _rng = wearlang_device::lock_rng();
    tch::manual_seed(cfg.seed as i64);
    let corpus = sampler.corpus(&train.windows);
    let mut model = SensorLanguageModel::new(
        cfg,
        train.steps(),
        train.channels(),
        &minilm_dir,
        device,
        &corpus,
    )?;
    model.warm_text_cache(&corpus)?;
    let mut opt = AdamW::new(&model.vs, cfg.optim.clone())?;
    let ckpt_cfg = SensorLanguageCheckpointConfig {
        kind: "sensor_language".into(),
        run: cfg.clone(),
        model: model.resolved().clone(),
        text: model.text_identity().clone(),
        channels: train.meta.channels.iter().map(|c| c.name.clone()).collect(),
        labels: train.meta.labels.labels().to_vec(),
        store: opts.store.clone(),
    };
    let mut state = TrainState {
        total_steps: total,
        ..TrainState::default()
    };
    std::fs::create_dir_all(&opts.out).map_err(|e| TrainError::io(&opts.out, e))?;
    if opts.resume {
        let dir = checkpoint::find_checkpoint(&opts.out).ok_or_else(|| {
            TrainError::checkpoint(&opts.out, "--resume: no checkpoint in this directory")
        })?;
        let saved: SensorLanguageCheckpointConfig = checkpoint::read_json(&dir, CONFIG_FILE)?;
        if saved.kind != "sensor_language"
            || saved.model != ckpt_cfg.model
            || saved.text != ckpt_cfg.text
            || saved.run.seed != cfg.seed
            || saved.run.batch_size != cfg.batch_size
        {
            return Err(TrainError::checkpoint(
                &dir,
                "--resume: the checkpoint was written with a different model, text model, seed or batch size",
            ));
        }
        checkpoint::load_model(&dir, &mut model.vs)?;
        checkpoint::load_optimizer(&dir, &mut opt)?;
        state = checkpoint::read_json(&dir, STATE_FILE)?;
        state.total_steps = total;
        state.finished = false;
    }
    let mut log = MetricsLog::open(&opts.out.join("metrics.jsonl"), state.step)?;
    let bar = progress_bar(opts.progress, total, state.step);
    let stop = opts.stop_after.unwrap_or(total).min(total);
    let start_step = state.step;
    let started = Instant::now();
    let mut wait_total = 0.0f64;
    let mut last_mean = f64::NAN;

    let (tx, rx) = mpsc::sync_channel::<Result<Prepared>>(2);
    let result = std::thread::scope(|scope| -> Result<()> {
        // Tensors are Send but not Sync: the batch thread owns the windows.
        let producer_set = train;
        let producer_sampler = &sampler;
        scope.spawn(move || {
            let mut order_epoch = u64::MAX;
            let mut order = Vec::new();
            for step in start_step..stop {
                let epoch = step / steps_per_epoch;
                if epoch != order_epoch {
                    order = epoch_order(n, cfg.seed, epoch);
                    order_epoch = epoch;
                }
                let b = (step % steps_per_epoch) as usize;
                let p = prepare(
                    &producer_set,
                    producer_sampler,
                    &order[b * bs..(b + 1) * bs],
                    epoch,
                    needs_labels,
                );
                let failed = p.is_err();
                if tx.send(p).is_err() || failed {
                    break;
                }
            }
        });

        let mut window_t = Instant::now();
        let mut window_wait = 0.0f64;
        let (mut acc, mut acc_n) = (Vec::<(String, f64)>::new(), 0u64);
        while state.step < stop {
            let step = state.step;
            let epoch = step / steps_per_epoch;
            let t0 = Instant::now();
            let p = rx
                .recv()
                .map_err(|_| TrainError::Data("the batch thread stopped".into()))??;
            let waited = t0.elapsed().as_secs_f64();
            wait_total += waited;
            window_wait += waited;
            let seed = step_seed(cfg.seed, step);
            tch::manual_seed(seed as i64);
            let batch = Batch {
                x: p.x.to_device(device),
                texts: p.texts,
                labels: p.labels.map(|l| l.to_device(device)),
                seed,
            };
            let out = model.loss(&batch, true)?;
            let loss_v = out.total.double_value(&[]);
            if !loss_v.is_finite() {
                return Err(TrainError::Data(format!(
                    "loss is {loss_v} at step {} (terms {:?})",
                    step + 1,
                    out.terms
                )));
            }
            opt.zero_grad();
            out.total.f_backward()?;
            let lr = cfg.schedule.lr(cfg.optim.lr, step, total);
            let grad_norm = opt.step(lr)?;
            model.clamp_();
            state.step += 1;
            state.samples += bs as u64;
            state.last_loss = loss_v;
            if acc.is_empty() {
                acc.push(("loss".into(), 0.0));
                acc.extend(out.terms.iter().map(|(k, _)| (k.clone(), 0.0)));
            }
            acc[0].1 += loss_v;
            for (slot, (_, v)) in acc[1..].iter_mut().zip(&out.terms) {
                slot.1 += v;
            }
            acc_n += 1;
            if state.step.is_multiple_of(cfg.log_every) || state.step == stop {
                let dt = window_t.elapsed().as_secs_f64().max(1e-9);
                let mut rec = serde_json::Map::new();
                rec.insert("step".into(), state.step.into());
                rec.insert("epoch".into(), epoch.into());
                for (k, v) in &acc {
                    rec.insert(k.clone(), (v / acc_n as f64).into());
                }
                last_mean = acc[0].1 / acc_n as f64;
                rec.insert("lr".into(), lr.into());
                rec.insert("grad_norm".into(), grad_norm.into());
                rec.insert(
                    "samples_per_s".into(),
                    ((acc_n as usize * bs) as f64 / dt).into(),
                );
                rec.insert("data_wait_s".into(), window_wait.into());
                log.write(&rec)?;
                bar.set_message(format!(
                    "loss {last_mean:.4}  lr {lr:.2e}  {:.0} windows/s",
                    (acc_n as usize * bs) as f64 / dt
                ));
                acc.clear();
                acc_n = 0;
                window_wait = 0.0;
                window_t = Instant::now();
            }
            bar.set_position(state.step);
            if state.step.is_multiple_of(cfg.checkpoint_every) && state.step < stop {
                state.wall_s += started.elapsed().as_secs_f64();
                checkpoint::save_checkpoint(&opts.out, &model.vs, Some(&opt), &state, &ckpt_cfg)?;
                state.wall_s -= started.elapsed().as_secs_f64();
            }
        }
        drop(rx);
        Ok(())
    });
    result?;
    let elapsed = started.elapsed().as_secs_f64();
    state.wall_s += elapsed;
    state.finished = state.step == total;
    let ckpt = checkpoint::save_checkpoint(&opts.out, &model.vs, Some(&opt), &state, &ckpt_cfg)?;
    bar.finish_and_clear();
    if last_mean.is_nan() {
        last_mean = state.last_loss;
    }
    Ok(SensorLanguageSummary {
        steps: state.step,
        train_windows: n,
        parameters: model.num_parameters(),
        final_loss: last_mean,
        samples_per_s: ((state.step - start_step) * bs as u64) as f64 / elapsed.max(1e-9),
        data_wait_fraction: wait_total / elapsed.max(1e-9),
        checkpoint: ckpt,
    })
}
