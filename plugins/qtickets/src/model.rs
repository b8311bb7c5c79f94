//! QTickets' wire shapes, as far as this connector reads them (borrowed where possible: orders
//! are the hot path). Personal and secret fields (client details, names, phones, legal fields,
//! comments, custom fields, barcodes, card fragments, `uniqid`, pay/cancel/ticket URLs) are
//! deliberately absent: what is not deserialized cannot leak. The one exception is the
//! client's e-mail, read only to become the buyer's `PersonalId` (kind `email`) when an order
//! has no `client_id`; the host pseudonymizes it while decoding the page.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// `{"perPage":int,"currentPage":int,"total":int}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    pub per_page: i64,
    pub current_page: i64,
    pub total: i64,
}

/// A value that is sometimes an object and sometimes something else (PHP serializes an empty
/// map as `[]`, e.g. `utm`); anything but the object reads as `Other`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Lenient<T> {
    Obj(T),
    Other(IgnoredAny),
}

impl<T> Lenient<T> {
    pub fn get(&self) -> Option<&T> {
        match self {
            Lenient::Obj(t) => Some(t),
            Lenient::Other(_) => None,
        }
    }
}

/// A boolean that may come as `true`, `1`, `"1"` (the docs show 0/1 for some flags).
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Flag<'a> {
    Bool(bool),
    Int(i64),
    Str(#[serde(borrow)] Cow<'a, str>),
}

impl Flag<'_> {
    pub fn is_set(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Int(i) => *i != 0,
            Flag::Str(s) => !matches!(s.trim(), "" | "0" | "false"),
        }
    }
}

/// An id or code that may be a number or a string.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Id<'a> {
    Num(u64),
    Str(#[serde(borrow)] Cow<'a, str>),
}

impl Id<'_> {
    /// The id as text, trimmed; `None` when empty. Borrowed from the body unless it is a number.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Id::Num(n) => Some(Cow::Owned(n.to_string())),
            Id::Str(s) => Some(Cow::Borrowed(s.trim())).filter(|t| !t.is_empty()),
        }
    }
}

/// A non-negative count that may come as a number or a numeric string.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Count<'a> {
    Int(i64),
    Float(f64),
    Str(#[serde(borrow)] Cow<'a, str>),
}

impl Count<'_> {
    /// An empty (or blank) string: no figure at all.
    pub fn is_blank(&self) -> bool {
        matches!(self, Count::Str(s) if s.trim().is_empty())
    }

    /// The count, `None` when it is not a non-negative whole number.
    pub fn value(&self) -> Option<u64> {
        match self {
            Count::Int(i) => u64::try_from(*i).ok(),
            Count::Float(f) if *f >= 0.0 && f.fract() == 0.0 && *f < 1e15 => Some(*f as u64),
            Count::Float(_) => None,
            Count::Str(s) => s.trim().parse().ok(),
        }
    }
}

// ---------------------------------------------------------------- orders

#[derive(Deserialize)]
pub struct OrdersPage<'a> {
    /// A record that does not read fails the page with its index (`record 7: ...`).
    #[serde(borrow, deserialize_with = "boxoffice_plugin_sdk::wire::indexed")]
    pub data: Vec<WireOrder<'a>>,
    pub paging: Option<Paging>,
}

#[derive(Deserialize)]
pub struct WireOrder<'a> {
    pub id: u64,
    #[serde(borrow, default)]
    pub payed: Option<Flag<'a>>,
    #[serde(borrow, default)]
    pub payed_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub client_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    pub client: Option<Lenient<ClientRef<'a>>>,
    /// Only whether it is set: null = sold online, else by a box-office user.
    #[serde(default)]
    pub backend_user_id: Option<IgnoredAny>,
    #[serde(default)]
    pub event_id: Option<u64>,
    #[serde(borrow, default)]
    pub currency_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub payment_type_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    pub utm: Option<Lenient<Utm<'a>>>,
    #[serde(borrow, default)]
    pub baskets: Option<Vec<WireBasket<'a>>>,
    #[serde(borrow, default)]
    pub created_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub updated_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub deleted_at: Option<Cow<'a, str>>,
}

/// The client object, reduced to what may identify the buyer (for the host to pseudonymize).
#[derive(Deserialize)]
pub struct ClientRef<'a> {
    #[serde(borrow, default)]
    pub email: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub struct Utm<'a> {
    #[serde(borrow, default)]
    pub utm_source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub utm_medium: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub utm_campaign: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub struct WireBasket<'a> {
    pub id: u64,
    #[serde(default)]
    pub show_id: Option<u64>,
    #[serde(borrow, default)]
    pub seat_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pub price: Option<serde_json::Number>,
    #[serde(default)]
    pub service_fee_amount: Option<serde_json::Number>,
    #[serde(default)]
    pub refunded_amount: Option<serde_json::Number>,
    #[serde(default)]
    pub quantity: Option<u64>,
    #[serde(borrow, default)]
    pub checked_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub updated_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub deleted_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub refunded_at: Option<Cow<'a, str>>,
}

// ---------------------------------------------------------------- events

#[derive(Deserialize)]
pub struct EventsPage<'a> {
    #[serde(borrow, deserialize_with = "boxoffice_plugin_sdk::wire::indexed")]
    pub data: Vec<WireEvent<'a>>,
    pub paging: Option<Paging>,
}

#[derive(Deserialize)]
pub struct WireEvent<'a> {
    pub id: u64,
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub place_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub city: Option<Lenient<City<'a>>>,
    #[serde(borrow, default)]
    pub shows: Option<Vec<WireShow<'a>>>,
    #[serde(borrow, default)]
    pub created_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub updated_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub deleted_at: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub struct City<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub struct WireShow<'a> {
    pub id: u64,
    #[serde(borrow, default)]
    pub start_date: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub finish_date: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub updated_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub deleted_at: Option<Cow<'a, str>>,
}

// ---------------------------------------------------------------- seats

#[derive(Deserialize)]
pub struct SeatsPage<'a> {
    #[serde(borrow)]
    pub data: SeatMap<'a>,
}

/// Seat nodes in document order, keyed by seat id. `data` is an object keyed by id (`flat`),
/// `[]` for a show without seats, or, should `flat` be ignored, zones holding `seats` maps.
pub struct SeatMap<'a>(pub Vec<(Cow<'a, str>, Seat<'a>)>);

#[derive(Deserialize)]
pub struct Seat<'a> {
    #[serde(borrow, default)]
    pub root_id: Option<Id<'a>>,
    #[serde(borrow, default)]
    pub max_quantity: Option<Count<'a>>,
    #[serde(borrow, default)]
    pub free_quantity: Option<Count<'a>>,
    #[serde(borrow, default)]
    pub payed_quantity: Option<Count<'a>>,
    #[serde(borrow, default)]
    pub disabled: Option<Flag<'a>>,
    /// Present on zone nodes of the non-flat shape only.
    #[serde(borrow, default)]
    pub seats: Option<SeatMap<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for SeatMap<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = SeatMap<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of seats keyed by id, or a list")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(0));
                while let Some((k, v)) = m.next_entry::<Cow<'a, str>, Seat<'a>>()? {
                    out.push((k, v));
                }
                Ok(SeatMap(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                // `[]` for no seats; a list of seats keys them by position.
                let mut out = Vec::new();
                while let Some(v) = s.next_element::<Seat<'a>>()? {
                    out.push((Cow::Owned(out.len().to_string()), v));
                }
                Ok(SeatMap(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(SeatMap(Vec::new()))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}
