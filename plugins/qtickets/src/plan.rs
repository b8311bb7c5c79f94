//! Which requests to make and the cursor that remembers where the last run got to.
//!
//! The cursor is compact JSON, parsed and written only here:
//! `{"last_id":u64,"marks":[[day_start_ms,first_order_id],...],"inventory_at":ms,"reconciled_at":ms}`.
//!
//! - `last_id`: the highest order id emitted so far.
//! - `marks`: per UTC day (of orders' `created_at`) the smallest order id seen that day. They
//!   turn "orders created since T" into "orders with id > N" without a date filter (date
//!   filters on `/orders` answer 503 live). Kept: every mark of a day not older than
//!   lookback + 2 days, plus the latest older one (so the start of the lookback window always
//!   has a mark at or before it once any order precedes it; this also keeps the newest mark).
//! - `inventory_at`: when the events listing was last read to its end.
//! - `reconciled_at`: when a pass from id 0 was last read to its end.
//!
//! Each run starts the orders stream at START and pages with `id > START`, ascending:
//! START = 0 (a reconcile pass) when there is no cursor, the reconcile is due, or no mark is at
//! or before the window start; otherwise the first id of the latest mark at or before the
//! window start, minus one (never above `last_id`). The window starts at `since_ms` in a
//! backfill, else at now − `lookback_hours`.

use boxoffice_plugin_sdk::{get, Auth, Connector, HttpRequest, PluginError, RunContext};
use serde::{Deserialize, Serialize};

use crate::Qtickets;

pub const ORDERS: &str = "orders";
/// Events and seats are auxiliary requests (the SDK's `wire::AUXILIARY_PREFIX`): when one
/// fails the host marks the run degraded and the orders carry on.
pub const EVENTS: &str = "aux:events";
/// Seats requests are `aux:seats:{event_id}:{show_id}`.
pub const SEATS_PREFIX: &str = "aux:seats:";

pub const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Fields asked of `/shows/{id}/seats` (the only ones the inventory needs).
pub const SEAT_FIELDS: [&str; 8] = [
    "id",
    "root_id",
    "zone_id",
    "admission",
    "max_quantity",
    "free_quantity",
    "payed_quantity",
    "disabled",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default)]
    pub last_id: u64,
    /// (UTC day start ms, smallest order id created that day), ascending by day.
    #[serde(default)]
    pub marks: Vec<(i64, u64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconciled_at: Option<i64>,
}

impl Cursor {
    /// The committed cursor; `None` when there is none. An unreadable cursor counts as none
    /// (the run then reconciles from id 0, which is always correct).
    pub fn parse(raw: Option<&str>) -> Option<Self> {
        let raw = raw?.trim();
        if raw.is_empty() {
            return None;
        }
        serde_json::from_str::<Cursor>(raw).ok().map(|mut c| {
            c.marks.sort_unstable();
            c.marks.dedup_by_key(|m| m.0);
            c
        })
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Records that order `id` was created at `created_ms` (keeps the smallest id per day).
    pub fn mark(&mut self, created_ms: i64, id: u64) {
        let day = created_ms.div_euclid(DAY_MS) * DAY_MS;
        match self.marks.binary_search_by_key(&day, |m| m.0) {
            Ok(i) => self.marks[i].1 = self.marks[i].1.min(id),
            Err(i) => self.marks.insert(i, (day, id)),
        }
    }

    /// Drops marks older than `cutoff_ms`, except the latest of those.
    pub fn prune(&mut self, cutoff_ms: i64) {
        let older = self.marks.partition_point(|m| m.0 < cutoff_ms);
        if older > 1 {
            self.marks.drain(..older - 1);
        }
    }

    /// The latest mark whose day starts at or before `t`.
    pub fn mark_at_or_before(&self, t: i64) -> Option<(i64, u64)> {
        let n = self.marks.partition_point(|m| m.0 <= t);
        n.checked_sub(1).map(|i| self.marks[i])
    }
}

pub struct Settings {
    pub base_url: String,
    pub lookback_ms: i64,
    pub reconcile_every_ms: i64,
    pub inventory_every_ms: i64,
}

impl Settings {
    /// Marks older than this are dropped (but the latest older one).
    pub fn marks_cutoff(&self, now_ms: i64) -> i64 {
        (now_ms - self.lookback_ms).div_euclid(DAY_MS) * DAY_MS - 2 * DAY_MS
    }
}

/// The account's settings, defaults from the manifest.
pub fn settings(ctx: &RunContext) -> Result<Settings, PluginError> {
    let m = Qtickets::manifest();
    let s = Qtickets::settings(ctx, &m);
    let base_url = s.require("base_url")?.trim_end_matches('/').to_string();
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(PluginError::Fatal(format!(
            "setting `base_url` must be an http(s) URL, got `{base_url}`"
        )));
    }
    // A non-negative whole number (the manifest gives every default).
    let number = |name: &str, unit: &str| -> Result<i64, PluginError> {
        let what = format!("a whole number of {unit} ≥ 0");
        Ok(s.parse::<u32>(name, &what)?.map_or(0, i64::from))
    };
    Ok(Settings {
        base_url,
        lookback_ms: number("lookback_hours", "hours")? * HOUR_MS,
        reconcile_every_ms: number("reconcile_every_hours", "hours")? * HOUR_MS,
        inventory_every_ms: number("inventory_every_secs", "seconds")? * 1000,
    })
}

