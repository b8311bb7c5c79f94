//! The sharded, replicated warehouse (`[clickhouse] cluster`, `CLICKHOUSE_CLUSTER`): the same
//! migrations as one server, transformed statement by statement into cluster DDL, applied
//! `ON CLUSTER` under a keeper lock and recorded in a replicated ledger.
//!
//! One source of truth: `migrations/clickhouse/*.sql` stay the only schema text; [`transform`]
//! derives the cluster form, so the two modes cannot drift apart (a parallel file set could).
//! - `CREATE TABLE t (…) ENGINE = XMergeTree(args) …` becomes `t_local` with
//!   `ReplicatedXMergeTree('/clickhouse/tables/{shard}/<db>/t_local', '{replica}', args)` on
//!   every server, plus `t` = `Distributed(<cluster>, <db>, t_local, cityHash64(vendor, account))`:
//!   writes and views keep using `t`. The key keeps all versions of a ticket on one shard (what
//!   `FINAL` needs: it deduplicates within a shard) and an account's tickets, events and
//!   snapshots together, so the views' JOINs stay shard-local (`distributed_product_mode =
//!   'local'`, docs/scaling.md).
//! - Tables without an account ([`GLOBAL_TABLES`]: the plan) are small: replicated whole to
//!   every server (one keeper path), no `Distributed`.
//! - Views and drops run `ON CLUSTER` with the tables in their bodies qualified by the database
//!   (the DDL worker has no current database).
//! - `ALTER TABLE t ADD COLUMN` alters `t_local` `ON CLUSTER` (skipped when it has the column)
//!   and recreates `t`'s `Distributed` (18.16 refuses `ALTER … ON CLUSTER` on it).
//!
//! Two migrators never apply a migration twice: after creating the database and the ledger
//! (`IF NOT EXISTS`, `ON CLUSTER`), a migrator takes the lock by creating the replicated table
//! `boxoffice_migration_lock_<its token>` with the fixed replica name `lock` at one keeper
//! path: ZooKeeper lets exactly one create succeed (the token lets a retried create recognise
//! its own lock); the others wait, then re-read the ledger (after `SYSTEM
//! SYNC REPLICA`) and find the work done. The lock is dropped when the run ends, failed or not.
//! A schema already current is checked without any `ON CLUSTER` statement, so a daemon starts
//! while a replica is down.

use std::time::{Duration, Instant};

use thiserror::Error;

use super::client::{ClickhouseClient, ClickhouseError};
use super::migrate::{added_column, column_exists, statements, MigrateError, MigrateReport};
use crate::migrate::{checksum, Migration};

/// Tables with no account column: replicated to every server instead of sharded.
pub const GLOBAL_TABLES: &[&str] = &["plan_sales"];

/// The sharding key of every sharded table.
pub const SHARDING_KEY: &str = "cityHash64(vendor, account)";

/// The lock table's name prefix (in the warehouse database, on the server holding it); the
/// holder appends its own token, so a retried `CREATE` recognises its own lock.
pub const LOCK_TABLE: &str = "boxoffice_migration_lock";

/// How long a migrator waits for another one's lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(180);

/// A statement the transform does not know how to distribute.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("no cluster form for this migration statement (write one in host/src/sink/clickhouse/cluster.rs): {0}")]
pub struct Untransformable(pub String);

/// One cluster statement; skipped when `unless_column` (table, column) already exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub sql: String,
    pub unless_column: Option<(String, String)>,
}

impl Step {
    fn run(sql: String) -> Self {
        Self {
            sql,
            unless_column: None,
        }
    }
}

