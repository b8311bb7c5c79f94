//! Which requests to make, and the policy choices behind them: page size, how much the
//! incremental stream overlaps, how often every order is read again (refunds), and the fields
//! asked for (only what the mapping needs, so personal data and secrets are not even sent).

use boxoffice_plugin_sdk::{get, setting, Auth, HttpRequest, RunContext};

use crate::cursor::EventState;
use crate::stamp;

/// pretix caps `page_size` at 50 (silently); asking for it saves requests.
pub const PAGE_SIZE: u32 = 50;
/// Default period of the full re-read (6 h). A refund alone does not move an order's
/// `last_modified` in pretix, so only a full read sees it; everything else (payments,
/// cancellations, check-ins, new orders) arrives through `modified_since` in every run.
pub const FULL_SCAN_EVERY_SECS: i64 = 6 * 3600;
/// Each run re-reads this much before the stored `last_modified` position: an order written in
/// a transaction that committed after a newer one was read carries an older timestamp.
pub const OVERLAP_US: i64 = 120 * 1_000_000;

/// The order fields read (`include=`): codes, states, times, money, products, check-ins and the
/// e-mail (the buyer, pseudonymized by the host). Not asked for: secrets, `url`, phone,
/// invoice address, attendee names and e-mails, answers.
pub const ORDER_FIELDS: &[&str] = &[
    "code",
    "status",
    "testmode",
    "email",
    "datetime",
    "last_modified",
    "cancellation_date",
    "payment_provider",
    "sales_channel",
    "fees.value",
    "refunds.state",
    "refunds.amount",
    "refunds.created",
    "refunds.execution_date",
    "positions.positionid",
    "positions.item",
    "positions.variation",
    "positions.price",
    "positions.canceled",
    "positions.subevent",
    "positions.checkins",
];

pub const EVENTS: &str = "events";
pub const EVENT: &str = "event";
pub const ITEMS: &str = "items";
/// A full scan: every order by `datetime`, page by page.
pub const FULL: &str = "full";
/// The incremental stream: `modified_since` by `last_modified`.
pub const SINCE: &str = "since";
/// A backfill window: orders created in `[since, until)`, by `datetime`.
pub const WINDOW: &str = "window";

#[derive(Debug, Clone)]
pub struct Settings<'a> {
    pub base_url: &'a str,
    pub organizer: &'a str,
    /// `None`: every event of the organizer.
    pub events: Option<Vec<&'a str>>,
    pub full_scan_every_ms: i64,
}

fn slug_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
}

pub fn settings(ctx: &RunContext) -> Result<Settings<'_>, String> {
    let base_url = setting(ctx, "base_url")
        .map(|v| v.trim().trim_end_matches('/'))
        .filter(|v| !v.is_empty())
        .ok_or("setting `base_url` is required (e.g. https://pretix.eu)")?;
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(format!(
            "setting `base_url` must be an http(s) URL such as https://pretix.eu (got `{base_url}`)"
        ));
    }
    let organizer = setting(ctx, "organizer")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or("setting `organizer` is required (the organizer's short form)")?;
    if !slug_ok(organizer) {
        return Err(
            "setting `organizer` must be pretix's short form (letters, digits, `-`, `.`)".into(),
        );
    }
    let events = match setting(ctx, "events")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(list) => {
            let slugs: Vec<&str> = list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if let Some(bad) = slugs.iter().find(|s| !slug_ok(s)) {
                return Err(format!(
                    "setting `events`: `{bad}` is not an event short form (a comma-separated list)"
                ));
            }
            Some(slugs)
        }
    };
    let every = match setting(ctx, "full_scan_every_secs").map(str::trim) {
        None | Some("") => FULL_SCAN_EVERY_SECS,
        Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            format!("setting `full_scan_every_secs` must be a number of seconds (got `{v}`)")
        })?,
    };
    Ok(Settings {
        base_url,
        organizer,
        events,
        full_scan_every_ms: every.saturating_mul(1000),
    })
}

impl Settings<'_> {
    pub fn selects(&self, slug: &str) -> bool {
        self.events.as_ref().is_none_or(|l| l.contains(&slug))
    }

    fn organizer_url(&self) -> String {
        format!("{}/api/v1/organizers/{}", self.base_url, self.organizer)
    }

    fn request(&self, id: String, url: String, query: Vec<(String, String)>) -> HttpRequest {
        let mut r = get(&id, &url, query);
        // Team API tokens go in `Authorization: Token <token>` (pretix's documented scheme;
        // `Bearer` is for OAuth access tokens), which WIT 0.3's `authorization-header` asks for.
        r.auth = Auth::AuthorizationHeader(("Token".into(), "token".into()));
        r
    }
}

