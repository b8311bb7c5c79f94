//! The simulator's routes (under `/api/rest/v1`), the JSON-body query language (`where`,
//! `orderBy`, `page`, `select`, `flat`) and the wire shapes, key for key in the order of the
//! vendor's example pages. Every choice the reference marks `[?]` is a named constant in the
//! `UNCONFIRMED` block below.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use serde_json::Value;

use super::model::{
    self, barcode, fmt_msk, parse_ts, token32, uniqid, variant, Basket, Event, Order, Show, Zone,
    CITIES, DAY, FIRST_BASKET_ID, FIRST_CLIENT_ID, FIRST_ORDER_ID, FRONT_ROWS, TARIFF_PREFIX,
};
use super::optional::{self, Body};
use super::{QticketsSim, State};
use crate::canary;

pub const PREFIX: &str = "/api/rest/v1";

// ---------------------------------------------------------------------------------------------
// UNCONFIRMED choices (the reference marks these `[?]`); each is one constant.

// UNCONFIRMED: status, message and code for a missing or wrong token (docs show 403; the code
// is the one the Partners API answered with a REST token).
const BAD_TOKEN: (StatusCode, &str, &str) = (
    StatusCode::FORBIDDEN,
    "Wrong authorization",
    "WRONG_AUTHORIZATION",
);
// UNCONFIRMED: a body that is not JSON (or a malformed `where`/`orderBy`/value) → 400.
const BAD_BODY: (StatusCode, &str, &str) = (StatusCode::BAD_REQUEST, "Bad request", "BAD_REQUEST");
// UNCONFIRMED: page sizes are fixed; `perPage`/`per_page` in the body are ignored.
const ORDERS_PER_PAGE: usize = 50;
const EVENTS_PER_PAGE: usize = 10;
// UNCONFIRMED: a `where` column or `orderBy` key the simulator does not know answers like the
// observed `payed_at` filter: 503 UNKNOWN_ERROR.
const UNKNOWN_COLUMN_IS_503: bool = true;
// UNCONFIRMED: `in array` / `not in array` behave as `in` / `not in` on scalar columns.
const IN_ARRAY_IS_IN: bool = true;
// UNCONFIRMED: seat nodes: `ordered_quantity` counts places held by unpaid orders,
// `in_basket_quantity` (carts not yet ordered) is always 0.
const IN_BASKET_QUANTITY: u32 = 0;
// UNCONFIRMED: seat `row` and `place` are strings.
// UNCONFIRMED: in the non-flat seat map, a tariff copy is keyed `full_3;7` (its id without
// the zone), since `row;place` would collide with its plain seat.
// UNCONFIRMED: a tariff copy costs this much more (percent) than its plain seat.
const TARIFF_SURCHARGE_PCT: u32 = 20;
// UNCONFIRMED: `where` on `/shows/{id}/seats` is accepted and ignored.
// UNCONFIRMED: unpaid (reserved) orders' baskets already carry a barcode and ticket URLs.
const UNPAID_HAVE_BARCODES: bool = true;
// UNCONFIRMED: a refund leaves the order's `price` unchanged.
// UNCONFIRMED: `fault_every` counts `GET /orders` list requests only (`FAULT_SHAPE`).
// UNCONFIRMED: several `orderBy` keys apply in alphabetical key order (then `id asc`).

// ---------------------------------------------------------------------------------------------
// Responses

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A JSON answer of `kind` with the optional fields as the simulation is configured.
fn shaped(s: &State, kind: Body, status: StatusCode, v: &impl Serialize) -> Response {
    let body = serde_json::to_vec(v).expect("responses serialize");
    json_bytes(status, optional::shape(body, kind, s.cfg.optional_fields))
}

