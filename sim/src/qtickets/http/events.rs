//! `/events` (list with the query language, one by id) and the event wire shape with its
//! shows, each show with its prices and seat-scheme properties (zones, rows, disabled seats).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::query::{compile, order_keys, parse_query, select_page, Column, Kind};
use super::responses::{bad_token, html_404, not_found, shaped, ListBody, OneBody, Paging, NONE};
use super::unconfirmed::EVENTS_PER_PAGE;
use super::{authorized, count, numeric_id, SITE_HOST};
use crate::qtickets::model::{self, fmt_msk, Show, CITIES, FRONT_ROWS};
use crate::qtickets::optional::Body;
use crate::qtickets::{QticketsSim, State};

const E_ID: u8 = 0;
const E_ACTIVE: u8 = 1;
const E_CITY: u8 = 2;
const E_CREATED: u8 = 3;
const E_UPDATED: u8 = 4;
const E_DELETED: u8 = 5;

fn event_column(name: &str) -> Column {
    match name {
        "id" => Column::Known(E_ID, Kind::Num),
        "is_active" => Column::Known(E_ACTIVE, Kind::Bool),
        "city_id" => Column::Known(E_CITY, Kind::Num),
        "created_at" => Column::Known(E_CREATED, Kind::Time),
        "updated_at" => Column::Known(E_UPDATED, Kind::Time),
        "deleted_at" => Column::Known(E_DELETED, Kind::Time),
        _ => Column::Unknown,
    }
}

fn event_cell(s: &State, i: usize, c: u8) -> Option<i64> {
    let e = &s.events[i];
    match c {
        E_ID => Some(e.id as i64),
        E_ACTIVE => Some(e.deleted_s.is_none() as i64),
        E_CITY => Some(CITIES[e.city].id as i64),
        E_CREATED => Some(e.created_s * 1000),
        E_UPDATED => Some(e.updated_s * 1000),
        E_DELETED => e.deleted_s.map(|d| d * 1000),
        _ => None,
    }
}

#[derive(Serialize, Clone)]
struct WPrice {
    id: u64,
    default_price: u32,
    color_theme: String,
    modifiers: &'static [u8],
}

#[derive(Serialize)]
struct Spread {
    enabled: &'static str,
}

#[derive(Serialize)]
struct AdminZone {
    opened: &'static str,
    was_opened: &'static str,
}

#[derive(Serialize)]
struct Admin {
    zones: BTreeMap<&'static str, AdminZone>,
}

