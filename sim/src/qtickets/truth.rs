//! Ground truth: what a correct QTickets client must report. The one place that defines the
//! figures, shared with the connector:
//!
//! - **category** of a basket = the zone id = the part of its `seat_id` before the first `-`
//!   (`"PARTERRE-3;7"` → `"PARTERRE"`, general admission `"DANCEFLOOR-1;1"` → `"DANCEFLOOR"`).
//! - A basket is **sold** when its order has `payed: true` and `deleted_at` null, and the
//!   basket has `deleted_at` and `refunded_at` null.
//! - A basket is **refunded** when its order is paid and not deleted and the basket has
//!   `refunded_at` set.
//! - **Sales rows** are keyed by (Moscow date (UTC+3) of the *order's* `payed_at`, `event_id`,
//!   category, the order's `currency_id`): `tickets` = Σ `quantity` of sold baskets;
//!   `refunded` = count of refunded baskets; `revenue_minor` = Σ `price` of sold baskets +
//!   Σ (`price` − `refunded_amount`) of refunded baskets, × 100 (prices are whole units).
//!   A row exists iff it has at least one sold or refunded basket, so no row is all zeros;
//!   a row can have `tickets = 0` (all refunded) with the kept deductions as revenue.
//! - **Inventory** per show, over the nodes of `/shows/{id}/seats` with `disabled = false`,
//!   distinct by `root_id` (tariff copies share their seat's `root_id`): capacity =
//!   Σ `max_quantity`, left = Σ `free_quantity`, sold = Σ `payed_quantity`.
//! - The deleted event (served by `/events` with `deleted_at` set, never sold) is left out of
//!   [`inventory`] and [`events`]; sales never reference it.

use std::collections::BTreeMap;

use super::model::msk_date;
use super::State;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesTruth {
    /// `YYYY-MM-DD`, Moscow date of the order's `payed_at`.
    pub sales_date: String,
    pub event_id: u64,
    pub category: String,
    pub currency: String,
    pub tickets: u64,
    pub revenue_minor: i64,
    pub refunded: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowInventoryTruth {
    pub event_id: u64,
    pub show_id: u64,
    pub capacity: u64,
    pub left: u64,
    pub sold: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTruth {
    pub event_id: u64,
    pub name: String,
    pub city: String,
}

/// The category of a basket from its `seat_id`.
pub fn category(seat_id: &str) -> &str {
    seat_id.split('-').next().unwrap_or(seat_id)
}

/// Sales rows sorted by (date, event, category, currency).
/// (date, event id, category, currency) → (tickets, revenue_minor, refunded).
type SalesMap<'a> = BTreeMap<(String, u64, &'a str, &'a str), (u64, i64, u64)>;

pub fn sales(s: &State) -> Vec<SalesTruth> {
    let mut m = SalesMap::new();
    for o in &s.orders {
        let (Some(payed), None) = (o.payed_s, o.deleted_s) else {
            continue;
        };
        let e = &s.events[o.event as usize];
        let date = msk_date(payed);
        for b in &s.baskets[o.baskets()] {
            if b.deleted_s.is_some() {
                continue;
            }
            let zone = &s.shows[b.show as usize].zones[b.zone as usize];
            let row = m
                .entry((date.clone(), e.id, zone.code, e.currency))
                .or_default();
            let price = b.price as i64 * 100;
            if b.refunded_s.is_some() {
                row.2 += 1;
                row.1 += price - b.refunded_amount.unwrap_or(0) as i64 * 100;
            } else {
                row.0 += 1;
                row.1 += price;
            }
        }
    }
    m.into_iter()
        .map(
            |((sales_date, event_id, category, currency), (tickets, revenue_minor, refunded))| {
                SalesTruth {
                    sales_date,
                    event_id,
                    category: category.to_string(),
                    currency: currency.to_string(),
                    tickets,
                    revenue_minor,
                    refunded,
                }
            },
        )
        .collect()
}

/// Per show of every live event, in show id order.
pub fn inventory(s: &State) -> Vec<ShowInventoryTruth> {
    let mut out: Vec<ShowInventoryTruth> = s
        .shows
        .iter()
        .filter(|sh| s.events[sh.event].deleted_s.is_none())
        .map(|sh| {
            let (mut capacity, mut left, mut sold) = (0u64, 0u64, 0u64);
            for z in &sh.zones {
                if z.is_seated() {
                    let usable = z
                        .places
                        .iter()
                        .filter(|&&p| p != super::model::DISABLED)
                        .count();
                    capacity += usable as u64;
                } else {
                    capacity += z.capacity as u64;
                }
                left += z.left() as u64;
                sold += z.paid as u64;
            }
            ShowInventoryTruth {
                event_id: s.events[sh.event].id,
                show_id: sh.id,
                capacity,
                left,
                sold,
            }
        })
        .collect();
    out.sort_by_key(|r| r.show_id);
    out
}

/// Every live event's name and city (`city.name`).
pub fn events(s: &State) -> Vec<EventTruth> {
    s.events
        .iter()
        .filter(|e| e.deleted_s.is_none())
        .map(|e| EventTruth {
            event_id: e.id,
            name: e.name.clone(),
            city: super::model::CITIES[e.city].name.to_string(),
        })
        .collect()
}
