//! Inserting typed rows (`rows`) into ClickHouse in one of two encodings, with the same
//! retries and errors either way.
//!
//! - [`ClickhouseEncoding::RowBinary`]: the `clickhouse` crate, LZ4-compressed; with the crate's
//!   schema validation where the server supports it (decided once at connect, see `version`).
//! - [`ClickhouseEncoding::JsonEachRow`]: the same rows serialized as JSON lines and posted by
//!   `client` (uncompressed), as before the crate.
//!
//! Inserts are idempotent (every table but `job_runs` collapses identical keys), so a transport
//! error or a gateway's 5xx is retried like the HTTP client does: `attempts` tries, 200 ms then
//! ×4. Errors name the origin and ClickHouse's message (its first line); a transport failure
//! says what it was (`client::transport_reason`: refused, closed mid-request, no answer within
//! the configured timeout). The password is never part of them. The `clickhouse` crate does not
//! report the HTTP status of a refusal, only ClickHouse's message (`Code: N. DB::Exception…`,
//! which names the error).

use std::time::Duration;

use clickhouse::{Compression, Row, RowWrite};

use super::client::{
    first_line, timeout_reason, transport_reason, ClickhouseClient, ClickhouseError,
};
use super::version;

/// How typed rows travel to ClickHouse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClickhouseEncoding {
    /// `RowBinary` + LZ4 through the `clickhouse` crate: the default (it measured faster, see
    /// `docs/performance.md`).
    #[default]
    RowBinary,
    /// `JSONEachRow` over plain HTTP (what every release parses; kept to compare and fall
    /// back to).
    JsonEachRow,
}

impl ClickhouseEncoding {
    pub const ALL: [Self; 2] = [Self::RowBinary, Self::JsonEachRow];

    /// The name used in bench rows and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RowBinary => "rowbinary",
            Self::JsonEachRow => "jsoneachrow",
        }
    }

    /// The format's own name.
    pub fn label(self) -> &'static str {
        match self {
            Self::RowBinary => "RowBinary+LZ4",
            Self::JsonEachRow => "JSONEachRow",
        }
    }
}

/// Writes typed rows; one per warehouse, cloned cheaply.
#[derive(Clone)]
pub struct RowWriter {
    http: ClickhouseClient,
    binary: clickhouse::Client,
    encoding: ClickhouseEncoding,
    validation: bool,
    server_version: String,
}

impl RowWriter {
    /// Asks the server's version (once) to decide the crate's validation, and builds the
    /// writer of `http`'s configured encoding.
    pub async fn connect(http: ClickhouseClient) -> Result<Self, ClickhouseError> {
        let server_version = http.execute("SELECT version()").await?;
        Ok(Self::with_server_version(http, &server_version))
    }

    /// The writer for a server whose `SELECT version()` answered `server_version` (the one
    /// place the validation choice is made: `version::validation_for`).
    pub fn with_server_version(http: ClickhouseClient, server_version: &str) -> Self {
        let server_version = server_version.trim().to_string();
        let validation = version::validation_for(&server_version);
        let c = http.config();
        let binary = clickhouse::Client::default()
            .with_url(c.url.trim_end_matches('/'))
            .with_user(&c.user)
            .with_password(&c.password)
            .with_database(&c.database)
            .with_compression(Compression::Lz4)
            .with_validation(validation);
        Self {
            encoding: c.encoding,
            http,
            binary,
            validation,
            server_version,
        }
    }

    pub fn encoding(&self) -> ClickhouseEncoding {
        self.encoding
    }

    /// Whether RowBinary inserts are validated against the schema (current servers only).
    pub fn validation(&self) -> bool {
        self.validation
    }

    /// What `SELECT version()` answered at connect.
    pub fn server_version(&self) -> &str {
        &self.server_version
    }

