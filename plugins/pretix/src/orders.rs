//! A page of one event's orders → canonical tickets (one per order position), the next request
//! and the cursor. The mapping (also in docs/pretix.md):
//! - test-mode orders are not sales: skipped;
//! - money returned = the order's refunds in state `done`, spread over its positions, canceled
//!   ones first, then by position number, each taking at most its price;
//! - pending order → pending; expired → canceled; canceled order or canceled position →
//!   refunded if it took a share of the money returned, else canceled; a live position of a
//!   paid order → refunded if it took a share (a partial refund), else valid;
//! - the order's fees ride on its first position (`buyer_fee_minor`), so sums stay exact;
//! - the version (`updated_at`) is the newest of `last_modified` and the refunds' times: pretix
//!   does not move `last_modified` for a refund, and the ledger keeps only newer versions;
//! - scanned at the first `entry` check-in; the buyer is the order's e-mail (lower case), which
//!   the host pseudonymizes. Nothing else about the person is read.

use std::borrow::Cow;

use boxoffice_plugin_sdk::{
    time, HostApi, HttpRequest, HttpResponse, Level, Page, PersonalId, PluginError, RecordWriter,
    RunContext, Ticket, TicketStatus,
};

use crate::cursor::{Cursor, EventState};
use crate::model::{Listing, WireOrder};
use crate::money::{decimal_to_minor, exponent};
use crate::plan;
use crate::stamp;

fn bad(slug: &str, code: &str, what: impl std::fmt::Display) -> PluginError {
    PluginError::BadResponse(format!("event `{slug}`, order {code}: {what}"))
}

fn ms(slug: &str, code: &str, field: &str, v: &str) -> Result<i64, PluginError> {
    time::parse_ms(v).ok_or_else(|| bad(slug, code, format!("`{field}` is not a timestamp")))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum OrderStatus {
    Pending,
    Paid,
    Expired,
    Canceled,
}

fn order_status(s: &str) -> Option<OrderStatus> {
    Some(match s {
        "n" => OrderStatus::Pending,
        "p" => OrderStatus::Paid,
        "e" => OrderStatus::Expired,
        "c" => OrderStatus::Canceled,
        _ => return None,
    })
}

/// Per-page facts the mapping needs about the event.
struct EventFacts<'s> {
    slug: &'s str,
    currency: &'s str,
    exponent: u32,
    state: &'s EventState,
}

