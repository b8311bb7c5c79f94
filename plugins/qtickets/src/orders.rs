//! An `/orders` page → canonical tickets, the next page and the cursor to commit.
//!
//! Decisions (see `qtickets.md` §5–6):
//! - **One ticket per admission.** A basket of `quantity` q ≥ 1 gives q tickets: the ticket id is
//!   the basket id when q = 1, else `{basket_id}-{k}` for k in 1..=q. Price, service fee and
//!   refunded amount are split evenly, the remainder on the first, so sums equal the basket's.
//!   A missing or zero quantity counts as 1 (a basket is at least one admission).
//! - **Status**: order or basket `deleted_at` set → canceled (restorable, so re-read); else
//!   basket `refunded_at` set → refunded (tested on the timestamp, never on the amount); else
//!   order `payed` → valid (absent or null: paid when `payed_at` is set); else pending
//!   (unpaid, reserved).
//! - **Money** in minor units from JSON numbers (integers or decimals such as `1222.03`), in the
//!   order's own `currency_id` (never assumed to be RUB; a missing one is an error).
//!   `refunded_minor` = `refunded_amount` (0 when null, the price when a refunded basket has
//!   no amount). No buyer fee or producer cost exists in this API.
//! - **Times**: `ordered_at` = the order's `payed_at`, else its `created_at`; `updated_at` = the
//!   later of the order's and the basket's `updated_at` (a scan bumps only the basket);
//!   `scanned_at` = `checked_at`; `refunded_at` = the basket's. All carry `+03:00` offsets.
//!   A vendor clock ahead of the host's (forward skew) is held at the run's `now`: a version
//!   (`updated_at`) past it is stored as `now` (else the ledger, where the newest version wins,
//!   would keep the skewed row over a later real change), and a `created_at` past it is marked
//!   on `now`'s day (else the day it claims gets a first id too high for the lookback).
//! - **Category** = the zone: `seat_id` before its first `-` (`PARTERRE-3;7` → `PARTERRE`),
//!   the whole `seat_id` without a `-`, `general` when empty. **Channel**: `online` without a
//!   `backend_user_id`, else `box_office`.
//! - **Buyer**: a `PersonalId` of `client_id` (kind `client`), else of the trimmed,
//!   lower-cased client e-mail (kind `email`), else none; the host pseudonymizes it while
//!   decoding the page, so no raw identifier is stored. No region (orders carry no place).
//! - **No copies**: the tickets' texts borrow from the parsed body (and numeric ids from
//!   buffers reused across the page) and are written straight into the page's record blob.
//! - **Trust but verify**: every order must have an id above the page's `id >` bound (a proxy
//!   that drops GET bodies would return the unfiltered list) and ids must ascend; the page
//!   number answered must be the one asked (else paging would loop).
//! - **Backfill end**: orders created at or after `until_ms` are skipped and paging stops.

use std::borrow::Cow;
use std::fmt::Write as _;

use boxoffice_plugin_sdk::{
    money, HostApi, HttpRequest, Level, Page, PersonalId, PluginError, RecordWriter, RunContext,
    Ticket, TicketStatus,
};

use crate::model::{OrdersPage, WireBasket, WireOrder};
use crate::plan::{self, Cursor};
use crate::{bad, check_paging, opt_ms, present, req_ms};

/// More admissions than this in one basket is taken as a malformed answer.
const MAX_QUANTITY: u64 = 10_000;

/// The zone part of a basket's `seat_id`.
pub fn category(seat_id: Option<&str>) -> &str {
    match seat_id.map(str::trim).filter(|s| !s.is_empty()) {
        None => "general",
        Some(s) => s.split('-').next().unwrap_or(s),
    }
}

/// `total` split into `n` parts, the remainder on the first.
pub fn split(total: i64, n: u64) -> impl Iterator<Item = i64> {
    let n = n.max(1) as i64;
    let (each, rem) = (total / n, total % n);
    (0..n).map(move |k| if k == 0 { each + rem } else { each })
}

/// `s.to_lowercase()`, borrowed when that would change nothing (every character is its own
/// lower case; the one context-dependent mapping, final sigma, starts from `Σ`, which is not).
pub fn lowercase(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| c.to_lowercase().eq([c])) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

/// An amount in major units of the order's currency, exactly (the SDK's money rules: no
/// rounding, no floats for what the vendor sends as integers).
fn minor(
    req: &HttpRequest,
    (what, currency): (&str, &str),
    n: &serde_json::Number,
    order: u64,
    basket: u64,
) -> Result<i64, PluginError> {
    money::json_to_minor(n, currency).map_err(|e| {
        bad(
            req,
            format!("order {order}, basket {basket}: `{what}`: {e}"),
        )
    })
}

/// Facts shared by every ticket of one order, borrowed from the parsed page.
struct OrderFacts<'a> {
    event_id: u64,
    currency: Cow<'a, str>,
    channel: &'static str,
    payed: bool,
    deleted: bool,
    ordered_at_ms: i64,
    updated_at_ms: i64,
    /// The run's `now`: no version is later (see the module doc).
    now_ms: i64,
    buyer: Option<PersonalId<'a>>,
    utm: [Option<&'a str>; 3],
    payment_method: Option<Cow<'a, str>>,
}

