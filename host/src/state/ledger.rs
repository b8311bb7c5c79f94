//! The ticket ledger: upserts that keep the newest version of each ticket, sparse event merges,
//! and the queries metrics are computed from. The KPI figures come from the aggregate the
//! writes keep per page (`aggregates`, tables of migration 0006); the full scan is kept as their
//! reference.

use anyhow::Context;
use rusqlite::{params, CachedStatement, OptionalExtension, Statement, Transaction};

use super::aggregates::{Contribution, PageDeltas, OLD_ROW_SQL};
use super::breakdown::KEPT_MINOR_SQL;
use super::group::GroupIndex;
use super::{StateOptions, StateStore};
use crate::model::{Event, Inventory, Record, Ticket, TicketStatus};
use crate::zone::Zone;

/// Per vendor/account/event/category/currency figures, from current ticket state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiRow {
    pub vendor: String,
    pub account: String,
    pub event_id: String,
    pub category: String,
    pub currency: String,
    pub sold: u64,
    pub refunded: u64,
    pub canceled: u64,
    pub resold: u64,
    pub pending: u64,
    pub scanned: u64,
    /// Kept money in minor units (see `Ticket::kept_minor`).
    pub revenue_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub vendor: String,
    pub account: String,
    pub event: Event,
}

/// Source health per account, from job runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunHealth {
    pub vendor: String,
    pub account: String,
    pub last_status: super::RunStatus,
    /// The last run's message (for a degraded run: what failed, by request kind and reason).
    pub last_message: String,
    pub last_finished_ms: Option<i64>,
    pub last_success_ms: Option<i64>,
    pub last_duration_ms: Option<i64>,
}

/// What committing a page changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageCommit {
    /// Tickets inserted or replaced by a newer version.
    pub tickets_changed: u64,
    pub events: u64,
    pub inventory: u64,
}

/// The one SQLite write of a ticket: the ledger's row is also the embedded warehouse's
/// (`kept_minor` and `sales_date` are its columns, migration 9), so there is one column list.
const UPSERT_TICKET: &str =
    "INSERT INTO tickets (vendor, account, ticket_id, order_id, event_id, show_id, category,
             channel, status, price_minor, service_fee_minor, buyer_fee_minor, producer_cost_minor,
             refunded_minor, currency, ordered_at_ms, updated_at_ms, scanned_at_ms, refunded_at_ms,
             buyer, region, utm_source, utm_medium, utm_campaign, payment_method, visibility,
             kept_minor, sales_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)
         ON CONFLICT (vendor, account, ticket_id) DO UPDATE SET
             order_id = excluded.order_id, event_id = excluded.event_id, show_id = excluded.show_id,
             category = excluded.category, channel = excluded.channel, status = excluded.status,
             price_minor = excluded.price_minor, service_fee_minor = excluded.service_fee_minor,
             buyer_fee_minor = excluded.buyer_fee_minor,
             producer_cost_minor = excluded.producer_cost_minor,
             refunded_minor = excluded.refunded_minor, currency = excluded.currency,
             ordered_at_ms = excluded.ordered_at_ms, updated_at_ms = excluded.updated_at_ms,
             scanned_at_ms = excluded.scanned_at_ms, refunded_at_ms = excluded.refunded_at_ms,
             buyer = excluded.buyer, region = excluded.region, utm_source = excluded.utm_source,
             utm_medium = excluded.utm_medium, utm_campaign = excluded.utm_campaign,
             payment_method = excluded.payment_method, visibility = excluded.visibility,
             kept_minor = excluded.kept_minor, sales_date = excluded.sales_date
         WHERE excluded.updated_at_ms > tickets.updated_at_ms";

