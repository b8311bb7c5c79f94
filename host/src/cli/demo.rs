//! `boxoffice demo`: the whole thing with nothing configured — Shotgun and QTickets simulators
//! on loopback, the bundled plugins in the real runtime, the SQLite warehouse (or ClickHouse
//! when `CLICKHOUSE_*` is set), and `/metrics`.
//!
//! The simulators are the cargo feature `demo` (on by default): a build without it keeps the
//! command and its options, and `run` says how to get the demo instead of running it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// What `boxoffice demo` says in a build without the simulators.
#[cfg_attr(feature = "demo", allow(dead_code))]
pub const BUILT_WITHOUT_DEMO: &str = "this boxoffice was built without the demo (cargo feature \
`demo`, on by default; e.g. `cargo build --release -p boxoffice --no-default-features` leaves it \
out): build it with `cargo build --release -p boxoffice` and run `target/release/boxoffice demo`";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port for /metrics (0 = any free port).
    #[arg(long, default_value_t = 9400)]
    pub port: u16,
    /// Tickets in the simulated Shotgun history.
    #[arg(long, default_value_t = 20_000)]
    pub tickets: u64,
    /// Orders in the simulated QTickets history.
    #[arg(long, default_value_t = 5_000)]
    pub orders: u64,
    /// Sync once, print the summary and exit (instead of serving until Ctrl-C).
    #[arg(long)]
    pub once: bool,
    /// Where the demo's SQLite files go (default: a fresh folder under the temp dir).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Seconds between simulated intervals while serving.
    #[arg(long, default_value_t = 10)]
    pub every: u64,
    /// Also start VictoriaMetrics (Debian's `victoria-metrics`) on loopback, scraping the demo,
    /// with the history backfilled, and print links to its UI with ready-made queries.
    #[arg(long, conflicts_with = "once")]
    pub victoria: bool,
}

#[cfg(feature = "demo")]
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    live::run(args).await
}

#[cfg(not(feature = "demo"))]
pub async fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!(BUILT_WITHOUT_DEMO)
}

/// The demo itself: the simulators, one sync per account, the summary, serving.
#[cfg(feature = "demo")]
mod live {
    use super::DemoArgs;
    use std::net::SocketAddr;
    use std::process::ExitCode;
    use std::sync::Arc;
    use std::time::Duration;

    use crate::app::App;
    use std::collections::BTreeMap;

    use crate::config::{AccountConfig, Config, Vars};
    use crate::sync::{sync_account, RunOptions};
    use anyhow::Context;

    use super::super::demo_victoria::{self, DemoVictoria};
    use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
    use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

    fn money(minor: i64) -> String {
        format!("{}.{:02}", minor / 100, (minor % 100).abs())
    }

    /// Per event: (tickets sold, revenue kept in minor units), as the simulator knows it.
    type Truth = BTreeMap<String, (u64, i64)>;

    pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
        let state_dir = args.state_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("boxoffice-demo-{}", std::process::id()))
        });
        let _ = std::fs::remove_dir_all(state_dir.join("state.sqlite"));
        let now = crate::clock::now_ms();
        let shotgun = ShotgunSim::new(ShotgunConfig {
            tickets: args.tickets,
            start_ms: now - 5 * 60_000,
            ..Default::default()
        });
        let qtickets = QticketsSim::new(QticketsConfig {
            orders: args.orders,
            start_ms: now - 5 * 60_000,
            ..Default::default()
        });
        let shotgun_srv = shotgun.spawn().await?;
        let qtickets_srv = qtickets.spawn().await?;
        let sg_base = shotgun_srv.base_url();
        let qt_base = format!("{}/api/rest/v1", qtickets_srv.base_url());
        let token = |t: String| std::collections::BTreeMap::from([("token".to_string(), t)]);
        // ClickHouse when the operator's CLICKHOUSE_* variables say so, else the SQLite warehouse;
        // sales days in their TZ.
        let env = Config::from_vars(&Vars::from_process(&[])?)?;
        let (clickhouse, tz) = (env.clickhouse, env.tz);
        let config = Config {
            state_dir: state_dir.clone(),
            listen: SocketAddr::from(([127, 0, 0, 1], args.port)),
            accounts: vec![
                AccountConfig {
                    vendor: "shotgun".into(),
                    name: "demo".into(),
                    settings: vec![
                        ("organizer_id".into(), shotgun.organizer_id().to_string()),
                        ("base_url".into(), sg_base.clone()),
                        ("events_base_url".into(), sg_base.clone()),
                    ],
                    secrets: token(shotgun.token()),
                    interval_secs: None,
                    extra_origins: vec![sg_base.clone()],
                    grant_hosts: vec![],
                    tz: None,
                    origin: Default::default(),
                },
                AccountConfig {
                    vendor: "qtickets".into(),
                    name: "demo".into(),
                    settings: vec![("base_url".into(), qt_base.clone())],
                    secrets: token(qtickets.token()),
                    interval_secs: None,
                    extra_origins: vec![qt_base.clone()],
                    grant_hosts: vec![],
                    tz: None,
                    origin: Default::default(),
                },
            ],
            compat_shotgun_metrics: true,
            tz,
            // The simulators are local: no need to pace requests as the real APIs require.
            max_requests_per_minute: Some(0),
            clickhouse,
            plugin_dir: None,
            plugins: Default::default(),
            max_response_bytes: None,
            webhooks: Default::default(),
            clickhouse_cluster: env.clickhouse_cluster.clone(),
            shard: None,
        };
        println!(
            "boxoffice demo: Shotgun simulator with {} tickets on {sg_base}",
            args.tickets
        );
        println!(
            "                QTickets simulator with {} orders on {qt_base}",
            args.orders
        );
        match &config.clickhouse {
            Some(ch) => println!("warehouse: ClickHouse {}/{}", ch.url, ch.database),
            None => println!(
                "warehouse: SQLite {}",
                state_dir.join(crate::app::STATE_FILE).display()
            ),
        }
        println!("state: {}", state_dir.display());
        let app = App::open(config).await?;
        let health: crate::metrics::server::HealthCheck =
            Arc::new(|| crate::metrics::health::Health::Healthy);
        let bound =
            crate::metrics::server::serve(app.config.listen, app.metrics.clone(), health).await?;
        let accounts = app.accounts()?;
        let opts = |vendor: &str| RunOptions {
            now_ms: Some(if vendor == "qtickets" {
                qtickets.now_ms()
            } else {
                shotgun.now_ms()
            }),
            ..Default::default()
        };
        for account in &accounts {
            let s = sync_account(&app.deps, account, &opts(account.vendor_id())).await?;
            println!(
                "synced {}/{}: {} — {} pages, {} records in {:.2} s ({:.0} records/s){}",
                account.vendor_id(),
                account.name,
                s.status,
                s.pages,
                s.records,
                s.duration_ms as f64 / 1000.0,
                s.records as f64 / (s.duration_ms.max(1) as f64 / 1000.0),
                if s.ok() {
                    String::new()
                } else {
                    format!(": {}", s.message)
                }
            );
        }
        let shotgun_truth = || -> Truth {
            let mut t = Truth::new();
            for r in shotgun.truth() {
                let e = t.entry(r.event_id.to_string()).or_default();
                e.0 += r.sold;
                e.1 += r.revenue_minor;
            }
            t
        };
        let qtickets_truth = || -> Truth {
            let mut t = Truth::new();
            for r in qtickets.truth() {
                let e = t.entry(r.event_id.to_string()).or_default();
                e.0 += r.tickets;
                e.1 += r.revenue_minor;
            }
            t
        };
        let mut all_ok = print_summary(&app, "shotgun", &shotgun_truth())?;
        all_ok &= print_summary(&app, "qtickets", &qtickets_truth())?;
        println!();
        println!("metrics:  http://{bound}/metrics");
        println!("health:   http://{bound}/healthz");
        match &app.config.clickhouse {
            Some(ch) => println!(
                "ClickHouse: SELECT * FROM {}.sales_daily LIMIT 20",
                ch.database
            ),
            None => println!(
                "SQLite:   sqlite3 {} 'SELECT * FROM sales_daily LIMIT 20'",
                state_dir.join(crate::app::STATE_FILE).display()
            ),
        }
        // --victoria: the figures as graphs, history included, in VictoriaMetrics' own UI.
        let _victoria = match args.victoria {
            true => Some(start_victoria(&app, &state_dir, bound).await?),
            false => None,
        };
        if args.once {
            return Ok(if all_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        println!("every {} s the simulators advance 15 minutes (sales, refunds, scans) and boxoffice syncs; Ctrl-C stops", args.every);
        let mut tick = tokio::time::interval(Duration::from_secs(args.every.max(1)));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = tick.tick() => {
                    shotgun.advance(15);
                    qtickets.advance(15);
                    for account in &accounts {
                        let s = sync_account(&app.deps, account, &opts(account.vendor_id())).await?;
                        println!("sync {}/{}: {} — {} records changed", account.vendor_id(), account.name, s.status, s.tickets_changed);
                    }
                }
            }
        }
        println!("stopped");
        Ok(ExitCode::SUCCESS)
    }

    async fn start_victoria(
        app: &App,
        state_dir: &std::path::Path,
        metrics: SocketAddr,
    ) -> anyhow::Result<DemoVictoria> {
        let every = Duration::from_secs(10);
        let vm = DemoVictoria::start(&state_dir.join("victoria"), metrics, every).await?;
        let written = vm
            .backfill(app.deps.state.clone(), metrics, &app.config.tz)
            .await
            .context("backfilling the history into VictoriaMetrics")?;
        println!();
        println!(
            "VictoriaMetrics: {} (scrapes /metrics every {} s; {written} samples of history backfilled)",
            vm.url(),
            every.as_secs()
        );
        if vm.has_vmui().await {
            println!("VMUI:     {}/vmui/", vm.url());
            for q in demo_victoria::QUERIES {
                println!("  {}: {}", q.what, vm.vmui_link(q.promql));
            }
        } else {
            println!("VMUI:     not in this build (Debian's victoria-metrics leaves the web UI out); the same queries as JSON, or point Grafana at it with deploy/grafana/provisioning:");
            for q in demo_victoria::QUERIES {
                println!("  {}: {}", q.what, vm.api_link(q));
            }
        }
        Ok(vm)
    }

    /// Prints one vendor's figures from the ledger beside the simulator's; true when all agree.
    fn print_summary(app: &App, vendor: &str, truth: &Truth) -> anyhow::Result<bool> {
        let kpis = app.deps.state.kpis()?;
        let events = app.deps.state.events()?;
        println!();
        println!(
            "{:<28} {:>7} {:>9} {:>8} {:>14}  vs simulator",
            vendor, "sold", "refunded", "scanned", "revenue"
        );
        let mut by_event: BTreeMap<String, (u64, u64, u64, i64, String)> = Default::default();
        for k in kpis.iter().filter(|k| k.vendor == vendor) {
            let e = by_event.entry(k.event_id.clone()).or_default();
            e.0 += k.sold;
            e.1 += k.refunded;
            e.2 += k.scanned;
            e.3 += k.revenue_minor;
            e.4 = k.currency.clone();
        }
        let mut all_ok = true;
        for (id, (sold, refunded, scanned, revenue, currency)) in by_event {
            let name = events
                .iter()
                .find(|e| e.vendor == vendor && e.event.event_id == id)
                .map(|e| e.event.name.clone())
                .unwrap_or_else(|| id.clone());
            let ok = truth.get(&id).copied().unwrap_or_default() == (sold, revenue);
            all_ok &= ok;
            println!(
                "{:<28} {:>7} {:>9} {:>8} {:>10} {:<3}  {}",
                name.chars().take(28).collect::<String>(),
                sold,
                refunded,
                scanned,
                money(revenue),
                currency,
                if ok { "ok" } else { "DIFFERS" }
            );
        }
        Ok(all_ok)
    }
}
