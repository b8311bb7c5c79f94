//! Issue 16's acceptance, end to end: `boxoffice run` as a process (daemon, SQLite warehouse)
//! with the webhook listener on, fed by the QTickets simulator's signed webhooks, polling as
//! the safety net (`webhooks = "on"`, a full reconcile on every run).
//!
//! - `a_signed_delivery_is_stored_before_its_200_and_a_forged_one_is_refused`: one signed
//!   delivery answers 200 and its order is in the ledger and the warehouse by then; one signed
//!   with a wrong secret answers 401 and stores nothing (no poll runs in between).
//! - `webhooks_with_losses_duplicates_reordering_and_a_forgery_end_equal_to_the_truth`: the
//!   simulator sells, pays, refunds, cancels and scans (`drive`) with 20 % of webhooks lost,
//!   some duplicated, reordered and delayed, and forged copies signed with a wrong secret; after
//!   `settle()` and one reconcile run, `/metrics` equals the simulator's truth and a reference
//!   full sync of the same simulator, the warehouse equals that reference row for row, every
//!   forged copy was refused (401) and counted, and every genuine delivery was counted stored or
//!   duplicate.
//!
//! ClickHouse is not part of this test (the SQLite warehouse only).

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use boxoffice::state::StateStore;
use boxoffice_sim::qtickets::webhooks::{sign, Role};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim, WebhookConfig};
use boxoffice_sim::SimServer;
use boxoffice_testkit::free_port;
use common::tickets::Buyer;

const SECRET: &str = "e2e-webhook-secret-CANARY";
const WRONG_SECRET: &str = "not-the-cabinet-secret";

