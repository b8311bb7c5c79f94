//! The simulator's routes and wire shapes (key order as in the vendor's example page).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use boxoffice_civil::{civil_from_days, days_from_civil};
use serde::Serialize;

use super::model::{SimTicket, GEOS, PAYMENTS, UTMS};
use super::{ShotgunSim, State};
use crate::canary;

/// Tickets per page: the documented maximum.
const PAGE: usize = 100;
/// Default page size of the events listing (unconfirmed: chosen; clients always send `limit`).
const EVENTS_DEFAULT_LIMIT: usize = 20;

pub(crate) fn iso_ms(ms: i64) -> String {
    Text::iso(ms).as_str().to_string()
}

/// A short string built on the stack. The simulator writes a dozen timestamps, codes and
/// addresses per ticket and shares the machine with the pipeline it feeds in benchmarks, so
/// these skip the formatting machinery and the heap; the JSON is the same.
#[derive(Clone, Copy)]
pub(crate) struct Text {
    buf: [u8; 48],
    len: usize,
}

impl Text {
    fn new() -> Self {
        Self {
            buf: [0; 48],
            len: 0,
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        self
    }

    /// `v` in decimal, left-padded with zeros to `width` digits.
    fn num(&mut self, mut v: u64, width: usize) -> &mut Self {
        let mut digits = [b'0'; 20];
        let mut i = digits.len();
        while v > 0 || i == digits.len() {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let n = (digits.len() - i).max(width);
        let start = digits.len() - n;
        self.buf[self.len..self.len + n].copy_from_slice(&digits[start..]);
        self.len += n;
        self
    }

    /// `YYYY-MM-DD<sep>HH:MM:SS.mmm`
    fn date_time(&mut self, ms: i64, sep: &str) -> &mut Self {
        let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000) as u64);
        let (y, m, d) = civil_from_days(days);
        self.num(y as u64, 4)
            .push("-")
            .num(m as u64, 2)
            .push("-")
            .num(d as u64, 2)
            .push(sep)
            .num(rem / 3_600_000, 2)
            .push(":")
            .num(rem / 60_000 % 60, 2)
            .push(":")
            .num(rem / 1000 % 60, 2)
            .push(".")
            .num(rem % 1000, 3)
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`
    pub(crate) fn iso(ms: i64) -> Self {
        let mut t = Self::new();
        t.date_time(ms, "T").push("Z");
        t
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("only ASCII is pushed")
    }
}

impl Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Parses the simulator's own ISO form (and plain `YYYY-MM-DDTHH:MM:SS[.mmm]Z`).
fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se) = (n(11..13)?, n(14..16)?, n(17..19)?);
    let ms = if b.get(19) == Some(&b'.') {
        n(20..23).unwrap_or(0)
    } else {
        0
    };
    let days = days_from_civil(y, u32::try_from(mo).ok()?, u32::try_from(d).ok()?);
    Some(((days * 24 + h) * 60 + mi) * 60_000 + se * 1000 + ms)
}

fn ordered_at(t: &SimTicket) -> Text {
    // `2026-03-02 10:15:03.207519`: space, microseconds, no offset.
    let mut o = Text::new();
    o.date_time(t.ordered_at_ms, " ")
        .num(t.ordered_us as u64, 3);
    o
}

#[derive(Serialize)]
struct WireTicket<'a> {
    ticket_id: u64,
    ticket_scan_code: Text,
    ticket_scanned_at: Option<Text>,
    ticket_updated_at: Text,
    ticket_canceled_at: Option<Text>,
    ticket_status: &'static str,
    ticket_seating: Option<()>,
    user_id: u64,
    deal_id: u64,
    deal_sub_category: Option<&'a str>,
    deal_title: &'a str,
    deal_channel: &'a str,
    deal_visibilities: &'a [&'a str],
    deal_price: i64,
    deal_service_fee: i64,
    deal_user_service_fee: i64,
    deal_producer_cost: i64,
    deal_vat_rate: f64,
    order_id: u64,
    currency: &'a str,
    payment_method: Option<&'a str>,
    utm_source: Option<&'a str>,
    utm_medium: Option<&'a str>,
    ordered_at: Text,
    event_id: u64,
    event_name: &'a str,
    event_start_time: Text,
    event_end_time: Text,
    event_created_at: Text,
    event_published_at: Option<Text>,
    event_launched_at: Option<Text>,
    event_canceled_at: Option<Text>,
    contact_id: u64,
    contact_email: Text,
    contact_phone: Option<&'a str>,
    contact_first_name: &'a str,
    contact_last_name: &'a str,
    contact_gender: &'a str,
    contact_company_name: Option<Text>,
    contact_birthday: Option<&'a str>,
    contact_newsletter_optin: bool,
    contact_country: &'a str,
    contact_postal_code: &'a str,
    contact_locality: &'a str,
}

fn wire<'a>(s: &'a State, t: &'a SimTicket) -> WireTicket<'a> {
    let e = t.event(s);
    let d = t.deal(s);
    let (utm_source, utm_medium) = UTMS[t.utm as usize];
    let (country, postal, locality) = GEOS[t.geo as usize];
    WireTicket {
        ticket_id: t.ticket_id,
        ticket_scan_code: *Text::new()
            .push("1")
            .num(t.ticket_id.wrapping_mul(7919) % 10_000_000_000_000, 13),
        ticket_scanned_at: t.scanned_at_ms.map(Text::iso),
        ticket_updated_at: Text::iso(t.updated_at_ms),
        ticket_canceled_at: t.canceled_at_ms.map(Text::iso),
        ticket_status: t.status.as_str(),
        ticket_seating: None,
        user_id: t.user_id,
        deal_id: d.id,
        deal_sub_category: d.sub_category,
        deal_title: d.title,
        deal_channel: d.channel,
        deal_visibilities: d.visibilities,
        deal_price: d.price,
        deal_service_fee: d.price / 10,
        deal_user_service_fee: d.price * 3 / 100,
        deal_producer_cost: 0,
        deal_vat_rate: 0.055,
        order_id: t.order_id,
        currency: e.currency,
        payment_method: PAYMENTS[t.payment as usize],
        utm_source,
        utm_medium,
        ordered_at: ordered_at(t),
        event_id: e.id,
        event_name: &e.name,
        event_start_time: Text::iso(e.start_ms),
        event_end_time: Text::iso(e.end_ms),
        event_created_at: Text::iso(e.created_ms),
        event_published_at: Some(Text::iso(e.created_ms + 7 * 86_400_000 + 120)),
        event_launched_at: Some(Text::iso(e.created_ms + 27 * 86_400_000 + 480)),
        event_canceled_at: e.canceled_ms.map(Text::iso),
        contact_id: t.user_id + 1_000_000,
        contact_email: canary_email(t.user_id),
        contact_phone: t.user_id.is_multiple_of(3).then_some(canary::PHONE),
        contact_first_name: canary::NAME,
        contact_last_name: canary::SURNAME,
        contact_gender: ["female", "male", "other"][(t.user_id % 3) as usize],
        contact_company_name: t
            .user_id
            .is_multiple_of(7)
            .then(|| *Text::new().push(canary::NAME).push(" Corp")),
        contact_birthday: None,
        contact_newsletter_optin: t.user_id.is_multiple_of(2),
        contact_country: country,
        contact_postal_code: postal,
        contact_locality: locality,
    }
}

/// `canary::email` on the stack (the same text; the test below keeps them equal).
fn canary_email(user_id: u64) -> Text {
    let (before, after) = CANARY_EMAIL_PARTS;
    *Text::new().push(before).num(user_id, 1).push(after)
}

/// `canary::email(n)` = before ∥ n ∥ after.
const CANARY_EMAIL_PARTS: (&str, &str) = ("canary.name+", "@example.invalid");

fn json_err(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": msg }))).into_response()
}

fn count(s: &mut State, route: &str, status: StatusCode) {
    *s.stats
        .by_route_status
        .entry((route.to_string(), status.as_u16()))
        .or_default() += 1;
}

fn rate_limited(s: &mut State) -> Option<Response> {
    let rl = s.cfg.rate_limit?;
    let now = Instant::now();
    let window = Duration::from_millis(rl.window_ms);
    while s
        .recent
        .front()
        .is_some_and(|t| now.duration_since(*t) > window)
    {
        s.recent.pop_front();
    }
    if s.recent.len() as u32 >= rl.requests {
        let mut r = json_err(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        r.headers_mut().insert(
            "retry-after",
            rl.retry_after_secs
                .to_string()
                .parse()
                .expect("digits are a header value"),
        );
        return Some(r);
    }
    s.recent.push_back(now);
    None
}

fn bearer_or_param(
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    param: &str,
) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| q.get(param).cloned())
}

/// Unconfirmed: the real API's status and body for a bad token are undocumented; 401 with a
/// small JSON error is what clients treat as "bad token", so the simulator answers that.
/// The wire as [`crate::faults`] needs it.
pub(crate) const FAULT_SHAPE: crate::faults::Shape = crate::faults::Shape {
    records: "/data",
    updated_at: &["ticket_updated_at"],
    refused: || json_err(BAD_TOKEN.0, BAD_TOKEN.1),
    server_error: || json_err(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
};

const BAD_TOKEN: (StatusCode, &str) = (StatusCode::UNAUTHORIZED, "Unauthorized: invalid token");

async fn tickets(
    AxState(sim): AxState<ShotgunSim>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = sim.lock();
    let r = tickets_inner(&mut s, &headers, &q);
    count(&mut s, "/tickets", r.status());
    r
}

fn truthy(v: Option<&String>) -> bool {
    matches!(v.map(String::as_str), Some("1" | "true"))
}

fn tickets_inner(s: &mut State, headers: &HeaderMap, q: &HashMap<String, String>) -> Response {
    if let Some(r) = rate_limited(s) {
        return r;
    }
    let via_param = q.contains_key("token");
    if bearer_or_param(headers, q, "token").as_deref() != Some(s.cfg.token.as_str()) {
        return json_err(BAD_TOKEN.0, BAD_TOKEN.1);
    }
    let Some(org) = q.get("organizer_id") else {
        return json_err(StatusCode::BAD_REQUEST, "organizer_id is required");
    };
    if org.parse::<u64>().ok() != Some(s.cfg.organizer_id) {
        return json_err(StatusCode::FORBIDDEN, "Forbidden: organizer mismatch");
    }
    let event_id: Option<u64> = q.get("event_id").and_then(|v| v.parse().ok());
    let cohosted = truthy(q.get("include_cohosted_events"));
    let after = match q.get("after") {
        None => None,
        Some(a) => {
            let (ts, id) = match a.split_once('_') {
                Some((ts, id)) => (ts, id.parse::<u64>().ok()),
                None => (a.as_str(), None),
            };
            match parse_iso(ts) {
                // Without an id, everything at that instant is past the bound.
                Some(ms) => Some((ms, id.unwrap_or(u64::MAX))),
                None => return json_err(StatusCode::BAD_REQUEST, "invalid after"),
            }
        }
    };
    let range = match after {
        Some(b) => s
            .order
            .range((std::ops::Bound::Excluded(b), std::ops::Bound::Unbounded)),
        None => s.order.range(..),
    };
    let mut page = Vec::with_capacity(PAGE);
    for (_, id) in range {
        let t = &s.tickets[(id - super::model::FIRST_TICKET_ID) as usize];
        let e = t.event(s);
        if event_id.is_some_and(|want| want != e.id) || (e.cohosted && !cohosted) {
            continue;
        }
        page.push(wire(s, t));
        if page.len() == PAGE {
            break;
        }
    }
    let next = (page.len() == PAGE).then(|| {
        let last = page.last().expect("page is full");
        let cursor = format!("{}_{}", last.ticket_updated_at.as_str(), last.ticket_id);
        let mut url = format!(
            "{}/tickets?organizer_id={}",
            s.cfg.public_base, s.cfg.organizer_id
        );
        if let Some(e) = event_id {
            url.push_str(&format!("&event_id={e}"));
        }
        url.push_str(&format!("&after={}", cursor.replace(':', "%3A")));
        if via_param {
            // Observed: with ?token=, `next` repeats the token.
            url.push_str(&format!("&token={}", s.cfg.token));
        }
        url
    });
    let body = Body {
        params: Params {
            organizer_id: s.cfg.organizer_id,
            event_id,
            include_cohosted_events: cohosted,
        },
        pagination: Pagination { next },
        data: page,
    };
    match body.to_json() {
        Ok(out) => (
            [("content-type", "application/json")],
            super::optional::shape(out, super::optional::TICKET_KEEP, s.cfg.optional_fields),
        )
            .into_response(),
        Err(_) => json_err(StatusCode::INTERNAL_SERVER_ERROR, "serialization failed"),
    }
}

#[derive(Serialize)]
struct Params {
    organizer_id: u64,
    event_id: Option<u64>,
    include_cohosted_events: bool,
}

#[derive(Serialize)]
struct Pagination {
    next: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    params: Params,
    pagination: Pagination,
    data: Vec<WireTicket<'a>>,
}

impl Body<'_> {
    /// The page as serde_json writes it, byte for byte (`hand_written_json_equals_serde`),
    /// with the tickets written by hand: the simulator shares the machine with the pipeline
    /// it feeds in benchmarks, and serde's per-field key escaping was most of its time.
    fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        // A full page is ~130 KB: one allocation instead of a dozen doublings.
        let mut out = Vec::with_capacity(1400 * self.data.len() + 512);
        out.extend_from_slice(b"{\"params\":");
        serde_json::to_writer(&mut out, &self.params)?;
        out.extend_from_slice(b",\"pagination\":");
        serde_json::to_writer(&mut out, &self.pagination)?;
        out.extend_from_slice(b",\"data\":[");
        for (i, t) in self.data.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            t.write_json(&mut out);
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }
}

/// A value written as serde_json writes it.
trait Json {
    fn json(&self, out: &mut Vec<u8>);
}

impl Json for u64 {
    fn json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(Text::new().num(*self, 1).as_str().as_bytes());
    }
}

impl Json for i64 {
    fn json(&self, out: &mut Vec<u8>) {
        if *self < 0 {
            out.push(b'-');
        }
        self.unsigned_abs().json(out);
    }
}

impl Json for bool {
    fn json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

impl Json for f64 {
    fn json(&self, out: &mut Vec<u8>) {
        // Finite by construction (a fixed VAT rate); serde_json's own float formatting.
        let _ = serde_json::to_writer(&mut *out, self);
    }
}

impl Json for () {
    fn json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"null");
    }
}

impl Json for str {
    fn json(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        let b = self.as_bytes();
        let mut start = 0;
        for (i, &c) in b.iter().enumerate() {
            let esc: &[u8] = match c {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                0..=0x1f => {
                    out.extend_from_slice(&b[start..i]);
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(c >> 4) as usize]);
                    out.push(HEX[(c & 0xf) as usize]);
                    start = i + 1;
                    continue;
                }
                _ => continue,
            };
            out.extend_from_slice(&b[start..i]);
            out.extend_from_slice(esc);
            start = i + 1;
        }
        out.extend_from_slice(&b[start..]);
        out.push(b'"');
    }
}

impl Json for Text {
    fn json(&self, out: &mut Vec<u8>) {
        self.as_str().json(out);
    }
}

impl<T: Json + ?Sized> Json for &T {
    fn json(&self, out: &mut Vec<u8>) {
        (**self).json(out);
    }
}

impl<T: Json> Json for Option<T> {
    fn json(&self, out: &mut Vec<u8>) {
        match self {
            Some(v) => v.json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: Json> Json for [T] {
    fn json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            v.json(out);
        }
        out.push(b']');
    }
}

/// `{"a":…,"b":…}` for the listed fields of `$w`, in the order given (the struct's order).
macro_rules! write_fields {
    ($out:expr, $w:expr; $first:ident $(, $f:ident)* $(,)?) => {{
        $out.extend_from_slice(concat!("{\"", stringify!($first), "\":").as_bytes());
        $w.$first.json($out);
        $(
            $out.extend_from_slice(concat!(",\"", stringify!($f), "\":").as_bytes());
            $w.$f.json($out);
        )*
        $out.push(b'}');
    }};
}

impl WireTicket<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        write_fields!(out, self;
            ticket_id, ticket_scan_code, ticket_scanned_at, ticket_updated_at,
            ticket_canceled_at, ticket_status, ticket_seating, user_id, deal_id,
            deal_sub_category, deal_title, deal_channel, deal_visibilities, deal_price,
            deal_service_fee, deal_user_service_fee, deal_producer_cost, deal_vat_rate,
            order_id, currency, payment_method, utm_source, utm_medium, ordered_at, event_id,
            event_name, event_start_time, event_end_time, event_created_at,
            event_published_at, event_launched_at, event_canceled_at, contact_id,
            contact_email, contact_phone, contact_first_name, contact_last_name,
            contact_gender, contact_company_name, contact_birthday, contact_newsletter_optin,
            contact_country, contact_postal_code, contact_locality,
        );
    }
}

async fn events(
    AxState(sim): AxState<ShotgunSim>,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut s = sim.lock();
    let r = events_inner(&s, &org, &q);
    count(&mut s, "/events", r.status());
    r
}

fn events_inner(s: &State, org: &str, q: &HashMap<String, String>) -> Response {
    if q.get("key") != Some(&s.cfg.token) {
        return json_err(BAD_TOKEN.0, BAD_TOKEN.1);
    }
    if org.parse::<u64>().ok() != Some(s.cfg.organizer_id) {
        return json_err(StatusCode::FORBIDDEN, "Forbidden");
    }
    let past = truthy(q.get("past_events"));
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let limit: usize = q
        .get("limit")
        .and_then(|p| p.parse().ok())
        .unwrap_or(EVENTS_DEFAULT_LIMIT)
        .max(1);
    let valid = super::model::valid_per_event(s);
    let mut list: Vec<(usize, &super::SimEvent)> = s
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| (e.end_ms < s.now_ms) == past)
        .collect();
    // Newest first, as observed.
    list.sort_by_key(|(_, e)| std::cmp::Reverse(e.start_ms));
    let data: Vec<serde_json::Value> = list
        .into_iter()
        .skip(page * limit)
        .take(limit)
        .map(|(i, e)| {
            let capacity: u64 = e.deals.iter().map(|d| d.quantity).sum();
            let left = capacity.saturating_sub(*valid.get(&(i as u32)).unwrap_or(&0));
            serde_json::json!({
                "id": e.id,
                "name": e.name,
                "slug": e.name.to_lowercase().replace(' ', "-"),
                "startTime": iso_ms(e.start_ms),
                "endTime": iso_ms(e.end_ms),
                "timezone": "Europe/Paris",
                "leftTicketsCount": left,
                "cancelledAt": e.canceled_ms.map(iso_ms),
                "publishedAt": iso_ms(e.created_ms + 7 * 86_400_000),
                "launchedAt": iso_ms(e.created_ms + 27 * 86_400_000),
                "geolocation": {"city": e.city, "zipCode": "69007", "countryIsoCode": "FR"},
                "organizer": {"name": "Simulated Organizer", "slug": "simulated-organizer"},
                "deals": e.deals.iter().map(|d| serde_json::json!({
                    "name": d.title,
                    "product_id": d.id,
                    "quantity": d.quantity,
                    "subcategory": d.sub_category.map(|n| serde_json::json!({"id": d.id % 100, "name": n})),
                    "price": d.price as f64 / 100.0,
                    "organizer_fees": (d.price / 10) as f64 / 100.0,
                    "user_fees": (d.price * 3 / 100) as f64 / 100.0,
                    "sales_channel": d.channel,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({ "data": data })).expect("JSON serializes");
    (
        [("content-type", "application/json")],
        super::optional::shape(body, super::optional::EVENT_KEEP, s.cfg.optional_fields),
    )
        .into_response()
}

pub fn router(sim: ShotgunSim) -> Router {
    Router::new()
        .route("/tickets", get(tickets))
        .route("/api/shotgun/organizers/{org}/events", get(events))
        .route(
            "/",
            get(|| async { json_err(StatusCode::TOO_MANY_REQUESTS, "Too many requests") }),
        )
        .fallback(|| async { json_err(StatusCode::NOT_FOUND, "Not found") })
        .with_state(sim)
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn hand_written_json_equals_serde() {
        let sim = ShotgunSim::new(super::super::ShotgunConfig {
            tickets: 3_000,
            ..Default::default()
        });
        // Changes after the start: refunds, cancellations, scans, resales.
        sim.advance(600);
        let s = sim.lock();
        let wires: Vec<WireTicket> = s.tickets.iter().map(|t| wire(&s, t)).collect();
        let mut pages = 0;
        for (i, chunk) in wires.chunks(100).enumerate() {
            let body = Body {
                params: Params {
                    organizer_id: s.cfg.organizer_id,
                    event_id: (i % 2 == 0).then_some(7),
                    include_cohosted_events: i % 3 == 0,
                },
                pagination: Pagination {
                    next: (i % 2 == 1).then(|| "https://x/tickets?after=a%3Ab".to_string()),
                },
                data: chunk.iter().map(|w| WireTicket { ..*w }).collect(),
            };
            let want = serde_json::to_vec(&body).unwrap();
            let got = body.to_json().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "page {i}"
            );
            pages += 1;
        }
        assert!(pages >= 30);
        for odd in [
            "",
            "a\"b\\c",
            "tab\tnl\ncr\r",
            "\u{1}\u{8}\u{c}\u{1f}\u{7f}",
            "Москва ✓",
        ] {
            let mut out = Vec::new();
            odd.json(&mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(odd).unwrap()
            );
        }
    }

    #[test]
    fn stack_texts_equal_the_formatted_ones() {
        for ms in [
            0i64,
            1_772_446_503_207,
            1_700_000_000_001,
            951_782_400_000,
            4_102_444_799_999,
        ] {
            let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
            let (y, m, d) = civil_from_days(days);
            let want = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
                rem / 3_600_000,
                rem / 60_000 % 60,
                rem / 1000 % 60,
                rem % 1000
            );
            assert_eq!(iso_ms(ms), want);
            for us in [0u16, 7, 519, 999] {
                let mut o = Text::new();
                o.date_time(ms, " ").num(us as u64, 3);
                let old = format!("{} {}{:03}", &want[..10], &want[11..23], us);
                assert_eq!(o.as_str(), old);
            }
        }
        for id in [0, 7, 1_000_000_123, u32::MAX as u64] {
            assert_eq!(canary_email(id).as_str(), canary::email(id));
        }
        for id in [20_000_001u64, 99_999_999_999] {
            let code = *Text::new()
                .push("1")
                .num(id.wrapping_mul(7919) % 10_000_000_000_000, 13);
            assert_eq!(code.as_str(), ShotgunSim::scan_code(id));
        }
    }
}
