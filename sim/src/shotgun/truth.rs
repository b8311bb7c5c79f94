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

/// Held tickets and kept revenue of one event with one value of one dimension, in one
/// currency. The same shape serves both simulators (QTickets reuses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownTruthRow {
    pub event_id: u64,
    /// `channel`, `payment_method`, `utm_source`, `utm_medium`, `utm_campaign`, `visibility`.
    pub dimension: &'static str,
    /// `None` when the ticket carries no value (null, or an empty visibility set).
    pub value: Option<String>,
    pub currency: String,
    pub tickets: u64,
    pub revenue_minor: i64,
}

/// Fees of the held tickets of one event by type: `service_fee`, `buyer_fee`, `producer_cost`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeTruthRow {
    pub event_id: u64,
    pub fee_type: &'static str,
    pub currency: String,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowLeftTruth {
    pub event_id: u64,
    pub show_id: u64,
    pub left: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLeftTruth {
    pub event_id: u64,
    /// Σ tickets left over the event's shows.
    pub left: u64,
}

/// Everything a breakdown report must show, sorted by key. Rows with neither a held ticket nor
/// kept money are left out, and so are zero fee sums.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BreakdownTruth {
    pub rows: Vec<BreakdownTruthRow>,
    pub fees: Vec<FeeTruthRow>,
    pub shows_left: Vec<ShowLeftTruth>,
    pub events_left: Vec<EventLeftTruth>,
    /// Per event: tickets that were scanned at the door, whatever their status now.
    pub scanned_any: Vec<(u64, u64)>,
}

impl BreakdownTruth {
    /// (event, currency) → (tickets, revenue) over every value of `dimension`: for a dimension
    /// with one value per ticket this equals the sales truth.
    pub fn per_event(&self, dimension: &str) -> BTreeMap<(u64, String), (u64, i64)> {
        let mut out: BTreeMap<(u64, String), (u64, i64)> = BTreeMap::new();
        for r in self.rows.iter().filter(|r| r.dimension == dimension) {
            let g = out.entry((r.event_id, r.currency.clone())).or_default();
            g.0 += r.tickets;
            g.1 += r.revenue_minor;
        }
        out
    }
}

