//! A throwaway ClickHouse server (Debian's `clickhouse-server`, 18.16 on these machines, or any
//! newer one on PATH) on loopback ports, or an external one named by
//! `BOXOFFICE_TEST_CLICKHOUSE_URL` (`.ci/run` starts one and sets it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::process::{find_binary, free_port, spawn_bound};

/// Users the test server knows, mirroring the roles documented in `docs/clickhouse.md`.
pub const WRITER_USER: &str = "etl_writer";
/// Deliberately canary-like so leak sweeps can look for it.
pub const WRITER_PASSWORD: &str = "ch-writer-secret-CANARY";
pub const READER_USER: &str = "datalens_reader";
pub const READER_PASSWORD: &str = "ch-reader-secret-CANARY";

/// Where a test reaches ClickHouse.
#[derive(Debug, Clone)]
pub struct ClickhouseEndpoint {
    /// `http://127.0.0.1:<http_port>`
    pub url: String,
    pub user: String,
    pub password: String,
}

impl ClickhouseEndpoint {
    /// Runs one statement as the writer and returns the body (tab-separated by default).
    pub fn query(&self, sql: &str) -> anyhow::Result<String> {
        query(&self.url, &self.user, &self.password, None, sql)
    }

    /// Runs one statement in `database`.
    pub fn query_in(&self, database: &str, sql: &str) -> anyhow::Result<String> {
        query(&self.url, &self.user, &self.password, Some(database), sql)
    }

    /// Creates a fresh database named after the test, unique in this server.
    pub fn fresh_database(&self, prefix: &str) -> anyhow::Result<String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let name = format!(
            "t_{prefix}_{}_{}",
            std::process::id(),
            nanos % 1_000_000_000
        );
        self.query(&format!("CREATE DATABASE {name}"))?;
        Ok(name)
    }
}

fn query(
    url: &str,
    user: &str,
    password: &str,
    database: Option<&str>,
    sql: &str,
) -> anyhow::Result<String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut req = client
        .post(url)
        .basic_auth(user, Some(password))
        .body(sql.to_string());
    if let Some(db) = database {
        req = req.query(&[("database", db)]);
    }
    let resp = req.send().context("reaching the test ClickHouse")?;
    let status = resp.status();
    let body = resp.text()?;
    if !status.is_success() {
        bail!("ClickHouse answered {status} to `{sql}`: {body}");
    }
    Ok(body)
}

/// A server this process started; stopped on drop.
pub struct ClickhouseServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    http_port: u16,
    child: Option<Child>,
}

impl ClickhouseServer {
    /// Starts a server, or `Ok(None)` when no `clickhouse-server` is installed.
    pub fn start() -> anyhow::Result<Option<Self>> {
        Self::start_on(free_port(), free_port(), |_| Ok(()))
    }

    /// Starts a server on the given ports after `extra(dir)` added files next to its config
    /// (`config.d/*.xml`, `users.d/*.xml`: a cluster's macros, keeper and remote servers).
    pub(crate) fn start_on(
        http_port: u16,
        tcp_port: u16,
        extra: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<Option<Self>> {
        let Some(binary) = find_binary("clickhouse-server") else {
            return Ok(None);
        };
        let dir = tempfile::Builder::new()
            .prefix("boxoffice-clickhouse-")
            .tempdir()?;
        write_config(dir.path(), http_port, tcp_port)?;
        extra(dir.path())?;
        let mut s = Self {
            binary,
            dir,
            http_port,
            child: None,
        };
        s.launch()?;
        Ok(Some(s))
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg(format!(
            "--config-file={}",
            self.dir.path().join("config.xml").display()
        ))
        .current_dir(self.dir.path());
        let child = spawn_bound(cmd).context("starting clickhouse-server")?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(60))
    }

    fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        let ping = format!("http://127.0.0.1:{}/ping", self.http_port);
        loop {
            if let Ok(r) = reqwest::blocking::get(&ping) {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    let log = std::fs::read_to_string(self.dir.path().join("log/err.log"))
                        .unwrap_or_default();
                    let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
                    bail!("clickhouse-server exited with {status} while starting:\n{tail}");
                }
            }
            if Instant::now() > deadline {
                bail!("clickhouse-server did not answer /ping within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn endpoint(&self) -> ClickhouseEndpoint {
        ClickhouseEndpoint {
            url: format!("http://127.0.0.1:{}", self.http_port),
            user: WRITER_USER.into(),
            password: WRITER_PASSWORD.into(),
        }
    }

    /// Stops the server (SIGKILL: an outage, not a maintenance window) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether this process still runs the server (false after [`Self::stop`]).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the stopped server again on the same port with the same data.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.launch()
    }
}

