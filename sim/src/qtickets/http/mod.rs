//! The simulator's HTTP face (under `/api/rest/v1`): the router, and what every route shares —
//! the bearer-token check, per-route request counting, numeric route ids and the wire shape
//! fault injection needs. Wire shapes follow the vendor's example pages key for key.
//!
//! One job per file: [`responses`] (bodies and error envelopes), [`query`] (the JSON-body query
//! language), [`orders`], [`events`] (with their shows), [`seats`] (seat maps), and
//! [`unconfirmed`] (every choice the reference marks `[?]`, one named constant each).

mod events;
mod orders;
mod query;
mod responses;
mod seats;
mod unconfirmed;

use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

#[cfg(test)]
pub(super) use events::event_json;
#[cfg(test)]
pub(super) use orders::order_json;
pub(super) use orders::{webhook_body, UTMS};
use responses::{bad_token, html_404, unknown_error};

use super::{QticketsSim, State};

pub const PREFIX: &str = "/api/rest/v1";

/// The simulated ticket site every order is sold on.
const SITE_ID: u64 = 1001;
const SITE_HOST: &str = "tickets.sim.example";

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

/// Route ids are digits; anything else is not a route at all (HTML 404, as `/orders/filter`).
fn numeric_id(id: &str) -> Option<u64> {
    if id.is_empty() || !id.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

async fn not_a_route(AxState(sim): AxState<QticketsSim>) -> Response {
    count(&mut sim.lock(), "404", StatusCode::NOT_FOUND);
    html_404()
}

pub fn router(sim: QticketsSim) -> Router {
    Router::new()
        .route(
            &format!("{PREFIX}/orders"),
            get(orders::orders_list).post(orders::orders_post),
        )
        .route(&format!("{PREFIX}/orders/{{id}}"), get(orders::order_one))
        .route(&format!("{PREFIX}/events"), get(events::events_list))
        .route(&format!("{PREFIX}/events/{{id}}"), get(events::event_one))
        .route(
            &format!("{PREFIX}/shows/{{id}}/seats"),
            get(seats::show_seats),
        )
        .fallback(not_a_route)
        .method_not_allowed_fallback(not_a_route)
        .with_state(sim)
}
