//! The PII firewall: what a plugin's output may contain.
//!
//! Owns: checking every record a plugin emits before anything is stored — no e-mail, phone,
//! card number or barcode in any string field, regions coarse, fields of sane size — and
//! redacting the same patterns out of plugin log lines. A rejected record is counted by reason
//! and dropped whole; the rejection names the record and field, never the offending value.
//! It does not own network policy (see `http::AllowList`).

use std::sync::LazyLock;

use regex::Regex;

use crate::model::{Record, Ticket};

/// Longest string a record field may carry; vendor names and categories are far shorter.
const MAX_FIELD_BYTES: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    Email,
    Phone,
    Card,
    Barcode,
    FineRegion,
    OversizeField,
    Invalid,
}

impl RejectReason {
    /// Every reason, so metrics can show each at 0 before the first rejection.
    pub const ALL: [Self; 7] = [
        Self::Email,
        Self::Phone,
        Self::Card,
        Self::Barcode,
        Self::FineRegion,
        Self::OversizeField,
        Self::Invalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Card => "card",
            Self::Barcode => "barcode",
            Self::FineRegion => "fine_region",
            Self::OversizeField => "oversize_field",
            Self::Invalid => "invalid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    /// e.g. `ticket 900000001`
    pub record: String,
    pub field: &'static str,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: field `{}` rejected ({})",
            self.record,
            self.field,
            self.reason.as_str()
        )
    }
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+").expect("email regex")
});
/// International numbers (`+33 6 00 00 00 01`, `+79000000000`).
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+\s?\(?\d[\d\s().\-]{5,}\d").expect("phone regex"));
/// Masked card numbers as vendors print them (`400000******0002`).
static MASKED_CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\d{4,6}[*xX•]{3,}\d{2,4}").expect("card regex"));

/// Whether a field holds an identifier (digits allowed up to 11 in a row) or free text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Id,
    Text,
}

fn longest_digit_run(s: &str) -> (usize, &str) {
    let (mut best, mut best_at, mut cur, mut start) = (0, 0, 0, 0);
    for (i, b) in s.bytes().enumerate() {
        if b.is_ascii_digit() {
            if cur == 0 {
                start = i;
            }
            cur += 1;
            if cur > best {
                best = cur;
                best_at = start;
            }
        } else {
            cur = 0;
        }
    }
    (best, &s[best_at..best_at + best])
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = (b - b'0') as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The personal-data pattern a string matches, if any.
fn classify(s: &str, kind: FieldKind) -> Option<RejectReason> {
    if s.len() > MAX_FIELD_BYTES {
        return Some(RejectReason::OversizeField);
    }
    // Cheap prefilters: most fields have neither '@' nor many digits.
    if s.contains('@') && EMAIL.is_match(s) {
        return Some(RejectReason::Email);
    }
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    if digits < 7 {
        return None;
    }
    if s.contains('+') && PHONE.is_match(s) {
        return Some(RejectReason::Phone);
    }
    if MASKED_CARD.is_match(s) {
        return Some(RejectReason::Card);
    }
    let (run, run_str) = longest_digit_run(s);
    match (run, kind) {
        (13..=19, _) if luhn_valid(run_str) => Some(RejectReason::Card),
        (12.., _) => Some(RejectReason::Barcode),
        (10..=11, FieldKind::Text) => Some(RejectReason::Phone),
        _ => None,
    }
}

/// Replaces personal-data patterns in a plugin's log line.
pub fn redact(message: &str) -> String {
    let s = EMAIL.replace_all(message, "[redacted-email]");
    let s = PHONE.replace_all(&s, "[redacted-phone]");
    let s = MASKED_CARD.replace_all(&s, "[redacted-card]");
    static LONG_DIGITS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\d{10,}").expect("digits regex"));
    LONG_DIGITS
        .replace_all(&s, "[redacted-number]")
        .into_owned()
}

/// Checks one page of records. Buyers are not its concern: they arrive as the host's own
/// pseudonyms (`plugin::output` made them while decoding).
#[derive(Debug, Default, Clone, Copy)]
pub struct RecordFirewall;

#[derive(Debug, Default)]
pub struct Screened {
    pub accepted: Vec<Record>,
    pub rejected: Vec<Rejection>,
}

impl RecordFirewall {
    pub fn new() -> Self {
        Self
    }

    pub fn screen(&self, records: Vec<Record>) -> Screened {
        let mut out = Screened {
            accepted: Vec::with_capacity(records.len()),
            rejected: Vec::new(),
        };
        for r in records {
            match self.check(&r) {
                Ok(()) => out.accepted.push(r),
                Err(e) => out.rejected.push(e),
            }
        }
        out
    }

    fn check(&self, r: &Record) -> Result<(), Rejection> {
        match r {
            Record::Ticket(t) => self.check_ticket(t),
            Record::Event(e) => {
                let label = || format!("event {}", short(&e.event_id));
                fields(
                    &label,
                    &[
                        ("event_id", FieldKind::Id, Some(&e.event_id)),
                        ("name", FieldKind::Text, Some(&e.name)),
                        ("city", FieldKind::Text, e.city.as_ref()),
                        ("venue", FieldKind::Text, e.venue.as_ref()),
                    ],
                )
            }
            Record::Inventory(v) => {
                let label = || format!("inventory {}/{}", short(&v.event_id), short(&v.show_id));
                fields(
                    &label,
                    &[
                        ("event_id", FieldKind::Id, Some(&v.event_id)),
                        ("show_id", FieldKind::Id, Some(&v.show_id)),
                    ],
                )
            }
        }
    }

    fn check_ticket(&self, t: &Ticket) -> Result<(), Rejection> {
        let label = || format!("ticket {}", short(&t.ticket_id));
        let reject = |reason, field| Rejection {
            reason,
            record: label(),
            field,
        };
        if t.ticket_id.is_empty() || t.event_id.is_empty() {
            return Err(reject(RejectReason::Invalid, "ticket_id"));
        }
        if t.currency.len() != 3 || !t.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(reject(RejectReason::Invalid, "currency"));
        }
        if t.price_minor < 0 || t.refunded_minor < 0 {
            return Err(reject(RejectReason::Invalid, "price_minor"));
        }
        let mut list: Vec<(&'static str, FieldKind, Option<&String>)> = vec![
            ("ticket_id", FieldKind::Id, Some(&t.ticket_id)),
            ("order_id", FieldKind::Id, Some(&t.order_id)),
            ("event_id", FieldKind::Id, Some(&t.event_id)),
            ("show_id", FieldKind::Id, t.show_id.as_ref()),
            ("category", FieldKind::Text, Some(&t.category)),
            ("channel", FieldKind::Text, Some(&t.channel)),
            ("region", FieldKind::Text, t.region.as_ref()),
            ("utm_source", FieldKind::Text, t.utm_source.as_ref()),
            ("utm_medium", FieldKind::Text, t.utm_medium.as_ref()),
            ("utm_campaign", FieldKind::Text, t.utm_campaign.as_ref()),
            ("payment_method", FieldKind::Text, t.payment_method.as_ref()),
        ];
        list.extend(
            t.visibility
                .iter()
                .map(|v| ("visibility", FieldKind::Text, Some(v))),
        );
        fields(&label, &list)?;
        if let Some(region) = &t.region {
            if region.len() > 64 || longest_digit_run(region).0 >= 3 {
                return Err(reject(RejectReason::FineRegion, "region"));
            }
        }
        Ok(())
    }
}

