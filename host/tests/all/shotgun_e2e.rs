//! Shotgun end to end: simulator → plugin → firewall → SQLite warehouse + ledger → /metrics,
//! compared with the simulator's ground truth. The several-intervals scenario is built once and
//! checked by the tests of `several_intervals`.

use crate::common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use boxoffice::sync::{sync_account, RunOptions, RunSummary};
use boxoffice_sim::shotgun::{RateLimit, ShotgunConfig, ShotgunSim};
use common::{shotgun_account, Pipeline};

type Figures = BTreeMap<(String, String), (u64, u64, u64, i64)>;

fn truth(sim: &ShotgunSim) -> Figures {
    sim.truth()
        .into_iter()
        .map(|r| {
            (
                (r.event_id.to_string(), r.category),
                (r.sold, r.refunded, r.scanned, r.revenue_minor),
            )
        })
        .filter(|(_, v)| *v != (0, 0, 0, 0))
        .collect()
}

fn ledger(p: &Pipeline) -> Figures {
    p.state
        .kpis()
        .unwrap()
        .into_iter()
        .map(|k| {
            (
                (k.event_id, k.category),
                (k.sold, k.refunded, k.scanned, k.revenue_minor),
            )
        })
        .filter(|(_, v)| *v != (0, 0, 0, 0))
        .collect()
}

/// Per event/category sold and revenue as /metrics says.
fn scraped(p: &Pipeline) -> Figures {
    let text = p.metrics.encode().unwrap();
    let mut out: Figures = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let label = |name: &str| {
            let k = format!("{name}=\"");
            let i = series.find(&k)? + k.len();
            Some(series[i..i + series[i..].find('"')?].to_string())
        };
        let (Some(e), Some(c)) = (label("event_id"), label("category")) else {
            continue;
        };
        if label("vendor").as_deref() != Some("shotgun") {
            continue;
        }
        let v: f64 = value.parse().unwrap();
        let row = out.entry((e, c)).or_default();
        if series.starts_with("boxoffice_tickets_sold_total") {
            row.0 = v as u64;
        } else if series.starts_with("boxoffice_tickets_refunded_total") {
            row.1 = v as u64;
        } else if series.starts_with("boxoffice_tickets_scanned_total") {
            row.2 = v as u64;
        } else if series.starts_with("boxoffice_revenue_total") {
            row.3 = (v * 100.0).round() as i64;
        }
    }
    out.retain(|_, v| *v != (0, 0, 0, 0));
    out
}

fn opts(sim: &ShotgunSim) -> RunOptions {
    RunOptions {
        now_ms: Some(sim.now_ms()),
        ..Default::default()
    }
}

/// Four syncs of one Shotgun account, 45 simulated minutes of sales and changes apart: built
/// once (`common::scenario`), checked by the tests of [`several_intervals`].
struct Intervals {
    /// The first sync's summary.
    first: RunSummary,
    /// After each sync (the first, then each round): the ledger, the scrape and the truth.
    after: Vec<(String, Figures, Figures, Figures)>,
    /// The following syncs' summaries.
    rounds: Vec<RunSummary>,
    /// Tickets refunded in the truth after the last sync.
    refunded: u64,
    /// Inventory per event as the ledger holds it after the last sync.
    inventory: BTreeMap<String, (Option<u32>, Option<u32>)>,
    /// The simulator's capacity and tickets left per event then.
    inventory_truth: Vec<(u64, u64, u64)>,
}

fn intervals() -> &'static Intervals {
    static BUILT: OnceLock<Result<Intervals, String>> = OnceLock::new();
    common::scenario(&BUILT, false, || async {
        let sim = ShotgunSim::new(ShotgunConfig {
            tickets: 4_000,
            sales_per_minute: 4.0,
            changes_per_minute: 6.0,
            ..Default::default()
        });
        let srv = sim.spawn().await.unwrap();
        let p = Pipeline::new();
        let account = shotgun_account(&sim, &srv, "sim-shotgun-token").await;

        let first = sync_account(&p.deps, &account, &opts(&sim)).await.unwrap();
        let mut after = vec![(
            "first sync".to_string(),
            ledger(&p),
            scraped(&p),
            truth(&sim),
        )];
        let mut rounds = Vec::new();
        for round in 0..3 {
            sim.advance(45);
            rounds.push(sync_account(&p.deps, &account, &opts(&sim)).await.unwrap());
            after.push((
                format!("round {round}"),
                ledger(&p),
                scraped(&p),
                truth(&sim),
            ));
        }
        let refunded: u64 = truth(&sim).values().map(|v| v.1).sum();
        let inventory = p
            .state
            .inventory()
            .unwrap()
            .into_iter()
            .map(|(_, _, v)| (v.event_id, (v.capacity, v.available)))
            .collect();
        let inventory_truth = sim
            .inventory_truth()
            .into_iter()
            .map(|t| (t.event_id, t.capacity, t.left))
            .collect();
        Intervals {
            first,
            after,
            rounds,
            refunded,
            inventory,
            inventory_truth,
        }
    })
}

/// Figures equal the truth over several intervals: one check per test, on one shared run.
mod several_intervals {
    use super::intervals;

