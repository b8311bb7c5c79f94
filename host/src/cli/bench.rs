//! `boxoffice bench`: runs the bench binary `boxoffice-bench` (the crate `bench/`) found beside
//! this executable, with the same arguments. The bench drives the product at size against the
//! vendor simulators and compares connectors with their natively compiled twins, so it lives
//! outside the product: the shipped binary carries neither (see docs/architecture.md).
//!
//! Owns only finding the binary, saying how to build it when it is absent, and handing over.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

/// The bench's binary, a sibling of `boxoffice` in the same target directory.
pub const BENCH_BIN: &str = "boxoffice-bench";

/// The environment variable through which the bench finds the `boxoffice` it measures (cold
/// start), set to this executable.
pub const BOXOFFICE_EXE_VAR: &str = "BOXOFFICE_EXE";

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct BenchArgs {
    /// Everything is passed to `boxoffice-bench` (`boxoffice bench --help` lists its options).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<OsString>,
}

/// Where the bench binary would be for the executable `exe`.
pub fn bench_path(exe: &Path) -> PathBuf {
    exe.with_file_name(BENCH_BIN)
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("finding this executable's path")?;
    let bench = bench_path(&exe);
    if !bench.is_file() {
        anyhow::bail!(
            "{} not found beside {}: the bench is a binary of its own; build it with \
             `cargo build --release -p boxoffice -p boxoffice-bench` (or run it in one line: \
             `just bench`)",
            bench.display(),
            exe.display()
        );
    }
    let mut cmd = std::process::Command::new(&bench);
    cmd.args(&args.args).env(BOXOFFICE_EXE_VAR, &exe);
    // Replaces this process: the bench's exit code and signals are the command's.
    use std::os::unix::process::CommandExt;
    let e = cmd.exec();
    Err(e).with_context(|| format!("running {}", bench.display()))
}
