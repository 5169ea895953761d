//! `wearlang-data`, the data commands without libtorch: it does not link
//! libtorch, writes the same store as `wearlang` for the same arguments,
//! and knows only the data commands.
use std::process::Command;

mod common;
use common::{stderr, wearlang};

fn wearlang_data(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wearlang-data"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Whether the executable at `path` names `lib` (its dynamic section lists
/// the shared libraries it needs by name).
fn names(path: &str, lib: &[u8]) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.windows(lib.len()).any(|w| w == lib)
}

#[test]
fn the_data_binary_does_not_need_libtorch() {
    for lib in [&b"libtorch_cpu.so"[..], b"libc10.so"] {
        assert!(
            !names(env!("CARGO_BIN_EXE_wearlang-data"), lib),
            "wearlang-data needs {}",
            String::from_utf8_lossy(lib)
        );
    }
    // The same check finds libtorch in the full binary.
    assert!(names(env!("CARGO_BIN_EXE_wearlang"), b"libtorch_cpu.so"));
}

#[test]
fn both_binaries_write_the_same_store_and_captions() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/shoulder/manifest.toml"
    );
    let full = dir.path().join("full.parquet");
    let data = dir.path().join("data.parquet");
    for (run, out) in [
        (wearlang as fn(&[&str]) -> std::process::Output, &full),
        (wearlang_data, &data),
    ] {
        let out = out.to_str().unwrap();
        let o = run(&["ingest", "--manifest", manifest, "--out", out]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = run(&["caption", out, "--show", "0"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (a, b) = (std::fs::read(&full).unwrap(), std::fs::read(&data).unwrap());
    assert!(a.len() > 1000);
    assert!(a == b, "the two binaries wrote different stores");
}

#[test]
fn the_data_binary_knows_only_the_data_commands() {
    let help = wearlang_data(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for cmd in ["ingest", "synth", "caption", "inspect", "rewindow"] {
        assert!(text.contains(cmd), "{text}");
    }
    let o = wearlang_data(&["train", "--store", "x.parquet"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unrecognized subcommand 'train'"),
        "{}",
        stderr(&o)
    );
    // A failing data command reports like `wearlang` does.
    let o = wearlang_data(&["inspect", "/nonexistent/w.parquet"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).starts_with("error: "));
    assert!(
        stderr(&o).contains("/nonexistent/w.parquet"),
        "{}",
        stderr(&o)
    );
}
