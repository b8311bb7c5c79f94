//! The embedded warehouse's columns of the ledger: filling them for rows stored before
//! migration 9, and taking over a legacy `warehouse.sqlite` (the separate file the SQLite
//! warehouse was before issue 18 item 7). It does not write pages (`ledger` does) and does not
//! define the warehouse's views (`migrations/sqlite/warehouse/`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::{params, Connection};

use super::breakdown::KEPT_MINOR_SQL;
use super::StateStore;
use crate::zone::AccountZones;

/// Fills `kept_minor`, `sales_date` and `city_lower` of the rows stored before migration 9
/// added them (each new version writes them itself), while migration 9's marker
/// `embedded_fill_pending` says it is not done: the fill and the marker's removal are one
/// transaction, so a stop in between is finished at the next open.
pub(super) fn fill_new_columns(conn: &Connection, zones: &AccountZones) -> anyhow::Result<()> {
    let pending: i64 = conn.query_row("SELECT count(*) FROM embedded_fill_pending", [], |r| {
        r.get(0)
    })?;
    if pending == 0 {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(&format!(
        "UPDATE tickets SET kept_minor = {KEPT_MINOR_SQL} WHERE kept_minor IS NULL"
    ))?;
    {
        let mut read = tx.prepare(
            "SELECT vendor, account, ticket_id, ordered_at_ms FROM tickets WHERE sales_date IS NULL",
        )?;
        let mut write = tx.prepare(
            "UPDATE tickets SET sales_date = ?4 WHERE vendor = ?1 AND account = ?2 AND ticket_id = ?3",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let (vendor, account, id): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let day = zones.of(&vendor, &account).local_date(r.get(3)?);
            write.execute(params![vendor, account, id, day])?;
        }
        let mut read = tx.prepare(
            "SELECT vendor, account, event_id, city FROM events
             WHERE city IS NOT NULL AND city_lower IS NULL",
        )?;
        let mut write = tx.prepare(
            "UPDATE events SET city_lower = ?4 WHERE vendor = ?1 AND account = ?2 AND event_id = ?3",
        )?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let (vendor, account, id, city): (String, String, String, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            write.execute(params![vendor, account, id, city.to_lowercase()])?;
        }
    }
    tx.execute_batch("DELETE FROM embedded_fill_pending")?;
    tx.commit()?;
    Ok(())
}

/// What taking over a legacy warehouse file carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyTakeover {
    pub inventory_snapshots: u64,
    pub plan_rows: u64,
    /// Where the legacy file was moved to (kept, not deleted).
    pub moved_to: PathBuf,
}

