//! Native tests of the transform against the vendor's example pages and hand-written answers.

use std::borrow::Cow;

use boxoffice_plugin_sdk::host::FakeHost;
use boxoffice_plugin_sdk::{
    decode_records, money, Auth, Event, HttpResponse, Inventory, Item, PersonalId, PluginError,
    RunContext, Ticket, TicketStatus,
};
use serde_json::{json, Value};

use super::*;
use crate::plan::{Cursor, DAY_MS};

const ORDERS_PAGE: &str = include_str!("../../../tests/fixtures/vendors/qtickets_orders_page.json");
const EVENTS_PAGE: &str = include_str!("../../../tests/fixtures/vendors/qtickets_events_page.json");

/// 2025-11-09T00:00:00Z.
const NOW: i64 = 1_762_646_400_000;
const HOUR: i64 = 3_600_000;
const BASE: &str = "http://127.0.0.1:9999/api/rest/v1";

fn ctx(cursor: Option<&str>) -> RunContext {
    RunContext {
        account: "t".into(),
        settings: vec![("base_url".into(), format!("{BASE}/"))],
        cursor: cursor.map(Into::into),
        since_ms: None,
        until_ms: None,
        now_ms: NOW,
    }
}

fn with_setting(mut c: RunContext, k: &str, v: &str) -> RunContext {
    c.settings.retain(|(name, _)| name != k);
    c.settings.push((k.into(), v.into()));
    c
}

fn ok(body: &str) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

fn settings(c: &RunContext) -> plan::Settings {
    plan::settings(c).unwrap()
}

fn orders_req(c: &RunContext, start: u64, page: u64) -> HttpRequest {
    plan::orders_request(&settings(c), start, page)
}

fn handle(c: &RunContext, req: &HttpRequest, body: &str) -> Result<Page, PluginError> {
    Qtickets::handle(&mut FakeHost::default(), c, req, &ok(body))
}

/// The page's record blob, decoded as the host does.
fn items(p: &Page) -> Vec<Item<'_>> {
    decode_records(p.records.blob())
        .unwrap_or_else(|e| panic!("the page's records do not decode: {e}"))
}

