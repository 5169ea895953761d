//! Device choice, seeding and threads for the tch-based crates of wearlang.
//!
//! Training and evaluation take a [`DeviceChoice`] from a config or a flag
//! (`"cpu"`, `"cuda"`, `"cuda:1"`, `"auto"`), resolve it to a [`tch::Device`]
//! with a clear error when CUDA is asked for but absent, and seed every
//! generator libtorch uses with [`seed_everything`].
//!
//! Examples that call libtorch are `no_run`: doctests are linked in a
//! temporary directory that the rpath to `target/libtorch` does not reach;
//! `tests/libtorch_smoke.rs` runs the same calls.
//!
//! ```no_run
//! use wearlang_device::{DeviceChoice, seed_everything};
//!
//! let device = "auto".parse::<DeviceChoice>().unwrap().resolve().unwrap();
//! seed_everything(7);
//! let a = tch::Tensor::randn([3], (tch::Kind::Float, device));
//! seed_everything(7);
//! let b = tch::Tensor::randn([3], (tch::Kind::Float, device));
//! assert!(a.equal(&b));
//! ```
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The libtorch device type, re-exported so that crates choosing a device
/// need not depend on `tch` themselves.
pub use tch::Device;

/// Errors of device selection.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    /// The text is not a device name.
    #[error("unknown device '{0}' (expected cpu, cuda, cuda:N or auto)")]
    Unknown(String),
    /// CUDA was requested but libtorch sees no such GPU.
    #[error("device cuda:{index} requested but libtorch sees {available} CUDA device(s); use --device cpu or a libtorch built with CUDA")]
    CudaUnavailable {
        /// The requested index.
        index: usize,
        /// How many CUDA devices libtorch sees.
        available: usize,
    },
    /// `WEARLANG_THREADS` is not a whole number.
    #[error("{THREADS_ENV}='{0}': expected a whole number of libtorch intra-op threads (0: libtorch's default)")]
    Threads(String),
}

/// A device as written in configs and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// CUDA device N.
    Cuda(usize),
    /// CUDA device 0 when available, else the CPU.
    #[default]
    Auto,
}

impl DeviceChoice {
    /// The tch device, checking that a requested GPU exists.
    pub fn resolve(self) -> Result<tch::Device, DeviceError> {
        match self {
            DeviceChoice::Cpu => Ok(tch::Device::Cpu),
            DeviceChoice::Auto => Ok(tch::Device::cuda_if_available()),
            DeviceChoice::Cuda(index) => {
                let available = tch::Cuda::device_count().max(0) as usize;
                if index < available {
                    Ok(tch::Device::Cuda(index))
                } else {
                    Err(DeviceError::CudaUnavailable { index, available })
                }
            }
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "auto" => Ok(DeviceChoice::Auto),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            _ => t
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| DeviceError::Unknown(s.to_string())),
        }
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = DeviceError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<DeviceChoice> for String {
    fn from(d: DeviceChoice) -> String {
        d.to_string()
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceChoice::Auto => write!(f, "auto"),
        }
    }
}

/// The tch device named by a config or command-line string (`cpu`, `cuda`,
/// `cuda:N`, `auto`), checking that a requested GPU exists. The one place
/// that turns device strings into devices.
pub fn parse_device(s: &str) -> Result<tch::Device, DeviceError> {
    s.parse::<DeviceChoice>()?.resolve()
}

/// Torch's generator is process global: two seeded runs in one process (the
/// tests of one binary, a pipeline running stages side by side) would draw
/// from it in turns and neither would be reproducible. A run holds this
/// guard from its first seeding to its last random draw.
///
/// The lock is re-entrant (a training run may call a seeded probe), and a
/// holder that panicked does not block later runs.
pub struct RngGuard(());

static RNG_OWNER: std::sync::Mutex<(Option<std::thread::ThreadId>, usize)> =
    std::sync::Mutex::new((None, 0));
static RNG_FREED: std::sync::Condvar = std::sync::Condvar::new();

