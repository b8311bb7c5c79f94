//! `/shows/{id}/seats`: a show's seat map, nested by zone or `flat`, with every place's
//! quantities as the orders left them and the tariff copies of row 1; `select` keeps only the
//! named keys. Written straight into one string (a large hall is tens of thousands of nodes).

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::query::{parse_query, Query};
use super::responses::{bad_token, html_404, json_bytes, not_found};
use super::unconfirmed::{IN_BASKET_QUANTITY, TARIFF_SURCHARGE_PCT};
use super::{authorized, count, numeric_id};
use crate::qtickets::model::{Show, Zone, TARIFF_PREFIX};
use crate::qtickets::optional::{self, Body};
use crate::qtickets::{QticketsSim, State};

/// Writes `{"k":v,...}` keeping only the selected keys, in the canonical order.
struct ObjWriter<'a> {
    out: &'a mut String,
    select: Option<&'a [String]>,
    first: bool,
}

impl<'a> ObjWriter<'a> {
    fn new(out: &'a mut String, select: Option<&'a [String]>) -> Self {
        out.push('{');
        Self {
            out,
            select,
            first: true,
        }
    }
    fn field(&mut self, key: &str, v: impl Serialize) {
        if self.select.is_some_and(|sel| !sel.iter().any(|k| k == key)) {
            return;
        }
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
            .push_str(&serde_json::to_string(&v).expect("scalars serialize"));
    }
    fn end(self) {
        self.out.push('}');
    }
}

fn push_key(out: &mut String, key: &str) {
    out.push_str(&serde_json::to_string(key).expect("strings serialize"));
    out.push(':');
}

/// One seat node; `tariff` = the copy of the plain seat under a tariff prefix.
fn write_seat(
    out: &mut String,
    select: Option<&[String]>,
    zone: &Zone,
    place: u32,
    tariff: bool,
    currency: &str,
) {
    let root = zone.seat_id(place);
    let id = if tariff {
        format!("{TARIFF_PREFIX}{root}")
    } else {
        root.clone()
    };
    let (row, pl) = zone.row_place(place);
    let q = zone.qty(place);
    let mut price = zone.price_of(place);
    if tariff {
        price += price * TARIFF_SURCHARGE_PCT / 100;
    }
    let mut w = ObjWriter::new(out, select);
    w.field("id", &id);
    w.field("root_id", &root);
    w.field("zone_id", zone.code);
    w.field("zone_root_id", zone.code);
    w.field("name", zone.seat_name(place));
    w.field("row", row.to_string());
    w.field("place", pl.to_string());
    w.field("admission", !zone.is_seated());
    w.field("max_quantity", q.max);
    w.field("free_quantity", q.free);
    w.field("ordered_quantity", q.held);
    w.field("payed_quantity", q.paid);
    w.field("in_basket_quantity", IN_BASKET_QUANTITY);
    w.field("available", !q.disabled && q.free > 0);
    w.field("disabled", q.disabled);
    w.field("ordered", q.held + q.paid > 0);
    w.field("price", price);
    w.field("currency_id", currency);
    w.end();
}

/// Every node of a zone as (place, is tariff copy), in map order.
fn zone_nodes(zone: &Zone) -> Vec<(u32, bool)> {
    if !zone.is_seated() {
        return vec![(0, false)];
    }
    let mut v = Vec::with_capacity(zone.places.len() + zone.per_row as usize);
    for p in 0..zone.places.len() as u32 {
        v.push((p, false));
        if zone.has_tariff_copy(p) {
            v.push((p, true));
        }
    }
    v
}

fn seats_json(s: &State, sh: &Show, q: &Query) -> String {
    let currency = s.events[sh.event].currency;
    let select = q.select.as_deref();
    let mut out = String::with_capacity(64 + 400 * sh.zones.len());
    out.push_str("{\"data\":{");
    let mut first = true;
    for zone in &sh.zones {
        if !q.flat {
            if !first {
                out.push(',');
            }
            first = false;
            push_key(&mut out, zone.code);
            let mut w = ObjWriter::new(&mut out, None);
            w.field("zone_id", zone.code);
            w.field("name", zone.name);
            w.field("description", "");
            // The writer's closing brace comes after the seats.
            out.push_str(",\"seats\":{");
        }
        let mut first_seat = true;
        for (place, tariff) in zone_nodes(zone) {
            let root = zone.seat_id(place);
            let key = match (q.flat, tariff) {
                (true, false) => root,
                (true, true) => format!("{TARIFF_PREFIX}{root}"),
                (false, t) => {
                    let (r, p) = zone.row_place(place);
                    format!("{}{r};{p}", if t { TARIFF_PREFIX } else { "" })
                }
            };
            let sep = if q.flat { &mut first } else { &mut first_seat };
            if !*sep {
                out.push(',');
            }
            *sep = false;
            push_key(&mut out, &key);
            write_seat(&mut out, select, zone, place, tariff, currency);
        }
        if !q.flat {
            out.push_str("}}");
        }
    }
    out.push_str("}}");
    out
}

pub(super) async fn show_seats(
    AxState(sim): AxState<QticketsSim>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = sim.lock();
    let r = match numeric_id(&id) {
        None => {
            count(&mut s, "404", StatusCode::NOT_FOUND);
            return html_404();
        }
        Some(_) if !authorized(&s, &headers) => bad_token(),
        Some(_) if s.cfg.seats_fault.is_some() => {
            let (status, ct, body) = optional::seats_failure(s.cfg.seats_fault.expect("checked"));
            (
                StatusCode::from_u16(status).expect("a valid status"),
                [(header::CONTENT_TYPE, ct)],
                body,
            )
                .into_response()
        }
        Some(id) => match parse_query(&body) {
            Err(r) => r.into_response(),
            Ok(q) => match s.shows.iter().find(|sh| sh.id == id) {
                Some(sh) => json_bytes(
                    StatusCode::OK,
                    optional::shape(
                        seats_json(&s, sh, &q).into_bytes(),
                        Body::Seats,
                        s.cfg.optional_fields,
                    ),
                ),
                None => not_found("Show", id),
            },
        },
    };
    count(&mut s, "/shows/{id}/seats", r.status());
    r
}
