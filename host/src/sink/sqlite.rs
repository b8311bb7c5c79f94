//! The embedded SQLite warehouse, as the sink room sees it. Its tables and views (tickets,
//! events, inventory snapshots, job runs, daily sales and the parity views, `plan_sales`) live
//! in the state database since issue 18 item 7 (migrations 9–11 of `state`), over the
//! ledger's own rows, so each ticket is written once.
//!
//! Owns: the warehouse's face to the sync loop and to `plan import` (`sink::plan` writes plans
//! through [`SqliteWarehouse::connection`]). Does not own the writes of pages: the ledger's
//! commit of a page (`state::ledger`) stores its tickets, events and inventory in the very
//! transaction that moves the page's cursor, so by the time the cursor may move there is
//! nothing left for [`Sink::write`] to do, and a run's row in `job_runs` is the state's own
//! (the warehouse's names for its columns are generated columns, migration 9).

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension};

use super::{RunRecord, Sink, SinkFuture};

pub struct SqliteWarehouse {
    conn: Mutex<Connection>,
}

impl SqliteWarehouse {
    /// The warehouse inside the state database at `path`, which the state room has created and
    /// migrated (`state::StateStore::open`): a file without the warehouse's objects is refused,
    /// naming it.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening the SQLite warehouse {}", path.display()))?;
        crate::sqlite_file::tune(&conn)?;
        let has_views: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'view' AND name = 'sales_daily'",
                [],
                |r| r.get(0),
            )
            .optional()
            .with_context(|| format!("reading the schema of {}", path.display()))?;
        anyhow::ensure!(
            has_views.is_some(),
            "{} has no embedded warehouse (no `sales_daily` view): the SQLite warehouse lives in \
             the state database, which boxoffice creates and migrates on start",
            path.display()
        );
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The warehouse connection, for writers beside the sink (`sink::plan`).
    pub(super) fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Sink for SqliteWarehouse {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    /// Nothing to write: the page's rows are the ledger's, stored by its commit of this page.
    fn write<'a>(
        &'a self,
        _vendor: &'a str,
        _account: &'a str,
        _records: &'a [crate::model::Record],
    ) -> SinkFuture<'a> {
        Box::pin(async { Ok(()) })
    }

    /// Nothing to write: the state's `job_runs` row of the run is the warehouse's.
    fn record_run<'a>(&'a self, _run: &'a RunRecord) -> SinkFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}
