//! The webhook ingest (issue 16, item 2): a verified QTickets delivery through
//! `sync::WebhookIngest` — the bundled connector's `webhook`, its follow-up `GET /orders/{id}`
//! against the real simulator, the SQLite warehouse and the state database. A delivery is
//! stored and its ledger rows are what a sync of the same order gives; the same delivery again
//! is a duplicate that fetches and writes nothing; a body that does not parse is rejected and
//! stores nothing; a crash between the warehouse write and the commit leaves the key
//! unrecorded, so the redelivery is stored.

use crate::common;

use boxoffice::sync::{sync_account, Account, RunOptions, WebhookIngest};
use boxoffice::webhook::{DeliveryError, DeliveryHandler, DeliveryOutcome, VerifiedDelivery};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::SimServer;
use common::tickets::{ticket_rows, Buyer};
use common::{qtickets_account, Pipeline};

/// The simulator's first order id (`boxoffice_sim::qtickets` numbers orders from it).
const FIRST_ORDER_ID: u64 = 2_000_101;
const ORDER: u64 = FIRST_ORDER_ID + 3;

struct Setup {
    sim: QticketsSim,
    srv: SimServer,
    account: Account,
    p: Pipeline,
    ingest: WebhookIngest,
}

async fn setup() -> Setup {
    let sim = QticketsSim::new(QticketsConfig {
        orders: 20,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let account = qtickets_account(&srv, &sim.token(), &[]).await;
    let p = Pipeline::new();
    let ingest = WebhookIngest::new(p.deps.clone(), [account.clone()]);
    Setup {
        sim,
        srv,
        account,
        p,
        ingest,
    }
}

/// The order as the API shows it: what QTickets puts in a delivery's body (the bare order).
async fn order_body(s: &Setup, id: u64) -> Vec<u8> {
    let url = format!("{}/api/rest/v1/orders/{id}", s.srv.base_url());
    let v: serde_json::Value = reqwest::Client::new()
        .get(url)
        .bearer_auth(s.sim.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    serde_json::to_vec(&v["data"]).unwrap()
}

fn delivery(event: &str, body: Vec<u8>) -> VerifiedDelivery {
    VerifiedDelivery {
        vendor: "qtickets".into(),
        account: "main".into(),
        headers: vec![
            ("x-event-type".into(), event.into()),
            ("x-model-name".into(), "Order".into()),
            ("user-agent".into(), "Qtickets-Webhooks/2.0".into()),
        ],
        body,
        received_ms: 1_762_646_400_000,
    }
}

/// Every ledger row of `order` as text, in ticket order (the buyer is a pseudonym).
fn ledger(p: &Pipeline, order: u64) -> Vec<String> {
    rows(&p.dir.path().join("state.sqlite"), order)
}

/// The same rows as the SQLite warehouse's `tickets` shows them: its table is the ledger's.
fn warehouse(p: &Pipeline, order: u64) -> Vec<String> {
    rows(&p.dir.path().join("state.sqlite"), order)
}

fn rows(db: &std::path::Path, order: u64) -> Vec<String> {
    ticket_rows(db, "qtickets", Some(order), Buyer::Kept)
}

fn keys(p: &Pipeline) -> i64 {
    let c = rusqlite::Connection::open(p.dir.path().join("state.sqlite")).unwrap();
    c.query_row("SELECT count(*) FROM webhook_deliveries", [], |r| r.get(0))
        .unwrap()
}

/// How often the simulator answered `GET /orders/{id}`.
fn re_reads(sim: &QticketsSim) -> u64 {
    sim.stats()
        .by_route_status
        .iter()
        .filter(|((route, _), _)| route == "/orders/{id}")
        .map(|(_, n)| n)
        .sum()
}

/// The same order's ledger rows after a plain sync run of the same account, elsewhere.
async fn synced_rows(s: &Setup, order: u64) -> Vec<String> {
    let reference = Pipeline::new();
    let run = sync_account(
        &reference.deps,
        &s.account,
        &RunOptions {
            now_ms: Some(s.sim.now_ms()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(run.ok(), "{}", run.message);
    ledger(&reference, order)
}

#[tokio::test]
async fn a_delivery_is_stored_and_its_ledger_is_the_sim_s_order() {
    let s = setup().await;
    assert_eq!(
        s.ingest.accounts().collect::<Vec<_>>(),
        [("qtickets", "main")]
    );
    let body = order_body(&s, ORDER).await;
    let before = re_reads(&s.sim);
    let out = s.ingest.deliver(delivery("payed", body)).await.unwrap();
    let DeliveryOutcome::Stored { records } = out else {
        panic!("not stored: {out:?}");
    };
    assert_eq!(
        re_reads(&s.sim),
        before + 1,
        "one follow-up GET /orders/{{id}}"
    );
    let rows = ledger(&s.p, ORDER);
    assert!(!rows.is_empty());
    // The body's tickets and the re-read's are the same tickets: twice as many records.
    assert_eq!(records, 2 * rows.len() as u64);
    assert_eq!(
        rows,
        synced_rows(&s, ORDER).await,
        "the ledger is not the sim's order"
    );
    assert_eq!(warehouse(&s.p, ORDER).len(), rows.len());
    assert_eq!(keys(&s.p), 1);
    // Nothing else was touched: no other order, no cursor.
    assert!(ledger(&s.p, ORDER + 1).is_empty());
    assert_eq!(s.p.state.cursor("qtickets", "main").unwrap(), None);
}

#[tokio::test]
async fn the_same_delivery_again_is_a_duplicate_and_changes_nothing() {
    let s = setup().await;
    let body = order_body(&s, ORDER).await;
    let first = s.ingest.deliver(delivery("payed", body.clone())).await;
    assert!(
        matches!(first, Ok(DeliveryOutcome::Stored { .. })),
        "{first:?}"
    );
    let (rows, wh, reads) = (
        ledger(&s.p, ORDER),
        warehouse(&s.p, ORDER),
        re_reads(&s.sim),
    );
    let again = s.ingest.deliver(delivery("payed", body.clone())).await;
    assert!(matches!(again, Ok(DeliveryOutcome::Duplicate)), "{again:?}");
    assert_eq!(re_reads(&s.sim), reads, "a duplicate fetches nothing");
    assert_eq!(ledger(&s.p, ORDER), rows);
    assert_eq!(warehouse(&s.p, ORDER), wh);
    assert_eq!(keys(&s.p), 1);
    // Another event type for the same order state is another delivery.
    let other = s.ingest.deliver(delivery("updated", body)).await;
    assert!(
        matches!(other, Ok(DeliveryOutcome::Stored { .. })),
        "{other:?}"
    );
    assert_eq!(keys(&s.p), 2);
}

#[tokio::test]
async fn a_body_that_does_not_parse_is_rejected_and_stores_nothing() {
    let s = setup().await;
    // The test's own read of the body counts at the simulator: fetched before counting.
    let body = order_body(&s, ORDER).await;
    let reads = re_reads(&s.sim);
    let err = s
        .ingest
        .deliver(delivery("payed", b"{\"id\": \"not an order".to_vec()))
        .await
        .unwrap_err();
    let DeliveryError::Rejected(msg) = &err else {
        panic!("not rejected: {err:?}");
    };
    assert!(
        msg.contains("not an order") && msg.contains("webhook"),
        "{msg}"
    );
    // An unknown event type names the header.
    let err = s
        .ingest
        .deliver(delivery("exploded", body))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DeliveryError::Rejected(m) if m.contains("x-event-type")),
        "{err:?}"
    );
    assert_eq!(re_reads(&s.sim), reads);
    assert_eq!(keys(&s.p), 0);
    assert!(ledger(&s.p, ORDER).is_empty() && warehouse(&s.p, ORDER).is_empty());
}

#[tokio::test]
async fn a_crash_between_write_and_commit_leaves_the_key_unrecorded_and_a_redelivery_stores_it() {
    let s = setup().await;
    let body = order_body(&s, ORDER).await;
    s.ingest.crash_once_after_write();
    let err = s
        .ingest
        .deliver(delivery("payed", body.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Unavailable(_)), "{err:?}");
    // The SQLite warehouse lives in the state database: its rows are the ledger's, committed
    // with the key, so a crash after the sink's write leaves neither rows nor the key (with
    // ClickHouse the rows would be there and the redelivery's upsert absorbs them).
    assert!(warehouse(&s.p, ORDER).is_empty());
    assert!(ledger(&s.p, ORDER).is_empty());
    assert_eq!(keys(&s.p), 0);
    let again = s.ingest.deliver(delivery("payed", body)).await;
    assert!(
        matches!(again, Ok(DeliveryOutcome::Stored { .. })),
        "{again:?}"
    );
    assert_eq!(keys(&s.p), 1);
    let rows = ledger(&s.p, ORDER);
    assert_eq!(rows, synced_rows(&s, ORDER).await);
    // The upsert absorbed the first write: one row per ticket.
    assert_eq!(warehouse(&s.p, ORDER).len(), rows.len());
}

#[tokio::test]
async fn a_delivery_for_an_account_that_takes_none_is_unknown() {
    let s = setup().await;
    let mut d = delivery("payed", b"{}".to_vec());
    d.account = "elsewhere".into();
    let err = s.ingest.deliver(d).await.unwrap_err();
    assert!(
        matches!(&err, DeliveryError::UnknownAccount(a) if a == "qtickets/elsewhere"),
        "{err:?}"
    );
}
