//! QTickets end to end into a real ClickHouse: the simulator on loopback, the bundled plugin
//! in the runtime, the ClickHouse sink. Figures equal the simulator's ground truth; refunds
//! never duplicate rows; overlapping re-reads change nothing; seats give inventory; the old
//! loader's views answer its monitoring queries; an outage loses nothing. (The PII sweep is
//! `qtickets_canary.rs`: it captures logs, which needs a test binary of its own.)

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use boxoffice::model::Record;
use boxoffice::sink::{RunRecord, Sink, SinkFuture};
use boxoffice::sync::{sync_account, RunKind, RunOptions, RunSummary, SyncDeps};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_testkit::clickhouse::{shared_endpoint, ClickhouseEndpoint, ClickhouseServer};
use common::{qtickets_account, Pipeline};

const HOUR_MS: i64 = 3_600_000;
/// A lookback longer than the simulated history (30 days before the start, plus the test's).
const LOOKBACK_ALL: &str = "1000";

fn sim(orders: u64) -> QticketsSim {
    QticketsSim::new(QticketsConfig {
        orders,
        changes_per_minute: 4.0,
        ..Default::default()
    })
}

async fn sync(
    deps: &SyncDeps,
    account: &boxoffice::sync::Account,
    sim: &QticketsSim,
) -> RunSummary {
    let s = sync_account(
        deps,
        account,
        &RunOptions {
            now_ms: Some(sim.now_ms()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(s.ok(), "sync failed: {}", s.message);
    s
}

/// `sales_date event category currency tickets revenue` lines from ClickHouse, non-empty rows.
fn warehouse_sales(ch: &ClickhouseEndpoint, db: &str) -> Vec<String> {
    let body = ch
        .query_in(
            db,
            "SELECT sales_date, event_id, category, currency, tickets_sold, revenue_minor
             FROM sales_daily WHERE vendor = 'qtickets'
               AND (tickets_sold > 0 OR revenue_minor != 0)
             ORDER BY sales_date, event_id, category, currency",
        )
        .unwrap();
    body.lines().map(String::from).collect()
}

fn truth_sales(sim: &QticketsSim) -> Vec<String> {
    let mut rows: Vec<String> = sim
        .truth()
        .into_iter()
        .filter(|r| r.tickets > 0 || r.revenue_minor != 0)
        .map(|r| {
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                r.sales_date, r.event_id, r.category, r.currency, r.tickets, r.revenue_minor
            )
        })
        .collect();
    rows.sort();
    rows
}

fn assert_one_row_per_ticket(ch: &ClickhouseEndpoint, db: &str) -> u64 {
    let counts = ch
        .query_in(
            db,
            "SELECT count(), uniqExact(ticket_id) FROM tickets FINAL",
        )
        .unwrap();
    let (n, distinct) = counts.trim().split_once('\t').unwrap();
    assert_eq!(n, distinct, "tickets FINAL must hold one row per ticket");
    n.parse().unwrap()
}

#[tokio::test]
async fn sales_and_inventory_equal_the_truth_over_a_day_of_changes() {
    let Some(ch) = shared_endpoint("sales_and_inventory_equal_the_truth_over_a_day_of_changes")
    else {
        return;
    };
    let db = ch.fresh_database("qt_truth").unwrap();
    let sim = sim(3_000);
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::clickhouse(&ch, &db).await;
    // The lookback covers the whole simulated history, so every incremental run is exact;
    // `old_refunds_are_caught_by_the_daily_reconcile` covers the default window.
    let account = qtickets_account(&srv, &sim.token(), &[("lookback_hours", LOOKBACK_ALL)]).await;

    let first = sync(&p.deps, &account, &sim).await;
    assert!(
        first.pages > 60,
        "3000 orders are 60 pages of 50: {first:?}"
    );
    assert_eq!(warehouse_sales(&ch, &db), truth_sales(&sim));
    assert_eq!(assert_one_row_per_ticket(&ch, &db), sim.basket_count());

    // A day of sales, payments, refunds, cancels and scans in 6-hour steps.
    for step in 0..5 {
        sim.advance(6 * 60);
        sync(&p.deps, &account, &sim).await;
        assert_one_row_per_ticket(&ch, &db);
        assert_eq!(warehouse_sales(&ch, &db), truth_sales(&sim), "step {step}");
    }
    assert_eq!(assert_one_row_per_ticket(&ch, &db), sim.basket_count());

    // Inventory per show from the seats endpoint.
    let inv = ch
        .query_in(
            &db,
            "SELECT event_id, show_id, capacity, available, sold FROM inventory_latest
             WHERE vendor = 'qtickets' ORDER BY toUInt64(event_id), toUInt64(show_id)",
        )
        .unwrap();
    let mut want: Vec<String> = sim
        .inventory_truth()
        .iter()
        .map(|t| {
            format!(
                "{}\t{}\t{}\t{}\t{}",
                t.event_id, t.show_id, t.capacity, t.left, t.sold
            )
        })
        .collect();
    want.sort_by_key(|l| {
        let mut it = l.split('\t').map(|x| x.parse::<u64>().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    });
    assert_eq!(inv.lines().collect::<Vec<_>>(), want);

    // Cities are filled (the names, never an object's text).
    let cities = ch
        .query_in(
            &db,
            "SELECT event_id, city FROM events FINAL
             WHERE vendor = 'qtickets' AND canceled_at_ms IS NULL ORDER BY toUInt64(event_id)",
        )
        .unwrap();
    let want: Vec<String> = {
        let mut e = sim.event_truth();
        e.sort_by_key(|e| e.event_id);
        e.iter()
            .map(|e| format!("{}\t{}", e.event_id, e.city))
            .collect()
    };
    assert_eq!(cities.lines().collect::<Vec<_>>(), want);
}

#[tokio::test]
async fn old_refunds_are_caught_by_the_daily_reconcile() {
    let Some(ch) = shared_endpoint("old_refunds_are_caught_by_the_daily_reconcile") else {
        return;
    };
    let db = ch.fresh_database("qt_reconcile").unwrap();
    let sim = sim(2_000);
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::clickhouse(&ch, &db).await;
    // Defaults: orders of the last 72 h re-read every run, everything re-read every 24 h.
    let account = qtickets_account(&srv, &sim.token(), &[]).await;
    sync(&p.deps, &account, &sim).await;
    let mut runs = Vec::new();
    for _ in 0..4 {
        sim.advance(6 * 60);
        let requests = sync(&p.deps, &account, &sim).await.requests;
        // A full pass reads every order page (50 per page).
        runs.push((requests, sim.order_count().div_ceil(50)));
        assert_one_row_per_ticket(&ch, &db);
    }
    // Runs 1-3 read only the lookback window; run 4, 24 h after the first, reads everything.
    assert!(
        runs[..3].iter().all(|(req, full)| req < full),
        "incremental runs must read less than a full pass: {runs:?}"
    );
    assert!(
        runs[3].0 >= runs[3].1,
        "the reconcile re-reads all: {runs:?}"
    );
    assert_eq!(warehouse_sales(&ch, &db), truth_sales(&sim));
    assert_eq!(assert_one_row_per_ticket(&ch, &db), sim.basket_count());
}

#[tokio::test]
async fn overlapping_rereads_change_no_figure() {
    let Some(ch) = shared_endpoint("overlapping_rereads_change_no_figure") else {
        return;
    };
    let db = ch.fresh_database("qt_overlap").unwrap();
    let sim = sim(2_000);
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::clickhouse(&ch, &db).await;
    let account = qtickets_account(&srv, &sim.token(), &[]).await;
    sync(&p.deps, &account, &sim).await;
    sim.advance(120);
    sync(&p.deps, &account, &sim).await;
    let before = warehouse_sales(&ch, &db);
    let cursor = p.state.cursor("qtickets", "main").unwrap();
    for hours in [24, 48] {
        let s = sync_account(
            &p.deps,
            &account,
            &RunOptions {
                kind: RunKind::Backfill,
                since_ms: Some(sim.now_ms() - hours * HOUR_MS),
                now_ms: Some(sim.now_ms()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(s.ok() && s.records > 0, "--since-hours {hours}: {s:?}");
        assert_eq!(
            warehouse_sales(&ch, &db),
            before,
            "--since-hours {hours} changed figures"
        );
        assert_one_row_per_ticket(&ch, &db);
    }
    assert_eq!(
        p.state.cursor("qtickets", "main").unwrap(),
        cursor,
        "a backfill must not move the live cursor"
    );
}

#[tokio::test]
async fn old_loader_monitoring_queries_answer_from_the_compat_views() {
    let Some(ch) = shared_endpoint("old_loader_monitoring_queries_answer_from_the_compat_views")
    else {
        return;
    };
    let db = ch.fresh_database("qt_compat").unwrap();
    let sim = sim(1_500);
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::clickhouse(&ch, &db).await;
    let account = qtickets_account(&srv, &sim.token(), &[]).await;
    sync(&p.deps, &account, &sim).await;

    // Daily sales for the last 7 days (by the simulator's clock) equal the truth per day.
    let now_date = ch
        .query(&format!(
            "SELECT toDate(toDateTime({}, 'Europe/Moscow'))",
            sim.now_ms() / 1000
        ))
        .unwrap();
    let now_date = now_date.trim();
    let got = ch
        .query_in(
            &db,
            &format!(
                "SELECT sales_date, sum(tickets_sold), round(sum(revenue), 2)
                 FROM fact_qtickets_sales_daily
                 WHERE sales_date >= toDate('{now_date}') - 7
                 GROUP BY sales_date HAVING sum(tickets_sold) > 0 ORDER BY sales_date"
            ),
        )
        .unwrap();
    let mut per_day: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for r in sim.truth() {
        let e = per_day.entry(r.sales_date.clone()).or_default();
        e.0 += r.tickets;
        e.1 += r.revenue_minor;
    }
    let lower = ch
        .query(&format!("SELECT toDate('{now_date}') - 7"))
        .unwrap();
    let want: Vec<String> = per_day
        .iter()
        .filter(|(d, (t, _))| d.as_str() >= lower.trim() && *t > 0)
        .map(|(d, (t, rev))| {
            let major = *rev as f64 / 100.0;
            format!("{d}\t{t}\t{major}")
        })
        .collect();
    assert!(!want.is_empty(), "the simulator sells every day");
    assert_eq!(got.lines().collect::<Vec<_>>(), want);

    // Freshness (old smoke check 11/12): max sales_date is today; inventory snapshot is recent.
    let fresh = ch
        .query_in(&db, "SELECT max(sales_date) FROM fact_qtickets_sales_daily")
        .unwrap();
    assert_eq!(fresh.trim(), now_date);
    let snap = ch
        .query_in(
            &db,
            "SELECT toUnixTimestamp(max(snapshot_ts)) FROM fact_qtickets_inventory_latest",
        )
        .unwrap();
    assert_eq!(snap.trim().parse::<i64>().unwrap(), sim.now_ms() / 1000);

    // Tickets left by city.
    let left = ch
        .query_in(
            &db,
            "SELECT city, sum(tickets_left) FROM fact_qtickets_inventory_latest
             GROUP BY city ORDER BY city",
        )
        .unwrap();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    let events = sim.event_truth();
    for t in sim.inventory_truth() {
        let city = events
            .iter()
            .find(|e| e.event_id == t.event_id)
            .map(|e| e.city.to_lowercase())
            .unwrap();
        *want.entry(city).or_default() += t.left;
    }
    let want: Vec<String> = want.iter().map(|(c, l)| format!("{c}\t{l}")).collect();
    let mut got: Vec<&str> = left.lines().collect();
    got.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got, want_sorted);

    // Job runs (smoke check 14): one ok run of qtickets_api.
    let runs = ch
        .query_in(
            &db,
            "SELECT job, status, count(), max(rows_processed) > 0 FROM meta_job_runs
             GROUP BY job, status",
        )
        .unwrap();
    assert_eq!(runs.trim(), "qtickets_api\tok\t1\t1");

    // Orders staging: one row per paid order, no duplicate dedup keys (smoke check 10).
    let dups = ch
        .query_in(
            &db,
            "SELECT count() FROM (SELECT _dedup_key FROM stg_qtickets_api_orders_raw
             GROUP BY _dedup_key HAVING count() > 1)",
        )
        .unwrap();
    assert_eq!(dups.trim(), "0");
    let staged = ch
        .query_in(
            &db,
            "SELECT sum(tickets_sold) FROM stg_qtickets_api_orders_raw",
        )
        .unwrap();
    let sold: u64 = sim.truth().iter().map(|r| r.tickets).sum();
    assert_eq!(staged.trim(), sold.to_string());
}

/// Delegates to ClickHouse and stops the server after `after` successful page writes.
struct OutageSink {
    inner: Arc<dyn Sink>,
    server: Arc<Mutex<ClickhouseServer>>,
    writes: Mutex<u32>,
    after: u32,
}

impl Sink for OutageSink {
    fn name(&self) -> &'static str {
        "clickhouse"
    }
    fn write<'a>(
        &'a self,
        vendor: &'a str,
        account: &'a str,
        records: &'a [Record],
    ) -> SinkFuture<'a> {
        Box::pin(async move {
            let n = {
                let mut w = self.writes.lock().unwrap();
                *w += 1;
                *w
            };
            if n == self.after + 1 {
                self.server.lock().unwrap().stop();
            }
            self.inner.write(vendor, account, records).await
        })
    }
    fn record_run<'a>(&'a self, run: &'a RunRecord) -> SinkFuture<'a> {
        self.inner.record_run(run)
    }
}

#[tokio::test]
async fn clickhouse_outage_mid_run_keeps_the_cursor_and_the_next_run_fills_the_gap() {
    // Its own server: this test stops it.
    let server = match ClickhouseServer::start() {
        Ok(Some(s)) => s,
        Ok(None) => {
            boxoffice_testkit::skip_or_fail(
                "clickhouse_outage_mid_run",
                "no clickhouse-server installed",
            );
            return;
        }
        Err(e) => panic!("starting clickhouse-server: {e:#}"),
    };
    let ch = server.endpoint();
    let db = ch.fresh_database("qt_outage").unwrap();
    let server = Arc::new(Mutex::new(server));
    let sim = sim(1_000);
    let srv = sim.spawn().await.unwrap();
    let base = Pipeline::clickhouse(&ch, &db).await;
    let account = qtickets_account(&srv, &sim.token(), &[("lookback_hours", LOOKBACK_ALL)]).await;
    sync(&base.deps, &account, &sim).await;
    let cursor_before = base.state.cursor("qtickets", "main").unwrap();

    sim.advance(8 * 60);
    let outage = Arc::new(OutageSink {
        inner: base.deps.sink.clone(),
        server: server.clone(),
        writes: Mutex::new(0),
        after: 0,
    });
    let deps = SyncDeps {
        sink: outage,
        ..base.deps.clone()
    };
    let failed = sync_account(
        &deps,
        &account,
        &RunOptions {
            now_ms: Some(sim.now_ms()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(failed.status, "failed");
    assert!(
        failed.message.contains("ClickHouse") && failed.message.contains("cursor stays"),
        "{}",
        failed.message
    );
    assert!(
        !failed.message.contains(&ch.password),
        "the password leaked into an error"
    );
    assert_eq!(
        base.state.cursor("qtickets", "main").unwrap(),
        cursor_before
    );

    server.lock().unwrap().restart().unwrap();
    sync(&base.deps, &account, &sim).await;
    assert_eq!(warehouse_sales(&ch, &db), truth_sales(&sim));
    assert_eq!(assert_one_row_per_ticket(&ch, &db), sim.basket_count());
}
