//! Corrupt files through the command line: the inputs the fuzzer found
//! crashing the parquet and arrow readers (kept in `crates/fuzz/corpus/`)
//! end with rc 1 and an error naming the file, no panic message and no abort
//! (read with the fuzz target's manifest: `crates/fuzz/src/fixture.rs`).
mod common;
use common::wearlang;
use std::path::{Path, PathBuf};
use std::process::Output;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    files
}

/// rc 1, the file named, nothing printed about a panic.
fn clean_failure(out: &Output, file: &Path) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn corrupt_parquet_and_ipc_inputs_fail_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (target, ext, format) in [("parquet", "parquet", "parquet"), ("arrow", "arrow", "ipc")] {
        for (i, bin) in corpus(target).iter().enumerate() {
            let input = dir.path().join(format!("{target}{i}.{ext}"));
            std::fs::copy(bin, &input).unwrap();
            let manifest = dir.path().join(format!("{target}{i}.toml"));
            std::fs::write(
                &manifest,
                format!(
                    "[input]\npath = \"{}\"\nformat = \"{format}\"\n[time]\nrate_hz = 50.0\n\
                     [columns]\nsubject = \"subject\"\nrecording = \"recording\"\nlabel = \"label\"\n\
                     channels = [{{ name = \"ax\" }}, {{ name = \"ay\" }}, {{ name = \"az\" }}, \
                     {{ name = \"wx\" }}, {{ name = \"wy\" }}, {{ name = \"wz\" }}]\n\
                     [window]\nrate_hz = 50.0\nsize_s = 2.0\noverlap = 0.5\nmixed_labels = \"drop\"\n\
                     max_missing = 1.0\n\
                     [split]\nkind = \"time_ratios\"\ntrain = 0.6\nval = 0.2\n",
                    input.display()
                ),
            )
            .unwrap();
            let out_store = dir.path().join(format!("out{target}{i}.parquet"));
            let out = wearlang(&[
                "ingest",
                "--manifest",
                manifest.to_str().unwrap(),
                "--out",
                out_store.to_str().unwrap(),
            ]);
            clean_failure(&out, &input);
            assert!(!out_store.exists());
        }
    }
}

#[test]
fn a_corrupt_store_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for (i, bin) in corpus("store_file").iter().enumerate() {
        let store = dir.path().join(format!("store{i}.parquet"));
        std::fs::copy(bin, &store).unwrap();
        let out = wearlang(&[
            "caption",
            store.to_str().unwrap(),
            "--out",
            dir.path()
                .join(format!("captioned{i}.parquet"))
                .to_str()
                .unwrap(),
        ]);
        clean_failure(&out, &store);
    }
}