/// The tickets of one order, written to `records`; `Ok(false)` for a test-mode order.
fn order_tickets<'a>(
    ev: &EventFacts,
    o: &'a WireOrder<'a>,
    records: &mut RecordWriter,
    unknown_status: &mut u32,
) -> Result<bool, PluginError> {
    if o.testmode {
        return Ok(false);
    }
    let (slug, code) = (ev.slug, o.code.as_ref());
    let money = |field: &str, v: &str| {
        decimal_to_minor(v, ev.exponent).ok_or_else(|| {
            bad(
                slug,
                code,
                format!("`{field}` = `{v}` is not an amount in {}", ev.currency),
            )
        })
    };
    let status = order_status(&o.status).unwrap_or_else(|| {
        *unknown_status += 1;
        OrderStatus::Pending
    });
    let mut returned = 0i64;
    let mut version = ms(slug, code, "last_modified", &o.last_modified)?;
    let mut refunded_at = None;
    for r in &o.refunds {
        for t in [r.created.as_deref(), r.execution_date.as_deref()]
            .into_iter()
            .flatten()
        {
            version = version.max(ms(slug, code, "refunds.created", t)?);
        }
        if r.state == "done" {
            returned += money("refunds.amount", &r.amount)?;
            let at = r.execution_date.as_deref().or(r.created.as_deref());
            if let Some(at) = at {
                let at = ms(slug, code, "refunds.execution_date", at)?;
                refunded_at = Some(refunded_at.map_or(at, |p: i64| p.max(at)));
            }
        }
    }
    let fees = o
        .fees
        .iter()
        .map(|f| money("fees.value", &f.value))
        .sum::<Result<i64, _>>()?;
    // Refund shares: canceled positions first, then by position number.
    let mut order: Vec<usize> = (0..o.positions.len()).collect();
    order.sort_by_key(|&i| (!o.positions[i].canceled, o.positions[i].positionid));
    let mut shares = vec![0i64; o.positions.len()];
    let mut prices = vec![0i64; o.positions.len()];
    for (i, p) in o.positions.iter().enumerate() {
        prices[i] = money("positions.price", &p.price)?;
    }
    if matches!(status, OrderStatus::Paid | OrderStatus::Canceled) {
        for &i in &order {
            let take = returned.min(prices[i]).max(0);
            shares[i] = take;
            returned -= take;
        }
    }
    let first = o.positions.iter().map(|p| p.positionid).min();
    let ordered_at = ms(slug, code, "datetime", &o.datetime)?;
    let canceled_at = o
        .cancellation_date
        .as_deref()
        .map(|v| ms(slug, code, "cancellation_date", v))
        .transpose()?;
    let buyer = o
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| PersonalId {
            kind: "email".into(),
            value: e.to_lowercase().into(),
        });
    let full_code = format!("{}-{}", slug.to_uppercase(), code);
    for (i, p) in o.positions.iter().enumerate() {
        let share = shares[i];
        let st = match status {
            OrderStatus::Pending => TicketStatus::Pending,
            OrderStatus::Expired => TicketStatus::Canceled,
            OrderStatus::Canceled => {
                if share > 0 {
                    TicketStatus::Refunded
                } else {
                    TicketStatus::Canceled
                }
            }
            OrderStatus::Paid if share > 0 => TicketStatus::Refunded,
            OrderStatus::Paid if p.canceled => TicketStatus::Canceled,
            OrderStatus::Paid => TicketStatus::Valid,
        };
        let mut scanned = None;
        for c in &p.checkins {
            if c.r#type.as_deref().is_none_or(|t| t == "entry") {
                let at = ms(slug, code, "checkins.datetime", &c.datetime)?;
                scanned = Some(scanned.map_or(at, |s: i64| s.min(at)));
            }
        }
        let item = ev.state.items.get(&p.item).map(String::as_str);
        let category = match (item, p.variation.and_then(|v| ev.state.vars.get(&v))) {
            (Some(i), Some(v)) => format!("{i} – {v}"),
            (Some(i), None) => i.to_string(),
            (None, _) => format!("product {}", p.item),
        };
        records.ticket(Ticket {
            ticket_id: format!("{full_code}-{}", p.positionid).into(),
            order_id: Cow::Owned(full_code.clone()),
            event_id: slug.to_string().into(),
            show_id: p.subevent.map(|s| s.to_string().into()),
            category: category.into(),
            channel: o.sales_channel.clone().unwrap_or(Cow::Borrowed("web")),
            status: st,
            price_minor: prices[i],
            service_fee_minor: 0,
            buyer_fee_minor: if Some(p.positionid) == first { fees } else { 0 },
            producer_cost_minor: 0,
            refunded_minor: if st == TicketStatus::Refunded {
                share
            } else {
                0
            },
            currency: ev.currency.to_string().into(),
            ordered_at_ms: ordered_at,
            updated_at_ms: version,
            scanned_at_ms: scanned,
            refunded_at_ms: match st {
                TicketStatus::Refunded => refunded_at,
                TicketStatus::Canceled => canceled_at,
                _ => None,
            },
            buyer: buyer.clone(),
            region: None,
            utm_source: None,
            utm_medium: None,
            utm_campaign: None,
            payment_method: o.payment_provider.clone(),
            visibility: vec![],
        });
    }
    Ok(true)
}

