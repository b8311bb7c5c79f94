//! Whole-pipeline throughput (simulator → plugin → firewall → warehouse + ledger) and the
//! requests of an incremental run when nothing changed, per vendor and warehouse.
//!
//! The account is configured from the same variables an operator sets (`Config::from_vars`),
//! the request budget is unlimited, and the simulator serves on loopback in this process. The
//! clock is pinned to the simulator's, as in the demo. After each run the ledger's figures
//! must equal the simulator's ground truth and the warehouse must hold one row per ticket;
//! anything else fails the bench.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context};

use super::wire::WireMeter;
use boxoffice::app::App;
use boxoffice::config::{Config, Vars};
use boxoffice::sink::clickhouse::ClickhouseEncoding;
use boxoffice::sink::ClickhouseConfig;
use boxoffice::sync::{sync_account, RunOptions, RunSummary};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

/// Which warehouse a run writes to.
#[derive(Debug, Clone)]
pub enum Warehouse {
    /// The SQLite warehouse, in the run's state database.
    Sqlite,
    /// A ClickHouse database of the bench's own (created by the sink's migrations), written
    /// in the config's encoding; the meter, when the server is reached through the bench's
    /// counting relay (`wire`).
    Clickhouse(ClickhouseConfig, Option<WireMeter>),
}

impl Warehouse {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Clickhouse(ch, _) => match ch.encoding {
                ClickhouseEncoding::RowBinary => "ClickHouse (RowBinary+LZ4)",
                ClickhouseEncoding::JsonEachRow => "ClickHouse (JSONEachRow)",
            },
        }
    }

    /// Bytes sent to the warehouse's server so far, where they are counted.
    fn sent_bytes(&self) -> Option<u64> {
        match self {
            Self::Clickhouse(_, Some(meter)) => Some(meter.sent()),
            _ => None,
        }
    }
}

/// One vendor's full sync and the incremental sync after it.
#[derive(Debug, Clone)]
pub struct PipelineRun {
    /// Tickets in the ledger after the first run (= the simulator's).
    pub tickets: u64,
    pub first: RunSummary,
    /// Wall time of the first run, seconds.
    pub secs: f64,
    /// CPU time of this process (all threads, the in-process simulator included) during the
    /// first run, seconds; `None` where /proc is missing.
    pub cpu_secs: Option<f64>,
    /// The second run against the unchanged simulator.
    pub incremental: RunSummary,
    /// Bytes sent to ClickHouse during the first run (its inserts: every table, HTTP headers
    /// included), where the bench's relay counts them.
    pub sent_bytes: Option<u64>,
}

impl PipelineRun {
    pub fn tickets_per_sec(&self) -> f64 {
        self.tickets as f64 / self.secs.max(1e-9)
    }
}

/// (event, category) → (sold, refunded, scanned, revenue) for Shotgun; (event, "") → (sold,
/// 0, 0, revenue) for QTickets (its truth is per sales date; events are what the demo checks).
pub type Figures = BTreeMap<(String, String), (u64, u64, u64, i64)>;

fn nonzero(mut f: Figures) -> Figures {
    f.retain(|_, v| *v != (0, 0, 0, 0));
    f
}

pub fn shotgun_truth(sim: &ShotgunSim) -> Figures {
    let mut f = Figures::new();
    for r in sim.truth() {
        let e = f.entry((r.event_id.to_string(), r.category)).or_default();
        e.0 += r.sold;
        e.1 += r.refunded;
        e.2 += r.scanned;
        e.3 += r.revenue_minor;
    }
    nonzero(f)
}

pub(crate) fn qtickets_truth(sim: &QticketsSim) -> Figures {
    let mut f = Figures::new();
    for r in sim.truth() {
        let e = f
            .entry((r.event_id.to_string(), String::new()))
            .or_default();
        e.0 += r.tickets;
        e.3 += r.revenue_minor;
    }
    nonzero(f)
}