fn json_of(status: StatusCode, v: &impl Serialize) -> Response {
    match serde_json::to_vec(v) {
        Ok(b) => json_bytes(status, b),
        Err(_) => unknown_error(),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a, I: Serialize> {
    error: &'a str,
    status: u16,
    code: &'a str,
    info: I,
}

fn envelope(status: StatusCode, error: &str, code: &str) -> Response {
    let empty: &[u8] = &[];
    json_of(
        status,
        &ErrorBody {
            error,
            status: status.as_u16(),
            code,
            info: empty,
        },
    )
}

fn unknown_error() -> Response {
    envelope(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unknown error",
        "UNKNOWN_ERROR",
    )
}

fn bad_request() -> Response {
    envelope(BAD_BODY.0, BAD_BODY.1, BAD_BODY.2)
}

fn not_found(resource: &str, id: u64) -> Response {
    #[derive(Serialize)]
    struct Info<'a> {
        id: u64,
        resource: &'a str,
    }
    json_of(
        StatusCode::NOT_FOUND,
        &ErrorBody {
            error: &format!("Resource \"{resource}\" not found"),
            status: 404,
            code: "RESOURCE_NOT_FOUND",
            info: Info { id, resource },
        },
    )
}

const HTML_404: &str = "<!DOCTYPE html>\n<html lang=\"ru\">\n<head><meta charset=\"UTF-8\">\
<title>404 Not Found</title></head>\n<body><h1>404</h1><p>Страница не найдена</p></body>\n</html>\n";

fn html_404() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        HTML_404,
    )
        .into_response()
}

fn count(s: &mut State, route: &str, status: StatusCode) {
    *s.stats
        .by_route_status
        .entry((route.to_string(), status.as_u16()))
        .or_default() += 1;
}

fn authorized(s: &State, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == s.cfg.token)
}

/// The wire as [`crate::faults`] needs it: orders and events under `/data`, an order's and
/// its baskets' `updated_at`.
pub(crate) const FAULT_SHAPE: crate::faults::Shape = crate::faults::Shape {
    records: "/data",
    updated_at: &["updated_at"],
    refused: bad_token,
    server_error: unknown_error,
};

fn bad_token() -> Response {
    envelope(BAD_TOKEN.0, BAD_TOKEN.1, BAD_TOKEN.2)
}

/// Route ids are digits; anything else is not a route at all (HTML 404, as `/orders/filter`).
fn numeric_id(id: &str) -> Option<u64> {
    if id.is_empty() || !id.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// The JSON-body query language

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    In,
    NotIn,
    Null,
    NotNull,
}

fn op_of(text: &str) -> Option<Op> {
    Some(match text.trim().to_ascii_lowercase().as_str() {
        "=" | "==" => Op::Eq,
        "!=" | "<>" => Op::Ne,
        "<" => Op::Lt,
        ">" => Op::Gt,
        "<=" => Op::Le,
        ">=" => Op::Ge,
        "in" => Op::In,
        "not in" => Op::NotIn,
        "in array" if IN_ARRAY_IS_IN => Op::In,
        "not in array" if IN_ARRAY_IS_IN => Op::NotIn,
        "null" | "is null" => Op::Null,
        "not null" | "is not null" => Op::NotNull,
        _ => return None,
    })
}

/// A parsed request body. Empty body = no filters, page 1.
#[derive(Default)]
struct Query {
    wheres: Vec<(String, Op, Value)>,
    order_by: Vec<(String, bool)>,
    page: usize,
    select: Option<Vec<String>>,
    flat: bool,
}

