//! Which requests to make: the tickets stream (resumed from the cursor) and, when due, the
//! events listing. The cursor is compact JSON `{"after":"<updated_at>_<ticket_id>","events_at":ms}`.

use boxoffice_plugin_sdk::{get, time, Auth, Connector, HttpRequest, PluginError, RunContext};
use serde::{Deserialize, Serialize};

use crate::Shotgun;

pub const TICKETS: &str = "tickets";
/// The events listings are auxiliary requests (the SDK's `wire::AUXILIARY_PREFIX`): when one
/// fails the host marks the run degraded and the tickets carry on.
pub const EVENTS_UPCOMING: &str = "aux:events-upcoming";
pub const EVENTS_PAST: &str = "aux:events-past";
/// Page size asked of the events listing (the API's default is unconfirmed; we always send it).
pub const EVENTS_LIMIT: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events_at: Option<i64>,
}

impl Cursor {
    /// Reads the committed cursor; a bare `<iso>_<id>` string (older form) is an `after`.
    pub fn parse(raw: Option<&str>) -> Self {
        match raw {
            None => Self::default(),
            Some(s) if s.trim_start().starts_with('{') => {
                serde_json::from_str(s).unwrap_or_default()
            }
            Some(s) => Self {
                after: Some(s.to_string()),
                events_at: None,
            },
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub struct Settings {
    pub organizer_id: String,
    pub event_id: Option<String>,
    pub cohosted: bool,
    pub base_url: String,
    pub events_base_url: String,
    pub events_every_ms: i64,
}

/// The account's settings, defaults from the manifest.
pub fn settings(ctx: &RunContext) -> Result<Settings, PluginError> {
    let m = Shotgun::manifest();
    let s = Shotgun::settings(ctx, &m);
    let organizer_id = s.require("organizer_id")?;
    if !organizer_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PluginError::Fatal(
            "setting `organizer_id` must be a number".into(),
        ));
    }
    let url = |name| s.require(name).map(|v| v.trim_end_matches('/').to_string());
    Ok(Settings {
        organizer_id: organizer_id.to_string(),
        event_id: s.get("event_id").map(Into::into),
        cohosted: s.flag("include_cohosted_events")?.unwrap_or(true),
        base_url: url("base_url")?,
        events_base_url: url("events_base_url")?,
        events_every_ms: s
            .parse::<u32>("events_every_secs", "a whole number of seconds")?
            .map_or(900_000, |v| i64::from(v) * 1000),
    })
}

pub fn tickets_request(s: &Settings, after: Option<&str>) -> HttpRequest {
    let mut q = vec![("organizer_id".to_string(), s.organizer_id.to_string())];
    if let Some(e) = &s.event_id {
        q.push(("event_id".into(), e.to_string()));
    }
    if s.cohosted {
        q.push(("include_cohosted_events".into(), "1".into()));
    }
    if let Some(a) = after {
        q.push(("after".into(), a.to_string()));
    }
    let mut r = get(TICKETS, &format!("{}/tickets", s.base_url), q);
    r.auth = Auth::BearerHeader("token".into());
    r
}

pub fn events_request(s: &Settings, id: &str, page: usize) -> HttpRequest {
    let mut q = vec![
        ("page".to_string(), page.to_string()),
        ("limit".to_string(), EVENTS_LIMIT.to_string()),
    ];
    if id == EVENTS_PAST {
        q.push(("past_events".into(), "true".into()));
    }
    let url = format!(
        "{}/api/shotgun/organizers/{}/events",
        s.events_base_url, s.organizer_id
    );
    let mut r = get(id, &url, q);
    r.auth = Auth::QueryParam(("key".into(), "token".into()));
    r
}

/// The first requests of a run.
pub fn begin(ctx: &RunContext) -> Result<Vec<HttpRequest>, PluginError> {
    let s = settings(ctx)?;
    let cursor = Cursor::parse(ctx.cursor.as_deref());
    let after = match ctx.since_ms {
        Some(since) => Some(time::format_utc_ms(since)),
        None => cursor.after.clone(),
    };
    let mut out = vec![tickets_request(&s, after.as_deref())];
    let due = cursor
        .events_at
        .is_none_or(|at| ctx.now_ms - at >= s.events_every_ms);
    if due {
        out.push(events_request(&s, EVENTS_UPCOMING, 0));
        out.push(events_request(&s, EVENTS_PAST, 0));
    }
    Ok(out)
}
