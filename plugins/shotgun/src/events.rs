//! The legacy events listing → events (names, cities, dates) and inventory (tickets left).

use boxoffice_plugin_sdk::{
    time, Event, HttpRequest, Inventory, Page, PluginError, RecordWriter, RunContext,
};

use crate::model::EventsPage;
use crate::plan::{self, Cursor};
use crate::tickets::url_param;

pub fn handle(ctx: &RunContext, req: &HttpRequest, body: &[u8]) -> Result<Page, PluginError> {
    let s = plan::settings(ctx).map_err(PluginError::Fatal)?;
    let page: EventsPage = serde_json::from_slice(body).map_err(|e| {
        PluginError::BadResponse(format!("GET {}: unexpected events body: {e}", req.id))
    })?;
    let mut records = RecordWriter::with_capacity(page.data.len());
    for e in &page.data {
        let id = e.id.to_string();
        records.event(Event {
            event_id: id.as_str().into(),
            name: e.name.as_deref().unwrap_or("").into(),
            city: e
                .geolocation
                .as_ref()
                .and_then(|g| g.city.as_deref().map(Into::into)),
            venue: None,
            starts_at_ms: e.start_time.as_deref().and_then(time::parse_ms),
            ends_at_ms: e.end_time.as_deref().and_then(time::parse_ms),
            canceled_at_ms: e.cancelled_at.as_deref().and_then(time::parse_ms),
            updated_at_ms: ctx.now_ms,
        });
        // Unknown when the deals, or one deal's quantity, are missing: never a partial sum.
        let capacity: Option<i64> = e
            .deals
            .as_ref()
            .and_then(|deals| deals.iter().map(|d| d.quantity).sum());
        records.inventory(Inventory {
            event_id: id.as_str().into(),
            // Shotgun has no shows: the event is its own single show.
            show_id: id.as_str().into(),
            captured_at_ms: ctx.now_ms,
            capacity: capacity
                .filter(|c| *c >= 0)
                .map(|c| c.min(u32::MAX as i64) as u32),
            available: e
                .left_tickets_count
                .filter(|c| *c >= 0)
                .map(|c| c.min(u32::MAX as i64) as u32),
            sold: None,
        });
    }
    let page_no: usize = url_param(req, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let full = page.data.len() >= plan::EVENTS_LIMIT;
    let next = if full {
        vec![plan::events_request(&s, &req.id, page_no + 1)]
    } else {
        vec![]
    };
    // The past listing's last page marks the events read as done.
    let cursor = (!full && req.id == plan::EVENTS_PAST).then(|| {
        let mut c = Cursor::parse(ctx.cursor.as_deref());
        c.events_at = Some(ctx.now_ms);
        c.encode()
    });
    Ok(Page {
        records: records.finish().into(),
        next,
        cursor,
    })
}
