//! Writing the KPI history ([`super::history`]) into VictoriaMetrics, or any server with its
//! `/api/v1/import/prometheus` and `/api/v1/export` API, for `boxoffice backfill-metrics`.
//!
//! Owns the target URL (credentials split off and never shown), batching, retries, and
//! idempotency. VictoriaMetrics 1.79 stores every sample it receives, even one with the
//! timestamp and value of a sample it already has (unless the operator set
//! `-dedup.minScrapeInterval`), so a second run would double every point. Each batch therefore
//! first reads the batch's series back from `/api/v1/export` and sends only the samples whose
//! timestamps the server does not have yet. A sample the server has with another value is kept
//! as it is (a sample cannot be overwritten) and counted as a conflict.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use reqwest::{StatusCode, Url};
use thiserror::Error;

use super::history::{self, Grid, HistoryStats, Series};
use super::label::LabelValue;
use crate::retry::{classify, Backoff, Failure, Jitter, Next, Policy};
use crate::state::StateStore;

const IMPORT_PATH: &str = "/api/v1/import/prometheus";
const EXPORT_PATH: &str = "/api/v1/export";
const FLUSH_PATH: &str = "/internal/force_flush";

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("{flag} `{shown}` is not a URL ({why}); give the server's base URL, e.g. http://127.0.0.1:8428")]
    NotUrl {
        flag: &'static str,
        shown: String,
        why: String,
    },
    #[error("{flag} `{shown}`: only http:// and https:// are supported")]
    Scheme { flag: &'static str, shown: String },
    #[error("{flag} `{shown}`: no query string or fragment; give the server's base URL, e.g. http://127.0.0.1:8428")]
    Query { flag: &'static str, shown: String },
    #[error("label `{0}`: use NAME=VALUE with a name of letters, digits and _ (not starting with a digit or __)")]
    BadLabel(String),
    #[error("label `{0}`: the history already sets this label")]
    TakenLabel(String),
}

/// One server address: the URL without credentials, and the credentials.
#[derive(Clone)]
struct Endpoint {
    base: Url,
    auth: Option<(String, Option<String>)>,
}

impl Endpoint {
    fn parse(flag: &'static str, raw: &str) -> Result<Self, TargetError> {
        let shown = redact_raw(raw);
        let mut url = Url::parse(raw.trim()).map_err(|e| TargetError::NotUrl {
            flag,
            shown: shown.clone(),
            why: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
            return Err(TargetError::Scheme { flag, shown });
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(TargetError::Query { flag, shown });
        }
        let auth = (!url.username().is_empty() || url.password().is_some()).then(|| {
            (
                percent_decode(url.username()),
                url.password().map(percent_decode),
            )
        });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        // Accept the import URL itself as well as the base.
        let path = url.path().trim_end_matches('/').to_string();
        let path = path
            .strip_suffix(IMPORT_PATH)
            .or_else(|| path.strip_suffix("/api/v1/import"))
            .unwrap_or(&path)
            .to_string();
        url.set_path(&path);
        Ok(Self { base: url, auth })
    }

    fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        let p = format!("{}{path}", self.base.path().trim_end_matches('/'));
        u.set_path(&p);
        u
    }

    fn with_auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.auth {
            Some((user, pass)) => r.basic_auth(user, pass.as_deref()),
            None => r,
        }
    }
}

