//! The state room: the SQLite database that is always present.
//!
//! Owns: cursors, job runs, and the ticket ledger (current state per ticket, no personal data:
//! the source of truth for metrics), plus merged events and the latest inventory per show,
//! and the keys of stored webhook deliveries (`webhook`).
//! A page's ledger changes and its cursor are committed in ONE transaction, after the sink has
//! acknowledged the page.
//!
//! The embedded SQLite warehouse lives here too (issue 18 item 7): the ledger's `tickets` and
//! `events` carry the warehouse's columns (`kept_minor`, `sales_date`, `city_lower`), and the
//! analysts' views and tables (migrations 10 and 11, the files of `migrations/sqlite/warehouse/`)
//! are created over them, so with the SQLite warehouse a page's tickets are written once, in the
//! page's one transaction. `sink::sqlite` is that warehouse's face to the sync loop (its writes
//! are already done here) and to `plan import`. A ClickHouse installation has the same objects,
//! unused but for the inventory history it does not keep ([`StateOptions::warehouse`]).
//!
//! The figures `/metrics` serves are aggregates the database keeps beside the ledger
//! (migration 0006's tables): each page's write sums its tickets' old rows out of their groups
//! and new rows into them (`aggregates`) and applies each group's delta once, in the page's
//! transaction, so a scrape reads a few hundred rows instead of the ledger. The full scans stay, as the reference a test holds them to
//! (`kpis_rescan`, `breakdowns_rescan_capped`).
//!
//! A write the disk cannot take (the filesystem full, or the file at the process's size limit,
//! `RLIMIT_FSIZE`) fails its transaction whole; [`crate::sqlite_file::storage_error`] turns SQLite's `database or
//! disk is full` / `disk I/O error` into an error naming the file, the free space and the size
//! limit, so the operator sees which file and why (the warehouse's SQLite file uses it too).

mod aggregates;
pub mod breakdown;
mod embedded;
mod group;
pub mod ledger;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};

use crate::migrate::{self, Migration};
use crate::run_record::RunKind;
pub use crate::run_record::{RunFigures, RunStatus};
use crate::sqlite_file::{storage_error, tune};
use crate::zone::AccountZones;
pub use embedded::LegacyTakeover;
pub use ledger::{EventRow, KpiRow, RunHealth};
pub use webhook::WebhookCommit;

/// Migrations of the state database, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "state",
        sql: include_str!("../../../migrations/sqlite/0001_state.sql"),
    },
    // The ledger's aggregates for `/metrics`, kept per page since 8 (see `aggregates.rs`). Versions 2–5
    // are other branches' numbers; 7 is the webhook deliveries' keys.
    Migration {
        version: 6,
        name: "ledger_aggregates",
        sql: include_str!("../../../migrations/sqlite/0006_ledger_aggregates.sql"),
    },
    Migration {
        version: 7,
        name: "webhook_deliveries",
        sql: include_str!("../../../migrations/sqlite/0007_webhook_deliveries.sql"),
    },
    // The aggregates are kept per page by the writer (`aggregates.rs`), not per row: the
    // insert and update triggers of 0006 go.
    Migration {
        version: 8,
        name: "page_aggregates",
        sql: include_str!("../../../migrations/sqlite/0008_page_aggregates.sql"),
    },
    // The embedded warehouse in this database: the ledger's tables gain the warehouse's
    // columns (9), then the warehouse's own objects are created over them (10, 11: the files
    // a separate `warehouse.sqlite` was made of; their tables that the ledger has already are
    // `IF NOT EXISTS` no-ops).
    Migration {
        version: 9,
        name: "embedded_warehouse",
        sql: include_str!("../../../migrations/sqlite/0009_embedded_warehouse.sql"),
    },
    Migration {
        version: 10,
        name: "warehouse",
        sql: include_str!("../../../migrations/sqlite/warehouse/0001_warehouse.sql"),
    },
    Migration {
        version: 11,
        name: "warehouse_parity_views",
        sql: include_str!("../../../migrations/sqlite/warehouse/0003_parity_views.sql"),
    },
];

/// How the state database is used by this installation.
#[derive(Debug, Clone, Default)]
pub struct StateOptions {
    /// The zone of each account's `sales_date` (written with every ticket version).
    pub zones: AccountZones,
    /// The embedded warehouse is the installation's warehouse: keep every inventory snapshot
    /// (`inventory_snapshots`), not only the latest per show.
    pub warehouse: bool,
}

pub struct StateStore {
    conn: Mutex<Connection>,
    path: PathBuf,
    options: StateOptions,
}

