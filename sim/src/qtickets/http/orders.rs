//! `/orders` (list with the query language, one by id, and the POST that always fails) and the
//! order wire shape with its baskets, client, UTM tags and canary corporate fields; also the
//! body of a webhook delivery, which is the same order.

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::query::{compile, order_keys, parse_query, select_page, Column, Kind};
use super::responses::{
    bad_token, html_404, not_found, shaped, unknown_error, ListBody, OneBody, Paging, NONE,
};
use super::unconfirmed::{ORDERS_PER_PAGE, UNPAID_HAVE_BARCODES};
use super::{authorized, count, numeric_id, SITE_HOST, SITE_ID};
use crate::canary;
use crate::qtickets::model::{
    barcode, fmt_msk, token32, uniqid, variant, Basket, Event, Order, Show, Zone, DAY,
    FIRST_BASKET_ID, FIRST_CLIENT_ID, FIRST_ORDER_ID,
};
use crate::qtickets::optional::Body;
use crate::qtickets::{QticketsSim, State};

const O_ID: u8 = 0;
const O_EVENT: u8 = 1;
const O_PAYED: u8 = 2;
const O_CREATED: u8 = 3;
const O_UPDATED: u8 = 4;
const O_DELETED: u8 = 5;
const O_CLIENT: u8 = 6;
const O_RESERVED: u8 = 7;
const O_SITE: u8 = 8;

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
pub(in crate::qtickets) struct WUtm {
    pub(in crate::qtickets) utm_source: &'static str,
    pub(in crate::qtickets) utm_medium: &'static str,
    pub(in crate::qtickets) utm_campaign: &'static str,
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

// Canary corporate PII, on orders with the CORPORATE variant.
const ORG_NAME: &str = "CANARY LLC";
const ORG_TEXT: &str = "CANARY";
const ORG_INN: &str = "0000000000";
const ORG_KPP: &str = "000000000";
/// The tags of orders with the UTM variant, by client (read by the ground truth too).
pub(in crate::qtickets) const UTMS: [WUtm; 3] = [
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

pub(super) async fn orders_list(
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

pub(super) async fn orders_post(
    AxState(sim): AxState<QticketsSim>,
    headers: HeaderMap,
) -> Response {
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

pub(super) async fn order_one(
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