/// Names of the tables and views the migrations create, in order (what view bodies may name).
pub fn created_names(migrations: &[Migration]) -> Vec<String> {
    let mut out = Vec::new();
    for m in migrations {
        for st in statements(m.sql) {
            let rest = st
                .strip_prefix("CREATE TABLE IF NOT EXISTS ")
                .or_else(|| st.strip_prefix("CREATE VIEW IF NOT EXISTS "));
            if let Some(name) = rest.and_then(|r| r.split_whitespace().next()) {
                let name = name.trim_end_matches('(').to_string();
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
    out
}

/// The cluster form of one single-server statement.
pub fn transform(
    stmt: &str,
    db: &str,
    cluster: &str,
    known: &[String],
) -> Result<Vec<Step>, Untransformable> {
    let bad = || Untransformable(stmt.chars().take(120).collect());
    let on = format!("ON CLUSTER {cluster}");
    if let Some(rest) = stmt.strip_prefix("CREATE TABLE IF NOT EXISTS ") {
        let (name, body) = rest.split_once(" (").ok_or_else(bad)?;
        let name = name.trim();
        let (columns, engine) = body.rsplit_once(") ENGINE = ").ok_or_else(bad)?;
        let (engine_name, tail) = engine.split_once('(').ok_or_else(bad)?;
        let (args, after) = tail.split_once(')').ok_or_else(bad)?;
        if !engine_name.ends_with("MergeTree") || engine_name.starts_with("Replicated") {
            return Err(bad());
        }
        let global = GLOBAL_TABLES.contains(&name);
        let (local, path, replica) = if global {
            (
                name.to_string(),
                format!("/clickhouse/tables/all/{db}/{name}"),
                "{shard}-{replica}",
            )
        } else {
            (
                format!("{name}_local"),
                format!("/clickhouse/tables/{{shard}}/{db}/{name}_local"),
                "{replica}",
            )
        };
        let args = if args.trim().is_empty() {
            String::new()
        } else {
            format!(", {}", args.trim())
        };
        let mut steps = vec![Step::run(format!(
            "CREATE TABLE IF NOT EXISTS {db}.{local} {on} ({columns}) ENGINE = Replicated{engine_name}('{path}', '{replica}'{args}){after}"
        ))];
        if !global {
            steps.push(Step::run(distributed(db, name, cluster)));
        }
        return Ok(steps);
    }
    if let Some(rest) = stmt.strip_prefix("CREATE VIEW IF NOT EXISTS ") {
        let (name, body) = rest.split_once(" AS").ok_or_else(bad)?;
        return Ok(vec![Step::run(format!(
            "CREATE VIEW IF NOT EXISTS {db}.{} {on} AS{}",
            name.trim(),
            qualify(body, db, known)
        ))]);
    }
    if let Some(name) = stmt.strip_prefix("DROP TABLE IF EXISTS ") {
        let name = name.trim();
        if name.contains(char::is_whitespace) || !known.iter().any(|k| k == name) {
            return Err(bad());
        }
        return Ok(vec![Step::run(format!(
            "DROP TABLE IF EXISTS {db}.{name} {on}"
        ))]);
    }
    if let Some((table, column)) = added_column(stmt) {
        if GLOBAL_TABLES.contains(&table) {
            return Err(bad());
        }
        let local = format!("{table}_local");
        let rest = stmt
            .split_once(" ADD COLUMN ")
            .map(|(_, r)| r)
            .ok_or_else(bad)?;
        return Ok(vec![
            Step {
                sql: format!("ALTER TABLE {db}.{local} {on} ADD COLUMN {rest}"),
                unless_column: Some((local.clone(), column.to_string())),
            },
            Step::run(format!("DROP TABLE IF EXISTS {db}.{table} {on}")),
            Step::run(distributed(db, table, cluster)),
        ]);
    }
    Err(bad())
}

fn distributed(db: &str, table: &str, cluster: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {db}.{table} ON CLUSTER {cluster} AS {db}.{table}_local \
         ENGINE = Distributed({cluster}, {db}, {table}_local, {SHARDING_KEY})"
    )
}

/// Prefixes `db.` to every known table or view named right after `FROM` or `JOIN`.
fn qualify(body: &str, db: &str, known: &[String]) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(body.len() + 64);
    let mut rest = body;
    let mut prev_keyword = false;
    while !rest.is_empty() {
        let ws = rest.len() - rest.trim_start().len();
        out.push_str(&rest[..ws]);
        rest = &rest[ws..];
        let word_len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if word_len == 0 {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
            prev_keyword = false;
            continue;
        }
        let word = &rest[..word_len];
        let dotted = rest[word_len..].starts_with('.');
        if prev_keyword && !dotted && known.iter().any(|k| k == word) {
            out.push_str(db);
            out.push('.');
        }
        out.push_str(word);
        prev_keyword = word.eq_ignore_ascii_case("FROM") || word.eq_ignore_ascii_case("JOIN");
        rest = &rest[word_len..];
    }
    out
}

fn ledger(db: &str, cluster: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {db}.boxoffice_migrations ON CLUSTER {cluster} (
    version UInt32, name String, checksum String, applied_at_ms Int64
) ENGINE = ReplicatedMergeTree('/clickhouse/boxoffice/{db}/boxoffice_migrations', '{{shard}}-{{replica}}') ORDER BY version"
    )
}

