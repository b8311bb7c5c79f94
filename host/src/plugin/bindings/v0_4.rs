//! Host bindings of contract 0.4 (`wit/since_v0.4.0`, world `plugin`: 0.3's shapes plus the
//! webhook entry point `connector.webhook` and `manifest.webhook`), and its conversions into
//! the host's model (`crate::model`) and the version-neutral [`GuestPage`].
//!
//! Owns only the 0.4 shapes. A 0.4 page's typed items are moved into 0.3's item types (the
//! same fields, in the same order), so `plugin::output` has one typed path for both versions.

use super::{v0_3, GuestPage, GuestRecords};
use crate::model;
use crate::plugin::error::GuestError;

wasmtime::component::bindgen!({
    path: "../wit/since_v0.4.0",
    world: "plugin",
    exports: { default: async },
});

pub use self::boxoffice::connector::types as wit;

super::common_conversions!(wit);

fn webhook_of(m: &wit::Manifest) -> Option<model::WebhookSpec> {
    m.webhook.clone().map(Into::into)
}

impl From<wit::Auth> for model::RequestAuth {
    fn from(a: wit::Auth) -> Self {
        match a {
            wit::Auth::None => Self::None,
            wit::Auth::BearerHeader(secret) => Self::BearerHeader { secret },
            wit::Auth::QueryParam((param, secret)) => Self::QueryParam { param, secret },
            wit::Auth::AuthorizationHeader((scheme, secret)) => {
                Self::AuthorizationHeader { scheme, secret }
            }
        }
    }
}

impl From<model::RequestAuth> for wit::Auth {
    fn from(a: model::RequestAuth) -> Self {
        match a {
            model::RequestAuth::None => Self::None,
            model::RequestAuth::BearerHeader { secret } => Self::BearerHeader(secret),
            model::RequestAuth::QueryParam { param, secret } => Self::QueryParam((param, secret)),
            model::RequestAuth::AuthorizationHeader { scheme, secret } => {
                Self::AuthorizationHeader((scheme, secret))
            }
        }
    }
}

impl From<wit::WebhookSpec> for model::WebhookSpec {
    fn from(w: wit::WebhookSpec) -> Self {
        Self {
            signature: match w.signature {
                wit::WebhookSignature::HmacSha1Hex(header) => {
                    model::WebhookSignature::HmacSha1Hex { header }
                }
                wit::WebhookSignature::HmacSha256Hex(header) => {
                    model::WebhookSignature::HmacSha256Hex { header }
                }
            },
        }
    }
}

impl From<model::WebhookDelivery> for wit::WebhookDelivery {
    fn from(d: model::WebhookDelivery) -> Self {
        Self {
            headers: d.headers,
            body: d.body,
            received_ms: d.received_ms,
        }
    }
}

impl From<wit::Page> for GuestPage {
    fn from(p: wit::Page) -> Self {
        Self {
            records: match p.records {
                wit::PageRecords::Typed(items) => {
                    GuestRecords::Typed(items.into_iter().map(item_as_v0_3).collect())
                }
                wit::PageRecords::Encoded(blob) => GuestRecords::Encoded(blob),
            },
            next: p.next.into_iter().map(Into::into).collect(),
            cursor: p.cursor,
        }
    }
}

/// A 0.4 item as the identical 0.3 item (moved, nothing copied).
fn item_as_v0_3(item: wit::Item) -> v0_3::wit::Item {
    use v0_3::wit as old;
    match item {
        wit::Item::Ticket(t) => old::Item::Ticket(old::Ticket {
            ticket_id: t.ticket_id,
            order_id: t.order_id,
            event_id: t.event_id,
            show_id: t.show_id,
            category: t.category,
            channel: t.channel,
            status: match t.status {
                wit::TicketStatus::Valid => old::TicketStatus::Valid,
                wit::TicketStatus::Refunded => old::TicketStatus::Refunded,
                wit::TicketStatus::Canceled => old::TicketStatus::Canceled,
                wit::TicketStatus::Resold => old::TicketStatus::Resold,
                wit::TicketStatus::Pending => old::TicketStatus::Pending,
            },
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
            buyer: t.buyer.map(|b| old::PersonalId {
                kind: b.kind,
                value: b.value,
            }),
            region: t.region,
            utm_source: t.utm_source,
            utm_medium: t.utm_medium,
            utm_campaign: t.utm_campaign,
            payment_method: t.payment_method,
            visibility: t.visibility,
        }),
        wit::Item::Event(e) => old::Item::Event(old::Event {
            event_id: e.event_id,
            name: e.name,
            city: e.city,
            venue: e.venue,
            starts_at_ms: e.starts_at_ms,
            ends_at_ms: e.ends_at_ms,
            canceled_at_ms: e.canceled_at_ms,
            updated_at_ms: e.updated_at_ms,
        }),
        wit::Item::Inventory(v) => old::Item::Inventory(old::Inventory {
            event_id: v.event_id,
            show_id: v.show_id,
            captured_at_ms: v.captured_at_ms,
            capacity: v.capacity,
            available: v.available,
            sold: v.sold,
        }),
    }
}