/// Take exclusive use of torch's global generator (see [`RngGuard`]).
pub fn lock_rng() -> RngGuard {
    let me = std::thread::current().id();
    let mut owner = RNG_OWNER.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        match owner.0 {
            None => {
                *owner = (Some(me), 1);
                break;
            }
            Some(t) if t == me => {
                owner.1 += 1;
                break;
            }
            Some(_) => owner = RNG_FREED.wait(owner).unwrap_or_else(|e| e.into_inner()),
        }
    }
    RngGuard(())
}

impl Drop for RngGuard {
    fn drop(&mut self) {
        let mut owner = RNG_OWNER.lock().unwrap_or_else(|e| e.into_inner());
        owner.1 -= 1;
        if owner.1 == 0 {
            owner.0 = None;
            RNG_FREED.notify_one();
        }
    }
}

/// Seed libtorch's CPU and CUDA generators.
pub fn seed_everything(seed: u64) {
    tch::manual_seed(seed as i64);
    if tch::Cuda::is_available() {
        tch::Cuda::manual_seed_all(seed);
    }
}

/// Set the number of intra-op threads libtorch uses (0 leaves the default,
/// or what [`apply_threads_env`] set).
pub fn set_threads(n: usize) {
    if n > 0 {
        tch::set_num_threads(n as i32);
    }
}

/// The environment variable that sets libtorch's intra-op threads for a
/// whole `wearlang` process (training, evaluation, embedding): results
/// depend on the thread count (reductions split differently), so pinning
/// it reproduces figures across machines. A run config's `threads` (when
/// not 0) still wins for its training.
pub const THREADS_ENV: &str = "WEARLANG_THREADS";

/// Parse a [`THREADS_ENV`] value: a whole number, 0 meaning libtorch's
/// default.
pub fn parse_threads(value: &str) -> Result<usize, DeviceError> {
    value
        .trim()
        .parse()
        .map_err(|_| DeviceError::Threads(value.to_string()))
}

/// Apply [`THREADS_ENV`] when it is set (and not 0): returns the threads
/// set, `None` when it left libtorch's default.
pub fn apply_threads_env() -> Result<Option<usize>, DeviceError> {
    let Ok(value) = std::env::var(THREADS_ENV) else {
        return Ok(None);
    };
    let n = parse_threads(&value)?;
    set_threads(n);
    Ok((n > 0).then_some(n))
}

/// What libtorch can do on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct TorchInfo {
    /// Number of CUDA devices libtorch sees.
    pub cuda_devices: usize,
    /// Whether cuDNN is available.
    pub cudnn: bool,
    /// Intra-op threads.
    pub threads: usize,
}

/// Query libtorch.
pub fn torch_info() -> TorchInfo {
    TorchInfo {
        cuda_devices: tch::Cuda::device_count().max(0) as usize,
        cudnn: tch::Cuda::cudnn_is_available(),
        threads: tch::get_num_threads().max(0) as usize,
    }
}

/// Hand the process's free heap memory back to the operating system
/// (glibc's `malloc_trim`), between phases of a run that free large
/// tensors: glibc keeps freed chunks of its arenas mapped, so without this
/// a run's resident memory grows with every phase's high-water mark rather
/// than with what it holds. A no-op elsewhere than Linux with glibc.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and trims the allocator's own free
    // lists; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Tell the kernel that the memory of `t`, a CPU tensor mapped from a file
/// (`Tensor::from_file`), is read at random (`madvise(MADV_RANDOM)`): a
/// page fault then reads the page it needs, not the read-ahead around it
/// (without it, training batches of random windows from a mapped file
/// pulled in hundreds of KiB per window of 2.4 KB). Advice only: a tensor
/// of no elements, an error or another platform than Unix is a no-op.
pub fn advise_random_access(t: &tch::Tensor) {
    #[cfg(unix)]
    {
        let len = t.numel() * t.kind().elt_size_in_bytes();
        if len == 0 || t.device() != tch::Device::Cpu {
            return;
        }
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as usize;
        let start = t.data_ptr() as usize;
        let aligned = start - start % page;
        // SAFETY: madvise with MADV_RANDOM changes no memory contents; the
        // range is the tensor's own mapping (rounded down to its first
        // page); an invalid range only makes the call fail, which is
        // ignored.
        unsafe {
            libc::madvise(
                aligned as *mut libc::c_void,
                len + (start - aligned),
                libc::MADV_RANDOM,
            );
        }
    }
}