/// Writes `t` unless the ledger holds the same or a newer version, and records what the write
/// changes in the page's aggregates (`deltas`). Returns 1 when it wrote, 0 when not.
fn upsert_ticket(
    old: &mut Statement,
    st: &mut Statement,
    deltas: &mut PageDeltas,
    (vendor, account, zone): (&str, &str, &Zone),
    t: &Ticket,
) -> rusqlite::Result<usize> {
    let before = old
        .query_row(params![vendor, account, t.ticket_id], |r| {
            Ok((r.get::<_, i64>(0)?, Contribution::from_row(r)?))
        })
        .optional()?;
    if before
        .as_ref()
        .is_some_and(|(updated, _)| *updated >= t.updated_at_ms)
    {
        // The upsert's WHERE would change nothing: an older or the same version.
        return Ok(0);
    }
    let visibility = serde_json::to_string(&t.visibility).unwrap_or_else(|_| "[]".into());
    let changed = st.execute(params![
        vendor,
        account,
        t.ticket_id,
        t.order_id,
        t.event_id,
        t.show_id,
        t.category,
        t.channel,
        t.status.as_str(),
        t.price_minor,
        t.service_fee_minor,
        t.buyer_fee_minor,
        t.producer_cost_minor,
        t.refunded_minor,
        t.currency,
        t.ordered_at_ms,
        t.updated_at_ms,
        t.scanned_at_ms,
        t.refunded_at_ms,
        t.buyer,
        t.region,
        t.utm_source,
        t.utm_medium,
        t.utm_campaign,
        t.payment_method,
        visibility,
        t.kept_minor(),
        // The account's local day, DST included (SQLite's date() knows only UTC and the
        // host's zone).
        zone.local_date(t.ordered_at_ms)
    ])?;
    if changed > 0 {
        if let Some((_, c)) = &before {
            deltas.add(c, -1);
        }
        deltas.add(&Contribution::of_ticket(t, &visibility), 1);
    }
    Ok(changed)
}

/// Events merge sparsely: a field the new record leaves empty keeps its known value, so a
/// ticket page (no city) does not erase what the events listing said.
const MERGE_EVENT: &str =
    "INSERT INTO events (vendor, account, event_id, name, city, venue, starts_at_ms,
             ends_at_ms, canceled_at_ms, updated_at_ms, city_lower)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (vendor, account, event_id) DO UPDATE SET
             name = CASE WHEN excluded.updated_at_ms >= events.updated_at_ms AND excluded.name <> ''
                         THEN excluded.name ELSE events.name END,
             city = COALESCE(CASE WHEN excluded.updated_at_ms >= events.updated_at_ms
                                  THEN excluded.city END, events.city, excluded.city),
             city_lower = COALESCE(CASE WHEN excluded.updated_at_ms >= events.updated_at_ms
                                  THEN excluded.city_lower END, events.city_lower,
                                  excluded.city_lower),
             venue = COALESCE(CASE WHEN excluded.updated_at_ms >= events.updated_at_ms
                                   THEN excluded.venue END, events.venue, excluded.venue),
             starts_at_ms = COALESCE(excluded.starts_at_ms, events.starts_at_ms),
             ends_at_ms = COALESCE(excluded.ends_at_ms, events.ends_at_ms),
             canceled_at_ms = CASE WHEN excluded.updated_at_ms >= events.updated_at_ms
                                   THEN COALESCE(excluded.canceled_at_ms, events.canceled_at_ms)
                                   ELSE events.canceled_at_ms END,
             updated_at_ms = MAX(excluded.updated_at_ms, events.updated_at_ms)";

fn merge_event(
    st: &mut Statement,
    vendor: &str,
    account: &str,
    e: &Event,
) -> rusqlite::Result<usize> {
    st.execute(params![
        vendor,
        account,
        e.event_id,
        e.name,
        e.city,
        e.venue,
        e.starts_at_ms,
        e.ends_at_ms,
        e.canceled_at_ms,
        e.updated_at_ms,
        // SQLite's lower() folds ASCII only; the compat views need "москва".
        e.city.as_deref().map(str::to_lowercase)
    ])
}

const UPSERT_INVENTORY: &str =
    "INSERT INTO inventory_latest (vendor, account, event_id, show_id, captured_at_ms,
             capacity, available, sold)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (vendor, account, event_id, show_id) DO UPDATE SET
             captured_at_ms = excluded.captured_at_ms, capacity = excluded.capacity,
             available = excluded.available, sold = excluded.sold
         WHERE excluded.captured_at_ms >= inventory_latest.captured_at_ms";

/// Every snapshot, for the embedded warehouse's history (`StateOptions::warehouse`).
const INSERT_SNAPSHOT: &str =
    "INSERT OR REPLACE INTO inventory_snapshots (vendor, account, event_id, show_id,
             captured_at_ms, capacity, available, sold)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

fn upsert_inventory(
    st: &mut Statement,
    vendor: &str,
    account: &str,
    v: &Inventory,
) -> rusqlite::Result<usize> {
    st.execute(params![
        vendor,
        account,
        v.event_id,
        v.show_id,
        v.captured_at_ms,
        v.capacity,
        v.available,
        v.sold
    ])
}