#[derive(Serialize)]
struct SRow {
    disabled: &'static str,
    spread: Spread,
    price_id: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum SRows {
    Map(BTreeMap<u32, SRow>),
    List([&'static str; 1]),
}

#[derive(Serialize)]
struct SZone {
    disabled: &'static str,
    spread: Spread,
    price_id: String,
    label: &'static str,
    rows: SRows,
}

#[derive(Serialize)]
struct SSeat {
    disabled: &'static str,
}

#[derive(Serialize)]
struct SchemeProps {
    admin: Admin,
    zones: BTreeMap<&'static str, SZone>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    seats: BTreeMap<String, SSeat>,
}

#[derive(Serialize)]
struct WShow {
    id: u64,
    name: &'static str,
    is_active: u8,
    sale_start_date: Option<String>,
    sale_finish_date: String,
    open_date: String,
    start_date: String,
    finish_date: String,
    scheme_properties: SchemeProps,
    prices: Vec<WPrice>,
    min_price: Option<WPrice>,
    max_price: Option<WPrice>,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

#[derive(Serialize)]
struct WPayment {
    id: u64,
    is_active: bool,
    name: &'static str,
    handler: &'static str,
    agree_url: String,
}

#[derive(Serialize)]
struct WPoster {
    id: u64,
    content_type: &'static str,
    file_size: u64,
    url: String,
}

#[derive(Serialize)]
struct WCity {
    id: u64,
    name: &'static str,
    timezone: &'static str,
}

#[derive(Serialize)]
struct WNamed {
    id: u64,
    is_active: u8,
    name: &'static str,
}

#[derive(Serialize)]
struct WEvent {
    id: u64,
    is_active: u8,
    name: String,
    scheme_id: u64,
    currency_id: &'static str,
    place_name: &'static str,
    place_address: &'static str,
    place_description: &'static str,
    city_id: u64,
    description: &'static str,
    site_url: String,
    external_id: Option<u64>,
    ticket_id: u64,
    mail_template_id: u64,
    age: &'static str,
    shows: Vec<WShow>,
    payments: Vec<WPayment>,
    poster: WPoster,
    event_type_id: u64,
    city: WCity,
    ticket: WNamed,
    mail_template: WNamed,
    slug: String,
    place_coordinates: [f64; 2],
    url: String,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

fn wire_show(s: &State, sh: &Show) -> WShow {
    let mut prices = Vec::new();
    let mut admin = BTreeMap::new();
    let mut zones = BTreeMap::new();
    let mut seats = BTreeMap::new();
    for (z, zone) in sh.zones.iter().enumerate() {
        let price = |id: u64, p: u32, theme: usize| WPrice {
            id,
            default_price: p,
            color_theme: (1 + (z * 2 + theme) % 8).to_string(),
            modifiers: NONE,
        };
        if zone.is_seated() {
            prices.push(price(zone.front_price_id, zone.front_price, 0));
            prices.push(price(zone.price_id, zone.price, 1));
        } else {
            prices.push(price(zone.price_id, zone.price, 0));
        }
        admin.insert(
            zone.code,
            AdminZone {
                opened: "1",
                was_opened: "1",
            },
        );
        let rows = if zone.is_seated() {
            SRows::Map(
                (1..=zone.rows)
                    .map(|r| {
                        let pid = if r <= FRONT_ROWS {
                            zone.front_price_id
                        } else {
                            zone.price_id
                        };
                        (
                            r,
                            SRow {
                                disabled: "0",
                                spread: Spread { enabled: "" },
                                price_id: pid.to_string(),
                            },
                        )
                    })
                    .collect(),
            )
        } else {
            SRows::List([""])
        };
        zones.insert(
            zone.code,
            SZone {
                disabled: "0",
                spread: Spread { enabled: "" },
                price_id: if zone.is_seated() {
                    String::new()
                } else {
                    zone.price_id.to_string()
                },
                label: "",
                rows,
            },
        );
        for (p, st) in zone.places.iter().enumerate() {
            if *st == model::DISABLED {
                seats.insert(zone.seat_id(p as u32), SSeat { disabled: "1" });
            }
        }
    }
    let min = prices.iter().min_by_key(|p| p.default_price).cloned();
    let max = prices.iter().max_by_key(|p| p.default_price).cloned();
    let several = prices.len() > 1;
    let deleted = s.events[sh.event].deleted_s;
    WShow {
        id: sh.id,
        name: sh.name,
        is_active: deleted.is_none() as u8,
        sale_start_date: sh.sale_start_s.map(fmt_msk),
        sale_finish_date: fmt_msk(sh.start_s),
        open_date: fmt_msk(sh.start_s - 3_600),
        start_date: fmt_msk(sh.start_s),
        finish_date: fmt_msk(sh.start_s + sh.duration_s),
        scheme_properties: SchemeProps {
            admin: Admin { zones: admin },
            zones,
            seats,
        },
        prices,
        min_price: if several { min } else { None },
        max_price: if several { max } else { None },
        created_at: fmt_msk(sh.created_s),
        updated_at: fmt_msk(sh.updated_s),
        deleted_at: None,
    }
}

fn wire_event(s: &State, i: usize) -> WEvent {
    let e = &s.events[i];
    let city = &CITIES[e.city];
    WEvent {
        id: e.id,
        is_active: e.deleted_s.is_none() as u8,
        name: e.name.clone(),
        scheme_id: 5_101 + i as u64,
        currency_id: e.currency,
        place_name: e.place_name,
        place_address: e.place_address,
        place_description: "",
        city_id: city.id,
        description: if i.is_multiple_of(2) {
            "Событие симулятора."
        } else {
            ""
        },
        site_url: format!("https://{SITE_HOST}/{}/", e.slug),
        external_id: None,
        ticket_id: 35,
        mail_template_id: 31,
        age: e.age,
        shows: e
            .shows
            .iter()
            .map(|&sh| wire_show(s, &s.shows[sh]))
            .collect(),
        payments: if e.with_payments {
            vec![WPayment {
                id: 3001,
                is_active: true,
                name: "Банковская карта",
                handler: "sim_gateway",
                agree_url: format!("https://{SITE_HOST}/offer"),
            }]
        } else {
            Vec::new()
        },
        poster: WPoster {
            id: 80_001 + i as u64,
            content_type: if i.is_multiple_of(2) {
                "image/jpeg"
            } else {
                "image/png"
            },
            file_size: 65_536 + 4_096 * i as u64,
            url: format!(
                "https://qtickets.ru/storage/app/uploads/public/000/000/000/sim-poster-{}.jpg",
                e.id
            ),
        },
        event_type_id: e.event_type_id,
        city: WCity {
            id: city.id,
            name: city.name,
            timezone: city.timezone,
        },
        ticket: WNamed {
            id: 35,
            is_active: 1,
            name: "Sim ticket template",
        },
        mail_template: WNamed {
            id: 31,
            is_active: 1,
            name: "Sim mail template",
        },
        slug: e.slug.clone(),
        place_coordinates: [city.coords.0, city.coords.1],
        url: format!("https://{}.qtickets.events/{}-{}", city.host, e.id, e.slug),
        created_at: fmt_msk(e.created_s),
        updated_at: fmt_msk(e.updated_s),
        deleted_at: e.deleted_s.map(fmt_msk),
    }
}

/// One event as the API serializes it (for tests).
#[cfg(test)]
pub(crate) fn event_json(s: &State, i: usize) -> String {
    serde_json::to_string(&wire_event(s, i)).expect("events serialize")
}

pub(super) async fn events_list(
    AxState(sim): AxState<QticketsSim>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = sim.lock();
    let r = events_list_inner(&s, &headers, &body);
    count(&mut s, "/events", r.status());
    r
}

fn events_list_inner(s: &State, headers: &HeaderMap, body: &[u8]) -> Response {
    if !authorized(s, headers) {
        return bad_token();
    }
    let q = match parse_query(body) {
        Ok(q) => q,
        Err(r) => return r.into_response(),
    };
    let (preds, keys) = match (compile(&q, &event_column), order_keys(&q, &event_column)) {
        (Ok(p), Ok(k)) => (p, k),
        (Err(r), _) | (_, Err(r)) => return r.into_response(),
    };
    let (page, total) = select_page(
        s.events.len(),
        &preds,
        &keys,
        &|i, c| event_cell(s, i, c),
        q.page,
        EVENTS_PER_PAGE,
    );
    shaped(
        s,
        Body::Events,
        StatusCode::OK,
        &ListBody {
            data: page.into_iter().map(|i| wire_event(s, i)).collect(),
            paging: Paging {
                per_page: EVENTS_PER_PAGE,
                current_page: q.page,
                total,
            },
        },
    )
}

pub(super) async fn event_one(
    AxState(sim): AxState<QticketsSim>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut s = sim.lock();
    let r = match numeric_id(&id) {
        None => {
            count(&mut s, "404", StatusCode::NOT_FOUND);
            return html_404();
        }
        Some(_) if !authorized(&s, &headers) => bad_token(),
        Some(id) => match s.events.iter().position(|e| e.id == id) {
            Some(i) => shaped(
                &s,
                Body::Events,
                StatusCode::OK,
                &OneBody {
                    data: wire_event(&s, i),
                },
            ),
            None => not_found("Event", id),
        },
    };
    count(&mut s, "/events/{id}", r.status());
    r
}