fn truthy(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

fn parse_query(body: &[u8]) -> Result<Query, Reject> {
    let mut q = Query {
        page: 1,
        ..Default::default()
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(q);
    }
    let v: Value = serde_json::from_slice(body).map_err(|_| Reject::BadRequest)?;
    let obj = match v {
        Value::Object(o) => o,
        Value::Null => return Ok(q),
        _ => return Err(Reject::BadRequest),
    };
    match obj.get("where") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for it in items {
                let Some(col) = it.get("column").and_then(Value::as_str) else {
                    return Err(Reject::BadRequest);
                };
                let op = match it.get("operator") {
                    None | Some(Value::Null) => Op::Eq,
                    Some(Value::String(o)) => op_of(o).ok_or(Reject::BadRequest)?,
                    Some(_) => return Err(Reject::BadRequest),
                };
                let value = it.get("value").cloned().unwrap_or(Value::Null);
                q.wheres.push((col.to_string(), op, value));
            }
        }
        Some(_) => return Err(Reject::BadRequest),
    }
    match obj.get("orderBy") {
        None | Some(Value::Null) => {}
        Some(Value::Object(o)) => {
            for (col, dir) in o {
                let desc = match dir.as_str().map(|d| d.trim().to_ascii_lowercase()) {
                    Some(d) if d == "asc" => false,
                    Some(d) if d == "desc" => true,
                    _ => return Err(Reject::BadRequest),
                };
                q.order_by.push((col.clone(), desc));
            }
        }
        Some(Value::String(col)) => q.order_by.push((col.clone(), false)),
        Some(_) => return Err(Reject::BadRequest),
    }
    q.page = match obj.get("page") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(1) as usize,
        Some(Value::String(s)) => s.trim().parse().unwrap_or(1),
        _ => 1,
    }
    .max(1);
    match obj.get("select") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            let mut sel = Vec::new();
            for k in a {
                sel.push(k.as_str().ok_or(Reject::BadRequest)?.to_string());
            }
            q.select = Some(sel);
        }
        Some(_) => return Err(Reject::BadRequest),
    }
    q.flat = match obj.get("flat") {
        None => false,
        Some(v) => truthy(v).ok_or(Reject::BadRequest)?,
    };
    Ok(q)
}

