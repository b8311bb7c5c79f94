//! A small ClickHouse HTTP client: statements (migrations, `SELECT version()`, the bench's
//! counts) and `JSONEachRow` inserts with retries, on every release from Debian's 18.16 on.
//!
//! Typed rows go through `writer` (the `clickhouse` crate, RowBinary + LZ4, or this client's
//! JSONEachRow); statements stay here because the crate adds nothing to a DDL string.
//! Errors name the server's origin and ClickHouse's message, never the password (it travels in
//! the Authorization header only). They say which failure it was: a refusal carries the HTTP
//! status and the first line of ClickHouse's message; a transport failure is classified by
//! [`transport_reason`] (connection refused, connection closed mid-request, no answer within
//! the timeout).

use std::time::Duration;

use thiserror::Error;

pub use super::writer::ClickhouseEncoding;

/// The default of one request's time limit ([`ClickhouseConfig::timeout`], `[clickhouse]
/// timeout_secs`), the RowBinary writer's too (its send and its answer each).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and as whom to connect, and how rows travel. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickhouseConfig {
    /// `http://host:8123`
    pub url: String,
    pub user: String,
    pub password: String,
    pub database: String,
    /// The wire format of typed rows (the bench compares both; see `docs/clickhouse.md`).
    pub encoding: ClickhouseEncoding,
    /// One request's time limit (default [`REQUEST_TIMEOUT`]): a statement or insert with no
    /// complete answer by then fails (and is retried), naming the timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for ClickhouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickhouseConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .field("database", &self.database)
            .field("encoding", &self.encoding)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Debug, Error)]
pub enum ClickhouseError {
    #[error("ClickHouse at {origin} is unreachable after {attempts} attempt(s): {reason}")]
    Unreachable {
        origin: String,
        attempts: u32,
        reason: String,
    },
    #[error("ClickHouse at {origin} refused {what} (HTTP {status}): {message}")]
    Refused {
        origin: String,
        what: String,
        status: u16,
        message: String,
    },
    /// A refusal through the `clickhouse` crate, which reports ClickHouse's message but not
    /// the HTTP status.
    #[error("ClickHouse at {origin} refused {what}: {message}")]
    Rejected {
        origin: String,
        what: String,
        message: String,
    },
}

#[derive(Clone)]
pub struct ClickhouseClient {
    http: reqwest::Client,
    config: ClickhouseConfig,
    /// Attempts per request for transport errors and 502/503/504 (inserts are idempotent:
    /// every table collapses identical keys).
    pub attempts: u32,
    pub base_delay: Duration,
}

impl ClickhouseClient {
    pub fn new(config: ClickhouseConfig) -> Result<Self, ClickhouseError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ClickhouseError::Unreachable {
                origin: config.url.clone(),
                attempts: 0,
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            config,
            attempts: 3,
            base_delay: Duration::from_millis(200),
        })
    }

    pub fn config(&self) -> &ClickhouseConfig {
        &self.config
    }

    /// Runs a statement in the configured database and returns the response body.
    pub async fn execute(&self, sql: &str) -> Result<String, ClickhouseError> {
        self.send(Some(&self.config.database), sql.to_string(), &short(sql))
            .await
    }

    /// Runs a statement outside any database (to create it).
    pub async fn execute_global(&self, sql: &str) -> Result<String, ClickhouseError> {
        self.send(None, sql.to_string(), &short(sql)).await
    }

    /// Inserts rows (one JSON object per line) into `table`.
    pub async fn insert_json_lines(
        &self,
        table: &str,
        lines: &str,
        rows: usize,
    ) -> Result<(), ClickhouseError> {
        let body = format!("INSERT INTO {table} FORMAT JSONEachRow\n{lines}");
        self.send(
            Some(&self.config.database),
            body,
            &format!("an insert of {rows} row(s) into {table}"),
        )
        .await
        .map(|_| ())
    }

    async fn send(
        &self,
        database: Option<&str>,
        body: String,
        what: &str,
    ) -> Result<String, ClickhouseError> {
        let origin = self.config.url.trim_end_matches('/').to_string();
        let mut last = String::new();
        for attempt in 1..=self.attempts.max(1) {
            if attempt > 1 {
                tokio::time::sleep(self.base_delay * 4u32.pow(attempt - 2)).await;
            }
            let mut req = self
                .http
                .post(&origin)
                .basic_auth(&self.config.user, Some(&self.config.password))
                .body(body.clone());
            if let Some(db) = database {
                req = req.query(&[("database", db)]);
            }
            match req.send().await {
                Err(e) => last = transport_reason(&e.without_url(), self.config.timeout),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let text = match resp.text().await {
                        Ok(text) => text,
                        // The status came, the body did not: a cut or a stall mid-answer.
                        Err(e) => {
                            last = format!(
                                "HTTP {status}, then {}",
                                transport_reason(&e.without_url(), self.config.timeout)
                            );
                            continue;
                        }
                    };
                    if (200..300).contains(&status) {
                        return Ok(text);
                    }
                    if matches!(status, 502..=504) {
                        last = format!("HTTP {status}");
                        continue;
                    }
                    return Err(ClickhouseError::Refused {
                        origin,
                        what: what.to_string(),
                        status,
                        message: first_line(&text),
                    });
                }
            }
        }
        Err(ClickhouseError::Unreachable {
            origin,
            attempts: self.attempts.max(1),
            reason: last,
        })
    }
}

/// The first line of ClickHouse's message (its exception text; the stack trace and the
/// rest stay out of logs), at most 600 characters.
pub fn first_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default().trim();
    line.chars().take(600).collect()
}

/// What a transport failure was, from the error and its sources: `connection refused`,
/// `connection closed mid-request (…)` (reset, closed or cut before the answer was
/// complete), `no answer within N s (…timeout_secs)`, else the chain itself.
pub fn transport_reason(e: &(dyn std::error::Error + 'static), timeout: Duration) -> String {
    let mut chain = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if !chain.iter().any(|c: &String| c.contains(&text)) {
            chain.push(text);
        }
        cur = err.source();
    }
    let all = chain.join(": ");
    let lower = all.to_lowercase();
    let timed_out = lower.contains("timed out")
        || lower.contains("timeout")
        || chain_has(e, |err| {
            err.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        });
    if timed_out {
        return timeout_reason(timeout);
    }
    if lower.contains("connection refused") {
        return format!("connection refused ({all})");
    }
    let cut = [
        "connection reset",
        "connection closed",
        "broken pipe",
        "incomplete message",
        "unexpected eof",
        "end of file",
        "connection aborted",
        // hyper: the connection went away while the request body was being sent.
        "channel closed",
        "error decoding response body",
        "error reading a body",
    ];
    if cut.iter().any(|c| lower.contains(c)) {
        return format!("connection closed mid-request ({all})");
    }
    all
}

/// The reason a request that got no answer in time failed.
pub fn timeout_reason(timeout: Duration) -> String {
    format!(
        "no answer within {} s (the timeout: [clickhouse] timeout_secs / CLICKHOUSE_TIMEOUT_SECS)",
        timeout.as_secs_f64()
    )
}

fn chain_has(
    e: &(dyn std::error::Error + 'static),
    pred: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if pred(err) {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The first line of a statement, for error messages.
fn short(sql: &str) -> String {
    let line = sql.trim().lines().next().unwrap_or_default();
    let cut: String = line.chars().take(80).collect();
    format!("`{cut}`")
}
