//! ClickHouse schema migrations: `migrations/clickhouse/NNNN_*.sql`, applied in order by
//! `boxoffice migrate` and at start-up, recorded with checksums in `boxoffice_migrations`.
//!
//! A file may hold several statements separated by `;` at a line end (ClickHouse's HTTP
//! interface runs one per request). Every statement is `IF NOT EXISTS`, so a migration that
//! failed half-way is simply re-run; it is recorded only once all its statements succeeded.
//! `ALTER TABLE t ADD COLUMN c …` cannot say so on 18.16: the migrator skips it when `c`
//! already exists, which makes it re-runnable too.
//! A view is redefined by `DROP TABLE IF EXISTS v` (18.16 has no `DROP VIEW`, nor `CREATE OR
//! REPLACE VIEW`) followed by `CREATE VIEW IF NOT EXISTS v`: re-runnable as a pair.
//! An applied migration whose file changed is refused, as is a database migrated by a newer
//! boxoffice.

use thiserror::Error;

use super::client::{ClickhouseClient, ClickhouseError};
use crate::migrate::{checksum, Migration};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_tables.sql",
        sql: include_str!("../../../../migrations/clickhouse/0001_tables.sql"),
    },
    Migration {
        version: 2,
        name: "0002_views.sql",
        sql: include_str!("../../../../migrations/clickhouse/0002_views.sql"),
    },
    Migration {
        version: 3,
        name: "0003_qtickets_compat.sql",
        sql: include_str!("../../../../migrations/clickhouse/0003_qtickets_compat.sql"),
    },
    Migration {
        version: 4,
        name: "0004_parity.sql",
        sql: include_str!("../../../../migrations/clickhouse/0004_parity.sql"),
    },
    Migration {
        version: 5,
        name: "0005_compat_unknowns.sql",
        sql: include_str!("../../../../migrations/clickhouse/0005_compat_unknowns.sql"),
    },
];

const LEDGER: &str = "CREATE TABLE IF NOT EXISTS boxoffice_migrations (
    version UInt32, name String, checksum String, applied_at_ms Int64
) ENGINE = MergeTree() ORDER BY version";

#[derive(Debug, Error)]
pub enum MigrateError {
    #[error("ClickHouse migration {name} was applied with checksum {applied} but the file now has {current}: applied migrations must not be edited; put the change in a new migration")]
    Tampered {
        name: String,
        applied: String,
        current: String,
    },
    #[error("the ClickHouse database has migration {version} ({name}), which this boxoffice does not know: it was migrated by a newer version; upgrade boxoffice")]
    Unknown { version: u32, name: String },
    #[error("ClickHouse migration {name}, statement {statement}: {source}")]
    Failed {
        name: String,
        statement: usize,
        source: ClickhouseError,
    },
    #[error(transparent)]
    Clickhouse(#[from] ClickhouseError),
    #[error("reading the migration ledger: {0}")]
    Ledger(String),
}

/// What a migration run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateReport {
    pub applied: Vec<String>,
    pub already: Vec<String>,
}