/// (event, dimension, value, currency) → (held tickets, kept revenue).
pub(crate) type DimMap = BTreeMap<(u64, &'static str, Option<String>, String), (u64, i64)>;
/// (event, fee type, currency) → amount.
pub(crate) type FeeMap = BTreeMap<(u64, &'static str, String), i64>;

/// Map → sorted rows, dropping rows and fees that are all zero.
pub(crate) fn finish(
    dims: DimMap,
    fees: FeeMap,
    shows_left: Vec<ShowLeftTruth>,
    scanned_any: BTreeMap<u64, u64>,
) -> BreakdownTruth {
    let mut events_left: BTreeMap<u64, u64> = BTreeMap::new();
    for s in &shows_left {
        *events_left.entry(s.event_id).or_default() += s.left;
    }
    BreakdownTruth {
        rows: dims
            .into_iter()
            .filter(|(_, (t, r))| *t > 0 || *r != 0)
            .map(
                |((event_id, dimension, value, currency), (tickets, revenue_minor))| {
                    BreakdownTruthRow {
                        event_id,
                        dimension,
                        value,
                        currency,
                        tickets,
                        revenue_minor,
                    }
                },
            )
            .collect(),
        fees: fees
            .into_iter()
            .filter(|(_, a)| *a != 0)
            .map(
                |((event_id, fee_type, currency), amount_minor)| FeeTruthRow {
                    event_id,
                    fee_type,
                    currency,
                    amount_minor,
                },
            )
            .collect(),
        shows_left,
        events_left: events_left
            .into_iter()
            .map(|(event_id, left)| EventLeftTruth { event_id, left })
            .collect(),
        scanned_any: scanned_any.into_iter().collect(),
    }
}

/// The fees `http.rs` serves with a deal of face price `price` (cents): `deal_service_fee` = 10 %,
/// `deal_user_service_fee` = 3 %, `deal_producer_cost` = 0, as in the captured page. A test
/// below reads them back from the served JSON, so the two cannot drift apart.
fn served_fees(price: i64) -> (i64, i64, i64) {
    (price / 10, price * 3 / 100, 0)
}

/// Shotgun's breakdowns, by the rules of this module: held = `valid`; a held ticket adds 1 and
/// its `deal_price` to the row of each of its values; other statuses add nothing (a refund is
/// taken as full). Values as served: `deal_channel`, `payment_method`, `utm_source`,
/// `utm_medium` (`None` when null), and each element of `deal_visibilities` (`None` when the
/// set is empty). The API has no UTM campaign, so there is no `utm_campaign` row. Fees as served
/// per held ticket: `deal_service_fee` (service_fee), `deal_user_service_fee` (buyer_fee),
/// `deal_producer_cost` (producer_cost). The event is its own single show: left per show =
/// left per event = [`inventory`].
pub fn breakdown(s: &State) -> BreakdownTruth {
    use super::model::{PAYMENTS, UTMS};
    let mut dims = DimMap::new();
    let mut fees = FeeMap::new();
    let mut scanned: BTreeMap<u64, u64> = BTreeMap::new();
    for t in &s.tickets {
        let e = t.event(s);
        let d = t.deal(s);
        if t.scanned_at_ms.is_some() {
            *scanned.entry(e.id).or_default() += 1;
        }
        if t.status != Status::Valid {
            continue;
        }
        let currency = e.currency.to_ascii_uppercase();
        let (utm_source, utm_medium) = UTMS[t.utm as usize];
        let mut values: Vec<(&'static str, Option<String>)> = vec![
            ("channel", Some(d.channel.to_string())),
            (
                "payment_method",
                PAYMENTS[t.payment as usize].map(str::to_string),
            ),
            ("utm_source", utm_source.map(str::to_string)),
            ("utm_medium", utm_medium.map(str::to_string)),
        ];
        if d.visibilities.is_empty() {
            values.push(("visibility", None));
        }
        values.extend(
            d.visibilities
                .iter()
                .map(|v| ("visibility", Some(v.to_string()))),
        );
        for (dim, value) in values {
            let row = dims
                .entry((e.id, dim, value, currency.clone()))
                .or_default();
            row.0 += 1;
            row.1 += d.price;
        }
        for (fee_type, amount) in [
            ("service_fee", served_fees(d.price).0),
            ("buyer_fee", served_fees(d.price).1),
            ("producer_cost", served_fees(d.price).2),
        ] {
            *fees.entry((e.id, fee_type, currency.clone())).or_default() += amount;
        }
    }
    let shows_left = inventory(s)
        .into_iter()
        .map(|i| ShowLeftTruth {
            event_id: i.event_id,
            show_id: i.event_id,
            left: i.left,
        })
        .collect();
    finish(dims, fees, shows_left, scanned)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::served_fees;
    use crate::shotgun::{ShotgunConfig, ShotgunSim};

    #[tokio::test]
    async fn served_fees_follow_the_truth_rule() {
        let sim = ShotgunSim::new(ShotgunConfig {
            tickets: 300,
            ..Default::default()
        });
        let srv = sim.spawn().await.unwrap();
        let body: serde_json::Value = reqwest::Client::new()
            .get(format!(
                "{}/tickets?organizer_id=100001&include_cohosted_events=1",
                srv.base_url()
            ))
            .bearer_auth(sim.token())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = body["data"].as_array().unwrap();
        assert!(!data.is_empty());
        let mut prices = std::collections::BTreeSet::new();
        for t in data {
            let price = t["deal_price"].as_i64().unwrap();
            prices.insert(price);
            let served = (
                t["deal_service_fee"].as_i64().unwrap(),
                t["deal_user_service_fee"].as_i64().unwrap(),
                t["deal_producer_cost"].as_i64().unwrap(),
            );
            assert_eq!(served, served_fees(price), "ticket {}", t["ticket_id"]);
        }
        assert!(prices.len() > 2, "several deals on the page: {prices:?}");
    }

    #[test]
    fn every_dimension_adds_up_to_the_sales_truth() {
        let sim = ShotgunSim::new(ShotgunConfig {
            tickets: 2_000,
            changes_per_minute: 6.0,
            ..Default::default()
        });
        sim.advance(120);
        let sales = sim.truth();
        let b = sim.breakdown_truth();
        // (event, currency) → (held, revenue) from the sales truth.
        let mut want: BTreeMap<(u64, String), (u64, i64)> = BTreeMap::new();
        for r in &sales {
            let w = want.entry((r.event_id, r.currency.clone())).or_default();
            w.0 += r.sold;
            w.1 += r.revenue_minor;
        }
        want.retain(|_, v| *v != (0, 0));
        for dim in ["channel", "payment_method", "utm_source", "utm_medium"] {
            assert_eq!(b.per_event(dim), want, "{dim}");
        }
        // Tickets with no payment method or UTM tags exist, so `None` rows do too.
        assert!(b
            .rows
            .iter()
            .any(|r| r.dimension == "utm_source" && r.value.is_none()));
        // A ticket counts once per visibility of its deal.
        let public: u64 = b
            .rows
            .iter()
            .filter(|r| r.dimension == "visibility" && r.value.as_deref() == Some("public"))
            .map(|r| r.tickets)
            .sum();
        let total: u64 = want.values().map(|v| v.0).sum();
        assert!(public > 0 && public < total, "{public} of {total}");
        let left: BTreeMap<u64, u64> = sim
            .inventory_truth()
            .into_iter()
            .map(|i| (i.event_id, i.left))
            .collect();
        let events_left: BTreeMap<u64, u64> =
            b.events_left.iter().map(|e| (e.event_id, e.left)).collect();
        assert_eq!(events_left, left);
        let scanned_valid: u64 = sales.iter().map(|r| r.scanned).sum();
        let scanned_any: u64 = b.scanned_any.iter().map(|(_, n)| n).sum();
        assert!(scanned_any >= scanned_valid && scanned_valid > 0);
    }
}