struct Daemon {
    child: Option<Child>,
    dir: PathBuf,
    metrics: String,
    webhooks: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Daemon {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("daemon.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// SIGTERM and wait; the exit must be clean.
    fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert!(status.success(), "exit {status:?}\n{}", self.log_tail());
    }
}

/// Writes the config file and starts `boxoffice run` on it; waits for `/metrics` and the
/// listener to answer.
async fn start_daemon(dir: &Path, srv: &SimServer, sim: &QticketsSim, interval: u32) -> Daemon {
    let (mport, wport) = (free_port(), free_port());
    std::fs::write(dir.join("token"), sim.token()).unwrap();
    std::fs::write(dir.join("webhook_secret"), SECRET).unwrap();
    let config = dir.join("boxoffice.toml");
    std::fs::write(
        &config,
        format!(
            r#"
state_dir = "{state}"
listen_port = {mport}
max_requests_per_minute = 0
[webhooks]
bind = "127.0.0.1:{wport}"
[[account]]
vendor = "qtickets"
name = "main"
interval_secs = {interval}
settings = {{ base_url = "{qt}/api/rest/v1", webhooks = "on", reconcile_every_hours = "0" }}
secrets = {{ token = {{ file = "{token}" }} }}
webhook = {{ secret = {{ file = "{secret}" }} }}
"#,
            state = dir.join("state").display(),
            qt = srv.base_url(),
            token = dir.join("token").display(),
            secret = dir.join("webhook_secret").display(),
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    cmd.args(["run", "--config"]).arg(&config);
    clean_env(&mut cmd, dir);
    let child = cmd
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let d = Daemon {
        child: Some(child),
        dir: dir.to_path_buf(),
        metrics: format!("http://127.0.0.1:{mport}/metrics"),
        webhooks: format!("http://127.0.0.1:{wport}/webhooks/qtickets/main"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // The listener by a bare connect: a request would be counted.
        let up = client.get(&d.metrics).send().await.is_ok()
            && std::net::TcpStream::connect(("127.0.0.1", wport)).is_ok();
        if up {
            break;
        }
        assert!(Instant::now() < deadline, "daemon not up\n{}", d.log_tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d
}

/// No developer config, connector dir, ClickHouse or vendor variables leak in (cargo hands
/// test processes the build script's BOXOFFICE_PLUGIN_DIR; a deployment has the bundled
/// connectors only).
fn clean_env(cmd: &mut Command, dir: &Path) {
    for (k, _) in std::env::vars() {
        if k.starts_with("CLICKHOUSE_")
            || k.starts_with("QTICKETS_")
            || k.starts_with("SHOTGUN_")
            || k.starts_with("BOXOFFICE_")
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("BOXOFFICE_CACHE_DIR", dir.join("cache"))
        .env("BOXOFFICE_LOG_FORMAT", "text");
}

/// Ok `sync` runs of the account that finished.
fn ok_runs(state: &Path) -> i64 {
    let c = rusqlite::Connection::open(state.join("state.sqlite")).unwrap();
    c.query_row(
        "SELECT count(*) FROM job_runs WHERE vendor = 'qtickets' AND status = 'ok'",
        [],
        |r| r.get(0),
    )
    .unwrap_or(0)
}

/// Waits until `n` ok runs have finished.
async fn wait_runs(d: &Daemon, n: i64, within: Duration) {
    let deadline = Instant::now() + within;
    while ok_runs(&d.state()) < n {
        assert!(
            Instant::now() < deadline,
            "fewer than {n} ok runs after {within:?}\n{}",
            d.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rows(db: &Path, order: Option<u64>) -> Vec<String> {
    common::tickets::ticket_rows(db, "qtickets", order, Buyer::Left)
}

fn keys(state: &Path) -> i64 {
    let c = rusqlite::Connection::open(state.join("state.sqlite")).unwrap();
    c.query_row("SELECT count(*) FROM webhook_deliveries", [], |r| r.get(0))
        .unwrap()
}

/// One scrape: `name{labels} value` lines as (name, labels, value).
fn parse(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let mut map = BTreeMap::new();
        // Label values here hold no `",` (ids, categories, outcomes).
        for kv in labels.split("\",").filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once("=\"").unwrap();
            map.insert(k.to_string(), v.trim_end_matches('"').to_string());
        }
        out.push((name.to_string(), map, value));
    }
    out
}

async fn scrape(d: &Daemon) -> String {
    reqwest::get(&d.metrics)
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// (event, category) → [sold, refunded, canceled, scanned, revenue in minor units].
type Kpis = BTreeMap<(String, String), [i64; 5]>;

fn kpis_of_scrape(text: &str) -> Kpis {
    let mut k = Kpis::new();
    for (name, l, v) in parse(text) {
        let i = match name.as_str() {
            "boxoffice_tickets_sold_total" => 0,
            "boxoffice_tickets_refunded_total" => 1,
            "boxoffice_tickets_canceled_total" => 2,
            "boxoffice_tickets_scanned_total" => 3,
            "boxoffice_revenue_total" => 4,
            _ => continue,
        };
        if l.get("vendor").map(String::as_str) != Some("qtickets") {
            continue;
        }
        let key = (l["event_id"].clone(), l["category"].clone());
        let v = if i == 4 {
            (v * 100.0).round() as i64
        } else {
            v as i64
        };
        k.entry(key).or_default()[i] += v;
    }
    k.retain(|_, v| *v != [0; 5]);
    k
}

fn kpis_of_state(state: &StateStore) -> Kpis {
    let mut k = Kpis::new();
    for r in state.kpis().unwrap() {
        let e = k.entry((r.event_id, r.category)).or_default();
        e[0] += r.sold as i64;
        e[1] += r.refunded as i64;
        e[2] += r.canceled as i64;
        e[3] += r.scanned as i64;
        e[4] += r.revenue_minor;
    }
    k.retain(|_, v| *v != [0; 5]);
    k
}

/// event → (tickets held, revenue in minor units), from the simulator and from a scrape.
fn sales_truth(sim: &QticketsSim) -> BTreeMap<String, (i64, i64)> {
    let mut f = BTreeMap::<String, (i64, i64)>::new();
    for r in sim.truth() {
        let e = f.entry(r.event_id.to_string()).or_default();
        e.0 += r.tickets as i64;
        e.1 += r.revenue_minor;
    }
    f.retain(|_, v| *v != (0, 0));
    f
}

fn sales_of(k: &Kpis) -> BTreeMap<String, (i64, i64)> {
    let mut f = BTreeMap::<String, (i64, i64)>::new();
    for ((event, _), v) in k {
        let e = f.entry(event.clone()).or_default();
        e.0 += v[0];
        e.1 += v[4];
    }
    f.retain(|_, v| *v != (0, 0));
    f
}

fn deliveries(text: &str, outcome: &str) -> u64 {
    parse(text)
        .into_iter()
        .filter(|(n, l, _)| {
            n == "boxoffice_webhook_deliveries_total"
                && l.get("outcome").map(String::as_str) == Some(outcome)
                && l.get("account").map(String::as_str) == Some("main")
        })
        .map(|(_, _, v)| v as u64)
        .sum()
}

/// A full `boxoffice sync` of the same simulator into a fresh state dir: the reference.
fn reference_sync(root: &Path, srv: &SimServer, sim: &QticketsSim) -> PathBuf {
    let dir = root.join("reference");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    cmd.arg("sync");
    clean_env(&mut cmd, &dir);
    let out = cmd
        .env("QTICKETS_TOKEN", sim.token())
        .env(
            "QTICKETS_BASE_URL",
            format!("{}/api/rest/v1", srv.base_url()),
        )
        .env("QTICKETS_ACCOUNT", "main")
        .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0")
        .env("BOXOFFICE_STATE_DIR", dir.join("state"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "reference sync: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("state")
}

/// The order as the API shows it: what QTickets puts in a delivery's body.
async fn order_body(srv: &SimServer, sim: &QticketsSim, id: u64) -> Vec<u8> {
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/rest/v1/orders/{id}", srv.base_url()))
        .bearer_auth(sim.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::to_vec(&v["data"]).unwrap()
}

async fn post(url: &str, kind: &str, body: &[u8], secret: &str) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Event-Type", kind)
        .header("X-Model-Name", "Order")
        .header("User-Agent", "Qtickets-Webhooks/2.0")
        .header("X-Signature", sign(secret, body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_delivery_is_stored_before_its_200_and_a_forged_one_is_refused() {
    let sim = QticketsSim::new(QticketsConfig {
        orders: 50,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // One poll at start, the next an hour later: only webhooks move the ledger meanwhile.
    let mut d = start_daemon(tmp.path(), &srv, &sim, 3600).await;
    wait_runs(&d, 1, Duration::from_secs(30)).await;
    let ledger = d.state().join("state.sqlite");
    // The SQLite warehouse is in the state database.
    let warehouse = d.state().join("state.sqlite");

    let good = sim.sell(true).unwrap();
    assert!(rows(&ledger, Some(good)).is_empty(), "not polled yet");
    let body = order_body(&srv, &sim, good).await;
    assert_eq!(post(&d.webhooks, "created", &body, SECRET).await, 200);
    // The 200 came after the commit: the rows are there now, not eventually.
    let stored = rows(&ledger, Some(good));
    assert!(!stored.is_empty(), "the 200 came before the ledger commit");
    assert_eq!(rows(&warehouse, Some(good)), stored, "warehouse = ledger");
    assert_eq!(keys(&d.state()), 1);
    // The same delivery again: 200, nothing new.
    assert_eq!(post(&d.webhooks, "created", &body, SECRET).await, 200);
    assert_eq!(keys(&d.state()), 1);

    let forged = sim.sell(true).unwrap();
    let body = order_body(&srv, &sim, forged).await;
    assert_eq!(post(&d.webhooks, "created", &body, WRONG_SECRET).await, 401);
    assert!(rows(&ledger, Some(forged)).is_empty(), "forged: stored");
    assert!(rows(&warehouse, Some(forged)).is_empty(), "forged: written");
    assert_eq!(keys(&d.state()), 1);

    let m = scrape(&d).await;
    assert_eq!(deliveries(&m, "stored"), 1, "{m}");
    assert_eq!(deliveries(&m, "duplicate"), 1);
    assert_eq!(deliveries(&m, "forged"), 1);
    assert_eq!(ok_runs(&d.state()), 1, "no poll ran in between");
    d.stop();
    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_with_losses_duplicates_reordering_and_a_forgery_end_equal_to_the_truth() {
    let sim = QticketsSim::new(QticketsConfig {
        orders: 400,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // A poll (a full reconcile) every 4 s: the safety net.
    let interval = 4;
    let d = start_daemon(tmp.path(), &srv, &sim, interval).await;
    wait_runs(&d, 1, Duration::from_secs(30)).await;

    let mut cfg = WebhookConfig::per_type(&d.webhooks, SECRET);
    cfg.seed = 16;
    cfg.lose = 0.2;
    cfg.duplicate = 0.1;
    cfg.reorder = 0.1;
    cfg.reorder_depth = 3;
    cfg.forge = 0.02;
    cfg.forged_secret = WRONG_SECRET.into();
    cfg.delay = Duration::from_millis(20);
    cfg.second = Duration::from_millis(5);
    let hooks = sim.enable_webhooks(cfg).unwrap();
    let started = Instant::now();
    let driver = sim.drive(Duration::from_millis(25), 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    driver.stop().await;
    assert!(
        hooks.settle(Duration::from_secs(20)).await,
        "webhooks did not settle: {:?}",
        hooks.stats()
    );
    let stats = hooks.stats();
    eprintln!("webhooks: {stats:?} in {:?}", started.elapsed());
    assert!(stats.changes >= 30, "too few changes: {stats:?}");
    assert!(stats.lost >= 1 && stats.duplicated >= 1 && stats.reordered >= 1);
    assert!(
        stats.forged >= 1,
        "no forged copy: pick another seed ({stats:?})"
    );
    assert_eq!(stats.gave_up, 0, "{stats:?}");

    // One reconcile that started after the last delivery: two more finished runs.
    let settled = ok_runs(&d.state());
    wait_runs(
        &d,
        settled + 2,
        Duration::from_secs(3 * interval as u64 + 20),
    )
    .await;

    let m = scrape(&d).await;
    let got = kpis_of_scrape(&m);
    assert_eq!(
        sales_of(&got),
        sales_truth(&sim),
        "/metrics vs the simulator's truth"
    );
    let reference = reference_sync(tmp.path(), &srv, &sim);
    let want = kpis_of_state(&StateStore::open(&reference.join("state.sqlite")).unwrap());
    assert_eq!(got, want, "/metrics vs a reference full sync");
    assert!(got.values().any(|v| v[1] > 0), "some refunds: {got:?}");
    assert!(got.values().any(|v| v[3] > 0), "some scans: {got:?}");
    let warehouse = rows(&d.state().join("state.sqlite"), None);
    assert_eq!(
        warehouse.len() as u64,
        sim.basket_count(),
        "a row per ticket"
    );
    assert!(
        warehouse == rows(&reference.join("state.sqlite"), None),
        "the warehouse differs from the reference"
    );

    // Every forged copy got 401, was counted, and reached no handler.
    let attempts = hooks.attempts();
    let forged: Vec<_> = attempts.iter().filter(|a| a.copy == Role::Forged).collect();
    assert_eq!(forged.len() as u64, stats.forged);
    assert!(forged.iter().all(|a| a.status == Some(401)), "{forged:?}");
    assert_eq!(deliveries(&m, "forged"), stats.forged, "{m}");
    // Every genuine delivery answered 200 was stored or found a duplicate.
    let (stored, dup) = (deliveries(&m, "stored"), deliveries(&m, "duplicate"));
    assert_eq!(
        stored + dup,
        stats.delivered,
        "stored {stored} + duplicate {dup}"
    );
    assert!(dup >= 1, "the duplicated copies were deduped: {dup}");
    assert_eq!(
        keys(&d.state()) as u64,
        stored,
        "one key per stored delivery"
    );
    eprintln!(
        "webhook e2e: {} changes, {} lost, {} duplicated, {} reordered, {} forged; stored {stored}, duplicate {dup}",
        stats.changes, stats.lost, stats.duplicated, stats.reordered, stats.forged
    );
    let mut d = d;
    d.stop();
    srv.shutdown().await;
}
