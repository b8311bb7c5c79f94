//! Performs a plugin's planned requests: the account's egress grant, secret injection, budget,
//! timeouts, retries with jittered exponential backoff, `Retry-After`, reading bodies as a stream
//! up to a cap, and scrubbing secrets out of what comes back.
//!
//! Connections: a request to an origin the operator wrote explicitly goes through a plain
//! client; every other request goes through a client whose resolver refuses internal
//! addresses (see `resolver`), and an IP-literal host on that path is checked the same way.
//! No proxy is used, so the address checked is the address connected.
//!
//! Final non-2xx answers (401, 404, a 429 that outlived its retries) are returned, not raised:
//! the plugin reads them and says what they mean. Errors name the origin, never the URL's path
//! or query (they may carry a secret).

use std::time::Duration;

use reqwest::Url;
use thiserror::Error;

use super::address::internal_class;
use super::allow::NotAllowed;
use super::budget::RequestBudget;
use super::grant::EgressGrant;
use super::resolver::{CheckedResolver, DnsOverrides, ForbiddenAddress};
use super::secrets::Secrets;
use crate::model::{PlannedRequest, RequestAuth, VendorResponse};
use crate::retry::{classify, Backoff, Failure, Jitter, Next, Policy};

/// The executor's retry settings; the loop runs on the host's one retry policy
/// ([`crate::retry::Policy`], built by [`RetryPolicy::policy`]): jittered exponential backoff
/// (×2, uniform in [d/2, d]), `Retry-After` honoured up to `max_retry_after`, transport errors,
/// 429 and 5xx retried ([`crate::retry::classify::vendor_api`]).
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
    /// These settings as the shared policy.
    pub fn policy(&self) -> Policy {
        Policy {
            max_attempts: self.max_attempts,
            backoff: Backoff {
                base: self.base_delay,
                factor: 2,
                max: self.max_delay,
                jitter: Jitter::UpperHalf,
            },
            max_retry_after: Some(self.max_retry_after),
            retryable: classify::vendor_api,
        }
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
    #[error("request `{id}` asks for `Authorization: <scheme> <secret>` with a scheme that is not an RFC 9110 token (empty, or a space, CR, LF or another character outside letters, digits and !#$%&'*+-.^_`|~)")]
    BadAuthScheme { id: String },
    #[error("request `{id}` carries a body a read may not have (none on HEAD; on GET only a small JSON document)")]
    BodyNotAllowed { id: String },
    #[error("{origin}: refused: {reason}")]
    ForbiddenAddress {
        origin: String,
        reason: ForbiddenAddress,
    },
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
/// vendor (the grant's plugin), the endpoint label ([`endpoint_label`]) and the outcome:
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
    /// Resolves names and refuses internal addresses: every request not to an operator origin.
    client: reqwest::Client,
    /// Plain resolution: only origins the operator wrote explicitly (see `EgressGrant`).
    operator_client: reqwest::Client,
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

/// The response's `Retry-After` (seconds or HTTP-date, [`crate::retry::retry_after`]).
fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    crate::retry::retry_after(v, std::time::SystemTime::now())
}

/// What one request may use: its account's egress grant (which also binds the secrets), its
/// plugin's declared secrets, the account's secret values, and the vendor's budget.
pub struct RequestScope<'a> {
    pub egress: &'a EgressGrant,
    pub declared_secrets: &'a [String],
    pub secrets: &'a Secrets,
    pub budget: &'a RequestBudget,
}

impl HttpExecutor {
    pub fn new(policy: RetryPolicy) -> anyhow::Result<Self> {
        Self::with_dns(policy, DnsOverrides::default())
    }