fn tickets(p: &Page) -> Vec<Ticket<'_>> {
    items(p)
        .into_iter()
        .filter_map(|r| match r {
            Item::Ticket(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn events(p: &Page) -> Vec<Event<'_>> {
    items(p)
        .into_iter()
        .filter_map(|r| match r {
            Item::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn inventory(p: &Page) -> Inventory<'_> {
    let mut all = items(p);
    match (all.len(), all.pop()) {
        (1, Some(Item::Inventory(i))) => i,
        (n, _) => panic!("expected one inventory record, got {n} records"),
    }
}

/// The buyer identifier a ticket should carry for the host to pseudonymize.
fn pid(kind: &'static str, value: &'static str) -> Option<PersonalId<'static>> {
    Some(PersonalId {
        kind: kind.into(),
        value: value.into(),
    })
}

/// Takes every ticket's buyer out of `items` (so the rest can be searched for personal data),
/// as (order id, buyer) in page order.
fn take_buyers(items: &mut [Item<'_>]) -> Vec<(String, Option<PersonalId<'static>>)> {
    items
        .iter_mut()
        .filter_map(|r| match r {
            Item::Ticket(t) => Some((
                t.order_id.to_string(),
                t.buyer.take().map(|b| PersonalId {
                    kind: b.kind.into_owned().into(),
                    value: b.value.into_owned().into(),
                }),
            )),
            _ => None,
        })
        .collect()
}

/// How often `needle` occurs in the raw blob.
fn occurrences(blob: &[u8], needle: &str) -> usize {
    blob.windows(needle.len())
        .filter(|w| *w == needle.as_bytes())
        .count()
}

fn body_json(r: &HttpRequest) -> Value {
    serde_json::from_slice(r.body.as_deref().expect("a JSON body")).unwrap()
}

fn orders_page(v: &Value) -> String {
    v.to_string()
}

fn example_orders() -> Value {
    serde_json::from_str(ORDERS_PAGE).unwrap()
}

fn cursor_of(p: &Page) -> Cursor {
    Cursor::parse(p.cursor.as_deref()).expect("a cursor")
}

// ------------------------------------------------------------------ 1. orders example

#[test]
fn example_orders_page_maps_to_canonical_tickets() {
    let c = ctx(None);
    let page = handle(&c, &orders_req(&c, 0, 1), ORDERS_PAGE).unwrap();
    let t = tickets(&page);
    assert_eq!(items(&page).len(), 3, "tickets only");
    let ids: Vec<_> = t.iter().map(|t| &*t.ticket_id).collect();
    assert_eq!(ids, ["31000001", "31000002", "31000003"]);

    let buyer1 = pid("client", "500001");
    let buyer2 = pid("client", "500002");

    let a = &t[0];
    assert_eq!(
        (&*a.order_id, &*a.event_id, a.show_id.as_deref()),
        ("2000101", "90001", Some("95001"))
    );
    assert_eq!(a.status, TicketStatus::Valid);
    assert_eq!(a.category, "PARTERRE");
    assert_eq!(a.channel, "online");
    assert_eq!(
        (
            a.price_minor,
            a.service_fee_minor,
            a.buyer_fee_minor,
            a.producer_cost_minor,
            a.refunded_minor
        ),
        (150_000, 0, 0, 0, 0)
    );
    assert_eq!(a.currency, "RUB");
    assert_eq!(a.ordered_at_ms, 1_762_167_912_000, "payed_at, +03:00");
    assert_eq!(
        a.updated_at_ms, 1_762_327_231_000,
        "the order's updated_at is the later one"
    );
    assert_eq!((a.scanned_at_ms, a.refunded_at_ms), (None, None));
    assert_eq!(a.buyer, buyer1, "the client id, not the e-mail");
    assert_eq!(a.region, None);
    assert_eq!(
        (a.utm_source.as_deref(), a.utm_medium.as_deref()),
        (None, None)
    );
    assert_eq!(a.utm_campaign, None);
    assert_eq!(a.payment_method.as_deref(), Some("card"));
    assert!(a.visibility.is_empty());

    let r = &t[1];
    assert_eq!(r.status, TicketStatus::Refunded);
    assert_eq!(r.category, "PARTERRE");
    assert_eq!((r.price_minor, r.refunded_minor), (150_000, 135_000));
    assert_eq!(r.price_minor - r.refunded_minor, 15_000, "kept deduction");
    assert_eq!(r.refunded_at_ms, Some(1_762_327_231_000));
    assert_eq!(r.buyer, buyer1);

    let s = &t[2];
    assert_eq!(
        (&*s.order_id, &*s.event_id, s.show_id.as_deref()),
        ("2000102", "90002", Some("95101"))
    );
    assert_eq!(s.status, TicketStatus::Valid);
    assert_eq!(s.category, "DANCEFLOOR");
    assert_eq!(s.price_minor, 90_000);
    assert_eq!(s.scanned_at_ms, Some(1_762_617_320_000));
    assert_eq!(
        s.updated_at_ms, 1_762_617_322_000,
        "a scan bumps only the basket's updated_at"
    );
    assert_eq!(s.ordered_at_ms, 1_762_274_463_000);
    assert_eq!(
        (
            s.utm_source.as_deref(),
            s.utm_medium.as_deref(),
            s.utm_campaign.as_deref()
        ),
        (Some("example"), Some("cpc"), Some("autumn_demo"))
    );
    assert_eq!(s.buyer, buyer2);
    assert_ne!(buyer1, buyer2);

    assert!(page.next.is_empty(), "total 2 fits one page of 50");
    let cur = cursor_of(&page);
    assert_eq!(cur.last_id, 2_000_102);
    assert_eq!(
        cur.marks,
        vec![
            (1_762_128_000_000, 2_000_101),
            (1_762_214_400_000, 2_000_102)
        ]
    );
    assert_eq!(
        cur.reconciled_at,
        Some(NOW),
        "a pass from 0 read to its end"
    );
    assert_eq!(
        page.cursor.as_deref(),
        Some(
            r#"{"last_id":2000102,"marks":[[1762128000000,2000101],[1762214400000,2000102]],"reconciled_at":1762646400000}"#
        )
    );
}

// ------------------------------------------------------------------ 2. nothing personal

#[test]
fn nothing_personal_is_emitted() {
    let c = ctx(None);
    let page = handle(&c, &orders_req(&c, 0, 1), ORDERS_PAGE).unwrap();
    // The buyer is the one personal field: the vendor's client id, for the host to
    // pseudonymize. Everything else is searched with it taken out.
    let mut all = items(&page);
    let buyers = take_buyers(&mut all);
    assert_eq!(
        buyers,
        [
            ("2000101".to_string(), pid("client", "500001")),
            ("2000101".to_string(), pid("client", "500001")),
            ("2000102".to_string(), pid("client", "500002")),
        ]
    );
    let dump = format!("{:?} {:?} {:?}", all, page.next, page.cursor);
    for secret in [
        "ivan.example@example.com",
        "i.example@example.com",
        "+79000000000",
        "Ivan",
        "Example",
        "870000000001",
        "870000000002",
        "870000000003",
        "Ex4mpLe0A1",
        "Ex4mpLe0B2",
        "400000******0002",
        "tickets.example.com",
        "pdf",
        "passbook",
        "cancel-order",
        "500001",
        "500002",
        "7000001",
    ] {
        assert!(!dump.contains(secret), "{secret} leaked: {dump}");
    }
    // Each client id crosses exactly once per ticket of its order: as that buyer's value.
    assert_eq!(occurrences(page.records.blob(), "500001"), 2);
    assert_eq!(occurrences(page.records.blob(), "500002"), 1);
    assert_eq!(occurrences(page.records.blob(), "example.com"), 0);
}

/// Replaces every string of `v` equal to one of `from` with `to`.
fn replace_strings(v: &mut Value, from: &[&str], to: &str) {
    match v {
        Value::String(s) if from.contains(&s.as_str()) => *s = to.to_string(),
        Value::Array(a) => a.iter_mut().for_each(|x| replace_strings(x, from, to)),
        Value::Object(o) => o.values_mut().for_each(|x| replace_strings(x, from, to)),
        _ => {}
    }
}

#[test]
fn canary_contacts_cross_only_as_the_email_buyer() {
    const EMAIL: &str = "canary.name@example.invalid";
    const PHONE: &str = "+00 000 CANARY";
    let c = ctx(None);
    let mut v = example_orders();
    replace_strings(
        &mut v,
        &["ivan.example@example.com", "i.example@example.com"],
        EMAIL,
    );
    replace_strings(&mut v, &["+79000000000"], PHONE);
    let body = orders_page(&v);
    assert!(body.matches(EMAIL).count() >= 4 && body.matches(PHONE).count() >= 4);

    // With client ids, neither crosses at all.
    let page = handle(&c, &orders_req(&c, 0, 1), &body).unwrap();
    for canary in [EMAIL, PHONE, "CANARY", "canary"] {
        assert_eq!(
            occurrences(page.records.blob(), canary),
            0,
            "{canary} crossed"
        );
    }

    // Order 1 without a client id: its e-mail (trimmed, lower-cased) is the buyer of both its
    // tickets, and appears nowhere else.
    v["data"][0]["client_id"] = Value::Null;
    v["data"][0]["client"]["email"] = json!("  Canary.Name@EXAMPLE.invalid ");
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    let mut all = items(&page);
    let buyers = take_buyers(&mut all);
    assert_eq!(
        buyers,
        [
            ("2000101".to_string(), pid("email", EMAIL)),
            ("2000101".to_string(), pid("email", EMAIL)),
            ("2000102".to_string(), pid("client", "500002")),
        ]
    );
    assert_eq!(occurrences(page.records.blob(), EMAIL), 2, "once per buyer");
    assert_eq!(occurrences(page.records.blob(), PHONE), 0);
    let dump = format!("{:?} {:?} {:?}", all, page.next, page.cursor).to_lowercase();
    assert!(!dump.contains("canary"), "{dump}");
}

#[test]
fn buyer_falls_back_to_the_email_pseudonym_then_none() {
    let c = ctx(None);
    let mut v = example_orders();
    v["data"][0]["client_id"] = Value::Null;
    v["data"][1]["client_id"] = Value::Null;
    v["data"][1]["client"] = json!([]);
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    let t = tickets(&page);
    let email = pid("email", "ivan.example@example.com");
    assert_eq!(t[0].buyer, email);
    assert_eq!(t[1].buyer, email);
    assert_eq!(t[2].buyer, None);
    let mut all = items(&page);
    take_buyers(&mut all);
    assert!(!format!("{all:?}").contains("example.com"));

    // The e-mail is trimmed and lower-cased; an empty one is no buyer; a client id, even a
    // string one, wins over the e-mail.
    v["data"][0]["client"]["email"] = json!(" Ivan.Example@EXAMPLE.com\t");
    v["data"][1]["client"] = json!({"email": "   "});
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    let t = tickets(&page);
    assert_eq!(t[0].buyer, email);
    assert_eq!(t[2].buyer, None);
    v["data"][0]["client_id"] = json!(" c-77 ");
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    assert_eq!(tickets(&page)[0].buyer, pid("client", "c-77"));
}

#[test]
fn borrowed_normalisation_matches_the_allocating_one() {
    for s in [
        "ivan@example.com",
        "Ivan@Example.COM",
        "ΣΑΣ@x",
        "όσος",
        "İstanbul",
        "ǅemal",
        "straße",
        "",
    ] {
        let l = orders::lowercase(s);
        assert_eq!(l, s.to_lowercase(), "{s}");
        assert_eq!(matches!(l, Cow::Borrowed(_)), s == s.to_lowercase(), "{s}");
    }
    for code in ["RUB", " eur ", "Usd", ""] {
        let c = money::currency(code);
        assert_eq!(c, code.trim().to_ascii_uppercase(), "{code}");
        assert_eq!(matches!(c, Cow::Borrowed(_)), code.trim() == c, "{code}");
    }
}

// ------------------------------------------------------------------ status, money, quantity

#[test]
fn statuses_channels_and_decimal_prices() {
    let c = ctx(None);
    let mut v = example_orders();
    // Order 1 cancelled: every basket canceled, whatever its refund state.
    v["data"][0]["deleted_at"] = json!("2025-11-06T10:00:00+03:00");
    // Order 2 unpaid, sold at the box office, a kopeck price, a service fee.
    v["data"][1]["payed"] = json!(false);
    v["data"][1]["payed_at"] = Value::Null;
    v["data"][1]["backend_user_id"] = json!(42);
    v["data"][1]["currency_id"] = json!("eur");
    v["data"][1]["baskets"][0]["price"] = json!(1222.03);
    v["data"][1]["baskets"][0]["service_fee_amount"] = json!(50.5);
    v["data"][1]["baskets"][0]["seat_id"] = Value::Null;
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    let t = tickets(&page);
    assert_eq!(t[0].status, TicketStatus::Canceled);
    assert_eq!(t[1].status, TicketStatus::Canceled);
    let p = &t[2];
    assert_eq!(p.status, TicketStatus::Pending);
    assert_eq!(p.channel, "box_office");
    assert_eq!(p.currency, "EUR");
    assert_eq!((p.price_minor, p.service_fee_minor), (122_203, 5_050));
    assert_eq!(p.category, "general");
    assert_eq!(
        p.ordered_at_ms,
        time::parse_ms("2025-11-04T19:40:12+03:00").unwrap(),
        "unpaid: ordered at creation"
    );

    // A refunded basket without an amount is refunded in full; a basket deleted alone is
    // canceled.
    let mut v = example_orders();
    v["data"][0]["baskets"][1]["refunded_amount"] = Value::Null;
    v["data"][0]["baskets"][0]["deleted_at"] = json!("2025-11-06T10:00:00+03:00");
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    let t = tickets(&page);
    assert_eq!(t[0].status, TicketStatus::Canceled);
    assert_eq!(
        (t[1].status, t[1].refunded_minor),
        (TicketStatus::Refunded, 150_000)
    );
}

#[test]
fn a_basket_of_two_is_two_tickets_with_the_price_split() {
    let c = ctx(None);
    let mut v = example_orders();
    let b = &mut v["data"][1]["baskets"][0];
    b["quantity"] = json!(2);
    b["price"] = json!(1000.01);
    b["service_fee_amount"] = json!(3);
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    let t = tickets(&page);
    assert_eq!(t.len(), 4);
    let pair: Vec<_> = t[2..]
        .iter()
        .map(|t| (&*t.ticket_id, t.price_minor, t.service_fee_minor))
        .collect();
    assert_eq!(
        pair,
        [("31000003-1", 50_001, 150), ("31000003-2", 50_000, 150)]
    );
    assert!(t[2..].iter().all(|t| t.order_id == "2000102"
        && t.category == "DANCEFLOOR"
        && t.scanned_at_ms.is_some()));
}

#[test]
fn category_and_split_helpers() {
    assert_eq!(orders::category(Some("PARTERRE-3;7")), "PARTERRE");
    assert_eq!(orders::category(Some("VIP")), "VIP");
    assert_eq!(orders::category(Some("")), "general");
    assert_eq!(orders::category(None), "general");
    assert_eq!(orders::split(1001, 3).collect::<Vec<_>>(), [335, 333, 333]);
    assert_eq!(orders::split(7, 1).collect::<Vec<_>>(), [7]);
}

#[test]
fn missing_currency_and_garbage_are_bad_responses() {
    let c = ctx(None);
    let mut v = example_orders();
    v["data"][1].as_object_mut().unwrap().remove("currency_id");
    let e = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("order 2000102") && m.contains("currency_id") && m.contains("GET http://127.0.0.1:9999/api/rest/v1/orders")),
        "{e:?}"
    );
    let mut v = example_orders();
    v["data"][0]["created_at"] = json!("yesterday");
    let e = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("order 2000101") && m.contains("created_at")),
        "{e:?}"
    );
    let e = handle(&c, &orders_req(&c, 0, 1), "{\"data\":[{\"id\":1").unwrap_err();
    assert!(matches!(e, PluginError::BadResponse(_)));
    let e = handle(&c, &orders_req(&c, 0, 1), r#"{"data":[]}"#).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("paging")),
        "{e:?}"
    );
}

