//! Numbered SQL migrations for SQLite databases, applied in order and recorded with checksums.
//! The runner of the state database (`state`) and the SQLite warehouse (`sink::sqlite`); the
//! ClickHouse runner (`sink::clickhouse::migrate`) shares its [`Migration`] and [`checksum`].
//! At the crate root so that `sink` does not import the state room.
//!
//! An applied migration whose file changed since is refused: silently re-running or skipping an
//! edited schema step is how warehouses drift.

use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// One migration: `NNNN_name.sql` embedded at build time.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

#[derive(Debug, Error)]
pub enum MigrateError {
    #[error("migration {version} ({name}) was applied with checksum {applied} but the file now has {current}: applied migrations must not be edited; add a new one")]
    Tampered {
        version: u32,
        name: String,
        applied: String,
        current: String,
    },
    #[error("migration {version} ({name}) failed: {source}")]
    Failed {
        version: u32,
        name: String,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

pub fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

/// Applies what is missing; returns the versions applied now.
pub fn apply(conn: &mut Connection, migrations: &[Migration]) -> Result<Vec<u32>, MigrateError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL,
             checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)",
    )?;
    let mut applied_now = Vec::new();
    for m in migrations {
        let current = checksum(m.sql);
        let known: Option<String> = conn
            .query_row(
                "SELECT checksum FROM schema_migrations WHERE version = ?1",
                [m.version],
                |r| r.get(0),
            )
            .ok();
        match known {
            Some(applied) if applied == current => continue,
            Some(applied) => {
                return Err(MigrateError::Tampered {
                    version: m.version,
                    name: m.name.to_string(),
                    applied,
                    current,
                })
            }
            None => {}
        }
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)
            .map_err(|source| MigrateError::Failed {
                version: m.version,
                name: m.name.to_string(),
                source,
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?1, ?2, ?3, ?4)",
            params![m.version, m.name, current, crate::clock::now_ms()],
        )?;
        crate::crash_point::reached(crate::crash_point::CrashPhase::Migration);
        tx.commit()?;
        applied_now.push(m.version);
    }
    Ok(applied_now)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: Migration = Migration {
        version: 1,
        name: "one",
        sql: "CREATE TABLE a (x INTEGER);",
    };

    #[test]
    fn applies_once_and_refuses_tampering() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(apply(&mut c, &[V1]).unwrap(), vec![1]);
        assert_eq!(apply(&mut c, &[V1]).unwrap(), Vec::<u32>::new());
        let edited = Migration {
            sql: "CREATE TABLE a (x INTEGER, y TEXT);",
            ..V1
        };
        let err = apply(&mut c, &[edited]).unwrap_err();
        assert!(
            matches!(err, MigrateError::Tampered { version: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("must not be edited"));
    }

    #[test]
    fn a_failing_migration_is_not_recorded() {
        let mut c = Connection::open_in_memory().unwrap();
        let bad = Migration {
            version: 2,
            name: "bad",
            sql: "CREATE TABLE b (x INTEGER); NOT SQL;",
        };
        assert!(apply(&mut c, &[V1, bad]).is_err());
        let n: i64 = c
            .query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        let b: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'b'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(b, 0, "the failed migration's transaction was rolled back");
    }
}
