//! Simulated events, shows, seat maps, orders and baskets: generated deterministically from
//! the seed and changed over simulated time. All times are unix seconds; the wire renders them
//! as Moscow time (`+03:00`).
//!
//! Seat quantities are kept in step with the orders: taking a seat for an unpaid order holds
//! it, paying turns the hold into a sale, and a refund or cancel frees it again.
//!
//! One job per file: [`rng`] (the deterministic random source), [`time`] (Moscow wall time on
//! the wire and the filters' timestamps), [`catalogue`] (cities, events, shows, seat maps),
//! [`sales`] (orders and baskets, their derived ids), [`generate`] (the catalogue and the
//! history before start), [`history`] (changes over simulated time) and [`changes`] (the
//! changes a test asks for).

mod catalogue;
mod changes;
mod generate;
mod history;
mod rng;
mod sales;
mod time;

pub use catalogue::{Event, Show, Zone, CITIES, DISABLED};
pub use changes::{
    cancel_now, paid_order_before, pay_now, refund_now, scan_now, sell_now, ChangeError,
};
pub use generate::generate;
pub use history::advance;
pub use rng::Rng;
pub use sales::{barcode, token32, uniqid, variant, Basket, Order};
pub use time::{fmt_msk, msk_date, parse_ts};

pub const FIRST_ORDER_ID: u64 = 2_000_101;
pub const FIRST_BASKET_ID: u64 = 31_000_001;
pub const FIRST_EVENT_ID: u64 = 90_001;
pub const FIRST_SHOW_ID: u64 = 95_001;
pub const FIRST_CLIENT_ID: u64 = 500_000;
pub const DAY: i64 = 86_400;
/// Moscow's fixed offset (no DST since 2014).
pub const MSK_OFFSET: i64 = 3 * 3_600;
/// Rows of a seated zone that carry the higher price.
pub const FRONT_ROWS: u32 = 3;
/// Prefix of the tariff copies of row 1 of every seated zone (`full_PARTERRE-1;6`).
pub const TARIFF_PREFIX: &str = "full_";
/// Share of orders left unpaid when created.
const UNPAID_SHARE: f64 = 0.2;
/// Refund deduction withheld, in percent of the basket price (rounded half up).
pub const REFUND_DEDUCTION_PCT: u32 = 10;
