//! An `/events` page → events (name, city, venue, dates), the seats request of every live show,
//! the next page and, on the last page, the cursor's `inventory_at`.
//!
//! Dates live on shows only: an event starts at its earliest live show's `start_date` and ends
//! at its latest live show's `finish_date` (all shows when none is live). The city is the
//! nested `city.name`, never the object's text; the venue is `place_name`. A deleted event is
//! still emitted, with `canceled_at` = its `deleted_at`, but its seats are not read; deleted
//! shows are never read either.

use boxoffice_plugin_sdk::{Event, HttpRequest, Page, PluginError, RecordWriter, RunContext};

use crate::model::{EventsPage, WireEvent, WireShow};
use crate::plan::{self, Cursor};
use crate::{bad, check_paging, opt_ms, present};

/// The event, its texts borrowed from the parsed body.
fn event<'a>(
    req: &HttpRequest,
    ctx: &RunContext,
    e: &'a WireEvent,
    shows: &[&WireShow],
) -> Result<Event<'a>, PluginError> {
    let id = e.id;
    let name = e
        .name
        .as_deref()
        .ok_or_else(|| bad(req, format!("event {id}: no `name`")))?;
    let mut starts: Option<i64> = None;
    let mut ends: Option<i64> = None;
    for sh in shows {
        if let Some(t) = opt_ms(req, ("show", sh.id), "start_date", sh.start_date.as_deref())? {
            starts = Some(starts.map_or(t, |s| s.min(t)));
        }
        if let Some(t) = opt_ms(
            req,
            ("show", sh.id),
            "finish_date",
            sh.finish_date.as_deref(),
        )? {
            ends = Some(ends.map_or(t, |s| s.max(t)));
        }
    }
    let mut updated = opt_ms(req, ("event", id), "updated_at", e.updated_at.as_deref())?;
    for sh in e.shows.iter().flatten() {
        if let Some(t) = opt_ms(req, ("show", sh.id), "updated_at", sh.updated_at.as_deref())? {
            updated = Some(updated.map_or(t, |u| u.max(t)));
        }
    }
    let updated = match updated {
        Some(u) => u,
        None => {
            opt_ms(req, ("event", id), "created_at", e.created_at.as_deref())?.unwrap_or(ctx.now_ms)
        }
    };
    let text = |v: Option<&'a str>| v.map(str::trim).filter(|s| !s.is_empty()).map(Into::into);
    Ok(Event {
        event_id: id.to_string().into(),
        name: name.trim().into(),
        city: text(
            e.city
                .as_ref()
                .and_then(|c| c.get())
                .and_then(|c| c.name.as_deref()),
        ),
        venue: text(e.place_name.as_deref()),
        starts_at_ms: starts,
        ends_at_ms: ends,
        canceled_at_ms: opt_ms(req, ("event", id), "deleted_at", e.deleted_at.as_deref())?,
        updated_at_ms: updated,
    })
}

pub fn handle(ctx: &RunContext, req: &HttpRequest, body: &[u8]) -> Result<Page, PluginError> {
    let s = plan::settings(ctx).map_err(PluginError::Fatal)?;
    let ask = plan::page_ask(req).map_err(PluginError::Fatal)?;
    let page: EventsPage = serde_json::from_slice(body)
        .map_err(|e| bad(req, format!("unexpected events body: {e}")))?;
    let paging = page
        .paging
        .as_ref()
        .ok_or_else(|| bad(req, "the events page has no `paging`".into()))?;
    check_paging(req, paging, ask.page, page.data.is_empty())?;

    let mut records = RecordWriter::with_capacity(page.data.len());
    let mut next = Vec::new();
    let more = !page.data.is_empty() && paging.current_page * paging.per_page < paging.total;
    if more {
        next.push(plan::events_request(&s, ask.page + 1));
    }
    for e in &page.data {
        let all: Vec<&WireShow> = e.shows.iter().flatten().collect();
        let live: Vec<&WireShow> = all
            .iter()
            .copied()
            .filter(|sh| present(sh.deleted_at.as_deref()).is_none())
            .collect();
        let dated = if live.is_empty() { &all } else { &live };
        records.event(event(req, ctx, e, dated)?);
        if present(e.deleted_at.as_deref()).is_none() {
            next.extend(live.iter().map(|sh| plan::seats_request(&s, e.id, sh.id)));
        }
    }
    let mut cursor = Cursor::parse(ctx.cursor.as_deref()).unwrap_or_default();
    if !more {
        cursor.inventory_at = Some(ctx.now_ms);
    }
    Ok(Page {
        records: records.finish().into(),
        next,
        cursor: Some(cursor.encode()),
    })
}