    /// Like [`new`](Self::new), with fixed DNS answers consulted first (tests: a granted name
    /// pointed at a loopback listener). The guard applies to these answers too.
    pub fn with_dns(policy: RetryPolicy, overrides: DnsOverrides) -> anyhow::Result<Self> {
        let build = |resolver: CheckedResolver| {
            reqwest::Client::builder()
                .user_agent(concat!("boxoffice/", env!("CARGO_PKG_VERSION")))
                .timeout(policy.timeout)
                .connect_timeout(Duration::from_secs(10))
                // Redirects could lead off the grant: the plugin sees them as responses.
                .redirect(reqwest::redirect::Policy::none())
                // A proxy would resolve (and connect) where the guard cannot see.
                .no_proxy()
                .dns_resolver(std::sync::Arc::new(resolver))
                .build()
        };
        Ok(Self {
            client: build(CheckedResolver::guarded(overrides.clone()))?,
            operator_client: build(CheckedResolver::unguarded(overrides))?,
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
            o.attempt(scope.egress.plugin(), endpoint, outcome);
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
        // Defence in depth: `plugin::outbound` refused these before the request was queued.
        if let Some(body) = &req.body {
            if !super::request_rules::check_body(method.as_str(), &req.headers, body) {
                return Err(HttpError::BodyNotAllowed { id: req.id.clone() });
            }
        }
        let mut url = Url::parse(&req.url).map_err(|e| HttpError::BadUrl {
            id: req.id.clone(),
            reason: e.to_string(),
        })?;
        if !req.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        scope.egress.check(&url)?;
        let operator_origin = scope.egress.is_operator_origin(&url);
        if !operator_origin {
            forbid_internal_literal(&url)?;
        }
        let client = if operator_origin {
            &self.operator_client
        } else {
            &self.client
        };
        let mut bearer = None;
        if let Some(name) = req.auth.secret_name() {
            // The secret is bound to the grant: checked again on the final URL, right here.
            scope.egress.check(&url)?;
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
                // Screened by `plugin::outbound` already; checked again where it is sent.
                RequestAuth::AuthorizationHeader { scheme, .. } => {
                    if !super::request_rules::is_http_token(scheme) {
                        return Err(HttpError::BadAuthScheme { id: req.id.clone() });
                    }
                    bearer = Some(format!("{scheme} {value}"));
                }
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
        let policy = self.policy.policy();
        loop {
            waited += scope.budget.spend().await;
            let mut rb = client.request(method.clone(), url.clone());
            for (k, v) in &req.headers {
                // Only the headers a connector may set (`Host`, credentials and framing are
                // the host's); `plugin::outbound` refused the rest already.
                let allowed = super::request_rules::ALLOWED_HEADERS
                    .iter()
                    .any(|a| k.eq_ignore_ascii_case(a));
                if allowed {
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
                    let next = policy.after(attempt, Failure::Status(status), retry_after(&resp));
                    if let Next::Retry(delay) = next {
                        tracing::debug!(%origin, status, attempt, delay_ms = delay.as_millis() as u64, "retrying");
                        tokio::time::sleep(delay).await;
                        waited += delay;
                        continue;
                    }
                    // Not retryable, out of attempts, or a `Retry-After` too long to wait out
                    // in-run: the response goes back to the plugin.
                    return self.finish(resp, attempts, waited, scope.secrets).await;
                }
                Err(e) => {
                    if let Some(reason) = forbidden_in(&e) {
                        // Refused before any connection: retrying cannot change the answer.
                        self.observe(scope, &endpoint, AttemptOutcome::NetworkError);
                        return Err(HttpError::ForbiddenAddress { origin, reason });
                    }
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
                    let Next::Retry(delay) = policy.after(attempt, Failure::Transport, None) else {
                        return Err(HttpError::Network {
                            origin,
                            detail,
                            attempts: attempt,
                        });
                    };
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

/// An IP-literal host (which no resolver sees) that is internal.
fn forbid_internal_literal(url: &Url) -> Result<(), HttpError> {
    // The URL parser writes every IPv4 spelling as dotted quads and IPv6 in brackets.
    let host = url.host_str().unwrap_or_default();
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
    else {
        return Ok(());
    };
    match internal_class(ip) {
        Some(class) => Err(HttpError::ForbiddenAddress {
            origin: origin(url),
            reason: ForbiddenAddress {
                host: ip.to_string(),
                ip,
                class,
            },
        }),
        None => Ok(()),
    }
}

/// The resolver's refusal, if that is what stopped a request (reqwest wraps it a few levels).
fn forbidden_in(e: &reqwest::Error) -> Option<ForbiddenAddress> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(f) = err.downcast_ref::<ForbiddenAddress>() {
            return Some(f.clone());
        }
        source = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body on HEAD, or a non-JSON body on GET, never leaves the host, even when a caller
    /// skipped the outbound screen: the loopback listener sees no connection.
    #[tokio::test]
    async fn bodies_on_reads_are_refused_before_connecting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let manifest = crate::model::Manifest {
            id: "t".into(),
            vendor: "T".into(),
            version: "0".into(),
            allowed_hosts: vec![],
            secrets: vec![],
            settings: vec![],
            default_interval_secs: 60,
            max_requests_per_minute: 60,
            webhook: None,
        };
        let grants = super::super::grant::OperatorGrants {
            origins: vec![origin.clone()],
            hosts: vec![],
        };
        let egress =
            EgressGrant::new(&manifest, super::super::grant::Provenance::DropIn, &grants).unwrap();
        let (secrets, budget) = (Secrets::new(), RequestBudget::per_minute(0));
        let scope = RequestScope {
            egress: &egress,
            declared_secrets: &[],
            secrets: &secrets,
            budget: &budget,
        };
        let exec = HttpExecutor::new(RetryPolicy::default()).unwrap();
        for (method, body) in [("HEAD", &b"{}"[..]), ("GET", &b"canary.name"[..])] {
            let req = PlannedRequest {
                id: "r".into(),
                method: method.into(),
                url: format!("{origin}/x"),
                query: vec![],
                headers: vec![],
                body: Some(body.to_vec()),
                auth: RequestAuth::None,
            };
            let err = exec.execute(&req, &scope).await.unwrap_err();
            assert!(matches!(err, HttpError::BodyNotAllowed { .. }), "{err}");
        }
        assert!(listener.accept().is_err(), "a connection was made");
    }

    /// A loopback vendor that answers one request with the `Authorization` header it got, as
    /// the body (a vendor echoing credentials back); `None` when no request came.
    fn echo_authorization() -> (String, std::thread::JoinHandle<Option<String>>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            listener.set_nonblocking(false).unwrap();
            let (mut conn, _) = listener.accept().ok()?;
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).ok()? == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let auth = head
                .lines()
                .find_map(|l| l.strip_prefix("authorization: "))
                .unwrap_or("")
                .to_string();
            let body = format!("you sent: {auth}");
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            conn.write_all(reply.as_bytes()).ok()?;
            Some(auth)
        });
        (origin, handle)
    }

    fn granted(origin: &str) -> EgressGrant {
        let manifest = crate::model::Manifest {
            id: "t".into(),
            vendor: "T".into(),
            version: "0".into(),
            allowed_hosts: vec![],
            secrets: vec!["token".into()],
            settings: vec![],
            default_interval_secs: 60,
            max_requests_per_minute: 60,
            webhook: None,
        };
        let grants = super::super::grant::OperatorGrants {
            origins: vec![origin.to_string()],
            hosts: vec![],
        };
        EgressGrant::new(&manifest, super::super::grant::Provenance::DropIn, &grants).unwrap()
    }

    fn with_scheme(origin: &str, scheme: &str) -> PlannedRequest {
        PlannedRequest {
            id: "orders".into(),
            method: "GET".into(),
            url: format!("{origin}/orders"),
            query: vec![],
            headers: vec![],
            body: None,
            auth: RequestAuth::AuthorizationHeader {
                scheme: scheme.into(),
                secret: "token".into(),
            },
        }
    }

    /// `authorization-header(("Token", "token"))` sends `Authorization: Token <value>`, and the
    /// value is scrubbed from what comes back, as for a bearer token.
    #[tokio::test]
    async fn an_authorization_header_carries_its_scheme_and_the_secret_is_scrubbed() {
        let (origin, vendor) = echo_authorization();
        let egress = granted(&origin);
        let mut secrets = Secrets::new();
        secrets.insert("token", "s3cr3t-canary-token-value");
        let budget = RequestBudget::per_minute(0);
        let declared = ["token".to_string()];
        let scope = RequestScope {
            egress: &egress,
            declared_secrets: &declared,
            secrets: &secrets,
            budget: &budget,
        };
        let exec = HttpExecutor::new(RetryPolicy::default()).unwrap();
        let fetched = exec
            .execute(&with_scheme(&origin, "Token"), &scope)
            .await
            .unwrap();
        let sent = vendor.join().unwrap();
        assert_eq!(sent.as_deref(), Some("Token s3cr3t-canary-token-value"));
        let body = String::from_utf8_lossy(&fetched.response.body);
        assert!(body.starts_with("you sent: Token "), "{body}");
        assert!(!body.contains("s3cr3t-canary-token-value"), "{body}");
    }

    /// A loopback vendor that answers one connection per canned response, in order.
    fn vendor_answering(replies: Vec<String>) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for reply in replies {
                let Ok((mut conn, _)) = listener.accept() else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let _ = conn.write_all(reply.as_bytes());
            }
        });
        origin
    }

