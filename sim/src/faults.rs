//! Vendor faults, injected by either simulator at a configurable rate (issue 15, item 4).
//!
//! Owns: deciding, from a seeded RNG, whether and how a request is answered wrongly (every
//! [`FaultKind`]), doing it as an HTTP middleware around a simulator's router, the one
//! deterministic every-Nth 5xx both simulators had on their own (`fault_every`), and counting
//! what was injected per kind ([`FaultStats`]). It does not own what a right answer is: the
//! simulator's handlers make it, and the wrong answers here are made from it (cut, corrupted,
//! replayed, reordered, skewed) or instead of it (errors, stalls, a revoked token). A
//! simulator describes its wire with a [`Shape`] (where a page's records are, which fields are
//! the records' `updated_at`, its error bodies).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One way a vendor answers wrongly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// 500/502/503 with the vendor's error body.
    ServerError,
    /// 429 with `Retry-After: 1`.
    RateLimitedRetryAfter,
    /// 429 without `Retry-After`.
    RateLimitedBare,
    /// The answer is held back for [`FaultConfig::stall`] (past the client's timeout).
    Timeout,
    /// Headers and part of the body, then the connection is dropped.
    ResetMidBody,
    /// 200 with the body cut in half (a consistent `Content-Length`).
    TruncatedJson,
    /// 200 with a body that is not JSON (a corrupted separator).
    InvalidJson,
    /// 200 with a proxy's HTML error page.
    HtmlErrorPage,
    /// An earlier 200 answer of the same route served again: the previous one (a duplicate
    /// page) or one of the last [`REPLAY_DEPTH`] (a stale replica's answer, whose records can
    /// be older versions than the ones already read).
    DuplicatePage,
    /// The page's records in reverse order.
    OutOfOrder,
    /// The token is refused for [`FaultConfig::revoked_for`] requests, then accepted again.
    TokenRevoked,
    /// Every record's `updated_at` shifted by [`FaultConfig::skew_ms`] (a lagging replica).
    ClockSkew,
}

impl FaultKind {
    pub const ALL: [FaultKind; 12] = [
        FaultKind::ServerError,
        FaultKind::RateLimitedRetryAfter,
        FaultKind::RateLimitedBare,
        FaultKind::Timeout,
        FaultKind::ResetMidBody,
        FaultKind::TruncatedJson,
        FaultKind::InvalidJson,
        FaultKind::HtmlErrorPage,
        FaultKind::DuplicatePage,
        FaultKind::OutOfOrder,
        FaultKind::TokenRevoked,
        FaultKind::ClockSkew,
    ];

    /// A stable snake_case name (summaries, docs).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ServerError => "server_error_5xx",
            FaultKind::RateLimitedRetryAfter => "429_retry_after",
            FaultKind::RateLimitedBare => "429_bare",
            FaultKind::Timeout => "timeout",
            FaultKind::ResetMidBody => "reset_mid_body",
            FaultKind::TruncatedJson => "truncated_json",
            FaultKind::InvalidJson => "invalid_json",
            FaultKind::HtmlErrorPage => "html_error_200",
            FaultKind::DuplicatePage => "duplicate_page",
            FaultKind::OutOfOrder => "out_of_order",
            FaultKind::TokenRevoked => "token_revoked",
            FaultKind::ClockSkew => "clock_skew",
        }
    }
}

/// How often and how faults are injected.
#[derive(Debug, Clone)]
pub struct FaultConfig {
    /// Probability in [0, 1] that a request gets a fault.
    pub rate: f64,
    pub seed: u64,
    /// The kinds drawn from (uniformly); empty = none.
    pub kinds: Vec<FaultKind>,
    /// How long a [`FaultKind::Timeout`] holds the answer back.
    pub stall: Duration,
    /// Requests refused after a [`FaultKind::TokenRevoked`] (that one included).
    pub revoked_for: u32,
    /// The shift of [`FaultKind::ClockSkew`], in milliseconds (negative: the past).
    pub skew_ms: i64,
    /// Only requests whose path contains one of these are faulted; empty = every route.
    pub routes: Vec<String>,
}

impl FaultConfig {
    /// Every kind at `rate`.
    pub fn all(rate: f64, seed: u64) -> Self {
        Self {
            rate,
            seed,
            kinds: FaultKind::ALL.to_vec(),
            stall: Duration::from_secs(3),
            revoked_for: 3,
            skew_ms: -90_000,
            routes: Vec::new(),
        }
    }
}

/// Faults injected so far, per kind, and the requests seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultStats {
    pub requests: u64,
    pub injected: BTreeMap<FaultKind, u64>,
}

impl FaultStats {
    pub fn total(&self) -> u64 {
        self.injected.values().sum()
    }

    pub fn of(&self, kind: FaultKind) -> u64 {
        self.injected.get(&kind).copied().unwrap_or(0)
    }
}