// ------------------------------------------------------------------ 3. events

#[test]
fn example_events_page_gives_events_and_seats_requests() {
    let c = ctx(None);
    let req = plan::events_request(&settings(&c), 1);
    let page = handle(&c, &req, EVENTS_PAGE).unwrap();
    let e = events(&page);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].event_id, "90001");
    assert_eq!(e[0].name, "Example Chamber Concert");
    assert_eq!(e[0].city.as_deref(), Some("Москва"));
    assert_eq!(e[0].venue.as_deref(), Some("Example Hall"));
    assert_eq!(
        e[0].starts_at_ms,
        Some(1_765_036_800_000),
        "earliest show start"
    );
    assert_eq!(
        e[0].ends_at_ms,
        Some(1_765_116_000_000),
        "latest show finish"
    );
    assert_eq!(e[0].canceled_at_ms, None);
    assert_eq!(e[0].updated_at_ms, 1_759_386_600_000);
    assert_eq!(e[1].city.as_deref(), Some("Новосибирск"));
    assert_eq!(e[1].venue.as_deref(), Some("Example Club"));
    assert_eq!(
        e[1].updated_at_ms,
        time::parse_ms("2025-11-09T01:00:05+03:00").unwrap()
    );
    assert_eq!(
        (e[1].starts_at_ms, e[1].ends_at_ms),
        (
            time::parse_ms("2025-11-08T19:00:00+03:00"),
            time::parse_ms("2025-11-09T01:00:00+03:00")
        )
    );

    let ids: Vec<_> = page.next.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "aux:seats:90001:95001",
            "aux:seats:90001:95002",
            "aux:seats:90002:95101"
        ]
    );
    let s = &page.next[2];
    assert_eq!(s.url, format!("{BASE}/shows/95101/seats"));
    assert_eq!(s.method, "GET");
    assert!(s.query.is_empty());
    assert_eq!(
        body_json(s),
        json!({"select":["id","root_id","zone_id","admission","max_quantity","free_quantity","payed_quantity","disabled"],"flat":true})
    );
    assert_eq!(cursor_of(&page).inventory_at, Some(NOW), "last events page");
}