    fn answer(status: &str, retry_after: Option<&str>) -> String {
        let header = retry_after
            .map(|v| format!("Retry-After: {v}\r\n"))
            .unwrap_or_default();
        format!("HTTP/1.1 {status}\r\n{header}Content-Length: 2\r\nConnection: close\r\n\r\nok")
    }

    fn http_date_in(secs: i64) -> String {
        let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs);
        jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&at)
            .unwrap()
    }

    /// `Retry-After` as an HTTP-date is waited out instead of the backoff (here a minute, so a
    /// backoff would time the test out), and one past `max_retry_after` hands the answer back
    /// after one attempt.
    #[tokio::test]
    async fn a_retry_after_date_is_honoured_and_one_too_far_ends_the_retries() {
        let policy = RetryPolicy {
            base_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(60),
            ..Default::default()
        };
        let exec = HttpExecutor::new(policy).unwrap();
        let (secrets, budget) = (Secrets::new(), RequestBudget::per_minute(0));
        let get = |origin: &str| PlannedRequest {
            id: "orders".into(),
            method: "GET".into(),
            url: format!("{origin}/orders"),
            query: vec![],
            headers: vec![],
            body: None,
            auth: RequestAuth::None,
        };

        let soon = http_date_in(2);
        let origin = vendor_answering(vec![
            answer("503 Service Unavailable", Some(&soon)),
            answer("200 OK", None),
        ]);
        let egress = granted(&origin);
        let scope = RequestScope {
            egress: &egress,
            declared_secrets: &[],
            secrets: &secrets,
            budget: &budget,
        };
        let fetched =
            tokio::time::timeout(Duration::from_secs(20), exec.execute(&get(&origin), &scope))
                .await
                .expect("the backoff was used instead of the Retry-After date")
                .unwrap();
        assert_eq!(fetched.attempts, vec![503, 200]);
        assert!(
            fetched.waited <= Duration::from_secs(3),
            "{:?}",
            fetched.waited
        );

        let late = http_date_in(3600);
        let origin = vendor_answering(vec![answer("429 Too Many Requests", Some(&late))]);
        let egress = granted(&origin);
        let scope = RequestScope {
            egress: &egress,
            declared_secrets: &[],
            secrets: &secrets,
            budget: &budget,
        };
        let fetched = exec.execute(&get(&origin), &scope).await.unwrap();
        assert_eq!(fetched.attempts, vec![429]);
        assert_eq!(fetched.response.status, 429);
    }

    /// A scheme that is not an RFC 9110 token (empty, a space, CR/LF that would add a header)
    /// is refused naming the request, before any connection, even past the outbound screen.
    #[tokio::test]
    async fn a_scheme_that_is_not_a_token_is_refused_before_connecting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let egress = granted(&origin);
        let mut secrets = Secrets::new();
        secrets.insert("token", "s3cr3t-canary-token-value");
        let budget = RequestBudget::per_minute(0);
        let declared = ["token".to_string()];
        let scope = RequestScope {
            egress: &egress,
            declared_secrets: &declared,
            secrets: &secrets,
            budget: &budget,
        };
        let exec = HttpExecutor::new(RetryPolicy::default()).unwrap();
        for scheme in [
            "",
            "Token x",
            "Token\r\nX-Forged: 1",
            "Token\n",
            "Tok:en",
            "Tökén",
        ] {
            let err = exec
                .execute(&with_scheme(&origin, scheme), &scope)
                .await
                .unwrap_err();
            assert!(
                matches!(err, HttpError::BadAuthScheme { .. }),
                "{scheme:?}: {err}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains("request `orders`") && msg.contains("RFC 9110 token"),
                "{msg}"
            );
            assert!(!msg.contains("s3cr3t"), "{msg}");
        }
        assert!(listener.accept().is_err(), "a connection was made");
    }

    #[test]
    fn internal_ip_literals_are_refused_public_ones_and_names_pass() {
        let check = |u: &str| forbid_internal_literal(&Url::parse(u).unwrap());
        for u in [
            "https://127.0.0.1/",
            "https://0x7f.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[fd00:ec2::254]/",
        ] {
            let e = check(u).unwrap_err();
            assert!(matches!(e, HttpError::ForbiddenAddress { .. }), "{u}: {e}");
        }
        assert!(check("https://93.184.216.34/").is_ok());
        assert!(check("https://api.shotgun.live/").is_ok());
    }

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
