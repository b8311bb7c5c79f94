//! Answers without their optional fields (`docs/vendor-fields.md`), and a failing seats route.
//!
//! Per object kind, the keys that are required or carry meaning when null ("kept": a null
//! `deleted_at` means "not cancelled") stay; every other key is optional and is either left out
//! or set to `null`, as a `select` list or an older account might answer. Applied to a response
//! body after it is serialized, so the normal path pays nothing.

use serde_json::Value;

use super::{OptionalFields, SeatsFault};
use crate::optional_fields::strip;

/// Kept on every order (the rest is optional).
pub const ORDER_KEEP: &[&str] = &[
    "id",
    "payed",
    "event_id",
    "currency_id",
    "baskets",
    "created_at",
    "updated_at",
    "deleted_at",
    "backend_user_id",
];
/// Kept on every basket.
pub const BASKET_KEEP: &[&str] = &[
    "id",
    "show_id",
    "price",
    "deleted_at",
    "refunded_at",
    "refunded_amount",
    "checked_at",
];
/// Kept on every event.
pub const EVENT_KEEP: &[&str] = &["id", "name", "shows", "deleted_at"];
/// Kept on every show.
pub const SHOW_KEEP: &[&str] = &["id", "deleted_at"];
/// Kept on every seat node (the quantities are optional: the inventory is then unknown).
pub const SEAT_KEEP: &[&str] = &["id", "disabled"];

/// Which body a response carries.
#[derive(Clone, Copy)]
pub enum Body {
    /// `{"data":[order…]}` or `{"data":order}`.
    Orders,
    Events,
    /// `{"data":{seat_id: seat}}` (flat) or zones holding `seats`.
    Seats,
}

/// The objects under `data`: a list, one object, or (seats) an object of objects.
fn records(data: &mut Value) -> Vec<&mut Value> {
    match data {
        Value::Array(a) => a.iter_mut().collect(),
        Value::Object(_) => vec![data],
        _ => vec![],
    }
}

fn strip_order(o: &mut Value, how: OptionalFields) {
    if let Some(bs) = o.get_mut("baskets").and_then(Value::as_array_mut) {
        for b in bs {
            strip(b, BASKET_KEEP, how);
        }
    }
    strip(o, ORDER_KEEP, how);
}

fn strip_event(e: &mut Value, how: OptionalFields) {
    if let Some(shows) = e.get_mut("shows").and_then(Value::as_array_mut) {
        for sh in shows {
            strip(sh, SHOW_KEEP, how);
        }
    }
    strip(e, EVENT_KEEP, how);
}

fn strip_seats(data: &mut Value, how: OptionalFields) {
    let Some(nodes) = data.as_object_mut() else {
        return;
    };
    for node in nodes.values_mut() {
        match node.get_mut("seats") {
            // A zone of the non-flat shape: its seats lose their optional fields.
            Some(Value::Object(seats)) => {
                for seat in seats.values_mut() {
                    strip(seat, SEAT_KEEP, how);
                }
            }
            _ => strip(node, SEAT_KEEP, how),
        }
    }
}

/// `body` with the optional fields of its records made absent or null.
pub fn shape(body: Vec<u8>, kind: Body, how: OptionalFields) -> Vec<u8> {
    if matches!(how, OptionalFields::Served) {
        return body;
    }
    let Ok(mut v) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let Some(data) = v.get_mut("data") else {
        return body;
    };
    match kind {
        Body::Orders => records(data).into_iter().for_each(|o| strip_order(o, how)),
        Body::Events => records(data).into_iter().for_each(|e| strip_event(e, how)),
        Body::Seats => strip_seats(data, how),
    }
    serde_json::to_vec(&v).expect("a JSON value serializes")
}

/// The body of a seats answer that fails as configured: (status, content type, body).
pub fn seats_failure(fault: SeatsFault) -> (u16, &'static str, Vec<u8>) {
    match fault {
        SeatsFault::ServerError => (
            500,
            "application/json",
            br#"{"error":"Unknown error","status":500,"code":"UNKNOWN_ERROR","info":[]}"#.to_vec(),
        ),
        // A 200 whose body is cut off mid-document.
        SeatsFault::Garbage => (
            200,
            "application/json",
            br#"{"data":{"A-1;1":{"id":"#.to_vec(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn absent_keeps_only_the_kept_keys_and_null_nulls_the_rest() {
        let order = serde_json::json!({"data":[{"id":1,"payed":true,"payed_at":"t","client_id":5,
            "event_id":2,"currency_id":"RUB","created_at":"t","updated_at":"t","deleted_at":null,
            "backend_user_id":null,"utm":[],"baskets":[{"id":3,"show_id":4,"price":10,"seat_id":"A-1;1",
            "quantity":1,"deleted_at":null,"refunded_at":null,"refunded_amount":null,"checked_at":null}]}],
            "paging":{"perPage":50,"currentPage":1,"total":1}});
        let body = serde_json::to_vec(&order).unwrap();
        let absent: Value =
            serde_json::from_slice(&shape(body.clone(), Body::Orders, OptionalFields::Absent))
                .unwrap();
        let o = &absent["data"][0];
        let mut k = keys(o);
        k.sort_unstable();
        let mut want = ORDER_KEEP.to_vec();
        want.sort_unstable();
        assert_eq!(k, want);
        assert_eq!(keys(&o["baskets"][0]).len(), BASKET_KEEP.len());
        assert_eq!(absent["paging"], order["paging"], "the envelope stays");
        let null: Value =
            serde_json::from_slice(&shape(body.clone(), Body::Orders, OptionalFields::Null))
                .unwrap();
        assert_eq!(null["data"][0]["payed_at"], Value::Null);
        assert_eq!(null["data"][0]["baskets"][0]["seat_id"], Value::Null);
        assert_eq!(null["data"][0]["payed"], Value::Bool(true));
        assert_eq!(
            shape(body.clone(), Body::Orders, OptionalFields::Served),
            body
        );
    }

    #[test]
    fn seat_nodes_lose_their_quantities_flat_or_in_zones() {
        let flat = br#"{"data":{"A-1;1":{"id":"A-1;1","root_id":"A-1;1","max_quantity":1,"free_quantity":0,"payed_quantity":1,"disabled":false}}}"#;
        let v: Value =
            serde_json::from_slice(&shape(flat.to_vec(), Body::Seats, OptionalFields::Absent))
                .unwrap();
        assert_eq!(keys(&v["data"]["A-1;1"]), ["disabled", "id"]);
        let zones = br#"{"data":{"A":{"zone_id":"A","seats":{"1;1":{"id":"A-1;1","max_quantity":1,"disabled":false}}}}}"#;
        let v: Value =
            serde_json::from_slice(&shape(zones.to_vec(), Body::Seats, OptionalFields::Null))
                .unwrap();
        assert_eq!(v["data"]["A"]["seats"]["1;1"]["max_quantity"], Value::Null);
        assert_eq!(v["data"]["A"]["zone_id"], "A", "zones stay as they are");
    }

    #[test]
    fn seats_failures_are_a_500_or_a_body_that_does_not_parse() {
        let (status, _, body) = seats_failure(SeatsFault::ServerError);
        assert_eq!(status, 500);
        assert!(serde_json::from_slice::<Value>(&body).is_ok());
        let (status, _, body) = seats_failure(SeatsFault::Garbage);
        assert_eq!(status, 200);
        assert!(serde_json::from_slice::<Value>(&body).is_err());
    }
}
