//! The embedded SQLite warehouse: the same tables analysts get in ClickHouse (tickets, events,
//! inventory snapshots, job runs, a daily sales view), in one file, for the demo and small
//! installations.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{params, Connection};

use super::{RunRecord, Sink, SinkFuture};
use crate::migrate::{self, Migration};
use crate::model::Record;
use crate::zone::AccountZones;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "warehouse",
        sql: include_str!("../../../migrations/sqlite/warehouse/0001_warehouse.sql"),
    },
    Migration {
        version: 2,
        name: "parity",
        sql: include_str!("../../../migrations/sqlite/warehouse/0002_parity.sql"),
    },
];

pub struct SqliteWarehouse {
    conn: Mutex<Connection>,
    /// The file (named by a write the disk refuses).
    path: std::path::PathBuf,
    /// The zone of each account's `sales_date`.
    zones: AccountZones,
}

impl SqliteWarehouse {
    pub fn open(path: &Path, zones: impl Into<AccountZones>) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = Connection::open(path)
            .with_context(|| format!("opening SQLite warehouse {}", path.display()))?;
        crate::sqlite_file::tune(&conn)?;
        migrate::apply(&mut conn, MIGRATIONS)
            .with_context(|| format!("migrating SQLite warehouse {}", path.display()))?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            zones: zones.into(),
        })
    }

    /// The warehouse connection, for writers beside the sink (`sink::plan`).
    pub(super) fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write_sync(&self, vendor: &str, account: &str, records: &[Record]) -> anyhow::Result<()> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        // Each statement is looked up once per page, not once per row (the lookup hashes the
        // whole SQL text).
        let (mut tickets, mut events, mut inventory) = (None, None, None);
        let zone = self.zones.of(vendor, account);
        for r in records {
            match r {
                Record::Ticket(t) => {
                    // The account's local day, DST included (SQLite's date() knows only
                    // UTC and the host's zone).
                    let sales_date = zone.local_date(t.ordered_at_ms);
                    let st = match &mut tickets {
                        Some(st) => st,
                        None => tickets.insert(tx.prepare_cached(
                        "INSERT INTO tickets (vendor, account, ticket_id, order_id, event_id, show_id,
                             category, channel, status, price_minor, service_fee_minor,
                             buyer_fee_minor, producer_cost_minor, refunded_minor, kept_minor,
                             currency, ordered_at_ms, sales_date, updated_at_ms, scanned_at_ms,
                             refunded_at_ms, buyer, region, utm_source, utm_medium, utm_campaign,
                             payment_method, visibility)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                             ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
                             ?24, ?25, ?26, ?27, ?28)
                         ON CONFLICT (vendor, account, ticket_id) DO UPDATE SET
                             status = excluded.status, price_minor = excluded.price_minor,
                             refunded_minor = excluded.refunded_minor,
                             kept_minor = excluded.kept_minor, category = excluded.category,
                             channel = excluded.channel, updated_at_ms = excluded.updated_at_ms,
                             scanned_at_ms = excluded.scanned_at_ms,
                             refunded_at_ms = excluded.refunded_at_ms,
                             visibility = excluded.visibility,
                             -- A payment moves ordered_at (created → paid) and its day; the
                             -- newer state replaces the whole row, as in ClickHouse.
                             order_id = excluded.order_id, event_id = excluded.event_id,
                             show_id = excluded.show_id,
                             service_fee_minor = excluded.service_fee_minor,
                             buyer_fee_minor = excluded.buyer_fee_minor,
                             producer_cost_minor = excluded.producer_cost_minor,
                             currency = excluded.currency,
                             ordered_at_ms = excluded.ordered_at_ms,
                             sales_date = excluded.sales_date, buyer = excluded.buyer,
                             region = excluded.region, utm_source = excluded.utm_source,
                             utm_medium = excluded.utm_medium,
                             utm_campaign = excluded.utm_campaign,
                             payment_method = excluded.payment_method
                         WHERE excluded.updated_at_ms > tickets.updated_at_ms",
                    )?),
                    };
                    st.execute(params![
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
                        t.kept_minor(),
                        t.currency,
                        t.ordered_at_ms,
                        sales_date,
                        t.updated_at_ms,
                        t.scanned_at_ms,
                        t.refunded_at_ms,
                        t.buyer,
                        t.region,
                        t.utm_source,
                        t.utm_medium,
                        t.utm_campaign,
                        t.payment_method,
                        // JSON text: SQLite has no arrays and json_each() reads this directly.
                        serde_json::to_string(&t.visibility)?
                    ])?;
                }
                Record::Event(e) => {
                    let st = match &mut events {
                        Some(st) => st,
                        None => events.insert(tx.prepare_cached(
                        "INSERT INTO events (vendor, account, event_id, name, city, venue,
                             starts_at_ms, ends_at_ms, canceled_at_ms, updated_at_ms, city_lower)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                         ON CONFLICT (vendor, account, event_id) DO UPDATE SET
                             name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE events.name END,
                             city = COALESCE(excluded.city, events.city),
                             city_lower = COALESCE(excluded.city_lower, events.city_lower),
                             venue = COALESCE(excluded.venue, events.venue),
                             starts_at_ms = COALESCE(excluded.starts_at_ms, events.starts_at_ms),
                             ends_at_ms = COALESCE(excluded.ends_at_ms, events.ends_at_ms),
                             canceled_at_ms = COALESCE(excluded.canceled_at_ms, events.canceled_at_ms),
                             updated_at_ms = MAX(excluded.updated_at_ms, events.updated_at_ms)",
                    )?),
                    };
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
                    ])?;
                }
                Record::Inventory(v) => {
                    let st = match &mut inventory {
                        Some(st) => st,
                        None => inventory.insert(tx.prepare_cached(
                            "INSERT OR REPLACE INTO inventory_snapshots (vendor, account, event_id,
                             show_id, captured_at_ms, capacity, available, sold)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        )?),
                    };
                    st.execute(params![
                        vendor,
                        account,
                        v.event_id,
                        v.show_id,
                        v.captured_at_ms,
                        v.capacity,
                        v.available,
                        v.sold
                    ])?;
                }
            }
        }
        drop((tickets, events, inventory));
        crate::crash_point::reached(crate::crash_point::CrashPhase::Warehouse);
        tx.commit()?;
        Ok(())
    }
}

impl Sink for SqliteWarehouse {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn write<'a>(
        &'a self,
        vendor: &'a str,
        account: &'a str,
        records: &'a [Record],
    ) -> SinkFuture<'a> {
        Box::pin(async move {
            crate::blocking::blocking_io(|| {
                self.write_sync(vendor, account, records)
                    .map_err(|e| crate::sqlite_file::storage_error(&self.path, e))
            })
        })
    }

    fn record_run<'a>(&'a self, run: &'a RunRecord) -> SinkFuture<'a> {
        Box::pin(async move {
            let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
            conn.execute(
                "INSERT INTO job_runs (vendor, account, started_at_ms, finished_at_ms, status,
                     records, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    run.vendor,
                    run.account,
                    run.started_at_ms,
                    run.finished_at_ms,
                    run.status.as_str(),
                    run.records as i64,
                    run.message
                ],
            )?;
            Ok(())
        })
    }
}