    /// Inserts `rows` into `table` as one INSERT (a page is the batch).
    pub async fn insert<R: Row + RowWrite>(
        &self,
        table: &str,
        rows: &[R::Value<'_>],
    ) -> Result<(), ClickhouseError> {
        if rows.is_empty() {
            return Ok(());
        }
        match self.encoding {
            ClickhouseEncoding::JsonEachRow => {
                let mut body = String::new();
                for (i, r) in rows.iter().enumerate() {
                    if i > 0 {
                        body.push('\n');
                    }
                    let line = serde_json::to_string(r)
                        .map_err(|e| self.rejected(table, rows.len(), e.to_string()))?;
                    body.push_str(&line);
                }
                self.http.insert_json_lines(table, &body, rows.len()).await
            }
            ClickhouseEncoding::RowBinary => self.insert_binary::<R>(table, rows).await,
        }
    }

    async fn insert_binary<R: Row + RowWrite>(
        &self,
        table: &str,
        rows: &[R::Value<'_>],
    ) -> Result<(), ClickhouseError> {
        let attempts = self.http.attempts.max(1);
        let mut last = String::new();
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(retry_delay(self.http.base_delay, attempt)).await;
            }
            match self.try_insert::<R>(table, rows).await {
                Ok(()) => return Ok(()),
                Err(e) if transient(&e) => last = self.scrub(&self.reason(&e)),
                Err(e) => return Err(self.rejected(table, rows.len(), e.to_string())),
            }
        }
        Err(ClickhouseError::Unreachable {
            origin: self.origin(),
            attempts,
            reason: last,
        })
    }

    async fn try_insert<R: Row + RowWrite>(
        &self,
        table: &str,
        rows: &[R::Value<'_>],
    ) -> clickhouse::error::Result<()> {
        let timeout = self.http.config().timeout;
        let mut insert = self
            .binary
            .insert::<R>(table)
            .await?
            .with_timeouts(Some(timeout), Some(timeout));
        for r in rows {
            insert.write(r).await?;
        }
        insert.end().await
    }

    /// What a retried failure was: the timeout, a cut or refused connection, or the answer of
    /// something in front of ClickHouse.
    fn reason(&self, e: &clickhouse::error::Error) -> String {
        use clickhouse::error::Error;
        let timeout = self.http.config().timeout;
        match e {
            Error::TimedOut => timeout_reason(timeout),
            Error::Network(source) => transport_reason(source.as_ref(), timeout),
            Error::BadResponse(text) => format!("bad response: {}", first_line(text)),
            other => first_line(&other.to_string()),
        }
    }

    fn origin(&self) -> String {
        self.http.config().url.trim_end_matches('/').to_string()
    }

    fn rejected(&self, table: &str, rows: usize, message: String) -> ClickhouseError {
        ClickhouseError::Rejected {
            origin: self.origin(),
            what: format!("an insert of {rows} row(s) into {table}"),
            message: first_line(&self.scrub(&message)),
        }
    }

    /// No server is known to echo a password, but an error text is never trusted to not.
    fn scrub(&self, text: &str) -> String {
        let password = &self.http.config().password;
        if password.is_empty() {
            text.to_string()
        } else {
            text.replace(password.as_str(), "<hidden>")
        }
    }
}

/// Worth another attempt: the request did not reach ClickHouse or timed out, or the answer
/// came from something in front of it (a gateway's 502/503/504 page holds no ClickHouse
/// exception). ClickHouse's own refusals (`Code: N … DB::Exception`) are final.
fn transient(e: &clickhouse::error::Error) -> bool {
    use clickhouse::error::Error;
    match e {
        Error::Network(_) | Error::TimedOut => true,
        Error::BadResponse(text) => !text.contains("DB::Exception") && !text.contains("Code:"),
        _ => false,
    }
}

/// Delay before attempt `n` (2, 3, …): the client's base, ×4 each time.
pub fn retry_delay(base: Duration, attempt: u32) -> Duration {
    base * 4u32.pow(attempt.saturating_sub(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clickhouse::error::Error;

    #[test]
    fn only_transport_errors_and_gateway_pages_are_retried() {
        assert!(transient(&Error::TimedOut));
        assert!(transient(&Error::BadResponse(
            "503 Service Unavailable".into()
        )));
        assert!(transient(&Error::BadResponse(
            "<html><body>502 Bad Gateway</body></html>".into()
        )));
        assert!(!transient(&Error::BadResponse(
            "Code: 192, e.displayText() = DB::Exception: Wrong password for user etl_writer".into()
        )));
        assert!(!transient(&Error::BadResponse("Code: 60".into())));
        assert!(!transient(&Error::NotEnoughData));
        assert!(!transient(&Error::SchemaMismatch("x".into())));
    }

    #[test]
    fn the_default_encoding_is_rowbinary() {
        assert_eq!(ClickhouseEncoding::default(), ClickhouseEncoding::RowBinary);
    }
}
