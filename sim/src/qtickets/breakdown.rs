//! Ground truth for breakdowns: held tickets and kept revenue per event and value of each
//! dimension, fees by type, tickets left per show and per event. Computed from the simulator's
//! state with the rules of [`super::truth`], in the shape Shotgun's truth uses
//! ([`crate::shotgun::BreakdownTruth`]):
//!
//! - Only paid, not deleted orders count; their not-deleted baskets are **held** (no
//!   `refunded_at`: one ticket, `price` kept) or **refunded** (no ticket, `price −
//!   refunded_amount` kept, so a refund with a deduction leaves money on its row).
//! - `channel` = `online` for every order: the simulator serves `backend_user_id: null` on all
//!   of them, and the rule for QTickets is "`online` unless a box-office user sold it".
//! - `payment_method` = the order's `payment_type_id` as served.
//! - `utm_source` / `utm_medium` / `utm_campaign` = the order's `utm` object
//!   ([`super::http::UTMS`]); `None` when the order serves `utm: []`.
//! - QTickets has no deal visibility, so there are no `visibility` rows.
//! - Fees: the only fee the API has is the basket's `service_fee_amount`, which the simulator
//!   serves as 0 (so no fee row survives the zero filter); there is no buyer fee or producer
//!   cost.
//! - Tickets left per show = [`super::truth::inventory`]; per event = their sum.
//! - `scanned_any` = baskets with `checked_at`, of any order, per event.

use std::collections::BTreeMap;

use super::model::variant;
use super::State;
use crate::shotgun::truth::{finish, DimMap, FeeMap};
use crate::shotgun::{BreakdownTruth, ShowLeftTruth};

/// The `service_fee_amount` `http.rs` serves on every basket.
const SERVED_SERVICE_FEE: i64 = 0;

pub fn compute(s: &State) -> BreakdownTruth {
    let mut dims = DimMap::new();
    let mut fees = FeeMap::new();
    let mut scanned: BTreeMap<u64, u64> = BTreeMap::new();
    for o in &s.orders {
        let e = &s.events[o.event as usize];
        for b in &s.baskets[o.baskets()] {
            if b.checked_s.is_some() {
                *scanned.entry(e.id).or_default() += 1;
            }
        }
        let (Some(_), None) = (o.payed_s, o.deleted_s) else {
            continue;
        };
        let currency = e.currency.to_string();
        let utm = (o.variant & variant::UTM != 0)
            .then(|| &super::http::UTMS[o.client as usize % super::http::UTMS.len()]);
        let values: [(&'static str, Option<String>); 5] = [
            ("channel", Some("online".to_string())),
            ("payment_method", Some(o.payment_type().to_string())),
            ("utm_source", utm.map(|u| u.utm_source.to_string())),
            ("utm_medium", utm.map(|u| u.utm_medium.to_string())),
            ("utm_campaign", utm.map(|u| u.utm_campaign.to_string())),
        ];
        for b in &s.baskets[o.baskets()] {
            if b.deleted_s.is_some() {
                continue;
            }
            let price = b.price as i64 * 100;
            let (held, kept) = match b.refunded_s {
                None => (1, price),
                Some(_) => (0, price - b.refunded_amount.unwrap_or(0) as i64 * 100),
            };
            for (dim, value) in &values {
                let row = dims
                    .entry((e.id, *dim, value.clone(), currency.clone()))
                    .or_default();
                row.0 += held;
                row.1 += kept;
            }
            if held == 1 {
                *fees
                    .entry((e.id, "service_fee", currency.clone()))
                    .or_default() += SERVED_SERVICE_FEE;
            }
        }
    }
    let shows_left = super::truth::inventory(s)
        .into_iter()
        .map(|i| ShowLeftTruth {
            event_id: i.event_id,
            show_id: i.show_id,
            left: i.left,
        })
        .collect();
    finish(dims, fees, shows_left, scanned)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::qtickets::{QticketsConfig, QticketsSim};

    #[test]
    fn every_dimension_adds_up_to_the_sales_truth() {
        let sim = QticketsSim::new(QticketsConfig {
            orders: 1_500,
            ..Default::default()
        });
        sim.advance(600);
        let mut want: BTreeMap<(u64, String), (u64, i64)> = BTreeMap::new();
        for r in sim.truth() {
            let w = want.entry((r.event_id, r.currency)).or_default();
            w.0 += r.tickets;
            w.1 += r.revenue_minor;
        }
        want.retain(|_, v| *v != (0, 0));
        let b = sim.breakdown_truth();
        for dim in [
            "channel",
            "payment_method",
            "utm_source",
            "utm_medium",
            "utm_campaign",
        ] {
            assert_eq!(b.per_event(dim), want, "{dim}");
        }
        assert!(b
            .rows
            .iter()
            .any(|r| r.dimension == "utm_campaign" && r.value.is_none()));
        assert!(b
            .rows
            .iter()
            .any(|r| r.dimension == "utm_campaign" && r.value.is_some()));
        assert!(b.rows.iter().all(|r| r.dimension != "visibility"));
        // Per show and per event tickets left agree with the inventory truth.
        let inv = sim.inventory_truth();
        assert_eq!(b.shows_left.len(), inv.len());
        let per_event: u64 = b.events_left.iter().map(|e| e.left).sum();
        assert_eq!(per_event, inv.iter().map(|i| i.left).sum::<u64>());
    }
}
