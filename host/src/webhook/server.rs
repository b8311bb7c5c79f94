//! The listener: `POST /webhooks/{vendor}/{account}` (and `/webhooks/{vendor}/{account}/{any}`,
//! for vendors that take one URL per event type) on its own port, separate from `/metrics`.
//!
//! Each request goes through, in this order: the route; the account (unknown → 404); the body
//! cap (`Content-Length` over it → 413 before reading, a streamed body → 413 as soon as it
//! passes the cap, nothing buffered past it); the signature over the raw bytes (constant time;
//! missing or wrong → 401); the account's rate cap (429 with `Retry-After`); then the
//! [`DeliveryHandler`], whose answer decides the status: 200 only for `Stored`/`Duplicate`, and
//! only once its future has completed. The handler runs in its own task, so a caller that hangs
//! up does not cut a write short. The body is never parsed here.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use http_body_util::BodyExt;
use tokio::sync::{mpsc, oneshot};

use super::handler::{DeliveryError, DeliveryHandler, DeliveryOutcome, VerifiedDelivery};
use super::observer::{DeliveryObserver, Outcome, UNKNOWN_LABEL};
use super::rate::TokenBucket;
use super::verify::{self, WebhookSecret};
use crate::model::WebhookSignature;

/// Default bind: loopback only (put a TLS proxy in front, `docs/webhooks.md`).
pub const DEFAULT_BIND: &str = "127.0.0.1:9401";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub const DEFAULT_MAX_PER_SECOND: u32 = 200;
pub const DEFAULT_BURST: u32 = 1000;
/// How long a caller has to send its whole body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// The listener's transport settings (`[webhooks]` in the config file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    pub bind: SocketAddr,
    /// Largest body accepted (bytes); larger ones get 413.
    pub max_body_bytes: usize,
    /// Per account: deliveries per second once the burst is spent.
    pub max_per_second: u32,
    /// Per account: deliveries accepted at once before the rate applies.
    pub burst: u32,
    pub body_timeout: Duration,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self {
            bind: DEFAULT_BIND.parse().expect("a valid default bind"),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_per_second: DEFAULT_MAX_PER_SECOND,
            burst: DEFAULT_BURST,
            body_timeout: DEFAULT_BODY_TIMEOUT,
        }
    }
}

/// One account the listener takes deliveries for.
#[derive(Debug, Clone)]
pub struct WebhookAccount {
    pub vendor: String,
    pub account: String,
    /// The operator's secret (never logged, never given to the connector).
    pub secret: WebhookSecret,
    /// How the account's connector says its vendor signs.
    pub signature: WebhookSignature,
}

struct Entry {
    vendor: String,
    account: String,
    secret: WebhookSecret,
    signature: WebhookSignature,
    /// Lower-case name of the signature header.
    header: String,
    bucket: Mutex<TokenBucket>,
}

struct Shared {
    config: ListenerConfig,
    accounts: HashMap<(String, String), Entry>,
    vendors: HashSet<String>,
    handler: Arc<dyn DeliveryHandler>,
    observer: Arc<dyn DeliveryObserver>,
    /// Each handler task holds a clone; shutdown waits until all are gone.
    inflight: mpsc::Sender<()>,
}

/// The running listener.
pub struct WebhookServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
    inflight: mpsc::Receiver<()>,
}

impl WebhookServer {
    /// The address actually bound (port 0 in the config picks a free one).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets requests in flight and their handlers finish (up to `grace`).
    /// Returns whether everything finished in time.
    pub async fn shutdown(mut self, grace: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let all = async {
            let _ = (&mut self.served).await;
            // Every sender is gone once the router and every handler task are.
            while self.inflight.recv().await.is_some() {}
        };
        let done = tokio::time::timeout(grace, all).await.is_ok();
        if !done {
            self.served.abort();
        }
        done
    }
}

