//! Atomic file writes: the one implementation every wearlang crate uses.
//!
//! A file is written to a uniquely named temporary file in the destination's
//! directory (`.{name}.{pid}.{counter}.tmp`), flushed to disk and renamed
//! onto the destination, so a reader (or a crash) never sees a half-written
//! file, and two writers of one destination never share a temporary file
//! (the last rename wins). [`write_atomic`] writes bytes at once;
//! [`AtomicFile`] streams (for writers such as Parquet's `ArrowWriter`).
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
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
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

/// Best-effort fsync of the directory holding `path`, so that a rename into
/// it is durable.
fn sync_dir(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(d) = File::open(dir) {
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
