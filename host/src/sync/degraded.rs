//! Auxiliary requests, and what their failures leave behind in a run.
//!
//! A connector marks a request as auxiliary by its id: `aux:<kind>[:<anything>]` (the SDK's
//! `wire::AUXILIARY_PREFIX`; WIT 0.2's shapes are frozen, so the convention lives in the id it
//! already lets the connector choose). Events listings and seat inventory are auxiliary;
//! orders and tickets are not. When an auxiliary request fails in a way that says "this
//! answer is missing or unreadable" — no answer after the retries, an over-large body, or the
//! connector refusing the answer (`bad-response`, `unauthorized`, `retry-later`) — the run
//! skips it, counts it here and carries on; the core pages still store and commit, and the run
//! ends `degraded` instead of `failed`. Anything that says the plugin or the configuration is
//! wrong (traps, unreadable record blobs, caps, refused requests, `fatal`, egress refusals)
//! still fails the run, auxiliary or not. This module owns that classification and the run's
//! tally; it does not own the loop (`run`) or the metric (`metrics`).

use std::collections::BTreeMap;

use crate::http::executor::HttpError;
use crate::plugin::{GuestError, PluginError};

/// Request ids starting with this are auxiliary (the same text as the SDK's).
pub const AUXILIARY_PREFIX: &str = "aux:";

/// Longest request kind kept as a label; a longer or odd one reads as `other`.
const MAX_KIND_LEN: usize = 32;

/// The kind of an auxiliary request (`aux:seats:1:2` → `seats`), `None` for a core request.
/// The kind becomes a label and a log field, so anything but a short lower-case name
/// (letters, digits, `_`, `-`) reads as `other`: a plugin cannot put a record there.
pub fn auxiliary_kind(request_id: &str) -> Option<&str> {
    let rest = request_id.strip_prefix(AUXILIARY_PREFIX)?;
    let kind = rest.split(':').next().unwrap_or("");
    let plain = !kind.is_empty()
        && kind.len() <= MAX_KIND_LEN
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    Some(if plain { kind } else { "other" })
}

/// Why an auxiliary request was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DegradedReason {
    /// No answer after the retries (connection, timeout, a body cut off).
    Network,
    /// The body was larger than `BOXOFFICE_MAX_RESPONSE_BYTES`.
    TooLarge,
    /// The vendor kept answering 5xx or 429 (the connector asked to retry later).
    VendorUnavailable,
    /// The connector could not read the answer (wrong shape, HTML, a malformed field).
    BadResponse,
    /// The vendor refused the credentials for this request.
    Unauthorized,
}

impl DegradedReason {
    pub const ALL: [Self; 5] = [
        Self::Network,
        Self::TooLarge,
        Self::VendorUnavailable,
        Self::BadResponse,
        Self::Unauthorized,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::TooLarge => "too_large",
            Self::VendorUnavailable => "vendor_unavailable",
            Self::BadResponse => "bad_response",
            Self::Unauthorized => "unauthorized",
        }
    }

    /// The reason to skip a request that got no usable answer; `None` = the run fails.
    pub fn of_http(e: &HttpError) -> Option<Self> {
        match e {
            HttpError::Network { .. } => Some(Self::Network),
            HttpError::BodyTooLarge { .. } => Some(Self::TooLarge),
            _ => None,
        }
    }

    /// The reason to skip a page the connector refused; `None` = the run fails.
    pub fn of_plugin(e: &PluginError) -> Option<Self> {
        match e {
            PluginError::Guest { error, .. } => match error {
                GuestError::BadResponse(_) => Some(Self::BadResponse),
                GuestError::Unauthorized(_) => Some(Self::Unauthorized),
                GuestError::RetryLater(_) => Some(Self::VendorUnavailable),
                GuestError::Fatal(_) => None,
            },
            _ => None,
        }
    }
}

/// The auxiliary requests a run skipped, by (kind, reason).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Degradations {
    by_kind: BTreeMap<(String, DegradedReason), u64>,
}

impl Degradations {
    pub fn add(&mut self, kind: &str, reason: DegradedReason) {
        *self.by_kind.entry((kind.to_string(), reason)).or_default() += 1;
    }

    pub fn is_empty(&self) -> bool {
        self.by_kind.is_empty()
    }

    /// Skipped requests in all.
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }

    /// (kind, reason, skipped requests), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, DegradedReason, u64)> {
        self.by_kind.iter().map(|((k, r), n)| (k.as_str(), *r, *n))
    }

    /// One line: `seats bad_response ×3, events network ×1`.
    pub fn describe(&self) -> String {
        self.iter()
            .map(|(k, r, n)| format!("{k} {} ×{n}", r.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prefixed_ids_are_auxiliary_and_kinds_stay_names() {
        assert_eq!(auxiliary_kind("aux:seats:9:10"), Some("seats"));
        assert_eq!(auxiliary_kind("aux:events-past"), Some("events-past"));
        assert_eq!(auxiliary_kind("orders"), None);
        assert_eq!(
            auxiliary_kind("seats:1:2"),
            None,
            "the pre-convention id is core"
        );
        for odd in [
            "aux:",
            "aux:Seats",
            "aux:canary.name@example.invalid",
            "aux:a b",
        ] {
            assert_eq!(auxiliary_kind(odd), Some("other"), "{odd}");
        }
        let long = format!("aux:{}", "a".repeat(33));
        assert_eq!(auxiliary_kind(&long), Some("other"));
    }

    #[test]
    fn unreadable_answers_degrade_misbehaviour_fails() {
        let guest = |error| PluginError::Guest {
            plugin: "p".into(),
            call: "handle",
            error,
        };
        let reason = |e: GuestError| DegradedReason::of_plugin(&guest(e));
        assert_eq!(
            reason(GuestError::BadResponse("x".into())),
            Some(DegradedReason::BadResponse)
        );
        assert_eq!(
            reason(GuestError::RetryLater(60)),
            Some(DegradedReason::VendorUnavailable)
        );
        assert_eq!(reason(GuestError::Fatal("x".into())), None);
        let poisoned = PluginError::Poisoned { plugin: "p".into() };
        assert_eq!(DegradedReason::of_plugin(&poisoned), None);
        let net = HttpError::Network {
            origin: "o".into(),
            detail: "timed out".into(),
            attempts: 3,
        };
        assert_eq!(DegradedReason::of_http(&net), Some(DegradedReason::Network));
        let method = HttpError::Method {
            method: "POST".into(),
        };
        assert_eq!(DegradedReason::of_http(&method), None);
    }

    #[test]
    fn the_tally_describes_itself() {
        let mut d = Degradations::default();
        assert!(d.is_empty());
        d.add("seats", DegradedReason::BadResponse);
        d.add("seats", DegradedReason::BadResponse);
        d.add("events", DegradedReason::Network);
        assert_eq!(d.total(), 3);
        assert_eq!(d.describe(), "events network ×1, seats bad_response ×2");
    }
}
