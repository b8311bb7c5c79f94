//! `boxoffice demo`: the whole thing with nothing configured — vendor simulators on loopback,
//! the bundled plugins in the real runtime, a SQLite warehouse, and `/metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::app::App;
use crate::config::{AccountConfig, Config};
use crate::sync::{sync_account, RunOptions};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Port for /metrics (0 = any free port).
    #[arg(long, default_value_t = 9400)]
    pub port: u16,
    /// Tickets in the simulated Shotgun history.
    #[arg(long, default_value_t = 20_000)]
    pub tickets: u64,
    /// Sync once, print the summary and exit (instead of serving until Ctrl-C).
    #[arg(long)]
    pub once: bool,
    /// Where the demo's SQLite files go (default: a fresh folder under the temp dir).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Seconds between simulated intervals while serving.
    #[arg(long, default_value_t = 10)]
    pub every: u64,
}

fn money(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, (minor % 100).abs())
}

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("boxoffice-demo-{}", std::process::id()))
    });
    let _ = std::fs::remove_dir_all(state_dir.join("state.sqlite"));
    let now = crate::clock::now_ms();
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: args.tickets,
        start_ms: now - 5 * 60_000,
        ..Default::default()
    });
    let srv = sim.spawn().await?;
    let base = srv.base_url();
    let mut secrets = std::collections::BTreeMap::new();
    secrets.insert("token".to_string(), sim.token());
    let config = Config {
        state_dir: state_dir.clone(),
        listen: SocketAddr::from(([127, 0, 0, 1], args.port)),
        accounts: vec![AccountConfig {
            vendor: "shotgun".into(),
            name: "demo".into(),
            settings: vec![
                ("organizer_id".into(), sim.organizer_id().to_string()),
                ("base_url".into(), base.clone()),
                ("events_base_url".into(), base.clone()),
            ],
            secrets,
            interval_secs: None,
            extra_origins: vec![base.clone()],
        }],
        compat_shotgun_metrics: true,
        tz_offset_min: 180,
        // The simulator is local: no need to pace requests as the real API requires.
        max_requests_per_minute: Some(0),
    };
    println!(
        "boxoffice demo: Shotgun simulator with {} tickets on {base}",
        args.tickets
    );
    println!("state and warehouse: {}", state_dir.display());
    let app = App::open(config).await?;
    let health: crate::metrics::server::HealthCheck = Arc::new(|| Ok(()));
    let bound =
        crate::metrics::server::serve(app.config.listen, app.deps.metrics.clone(), health).await?;
    let accounts = app.accounts()?;
    let opts = || RunOptions {
        now_ms: Some(sim.now_ms()),
        ..Default::default()
    };
    for account in &accounts {
        let s = sync_account(&app.deps, account, &opts()).await?;
        println!(
            "synced {}/{}: {} — {} pages, {} records in {:.2} s ({:.0} records/s)",
            account.vendor_id(),
            account.name,
            s.status,
            s.pages,
            s.records,
            s.duration_ms as f64 / 1000.0,
            s.records as f64 / (s.duration_ms.max(1) as f64 / 1000.0)
        );
    }
    print_summary(&app, &sim)?;
    println!();
    println!("metrics:  http://{bound}/metrics");
    println!("health:   http://{bound}/healthz");
    println!(
        "SQLite:   sqlite3 {} 'SELECT * FROM sales_daily LIMIT 20'",
        state_dir.join("warehouse.sqlite").display()
    );
    if args.once {
        return Ok(ExitCode::SUCCESS);
    }
    println!("every {} s the simulator advances 15 minutes (sales, refunds, scans) and boxoffice syncs; Ctrl-C stops", args.every);
    let mut tick = tokio::time::interval(Duration::from_secs(args.every.max(1)));
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {
                sim.advance(15);
                for account in &accounts {
                    let s = sync_account(&app.deps, account, &opts()).await?;
                    println!("sync {}/{}: {} — {} records changed", account.vendor_id(), account.name, s.status, s.tickets_changed);
                }
            }
        }
    }
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}

fn print_summary(app: &App, sim: &ShotgunSim) -> anyhow::Result<()> {
    let kpis = app.deps.state.kpis()?;
    let events = app.deps.state.events()?;
    let truth = sim.truth();
    println!();
    println!(
        "{:<28} {:>7} {:>9} {:>8} {:>14}  vs simulator",
        "event", "sold", "refunded", "scanned", "revenue"
    );
    let mut by_event: std::collections::BTreeMap<String, (u64, u64, u64, i64, String)> =
        Default::default();
    for k in &kpis {
        let e = by_event.entry(k.event_id.clone()).or_default();
        e.0 += k.sold;
        e.1 += k.refunded;
        e.2 += k.scanned;
        e.3 += k.revenue_minor;
        e.4 = k.currency.clone();
    }
    for (id, (sold, refunded, scanned, revenue, currency)) in by_event {
        let name = events
            .iter()
            .find(|e| e.event.event_id == id)
            .map(|e| e.event.name.clone())
            .unwrap_or_else(|| id.clone());
        let t = truth.iter().filter(|t| t.event_id.to_string() == id);
        let (ts, tr) = t.fold((0, 0), |a, t| (a.0 + t.sold, a.1 + t.revenue_minor));
        let ok = if ts == sold && tr == revenue {
            "ok"
        } else {
            "DIFFERS"
        };
        println!(
            "{:<28} {:>7} {:>9} {:>8} {:>10} {:<3}  {}",
            name.chars().take(28).collect::<String>(),
            sold,
            refunded,
            scanned,
            money(revenue),
            currency,
            ok
        );
    }
    Ok(())
}