/// Handles a page of any orders request (`full`, `since`, `window`) for event `slug`.
pub fn handle(
    host: &mut impl HostApi,
    ctx: &RunContext,
    req: &HttpRequest,
    kind: &str,
    slug: &str,
    resp: &HttpResponse,
) -> Result<Page, PluginError> {
    let s = plan::settings(ctx).map_err(PluginError::Fatal)?;
    let mut cursor = Cursor::parse(ctx.cursor.as_deref());
    let Some(state) = cursor.events.get(slug).cloned() else {
        return Err(PluginError::Fatal(format!(
            "orders of event `{slug}` arrived before the event"
        )));
    };
    // A page past the end answers 404 (orders went away while paging): the stream is done.
    let past_end = resp.status == 404 && plan::page_of(req) > 1;
    if !past_end && !(200..300).contains(&resp.status) {
        return Err(boxoffice_plugin_sdk::status_error(resp));
    }
    let page: Listing<WireOrder> = if past_end {
        Listing {
            next: None,
            results: vec![],
        }
    } else {
        serde_json::from_slice(&resp.body).map_err(|e| {
            PluginError::BadResponse(format!("event `{slug}`: orders page: unexpected body: {e}"))
        })?
    };
    let facts = EventFacts {
        slug,
        currency: &state.cur,
        exponent: exponent(&state.cur),
        state: &state,
    };
    let mut records = RecordWriter::with_capacity(page.results.len() * 2);
    let mut unknown = 0u32;
    let mut skipped_test = 0u32;
    let mut stamps = Vec::with_capacity(page.results.len());
    for o in &page.results {
        let lm = stamp::parse_us(&o.last_modified)
            .ok_or_else(|| bad(slug, &o.code, "`last_modified` is not a timestamp"))?;
        stamps.push(lm);
        // Stored already: the inclusive `modified_since` hands the cursor's own orders back.
        let again =
            kind == plan::SINCE && state.lm == Some(lm) && state.seen.iter().any(|c| *c == o.code);
        if again {
            continue;
        }
        if !order_tickets(&facts, o, &mut records, &mut unknown)? {
            skipped_test += 1;
        }
    }
    if unknown > 0 {
        host.log(
            Level::Warn,
            &format!("event `{slug}`: {unknown} orders with an unknown status, counted as pending"),
        );
    }
    if skipped_test > 0 {
        host.log(
            Level::Debug,
            &format!("event `{slug}`: {skipped_test} test-mode orders skipped"),
        );
    }
    let more = page.next.is_some() && !page.results.is_empty();
    let page_no = plan::page_of(req);
    let mut next = Vec::new();
    let st = cursor.events.get_mut(slug).expect("present above");
    match kind {
        plan::FULL => {
            let mut scan = st.scan.unwrap_or(crate::cursor::Scan {
                at: ctx.now_ms,
                from: None,
                page: page_no,
            });
            if scan.from.is_none() {
                scan.from = Some(
                    boxoffice_plugin_sdk::header(resp, "x-page-generated")
                        .and_then(stamp::parse_us)
                        .unwrap_or(ctx.now_ms * 1000),
                );
            }
            if more {
                scan.page = page_no + 1;
                st.scan = Some(scan);
                next.push(plan::full_request(&s, slug, page_no + 1));
            } else {
                // Done: the incremental stream starts where the scan started, and runs at
                // once to pick up what changed while the scan paged.
                let from = scan.from.unwrap_or(ctx.now_ms * 1000);
                st.scan = None;
                st.full_at = Some(scan.at);
                st.lm = Some(from);
                st.seen.clear();
                next.push(plan::since_request(&s, slug, from - plan::OVERLAP_US, 1));
            }
        }
        plan::SINCE => {
            let asked = plan::query(req, "modified_since")
                .and_then(stamp::parse_us)
                .ok_or_else(|| PluginError::Fatal("since request without modified_since".into()))?;
            if let (Some(&last), false) = (stamps.last(), page.results.is_empty()) {
                let at_last: Vec<String> = page
                    .results
                    .iter()
                    .zip(&stamps)
                    .filter(|(_, lm)| **lm == last)
                    .map(|(o, _)| o.code.to_string())
                    .collect();
                if st.lm == Some(last) {
                    for c in at_last {
                        if !st.seen.contains(&c) {
                            st.seen.push(c);
                        }
                    }
                } else {
                    st.lm = Some(last);
                    st.seen = at_last;
                }
                if more {
                    // Keyset paging: start the next page at the last `last_modified` read,
                    // so an order modified while paging moves ahead instead of shifting the
                    // pages (page numbers would skip one and repeat another). A page that is
                    // all one instant can only move on by number.
                    next.push(if last > asked {
                        plan::since_request(&s, slug, last, 1)
                    } else {
                        plan::since_request(&s, slug, asked, page_no + 1)
                    });
                }
            }
        }
        _ => {
            // A backfill window reads by page number and moves no stream position.
            if more {
                next.push(plan::window_request(
                    &s,
                    slug,
                    ctx.since_ms.unwrap_or(0),
                    ctx.until_ms,
                    page_no + 1,
                ));
            }
        }
    }
    Ok(Page {
        records: records.finish().into(),
        next,
        cursor: Some(cursor.encode()),
    })
}