fn paging(page: u32) -> Vec<(String, String)> {
    let mut q = vec![("page_size".to_string(), PAGE_SIZE.to_string())];
    if page > 1 {
        q.push(("page".into(), page.to_string()));
    }
    q
}

/// The tag of a per-event request: `<kind>:<slug>`.
pub fn tag(kind: &str, slug: &str) -> String {
    format!("{kind}:{slug}")
}

/// `(kind, slug)` of a request id.
pub fn untag(id: &str) -> (&str, Option<&str>) {
    match id.split_once(':') {
        Some((k, s)) => (k, Some(s)),
        None => (id, None),
    }
}

pub fn events_request(s: &Settings, page: u32) -> HttpRequest {
    s.request(
        EVENTS.into(),
        format!("{}/events/", s.organizer_url()),
        paging(page),
    )
}

pub fn event_request(s: &Settings, slug: &str) -> HttpRequest {
    s.request(
        tag(EVENT, slug),
        format!("{}/events/{slug}/", s.organizer_url()),
        vec![],
    )
}

pub fn items_request(s: &Settings, slug: &str, page: u32) -> HttpRequest {
    s.request(
        tag(ITEMS, slug),
        format!("{}/events/{slug}/items/", s.organizer_url()),
        paging(page),
    )
}

fn orders_query(page: u32) -> Vec<(String, String)> {
    let mut q = paging(page);
    q.push(("include_canceled_positions".into(), "true".into()));
    q.extend(
        ORDER_FIELDS
            .iter()
            .map(|f| ("include".to_string(), f.to_string())),
    );
    q
}

fn orders_url(s: &Settings, slug: &str) -> String {
    format!("{}/events/{slug}/orders/", s.organizer_url())
}

pub fn full_request(s: &Settings, slug: &str, page: u32) -> HttpRequest {
    let mut q = orders_query(page);
    q.push(("ordering".into(), "datetime".into()));
    s.request(tag(FULL, slug), orders_url(s, slug), q)
}

/// `modified_since` is inclusive in pretix (`>=`).
pub fn since_request(s: &Settings, slug: &str, since_us: i64, page: u32) -> HttpRequest {
    let mut q = orders_query(page);
    q.push(("ordering".into(), "last_modified".into()));
    q.push(("modified_since".into(), stamp::format_us(since_us)));
    s.request(tag(SINCE, slug), orders_url(s, slug), q)
}

pub fn window_request(
    s: &Settings,
    slug: &str,
    since_ms: i64,
    until_ms: Option<i64>,
    page: u32,
) -> HttpRequest {
    let mut q = orders_query(page);
    q.push(("ordering".into(), "datetime".into()));
    q.push(("created_since".into(), stamp::format_us(since_ms * 1000)));
    if let Some(u) = until_ms {
        q.push(("created_before".into(), stamp::format_us(u * 1000)));
    }
    s.request(tag(WINDOW, slug), orders_url(s, slug), q)
}

/// The first orders request for one event, once its catalogue is read: a backfill window, a
/// full scan (first run, due, or resumed), or the incremental stream. Updates `state` when a
/// scan starts.
pub fn orders_start(
    s: &Settings,
    ctx: &RunContext,
    slug: &str,
    state: &mut EventState,
) -> HttpRequest {
    if let Some(since) = ctx.since_ms {
        return window_request(s, slug, since, ctx.until_ms, 1);
    }
    if let Some(scan) = state.scan {
        return full_request(s, slug, scan.page.max(1));
    }
    let due = match (state.lm, state.full_at) {
        (Some(_), Some(at)) => ctx.now_ms.saturating_sub(at) >= s.full_scan_every_ms,
        _ => true,
    };
    match state.lm {
        Some(lm) if !due => since_request(s, slug, lm - OVERLAP_US, 1),
        _ => {
            state.scan = Some(crate::cursor::Scan {
                at: ctx.now_ms,
                from: None,
                page: 1,
            });
            full_request(s, slug, 1)
        }
    }
}

/// The first requests of a run: the events (listed, or the configured ones one by one, so a
/// wrong short form is named).
pub fn begin(ctx: &RunContext) -> Result<Vec<HttpRequest>, String> {
    let s = settings(ctx)?;
    Ok(match &s.events {
        None => vec![events_request(&s, 1)],
        Some(list) => list.iter().map(|slug| event_request(&s, slug)).collect(),
    })
}

/// A query parameter of a planned request.
pub fn query<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The page number a request asked for (1 when absent).
pub fn page_of(req: &HttpRequest) -> u32 {
    query(req, "page").and_then(|p| p.parse().ok()).unwrap_or(1)
}