/// Applies records to the ledger inside `tx` (newest `updated_at` wins per ticket; events
/// merged; latest inventory per show, and every snapshot when the embedded warehouse is the
/// installation's): a page's commit and a webhook delivery's (`state::webhook`) both go
/// through here.
pub(crate) fn apply_records(
    tx: &Transaction,
    options: &StateOptions,
    vendor: &str,
    account: &str,
    records: &[Record],
) -> rusqlite::Result<PageCommit> {
    let mut out = PageCommit::default();
    let zone = options.zones.of(vendor, account);
    // Each statement is looked up once per page, not once per row (the lookup hashes the
    // whole SQL text).
    let (mut tickets, mut old, mut events, mut inventory, mut snapshots) =
        (None, None, None, None, None);
    let mut deltas = PageDeltas::default();
    fn cached<'a, 'c>(
        slot: &'a mut Option<CachedStatement<'c>>,
        tx: &'c Transaction,
        sql: &str,
    ) -> rusqlite::Result<&'a mut CachedStatement<'c>> {
        match slot {
            Some(st) => Ok(st),
            None => Ok(slot.insert(tx.prepare_cached(sql)?)),
        }
    }
    for r in records {
        match r {
            Record::Ticket(t) => {
                let before = cached(&mut old, tx, OLD_ROW_SQL)?;
                let st = cached(&mut tickets, tx, UPSERT_TICKET)?;
                out.tickets_changed +=
                    upsert_ticket(before, st, &mut deltas, (vendor, account, zone), t)? as u64
            }
            Record::Event(e) => {
                let st = cached(&mut events, tx, MERGE_EVENT)?;
                out.events += merge_event(st, vendor, account, e)? as u64
            }
            Record::Inventory(v) => {
                let st = cached(&mut inventory, tx, UPSERT_INVENTORY)?;
                out.inventory += upsert_inventory(st, vendor, account, v)? as u64;
                if options.warehouse {
                    let st = cached(&mut snapshots, tx, INSERT_SNAPSHOT)?;
                    upsert_inventory(st, vendor, account, v)?;
                }
            }
        }
    }
    drop((tickets, old, events, inventory, snapshots));
    // The aggregates move once per group and page, in the page's transaction.
    deltas.apply(tx, vendor, account)?;
    Ok(out)
}

/// KPI rows in the order of their five key columns.
fn sort_kpis(rows: &mut [KpiRow]) {
    rows.sort_by(|a, b| {
        (&a.vendor, &a.account, &a.event_id, &a.category, &a.currency).cmp(&(
            &b.vendor,
            &b.account,
            &b.event_id,
            &b.category,
            &b.currency,
        ))
    });
}

impl StateStore {
    /// Applies a page's records to the ledger and stores its cursor, in one transaction. The
    /// metrics' aggregates move by the page's deltas in the same transaction, so they commit
    /// (or roll back) with the page.
    pub fn commit_page(
        &self,
        vendor: &str,
        account: &str,
        records: &[Record],
        cursor: Option<&str>,
        now_ms: i64,
    ) -> anyhow::Result<PageCommit> {
        self.commit_page_tx(vendor, account, records, cursor, now_ms)
            .map_err(|e| crate::sqlite_file::storage_error(self.path(), e))
    }