#[derive(serde::Deserialize)]
struct Applied {
    version: u32,
    name: String,
    checksum: String,
}

async fn read_ledger(client: &ClickhouseClient) -> Result<Vec<Applied>, MigrateError> {
    client
        .execute("SYSTEM SYNC REPLICA boxoffice_migrations")
        .await?;
    let body = client
        .execute("SELECT version, name, checksum FROM boxoffice_migrations ORDER BY version FORMAT JSONEachRow")
        .await?;
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| MigrateError::Ledger(e.to_string())))
        .collect()
}

/// What is missing, after refusing an unknown or edited applied migration.
fn missing<'m>(
    applied: &[Applied],
    migrations: &'m [Migration],
    report: &mut MigrateReport,
) -> Result<Vec<&'m Migration>, MigrateError> {
    if let Some(a) = applied
        .iter()
        .find(|a| !migrations.iter().any(|m| m.version == a.version))
    {
        return Err(MigrateError::Unknown {
            version: a.version,
            name: a.name.clone(),
        });
    }
    report.already.clear();
    let mut out = Vec::new();
    for m in migrations {
        let current = checksum(m.sql);
        match applied.iter().find(|a| a.version == m.version) {
            Some(a) if a.checksum != current => {
                return Err(MigrateError::Tampered {
                    name: m.name.to_string(),
                    applied: a.checksum.clone(),
                    current,
                })
            }
            Some(_) => report.already.push(m.name.to_string()),
            None => out.push(m),
        }
    }
    Ok(out)
}

/// Brings a cluster's schema up to date: the cluster twin of [`super::migrate::apply`].
pub async fn apply(
    client: &ClickhouseClient,
    cluster: &str,
    migrations: &[Migration],
) -> Result<MigrateReport, MigrateError> {
    let db = client.config().database.clone();
    let mut report = MigrateReport::default();
    // Fast path, no ON CLUSTER statement: the schema is current (a replica may be down).
    let has_ledger = client
        .execute_global(&format!(
            "SELECT count() FROM system.tables WHERE database = '{db}' AND name = 'boxoffice_migrations'"
        ))
        .await?;
    if has_ledger.trim() != "0"
        && missing(&read_ledger(client).await?, migrations, &mut report)?.is_empty()
    {
        return Ok(report);
    }
    client
        .execute_global(&format!(
            "CREATE DATABASE IF NOT EXISTS {db} ON CLUSTER {cluster}"
        ))
        .await?;
    client.execute_global(&ledger(&db, cluster)).await?;
    let held = lock(client, &db).await?;
    let result = apply_locked(client, &db, cluster, migrations, &mut report).await;
    let unlocked = client
        .execute_global(&format!("DROP TABLE IF EXISTS {db}.{held}"))
        .await;
    result?;
    unlocked?;
    Ok(report)
}

