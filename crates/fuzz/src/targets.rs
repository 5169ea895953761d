//! The targets: each reader of files a user hands wearlang, fed the way
//! the command line feeds it.
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rand_chacha::ChaCha8Rng;
use wearlang_ingest::IngestOptions;
use wearlang_store::{ReadOptions, StoreReader};

use crate::fixture::{manifest, repo_file, Fixture};
use crate::{mutate, Target};

/// A mutation function.
type Mutation = fn(&mut Vec<u8>, &mut ChaCha8Rng);

/// Parse manifest `text` as if read from `file`.
pub(crate) fn parse_manifest(text: &str, file: &Path) -> Result<IngestOptions> {
    let base = file.parent().unwrap_or(Path::new("."));
    Ok(IngestOptions::from_toml(text, base, file)?)
}

/// Open a store and read every window back, normalised (what training and
/// evaluation do with it).
fn read_back(store: &Path) -> Result<()> {
    let reader = StoreReader::open(store)?;
    reader.summary()?;
    reader.read_all(ReadOptions {
        batch_size: 64,
        split: None,
        normalise: true,
    })?;
    Ok(())
}

/// Ingest `opts` into `scratch/out.parquet` and read the store back.
fn ingest_and_read(opts: &IngestOptions, scratch: &Path) -> Result<()> {
    opts.validate()?;
    let out = scratch.join("out.parquet");
    wearlang_ingest::ingest(opts, &out)?;
    read_back(&out)
}

/// How a target feeds one input to the code under test.
type Runner = Box<dyn Fn(&[u8], &Path) -> Result<()> + Send + Sync>;

/// A target from its parts.
struct FnTarget {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    mutation: Mutation,
    run: Runner,
}

impl Target for FnTarget {
    fn name(&self) -> &'static str {
        self.name
    }
    fn seeds(&self) -> &[Vec<u8>] {
        &self.seeds
    }
    fn mutate_once(&self, data: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
        (self.mutation)(data, rng)
    }
    fn run(&self, input: &[u8], scratch: &Path) -> Result<()> {
        (self.run)(input, scratch)
    }
}

/// A data file (CSV, Parquet, Arrow IPC) ingested with a fixed manifest.
fn data_file(file_name: &'static str, format: &'static str, time: Option<&'static str>) -> Runner {
    Box::new(move |input, scratch| {
        let file = scratch.join(file_name);
        std::fs::write(&file, input)?;
        let text = manifest(&file, format, time);
        let opts = parse_manifest(&text, &scratch.join("manifest.toml"))?;
        ingest_and_read(&opts, scratch)
    })
}

/// Whether every path `opts` reads lies inside `scratch` (a mutated path
/// must not send a run elsewhere on the machine).
fn inside(opts: &IngestOptions, scratch: &Path) -> bool {
    let root = scratch.canonicalize().unwrap_or_default();
    let ok = |p: &Path| p.canonicalize().map_or(true, |c| c.starts_with(&root));
    opts.input.path.as_deref().is_none_or(ok)
        && opts.streams.iter().all(|s| ok(&s.path))
        && opts.labels.iter().all(|l| ok(&l.path))
}

/// A manifest over the CSV seed.
fn manifest_file(csv: Vec<u8>) -> Runner {
    Box::new(move |input, scratch| {
        std::fs::write(scratch.join("in.csv"), &csv)?;
        let path = scratch.join("manifest.toml");
        std::fs::write(&path, input)?;
        let opts = IngestOptions::from_manifest(&path)?;
        if !inside(&opts, scratch) {
            anyhow::bail!("(fuzz) a path outside the scratch directory: not run");
        }
        ingest_and_read(&opts, scratch)
    })
}

/// A run config (pretraining, sensor-language training, evaluation), the
/// input being `kind\0toml`.
fn run_config(input: &[u8], scratch: &Path) -> Result<()> {
    let (kind, body) = split_named(input);
    let path = scratch.join("config.toml");
    std::fs::write(&path, body)?;
    match kind {
        "train" => {
            wearlang_models::SensorLanguageConfig::from_file(&path)?;
        }
        "eval" => {
            let cfg = wearlang_evaluation::EvalConfig::from_file(&path)?;
            wearlang_evaluation::evaluators(&cfg, &[])?;
        }
        _ => {
            let cfg = wearlang_models::PretrainConfig::from_file(&path)?;
            // The model it describes, over the fixture's window shape.
            cfg.model_config(100, 6)?;
        }
    }
    Ok(())
}

/// `name\0body` → (name, body); without a NUL the whole input is the body.
fn split_named(input: &[u8]) -> (&str, &[u8]) {
    match input.iter().position(|&b| b == 0) {
        Some(i) => (
            std::str::from_utf8(&input[..i]).unwrap_or(""),
            &input[i + 1..],
        ),
        None => ("", input),
    }
}

