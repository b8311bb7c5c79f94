//! How boxoffice's SQLite files are opened and why a write to one failed: [`tune`] sets the
//! pragmas every file gets (WAL, `synchronous = NORMAL`, foreign keys, checkpoint size, busy
//! timeout) and [`storage_error`] turns SQLite's `database or disk is full` / `disk I/O error`
//! into an error naming the file, the free space and the size limit.
//!
//! At the crate root because the state database (`state`) and the SQLite warehouse
//! (`sink::sqlite`) both use it, and `sink` does not import the state room. It does not own
//! what is stored in those files.

use std::path::Path;

use rusqlite::Connection;

/// The pragmas of every boxoffice SQLite file, set once per connection.
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
