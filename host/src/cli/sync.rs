//! `boxoffice sync`: one run of every configured account (or one vendor), for a systemd timer.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::app::App;
use crate::config::{Config, Vars};
use crate::sync::{sync_account, RunKind, RunOptions};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this vendor's accounts (e.g. shotgun).
    #[arg(long)]
    pub vendor: Option<String>,
    /// Re-read the last N hours (a backfill window; the live cursor is not used).
    #[arg(long)]
    pub since_hours: Option<u32>,
    /// Fetch and transform, print counts, write nothing, move no cursor.
    #[arg(long)]
    pub dry_run: bool,
    /// KEY=VALUE files read before the environment (which wins).
    #[arg(long = "envfile")]
    pub envfiles: Vec<PathBuf>,
    /// TOML config file (accounts, sink, limits); env files and the environment override it.
    #[arg(long, env = "BOXOFFICE_CONFIG")]
    pub config: Option<PathBuf>,
}

pub fn load_config(
    config: Option<&std::path::Path>,
    envfiles: &[PathBuf],
) -> anyhow::Result<Config> {
    let vars = Vars::load(config, envfiles)?;
    Ok(Config::from_vars(&vars)?)
}

pub async fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(args.config.as_deref(), &args.envfiles)?;
    if config.accounts.is_empty() {
        anyhow::bail!(
            "no accounts configured: set SHOTGUN_TOKEN and SHOTGUN_ORGANIZER_ID, or QTICKETS_TOKEN (see `boxoffice demo` to try it without credentials)"
        );
    }
    let app = App::open(config).await?;
    let now = crate::clock::now_ms();
    let mut failed = 0;
    let mut ran = 0;
    for a in &app.config.accounts {
        if args.vendor.as_deref().is_some_and(|v| v != a.vendor) {
            continue;
        }
        let account = app.account(a)?;
        let opts = RunOptions {
            kind: if args.dry_run {
                RunKind::DryRun
            } else if args.since_hours.is_some() {
                RunKind::Backfill
            } else {
                RunKind::Sync
            },
            since_ms: args.since_hours.map(|h| now - h as i64 * 3_600_000),
            ..Default::default()
        };
        let s = sync_account(&app.deps, &account, &opts).await?;
        ran += 1;
        println!(
            "{}/{}: {} — {} pages, {} records, {} rejected, {} requests in {:.1} s{}",
            a.vendor,
            a.name,
            s.status,
            s.pages,
            s.records,
            s.rejected,
            s.requests,
            s.duration_ms as f64 / 1000.0,
            if s.ok() {
                String::new()
            } else {
                format!(": {}", s.message)
            }
        );
        failed += (!s.ok()) as u32;
    }
    if ran == 0 {
        anyhow::bail!(
            "no configured account matches --vendor {}",
            args.vendor.unwrap_or_default()
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