#[test]
fn deleted_events_and_shows_get_no_seats_requests() {
    let c = ctx(None);
    let mut v: Value = serde_json::from_str(EVENTS_PAGE).unwrap();
    v["data"][0]["shows"][1]["deleted_at"] = json!("2025-11-01T10:00:00+03:00");
    v["data"][1]["deleted_at"] = json!("2025-11-02T10:00:00+03:00");
    v["paging"] = json!({"perPage":2,"currentPage":1,"total":5});
    let req = plan::events_request(&settings(&c), 1);
    let page = handle(&c, &req, &v.to_string()).unwrap();
    let e = events(&page);
    assert_eq!(e.len(), 2);
    assert_eq!(
        e[0].ends_at_ms,
        time::parse_ms("2025-12-06T21:00:00+03:00"),
        "deleted shows do not date the event"
    );
    assert_eq!(
        e[1].canceled_at_ms,
        time::parse_ms("2025-11-02T10:00:00+03:00")
    );
    let ids: Vec<_> = page.next.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["aux:events", "aux:seats:90001:95001"]);
    assert_eq!(body_json(&page.next[0])["page"], json!(2));
    assert_eq!(cursor_of(&page).inventory_at, None, "not the last page");
}

// ------------------------------------------------------------------ 4. seats

fn seats_req(c: &RunContext) -> HttpRequest {
    plan::seats_request(&settings(c), 90001, 95001)
}

#[test]
fn seats_are_deduplicated_by_root_and_skip_disabled() {
    let c = ctx(None);
    let body = r#"{"data":{
      "PARTERRE-1;1":{"id":"PARTERRE-1;1","root_id":"PARTERRE-1;1","zone_id":"PARTERRE","admission":false,"max_quantity":1,"free_quantity":0,"payed_quantity":1,"disabled":false},
      "full_PARTERRE-1;1":{"id":"full_PARTERRE-1;1","root_id":"PARTERRE-1;1","zone_id":"PARTERRE","admission":false,"max_quantity":1,"free_quantity":0,"payed_quantity":1,"disabled":false},
      "PARTERRE-1;2":{"id":"PARTERRE-1;2","root_id":"PARTERRE-1;2","zone_id":"PARTERRE","admission":false,"max_quantity":1,"free_quantity":1,"payed_quantity":0,"disabled":false},
      "PARTERRE-1;3":{"id":"PARTERRE-1;3","root_id":"PARTERRE-1;3","zone_id":"PARTERRE","admission":false,"max_quantity":1,"free_quantity":1,"payed_quantity":0,"disabled":true},
      "DANCEFLOOR-1;1":{"id":"DANCEFLOOR-1;1","root_id":"DANCEFLOOR-1;1","zone_id":"DANCEFLOOR","admission":true,"max_quantity":300,"free_quantity":120,"payed_quantity":170,"disabled":false}
    }}"#;
    let page = handle(&c, &seats_req(&c), body).unwrap();
    let i = inventory(&page);
    assert_eq!((&*i.event_id, &*i.show_id), ("90001", "95001"));
    assert_eq!(i.captured_at_ms, NOW);
    assert_eq!(
        (i.capacity, i.available, i.sold),
        (Some(302), Some(121), Some(171))
    );
    assert!(page.next.is_empty());

    // No seats at all.
    let page = handle(&c, &seats_req(&c), r#"{"data":[]}"#).unwrap();
    let i = inventory(&page);
    assert_eq!(
        (i.capacity, i.available, i.sold),
        (Some(0), Some(0), Some(0))
    );

    // `flat` ignored: zones holding their seats give the same figures.
    let nested = r#"{"data":{"PARTERRE":{"zone_id":"PARTERRE","name":"P","seats":{
        "1;1":{"root_id":"PARTERRE-1;1","max_quantity":1,"free_quantity":0,"payed_quantity":1,"disabled":false},
        "1;2":{"root_id":"PARTERRE-1;2","max_quantity":1,"free_quantity":1,"payed_quantity":0,"disabled":0}}},
      "DANCEFLOOR":{"zone_id":"DANCEFLOOR","seats":{"1;1":{"root_id":"DANCEFLOOR-1;1","max_quantity":300,"free_quantity":120,"payed_quantity":170,"disabled":false}}}}}"#;
    let page = handle(&c, &seats_req(&c), nested).unwrap();
    let i = inventory(&page);
    assert_eq!(
        (i.capacity, i.available, i.sold),
        (Some(302), Some(121), Some(171))
    );
}

