//! A plugin page's records → the host's records, from either form they cross in: the encoded
//! blob (0.2 `page.records`, 0.3 `page-records.encoded`) or typed items (0.3 `typed`).
//!
//! Owns: decoding the blob with the same crate the guest encoded it with (`boxoffice-records`),
//! viewing typed items as the same `boxoffice-records` items (borrowed, no copy), and one
//! pipeline for both ([`take`]): the page caps (records, decoded bytes, string and list
//! lengths: a small blob must not turn into a large heap, and a typed page gets exactly the
//! same caps), then every buyer's identifier replaced with its pseudonym, so a raw identifier
//! exists only inside this module. It does not judge what the
//! records say (that is the `firewall`, which runs next) and does not read guest memory (the
//! instance copied the blob out in one piece).

use boxoffice_records as wire;
use thiserror::Error;

use super::bindings::v0_3::wit as typed;
use super::error::PageCap;
use super::limits::PageCaps;
use super::pseudonym::Pseudonymizer;
use crate::model::{Event, Inventory, Record, Ticket, TicketStatus};

pub use wire::DecodeError;

/// Why a page's records were not taken; either way the whole page is refused.
#[derive(Debug, Error)]
pub enum PageError {
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    #[error("record {record} goes past the cap of {cap} {}", what.as_str())]
    OverCap {
        what: PageCap,
        cap: usize,
        /// 0-based index of the record that crossed it.
        record: usize,
    },
}

/// Every record of a blob under the default page caps (benchmarks and tools; plugin instances
/// use their own limits through [`decode_page`]).
pub fn decode_records(blob: &[u8], pseudonyms: &Pseudonymizer) -> Result<Vec<Record>, PageError> {
    decode_page(blob, pseudonyms, &PageCaps::default())
}

/// Every record of a blob, buyers pseudonymized; the first framing error or cap fails the page
/// (the rest of the blob cannot be told apart, and the page is read again next run). Caps are
/// checked per record as it decodes, before the host copies it.
pub fn decode_page(
    blob: &[u8],
    pseudonyms: &Pseudonymizer,
    caps: &PageCaps,
) -> Result<Vec<Record>, PageError> {
    let reader = wire::RecordReader::new(blob);
    let hint = reader.size_hint_records();
    let items = reader.map(|item| {
        item.map_err(|e| match e.list_over_cap {
            Some(_) => PageError::OverCap {
                what: PageCap::ListLength,
                cap: wire::MAX_LIST_LEN,
                record: e.record,
            },
            None => PageError::Malformed(e),
        })
    });
    take(items, hint, pseudonyms, caps)
}

/// Every typed record of a page (0.3 `typed`), exactly as its encoded form would decode:
/// each item is viewed as the `boxoffice-records` item the blob would hold (borrowed, no
/// copy), refused past [`wire::MAX_LIST_LEN`] list entries like the decoder refuses it, and
/// then goes through the same caps, pseudonyms and conversion as [`decode_page`].
pub fn typed_page(
    items: &[typed::Item],
    pseudonyms: &Pseudonymizer,
    caps: &PageCaps,
) -> Result<Vec<Record>, PageError> {
    let hint = items.len();
    let items = items.iter().enumerate().map(|(record, item)| {
        let item = borrowed(item);
        if let wire::Item::Ticket(t) = &item {
            if t.visibility.len() > wire::MAX_LIST_LEN {
                return Err(PageError::OverCap {
                    what: PageCap::ListLength,
                    cap: wire::MAX_LIST_LEN,
                    record,
                });
            }
        }
        Ok(item)
    });
    take(items, hint, pseudonyms, caps)
}

/// The one pipeline both forms go through: the record cap, each record's string and decoded
/// byte caps (checked before the host copies it), then the conversion with buyers
/// pseudonymized. The first error fails the page (it is read again next run).
fn take<'a>(
    items: impl Iterator<Item = Result<wire::Item<'a>, PageError>>,
    hint: usize,
    pseudonyms: &Pseudonymizer,
    caps: &PageCaps,
) -> Result<Vec<Record>, PageError> {
    let mut out = Vec::with_capacity(hint.min(caps.max_items));
    let mut decoded_bytes = 0usize;
    for (record, item) in items.enumerate() {
        let item = item?;
        let over = |what, cap| PageError::OverCap { what, cap, record };
        if record >= caps.max_items {
            return Err(over(PageCap::Items, caps.max_items));
        }
        let (bytes, longest) = footprint(&item);
        if longest > caps.max_string_bytes {
            return Err(over(PageCap::StringBytes, caps.max_string_bytes));
        }
        decoded_bytes += bytes;
        if decoded_bytes > caps.max_decoded_bytes {
            return Err(over(PageCap::DecodedBytes, caps.max_decoded_bytes));
        }
        out.push(record_of(item, pseudonyms));
    }
    Ok(out)
}