/// What a simulator's wire looks like, for the faults that are made from its answers.
#[derive(Clone, Copy)]
pub struct Shape {
    /// JSON pointer to a page's records (`/data`).
    pub records: &'static str,
    /// The records' `updated_at` fields (`YYYY-MM-DD?HH:MM:SS…`; the rest is kept), at the
    /// record's top level or in its arrays of objects one level down.
    pub updated_at: &'static [&'static str],
    /// The vendor's answer to a refused token.
    pub refused: fn() -> Response,
    /// The vendor's 5xx answer.
    pub server_error: fn() -> Response,
}

struct Inner {
    cfg: Option<FaultConfig>,
    /// Every Nth GET of a path ending in the route answers the 5xx (the simulators'
    /// `fault_every`).
    every: Option<(u32, &'static str)>,
    every_count: u64,
    rng: StdRng,
    stats: FaultStats,
    revoked_left: u32,
    /// The last [`REPLAY_DEPTH`] 200 answers per route, newest last.
    last_ok: HashMap<String, VecDeque<(Option<HeaderValue>, Bytes)>>,
}

/// How many earlier answers per route [`FaultKind::DuplicatePage`] may replay.
pub const REPLAY_DEPTH: usize = 8;

/// A simulator's fault injector; cheap to clone (clones share state).
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
    shape: Shape,
}

/// What the middleware does with one request.
enum Plan {
    Pass,
    Replace(Response),
    Stall(Duration),
    Transform(FaultKind),
    Duplicate(Option<HeaderValue>, Bytes),
}

impl Faults {
    pub fn new(shape: Shape, cfg: Option<FaultConfig>, every: Option<(u32, &'static str)>) -> Self {
        let seed = cfg.as_ref().map_or(0, |c| c.seed);
        Self {
            inner: Arc::new(Mutex::new(Inner {
                cfg,
                every,
                every_count: 0,
                rng: StdRng::seed_from_u64(seed),
                stats: FaultStats::default(),
                revoked_left: 0,
                last_ok: HashMap::new(),
            })),
            shape,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the configuration (None: no more random faults; a revocation in progress
    /// ends too). The statistics are kept.
    pub fn set(&self, cfg: Option<FaultConfig>) {
        let mut g = self.lock();
        if let Some(c) = &cfg {
            g.rng = StdRng::seed_from_u64(c.seed);
        } else {
            g.revoked_left = 0;
        }
        g.cfg = cfg;
    }

    pub fn stats(&self) -> FaultStats {
        self.lock().stats.clone()
    }

    /// Wraps `router` so every request passes through the injector.
    pub fn layer(&self, router: axum::Router) -> axum::Router {
        router.layer(axum::middleware::from_fn_with_state(
            self.clone(),
            middleware,
        ))
    }

    fn plan(&self, get: bool, path: &str) -> Plan {
        let mut g = self.lock();
        let g = &mut *g;
        if let Some((n, route)) = g.every {
            if get && path.ends_with(route) {
                g.every_count += 1;
                if n > 0 && g.every_count.is_multiple_of(n as u64) {
                    return Plan::Replace((self.shape.server_error)());
                }
            }
        }
        let Some(cfg) = &g.cfg else {
            return Plan::Pass;
        };
        if !cfg.routes.is_empty() && !cfg.routes.iter().any(|r| path.contains(r.as_str())) {
            return Plan::Pass;
        }
        g.stats.requests += 1;
        if g.revoked_left > 0 {
            g.revoked_left -= 1;
            return Plan::Replace((self.shape.refused)());
        }
        if cfg.kinds.is_empty() || !g.rng.random_bool(cfg.rate.clamp(0.0, 1.0)) {
            return Plan::Pass;
        }
        let kind = cfg.kinds[g.rng.random_range(0..cfg.kinds.len())];
        let plan = match kind {
            FaultKind::ServerError => {
                let mut r = (self.shape.server_error)();
                *r.status_mut() = [
                    StatusCode::INTERNAL_SERVER_ERROR,
                    StatusCode::BAD_GATEWAY,
                    StatusCode::SERVICE_UNAVAILABLE,
                ][g.rng.random_range(0..3)];
                Plan::Replace(r)
            }
            FaultKind::RateLimitedRetryAfter | FaultKind::RateLimitedBare => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"error":"Too many requests"}"#,
                )
                    .into_response();
                if kind == FaultKind::RateLimitedRetryAfter {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                }
                Plan::Replace(r)
            }
            FaultKind::Timeout => Plan::Stall(cfg.stall),
            FaultKind::TokenRevoked => {
                g.revoked_left = cfg.revoked_for.saturating_sub(1);
                Plan::Replace((self.shape.refused)())
            }
            FaultKind::DuplicatePage => match g.last_ok.get(path).filter(|h| !h.is_empty()) {
                Some(h) => {
                    // Half the time the previous answer, else any earlier one still kept.
                    let i = if g.rng.random_bool(0.5) {
                        h.len() - 1
                    } else {
                        g.rng.random_range(0..h.len())
                    };
                    let (ct, body) = &h[i];
                    Plan::Duplicate(ct.clone(), body.clone())
                }
                // Nothing to repeat yet: no fault.
                None => return Plan::Pass,
            },
            k => Plan::Transform(k),
        };
        *g.stats.injected.entry(kind).or_default() += 1;
        plan
    }

    fn remember(&self, path: &str, ct: Option<HeaderValue>, body: Bytes) {
        let mut g = self.lock();
        let h = g.last_ok.entry(path.to_string()).or_default();
        if h.len() == REPLAY_DEPTH {
            h.pop_front();
        }
        h.push_back((ct, body));
    }

    fn uncount(&self, kind: FaultKind) {
        if let Some(n) = self.lock().stats.injected.get_mut(&kind) {
            *n = n.saturating_sub(1);
        }
    }
}

async fn middleware(State(f): State<Faults>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    match f.plan(req.method() == axum::http::Method::GET, &path) {
        Plan::Replace(r) => r,
        Plan::Duplicate(ct, body) => {
            let mut r = (StatusCode::OK, body).into_response();
            if let Some(ct) = ct {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            r
        }
        Plan::Stall(d) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Plan::Pass => {
            let r = next.run(req).await;
            if r.status() != StatusCode::OK {
                return r;
            }
            let (parts, body) = r.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            f.remember(
                &path,
                parts.headers.get(header::CONTENT_TYPE).cloned(),
                bytes.clone(),
            );
            Response::from_parts(parts, Body::from(bytes))
        }
        Plan::Transform(kind) => {
            let r = next.run(req).await;
            if r.status() != StatusCode::OK {
                // An error answer is left as it is (the fault did not happen).
                f.uncount(kind);
                return r;
            }
            let (mut parts, body) = r.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            };
            parts.headers.remove(header::CONTENT_LENGTH);
            match transform(kind, &f.shape, f.skew(), &bytes) {
                Some(Made::Body(b)) => Response::from_parts(parts, Body::from(b)),
                Some(Made::Html) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    HTML_ERROR_PAGE,
                )
                    .into_response(),
                Some(Made::Reset(head)) => {
                    let stream = futures_util::stream::iter([
                        Ok::<Bytes, std::io::Error>(head),
                        Err(std::io::Error::new(
                            std::io::ErrorKind::ConnectionReset,
                            "injected reset",
                        )),
                    ]);
                    Response::from_parts(parts, Body::from_stream(stream))
                }
                None => {
                    f.uncount(kind);
                    Response::from_parts(parts, Body::from(bytes))
                }
            }
        }
    }
}

