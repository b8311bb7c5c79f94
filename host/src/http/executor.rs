//! Performs a plugin's planned requests: allow-list, secret injection, budget, timeouts,
//! retries with jittered exponential backoff, `Retry-After`, reading bodies as a stream up to a
//! cap, and scrubbing secrets out of what comes back.
//!
//! Final non-2xx answers (401, 404, a 429 that outlived its retries) are returned, not raised:
//! the plugin reads them and says what they mean. Errors name the origin, never the URL's path
//! or query (they may carry a secret).

use std::time::Duration;

use rand::Rng;
use reqwest::Url;
use thiserror::Error;

use super::allow::{AllowList, NotAllowed};
use super::budget::RequestBudget;
use super::secrets::Secrets;
use crate::model::{PlannedRequest, RequestAuth, VendorResponse};

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited out in-run: the response goes back to the
    /// plugin and the run ends rate-limited.
    pub max_retry_after: Duration,
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter exponential backoff: uniform in [d/2, d], d = base · 2^(attempt-1), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let d = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let half = d / 2;
        half + Duration::from_secs_f64(rand::rng().random::<f64>() * half.as_secs_f64())
    }
}

/// Default cap on one response body (`BOXOFFICE_MAX_RESPONSE_BYTES`): far above any vendor
/// page, far below what would hurt the host.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 << 20;

#[derive(Debug, Error)]
pub enum HttpError {
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    #[error("request `{id}` has an invalid URL: {reason}")]
    BadUrl { id: String, reason: String },
    #[error("request `{id}` needs secret `{secret}`, which is not configured for this account")]
    MissingSecret { id: String, secret: String },
    #[error("request `{id}` uses secret `{secret}`, which the plugin's manifest does not declare")]
    UndeclaredSecret { id: String, secret: String },
    #[error("method `{method}` is not allowed (connectors only read)")]
    Method { method: String },
    #[error("{origin}: the response body is larger than the {cap}-byte cap (BOXOFFICE_MAX_RESPONSE_BYTES); the request failed")]
    BodyTooLarge { origin: String, cap: usize },
    #[error("{origin}: {detail} (after {attempts} attempts)")]
    Network {
        origin: String,
        detail: String,
        attempts: u32,
    },
}

/// A response plus what it took to get it.
#[derive(Debug)]
pub struct Fetched {
    pub response: VendorResponse,
    /// Status of every attempt, in order (0 = network error).
    pub attempts: Vec<u16>,
    /// Time spent waiting for the budget and backoff.
    pub waited: Duration,
}

/// How one attempt ended, as an observer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// An HTTP answer with this status.
    Status(u16),
    /// No answer within the timeout.
    Timeout,
    /// No answer for another reason (connection refused, reset, TLS).
    NetworkError,
}

/// Told of every attempt (retries included), e.g. to count requests per endpoint. It gets the
/// vendor (the allow-list's plugin), the endpoint label ([`endpoint_label`]) and the outcome:
/// never the URL, whose query may carry a secret.
pub trait RequestObserver: Send + Sync {
    fn attempt(&self, vendor: &str, endpoint: &str, outcome: AttemptOutcome);
}

/// Longest endpoint label; a longer segment is not a route name.
const MAX_ENDPOINT_LEN: usize = 40;

/// The route of a URL as a low-cardinality label: its last path segment that holds no digit
/// (`/tickets` → `tickets`, `/organizers/100001/events` → `events`, `/shows/7/seats` →
/// `seats`), so ids never become label values; `root` for `/`, `other` when every segment
/// holds a digit or is unusually long. The query is never looked at. Secrets cannot be in the
/// path either: the host injects them only as a header or a query parameter.
pub fn endpoint_label(url: &Url) -> String {
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    if segments.is_empty() {
        return "root".into();
    }
    segments
        .iter()
        .rev()
        .find(|p| {
            p.len() <= MAX_ENDPOINT_LEN
                && !p.bytes().any(|b| b.is_ascii_digit())
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        })
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_else(|| "other".into())
}

#[derive(Clone)]
pub struct HttpExecutor {
    client: reqwest::Client,
    policy: RetryPolicy,
    observer: Option<std::sync::Arc<dyn RequestObserver>>,
    max_response_bytes: usize,
}

fn origin(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}://{}:{p}", url.scheme(), url.host_str().unwrap_or("")),
        None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("")),
    }
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// What one request may use: its plugin's allow-list and declared secrets, the account's
/// secret values, and the vendor's budget.
pub struct RequestScope<'a> {
    pub allow: &'a AllowList,
    pub declared_secrets: &'a [String],
    pub secrets: &'a Secrets,
    pub budget: &'a RequestBudget,
}