/// Splits a migration file into statements: `--` comment lines dropped, `;` at a line end ends
/// a statement.
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in sql.lines() {
        if line.trim_start().starts_with("--") {
            continue;
        }
        let trimmed = line.trim_end();
        if let Some(stmt) = trimmed.strip_suffix(';') {
            cur.push_str(stmt);
            if !cur.trim().is_empty() {
                out.push(cur.trim().to_string());
            }
            cur.clear();
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// `(table, column)` of an `ALTER TABLE t ADD COLUMN c …` statement.
pub fn added_column(stmt: &str) -> Option<(&str, &str)> {
    let mut words = stmt.split_whitespace();
    let mut expect = |w: &str| words.next().is_some_and(|x| x.eq_ignore_ascii_case(w));
    if !(expect("ALTER") && expect("TABLE")) {
        return None;
    }
    let table = words.next()?;
    let mut rest = words;
    let (add, column) = (rest.next()?, rest.next()?);
    if !add.eq_ignore_ascii_case("ADD") || !column.eq_ignore_ascii_case("COLUMN") {
        return None;
    }
    Some((table, rest.next()?))
}

/// Whether `table.column` exists in the configured database.
pub(super) async fn column_exists(
    client: &ClickhouseClient,
    table: &str,
    column: &str,
) -> Result<bool, ClickhouseError> {
    let quote = |v: &str| v.replace('\\', "\\\\").replace('\'', "\\'");
    let body = client
        .execute(&format!(
            "SELECT count() FROM system.columns WHERE database = currentDatabase() \
             AND table = '{}' AND name = '{}'",
            quote(table),
            quote(column)
        ))
        .await?;
    Ok(body.trim() != "0")
}

#[derive(serde::Deserialize)]
struct Applied {
    version: u32,
    name: String,
    checksum: String,
}

/// Creates the database if needed and applies what is missing, in order.
pub async fn apply(
    client: &ClickhouseClient,
    migrations: &[Migration],
) -> Result<MigrateReport, MigrateError> {
    let db = &client.config().database;
    client
        .execute_global(&format!("CREATE DATABASE IF NOT EXISTS {db}"))
        .await?;
    client.execute(LEDGER).await?;
    let body = client
        .execute("SELECT version, name, checksum FROM boxoffice_migrations ORDER BY version FORMAT JSONEachRow")
        .await?;
    let mut applied: Vec<Applied> = Vec::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        applied.push(serde_json::from_str(line).map_err(|e| MigrateError::Ledger(e.to_string()))?);
    }
    if let Some(a) = applied
        .iter()
        .find(|a| !migrations.iter().any(|m| m.version == a.version))
    {
        return Err(MigrateError::Unknown {
            version: a.version,
            name: a.name.clone(),
        });
    }
    let mut report = MigrateReport::default();
    for m in migrations {
        let current = checksum(m.sql);
        if let Some(a) = applied.iter().find(|a| a.version == m.version) {
            if a.checksum != current {
                return Err(MigrateError::Tampered {
                    name: m.name.to_string(),
                    applied: a.checksum.clone(),
                    current,
                });
            }
            report.already.push(m.name.to_string());
            continue;
        }
        for (i, stmt) in statements(m.sql).iter().enumerate() {
            if let Some((table, column)) = added_column(stmt) {
                let exists = column_exists(client, table, column)
                    .await
                    .map_err(|source| MigrateError::Failed {
                        name: m.name.to_string(),
                        statement: i + 1,
                        source,
                    })?;
                if exists {
                    continue;
                }
            }
            client
                .execute(stmt)
                .await
                .map_err(|source| MigrateError::Failed {
                    name: m.name.to_string(),
                    statement: i + 1,
                    source,
                })?;
        }
        let row = serde_json::json!({
            "version": m.version,
            "name": m.name,
            "checksum": current,
            "applied_at_ms": crate::clock::now_ms(),
        });
        client
            .insert_json_lines("boxoffice_migrations", &row.to_string(), 1)
            .await?;
        report.applied.push(m.name.to_string());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_statements_and_drops_comments() {
        let s = statements("-- a; comment\nCREATE TABLE a (x UInt8)\nENGINE = Memory;\n\nCREATE VIEW v AS SELECT 1;\n");
        assert_eq!(
            s,
            vec![
                "CREATE TABLE a (x UInt8)\nENGINE = Memory".to_string(),
                "CREATE VIEW v AS SELECT 1".to_string()
            ]
        );
    }

    #[test]
    fn recognises_added_columns_only() {
        assert_eq!(
            added_column("ALTER TABLE tickets ADD COLUMN visibility Array(String)"),
            Some(("tickets", "visibility"))
        );
        assert_eq!(
            added_column("alter table t add column c UInt8"),
            Some(("t", "c"))
        );
        assert_eq!(added_column("ALTER TABLE t DROP COLUMN c"), None);
        assert_eq!(added_column("CREATE TABLE IF NOT EXISTS t (x UInt8)"), None);
        assert_eq!(added_column("ALTER TABLE t ADD COLUMN"), None);
    }

    #[test]
    fn every_bundled_migration_is_numbered_in_order_and_guarded() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
            assert!(m.name.starts_with(&format!("{:04}_", m.version)));
            let sts = statements(m.sql);
            for (i, st) in sts.iter().enumerate() {
                // Only a view's redefinition may drop: the next statement recreates it.
                let drop_view = st.strip_prefix("DROP TABLE IF EXISTS ").is_some_and(|v| {
                    sts.get(i + 1).is_some_and(|next| {
                        next.starts_with(&format!("CREATE VIEW IF NOT EXISTS {} AS", v.trim()))
                    })
                });
                assert!(
                    st.contains("IF NOT EXISTS") || added_column(st).is_some() || drop_view,
                    "{}: every statement must be re-runnable: {st}",
                    m.name
                );
            }
        }
    }
}