#[test]
fn html_answers_are_wrong_paths() {
    let c = ctx(None);
    let html = |status: u16, ct: Option<&str>| HttpResponse {
        status,
        headers: ct
            .map(|v| vec![("content-type".to_string(), v.to_string())])
            .unwrap_or_default(),
        body: b"<!DOCTYPE html><html><body>404 Not Found</body></html>".to_vec(),
    };
    for resp in [
        html(404, Some("text/html; charset=UTF-8")),
        html(200, Some("text/html")),
        html(200, None),
    ] {
        let e = Qtickets::handle(&mut FakeHost::default(), &c, &seats_req(&c), &resp).unwrap_err();
        assert!(
            matches!(&e, PluginError::BadResponse(m) if m.contains("HTML") && m.contains("wrong path") && m.contains("/shows/95001/seats") && !m.contains("DOCTYPE")),
            "{e:?}"
        );
    }
}

#[test]
fn statuses_map_to_plugin_errors() {
    let c = ctx(None);
    let req = orders_req(&c, 0, 1);
    let resp = |status: u16, body: &str| HttpResponse {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    };
    let e = Qtickets::handle(
        &mut FakeHost::default(),
        &c,
        &req,
        &resp(
            503,
            r#"{"error":"Unknown error","status":503,"code":"UNKNOWN_ERROR","info":[]}"#,
        ),
    )
    .unwrap_err();
    assert!(matches!(e, PluginError::RetryLater(_)), "{e:?}");
    let e = Qtickets::handle(&mut FakeHost::default(), &c, &req, &resp(403, "{}")).unwrap_err();
    assert!(matches!(e, PluginError::Unauthorized(_)), "{e:?}");
    let e = Qtickets::handle(
        &mut FakeHost::default(),
        &c,
        &req,
        &resp(
            404,
            r#"{"error":"Resource \"Order\" not found","status":404}"#,
        ),
    )
    .unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("404") && m.contains("/orders")),
        "{e:?}"
    );
}

// ------------------------------------------------------------------ 5. cursor and plan

/// Day starts relative to NOW (2025-11-09T00:00Z): `day(-3)` = 2025-11-06.
fn day(n: i64) -> i64 {
    NOW + n * DAY_MS
}

#[test]
fn no_cursor_reads_everything_and_the_inventory() {
    let c = ctx(None);
    let reqs = Qtickets::begin(&mut FakeHost::default(), &c).unwrap();
    let ids: Vec<_> = reqs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["orders", "aux:events"]);
    let o = &reqs[0];
    assert_eq!(
        (o.method.as_str(), o.url.as_str()),
        ("GET", "http://127.0.0.1:9999/api/rest/v1/orders")
    );
    assert!(o.query.is_empty(), "filters never go in the query string");
    assert!(matches!(&o.auth, Auth::BearerHeader(s) if s == "token"));
    for h in ["Accept", "Content-Type"] {
        assert!(o
            .headers
            .contains(&(h.to_string(), "application/json".to_string())));
    }
    assert_eq!(
        std::str::from_utf8(o.body.as_deref().unwrap()).unwrap(),
        r#"{"orderBy":{"id":"asc"},"page":1}"#
    );
    assert_eq!(
        std::str::from_utf8(reqs[1].body.as_deref().unwrap()).unwrap(),
        r#"{"orderBy":{"id":"asc"},"page":1}"#
    );
    assert_eq!(reqs[1].url, format!("{BASE}/events"));
}

fn marked_cursor(reconciled_at: i64) -> String {
    Cursor {
        last_id: 300,
        marks: vec![
            (day(-5), 100),
            (day(-4), 150),
            (day(-3), 200),
            (day(-1), 260),
        ],
        inventory_at: Some(NOW - 60_000),
        reconciled_at: Some(reconciled_at),
        ..Default::default()
    }
    .encode()
}

#[test]
fn a_recent_reconcile_starts_at_the_lookback_mark() {
    // now − 72 h = day(−3) 00:00, whose mark is 200: START = 199.
    let c = ctx(Some(&marked_cursor(NOW - HOUR)));
    let reqs = Qtickets::begin(&mut FakeHost::default(), &c).unwrap();
    assert_eq!(reqs.len(), 1, "inventory is not due");
    assert_eq!(
        std::str::from_utf8(reqs[0].body.as_deref().unwrap()).unwrap(),
        r#"{"where":[{"column":"id","operator":">","value":199}],"orderBy":{"id":"asc"},"page":1}"#
    );
    // A 100-hour lookback starts inside day(−5) (mark 100).
    let c = with_setting(
        ctx(Some(&marked_cursor(NOW - HOUR))),
        "lookback_hours",
        "100",
    );
    let reqs = Qtickets::begin(&mut FakeHost::default(), &c).unwrap();
    assert_eq!(body_json(&reqs[0])["where"][0]["value"], json!(99));
    // Never above last_id.
    let raw = Cursor {
        last_id: 50,
        marks: vec![(day(-4), 100)],
        inventory_at: Some(NOW),
        reconciled_at: Some(NOW),
        ..Default::default()
    }
    .encode();
    let reqs = Qtickets::begin(&mut FakeHost::default(), &ctx(Some(&raw))).unwrap();
    assert_eq!(body_json(&reqs[0])["where"][0]["value"], json!(50));
}

#[test]
fn a_due_reconcile_starts_at_zero() {
    let c = ctx(Some(&marked_cursor(NOW - 25 * HOUR)));
    let reqs = Qtickets::begin(&mut FakeHost::default(), &c).unwrap();
    assert!(body_json(&reqs[0]).get("where").is_none());
    let c = with_setting(
        ctx(Some(&marked_cursor(NOW - 1000))),
        "reconcile_every_hours",
        "0",
    );
    let reqs = Qtickets::begin(&mut FakeHost::default(), &c).unwrap();
    assert!(body_json(&reqs[0]).get("where").is_none(), "0 = every run");
    // An unreadable cursor is no cursor.
    let reqs = Qtickets::begin(&mut FakeHost::default(), &ctx(Some("garbage"))).unwrap();
    assert!(body_json(&reqs[0]).get("where").is_none());
    assert_eq!(reqs.len(), 2);
}

