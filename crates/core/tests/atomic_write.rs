//! The atomic writer against a hostile or unusual directory: a symlink
//! planted where a temporary file would go is never followed, and files get
//! the permissions the umask allows (0o666 & !umask), like any other tool's.
//! One test function: the umask is process-wide.
use std::os::unix::fs::PermissionsExt;

use wearlang_core::fs::{write_atomic, AtomicFile};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn planted_symlinks_are_not_followed_and_the_umask_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let out = dir.path().join("metrics.json");
    // Every temporary name this process could pick for the next writes.
    let pid = std::process::id();
    for n in 0..64 {
        let tmp = dir.path().join(format!(".metrics.json.{pid}.{n}.tmp"));
        std::os::unix::fs::symlink(&victim, tmp).unwrap();
    }
    write_atomic(&out, b"{\"ok\": true}").unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::read(&out).unwrap(), b"{\"ok\": true}");
    assert!(!std::fs::symlink_metadata(&out)
        .unwrap()
        .file_type()
        .is_symlink());

    // SAFETY: umask only swaps the process's file-creation mask.
    let old = unsafe { libc::umask(0o077) };
    write_atomic(dir.path().join("private.json"), b"1").unwrap();
    let f = AtomicFile::create(dir.path().join("streamed.bin")).unwrap();
    f.commit().unwrap();
    unsafe { libc::umask(0o022) };
    write_atomic(dir.path().join("shared.json"), b"1").unwrap();
    unsafe { libc::umask(old) };
    assert_eq!(mode(&dir.path().join("private.json")), 0o600);
    assert_eq!(mode(&dir.path().join("streamed.bin")), 0o600);
    assert_eq!(mode(&dir.path().join("shared.json")), 0o644);
}