impl StateStore {
    /// The state database with sales days in [`crate::zone::Zone::default`] (Moscow) and no
    /// inventory history (tests, tools).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, StateOptions::default())
    }

    pub fn open_with(path: &Path, options: StateOptions) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating state directory {}", dir.display()))?;
        }
        let mut conn = Connection::open(path)
            .with_context(|| format!("opening state database {}", path.display()))?;
        tune(&conn)?;
        migrate::apply(&mut conn, MIGRATIONS)
            .with_context(|| format!("migrating state database {}", path.display()))?;
        embedded::fill_new_columns(&conn, &options.zones)
            .with_context(|| format!("filling the warehouse columns of {}", path.display()))?;
        Ok(Self {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            options,
        })
    }

    pub(crate) fn options(&self) -> &StateOptions {
        &self.options
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn cursor(&self, vendor: &str, account: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT cursor FROM cursors WHERE vendor = ?1 AND account = ?2",
                params![vendor, account],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn begin_run(
        &self,
        vendor: &str,
        account: &str,
        kind: RunKind,
        now_ms: i64,
    ) -> anyhow::Result<i64> {
        let c = self.conn();
        c.execute(
            "INSERT INTO job_runs (vendor, account, kind, started_at, status) VALUES (?1, ?2, ?3, ?4, 'running')",
            params![vendor, account, kind.as_str(), now_ms],
        )?;
        Ok(c.last_insert_rowid())
    }

    pub fn finish_run(&self, run_id: i64, outcome: &RunFigures, now_ms: i64) -> anyhow::Result<()> {
        let done = self.conn().execute(
            "UPDATE job_runs SET finished_at = ?2, status = ?3, pages = ?4, records = ?5,
                 rejected = ?6, requests = ?7, message = ?8 WHERE id = ?1",
            params![
                run_id,
                now_ms,
                outcome.status.as_str(),
                outcome.pages as i64,
                outcome.records as i64,
                outcome.rejected as i64,
                outcome.requests as i64,
                outcome.message
            ],
        );
        // The run's own message is kept: it says what the run did before this write failed.
        done.map(|_| ()).map_err(|e| {
            storage_error(&self.path, e.into()).context(format!(
                "recording the end of run {run_id} ({}: {})",
                outcome.status.as_str(),
                outcome.message
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts `job_runs.kind` and `job_runs.status` hold, written out: `as_str` must not
    /// drift with a renamed variant (`run_health` and the operator's queries read them).
    #[test]
    fn job_runs_rows_hold_the_stored_texts() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(&dir.path().join("state.sqlite")).unwrap();
        let raw = |id: i64| -> (String, String) {
            s.conn()
                .query_row(
                    "SELECT status, kind FROM job_runs WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
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
        for (kind, kind_text) in [(RunKind::Sync, "sync"), (RunKind::Backfill, "backfill")] {
            for (status, status_text) in statuses {
                let id = s.begin_run("qtickets", "main", kind, 1).unwrap();
                assert_eq!(raw(id), ("running".to_string(), kind_text.to_string()));
                let figures = RunFigures {
                    status,
                    message: "m".into(),
                    ..Default::default()
                };
                s.finish_run(id, &figures, 2).unwrap();
                assert_eq!(raw(id), (status_text.to_string(), kind_text.to_string()));
            }
        }
    }

    #[test]
    fn job_runs_store_the_same_text_and_unknown_status_reads_as_failed() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(&dir.path().join("state.sqlite")).unwrap();
        for (i, st) in RunStatus::ALL.into_iter().enumerate() {
            let account = format!("a{i}");
            let id = s.begin_run("v", &account, RunKind::Backfill, 1).unwrap();
            let figures = RunFigures {
                status: st,
                pages: 1,
                records: 2,
                rejected: 3,
                requests: 4,
                message: "m".into(),
            };
            s.finish_run(id, &figures, 2).unwrap();
            let (kind, status, counts): (String, String, (i64, i64, i64, i64)) = s
                .conn()
                .query_row(
                    "SELECT kind, status, pages, records, rejected, requests FROM job_runs WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, (r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))),
                )
                .unwrap();
            assert_eq!((kind.as_str(), status.as_str()), ("backfill", st.as_str()));
            assert_eq!(counts, (1, 2, 3, 4));
        }
        s.conn()
            .execute(
                "INSERT INTO job_runs (vendor, account, kind, started_at, finished_at, status)
                 VALUES ('v', 'z', 'sync', 1, 2, 'partial')",
                [],
            )
            .unwrap();
        let health = s.run_health().unwrap();
        let got: Vec<(&str, RunStatus)> = health
            .iter()
            .map(|h| (h.account.as_str(), h.last_status))
            .collect();
        let mut want: Vec<(String, RunStatus)> = RunStatus::ALL
            .into_iter()
            .enumerate()
            .map(|(i, st)| (format!("a{i}"), st))
            .collect();
        want.push(("z".into(), RunStatus::Failed));
        let want: Vec<(&str, RunStatus)> = want.iter().map(|(a, s)| (a.as_str(), *s)).collect();
        assert_eq!(got, want);
    }
}
