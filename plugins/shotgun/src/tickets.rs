//! A `/tickets` page → canonical tickets (and the events they name), the next request and the
//! cursor to commit.
//!
//! A vendor clock ahead of the host's (forward skew) must not make the cursor skip: the
//! committed `after` is held at most at the run's `now` minus [`SKEW_OVERLAP_MS`] (as
//! `<that time>_0`, so the next run re-reads from there), and a ticket's version
//! (`updated_at`) is held at the run's `now` — else the ledger, where the newest version wins,
//! would keep a skewed row over a later real change. Paging inside a run still follows the
//! vendor's own `next` bound.

use std::borrow::Cow;
use std::collections::BTreeMap;

use boxoffice_plugin_sdk::{
    money, time, url, Event, HostApi, HttpRequest, Level, Page, PersonalId, PluginError,
    RecordWriter, RunContext, Ticket, TicketStatus,
};

use crate::model::{TicketsPage, WireTicket};
use crate::plan::{self, Cursor};

/// How far before the run's `now` the committed cursor's time is held at most.
pub const SKEW_OVERLAP_MS: i64 = 5 * 60_000;

/// The `after` bound to commit after `last` (`ticket_updated_at` text, ms, id): the ticket's
/// own unless its time is later than `now_ms - SKEW_OVERLAP_MS`, then that time with id 0.
pub fn after_bound(updated_at: &str, updated_ms: i64, ticket_id: i64, now_ms: i64) -> String {
    let ceiling = now_ms - SKEW_OVERLAP_MS;
    if updated_ms > ceiling {
        format!("{}_0", time::format_utc_ms(ceiling))
    } else {
        format!("{updated_at}_{ticket_id}")
    }
}

fn ms(field: &str, ticket_id: i64, v: &str) -> Result<i64, PluginError> {
    time::parse_ms(v).ok_or_else(|| {
        PluginError::BadResponse(format!("ticket {ticket_id}: `{field}` is not a timestamp"))
    })
}

fn opt_ms(field: &str, ticket_id: i64, v: Option<&str>) -> Result<Option<i64>, PluginError> {
    v.map(|v| ms(field, ticket_id, v)).transpose()
}

/// Shotgun statuses → canonical; `None` for a status this connector does not know.
fn status(s: &str) -> Option<TicketStatus> {
    Some(match s {
        "valid" => TicketStatus::Valid,
        "refunded" => TicketStatus::Refunded,
        "canceled" | "cancelled" => TicketStatus::Canceled,
        "resold" => TicketStatus::Resold,
        "payment_plan_pending" | "pending_approval" | "pending_organizer_approval" | "rejected" => {
            TicketStatus::Pending
        }
        _ => return None,
    })
}

/// Country plus at most a 2-character postal prefix: coarse enough to keep (`France 69`).
fn region<'a>(t: &WireTicket<'a>) -> Option<Cow<'a, str>> {
    let country = t
        .contact_country
        .as_ref()
        .map(|c| match c {
            Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
            Cow::Owned(o) => Cow::Owned(o.trim().to_string()),
        })
        .filter(|c| !c.is_empty());
    let prefix = t
        .contact_postal_code
        .as_deref()
        .map(|p| {
            let p = p.trim();
            &p[..p.char_indices().nth(2).map_or(p.len(), |(i, _)| i)]
        })
        .filter(|p| !p.is_empty());
    match (country, prefix) {
        (Some(c), Some(p)) => Some(format!("{c} {p}").into()),
        (country, _) => country,
    }
}

