//! Canonical records as typed rows of the ClickHouse tables of
//! `migrations/clickhouse/0001_tables.sql` (and `tickets.visibility` from `0004_parity.sql`).
//!
//! One struct per table serves both encodings (`clickhouse::Row` for RowBinary,
//! `serde::Serialize` for JSONEachRow), so the two cannot drift apart; the one column whose
//! wire form differs, `Date`, is [`Day`]. Which encoding a write uses is `writer`'s business.

use serde::{Serialize, Serializer};

use crate::model::{Event, Inventory, Ticket};
use crate::sink::RunRecord;
use crate::zone::Zone;

/// The tables the warehouse writes with typed rows (the plan and migration ledgers are written
/// elsewhere, as JSON lines).
pub const TICKETS: &str = "tickets";
pub const EVENTS: &str = "events";
pub const INVENTORY: &str = "inventory_snapshots";
pub const JOB_RUNS: &str = "job_runs";

/// A `Date` column: days since 1970-01-01. JSON carries `YYYY-MM-DD` (what every release
/// parses), RowBinary the `UInt16` day number. Days outside `Date`'s range (1970-01-01 to
/// 2149-06-06) are a serialization error, not a wrapped date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub i64);

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (y, m, d) = crate::clock::civil_from_days(self.0);
        if s.is_human_readable() {
            return s.collect_str(&format_args!("{y:04}-{m:02}-{d:02}"));
        }
        let days = u16::try_from(self.0).map_err(|_| {
            serde::ser::Error::custom(format!(
                "the date {y:04}-{m:02}-{d:02} is outside ClickHouse's Date range (1970-01-01 to 2149-06-06)"
            ))
        })?;
        s.serialize_u16(days)
    }
}

#[derive(clickhouse::Row, Serialize)]
pub struct TicketRow<'a> {
    pub vendor: &'a str,
    pub account: &'a str,
    pub ticket_id: &'a str,
    pub order_id: &'a str,
    pub event_id: &'a str,
    pub show_id: &'a str,
    pub category: &'a str,
    pub channel: &'a str,
    pub status: &'a str,
    pub price_minor: i64,
    pub service_fee_minor: i64,
    pub buyer_fee_minor: i64,
    pub producer_cost_minor: i64,
    pub refunded_minor: i64,
    pub kept_minor: i64,
    pub currency: &'a str,
    pub ordered_at_ms: i64,
    pub sales_date: Day,
    pub updated_at_ms: i64,
    pub scanned_at_ms: Option<i64>,
    pub refunded_at_ms: Option<i64>,
    pub buyer: &'a str,
    pub region: &'a str,
    pub utm_source: &'a str,
    pub utm_medium: &'a str,
    pub utm_campaign: &'a str,
    pub payment_method: &'a str,
    pub visibility: &'a [String],
    pub _version: u64,
}

fn s(o: &Option<String>) -> &str {
    o.as_deref().unwrap_or("")
}

impl<'a> TicketRow<'a> {
    /// `zone`: the account's, whose local day is the row's `sales_date`.
    pub fn new(vendor: &'a str, account: &'a str, t: &'a Ticket, zone: &Zone) -> Self {
        Self {
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
            sales_date: Day(zone.local_day(t.ordered_at_ms)),
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
        }
    }
}

/// Full rows (from an events listing: they carry a city or a venue) outrank the sparse ones a
/// tickets page repeats, whatever their times; among equals the newest wins. ReplacingMergeTree
/// keeps whole rows, so this is how a sparse re-mention never blanks a city.
pub fn event_version(e: &Event) -> u64 {
    let full = e.city.is_some() || e.venue.is_some();
    ((full as u64) << 62) | e.updated_at_ms.max(0) as u64
}

#[derive(clickhouse::Row, Serialize)]
pub struct EventRow<'a> {
    pub vendor: &'a str,
    pub account: &'a str,
    pub event_id: &'a str,
    pub name: &'a str,
    pub city: &'a str,
    pub venue: &'a str,
    pub starts_at_ms: Option<i64>,
    pub ends_at_ms: Option<i64>,
    pub canceled_at_ms: Option<i64>,
    pub updated_at_ms: i64,
    pub _version: u64,
}

impl<'a> EventRow<'a> {
    pub fn new(vendor: &'a str, account: &'a str, e: &'a Event) -> Self {
        Self {
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
        }
    }
}

#[derive(clickhouse::Row, Serialize)]
pub struct InventoryRow<'a> {
    pub vendor: &'a str,
    pub account: &'a str,
    pub event_id: &'a str,
    pub show_id: &'a str,
    pub captured_at_ms: i64,
    pub capacity: Option<u32>,
    pub available: Option<u32>,
    pub sold: Option<u32>,
}