/// The ledger's figures for `vendor`, shaped like the truth of that vendor.
pub fn ledger_figures(app: &App, vendor: &str) -> anyhow::Result<Figures> {
    let mut f = Figures::new();
    for k in app
        .deps
        .state
        .kpis()?
        .into_iter()
        .filter(|k| k.vendor == vendor)
    {
        if vendor == "shotgun" {
            let e = f.entry((k.event_id, k.category)).or_default();
            e.0 += k.sold;
            e.1 += k.refunded;
            e.2 += k.scanned;
            e.3 += k.revenue_minor;
        } else {
            let e = f.entry((k.event_id, String::new())).or_default();
            e.0 += k.sold;
            e.3 += k.revenue_minor;
        }
    }
    Ok(nonzero(f))
}

/// Fails with the first differing row when the figures are not the truth.
pub fn check_figures(what: &str, got: &Figures, want: &Figures) -> anyhow::Result<()> {
    if got == want {
        return Ok(());
    }
    let keys: std::collections::BTreeSet<_> = got.keys().chain(want.keys()).collect();
    for k in keys {
        let (g, w) = (got.get(k), want.get(k));
        if g != w {
            bail!(
                "{what}: figures differ from the simulator's truth at event {} {:?}: boxoffice {:?}, simulator {:?} (sold, refunded, scanned, revenue)",
                k.0,
                k.1,
                g,
                w
            );
        }
    }
    bail!("{what}: figures differ from the simulator's truth")
}

/// The config an operator would write for one account against a simulator, with the bench's
/// state directory, an unlimited budget and the chosen warehouse.
pub(crate) fn config(
    pairs: &[(&str, String)],
    state_dir: &Path,
    warehouse: &Warehouse,
) -> anyhow::Result<Config> {
    let mut config = Config::from_vars(&Vars::from_pairs(
        pairs.iter().map(|(k, v)| (*k, v.as_str())),
    ))?;
    config.state_dir = state_dir.to_path_buf();
    config.max_requests_per_minute = Some(0);
    config.clickhouse = match warehouse {
        Warehouse::Sqlite => None,
        Warehouse::Clickhouse(ch, _) => Some(ch.clone()),
    };
    if config.accounts.len() != 1 {
        bail!(
            "expected one account from the bench's settings, got {}",
            config.accounts.len()
        );
    }
    Ok(config)
}

async fn run_twice(
    app: &App,
    now_ms: i64,
    vendor: &str,
    truth: &Figures,
    want_tickets: Option<u64>,
    warehouse: &Warehouse,
) -> anyhow::Result<PipelineRun> {
    let account = app.accounts()?.remove(0);
    let opts = RunOptions {
        now_ms: Some(now_ms),
        ..Default::default()
    };
    let cpu_before = process_cpu_secs();
    let bytes_before = warehouse.sent_bytes();
    let started = Instant::now();
    let first = sync_account(&app.deps, &account, &opts).await?;
    let secs = started.elapsed().as_secs_f64();
    let sent_bytes = warehouse
        .sent_bytes()
        .zip(bytes_before)
        .map(|(after, before)| after - before);
    let cpu_secs = process_cpu_secs()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    if !first.ok() {
        bail!(
            "{vendor} sync into {}: {}: {}",
            warehouse.name(),
            first.status,
            first.message
        );
    }
    if first.rejected > 0 {
        bail!(
            "{vendor} sync: the firewall rejected {} records",
            first.rejected
        );
    }
    let what = format!("{vendor} → {}", warehouse.name());
    check_figures(&what, &ledger_figures(app, vendor)?, truth)?;
    let tickets = app.deps.state.ticket_count()?;
    if let Some(want) = want_tickets {
        if tickets != want {
            bail!("{what}: {tickets} tickets in the ledger, the simulator has {want}");
        }
    }
    check_warehouse(app, vendor, tickets, warehouse).await?;
    let incremental = sync_account(&app.deps, &account, &opts).await?;
    if !incremental.ok() {
        bail!(
            "{vendor} incremental sync: {}: {}",
            incremental.status,
            incremental.message
        );
    }
    check_figures(
        &format!("{what}, after the incremental run"),
        &ledger_figures(app, vendor)?,
        truth,
    )?;
    Ok(PipelineRun {
        tickets,
        first,
        secs,
        cpu_secs,
        incremental,
        sent_bytes,
    })
}

