//! The PII firewall: what a plugin's output may contain.
//!
//! Owns: checking every record a plugin emits before anything is stored — no e-mail, phone,
//! card number or barcode in any string field, regions coarse by format (`region`), money and
//! time within sane bounds (`bounds`), fields of sane size — and the same personal-data screen
//! for everything else a plugin says: its committed cursor and its planned requests
//! ([`screen_text`], used by `sync::run` and `outbound`), and its log lines and error messages
//! ([`redact`], which also escapes control characters so a newline cannot forge a log line).
//! Text is folded first (`fold`: NFKC, look-alike `@`, dots and digits, spelled-out `at`/`dot`).
//! A rejected record is counted by reason and dropped whole; the rejection names the record and
//! field, never the offending value. It does not own network policy (see `http::AllowList`).
//!
//! What pattern screening cannot catch: data deliberately encoded to look like nothing
//! (base64, hex, a cipher). The structural controls cover that: a connector reaches only
//! granted origins, its requests are screened and capped, and buyers reach it only as the
//! vendor's identifiers, which the host pseudonymizes.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::bounds;
use super::fold::fold;
use super::region;
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
    /// Money or a timestamp outside `bounds`.
    OutOfRange,
    Invalid,
}

impl RejectReason {
    /// Every reason, so metrics can show each at 0 before the first rejection.
    pub const ALL: [Self; 8] = [
        Self::Email,
        Self::Phone,
        Self::Card,
        Self::Barcode,
        Self::FineRegion,
        Self::OversizeField,
        Self::OutOfRange,
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
            Self::OutOfRange => "out_of_range",
            Self::Invalid => "invalid",
        }
    }

    /// What a log line shows instead of the value.
    fn placeholder(self) -> &'static str {
        match self {
            Self::Email => "[redacted-email]",
            Self::Phone => "[redacted-phone]",
            Self::Card => "[redacted-card]",
            _ => "[redacted-number]",
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

/// How a string is read: which digit runs are normal in it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FieldKind {
    /// An identifier: digits allowed up to 11 in a row.
    Id,
    /// Free text (names, categories, log lines): 10+ digits in a row are a phone or a code.
    Text,
    /// Machine-made text of any length (cursors, URL paths and queries, header values, request
    /// bodies): millisecond timestamps and ids are normal, so bare digit runs count only when
    /// they have a phone's or a card's shape.
    Opaque,
}

/// An address, ASCII or not, with at most one space around the `@`; the top-level label
/// starts with a letter (`1 @ 20.00` is not an address).
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[\p{L}\p{N}._%+\-]+ ?@ ?[\p{L}\p{N}\-]+(?:\.[\p{L}\p{N}\-]+)*\.\p{L}[\p{L}\p{N}\-]*",
    )
    .expect("email regex")
});
/// International numbers with letters (`+1 800 FLOWERS`, the fixtures' `+00 000 CANARY`).
static VANITY_PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+\d{1,3}[\s.\-]?\d{2,4}[\s.\-]?[A-Z]{4,}").expect("vanity phone regex")
});
/// Masked card numbers as vendors print them (`400000******0002`, `4000 00** **** 0002`).
static MASKED_CARD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{4,6}[*xX•]{3,}\d{2,4}|\d{4}[\s\-]?\d{0,2}(?:[*xX•]{2,}[\s\-]?){2,}\d{2,4}")
        .expect("card regex")
});
/// Dates, so `2026-07-10 10` is not read as a dashed phone number.
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})")
        .expect("date regex")
});

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
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

/// One personal-data pattern found in folded text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Finding {
    span: Range<usize>,
    reason: RejectReason,
}

fn is_run_separator(b: u8) -> bool {
    matches!(b, b' ' | b'.' | b'-' | b'(' | b')')
}

/// A run of digits and the separators phone and card numbers are written with.
struct DigitRun {
    span: Range<usize>,
    digits: Vec<u8>,
    /// Length of each group of consecutive digits.
    groups: Vec<usize>,
    plus: bool,
    parens: bool,
    /// Only spaces and dashes between the groups (a card's separators).
    card_separators: bool,
}