impl Drop for ClickhouseServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The endpoint shared by the tests of one process: `BOXOFFICE_TEST_CLICKHOUSE_URL` when set,
/// else one server started on first use. `None` (after printing a skip line, or panicking when
/// servers are required) when neither exists.
pub fn shared_endpoint(test: &str) -> Option<ClickhouseEndpoint> {
    static SHARED: OnceLock<Result<Option<ClickhouseEndpoint>, String>> = OnceLock::new();
    let got = SHARED.get_or_init(|| {
        if let Ok(url) = std::env::var("BOXOFFICE_TEST_CLICKHOUSE_URL") {
            return Ok(Some(ClickhouseEndpoint {
                url: url.trim_end_matches('/').to_string(),
                user: std::env::var("BOXOFFICE_TEST_CLICKHOUSE_USER")
                    .unwrap_or_else(|_| WRITER_USER.into()),
                password: std::env::var("BOXOFFICE_TEST_CLICKHOUSE_PASSWORD")
                    .unwrap_or_else(|_| WRITER_PASSWORD.into()),
            }));
        }
        match ClickhouseServer::start() {
            Ok(Some(s)) => {
                let e = s.endpoint();
                // Lives until the process exits (the child dies with it).
                std::mem::forget(s);
                Ok(Some(e))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(format!("{e:#}")),
        }
    });
    match got {
        Ok(Some(e)) => Some(e.clone()),
        Ok(None) => {
            crate::skip_or_fail(
                test,
                "no clickhouse-server installed and BOXOFFICE_TEST_CLICKHOUSE_URL unset",
            );
            None
        }
        Err(e) => panic!("{test}: could not start clickhouse-server: {e}"),
    }
}

fn write_config(dir: &Path, http_port: u16, tcp_port: u16) -> anyhow::Result<()> {
    for sub in ["data", "tmp", "log", "user_files", "format_schemas"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let d = dir.display();
    let config = format!(
        r#"<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{d}/log/server.log</log>
        <errorlog>{d}/log/err.log</errorlog>
        <size>10M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>64</max_concurrent_queries>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <path>{d}/data/</path>
    <tmp_path>{d}/tmp/</tmp_path>
    <user_files_path>{d}/user_files/</user_files_path>
    <format_schema_path>{d}/format_schemas/</format_schema_path>
    <users_config>{d}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
"#
    );
    let user = |name: &str, password: &str, profile: &str| {
        format!(
            "<{name}><password>{password}</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>{profile}</profile><quota>default</quota></{name}>"
        )
    };
    let users = format!(
        r#"<?xml version="1.0"?>
<yandex>
    <profiles>
        <default><max_memory_usage>4000000000</max_memory_usage></default>
        <readonly><readonly>1</readonly></readonly>
    </profiles>
    <users>
        {}
        {}
        {}
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"#,
        user("default", "", "default"),
        user(WRITER_USER, WRITER_PASSWORD, "default"),
        user(READER_USER, READER_PASSWORD, "readonly"),
    );
    std::fs::write(dir.join("config.xml"), config)?;
    std::fs::write(dir.join("users.xml"), users)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_stops_and_restarts_with_data() {
        let Some(mut s) = ClickhouseServer::start().unwrap() else {
            crate::skip_or_fail("testkit clickhouse", "no clickhouse-server installed");
            return;
        };
        let e = s.endpoint();
        let db = e.fresh_database("kit").unwrap();
        e.query_in(
            &db,
            "CREATE TABLE t (x UInt32) ENGINE = MergeTree ORDER BY x",
        )
        .unwrap();
        e.query_in(&db, "INSERT INTO t VALUES (1), (2)").unwrap();
        s.stop();
        assert!(
            e.query("SELECT 1").is_err(),
            "a stopped server must not answer"
        );
        s.restart().unwrap();
        assert_eq!(e.query_in(&db, "SELECT sum(x) FROM t").unwrap().trim(), "3");
        let reader = ClickhouseEndpoint {
            user: READER_USER.into(),
            password: READER_PASSWORD.into(),
            ..e.clone()
        };
        assert!(reader.query_in(&db, "INSERT INTO t VALUES (3)").is_err());
        assert_eq!(
            reader
                .query_in(&db, "SELECT count() FROM t")
                .unwrap()
                .trim(),
            "2"
        );
    }
}