#[test]
fn a_backfill_starts_at_the_mark_before_since_or_zero() {
    let mut c = ctx(Some(&marked_cursor(NOW - HOUR)));
    c.since_ms = Some(day(-4) + 5 * HOUR);
    let reqs = Qtickets::begin(&mut FakeHost::default(), &c).unwrap();
    assert_eq!(body_json(&reqs[0])["where"][0]["value"], json!(149));
    assert_eq!(reqs.len(), 2, "a backfill reads the inventory too");
    c.since_ms = Some(day(-30));
    let reqs = Qtickets::begin(&mut FakeHost::default(), &c).unwrap();
    assert!(body_json(&reqs[0]).get("where").is_none());
}

#[test]
fn ids_at_or_below_start_mean_the_filter_was_ignored() {
    let c = ctx(None);
    let e = handle(&c, &orders_req(&c, 2_000_101, 1), ORDERS_PAGE).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("ignored the id filter") && m.contains("2000101")),
        "{e:?}"
    );
    let page = handle(&c, &orders_req(&c, 2_000_100, 1), ORDERS_PAGE).unwrap();
    assert_eq!(tickets(&page).len(), 3);
    assert_eq!(cursor_of(&page).reconciled_at, None, "not a pass from 0");
    // Descending ids are refused too.
    let mut v = example_orders();
    let data = v["data"].as_array_mut().unwrap();
    data.reverse();
    let e = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("ascending")),
        "{e:?}"
    );
}

#[test]
fn paging_continues_while_pages_remain() {
    let c = ctx(None);
    let mut v = example_orders();
    v["paging"] = json!({"perPage":2,"currentPage":1,"total":5});
    let page = handle(&c, &orders_req(&c, 7, 1), &orders_page(&v)).unwrap();
    assert_eq!(page.next.len(), 1);
    assert_eq!(
        std::str::from_utf8(page.next[0].body.as_deref().unwrap()).unwrap(),
        r#"{"where":[{"column":"id","operator":">","value":7}],"orderBy":{"id":"asc"},"page":2}"#
    );
    assert!(page.cursor.is_some(), "every page commits its progress");

    // Page 3 of 5 rows by 2: 6 ≥ 5, the end; a pass from 0 is then reconciled.
    v["paging"] = json!({"perPage":2,"currentPage":3,"total":5});
    let page = handle(&c, &orders_req(&c, 0, 3), &orders_page(&v)).unwrap();
    assert!(page.next.is_empty());
    assert_eq!(cursor_of(&page).reconciled_at, Some(NOW));

    // Exactly full: 2 × 2 = 4 rows, nothing after page 2.
    v["paging"] = json!({"perPage":2,"currentPage":2,"total":4});
    let page = handle(&c, &orders_req(&c, 7, 2), &orders_page(&v)).unwrap();
    assert!(
        page.next.is_empty(),
        "currentPage*perPage == total is the end"
    );

    // Page 2 of a pass from 0, more to come: not reconciled yet.
    v["paging"] = json!({"perPage":2,"currentPage":2,"total":5});
    let page = handle(&c, &orders_req(&c, 0, 2), &orders_page(&v)).unwrap();
    assert_eq!(page.next.len(), 1);
    assert_eq!(cursor_of(&page).reconciled_at, None);

    // An empty page ends paging whatever `total` says.
    let empty = r#"{"data":[],"paging":{"perPage":50,"currentPage":4,"total":500}}"#;
    let page = handle(&c, &orders_req(&c, 0, 4), empty).unwrap();
    assert!(page.next.is_empty());

    // A page other than the one asked for would loop forever.
    v["paging"] = json!({"perPage":2,"currentPage":1,"total":5});
    let e = handle(&c, &orders_req(&c, 0, 2), &orders_page(&v)).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("ignored the page")),
        "{e:?}"
    );
}

#[test]
fn a_backfill_stops_at_until() {
    let mut c = ctx(None);
    // Between the two orders' created_at.
    c.until_ms = time::parse_ms("2025-11-04T00:00:00+03:00");
    let mut v = example_orders();
    v["paging"] = json!({"perPage":2,"currentPage":1,"total":5});
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    let t = tickets(&page);
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|t| t.order_id == "2000101"));
    assert!(page.next.is_empty(), "past until: no further page");
    let cur = cursor_of(&page);
    assert_eq!(cur.last_id, 2_000_101);
    assert_eq!(cur.reconciled_at, None, "stopped early");
}

#[test]
fn cursor_marks_keep_the_minimum_per_day_and_are_pruned() {
    let mut cur = Cursor::default();
    cur.mark(day(-10) + 5, 50);
    cur.mark(day(-9) + 5, 60);
    cur.mark(day(-2) + 5, 90);
    cur.mark(day(-2) + 9, 80);
    cur.mark(day(-1), 95);
    assert_eq!(
        cur.marks,
        vec![(day(-10), 50), (day(-9), 60), (day(-2), 80), (day(-1), 95)]
    );
    // Lookback 72 h from NOW: window from day(−3), marks kept from day(−5), plus the latest
    // older one.
    let s = settings(&ctx(None));
    cur.prune(s.marks_cutoff(NOW));
    assert_eq!(cur.marks, vec![(day(-9), 60), (day(-2), 80), (day(-1), 95)]);
    assert_eq!(cur.mark_at_or_before(day(-3)), Some((day(-9), 60)));
    let round = Cursor::parse(Some(&cur.encode())).unwrap();
    assert_eq!(round, cur);

    // Orders pages merge into the committed cursor.
    let committed = Cursor {
        last_id: 2_000_500,
        marks: vec![(1_762_128_000_000, 1_999_000)],
        inventory_at: Some(1),
        reconciled_at: Some(2),
        ..Default::default()
    };
    let c = ctx(Some(&committed.encode()));
    let page = handle(&c, &orders_req(&c, 1_999_999, 1), ORDERS_PAGE).unwrap();
    let cur = cursor_of(&page);
    assert_eq!(cur.last_id, 2_000_500, "never lowered");
    assert_eq!(
        cur.marks,
        vec![
            (1_762_128_000_000, 1_999_000),
            (1_762_214_400_000, 2_000_102)
        ]
    );
    assert_eq!((cur.inventory_at, cur.reconciled_at), (Some(1), Some(2)));
}