impl HttpExecutor {
    pub fn new(policy: RetryPolicy) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("boxoffice/", env!("CARGO_PKG_VERSION")))
            .timeout(policy.timeout)
            .connect_timeout(Duration::from_secs(10))
            // Redirects could lead off the allow-list: the plugin sees them as responses.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            policy,
            observer: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        })
    }

    /// Fails any request whose body is larger than `bytes`.
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Reports every attempt to `observer` (the metrics).
    pub fn with_observer(mut self, observer: std::sync::Arc<dyn RequestObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    fn observe(&self, scope: &RequestScope<'_>, endpoint: &str, outcome: AttemptOutcome) {
        if let Some(o) = &self.observer {
            o.attempt(scope.allow.plugin(), endpoint, outcome);
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub async fn execute(
        &self,
        req: &PlannedRequest,
        scope: &RequestScope<'_>,
    ) -> Result<Fetched, HttpError> {
        let method = match req.method.to_ascii_uppercase().as_str() {
            "GET" => reqwest::Method::GET,
            "HEAD" => reqwest::Method::HEAD,
            other => {
                return Err(HttpError::Method {
                    method: other.chars().take(16).collect(),
                })
            }
        };
        let mut url = Url::parse(&req.url).map_err(|e| HttpError::BadUrl {
            id: req.id.clone(),
            reason: e.to_string(),
        })?;
        if !req.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        scope.allow.check(&url)?;
        let mut bearer = None;
        if let Some(name) = req.auth.secret_name() {
            if !scope.declared_secrets.iter().any(|s| s == name) {
                return Err(HttpError::UndeclaredSecret {
                    id: req.id.clone(),
                    secret: name.to_string(),
                });
            }
            let value = scope
                .secrets
                .get(name)
                .ok_or_else(|| HttpError::MissingSecret {
                    id: req.id.clone(),
                    secret: name.to_string(),
                })?;
            match &req.auth {
                RequestAuth::BearerHeader { .. } => bearer = Some(format!("Bearer {value}")),
                RequestAuth::QueryParam { param, .. } => {
                    url.query_pairs_mut().append_pair(param, value);
                }
                RequestAuth::None => {}
            }
        }
        let origin = origin(&url);
        let endpoint = endpoint_label(&url);
        let mut attempts = Vec::new();
        let mut waited = Duration::ZERO;
        loop {
            waited += scope.budget.spend().await;
            let mut rb = self.client.request(method.clone(), url.clone());
            for (k, v) in &req.headers {
                if !k.eq_ignore_ascii_case("authorization") {
                    rb = rb.header(k, v);
                }
            }
            if let Some(b) = &bearer {
                rb = rb.header(reqwest::header::AUTHORIZATION, b);
            }
            if let Some(body) = &req.body {
                rb = rb.body(body.clone());
            }
            let attempt = attempts.len() as u32 + 1;
            match rb.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    attempts.push(status);
                    self.observe(scope, &endpoint, AttemptOutcome::Status(status));
                    let retryable = status == 429 || (500..=599).contains(&status);
                    if retryable && attempt < self.policy.max_attempts {
                        let delay = match (status, retry_after(&resp)) {
                            (_, Some(ra)) if ra <= self.policy.max_retry_after => ra,
                            (_, Some(_)) => {
                                return self.finish(resp, attempts, waited, scope.secrets).await
                            }
                            _ => self.policy.backoff(attempt),
                        };
                        tracing::debug!(%origin, status, attempt, delay_ms = delay.as_millis() as u64, "retrying");
                        tokio::time::sleep(delay).await;
                        waited += delay;
                        continue;
                    }
                    return self.finish(resp, attempts, waited, scope.secrets).await;
                }
                Err(e) => {
                    attempts.push(0);
                    let outcome = if e.is_timeout() {
                        AttemptOutcome::Timeout
                    } else {
                        AttemptOutcome::NetworkError
                    };
                    self.observe(scope, &endpoint, outcome);
                    // reqwest errors print the URL, which may hold a secret: keep the kind only.
                    let detail = if e.is_timeout() {
                        "timed out".to_string()
                    } else if e.is_connect() {
                        "connection failed".to_string()
                    } else {
                        "request failed".to_string()
                    };
                    if attempt >= self.policy.max_attempts {
                        return Err(HttpError::Network {
                            origin,
                            detail,
                            attempts: attempt,
                        });
                    }
                    let delay = self.policy.backoff(attempt);
                    tracing::debug!(%origin, attempt, %detail, "retrying after network error");
                    tokio::time::sleep(delay).await;
                    waited += delay;
                }
            }
        }
    }

    async fn finish(
        &self,
        mut resp: reqwest::Response,
        attempts: Vec<u16>,
        waited: Duration,
        secrets: &Secrets,
    ) -> Result<Fetched, HttpError> {
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter(|(k, _)| *k != reqwest::header::SET_COOKIE)
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    secrets.scrub_str(&String::from_utf8_lossy(v.as_bytes())),
                )
            })
            .collect();
        let origin = origin(resp.url());
        // Read as a stream and stop at the cap: a vendor (or anything on the granted origins)
        // can send an endless body. A declared length over the cap fails before any byte.
        let cap = self.max_response_bytes;
        let too_large = |origin: String| HttpError::BodyTooLarge { origin, cap };
        let declared = resp.content_length().unwrap_or(0);
        if declared > cap as u64 {
            return Err(too_large(origin));
        }
        let mut body = Vec::with_capacity(declared as usize);
        loop {
            let chunk = resp.chunk().await.map_err(|_| HttpError::Network {
                origin: origin.clone(),
                detail: "reading the body failed".into(),
                attempts: attempts.len() as u32,
            })?;
            let Some(chunk) = chunk else { break };
            if body.len() + chunk.len() > cap {
                return Err(too_large(origin));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            response: VendorResponse {
                status,
                headers,
                body: secrets.scrub_bytes(body),
            },
            attempts,
            waited,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_labels_are_route_names_never_ids_or_queries() {
        let label = |u: &str| endpoint_label(&Url::parse(u).unwrap());
        assert_eq!(
            label("https://api.shotgun.live/tickets?organizer_id=1&token=SECRET"),
            "tickets"
        );
        assert_eq!(
            label("https://smartboard-api.shotgun.live/api/shotgun/organizers/100001/events?key=SECRET"),
            "events"
        );
        assert_eq!(
            label("http://127.0.0.1:9/api/rest/v1/shows/17/seats"),
            "seats"
        );
        assert_eq!(label("http://127.0.0.1:9/api/rest/v1/orders/123"), "orders");
        assert_eq!(label("http://127.0.0.1:9/"), "root");
        assert_eq!(label("http://127.0.0.1:9/v1/a1b2c3"), "other");
        assert_eq!(label("http://127.0.0.1:9/Orders/"), "orders");
    }
}
