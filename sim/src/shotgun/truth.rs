//! Ground truth: what a correct client must report. The one place that defines the figures:
//! sold = tickets now `valid`; revenue = Σ `deal_price` of valid tickets (face value; a refund
//! is taken as full, a resale's money is carried by the new holder's ticket); scanned = valid
//! tickets with a scan.

use std::collections::BTreeMap;

use super::model::{valid_per_event, Status};
use super::State;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TruthRow {
    pub event_id: u64,
    pub category: String,
    pub currency: String,
    pub sold: u64,
    pub refunded: u64,
    pub canceled: u64,
    pub resold: u64,
    pub pending: u64,
    pub scanned: u64,
    pub revenue_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryTruth {
    pub event_id: u64,
    pub capacity: u64,
    pub left: u64,
}

pub fn sales(s: &State) -> Vec<TruthRow> {
    let mut m: BTreeMap<(u64, &str), TruthRow> = BTreeMap::new();
    for t in &s.tickets {
        let e = t.event(s);
        let d = t.deal(s);
        let row = m.entry((e.id, d.title)).or_insert_with(|| TruthRow {
            event_id: e.id,
            category: d.title.to_string(),
            currency: e.currency.to_ascii_uppercase(),
            ..Default::default()
        });
        match t.status {
            Status::Valid => {
                row.sold += 1;
                row.revenue_minor += d.price;
                row.scanned += t.scanned_at_ms.is_some() as u64;
            }
            Status::Refunded => row.refunded += 1,
            Status::Canceled => row.canceled += 1,
            Status::Resold => row.resold += 1,
            Status::PaymentPlanPending => row.pending += 1,
        }
    }
    m.into_values().collect()
}

pub fn inventory(s: &State) -> Vec<InventoryTruth> {
    let valid = valid_per_event(s);
    s.events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let capacity: u64 = e.deals.iter().map(|d| d.quantity).sum();
            InventoryTruth {
                event_id: e.id,
                capacity,
                left: capacity.saturating_sub(*valid.get(&(i as u32)).unwrap_or(&0)),
            }
        })
        .collect()
}
