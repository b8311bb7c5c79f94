//! Canonical records as `JSONEachRow` lines for the ClickHouse tables of
//! `migrations/clickhouse/0001_tables.sql` (and `tickets.visibility` from `0004_parity.sql`).

use serde::Serialize;

use crate::model::{Event, Inventory, Ticket};
use crate::sink::RunRecord;
use crate::zone::Zone;

#[derive(Serialize)]
struct TicketRow<'a> {
    vendor: &'a str,
    account: &'a str,
    ticket_id: &'a str,
    order_id: &'a str,
    event_id: &'a str,
    show_id: &'a str,
    category: &'a str,
    channel: &'a str,
    status: &'a str,
    price_minor: i64,
    service_fee_minor: i64,
    buyer_fee_minor: i64,
    producer_cost_minor: i64,
    refunded_minor: i64,
    kept_minor: i64,
    currency: &'a str,
    ordered_at_ms: i64,
    sales_date: String,
    updated_at_ms: i64,
    scanned_at_ms: Option<i64>,
    refunded_at_ms: Option<i64>,
    buyer: &'a str,
    region: &'a str,
    utm_source: &'a str,
    utm_medium: &'a str,
    utm_campaign: &'a str,
    payment_method: &'a str,
    visibility: &'a [String],
    _version: u64,
}

fn s(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or("")
}

/// `zone`: the account's, whose local day is the row's `sales_date`.
pub fn ticket(vendor: &str, account: &str, t: &Ticket, zone: &Zone) -> String {
    let row = TicketRow {
        vendor,
        account,
        ticket_id: &t.ticket_id,
        order_id: &t.order_id,
        event_id: &t.event_id,
        show_id: s(&t.show_id),
        category: &t.category,
        channel: &t.channel,
        status: t.status.as_str(),
        price_minor: t.price_minor,
        service_fee_minor: t.service_fee_minor,
        buyer_fee_minor: t.buyer_fee_minor,
        producer_cost_minor: t.producer_cost_minor,
        refunded_minor: t.refunded_minor,
        kept_minor: t.kept_minor(),
        currency: &t.currency,
        ordered_at_ms: t.ordered_at_ms,
        sales_date: zone.local_date(t.ordered_at_ms),
        updated_at_ms: t.updated_at_ms,
        scanned_at_ms: t.scanned_at_ms,
        refunded_at_ms: t.refunded_at_ms,
        buyer: s(&t.buyer),
        region: s(&t.region),
        utm_source: s(&t.utm_source),
        utm_medium: s(&t.utm_medium),
        utm_campaign: s(&t.utm_campaign),
        payment_method: s(&t.payment_method),
        visibility: &t.visibility,
        _version: t.updated_at_ms.max(0) as u64,
    };
    serde_json::to_string(&row).expect("a ticket row always serializes")
}

/// Full rows (from an events listing: they carry a city or a venue) outrank the sparse ones a
/// tickets page repeats, whatever their times; among equals the newest wins. ReplacingMergeTree
/// keeps whole rows, so this is how a sparse re-mention never blanks a city.
pub fn event_version(e: &Event) -> u64 {
    let full = e.city.is_some() || e.venue.is_some();
    ((full as u64) << 62) | e.updated_at_ms.max(0) as u64
}

#[derive(Serialize)]
struct EventRow<'a> {
    vendor: &'a str,
    account: &'a str,
    event_id: &'a str,
    name: &'a str,
    city: &'a str,
    venue: &'a str,
    starts_at_ms: Option<i64>,
    ends_at_ms: Option<i64>,
    canceled_at_ms: Option<i64>,
    updated_at_ms: i64,
    _version: u64,
}

pub fn event(vendor: &str, account: &str, e: &Event) -> String {
    let row = EventRow {
        vendor,
        account,
        event_id: &e.event_id,
        name: &e.name,
        city: s(&e.city),
        venue: s(&e.venue),
        starts_at_ms: e.starts_at_ms,
        ends_at_ms: e.ends_at_ms,
        canceled_at_ms: e.canceled_at_ms,
        updated_at_ms: e.updated_at_ms,
        _version: event_version(e),
    };
    serde_json::to_string(&row).expect("an event row always serializes")
}

pub fn inventory(vendor: &str, account: &str, v: &Inventory) -> String {
    serde_json::json!({
        "vendor": vendor,
        "account": account,
        "event_id": v.event_id,
        "show_id": v.show_id,
        "captured_at_ms": v.captured_at_ms,
        "capacity": v.capacity,
        "available": v.available,
        "sold": v.sold,
    })
    .to_string()
}

pub fn run(r: &RunRecord) -> String {
    serde_json::json!({
        "run_id": r.run_id,
        "vendor": r.vendor,
        "account": r.account,
        "kind": r.kind,
        "started_at_ms": r.started_at_ms,
        "finished_at_ms": r.finished_at_ms,
        "status": r.status,
        "pages": r.pages,
        "records": r.records,
        "rejected": r.rejected,
        "requests": r.requests,
        // The old loader's meta_job_runs.message was JSON; keep it JSON.
        "message": serde_json::json!({"status": r.status, "text": r.message}).to_string(),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(city: Option<&str>, updated: i64) -> Event {
        Event {
            event_id: "1".into(),
            name: "n".into(),
            city: city.map(Into::into),
            venue: None,
            starts_at_ms: None,
            ends_at_ms: None,
            canceled_at_ms: None,
            updated_at_ms: updated,
        }
    }

    #[test]
    fn full_event_rows_outrank_newer_sparse_ones() {
        assert!(
            event_version(&ev(Some("Paris"), 10)) > event_version(&ev(None, 99_999_999_999_999))
        );
        assert!(event_version(&ev(Some("Paris"), 11)) > event_version(&ev(Some("Paris"), 10)));
    }
}
