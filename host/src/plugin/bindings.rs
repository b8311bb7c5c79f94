//! Host-side bindings generated from `wit/connector.wit`, and conversions to and from the
//! host's own model (`crate::model`).

use crate::model;

wasmtime::component::bindgen!({
    path: "../wit",
    world: "connector",
    exports: { default: async },
});

pub use self::boxoffice::connector::types as wit;

/// The WIT package the host implements; components must import exactly this major.minor.
pub const WIT_PACKAGE: &str = "boxoffice:connector";
/// The contract version, read from the WIT file at build time.
pub const WIT_VERSION: &str = "0.1.0";

impl From<wit::TicketStatus> for model::TicketStatus {
    fn from(s: wit::TicketStatus) -> Self {
        match s {
            wit::TicketStatus::Valid => Self::Valid,
            wit::TicketStatus::Refunded => Self::Refunded,
            wit::TicketStatus::Canceled => Self::Canceled,
            wit::TicketStatus::Resold => Self::Resold,
            wit::TicketStatus::Pending => Self::Pending,
        }
    }
}

impl From<wit::Ticket> for model::Ticket {
    fn from(t: wit::Ticket) -> Self {
        Self {
            ticket_id: t.ticket_id,
            order_id: t.order_id,
            event_id: t.event_id,
            show_id: t.show_id,
            category: t.category,
            channel: t.channel,
            status: t.status.into(),
            price_minor: t.price_minor,
            service_fee_minor: t.service_fee_minor,
            buyer_fee_minor: t.buyer_fee_minor,
            producer_cost_minor: t.producer_cost_minor,
            refunded_minor: t.refunded_minor,
            currency: t.currency,
            ordered_at_ms: t.ordered_at_ms,
            updated_at_ms: t.updated_at_ms,
            scanned_at_ms: t.scanned_at_ms,
            refunded_at_ms: t.refunded_at_ms,
            buyer: t.buyer,
            region: t.region,
            utm_source: t.utm_source,
            utm_medium: t.utm_medium,
            utm_campaign: t.utm_campaign,
            payment_method: t.payment_method,
            visibility: t.visibility,
        }
    }
}

impl From<wit::Item> for model::Record {
    fn from(i: wit::Item) -> Self {
        match i {
            wit::Item::Ticket(t) => Self::Ticket(t.into()),
            wit::Item::Event(e) => Self::Event(model::Event {
                event_id: e.event_id,
                name: e.name,
                city: e.city,
                venue: e.venue,
                starts_at_ms: e.starts_at_ms,
                ends_at_ms: e.ends_at_ms,
                canceled_at_ms: e.canceled_at_ms,
                updated_at_ms: e.updated_at_ms,
            }),
            wit::Item::Inventory(v) => Self::Inventory(model::Inventory {
                event_id: v.event_id,
                show_id: v.show_id,
                captured_at_ms: v.captured_at_ms,
                capacity: v.capacity,
                available: v.available,
                sold: v.sold,
            }),
        }
    }
}

impl From<wit::Auth> for model::RequestAuth {
    fn from(a: wit::Auth) -> Self {
        match a {
            wit::Auth::None => Self::None,
            wit::Auth::BearerHeader(secret) => Self::BearerHeader { secret },
            wit::Auth::QueryParam((param, secret)) => Self::QueryParam { param, secret },
        }
    }
}

impl From<model::RequestAuth> for wit::Auth {
    fn from(a: model::RequestAuth) -> Self {
        match a {
            model::RequestAuth::None => Self::None,
            model::RequestAuth::BearerHeader { secret } => Self::BearerHeader(secret),
            model::RequestAuth::QueryParam { param, secret } => Self::QueryParam((param, secret)),
        }
    }
}

impl From<wit::HttpRequest> for model::PlannedRequest {
    fn from(r: wit::HttpRequest) -> Self {
        Self {
            id: r.id,
            method: r.method,
            url: r.url,
            query: r.query,
            headers: r.headers,
            body: r.body,
            auth: r.auth.into(),
        }
    }
}

impl From<model::PlannedRequest> for wit::HttpRequest {
    fn from(r: model::PlannedRequest) -> Self {
        Self {
            id: r.id,
            method: r.method,
            url: r.url,
            query: r.query,
            headers: r.headers,
            body: r.body,
            auth: r.auth.into(),
        }
    }
}

impl From<model::VendorResponse> for wit::HttpResponse {
    fn from(r: model::VendorResponse) -> Self {
        Self {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<model::RunContext> for wit::RunContext {
    fn from(c: model::RunContext) -> Self {
        Self {
            account: c.account,
            settings: c.settings,
            cursor: c.cursor,
            since_ms: c.since_ms,
            until_ms: c.until_ms,
            now_ms: c.now_ms,
        }
    }
}

impl From<wit::Manifest> for model::Manifest {
    fn from(m: wit::Manifest) -> Self {
        Self {
            id: m.id,
            vendor: m.vendor,
            version: m.version,
            allowed_hosts: m.allowed_hosts,
            secrets: m.secrets,
            settings: m
                .settings
                .into_iter()
                .map(|s| model::SettingSpec {
                    name: s.name,
                    description: s.description,
                    required: s.required,
                    default_value: s.default_value,
                })
                .collect(),
            default_interval_secs: m.default_interval_secs,
            max_requests_per_minute: m.max_requests_per_minute,
        }
    }
}

/// Approximate bytes of a page once lifted into the host (strings and lists), used for the
/// per-call output cap.
pub fn page_size(p: &wit::Page) -> usize {
    fn opt(s: &Option<String>) -> usize {
        s.as_ref().map_or(0, String::len)
    }
    let records: usize = p
        .records
        .iter()
        .map(|r| match r {
            wit::Item::Ticket(t) => {
                160 + t.ticket_id.len()
                    + t.order_id.len()
                    + t.event_id.len()
                    + opt(&t.show_id)
                    + t.category.len()
                    + t.channel.len()
                    + t.currency.len()
                    + opt(&t.buyer)
                    + opt(&t.region)
                    + opt(&t.utm_source)
                    + opt(&t.utm_medium)
                    + opt(&t.utm_campaign)
                    + opt(&t.payment_method)
                    + t.visibility.iter().map(String::len).sum::<usize>()
            }
            wit::Item::Event(e) => {
                64 + e.event_id.len() + e.name.len() + opt(&e.city) + opt(&e.venue)
            }
            wit::Item::Inventory(v) => 48 + v.event_id.len() + v.show_id.len(),
        })
        .sum();
    let next: usize = p.next.iter().map(request_size).sum();
    records + next + opt(&p.cursor)
}

pub fn request_size(r: &wit::HttpRequest) -> usize {
    let pairs = |v: &Vec<(String, String)>| v.iter().map(|(a, b)| a.len() + b.len()).sum::<usize>();
    r.id.len()
        + r.method.len()
        + r.url.len()
        + pairs(&r.query)
        + pairs(&r.headers)
        + r.body.as_ref().map_or(0, Vec::len)
}