/// User + system CPU time of this process so far (`/proc/self/stat`, clock ticks of 1/100 s).
pub fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// The warehouse holds exactly one row per ledger ticket.
async fn check_warehouse(
    app: &App,
    vendor: &str,
    tickets: u64,
    warehouse: &Warehouse,
) -> anyhow::Result<()> {
    let rows: u64 = match warehouse {
        Warehouse::Sqlite => {
            let path = app.config.state_dir.join(boxoffice::app::STATE_FILE);
            let conn = rusqlite::Connection::open_with_flags(
                &path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .with_context(|| format!("opening {}", path.display()))?;
            conn.query_row(
                "SELECT count(*) FROM tickets WHERE vendor = ?1",
                [vendor],
                |r| r.get::<_, i64>(0),
            )? as u64
        }
        Warehouse::Clickhouse(ch, _) => {
            let client = boxoffice::sink::clickhouse::client::ClickhouseClient::new(ch.clone())?;
            // A cluster's `Distributed` table forwards inserts to the shards in the
            // background: the count may lag the sync for a moment (at most 30 s here).
            let deadline = Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let text = client
                    .execute(&format!(
                        "SELECT count() FROM {}.tickets FINAL WHERE vendor = '{vendor}'",
                        ch.database
                    ))
                    .await?;
                let n: u64 = text
                    .trim()
                    .parse()
                    .with_context(|| format!("ClickHouse count: {text:?}"))?;
                if n == tickets || Instant::now() > deadline {
                    break n;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    };
    if rows != tickets {
        bail!(
            "{vendor} → {}: {rows} ticket rows in the warehouse, {tickets} in the ledger",
            warehouse.name()
        );
    }
    Ok(())
}

/// Shotgun: `tickets` tickets, all read by the first run.
pub async fn shotgun(
    tickets: u64,
    state_dir: &Path,
    warehouse: &Warehouse,
) -> anyhow::Result<PipelineRun> {
    shotgun_into(tickets, state_dir, warehouse, None).await
}

/// [`shotgun`] into a ClickHouse warehouse whose schema is sharded and replicated over the
/// `remote_servers` cluster `cluster` (`CLICKHOUSE_CLUSTER`), when given.
pub async fn shotgun_into(
    tickets: u64,
    state_dir: &Path,
    warehouse: &Warehouse,
    cluster: Option<&str>,
) -> anyhow::Result<PipelineRun> {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets,
        start_ms: boxoffice::clock::now_ms() - 5 * 60_000,
        ..Default::default()
    });
    let srv = sim.spawn().await?;
    let base = srv.base_url();
    let mut config = config(
        &[
            ("SHOTGUN_TOKEN", sim.token()),
            ("SHOTGUN_ORGANIZER_ID", sim.organizer_id().to_string()),
            ("SHOTGUN_BASE_URL", base.clone()),
            ("SHOTGUN_EVENTS_BASE_URL", base),
        ],
        state_dir,
        warehouse,
    )?;
    config.clickhouse_cluster = cluster.map(str::to_string);
    let app = App::open(config).await?;
    let truth = shotgun_truth(&sim);
    let run = run_twice(
        &app,
        sim.now_ms(),
        "shotgun",
        &truth,
        Some(sim.ticket_count()),
        warehouse,
    )
    .await?;
    srv.shutdown().await;
    Ok(run)
}

/// QTickets: `orders` orders (one ticket per basket).
pub async fn qtickets(
    orders: u64,
    state_dir: &Path,
    warehouse: &Warehouse,
) -> anyhow::Result<PipelineRun> {
    let sim = QticketsSim::new(QticketsConfig {
        orders,
        start_ms: boxoffice::clock::now_ms() - 5 * 60_000,
        ..Default::default()
    });
    let srv = sim.spawn().await?;
    let base = format!("{}/api/rest/v1", srv.base_url());
    let config = config(
        &[("QTICKETS_TOKEN", sim.token()), ("QTICKETS_BASE_URL", base)],
        state_dir,
        warehouse,
    )?;
    let app = App::open(config).await?;
    let truth = qtickets_truth(&sim);
    let run = run_twice(&app, sim.now_ms(), "qtickets", &truth, None, warehouse).await?;
    srv.shutdown().await;
    Ok(run)
}
