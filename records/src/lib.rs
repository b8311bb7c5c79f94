//! The canonical records a connector emits, and how a page of them crosses the WASM boundary.
//!
//! Owns: the record types (`Item`, `Ticket`, `Event`, `Inventory`, `PersonalId`) with the field
//! order of the WIT (`wit/since_v0.2.0`, `wit/since_v0.3.0` and `wit/since_v0.4.0`, identical
//! there), the [`RecordWriter`] a connector fills, and the [`RecordReader`] the host decodes with. Both sides
//! link this one crate, so the encoding cannot drift between them; a test holds it to the WIT text.
//!
//! Why a blob: lifting `list<item>` copies every string out of guest memory one by one (about 1,400
//! per page of 100 tickets, each allocated in the guest first and freed after). One `list<u8>` per
//! page is one copy, and the guest writes fields borrowed from the vendor's body without allocating
//! them.
//!
//! The encoding (contract 0.2, and 0.3's `page-records.encoded`): the records one after another,
//! each the postcard 1.x encoding (<https://postcard.jamesmunns.com/wire-format>) of `item`: a
//! varint case index (event 0, ticket 1, inventory 2), then the fields in WIT order: strings as a
//! varint byte length and UTF-8, `s64` as zigzag varints, `u32` as varints, `option` as a 0/1 byte
//! then the value, `list` as a varint count then the elements, enums as a varint case index. No
//! header and no count: the blob ends where the last record ends. A list field holds at most
//! [`MAX_LIST_LEN`] entries; the reader refuses a longer one before allocating it (the host caps
//! records, bytes and string lengths per page on top, see its `plugin::output`).
//!
//! It does not own what a record may contain (the host's firewall) or pseudonyms (the host turns
//! every `PersonalId` into one while decoding; the raw value is never stored).

pub mod currency;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One record of a page. Case order is the WIT `item` variant's. Not boxed: items are built
/// and encoded (or decoded and converted) one at a time, never kept in bulk.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Item<'a> {
    #[serde(borrow)]
    Event(Event<'a>),
    #[serde(borrow)]
    Ticket(Ticket<'a>),
    #[serde(borrow)]
    Inventory(Inventory<'a>),
}

/// Case order is the WIT `ticket-status` enum's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketStatus {
    Valid,
    Refunded,
    Canceled,
    Resold,
    Pending,
}

/// A buyer's identifier as the vendor gives it (`kind` names the namespace, e.g. "shotgun-user").
/// The host replaces it with a keyed pseudonym before anything else sees the record: a
/// connector cannot store a raw identifier as a buyer, and never holds the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalId<'a> {
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub value: Cow<'a, str>,
}

/// Field order is the WIT `ticket` record's; see there for each field's meaning and units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket<'a> {
    #[serde(borrow)]
    pub ticket_id: Cow<'a, str>,
    #[serde(borrow)]
    pub order_id: Cow<'a, str>,
    #[serde(borrow)]
    pub event_id: Cow<'a, str>,
    #[serde(borrow)]
    pub show_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub category: Cow<'a, str>,
    #[serde(borrow)]
    pub channel: Cow<'a, str>,
    pub status: TicketStatus,
    pub price_minor: i64,
    pub service_fee_minor: i64,
    pub buyer_fee_minor: i64,
    pub producer_cost_minor: i64,
    pub refunded_minor: i64,
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    pub ordered_at_ms: i64,
    pub updated_at_ms: i64,
    pub scanned_at_ms: Option<i64>,
    pub refunded_at_ms: Option<i64>,
    #[serde(borrow)]
    pub buyer: Option<PersonalId<'a>>,
    #[serde(borrow)]
    pub region: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub utm_source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub utm_medium: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub utm_campaign: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub payment_method: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "capped_list")]
    pub visibility: Vec<Cow<'a, str>>,
}

/// Most entries a list field (`ticket.visibility`) may hold. A record claiming more fails to
/// decode before any entry is allocated: a blob is untrusted, and a few bytes of it can claim a
/// million entries (or hold a million empty ones, each a string on the host).
pub const MAX_LIST_LEN: usize = 256;

thread_local! {
    /// The entry count of a list refused by [`capped_list`] while the current record decoded:
    /// postcard drops a custom error's message, so the reader picks the reason up here.
    static LIST_OVER_CAP: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// A list of strings, borrowed from the blob, refused past [`MAX_LIST_LEN`] by its claimed
/// count (before allocating) and by its real one.
fn capped_list<'de: 'a, 'a, D>(d: D) -> Result<Vec<Cow<'a, str>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::{Error, SeqAccess, Visitor};

    /// One element, borrowed where the format allows (postcard does).
    #[derive(Deserialize)]
    struct Entry<'a>(#[serde(borrow)] Cow<'a, str>);

    struct Capped<'a>(std::marker::PhantomData<&'a ()>);

    impl<'de: 'a, 'a> Visitor<'de> for Capped<'a> {
        type Value = Vec<Cow<'a, str>>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "a list of at most {MAX_LIST_LEN} strings")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let over = |n: usize| {
                LIST_OVER_CAP.with(|c| c.set(Some(n)));
                A::Error::custom("a list over the cap")
            };
            let claimed = seq.size_hint().unwrap_or(0);
            if claimed > MAX_LIST_LEN {
                return Err(over(claimed));
            }
            let mut out = Vec::with_capacity(claimed);
            while let Some(Entry(s)) = seq.next_element()? {
                if out.len() == MAX_LIST_LEN {
                    return Err(over(out.len() + 1));
                }
                out.push(s);
            }
            Ok(out)
        }
    }

    d.deserialize_seq(Capped(std::marker::PhantomData))
}

