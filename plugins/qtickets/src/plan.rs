//! Which requests to make and the cursor that remembers where the last run got to.
//!
//! The cursor is compact JSON, parsed and written only here:
//! `{"last_id":u64,"marks":[[day_start_ms,first_order_id],...],"inventory_at":ms,"reconciled_at":ms,"lookback_at":ms}`.
//!
//! - `last_id`: the highest order id emitted so far.
//! - `marks`: per UTC day (of orders' `created_at`) the smallest order id seen that day. They
//!   turn "orders created since T" into "orders with id > N" without a date filter (date
//!   filters on `/orders` answer 503 live). Kept: every mark of a day not older than
//!   lookback + 2 days, plus the latest older one (so the start of the lookback window always
//!   has a mark at or before it once any order precedes it; this also keeps the newest mark).
//! - `inventory_at`: when the events listing was last read to its end.
//! - `reconciled_at`: when a pass from id 0 was last read to its end.
//! - `lookback_at` (only with `webhooks = "on"`): when a pass covering the lookback window was
//!   last read to its end.
//!
//! Each run starts the orders stream at START and pages with `id > START`, ascending:
//! START = 0 (a reconcile pass) when there is no cursor, the reconcile is due, or no mark is at
//! or before the window start; otherwise the first id of the latest mark at or before the
//! window start, minus one (never above `last_id`). The window starts at `since_ms` in a
//! backfill, else at now − `lookback_hours`.
//!
//! **Polling as the safety net** (`webhooks = "on"`, default `"off"`): webhooks report the
//! changes, so a run outside a backfill reads only new orders (START = `last_id`) — an idle run
//! is one empty orders page — unless a reconcile is due: the lookback pass (START from the
//! window's mark, as above) every `reconcile_lookback_minutes`, and the full pass from id 0
//! every `reconcile_every_hours`. Each records when it last completed (`lookback_at`,
//! `reconciled_at`; a full pass also counts as a lookback pass), so a change no webhook
//! reported is caught by the next due pass that covers its order. With the setting off nothing
//! here changes.

use boxoffice_plugin_sdk::{get, Auth, Connector, HttpRequest, PluginError, RunContext, Setting};
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookback_at: Option<i64>,
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
    /// `webhooks = "on"`: polling is the safety net (see the module doc).
    pub webhooks: bool,
    /// With webhooks on: how often the lookback window is re-read.
    pub lookback_every_ms: i64,
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
        webhooks: match s.require(WEBHOOKS)?.trim() {
            "on" => true,
            "off" => false,
            other => {
                return Err(PluginError::Fatal(format!(
                    "setting `{WEBHOOKS}` must be `on` or `off`, got `{other}`"
                )))
            }
        },
        lookback_every_ms: number(LOOKBACK_EVERY, "minutes")? * 60_000,
    })
}

/// The setting that makes polling the safety net of webhooks.
pub const WEBHOOKS: &str = "webhooks";
/// With webhooks on, how often the lookback window is re-read.
pub const LOOKBACK_EVERY: &str = "reconcile_lookback_minutes";

/// The manifest's declaration of [`WEBHOOKS`] (default off).
pub fn webhooks_setting() -> Setting {
    Setting::optional(
        WEBHOOKS,
        "`on` when the account's webhooks are set up in the cabinet: runs then read only new orders, plus the lookback window every `reconcile_lookback_minutes` and every order every `reconcile_every_hours` (the safety net for lost webhooks)",
        "off",
    )
}

/// The manifest's declaration of [`LOOKBACK_EVERY`] (default 60).
pub fn lookback_every_setting() -> Setting {
    Setting::optional(
        LOOKBACK_EVERY,
        "with `webhooks = \"on\"`: how often a run re-reads the lookback window (late changes a lost webhook did not report); 0 = every run",
        "60",
    )
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
    if safety_net(s, ctx) && !lookback_due(s, ctx, c) {
        return c.last_id;
    }
    window_start_id(s, ctx, c)
}

/// Webhooks on and not a backfill (a backfill reads its window as always).
fn safety_net(s: &Settings, ctx: &RunContext) -> bool {
    s.webhooks && ctx.since_ms.is_none()
}

/// With webhooks on: whether this run re-reads the lookback window.
pub fn lookback_due(s: &Settings, ctx: &RunContext, c: &Cursor) -> bool {
    c.lookback_at
        .is_none_or(|at| ctx.now_ms - at >= s.lookback_every_ms)
}

/// The `id >` bound that covers the window (0 when no mark is at or before its start).
fn window_start_id(s: &Settings, ctx: &RunContext, c: &Cursor) -> u64 {
    let window_start = ctx.since_ms.unwrap_or(ctx.now_ms - s.lookback_ms);
    match c.mark_at_or_before(window_start) {
        Some((_, first_id)) => first_id.saturating_sub(1).min(c.last_id),
        None => 0,
    }
}

/// Records what an orders stream from `start`, read to its natural end, completed: a pass
/// from id 0 is a full reconcile; with webhooks on, a stream that started at or before the
/// window's first order is also a lookback pass.
pub fn stream_completed(s: &Settings, ctx: &RunContext, cursor: &mut Cursor, start: u64) {
    if start == 0 {
        cursor.reconciled_at = Some(ctx.now_ms);
    }
    if safety_net(s, ctx) && start <= window_start_id(s, ctx, cursor) {
        cursor.lookback_at = Some(ctx.now_ms);
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

#[cfg(test)]
#[path = "safety_net_tests.rs"]
mod safety_net_tests;
