//! QTickets webhooks (`qtickets.md` §4): one signed delivery → its dedupe key, the order's
//! tickets and one follow-up `GET /orders/{id}` for the canonical state.
//!
//! Decisions:
//! - **Signature**: hex HMAC-SHA1 of the raw body in `X-Signature`, declared in the manifest;
//!   the host verifies it before this code sees the delivery.
//! - **Event type** from `x-event-type`: one of `created|updated|payed|deleted|refunded|checked`;
//!   missing or anything else is a `bad-response` naming it.
//! - **Body** = the bare order plus `refunded_baskets`, `checked_basket`, `unchecked_basket`
//!   (and `_service` twins, exchanges' `primary_orders` / `secondary_orders`, not read). A
//!   basket in those extras that is newer than its copy in `baskets` takes its place (a scan
//!   bumps only the basket's `updated_at`); one absent from `baskets` is added.
//! - **Key** = `{order id}:{event type}:{newest updated_at}` (UTC ms, over the order and every
//!   basket read): the vendor sends no delivery id, and its retries repeat the same body.
//! - **Records** through the `/orders` transform (`orders::order_blob`); the follow-up
//!   (`webhook:order:{id}`) is handled by [`handle_order`], the single-order path.

use boxoffice_plugin_sdk::{
    delivery_header, get, Auth, HostApi, HttpRequest, Page, PluginError, RunContext,
    WebhookDelivery, WebhookOutcome,
};
use serde::Deserialize;

use crate::model::{Lenient, WireBasket, WireOrder};
use crate::{bad, opt_ms, orders, plan, req_ms};

/// The request id of the follow-up re-read: `webhook:order:{id}`.
pub const ORDER_PREFIX: &str = "webhook:order:";

/// The header naming the delivery's event type.
pub const EVENT_TYPE_HEADER: &str = "x-event-type";

/// The event types QTickets sends.
pub const EVENT_TYPES: [&str; 6] = [
    "created", "updated", "payed", "deleted", "refunded", "checked",
];

/// The extras a delivery carries beside the bare order (each may be `[]`, `{}` or null).
#[derive(Deserialize, Default)]
struct Extras<'a> {
    #[serde(borrow, default)]
    refunded_baskets: Option<Lenient<Vec<WireBasket<'a>>>>,
    #[serde(borrow, default)]
    checked_basket: Option<Lenient<WireBasket<'a>>>,
    #[serde(borrow, default)]
    unchecked_basket: Option<Lenient<WireBasket<'a>>>,
}

/// `GET /orders/{id}`'s body.
#[derive(Deserialize)]
struct OneOrder<'a> {
    #[serde(borrow)]
    data: WireOrder<'a>,
}

/// What errors in a delivery are named after (no URL: it came to us).
fn delivery_request(event: &str) -> HttpRequest {
    HttpRequest {
        id: "webhook".into(),
        method: "POST".into(),
        url: format!("webhook delivery ({EVENT_TYPE_HEADER}: {event})"),
        query: vec![],
        headers: vec![],
        body: None,
        auth: Auth::None,
    }
}

/// The follow-up re-read of one order.
pub fn order_request(base_url: &str, id: u64) -> HttpRequest {
    let mut r = get(
        &format!("{ORDER_PREFIX}{id}"),
        &format!("{base_url}/orders/{id}"),
        vec![],
    );
    r.auth = Auth::BearerHeader("token".into());
    r
}

