//! The state room: the SQLite database that is always present.
//!
//! Owns: cursors, job runs, and the ticket ledger (current state per ticket, no personal data:
//! the source of truth for metrics), plus merged events and the latest inventory per show.
//! A page's ledger changes and its cursor are committed in ONE transaction, after the sink has
//! acknowledged the page. It does not own the warehouse (see `sink`).
//!
//! The figures `/metrics` serves are aggregates the database keeps beside the ledger: triggers
//! on `tickets` (migration 0006) move each written ticket's old row out of its groups and its
//! new row into them, in the same transaction as the write, so a scrape reads a few hundred
//! rows instead of the ledger. The full scans stay, as the reference a test holds them to
//! (`kpis_rescan`, `breakdowns_rescan_capped`).
//!
//! A write the disk cannot take (the filesystem full, or the file at the process's size limit,
//! `RLIMIT_FSIZE`) fails its transaction whole; [`storage_error`] turns SQLite's `database or
//! disk is full` / `disk I/O error` into an error naming the file, the free space and the size
//! limit, so the operator sees which file and why (the warehouse's SQLite file uses it too).

pub mod breakdown;
mod group;
pub mod ledger;
pub mod migrate;
mod run_status;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};

pub use ledger::{EventRow, KpiRow, RunHealth};
use migrate::Migration;
pub use run_status::RunStatus;

/// Migrations of the state database, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "state",
        sql: include_str!("../../../migrations/sqlite/0001_state.sql"),
    },
    // The ledger's aggregates for `/metrics`, kept by triggers (see `ledger.rs`). Versions 2–5
    // and 7 are other branches' numbers.
    Migration {
        version: 6,
        name: "ledger_aggregates",
        sql: include_str!("../../../migrations/sqlite/0006_ledger_aggregates.sql"),
    },
];

pub struct StateStore {
    conn: Mutex<Connection>,
    path: PathBuf,
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
            path: path.to_path_buf(),
        })
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

/// `e` as a storage error of the SQLite file at `path` when the disk refused a write (SQLite's
/// `SQLITE_FULL`, or a failed write/extend/sync, which is how a write past `RLIMIT_FSIZE`
/// surfaces: `EFBIG` is an I/O error to SQLite): the message names the file and says
/// `disk full or file size limit reached`, with the free space of its filesystem, the
/// process's file size limit and the file's size (with its WAL). Other errors are returned as
/// they are. The transaction that failed was rolled back: nothing of it is stored.
pub fn storage_error(path: &Path, e: anyhow::Error) -> anyhow::Error {
    use rusqlite::ErrorCode;
    let refused = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(f, _))
                if matches!(f.code, ErrorCode::DiskFull | ErrorCode::SystemIoFailure)
        )
    });
    if !refused {
        return e;
    }
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let (db, wal) = (size(path), size(Path::new(&wal)));
    let free = free_bytes(path)
        .map(|b| format!("{} free on its filesystem", bytes(b)))
        .unwrap_or_else(|| "free space unknown".into());
    let limit = match file_size_limit() {
        Some(l) => format!("file size limit (RLIMIT_FSIZE) {}", bytes(l)),
        None => "no file size limit".into(),
    };
    e.context(format!(
        "cannot write {}: disk full or file size limit reached ({free}; {limit}; the file {} + WAL {}); the transaction was rolled back, nothing of it is stored",
        path.display(),
        bytes(db),
        bytes(wal)
    ))
}

fn bytes(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64)
    } else if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    } else {
        format!("{} KiB", b.div_ceil(1024))
    }
}

/// Bytes an unprivileged writer may still use on the filesystem holding `path`.
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a properly sized out-parameter.
    (unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0)
        .then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// This process's `RLIMIT_FSIZE` soft limit, `None` when unlimited.
fn file_size_limit() -> Option<u64> {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `l` is a properly sized out-parameter.
    if unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut l) } != 0
        || l.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(l.rlim_cur)
}

#[cfg(test)]
mod storage_error_tests {
    use super::*;

    #[test]
    fn a_full_disk_names_the_file_and_other_errors_pass_unchanged() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        let e = storage_error(Path::new("/var/lib/boxoffice/state.sqlite"), full.into());
        let text = format!("{e:#}");
        assert!(
            text.contains("cannot write /var/lib/boxoffice/state.sqlite: disk full or file size limit reached"),
            "{text}"
        );
        let other = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            None,
        );
        let e = storage_error(Path::new("/x/state.sqlite"), other.into());
        assert!(!format!("{e:#}").contains("disk full"), "{e:#}");
    }
}