/// A GET with a JSON body, bearer token and JSON headers.
fn json_get(id: &str, url: &str, body: String) -> HttpRequest {
    let mut r = get(id, url, vec![]);
    r.headers
        .push(("Content-Type".into(), "application/json".into()));
    r.body = Some(body.into_bytes());
    r.auth = Auth::BearerHeader("token".into());
    r
}

/// The body of an orders page: `id > start`, ascending, 1-based `page`.
pub fn orders_body(start: u64, page: u64) -> String {
    if start == 0 {
        format!(r#"{{"orderBy":{{"id":"asc"}},"page":{page}}}"#)
    } else {
        format!(
            r#"{{"where":[{{"column":"id","operator":">","value":{start}}}],"orderBy":{{"id":"asc"}},"page":{page}}}"#
        )
    }
}

pub fn orders_request(s: &Settings, start: u64, page: u64) -> HttpRequest {
    json_get(
        ORDERS,
        &format!("{}/orders", s.base_url),
        orders_body(start, page),
    )
}

pub fn events_request(s: &Settings, page: u64) -> HttpRequest {
    json_get(
        EVENTS,
        &format!("{}/events", s.base_url),
        format!(r#"{{"orderBy":{{"id":"asc"}},"page":{page}}}"#),
    )
}

pub fn seats_body() -> String {
    let fields: Vec<String> = SEAT_FIELDS.iter().map(|f| format!("\"{f}\"")).collect();
    format!(r#"{{"select":[{}],"flat":true}}"#, fields.join(","))
}

pub fn seats_request(s: &Settings, event_id: u64, show_id: u64) -> HttpRequest {
    json_get(
        &format!("{SEATS_PREFIX}{event_id}:{show_id}"),
        &format!("{}/shows/{show_id}/seats", s.base_url),
        seats_body(),
    )
}

/// What our own orders/events request asked for, read back from its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageAsk {
    /// The `id >` bound (0 = no filter, a pass over every order).
    pub start: u64,
    pub page: u64,
}

#[derive(Deserialize)]
struct AskBody {
    #[serde(rename = "where", default)]
    conditions: Vec<AskCondition>,
    #[serde(default)]
    page: Option<u64>,
}

#[derive(Deserialize)]
struct AskCondition {
    column: String,
    #[serde(default)]
    value: Option<u64>,
}

pub fn page_ask(req: &HttpRequest) -> Result<PageAsk, String> {
    let body = req.body.as_deref().unwrap_or(b"{}");
    let b: AskBody = serde_json::from_slice(body)
        .map_err(|e| format!("request `{}` has an unreadable body: {e}", req.id))?;
    let start = b
        .conditions
        .iter()
        .find(|c| c.column == "id")
        .and_then(|c| c.value)
        .unwrap_or(0);
    Ok(PageAsk {
        start,
        page: b.page.unwrap_or(1).max(1),
    })
}

/// The `id >` bound of this run's orders stream (see the module doc).
pub fn orders_start(s: &Settings, ctx: &RunContext, cursor: Option<&Cursor>) -> u64 {
    let Some(c) = cursor else { return 0 };
    let reconcile_due = c
        .reconciled_at
        .is_none_or(|at| ctx.now_ms - at >= s.reconcile_every_ms);
    if reconcile_due {
        return 0;
    }
    let window_start = ctx.since_ms.unwrap_or(ctx.now_ms - s.lookback_ms);
    match c.mark_at_or_before(window_start) {
        Some((_, first_id)) => first_id.saturating_sub(1).min(c.last_id),
        None => 0,
    }
}

/// Whether events and seats are read this run.
pub fn inventory_due(s: &Settings, ctx: &RunContext, cursor: Option<&Cursor>) -> bool {
    match cursor {
        None => true,
        Some(_) if ctx.since_ms.is_some() => true,
        Some(c) => c
            .inventory_at
            .is_none_or(|at| ctx.now_ms - at >= s.inventory_every_ms),
    }
}

/// The first requests of a run: orders page 1 from START, and events page 1 when due.
pub fn begin(ctx: &RunContext) -> Result<(Vec<HttpRequest>, u64), PluginError> {
    let s = settings(ctx)?;
    let cursor = Cursor::parse(ctx.cursor.as_deref());
    let start = orders_start(&s, ctx, cursor.as_ref());
    let mut out = vec![orders_request(&s, start, 1)];
    if inventory_due(&s, ctx, cursor.as_ref()) {
        out.push(events_request(&s, 1));
    }
    Ok((out, start))
}