/// Field order is the WIT `event` record's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event<'a> {
    #[serde(borrow)]
    pub event_id: Cow<'a, str>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub city: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub venue: Option<Cow<'a, str>>,
    pub starts_at_ms: Option<i64>,
    pub ends_at_ms: Option<i64>,
    pub canceled_at_ms: Option<i64>,
    pub updated_at_ms: i64,
}

/// Field order is the WIT `inventory` record's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory<'a> {
    #[serde(borrow)]
    pub event_id: Cow<'a, str>,
    #[serde(borrow)]
    pub show_id: Cow<'a, str>,
    pub captured_at_ms: i64,
    pub capacity: Option<u32>,
    pub available: Option<u32>,
    pub sold: Option<u32>,
}

/// A page's records being written, in the order they are pushed.
#[derive(Debug, Default)]
pub struct RecordWriter {
    buf: Vec<u8>,
    count: usize,
}

/// Bytes a typical ticket takes, to size the buffer once per page.
const TICKET_BYTES_HINT: usize = 160;

impl RecordWriter {
    /// Room for about `records` tickets without reallocating.
    pub fn with_capacity(records: usize) -> Self {
        Self {
            buf: Vec::with_capacity(records * TICKET_BYTES_HINT),
            count: 0,
        }
    }

    pub fn push(&mut self, item: &Item<'_>) {
        let buf = std::mem::take(&mut self.buf);
        // These types hold only strings, integers, options, lists and enums, all of which
        // postcard encodes; writing to a Vec cannot run out of room. So this cannot fail.
        self.buf = postcard::to_extend(item, buf).expect("postcard encodes every record type");
        self.count += 1;
    }

    pub fn ticket(&mut self, t: Ticket<'_>) {
        self.push(&Item::Ticket(t));
    }

    pub fn event(&mut self, e: Event<'_>) {
        self.push(&Item::Event(e));
    }

    pub fn inventory(&mut self, v: Inventory<'_>) {
        self.push(&Item::Inventory(v));
    }

    /// Records pushed so far.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The blob for `page.records`.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Why a blob could not be read: which record, at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// 0-based index of the record that failed.
    pub record: usize,
    /// Byte offset in the blob where that record starts.
    pub offset: usize,
    pub detail: String,
    /// Set when the record was refused for a list longer than [`MAX_LIST_LEN`]: the count.
    pub list_over_cap: Option<usize>,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "record {} (byte {}) is not a valid encoded item: {}",
            self.record, self.offset, self.detail
        )
    }
}

impl std::error::Error for DecodeError {}

/// Reads a blob record by record; after the first error it yields nothing more (the rest of
/// the blob cannot be framed).
pub struct RecordReader<'a> {
    blob: &'a [u8],
    offset: usize,
    record: usize,
    failed: bool,
}

impl<'a> RecordReader<'a> {
    pub fn new(blob: &'a [u8]) -> Self {
        Self {
            blob,
            offset: 0,
            record: 0,
            failed: false,
        }
    }

    /// About how many records are left, assuming ticket-sized ones: to size the output once.
    pub fn size_hint_records(&self) -> usize {
        (self.blob.len() - self.offset) / TICKET_BYTES_HINT
    }
}

impl<'a> Iterator for RecordReader<'a> {
    type Item = Result<Item<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.blob.len() {
            return None;
        }
        let rest = &self.blob[self.offset..];
        LIST_OVER_CAP.with(|c| c.set(None));
        match postcard::take_from_bytes::<Item<'a>>(rest) {
            Ok((item, left)) => {
                self.offset = self.blob.len() - left.len();
                self.record += 1;
                Some(Ok(item))
            }
            Err(e) => {
                self.failed = true;
                let list_over_cap = LIST_OVER_CAP.with(|c| c.take());
                let detail = match list_over_cap {
                    Some(n) => format!("a list of {n} entries, over the cap of {MAX_LIST_LEN}"),
                    None => e.to_string(),
                };
                Some(Err(DecodeError {
                    record: self.record,
                    offset: self.offset,
                    detail,
                    list_over_cap,
                }))
            }
        }
    }
}

/// Every record of a blob, or the first error.
pub fn decode(blob: &[u8]) -> Result<Vec<Item<'_>>, DecodeError> {
    RecordReader::new(blob).collect()
}

#[cfg(test)]
mod tests;
