//! Native tests of the transform: the mapping of every order state, money, the cursor policy
//! (full scan, keyset paging, overlap, re-read period, backfill windows) and errors.

use boxoffice_plugin_sdk::host::FakeHost;
use boxoffice_plugin_sdk::{
    decode_records, HttpResponse, Item, PluginError, RunContext, TicketStatus,
};
use serde_json::{json, Value};

use super::*;
use crate::cursor::{Cursor, EventState};

const BASE: &str = "https://pretix.example";
const NOW: i64 = 1_796_000_000_000;

fn ctx(cursor: Option<&Cursor>) -> RunContext {
    RunContext {
        account: "t".into(),
        settings: vec![
            ("base_url".into(), BASE.into()),
            ("organizer".into(), "canary".into()),
        ],
        cursor: cursor.map(Cursor::encode),
        since_ms: None,
        until_ms: None,
        now_ms: NOW,
    }
}

fn ok(body: &Value) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![(
            "X-Page-Generated".into(),
            "2026-12-07T10:00:00.000500Z".into(),
        )],
        body: serde_json::to_vec(body).unwrap(),
    }
}

fn catalogued() -> Cursor {
    let mut c = Cursor::default();
    c.events.insert(
        "summer".into(),
        EventState {
            cur: "EUR".into(),
            items: [(1, "General admission".to_string()), (2, "VIP".to_string())].into(),
            vars: [(7, "Balcony".to_string())].into(),
            ..Default::default()
        },
    );
    c
}

fn position(positionid: u32, item: u64, price: &str) -> Value {
    json!({
        "id": 100 + positionid, "positionid": positionid, "item": item, "variation": null,
        "price": price, "canceled": false, "subevent": null, "checkins": [],
        // What pretix sends when `include` is not honoured: must never reach a record.
        "secret": "possecretCANARY0000000000000000x", "attendee_name": "Canary Attendee",
        "attendee_email": "canary.attendee@example.invalid", "street": "1 Canary Street",
        "zipcode": "00000", "city": "Canaryville",
    })
}

fn order(code: &str, status: &str, positions: Vec<Value>) -> Value {
    json!({
        "code": code, "status": status, "testmode": false,
        "email": " Canary.Buyer@Example.INVALID ", "phone": "+00 000 CANARY",
        "secret": "ordersecretCANARY", "url": "https://pretix.example/canary/summer/order/X/ordersecretCANARY/",
        "invoice_address": {"name": "Canary Buyer", "street": "1 Canary Street", "zipcode": "00000"},
        "datetime": "2026-11-01T10:00:00.000000Z",
        "last_modified": "2026-12-01T10:00:00.123456Z",
        "cancellation_date": null, "payment_provider": "banktransfer", "sales_channel": "web",
        "fees": [], "refunds": [], "positions": positions,
    })
}

fn refund(state: &str, amount: &str, at: &str) -> Value {
    json!({"state": state, "amount": amount, "created": at, "execution_date": at})
}

fn listing(results: Vec<Value>, next: bool) -> Value {
    json!({
        "count": results.len(),
        "next": if next { json!("https://elsewhere.example/api/v1/next?page=2") } else { json!(null) },
        "previous": null, "results": results,
    })
}