/// Every digit run of `s` (ASCII digits; `fold` made every other digit ASCII), dates skipped.
fn digit_runs(s: &str) -> Vec<DigitRun> {
    let b = s.as_bytes();
    let dates: Vec<Range<usize>> = if b.iter().any(|c| matches!(c, b'-' | b'.' | b'/')) {
        // A "date" that the same separators continue (`06.12.34.56.78`) is part of a number.
        let continued = |i: usize, j: usize| {
            matches!(b.get(i), Some(b'-' | b'.' | b'/')) && b.get(j).is_some_and(u8::is_ascii_digit)
        };
        DATE.find_iter(s)
            .map(|m| m.range())
            .filter(|r| {
                let before = r.start >= 2 && continued(r.start - 1, r.start - 2);
                !(before || continued(r.end, r.end + 1))
            })
            .collect()
    } else {
        Vec::new()
    };
    let in_date = |i: usize| dates.iter().any(|d| d.contains(&i));
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = !in_date(i)
            && (b[i].is_ascii_digit()
                || (matches!(b[i], b'+' | b'(')
                    && b[i + 1..]
                        .iter()
                        .take(3)
                        .find(|c| !matches!(c, b' ' | b'('))
                        .is_some_and(u8::is_ascii_digit)));
        if !starts {
            i += 1;
            continue;
        }
        let start = i;
        let plus = b[i] == b'+';
        if plus {
            i += 1;
        }
        let (mut end, mut seps) = (i, 0);
        let mut run = DigitRun {
            span: start..start,
            digits: Vec::new(),
            groups: Vec::new(),
            plus,
            parens: false,
            card_separators: true,
        };
        let mut in_group = false;
        while i < b.len() && !in_date(i) {
            let c = b[i];
            if c.is_ascii_digit() {
                run.digits.push(c);
                if in_group {
                    *run.groups.last_mut().expect("in a group") += 1;
                } else {
                    run.groups.push(1);
                    in_group = true;
                }
                seps = 0;
                end = i + 1;
            } else if is_run_separator(c) && seps < 2 {
                seps += 1;
                in_group = false;
                run.parens |= matches!(c, b'(' | b')');
                if !run.digits.is_empty() && !matches!(c, b' ' | b'-') {
                    run.card_separators = false;
                }
                if c == b')' {
                    end = i + 1;
                }
            } else {
                break;
            }
            i += 1;
        }
        run.span = start..end.max(start + 1);
        i = end.max(start + 1);
        if !run.digits.is_empty() {
            out.push(run);
        }
    }
    out
}

/// A bare run of digits: national mobiles by their trunk prefix, then by length and kind.
fn judge_bare(digits: &[u8], kind: FieldKind) -> Option<RejectReason> {
    let d = digits.len();
    if (d == 10 && digits[0] == b'0') || (d == 11 && matches!(&digits[..2], b"89" | b"79")) {
        return Some(RejectReason::Phone);
    }
    match kind {
        FieldKind::Opaque => {
            ((15..=19).contains(&d) && (b'2'..=b'6').contains(&digits[0]) && luhn_valid(digits))
                .then_some(RejectReason::Card)
        }
        _ if (13..=19).contains(&d) && luhn_valid(digits) => Some(RejectReason::Card),
        _ if d >= 12 => Some(RejectReason::Barcode),
        FieldKind::Text if d >= 10 => Some(RejectReason::Phone),
        _ => None,
    }
}