    fn commit_page_tx(
        &self,
        vendor: &str,
        account: &str,
        records: &[Record],
        cursor: Option<&str>,
        now_ms: i64,
    ) -> anyhow::Result<PageCommit> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let out = apply_records(&tx, &self.options, vendor, account, records)?;
        if let Some(c) = cursor {
            tx.execute(
                "INSERT INTO cursors (vendor, account, cursor, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (vendor, account) DO UPDATE SET cursor = excluded.cursor,
                     updated_at = excluded.updated_at",
                params![vendor, account, c, now_ms],
            )?;
        }
        crate::crash_point::reached(crate::crash_point::CrashPhase::Ledger);
        tx.commit()?;
        Ok(out)
    }

    /// Figures per vendor/account/event/category/currency from current ticket state, ordered by
    /// those five: read from `ledger_kpis`, the aggregate every ledger write keeps in step
    /// (`aggregates`, once per page) (one row per group, not per ticket). Groups no ticket is
    /// in any more (`tickets` = 0) are skipped, as [`Self::kpis_rescan`] would not see them.
    pub fn kpis(&self) -> anyhow::Result<Vec<KpiRow>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT vendor, account, event_id, category, currency, sold, refunded, canceled,
                 resold, pending, scanned, revenue_minor
             FROM ledger_kpis WHERE tickets > 0",
        )?;
        let rows = st.query_map([], |r| {
            Ok(KpiRow {
                vendor: r.get(0)?,
                account: r.get(1)?,
                event_id: r.get(2)?,
                category: r.get(3)?,
                currency: r.get(4)?,
                sold: r.get(5)?,
                refunded: r.get(6)?,
                canceled: r.get(7)?,
                resold: r.get(8)?,
                pending: r.get(9)?,
                scanned: r.get(10)?,
                revenue_minor: r.get(11)?,
            })
        })?;
        let mut out: Vec<KpiRow> = rows
            .collect::<Result<_, _>>()
            .context("reading the ledger's KPI aggregates (ledger_kpis)")?;
        sort_kpis(&mut out);
        Ok(out)
    }

    /// The same figures as [`Self::kpis`] from a scan of the whole ledger: the reference the
    /// aggregates are tested against (what `/metrics` read before migration 0006). One plain
    /// scan aggregated here: a `GROUP BY` over the five text columns makes SQLite sort the
    /// whole table first.
    pub fn kpis_rescan(&self) -> anyhow::Result<Vec<KpiRow>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT vendor, account, event_id, category, currency, status,
                 scanned_at_ms IS NOT NULL, {KEPT_MINOR_SQL}
             FROM tickets"
        );
        let mut st = conn.prepare_cached(&sql)?;
        let mut rows = st.query([])?;
        let mut groups = GroupIndex::new(5);
        let mut out: Vec<KpiRow> = Vec::new();
        while let Some(r) = rows.next()? {
            let at = match groups.find(r)? {
                Ok(at) => at,
                Err(at) => {
                    out.push(KpiRow {
                        vendor: r.get(0)?,
                        account: r.get(1)?,
                        event_id: r.get(2)?,
                        category: r.get(3)?,
                        currency: r.get(4)?,
                        sold: 0,
                        refunded: 0,
                        canceled: 0,
                        resold: 0,
                        pending: 0,
                        scanned: 0,
                        revenue_minor: 0,
                    });
                    at
                }
            };
            let k = &mut out[at];
            match TicketStatus::parse(r.get_ref(5)?.as_str()?) {
                Some(TicketStatus::Valid) => {
                    k.sold += 1;
                    k.scanned += r.get::<_, bool>(6)? as u64;
                }
                Some(TicketStatus::Refunded) => k.refunded += 1,
                Some(TicketStatus::Canceled) => k.canceled += 1,
                Some(TicketStatus::Resold) => k.resold += 1,
                Some(TicketStatus::Pending) => k.pending += 1,
                None => {}
            }
            k.revenue_minor += r.get::<_, i64>(7)?;
        }
        sort_kpis(&mut out);
        Ok(out)
    }

    pub fn events(&self) -> anyhow::Result<Vec<EventRow>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT vendor, account, event_id, name, city, venue, starts_at_ms, ends_at_ms,
                 canceled_at_ms, updated_at_ms FROM events ORDER BY vendor, account, event_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(EventRow {
                vendor: r.get(0)?,
                account: r.get(1)?,
                event: Event {
                    event_id: r.get(2)?,
                    name: r.get(3)?,
                    city: r.get(4)?,
                    venue: r.get(5)?,
                    starts_at_ms: r.get(6)?,
                    ends_at_ms: r.get(7)?,
                    canceled_at_ms: r.get(8)?,
                    updated_at_ms: r.get(9)?,
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Latest inventory per show: (vendor, account, inventory).
    pub fn inventory(&self) -> anyhow::Result<Vec<(String, String, Inventory)>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT vendor, account, event_id, show_id, captured_at_ms, capacity, available, sold
             FROM inventory_latest ORDER BY vendor, account, event_id, show_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                Inventory {
                    event_id: r.get(2)?,
                    show_id: r.get(3)?,
                    captured_at_ms: r.get(4)?,
                    capacity: r.get(5)?,
                    available: r.get(6)?,
                    sold: r.get(7)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn run_health(&self) -> anyhow::Result<Vec<RunHealth>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT j.vendor, j.account, j.status, j.finished_at,
                 (SELECT MAX(finished_at) FROM job_runs s WHERE s.vendor = j.vendor
                      AND s.account = j.account AND s.status IN ('ok', 'degraded')),
                 j.finished_at - j.started_at, j.message
             FROM job_runs j
             WHERE j.id = (SELECT MAX(id) FROM job_runs k WHERE k.vendor = j.vendor
                               AND k.account = j.account AND k.status <> 'running')
             ORDER BY j.vendor, j.account",
        )?;
        let rows = st.query_map([], |r| {
            Ok(RunHealth {
                vendor: r.get(0)?,
                account: r.get(1)?,
                last_status: super::RunStatus::from_stored(&r.get::<_, String>(2)?),
                last_message: r.get(6)?,
                last_finished_ms: r.get(3)?,
                last_success_ms: r.get(4)?,
                last_duration_ms: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn ticket_count(&self) -> anyhow::Result<u64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get::<_, i64>(0))?
            as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `GROUP BY` that `kpis` replaced: the scan must give exactly its rows.
    fn kpis_by_sql(s: &StateStore) -> Vec<KpiRow> {
        let conn = s.conn();
        let mut st = conn
            .prepare(
                "SELECT vendor, account, event_id, category, currency,
                     SUM(status = 'valid'), SUM(status = 'refunded'), SUM(status = 'canceled'),
                     SUM(status = 'resold'), SUM(status = 'pending'),
                     SUM(status = 'valid' AND scanned_at_ms IS NOT NULL),
                     SUM(CASE status WHEN 'valid' THEN price_minor
                                     WHEN 'refunded' THEN MAX(price_minor - refunded_minor, 0)
                                     ELSE 0 END)
                 FROM tickets GROUP BY vendor, account, event_id, category, currency
                 ORDER BY vendor, account, event_id, category, currency",
            )
            .unwrap();
        st.query_map([], |r| {
            Ok(KpiRow {
                vendor: r.get(0)?,
                account: r.get(1)?,
                event_id: r.get(2)?,
                category: r.get(3)?,
                currency: r.get(4)?,
                sold: r.get::<_, i64>(5)? as u64,
                refunded: r.get::<_, i64>(6)? as u64,
                canceled: r.get::<_, i64>(7)? as u64,
                resold: r.get::<_, i64>(8)? as u64,
                pending: r.get::<_, i64>(9)? as u64,
                scanned: r.get::<_, i64>(10)? as u64,
                revenue_minor: r.get(11)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    #[test]
    fn kpis_scan_equals_the_group_by() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(&dir.path().join("state.sqlite")).unwrap();
        let statuses = TicketStatus::ALL;
        // Keys that differ only in where a field ends ("a"+"bc" vs "ab"+"c") must stay apart.
        let keys = [("a", "bc"), ("ab", "c"), ("é", "GA"), ("Z", "GA")];
        for (vendor, account) in [("shotgun", "main"), ("qtickets", "x")] {
            let records: Vec<Record> = (0..600u32)
                .map(|i| {
                    let (event, category) = keys[(i % 4) as usize];
                    let status = statuses[(i / 4 % 5) as usize];
                    Record::Ticket(Ticket {
                        ticket_id: i.to_string(),
                        order_id: (i / 3).to_string(),
                        event_id: event.into(),
                        category: category.into(),
                        channel: "online".into(),
                        status,
                        price_minor: 1000 + i64::from(i % 7) * 150,
                        refunded_minor: i64::from(i % 3) * 400,
                        currency: if i % 11 == 0 { "RUB" } else { "EUR" }.into(),
                        ordered_at_ms: 1,
                        updated_at_ms: 1,
                        scanned_at_ms: (i % 2 == 0).then_some(5),
                        ..Ticket::BLANK
                    })
                })
                .collect();
            s.commit_page(vendor, account, &records, None, 1).unwrap();
        }
        let scan = s.kpis_rescan().unwrap();
        assert!(scan.len() > 8, "{scan:?}");
        assert!(scan.iter().any(|k| k.scanned > 0 && k.revenue_minor > 0));
        assert_eq!(scan, kpis_by_sql(&s));
        assert_eq!(s.kpis().unwrap(), scan, "the aggregates equal the scan");
    }
}