fn tickets(page: &Page) -> Vec<boxoffice_plugin_sdk::Ticket<'_>> {
    decode_records(page.records.blob())
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Item::Ticket(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn run_orders(c: &RunContext, req: &HttpRequest, body: &Value) -> Result<Page, PluginError> {
    handle_with(&mut FakeHost::default(), c, req, &ok(body))
}

fn full1(c: &RunContext) -> HttpRequest {
    plan::full_request(&plan::settings(c).unwrap(), "summer", 1)
}

#[test]
fn every_order_state_maps_to_its_tickets() {
    let c = ctx(Some(&catalogued()));
    let mut paid = order(
        "PAID1",
        "p",
        vec![position(1, 2, "89.50"), position(2, 1, "35.00")],
    );
    paid["fees"] = json!([{"fee_type": "payment", "value": "1.25"}]);
    paid["positions"][0]["checkins"] = json!([
        {"datetime": "2026-11-02T11:00:00Z", "type": "exit"},
        {"datetime": "2026-11-02T12:00:00Z", "type": "entry"},
        {"datetime": "2026-11-02T10:00:00Z", "type": "exit"},
    ]);
    let pending = order("PEND1", "n", vec![position(1, 1, "35.00")]);
    let expired = order("EXPD1", "e", vec![position(1, 1, "35.00")]);
    let mut canceled = order("CANC1", "c", vec![position(1, 1, "35.00")]);
    canceled["cancellation_date"] = json!("2026-11-03T09:00:00Z");
    let mut refunded = order(
        "REFD1",
        "c",
        vec![position(1, 2, "89.50"), position(2, 1, "35.00")],
    );
    refunded["refunds"] = json!([refund("done", "124.50", "2026-11-04T09:00:00Z")]);
    let mut partial = order("PART1", "p", vec![position(1, 2, "89.50")]);
    partial["refunds"] = json!([
        refund("done", "44.75", "2026-11-05T09:00:00Z"),
        refund("created", "1.00", "2026-11-05T09:30:00Z"),
        refund("failed", "5.00", "2026-11-05T09:40:00Z"),
    ]);
    let mut poscanc = order(
        "POSC1",
        "p",
        vec![position(1, 1, "35.00"), position(2, 2, "89.50")],
    );
    poscanc["positions"][1]["canceled"] = json!(true);
    poscanc["refunds"] = json!([refund("done", "89.50", "2026-11-06T09:00:00Z")]);
    let mut test = order("TEST1", "p", vec![position(1, 1, "35.00")]);
    test["testmode"] = json!(true);
    let mut variant = order("VARI1", "p", vec![position(1, 2, "89.50")]);
    variant["positions"][0]["variation"] = json!(7);
    variant["positions"][0]["subevent"] = json!(42);
    let body = listing(
        vec![
            paid, pending, expired, canceled, refunded, partial, poscanc, test, variant,
        ],
        false,
    );
    let page = run_orders(&c, &full1(&c), &body).unwrap();
    let t = tickets(&page);
    let by_id = |id: &str| {
        t.iter()
            .find(|t| t.ticket_id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(t.len(), 11, "one ticket per position, test mode left out");
    assert!(t.iter().all(|t| !t.ticket_id.contains("TEST1")));

    let p1 = by_id("SUMMER-PAID1-1");
    assert_eq!(p1.order_id, "SUMMER-PAID1");
    assert_eq!(
        (p1.status, p1.price_minor, p1.buyer_fee_minor),
        (TicketStatus::Valid, 8950, 125)
    );
    assert_eq!(p1.category, "VIP");
    assert_eq!(p1.currency, "EUR");
    assert_eq!(
        p1.scanned_at_ms,
        time_ms("2026-11-02T12:00:00Z"),
        "first entry, exits ignored"
    );
    let buyer = p1.buyer.as_ref().unwrap();
    assert_eq!(
        (&*buyer.kind, &*buyer.value),
        ("email", "canary.buyer@example.invalid")
    );
    assert_eq!(p1.payment_method.as_deref(), Some("banktransfer"));
    assert_eq!(p1.channel, "web");
    assert_eq!(
        p1.updated_at_ms,
        time_ms("2026-12-01T10:00:00.123Z").unwrap()
    );
    let p2 = by_id("SUMMER-PAID1-2");
    assert_eq!(
        (p2.buyer_fee_minor, p2.scanned_at_ms),
        (0, None),
        "fees ride on the first position"
    );

    assert_eq!(by_id("SUMMER-PEND1-1").status, TicketStatus::Pending);
    assert_eq!(by_id("SUMMER-EXPD1-1").status, TicketStatus::Canceled);
    let canc = by_id("SUMMER-CANC1-1");
    assert_eq!(
        (canc.status, canc.refunded_minor),
        (TicketStatus::Canceled, 0)
    );
    assert_eq!(canc.refunded_at_ms, time_ms("2026-11-03T09:00:00Z"));
    for (id, share) in [("SUMMER-REFD1-1", 8950), ("SUMMER-REFD1-2", 3500)] {
        let r = by_id(id);
        assert_eq!(
            (r.status, r.refunded_minor),
            (TicketStatus::Refunded, share),
            "{id}"
        );
        assert_eq!(r.refunded_at_ms, time_ms("2026-11-04T09:00:00Z"));
    }
    let part = by_id("SUMMER-PART1-1");
    assert_eq!(
        (part.status, part.refunded_minor),
        (TicketStatus::Refunded, 4475),
        "only `done` refunds count"
    );
    // The refunds' own times version the ticket: a refund alone does not move last_modified.
    assert_eq!(
        part.updated_at_ms,
        time_ms("2026-12-01T10:00:00.123Z").unwrap()
    );
    let live = by_id("SUMMER-POSC1-1");
    let gone = by_id("SUMMER-POSC1-2");
    assert_eq!((live.status, live.refunded_minor), (TicketStatus::Valid, 0));
    assert_eq!(
        (gone.status, gone.refunded_minor),
        (TicketStatus::Refunded, 8950),
        "canceled positions take the refund first"
    );
    let var = by_id("SUMMER-VARI1-1");
    assert_eq!(var.category, "VIP – Balcony");
    assert_eq!(var.show_id.as_deref(), Some("42"));

    // Nothing of the person but the e-mail (as a personal-id) is in the records.
    let blob = String::from_utf8_lossy(page.records.blob()).to_string();
    for canary in [
        "CANARY",
        "Canary Attendee",
        "Canary Street",
        "Canaryville",
        "00000",
        "ordersecret",
    ] {
        assert!(!blob.contains(canary), "{canary} reached the records");
    }
}

fn time_ms(s: &str) -> Option<i64> {
    boxoffice_plugin_sdk::time::parse_ms(s)
}

#[test]
fn a_refund_after_the_last_change_moves_the_version() {
    let c = ctx(Some(&catalogued()));
    let mut o = order("PART2", "p", vec![position(1, 2, "89.50")]);
    o["refunds"] = json!([refund("done", "10.00", "2026-12-05T08:00:00Z")]);
    let page = run_orders(&c, &full1(&c), &listing(vec![o], false)).unwrap();
    let t = tickets(&page);
    assert_eq!(t[0].updated_at_ms, time_ms("2026-12-05T08:00:00Z").unwrap());
    assert_eq!(
        (t[0].status, t[0].refunded_minor),
        (TicketStatus::Refunded, 1000)
    );
}

#[test]
fn currencies_without_minor_digits_and_bad_amounts() {
    let mut cur = catalogued();
    cur.events.get_mut("summer").unwrap().cur = "JPY".into();
    let c = ctx(Some(&cur));
    let page = run_orders(
        &c,
        &full1(&c),
        &listing(
            vec![order("YEN01", "p", vec![position(1, 1, "3500.00")])],
            false,
        ),
    )
    .unwrap();
    assert_eq!(tickets(&page)[0].price_minor, 3500);
    assert_eq!(tickets(&page)[0].currency, "JPY");
    let err = run_orders(
        &c,
        &full1(&c),
        &listing(
            vec![order("YEN02", "p", vec![position(1, 1, "3500.50")])],
            false,
        ),
    )
    .unwrap_err();
    assert!(
        matches!(&err, PluginError::BadResponse(m) if m.contains("YEN02") && m.contains("positions.price") && m.contains("JPY")),
        "{err:?}"
    );
    let c = ctx(Some(&catalogued()));
    let mut o = order("BADT1", "p", vec![position(1, 1, "35.00")]);
    o["datetime"] = json!("last tuesday");
    let err = run_orders(&c, &full1(&c), &listing(vec![o], false)).unwrap_err();
    assert!(
        matches!(&err, PluginError::BadResponse(m) if m.contains("BADT1") && m.contains("datetime")),
        "{err:?}"
    );
}

#[test]
fn first_run_lists_events_then_products_then_a_full_scan() {
    let c = ctx(None);
    let reqs = begin_with(&mut FakeHost::default(), &c).unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].url,
        format!("{BASE}/api/v1/organizers/canary/events/")
    );
    assert!(matches!(
        &reqs[0].auth,
        boxoffice_plugin_sdk::Auth::AuthorizationHeader((scheme, s)) if scheme == "Token" && s == "token"
    ));
    let events = listing(
        vec![
            json!({"slug": "summer", "name": {"de": "Sommer", "en": "Canary Summer"}, "currency": "eur",
                    "date_from": "2027-02-05T18:00:00Z", "date_to": null, "location": {"en": "1 Canary Street"}}),
        ],
        true,
    );
    let page = handle_with(&mut FakeHost::default(), &c, &reqs[0], &ok(&events)).unwrap();
    let recs = decode_records(page.records.blob()).unwrap();
    let Item::Event(e) = &recs[0] else {
        panic!("{recs:?}")
    };
    assert_eq!(
        (&*e.event_id, &*e.name, e.city.as_deref()),
        ("summer", "Canary Summer", None)
    );
    // The next listing page is rebuilt from our own URL, never the vendor's link.
    assert_eq!(
        page.next[1].url,
        format!("{BASE}/api/v1/organizers/canary/events/")
    );
    assert_eq!(plan::page_of(&page.next[1]), 2);
    let items_req = &page.next[0];
    assert_eq!(items_req.id, "items:summer");
    let cur = Cursor::parse(page.cursor.as_deref());
    assert_eq!(cur.events["summer"].cur, "EUR");

    let c2 = RunContext {
        cursor: page.cursor.clone(),
        ..c.clone()
    };
    let items = listing(
        vec![
            json!({"id": 1, "name": {"en": "General admission"}, "variations": []}),
            json!({"id": 2, "name": {"en": "VIP"}, "variations": [{"id": 7, "value": {"en": "Balcony"}}]}),
        ],
        false,
    );
    let page = handle_with(&mut FakeHost::default(), &c2, items_req, &ok(&items)).unwrap();
    let cur = Cursor::parse(page.cursor.as_deref());
    assert_eq!(cur.events["summer"].items[&2], "VIP");
    assert_eq!(cur.events["summer"].vars[&7], "Balcony");
    let full = &page.next[0];
    assert_eq!(full.id, "full:summer");
    assert_eq!(plan::query(full, "ordering"), Some("datetime"));
    assert_eq!(plan::query(full, "page_size"), Some("50"));
    assert_eq!(
        plan::query(full, "include_canceled_positions"),
        Some("true")
    );
    let includes: Vec<&str> = full
        .query
        .iter()
        .filter(|(k, _)| k == "include")
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(includes.contains(&"email") && includes.contains(&"positions.checkins"));
    for private in [
        "secret",
        "url",
        "phone",
        "invoice_address",
        "positions.secret",
        "positions.attendee_name",
    ] {
        assert!(!includes.contains(&private), "{private} is asked for");
    }
    assert_eq!(cur.events["summer"].scan.unwrap().at, NOW);
}

#[test]
fn a_full_scan_pages_by_number_then_hands_over_to_modified_since() {
    let mut cur = catalogued();
    cur.events.get_mut("summer").unwrap().scan = Some(cursor::Scan {
        at: NOW,
        from: None,
        page: 1,
    });
    let c = ctx(Some(&cur));
    let o = order("AAAA1", "p", vec![position(1, 1, "35.00")]);
    let page = run_orders(&c, &full1(&c), &listing(vec![o.clone()], true)).unwrap();
    assert_eq!(plan::page_of(&page.next[0]), 2);
    let after1 = Cursor::parse(page.cursor.as_deref());
    let scan = after1.events["summer"].scan.unwrap();
    let generated = stamp::parse_us("2026-12-07T10:00:00.000500Z").unwrap();
    assert_eq!(
        (scan.page, scan.from),
        (2, Some(generated)),
        "the scan starts at pretix's clock"
    );

    // A resumed run continues at the stored page.
    let c2 = RunContext {
        cursor: page.cursor.clone(),
        ..c.clone()
    };
    let s = plan::settings(&c2).unwrap();
    let mut st = after1.events["summer"].clone();
    assert_eq!(
        plan::page_of(&plan::orders_start(&s, &c2, "summer", &mut st)),
        2
    );

    let last = run_orders(&c2, &page.next[0], &listing(vec![o], false)).unwrap();
    let done = Cursor::parse(last.cursor.as_deref());
    let st = &done.events["summer"];
    assert_eq!(
        (st.scan, st.lm, st.full_at),
        (None, Some(generated), Some(NOW))
    );
    let since = &last.next[0];
    assert_eq!(since.id, "since:summer");
    assert_eq!(plan::query(since, "ordering"), Some("last_modified"));
    assert_eq!(
        plan::query(since, "modified_since").and_then(stamp::parse_us),
        Some(generated - plan::OVERLAP_US),
        "an overlapping pass after the scan"
    );

    // A page past the end (orders went away while paging) ends the scan instead of failing.
    let gone = HttpResponse {
        status: 404,
        headers: vec![],
        body: b"{\"detail\":\"Invalid page.\"}".to_vec(),
    };
    let p = handle_with(&mut FakeHost::default(), &c2, &page.next[0], &gone).unwrap();
    assert!(Cursor::parse(p.cursor.as_deref()).events["summer"]
        .scan
        .is_none());
}

fn at(o: &mut Value, lm: &str) {
    o["last_modified"] = json!(lm);
}

#[test]
fn modified_since_pages_by_keyset_and_skips_what_it_stored() {
    let mut cur = catalogued();
    let t0 = stamp::parse_us("2026-12-07T10:00:00Z").unwrap();
    {
        let st = cur.events.get_mut("summer").unwrap();
        st.lm = Some(t0);
        st.full_at = Some(NOW - 1000);
    }
    let c = ctx(Some(&cur));
    let s = plan::settings(&c).unwrap();
    let mut st = cur.events["summer"].clone();
    let first = plan::orders_start(&s, &c, "summer", &mut st);
    assert_eq!(first.id, "since:summer", "not due: incremental");
    assert_eq!(
        plan::query(&first, "modified_since").and_then(stamp::parse_us),
        Some(t0 - plan::OVERLAP_US)
    );

    let mut a = order("AAAA1", "p", vec![position(1, 1, "35.00")]);
    let mut b = order("BBBB1", "p", vec![position(1, 1, "35.00")]);
    at(&mut a, "2026-12-07T10:00:01.000001Z");
    at(&mut b, "2026-12-07T10:00:02.000002Z");
    let page = run_orders(&c, &first, &listing(vec![a.clone(), b.clone()], true)).unwrap();
    assert_eq!(tickets(&page).len(), 2);
    let next = &page.next[0];
    let t2 = stamp::parse_us("2026-12-07T10:00:02.000002Z").unwrap();
    assert_eq!(
        plan::query(next, "modified_since").and_then(stamp::parse_us),
        Some(t2),
        "keyset: from the last one read"
    );
    assert_eq!(plan::page_of(next), 1);
    let cur2 = Cursor::parse(page.cursor.as_deref());
    assert_eq!(
        (cur2.events["summer"].lm, cur2.events["summer"].seen.clone()),
        (Some(t2), vec!["BBBB1".to_string()])
    );

    // Inclusive: B comes back and is skipped; a page all at one instant moves on by number.
    let c2 = RunContext {
        cursor: page.cursor.clone(),
        ..c.clone()
    };
    let mut c1 = order("CCCC1", "p", vec![position(1, 1, "35.00")]);
    at(&mut c1, "2026-12-07T10:00:02.000002Z");
    let page2 = run_orders(&c2, next, &listing(vec![b.clone(), c1], true)).unwrap();
    let t = tickets(&page2);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].order_id, "SUMMER-CCCC1");
    assert_eq!(
        plan::query(&page2.next[0], "modified_since").and_then(stamp::parse_us),
        Some(t2)
    );
    assert_eq!(plan::page_of(&page2.next[0]), 2);
    let cur3 = Cursor::parse(page2.cursor.as_deref());
    assert_eq!(
        cur3.events["summer"].seen,
        vec!["BBBB1".to_string(), "CCCC1".to_string()]
    );

    // The last page: no next request, the position stays.
    let c3 = RunContext {
        cursor: page2.cursor.clone(),
        ..c.clone()
    };
    let end = run_orders(&c3, &page2.next[0], &listing(vec![], false)).unwrap();
    assert!(end.next.is_empty());
    assert_eq!(
        Cursor::parse(end.cursor.as_deref()).events["summer"].lm,
        Some(t2)
    );
}

