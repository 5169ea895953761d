//! Windows from a store as tensors, and seeded epoch orders.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};
use wearlang_core::{union_of_lists, ChannelSpec, Normalisation, Split, Window};
use wearlang_store::{ReadOptions, StoreMeta, StoreReader, WindowSource};

use crate::{ModelError, Result};

/// The windows of one split, in memory, as a `[N, T, C]` float tensor with
/// NaN where a value is missing (missing values are never filled here).
pub struct WindowSet {
    /// `[N, T, C]` float32 on the CPU.
    pub x: Tensor,
    /// Label index into the store's vocabulary, per window.
    pub labels: Vec<Option<usize>>,
    /// Subject per window.
    pub subjects: Vec<String>,
    /// The windows themselves (captions, events, provenance). In a set
    /// read with [`Values::InTensorOnly`] (the training sets of
    /// [`training_windows`] and [`load_training_union`]) their `values` and
    /// `missing` are empty: `x` holds the values once.
    pub windows: Vec<Window>,
    /// The store's metadata.
    pub meta: StoreMeta,
    /// Where `x` lives; sets derived from this one ([`WindowSet::select`],
    /// [`WindowSet::onto_channels`], [`WindowSet::renormalise`]) keep it.
    home: ValueHome,
}

/// Where the values tensor (`x`) of a [`WindowSet`] lives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ValueHome {
    /// In memory (the default).
    #[default]
    Memory,
    /// In a file under this directory, mapped into memory
    /// (`Tensor::from_file`): a batch reads the pages it touches and the
    /// kernel may drop them again, so a training split larger than memory
    /// trains, with the same values in the same order as in memory. The
    /// file is written a chunk of windows at a time; on Linux it never has
    /// a name (nothing is left behind, even by a run killed while writing
    /// it), elsewhere its name is removed as soon as it is mapped. Its disk
    /// space comes back when the set is dropped. Use a directory on a disk,
    /// not a RAM-backed `tmpfs`.
    Disk(PathBuf),
}

/// How a [`WindowSet`] is read and kept (training sets; the default is
/// everything in memory).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetOptions {
    /// Where the values tensor lives.
    pub home: ValueHome,
    /// The captions each window keeps (`None`: all of them), the others
    /// dropped batch by batch as the store is read (a long caption per
    /// window that a run never reads was most of a large training set's
    /// memory). A window that lacks one of them keeps all its captions, so
    /// that the error naming it can list what it has.
    pub captions: Option<Vec<String>>,
}

/// Windows per chunk when a set is rebuilt in pieces (selection, channel
/// mapping, renormalisation): bounds the memory such a rebuild holds beyond
/// the result.
const CHUNK_WINDOWS: usize = 4096;

/// A `[N, T, C]` float tensor built a chunk of windows at a time, in
/// memory or in a mapped file ([`ValueHome`]).
struct Rows {
    shape: [i64; 2],
    rows: i64,
    parts: Vec<Tensor>,
    /// In memory with a known upper bound: one tensor of that many
    /// windows, filled in place (so the values are never held twice);
    /// `parts` then stays empty unless the bound was wrong.
    buf: Option<Tensor>,
    file: Option<ValuesFile>,
}

/// A values file being written. On Linux it has no name from the start
/// (`O_TMPFILE`, or created and unlinked at once) and is mapped through
/// `/proc/self/fd`, so that even a run killed while writing it leaves
/// nothing behind; elsewhere it is named until it is mapped.
struct ValuesFile {
    dir: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    #[cfg(not(target_os = "linux"))]
    named: tempfile::NamedTempFile,
}

impl ValuesFile {
    fn create(dir: &Path) -> Result<Self> {
        let io = |e| ModelError::io(dir, e);
        #[cfg(target_os = "linux")]
        let file = tempfile::tempfile_in(dir).map_err(io)?;
        #[cfg(not(target_os = "linux"))]
        let named = tempfile::Builder::new()
            .prefix(".wearlang-values-")
            .suffix(".f32")
            .tempfile_in(dir)
            .map_err(io)?;
        #[cfg(not(target_os = "linux"))]
        let file = named.reopen().map_err(io)?;
        Ok(ValuesFile {
            dir: dir.to_path_buf(),
            out: std::io::BufWriter::with_capacity(1 << 20, file),
            #[cfg(not(target_os = "linux"))]
            named,
        })
    }

    /// The file's `numel` float32 values mapped as a tensor (the file's
    /// name, where it has one, removed).
    fn map(self, numel: i64) -> Result<Tensor> {
        let dir = self.dir;
        let file = self
            .out
            .into_inner()
            .map_err(|e| ModelError::io(&dir, e.into_error()))?;
        // (The mapping reads the page cache: no sync needed.)
        #[cfg(target_os = "linux")]
        let name = {
            use std::os::fd::AsRawFd;
            format!("/proc/self/fd/{}", file.as_raw_fd())
        };
        #[cfg(not(target_os = "linux"))]
        let name = self
            .named
            .path()
            .to_str()
            .ok_or_else(|| {
                ModelError::Data(format!(
                    "{}: the values file's path is not UTF-8 (choose another directory)",
                    self.named.path().display()
                ))
            })?
            .to_string();
        let x = Tensor::f_from_file(&name, false, Some(numel), (Kind::Float, Device::Cpu))?;
        // Mapped: the file and its name can go; the pages stay until `x`
        // is dropped.
        drop(file);
        #[cfg(not(target_os = "linux"))]
        self.named.close().map_err(|e| ModelError::io(&dir, e))?;
        Ok(x)
    }
}

impl Rows {
    /// An empty tensor of windows of `t` steps × `c` channels, kept where
    /// `home` says (a file there is created now).
    fn new(home: &ValueHome, t: usize, c: usize) -> Result<Self> {
        let file = match home {
            ValueHome::Memory => None,
            ValueHome::Disk(dir) => Some(ValuesFile::create(dir)?),
        };
        Ok(Rows {
            shape: [t as i64, c as i64],
            rows: 0,
            parts: Vec::new(),
            buf: None,
            file,
        })
    }

    /// [`Rows::new`] for at most `bound` windows: in memory, one tensor of
    /// `bound` windows is allocated and filled in place (its pages are
    /// touched only as they are filled, so a bound above the final count
    /// costs address space, not memory).
    fn with_bound(home: &ValueHome, t: usize, c: usize, bound: usize) -> Result<Self> {
        let mut rows = Self::new(home, t, c)?;
        if *home == ValueHome::Memory && bound > 0 {
            rows.buf = Some(Tensor::f_empty(
                [bound as i64, t as i64, c as i64],
                (Kind::Float, Device::Cpu),
            )?);
        }
        Ok(rows)
    }