fn order_facts<'a>(
    req: &HttpRequest,
    o: &'a WireOrder,
    created_ms: i64,
) -> Result<OrderFacts<'a>, PluginError> {
    let id = o.id;
    let event_id = o
        .event_id
        .ok_or_else(|| bad(req, format!("order {id}: no `event_id`")))?;
    let currency = o
        .currency_id
        .as_deref()
        .map(money::currency)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| bad(req, format!("order {id}: no `currency_id`")))?;
    let updated_at_ms = req_ms(req, ("order", id), "updated_at", o.updated_at.as_deref())?;
    let payed_at = opt_ms(req, ("order", id), "payed_at", o.payed_at.as_deref())?;
    // The vendor's identifier, for the host to pseudonymize: the client id, else the
    // e-mail (trimmed, lower case), else none.
    let buyer = match o.client_id.as_ref().and_then(|c| c.text()) {
        Some(client) => Some(PersonalId {
            kind: "client".into(),
            value: client,
        }),
        None => o
            .client
            .as_ref()
            .and_then(|c| c.get())
            .and_then(|c| c.email.as_deref())
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| PersonalId {
                kind: "email".into(),
                value: lowercase(e),
            }),
    };
    let utm = o.utm.as_ref().and_then(|u| u.get());
    let text = |v: Option<&'a Cow<str>>| v.map(|s| s.trim()).filter(|s| !s.is_empty());
    Ok(OrderFacts {
        event_id,
        currency,
        channel: if o.backend_user_id.is_some() {
            "box_office"
        } else {
            "online"
        },
        // `payed` absent or null: the payment time is the evidence.
        payed: match &o.payed {
            Some(p) => p.is_set(),
            None => payed_at.is_some(),
        },
        deleted: present(o.deleted_at.as_deref()).is_some(),
        ordered_at_ms: payed_at.unwrap_or(created_ms),
        updated_at_ms,
        now_ms: i64::MAX,
        buyer,
        utm: [
            text(utm.and_then(|u| u.utm_source.as_ref())),
            text(utm.and_then(|u| u.utm_medium.as_ref())),
            text(utm.and_then(|u| u.utm_campaign.as_ref())),
        ],
        payment_method: o.payment_type_id.as_ref().and_then(|p| p.text()),
    })
}

/// Where a page's tickets go. The decimal ids are formatted into buffers reused across the
/// page: a number cannot be borrowed from the body, and this keeps them from allocating per
/// ticket.
#[derive(Default)]
struct Out {
    records: RecordWriter,
    order_id: String,
    event_id: String,
    show_id: String,
    ticket_id: String,
    /// Baskets with `quantity` 0 (counted as one admission), for one warning per page.
    zero_quantity: u32,
}

/// Writes an id (a number, or `{basket}-{k}`) into `buf`, replacing what was there.
fn decimal(buf: &mut String, id: impl std::fmt::Display) {
    buf.clear();
    write!(buf, "{id}").expect("writing to a String cannot fail");
}