/// Binds `config.bind` and serves the accounts' webhooks until [`WebhookServer::shutdown`].
/// Refuses an account listed twice.
pub async fn serve(
    config: &ListenerConfig,
    accounts: Vec<WebhookAccount>,
    handler: Arc<dyn DeliveryHandler>,
    observer: Arc<dyn DeliveryObserver>,
) -> anyhow::Result<WebhookServer> {
    anyhow::ensure!(
        config.max_body_bytes > 0 && config.max_per_second > 0 && config.burst > 0,
        "webhook listener: max_body_bytes, max_per_second and burst must be at least 1"
    );
    let mut map = HashMap::new();
    let mut vendors = HashSet::new();
    for a in accounts {
        observer.account(&a.vendor, &a.account);
        vendors.insert(a.vendor.clone());
        let key = (a.vendor.clone(), a.account.clone());
        let entry = Entry {
            header: verify::signature_header(&a.signature),
            bucket: Mutex::new(TokenBucket::new(config.max_per_second, config.burst)),
            vendor: a.vendor,
            account: a.account,
            secret: a.secret,
            signature: a.signature,
        };
        anyhow::ensure!(
            !entry.header.is_empty(),
            "webhook account {}/{}: its connector names no signature header",
            entry.vendor,
            entry.account
        );
        if map.insert(key.clone(), entry).is_some() {
            anyhow::bail!("webhook account {}/{} is listed twice", key.0, key.1);
        }
    }
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {} for webhooks", config.bind))?;
    let addr = listener.local_addr()?;
    let (inflight_tx, inflight_rx) = mpsc::channel(1);
    let shared = Arc::new(Shared {
        config: config.clone(),
        accounts: map,
        vendors,
        handler,
        observer,
        inflight: inflight_tx,
    });
    let app = router(shared);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        let shutdown = async {
            let _ = stop_rx.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("webhook listener stopped: {e}");
        }
    });
    tracing::info!(listen = %addr, "webhook listener up");
    Ok(WebhookServer {
        addr,
        stop: Some(stop_tx),
        served,
        inflight: inflight_rx,
    })
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/webhooks/{vendor}/{account}", post(deliver))
        .route("/webhooks/{vendor}/{account}/{*kind}", post(deliver))
        .fallback(unrouted)
        // The cap is ours (streamed, `max_body_bytes`), not the extractor default.
        .layer(DefaultBodyLimit::disable())
        .with_state(shared)
}

fn answer(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
}

async fn unrouted(State(s): State<Arc<Shared>>) -> Response {
    s.observer
        .delivery(UNKNOWN_LABEL, UNKNOWN_LABEL, Outcome::UnknownAccount);
    answer(StatusCode::NOT_FOUND, "no such webhook endpoint\n")
}

enum BodyFail {
    Oversize,
    Broken,
}