impl<'a> InventoryRow<'a> {
    pub fn new(vendor: &'a str, account: &'a str, v: &'a Inventory) -> Self {
        Self {
            vendor,
            account,
            event_id: &v.event_id,
            show_id: &v.show_id,
            captured_at_ms: v.captured_at_ms,
            capacity: v.capacity,
            available: v.available,
            sold: v.sold,
        }
    }
}

#[derive(clickhouse::Row, Serialize)]
pub struct RunRow<'a> {
    pub run_id: &'a str,
    pub vendor: &'a str,
    pub account: &'a str,
    pub kind: &'a str,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub status: &'a str,
    pub pages: u64,
    pub records: u64,
    pub rejected: u64,
    pub requests: u64,
    /// The old loader's meta_job_runs.message was JSON; it stays JSON.
    pub message: String,
}

impl<'a> RunRow<'a> {
    pub fn new(r: &'a RunRecord) -> Self {
        Self {
            run_id: &r.run_id,
            vendor: &r.vendor,
            account: &r.account,
            kind: r.kind.as_str(),
            started_at_ms: r.started_at_ms,
            finished_at_ms: r.finished_at_ms,
            status: r.status.as_str(),
            pages: r.pages,
            records: r.records,
            rejected: r.rejected,
            requests: r.requests,
            message: serde_json::json!({"status": r.status.as_str(), "text": r.message})
                .to_string(),
        }
    }
}

fn json_line(row: &impl Serialize) -> String {
    serde_json::to_string(row).expect("a row of strings and numbers always serializes to JSON")
}

/// A ticket as one `JSONEachRow` line (the JSONEachRow writer and the chdb test use these).
pub fn ticket(vendor: &str, account: &str, t: &Ticket, zone: &Zone) -> String {
    json_line(&TicketRow::new(vendor, account, t, zone))
}

pub fn event(vendor: &str, account: &str, e: &Event) -> String {
    json_line(&EventRow::new(vendor, account, e))
}

pub fn inventory(vendor: &str, account: &str, v: &Inventory) -> String {
    json_line(&InventoryRow::new(vendor, account, v))
}

pub fn run(r: &RunRecord) -> String {
    json_line(&RunRow::new(r))
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

    /// The text a `job_runs` row stores for each kind and status, written out: a renamed
    /// variant must not change what the warehouse holds (dashboards and the old loader's
    /// queries filter on these).
    #[test]
    fn job_runs_rows_store_the_kind_and_status_texts() {
        use crate::run_record::{RunFigures, RunKind, RunStatus};
        let kinds = [(RunKind::Sync, "sync"), (RunKind::Backfill, "backfill")];
        let statuses = [
            (RunStatus::Ok, "ok"),
            (RunStatus::Degraded, "degraded"),
            (RunStatus::Failed, "failed"),
            (RunStatus::RateLimited, "rate_limited"),
            (RunStatus::Interrupted, "interrupted"),
        ];
        assert_eq!(
            statuses.len(),
            RunStatus::ALL.len(),
            "every status is listed"
        );
        for (kind, kind_text) in kinds {
            for (status, status_text) in statuses {
                let r = RunRecord {
                    run_id: "0190d3a4-0000-7000-8000-000000000000".into(),
                    vendor: "qtickets".into(),
                    kind,
                    account: "main".into(),
                    started_at_ms: 1_000,
                    finished_at_ms: 2_000,
                    figures: RunFigures {
                        status,
                        pages: 1,
                        records: 2,
                        rejected: 3,
                        requests: 4,
                        message: "3 pages".into(),
                    },
                };
                // RowBinary: the row's own fields.
                let row = RunRow::new(&r);
                assert_eq!((row.kind, row.status), (kind_text, status_text));
                // JSONEachRow: the whole line, the message's JSON included.
                assert_eq!(
                    run(&r),
                    format!(
                        r#"{{"run_id":"0190d3a4-0000-7000-8000-000000000000","vendor":"qtickets","account":"main","kind":"{kind_text}","started_at_ms":1000,"finished_at_ms":2000,"status":"{status_text}","pages":1,"records":2,"rejected":3,"requests":4,"message":"{{\"status\":\"{status_text}\",\"text\":\"3 pages\"}}"}}"#
                    )
                );
            }
        }
    }

    #[test]
    fn days_are_dates_in_json() {
        assert_eq!(serde_json::to_string(&Day(0)).unwrap(), "\"1970-01-01\"");
        assert_eq!(
            serde_json::to_string(&Day(20_454)).unwrap(),
            "\"2026-01-01\""
        );
    }
}
