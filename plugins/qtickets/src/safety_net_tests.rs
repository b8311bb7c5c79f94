//! Polling as the safety net of webhooks (`webhooks = "on"`): a tiny in-memory QTickets
//! answers the connector's orders and events requests, counts them, and lets a test change an
//! old order behind the connector's back (a lost webhook).

use boxoffice_plugin_sdk::host::FakeHost;
use boxoffice_plugin_sdk::{
    decode_records, Connector, HttpRequest, HttpResponse, Item, RunContext, TicketStatus,
};
use serde_json::{json, Value};

use crate::plan::{self, Cursor};
use crate::Qtickets;

/// 2025-11-09T00:00:00Z.
const NOW: i64 = 1_762_646_400_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const BASE: &str = "http://127.0.0.1:9999/api/rest/v1";
const PER_PAGE: usize = 50;

/// `+03:00` text of a unix-ms instant (what the API sends).
fn msk(ms: i64) -> String {
    let s = ms / 1000 + 3 * 3600;
    let days = s.div_euclid(86_400);
    let r = s.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+03:00",
        r / 3600,
        r / 60 % 60,
        r % 60
    )
}

struct Order {
    id: u64,
    created: i64,
    updated: i64,
    refunded: Option<i64>,
}

/// The vendor: orders one hour apart, ending at `NOW − 1 h`; one event, no shows.
struct Vendor {
    orders: Vec<Order>,
    requests: u64,
}

impl Vendor {
    fn new(n: u64) -> Self {
        let orders = (0..n)
            .map(|k| {
                let created = NOW - HOUR * (n - k) as i64;
                Order {
                    id: 1_000 + k,
                    created,
                    updated: created,
                    refunded: None,
                }
            })
            .collect();
        Self {
            orders,
            requests: 0,
        }
    }

    fn order_json(o: &Order) -> Value {
        json!({
            "id": o.id, "payed": 1, "payed_at": msk(o.created), "event_id": 90001,
            "currency_id": "RUB", "client_id": 500001,
            "created_at": msk(o.created), "updated_at": msk(o.updated), "deleted_at": null,
            "baskets": [{
                "id": o.id * 10, "show_id": 95001, "seat_id": "PARTERRE-1;1", "price": 1000,
                "quantity": 1, "created_at": msk(o.created), "updated_at": msk(o.updated),
                "deleted_at": null, "checked_at": null,
                "refunded_at": o.refunded.map(msk), "refunded_amount": o.refunded.map(|_| 900),
            }],
        })
    }

    fn answer(&mut self, req: &HttpRequest) -> HttpResponse {
        self.requests += 1;
        let ask = plan::page_ask(req).unwrap();
        let body = if req.id == plan::ORDERS {
            let all: Vec<&Order> = self.orders.iter().filter(|o| o.id > ask.start).collect();
            let page: Vec<Value> = all
                .iter()
                .skip((ask.page as usize - 1) * PER_PAGE)
                .take(PER_PAGE)
                .map(|o| Self::order_json(o))
                .collect();
            json!({"data": page, "paging": {"perPage": PER_PAGE, "currentPage": ask.page, "total": all.len()}})
        } else {
            json!({"data": [], "paging": {"perPage": 10, "currentPage": ask.page, "total": 0}})
        };
        HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(&body).unwrap(),
        }
    }
}

/// What one run did: requests made, refunded ticket ids seen, the cursor it left.
struct Run {
    requests: u64,
    refunded: Vec<String>,
    cursor: Option<String>,
    first_start: u64,
}

fn ctx(cursor: Option<&str>, now_ms: i64, settings: &[(&str, &str)]) -> RunContext {
    let mut s = vec![("base_url".to_string(), BASE.to_string())];
    s.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    RunContext {
        account: "t".into(),
        settings: s,
        cursor: cursor.map(Into::into),
        since_ms: None,
        until_ms: None,
        now_ms,
    }
}

