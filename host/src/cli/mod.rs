//! The command line: parsing (clap) and dispatch to the rooms. Each subcommand lives in its
//! own file; this file owns only the shape of the CLI and logging setup.

mod backfill_metrics;
mod bench;
mod check;
mod config_source;
mod demo;
#[cfg(feature = "demo")]
mod demo_victoria;
mod migrate;
mod plan;
mod plugin_grants;
mod plugins;
mod plugins_new;
mod run;
mod sync;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "boxoffice",
    version,
    about = "Ticket sales from vendor APIs into ClickHouse/SQLite and Prometheus, with vendor logic in sandboxed WebAssembly"
)]
pub struct Cli {
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, inspect, test and scaffold (`new`) connector plugins.
    #[command(subcommand)]
    Plugins(plugins::PluginsCmd),
    /// Everything at work with nothing configured: simulators, plugins, SQLite, /metrics.
    Demo(demo::DemoArgs),
    /// One sync of every configured account (for a systemd timer).
    Sync(sync::SyncArgs),
    /// Validate the configuration and reach the warehouse and every account's API once.
    Check(check::CheckArgs),
    /// Apply database migrations (ClickHouse when configured, SQLite always) and report.
    Migrate(migrate::MigrateArgs),
    /// Sales plans for the plan-vs-fact views: `plan import FILE`.
    #[command(subcommand)]
    Plan(plan::PlanCmd),
    /// The daemon: scheduled syncs of every account, /metrics and /healthz.
    Run(run::RunArgs),
    /// Measure throughput, peak RSS, WASM overhead, incremental requests and cold start.
    Bench(bench::BenchArgs),
    /// Write the KPIs' past, rebuilt from the ledger, into VictoriaMetrics (idempotent).
    BackfillMetrics(backfill_metrics::BackfillMetricsArgs),
}

/// Logs go to stderr as `BOXOFFICE_LOG_FORMAT` says: `text` (coloured on a TTY), `journald`
/// (one key=value line, no timestamp or colour: journald adds its own), `json` (one object per
/// line), or `auto` (journald when started by systemd, else text). Plugin log lines and errors
/// pass through the PII filter and secret scrubbing before they get here.
pub fn init_logging(verbose: u8) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let format = std::env::var("BOXOFFICE_LOG_FORMAT").unwrap_or_default();
    let format = match format.as_str() {
        "" | "auto" if std::env::var_os("JOURNAL_STREAM").is_some() => "journald",
        "" | "auto" => "text",
        other => other,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        "json" => builder.json().flatten_event(true).try_init(),
        "journald" => builder.with_ansi(false).without_time().try_init(),
        _ => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Plugins(cmd) => plugins::run(cmd).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Sync(args) => sync::run(args).await,
            Command::Run(args) => run::run(args).await,
            Command::Migrate(args) => migrate::run(args).await,
            Command::Plan(cmd) => plan::run(cmd).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Check(args) => check::run(args).await,
            Command::BackfillMetrics(args) => backfill_metrics::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
