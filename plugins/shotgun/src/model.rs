//! Shotgun's wire shapes, as far as this connector reads them (borrowed where possible: this is
//! the hot path). Personal fields are deliberately absent: what is not deserialized cannot leak.

use serde::Deserialize;

#[derive(Deserialize)]
pub struct TicketsPage<'a> {
    #[serde(borrow, default)]
    pub pagination: Option<Pagination<'a>>,
    /// A ticket that does not read fails the page with its index (`record 7: ...`).
    #[serde(borrow, deserialize_with = "boxoffice_plugin_sdk::wire::indexed")]
    pub data: Vec<WireTicket<'a>>,
}

#[derive(Deserialize)]
pub struct Pagination<'a> {
    #[serde(borrow, default)]
    pub next: Option<std::borrow::Cow<'a, str>>,
}

/// An id that may come as a number or a string (Shotgun redacts some as `"REDACTED"`).
pub enum Id<'a> {
    Num(i64),
    Str(std::borrow::Cow<'a, str>),
}

/// By hand rather than `#[serde(untagged)]`: untagged enums buffer every value into an
/// intermediate tree first, which on two fields per ticket was a visible share of the page.
impl<'de: 'a, 'a> Deserialize<'de> for Id<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Id<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an id (number or string)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id<'a>, E> {
                Ok(Id::Num(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id<'a>, E> {
                i64::try_from(v)
                    .map(Id::Num)
                    .map_err(|_| E::custom("id out of range"))
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Id<'a>, E> {
                Ok(Id::Str(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id<'a>, E> {
                Ok(Id::Str(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'a> Id<'a> {
    /// The id as text, or `None` for a redacted or empty one.
    pub fn usable(&self) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Id::Num(n) => Some(n.to_string().into()),
            Id::Str(s) if s.is_empty() || s.eq_ignore_ascii_case("redacted") => None,
            Id::Str(s) => Some(s.clone()),
        }
    }
}

#[derive(Deserialize)]
pub struct WireTicket<'a> {
    pub ticket_id: i64,
    #[serde(borrow)]
    pub ticket_scanned_at: Option<&'a str>,
    #[serde(borrow)]
    pub ticket_updated_at: &'a str,
    #[serde(borrow)]
    pub ticket_canceled_at: Option<&'a str>,
    #[serde(borrow)]
    pub ticket_status: &'a str,
    #[serde(borrow, default)]
    pub user_id: Option<Id<'a>>,
    #[serde(borrow)]
    pub deal_title: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub deal_channel: std::borrow::Cow<'a, str>,
    /// Absent or null: no known visibility.
    #[serde(borrow, default)]
    pub deal_visibilities: Option<Vec<std::borrow::Cow<'a, str>>>,
    /// The four amounts are required (`int` on every ticket seen): a missing fee would
    /// otherwise pass for 0, and the canonical ticket has no "unknown" amount.
    pub deal_price: i64,
    pub deal_service_fee: i64,
    pub deal_user_service_fee: i64,
    pub deal_producer_cost: i64,
    pub order_id: i64,
    #[serde(borrow)]
    pub currency: &'a str,
    #[serde(borrow)]
    pub payment_method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub utm_source: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub utm_medium: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub ordered_at: &'a str,
    pub event_id: i64,
    #[serde(borrow)]
    pub event_name: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    pub event_start_time: Option<&'a str>,
    #[serde(borrow)]
    pub event_end_time: Option<&'a str>,
    #[serde(borrow)]
    pub event_canceled_at: Option<&'a str>,
    #[serde(borrow, default)]
    pub contact_id: Option<Id<'a>>,
    #[serde(borrow)]
    pub contact_country: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    pub contact_postal_code: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
pub struct EventsPage {
    #[serde(default, deserialize_with = "boxoffice_plugin_sdk::wire::indexed")]
    pub data: Vec<WireEvent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEvent {
    pub id: i64,
    /// Absent or null: unknown (an empty name never replaces a known one in the ledger).
    #[serde(default)]
    pub name: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub cancelled_at: Option<String>,
    pub left_tickets_count: Option<i64>,
    pub geolocation: Option<Geolocation>,
    /// Absent or null: capacity unknown (an empty list is a real 0).
    #[serde(default)]
    pub deals: Option<Vec<Deal>>,
}

#[derive(Deserialize)]
pub struct Geolocation {
    pub city: Option<String>,
}

#[derive(Deserialize)]
pub struct Deal {
    pub quantity: Option<i64>,
}