/// Reads the body frame by frame, failing as soon as it passes `cap`.
async fn read_capped(body: Body, cap: usize, hint: usize) -> Result<Vec<u8>, BodyFail> {
    let mut body = body;
    let mut buf = Vec::with_capacity(hint.min(cap));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyFail::Broken)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > cap {
                return Err(BodyFail::Oversize);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// Headers that carry credentials of the hop in front (a proxy's basic auth, cookies): never
/// handed on, like the signature.
const DROPPED_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

async fn deliver(
    State(s): State<Arc<Shared>>,
    Path(params): Path<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let received_ms = crate::clock::now_ms();
    let (vendor, account) = (
        params.get("vendor").cloned().unwrap_or_default(),
        params.get("account").cloned().unwrap_or_default(),
    );
    let Some(entry) = s.accounts.get(&(vendor.clone(), account.clone())) else {
        let v = if s.vendors.contains(&vendor) {
            vendor.as_str()
        } else {
            UNKNOWN_LABEL
        };
        s.observer
            .delivery(v, UNKNOWN_LABEL, Outcome::UnknownAccount);
        tracing::info!(vendor = v, "webhook for an unknown account: 404");
        return answer(StatusCode::NOT_FOUND, "no such webhook account\n");
    };
    let count = |o: Outcome| s.observer.delivery(&entry.vendor, &entry.account, o);
    let cap = s.config.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let oversize = || {
        count(Outcome::Oversize);
        tracing::info!(vendor = %entry.vendor, account = %entry.account, cap, "webhook body over the cap: 413");
        let mut r = answer(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n");
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        r
    };
    if declared.is_some_and(|n| n > cap as u64) {
        return oversize();
    }
    let hint = declared.unwrap_or(0).min(cap as u64) as usize;
    let body = match tokio::time::timeout(s.config.body_timeout, read_capped(body, cap, hint)).await
    {
        Ok(Ok(b)) => b,
        Ok(Err(BodyFail::Oversize)) => return oversize(),
        Ok(Err(BodyFail::Broken)) => {
            count(Outcome::Incomplete);
            return answer(StatusCode::BAD_REQUEST, "body broke off\n");
        }
        Err(_) => {
            count(Outcome::Incomplete);
            return answer(StatusCode::REQUEST_TIMEOUT, "body not received in time\n");
        }
    };
    let sig = headers
        .get(entry.header.as_str())
        .map(HeaderValue::as_bytes);
    if let Err(why) = verify::verify(&entry.signature, &entry.secret, sig, &body) {
        count(Outcome::Forged);
        tracing::warn!(vendor = %entry.vendor, account = %entry.account, "webhook refused: {why}: 401");
        return answer(StatusCode::UNAUTHORIZED, "signature missing or wrong\n");
    }
    let wait = entry
        .bucket
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take(Instant::now());
    if let Err(wait) = wait {
        count(Outcome::RateLimited);
        tracing::info!(vendor = %entry.vendor, account = %entry.account, "webhook over the rate cap: 429");
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut r = answer(StatusCode::TOO_MANY_REQUESTS, "too many deliveries\n");
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return r;
    }
    let handed: Vec<(String, String)> = headers
        .iter()
        .filter(|(n, _)| {
            let n = n.as_str();
            n != entry.header && !DROPPED_HEADERS.contains(&n)
        })
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let delivery = VerifiedDelivery {
        vendor: entry.vendor.clone(),
        account: entry.account.clone(),
        headers: handed,
        body,
        received_ms,
    };
    let handler = s.handler.clone();
    let guard = s.inflight.clone();
    // Its own task: a caller hanging up must not drop a write half-way.
    let result = tokio::spawn(async move {
        let _guard = guard;
        handler.deliver(delivery).await
    })
    .await;
    s.observer.handled(
        &entry.vendor,
        &entry.account,
        started.elapsed().as_secs_f64(),
    );
    let (vendor, account) = (&entry.vendor, &entry.account);
    match result {
        Ok(Ok(DeliveryOutcome::Stored { records })) => {
            count(Outcome::Stored);
            tracing::debug!(%vendor, %account, records, "webhook delivery stored");
            answer(StatusCode::OK, "stored\n")
        }
        Ok(Ok(DeliveryOutcome::Duplicate)) => {
            count(Outcome::Duplicate);
            tracing::debug!(%vendor, %account, "webhook delivery already stored");
            answer(StatusCode::OK, "duplicate\n")
        }
        Ok(Err(DeliveryError::Rejected(why))) => {
            count(Outcome::Rejected);
            tracing::warn!(%vendor, %account, "webhook delivery rejected: {why}");
            answer(StatusCode::BAD_REQUEST, "delivery not understood\n")
        }
        Ok(Err(DeliveryError::Unavailable(why))) => {
            count(Outcome::Unavailable);
            tracing::warn!(%vendor, %account, "webhook delivery not stored: {why}");
            answer(StatusCode::SERVICE_UNAVAILABLE, "not stored, retry later\n")
        }
        Ok(Err(DeliveryError::UnknownAccount(_))) => {
            count(Outcome::UnknownAccount);
            tracing::warn!(%vendor, %account, "the webhook handler does not know this account");
            answer(StatusCode::NOT_FOUND, "no such webhook account\n")
        }
        Err(e) => {
            count(Outcome::Unavailable);
            tracing::error!(%vendor, %account, "webhook handler failed: {e}");
            answer(StatusCode::SERVICE_UNAVAILABLE, "not stored, retry later\n")
        }
    }
}
