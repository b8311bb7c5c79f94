//! `boxoffice sync`: one run of every configured account (or one vendor), for a systemd timer.

use std::process::ExitCode;

use std::sync::Arc;

use clap::Args;

use crate::app::App;
use crate::sync::{sync_account, ProgressHook, RunKind, RunOptions, RunSummary};

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only this vendor's accounts (e.g. shotgun).
    #[arg(long)]
    pub vendor: Option<String>,
    /// Re-read the last N hours (a backfill window; the live cursor does not move).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub since_hours: Option<u32>,
    /// Backfill from this local date (YYYY-MM-DD, in TZ), inclusive.
    #[arg(long, value_parser = crate::clock::parse_day)]
    pub from: Option<i64>,
    /// Backfill up to this local date (YYYY-MM-DD, in TZ), inclusive (default: now).
    #[arg(long, value_parser = crate::clock::parse_day, requires = "from")]
    pub to: Option<i64>,
    /// Fetch and transform, print counts, write nothing, move no cursor.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub source: super::config_source::ConfigSource,
}

/// Pages between two progress lines when stderr is not a terminal.
const PROGRESS_EVERY_PAGES: u64 = 25;

/// A progress bar on a TTY, a plain line every 25 pages otherwise.
fn progress(label: String) -> (ProgressHook, Option<indicatif::ProgressBar>) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_prefix(label);
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let b = bar.clone();
        let hook = ProgressHook(Arc::new(move |s: &RunSummary| {
            b.set_message(format!(
                "{} pages, {} records, {} requests",
                s.pages, s.records, s.requests
            ));
        }));
        (hook, Some(bar))
    } else {
        // The hook runs once per stored batch (several pages when they queue up), so pages
        // move in jumps: a line each time another 25 have been passed, not on multiples of 25.
        let printed = std::sync::atomic::AtomicU64::new(0);
        let hook = ProgressHook(Arc::new(move |s: &RunSummary| {
            let bucket = s.pages / PROGRESS_EVERY_PAGES;
            if bucket > printed.fetch_max(bucket, std::sync::atomic::Ordering::Relaxed) {
                eprintln!(
                    "{label}: {} pages, {} records, {} requests",
                    s.pages, s.records, s.requests
                );
            }
        }));
        (hook, None)
    }
}

pub async fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let config = args.source.load()?;
    if config.accounts.is_empty() {
        anyhow::bail!(
            "no accounts configured: set SHOTGUN_TOKEN and SHOTGUN_ORGANIZER_ID, or QTICKETS_TOKEN (see `boxoffice demo` to try it without credentials)"
        );
    }
    let app = App::open(config).await?;
    // Ctrl-C / SIGTERM: finish the page in flight, keep what was stored, exit non-zero.
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; }, None => std::future::pending::<()>().await } } => {},
            }
            eprintln!(
                "stopping after the page in flight (what is stored stays; run again to complete)"
            );
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    let now = crate::clock::now_ms();
    let mut failed = 0;
    let mut ran = 0;
    // Every selected account is checked (connector, settings, grants) before any runs: a
    // misconfigured one fails the command up front, not after the others synced.
    let selected = app
        .config
        .accounts
        .iter()
        .filter(|a| args.vendor.as_deref().is_none_or(|v| v == a.vendor))
        .map(|a| Ok((a, app.account(a)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for (a, account) in selected {
        // --from/--to are days of the account's own zone.
        let zone = app.config.zone_of(a);
        let day_start = |days: i64| zone.day_start_ms(days);
        let since_ms = match (args.since_hours, args.from) {
            (Some(h), _) => Some(now - h as i64 * 3_600_000),
            (None, Some(d)) => Some(day_start(d)),
            (None, None) => None,
        };
        let until_ms = args.to.map(|d| day_start(d + 1));
        if let (Some(a), Some(b)) = (since_ms, until_ms) {
            if a >= b {
                anyhow::bail!("--from must be on or before --to");
            }
        }
        let (hook, bar) = progress(format!("{}/{}", a.vendor, a.name));
        let opts = RunOptions {
            kind: if args.dry_run {
                RunKind::DryRun
            } else if since_ms.is_some() {
                RunKind::Backfill
            } else {
                RunKind::Sync
            },
            since_ms,
            until_ms,
            progress: Some(hook),
            cancel: Some(cancel.clone()),
            ..Default::default()
        };
        let s = sync_account(&app.deps, &account, &opts).await?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
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
            if args.dry_run {
                " (dry run: nothing written)".to_string()
            } else if s.ok() {
                String::new()
            } else {
                format!(": {}", s.message)
            }
        );
        // A degraded run stored its core data: reported above, not a failure.
        failed += (!s.succeeded()) as u32;
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
