//! The files under an input directory. Symbolic links to directories are
//! followed only when they stay inside the directory and lead somewhere not
//! yet visited (so a link loop is read once); a file with several names is
//! listed once.
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use wearlang_core::{Error, Result};

/// The files under `root`, recursively, hidden entries skipped; directories
/// are visited by their own names first, then through links that lead to
/// directories inside `root` not yet visited. Unsorted.
///
/// Errors: `root` or a directory under it cannot be read.
pub(crate) fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let top = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
    let mut visited = HashSet::from([top.clone()]);
    let mut dirs = vec![root.to_path_buf()];
    let mut links = BTreeSet::new();
    let mut files = Vec::new();
    loop {
        while let Some(dir) = dirs.pop() {
            for p in visible_entries(&dir)? {
                if !p.is_dir() {
                    files.push(p);
                } else if is_link(&p) {
                    links.insert(p);
                } else if canonical(&p).is_some_and(|real| visited.insert(real)) {
                    dirs.push(p);
                }
            }
        }
        let Some(link) = links.pop_first() else {
            return Ok(files);
        };
        let target = canonical(&link).filter(|real| real.starts_with(&top));
        if target.is_some_and(|real| visited.insert(real)) {
            dirs.push(link);
        }
    }
}

/// The entries of `dir` whose names do not start with a dot.
///
/// Errors: `dir` cannot be read.
fn visible_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden {
            out.push(p);
        }
    }
    Ok(out)
}

/// `files` sorted, with each file once: of the names of one file (links),
/// the one that is not itself a link is kept, else the first.
pub(crate) fn sorted_without_aliases(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut keyed: Vec<(PathBuf, bool, PathBuf)> = files
        .into_iter()
        .map(|p| (canonical(&p).unwrap_or_else(|| p.clone()), is_link(&p), p))
        .collect();
    keyed.sort();
    keyed.dedup_by(|a, b| a.0 == b.0);
    let mut out: Vec<PathBuf> = keyed.into_iter().map(|(_, _, p)| p).collect();
    out.sort();
    out
}

/// The canonical path of `p`, if it exists.
fn canonical(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok()
}

/// Whether `p` itself is a symbolic link.
fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "x").unwrap();
    }

    fn sorted(root: &Path) -> Vec<PathBuf> {
        sorted_without_aliases(files_under(root).unwrap())
    }

    #[test]
    fn hidden_entries_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("a/x.csv"));
        touch(&dir.path().join(".git/y.csv"));
        touch(&dir.path().join("a/.z.csv"));
        assert_eq!(sorted(dir.path()), vec![dir.path().join("a/x.csv")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_loop_is_visited_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("a/x.csv"));
        std::os::unix::fs::symlink(root, root.join("a/up")).unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("a/self")).unwrap();
        assert_eq!(sorted(root), vec![root.join("a/x.csv")]);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_an_unvisited_directory_inside_the_root_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join(".store/p1/x.csv"));
        std::os::unix::fs::symlink(root.join(".store/p1"), root.join("p1")).unwrap();
        assert_eq!(sorted(root), vec![root.join("p1/x.csv")]);
    }

    #[cfg(unix)]
    #[test]
    fn real_names_win_over_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("b/x.csv"));
        std::os::unix::fs::symlink(root.join("b"), root.join("a")).unwrap();
        std::os::unix::fs::symlink(root.join("b/x.csv"), root.join("b/w.csv")).unwrap();
        assert_eq!(sorted(root), vec![root.join("b/x.csv")]);
    }
}
