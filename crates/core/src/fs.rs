//! Atomic file writes: the one implementation every wearlang crate uses.
//!
//! A file is written to a uniquely named temporary file in the destination's
//! directory (`.{name}.{pid}.{counter}.tmp`), flushed to disk and renamed
//! onto the destination, so a reader (or a crash) never sees a half-written
//! file, and two writers of one destination never share a temporary file
//! (the last rename wins). [`write_atomic`] writes bytes at once;
//! [`AtomicFile`] streams (for writers such as Parquet's `ArrowWriter`).
//! Temporary files that killed processes left for a destination are removed
//! by its next write ([`remove_stale_temp_files`]).
//!
//! One writer at a time: [`lock_run_dir`] locks a run directory for a whole
//! run (`<dir>/.lock`) and [`lock_output`] an output file (`.{name}.lock`
//! beside it), so a second process fails at once with an error naming the
//! directory or file and the process holding it.
//!
//! ```
//! use std::io::Write;
//! use wearlang_core::fs::{write_atomic, AtomicFile};
//!
//! let dir = std::env::temp_dir().join(format!("wearlang-fs-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("report.md");
//! write_atomic(&path, b"# Report\n").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"# Report\n");
//!
//! let mut f = AtomicFile::create(&path).unwrap();
//! f.write_all(b"# New report\n").unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"# Report\n"); // not yet
//! f.commit().unwrap();
//! assert_eq!(std::fs::read(&path).unwrap(), b"# New report\n");
//! std::fs::remove_dir_all(&dir).unwrap();
//! ```
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// Distinguishes the temporary files of one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Write `bytes` to `path` atomically: into a temporary file beside it,
/// fsynced, then renamed onto `path`. On error nothing is left at `path`
/// (an earlier file there is untouched) and the temporary file is removed;
/// the error names `path`.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).map_err(|e| Error::io(path, e))?;
    file.commit()
}