/// `raw` with anything between `scheme://` and `@` masked, for messages about a URL that may
/// not even parse.
fn redact_raw(raw: &str) -> String {
    let raw = raw.trim();
    let (scheme, rest) = match raw.find("://") {
        Some(i) => (&raw[..i + 3], &raw[i + 3..]),
        None => ("", raw),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_string(),
    };
    // A query string may carry keys too.
    let rest = match rest.find(['?', '#']) {
        Some(q) => format!("{}{}…", &rest[..q], &rest[q..q + 1]),
        None => rest,
    };
    format!("{scheme}{rest}")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where the history goes: the import server, where existing samples are read from (the same
/// server unless `--read-from` names another, e.g. vmselect for a vminsert), and labels added
/// to every series (e.g. the `job` and `instance` the scraper adds, so the past and the scraped
/// present are one series).
#[derive(Clone)]
pub struct Target {
    write: Endpoint,
    read: Endpoint,
    extra_labels: Vec<(String, String)>,
}

impl Target {
    pub fn parse(
        to: &str,
        read_from: Option<&str>,
        labels: &[String],
    ) -> Result<Self, TargetError> {
        let write = Endpoint::parse("--to", to)?;
        let read = match read_from {
            Some(r) => {
                let mut e = Endpoint::parse("--read-from", r)?;
                if e.auth.is_none() {
                    e.auth = write.auth.clone();
                }
                e
            }
            None => write.clone(),
        };
        let taken = history::label_names(history::FAMILIES);
        let mut extra_labels = Vec::new();
        for l in labels {
            let Some((k, v)) = l.split_once('=') else {
                return Err(TargetError::BadLabel(l.clone()));
            };
            let k = k.trim();
            let ok = !k.is_empty()
                && !k.starts_with("__")
                && !k.starts_with(|c: char| c.is_ascii_digit())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(TargetError::BadLabel(l.clone()));
            }
            if taken.contains(&k) || extra_labels.iter().any(|(e, _)| e == k) {
                return Err(TargetError::TakenLabel(k.to_string()));
            }
            extra_labels.push((k.to_string(), v.to_string()));
        }
        Ok(Self {
            write,
            read,
            extra_labels,
        })
    }

    /// The import URL as it may be shown: no credentials.
    pub fn import_url(&self) -> Url {
        self.write.url(IMPORT_PATH)
    }

    pub fn export_url(&self) -> Url {
        self.read.url(EXPORT_PATH)
    }
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("Target")
            .field("write", &self.write.base.as_str())
            .field("read", &self.read.base.as_str())
            .field("extra_labels", &self.extra_labels)
            .finish()
    }
}

#[derive(Debug, Error)]
enum WriteError {
    #[error("{method} {url} failed after {attempts} attempt(s): {detail}")]
    Transport {
        method: &'static str,
        url: Url,
        attempts: u32,
        detail: String,
    },
    #[error("{method} {url} answered {status}: {body}")]
    Status {
        method: &'static str,
        url: Url,
        status: StatusCode,
        body: String,
    },
    #[error("{url} returned a line that is not an export record ({why}): {line}")]
    Export { url: Url, why: String, line: String },
}

/// Batching and retrying.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Samples per request (a batch is closed at the first series past it).
    pub batch_samples: usize,
    /// Series per request (bounds the selectors of the export read).
    pub batch_series: usize,
    /// Tries per request on transport errors, 5xx and 429.
    pub attempts: u32,
    /// Wait before the second try; doubled for each further one.
    pub backoff: Duration,
    pub timeout: Duration,
}

impl ImportOptions {
    /// The retry policy of every request: `attempts` in all, `backoff` doubled after each
    /// failure, no jitter, no cap, no `Retry-After`; transport errors, 5xx and 429 retried
    /// ([`classify::victoria_metrics`]).
    pub fn retry_policy(&self) -> Policy {
        Policy {
            max_attempts: self.attempts,
            backoff: Backoff {
                base: self.backoff,
                factor: 2,
                max: Duration::MAX,
                jitter: Jitter::None,
            },
            max_retry_after: None,
            retryable: classify::victoria_metrics,
        }
    }
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            batch_samples: 50_000,
            batch_series: 500,
            attempts: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(120),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub series: u64,
    /// Samples sent.
    pub written: u64,
    /// Samples the server already had with the same value (not sent again).
    pub present: u64,
    /// Samples the server already had with another value (kept; not sent).
    pub conflicts: u64,
    pub requests: u64,
    /// The server made the samples visible at once (`/internal/force_flush`); when false a run
    /// started within seconds may not see them and send them again.
    pub flushed: bool,
}

/// Progress as reported after each batch.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub tickets_read: u64,
    pub import: ImportStats,
}

pub type ProgressHook = Arc<dyn Fn(&Progress) + Send + Sync>;

struct Importer {
    client: reqwest::Client,
    target: Target,
    opts: ImportOptions,
    batch: Vec<Series>,
    batch_samples: usize,
    stats: ImportStats,
}

/// `name{labels…,extra…}`, label values escaped: the text format's series and, with the labels
/// sorted by name, the key a series is recognised by in the export.
fn series_text(name: &str, labels: &[(&str, LabelValue)], extra: &[(String, String)]) -> String {
    let mut out = String::with_capacity(64);
    out.push_str(name);
    out.push('{');
    let mut first = true;
    for (k, v) in labels.iter().map(|(k, v)| (*k, v.escaped())).chain(
        extra
            .iter()
            .map(|(k, v)| (k.as_str(), super::label::escape(v))),
    ) {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(k);
        out.push_str("=\"");
        out.push_str(&v);
        out.push('"');
    }
    out.push('}');
    out
}

fn series_key(s: &Series, extra: &[(String, String)]) -> String {
    let mut all: Vec<(&str, LabelValue)> = s.labels.clone();
    all.extend(extra.iter().map(|(k, v)| (k.as_str(), LabelValue::from(v))));
    all.sort();
    series_text(s.name, &all, &[])
}