/// The phone or card a digit run writes, if any (see [`FieldKind`] for what each kind allows).
fn judge_run(run: &DigitRun, kind: FieldKind) -> Option<RejectReason> {
    let d = run.digits.len();
    let digits = run.digits.as_slice();
    if run.plus {
        return (8..=15).contains(&d).then_some(RejectReason::Phone);
    }
    if run.groups.len() == 1 {
        return judge_bare(digits, kind);
    }
    if (13..=19).contains(&d) && run.card_separators && luhn_valid(digits) {
        return Some(RejectReason::Card);
    }
    if digits.starts_with(b"00") && (10..=15).contains(&d) && digits[2] != b'0' {
        return Some(RejectReason::Phone);
    }
    let (first, rest) = (run.groups[0], &run.groups[1..]);
    let phone_shape = (9..=12).contains(&d) && first <= 5 && rest.iter().all(|g| *g <= 8);
    // `1 234 567 890` is an amount; `612 345 678` could be either, and is let through.
    let amount_shape =
        !run.parens && digits[0] != b'0' && first <= 3 && rest.iter().all(|g| *g == 3);
    let strong = run.parens || run.groups.len() >= 4;
    let phone = match kind {
        FieldKind::Text => phone_shape && !amount_shape,
        FieldKind::Id | FieldKind::Opaque => phone_shape && strong && !amount_shape,
    };
    phone.then_some(RejectReason::Phone)
}

/// Personal-data patterns in `folded` (text already through `fold`); the first only unless
/// `all`.
fn findings(folded: &str, kind: FieldKind, all: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut found = |span: Range<usize>, reason| {
        out.push(Finding { span, reason });
        !all
    };
    if folded.contains('@') {
        for m in EMAIL.find_iter(folded) {
            if found(m.range(), RejectReason::Email) {
                return out;
            }
        }
    }
    if folded.contains('+') {
        for m in VANITY_PHONE.find_iter(folded) {
            if found(m.range(), RejectReason::Phone) {
                return out;
            }
        }
    }
    let digits = folded.bytes().filter(u8::is_ascii_digit).count();
    if digits >= 6 && folded.contains(['*', 'x', 'X', '•']) {
        for m in MASKED_CARD.find_iter(folded) {
            if found(m.range(), RejectReason::Card) {
                return out;
            }
        }
    }
    if digits < 8 {
        return out;
    }
    if digits == folded.len() {
        // Only digits (most ids): one bare run, nothing to split.
        if let Some(reason) = judge_bare(folded.as_bytes(), kind) {
            found(0..folded.len(), reason);
        }
        return out;
    }
    for run in digit_runs(folded) {
        if let Some(reason) = judge_run(&run, kind) {
            if found(run.span.clone(), reason) {
                return out;
            }
        }
    }
    out
}

/// The personal-data pattern a string holds, if any, read as `kind` after folding. The one
/// screen for record fields, cursors and outgoing requests.
pub fn screen_text(s: &str, kind: FieldKind) -> Option<RejectReason> {
    if kind != FieldKind::Opaque && s.len() > MAX_FIELD_BYTES {
        return Some(RejectReason::OversizeField);
    }
    findings(&fold(s), kind, false).first().map(|f| f.reason)
}

/// A plugin-provided text (log line, error message) as it may appear in a log or an error:
/// folded, every personal-data pattern replaced by a placeholder, and control characters
/// (newlines included) escaped, so one call makes one line.
pub fn redact(message: &str) -> String {
    let folded = fold(message);
    let mut spans = findings(&folded, FieldKind::Text, true);
    static LONG_DIGITS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\d{10,}").expect("digits regex"));
    spans.extend(LONG_DIGITS.find_iter(&folded).map(|m| Finding {
        span: m.range(),
        reason: RejectReason::Barcode,
    }));
    spans.sort_by_key(|f| (f.span.start, std::cmp::Reverse(f.span.end)));
    let mut out = String::with_capacity(folded.len());
    let mut at = 0;
    for f in spans {
        if f.span.start < at {
            // Inside (or overlapping) a span already replaced.
            at = at.max(f.span.end);
            continue;
        }
        escape_controls(&folded[at..f.span.start], &mut out);
        out.push_str(f.reason.placeholder());
        at = f.span.end;
    }
    escape_controls(&folded[at..], &mut out);
    out
}

/// `s` with control characters and line separators escaped: for host messages that quote
/// something a plugin chose (a request id, a method), so they stay one log line.
pub fn escape_for_log(s: &str) -> String {
    escape_control(s).into_owned()
}

