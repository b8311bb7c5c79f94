//! Forward clock skew (issue 15): the vendor's clock runs ahead, so a page carries
//! `updated_at` values in the future of the run's `now`. Neither the cursor nor the ledger may
//! let that skip what changes afterwards: Shotgun's `after` cursor is held at most at the
//! run's `now` minus an overlap (else the next run asks only for changes after the future
//! time), and a ticket's version is held at the run's `now` (else the ledger, where the newest
//! `updated_at` wins, keeps the skewed row over a later real change). The same for QTickets,
//! whose `updated_at` is the ledger's version too.
//!
//! Broken variants caught: with the cursor's clamp removed (`tickets.rs`: the last ticket's
//! own `updated_at` as the bound), changes after the skewed run are missing from the ledger;
//! with the version clamp removed, refunds after it stay `valid`.

use crate::common;

use std::collections::HashMap;

use boxoffice::sync::{sync_account, Account, RunOptions, RunSummary};
use boxoffice_sim::faults::{FaultConfig, FaultKind};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use common::{qtickets_account, shotgun_account, Pipeline};

/// The vendor's clock is this far ahead of the host's.
const AHEAD_MS: i64 = 3_600_000;

fn skew(route: &str) -> FaultConfig {
    FaultConfig {
        kinds: vec![FaultKind::ClockSkew],
        skew_ms: AHEAD_MS,
        routes: vec![route.to_string()],
        ..FaultConfig::all(1.0, 7)
    }
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

/// ticket id → (status, version) in the ledger.
fn ledger(p: &Pipeline, vendor: &str) -> HashMap<String, (String, i64)> {
    let db = rusqlite::Connection::open(p.dir.path().join("state.sqlite")).unwrap();
    let mut st = db
        .prepare("SELECT ticket_id, status, updated_at_ms FROM tickets WHERE vendor = ?1")
        .unwrap();
    st.query_map([vendor], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn valid(rows: &HashMap<String, (String, i64)>) -> u64 {
    rows.values().filter(|(s, _)| s == "valid").count() as u64
}

#[tokio::test(flavor = "multi_thread")]
async fn shotgun_pages_from_a_clock_ahead_skip_nothing_that_changes_afterwards() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 1_500,
        sales_per_minute: 8.0,
        changes_per_minute: 8.0,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    let account = shotgun_account(&sim, &srv, &sim.token()).await;

    // Run 1: every tickets page an hour ahead.
    sim.faults().set(Some(skew("tickets")));
    let first = run(&p, &account, sim.now_ms()).await;
    assert!(first.ok(), "{first:?}");
    assert!(
        sim.faults().stats().of(FaultKind::ClockSkew) > 0,
        "no page was skewed"
    );
    sim.faults().set(None);
    let raw = p.state.cursor("shotgun", "main").unwrap().unwrap();
    println!("cursor after the skewed run (now {}): {raw}", sim.now_ms());

    // Thirty minutes of sales and refunds, all before the skewed page's times; then two runs.
    sim.advance(30);
    for _ in 0..2 {
        let r = run(&p, &account, sim.now_ms()).await;
        assert!(r.ok(), "{r:?}");
    }
    let rows = ledger(&p, "shotgun");
    let want: u64 = sim.truth().iter().map(|r| r.sold).sum();
    let mut missing = 0;
    sim.for_each_ticket(|t| {
        if !rows.contains_key(&t.ticket_id.to_string()) {
            missing += 1;
        }
    });
    println!(
        "shotgun: {} of {} tickets in the ledger ({missing} missing), {} valid of {want}",
        rows.len(),
        sim.ticket_count(),
        valid(&rows)
    );
    assert_eq!(missing, 0, "tickets sold after the skewed run were skipped");
    assert_eq!(
        valid(&rows),
        want,
        "changes after the skewed run were skipped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn qtickets_pages_from_a_clock_ahead_skip_nothing_that_changes_afterwards() {
    let sim = QticketsSim::new(QticketsConfig {
        orders: 1_500,
        changes_per_minute: 8.0,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    let account = qtickets_account(&srv, &sim.token(), &[("lookback_hours", "1000")]).await;

    sim.faults().set(Some(skew("orders")));
    let first = run(&p, &account, sim.now_ms()).await;
    assert!(first.ok(), "{first:?}");
    assert!(
        sim.faults().stats().of(FaultKind::ClockSkew) > 0,
        "no page was skewed"
    );
    sim.faults().set(None);

    sim.advance(30);
    for _ in 0..2 {
        let r = run(&p, &account, sim.now_ms()).await;
        assert!(r.ok(), "{r:?}");
    }
    let rows = ledger(&p, "qtickets");
    let want: u64 = sim.truth().iter().map(|r| r.tickets).sum();
    println!(
        "qtickets: {} of {} tickets in the ledger, {} valid of {want}",
        rows.len(),
        sim.basket_count(),
        valid(&rows)
    );
    assert_eq!(rows.len() as u64, sim.basket_count(), "tickets skipped");
    assert_eq!(
        valid(&rows),
        want,
        "changes after the skewed run were skipped"
    );
}
