//! `boxoffice backfill-metrics --to URL`: writes the past of the KPI series, rebuilt from the
//! ledger ([`crate::metrics::history`]), into VictoriaMetrics ([`crate::metrics::import`]), so
//! a new installation's dashboards show history and not only what was scraped since. Running
//! it again sends only what the server does not have.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use crate::metrics::history::{self, Grid, Step};
use crate::metrics::import::{self, ImportOptions, Progress, ProgressHook, Target};
use crate::state::StateStore;

#[derive(Debug, Args)]
pub struct BackfillMetricsArgs {
    /// The server's base URL, e.g. http://127.0.0.1:8428 (basic auth as http://user:pass@host).
    #[arg(long)]
    pub to: String,
    /// Read existing samples here instead (e.g. vmselect when --to is vminsert).
    #[arg(long)]
    pub read_from: Option<String>,
    /// Distance between samples: 1h, 1d, 30m, …
    #[arg(long, default_value = "1h", value_parser = Step::parse)]
    pub step: Step,
    /// Start at this local date (YYYY-MM-DD, in TZ) instead of the first order.
    #[arg(long, value_parser = crate::clock::parse_day)]
    pub since: Option<i64>,
    /// Extra label on every series, NAME=VALUE (repeat): e.g. the job and instance your
    /// scraper adds, so history and scraped samples form one series.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Compute and print series and sample counts; contact no server, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub source: super::config_source::ConfigSource,
}

fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let day = crate::clock::local_date(ms, 0);
    let s = secs.rem_euclid(86_400);
    format!("{day}T{:02}:{:02}Z", s / 3600, s % 3600 / 60)
}

/// A bar over the ledger's tickets on a TTY; a plain line per 20 batches otherwise.
fn progress(tickets: u64) -> (ProgressHook, Option<indicatif::ProgressBar>) {
    use std::io::IsTerminal;
    let line = |p: &Progress| {
        format!(
            "{} series, {} samples written, {} already there",
            p.import.series, p.import.written, p.import.present
        )
    };
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(tickets);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} tickets {pos}/{len} {wide_bar} {elapsed} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let b = bar.clone();
        let hook: ProgressHook = Arc::new(move |p: &Progress| {
            b.set_position(p.tickets_read);
            b.set_message(line(p));
        });
        (hook, Some(bar))
    } else {
        let batches = std::sync::atomic::AtomicU64::new(0);
        let hook: ProgressHook = Arc::new(move |p: &Progress| {
            let n = batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if n.is_multiple_of(20) {
                eprintln!(
                    "backfill: {}/{tickets} tickets read, {}",
                    p.tickets_read,
                    line(p)
                );
            }
        });
        (hook, None)
    }
}

pub async fn run(args: BackfillMetricsArgs) -> anyhow::Result<ExitCode> {
    // Check the target before any work, dry run included.
    let target = Target::parse(&args.to, args.read_from.as_deref(), &args.labels)?;
    let config = args.source.load()?;
    let path = config.state_dir.join(crate::app::STATE_FILE);
    if !path.exists() {
        anyhow::bail!(
            "no state database at {}: run `boxoffice sync` first, or point BOXOFFICE_STATE_DIR at the daemon's state directory",
            path.display()
        );
    }
    let state = Arc::new(StateStore::open(&path)?);
    let since_ms = args.since.map(|d| config.tz.day_start_ms(d));
    let now = crate::clock::now_ms();
    if since_ms.is_some_and(|s| s > now) {
        anyhow::bail!("--since is in the future");
    }
    let Some(grid) = Grid::for_ledger(&state, args.step, since_ms, now, &config.tz)? else {
        println!(
            "nothing to backfill: the ledger {} has no tickets in the range",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "history every {} from {} to {} ({} points per series at most), from {}",
        args.step,
        utc(grid.first_ms),
        utc(grid.last_ms()),
        grid.len,
        path.display()
    );
    if args.dry_run {
        let st = state.clone();
        let stats = tokio::task::spawn_blocking(move || {
            history::stream(&st, &grid, history::FAMILIES, |_| {}, |_| Ok(()))
        })
        .await??;
        for (name, series, samples) in &stats.families {
            println!("  {name}: {series} series, {samples} samples");
        }
        println!(
            "dry run: {} series, {} samples from {} tickets of {} events; nothing written to {}",
            stats.series(),
            stats.samples(),
            stats.tickets,
            stats.events,
            target.import_url()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (hook, bar) = progress(state.ticket_count()?);
    let result = import::backfill(
        state,
        grid,
        target.clone(),
        ImportOptions::default(),
        Some(hook),
    )
    .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let (history, stats) = result?;
    println!(
        "{}: {} series, {} samples written, {} already there{} ({} tickets, {} requests)",
        target.import_url(),
        stats.series,
        stats.written,
        stats.present,
        if stats.conflicts > 0 {
            format!(", {} differ", stats.conflicts)
        } else {
            String::new()
        },
        history.tickets,
        stats.requests
    );
    if stats.conflicts > 0 {
        println!(
            "note: {} samples on the server differ from the ledger's history (the ledger changed since they were written, e.g. a late refund); they were kept, as a sample cannot be overwritten — see docs/metrics-backfill.md",
            stats.conflicts
        );
    }
    if stats.written > 0 && !stats.flushed {
        println!(
            "note: the server did not confirm /internal/force_flush; the samples become visible within seconds — wait before running again"
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::metrics::history::HistoryError;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: BackfillMetricsArgs,
    }

    fn parse(step: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(["boxoffice", "--to", "http://127.0.0.1:8428", "--step", step])
    }

    #[test]
    fn a_bad_step_reaches_clap_as_the_history_error() {
        assert_eq!(parse("30m").unwrap().args.step.ms(), 1_800_000);
        for (bad, want) in [
            ("2x", HistoryError::BadStep("2x".into())),
            ("0h", HistoryError::BadStep("0h".into())),
            ("400d", HistoryError::StepTooLong("400d".into())),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            let source =
                std::error::Error::source(&e).and_then(|s| s.downcast_ref::<HistoryError>());
            assert_eq!(source, Some(&want), "{bad}");
            assert!(e.to_string().contains(&want.to_string()), "{e}");
        }
    }
}
