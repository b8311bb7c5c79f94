//! The choices the vendor reference leaves open (it marks them `[?]`): each is one named
//! constant here (or, where nothing needs a value, one comment), so that a confirmed answer is
//! a one-line change.

use axum::http::StatusCode;

// UNCONFIRMED: status, message and code for a missing or wrong token (docs show 403; the code
// is the one the Partners API answered with a REST token).
pub(super) const BAD_TOKEN: (StatusCode, &str, &str) = (
    StatusCode::FORBIDDEN,
    "Wrong authorization",
    "WRONG_AUTHORIZATION",
);
// UNCONFIRMED: a body that is not JSON (or a malformed `where`/`orderBy`/value) → 400.
pub(super) const BAD_BODY: (StatusCode, &str, &str) =
    (StatusCode::BAD_REQUEST, "Bad request", "BAD_REQUEST");
// UNCONFIRMED: page sizes are fixed; `perPage`/`per_page` in the body are ignored.
pub(super) const ORDERS_PER_PAGE: usize = 50;
pub(super) const EVENTS_PER_PAGE: usize = 10;
// UNCONFIRMED: a `where` column or `orderBy` key the simulator does not know answers like the
// observed `payed_at` filter: 503 UNKNOWN_ERROR.
pub(super) const UNKNOWN_COLUMN_IS_503: bool = true;
// UNCONFIRMED: `in array` / `not in array` behave as `in` / `not in` on scalar columns.
pub(super) const IN_ARRAY_IS_IN: bool = true;
// UNCONFIRMED: seat nodes: `ordered_quantity` counts places held by unpaid orders,
// `in_basket_quantity` (carts not yet ordered) is always 0.
pub(super) const IN_BASKET_QUANTITY: u32 = 0;
// UNCONFIRMED: seat `row` and `place` are strings.
// UNCONFIRMED: in the non-flat seat map, a tariff copy is keyed `full_3;7` (its id without
// the zone), since `row;place` would collide with its plain seat.
// UNCONFIRMED: a tariff copy costs this much more (percent) than its plain seat.
pub(super) const TARIFF_SURCHARGE_PCT: u32 = 20;
// UNCONFIRMED: `where` on `/shows/{id}/seats` is accepted and ignored.
// UNCONFIRMED: unpaid (reserved) orders' baskets already carry a barcode and ticket URLs.
pub(super) const UNPAID_HAVE_BARCODES: bool = true;
// UNCONFIRMED: a refund leaves the order's `price` unchanged.
// UNCONFIRMED: `fault_every` counts `GET /orders` list requests only (`FAULT_SHAPE`).
// UNCONFIRMED: several `orderBy` keys apply in alphabetical key order (then `id asc`).