#[test]
fn bad_settings_are_fatal() {
    for (k, v) in [
        ("lookback_hours", "three days"),
        ("reconcile_every_hours", "-1"),
        ("inventory_every_secs", "1.5"),
        ("base_url", "qtickets.ru/api"),
    ] {
        let c = with_setting(ctx(None), k, v);
        let e = Qtickets::begin(&mut FakeHost::default(), &c).unwrap_err();
        assert!(
            matches!(&e, PluginError::Fatal(m) if m.contains(k)),
            "{k}: {e:?}"
        );
    }
}

#[test]
fn manifest_declares_hosts_secret_and_settings() {
    let m = Qtickets::manifest();
    assert_eq!((m.id.as_str(), m.vendor.as_str()), ("qtickets", "QTickets"));
    assert_eq!(m.allowed_hosts, ["qtickets.ru", "qtickets.app"]);
    assert_eq!(m.secrets, ["token"]);
    assert_eq!(
        (m.default_interval_secs, m.max_requests_per_minute),
        (900, 120)
    );
    let names: Vec<_> = m.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "base_url",
            "lookback_hours",
            "reconcile_every_hours",
            "inventory_every_secs",
            "webhooks",
            "reconcile_lookback_minutes"
        ]
    );
    assert!(m.settings.iter().all(|s| !s.required));
}

// ------------------------------------------------------------------ 6. optional fields

/// The keys `docs/vendor-fields.md` lists as required or kept (meaning-bearing null) per
/// object; every other key is optional and may be absent or null.
const ORDER_KEEP: &[&str] = &[
    "id",
    "payed",
    "event_id",
    "currency_id",
    "baskets",
    "created_at",
    "updated_at",
    "deleted_at",
    "backend_user_id",
];
const BASKET_KEEP: &[&str] = &[
    "id",
    "show_id",
    "price",
    "deleted_at",
    "refunded_at",
    "refunded_amount",
    "checked_at",
];
const EVENT_KEEP: &[&str] = &["id", "name", "shows", "deleted_at"];
const SHOW_KEEP: &[&str] = &["id", "deleted_at"];
const SEAT_KEEP: &[&str] = &["id", "disabled"];

/// How the optional keys of an object are made to go missing.
#[derive(Clone, Copy, Debug)]
enum Missing {
    Absent,
    Null,
}

fn strip(obj: &mut Value, keep: &[&str], how: Missing) {
    let o = obj.as_object_mut().expect("an object");
    let optional: Vec<String> = o
        .keys()
        .filter(|k| !keep.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in optional {
        match how {
            Missing::Absent => {
                o.remove(&k);
            }
            Missing::Null => {
                o.insert(k, Value::Null);
            }
        }
    }
}

fn orders_without_optional(how: Missing) -> Value {
    let mut v = example_orders();
    for o in v["data"].as_array_mut().unwrap() {
        for b in o["baskets"].as_array_mut().unwrap() {
            strip(b, BASKET_KEEP, how);
        }
        strip(o, ORDER_KEEP, how);
    }
    v
}

#[test]
fn orders_without_optional_fields_give_the_same_tickets_with_unknowns() {
    let c = ctx(None);
    let full = handle(&c, &orders_req(&c, 0, 1), ORDERS_PAGE).unwrap();
    let full = tickets(&full);
    for how in [Missing::Absent, Missing::Null] {
        let v = orders_without_optional(how);
        let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v))
            .unwrap_or_else(|e| panic!("{how:?}: {e:?}"));
        let t = tickets(&page);
        let key = |t: &Ticket| {
            (
                t.ticket_id.to_string(),
                t.order_id.to_string(),
                t.event_id.to_string(),
                t.show_id.as_deref().map(str::to_string),
                t.status,
                t.price_minor,
                t.refunded_minor,
                t.currency.to_string(),
                t.scanned_at_ms,
                t.refunded_at_ms,
            )
        };
        assert_eq!(
            t.iter().map(key).collect::<Vec<_>>(),
            full.iter().map(key).collect::<Vec<_>>(),
            "{how:?}: the figures do not depend on optional fields"
        );
        for (t, f) in t.iter().zip(&full) {
            assert_eq!(t.buyer, None, "{how:?}: buyer unknown");
            assert_eq!(t.payment_method, None, "{how:?}");
            assert_eq!((&t.utm_source, &t.utm_campaign), (&None, &None), "{how:?}");
            assert_eq!(t.category, "general", "{how:?}: no seat_id, no zone");
            assert_eq!(t.service_fee_minor, 0, "{how:?}");
            // No `payed_at`: the order's creation stands in for the sale time.
            assert!(t.ordered_at_ms <= f.ordered_at_ms, "{how:?}");
        }
        assert_eq!(cursor_of(&page).last_id, 2_000_102, "{how:?}");
    }
}

#[test]
fn payed_absent_or_null_falls_back_to_payed_at() {
    let c = ctx(None);
    for how in [Missing::Absent, Missing::Null] {
        let mut v = example_orders();
        for o in v["data"].as_array_mut().unwrap() {
            match how {
                Missing::Absent => o.as_object_mut().unwrap().remove("payed"),
                Missing::Null => o
                    .as_object_mut()
                    .unwrap()
                    .insert("payed".into(), Value::Null),
            };
        }
        v["data"][1]["payed_at"] = Value::Null;
        let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
        let st: Vec<_> = tickets(&page).iter().map(|t| t.status).collect();
        assert_eq!(
            st,
            [
                TicketStatus::Valid,
                TicketStatus::Refunded,
                TicketStatus::Pending
            ],
            "{how:?}: paid when `payed_at` is set, else pending"
        );
    }
}

