//! `wearlang-data`: the data commands of `wearlang` (`ingest`, `synth`,
//! `caption`, `inspect`, `rewindow`) in a binary that does not link
//! libtorch, for machines that only prepare data and for short inputs
//! where loading libtorch (about 0.2 s) would dominate.
//!
//! ```text
//! wearlang-data ingest --manifest fixtures/shoulder/manifest.toml --out windows.parquet
//! wearlang-data caption windows.parquet --shard 3/16
//! ```
use clap::Parser;
use wearlang_cli::DataCli;

fn main() {
    wearlang_cli::main_with(|| DataCli::parse().command.run());
}
