//! A page's records as typed values (0.3 `page-records.typed`), from the same
//! `boxoffice-records` items a [`crate::RecordWriter`] encodes.
//!
//! Owns the conversion from the shared record types to the generated WIT ones. Rust
//! connectors normally write the encoded blob (one copy across the boundary); the typed form
//! is what other languages' bindings produce, and the testbed sends it to prove the host treats
//! both alike.

use crate::bindings::boxoffice::connector::types as wit;
use crate::{Item, PageRecords, TicketStatus};

/// The items as `typed` page records.
pub fn typed<'a>(items: impl IntoIterator<Item = Item<'a>>) -> PageRecords {
    PageRecords::Typed(items.into_iter().map(item).collect())
}

fn status(s: TicketStatus) -> wit::TicketStatus {
    match s {
        TicketStatus::Valid => wit::TicketStatus::Valid,
        TicketStatus::Refunded => wit::TicketStatus::Refunded,
        TicketStatus::Canceled => wit::TicketStatus::Canceled,
        TicketStatus::Resold => wit::TicketStatus::Resold,
        TicketStatus::Pending => wit::TicketStatus::Pending,
    }
}

fn opt(s: Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    s.map(|s| s.into_owned())
}

/// One shared record as its WIT value.
pub fn item(i: Item<'_>) -> wit::Item {
    match i {
        Item::Ticket(t) => wit::Item::Ticket(wit::Ticket {
            ticket_id: t.ticket_id.into_owned(),
            order_id: t.order_id.into_owned(),
            event_id: t.event_id.into_owned(),
            show_id: opt(t.show_id),
            category: t.category.into_owned(),
            channel: t.channel.into_owned(),
            status: status(t.status),
            price_minor: t.price_minor,
            service_fee_minor: t.service_fee_minor,
            buyer_fee_minor: t.buyer_fee_minor,
            producer_cost_minor: t.producer_cost_minor,
            refunded_minor: t.refunded_minor,
            currency: t.currency.into_owned(),
            ordered_at_ms: t.ordered_at_ms,
            updated_at_ms: t.updated_at_ms,
            scanned_at_ms: t.scanned_at_ms,
            refunded_at_ms: t.refunded_at_ms,
            buyer: t.buyer.map(|b| wit::PersonalId {
                kind: b.kind.into_owned(),
                value: b.value.into_owned(),
            }),
            region: opt(t.region),
            utm_source: opt(t.utm_source),
            utm_medium: opt(t.utm_medium),
            utm_campaign: opt(t.utm_campaign),
            payment_method: opt(t.payment_method),
            visibility: t.visibility.into_iter().map(|v| v.into_owned()).collect(),
        }),
        Item::Event(e) => wit::Item::Event(wit::Event {
            event_id: e.event_id.into_owned(),
            name: e.name.into_owned(),
            city: opt(e.city),
            venue: opt(e.venue),
            starts_at_ms: e.starts_at_ms,
            ends_at_ms: e.ends_at_ms,
            canceled_at_ms: e.canceled_at_ms,
            updated_at_ms: e.updated_at_ms,
        }),
        Item::Inventory(v) => wit::Item::Inventory(wit::Inventory {
            event_id: v.event_id.into_owned(),
            show_id: v.show_id.into_owned(),
            captured_at_ms: v.captured_at_ms,
            capacity: v.capacity,
            available: v.available,
            sold: v.sold,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Inventory, RecordWriter};

    #[test]
    fn typed_records_hold_what_the_blob_holds() {
        let inv = Inventory {
            event_id: "e1".into(),
            show_id: "s1".into(),
            captured_at_ms: 5,
            capacity: Some(10),
            available: None,
            sold: Some(3),
        };
        let mut w = RecordWriter::default();
        w.inventory(inv.clone());
        let blob = w.finish();
        let decoded = crate::decode_records(&blob).unwrap();
        let PageRecords::Typed(items) = typed(decoded) else {
            panic!("not typed")
        };
        let [wit::Item::Inventory(v)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (v.event_id.as_str(), v.show_id.as_str(), v.captured_at_ms),
            ("e1", "s1", 5)
        );
        assert_eq!((v.capacity, v.available, v.sold), (Some(10), None, Some(3)));
    }
}