async fn apply_locked(
    client: &ClickhouseClient,
    db: &str,
    cluster: &str,
    migrations: &[Migration],
    report: &mut MigrateReport,
) -> Result<(), MigrateError> {
    let todo = missing(&read_ledger(client).await?, migrations, report)?;
    let known = created_names(migrations);
    for m in todo {
        let mut n = 0;
        for stmt in statements(m.sql) {
            let steps = transform(&stmt, db, cluster, &known)
                .map_err(|e| MigrateError::Ledger(format!("{}: {e}", m.name)))?;
            for step in steps {
                n += 1;
                let failed = |source| MigrateError::Failed {
                    name: m.name.to_string(),
                    statement: n,
                    source,
                };
                if let Some((table, column)) = &step.unless_column {
                    if column_exists(client, table, column).await.map_err(failed)? {
                        continue;
                    }
                }
                client.execute_global(&step.sql).await.map_err(failed)?;
            }
        }
        let row = serde_json::json!({
            "version": m.version,
            "name": m.name,
            "checksum": checksum(m.sql),
            "applied_at_ms": crate::clock::now_ms(),
        });
        client
            .insert_json_lines("boxoffice_migrations", &row.to_string(), 1)
            .await?;
        report.applied.push(m.name.to_string());
    }
    Ok(())
}