pub fn webhook(
    host: &mut impl HostApi,
    ctx: &RunContext,
    delivery: &WebhookDelivery,
) -> Result<WebhookOutcome, PluginError> {
    let s = plan::settings(ctx)?;
    let event = delivery_header(delivery, EVENT_TYPE_HEADER)
        .map(str::trim)
        .ok_or_else(|| {
            PluginError::BadResponse(format!("webhook delivery: no `{EVENT_TYPE_HEADER}` header"))
        })?;
    let Some(event) = EVENT_TYPES.iter().copied().find(|t| *t == event) else {
        let shown: String = event.chars().take(40).collect();
        return Err(PluginError::BadResponse(format!(
            "webhook delivery: `{EVENT_TYPE_HEADER}` is `{shown}`, not one of {}",
            EVENT_TYPES.join("|")
        )));
    };
    let req = delivery_request(event);
    let order: WireOrder = serde_json::from_slice(&delivery.body)
        .map_err(|e| bad(&req, format!("the body is not an order: {e}")))?;
    let extras: Extras = serde_json::from_slice(&delivery.body)
        .map_err(|e| bad(&req, format!("the body's basket extras do not read: {e}")))?;
    let id = order.id;
    let own = order
        .baskets
        .as_ref()
        .ok_or_else(|| bad(&req, format!("order {id}: no `baskets`")))?;
    let extra: Vec<&WireBasket> = extras
        .refunded_baskets
        .iter()
        .filter_map(|l| l.get())
        .flatten()
        .chain(extras.checked_basket.iter().filter_map(|l| l.get()))
        .chain(extras.unchecked_basket.iter().filter_map(|l| l.get()))
        .collect();
    let updated = |b: &WireBasket| {
        opt_ms(
            &req,
            ("basket", b.id),
            "updated_at",
            b.updated_at.as_deref(),
        )
    };
    let mut newest = req_ms(
        &req,
        ("order", id),
        "updated_at",
        order.updated_at.as_deref(),
    )?;
    // The order's baskets, each replaced by a newer copy from the extras; extras it lacks added.
    let mut baskets: Vec<&WireBasket> = Vec::with_capacity(own.len() + extra.len());
    for b in own {
        let mut pick = b;
        let mut at = updated(b)?;
        for e in extra.iter().filter(|e| e.id == b.id) {
            let e_at = updated(e)?;
            if e_at > at {
                (pick, at) = (e, e_at);
            }
        }
        newest = newest.max(at.unwrap_or(i64::MIN));
        baskets.push(pick);
    }
    for e in &extra {
        newest = newest.max(updated(e)?.unwrap_or(i64::MIN));
        if !own.iter().any(|b| b.id == e.id) && !baskets.iter().any(|b| b.id == e.id) {
            baskets.push(e);
        }
    }
    let records = orders::order_blob(host, &req, &order, baskets)?;
    Ok(WebhookOutcome {
        key: format!("{id}:{event}:{newest}"),
        page: Page {
            records: records.into(),
            next: vec![order_request(&s.base_url, id)],
            cursor: None,
        },
    })
}