impl Faults {
    fn skew(&self) -> i64 {
        self.lock().cfg.as_ref().map_or(0, |c| c.skew_ms)
    }
}

const HTML_ERROR_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\
<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";

enum Made {
    Body(Vec<u8>),
    Html,
    Reset(Bytes),
}

/// The wrong answer of `kind` made from a right one; None when this answer cannot carry it
/// (no records to reorder or skew).
fn transform(kind: FaultKind, shape: &Shape, skew_ms: i64, body: &Bytes) -> Option<Made> {
    match kind {
        FaultKind::TruncatedJson => Some(Made::Body(body[..body.len() / 2].to_vec())),
        FaultKind::InvalidJson => {
            let mut b = body.to_vec();
            // The first `:` becomes `;` (still UTF-8, no longer JSON); else garbage is added.
            match b.iter().position(|&c| c == b':') {
                Some(i) => b[i] = b';',
                None => b.extend_from_slice(b"}{"),
            }
            Some(Made::Body(b))
        }
        FaultKind::HtmlErrorPage => Some(Made::Html),
        FaultKind::ResetMidBody => Some(Made::Reset(body.slice(..body.len() / 2))),
        FaultKind::OutOfOrder | FaultKind::ClockSkew => {
            let mut v: serde_json::Value = serde_json::from_slice(body).ok()?;
            let records = v.pointer_mut(shape.records)?.as_array_mut()?;
            if kind == FaultKind::OutOfOrder {
                if records.len() < 2 {
                    return None;
                }
                records.reverse();
            } else {
                let mut shifted = 0;
                for r in records.iter_mut() {
                    shifted += skew_record(r, shape.updated_at, skew_ms);
                }
                if shifted == 0 {
                    return None;
                }
            }
            serde_json::to_vec(&v).ok().map(Made::Body)
        }
        _ => None,
    }
}