fn fields(
    label: &dyn Fn() -> String,
    list: &[(&'static str, FieldKind, Option<&String>)],
) -> Result<(), Rejection> {
    for (name, kind, value) in list {
        if let Some(v) = value {
            if let Some(reason) = classify(v, *kind) {
                return Err(Rejection {
                    reason,
                    record: label(),
                    field: name,
                });
            }
        }
    }
    Ok(())
}

/// An identifier for messages: ids are not personal, but an id field that failed the check
/// might hold anything, so cut it short and mask digits beyond 9.
fn short(id: &str) -> String {
    if classify(id, FieldKind::Id).is_some() {
        return "<withheld>".to_string();
    }
    id.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_personal_patterns() {
        use RejectReason::*;
        let text = |s: &str| classify(s, FieldKind::Text);
        assert_eq!(text("note canary.name@example.invalid"), Some(Email));
        assert_eq!(text("+33 6 00 00 00 01"), Some(Phone));
        assert_eq!(text("+79000000000"), Some(Phone));
        assert_eq!(text("79000000000"), Some(Phone));
        assert_eq!(text("400000******0002"), Some(Card));
        assert_eq!(text("4111111111111111"), Some(Card));
        assert_eq!(text("10000000000001"), Some(Barcode));
        assert_eq!(text("870000000001"), Some(Barcode));
        assert_eq!(text(&"x".repeat(600)), Some(OversizeField));
        for ok in [
            "PHASE 1",
            "GENERAL ACCESS - 2 DAY PASS",
            "Example Summer Festival 2026",
            "France 69",
            "Концерт 2026-07-10",
            "",
        ] {
            assert_eq!(text(ok), None, "{ok}");
        }
        assert_eq!(classify("900000001", FieldKind::Id), None);
        assert_eq!(classify("2000101", FieldKind::Id), None);
        assert_eq!(classify("10000000000001", FieldKind::Id), Some(Barcode));
    }

    #[test]
    fn redacts_log_lines() {
        let s =
            redact("buyer canary.name@example.invalid phone +33 6 00 00 00 01 code 10000000000001");
        assert!(!s.contains("canary.name"), "{s}");
        assert!(!s.contains("00 00 01"), "{s}");
        assert!(!s.contains("10000000000001"), "{s}");
        assert_eq!(
            redact("page 3 of 12: 100 tickets"),
            "page 3 of 12: 100 tickets"
        );
    }
}