#[test]
fn the_full_reread_comes_round_after_its_period() {
    let mut cur = catalogued();
    {
        let st = cur.events.get_mut("summer").unwrap();
        st.lm = Some(1);
        st.full_at = Some(NOW - plan::FULL_SCAN_EVERY_SECS * 1000);
    }
    let c = ctx(Some(&cur));
    let s = plan::settings(&c).unwrap();
    let mut st = cur.events["summer"].clone();
    assert_eq!(
        plan::orders_start(&s, &c, "summer", &mut st).id,
        "full:summer"
    );
    assert!(st.scan.is_some());
    let mut c0 = c.clone();
    c0.settings
        .push(("full_scan_every_secs".into(), "0".into()));
    cur.events.get_mut("summer").unwrap().full_at = Some(NOW);
    let mut st = cur.events["summer"].clone();
    assert_eq!(
        plan::orders_start(&plan::settings(&c0).unwrap(), &c0, "summer", &mut st).id,
        "full:summer"
    );
    assert_eq!(
        manifest()
            .settings
            .iter()
            .find(|s| s.name == "full_scan_every_secs")
            .and_then(|s| s.default_value.clone()),
        Some(plan::FULL_SCAN_EVERY_SECS.to_string())
    );
}

#[test]
fn a_backfill_reads_its_window_and_moves_no_stream() {
    let cur = catalogued();
    let mut c = ctx(Some(&cur));
    c.since_ms = Some(1_790_000_000_000);
    c.until_ms = Some(1_791_000_000_000);
    let s = plan::settings(&c).unwrap();
    let mut st = cur.events["summer"].clone();
    let w = plan::orders_start(&s, &c, "summer", &mut st);
    assert_eq!(w.id, "window:summer");
    assert_eq!(
        plan::query(&w, "created_since").and_then(stamp::parse_us),
        Some(1_790_000_000_000_000)
    );
    assert_eq!(
        plan::query(&w, "created_before").and_then(stamp::parse_us),
        Some(1_791_000_000_000_000)
    );
    let page = run_orders(
        &c,
        &w,
        &listing(
            vec![order("WIND1", "p", vec![position(1, 1, "35.00")])],
            true,
        ),
    )
    .unwrap();
    assert_eq!(tickets(&page).len(), 1);
    assert_eq!(plan::page_of(&page.next[0]), 2);
    assert_eq!(Cursor::parse(page.cursor.as_deref()), cur);
}