impl StateStore {
    /// Takes over a legacy `warehouse.sqlite` at `legacy` when there is one: what only it held
    /// (the inventory history and imported sales plans) is copied in, in one transaction, and
    /// the file is renamed to `<name>.taken-over` so it is read once. Its tickets, events and
    /// job runs are not copied: they were written from the same pages as this ledger, which
    /// holds the same rows. Returns `None` when there is no such file.
    pub fn take_over_legacy_warehouse(
        &self,
        legacy: &Path,
    ) -> anyhow::Result<Option<LegacyTakeover>> {
        if !legacy.is_file() {
            return Ok(None);
        }
        let what = || format!("taking over the legacy warehouse {}", legacy.display());
        let conn = self.conn();
        conn.execute("ATTACH DATABASE ?1 AS legacy", [legacy.to_string_lossy()])
            .with_context(what)?;
        let copied = (|| -> rusqlite::Result<(u64, u64)> {
            let tx = conn.unchecked_transaction()?;
            let has = |table: &str| -> rusqlite::Result<bool> {
                tx.query_row(
                    "SELECT count(*) FROM legacy.sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n > 0)
            };
            let snapshots = if has("inventory_snapshots")? {
                tx.execute(
                    "INSERT OR IGNORE INTO inventory_snapshots (vendor, account, event_id, show_id,
                         captured_at_ms, capacity, available, sold)
                     SELECT vendor, account, event_id, show_id, captured_at_ms, capacity,
                         available, sold FROM legacy.inventory_snapshots",
                    [],
                )?
            } else {
                0
            };
            let plans = if has("plan_sales")? {
                tx.execute(
                    "INSERT OR REPLACE INTO plan_sales (vendor, sales_date, event_id, city,
                         plan_tickets, plan_revenue, _ver, _loaded_at)
                     SELECT vendor, sales_date, event_id, city, plan_tickets, plan_revenue, _ver,
                         _loaded_at FROM legacy.plan_sales",
                    [],
                )?
            } else {
                0
            };
            tx.commit()?;
            Ok((snapshots as u64, plans as u64))
        })();
        let detached = conn.execute_batch("DETACH DATABASE legacy");
        let (inventory_snapshots, plan_rows) = copied.with_context(what)?;
        detached.with_context(what)?;
        drop(conn);
        let mut moved_to = legacy.as_os_str().to_owned();
        moved_to.push(".taken-over");
        let moved_to = PathBuf::from(moved_to);
        std::fs::rename(legacy, &moved_to)
            .with_context(|| format!("{}: renaming it to {}", what(), moved_to.display()))?;
        Ok(Some(LegacyTakeover {
            inventory_snapshots,
            plan_rows,
            moved_to,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::{self, Migration};
    use crate::model::{Inventory, Record, Ticket, TicketStatus};
    use crate::state::StateOptions;
    use crate::zone::Zone;

    /// The separate warehouse file as earlier versions made it.
    const LEGACY_MIGRATIONS: &[Migration] = &[
        Migration {
            version: 1,
            name: "warehouse",
            sql: include_str!("../../../migrations/sqlite/warehouse/0001_warehouse.sql"),
        },
        Migration {
            version: 2,
            name: "parity_columns",
            sql: include_str!("../../../migrations/sqlite/warehouse/0002_parity_columns.sql"),
        },
        Migration {
            version: 3,
            name: "parity_views",
            sql: include_str!("../../../migrations/sqlite/warehouse/0003_parity_views.sql"),
        },
    ];

    fn ticket(id: &str, status: TicketStatus, ordered_at_ms: i64) -> Ticket {
        Ticket {
            ticket_id: id.into(),
            order_id: format!("o{id}"),
            event_id: "e1".into(),
            category: "GA".into(),
            channel: "online".into(),
            status,
            price_minor: 1000,
            refunded_minor: 400,
            currency: "EUR".into(),
            ordered_at_ms,
            updated_at_ms: ordered_at_ms,
            ..Ticket::BLANK
        }
    }

    fn one_text(store: &StateStore, sql: &str) -> Vec<String> {
        let conn = store.conn();
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// 2026-03-01 22:30 UTC: already the 2nd at UTC+3.
    const LATE_EVENING: i64 = 1_772_404_200_000;

    #[test]
    fn a_committed_page_is_the_warehouses_rows_in_the_accounts_zone() {
        let dir = tempfile::tempdir().unwrap();
        let zones = AccountZones::new(Zone::utc()).with("v", "msk", Zone::fixed_minutes(180));
        let s = StateStore::open_with(
            &dir.path().join("state.sqlite"),
            StateOptions {
                zones,
                warehouse: true,
            },
        )
        .unwrap();
        let page = [
            Record::Ticket(ticket("1", TicketStatus::Valid, LATE_EVENING)),
            Record::Ticket(ticket("2", TicketStatus::Refunded, LATE_EVENING)),
            Record::Inventory(Inventory {
                event_id: "e1".into(),
                show_id: "s1".into(),
                captured_at_ms: 5,
                capacity: Some(10),
                available: Some(8),
                sold: Some(2),
            }),
        ];
        s.commit_page("v", "msk", &page, None, 0).unwrap();
        s.commit_page("v", "utc", &page[..1], None, 0).unwrap();
        assert_eq!(
            one_text(
                &s,
                "SELECT account || ' ' || sales_date || ' ' || tickets_sold || ' ' || revenue_minor
                 FROM sales_daily ORDER BY account"
            ),
            // Valid 1000 + refunded 1000 - 400 kept; the Moscow account's day is the 2nd.
            ["msk 2026-03-02 1 1600", "utc 2026-03-01 1 1000"]
        );
        assert_eq!(
            one_text(&s, "SELECT show_id || ' ' || sold FROM inventory_snapshots"),
            ["s1 2"]
        );
        // Without the embedded warehouse (ClickHouse installations) no history is kept.
        let other = StateStore::open(&dir.path().join("other.sqlite")).unwrap();
        other.commit_page("v", "msk", &page, None, 0).unwrap();
        assert!(one_text(&other, "SELECT show_id FROM inventory_snapshots").is_empty());
        assert_eq!(
            one_text(&other, "SELECT show_id FROM inventory_latest"),
            ["s1"]
        );
    }

    /// The state database at `path` with migrations before `upto` applied and a ticket and an
    /// event stored as a version before migration 9 stored them, then migrations up to `upto`.
    fn stored_before_9(path: &Path, upto: u32) {
        let mut conn = Connection::open(path).unwrap();
        let upto: Vec<Migration> = crate::state::MIGRATIONS
            .iter()
            .filter(|m| m.version <= upto)
            .copied()
            .collect();
        let before_9: Vec<Migration> = upto.iter().filter(|m| m.version < 9).copied().collect();
        migrate::apply(&mut conn, &before_9).unwrap();
        conn.execute_batch(&format!(
            "INSERT INTO tickets (vendor, account, ticket_id, order_id, event_id, category,
                 channel, status, price_minor, service_fee_minor, buyer_fee_minor,
                 producer_cost_minor, refunded_minor, currency, ordered_at_ms, updated_at_ms)
             VALUES ('v', 'msk', '1', 'o', 'e1', 'GA', 'online', 'refunded', 1000, 0, 0, 0,
                 300, 'EUR', {LATE_EVENING}, 1);
             INSERT INTO events (vendor, account, event_id, name, city, updated_at_ms)
             VALUES ('v', 'msk', 'e1', 'Show', 'Москва', 1);"
        ))
        .unwrap();
        migrate::apply(&mut conn, &upto).unwrap();
    }

    #[test]
    fn rows_stored_before_migration_9_get_the_warehouse_columns_on_open() {
        // 8: an upgrade (the open applies 9 and fills); 9: a process that stopped after
        // migration 9 committed and before the fill (the next open fills).
        for upto in [8, 9] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("state.sqlite");
            stored_before_9(&path, upto);
            let zones = AccountZones::new(Zone::utc()).with("v", "msk", Zone::fixed_minutes(180));
            let s = StateStore::open_with(
                &path,
                StateOptions {
                    zones,
                    warehouse: true,
                },
            )
            .unwrap();
            assert_eq!(
                one_text(
                    &s,
                    "SELECT sales_date || ' ' || kept_minor FROM tickets WHERE ticket_id = '1'"
                ),
                ["2026-03-02 700"],
                "stored before 9, migrated up to {upto} before the open"
            );
            assert_eq!(one_text(&s, "SELECT city_lower FROM events"), ["москва"]);
            assert!(one_text(
                &s,
                "SELECT CAST(since_migration AS TEXT) FROM embedded_fill_pending"
            )
            .is_empty());
        }
    }

    #[test]
    fn a_legacy_warehouse_file_is_taken_over_once_and_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join("warehouse.sqlite");
        {
            let mut conn = Connection::open(&legacy).unwrap();
            migrate::apply(&mut conn, LEGACY_MIGRATIONS).unwrap();
            conn.execute_batch(
                "INSERT INTO inventory_snapshots VALUES ('v', 'a', 'e1', 's1', 1, 10, 9, 1);
                 INSERT INTO inventory_snapshots VALUES ('v', 'a', 'e1', 's1', 2, 10, 8, 2);
                 INSERT INTO plan_sales VALUES ('v', '2026-03-01', 'e1', 'lyon', 5, 50.0, 1,
                     '2026-03-01 00:00:00');",
            )
            .unwrap();
        }
        let s = StateStore::open(&dir.path().join("state.sqlite")).unwrap();
        let t = s.take_over_legacy_warehouse(&legacy).unwrap().unwrap();
        assert_eq!((t.inventory_snapshots, t.plan_rows), (2, 1));
        assert!(!legacy.exists());
        assert_eq!(t.moved_to, dir.path().join("warehouse.sqlite.taken-over"));
        assert!(t.moved_to.is_file());
        assert_eq!(
            one_text(&s, "SELECT city || ' ' || plan_tickets FROM plan_sales"),
            ["lyon 5"]
        );
        assert_eq!(
            one_text(&s, "SELECT CAST(count(*) AS TEXT) FROM inventory_snapshots"),
            ["2"]
        );
        // Read once: a second start finds nothing to take over.
        assert_eq!(s.take_over_legacy_warehouse(&legacy).unwrap(), None);
    }
}
