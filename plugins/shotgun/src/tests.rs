//! Native tests of the transform against the vendor's example page.

use boxoffice_plugin_sdk::host::FakeHost;
use boxoffice_plugin_sdk::{
    decode_records, HttpResponse, Item, PersonalId, PluginError, RunContext, TicketStatus,
};

use super::*;

const PAGE: &str = include_str!("../../../tests/fixtures/vendors/shotgun_tickets_page.json");

fn ctx(cursor: Option<&str>) -> RunContext {
    RunContext {
        account: "t".into(),
        settings: vec![
            ("organizer_id".into(), "100001".into()),
            ("base_url".into(), "http://127.0.0.1:9999".into()),
        ],
        cursor: cursor.map(Into::into),
        since_ms: None,
        until_ms: None,
        now_ms: 1_772_600_000_000,
    }
}

fn ok(body: &str) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

fn tickets_req(c: &RunContext) -> HttpRequest {
    plan::tickets_request(&plan::settings(c).unwrap(), None)
}

#[test]
fn example_page_maps_to_canonical_tickets() {
    let mut c = ctx(None);
    // After the page's times (a cursor or version ahead of `now` is held back: see below).
    c.now_ms = 1_772_700_000_000;
    let page = Shotgun::handle(&mut FakeHost::default(), &c, &tickets_req(&c), &ok(PAGE)).unwrap();
    let records = decode_records(page.records.blob()).unwrap();
    let tickets: Vec<_> = records
        .iter()
        .filter_map(|r| match r {
            Item::Ticket(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(tickets.len(), 3);
    let t = tickets[0];
    assert_eq!(t.ticket_id, "900000001");
    assert_eq!(t.status, TicketStatus::Valid);
    assert_eq!(
        (t.price_minor, t.service_fee_minor, t.buyer_fee_minor),
        (4500, 450, 135)
    );
    assert_eq!(t.currency, "EUR");
    assert_eq!(t.updated_at_ms, 1_772_446_503_207);
    assert_eq!(
        t.ordered_at_ms, 1_772_446_503_207,
        "naive ordered_at is UTC"
    );
    assert_eq!(t.region.as_deref(), Some("France 69"));
    assert_eq!(t.category, "PHASE 1");
    assert_eq!(t.visibility, vec!["promoters", "public", "xpress_door"]);
    assert_eq!(
        t.buyer,
        Some(PersonalId {
            kind: "shotgun-user".into(),
            value: "7000001".into()
        }),
        "the user id, for the host to pseudonymize"
    );
    let inv = tickets[1];
    assert_eq!((&*inv.channel, inv.price_minor), ("invitation", 0));
    let refunded = tickets[2];
    assert_eq!(refunded.status, TicketStatus::Refunded);
    assert_eq!(refunded.refunded_minor, 3500);
    assert_eq!(refunded.refunded_at_ms, Some(1_772_642_412_498));
    let events = records
        .iter()
        .filter(|r| matches!(r, Item::Event(_)))
        .count();
    assert_eq!(events, 1);

    let cursor = plan::Cursor::parse(page.cursor.as_deref());
    assert_eq!(
        cursor.after.as_deref(),
        Some("2026-03-04T16:40:12.530Z_900000000")
    );
    assert_eq!(page.next.len(), 1);
    let next = &page.next[0];
    assert_eq!(
        next.url, "http://127.0.0.1:9999/tickets",
        "rebuilt on our base, not the vendor's link"
    );
    assert!(next.query.contains(&(
        "after".to_string(),
        "2026-03-04T16:40:12.530Z_900000000".to_string()
    )));
    assert!(next
        .query
        .contains(&("include_cohosted_events".to_string(), "1".to_string())));
}

#[test]
fn nothing_personal_is_emitted() {
    let c = ctx(None);
    let page = Shotgun::handle(&mut FakeHost::default(), &c, &tickets_req(&c), &ok(PAGE)).unwrap();
    // The buyer's id is the one personal value a record carries (the host pseudonymizes it);
    // nothing else personal may be in any field.
    let mut records = decode_records(page.records.blob()).unwrap();
    for r in &mut records {
        if let Item::Ticket(t) = r {
            let buyer = t.buyer.take().expect("every example ticket has a buyer");
            assert!(buyer.kind.starts_with("shotgun-"), "{buyer:?}");
        }
    }
    let dump = format!("{records:?}");
    assert!(dump.contains("900000001"), "the dump holds the records");
    for secret in [
        "jane.example@example.com",
        "+33 6 00 00 00 01",
        "Jane",
        "Placeholder",
        "10000000000001",
        "Lyon",
        "69007",
        "7000001",
        "female",
    ] {
        assert!(!dump.contains(secret), "{secret} leaked");
    }
}

#[test]
fn errors_are_typed() {
    let c = ctx(None);
    let req = tickets_req(&c);
    let status = |s: u16, h: Vec<(String, String)>, b: &str| HttpResponse {
        status: s,
        headers: h,
        body: b.as_bytes().to_vec(),
    };
    let e = Shotgun::handle(
        &mut FakeHost::default(),
        &c,
        &req,
        &status(401, vec![], "{}"),
    )
    .unwrap_err();
    assert!(matches!(e, PluginError::Unauthorized(_)));
    let e = Shotgun::handle(
        &mut FakeHost::default(),
        &c,
        &req,
        &status(429, vec![("Retry-After".into(), "7".into())], ""),
    )
    .unwrap_err();
    assert!(matches!(e, PluginError::RetryLater(7)));
    let e = Shotgun::handle(&mut FakeHost::default(), &c, &req, &ok("<html>")).unwrap_err();
    assert!(matches!(e, PluginError::BadResponse(_)));
    // A `next` that repeats the request's own `after` would loop forever.
    let s = plan::settings(&c).unwrap();
    let same = plan::tickets_request(&s, Some("2026-03-04T16:40:12.530Z_900000000"));
    let e = Shotgun::handle(&mut FakeHost::default(), &c, &same, &ok(PAGE)).unwrap_err();
    assert!(matches!(e, PluginError::BadResponse(m) if m.contains("repeats")));
}

#[test]
fn begin_plans_tickets_and_events_when_due() {
    let fresh = Shotgun::begin(&mut FakeHost::default(), &ctx(None)).unwrap();
    let ids: Vec<_> = fresh.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["tickets", "aux:events-upcoming", "aux:events-past"]
    );
    assert!(!fresh[0].query.iter().any(|(k, _)| k == "after"));

    let c = ctx(Some(
        r#"{"after":"2026-03-04T16:40:12.530Z_900000000","events_at":1772599990000}"#,
    ));
    let inc = Shotgun::begin(&mut FakeHost::default(), &c).unwrap();
    assert_eq!(inc.len(), 1, "nothing due but the tickets stream");
    assert!(inc[0].query.contains(&(
        "after".to_string(),
        "2026-03-04T16:40:12.530Z_900000000".to_string()
    )));

    let mut back = ctx(Some(r#"{"after":"2026-03-04T16:40:12.530Z_900000000"}"#));
    back.since_ms = Some(0);
    let b = Shotgun::begin(&mut FakeHost::default(), &back).unwrap();
    assert!(b[0]
        .query
        .contains(&("after".to_string(), "1970-01-01T00:00:00.000Z".to_string())));
}

#[test]
fn events_listing_gives_names_cities_and_tickets_left() {
    let c = ctx(None);
    let s = plan::settings(&c).unwrap();
    let req = plan::events_request(&s, plan::EVENTS_PAST, 0);
    let body = r#"{"data":[{"id":200002,"name":"Fest","startTime":"2026-07-10T16:00:00.000Z",
        "endTime":"2026-07-12T02:00:00.000Z","leftTicketsCount":120,"cancelledAt":null,
        "geolocation":{"city":"Lyon","zipCode":"69007","countryIsoCode":"FR"},
        "deals":[{"name":"A","quantity":100},{"name":"B","quantity":50}]}]}"#;
    let page = Shotgun::handle(&mut FakeHost::default(), &c, &req, &ok(body)).unwrap();
    let records = decode_records(page.records.blob()).unwrap();
    assert_eq!(records.len(), 2);
    match &records[1] {
        Item::Inventory(v) => assert_eq!((v.capacity, v.available), (Some(150), Some(120))),
        _ => panic!(),
    }
    assert!(page.next.is_empty());
    assert_eq!(
        plan::Cursor::parse(page.cursor.as_deref()).events_at,
        Some(c.now_ms)
    );
}

/// The keys `docs/vendor-fields.md` lists as required or kept (meaning-bearing null); every
/// other key is optional and may be absent or null.
const TICKET_KEEP: &[&str] = &[
    "ticket_id",
    "ticket_updated_at",
    "ticket_status",
    "ticket_scanned_at",
    "ticket_canceled_at",
    "deal_title",
    "deal_channel",
    "deal_price",
    "deal_service_fee",
    "deal_user_service_fee",
    "deal_producer_cost",
    "order_id",
    "currency",
    "ordered_at",
    "event_id",
    "event_name",
    "event_canceled_at",
];

fn strip(v: &mut serde_json::Value, keep: &[&str], null: bool) {
    let o = v.as_object_mut().unwrap();
    let optional: Vec<String> = o
        .keys()
        .filter(|k| !keep.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in optional {
        if null {
            o.insert(k, serde_json::Value::Null);
        } else {
            o.remove(&k);
        }
    }
}

/// (id, status, price, service fee, refunded, category, refunded at) of each ticket.
type TicketFigures = (String, TicketStatus, i64, i64, i64, String, Option<i64>);

fn decoded_tickets(page: &Page) -> Vec<TicketFigures> {
    decode_records(page.records.blob())
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Item::Ticket(t) => Some((
                t.ticket_id.to_string(),
                t.status,
                t.price_minor,
                t.service_fee_minor,
                t.refunded_minor,
                t.category.to_string(),
                t.refunded_at_ms,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn tickets_without_optional_fields_keep_their_figures() {
    let c = ctx(None);
    let full = Shotgun::handle(&mut FakeHost::default(), &c, &tickets_req(&c), &ok(PAGE)).unwrap();
    for null in [false, true] {
        let mut v: serde_json::Value = serde_json::from_str(PAGE).unwrap();
        for t in v["data"].as_array_mut().unwrap() {
            strip(t, TICKET_KEEP, null);
        }
        let page = Shotgun::handle(
            &mut FakeHost::default(),
            &c,
            &tickets_req(&c),
            &ok(&v.to_string()),
        )
        .unwrap_or_else(|e| panic!("null={null}: {e:?}"));
        assert_eq!(
            decoded_tickets(&page),
            decoded_tickets(&full),
            "null={null}"
        );
        assert_eq!(
            page.cursor, full.cursor,
            "null={null}: the cursor does not move differently"
        );
        for r in decode_records(page.records.blob()).unwrap() {
            if let Item::Ticket(t) = r {
                assert_eq!((t.buyer, t.region), (None, None), "null={null}");
                assert!(t.visibility.is_empty() && t.payment_method.is_none());
            }
        }
    }
}

#[test]
fn a_missing_required_ticket_field_names_the_record_and_the_field() {
    let c = ctx(None);
    for field in [
        "deal_price",
        "deal_service_fee",
        "ticket_updated_at",
        "order_id",
    ] {
        let mut v: serde_json::Value = serde_json::from_str(PAGE).unwrap();
        v["data"][2].as_object_mut().unwrap().remove(field);
        let e = Shotgun::handle(
            &mut FakeHost::default(),
            &c,
            &tickets_req(&c),
            &ok(&v.to_string()),
        )
        .unwrap_err();
        assert!(
            matches!(&e, PluginError::BadResponse(m) if m.contains("record 2") && m.contains(&format!("`{field}`"))),
            "{field}: {e:?}"
        );
    }
}

#[test]
fn events_without_optional_fields_give_unknown_inventory_never_zero() {
    let c = ctx(None);
    let s = plan::settings(&c).unwrap();
    let req = plan::events_request(&s, plan::EVENTS_PAST, 0);
    assert!(req
        .id
        .starts_with(boxoffice_plugin_sdk::wire::AUXILIARY_PREFIX));
    for body in [
        r#"{"data":[{"id":200002,"cancelledAt":null}]}"#,
        r#"{"data":[{"id":200002,"name":null,"startTime":null,"leftTicketsCount":null,"geolocation":null,"deals":null,"cancelledAt":null}]}"#,
        // One deal without its quantity: the capacity is unknown, not the other deals' sum.
        r#"{"data":[{"id":200002,"deals":[{"name":"A","quantity":100},{"name":"B"}]}]}"#,
    ] {
        let page = Shotgun::handle(&mut FakeHost::default(), &c, &req, &ok(body)).unwrap();
        let records = decode_records(page.records.blob()).unwrap();
        match &records[..] {
            [Item::Event(e), Item::Inventory(v)] => {
                assert_eq!(
                    (&*e.event_id, &*e.name, &e.city),
                    ("200002", "", &None),
                    "{body}"
                );
                assert_eq!(
                    (v.capacity, v.available, v.sold),
                    (None, None, None),
                    "{body}"
                );
            }
            other => panic!("{body}: {} records", other.len()),
        }
    }
    // No deals at all is a real zero.
    let page = Shotgun::handle(
        &mut FakeHost::default(),
        &c,
        &req,
        &ok(r#"{"data":[{"id":1,"deals":[],"leftTicketsCount":0}]}"#),
    )
    .unwrap();
    match &decode_records(page.records.blob()).unwrap()[1] {
        Item::Inventory(v) => assert_eq!((v.capacity, v.available), (Some(0), Some(0))),
        _ => panic!(),
    }
}

#[test]
fn settings_default_from_the_manifest_and_refuse_bad_values() {
    let mut c = ctx(None);
    c.settings.retain(|(k, _)| k != "base_url");
    let s = plan::settings(&c).unwrap();
    assert_eq!(s.base_url, "https://api.shotgun.live");
    assert_eq!(s.events_base_url, "https://smartboard-api.shotgun.live");
    assert_eq!(s.events_every_ms, 900_000);
    assert!(s.cohosted);
    c.settings.push(("events_every_secs".into(), "soon".into()));
    assert!(matches!(plan::settings(&c),
        Err(PluginError::Fatal(m)) if m.contains("`events_every_secs`") && m.contains("`soon`")));
    c.settings
        .retain(|(k, _)| k != "organizer_id" && k != "events_every_secs");
    assert!(matches!(plan::settings(&c),
        Err(PluginError::Fatal(m)) if m.contains("`organizer_id` is required")));
}

#[test]
fn a_page_from_a_clock_ahead_holds_the_cursor_and_versions_at_now() {
    // The example page's last ticket is at 2026-03-04T16:40:12.530Z, after this `now`.
    let c = ctx(None);
    let page = Shotgun::handle(&mut FakeHost::default(), &c, &tickets_req(&c), &ok(PAGE)).unwrap();
    let cursor = plan::Cursor::parse(page.cursor.as_deref());
    assert_eq!(
        cursor.after.as_deref(),
        Some(
            format!(
                "{}_0",
                boxoffice_plugin_sdk::time::format_utc_ms(c.now_ms - tickets::SKEW_OVERLAP_MS)
            )
            .as_str()
        )
    );
    let records = decode_records(page.records.blob()).unwrap();
    for r in &records {
        if let Item::Ticket(t) = r {
            assert!(t.updated_at_ms <= c.now_ms, "{} ahead of now", t.ticket_id);
        }
    }
    // Paging inside the run still follows the vendor's bound.
    assert!(page.next[0].query.contains(&(
        "after".to_string(),
        "2026-03-04T16:40:12.530Z_900000000".to_string()
    )));
}