/// A file being written atomically: [`AtomicFile::create`] opens a uniquely
/// named temporary file in the destination's directory, writes go there
/// (unbuffered, like [`File`]), and [`AtomicFile::commit`] fsyncs it and
/// renames it onto the destination. Dropped without `commit` (an error, a
/// panic), it removes the temporary file and leaves the destination as it
/// was.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Start writing `path`. Fails (naming `path`) when its directory does
    /// not exist or is not writable, or when `path` has no file name.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let name = path.file_name().ok_or_else(|| {
            Error::io(
                &path,
                io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
            )
        })?;
        let dir = dir_of(&path).to_path_buf();
        // Temporary files of this destination left by killed processes.
        remove_stale_temp_files(&path);
        let pid = std::process::id();
        // A stale temporary file of a crashed process with the same id makes
        // `create_new` fail; move on to the next counter value.
        let mut last_err = None;
        for _ in 0..100 {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let mut tmp_name = std::ffi::OsString::from(".");
            tmp_name.push(name);
            tmp_name.push(format!(".{pid}.{n}.tmp"));
            let tmp = dir.join(tmp_name);
            match OpenOptions::new().write(true).create_new(true).open(&tmp) {
                Ok(file) => {
                    return Ok(Self {
                        path,
                        tmp,
                        file: Some(file),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::io(
            &path,
            last_err.unwrap_or_else(|| io::Error::other("no free temporary file name")),
        ))
    }

    /// The destination.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary file written until [`AtomicFile::commit`].
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("an AtomicFile holds its file until commit or drop")
    }

    /// Flush and fsync the temporary file, rename it onto the destination
    /// (replacing an earlier file) and fsync the directory (best effort).
    /// On error the temporary file is removed; the error names the
    /// destination.
    pub fn commit(mut self) -> Result<()> {
        let path = self.path.clone();
        let io_err = |e| Error::io(&path, e);
        let file = self.file.take().expect("commit takes the file once");
        let synced = (|| {
            let mut file = file;
            file.flush()?;
            file.sync_all()
        })();
        synced.map_err(io_err)?;
        std::fs::rename(&self.tmp, &self.path).map_err(io_err)?;
        // Renamed: nothing left for `drop` to remove.
        self.tmp = PathBuf::new();
        sync_dir(&self.path);
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Close before removing (required on some platforms).
        self.file.take();
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// An exclusive, advisory lock on a file, held until dropped: what
/// [`lock_exclusive`], [`lock_run_dir`] and [`lock_output`] return.
///
/// Locks are re-entrant within one thread: taking a lock this thread
/// already holds (a library function called by a CLI command that locked
/// the same run directory) succeeds and returns a guard that releases
/// nothing; the first guard releases the lock. Another thread of the same
/// process is refused like another process.
#[derive(Debug)]
pub struct LockGuard {
    /// The lock file (absolute, links resolved) when this guard owns it.
    owned: Option<(PathBuf, File)>,
}

impl LockGuard {
    /// Whether this guard holds the lock itself (false for a re-entrant
    /// guard inside an outer one).
    pub fn is_owner(&self) -> bool {
        self.owned.is_some()
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some((key, file)) = self.owned.take() {
            held_locks()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            let _ = file.unlock();
            // The file stays: removing it would race with a process that
            // has just opened it and is about to lock it.
        }
    }
}

/// The lock files this process holds, with the thread holding each.
type HeldLocks = std::sync::Mutex<std::collections::HashMap<PathBuf, std::thread::ThreadId>>;

fn held_locks() -> &'static HeldLocks {
    static HELD: std::sync::OnceLock<HeldLocks> = std::sync::OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// Take an exclusive lock on the file `path` (created if missing), without
/// waiting: when another process holds it, fail with an error that names
/// `what` (the run directory or output being protected) and the holder's
/// process id, which the holder writes into the lock file. The lock is
/// released when the guard is dropped or the process ends (also by a
/// crash or `kill -9`: the operating system releases it).
pub fn lock_exclusive(path: &Path, what: &Path) -> Result<LockGuard> {
    let key = resolved(path);
    let mut held = held_locks().lock().unwrap_or_else(|e| e.into_inner());
    match held.get(&key) {
        Some(t) if *t == std::thread::current().id() => return Ok(LockGuard { owned: None }),
        Some(_) => {
            return Err(Error::param(
                "output",
                format!(
                    "{} is in use by another thread of this process ({}; lock file {})",
                    what.display(),
                    std::process::id(),
                    path.display()
                ),
            ))
        }
        None => {}
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = io::Read::read_to_string(&mut file, &mut text);
            let holder = text
                .trim()
                .parse::<u32>()
                .map(|pid| format!("process {pid}"))
                .unwrap_or_else(|_| "another process".into());
            return Err(Error::param(
                "output",
                format!(
                    "{} is in use by {holder} (lock file {}): wait for it to finish, \
                     or choose another output",
                    what.display(),
                    path.display()
                ),
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
    }
    // Record the holder for the error message of the next one.
    let _ = file.set_len(0);
    let _ = io::Seek::seek(&mut file, io::SeekFrom::Start(0));
    let _ = writeln!(file, "{}", std::process::id());
    let _ = file.flush();
    held.insert(key.clone(), std::thread::current().id());
    Ok(LockGuard {
        owned: Some((key, file)),
    })
}

/// Lock the run directory `dir` (created if missing) for this process:
/// `dir/.lock`. Every writer of a run directory (training, pretraining,
/// SensorLLM's stages, their reports) holds it for the whole run, so two
/// runs into one directory fail cleanly instead of mixing their files.
pub fn lock_run_dir(dir: &Path) -> Result<LockGuard> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    lock_exclusive(&dir.join(".lock"), dir)
}

/// Whether this process (any of its threads) holds the lock of the run
/// directory `dir` (taken with [`lock_run_dir`]).
pub fn holds_run_lock(dir: &Path) -> bool {
    let key = resolved(&dir.join(".lock"));
    held_locks()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(&key)
}

/// Lock the output file `path` (a store, an embedding file): the lock file
/// `.{name}.lock` beside it. Its directory must exist.
pub fn lock_output(path: &Path) -> Result<LockGuard> {
    let name = path.file_name().ok_or_else(|| {
        Error::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        )
    })?;
    let mut lock_name = std::ffi::OsString::from(".");
    lock_name.push(name);
    lock_name.push(".lock");
    lock_exclusive(&dir_of(path).join(lock_name), path)
}

/// Whether the process `pid` is known to be gone. On Linux, `/proc/<pid>`
/// is absent; elsewhere nothing is known, so this is false.
pub fn process_is_gone(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    #[cfg(target_os = "linux")]
    {
        Path::new("/proc").is_dir() && !Path::new("/proc").join(pid.to_string()).exists()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Remove the temporary files that [`AtomicFile`] left for `path` (named
/// `.{name}.{pid}.{n}.tmp`) when their process is gone (killed, aborted).
/// Best effort; returns how many were removed.
pub fn remove_stale_temp_files(path: &Path) -> usize {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return 0;
    };
    let dir = dir_of(path);
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(f) = file_name.to_str() else {
            continue;
        };
        let Some(rest) = f.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp")) else {
            continue;
        };
        let mut parts = rest.split('.');
        let (Some(pid), Some(n), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(pid), Ok(_)) = (pid.parse::<u32>(), n.parse::<u64>()) else {
            continue;
        };
        if process_is_gone(pid) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The directory holding the file `path` (`.` for a bare file name).
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Best-effort fsync of the directory holding `path`, so that a rename into
/// it is durable.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    {
        if let Ok(d) = File::open(dir_of(path)) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// `path` made absolute with its links resolved; for a path that does not
/// exist yet, its nearest existing ancestor is resolved and the rest
/// appended.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    let mut rest = Vec::new();
    let mut cur = path.to_path_buf();
    while let Some(name) = cur.file_name() {
        rest.push(name.to_os_string());
        if !cur.pop() {
            break;
        }
        let base = if cur.as_os_str().is_empty() {
            Path::new(".")
        } else {
            cur.as_path()
        };
        if let Ok(mut p) = base.canonicalize() {
            for r in rest.iter().rev() {
                p.push(r);
            }
            return p;
        }
    }
    path.to_path_buf()
}

/// Refuse an output `out` that would replace or land inside one of
/// `inputs` (the same file after resolving links, or a path under an input
/// directory): writing it would lose the input. The error names both.
pub fn check_output_not_input(out: &Path, inputs: &[&Path]) -> Result<()> {
    let o = resolved(out);
    for input in inputs {
        let i = resolved(input);
        if o == i || (i.is_dir() && o.starts_with(&i)) {
            return Err(Error::param(
                "output",
                format!(
                    "{} would {} the input {}: choose another output path",
                    out.display(),
                    if o == i {
                        "replace"
                    } else {
                        "be written inside"
                    },
                    input.display()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory under the system's temporary directory.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir()
                .join(format!("wearlang-core-fs-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn entries(&self) -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn content_appears_only_after_commit() {
        let dir = TempDir::new("commit");
        let path = dir.0.join("a.json");
        let mut f = AtomicFile::create(&path).unwrap();
        assert_eq!(f.path(), path);
        f.write_all(b"{\"a\":").unwrap();
        f.write_all(b"1}").unwrap();
        assert!(!path.exists());
        let tmp = f.temp_path().to_path_buf();
        assert_eq!(std::fs::read(&tmp).unwrap(), b"{\"a\":1}");
        let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".a.json.") && name.ends_with(".tmp"),
            "{name}"
        );
        f.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}");
        assert!(!tmp.exists());
        assert_eq!(dir.entries(), ["a.json"]);
        // Replacing an existing file.
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(dir.entries(), ["a.json"]);
    }

    #[test]
    fn dropped_file_leaves_no_temp_and_keeps_the_earlier_file() {
        let dir = TempDir::new("drop");
        let path = dir.0.join("store.parquet");
        std::fs::write(&path, b"earlier").unwrap();
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"half a file").unwrap();
            assert_eq!(dir.entries().len(), 2);
        }
        assert_eq!(dir.entries(), ["store.parquet"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"earlier");
        // Dropped while unwinding from a panic, too.
        let p = path.clone();
        let r = std::panic::catch_unwind(move || {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"x").unwrap();
            panic!("writer failed");
        });
        assert!(r.is_err());
        assert_eq!(dir.entries(), ["store.parquet"]);
        assert_eq!(std::fs::read(&path).unwrap(), b"earlier");
    }

    #[test]
    fn two_writers_to_one_path_do_not_collide() {
        let dir = TempDir::new("two");
        let path = dir.0.join("report.md");
        let mut a = AtomicFile::create(&path).unwrap();
        let mut b = AtomicFile::create(&path).unwrap();
        assert_ne!(a.temp_path(), b.temp_path());
        a.write_all(b"from a").unwrap();
        b.write_all(b"from b").unwrap();
        a.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"from a");
        b.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"from b");
        assert_eq!(dir.entries(), ["report.md"]);

        // Many threads at once: every write lands whole, no temporary file is left.
        let texts: Vec<String> = (0..8)
            .map(|i| format!("writer {i} ").repeat(1000))
            .collect();
        std::thread::scope(|s| {
            for t in &texts {
                let path = &path;
                s.spawn(move || write_atomic(path, t.as_bytes()).unwrap());
            }
        });
        let back = std::fs::read_to_string(&path).unwrap();
        assert!(texts.contains(&back));
        assert_eq!(dir.entries(), ["report.md"]);
    }

    #[test]
    fn errors_name_the_path() {
        let dir = TempDir::new("err");
        let path = dir.0.join("no such dir").join("out.json");
        let err = write_atomic(&path, b"x").unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        let err = AtomicFile::create(&path).unwrap_err().to_string();
        assert!(err.contains("out.json"), "{err}");
        // A directory in the way of the rename: the error names the
        // destination and no temporary file is left.
        let taken = dir.0.join("taken");
        std::fs::create_dir(&taken).unwrap();
        std::fs::write(taken.join("inside"), b"keep").unwrap();
        let err = write_atomic(&taken, b"x").unwrap_err().to_string();
        assert!(err.contains(&taken.display().to_string()), "{err}");
        assert_eq!(dir.entries(), ["taken"]);
        assert!(AtomicFile::create(Path::new("/")).is_err());
    }

    #[test]
    fn a_locked_run_directory_is_refused_naming_it_and_the_holder() {
        let dir = TempDir::new("lock");
        let run = dir.0.join("run");
        let guard = lock_run_dir(&run).unwrap();
        assert!(guard.is_owner());
        assert_eq!(
            std::fs::read_to_string(run.join(".lock")).unwrap().trim(),
            std::process::id().to_string()
        );
        // Re-entrant in this process (a library call inside a CLI command).
        let inner = lock_run_dir(&run).unwrap();
        assert!(!inner.is_owner());
        drop(inner);
        assert!(holds_run_lock(&run));
        // Not re-entrant for another thread.
        let err = std::thread::scope(|s| s.spawn(|| lock_run_dir(&run).unwrap_err()).join())
            .unwrap()
            .to_string();
        assert!(err.contains("another thread"), "{err}");
        // Another holder (another open file, as another process would have).
        drop(guard);
        let other = OpenOptions::new()
            .write(true)
            .open(run.join(".lock"))
            .unwrap();
        other.try_lock().unwrap();
        std::fs::write(run.join(".lock"), "4242\n").unwrap();
        let err = lock_run_dir(&run).unwrap_err().to_string();
        assert!(
            err.contains(&run.display().to_string()) && err.contains("process 4242"),
            "{err}"
        );
        other.unlock().unwrap();
        assert!(lock_run_dir(&run).unwrap().is_owner());

        let store = dir.0.join("windows.parquet");
        let g = lock_output(&store).unwrap();
        assert!(dir.0.join(".windows.parquet.lock").exists());
        drop(g);
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed() {
        let dir = TempDir::new("stale");
        let path = dir.0.join("w.parquet");
        // 999999999 is above any Linux pid_max: a dead process.
        let dead = dir.0.join(".w.parquet.999999999.3.tmp");
        let live = dir
            .0
            .join(format!(".w.parquet.{}.9999.tmp", std::process::id()));
        let other = dir.0.join(".other.parquet.999999999.0.tmp");
        for p in [&dead, &live, &other] {
            std::fs::write(p, b"half").unwrap();
        }
        write_atomic(&path, b"x").unwrap();
        let e = dir.entries();
        if cfg!(target_os = "linux") {
            assert!(
                !e.contains(&".w.parquet.999999999.3.tmp".to_string()),
                "{e:?}"
            );
        }
        assert!(live.exists() && other.exists(), "{e:?}");
    }

    #[test]
    fn an_output_that_is_an_input_is_refused() {
        let d = TempDir::new("out-in");
        let input = d.0.join("data.csv");
        std::fs::write(&input, b"t,x\n").unwrap();
        let dir_in = d.0.join("recordings");
        std::fs::create_dir_all(&dir_in).unwrap();
        let err = check_output_not_input(&input, &[&input])
            .unwrap_err()
            .to_string();
        assert!(err.contains("replace the input"), "{err}");
        // The same file by another spelling.
        let other = d.0.join("recordings/../data.csv");
        assert!(check_output_not_input(&other, &[&input]).is_err());
        #[cfg(unix)]
        {
            let link = d.0.join("link.csv");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            assert!(check_output_not_input(&link, &[&input]).is_err());
        }
        let inside = dir_in.join("new/windows.parquet");
        let err = check_output_not_input(&inside, &[&dir_in])
            .unwrap_err()
            .to_string();
        assert!(err.contains("inside the input"), "{err}");
        assert!(check_output_not_input(&d.0.join("windows.parquet"), &[&input, &dir_in]).is_ok());
    }
}
