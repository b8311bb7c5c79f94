//! Answers without their optional fields (`docs/vendor-fields.md`).
//!
//! Tickets keep the keys the connector requires and the nullable ones whose null carries a
//! meaning (`ticket_scanned_at`, `ticket_canceled_at`, `event_canceled_at`); events keep `id`
//! and `cancelledAt`. Every other key is left out or set to `null`. Applied to a body after it
//! is serialized, so the normal path pays nothing.

use serde_json::Value;

use crate::optional_fields::strip;
pub use crate::optional_fields::OptionalFields;

/// Kept on every ticket.
pub const TICKET_KEEP: &[&str] = &[
    "ticket_id",
    "ticket_updated_at",
    "ticket_status",
    "ticket_scanned_at",
    "ticket_canceled_at",
    "deal_title",
    "deal_channel",
    "deal_price",
    "deal_service_fee",
    "deal_user_service_fee",
    "deal_producer_cost",
    "order_id",
    "currency",
    "ordered_at",
    "event_id",
    "event_name",
    "event_canceled_at",
];
/// Kept on every event of the legacy listing.
pub const EVENT_KEEP: &[&str] = &["id", "cancelledAt"];

/// `body` (`{"data":[…]}`) with the optional fields of each record (keeping `keep`) made absent
/// or null.
pub fn shape(body: Vec<u8>, keep: &[&str], how: OptionalFields) -> Vec<u8> {
    if matches!(how, OptionalFields::Served) {
        return body;
    }
    let Ok(mut v) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    if let Some(data) = v.get_mut("data").and_then(Value::as_array_mut) {
        for r in data {
            strip(r, keep, how);
        }
    }
    serde_json::to_vec(&v).expect("a JSON value serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_keep_only_the_kept_keys() {
        let body = br#"{"params":{},"data":[{"ticket_id":1,"user_id":7,"deal_price":100,"utm_source":"x"}]}"#;
        let v: Value =
            serde_json::from_slice(&shape(body.to_vec(), TICKET_KEEP, OptionalFields::Absent))
                .unwrap();
        let keys: Vec<_> = v["data"][0].as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["deal_price", "ticket_id"]);
        assert!(v.get("params").is_some());
        let v: Value =
            serde_json::from_slice(&shape(body.to_vec(), TICKET_KEEP, OptionalFields::Null))
                .unwrap();
        assert_eq!(v["data"][0]["user_id"], Value::Null);
    }
}