/// `s` onto `out` as one line (see [`escape_control`]).
fn escape_controls(s: &str, out: &mut String) {
    out.push_str(&escape_control(s));
}

/// `message` as one line that cannot pass for a host line: control characters written out
/// (`\n`, `\r`, `\t`, else `\u{..}`), as are line separators and bidirectional overrides
/// (which reorder what a terminal shows); backslashes are doubled so an escape the guest wrote
/// itself reads differently from one the host made.
pub fn escape_control(message: &str) -> Cow<'_, str> {
    fn needs_escape(c: char) -> bool {
        c == '\\'
            || c.is_control()
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }
    if !message.chars().any(needs_escape) {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Checks one page of records. Buyers are not its concern: they arrive as the host's own
/// pseudonyms (`plugin::output` made them while decoding).
#[derive(Debug, Clone, Copy)]
pub struct RecordFirewall {
    /// The clock timestamps are bounded by (`bounds::time_in_range`).
    now_ms: i64,
}

impl Default for RecordFirewall {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Default)]
pub struct Screened {
    pub accepted: Vec<Record>,
    pub rejected: Vec<Rejection>,
}

impl RecordFirewall {
    /// Bounds timestamps by the wall clock.
    pub fn new() -> Self {
        Self::at(crate::clock::now_ms())
    }