    /// Append `x`, `[n, T, C]` (any kind; stored as float32).
    fn push(&mut self, x: Tensor) -> Result<()> {
        let size = x.size();
        if size.len() != 3 || size[1..] != self.shape {
            return Err(ModelError::Data(format!(
                "a chunk of shape {size:?} for windows of {} steps × {} channels",
                self.shape[0], self.shape[1]
            )));
        }
        let at = self.rows;
        self.rows += size[0];
        if let Some(buf) = &self.buf {
            if self.rows <= buf.size()[0] {
                buf.f_narrow(0, at, size[0])?.f_copy_(&x)?;
                return Ok(());
            }
            // More windows than the bound: keep what is filled as a part.
            let filled = buf.f_narrow(0, 0, at)?;
            self.parts.push(filled);
            self.buf = None;
        }
        match &mut self.file {
            None => self.parts.push(x),
            Some(f) => {
                let x = x.f_to_kind(Kind::Float)?.f_contiguous()?;
                let n = x.numel();
                let mut bytes = vec![0u8; n * 4];
                x.f_copy_data_u8(&mut bytes, n)?;
                f.out
                    .write_all(&bytes)
                    .map_err(|e| ModelError::io(&f.dir, e))?;
            }
        }
        Ok(())
    }

    /// The tensor: the parts concatenated, or the file mapped.
    fn finish(self) -> Result<Tensor> {
        let [t, c] = self.shape;
        if let Some(buf) = self.buf {
            return Ok(buf.f_narrow(0, 0, self.rows)?);
        }
        let Some(file) = self.file else {
            return match self.parts.len() {
                0 => Ok(Tensor::zeros([0, t, c], (Kind::Float, Device::Cpu))),
                _ => concat(self.parts),
            };
        };
        let numel = self.rows * t * c;
        if numel == 0 {
            return Ok(Tensor::zeros([self.rows, t, c], (Kind::Float, Device::Cpu)));
        }
        let x = file.map(numel)?.f_reshape([self.rows, t, c])?;
        // Batches read windows at random: no read-ahead around each one.
        wearlang_device::advise_random_access(&x);
        Ok(x)
    }
}

/// Where a [`WindowSet`] keeps the windows' values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// In `x` and in each window (`windows[i].values`, `.missing`), for
    /// code that reads raw windows (captioning, reports).
    InWindowsToo,
    /// In `x` only; each window keeps its metadata, labels and captions.
    /// Training reads values through `x`, so this holds them once.
    InTensorOnly,
}

impl WindowSet {
    /// Read `split` (all windows when `None`) of the store at `path`,
    /// normalised with the store's training statistics when `normalise`.
    /// Errors when the split is empty or a label is not in the vocabulary.
    pub fn load(path: &Path, split: Option<Split>, normalise: bool) -> Result<Self> {
        Self::from_source(&StoreReader::open(path)?, split, normalise)
    }

    /// [`WindowSet::load`] read and kept as `how` says, the values where
    /// `values` says ([`WindowSet::read_in`]).
    pub fn load_in(
        path: &Path,
        split: Option<Split>,
        normalise: bool,
        values: Values,
        how: &SetOptions,
    ) -> Result<Self> {
        Self::read_in(&StoreReader::open(path)?, split, normalise, values, how)
    }

    /// Read `split` (all windows when `None`) of any [`WindowSource`],
    /// batch by batch, normalised with its statistics when `normalise`.
    /// Errors when the split is empty or a label is not in the vocabulary.
    pub fn from_source(
        source: &dyn WindowSource,
        split: Option<Split>,
        normalise: bool,
    ) -> Result<Self> {
        Self::read(source, split, normalise, Values::InWindowsToo)
    }

    /// [`WindowSet::from_source`], keeping the values where `values` says.
    /// The tensor is built batch by batch as the source is read, so with
    /// [`Values::InTensorOnly`] the values are never held twice beyond one
    /// batch (and the final concatenation).
    pub fn read(
        source: &dyn WindowSource,
        split: Option<Split>,
        normalise: bool,
        values: Values,
    ) -> Result<Self> {
        Self::read_in(source, split, normalise, values, &SetOptions::default())
    }

    /// [`WindowSet::read`] with the tensor kept where `how.home` says (in a
    /// mapped file, each batch is written out as it is read: memory holds
    /// one batch of values, not the split) and only `how.captions`.
    pub fn read_in(
        source: &dyn WindowSource,
        split: Option<Split>,
        normalise: bool,
        values: Values,
        how: &SetOptions,
    ) -> Result<Self> {
        let home = &how.home;
        let meta = source.meta().clone();
        let opts = ReadOptions {
            split,
            normalise,
            ..ReadOptions::default()
        };
        let (t, c) = (meta.window_len, meta.channels.len());
        // At most every window of the source: filled in place in memory.
        let mut rows = Rows::with_bound(home, t, c, source.num_windows())?;
        let mut windows = Vec::new();
        for batch in source.batches(opts)? {
            let mut batch = batch?;
            let first = windows.len();
            rows.push(batch_tensor(&batch, first, t, c)?)?;
            for w in &mut batch {
                if values == Values::InTensorOnly {
                    w.values = Vec::new();
                    w.missing = Vec::new();
                }
                if let Some(keep) = &how.captions {
                    // One lacking a caption keeps all: the error that names
                    // it lists what it has.
                    if keep.iter().all(|k| w.captions.contains_key(k)) {
                        w.captions.retain(|name, _| keep.contains(name));
                    }
                }
            }
            windows.extend(batch);
        }
        if windows.is_empty() {
            return Err(ModelError::Data(format!(
                "{}: no windows in split {}",
                source.name(),
                split.map(|s| s.as_str()).unwrap_or("(all)")
            )));
        }
        let x = rows.finish()?;
        Ok(Self::from_parts(x, windows, meta)?.kept_in(home.clone()))
    }

    /// Where this set's values tensor lives.
    pub fn home(&self) -> &ValueHome {
        &self.home
    }

    /// This set, saying its tensor lives in `home` (derived sets follow).
    fn kept_in(mut self, home: ValueHome) -> Self {
        self.home = home;
        self
    }