/// One run as the host drives it: begin, then every page in turn, each committing its cursor.
fn run(v: &mut Vendor, cursor: Option<String>, now_ms: i64, settings: &[(&str, &str)]) -> Run {
    let before = v.requests;
    let mut host = FakeHost::default();
    let c0 = ctx(cursor.as_deref(), now_ms, settings);
    let mut queue = Qtickets::begin(&mut host, &c0).unwrap();
    let first_start = plan::page_ask(&queue[0]).unwrap().start;
    let mut cursor = cursor;
    let mut refunded = Vec::new();
    while !queue.is_empty() {
        let req = queue.remove(0);
        let resp = v.answer(&req);
        let c = ctx(cursor.as_deref(), now_ms, settings);
        let page = Qtickets::handle(&mut host, &c, &req, &resp).unwrap();
        for item in decode_records(page.records.blob()).unwrap() {
            if let Item::Ticket(t) = item {
                if t.status == TicketStatus::Refunded {
                    refunded.push(t.ticket_id.to_string());
                }
            }
        }
        if page.cursor.is_some() {
            cursor = page.cursor;
        }
        queue.extend(page.next);
    }
    Run {
        requests: v.requests - before,
        refunded,
        cursor,
        first_start,
    }
}

const ON: &[(&str, &str)] = &[("webhooks", "on")];

fn parsed(r: &Run) -> Cursor {
    Cursor::parse(r.cursor.as_deref()).unwrap()
}

#[test]
fn an_idle_poll_with_webhooks_on_costs_one_request() {
    let mut v = Vendor::new(500);
    let first = run(&mut v, None, NOW, ON);
    assert_eq!(first.first_start, 0, "no cursor: a full pass");
    let c = parsed(&first);
    assert_eq!((c.reconciled_at, c.lookback_at), (Some(NOW), Some(NOW)));
    // 10 minutes later: no lookback due (60 min), no full pass due (24 h), inventory not due
    // (15 min): one empty orders page above the last id.
    let idle = run(&mut v, first.cursor.clone(), NOW + 10 * MINUTE, ON);
    assert_eq!(idle.requests, 1, "idle poll");
    assert_eq!(idle.first_start, 1_499, "only orders above the last id");
    // The same poll with webhooks off re-reads the 72-hour lookback: 73 orders, 2 pages.
    let off = run(&mut v, first.cursor.clone(), NOW + 10 * MINUTE, &[]);
    assert_eq!(
        off.requests, 2,
        "webhooks off: the lookback window every run"
    );
    assert!(off.first_start < 1_499 - 70);
    // With the inventory due as well, the idle poll is the orders page plus the events page.
    let later = run(&mut v, idle.cursor.clone(), NOW + 20 * MINUTE, ON);
    assert_eq!(
        later.requests, 2,
        "orders + events (no shows to read seats of)"
    );
}

#[test]
fn a_late_refund_of_a_window_order_is_caught_by_the_next_lookback_pass() {
    let mut v = Vendor::new(500);
    let first = run(&mut v, None, NOW, ON);
    // A refund of an order 5 hours old, its webhook lost.
    let at = NOW + 5 * MINUTE;
    let o = v
        .orders
        .iter_mut()
        .find(|o| o.created == NOW - 5 * HOUR)
        .unwrap();
    (o.refunded, o.updated) = (Some(at), at);
    let ticket = (o.id * 10).to_string();
    let idle = run(&mut v, first.cursor, NOW + 10 * MINUTE, ON);
    assert!(
        idle.refunded.is_empty(),
        "new orders only: the refund is not seen yet"
    );
    assert_eq!(idle.requests, 1);
    // 61 minutes after the last lookback pass: due; it reads the 72-hour window.
    let due = run(&mut v, idle.cursor, NOW + 61 * MINUTE, ON);
    assert_eq!(due.refunded, [ticket], "the lookback pass caught it");
    let c = parsed(&due);
    assert_eq!(c.lookback_at, Some(NOW + 61 * MINUTE));
    assert_eq!(
        c.reconciled_at,
        Some(NOW),
        "a lookback pass is not a full pass"
    );
    // And the next poll is idle again.
    let next = run(&mut v, due.cursor, NOW + 70 * MINUTE, ON);
    assert_eq!((next.requests, next.refunded.len()), (1, 0));
}

