//! A boxoffice connector (made by `boxoffice plugins new`): reads `GET {base_url}/orders`
//! page by page and emits one canonical ticket per order line.
//!
//! The vendor API here is an example to replace with yours: a JSON page
//! `{"orders": [...], "next_page": 2}` (`null` on the last page), each order with an id, an
//! event, a decimal `price` in its `currency`, an e-mail (the buyer, pseudonymized by the
//! host; never stored as given) and an ISO 8601 `updated_at`. The cursor is the newest
//! `updated_at` seen; the next run asks for `updated_since` it.
//!
//! The code is plain Rust over the SDK's `Connector` trait, so `cargo test` runs it natively
//! (see `tests.rs`); `export_connector!` makes the wasm component of it.

use boxoffice_plugin_sdk::{
    get, money, status_error, time, wire, Auth, Connector, HostApi, HttpRequest, HttpResponse,
    Manifest, Page, PersonalId, PluginError, RecordWriter, RunContext, Setting, Ticket,
    TicketStatus,
};
use std::borrow::Cow;

use serde::Deserialize;

/// The connector's id: what accounts name in their configuration.
const ID: &str = "template";
/// The request id of an orders page.
const ORDERS: &str = "orders";

pub struct TemplateConnector;

impl Connector for TemplateConnector {
    fn manifest() -> Manifest {
        Manifest::builder(ID, "Example vendor")
            .version(env!("CARGO_PKG_VERSION"))
            .allowed_host("api.example.invalid")
            .secret("token")
            .setting(Setting::optional(
                "base_url",
                "the vendor API's base URL",
                "https://api.example.invalid",
            ))
            .setting(Setting::optional_without_default(
                "event",
                "read one event only (default: every event)",
            ))
            .interval_secs(300)
            .max_requests_per_minute(60)
            .build()
    }

    fn begin(_host: &mut impl HostApi, ctx: &RunContext) -> Result<Vec<HttpRequest>, PluginError> {
        Ok(vec![orders_request(ctx, 1)?])
    }

    fn handle(
        host: &mut impl HostApi,
        ctx: &RunContext,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Page, PluginError> {
        if !(200..300).contains(&response.status) {
            return Err(status_error(response));
        }
        match request.id.as_str() {
            ORDERS => orders_page(host, ctx, request, response),
            other => Err(PluginError::Fatal(format!("unknown request id `{other}`"))),
        }
    }
}

boxoffice_plugin_sdk::export_connector!(TemplateConnector);

/// One page of orders, from the cursor (`updated_since`) on.
fn orders_request(ctx: &RunContext, page: u32) -> Result<HttpRequest, PluginError> {
    let m = TemplateConnector::manifest();
    let s = TemplateConnector::settings(ctx, &m);
    let base = s.require("base_url")?.trim_end_matches('/');
    let mut query = vec![("page".to_string(), page.to_string())];
    if let Some(event) = s.get("event") {
        query.push(("event".into(), event.into()));
    }
    if let Some(since) = &ctx.cursor {
        query.push(("updated_since".into(), since.clone()));
    }
    let mut r = get(ORDERS, &format!("{base}/orders"), query);
    r.auth = Auth::BearerHeader("token".into());
    Ok(r)
}

#[derive(Deserialize)]
struct WirePage<'a> {
    #[serde(borrow, deserialize_with = "wire::indexed")]
    orders: Vec<WireOrder<'a>>,
    next_page: Option<u32>,
}

/// One order as the vendor sends it. Text is `Cow`, not `&str`: a JSON string with an escape
/// (`\u00e9`, `\/`, as PHP's `json_encode` writes by default) cannot be borrowed from the body,
/// and `&str` would refuse the whole page; `Cow` borrows when it can and copies when it must.
#[derive(Deserialize)]
struct WireOrder<'a> {
    id: u64,
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow)]
    price: Cow<'a, str>,
    #[serde(borrow)]
    currency: Cow<'a, str>,
    #[serde(borrow)]
    email: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow)]
    updated_at: Cow<'a, str>,
}

fn orders_page(
    host: &mut impl HostApi,
    ctx: &RunContext,
    request: &HttpRequest,
    response: &HttpResponse,
) -> Result<Page, PluginError> {
    let page: WirePage = serde_json::from_slice(&response.body).map_err(|e| {
        PluginError::BadResponse(format!("{} {}: {e}", request.method, request.url))
    })?;
    let bad = |id: u64, msg: String| PluginError::BadResponse(format!("order {id}: {msg}"));
    let mut records = RecordWriter::with_capacity(page.orders.len());
    let mut newest = ctx.cursor.clone();
    for o in &page.orders {
        let currency = money::currency(&o.currency);
        let price_minor =
            money::to_minor(&o.price, &currency).map_err(|e| bad(o.id, format!("`price`: {e}")))?;
        let updated_at_ms = time::parse_ms(&o.updated_at)
            .ok_or_else(|| bad(o.id, format!("`updated_at` `{}` is not a time", o.updated_at)))?;
        let status = match o.status.as_ref() {
            "paid" => TicketStatus::Valid,
            "pending" => TicketStatus::Pending,
            "refunded" => TicketStatus::Refunded,
            "canceled" => TicketStatus::Canceled,
            other => return Err(bad(o.id, format!("unknown `status` `{other}`"))),
        };
        let id = o.id.to_string();
        records.ticket(Ticket {
            ticket_id: id.clone().into(),
            order_id: id.into(),
            event_id: o.event.as_ref().into(),
            show_id: None,
            category: "general".into(),
            channel: "online".into(),
            status,
            price_minor,
            service_fee_minor: 0,
            buyer_fee_minor: 0,
            producer_cost_minor: 0,
            refunded_minor: if status == TicketStatus::Refunded {
                price_minor
            } else {
                0
            },
            currency,
            ordered_at_ms: updated_at_ms,
            updated_at_ms,
            scanned_at_ms: None,
            refunded_at_ms: None,
            // The host turns this into a pseudonym before anything is stored.
            buyer: o.email.as_ref().map(|e| PersonalId {
                kind: "email".into(),
                value: e.trim().to_lowercase().into(),
            }),
            region: None,
            utm_source: None,
            utm_medium: None,
            utm_campaign: None,
            payment_method: None,
            visibility: vec![],
        });
        // ISO 8601 UTC stamps of one format order as text.
        if newest.as_deref().is_none_or(|n| o.updated_at.as_ref() > n) {
            newest = Some(o.updated_at.to_string());
        }
    }
    host.log(
        boxoffice_plugin_sdk::Level::Debug,
        &format!("{} orders", page.orders.len()),
    );
    let next = match page.next_page {
        Some(p) => vec![orders_request(ctx, p)?],
        None => vec![],
    };
    Ok(Page {
        records: records.finish().into(),
        // Commit the cursor only once the last page is stored.
        cursor: if next.is_empty() { newest } else { None },
        next,
    })
}

#[cfg(test)]
mod tests;