#[test]
fn a_missing_required_field_names_the_record_and_the_field() {
    let c = ctx(None);
    // Unreadable as a record: the index.
    let mut v = example_orders();
    v["data"][1].as_object_mut().unwrap().remove("id");
    let e = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("record 1") && m.contains("`id`")),
        "{e:?}"
    );
    // Readable but incomplete: the record's id.
    for (field, basket) in [
        ("event_id", false),
        ("updated_at", false),
        ("show_id", true),
        ("price", true),
    ] {
        let mut v = example_orders();
        let target = if basket {
            &mut v["data"][1]["baskets"][0]
        } else {
            &mut v["data"][1]
        };
        target
            .as_object_mut()
            .unwrap()
            .insert(field.into(), Value::Null);
        let e = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap_err();
        assert!(
            matches!(&e, PluginError::BadResponse(m) if m.contains("order 2000102") && m.contains(&format!("`{field}`"))),
            "{field}: {e:?}"
        );
    }
    let mut v: Value = serde_json::from_str(EVENTS_PAGE).unwrap();
    v["data"][0].as_object_mut().unwrap().remove("name");
    let req = plan::events_request(&settings(&c), 1);
    let e = handle(&c, &req, &v.to_string()).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("event 90001") && m.contains("`name`")),
        "{e:?}"
    );
}

#[test]
fn events_without_optional_fields_still_plan_every_seats_request() {
    let c = ctx(None);
    let req = plan::events_request(&settings(&c), 1);
    let full = handle(&c, &req, EVENTS_PAGE).unwrap();
    for how in [Missing::Absent, Missing::Null] {
        let mut v: Value = serde_json::from_str(EVENTS_PAGE).unwrap();
        for e in v["data"].as_array_mut().unwrap() {
            for sh in e["shows"].as_array_mut().unwrap() {
                strip(sh, SHOW_KEEP, how);
            }
            strip(e, EVENT_KEEP, how);
        }
        let page = handle(&c, &req, &v.to_string()).unwrap_or_else(|e| panic!("{how:?}: {e:?}"));
        let ids = |p: &Page| p.next.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&page), ids(&full), "{how:?}");
        let ev = events(&page);
        assert_eq!(ev.len(), events(&full).len(), "{how:?}");
        for e in &ev {
            assert_eq!((&e.city, &e.venue), (&None, &None), "{how:?}");
            assert_eq!((e.starts_at_ms, e.ends_at_ms), (None, None), "{how:?}");
            assert_eq!(
                e.updated_at_ms, NOW,
                "{how:?}: no timestamps, the run's clock"
            );
        }
    }
}

#[test]
fn seats_without_quantities_are_unknown_never_zero() {
    let c = ctx(None);
    let seat = |id: &str, root: &str, q: [i64; 3]| {
        json!({"id": id, "root_id": root, "zone_id": "P", "admission": false,
               "max_quantity": q[0], "free_quantity": q[1], "payed_quantity": q[2], "disabled": false})
    };
    let full = json!({"data": {
        "P-1;1": seat("P-1;1", "P-1;1", [1, 0, 1]),
        "P-1;2": seat("P-1;2", "P-1;2", [1, 1, 0]),
        "GA": seat("GA", "GA", [300, 120, 170]),
    }});
    let i = |body: &Value| {
        let page = handle(&c, &seats_req(&c), &body.to_string()).unwrap();
        let i = inventory(&page);
        assert_eq!(
            (&*i.event_id, &*i.show_id, i.captured_at_ms),
            ("90001", "95001", NOW)
        );
        (i.capacity, i.available, i.sold)
    };
    assert_eq!(i(&full), (Some(302), Some(121), Some(171)));
    for how in [Missing::Absent, Missing::Null] {
        // Every optional field gone: every figure unknown.
        let mut v = full.clone();
        for s in v["data"].as_object_mut().unwrap().values_mut() {
            strip(s, SEAT_KEEP, how);
        }
        assert_eq!(i(&v), (None, None, None), "{how:?}");
        // The issue's case: `payed_quantity` missing on one node only.
        let mut v = full.clone();
        let node = v["data"]["GA"].as_object_mut().unwrap();
        match how {
            Missing::Absent => node.remove("payed_quantity"),
            Missing::Null => node.insert("payed_quantity".into(), Value::Null),
        };
        assert_eq!(
            i(&v),
            (Some(302), Some(121), None),
            "{how:?}: only sold unknown"
        );
    }
    // An empty string is no figure either.
    let mut v = full.clone();
    v["data"]["P-1;1"]["free_quantity"] = json!("");
    assert_eq!(i(&v), (Some(302), None, Some(171)));
    // Present but not a count: a malformed answer, naming the seat and the field.
    let mut v = full.clone();
    v["data"]["GA"]["max_quantity"] = json!(-3);
    let e = handle(&c, &seats_req(&c), &v.to_string()).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("seat `GA`") && m.contains("`max_quantity`")),
        "{e:?}"
    );
}

#[test]
fn events_and_seats_are_auxiliary_orders_are_not() {
    let c = ctx(None);
    let s = settings(&c);
    let aux = boxoffice_plugin_sdk::wire::AUXILIARY_PREFIX;
    assert!(plan::events_request(&s, 1).id.starts_with(aux));
    assert!(plan::seats_request(&s, 1, 2).id.starts_with(aux));
    assert!(!plan::orders_request(&s, 0, 1).id.starts_with(aux));
    assert_eq!(
        seats::ids(&plan::seats_request(&s, 7, 8).id),
        Some(("7", "8"))
    );
}

#[test]
fn prices_follow_the_order_s_currency_exactly() {
    let c = ctx(None);
    // JPY has no minor unit, KWD three: the same JSON number means different minor amounts.
    let mut v = example_orders();
    v["data"][1]["currency_id"] = json!("JPY");
    v["data"][1]["baskets"][0]["price"] = json!(3500);
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    assert_eq!(tickets(&page)[2].price_minor, 3500);
    v["data"][1]["currency_id"] = json!("KWD");
    v["data"][1]["baskets"][0]["price"] = json!(12.345);
    let page = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap();
    assert_eq!(tickets(&page)[2].price_minor, 12_345);
    // A digit the currency cannot hold is refused, naming the order, basket and field.
    v["data"][1]["currency_id"] = json!("RUB");
    v["data"][1]["baskets"][0]["price"] = json!(10.005);
    let e = handle(&c, &orders_req(&c, 0, 1), &orders_page(&v)).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("`price`") && m.contains("10.005") && m.contains("basket")),
        "{e:?}"
    );
}
