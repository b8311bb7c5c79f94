//! The canonical records the host stores, independent of the WIT version that produced them.
//!
//! Owns: the shape of events, tickets and inventory snapshots after they cross the plugin
//! boundary (money in minor units, UTC epoch ms, status enum, pseudonymous buyer). Conversion
//! from the generated WIT types lives in `plugin::convert`, so a new contract version only adds a
//! conversion and storage does not change.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Valid,
    Refunded,
    Canceled,
    Resold,
    Pending,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 5] = [
        Self::Valid,
        Self::Refunded,
        Self::Canceled,
        Self::Resold,
        Self::Pending,
    ];

    /// What a ticket in this status keeps of `price_minor` (see [`Ticket::kept_minor`]); also
    /// asked of a status the ticket had before, for history.
    pub fn kept_minor(self, price_minor: i64, refunded_minor: i64) -> i64 {
        match self {
            Self::Valid => price_minor,
            Self::Refunded => (price_minor - refunded_minor).max(0),
            _ => 0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Refunded => "refunded",
            Self::Canceled => "canceled",
            Self::Resold => "resold",
            Self::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "valid" => Self::Valid,
            "refunded" => Self::Refunded,
            "canceled" => Self::Canceled,
            "resold" => Self::Resold,
            "pending" => Self::Pending,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub ticket_id: String,
    pub order_id: String,
    pub event_id: String,
    pub show_id: Option<String>,
    pub category: String,
    pub channel: String,
    pub status: TicketStatus,
    pub price_minor: i64,
    pub service_fee_minor: i64,
    pub buyer_fee_minor: i64,
    pub producer_cost_minor: i64,
    pub refunded_minor: i64,
    pub currency: String,
    pub ordered_at_ms: i64,
    pub updated_at_ms: i64,
    pub scanned_at_ms: Option<i64>,
    pub refunded_at_ms: Option<i64>,
    pub buyer: Option<String>,
    pub region: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub payment_method: Option<String>,
    pub visibility: Vec<String>,
}

impl Ticket {
    /// A ticket with nothing in it: the base of probes and fixtures (`..Ticket::BLANK`).
    pub const BLANK: Ticket = Ticket {
        ticket_id: String::new(),
        order_id: String::new(),
        event_id: String::new(),
        show_id: None,
        category: String::new(),
        channel: String::new(),
        status: TicketStatus::Pending,
        price_minor: 0,
        service_fee_minor: 0,
        buyer_fee_minor: 0,
        producer_cost_minor: 0,
        refunded_minor: 0,
        currency: String::new(),
        ordered_at_ms: 0,
        updated_at_ms: 0,
        scanned_at_ms: None,
        refunded_at_ms: None,
        buyer: None,
        region: None,
        utm_source: None,
        utm_medium: None,
        utm_campaign: None,
        payment_method: None,
        visibility: Vec::new(),
    };

    /// Money the organiser keeps from this ticket, in minor units. The one place that defines
    /// revenue: a valid ticket keeps its face price, a refunded one keeps what was withheld
    /// (price − refunded amount), canceled, resold and pending tickets keep nothing (a resale's
    /// money is carried by the new holder's ticket).
    pub fn kept_minor(&self) -> i64 {
        self.status
            .kept_minor(self.price_minor, self.refunded_minor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: String,
    pub name: String,
    pub city: Option<String>,
    pub venue: Option<String>,
    pub starts_at_ms: Option<i64>,
    pub ends_at_ms: Option<i64>,
    pub canceled_at_ms: Option<i64>,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub event_id: String,
    pub show_id: String,
    pub captured_at_ms: i64,
    pub capacity: Option<u32>,
    pub available: Option<u32>,
    pub sold: Option<u32>,
}

// Nearly every record is a ticket: boxing it would add an allocation per record for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    Event(Event),
    Ticket(Ticket),
    Inventory(Inventory),
}

/// A request a plugin planned, as the host sees it (before auth injection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRequest {
    pub id: String,
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub query: Vec<(String, String)>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Vec<u8>>,
    #[serde(default)]
    pub auth: RequestAuth,
}

/// Which secret the host injects into a request, and how. Names only, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RequestAuth {
    #[default]
    None,
    BearerHeader {
        secret: String,
    },
    QueryParam {
        param: String,
        secret: String,
    },
    /// `Authorization: <scheme> <secret>` (contract 0.3); the scheme must be an HTTP token.
    AuthorizationHeader {
        scheme: String,
        secret: String,
    },
}

impl RequestAuth {
    pub fn secret_name(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::BearerHeader { secret }
            | Self::QueryParam { secret, .. }
            | Self::AuthorizationHeader { secret, .. } => Some(secret),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One page as a plugin returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginPage {
    pub records: Vec<Record>,
    pub next: Vec<PlannedRequest>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingSpec {
    pub name: String,
    pub description: String,
    pub required: bool,
    pub default_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub vendor: String,
    pub version: String,
    pub allowed_hosts: Vec<String>,
    pub secrets: Vec<String>,
    pub settings: Vec<SettingSpec>,
    pub default_interval_secs: u32,
    pub max_requests_per_minute: u32,
    /// How the vendor signs webhook deliveries (contract 0.4 on); `None` when the connector
    /// takes no webhooks, and for every 0.2 / 0.3 connector (adapted).
    #[serde(default)]
    pub webhook: Option<WebhookSpec>,
}

/// How a vendor signs its webhook deliveries, as a connector declares it (contract 0.4 on).
/// The host verifies it over the raw body before anything parses the body; the secret is the
/// operator's (the account's webhook configuration) and never reaches the connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WebhookSignature {
    /// Lower- or upper-case hex of HMAC-SHA1(secret, raw body) in `header` (QTickets).
    HmacSha1Hex { header: String },
    /// Hex of HMAC-SHA256(secret, raw body) in `header`.
    HmacSha256Hex { header: String },
}

/// A connector's webhook support: how deliveries are signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSpec {
    pub signature: WebhookSignature,
}

/// One verified webhook delivery, as the host hands it to a connector (contract 0.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookDelivery {
    /// Header names lower-cased, in order; the signature header removed.
    pub headers: Vec<(String, String)>,
    /// The raw body, exactly as signed.
    pub body: Vec<u8>,
    /// When the host received it (ms since the epoch).
    pub received_ms: i64,
}

/// What a connector made of one delivery: the vendor's natural dedupe key, and a page whose
/// records are decoded, pseudonymized and (by the caller) screened like a run's, and whose
/// `next` are follow-up requests handled by `handle`. The page's cursor is always `None`: the
/// instance refuses an outcome that sets one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOutcome {
    pub key: String,
    pub page: PluginPage,
}

/// What the host tells a plugin about the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RunContext {
    pub account: String,
    #[serde(default)]
    pub settings: Vec<(String, String)>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub since_ms: Option<i64>,
    #[serde(default)]
    pub until_ms: Option<i64>,
    pub now_ms: i64,
}