/// The pretraining checkpoint `dir` with one file replaced by the input
/// (`file`, or named by the input), loaded and run on a batch of the
/// fixture's shape.
fn checkpoint(dir: PathBuf, file: Option<&'static str>) -> Runner {
    Box::new(move |input, scratch| {
        let ckpt = scratch.join("checkpoint");
        std::fs::create_dir_all(&ckpt)?;
        for e in std::fs::read_dir(&dir)? {
            let p = e?.path();
            if p.is_file() {
                std::fs::copy(&p, ckpt.join(p.file_name().context("file name")?))?;
            }
        }
        let (name, body) = match (file, split_named(input)) {
            (Some(f), _) => (f, input),
            (None, ("state.json", b)) => ("state.json", b),
            (None, (_, b)) => ("config.json", b),
        };
        std::fs::write(ckpt.join(name), body)?;
        let mae = wearlang_models::load_mae(&ckpt, tch::Device::Cpu)?;
        let x = tch::Tensor::zeros([2, 100, 6], (tch::Kind::Float, tch::Device::Cpu));
        mae.model.forward_t(&x, 0, false)?;
        Ok(())
    })
}

/// A store whose footer metadata (the `wearlang` JSON) is the input, over
/// the seed store's rows.
fn store_meta(batches: Vec<arrow::record_batch::RecordBatch>) -> Runner {
    Box::new(move |input, scratch| {
        use parquet::file::metadata::KeyValue;
        use parquet::file::properties::WriterProperties;
        let path = scratch.join("store.parquet");
        let props = WriterProperties::builder()
            .set_key_value_metadata(Some(vec![KeyValue::new(
                wearlang_store::META_KEY.to_string(),
                String::from_utf8_lossy(input).into_owned(),
            )]))
            .build();
        let file = std::fs::File::create(&path)?;
        let schema = batches.first().context("the seed store is empty")?.schema();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props))?;
        for b in &batches {
            w.write(b)?;
        }
        w.close()?;
        read_back(&path)
    })
}

/// A store file, byte for byte.
fn store_file(input: &[u8], scratch: &Path) -> Result<()> {
    let path = scratch.join("store.parquet");
    std::fs::write(&path, input)?;
    read_back(&path)
}

fn named(name: &str, body: &[u8]) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    v.extend_from_slice(body);
    v
}

/// The store's metadata JSON and its record batches.
fn store_parts(store: &Path) -> Result<(String, Vec<arrow::record_batch::RecordBatch>)> {
    let file = std::fs::File::open(store)?;
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)?;
    let meta = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == wearlang_store::META_KEY))
        .and_then(|k| k.value.clone())
        .context("the seed store has no metadata")?;
    let batches = builder
        .build()?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((meta, batches))
}

/// Every target over `f`'s seeds. Panics only if the seed files `f` wrote
/// are unreadable (a broken fixture, not a finding).
pub(crate) fn all(f: &Fixture) -> Vec<Box<dyn Target>> {
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let csv = read(&f.csv);
    let ckpt = wearlang_models::checkpoint::find_checkpoint(&f.checkpoint)
        .unwrap_or_else(|| panic!("no checkpoint in {}", f.checkpoint.display()));
    let (meta, batches) = store_parts(&f.store).unwrap_or_else(|e| panic!("{e:#}"));
    let config = |p: &str| repo_file(&f.root, p).unwrap_or_else(|e| panic!("{e:#}"));
    let target = |name, seeds, mutation: Mutation, run: Runner| -> Box<dyn Target> {
        Box::new(FnTarget {
            name,
            seeds,
            mutation,
            run,
        })
    };
    let manifest_seed = manifest(Path::new("in.csv"), "csv", Some("t")).into_bytes();
    let mutate_named_json: Mutation = |d, r| mutate::named(d, r, mutate::json);
    let mutate_named_toml: Mutation = |d, r| mutate::named(d, r, mutate::toml);
    vec![
        target(
            "csv",
            vec![csv.clone()],
            mutate::csv,
            data_file("in.csv", "csv", Some("t")),
        ),
        target(
            "parquet",
            vec![read(&f.parquet)],
            mutate::bytes,
            data_file("in.parquet", "parquet", None),
        ),
        target(
            "arrow",
            vec![read(&f.arrow)],
            mutate::bytes,
            data_file("in.arrow", "ipc", None),
        ),
        target(
            "manifest",
            vec![manifest_seed],
            mutate::toml,
            manifest_file(csv),
        ),
        target(
            "run_config",
            vec![
                named("pretrain", &config("configs/pretrain_fixture.toml")),
                named("train", &config("configs/nls_clip.toml")),
                named("train", &config("configs/sensorlm_coca.toml")),
                named("eval", &config("configs/eval.toml")),
            ],
            mutate_named_toml,
            Box::new(run_config),
        ),
        target(
            "checkpoint_json",
            vec![
                named("config.json", &read(&ckpt.join("config.json"))),
                named("state.json", &read(&ckpt.join("state.json"))),
            ],
            mutate_named_json,
            checkpoint(ckpt.clone(), None),
        ),
        target(
            "safetensors",
            vec![read(&ckpt.join(wearlang_models::checkpoint::MODEL_FILE))],
            mutate::safetensors,
            checkpoint(ckpt, Some(wearlang_models::checkpoint::MODEL_FILE)),
        ),
        target(
            "store_meta",
            vec![meta.into_bytes()],
            mutate::json,
            store_meta(batches),
        ),
        target(
            "store_file",
            vec![read(&f.store)],
            mutate::bytes,
            Box::new(store_file),
        ),
    ]
}