    /// Bounds timestamps by `now_ms` (tests).
    pub fn at(now_ms: i64) -> Self {
        Self { now_ms }
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

    fn times(
        &self,
        label: &dyn Fn() -> String,
        list: &[(&'static str, Option<i64>)],
    ) -> Result<(), Rejection> {
        for (field, ms) in list {
            if ms.is_some_and(|ms| !bounds::time_in_range(ms, self.now_ms)) {
                return Err(Rejection {
                    reason: RejectReason::OutOfRange,
                    record: label(),
                    field,
                });
            }
        }
        Ok(())
    }

    fn check(&self, r: &Record) -> Result<(), Rejection> {
        match r {
            Record::Ticket(t) => self.check_ticket(t),
            Record::Event(e) => {
                let label = || format!("event {}", short(&e.event_id));
                self.times(
                    &label,
                    &[
                        ("starts_at_ms", e.starts_at_ms),
                        ("ends_at_ms", e.ends_at_ms),
                        ("canceled_at_ms", e.canceled_at_ms),
                        ("updated_at_ms", Some(e.updated_at_ms)),
                    ],
                )?;
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
                self.times(&label, &[("captured_at_ms", Some(v.captured_at_ms))])?;
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
        for (field, minor) in [
            ("price_minor", t.price_minor),
            ("service_fee_minor", t.service_fee_minor),
            ("buyer_fee_minor", t.buyer_fee_minor),
            ("producer_cost_minor", t.producer_cost_minor),
            ("refunded_minor", t.refunded_minor),
        ] {
            if !bounds::money_in_range(minor) {
                return Err(reject(RejectReason::OutOfRange, field));
            }
        }
        self.times(
            &label,
            &[
                ("ordered_at_ms", Some(t.ordered_at_ms)),
                ("updated_at_ms", Some(t.updated_at_ms)),
                ("scanned_at_ms", t.scanned_at_ms),
                ("refunded_at_ms", t.refunded_at_ms),
            ],
        )?;
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
            if !region::is_coarse(&fold(region)) {
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
            if let Some(reason) = screen_text(v, *kind) {
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
/// might hold anything, so it is withheld then, and otherwise cut short with control
/// characters dropped (an id cannot start a new log line).
fn short(id: &str) -> String {
    if screen_text(id, FieldKind::Id).is_some() {
        return "<withheld>".to_string();
    }
    id.chars().filter(|c| !c.is_control()).take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Option<RejectReason> {
        screen_text(s, FieldKind::Text)
    }

    #[test]
    fn classifies_personal_patterns() {
        use RejectReason::*;
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
            "Концерт 2026-07-10 19:30",
            "Tour 2025 - 2026",
            "1 000 000 RUB",
            "10 000 000 000",
            "Live at Wembley",
            "Doors 19.30-23.00",
            "Session 10.00-12.00 / 14.00-16.00",
            "",
        ] {
            assert_eq!(text(ok), None, "{ok}");
        }
        assert_eq!(screen_text("900000001", FieldKind::Id), None);
        assert_eq!(screen_text("2000101", FieldKind::Id), None);
        assert_eq!(screen_text("10000000000001", FieldKind::Id), Some(Barcode));
    }

    #[test]
    fn look_alike_and_spelled_out_emails_are_caught() {
        for s in [
            "canary.name＠example.invalid",
            "canary.name﹫example。invalid",
            "canary.name@example．invalid",
            "canary\u{200B}.name@example.invalid",
            "canary.name at example dot invalid",
            "canary.name(at)example(dot)invalid",
            "canary.name [at] example [dot] invalid",
            "canary.name @ example.invalid",
            "canary.name%40example.invalid",
            "канари@пример.рф",
        ] {
            assert_eq!(text(s), Some(RejectReason::Email), "{s}");
        }
    }

    #[test]
    fn national_and_international_phone_formats_are_caught() {
        for s in [
            "06 12 34 56 78",
            "06.12.34.56.78",
            "06-12-34-56-78",
            "0612345678",
            "(0)6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "0033 6 12 34 56 78",
            "8 (912) 345-67-89",
            "8 912 345 67 89",
            "89123456789",
            "(555) 123-4567",
            "555-123-4567",
            "020 7946 0958",
            "07700 900123",
            "030 12345678",
            "+00 000 CANARY",
            "call +1 800 FLOWERS",
            "０６ １２ ３４ ５６ ７８",
            "٠٦١٢٣٤٥٦٧٨",
            "06‒12‒34‒56‒78",
        ] {
            assert_eq!(text(s), Some(RejectReason::Phone), "{s}");
        }
        // Ids and machine text need a phone's stronger shape.
        assert_eq!(
            screen_text("06 12 34 56 78", FieldKind::Opaque),
            Some(RejectReason::Phone)
        );
        assert_eq!(
            screen_text("8 (912) 345-67-89", FieldKind::Id),
            Some(RejectReason::Phone)
        );
    }

    #[test]
    fn card_numbers_with_separators_are_caught_by_luhn() {
        for s in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "3782 822463 10005",
            "4000 00** **** 0002",
            "４１１１ １１１１ １１１１ １１１１",
        ] {
            assert_eq!(text(s), Some(RejectReason::Card), "{s}");
        }
        assert_eq!(
            screen_text("4111 1111 1111 1111", FieldKind::Opaque),
            Some(RejectReason::Card)
        );
        // Not Luhn-valid: not a card (and too many digits for a phone).
        assert_eq!(text("4111 1111 1111 1112"), None);
    }

    /// Cursors and URLs the bundled connectors really make pass the machine-text screen.
    #[test]
    fn machine_text_of_the_bundled_connectors_passes() {
        for s in [
            r#"{"after":"2025-11-01T10:00:00.000Z_900000001","events_at":1762000000000}"#,
            r#"{"last_id":1234567,"marks":[[1761955200000,1234],[1762041600000,2345]],"inventory_at":1762000000000,"reconciled_at":1761990000000}"#,
            r#"{"where":[{"column":"id","operator":">","value":1234567}],"orderBy":{"id":"asc"},"page":3}"#,
            "2025-11-01T00:00:00+03:00",
            "1762000000000",
            "/api/shotgun/organizers/100001/events",
            "cursor-3",
            "1762000000000123",
        ] {
            assert_eq!(screen_text(s, FieldKind::Opaque), None, "{s}");
        }
        assert_eq!(
            screen_text("a canary.name@example.invalid b", FieldKind::Opaque),
            Some(RejectReason::Email)
        );
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

    #[test]
    fn redaction_catches_look_alikes_and_escapes_control_characters() {
        let s = redact("buyer canary.name＠example.invalid\nlevel=ERROR forged\r\u{85}x\u{2028}y");
        assert!(!s.contains("canary.name"), "{s}");
        assert!(s.contains("[redacted-email]"), "{s}");
        assert!(!s.contains(['\n', '\r', '\u{85}', '\u{2028}']), "{s}");
        assert!(s.contains("\\nlevel=ERROR forged\\r"), "{s}");
        let p = redact("call 06 12 34 56 78 or +00 000 CANARY, card 4111 1111 1111 1111");
        assert!(
            !p.contains("56 78") && !p.contains("CANARY") && !p.contains("1111"),
            "{p}"
        );
    }

    fn ticket() -> Ticket {
        Ticket {
            ticket_id: "t1".into(),
            order_id: "o1".into(),
            event_id: "e1".into(),
            category: "PHASE 1".into(),
            channel: "online".into(),
            currency: "EUR".into(),
            price_minor: 1000,
            ordered_at_ms: 1_700_000_000_000,
            updated_at_ms: 1_700_000_000_000,
            region: Some("France 69".into()),
            ..Ticket::BLANK
        }
    }

    fn reject(t: Ticket) -> Option<(RejectReason, &'static str)> {
        let fw = RecordFirewall::at(1_780_000_000_000);
        let s = fw.screen(vec![Record::Ticket(t)]);
        s.rejected.first().map(|r| (r.reason, r.field))
    }

    #[test]
    fn regions_must_be_coarse_by_format() {
        assert_eq!(reject(ticket()), None);
        for r in ["12 rue X", "Apt 4", "Paris 75011", "221B Baker Street"] {
            let t = Ticket {
                region: Some(r.into()),
                ..ticket()
            };
            assert_eq!(reject(t), Some((RejectReason::FineRegion, "region")), "{r}");
        }
    }

    #[test]
    fn money_and_time_out_of_bounds_are_rejected() {
        let cases: Vec<(Ticket, &str)> = vec![
            (
                Ticket {
                    price_minor: i64::MAX,
                    ..ticket()
                },
                "price_minor",
            ),
            (
                Ticket {
                    service_fee_minor: -2_000_000_000_000,
                    ..ticket()
                },
                "service_fee_minor",
            ),
            (
                Ticket {
                    ordered_at_ms: 0,
                    ..ticket()
                },
                "ordered_at_ms",
            ),
            (
                Ticket {
                    scanned_at_ms: Some(i64::MAX),
                    ..ticket()
                },
                "scanned_at_ms",
            ),
        ];
        for (t, field) in cases {
            assert_eq!(reject(t), Some((RejectReason::OutOfRange, field)));
        }
        let at_bound = Ticket {
            price_minor: bounds::MAX_MONEY_MINOR,
            ..ticket()
        };
        assert_eq!(reject(at_bound), None);
    }

    #[test]
    fn every_string_field_is_screened() {
        let email = "canary.name＠example.invalid".to_string();
        let t = Ticket {
            visibility: vec!["public".into(), email.clone()],
            ..ticket()
        };
        assert_eq!(reject(t), Some((RejectReason::Email, "visibility")));
        let t = Ticket {
            utm_medium: Some(email.clone()),
            ..ticket()
        };
        assert_eq!(reject(t), Some((RejectReason::Email, "utm_medium")));
        let fw = RecordFirewall::at(1_780_000_000_000);
        let e = crate::model::Event {
            event_id: "e1".into(),
            name: "Fest".into(),
            city: Some("Lyon".into()),
            venue: Some("06 12 34 56 78".into()),
            starts_at_ms: None,
            ends_at_ms: None,
            canceled_at_ms: None,
            updated_at_ms: 1_700_000_000_000,
        };
        let s = fw.screen(vec![Record::Event(e)]);
        assert_eq!(s.rejected[0].field, "venue");
        assert_eq!(s.rejected[0].reason, RejectReason::Phone);
    }
}
