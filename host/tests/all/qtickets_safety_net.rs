//! Polling as the safety net of webhooks (issue 16): the QTickets simulator and the bundled
//! connector with `webhooks = "on"`. An idle run costs at most 2 requests (the simulator counts
//! them), and a change no webhook reported (a refund of an old order, made while the
//! simulator's webhooks are muted) reaches the ledger at the next due reconcile: the lookback
//! pass for an order inside the 72-hour window, the full pass for an older one.

use crate::common;

use std::collections::BTreeMap;

use boxoffice::state::StateStore;
use boxoffice::sync::{sync_account, RunOptions, RunSummary};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use common::{qtickets_account, Pipeline};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// event → (tickets sold, revenue in minor units).
type Figures = BTreeMap<String, (u64, i64)>;

fn truth(sim: &QticketsSim) -> Figures {
    let mut f = Figures::new();
    for r in sim.truth() {
        let e = f.entry(r.event_id.to_string()).or_default();
        e.0 += r.tickets;
        e.1 += r.revenue_minor;
    }
    f.retain(|_, v| *v != (0, 0));
    f
}

fn ledger(state: &StateStore) -> Figures {
    let mut f = Figures::new();
    for k in state.kpis().unwrap() {
        let e = f.entry(k.event_id).or_default();
        e.0 += k.sold;
        e.1 += k.revenue_minor;
    }
    f.retain(|_, v| *v != (0, 0));
    f
}

fn requests_served(sim: &QticketsSim) -> u64 {
    sim.stats().by_route_status.values().sum()
}

#[tokio::test]
async fn idle_runs_cost_two_requests_and_the_due_reconcile_catches_unreported_changes() {
    let sim = QticketsSim::new(QticketsConfig {
        orders: 1_500,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    let account = qtickets_account(&srv, &sim.token(), &[("webhooks", "on")]).await;
    let t0 = sim.now_ms() + MINUTE;
    let run = |at: i64| {
        let (deps, account, sim) = (&p.deps, &account, &sim);
        async move {
            let before = requests_served(sim);
            let s: RunSummary = sync_account(
                deps,
                account,
                &RunOptions {
                    now_ms: Some(at),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert!(s.ok(), "sync at +{} min: {s:?}", (at - t0) / MINUTE);
            (s, requests_served(sim) - before)
        }
    };

    let (first, served) = run(t0).await;
    assert_eq!(first.requests, served, "the simulator saw every request");
    assert_eq!(ledger(&p.state), truth(&sim), "after the first (full) run");

    // Idle: nothing changed, no reconcile due, inventory not due (900 s).
    let (idle, served) = run(t0 + 5 * MINUTE).await;
    assert!(served <= 2, "idle run: {served} requests ({idle:?})");
    eprintln!("QTickets idle poll, webhooks on: {served} requests");

    // A refund of an order two days old, no webhook: not seen by the next run (new orders
    // only), seen by the lookback pass once due (60 min after the last).
    let recent = sim
        .paid_order_before(sim.now_ms() - 2 * DAY)
        .expect("an order two days old");
    sim.unreported(|s| s.refund(recent)).unwrap();
    let (idle, served) = run(t0 + 10 * MINUTE).await;
    assert!(
        served <= 2,
        "still an idle poll: {served} requests ({idle:?})"
    );
    assert_ne!(
        ledger(&p.state),
        truth(&sim),
        "no webhook, no reconcile due: not seen yet"
    );
    let (lookback, _) = run(t0 + 61 * MINUTE).await;
    assert!(
        lookback.requests > 2,
        "the lookback pass reads the window: {lookback:?}"
    );
    assert_eq!(
        ledger(&p.state),
        truth(&sim),
        "the lookback pass caught the refund"
    );

    // A refund of an order ten days old, no webhook: lookback passes all day long never reach
    // it; the full pass (24 h after the last) does.
    let old = sim
        .paid_order_before(sim.now_ms() - 10 * DAY)
        .expect("an order ten days old");
    sim.unreported(|s| s.refund(old)).unwrap();
    let mut t = t0 + 2 * HOUR;
    while t < t0 + DAY {
        let (s, _) = run(t).await;
        assert!(
            s.requests > 2,
            "a lookback pass is due every run here: {s:?}"
        );
        assert_ne!(ledger(&p.state), truth(&sim), "+{} min", (t - t0) / MINUTE);
        t += 5 * HOUR;
    }
    let (full, _) = run(t0 + DAY).await;
    assert!(
        full.requests > lookback.requests,
        "{full:?} vs {lookback:?}"
    );
    assert_eq!(
        ledger(&p.state),
        truth(&sim),
        "the full pass brought the ledger to the truth"
    );

    // And the poll after it is idle again.
    let (_, served) = run(t0 + DAY + 5 * MINUTE).await;
    assert!(served <= 2, "idle after the full pass: {served} requests");
    srv.shutdown().await;
}