#[test]
fn a_late_refund_of_an_old_order_is_caught_by_the_next_full_pass() {
    let mut v = Vendor::new(500);
    let settings: &[(&str, &str)] = &[("webhooks", "on"), ("reconcile_lookback_minutes", "30")];
    let first = run(&mut v, None, NOW, settings);
    // An order 10 days old (outside the 72-hour window), refunded; no webhook.
    let o = v
        .orders
        .iter_mut()
        .find(|o| o.created == NOW - 240 * HOUR)
        .unwrap();
    (o.refunded, o.updated) = (Some(NOW + MINUTE), NOW + MINUTE);
    let ticket = (o.id * 10).to_string();
    let mut cursor = first.cursor;
    // Lookback passes every 30 minutes for the rest of the day never reach it.
    let mut t = NOW + 31 * MINUTE;
    while t < NOW + DAY {
        let r = run(&mut v, cursor, t, settings);
        assert!(
            r.refunded.is_empty(),
            "seen at {} min: {:?}",
            (t - NOW) / MINUTE,
            r.refunded
        );
        assert_ne!(r.first_start, 0, "no full pass before 24 h");
        cursor = r.cursor;
        t += 31 * MINUTE;
    }
    let full = run(&mut v, cursor, NOW + DAY, settings);
    assert_eq!(full.first_start, 0, "24 h after the last full pass");
    assert_eq!(full.refunded, [ticket], "the full pass caught it");
    let c = parsed(&full);
    assert_eq!(
        (c.reconciled_at, c.lookback_at),
        (Some(NOW + DAY), Some(NOW + DAY))
    );
}

#[test]
fn with_webhooks_off_the_cursor_and_the_start_are_unchanged() {
    let mut v = Vendor::new(200);
    let first = run(&mut v, None, NOW, &[("webhooks", "off")]);
    assert_eq!(
        parsed(&first).lookback_at,
        None,
        "no lookback mark without webhooks"
    );
    let a = run(&mut v, first.cursor.clone(), NOW + 10 * MINUTE, &[]);
    let b = run(
        &mut v,
        first.cursor,
        NOW + 10 * MINUTE,
        &[("webhooks", "off")],
    );
    assert_eq!((a.first_start, a.requests), (b.first_start, b.requests));
    assert_eq!(a.cursor, b.cursor);
    assert!(!a.cursor.unwrap().contains("lookback_at"));
}

#[test]
fn a_backfill_with_webhooks_on_reads_its_window() {
    let mut v = Vendor::new(200);
    let first = run(&mut v, None, NOW, ON);
    let mut c = ctx(first.cursor.as_deref(), NOW + MINUTE, ON);
    c.since_ms = Some(NOW - 5 * DAY);
    let reqs = Qtickets::begin(&mut FakeHost::default(), &c).unwrap();
    let start = plan::page_ask(&reqs[0]).unwrap().start;
    assert!(
        start < 1_199 - 100,
        "the backfill's window, not new orders only: {start}"
    );
}

#[test]
fn a_bad_webhooks_value_names_the_setting() {
    let c = ctx(None, NOW, &[("webhooks", "yes")]);
    let e = Qtickets::begin(&mut FakeHost::default(), &c).unwrap_err();
    let m = format!("{e:?}");
    assert!(m.contains("`webhooks`") && m.contains("`yes`"), "{m}");
    let c = ctx(
        None,
        NOW,
        &[("webhooks", "on"), ("reconcile_lookback_minutes", "-5")],
    );
    let m = format!(
        "{:?}",
        Qtickets::begin(&mut FakeHost::default(), &c).unwrap_err()
    );
    assert!(m.contains("reconcile_lookback_minutes"), "{m}");
}