/// `GET /orders/{id}` → that order's tickets (the canonical state after a webhook). No
/// follow-ups, no cursor (a re-read never moves the account's cursor).
pub fn handle_order(
    host: &mut impl HostApi,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Page, PluginError> {
    let asked: u64 = req
        .id
        .strip_prefix(ORDER_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| PluginError::Fatal(format!("unknown request id `{}`", req.id)))?;
    let one: OneOrder = serde_json::from_slice(body)
        .map_err(|e| bad(req, format!("unexpected order body: {e}")))?;
    let o = &one.data;
    if o.id != asked {
        return Err(bad(
            req,
            format!("asked for order {asked}, answered order {}", o.id),
        ));
    }
    let baskets = o
        .baskets
        .as_ref()
        .ok_or_else(|| bad(req, format!("order {}: no `baskets`", o.id)))?;
    let records = orders::order_blob(host, req, o, baskets)?;
    Ok(Page {
        records: records.into(),
        next: vec![],
        cursor: None,
    })
}

#[cfg(test)]
mod tests {
    use boxoffice_plugin_sdk::host::FakeHost;
    use boxoffice_plugin_sdk::{
        decode_records, Connector, HttpResponse, Item, Ticket, TicketStatus, WebhookSignature,
    };
    use serde_json::{json, Value};

    use super::*;
    use crate::Qtickets;

    const BASE: &str = "http://127.0.0.1:9999/api/rest/v1";
    const EMAIL: &str = "canary.name@example.invalid";
    const PHONE: &str = "+00 000 CANARY";

    fn ctx() -> RunContext {
        RunContext {
            account: "t".into(),
            settings: vec![("base_url".into(), BASE.into())],
            cursor: None,
            since_ms: None,
            until_ms: None,
            now_ms: 1_762_646_400_000,
        }
    }

    fn basket(id: u64, updated: &str) -> Value {
        json!({
            "id": id, "show_id": 77, "seat_id": "PARTERRE-3;7", "price": 1500,
            "service_fee_amount": 100, "quantity": 1, "barcode": "123456789012",
            "client_email": EMAIL, "client_phone": PHONE, "client_name": "Canary",
            "pdf_url": "https://qtickets.ru/pdf/SECRET", "checked_at": null,
            "created_at": "2025-11-03T14:05:12+03:00", "updated_at": updated,
            "deleted_at": null, "refunded_at": null, "refunded_amount": null
        })
    }

    /// A delivery body as QTickets sends it: the bare order (with a client full of canary PII)
    /// plus the webhook's extras.
    fn order_body(extras: Value) -> Value {
        let mut o = json!({
            "id": 2000101, "uniqid": "SECRETUNIQ", "payed": true,
            "payed_at": "2025-11-03T14:06:00+03:00", "created_at": "2025-11-03T14:05:12+03:00",
            "updated_at": "2025-11-03T14:06:00+03:00", "deleted_at": null,
            "client_id": 555, "client": {"id": 555, "email": EMAIL,
                "details": {"name": "Canary", "phone": PHONE}},
            "payment_card_number": "220220******1234", "payment_url": "https://pay/SECRET",
            "event_id": 12, "currency_id": "RUB", "utm": [],
            "baskets": [basket(9001, "2025-11-03T14:06:00+03:00"), basket(9002, "2025-11-03T14:06:00+03:00")]
        });
        for (k, v) in extras.as_object().unwrap() {
            o[k] = v.clone();
        }
        o
    }

    fn delivery(event: &str, body: &Value) -> WebhookDelivery {
        WebhookDelivery {
            headers: vec![
                ("x-event-type".into(), event.into()),
                ("x-model-name".into(), "Order".into()),
            ],
            body: serde_json::to_vec(body).unwrap(),
            received_ms: 1_762_646_400_000,
        }
    }

    fn run(d: &WebhookDelivery) -> Result<WebhookOutcome, PluginError> {
        Qtickets::webhook(&mut FakeHost::default(), &ctx(), d)
    }

    fn tickets(p: &Page) -> Vec<Ticket<'_>> {
        decode_records(p.records.blob())
            .unwrap()
            .into_iter()
            .filter_map(|i| match i {
                Item::Ticket(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    fn occurrences(hay: &[u8], needle: &str) -> usize {
        hay.windows(needle.len())
            .filter(|w| *w == needle.as_bytes())
            .count()
    }

    fn assert_no_pii(blob: &[u8]) {
        for canary in [
            EMAIL,
            PHONE,
            "CANARY",
            "Canary",
            "canary",
            "SECRET",
            "123456789012",
            "******",
        ] {
            assert_eq!(
                occurrences(blob, canary),
                0,
                "{canary} crossed into the records"
            );
        }
    }

    #[test]
    fn the_manifest_declares_the_x_signature_hmac_sha1() {
        let w = Qtickets::manifest()
            .webhook
            .expect("qtickets takes webhooks");
        assert!(matches!(w.signature, WebhookSignature::HmacSha1Hex(h) if h == "x-signature"));
    }

    #[test]
    fn a_payed_delivery_gives_the_order_s_tickets_a_key_and_one_re_read() {
        let out = run(&delivery("payed", &order_body(json!({})))).unwrap();
        // 2025-11-03T14:06:00+03:00 = 11:06:00Z.
        assert_eq!(out.key, "2000101:payed:1762167960000");
        let t = tickets(&out.page);
        assert_eq!(t.len(), 2);
        assert!(t
            .iter()
            .all(|t| t.status == TicketStatus::Valid && t.order_id == "2000101"));
        assert_eq!(t[0].price_minor, 150_000);
        assert_eq!(
            t[0].buyer.as_ref().map(|b| (&*b.kind, &*b.value)),
            Some(("client", "555"))
        );
        assert_no_pii(out.page.records.blob());
        assert_eq!(out.page.cursor, None);
        assert_eq!(out.page.next.len(), 1);
        let r = &out.page.next[0];
        assert_eq!(r.id, "webhook:order:2000101");
        assert_eq!(
            (r.method.as_str(), r.url.as_str()),
            ("GET", &*format!("{BASE}/orders/2000101"))
        );
        assert!(matches!(&r.auth, Auth::BearerHeader(s) if s == "token"));
    }

    #[test]
    fn a_scan_bumps_only_the_basket_and_so_the_key_and_the_ticket() {
        let mut checked = basket(9002, "2025-11-03T18:00:00+03:00");
        checked["checked_at"] = json!("2025-11-03T18:00:00+03:00");
        let body = order_body(json!({ "checked_basket": checked }));
        let out = run(&delivery("checked", &body)).unwrap();
        // 18:00+03 = 15:00Z: newer than the order's updated_at.
        assert_eq!(out.key, "2000101:checked:1762182000000");
        let t = tickets(&out.page);
        let scanned = t.iter().find(|t| t.ticket_id == "9002").unwrap();
        assert_eq!(scanned.scanned_at_ms, Some(1_762_182_000_000));
        assert_eq!(scanned.updated_at_ms, 1_762_182_000_000);
        assert_eq!(
            t.len(),
            2,
            "the newer copy replaces the basket, it is not added"
        );
        // The same order updated again later is another key; the same delivery is the same key.
        let again = run(&delivery("checked", &body)).unwrap();
        assert_eq!(again.key, out.key);
        let other = run(&delivery("updated", &body)).unwrap();
        assert_ne!(other.key, out.key);
        assert_no_pii(out.page.records.blob());
    }

    #[test]
    fn a_refund_delivery_marks_the_refunded_basket() {
        let mut refunded = basket(9001, "2025-11-04T10:00:00+03:00");
        refunded["refunded_at"] = json!("2025-11-04T10:00:00+03:00");
        refunded["refunded_amount"] = json!(1500);
        let body = order_body(json!({ "refunded_baskets": [refunded], "unchecked_basket": [] }));
        let out = run(&delivery("refunded", &body)).unwrap();
        let t = tickets(&out.page);
        let r = t.iter().find(|t| t.ticket_id == "9001").unwrap();
        assert_eq!(r.status, TicketStatus::Refunded);
        assert_eq!(r.refunded_minor, 150_000);
        assert!(out.key.starts_with("2000101:refunded:"), "{}", out.key);
    }

    #[test]
    fn bad_deliveries_are_bad_responses_naming_what() {
        let body = order_body(json!({}));
        let mut no_type = delivery("payed", &body);
        no_type.headers.retain(|(k, _)| k != "x-event-type");
        let msg = |r: Result<WebhookOutcome, PluginError>| match r {
            Err(PluginError::BadResponse(m)) => m,
            other => panic!("not a bad-response: {:?}", other.map(|o| o.key)),
        };
        assert!(msg(run(&no_type)).contains("no `x-event-type`"));
        let m = msg(run(&delivery("exploded", &body)));
        assert!(
            m.contains("`exploded`") && m.contains("created|updated"),
            "{m}"
        );
        let m = msg(run(&WebhookDelivery {
            body: b"not json".to_vec(),
            ..delivery("payed", &body)
        }));
        assert!(
            m.contains("webhook delivery") && m.contains("not an order"),
            "{m}"
        );
        let mut no_currency = body.clone();
        no_currency.as_object_mut().unwrap().remove("currency_id");
        let m = msg(run(&delivery("payed", &no_currency)));
        assert!(m.contains("order 2000101: no `currency_id`"), "{m}");
        let mut no_baskets = body.clone();
        no_baskets.as_object_mut().unwrap().remove("baskets");
        assert!(msg(run(&delivery("payed", &no_baskets))).contains("no `baskets`"));
    }

    #[test]
    fn the_re_read_goes_through_the_single_order_path() {
        let out = run(&delivery("payed", &order_body(json!({})))).unwrap();
        let req = &out.page.next[0];
        let body = serde_json::to_vec(&json!({ "data": order_body(json!({})) })).unwrap();
        let resp = HttpResponse {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
        };
        let page = Qtickets::handle(&mut FakeHost::default(), &ctx(), req, &resp).unwrap();
        assert_eq!(tickets(&page), tickets(&out.page));
        assert!(page.next.is_empty() && page.cursor.is_none());
        assert_no_pii(page.records.blob());
        let mut wrong = req.clone();
        wrong.id = "webhook:order:1".into();
        let err = Qtickets::handle(&mut FakeHost::default(), &ctx(), &wrong, &resp).unwrap_err();
        assert!(
            matches!(&err, PluginError::BadResponse(m) if m.contains("asked for order 1")),
            "{err:?}"
        );
    }
}
