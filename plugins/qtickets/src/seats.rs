//! A `/shows/{id}/seats` answer → one inventory snapshot of the show.
//!
//! Over the seat nodes with `disabled` false, distinct by `root_id` (tariff copies of a seat
//! share its `root_id`; the first node in the answer is kept; a node without `root_id` stands
//! for itself): capacity = Σ `max_quantity`, available = Σ `free_quantity`, sold =
//! Σ `payed_quantity`. A seated place is one node with `max_quantity` 1; a general-admission
//! zone is one node carrying its whole capacity, so nodes are never counted and `admission`
//! is never read as availability. `data` is `[]` for a show without seats (all zeros); should
//! the API ignore `flat`, the zones' nested `seats` maps are read the same way.
//!
//! The three quantities are optional (a `select` list or an older account can leave them
//! out): a figure is unknown (`None`) as soon as one counted node lacks its field or has it
//! `null`, never a partial sum and never 0. A quantity that is present but not a count is a
//! malformed answer and fails the page, naming the seat and the field. `disabled` absent or
//! null reads as `false` (see `docs/vendor-fields.md`).

use std::borrow::Cow;
use std::collections::HashSet;

use boxoffice_plugin_sdk::{HttpRequest, Inventory, Page, PluginError, RecordWriter, RunContext};

use crate::bad;
use crate::model::{Count, SeatMap, SeatsPage};
use crate::plan::SEATS_PREFIX;

/// Sums over the counted nodes; `None` once a node did not carry the figure.
struct Totals {
    capacity: Option<u64>,
    available: Option<u64>,
    sold: Option<u64>,
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            capacity: Some(0),
            available: Some(0),
            sold: Some(0),
        }
    }
}

/// Adds one node's optional figure to `total`: absent (or null) makes the total unknown.
fn add_count(
    req: &HttpRequest,
    total: &mut Option<u64>,
    what: &str,
    key: &str,
    v: Option<&Count>,
) -> Result<(), PluginError> {
    // An empty string is what some PHP serializers make of null: unknown too.
    let Some(v) = v.filter(|v| !v.is_blank()) else {
        *total = None;
        return Ok(());
    };
    let n = v
        .value()
        .ok_or_else(|| bad(req, format!("seat `{key}`: `{what}` is not a count")))?;
    *total = total.map(|t| t.saturating_add(n));
    Ok(())
}

fn add<'a>(
    req: &HttpRequest,
    map: &'a SeatMap<'a>,
    seen: &mut HashSet<Cow<'a, str>>,
    t: &mut Totals,
) -> Result<(), PluginError> {
    for (key, seat) in &map.0 {
        if let Some(inner) = &seat.seats {
            add(req, inner, seen, t)?;
            continue;
        }
        if seat.disabled.as_ref().is_some_and(|d| d.is_set()) {
            continue;
        }
        let root = seat
            .root_id
            .as_ref()
            .and_then(|r| r.text())
            .unwrap_or(Cow::Borrowed(key.as_ref()));
        if !seen.insert(root) {
            continue;
        }
        let q = [
            (&mut t.capacity, "max_quantity", seat.max_quantity.as_ref()),
            (
                &mut t.available,
                "free_quantity",
                seat.free_quantity.as_ref(),
            ),
            (&mut t.sold, "payed_quantity", seat.payed_quantity.as_ref()),
        ];
        for (total, what, v) in q {
            add_count(req, total, what, key, v)?;
        }
    }
    Ok(())
}

/// (event id, show id) from a request id `seats:{event_id}:{show_id}`.
pub fn ids(request_id: &str) -> Option<(&str, &str)> {
    let (event, show) = request_id.strip_prefix(SEATS_PREFIX)?.split_once(':')?;
    (!event.is_empty() && !show.is_empty()).then_some((event, show))
}

fn clamp(v: u64) -> u32 {
    v.min(u32::MAX as u64) as u32
}

pub fn handle(ctx: &RunContext, req: &HttpRequest, body: &[u8]) -> Result<Page, PluginError> {
    let (event_id, show_id) = ids(&req.id)
        .ok_or_else(|| PluginError::Fatal(format!("malformed seats request id `{}`", req.id)))?;
    let page: SeatsPage = serde_json::from_slice(body)
        .map_err(|e| bad(req, format!("unexpected seats body: {e}")))?;
    let mut t = Totals::default();
    add(req, &page.data, &mut HashSet::new(), &mut t)?;
    let mut w = RecordWriter::with_capacity(1);
    w.inventory(Inventory {
        event_id: event_id.into(),
        show_id: show_id.into(),
        captured_at_ms: ctx.now_ms,
        capacity: t.capacity.map(clamp),
        available: t.available.map(clamp),
        sold: t.sold.map(clamp),
    });
    Ok(Page {
        records: w.finish().into(),
        next: vec![],
        cursor: None,
    })
}
