//! The QTickets idle poll with webhooks on (issue 16): polling as the safety net reads only new
//! orders while no reconcile is due, so a run when nothing changed should cost ≤ 2 requests
//! (beside the "nothing changed" row, which re-reads the 72-hour lookback every run).
//!
//! Same set-up as `pipeline::qtickets` (simulator on loopback in this process, the account from
//! an operator's variables, the SQLite warehouse) plus `webhooks = "on"`: a first run reads
//! everything and must equal the simulator's truth, then a run five minutes later (no
//! reconcile due, inventory not due) is the idle poll, counted both by the run and by the
//! simulator.

use std::path::Path;

use anyhow::bail;

use super::pipeline::{self, check_figures, ledger_figures, Warehouse};
use boxoffice::app::App;
use boxoffice::sync::{sync_account, RunOptions, RunSummary};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};

/// The idle run's summary and the requests the simulator served during it.
#[derive(Debug, Clone)]
pub struct IdlePoll {
    pub run: RunSummary,
    pub served: u64,
}

fn served(sim: &QticketsSim) -> u64 {
    sim.stats().by_route_status.values().sum()
}

/// `orders` orders; the idle poll 5 minutes after a full first run, webhooks on.
pub async fn qtickets_idle_webhooks_on(orders: u64, state_dir: &Path) -> anyhow::Result<IdlePoll> {
    let sim = QticketsSim::new(QticketsConfig {
        orders,
        start_ms: boxoffice::clock::now_ms() - 5 * 60_000,
        ..Default::default()
    });
    let srv = sim.spawn().await?;
    let base = format!("{}/api/rest/v1", srv.base_url());
    let mut config = pipeline::config(
        &[("QTICKETS_TOKEN", sim.token()), ("QTICKETS_BASE_URL", base)],
        state_dir,
        &Warehouse::Sqlite,
    )?;
    config.accounts[0]
        .settings
        .push(("webhooks".into(), "on".into()));
    let app = App::open(config).await?;
    let account = app.accounts()?.remove(0);
    let at = |ms: i64| RunOptions {
        now_ms: Some(ms),
        ..Default::default()
    };
    let first = sync_account(&app.deps, &account, &at(sim.now_ms())).await?;
    if !first.ok() {
        bail!(
            "qtickets sync, webhooks on: {}: {}",
            first.status,
            first.message
        );
    }
    let truth = pipeline::qtickets_truth(&sim);
    check_figures(
        "qtickets, webhooks on",
        &ledger_figures(&app, "qtickets")?,
        &truth,
    )?;
    let before = served(&sim);
    let run = sync_account(&app.deps, &account, &at(sim.now_ms() + 5 * 60_000)).await?;
    let served = served(&sim) - before;
    if !run.ok() {
        bail!(
            "qtickets idle poll, webhooks on: {}: {}",
            run.status,
            run.message
        );
    }
    check_figures(
        "qtickets, webhooks on, after the idle poll",
        &ledger_figures(&app, "qtickets")?,
        &truth,
    )?;
    srv.shutdown().await;
    Ok(IdlePoll { run, served })
}