fn status_of(s: typed::TicketStatus) -> wire::TicketStatus {
    match s {
        typed::TicketStatus::Valid => wire::TicketStatus::Valid,
        typed::TicketStatus::Refunded => wire::TicketStatus::Refunded,
        typed::TicketStatus::Canceled => wire::TicketStatus::Canceled,
        typed::TicketStatus::Resold => wire::TicketStatus::Resold,
        typed::TicketStatus::Pending => wire::TicketStatus::Pending,
    }
}

/// A typed item as the `boxoffice-records` item its encoding holds, borrowing its strings.
fn borrowed(item: &typed::Item) -> wire::Item<'_> {
    fn s(v: &str) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed(v)
    }
    fn o(v: &Option<String>) -> Option<std::borrow::Cow<'_, str>> {
        v.as_deref().map(std::borrow::Cow::Borrowed)
    }
    match item {
        typed::Item::Ticket(t) => wire::Item::Ticket(wire::Ticket {
            ticket_id: s(&t.ticket_id),
            order_id: s(&t.order_id),
            event_id: s(&t.event_id),
            show_id: o(&t.show_id),
            category: s(&t.category),
            channel: s(&t.channel),
            status: status_of(t.status),
            price_minor: t.price_minor,
            service_fee_minor: t.service_fee_minor,
            buyer_fee_minor: t.buyer_fee_minor,
            producer_cost_minor: t.producer_cost_minor,
            refunded_minor: t.refunded_minor,
            currency: s(&t.currency),
            ordered_at_ms: t.ordered_at_ms,
            updated_at_ms: t.updated_at_ms,
            scanned_at_ms: t.scanned_at_ms,
            refunded_at_ms: t.refunded_at_ms,
            buyer: t.buyer.as_ref().map(|b| wire::PersonalId {
                kind: s(&b.kind),
                value: s(&b.value),
            }),
            region: o(&t.region),
            utm_source: o(&t.utm_source),
            utm_medium: o(&t.utm_medium),
            utm_campaign: o(&t.utm_campaign),
            payment_method: o(&t.payment_method),
            visibility: t.visibility.iter().map(|v| s(v)).collect(),
        }),
        typed::Item::Event(e) => wire::Item::Event(wire::Event {
            event_id: s(&e.event_id),
            name: s(&e.name),
            city: o(&e.city),
            venue: o(&e.venue),
            starts_at_ms: e.starts_at_ms,
            ends_at_ms: e.ends_at_ms,
            canceled_at_ms: e.canceled_at_ms,
            updated_at_ms: e.updated_at_ms,
        }),
        typed::Item::Inventory(v) => wire::Item::Inventory(wire::Inventory {
            event_id: s(&v.event_id),
            show_id: s(&v.show_id),
            captured_at_ms: v.captured_at_ms,
            capacity: v.capacity,
            available: v.available,
            sold: v.sold,
        }),
    }
}

/// Host bytes a decoded item will take (the record, its strings, its list entries) and its
/// longest string.
fn footprint(item: &wire::Item<'_>) -> (usize, usize) {
    let mut bytes = std::mem::size_of::<Record>();
    let mut longest = 0;
    let mut add = |s: &str| {
        bytes += s.len();
        longest = longest.max(s.len());
    };
    let mut list_entries = 0;
    match item {
        wire::Item::Ticket(t) => {
            for s in [
                &t.ticket_id,
                &t.order_id,
                &t.event_id,
                &t.category,
                &t.channel,
                &t.currency,
            ] {
                add(s);
            }
            let optional = [
                &t.show_id,
                &t.region,
                &t.utm_source,
                &t.utm_medium,
                &t.utm_campaign,
                &t.payment_method,
            ];
            optional.into_iter().flatten().for_each(|s| add(s));
            if let Some(b) = &t.buyer {
                add(&b.kind);
                add(&b.value);
            }
            t.visibility.iter().for_each(|v| add(v));
            list_entries = t.visibility.len();
        }
        wire::Item::Event(e) => {
            add(&e.event_id);
            add(&e.name);
            [&e.city, &e.venue]
                .into_iter()
                .flatten()
                .for_each(|s| add(s));
        }
        wire::Item::Inventory(v) => {
            add(&v.event_id);
            add(&v.show_id);
        }
    }
    (
        bytes + list_entries * std::mem::size_of::<String>(),
        longest,
    )
}

fn status(s: wire::TicketStatus) -> TicketStatus {
    match s {
        wire::TicketStatus::Valid => TicketStatus::Valid,
        wire::TicketStatus::Refunded => TicketStatus::Refunded,
        wire::TicketStatus::Canceled => TicketStatus::Canceled,
        wire::TicketStatus::Resold => TicketStatus::Resold,
        wire::TicketStatus::Pending => TicketStatus::Pending,
    }
}