/// Takes the migration lock: one replicated table per holder, all at one keeper path with one
/// fixed replica name, so ZooKeeper lets exactly one exist in the whole cluster. Returns the
/// held table's name (`boxoffice_migration_lock_<token>`).
///
/// The client retries a request whose answer was lost (a timeout, a cut connection); if the
/// lost answer was a success, the retry is refused as "exists". The holder's own token in the
/// table's name tells that case (our table exists: we hold it) from another holder's lock
/// (wait), instead of waiting [`LOCK_WAIT`] for ourselves.
async fn lock(client: &ClickhouseClient, db: &str) -> Result<String, MigrateError> {
    let token = format!("{:016x}", rand::random::<u64>());
    let table = format!("{LOCK_TABLE}_{token}");
    let create = format!(
        "CREATE TABLE {db}.{table} (holder String) ENGINE = \
         ReplicatedMergeTree('/clickhouse/boxoffice/{db}/migration_lock', 'lock') ORDER BY holder"
    );
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match client.execute_global(&create).await {
            Ok(_) => return Ok(table),
            // 57: the table exists here; 253: the replica exists in the keeper (another server).
            Err(ClickhouseError::Refused { ref message, .. })
                if message.starts_with("Code: 57,") || message.starts_with("Code: 253,") =>
            {
                let ours = client
                    .execute_global(&format!("EXISTS TABLE {db}.{table}"))
                    .await?;
                if ours.trim() == "1" {
                    return Ok(table);
                }
                if Instant::now() > deadline {
                    return Err(MigrateError::Ledger(format!(
                        "another boxoffice has held the cluster migration lock for over {}s \
                         (keeper path /clickhouse/boxoffice/{db}/migration_lock): if no migration \
                         runs, a crashed one left it; find it with `SELECT database, name FROM \
                         system.tables WHERE name LIKE '{LOCK_TABLE}%'` on each server and drop it",
                        LOCK_WAIT.as_secs()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::clickhouse::MIGRATIONS;

    fn known() -> Vec<String> {
        created_names(MIGRATIONS)
    }

    #[test]
    fn every_bundled_migration_has_a_cluster_form() {
        let known = known();
        for m in MIGRATIONS {
            for st in statements(m.sql) {
                let steps = transform(&st, "bo", "c1", &known)
                    .unwrap_or_else(|e| panic!("{}: {e}", m.name));
                for s in &steps {
                    assert!(
                        s.sql.contains(" ON CLUSTER c1"),
                        "{}: not ON CLUSTER: {}",
                        m.name,
                        s.sql
                    );
                    assert!(
                        s.sql.contains("IF NOT EXISTS")
                            || s.sql.starts_with("DROP TABLE IF EXISTS ")
                            || s.unless_column.is_some(),
                        "{}: not re-runnable: {}",
                        m.name,
                        s.sql
                    );
                }
            }
        }
    }

    #[test]
    fn a_table_becomes_replicated_local_plus_distributed() {
        let steps = transform(
            "CREATE TABLE IF NOT EXISTS tickets (\n    vendor String,\n    _version UInt64\n) ENGINE = ReplacingMergeTree(_version)\nORDER BY (vendor, ticket_id)",
            "bo",
            "c1",
            &known(),
        )
        .unwrap();
        assert_eq!(steps.len(), 2);
        assert_eq!(
            steps[0].sql,
            "CREATE TABLE IF NOT EXISTS bo.tickets_local ON CLUSTER c1 (\n    vendor String,\n    _version UInt64\n) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/bo/tickets_local', '{replica}', _version)\nORDER BY (vendor, ticket_id)"
        );
        assert_eq!(
            steps[1].sql,
            "CREATE TABLE IF NOT EXISTS bo.tickets ON CLUSTER c1 AS bo.tickets_local ENGINE = Distributed(c1, bo, tickets_local, cityHash64(vendor, account))"
        );
        let plain = transform(
            "CREATE TABLE IF NOT EXISTS job_runs (\n x Int64\n) ENGINE = MergeTree()\nORDER BY x",
            "bo",
            "c1",
            &known(),
        )
        .unwrap();
        assert!(plain[0]
            .sql
            .contains("ReplicatedMergeTree('/clickhouse/tables/{shard}/bo/job_runs_local', '{replica}')\nORDER BY x"));
    }

    #[test]
    fn the_plan_is_replicated_whole_and_views_are_qualified() {
        let plan = transform(
            "CREATE TABLE IF NOT EXISTS plan_sales (\n x Int64\n) ENGINE = ReplacingMergeTree(_ver)\nORDER BY x",
            "bo",
            "c1",
            &known(),
        )
        .unwrap();
        assert_eq!(plan.len(), 1);
        assert!(plan[0].sql.contains("bo.plan_sales ON CLUSTER c1"));
        assert!(plan[0]
            .sql
            .contains("'/clickhouse/tables/all/bo/plan_sales', '{shard}-{replica}', _ver"));
        let view = transform(
            "CREATE VIEW IF NOT EXISTS v AS\nSELECT a FROM tickets FINAL ARRAY JOIN arrayConcat(e) AS e\nANY LEFT JOIN (SELECT x FROM events FINAL) USING x WHERE b IN (SELECT 1 FROM system.one)",
            "bo",
            "c1",
            &known(),
        )
        .unwrap();
        assert_eq!(
            view[0].sql,
            "CREATE VIEW IF NOT EXISTS bo.v ON CLUSTER c1 AS\nSELECT a FROM bo.tickets FINAL ARRAY JOIN arrayConcat(e) AS e\nANY LEFT JOIN (SELECT x FROM bo.events FINAL) USING x WHERE b IN (SELECT 1 FROM system.one)"
        );
    }

    #[test]
    fn an_added_column_alters_the_local_table_and_recreates_the_distributed_one() {
        let steps = transform(
            "ALTER TABLE tickets ADD COLUMN visibility Array(String)",
            "bo",
            "c1",
            &known(),
        )
        .unwrap();
        assert_eq!(
            steps[0].sql,
            "ALTER TABLE bo.tickets_local ON CLUSTER c1 ADD COLUMN visibility Array(String)"
        );
        assert_eq!(
            steps[0].unless_column,
            Some(("tickets_local".into(), "visibility".into()))
        );
        assert_eq!(
            steps[1].sql,
            "DROP TABLE IF EXISTS bo.tickets ON CLUSTER c1"
        );
        assert!(steps[2]
            .sql
            .starts_with("CREATE TABLE IF NOT EXISTS bo.tickets ON CLUSTER"));
    }

    #[test]
    fn unknown_shapes_are_refused_by_name() {
        for st in [
            "ALTER TABLE plan_sales ADD COLUMN x UInt8",
            "DROP TABLE IF EXISTS tickets_backup",
            "INSERT INTO tickets VALUES (1)",
            "CREATE TABLE IF NOT EXISTS t (x UInt8) ENGINE = Memory",
        ] {
            let e = transform(st, "bo", "c1", &known()).unwrap_err();
            assert!(e.to_string().contains(&st[..20]), "{e}");
        }
    }
}