/// Why a query is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reject {
    BadRequest,
    UnknownError,
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        match self {
            Reject::BadRequest => bad_request(),
            Reject::UnknownError => unknown_error(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Num,
    Bool,
    /// Cells in unix milliseconds; values are ISO strings.
    Time,
}

/// How a resource resolves a column name.
enum Column {
    Known(u8, Kind),
    /// Answers 503 UNKNOWN_ERROR (observed for `payed_at` on `/orders`).
    Fails,
    Unknown,
}

enum Pred {
    Cmp(u8, Op, i64),
    In(u8, Vec<i64>, bool),
    IsNull(u8, bool),
}

fn scalar(kind: Kind, v: &Value) -> Option<i64> {
    match kind {
        Kind::Num => match v {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        },
        Kind::Bool => truthy(v).map(i64::from),
        Kind::Time => v.as_str().and_then(parse_ts),
    }
}

fn resolve(name: &str, columns: &dyn Fn(&str) -> Column) -> Result<(u8, Kind), Reject> {
    match columns(name) {
        Column::Known(c, k) => Ok((c, k)),
        Column::Fails => Err(Reject::UnknownError),
        Column::Unknown if UNKNOWN_COLUMN_IS_503 => Err(Reject::UnknownError),
        Column::Unknown => Err(Reject::BadRequest),
    }
}

fn compile(q: &Query, columns: &dyn Fn(&str) -> Column) -> Result<Vec<Pred>, Reject> {
    // A failing column anywhere fails the request before anything else is looked at.
    for (col, _, _) in &q.wheres {
        if let Column::Fails = columns(col) {
            return Err(Reject::UnknownError);
        }
    }
    let mut out = Vec::new();
    for (col, op, value) in &q.wheres {
        let (c, kind) = resolve(col, columns)?;
        out.push(match op {
            Op::Null => Pred::IsNull(c, false),
            Op::NotNull => Pred::IsNull(c, true),
            Op::Eq if value.is_null() => Pred::IsNull(c, false),
            Op::Ne if value.is_null() => Pred::IsNull(c, true),
            Op::In | Op::NotIn => {
                let items = match value {
                    Value::Array(a) => a.iter().collect::<Vec<_>>(),
                    other => vec![other],
                };
                let set = items
                    .into_iter()
                    .map(|v| scalar(kind, v).ok_or(Reject::BadRequest))
                    .collect::<Result<Vec<_>, _>>()?;
                Pred::In(c, set, *op == Op::NotIn)
            }
            _ => Pred::Cmp(c, *op, scalar(kind, value).ok_or(Reject::BadRequest)?),
        });
    }
    Ok(out)
}

fn order_keys(q: &Query, columns: &dyn Fn(&str) -> Column) -> Result<Vec<(u8, bool)>, Reject> {
    q.order_by
        .iter()
        .map(|(col, desc)| resolve(col, columns).map(|(c, _)| (c, *desc)))
        .collect()
}

impl Pred {
    /// SQL semantics: any comparison with a NULL cell is false.
    fn test(&self, cell: &dyn Fn(u8) -> Option<i64>) -> bool {
        match self {
            Pred::IsNull(c, neg) => cell(*c).is_none() != *neg,
            Pred::In(c, set, neg) => cell(*c).is_some_and(|v| set.contains(&v) != *neg),
            Pred::Cmp(c, op, v) => cell(*c).is_some_and(|x| match op {
                Op::Eq => x == *v,
                Op::Ne => x != *v,
                Op::Lt => x < *v,
                Op::Gt => x > *v,
                Op::Le => x <= *v,
                Op::Ge => x >= *v,
                _ => false,
            }),
        }
    }
}

/// Filters `0..n`, sorts by the keys (then by id = index, ascending) and cuts one page.
fn select_page(
    n: usize,
    preds: &[Pred],
    keys: &[(u8, bool)],
    cell: &dyn Fn(usize, u8) -> Option<i64>,
    page: usize,
    per_page: usize,
) -> (Vec<usize>, usize) {
    let mut hits: Vec<usize> = (0..n)
        .filter(|&i| preds.iter().all(|p| p.test(&|c| cell(i, c))))
        .collect();
    if !keys.is_empty() {
        hits.sort_by(|&a, &b| {
            for &(c, desc) in keys {
                // NULLs first ascending, as MySQL.
                let o = cell(a, c).cmp(&cell(b, c));
                let o = if desc { o.reverse() } else { o };
                if o.is_ne() {
                    return o;
                }
            }
            a.cmp(&b)
        });
    }
    let total = hits.len();
    let skip = (page - 1).saturating_mul(per_page).min(total);
    let end = (skip + per_page).min(total);
    (hits[skip..end].to_vec(), total)
}

#[derive(Serialize)]
struct Paging {
    #[serde(rename = "perPage")]
    per_page: usize,
    #[serde(rename = "currentPage")]
    current_page: usize,
    total: usize,
}

#[derive(Serialize)]
struct ListBody<T: Serialize> {
    data: Vec<T>,
    paging: Paging,
}

#[derive(Serialize)]
struct OneBody<T: Serialize> {
    data: T,
}

// ---------------------------------------------------------------------------------------------
// Orders

const O_ID: u8 = 0;
const O_EVENT: u8 = 1;
const O_PAYED: u8 = 2;
const O_CREATED: u8 = 3;
const O_UPDATED: u8 = 4;
const O_DELETED: u8 = 5;
const O_CLIENT: u8 = 6;
const O_RESERVED: u8 = 7;
const O_SITE: u8 = 8;
const SITE_ID: u64 = 1001;
const SITE_HOST: &str = "tickets.sim.example";

fn order_column(name: &str) -> Column {
    match name {
        "id" => Column::Known(O_ID, Kind::Num),
        "event_id" => Column::Known(O_EVENT, Kind::Num),
        "payed" => Column::Known(O_PAYED, Kind::Bool),
        "created_at" => Column::Known(O_CREATED, Kind::Time),
        "updated_at" => Column::Known(O_UPDATED, Kind::Time),
        "deleted_at" => Column::Known(O_DELETED, Kind::Time),
        "client_id" => Column::Known(O_CLIENT, Kind::Num),
        "reserved" => Column::Known(O_RESERVED, Kind::Bool),
        "site_id" => Column::Known(O_SITE, Kind::Num),
        // Observed: every `/orders` call filtering or sorting on `payed_at` answers 503.
        "payed_at" => Column::Fails,
        _ => Column::Unknown,
    }
}

fn order_cell(s: &State, i: usize, c: u8) -> Option<i64> {
    let o = &s.orders[i];
    match c {
        O_ID => Some((FIRST_ORDER_ID + i as u64) as i64),
        O_EVENT => Some(s.events[o.event as usize].id as i64),
        O_PAYED => Some(o.payed_s.is_some() as i64),
        O_CREATED => Some(o.created_s * 1000),
        O_UPDATED => Some(o.updated_s * 1000),
        O_DELETED => o.deleted_s.map(|d| d * 1000),
        O_CLIENT => Some((FIRST_CLIENT_ID + o.client as u64) as i64),
        O_RESERVED => Some(o.is_pending() as i64),
        O_SITE => Some(SITE_ID as i64),
        _ => None,
    }
}

#[derive(Serialize)]
struct WDetails {
    id: u64,
    name: &'static str,
    middlename: Option<&'static str>,
    surname: &'static str,
    phone: &'static str,
    vk_id: String,
    facebook_id: String,
}

#[derive(Serialize)]
struct WClient {
    id: u64,
    email: String,
    details: WDetails,
}

#[derive(Serialize)]
struct WSite {
    id: u64,
    host: &'static str,
}

/// `[]` when empty, else an object (as the API renders empty PHP arrays).
#[derive(Serialize)]
#[serde(untagged)]
enum ObjOrEmpty<T: Serialize> {
    Empty(&'static [u8]),
    Obj(T),
}

#[derive(Serialize)]
pub(super) struct WUtm {
    pub(super) utm_source: &'static str,
    pub(super) utm_medium: &'static str,
    pub(super) utm_campaign: &'static str,
}

#[derive(Serialize)]
struct WCustom {
    comment: &'static str,
}

/// `custom`: `""` or an object.
#[derive(Serialize)]
#[serde(untagged)]
enum Custom {
    Str(&'static str),
    Obj(WCustom),
}

#[derive(Serialize)]
struct WFields {
    company: &'static str,
    inn: &'static str,
    kpp: &'static str,
}

#[derive(Serialize)]
struct WRoistat {
    roistat_visit: String,
}

#[derive(Serialize)]
struct WIntegrations {
    roistat: WRoistat,
}

const NONE: &[u8] = &[];
// Canary corporate PII, on orders with the CORPORATE variant.
const ORG_NAME: &str = "CANARY LLC";
const ORG_TEXT: &str = "CANARY";
const ORG_INN: &str = "0000000000";
const ORG_KPP: &str = "000000000";
/// The tags of orders with the UTM variant, by client (read by the ground truth too).
pub(super) const UTMS: [WUtm; 3] = [
    WUtm {
        utm_source: "vk",
        utm_medium: "social",
        utm_campaign: "sim_spring",
    },
    WUtm {
        utm_source: "yandex",
        utm_medium: "cpc",
        utm_campaign: "sim_retarget",
    },
    WUtm {
        utm_source: "telegram",
        utm_medium: "post",
        utm_campaign: "sim_launch",
    },
];

#[derive(Serialize)]
struct WBasket {
    id: u64,
    series: String,
    barcode: Option<String>,
    show_id: u64,
    seat_id: String,
    seat_name: String,
    original_price: u32,
    ticket_original_price: u32,
    discount_value: u32,
    price: u32,
    ticket_amount: u32,
    service_fee_amount: u32,
    multiprice_code: Option<&'static str>,
    quantity: u32,
    client_email: String,
    client_phone: &'static str,
    client_name: &'static str,
    client_surname: &'static str,
    client_middlename: Option<&'static str>,
    organization_name: Option<&'static str>,
    legal_name: Option<&'static str>,
    work_position: Option<&'static str>,
    inn: Option<&'static str>,
    kpp: Option<&'static str>,
    comment: Option<&'static str>,
    pdf_url: Option<String>,
    passbook_url: Option<String>,
    related_baskets: &'static [u8],
    services: &'static [u8],
    checked_at: Option<String>,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
    refunded_at: Option<String>,
    refunded_amount: Option<u32>,
    refunded_deduction_amount: Option<u32>,
    refunds: &'static [u8],
}

#[derive(Serialize)]
struct WOrder {
    id: u64,
    uniqid: String,
    payed: bool,
    payed_at: Option<String>,
    client_id: u64,
    client: WClient,
    site_id: u64,
    site: WSite,
    payment_id: u64,
    payment_type_id: &'static str,
    payment_card_number: Option<String>,
    payment_url: String,
    cancel_url: String,
    basket_user_id: u64,
    backend_user_id: Option<u64>,
    access_code_id: Option<u64>,
    discount_id: Option<u64>,
    promo_code_id: Option<u64>,
    reserved: bool,
    reserved_to: String,
    reserve_extended: bool,
    event_id: u64,
    price: u64,
    original_price: u64,
    currency_id: &'static str,
    utm: ObjOrEmpty<&'static WUtm>,
    custom: Custom,
    fields: ObjOrEmpty<WFields>,
    baskets: Vec<WBasket>,
    refunds: &'static [u8],
    integrations: ObjOrEmpty<WIntegrations>,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

fn client_email(o: &Order) -> String {
    if o.client.is_multiple_of(4) {
        canary::EMAIL.to_string()
    } else {
        canary::email(o.client as u64)
    }
}

fn wire_basket(s: &State, o: &Order, uid: &str, bi: usize) -> WBasket {
    let b: &Basket = &s.baskets[bi];
    let id = FIRST_BASKET_ID + bi as u64;
    let show: &Show = &s.shows[b.show as usize];
    let zone: &Zone = &show.zones[b.zone as usize];
    let event = &s.events[show.event];
    let corp = o.variant & variant::CORPORATE != 0;
    let corp_f = |v: &'static str| corp.then_some(v);
    let issued = b.deleted_s.is_none() && (UNPAID_HAVE_BARCODES || o.payed_s.is_some());
    let ticket_token = token32(id, 0xB45C);
    WBasket {
        id,
        series: format!("88{:07}", event.id),
        barcode: issued.then(|| barcode(id)),
        show_id: show.id,
        seat_id: zone.seat_id(b.place),
        seat_name: zone.seat_name(b.place),
        original_price: b.original_price,
        ticket_original_price: b.original_price,
        discount_value: b.original_price - b.price,
        price: b.price,
        ticket_amount: b.price,
        service_fee_amount: 0,
        multiprice_code: None,
        quantity: 1,
        client_email: client_email(o),
        client_phone: canary::PHONE,
        client_name: canary::NAME,
        client_surname: canary::SURNAME,
        client_middlename: (o.variant & variant::MIDDLENAME != 0).then_some(canary::NAME),
        organization_name: corp_f(ORG_NAME),
        legal_name: corp_f(ORG_TEXT),
        work_position: corp_f(ORG_TEXT),
        inn: corp_f(ORG_INN),
        kpp: corp_f(ORG_KPP),
        comment: corp_f(ORG_TEXT),
        pdf_url: issued.then(|| format!("https://qtickets.ru/ticket/pdf/{uid}/{ticket_token}")),
        passbook_url: Some(format!(
            "https://qtickets.ru/ticket/passbook/{uid}/{ticket_token}"
        )),
        related_baskets: NONE,
        services: NONE,
        checked_at: b.checked_s.map(fmt_msk),
        created_at: fmt_msk(b.created_s),
        updated_at: fmt_msk(b.updated_s),
        deleted_at: b.deleted_s.map(fmt_msk),
        refunded_at: b.refunded_s.map(fmt_msk),
        refunded_amount: b.refunded_amount,
        refunded_deduction_amount: b.deduction,
        refunds: NONE,
    }
}

fn wire_order(s: &State, i: usize) -> WOrder {
    let o = &s.orders[i];
    let id = FIRST_ORDER_ID + i as u64;
    let uid = uniqid(id);
    let event: &Event = &s.events[o.event as usize];
    let baskets: Vec<WBasket> = o.baskets().map(|b| wire_basket(s, o, &uid, b)).collect();
    let price: u64 = baskets.iter().map(|b| b.price as u64).sum();
    let original_price: u64 = baskets.iter().map(|b| b.original_price as u64).sum();
    let v = o.variant;
    let discount = v & variant::DISCOUNT != 0;
    let payment_type = o.payment_type();
    WOrder {
        id,
        payed: o.payed_s.is_some(),
        payed_at: o.payed_s.map(fmt_msk),
        client_id: FIRST_CLIENT_ID + o.client as u64,
        client: WClient {
            id: FIRST_CLIENT_ID + o.client as u64,
            email: client_email(o),
            details: WDetails {
                id: 400_000 + o.client as u64,
                name: canary::NAME,
                middlename: (v & variant::MIDDLENAME != 0).then_some(canary::NAME),
                surname: canary::SURNAME,
                phone: canary::PHONE,
                vk_id: format!("canary-vk-{}", o.client),
                facebook_id: format!("canary-fb-{}", o.client),
            },
        },
        site_id: SITE_ID,
        site: WSite {
            id: SITE_ID,
            host: SITE_HOST,
        },
        payment_id: if payment_type == "bankcard" {
            3002
        } else {
            3001
        },
        payment_type_id: payment_type,
        payment_card_number: (o.payed_s.is_some() && payment_type != "5")
            .then(|| format!("400000******{:04}", o.client % 10_000)),
        payment_url: format!("https://qtickets.ru/pay/{uid}"),
        cancel_url: format!(
            "https://qtickets.ru/cancel-order/{uid}/{}",
            token32(id, 0xCA9C)
        ),
        uniqid: uid,
        basket_user_id: 7_000_000 + o.client as u64,
        backend_user_id: None,
        access_code_id: None,
        discount_id: discount.then_some(6001),
        promo_code_id: discount.then_some(16001),
        reserved: o.is_pending(),
        reserved_to: fmt_msk(o.created_s + DAY),
        reserve_extended: false,
        event_id: event.id,
        price,
        original_price,
        currency_id: event.currency,
        utm: if v & variant::UTM != 0 {
            ObjOrEmpty::Obj(&UTMS[o.client as usize % UTMS.len()])
        } else {
            ObjOrEmpty::Empty(NONE)
        },
        custom: if v & variant::CUSTOM != 0 {
            Custom::Obj(WCustom { comment: ORG_TEXT })
        } else {
            Custom::Str("")
        },
        fields: if v & variant::CORPORATE != 0 {
            ObjOrEmpty::Obj(WFields {
                company: ORG_NAME,
                inn: ORG_INN,
                kpp: ORG_KPP,
            })
        } else {
            ObjOrEmpty::Empty(NONE)
        },
        baskets,
        refunds: NONE,
        integrations: if v & variant::ROISTAT != 0 {
            ObjOrEmpty::Obj(WIntegrations {
                roistat: WRoistat {
                    roistat_visit: (100_000 + o.client as u64 * 7 % 900_000).to_string(),
                },
            })
        } else {
            ObjOrEmpty::Empty(NONE)
        },
        created_at: fmt_msk(o.created_s),
        updated_at: fmt_msk(o.updated_s),
        deleted_at: o.deleted_s.map(fmt_msk),
    }
}

/// One order as the API serializes it (for tests).
#[cfg(test)]
pub(crate) fn order_json(s: &State, i: usize) -> String {
    serde_json::to_string(&wire_order(s, i)).expect("orders serialize")
}

/// A webhook delivery's body (`qtickets.md` §4): the bare order as `GET /orders/{id}` has it,
/// plus `refunded_baskets` (the basket a refund hit), `checked_basket` (the basket a scan
/// hit) and `unchecked_basket` (always null here: the simulation never un-scans).
pub(crate) fn webhook_body(
    s: &State,
    i: usize,
    refunded: Option<usize>,
    checked: Option<usize>,
) -> Vec<u8> {
    let o = &s.orders[i];
    let uid = uniqid(FIRST_ORDER_ID + i as u64);
    let mut v = serde_json::to_value(wire_order(s, i)).expect("orders serialize");
    let basket =
        |b: usize| serde_json::to_value(wire_basket(s, o, &uid, b)).expect("baskets serialize");
    if let Value::Object(m) = &mut v {
        m.insert(
            "refunded_baskets".into(),
            Value::Array(refunded.map(basket).into_iter().collect()),
        );
        m.insert(
            "checked_basket".into(),
            checked.map(basket).unwrap_or(Value::Null),
        );
        m.insert("unchecked_basket".into(), Value::Null);
    }
    serde_json::to_vec(&v).expect("orders serialize")
}

async fn orders_list(
    AxState(sim): AxState<QticketsSim>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut s = sim.lock();
    let r = orders_list_inner(&mut s, &headers, &body);
    count(&mut s, "/orders", r.status());
    r
}

fn orders_list_inner(s: &mut State, headers: &HeaderMap, body: &[u8]) -> Response {
    if !authorized(s, headers) {
        return bad_token();
    }
    let q = match parse_query(body) {
        Ok(q) => q,
        Err(r) => return r.into_response(),
    };
    let preds = match compile(&q, &order_column) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let keys = match order_keys(&q, &order_column) {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let st: &State = s;
    let (page, total) = select_page(
        st.orders.len(),
        &preds,
        &keys,
        &|i, c| order_cell(st, i, c),
        q.page,
        ORDERS_PER_PAGE,
    );
    shaped(
        st,
        Body::Orders,
        StatusCode::OK,
        &ListBody {
            data: page.into_iter().map(|i| wire_order(st, i)).collect(),
            paging: Paging {
                per_page: ORDERS_PER_PAGE,
                current_page: q.page,
                total,
            },
        },
    )
}

async fn orders_post(AxState(sim): AxState<QticketsSim>, headers: HeaderMap) -> Response {
    let mut s = sim.lock();
    // Observed: POST /orders answers 503 for every body (it may mean "create order").
    let r = if authorized(&s, &headers) {
        unknown_error()
    } else {
        bad_token()
    };
    count(&mut s, "POST /orders", r.status());
    r
}

async fn order_one(
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
        Some(id) => match id.checked_sub(FIRST_ORDER_ID) {
            Some(i) if (i as usize) < s.orders.len() => shaped(
                &s,
                Body::Orders,
                StatusCode::OK,
                &OneBody {
                    data: wire_order(&s, i as usize),
                },
            ),
            _ => not_found("Order", id),
        },
    };
    count(&mut s, "/orders/{id}", r.status());
    r
}

// ---------------------------------------------------------------------------------------------
// Events

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

async fn events_list(
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

async fn event_one(
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

// ---------------------------------------------------------------------------------------------
// Seats

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

async fn show_seats(
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

// ---------------------------------------------------------------------------------------------

async fn not_a_route(AxState(sim): AxState<QticketsSim>) -> Response {
    count(&mut sim.lock(), "404", StatusCode::NOT_FOUND);
    html_404()
}

pub fn router(sim: QticketsSim) -> Router {
    Router::new()
        .route(
            &format!("{PREFIX}/orders"),
            get(orders_list).post(orders_post),
        )
        .route(&format!("{PREFIX}/orders/{{id}}"), get(order_one))
        .route(&format!("{PREFIX}/events"), get(events_list))
        .route(&format!("{PREFIX}/events/{{id}}"), get(event_one))
        .route(&format!("{PREFIX}/shows/{{id}}/seats"), get(show_seats))
        .fallback(not_a_route)
        .method_not_allowed_fallback(not_a_route)
        .with_state(sim)
}