#[test]
fn settings_and_configured_events_fail_clearly() {
    let mut c = ctx(None);
    c.settings.retain(|(k, _)| k != "organizer");
    assert!(
        matches!(begin_with(&mut FakeHost::default(), &c), Err(PluginError::Fatal(m)) if m.contains("organizer"))
    );
    let mut c = ctx(None);
    c.settings.push(("events".into(), "summer, win/ter".into()));
    assert!(
        matches!(begin_with(&mut FakeHost::default(), &c), Err(PluginError::Fatal(m)) if m.contains("win/ter"))
    );
    let mut c = ctx(None);
    c.settings
        .push(("full_scan_every_secs".into(), "soon".into()));
    assert!(
        matches!(begin_with(&mut FakeHost::default(), &c), Err(PluginError::Fatal(m)) if m.contains("full_scan_every_secs"))
    );

    let mut c = ctx(None);
    c.settings.push(("events".into(), "summer,gone".into()));
    let reqs = begin_with(&mut FakeHost::default(), &c).unwrap();
    assert_eq!(
        reqs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["event:summer", "event:gone"]
    );
    let missing = HttpResponse {
        status: 404,
        headers: vec![],
        body: b"{}".to_vec(),
    };
    let err = handle_with(&mut FakeHost::default(), &c, &reqs[1], &missing).unwrap_err();
    assert!(
        matches!(&err, PluginError::Fatal(m) if m.contains("`gone`") && m.contains("404")),
        "{err:?}"
    );
    let denied = HttpResponse {
        status: 401,
        headers: vec![],
        body: b"{\"detail\":\"Invalid token.\"}".to_vec(),
    };
    assert!(matches!(
        handle_with(&mut FakeHost::default(), &c, &reqs[0], &denied),
        Err(PluginError::Unauthorized(_))
    ));
}