    #[test]
    fn the_first_sync_succeeds_over_many_pages() {
        let first = &intervals().first;
        assert!(first.ok(), "{first:?}");
        assert!(first.pages >= 40, "{first:?}");
    }

    #[test]
    fn every_later_sync_succeeds_and_brings_changes() {
        for (round, s) in intervals().rounds.iter().enumerate() {
            assert!(s.ok(), "round {round}: {s:?}");
            assert!(s.tickets_changed > 0, "round {round}: changes must arrive");
        }
    }

    #[test]
    fn the_ledger_equals_the_truth_after_every_sync() {
        let after = &intervals().after;
        assert_eq!(after.len(), 4);
        for (when, ledger, _, truth) in after {
            assert_eq!(ledger, truth, "{when}");
        }
    }

    #[test]
    fn metrics_equal_the_truth_after_every_sync() {
        let after = &intervals().after;
        assert_eq!(after.len(), 4);
        for (when, _, scraped, truth) in after {
            assert_eq!(scraped, truth, "{when}");
        }
    }

    #[test]
    fn the_scenario_includes_refunds() {
        let refunded = intervals().refunded;
        assert!(
            refunded > 50,
            "the scenario must include refunds ({refunded})"
        );
    }

    /// Inventory from the events listing equals the simulator's tickets left.
    #[test]
    fn inventory_equals_the_simulators_tickets_left() {
        let s = intervals();
        for &(event_id, capacity, left) in &s.inventory_truth {
            let got = s.inventory.get(&event_id.to_string()).copied();
            assert_eq!(
                got,
                Some((Some(capacity as u32), Some(left as u32))),
                "event {event_id}"
            );
        }
    }
}

#[tokio::test]
async fn running_twice_changes_nothing_and_costs_one_request() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 1_000,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    let account = shotgun_account(&sim, &srv, "sim-shotgun-token").await;
    assert!(sync_account(&p.deps, &account, &opts(&sim))
        .await
        .unwrap()
        .ok());
    let before = ledger(&p);
    let again = sync_account(&p.deps, &account, &opts(&sim)).await.unwrap();
    assert!(again.ok());
    assert_eq!(again.tickets_changed, 0);
    assert_eq!(again.requests, 1, "nothing new: one request");
    assert_eq!(ledger(&p), before);
    assert_eq!(p.state.ticket_count().unwrap(), sim.ticket_count());
}

#[tokio::test]
async fn a_crash_between_sink_write_and_cursor_commit_loses_and_doubles_nothing() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 2_000,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    let account = shotgun_account(&sim, &srv, "sim-shotgun-token").await;
    let crash = RunOptions {
        crash_after_sink_pages: Some(3),
        ..opts(&sim)
    };
    let crashed = sync_account(&p.deps, &account, &crash).await.unwrap();
    assert_eq!(crashed.status, "failed");
    let cursor = p.state.cursor("shotgun", "main").unwrap();
    assert!(cursor.is_some(), "pages before the crash were committed");
    sim.advance(20);
    let resumed = sync_account(&p.deps, &account, &opts(&sim)).await.unwrap();
    assert!(resumed.ok(), "{resumed:?}");
    assert_eq!(ledger(&p), truth(&sim));
    assert_eq!(p.state.ticket_count().unwrap(), sim.ticket_count());
    // The warehouse has one row per ticket too.
    let wh = rusqlite::Connection::open(p.dir.path().join("state.sqlite")).unwrap();
    let rows: i64 = wh
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows as u64, sim.ticket_count());
}

#[tokio::test]
async fn rate_limits_are_waited_out() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 1_200,
        rate_limit: Some(RateLimit {
            requests: 5,
            window_ms: 400,
            retry_after_secs: 1,
        }),
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    let account = shotgun_account(&sim, &srv, "sim-shotgun-token").await;
    let s = sync_account(&p.deps, &account, &opts(&sim)).await.unwrap();
    assert!(s.ok(), "{s:?}");
    assert_eq!(ledger(&p), truth(&sim));
    let stats = sim.stats();
    let limited = stats
        .by_route_status
        .get(&("/tickets".to_string(), 429))
        .copied()
        .unwrap_or(0);
    assert!(limited > 0, "the scenario must hit the limit: {stats:?}");
    let text = p.metrics.encode().unwrap();
    assert!(
        text.contains(
            "boxoffice_http_requests_total{vendor=\"shotgun\",account=\"main\",status=\"429\"}"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_bad_token_fails_the_run_clearly() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 100,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    let account = shotgun_account(&sim, &srv, "CANARY-WRONG-TOKEN").await;
    let s = sync_account(&p.deps, &account, &opts(&sim)).await.unwrap();
    assert_eq!(s.status, "failed");
    assert!(
        s.message.contains("refused the credentials"),
        "{}",
        s.message
    );
    assert!(!s.message.contains("CANARY-WRONG-TOKEN"));
    assert_eq!(p.state.cursor("shotgun", "main").unwrap(), None);
    let health = p.state.run_health().unwrap();
    assert_eq!(health[0].last_status, "failed");
    let text = p.metrics.encode().unwrap();
    assert!(
        text.contains("boxoffice_source_up{vendor=\"shotgun\",account=\"main\"} 0"),
        "{text}"
    );
}