    /// `f` applied to `x` a chunk of windows at a time into a tensor kept
    /// where this set's is (in memory: to all of `x` at once).
    fn map_chunks(&self, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
        if self.home == ValueHome::Memory {
            return f(&self.x);
        }
        let (n, t, c) = (self.len(), self.steps(), self.channels());
        let mut rows = None;
        for start in (0..n).step_by(CHUNK_WINDOWS) {
            let len = CHUNK_WINDOWS.min(n - start);
            let y = f(&self.x.f_narrow(0, start as i64, len as i64)?)?;
            if rows.is_none() {
                let size = y.size();
                let (t, c) = match size.as_slice() {
                    [_, t, c] => (*t as usize, *c as usize),
                    _ => (t, c),
                };
                rows = Some(Rows::new(&self.home, t, c)?);
            }
            rows.as_mut().expect("created above").push(y)?;
        }
        match rows {
            Some(r) => r.finish(),
            None => f(&self.x),
        }
    }

    /// Build from windows that all share `meta`'s shape (values kept in the
    /// windows too).
    pub fn from_windows(windows: Vec<Window>, meta: StoreMeta) -> Result<Self> {
        let (t, c) = (meta.window_len, meta.channels.len());
        let x = batch_tensor(&windows, 0, t, c)?;
        Self::from_parts(x, windows, meta)
    }

