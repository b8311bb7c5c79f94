//! What the listener reports about each delivery: its outcome per vendor and account, and how
//! long the handler took. A trait ([`DeliveryObserver`]) so the listener does not depend on the
//! metrics room; `metrics::Metrics` implements it (`boxoffice_webhook_deliveries_total`,
//! `boxoffice_webhook_handle_duration_seconds`). Nothing reported carries a secret or a body.

/// What became of one request to the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The handler stored its records (200).
    Stored,
    /// The handler had stored it before (200).
    Duplicate,
    /// Missing, malformed or wrong signature (401): the handler never saw it.
    Forged,
    /// Body over the cap (413): never read past the cap, never handed on.
    Oversize,
    /// Over the account's rate cap (429 with `Retry-After`).
    RateLimited,
    /// The handler could not understand it (400).
    Rejected,
    /// The handler could not store it (503: the vendor retries).
    Unavailable,
    /// No webhook account of that vendor and name (404).
    UnknownAccount,
    /// The body broke off or did not arrive in time (400 / 408): nothing handed on.
    Incomplete,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Stored,
        Outcome::Duplicate,
        Outcome::Forged,
        Outcome::Oversize,
        Outcome::RateLimited,
        Outcome::Rejected,
        Outcome::Unavailable,
        Outcome::UnknownAccount,
        Outcome::Incomplete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::Forged => "forged",
            Outcome::Oversize => "oversize",
            Outcome::RateLimited => "rate_limited",
            Outcome::Rejected => "rejected",
            Outcome::Unavailable => "unavailable",
            Outcome::UnknownAccount => "unknown_account",
            Outcome::Incomplete => "incomplete",
        }
    }
}

/// The label values a request to an unknown vendor or account is counted under (a path
/// segment is never a label: it would let any caller create series).
pub const UNKNOWN_LABEL: &str = "(unknown)";

/// Receives the listener's counts. Implementations must be cheap: they run on the request path.
pub trait DeliveryObserver: Send + Sync {
    /// One request's outcome. `vendor`/`account` are a configured account's, or
    /// [`UNKNOWN_LABEL`] for what is not one.
    fn delivery(&self, vendor: &str, account: &str, outcome: Outcome);
    /// How long a delivery that reached the handler took, from its first byte read to the
    /// handler's answer (seconds).
    fn handled(&self, vendor: &str, account: &str, seconds: f64);
    /// Called once per configured account when the listener starts, so counters can show 0
    /// before the first delivery (a series that appears with its first increment is invisible
    /// to `increase()`).
    fn account(&self, _vendor: &str, _account: &str) {}
}

/// Counts nothing.
pub struct NoObserver;

impl DeliveryObserver for NoObserver {
    fn delivery(&self, _: &str, _: &str, _: Outcome) {}
    fn handled(&self, _: &str, _: &str, _: f64) {}
}