/// The tickets of one basket (the order's ids are already in `out`).
fn basket_tickets(
    req: &HttpRequest,
    f: &OrderFacts,
    order: u64,
    b: &WireBasket,
    out: &mut Out,
) -> Result<(), PluginError> {
    let id = b.id;
    let where_ = |what: &str| format!("order {order}, basket {id}: {what}");
    let show_id = b.show_id.ok_or_else(|| bad(req, where_("no `show_id`")))?;
    let price = b
        .price
        .as_ref()
        .ok_or_else(|| bad(req, where_("no `price`")))?;
    let price = minor(req, ("price", &f.currency), price, order, id)?;
    let fee = match &b.service_fee_amount {
        Some(n) => minor(req, ("service_fee_amount", &f.currency), n, order, id)?,
        None => 0,
    };
    let refunded_at_ms = opt_ms(req, ("basket", id), "refunded_at", b.refunded_at.as_deref())?;
    let status = if f.deleted || present(b.deleted_at.as_deref()).is_some() {
        TicketStatus::Canceled
    } else if refunded_at_ms.is_some() {
        TicketStatus::Refunded
    } else if f.payed {
        TicketStatus::Valid
    } else {
        TicketStatus::Pending
    };
    let refunded = match &b.refunded_amount {
        Some(n) => minor(req, ("refunded_amount", &f.currency), n, order, id)?,
        None if status == TicketStatus::Refunded => price,
        None => 0,
    };
    let basket_updated = opt_ms(req, ("basket", id), "updated_at", b.updated_at.as_deref())?;
    let updated_at_ms = basket_updated
        .map_or(f.updated_at_ms, |u| u.max(f.updated_at_ms))
        .min(f.now_ms);
    let scanned_at_ms = opt_ms(req, ("basket", id), "checked_at", b.checked_at.as_deref())?;
    let q = match b.quantity {
        None => 1,
        Some(0) => {
            out.zero_quantity += 1;
            1
        }
        Some(q) if q > MAX_QUANTITY => {
            return Err(bad(req, where_(&format!("`quantity` {q} is implausible"))))
        }
        Some(q) => q,
    };
    let category = category(b.seat_id.as_deref());
    decimal(&mut out.show_id, show_id);
    let parts = split(price, q)
        .zip(split(fee, q))
        .zip(split(refunded, q))
        .enumerate();
    for (k, ((price_minor, service_fee_minor), refunded_minor)) in parts {
        if q == 1 {
            decimal(&mut out.ticket_id, id);
        } else {
            decimal(&mut out.ticket_id, format_args!("{id}-{}", k + 1));
        }
        out.records.ticket(Ticket {
            ticket_id: out.ticket_id.as_str().into(),
            order_id: out.order_id.as_str().into(),
            event_id: out.event_id.as_str().into(),
            show_id: Some(out.show_id.as_str().into()),
            category: category.into(),
            channel: f.channel.into(),
            status,
            price_minor,
            service_fee_minor,
            buyer_fee_minor: 0,
            producer_cost_minor: 0,
            refunded_minor,
            // Borrowed from the order: its tickets copy nothing.
            currency: Cow::Borrowed(&f.currency),
            ordered_at_ms: f.ordered_at_ms,
            updated_at_ms,
            scanned_at_ms,
            refunded_at_ms,
            buyer: f.buyer.as_ref().map(|b| PersonalId {
                kind: Cow::Borrowed(&b.kind),
                value: Cow::Borrowed(&b.value),
            }),
            region: None,
            utm_source: f.utm[0].map(Into::into),
            utm_medium: f.utm[1].map(Into::into),
            utm_campaign: f.utm[2].map(Into::into),
            payment_method: f.payment_method.as_deref().map(Cow::Borrowed),
            visibility: vec![],
        });
    }
    Ok(())
}

pub fn handle(
    host: &mut impl HostApi,
    ctx: &RunContext,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Page, PluginError> {
    let s = plan::settings(ctx)?;
    let ask = plan::page_ask(req).map_err(PluginError::Fatal)?;
    let page: OrdersPage = serde_json::from_slice(body)
        .map_err(|e| bad(req, format!("unexpected orders body: {e}")))?;
    let paging = page
        .paging
        .as_ref()
        .ok_or_else(|| bad(req, "the orders page has no `paging`".into()))?;
    check_paging(req, paging, ask.page, page.data.is_empty())?;

    let mut prev: Option<u64> = None;
    for o in &page.data {
        if o.id <= ask.start {
            return Err(bad(
                req,
                format!(
                    "the API ignored the id filter: order {} is not above {} (was the GET body dropped?)",
                    o.id, ask.start
                ),
            ));
        }
        if let Some(p) = prev.filter(|p| o.id <= *p) {
            return Err(bad(
                req,
                format!("orders are not ascending by id: {} after {p}", o.id),
            ));
        }
        prev = Some(o.id);
    }

    let mut cursor = Cursor::parse(ctx.cursor.as_deref()).unwrap_or_default();
    let mut out = Out {
        records: RecordWriter::with_capacity(page.data.len() * 2),
        ..Out::default()
    };
    let mut passed_until = false;
    for o in &page.data {
        let created_ms = req_ms(req, ("order", o.id), "created_at", o.created_at.as_deref())?;
        cursor.mark(created_ms.min(ctx.now_ms), o.id);
        if ctx.until_ms.is_some_and(|u| created_ms >= u) {
            passed_until = true;
            continue;
        }
        let mut facts = order_facts(req, o, created_ms)?;
        facts.now_ms = ctx.now_ms;
        facts.updated_at_ms = facts.updated_at_ms.min(ctx.now_ms);
        let baskets = o
            .baskets
            .as_ref()
            .ok_or_else(|| bad(req, format!("order {}: no `baskets`", o.id)))?;
        decimal(&mut out.order_id, o.id);
        decimal(&mut out.event_id, facts.event_id);
        for b in baskets {
            basket_tickets(req, &facts, o.id, b, &mut out)?;
        }
        cursor.last_id = cursor.last_id.max(o.id);
    }
    if out.zero_quantity > 0 {
        host.log(
            Level::Warn,
            &format!(
                "{} baskets with quantity 0, counted as one admission each",
                out.zero_quantity
            ),
        );
    }
    cursor.prune(s.marks_cutoff(ctx.now_ms));

    let more = !page.data.is_empty() && paging.current_page * paging.per_page < paging.total;
    let next = if more && !passed_until {
        vec![plan::orders_request(&s, ask.start, ask.page + 1)]
    } else {
        vec![]
    };
    // A stream read to its natural end has seen every order above its start.
    if next.is_empty() && !passed_until {
        plan::stream_completed(&s, ctx, &mut cursor, ask.start);
    }
    Ok(Page {
        records: out.records.finish().into(),
        next,
        cursor: Some(cursor.encode()),
    })
}