fn ticket<'a>(
    t: &WireTicket<'a>,
    now_ms: i64,
    unknown: &mut u32,
) -> Result<Ticket<'a>, PluginError> {
    let id = t.ticket_id;
    let st = status(t.ticket_status).unwrap_or_else(|| {
        *unknown += 1;
        TicketStatus::Pending
    });
    // The host turns the identifier into a pseudonym while decoding the page.
    let buyer = match (
        t.user_id.as_ref().and_then(|u| u.usable()),
        t.contact_id.as_ref().and_then(|c| c.usable()),
    ) {
        (Some(u), _) => Some(PersonalId {
            kind: "shotgun-user".into(),
            value: u,
        }),
        (None, Some(c)) => Some(PersonalId {
            kind: "shotgun-contact".into(),
            value: c,
        }),
        (None, None) => None,
    };
    let ended = matches!(st, TicketStatus::Refunded | TicketStatus::Canceled);
    Ok(Ticket {
        ticket_id: id.to_string().into(),
        order_id: t.order_id.to_string().into(),
        event_id: t.event_id.to_string().into(),
        show_id: None,
        category: t.deal_title.clone(),
        channel: t.deal_channel.clone(),
        status: st,
        price_minor: t.deal_price,
        service_fee_minor: t.deal_service_fee,
        buyer_fee_minor: t.deal_user_service_fee,
        producer_cost_minor: t.deal_producer_cost,
        // The API carries no refund amount: a refunded ticket is taken as fully refunded.
        refunded_minor: if st == TicketStatus::Refunded {
            t.deal_price
        } else {
            0
        },
        currency: money::currency(t.currency),
        ordered_at_ms: ms("ordered_at", id, t.ordered_at)?,
        // Never ahead of the run's clock (see the module doc).
        updated_at_ms: ms("ticket_updated_at", id, t.ticket_updated_at)?.min(now_ms),
        scanned_at_ms: opt_ms("ticket_scanned_at", id, t.ticket_scanned_at)?,
        refunded_at_ms: if ended {
            opt_ms("ticket_canceled_at", id, t.ticket_canceled_at)?
        } else {
            None
        },
        buyer,
        region: region(t),
        utm_source: t.utm_source.clone(),
        utm_medium: t.utm_medium.clone(),
        utm_campaign: None,
        payment_method: t.payment_method.clone(),
        visibility: t.deal_visibilities.clone().unwrap_or_default(),
    })
}

pub fn handle(
    host: &mut impl HostApi,
    ctx: &RunContext,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Page, PluginError> {
    let s = plan::settings(ctx)?;
    // One UTF-8 check of the whole body; parsing from `str` then skips a check per string.
    let body = std::str::from_utf8(body)
        .map_err(|e| PluginError::BadResponse(format!("GET /tickets: body is not UTF-8: {e}")))?;
    let page: TicketsPage = serde_json::from_str(body)
        .map_err(|e| PluginError::BadResponse(format!("GET /tickets: unexpected body: {e}")))?;
    let until = ctx.until_ms;
    let mut records = RecordWriter::with_capacity(page.data.len() + 4);
    let mut events: BTreeMap<i64, Event> = BTreeMap::new();
    let mut unknown = 0u32;
    let mut passed_until = false;
    for t in &page.data {
        let tk = ticket(t, ctx.now_ms, &mut unknown)?;
        if until.is_some_and(|u| tk.updated_at_ms >= u) {
            passed_until = true;
            continue;
        }
        let updated = tk.updated_at_ms;
        let e = events.entry(t.event_id).or_insert_with(|| Event {
            event_id: tk.event_id.clone(),
            name: t.event_name.clone(),
            city: None,
            venue: None,
            starts_at_ms: t.event_start_time.and_then(time::parse_ms),
            ends_at_ms: t.event_end_time.and_then(time::parse_ms),
            canceled_at_ms: t.event_canceled_at.and_then(time::parse_ms),
            updated_at_ms: updated,
        });
        e.updated_at_ms = e.updated_at_ms.max(updated);
        records.ticket(tk);
    }
    if unknown > 0 {
        host.log(
            Level::Warn,
            &format!("{unknown} tickets with an unknown ticket_status, counted as pending"),
        );
    }
    if page.data.is_empty() && s.event_id.is_some() && url_param(req, "after").is_none() {
        host.log(Level::Warn, "the configured event returned no tickets: wrong organizer, co-host flag off, or no sales yet");
    }
    for e in events.into_values() {
        records.event(e);
    }

    let mut cursor = Cursor::parse(ctx.cursor.as_deref());
    let new_cursor = match page.data.last().filter(|_| !passed_until) {
        Some(last) => {
            let updated = ms("ticket_updated_at", last.ticket_id, last.ticket_updated_at)?;
            cursor.after = Some(after_bound(
                last.ticket_updated_at,
                updated,
                last.ticket_id,
                ctx.now_ms,
            ));
            Some(cursor.encode())
        }
        None => None,
    };
    let mut next = Vec::new();
    if let Some(link) = page.pagination.as_ref().and_then(|p| p.next.as_deref()) {
        if !page.data.is_empty() && !passed_until {
            let after = url::query_param(link, "after")
                .ok_or_else(|| PluginError::BadResponse("pagination.next has no `after`".into()))?;
            if url_param(req, "after").as_deref() == Some(after.as_str()) {
                return Err(PluginError::BadResponse(format!(
                    "pagination.next repeats the current page (after={after})"
                )));
            }
            // Rebuilt from our own parameters: never follow a vendor link to another host.
            next.push(plan::tickets_request(&s, Some(&after)));
        }
    }
    Ok(Page {
        records: records.finish().into(),
        next,
        cursor: new_cursor,
    })
}

pub fn url_param(req: &HttpRequest, name: &str) -> Option<String> {
    req.query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}
