//! The events listing (or one configured event) and each event's products: event records, and
//! the currency and product names the order pages need, kept in the cursor.

use boxoffice_plugin_sdk::{
    money, time, Event, HttpRequest, Page, PluginError, RecordWriter, RunContext,
};

use crate::cursor::Cursor;
use crate::model::{Listing, WireEvent, WireItem};
use crate::plan::{self, Settings};

fn bad(req: &HttpRequest, e: impl std::fmt::Display) -> PluginError {
    PluginError::BadResponse(format!("GET {}: unexpected body: {e}", req.url))
}

/// Takes one event: its record, its currency into the cursor, and its products' request.
fn take_event(
    ctx: &RunContext,
    s: &Settings,
    e: &WireEvent,
    records: &mut RecordWriter,
    cursor: &mut Cursor,
    next: &mut Vec<HttpRequest>,
) -> Result<(), PluginError> {
    let currency = money::currency(&e.currency).into_owned();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(PluginError::BadResponse(format!(
            "event `{}`: currency `{currency}` is not an ISO 4217 code",
            e.slug
        )));
    }
    records.event(Event {
        event_id: e.slug.clone(),
        name: e.name.text().into(),
        city: None,
        venue: None,
        starts_at_ms: e.date_from.as_deref().and_then(time::parse_ms),
        ends_at_ms: e.date_to.as_deref().and_then(time::parse_ms),
        canceled_at_ms: None,
        updated_at_ms: ctx.now_ms,
    });
    let state = cursor.events.entry(e.slug.to_string()).or_default();
    state.cur = currency;
    next.push(plan::items_request(s, &e.slug, 1));
    Ok(())
}

/// A page of `/events/`.
pub fn events_page(ctx: &RunContext, req: &HttpRequest, body: &[u8]) -> Result<Page, PluginError> {
    let s = plan::settings(ctx).map_err(PluginError::Fatal)?;
    let page: Listing<WireEvent> = serde_json::from_slice(body).map_err(|e| bad(req, e))?;
    let mut cursor = Cursor::parse(ctx.cursor.as_deref());
    let mut records = RecordWriter::with_capacity(page.results.len());
    let mut next = Vec::new();
    for e in page.results.iter().filter(|e| s.selects(&e.slug)) {
        take_event(ctx, &s, e, &mut records, &mut cursor, &mut next)?;
    }
    if page.next.is_some() && !page.results.is_empty() {
        // Rebuilt from our own parameters: a vendor's link is never followed to another host.
        next.push(plan::events_request(&s, plan::page_of(req) + 1));
    }
    Ok(Page {
        records: records.finish().into(),
        next,
        cursor: Some(cursor.encode()),
    })
}

/// One configured event (`/events/<slug>/`).
pub fn event_page(ctx: &RunContext, req: &HttpRequest, body: &[u8]) -> Result<Page, PluginError> {
    let s = plan::settings(ctx).map_err(PluginError::Fatal)?;
    let e: WireEvent = serde_json::from_slice(body).map_err(|e| bad(req, e))?;
    let mut cursor = Cursor::parse(ctx.cursor.as_deref());
    let mut records = RecordWriter::with_capacity(1);
    let mut next = Vec::new();
    take_event(ctx, &s, &e, &mut records, &mut cursor, &mut next)?;
    Ok(Page {
        records: records.finish().into(),
        next,
        cursor: Some(cursor.encode()),
    })
}

/// A page of one event's `/items/`: product and variation names into the cursor; after the
/// last page, the event's first orders request.
pub fn items_page(
    ctx: &RunContext,
    req: &HttpRequest,
    slug: &str,
    body: &[u8],
) -> Result<Page, PluginError> {
    let s = plan::settings(ctx).map_err(PluginError::Fatal)?;
    let page: Listing<WireItem> = serde_json::from_slice(body).map_err(|e| bad(req, e))?;
    let mut cursor = Cursor::parse(ctx.cursor.as_deref());
    let Some(state) = cursor.events.get_mut(slug) else {
        return Err(PluginError::Fatal(format!(
            "products of event `{slug}` arrived before the event"
        )));
    };
    for item in &page.results {
        state.items.insert(item.id, item.name.text());
        for v in &item.variations {
            state.vars.insert(v.id, v.value.text());
        }
    }
    let next = if page.next.is_some() && !page.results.is_empty() {
        plan::items_request(&s, slug, plan::page_of(req) + 1)
    } else {
        plan::orders_start(&s, ctx, slug, state)
    };
    Ok(Page {
        records: Vec::new().into(),
        next: vec![next],
        cursor: Some(cursor.encode()),
    })
}