    /// Build from a `[N, T, C]` tensor and the `N` windows it holds the
    /// values of (their own `values` may be empty); labels are looked up in
    /// `meta`'s vocabulary.
    pub fn from_parts(x: Tensor, windows: Vec<Window>, meta: StoreMeta) -> Result<Self> {
        let (t, c) = (meta.window_len as i64, meta.channels.len() as i64);
        let want = [windows.len() as i64, t, c];
        if x.size() != want {
            return Err(ModelError::Data(format!(
                "values of shape {:?} for {} windows of {t} steps × {c} channels",
                x.size(),
                windows.len()
            )));
        }
        let labels = windows
            .iter()
            .map(|w| match &w.label {
                Some(l) => meta.labels.index(l).map(Some),
                None => Ok(None),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(WindowSet {
            x,
            labels,
            subjects: windows.iter().map(|w| w.subject.clone()).collect(),
            windows,
            meta,
            home: ValueHome::Memory,
        })
    }

    /// The same windows with their channels in the order of `model` (a
    /// model's channels): each matched to the store's channel of the same
    /// name, or else of the same [`ChannelSpec::canonical`] identity (kind
    /// and axis: `acc_x` reads the model's `ax`), reordered; store channels
    /// the model does not read are dropped. A model channel the store
    /// lacks, or matches twice, is an error naming it and `source` (the
    /// store). Returns the set and the names of the channels dropped.
    pub fn onto_channels(self, model: &[ChannelSpec], source: &str) -> Result<(Self, Vec<String>)> {
        let have: Vec<&str> = self.meta.channels.iter().map(|c| c.name.as_str()).collect();
        if have
            .iter()
            .copied()
            .eq(model.iter().map(|c| c.name.as_str()))
        {
            return Ok((self, Vec::new()));
        }
        let mut order = Vec::with_capacity(model.len());
        let mut missing = Vec::new();
        for m in model {
            let by_name = have.iter().position(|h| *h == m.name);
            let by_kind: Vec<usize> = (0..have.len())
                .filter(|&j| self.meta.channels[j].canonical() == m.canonical())
                .collect();
            match (by_name, by_kind.as_slice()) {
                (Some(j), _) | (None, &[j]) => order.push(j),
                (None, []) => missing.push(m.name.as_str()),
                (None, many) => {
                    return Err(ModelError::Data(format!(
                        "{source}: the model's channel `{}` ({}) matches {:?} of the store",
                        m.name,
                        m.canonical(),
                        many.iter().map(|&j| have[j]).collect::<Vec<_>>()
                    )))
                }
            }
        }
        if !missing.is_empty() {
            let names: Vec<&str> = model.iter().map(|c| c.name.as_str()).collect();
            return Err(ModelError::Data(format!(
                "{source}: the model reads channels {names:?}; the store has {have:?}, \
                 without {missing:?} (matched by name, or by kind and axis)"
            )));
        }
        if let Some(j) = (0..order.len()).find(|&i| order[..i].contains(&order[i])) {
            return Err(ModelError::Data(format!(
                "{source}: the store's channel `{}` would feed two of the model's",
                have[order[j]]
            )));
        }
        let dropped: Vec<String> = (0..have.len())
            .filter(|j| !order.contains(j))
            .map(|j| have[j].to_string())
            .collect();
        let c = have.len();
        let index: Vec<i64> = order.iter().map(|&j| j as i64).collect();
        let index = Tensor::f_from_slice(&index)?;
        let x = self.map_chunks(|x| Ok(x.f_index_select(2, &index)?))?;
        let mut meta = self.meta;
        let channels: Vec<_> = order.iter().map(|&j| meta.channels[j].clone()).collect();
        meta.channels = channels;
        if let Some(norm) = &mut meta.normalisation {
            if norm.mean.len() == c && norm.std.len() == c {
                norm.mean = order.iter().map(|&j| norm.mean[j]).collect();
                norm.std = order.iter().map(|&j| norm.std[j]).collect();
            }
        }
        let mut windows = self.windows;
        for w in &mut windows {
            w.channels = order.len();
            if w.values.is_empty() {
                // A training set's window: its values are in the tensor.
                continue;
            }
            let steps = w.values.len() / c.max(1);
            let pick = |t: usize, j: usize| t * c + j;
            let mut v = Vec::with_capacity(steps * order.len());
            let mut m = Vec::with_capacity(if w.missing.is_empty() {
                0
            } else {
                v.capacity()
            });
            for t in 0..steps {
                v.extend(order.iter().map(|&j| w.values[pick(t, j)]));
                if w.missing.len() == w.values.len() {
                    m.extend(order.iter().map(|&j| w.missing[pick(t, j)]));
                }
            }
            w.values = v;
            w.missing = m;
        }
        Ok((
            Self::from_parts(x, windows, meta)?.kept_in(self.home),
            dropped,
        ))
    }

    /// The same windows normalised with `to` (statistics of the channels
    /// `to_channels`, in this set's channel order, e.g. a model's) instead
    /// of the store's own: each value is taken back to the store's unit
    /// with the store's statistics, converted to `to_channels`' unit
    /// ([`wearlang_core::units`]) and normalised with `to`. NaN stays NaN.
    /// Errors name `source` and the channel: the store has no statistics,
    /// the channel counts differ, or a unit cannot be converted.
    pub fn renormalise(
        self,
        to: &Normalisation,
        to_channels: &[ChannelSpec],
        source: &str,
    ) -> Result<Self> {
        let c = self.meta.channels.len();
        if to.mean.len() != c || to.std.len() != c {
            return Err(ModelError::Data(format!(
                "{source}: {c} channels, the statistics to normalise with are for {}",
                to.mean.len()
            )));
        }
        let from = stats_in_units_of(&self.meta, to_channels, source)?;
        // x_to = (x σ_from + μ_from − μ_to) / σ_to, with σ_from and μ_from
        // already in the units of `to_channels`.
        let scale: Vec<f64> = (0..c).map(|j| from.std[j] / to.std[j]).collect();
        let shift: Vec<f64> = (0..c)
            .map(|j| (from.mean[j] - to.mean[j]) / to.std[j])
            .collect();
        let a = Tensor::f_from_slice(&scale)?.to_kind(Kind::Float);
        let b = Tensor::f_from_slice(&shift)?.to_kind(Kind::Float);
        let x = self.map_chunks(|x| Ok(x.f_mul(&a)?.f_add(&b)?))?;
        let mut windows = self.windows;
        for w in &mut windows {
            for row in w.values.chunks_exact_mut(c) {
                for ((v, &a), &b) in row.iter_mut().zip(&scale).zip(&shift) {
                    *v = (*v as f64 * a + b) as f32;
                }
            }
        }
        let mut meta = self.meta;
        meta.normalisation = Some(to.clone());
        for (have, want) in meta.channels.iter_mut().zip(to_channels) {
            have.unit = want.unit.clone();
        }
        Ok(Self::from_parts(x, windows, meta)?.kept_in(self.home))
    }

    /// The windows at `idx` (in that order) as a new set; errors when an
    /// index is out of range or `idx` is empty.
    pub fn select(&self, idx: &[usize]) -> Result<WindowSet> {
        if idx.is_empty() {
            return Err(ModelError::Data("no windows selected".into()));
        }
        let x = self.gather(idx)?;
        Ok(WindowSet {
            x,
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            subjects: idx.iter().map(|&i| self.subjects[i].clone()).collect(),
            windows: idx.iter().map(|&i| self.windows[i].clone()).collect(),
            meta: self.meta.clone(),
            home: self.home.clone(),
        })
    }

    /// The values of the windows at `idx` (in that order), `[k, T, C]` on
    /// the CPU, kept where this set's are ([`ValueHome`]: in a mapped file
    /// they are copied a chunk at a time, never all in memory).
    pub fn gather(&self, idx: &[usize]) -> Result<Tensor> {
        match &self.home {
            ValueHome::Memory => self.batch(idx, Device::Cpu),
            home => {
                let mut rows = Rows::new(home, self.steps(), self.channels())?;
                for chunk in idx.chunks(CHUNK_WINDOWS) {
                    rows.push(self.batch(chunk, Device::Cpu)?)?;
                }
                rows.finish()
            }
        }
    }

    /// The indices of the windows whose label is one of `labels` (names of
    /// the store's vocabulary).
    pub fn indices_with_labels<S: AsRef<str>>(&self, labels: &[S]) -> Vec<usize> {
        self.windows
            .iter()
            .enumerate()
            .filter(|(_, w)| {
                w.label
                    .as_deref()
                    .is_some_and(|l| labels.iter().any(|x| x.as_ref() == l))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no windows.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Steps per window.
    pub fn steps(&self) -> usize {
        self.meta.window_len
    }

    /// Channels per window.
    pub fn channels(&self) -> usize {
        self.meta.channels.len()
    }

    /// The windows at `idx` as a `[B, T, C]` tensor on `device`.
    pub fn batch(&self, idx: &[usize], device: Device) -> Result<Tensor> {
        let n = self.len();
        if let Some(bad) = idx.iter().find(|&&i| i >= n) {
            return Err(ModelError::Data(format!(
                "window index {bad} out of range (n = {n})"
            )));
        }
        let idx: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
        let t = Tensor::f_from_slice(&idx)?;
        Ok(self.x.f_index_select(0, &t)?.f_to_device(device)?)
    }

    /// Labels at `idx` as an int64 tensor; errors when one is unlabelled.
    pub fn label_batch(&self, idx: &[usize], device: Device) -> Result<Tensor> {
        let mut out = Vec::with_capacity(idx.len());
        for &i in idx {
            match self.labels.get(i).copied().flatten() {
                Some(l) => out.push(l as i64),
                None => {
                    return Err(ModelError::Data(format!(
                        "window {i} (subject {}) has no label",
                        self.subjects.get(i).map(String::as_str).unwrap_or("?")
                    )))
                }
            }
        }
        Ok(Tensor::f_from_slice(&out)?
            .f_to_kind(Kind::Int64)?
            .f_to_device(device)?)
    }
}

/// `parts` (`[n_i, T, C]` each, same `T` and `C`) stacked along the first
/// dimension into a tensor kept where `home` says (in a file: a chunk of
/// windows at a time). An empty list is an error.
pub fn stack_rows(parts: &[&Tensor], home: &ValueHome) -> Result<Tensor> {
    let first = parts
        .first()
        .ok_or_else(|| ModelError::Data("no windows to stack".into()))?;
    if *home == ValueHome::Memory {
        return Ok(Tensor::f_cat(parts, 0)?);
    }
    let size = first.size();
    let [_, t, c] = size[..] else {
        return Err(ModelError::Data(format!(
            "windows of shape {size:?}, not [N, T, C]"
        )));
    };
    let mut rows = Rows::new(home, t as usize, c as usize)?;
    for part in parts {
        let n = part.size().first().copied().unwrap_or(0);
        for start in (0..n).step_by(CHUNK_WINDOWS) {
            let len = (CHUNK_WINDOWS as i64).min(n - start);
            rows.push(part.f_narrow(0, start, len)?)?;
        }
    }
    rows.finish()
}

/// The values of `windows` as a `[N, T, C]` tensor; a window of another
/// length is an error naming it (`first` is the index of `windows[0]` in
/// the set, for the message).
fn batch_tensor(windows: &[Window], first: usize, t: usize, c: usize) -> Result<Tensor> {
    let mut values = Vec::with_capacity(windows.len() * t * c);
    for (i, w) in windows.iter().enumerate() {
        if w.values.len() != t * c {
            return Err(ModelError::Data(format!(
                "window {} (subject {}, recording {}) has {} values, the store says {t} × {c}",
                first + i,
                w.subject,
                w.recording,
                w.values.len()
            )));
        }
        values.extend_from_slice(&w.values);
    }
    Ok(Tensor::f_from_slice(&values)?.f_reshape([windows.len() as i64, t as i64, c as i64])?)
}

/// The parts stacked along the first dimension (one part is returned as is).
fn concat(mut parts: Vec<Tensor>) -> Result<Tensor> {
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    Ok(Tensor::f_cat(&parts, 0)?)
}

/// The order of `n` items in epoch `epoch` of a run seeded with `seed`: a
/// ChaCha8 shuffle that depends only on `(seed, epoch)`, so a resumed run
/// sees the same order.
pub fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    order.shuffle(&mut rng);
    order
}

/// A per-step seed derived from the run seed (for masks and dropout).
pub fn step_seed(seed: u64, step: u64) -> u64 {
    let mut z = seed.wrapping_add(step.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The training split of a store (all windows when the store has no split).
pub fn load_training_windows(store: &Path) -> Result<WindowSet> {
    training_windows(&StoreReader::open(store)?)
}

/// The training split of a source (all its windows when it has no training
/// split), normalised, with the values in the tensor only
/// ([`Values::InTensorOnly`]).
pub fn training_windows(source: &dyn WindowSource) -> Result<WindowSet> {
    training_windows_in(source, &SetOptions::default())
}

/// [`training_windows`] read and kept as `how` says.
pub fn training_windows_in(source: &dyn WindowSource, how: &SetOptions) -> Result<WindowSet> {
    let read = |split| WindowSet::read_in(source, split, true, Values::InTensorOnly, how);
    match read(Some(Split::Train)) {
        Ok(set) => Ok(set),
        Err(ModelError::Data(_)) => read(None),
        Err(e) => Err(e),
    }
}

/// The training windows of several stores as one set (a model trained on
/// more than one data set): each store's windows normalised with its own
/// training statistics (so units and offsets need no conversion; the set's
/// `meta.normalisation` pools the statistics of all of them), mapped
/// onto the first store's channels ([`WindowSet::onto_channels`]: by name,
/// or by kind and axis; channels the first store lacks are dropped, one it
/// has that another lacks is an error naming that store), under the union of
/// their label vocabularies (sorted). All stores must share the first one's
/// window length and sample rate. Returns the set and, per store, its
/// window count.
pub fn load_training_union(stores: &[&Path]) -> Result<(WindowSet, Vec<usize>)> {
    load_training_union_with(stores, crate::InputNormalisation::Store)
}

/// [`load_training_union`] with the statistics to normalise by: each
/// store's own (`Store`) or, with `Model`, the pooled statistics of all of
/// them (the set's `meta.normalisation`), so that every data set is on one
/// scale in the first store's units. With one store the two are the same.
pub fn load_training_union_with(
    stores: &[&Path],
    scale: crate::InputNormalisation,
) -> Result<(WindowSet, Vec<usize>)> {
    load_training_union_in(stores, scale, &SetOptions::default())
}

/// [`load_training_union_with`] read and kept as `how` says: with
/// [`ValueHome::Disk`], every store is read, mapped onto the first's
/// channels, renormalised and joined a chunk of windows at a time, so
/// memory holds the windows' metadata, not their values.
pub fn load_training_union_in(
    stores: &[&Path],
    scale: crate::InputNormalisation,
    how: &SetOptions,
) -> Result<(WindowSet, Vec<usize>)> {
    let load = |store: &Path| training_windows_in(&StoreReader::open(store)?, how);
    load_union_in(stores, scale, how, load)
}

/// The **validation** windows of several stores as one set, joined as
/// [`load_training_union_in`] joins their training windows (the same
/// channels, statistics and scale, so a model trained on the training
/// union reads them as it reads its training windows). The first store
/// must have validation windows; another store without any adds none (its
/// count is 0). Returns the set and, per store, its window count.
pub fn load_validation_union_in(
    stores: &[&Path],
    scale: crate::InputNormalisation,
    how: &SetOptions,
) -> Result<(WindowSet, Vec<usize>)> {
    let first = stores.first().copied();
    let load = |store: &Path| {
        let reader = StoreReader::open(store)?;
        if Some(store) != first {
            let summary = reader.summary()?;
            if summary
                .split_counts
                .get(Split::Val.as_str())
                .copied()
                .unwrap_or(0)
                == 0
            {
                // No window, but the store's channels and statistics still
                // count (the scale is the one the training union had).
                let meta = reader.meta().clone();
                let shape = [0, meta.window_len as i64, meta.channels.len() as i64];
                let x = Tensor::zeros(shape, (Kind::Float, Device::Cpu));
                return WindowSet::from_parts(x, Vec::new(), meta);
            }
        }
        WindowSet::read_in(&reader, Some(Split::Val), true, Values::InTensorOnly, how)
    };
    load_union_in(stores, scale, how, load)
}

/// Join the windows `load` reads from each of `stores` (see
/// [`load_training_union_in`]).
fn load_union_in(
    stores: &[&Path],
    scale: crate::InputNormalisation,
    how: &SetOptions,
    load: impl Fn(&Path) -> Result<WindowSet>,
) -> Result<(WindowSet, Vec<usize>)> {
    let home = &how.home;
    let (first, rest) = stores
        .split_first()
        .ok_or_else(|| ModelError::Data("no store to train on".into()))?;
    let base = load(first)?;
    if rest.is_empty() {
        let n = base.len();
        return Ok((base, vec![n]));
    }
    let schema = base.meta.channels.clone();
    let mut meta = base.meta.clone();
    let mut sets = vec![(base, first.display().to_string())];
    for store in rest {
        let name = store.display().to_string();
        let set = load(store)?;
        if set.meta.window_len != meta.window_len || set.meta.rate_hz != meta.rate_hz {
            return Err(ModelError::Data(format!(
                "{name}: windows of {} steps at {} Hz, {} has {} steps at {} Hz (resample or \
                 re-window it to match)",
                set.meta.window_len,
                set.meta.rate_hz,
                first.display(),
                meta.window_len,
                meta.rate_hz
            )));
        }
        let (set, _) = set.onto_channels(&schema, &name)?;
        // The union's channels were worn wherever any store's were.
        for (u, c) in meta.channels.iter_mut().zip(&set.meta.channels) {
            u.location = union_of_lists(u.location.as_deref(), c.location.as_deref());
            u.device = union_of_lists(u.device.as_deref(), c.device.as_deref());
        }
        sets.push((set, name));
    }
    // The statistics of all the stores' training windows together: what
    // the model records as its input scale (each store's windows are
    // normalised with their own unless `scale` says otherwise). None when a
    // store lacks what pooling needs (statistics, or value counts in stores
    // written before them).
    let norms: Option<Vec<Normalisation>> = sets
        .iter()
        .map(|(set, name)| stats_in_units_of(&set.meta, &schema, name).ok())
        .collect();
    meta.normalisation =
        norms.and_then(|n| Normalisation::pool(&n.iter().collect::<Vec<_>>()).ok());
    if scale == crate::InputNormalisation::Model {
        let Some(pooled) = meta.normalisation.clone() else {
            return Err(ModelError::Data(format!(
                "{}: normalising with the pooled statistics of the training stores needs every \
                 store's statistics and value counts (re-ingest the stores written before they \
                 were recorded)",
                stores
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        sets = sets
            .into_iter()
            .map(|(set, name)| Ok((set.renormalise(&pooled, &schema, &name)?, name)))
            .collect::<Result<_>>()?;
    }
    let counts: Vec<usize> = sets.iter().map(|(set, _)| set.len()).collect();
    let x = stack_rows(
        &sets.iter().map(|(set, _)| &set.x).collect::<Vec<_>>(),
        home,
    )?;
    let mut windows = Vec::new();
    for (set, _) in sets {
        windows.extend(set.windows);
    }
    let mut labels: Vec<String> = windows.iter().filter_map(|w| w.label.clone()).collect();
    labels.extend(meta.labels.labels().iter().cloned());
    labels.sort();
    labels.dedup();
    meta.labels = wearlang_core::LabelVocab::new(labels);
    meta.source = format!(
        "union of {}",
        stores
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((
        WindowSet::from_parts(x, windows, meta)?.kept_in(home.clone()),
        counts,
    ))
}

/// A store's statistics (`meta.normalisation`) in the units of `schema`
/// (the channels they are read as, in the same order). Errors name
/// `source` and the channel: no statistics, other channel counts, or a
/// unit without a conversion.
fn stats_in_units_of(
    meta: &StoreMeta,
    schema: &[ChannelSpec],
    source: &str,
) -> Result<Normalisation> {
    let mut n = meta
        .normalisation
        .clone()
        .ok_or_else(|| ModelError::Data(format!("{source} has no normalisation statistics")))?;
    let c = meta.channels.len();
    if n.mean.len() != c || n.std.len() != c || schema.len() != c {
        return Err(ModelError::Data(format!(
            "{source}: {c} channels, statistics for {}, read as {} channels",
            n.mean.len(),
            schema.len()
        )));
    }
    for (j, (have, want)) in meta.channels.iter().zip(schema).enumerate() {
        let u = wearlang_core::units::factor_between(have, want).ok_or_else(|| {
            ModelError::Data(format!(
                "{source}: channel `{}` is in '{}', the model's `{}` in '{}': no conversion \
                 between them (normalise with the store's own statistics instead)",
                have.name, have.unit, want.name, want.unit
            ))
        })?;
        n.mean[j] *= u;
        n.std[j] *= u;
    }
    Ok(n)
}

/// Windows of one split of a store (normalised with the store's training
/// statistics), e.g. the test subjects for evaluation.
pub fn load_split(store: &Path, split: Split) -> Result<WindowSet> {
    WindowSet::load(store, Some(split), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_orders_are_seeded_permutations() {
        let a = epoch_order(50, 1, 0);
        assert_eq!(a, epoch_order(50, 1, 0));
        assert_ne!(a, epoch_order(50, 1, 1));
        assert_ne!(a, epoch_order(50, 2, 0));
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..50).collect::<Vec<_>>());
        assert_ne!(step_seed(0, 1), step_seed(0, 2));
    }

    /// A store in m/s² read on a model's scale in g: back to the store's
    /// values, converted, normalised with the model's statistics.
    #[test]
    fn renormalise_puts_a_store_on_a_models_scale_in_its_units() {
        use wearlang_core::{ChannelKind, ChannelSpec, Normalisation};
        let acc = |unit: &str| ChannelSpec::new("ax", unit, ChannelKind::Accelerometer);
        let hr = ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate);
        let mut meta = StoreMeta::new(vec![acc("m/s^2"), hr.clone()], 2, 1.0);
        meta.normalisation = Some(Normalisation {
            mean: vec![9.80665, 70.0],
            std: vec![2.0, 10.0],
            count: vec![4, 4],
        });
        // Normalised values: raw (9.80665 + 2x) m/s², (70 + 10y) bpm.
        let w = Window::from_values("s", "r", 0, 1.0, 2, vec![0.5, f32::NAN, -1.0, 1.0]).unwrap();
        let set = WindowSet::from_windows(vec![w], meta.clone()).unwrap();
        let model = Normalisation {
            mean: vec![1.0, 60.0],
            std: vec![0.5, 20.0],
            count: vec![9, 9],
        };
        let out = set
            .renormalise(&model, &[acc("g"), hr.clone()], "store.parquet")
            .unwrap();
        let g = 9.806_65_f64;
        let expect = |x: f64| ((9.806_65 + 2.0 * x) / g - 1.0) / 0.5;
        let v = Vec::<f32>::try_from(out.x.flatten(0, -1)).unwrap();
        assert!((v[0] as f64 - expect(0.5)).abs() < 1e-5, "{v:?}");
        assert!(v[1].is_nan());
        assert!((v[2] as f64 - expect(-1.0)).abs() < 1e-5, "{v:?}");
        assert!((v[3] - 1.0).abs() < 1e-6, "(70 + 10 − 60) / 20 = 1: {v:?}");
        // The windows' own values move with the tensor; the set now says
        // what scale and units it is in.
        assert!((out.windows[0].values[0] as f64 - expect(0.5)).abs() < 1e-5);
        assert_eq!(out.meta.normalisation.as_ref(), Some(&model));
        assert_eq!(out.meta.channels[0].unit, "g");
        // Units without a conversion, or no statistics, are errors naming
        // the store and the channel.
        let set = WindowSet::from_windows(
            vec![Window::from_values("s", "r", 0, 1.0, 2, vec![0.0; 4]).unwrap()],
            meta.clone(),
        )
        .unwrap();
        let err = set
            .renormalise(&model, &[acc("g"), acc("g")], "store.parquet")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("store.parquet") && err.contains("`hr`"),
            "{err}"
        );
        meta.normalisation = None;
        let bare = WindowSet::from_windows(
            vec![Window::from_values("s", "r", 0, 1.0, 2, vec![0.0; 4]).unwrap()],
            meta,
        )
        .unwrap();
        let err = bare
            .renormalise(&model, &[acc("g"), hr], "store.parquet")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no normalisation statistics"), "{err}");
    }

    /// The bit patterns of a tensor's values (NaN compares equal to NaN).
    fn bits(x: &Tensor) -> Vec<u32> {
        let v = Vec::<f32>::try_from(x.flatten(0, -1)).unwrap();
        v.iter().map(|f| f.to_bits()).collect()
    }

    /// A set kept in a mapped file holds the same values as in memory,
    /// through reading (more windows than one chunk), selection, channel
    /// mapping and renormalisation; the file is gone from the directory as
    /// soon as it is mapped.
    #[test]
    fn values_on_disk_are_the_values_in_memory() {
        use wearlang_core::{ChannelKind, ChannelSpec, Normalisation};
        use wearlang_store::MemorySource;
        let spec = |n: &str| ChannelSpec::new(n, "g", ChannelKind::Accelerometer);
        let mut meta = StoreMeta::new(vec![spec("ax"), spec("ay"), spec("az")], 4, 1.0);
        meta.labels = wearlang_core::LabelVocab::new(["a", "b"]);
        meta.normalisation = Some(Normalisation {
            mean: vec![0.1, -0.2, 1.0],
            std: vec![0.5, 2.0, 0.25],
            count: vec![10, 10, 10],
        });
        let n = CHUNK_WINDOWS + 905;
        let windows: Vec<Window> = (0..n)
            .map(|i| {
                let v: Vec<f32> = (0..12)
                    .map(|k| match (i * 12 + k) % 97 {
                        0 => f32::NAN,
                        r => (r as f32 * 0.37).sin() * (1 + i % 7) as f32,
                    })
                    .collect();
                let mut w = Window::from_values("s", "r", i as i64 * 4000, 1.0, 3, v).unwrap();
                w.label = Some(if i % 3 == 0 { "a" } else { "b" }.into());
                w
            })
            .collect();
        let src = MemorySource::new("in memory", meta, windows).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let home = ValueHome::Disk(dir.path().to_path_buf());
        let left = || std::fs::read_dir(dir.path()).unwrap().count();
        let mem = training_windows(&src).unwrap();
        let how = SetOptions {
            home: home.clone(),
            captions: None,
        };
        let disk = training_windows_in(&src, &how).unwrap();
        assert_eq!(disk.home(), &home);
        assert_eq!(mem.home(), &ValueHome::Memory);
        assert_eq!(disk.x.size(), [n as i64, 4, 3]);
        assert_eq!(bits(&mem.x), bits(&disk.x));
        assert_eq!(left(), 0, "the values file has no name once mapped");
        #[cfg(target_os = "linux")]
        {
            let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
            let here = dir.path().to_str().unwrap();
            assert!(
                maps.lines()
                    .any(|l| l.contains(here) && l.contains("(deleted)")),
                "the values are mapped from the (unlinked) file"
            );
            // While it is written, it has no name either (a killed run
            // leaves nothing).
            let mut rows = Rows::new(&home, 4, 3).unwrap();
            rows.push(mem.x.narrow(0, 0, 10)).unwrap();
            assert_eq!(left(), 0);
            assert_eq!(bits(&rows.finish().unwrap()), bits(&mem.x.narrow(0, 0, 10)));
        }
        let idx: Vec<usize> = (0..n).rev().step_by(3).collect();
        assert_eq!(
            bits(&mem.batch(&idx, Device::Cpu).unwrap()),
            bits(&disk.batch(&idx, Device::Cpu).unwrap())
        );
        let (m, d) = (mem.select(&idx).unwrap(), disk.select(&idx).unwrap());
        assert_eq!(d.home(), &home);
        assert_eq!(bits(&m.x), bits(&d.x));
        assert_eq!(m.labels, d.labels);
        let order = [spec("az"), spec("ax")];
        let (m, _) = m.onto_channels(&order, "s").unwrap();
        let (d, _) = d.onto_channels(&order, "s").unwrap();
        assert_eq!(d.home(), &home);
        assert_eq!(bits(&m.x), bits(&d.x));
        let to = Normalisation {
            mean: vec![0.0, 0.5],
            std: vec![1.0, 0.1],
            count: vec![1, 1],
        };
        let m = m.renormalise(&to, &order, "s").unwrap();
        let d = d.renormalise(&to, &order, "s").unwrap();
        assert_eq!(bits(&m.x), bits(&d.x));
        assert_eq!(d.home(), &home);
        assert_eq!(left(), 0);
        // A directory that cannot hold the file is an error naming it.
        let bad = SetOptions {
            home: ValueHome::Disk(dir.path().join("no/such/dir")),
            captions: None,
        };
        let err = training_windows_in(&src, &bad).err().unwrap().to_string();
        assert!(err.contains("no/such/dir"), "{err}");
    }

    /// Rows filled in place up to their bound, and past it (a bound that
    /// was wrong) joined as parts: the same tensor either way.
    #[test]
    fn rows_in_memory_fill_in_place_and_survive_a_wrong_bound() {
        let x = Tensor::arange(5 * 2 * 3, (Kind::Float, Device::Cpu)).view([5, 2, 3]);
        for bound in [0, 2, 5, 9] {
            let mut rows = Rows::with_bound(&ValueHome::Memory, 2, 3, bound).unwrap();
            rows.push(x.narrow(0, 0, 2)).unwrap();
            rows.push(x.narrow(0, 2, 3)).unwrap();
            let y = rows.finish().unwrap();
            assert_eq!(y.size(), [5, 2, 3], "bound {bound}");
            assert!(y.equal(&x), "bound {bound}");
        }
        let mut rows = Rows::with_bound(&ValueHome::Memory, 2, 3, 4).unwrap();
        assert!(rows.push(x.view([5, 3, 2])).is_err());
    }

    /// A training read keeps only the captions asked for; a window that
    /// lacks one of them keeps all of its own.
    #[test]
    fn training_reads_keep_the_captions_asked_for() {
        use wearlang_core::{ChannelKind, ChannelSpec, Normalisation};
        use wearlang_store::MemorySource;
        let mut meta = StoreMeta::new(
            vec![ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate)],
            2,
            1.0,
        );
        meta.normalisation = Some(Normalisation {
            mean: vec![60.0],
            std: vec![10.0],
            count: Vec::new(),
        });
        let windows: Vec<Window> = (0..3)
            .map(|i| {
                let mut w =
                    Window::from_values("s", "r", i * 2000, 1.0, 1, vec![60.0, 80.0]).unwrap();
                w.captions
                    .insert("long".into(), "a long trend caption".into());
                w.captions.insert("other".into(), "x".into());
                if i != 1 {
                    w.captions.insert("brief".into(), "up".into());
                }
                w
            })
            .collect();
        let src = MemorySource::new("in memory", meta, windows).unwrap();
        let how = SetOptions {
            captions: Some(vec!["brief".into()]),
            ..SetOptions::default()
        };
        let set = training_windows_in(&src, &how).unwrap();
        let names = |i: usize| set.windows[i].captions.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(0), ["brief"]);
        assert_eq!(names(1), ["long", "other"]);
        assert_eq!(names(2), ["brief"]);
        let all = training_windows(&src).unwrap();
        assert_eq!(all.windows[0].captions.len(), 3);
    }

    /// Windows that are not in a store load through the same interface.
    #[test]
    fn a_memory_source_loads_like_a_store() {
        use wearlang_core::{ChannelKind, ChannelSpec, Normalisation};
        use wearlang_store::MemorySource;
        let mut meta = StoreMeta::new(
            vec![ChannelSpec::new("hr", "bpm", ChannelKind::HeartRate)],
            2,
            1.0,
        );
        meta.labels = wearlang_core::LabelVocab::new(["rest", "run"]);
        meta.normalisation = Some(Normalisation {
            mean: vec![60.0],
            std: vec![10.0],
            count: Vec::new(),
        });
        let windows: Vec<Window> = (0..5)
            .map(|i| {
                let mut w =
                    Window::from_values("s", "r", i * 2000, 1.0, 1, vec![60.0, 80.0]).unwrap();
                w.split = if i < 3 { Split::Train } else { Split::Test };
                w.label = Some(if i % 2 == 0 { "rest" } else { "run" }.into());
                w
            })
            .collect();
        let src = MemorySource::new("in memory", meta, windows).unwrap();
        let train = training_windows(&src).unwrap();
        assert_eq!(train.len(), 3);
        assert_eq!(train.labels, vec![Some(0), Some(1), Some(0)]);
        assert_eq!(
            Vec::<f32>::try_from(train.x.flatten(0, -1)).unwrap()[..2],
            [0.0, 2.0]
        );
        let err = WindowSet::from_source(&src, Some(Split::Val), true)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("in memory") && err.contains("val"), "{err}");
    }

    /// A store with the model's channels in another order, plus one more:
    /// matched by name, reordered, the extra one dropped; a missing one is
    /// an error naming it.
    #[test]
    fn channels_are_matched_by_name() {
        use wearlang_core::ChannelKind;
        let spec = |n: &str| ChannelSpec::new(n, "g", ChannelKind::Accelerometer);
        let meta = StoreMeta::new(vec![spec("ay"), spec("hr"), spec("ax")], 2, 1.0);
        // Two steps × (ay, hr, ax).
        let mut w = Window::from_values("s", "r", 0, 1.0, 3, vec![1., 2., 3., 4., 5., 6.]).unwrap();
        w.missing = vec![false, false, true, false, false, false];
        let set = WindowSet::from_windows(vec![w], meta).unwrap();
        let names = vec![spec("ax"), spec("ay")];
        let (set, dropped) = set.onto_channels(&names, "s.parquet").unwrap();
        assert_eq!(dropped, ["hr"]);
        assert_eq!(set.channels(), 2);
        assert_eq!(set.meta.channels[0].name, "ax");
        assert_eq!(
            Vec::<f32>::try_from(set.x.flatten(0, -1)).unwrap(),
            [3., 1., 6., 4.]
        );
        assert_eq!(set.windows[0].values, [3., 1., 6., 4.]);
        assert_eq!(set.windows[0].missing, [true, false, false, false]);
        assert_eq!(set.windows[0].channels, 2);
        let (same, none) = set.onto_channels(&names, "s.parquet").unwrap();
        assert!(none.is_empty());
        // Another naming convention matches by kind and axis.
        let other = vec![spec("acc_y"), spec("Acc-X")];
        let (same, _) = same.onto_channels(&other, "s.parquet").unwrap();
        assert_eq!(
            Vec::<f32>::try_from(same.x.flatten(0, -1)).unwrap(),
            [1., 3., 4., 6.]
        );
        let gyro = ChannelSpec::new("gz", "rad/s", ChannelKind::Gyroscope);
        let err = same
            .onto_channels(&[spec("ax"), gyro], "s.parquet")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("s.parquet") && err.contains("without [\"gz\"]"),
            "{err}"
        );
    }

    /// A set read with its values in the tensor only holds the same tensor
    /// as one that keeps them in the windows too, across batches; its
    /// windows keep labels and provenance but no values, and it still maps
    /// onto other channels (through the tensor).
    #[test]
    fn values_in_the_tensor_only() {
        use wearlang_core::{ChannelKind, LabelVocab};
        use wearlang_store::MemorySource;
        let spec = |n: &str| ChannelSpec::new(n, "g", ChannelKind::Accelerometer);
        let mut meta = StoreMeta::new(vec![spec("ay"), spec("ax")], 2, 1.0);
        meta.labels = LabelVocab::new(["a", "b"]);
        let windows: Vec<Window> = (0..2500)
            .map(|i| {
                let v = (0..4).map(|k| (i * 4 + k) as f32).collect();
                let mut w = Window::from_values("s", "r", i as i64 * 2000, 1.0, 2, v).unwrap();
                w.label = Some(["a", "b"][i % 2].into());
                w
            })
            .collect();
        let src = MemorySource::new("mem", meta, windows).unwrap();
        let full = WindowSet::read(&src, None, false, Values::InWindowsToo).unwrap();
        let lean = WindowSet::read(&src, None, false, Values::InTensorOnly).unwrap();
        assert!(full.x.equal(&lean.x));
        assert_eq!(lean.x.size(), [2500, 2, 2]);
        assert_eq!(full.labels, lean.labels);
        assert_eq!(lean.labels[1], Some(1));
        assert_eq!(full.windows[2499].values, [9996., 9997., 9998., 9999.]);
        assert!(lean
            .windows
            .iter()
            .all(|w| w.values.is_empty() && w.missing.is_empty()));
        assert_eq!(lean.windows[7].start_ms, 14_000);
        let (swapped, _) = lean
            .onto_channels(&[spec("ax"), spec("ay")], "mem")
            .unwrap();
        assert_eq!(
            Vec::<f32>::try_from(swapped.x.get(1).flatten(0, -1)).unwrap(),
            [5., 4., 7., 6.]
        );
        assert_eq!(swapped.windows[1].channels, 2);
        // A tensor that does not match the windows is an error.
        let err = WindowSet::from_parts(
            Tensor::zeros([3, 2, 2], (Kind::Float, Device::Cpu)),
            Vec::new(),
            swapped.meta.clone(),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("0 windows"), "{err}");
    }
}
