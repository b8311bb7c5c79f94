//! Native tests of the connector over the sample fixture's recorded pages (the same bodies
//! `boxoffice plugins test` replays through the built component).

use boxoffice_plugin_sdk::host::FakeHost;
use boxoffice_plugin_sdk::{decode_records, Item};

use super::*;

const PAGE_1: &str = include_str!("../fixtures/sample/orders-1.json");
const PAGE_2: &str = include_str!("../fixtures/sample/orders-2.json");

fn ctx(cursor: Option<&str>) -> RunContext {
    RunContext {
        account: "sample".into(),
        settings: vec![],
        cursor: cursor.map(Into::into),
        since_ms: None,
        until_ms: None,
        now_ms: 1_772_700_000_000,
    }
}

fn ok(body: &str) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

fn tickets(page: &Page) -> Vec<Ticket<'_>> {
    decode_records(page.records.blob())
        .unwrap()
        .into_iter()
        .filter_map(|i| match i {
            Item::Ticket(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn pages_map_to_tickets_and_the_cursor_moves_after_the_last() {
    let c = ctx(None);
    let mut host = FakeHost::default();
    let first = TemplateConnector::begin(&mut host, &c).unwrap();
    assert_eq!(first[0].url, "https://api.example.invalid/orders", "the default base URL");
    let p1 = TemplateConnector::handle(&mut host, &c, &first[0], &ok(PAGE_1)).unwrap();
    let t = tickets(&p1);
    assert_eq!(t.len(), 2);
    assert_eq!((t[0].price_minor, t[0].currency.as_ref()), (2500, "EUR"));
    assert_eq!((t[1].price_minor, t[1].status), (1250, TicketStatus::Pending));
    assert_eq!(t[0].buyer.as_ref().unwrap().value, "canary.name@example.invalid");
    assert!(t[1].buyer.is_none());
    assert_eq!(p1.cursor, None, "no cursor before the last page");
    assert_eq!(p1.next.len(), 1);

    let p2 = TemplateConnector::handle(&mut host, &c, &p1.next[0], &ok(PAGE_2)).unwrap();
    let t = tickets(&p2);
    // JPY has no minor unit: 3500 yen are 3500, not 350000.
    assert_eq!((t[0].price_minor, t[0].refunded_minor), (3500, 3500));
    assert_eq!(p2.cursor.as_deref(), Some("2026-03-02T09:15:00Z"));
    assert!(p2.next.is_empty());

    let again = TemplateConnector::begin(&mut host, &ctx(p2.cursor.as_deref())).unwrap();
    assert!(again[0]
        .query
        .contains(&("updated_since".into(), "2026-03-02T09:15:00Z".into())));
}

#[test]
fn bad_pages_fail_naming_the_order_and_field() {
    let c = ctx(None);
    let req = &TemplateConnector::begin(&mut FakeHost::default(), &c).unwrap()[0];
    let body = PAGE_1.replace("\"25.00\"", "\"25.005\"");
    let e = TemplateConnector::handle(&mut FakeHost::default(), &c, req, &ok(&body)).unwrap_err();
    assert!(
        matches!(&e, PluginError::BadResponse(m) if m.contains("order 1001") && m.contains("`price`")),
        "{e:?}"
    );
    let e = TemplateConnector::handle(&mut FakeHost::default(), &c, req, &ok("<html>")).unwrap_err();
    assert!(matches!(e, PluginError::BadResponse(_)));
    let denied = HttpResponse {
        status: 401,
        ..ok("")
    };
    let e = TemplateConnector::handle(&mut FakeHost::default(), &c, req, &denied).unwrap_err();
    assert!(matches!(e, PluginError::Unauthorized(_)));
}

#[test]
fn the_manifest_is_consistent() {
    let m = TemplateConnector::manifest();
    assert_eq!(m.id, ID);
    assert!(m.allowed_hosts.iter().all(|h| !h.is_empty()));
}

#[test]
fn escaped_json_strings_are_read() {
    // Vendors escape `/` and non-ASCII (PHP's default); a borrowed `&str` would refuse the page.
    let body = PAGE_1
        .replacen("\"spring-gala\"", "\"caf\\u00e9\\/gala\"", 1)
        .replacen("\"paid\"", "\"p\\u0061id\"", 1);
    assert_ne!(body, PAGE_1, "the fixture has the strings this test escapes");
    let c = ctx(None);
    let mut host = FakeHost::default();
    let first = TemplateConnector::begin(&mut host, &c).unwrap();
    let page = TemplateConnector::handle(&mut host, &c, &first[0], &ok(&body)).unwrap();
    let t = tickets(&page);
    assert_eq!(t[0].event_id.as_ref(), "café/gala");
    assert_eq!(t[0].status, TicketStatus::Valid);
}
