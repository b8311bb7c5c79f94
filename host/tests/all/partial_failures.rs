//! Partial failures stay partial (issue 15): an auxiliary request (events, seat inventory) that
//! fails is skipped — counted, logged, `/healthz` degraded with the reason, the run `degraded`
//! — while orders and tickets store and commit exactly; answers without their optional fields
//! sync exactly and leave the inventory unknown (no figure, no gauge sample), never 0 and never
//! the previous figure.

use crate::common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use boxoffice::state::RunStatus;
use boxoffice::sync::{sync_account, Account, RunOptions, RunSummary};
use boxoffice_sim::qtickets::{OptionalFields, QticketsConfig, QticketsSim, SeatsFault};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use boxoffice_testkit::free_port;
use common::{qtickets_account, shotgun_account, Pipeline};

/// (event id, currency) → (tickets sold, revenue in minor units).
type Sales = BTreeMap<(String, String), (u64, i64)>;

fn ledger_sales(p: &Pipeline, vendor: &str) -> Sales {
    let mut m = Sales::new();
    for k in p.state.kpis().unwrap() {
        if k.vendor == vendor && (k.sold > 0 || k.revenue_minor != 0) {
            let e = m.entry((k.event_id, k.currency)).or_default();
            e.0 += k.sold;
            e.1 += k.revenue_minor;
        }
    }
    m
}

fn qtickets_truth(sim: &QticketsSim) -> Sales {
    let mut m = Sales::new();
    for r in sim.truth() {
        let e = m.entry((r.event_id.to_string(), r.currency)).or_default();
        e.0 += r.tickets;
        e.1 += r.revenue_minor;
    }
    m
}

fn shotgun_truth(sim: &ShotgunSim) -> Sales {
    let mut m = Sales::new();
    for r in sim.truth() {
        if r.sold > 0 || r.revenue_minor != 0 {
            let e = m.entry((r.event_id.to_string(), r.currency)).or_default();
            e.0 += r.sold;
            e.1 += r.revenue_minor;
        }
    }
    m
}