/// While it lives, glibc's allocator keeps freed memory for reuse instead of
/// handing it back to the operating system after every large free (blocks
/// up to 32 MiB come from the heap, whose top is trimmed only beyond
/// 32 MiB free). A training step frees and allocates the same activations
/// every time; without this, part of each step went to page faults on
/// memory just returned (3–5 % of a CoCa step on one thread, measured with
/// `cargo xtask bench train`). Dropping it sets both thresholds back to
/// glibc's initial 128 KiB (glibc no longer adapts the mmap threshold on
/// its own after that) and hands free memory back
/// ([`release_free_memory`]); peak
/// RSS of `wearlang train` is unchanged (`docs/benchmarks.md`). A no-op
/// elsewhere than Linux with glibc.
#[derive(Debug)]
pub struct ReuseFreedMemory {
    _private: (),
}

impl ReuseFreedMemory {
    /// Large blocks: this size and above are mapped on their own (glibc's
    /// own upper limit for its adaptive threshold).
    pub const MMAP_THRESHOLD: i32 = 32 << 20;
    /// Free memory kept at the top of the heap before it is trimmed.
    pub const TRIM_THRESHOLD: i32 = 32 << 20;

    /// Start keeping freed memory.
    pub fn enter() -> Self {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only sets allocator tunables; any value is valid.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, Self::MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, Self::TRIM_THRESHOLD);
        }
        Self { _private: () }
    }
}

impl Drop for ReuseFreedMemory {
    fn drop(&mut self) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: as in `enter`; 128 KiB is glibc's initial value of both.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 10);
        }
        release_free_memory();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_counts_parse_and_bad_ones_name_the_variable() {
        assert_eq!(parse_threads("2").unwrap(), 2);
        assert_eq!(parse_threads(" 0\n").unwrap(), 0);
        for bad in ["", "two", "-1", "1.5"] {
            let e = parse_threads(bad).unwrap_err().to_string();
            assert!(e.contains("WEARLANG_THREADS") && e.contains(bad), "{e}");
        }
    }

    /// Mapped blocks the allocator holds now.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn mapped_blocks() -> usize {
        // SAFETY: mallinfo2 only reads the allocator's counters.
        unsafe { libc::mallinfo2().hblks }
    }

    /// Under the guard a 4 MiB block comes from the heap (no block of its
    /// own mapped); after it, a larger one (8 MiB: the freed 4 MiB chunk
    /// cannot take it) is mapped on its own again (default thresholds),
    /// and the guard can be entered again.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn reuse_freed_memory_keeps_mid_sized_blocks_on_the_heap() {
        let before = {
            let _reuse = ReuseFreedMemory::enter();
            let base = mapped_blocks();
            let block = std::hint::black_box(vec![1u8; 4 << 20]);
            let during = mapped_blocks();
            drop(block);
            during - base.min(during)
        };
        let base = mapped_blocks();
        let block = std::hint::black_box(vec![1u8; 8 << 20]);
        let after = mapped_blocks();
        drop(block);
        let _again = ReuseFreedMemory::enter();
        assert_eq!(
            before, 0,
            "a 4 MiB block was mapped on its own under the guard"
        );
        assert!(
            after > base,
            "default thresholds map an 8 MiB block on its own"
        );
    }

    #[test]
    fn parses_device_names() {
        assert_eq!("cpu".parse::<DeviceChoice>(), Ok(DeviceChoice::Cpu));
        assert_eq!("CUDA:2".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(2)));
        assert_eq!("cuda".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("auto".parse::<DeviceChoice>(), Ok(DeviceChoice::Auto));
        assert!("tpu".parse::<DeviceChoice>().is_err());
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
        assert_eq!(DeviceChoice::Cuda(1).to_string(), "cuda:1");
    }
}