fn same_value(a: f64, b: f64) -> bool {
    // The server stores values as decimals; allow for the last bits of a binary fraction.
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn fmt_seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

impl Importer {
    fn new(target: Target, opts: ImportOptions) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            client,
            target,
            opts,
            batch: Vec::new(),
            batch_samples: 0,
            stats: ImportStats::default(),
        })
    }

    /// Sends a request built by `make`, retrying transport errors, 5xx and 429; any other
    /// status is an error carrying the start of the body.
    async fn send(
        &mut self,
        method: &'static str,
        url: &Url,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, WriteError> {
        let policy = self.opts.retry_policy();
        let attempts = policy.attempts();
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.stats.requests += 1;
            match make().send().await {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) => {
                    let status = r.status();
                    let next = policy.after(attempt, Failure::Status(status.as_u16()), None);
                    let Next::Retry(wait) = next else {
                        let body = r.text().await.unwrap_or_default();
                        let mut body: String = body.trim().chars().take(300).collect();
                        if body.is_empty() {
                            body = "(no body)".into();
                        }
                        return Err(WriteError::Status {
                            method,
                            url: url.clone(),
                            status,
                            body,
                        });
                    };
                    tracing::debug!(
                        "{method} {url}: attempt {attempt} failed, retrying in {wait:?}"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    let next = policy.after(attempt, Failure::Transport, None);
                    let Next::Retry(wait) = next else {
                        // Without the URL: reqwest's would carry the credentials.
                        let e = e.without_url();
                        let mut detail = e.to_string();
                        let mut src = std::error::Error::source(&e);
                        while let Some(s) = src {
                            detail.push_str(": ");
                            detail.push_str(&s.to_string());
                            src = s.source();
                        }
                        return Err(WriteError::Transport {
                            method,
                            url: url.clone(),
                            attempts,
                            detail,
                        });
                    };
                    tracing::debug!(
                        "{method} {url}: attempt {attempt} failed, retrying in {wait:?}"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn push(&mut self, s: Series) -> anyhow::Result<bool> {
        self.batch_samples += s.values.len();
        self.batch.push(s);
        if self.batch_samples >= self.opts.batch_samples
            || self.batch.len() >= self.opts.batch_series
        {
            self.flush_batch().await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Samples of the batch's series the server already has, by series key and timestamp.
    /// Only timestamps on a series' own grid are kept: scraped samples in between are not ours.
    async fn existing(&mut self) -> anyhow::Result<HashMap<String, HashMap<i64, Vec<f64>>>> {
        let extra = self.target.extra_labels.clone();
        let mut wanted: HashMap<String, usize> = HashMap::new();
        let mut form: Vec<(&str, String)> = Vec::new();
        let (mut start, mut end) = (i64::MAX, i64::MIN);
        for (i, s) in self.batch.iter().enumerate() {
            if s.values.is_empty() {
                continue;
            }
            wanted.insert(series_key(s, &extra), i);
            form.push(("match[]", series_text(s.name, &s.labels, &extra)));
            start = start.min(s.first_ms);
            end = end.max(s.timestamp(s.values.len() - 1));
        }
        let mut out: HashMap<String, HashMap<i64, Vec<f64>>> = HashMap::new();
        if wanted.is_empty() {
            return Ok(out);
        }
        form.push(("start", fmt_seconds(start)));
        form.push(("end", fmt_seconds(end)));
        let url = self.target.export_url();
        let (client, read) = (self.client.clone(), self.target.read.clone());
        let mut resp = self
            .send("POST", &url, || {
                read.with_auth(client.post(url.clone())).form(&form)
            })
            .await?;
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let chunk = resp.chunk().await.map_err(|e| WriteError::Transport {
                method: "POST",
                url: url.clone(),
                attempts: 1,
                detail: e.without_url().to_string(),
            })?;
            let done = chunk.is_none();
            if let Some(c) = chunk {
                pending.extend_from_slice(&c);
            }
            // Whole lines only; the rest waits for the next chunk.
            let cut = if done {
                pending.len()
            } else {
                match pending.iter().rposition(|b| *b == b'\n') {
                    Some(p) => p + 1,
                    None => continue,
                }
            };
            let lines: Vec<u8> = pending.drain(..cut).collect();
            for line in lines.split(|b| *b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                self.take_export_line(line, &url, &wanted, &mut out)?;
            }
            if done {
                return Ok(out);
            }
        }
    }

    fn take_export_line(
        &self,
        line: &[u8],
        url: &Url,
        wanted: &HashMap<String, usize>,
        out: &mut HashMap<String, HashMap<i64, Vec<f64>>>,
    ) -> anyhow::Result<()> {
        #[derive(serde::Deserialize)]
        struct Record {
            metric: std::collections::BTreeMap<String, String>,
            values: Vec<Option<f64>>,
            timestamps: Vec<i64>,
        }
        let bad = |why: String| WriteError::Export {
            url: url.clone(),
            why,
            line: String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned(),
        };
        let rec: Record = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
        if rec.values.len() != rec.timestamps.len() {
            return Err(bad("values and timestamps differ in length".into()).into());
        }
        let name = rec.metric.get("__name__").cloned().unwrap_or_default();
        let labels: Vec<(&str, LabelValue)> = rec
            .metric
            .iter()
            .filter(|(k, _)| k.as_str() != "__name__")
            .map(|(k, v)| (k.as_str(), LabelValue::from(v)))
            .collect();
        let key = series_text(&name, &labels, &[]);
        // A selector also matches series with more labels: only the exact series counts.
        let Some(&i) = wanted.get(&key) else {
            return Ok(());
        };
        let s = &self.batch[i];
        let last = s.timestamp(s.values.len() - 1);
        let entry = out.entry(key).or_default();
        for (ts, v) in rec.timestamps.iter().zip(&rec.values) {
            let on_grid = *ts >= s.first_ms && *ts <= last && (ts - s.first_ms) % s.step_ms == 0;
            if let (true, Some(v)) = (on_grid, v) {
                entry.entry(*ts).or_default().push(*v);
            }
        }
        Ok(())
    }

    async fn flush_batch(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let have = self.existing().await?;
        let extra = self.target.extra_labels.clone();
        let mut body = String::new();
        for s in &self.batch {
            let key = series_key(s, &extra);
            let known = have.get(&key);
            let text = series_text(s.name, &s.labels, &extra);
            for (i, v) in s.values.iter().enumerate() {
                let ts = s.timestamp(i);
                match known.and_then(|k| k.get(&ts)) {
                    Some(vals) if vals.iter().any(|x| same_value(*x, *v)) => {
                        self.stats.present += 1
                    }
                    Some(_) => self.stats.conflicts += 1,
                    None => {
                        use std::fmt::Write;
                        let _ = writeln!(body, "{text} {v} {ts}");
                        self.stats.written += 1;
                    }
                }
            }
            self.stats.series += 1;
        }
        if !body.is_empty() {
            let url = self.target.import_url();
            let (client, write) = (self.client.clone(), self.target.write.clone());
            self.send("POST", &url, || {
                write
                    .with_auth(client.post(url.clone()))
                    .header("content-type", "text/plain")
                    .body(body.clone())
            })
            .await?;
        }
        self.batch.clear();
        self.batch_samples = 0;
        Ok(())
    }

    /// Sends the last batch and asks the server to make everything visible now. A server
    /// without `/internal/force_flush` (or behind a proxy that hides it) is not an error: the
    /// samples are stored and become visible within seconds.
    async fn finish(mut self) -> anyhow::Result<ImportStats> {
        self.flush_batch().await?;
        let url = self.target.write.url(FLUSH_PATH);
        let req = self.target.write.with_auth(self.client.get(url.clone()));
        self.stats.requests += 1;
        self.stats.flushed = match req.send().await {
            Ok(r) if r.status().is_success() => true,
            Ok(r) => {
                tracing::debug!("{url} answered {}", r.status());
                false
            }
            Err(e) => {
                tracing::debug!("{url}: {}", e.without_url());
                false
            }
        };
        Ok(self.stats)
    }
}

/// Reads the history of the ledger on `grid` and writes it to `target`: the ledger is read on a
/// blocking thread and handed over one series at a time through a small queue, so memory holds
/// one event's changes and one batch, whatever the ledger's size.
pub async fn backfill(
    state: Arc<StateStore>,
    grid: Grid,
    target: Target,
    opts: ImportOptions,
    progress: Option<ProgressHook>,
) -> anyhow::Result<(HistoryStats, ImportStats)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Series>(64);
    let read = Arc::new(AtomicU64::new(0));
    let reader = {
        let read = read.clone();
        tokio::task::spawn_blocking(move || {
            history::stream(
                &state,
                &grid,
                history::FAMILIES,
                |n| read.store(n, Ordering::Relaxed),
                |s| {
                    tx.blocking_send(s)
                        .map_err(|_| anyhow::anyhow!("the writer stopped"))
                },
            )
        })
    };
    let mut importer = Importer::new(target, opts)?;
    let written: anyhow::Result<ImportStats> = async {
        while let Some(s) = rx.recv().await {
            if importer.push(s).await? {
                if let Some(p) = &progress {
                    p(&Progress {
                        tickets_read: read.load(Ordering::Relaxed),
                        import: importer.stats.clone(),
                    });
                }
            }
        }
        importer.finish().await
    }
    .await;
    // On a write error the queue is dropped, which stops the reader at its next series.
    drop(rx);
    let history = reader.await.context("the ledger reader panicked")?;
    let stats = written?;
    let history = history?;
    if let Some(p) = &progress {
        p(&Progress {
            tickets_read: history.tickets,
            import: stats.clone(),
        });
    }
    Ok((history, stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_off_credentials_and_never_show_them() {
        let t = Target::parse("https://bo:s%3Fcret@vm.example:8428/", None, &[]).unwrap();
        assert_eq!(
            t.import_url().as_str(),
            "https://vm.example:8428/api/v1/import/prometheus"
        );
        assert_eq!(
            t.export_url().as_str(),
            "https://vm.example:8428/api/v1/export"
        );
        assert_eq!(
            t.write.auth,
            Some(("bo".to_string(), Some("s?cret".to_string())))
        );
        assert!(!format!("{t:?}").contains("cret"));
        // The import URL itself, a path prefix, a separate read server with the same login.
        let t = Target::parse(
            "http://u:p@h/vm/api/v1/import/prometheus",
            Some("http://r:8481/select/0/prometheus"),
            &[],
        )
        .unwrap();
        assert_eq!(
            t.import_url().as_str(),
            "http://h/vm/api/v1/import/prometheus"
        );
        assert_eq!(
            t.export_url().as_str(),
            "http://r:8481/select/0/prometheus/api/v1/export"
        );
        assert_eq!(t.read.auth, t.write.auth);
    }

    #[test]
    fn bad_targets_and_labels_are_named_without_secrets() {
        let e = Target::parse("not a url", None, &[]).unwrap_err();
        assert!(
            e.to_string().starts_with("--to `not a url` is not a URL"),
            "{e}"
        );
        let e = Target::parse("ftp://u:hunter2@h/", None, &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--to `ftp://***@h/`: only http:// and https:// are supported"
        );
        let e = Target::parse("http://u:hunter2@h:99999/", None, &[]).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(e.to_string().contains("--to `http://***@h:99999/`"), "{e}");
        let e = Target::parse("http://h/?authKey=k", None, &[]).unwrap_err();
        assert!(matches!(e, TargetError::Query { .. }), "{e}");
        assert!(!e.to_string().contains("authKey=k"), "{e}");
        let e = Target::parse("http://h", Some("mailto:x"), &[]).unwrap_err();
        assert!(e.to_string().starts_with("--read-from"), "{e}");
        for bad in ["job", "=x", "1a=x", "__name__=x", "a-b=x"] {
            assert_eq!(
                Target::parse("http://h", None, &[bad.into()]).unwrap_err(),
                TargetError::BadLabel(bad.into())
            );
        }
        assert_eq!(
            Target::parse("http://h", None, &["event_id=x".into()]).unwrap_err(),
            TargetError::TakenLabel("event_id".into())
        );
        let t = Target::parse(
            "http://h",
            None,
            &["job=boxoffice".into(), "instance=a:9400".into()],
        )
        .unwrap();
        assert_eq!(t.extra_labels.len(), 2);
    }

    #[test]
    fn series_are_written_and_recognised_by_their_full_label_set() {
        let s = Series {
            name: "boxoffice_tickets_sold_total",
            labels: vec![("vendor", "shotgun".into()), ("event_id", "a\"b".into())],
            first_ms: 0,
            step_ms: 1,
            values: vec![1.0],
        };
        let extra = vec![("job".to_string(), "x\"y".to_string())];
        assert_eq!(
            series_text(s.name, &s.labels, &extra),
            r#"boxoffice_tickets_sold_total{vendor="shotgun",event_id="a\"b",job="x\"y"}"#
        );
        // Sorted by label name: the same text an export record gives.
        assert_eq!(
            series_key(&s, &extra),
            r#"boxoffice_tickets_sold_total{event_id="a\"b",job="x\"y",vendor="shotgun"}"#
        );
        assert!(same_value(0.1 + 0.2, 0.3));
        assert!(!same_value(1.0, 1.01));
        assert_eq!(fmt_seconds(1_772_323_200_005), "1772323200.005");
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
        assert_eq!(redact_raw("http://h/x?k=secret"), "http://h/x?…");
    }
}
