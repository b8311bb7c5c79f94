//! The state room: the SQLite database that is always present.
//!
//! Owns: cursors, job runs, and the ticket ledger (current state per ticket, no personal data:
//! the source of truth for metrics), plus merged events and the latest inventory per show,
//! and the keys of stored webhook deliveries (`webhook`).
//! A page's ledger changes and its cursor are committed in ONE transaction, after the sink has
//! acknowledged the page. It does not own the warehouse (see `sink`).

pub mod breakdown;
mod group;
pub mod ledger;
pub mod migrate;
mod run_status;
pub mod webhook;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};

pub use ledger::{EventRow, KpiRow, RunHealth};
use migrate::Migration;
pub use run_status::RunStatus;
pub use webhook::WebhookCommit;

/// Migrations of the state database, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "state",
        sql: include_str!("../../../migrations/sqlite/0001_state.sql"),
    },
    Migration {
        version: 7,
        name: "webhook_deliveries",
        sql: include_str!("../../../migrations/sqlite/0007_webhook_deliveries.sql"),
    },
];

pub struct StateStore {
    conn: Mutex<Connection>,
}

/// Counts and outcome of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOutcome {
    pub status: RunStatus,
    pub pages: u64,
    pub records: u64,
    pub rejected: u64,
    pub requests: u64,
    pub message: String,
}

pub(crate) fn tune(conn: &Connection) -> rusqlite::Result<()> {
    // WAL + NORMAL: durable at every commit boundary that matters (a crash loses at most the
    // last transaction, which the cursor protocol re-fetches), and much faster than FULL.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Checkpoint every 16 MB of WAL rather than 4 MB: fewer fsyncs on the writer's path, and
    // pages changed by several batches are copied back once. (A larger page cache did not
    // pay for its memory once the sync wrote pages in batches.)
    conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
}

impl StateStore {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating state directory {}", dir.display()))?;
        }
        let mut conn = Connection::open(path)
            .with_context(|| format!("opening state database {}", path.display()))?;
        tune(&conn)?;
        migrate::apply(&mut conn, MIGRATIONS)
            .with_context(|| format!("migrating state database {}", path.display()))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
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
        kind: &str,
        now_ms: i64,
    ) -> anyhow::Result<i64> {
        let c = self.conn();
        c.execute(
            "INSERT INTO job_runs (vendor, account, kind, started_at, status) VALUES (?1, ?2, ?3, ?4, 'running')",
            params![vendor, account, kind, now_ms],
        )?;
        Ok(c.last_insert_rowid())
    }

    pub fn finish_run(&self, run_id: i64, outcome: &RunOutcome, now_ms: i64) -> anyhow::Result<()> {
        self.conn().execute(
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
        )?;
        Ok(())
    }
}