async fn run(p: &Pipeline, account: &Account, now_ms: i64) -> RunSummary {
    sync_account(
        &p.deps,
        account,
        &RunOptions {
            now_ms: Some(now_ms),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// The value of one sample of `family` whose labels contain all of `labels`.
fn sample(metrics: &str, family: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")))
        .find(|l| labels.iter().all(|w| l.contains(w)))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
}

fn tickets_left_samples(metrics: &str, vendor: &str) -> usize {
    let v = format!("vendor=\"{vendor}\"");
    metrics
        .lines()
        .filter(|l| {
            (l.starts_with("boxoffice_tickets_left{")
                || l.starts_with("boxoffice_event_tickets_left{"))
                && l.contains(&v)
        })
        .count()
}

/// A show's capacity, tickets left and sold; `None` where unknown.
type ShowFigures = (Option<u32>, Option<u32>, Option<u32>);

/// Every show's latest inventory in the state database: (show id, captured at, figures).
type ShowInventory = Vec<(String, i64, ShowFigures)>;

fn inventory(p: &Pipeline, vendor: &str) -> ShowInventory {
    p.state
        .inventory()
        .unwrap()
        .into_iter()
        .filter(|(v, _, _)| v == vendor)
        .map(|(_, _, i)| {
            (
                i.show_id,
                i.captured_at_ms,
                (i.capacity, i.available, i.sold),
            )
        })
        .collect()
}

fn small_qtickets(cfg: QticketsConfig) -> QticketsSim {
    QticketsSim::new(QticketsConfig { orders: 600, ..cfg })
}

/// One QTickets account over three runs: (1) every seats request answers 500; (2) new orders
/// arrive and the seats answer again; (3) the seats answer without their quantities. Built once
/// (`common::scenario`), checked by the tests of [`failing_seats`].
struct FailingSeats {
    /// Shows in the simulation.
    shows: u64,
    /// Each run: its summary, the ledger's and the truth's sales after it, the inventory the
    /// state holds and the scrape.
    runs: Vec<SeatsRun>,
    /// After run 1: the committed cursor and the run health.
    cursor: Option<String>,
    health: Vec<boxoffice::state::RunHealth>,
    /// Run 2's truth of the inventory: (show, (capacity, left, sold)).
    inventory_truth: Vec<(String, ShowFigures)>,
    /// Run 3's `now`.
    absent_at: i64,
}

struct SeatsRun {
    summary: RunSummary,
    ledger: Sales,
    truth: Sales,
    inventory: ShowInventory,
    metrics: String,
}

fn failing_seats_scenario() -> &'static FailingSeats {
    static BUILT: OnceLock<Result<FailingSeats, String>> = OnceLock::new();
    common::scenario(&BUILT, true, || async {
        let sim = small_qtickets(QticketsConfig {
            seats_fault: Some(SeatsFault::ServerError),
            ..Default::default()
        });
        let srv = sim.spawn().await.unwrap();
        let p = Pipeline::new();
        // Every run reads every order (changes to old orders are otherwise seen on the daily
        // reconcile) and the inventory: the figures must equal the truth after each run.
        let account = qtickets_account(
            &srv,
            &sim.token(),
            &[
                ("inventory_every_secs", "0"),
                ("reconcile_every_hours", "0"),
            ],
        )
        .await;
        let shows = sim.inventory_truth().len() as u64;
        let after = |summary: RunSummary, p: &Pipeline, sim: &QticketsSim| SeatsRun {
            summary,
            ledger: ledger_sales(p, "qtickets"),
            truth: qtickets_truth(sim),
            inventory: inventory(p, "qtickets"),
            metrics: p.metrics.encode().unwrap(),
        };
        let mut runs = Vec::new();
        // 1. Every seats request answers 500.
        let s = run(&p, &account, sim.now_ms()).await;
        runs.push(after(s, &p, &sim));
        let cursor = p.state.cursor("qtickets", "main").unwrap();
        let health = p.state.run_health().unwrap();
        // 2. New orders arrive and the seats answer again.
        sim.advance(60);
        sim.set_seats_fault(None);
        let s = run(&p, &account, sim.now_ms()).await;
        runs.push(after(s, &p, &sim));
        let inventory_truth = sim
            .inventory_truth()
            .iter()
            .map(|t| {
                (
                    t.show_id.to_string(),
                    (
                        Some(t.capacity as u32),
                        Some(t.left as u32),
                        Some(t.sold as u32),
                    ),
                )
            })
            .collect();
        // 3. The seats answer without their quantities.
        sim.advance(60);
        sim.set_optional_fields(OptionalFields::Absent);
        let absent_at = sim.now_ms();
        let s = run(&p, &account, absent_at).await;
        runs.push(after(s, &p, &sim));
        FailingSeats {
            shows,
            runs,
            cursor,
            health,
            inventory_truth,
            absent_at,
        }
    })
}

/// Failing seats degrade the run while orders commit exactly: one check per test, on one shared
/// scenario.
mod failing_seats {
    use super::*;

    #[test]
    fn the_simulation_has_shows_to_read() {
        let shows = failing_seats_scenario().shows;
        assert!(shows >= 4, "the simulation has shows to read ({shows})");
    }

    /// 1. Every seats request answers 500: the run is degraded, not failed.
    #[test]
    fn seats_answering_500_degrade_the_run_naming_each_skipped_request() {
        let f = failing_seats_scenario();
        let (s, shows) = (&f.runs[0].summary, f.shows);
        assert_eq!(s.status, RunStatus::Degraded, "{s:?}");
        assert!(s.succeeded() && !s.ok());
        assert_eq!(
            s.degraded.total(),
            shows,
            "one skipped request per show: {s:?}"
        );
        assert!(
            s.message.contains(&format!(
                "degraded: {shows} auxiliary requests skipped (seats vendor_unavailable ×{shows})"
            )),
            "{}",
            s.message
        );
    }

    #[test]
    fn orders_commit_exactly_while_the_seats_fail() {
        let f = failing_seats_scenario();
        assert_eq!(f.runs[0].ledger, f.runs[0].truth, "orders exact");
        let cursor = f.cursor.as_ref().expect("committed");
        assert!(cursor.contains("\"last_id\":"), "{cursor}");
    }

    #[test]
    fn failing_seats_leave_no_inventory_figure_and_no_gauge() {
        let f = failing_seats_scenario();
        assert!(f.runs[0].inventory.is_empty(), "never measured: no figure");
        assert_eq!(tickets_left_samples(&f.runs[0].metrics, "qtickets"), 0);
    }

    #[test]
    fn a_degraded_run_is_counted_by_reason_and_keeps_the_source_up() {
        let f = failing_seats_scenario();
        let (m, shows) = (&f.runs[0].metrics, f.shows);
        let counted = |reason: &str| {
            sample(
                m,
                "boxoffice_sync_degraded_requests_total",
                &[
                    "vendor=\"qtickets\"",
                    "account=\"main\"",
                    &format!("reason=\"{reason}\""),
                ],
            )
        };
        assert_eq!(counted("vendor_unavailable"), Some(shows as f64), "{m}");
        assert_eq!(
            counted("bad_response"),
            Some(0.0),
            "shown at 0 before the first"
        );
        assert_eq!(
            sample(
                m,
                "boxoffice_sync_runs_total",
                &["vendor=\"qtickets\"", "status=\"degraded\""]
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(m, "boxoffice_source_up", &["vendor=\"qtickets\""]),
            Some(1.0)
        );
    }

    #[test]
    fn a_degraded_run_is_a_success_in_the_run_health() {
        let health = &failing_seats_scenario().health;
        assert_eq!(health[0].last_status, RunStatus::Degraded);
        assert!(
            health[0].last_success_ms.is_some(),
            "a degraded run is a success"
        );
    }

    /// 2. The run goes on: new orders arrive and the seats answer again → ok, figures exact.
    #[test]
    fn once_the_seats_answer_again_the_run_is_ok_and_the_inventory_exact() {
        let f = failing_seats_scenario();
        let (r, shows) = (&f.runs[1], f.shows);
        let s = &r.summary;
        assert_eq!(s.status, RunStatus::Ok, "{s:?}");
        assert_eq!(r.ledger, r.truth);
        let known = &r.inventory;
        assert_eq!(known.len() as u64, shows);
        assert_eq!(
            known
                .iter()
                .map(|(s, _, f)| (s.clone(), *f))
                .collect::<Vec<_>>(),
            f.inventory_truth
        );
        let m = &r.metrics;
        assert!(tickets_left_samples(m, "qtickets") as u64 >= shows, "{m}");
    }

    /// 3. The seats answer without their quantities: unknown, not 0 and not the last figure.
    #[test]
    fn seats_without_quantities_leave_the_inventory_unknown_not_0_nor_the_last_figure() {
        let f = failing_seats_scenario();
        let (r, shows, now) = (&f.runs[2], f.shows, f.absent_at);
        let s = &r.summary;
        assert_eq!(
            s.status,
            RunStatus::Ok,
            "a missing optional field is no failure: {s:?}"
        );
        assert_eq!(r.ledger, r.truth);
        let unknown = &r.inventory;
        assert_eq!(unknown.len() as u64, shows);
        for (show, at, figures) in unknown {
            assert_eq!(*figures, (None, None, None), "show {show}");
            assert_eq!(*at, now, "show {show}: captured by this run");
        }
        let m = &r.metrics;
        assert_eq!(
            tickets_left_samples(m, "qtickets"),
            0,
            "no gauge for unknown seats: {m}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_without_optional_fields_sync_exactly_for_both_connectors() {
    for how in [OptionalFields::Absent, OptionalFields::Null] {
        let sim = small_qtickets(QticketsConfig {
            optional_fields: how,
            ..Default::default()
        });
        let srv = sim.spawn().await.unwrap();
        let p = Pipeline::new();
        let account = qtickets_account(&srv, &sim.token(), &[]).await;
        let s = run(&p, &account, sim.now_ms()).await;
        assert_eq!(s.status, RunStatus::Ok, "qtickets {how:?}: {s:?}");
        assert!(s.records > 500, "{s:?}");
        assert_eq!(
            ledger_sales(&p, "qtickets"),
            qtickets_truth(&sim),
            "qtickets {how:?}"
        );
        let inv = inventory(&p, "qtickets");
        assert_eq!(inv.len(), sim.inventory_truth().len(), "qtickets {how:?}");
        assert!(
            inv.iter().all(|(_, _, f)| *f == (None, None, None)),
            "{how:?}: {inv:?}"
        );
        let events = p.state.events().unwrap();
        let names: Vec<_> = sim.event_truth().into_iter().map(|e| e.name).collect();
        for n in &names {
            assert!(
                events.iter().any(|e| &e.event.name == n),
                "{how:?}: event {n} kept its name"
            );
        }
        assert!(
            events.iter().all(|e| e.event.city.is_none()),
            "{how:?}: city unknown"
        );
        let m = p.metrics.encode().unwrap();
        assert_eq!(tickets_left_samples(&m, "qtickets"), 0, "{how:?}");

        let sg = ShotgunSim::new(ShotgunConfig {
            tickets: 800,
            optional_fields: how,
            ..Default::default()
        });
        let srv = sg.spawn().await.unwrap();
        let p = Pipeline::new();
        let account = shotgun_account(&sg, &srv, &sg.token()).await;
        let s = run(&p, &account, sg.now_ms()).await;
        assert_eq!(s.status, RunStatus::Ok, "shotgun {how:?}: {s:?}");
        assert_eq!(
            ledger_sales(&p, "shotgun"),
            shotgun_truth(&sg),
            "shotgun {how:?}"
        );
        let inv = inventory(&p, "shotgun");
        assert!(
            !inv.is_empty() && inv.iter().all(|(_, _, f)| *f == (None, None, None)),
            "{how:?}: {inv:?}"
        );
        let m = p.metrics.encode().unwrap();
        assert_eq!(tickets_left_samples(&m, "shotgun"), 0, "{how:?}");
    }
}

fn vendor_sold(metrics: &str, account: &str) -> u64 {
    let want = [
        "vendor=\"qtickets\"".to_string(),
        format!("account=\"{account}\""),
    ];
    metrics
        .lines()
        .filter(|l| l.starts_with("boxoffice_tickets_sold_total{"))
        .filter(|l| want.iter().all(|w| l.contains(w.as_str())))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap() as u64)
        .sum()
}

/// `boxoffice run` with two QTickets accounts: one whose seats answer garbage, one whose
/// answers lack every optional field. Both keep syncing their orders to the truth; `/healthz`
/// answers 200 `degraded` naming the first account and the reason, the counter counts it, and
/// no tickets-left sample exists for either.
#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_reports_degraded_and_keeps_syncing() {
    let garbage = small_qtickets(QticketsConfig {
        seats_fault: Some(SeatsFault::Garbage),
        ..Default::default()
    });
    let bare = small_qtickets(QticketsConfig {
        seed: 7,
        optional_fields: OptionalFields::Absent,
        ..Default::default()
    });
    let (g, b) = (garbage.spawn().await.unwrap(), bare.spawn().await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("g"), garbage.token()).unwrap();
    std::fs::write(dir.path().join("b"), bare.token()).unwrap();
    let config = dir.path().join("boxoffice.toml");
    std::fs::write(
        &config,
        format!(
            r#"
state_dir = "{state}"
listen_port = {port}
max_requests_per_minute = 0
[[account]]
vendor = "qtickets"
name = "garbage"
interval_secs = 1
settings = {{ base_url = "{g}/api/rest/v1", inventory_every_secs = "0", reconcile_every_hours = "0" }}
secrets = {{ token = {{ file = "{gt}" }} }}
[[account]]
vendor = "qtickets"
name = "bare"
interval_secs = 1
settings = {{ base_url = "{b}/api/rest/v1", inventory_every_secs = "0", reconcile_every_hours = "0" }}
secrets = {{ token = {{ file = "{bt}" }} }}
"#,
            state = dir.path().join("state").display(),
            g = g.base_url(),
            b = b.base_url(),
            gt = dir.path().join("g").display(),
            bt = dir.path().join("b").display(),
        ),
    )
    .unwrap();
    let log = dir.path().join("daemon.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["run", "--config"])
        .arg(&config)
        .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
        .env("BOXOFFICE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let want = |s: &QticketsSim| s.truth().iter().map(|r| r.tickets).sum::<u64>();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut metrics, mut health) = (String::new(), (0u16, String::new()));
    // Wait for figures equal to the truth after the simulations moved on (the loop went on).
    let mut advanced = false;
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{url}/metrics")).send().await {
            metrics = r.text().await.unwrap();
            let h = client.get(format!("{url}/healthz")).send().await.unwrap();
            health = (h.status().as_u16(), h.text().await.unwrap());
            let synced = vendor_sold(&metrics, "garbage") == want(&garbage)
                && vendor_sold(&metrics, "bare") == want(&bare);
            if synced && !advanced {
                garbage.advance(120);
                bare.advance(120);
                advanced = true;
            } else if synced && health.1.contains("qtickets/garbage") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(advanced, "the first sync never matched: {metrics}\n{logs}");
    assert_eq!(vendor_sold(&metrics, "garbage"), want(&garbage), "{logs}");
    assert_eq!(vendor_sold(&metrics, "bare"), want(&bare), "{logs}");
    assert_eq!(health.0, 200, "degraded is not down: {}", health.1);
    assert!(
        health.1.starts_with("degraded: qtickets/garbage: ")
            && health.1.contains("seats bad_response ×"),
        "{}",
        health.1
    );
    assert!(!health.1.contains("qtickets/bare"), "{}", health.1);
    let skipped = sample(
        &metrics,
        "boxoffice_sync_degraded_requests_total",
        &["account=\"garbage\"", "reason=\"bad_response\""],
    )
    .unwrap();
    assert!(skipped >= 2.0, "{metrics}");
    assert_eq!(
        sample(
            &metrics,
            "boxoffice_sync_degraded_requests_total",
            &["account=\"bare\"", "reason=\"bad_response\""]
        ),
        Some(0.0)
    );
    assert_eq!(tickets_left_samples(&metrics, "qtickets"), 0, "{metrics}");
    // Logged with the kind and reason, and nothing personal.
    assert!(logs.contains("auxiliary request skipped"), "{logs}");
    assert!(logs.contains("\"request_kind\":\"seats\""), "{logs}");
    for canary in boxoffice_sim::canary::ALL {
        assert!(
            !logs.to_lowercase().contains(&canary.to_lowercase()),
            "{canary} in the logs"
        );
    }
}