fn owned(s: Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    s.map(|s| s.into_owned())
}

fn record_of(item: wire::Item<'_>, pseudonyms: &Pseudonymizer) -> Record {
    match item {
        wire::Item::Ticket(t) => Record::Ticket(Ticket {
            ticket_id: t.ticket_id.into_owned(),
            order_id: t.order_id.into_owned(),
            event_id: t.event_id.into_owned(),
            show_id: owned(t.show_id),
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
            buyer: t.buyer.map(|b| pseudonyms.pseudonym(&b.kind, &b.value)),
            region: owned(t.region),
            utm_source: owned(t.utm_source),
            utm_medium: owned(t.utm_medium),
            utm_campaign: owned(t.utm_campaign),
            payment_method: owned(t.payment_method),
            visibility: t.visibility.into_iter().map(|v| v.into_owned()).collect(),
        }),
        wire::Item::Event(e) => Record::Event(Event {
            event_id: e.event_id.into_owned(),
            name: e.name.into_owned(),
            city: owned(e.city),
            venue: owned(e.venue),
            starts_at_ms: e.starts_at_ms,
            ends_at_ms: e.ends_at_ms,
            canceled_at_ms: e.canceled_at_ms,
            updated_at_ms: e.updated_at_ms,
        }),
        wire::Item::Inventory(v) => Record::Inventory(Inventory {
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

    #[test]
    fn buyers_arrive_as_pseudonyms_and_nothing_else_changes() {
        let mut w = wire::RecordWriter::default();
        let mut t = wire::Ticket {
            ticket_id: "t1".into(),
            order_id: "o1".into(),
            event_id: "e1".into(),
            show_id: Some("s1".into()),
            category: "PHASE 1".into(),
            channel: "online".into(),
            status: wire::TicketStatus::Refunded,
            price_minor: 2_500,
            service_fee_minor: 1,
            buyer_fee_minor: 2,
            producer_cost_minor: 3,
            refunded_minor: 2_500,
            currency: "EUR".into(),
            ordered_at_ms: 10,
            updated_at_ms: 20,
            scanned_at_ms: None,
            refunded_at_ms: Some(30),
            buyer: Some(wire::PersonalId {
                kind: "email".into(),
                value: "canary.name@example.invalid".into(),
            }),
            region: Some("France 69".into()),
            utm_source: Some("ig".into()),
            utm_medium: None,
            utm_campaign: Some("summer".into()),
            payment_method: None,
            visibility: vec!["public".into()],
        };
        w.ticket(t.clone());
        t.buyer = None;
        w.ticket(t);
        let p = Pseudonymizer::new([5; 32]);
        let records = decode_records(&w.finish(), &p).unwrap();
        let [Record::Ticket(a), Record::Ticket(b)] = &records[..] else {
            panic!("{records:?}")
        };
        assert_eq!(
            a.buyer.as_deref(),
            Some(p.pseudonym("email", "canary.name@example.invalid").as_str())
        );
        assert!(!format!("{records:?}").contains("canary"));
        assert_eq!(b.buyer, None);
        assert_eq!(
            (
                a.status,
                a.refunded_minor,
                a.show_id.as_deref(),
                &a.visibility[..]
            ),
            (
                TicketStatus::Refunded,
                2_500,
                Some("s1"),
                &["public".to_string()][..]
            )
        );
        let mut a = a.clone();
        a.buyer = None;
        assert_eq!(&a, b, "only the buyer differs");
    }

    fn typed_ticket(id: &str, visibility: usize) -> typed::Item {
        typed::Item::Ticket(typed::Ticket {
            ticket_id: id.into(),
            order_id: "o1".into(),
            event_id: "e1".into(),
            show_id: None,
            category: "PHASE 1".into(),
            channel: "online".into(),
            status: typed::TicketStatus::Resold,
            price_minor: 100,
            service_fee_minor: 1,
            buyer_fee_minor: 2,
            producer_cost_minor: 3,
            refunded_minor: 0,
            currency: "JPY".into(),
            ordered_at_ms: 1,
            updated_at_ms: 2,
            scanned_at_ms: Some(3),
            refunded_at_ms: None,
            buyer: Some(typed::PersonalId {
                kind: "email".into(),
                value: "canary.name@example.invalid".into(),
            }),
            region: Some("JP-13".into()),
            utm_source: None,
            utm_medium: Some("mail".into()),
            utm_campaign: None,
            payment_method: None,
            visibility: vec!["public".into(); visibility],
        })
    }

    #[test]
    fn typed_items_become_exactly_what_their_blob_decodes_to() {
        let items = vec![
            typed_ticket("t1", 2),
            typed::Item::Event(typed::Event {
                event_id: "e1".into(),
                name: "Nuit".into(),
                city: Some("Lyon".into()),
                venue: None,
                starts_at_ms: Some(5),
                ends_at_ms: None,
                canceled_at_ms: None,
                updated_at_ms: 6,
            }),
            typed::Item::Inventory(typed::Inventory {
                event_id: "e1".into(),
                show_id: "s1".into(),
                captured_at_ms: 7,
                capacity: Some(10),
                available: None,
                sold: Some(4),
            }),
        ];
        let mut w = wire::RecordWriter::default();
        for item in &items {
            w.push(&borrowed(item));
        }
        let p = Pseudonymizer::new([8; 32]);
        let caps = PageCaps::default();
        let from_blob = decode_page(&w.finish(), &p, &caps).unwrap();
        let from_typed = typed_page(&items, &p, &caps).unwrap();
        assert_eq!(from_typed, from_blob);
        assert!(!format!("{from_typed:?}").contains("canary"));
    }

    #[test]
    fn typed_lists_and_pages_meet_the_same_caps() {
        let p = Pseudonymizer::new([8; 32]);
        let caps = PageCaps::default();
        let at = typed_page(&[typed_ticket("t1", wire::MAX_LIST_LEN)], &p, &caps);
        assert_eq!(at.unwrap().len(), 1);
        let over = typed_page(
            &[
                typed_ticket("t0", 0),
                typed_ticket("t1", wire::MAX_LIST_LEN + 1),
            ],
            &p,
            &caps,
        );
        assert!(
            matches!(
                over,
                Err(PageError::OverCap {
                    what: PageCap::ListLength,
                    cap: wire::MAX_LIST_LEN,
                    record: 1
                })
            ),
            "{over:?}"
        );
        let few = PageCaps {
            max_items: 2,
            ..PageCaps::default()
        };
        let three: Vec<_> = (0..3).map(|i| typed_ticket(&format!("t{i}"), 0)).collect();
        assert!(matches!(
            typed_page(&three, &p, &few),
            Err(PageError::OverCap {
                what: PageCap::Items,
                cap: 2,
                record: 2
            })
        ));
    }

    #[test]
    fn a_broken_blob_is_an_error_not_a_short_page() {
        let mut w = wire::RecordWriter::default();
        w.inventory(wire::Inventory {
            event_id: "e1".into(),
            show_id: "e1".into(),
            captured_at_ms: 1,
            capacity: None,
            available: Some(3),
            sold: None,
        });
        let mut blob = w.finish();
        let whole = blob.len();
        blob.extend_from_slice(&[1, 200]);
        let err = decode_records(&blob, &Pseudonymizer::new([1; 32])).unwrap_err();
        let PageError::Malformed(err) = err else {
            panic!("{err}")
        };
        assert_eq!((err.record, err.offset), (1, whole));
    }

    fn inventories(n: usize, id: &str) -> Vec<u8> {
        let mut w = wire::RecordWriter::default();
        for _ in 0..n {
            w.inventory(wire::Inventory {
                event_id: id.into(),
                show_id: "".into(),
                captured_at_ms: 1,
                capacity: None,
                available: None,
                sold: None,
            });
        }
        w.finish()
    }

    fn over_cap(blob: &[u8], caps: PageCaps) -> (PageCap, usize, usize) {
        match decode_page(blob, &Pseudonymizer::new([1; 32]), &caps) {
            Err(PageError::OverCap { what, cap, record }) => (what, cap, record),
            other => panic!("expected a cap, got {other:?}"),
        }
    }

    #[test]
    fn a_small_blob_of_many_tiny_records_stops_at_the_record_cap() {
        let caps = PageCaps {
            max_items: 1_000,
            ..PageCaps::default()
        };
        // ~8 bytes a record on the wire, hundreds in the host.
        let blob = inventories(100_000, "");
        assert!(blob.len() < 1 << 20);
        assert_eq!(over_cap(&blob, caps), (PageCap::Items, 1_000, 1_000));
        let ok = decode_page(&inventories(1_000, ""), &Pseudonymizer::new([1; 32]), &caps);
        assert_eq!(ok.unwrap().len(), 1_000);
    }

    #[test]
    fn decoded_bytes_and_string_lengths_are_capped() {
        let per_record = std::mem::size_of::<Record>() + 3;
        let caps = PageCaps {
            max_decoded_bytes: per_record * 10,
            ..PageCaps::default()
        };
        assert_eq!(
            over_cap(&inventories(11, "abc"), caps),
            (PageCap::DecodedBytes, per_record * 10, 10)
        );
        let caps = PageCaps {
            max_string_bytes: 2,
            ..PageCaps::default()
        };
        assert_eq!(
            over_cap(&inventories(1, "abc"), caps),
            (PageCap::StringBytes, 2, 0)
        );
    }
}
