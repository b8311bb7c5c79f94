//! `boxoffice run`: the daemon — one scheduler for every configured account, `/metrics` and
//! `/healthz`, the inbound webhook listener (when accounts have webhook secrets; deliveries go
//! to [`webhook_ingest`]), graceful shutdown on SIGTERM/SIGINT.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use rand::Rng;
use tokio::sync::watch;

use crate::app::App;
use crate::model::WebhookSignature;
use crate::sync::{sync_account, Account, RunOptions};
use crate::webhook::{DeliveryHandler, WebhookServer};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: super::config_source::ConfigSource,
    /// How long a shutdown waits for syncs in flight before leaving them (their last committed
    /// page stays committed; the rest is fetched again next time).
    #[arg(long, default_value_t = 20)]
    pub shutdown_grace_secs: u64,
    /// Accounts synced at the same time (each account runs one sync at a time).
    #[arg(long, env = "BOXOFFICE_MAX_CONCURRENT_SYNCS", default_value_t = 4)]
    pub max_concurrent_syncs: usize,
    /// `I/N`: sync only the accounts whose stable hash of `vendor/account` is I modulo N
    /// (over `shard` in the config file and `BOXOFFICE_SHARD`; docs/scaling.md).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
}

fn interval(account: &Account, configured: Option<u32>) -> Duration {
    crate::plugin::ceilings::sync_interval(
        account.plugin.manifest.default_interval_secs,
        configured,
    )
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

/// What the webhook listener needs from the rest of the daemon: the handler that turns a
/// verified delivery into stored records, and the signature scheme each account's connector
/// declares (`None`: it takes no webhooks).
pub struct WebhookIngest {
    pub handler: Arc<dyn DeliveryHandler>,
    pub signature_of: SignatureOf,
}

/// The signature scheme an account's connector declares (`None`: it takes no webhooks).
pub type SignatureOf = Box<dyn Fn(&Account) -> Option<WebhookSignature> + Send + Sync>;

/// The one place the daemon gets its webhook ingest from: `sync::webhook::WebhookIngest`
/// (the connector's webhook entry point, dedupe on the vendor's natural key, the warehouse write
/// and the ledger commit; it answers only once the records are durable, so a 200 means stored)
/// over the daemon's shared parts and its accounts, and the signature scheme each account's
/// connector declares in its manifest (contract 0.4 on; `None`: it takes no webhooks).
fn webhook_ingest(app: &Arc<App>) -> anyhow::Result<WebhookIngest> {
    let handler = crate::sync::webhook::WebhookIngest::new(app.deps.clone(), app.accounts()?);
    Ok(WebhookIngest {
        handler: Arc::new(handler),
        signature_of: Box::new(|a: &Account| {
            a.plugin
                .manifest
                .webhook
                .as_ref()
                .map(|w| w.signature.clone())
        }),
    })
}

/// Starts the webhook listener when some account has a webhook secret and the build has an
/// ingest; `None` otherwise.
async fn start_webhooks(
    app: &Arc<App>,
    schedule: &[(Account, Duration)],
) -> anyhow::Result<Option<WebhookServer>> {
    let config = &app.config.webhooks;
    if config.accounts.is_empty() {
        return Ok(None);
    }
    let ingest = webhook_ingest(app)?;
    let accounts = crate::config::webhook_accounts::accounts(config, |vendor, name| {
        schedule
            .iter()
            .find(|(a, _)| a.vendor_id() == vendor && a.name == name)
            .and_then(|(a, _)| (ingest.signature_of)(a))
    })?;
    let server = crate::webhook::serve(
        &config.listener,
        accounts,
        ingest.handler,
        app.metrics.clone(),
    )
    .await?;
    Ok(Some(server))
}

pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.source.load()?;
    if let Some(s) = &args.shard {
        config.shard = Some(crate::config::shard::Shard::parse("--shard", s)?);
    }
    if config.accounts.is_empty() {
        anyhow::bail!("no accounts configured: set SHOTGUN_TOKEN and SHOTGUN_ORGANIZER_ID, QTICKETS_TOKEN, or [[account]] in a config file (--config)");
    }
    let app = Arc::new(App::open(config).await?);
    let mut schedule = Vec::new();
    for a in &app.config.accounts {
        let account = app.account(a)?;
        let every = interval(&account, a.interval_secs);
        schedule.push((account, every));
    }
    let health: crate::metrics::server::HealthCheck = {
        let state = app.deps.state.clone();
        let scheduled: Vec<crate::metrics::health::Scheduled> = schedule
            .iter()
            .map(|(a, every)| {
                (
                    a.vendor_id().to_string(),
                    a.name.clone(),
                    every.as_millis() as i64,
                )
            })
            .collect();
        let started = crate::clock::now_ms();
        Arc::new(move || match state.run_health() {
            Ok(runs) => {
                crate::metrics::health::assess(&runs, &scheduled, crate::clock::now_ms(), started)
            }
            Err(e) => {
                crate::metrics::health::Health::Unhealthy(vec![format!("state database: {e}")])
            }
        })
    };
    let bound =
        crate::metrics::server::serve(app.config.listen, app.metrics.clone(), health).await?;
    let webhooks = start_webhooks(&app, &schedule).await?;
    tracing::info!(
        listen = %bound,
        webhooks = %webhooks.as_ref().map(|w| w.local_addr().to_string()).unwrap_or_else(|| "off".into()),
        accounts = schedule.len(),
        "boxoffice running"
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    // One sync per account at a time (its own loop); at most this many accounts at once.
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let slots = Arc::new(tokio::sync::Semaphore::new(
        args.max_concurrent_syncs.max(1),
    ));
    let mut tasks = Vec::new();
    for (account, every) in schedule {
        let app = app.clone();
        let slots = slots.clone();
        let cancel = cancel.clone();
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                if *stop.borrow() {
                    break;
                }
                let permit = tokio::select! {
                    p = slots.clone().acquire_owned() => p,
                    _ = stop.changed() => break,
                };
                let opts = RunOptions {
                    cancel: Some(cancel.clone()),
                    ..Default::default()
                };
                if let Err(e) = sync_account(&app.deps, &account, &opts).await {
                    tracing::error!(vendor = account.vendor_id(), account = %account.name, "sync could not run: {e:#}");
                }
                drop(permit);
                // ±10 % jitter so accounts of one vendor do not fire together.
                let jitter = rand::rng().random_range(0.9..1.1);
                let wait = every.mul_f64(jitter);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {},
                    _ = stop.changed() => break,
                }
            }
        }));
    }
    shutdown_signal().await;
    tracing::info!("shutting down: no new syncs; syncs in flight stop after their current page");
    cancel.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = stop_tx.send(true);
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    // Both within one grace: deliveries being stored finish (their 200 means stored), syncs
    // stop after their current page.
    let hooks = async {
        match webhooks {
            Some(w) => w.shutdown(grace).await,
            None => true,
        }
    };
    let (hooks_done, syncs) = tokio::join!(hooks, tokio::time::timeout(grace, futures_join(tasks)));
    if !hooks_done {
        tracing::warn!(
            "webhook deliveries still being stored after {} s: left; the vendor retries those",
            grace.as_secs()
        );
    }
    if syncs.is_err() {
        tracing::warn!("syncs still in flight after {} s: leaving them; their uncommitted pages will be fetched again", grace.as_secs());
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}