/// Shifts the `updated_at` fields of one record (and of the objects in its arrays); returns
/// how many were shifted.
fn skew_record(r: &mut serde_json::Value, fields: &[&str], skew_ms: i64) -> usize {
    let Some(obj) = r.as_object_mut() else {
        return 0;
    };
    let mut n = 0;
    for (k, v) in obj.iter_mut() {
        if fields.contains(&k.as_str()) {
            if let Some(s) = v.as_str().and_then(|s| shift_time(s, skew_ms)) {
                *v = serde_json::Value::String(s);
                n += 1;
            }
        } else if let Some(list) = v.as_array_mut() {
            for item in list.iter_mut().filter(|i| i.is_object()) {
                n += skew_record(item, fields, skew_ms);
            }
        }
    }
    n
}

/// `YYYY-MM-DD?HH:MM:SS<rest>` shifted by whole seconds of `skew_ms`, separator and rest kept.
pub fn shift_time(s: &str, skew_ms: i64) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 19 || !s.is_char_boundary(19) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let days = boxoffice_civil::days_from_civil(y, u32::try_from(mo).ok()?, u32::try_from(d).ok()?);
    let secs = ((days * 24 + h) * 60 + mi) * 60 + se + skew_ms / 1000;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = boxoffice_civil::civil_from_days(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}{}{:02}:{:02}:{:02}{}",
        &s[10..11],
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        &s[19..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_shift_across_days_and_keep_their_form() {
        assert_eq!(
            shift_time("2026-03-01T00:00:30.120Z", -90_000).unwrap(),
            "2026-02-28T23:59:00.120Z"
        );
        assert_eq!(
            shift_time("2026-12-31 23:59:00+03:00", 120_000).unwrap(),
            "2027-01-01 00:01:00+03:00"
        );
        assert_eq!(shift_time("2026-03-01", 1000), None);
        assert_eq!(shift_time("garbage-garbage-garbage", 1000), None);
    }

    fn shape() -> Shape {
        Shape {
            records: "/data",
            updated_at: &["updated_at"],
            refused: || StatusCode::FORBIDDEN.into_response(),
            server_error: || StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }

    #[test]
    fn wrong_answers_are_made_from_right_ones() {
        let body = Bytes::from_static(
            br#"{"data":[{"id":1,"updated_at":"2026-03-01 10:00:00+03:00","baskets":[{"updated_at":"2026-03-01 10:00:05+03:00"}]},{"id":2,"updated_at":"2026-03-01 11:00:00+03:00"}]}"#,
        );
        let s = shape();
        let json = |m: Option<Made>| match m {
            Some(Made::Body(b)) => serde_json::from_slice::<serde_json::Value>(&b),
            _ => panic!("a body"),
        };
        let rev = json(transform(FaultKind::OutOfOrder, &s, 0, &body)).unwrap();
        assert_eq!(rev["data"][0]["id"], 2);
        let sk = json(transform(FaultKind::ClockSkew, &s, -60_000, &body)).unwrap();
        assert_eq!(sk["data"][0]["updated_at"], "2026-03-01 09:59:00+03:00");
        assert_eq!(
            sk["data"][0]["baskets"][0]["updated_at"],
            "2026-03-01 09:59:05+03:00"
        );
        assert!(json(transform(FaultKind::TruncatedJson, &s, 0, &body)).is_err());
        assert!(json(transform(FaultKind::InvalidJson, &s, 0, &body)).is_err());
        let empty = Bytes::from_static(br#"{"data":[]}"#);
        assert!(transform(FaultKind::OutOfOrder, &s, 0, &empty).is_none());
    }

    #[test]
    fn the_rate_is_roughly_honoured_and_counted_per_kind() {
        let f = Faults::new(shape(), Some(FaultConfig::all(0.2, 7)), None);
        for _ in 0..5_000 {
            let _ = f.plan(true, "/tickets");
        }
        let st = f.stats();
        assert_eq!(st.requests, 5_000);
        // Duplicates need an earlier answer (none here); revoked tokens refuse 2 more each.
        let total = st.total();
        assert!((800..1_200).contains(&total), "{st:?}");
        for k in FaultKind::ALL {
            if k != FaultKind::DuplicatePage {
                assert!(st.of(k) > 30, "{k:?}: {st:?}");
            }
        }
        f.set(None);
        for _ in 0..100 {
            assert!(matches!(f.plan(true, "/tickets"), Plan::Pass));
        }
        assert_eq!(f.stats().total(), total);
    }

    #[test]
    fn every_nth_counts_its_route_only() {
        let f = Faults::new(shape(), None, Some((3, "/orders")));
        let hits: Vec<bool> = (0..6)
            .map(|i| {
                let p = if i % 2 == 0 { "/x/orders" } else { "/x/events" };
                matches!(f.plan(true, p), Plan::Replace(_))
            })
            .collect();
        // /orders at i = 0, 2, 4: the third is the fault.
        assert_eq!(hits, [false, false, false, false, true, false]);
    }
}
