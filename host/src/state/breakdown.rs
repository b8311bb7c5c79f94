//! Breakdown reads of the ledger: held tickets and kept revenue per event and value of each
//! dimension (sales channel, payment method, UTM source / medium / campaign, deal visibility),
//! fees of held tickets by type, door scans per event, and tickets left per event.
//!
//! Owns the cardinality rule: per (vendor, account, dimension) only the [`BREAKDOWN_CAP`]
//! values with the most held tickets keep their own label; every other value is folded into
//! [`OTHER_VALUE`], and a ticket without a value is counted under [`NONE_VALUE`]. So one
//! dimension of one event never has more than `BREAKDOWN_CAP + 2` series. Read-only: the
//! ledger's writes are in `ledger.rs`. The combinations come from `ledger_combos`, which the
//! ledger's writes keep per page (`aggregates`); the scan of the ledger stays as their reference.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context;

use super::group::GroupIndex;
use super::StateStore;

/// Values of one dimension that keep their own label, per vendor and account (ranked by held
/// tickets, then kept revenue, then the value itself so ties are stable).
pub const BREAKDOWN_CAP: usize = 20;
/// The label of a ticket without a value (null or blank; an empty visibility set).
pub const NONE_VALUE: &str = "none";
/// The label every value beyond the cap is folded into.
pub const OTHER_VALUE: &str = "other";

/// Kept money of one ledger row in minor units, as SQL: the same rule as
/// [`crate::model::Ticket::kept_minor`] (a test below holds the two together).
pub(crate) const KEPT_MINOR_SQL: &str = "CASE status WHEN 'valid' THEN price_minor
     WHEN 'refunded' THEN MAX(price_minor - refunded_minor, 0) ELSE 0 END";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Channel,
    PaymentMethod,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    Visibility,
}

impl Dimension {
    pub const ALL: [Self; 6] = [
        Self::Channel,
        Self::PaymentMethod,
        Self::UtmSource,
        Self::UtmMedium,
        Self::UtmCampaign,
        Self::Visibility,
    ];

    /// The dimension's name, also its label name on `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Channel => "channel",
            Self::PaymentMethod => "payment_method",
            Self::UtmSource => "utm_source",
            Self::UtmMedium => "utm_medium",
            Self::UtmCampaign => "utm_campaign",
            Self::Visibility => "visibility",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeeType {
    /// The vendor's platform fee (Shotgun `deal_service_fee`, QTickets `service_fee_amount`).
    ServiceFee,
    /// The fee the buyer pays on top (Shotgun `deal_user_service_fee`).
    BuyerFee,
    /// Shotgun `deal_producer_cost`.
    ProducerCost,
}

impl FeeType {
    pub const ALL: [Self; 3] = [Self::ServiceFee, Self::BuyerFee, Self::ProducerCost];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ServiceFee => "service_fee",
            Self::BuyerFee => "buyer_fee",
            Self::ProducerCost => "producer_cost",
        }
    }
}

/// Held tickets and kept revenue of one event with one (capped) value of one dimension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakdownRow {
    pub vendor: String,
    pub account: String,
    pub event_id: String,
    pub currency: String,
    pub dimension: Dimension,
    /// The value, [`NONE_VALUE`] or [`OTHER_VALUE`].
    pub value: String,
    pub tickets: u64,
    pub revenue_minor: i64,
}

/// Fees of the held tickets of one event, by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRow {
    pub vendor: String,
    pub account: String,
    pub event_id: String,
    pub currency: String,
    pub fee_type: FeeType,
    pub amount_minor: i64,
}

/// Tickets of one event that were scanned at the door, whatever their status now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventScans {
    pub vendor: String,
    pub account: String,
    pub event_id: String,
    pub scanned: u64,
}

/// Every breakdown of the ledger at one moment, each list sorted by its key. Groups whose
/// figures are all zero are kept, so a series that fell to zero reads 0 instead of vanishing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdowns {
    pub rows: Vec<BreakdownRow>,
    pub fees: Vec<FeeRow>,
    pub scans: Vec<EventScans>,
}

/// Tickets left of one event: Σ of the latest `available` of its shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLeft {
    pub vendor: String,
    pub account: String,
    pub event_id: String,
    pub left: u64,
    /// Shows that reported a figure.
    pub shows: u64,
}

/// One distinct combination of ledger values, with its sums.
struct Combo {
    vendor: String,
    account: String,
    event_id: String,
    currency: String,
    scalars: [Option<String>; 5],
    visibility: String,
    held: u64,
    kept: i64,
    fees: [i64; 3],
    scanned: u64,
}

/// (vendor, account, event, currency, dimension, value) → (held, kept).
type RawKey = (String, String, String, String, Dimension, Option<String>);
/// (vendor, account, dimension): the scope of the cap.
type CapScope = (String, String, Dimension);
/// (vendor, account, event, dimension, label, currency): one output row.
type RowKey = (String, String, String, Dimension, String, String);

fn text(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// The elements of a stored visibility set; a malformed one counts as no value.
fn visibilities(json: &str) -> Vec<Option<String>> {
    let set: Vec<String> = serde_json::from_str(json).unwrap_or_default();
    let mut out: Vec<Option<String>> = set.into_iter().map(|v| text(Some(v))).collect();
    out.retain(Option::is_some);
    out.sort();
    out.dedup();
    if out.is_empty() {
        out.push(None);
    }
    out
}

/// The values that keep their label, per (vendor, account, dimension).
fn kept_values(raw: &HashMap<RawKey, (u64, i64)>, cap: usize) -> HashMap<CapScope, Vec<String>> {
    let mut totals: HashMap<(&str, &str, Dimension, &str), (u64, i64)> = HashMap::new();
    for ((vendor, account, _, _, dim, value), (held, kept)) in raw {
        if let Some(v) = value {
            let t = totals.entry((vendor, account, *dim, v)).or_default();
            t.0 += held;
            t.1 += kept;
        }
    }
    let mut ranked: HashMap<CapScope, Vec<(u64, i64, String)>> = HashMap::new();
    for ((vendor, account, dim, value), (held, kept)) in totals {
        ranked
            .entry((vendor.to_string(), account.to_string(), dim))
            .or_default()
            .push((held, kept, value.to_string()));
    }
    ranked
        .into_iter()
        .map(|(k, mut vals)| {
            vals.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            let mut keep: Vec<String> = vals.into_iter().take(cap).map(|v| v.2).collect();
            keep.sort();
            (k, keep)
        })
        .collect()
}

impl StateStore {
    /// Breakdowns with the default cap ([`BREAKDOWN_CAP`]).
    pub fn breakdowns(&self) -> anyhow::Result<Breakdowns> {
        self.breakdowns_capped(BREAKDOWN_CAP)
    }

    /// Breakdowns keeping `cap` values per (vendor, account, dimension), from the ledger's
    /// combinations of every breakdown column at once (few distinct ones), as the ledger's writes
    /// keep them in `ledger_combos`, fanned out per dimension here.
    pub fn breakdowns_capped(&self, cap: usize) -> anyhow::Result<Breakdowns> {
        Ok(fan_out(self.combos()?, cap))
    }

    /// The same as [`Self::breakdowns_capped`] from a scan of the whole ledger: the reference
    /// the aggregates are tested against (what `/metrics` read before migration 0006).
    pub fn breakdowns_rescan_capped(&self, cap: usize) -> anyhow::Result<Breakdowns> {
        Ok(fan_out(self.combos_rescan()?, cap))
    }
}

/// The breakdowns of `combos`, keeping `cap` values per (vendor, account, dimension).
fn fan_out(combos: Vec<Combo>, cap: usize) -> Breakdowns {
    let mut raw: HashMap<RawKey, (u64, i64)> = HashMap::new();
    let mut fees: BTreeMap<(String, String, String, String, FeeType), i64> = BTreeMap::new();
    let mut scans: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let mut parsed: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for c in combos {
        let key = |dim: Dimension, value: Option<String>| -> RawKey {
            (
                c.vendor.clone(),
                c.account.clone(),
                c.event_id.clone(),
                c.currency.clone(),
                dim,
                value,
            )
        };
        let mut add = |k: RawKey| {
            let r = raw.entry(k).or_default();
            r.0 += c.held;
            r.1 += c.kept;
        };
        for (dim, value) in Dimension::ALL.iter().zip(&c.scalars) {
            add(key(*dim, value.clone()));
        }
        let vis = parsed
            .entry(c.visibility.clone())
            .or_insert_with(|| visibilities(&c.visibility));
        for v in vis.iter() {
            add(key(Dimension::Visibility, v.clone()));
        }
        for (fee_type, amount) in FeeType::ALL.iter().zip(c.fees) {
            *fees
                .entry((
                    c.vendor.clone(),
                    c.account.clone(),
                    c.event_id.clone(),
                    c.currency.clone(),
                    *fee_type,
                ))
                .or_default() += amount;
        }
        *scans
            .entry((c.vendor.clone(), c.account.clone(), c.event_id.clone()))
            .or_default() += c.scanned;
    }

    let kept = kept_values(&raw, cap);
    let mut rows: BTreeMap<RowKey, (u64, i64)> = BTreeMap::new();
    for ((vendor, account, event_id, currency, dim, value), (held, money)) in raw {
        let label = match value {
            None => NONE_VALUE.to_string(),
            Some(v) => {
                let keep = kept
                    .get(&(vendor.clone(), account.clone(), dim))
                    .is_some_and(|k| k.binary_search(&v).is_ok());
                if keep {
                    v
                } else {
                    OTHER_VALUE.to_string()
                }
            }
        };
        let r = rows
            .entry((vendor, account, event_id, dim, label, currency))
            .or_default();
        r.0 += held;
        r.1 += money;
    }
    Breakdowns {
        rows: rows
            .into_iter()
            .map(
                |((vendor, account, event_id, dimension, value, currency), (t, r))| BreakdownRow {
                    vendor,
                    account,
                    event_id,
                    currency,
                    dimension,
                    value,
                    tickets: t,
                    revenue_minor: r,
                },
            )
            .collect(),
        fees: fees
            .into_iter()
            .map(
                |((vendor, account, event_id, currency, fee_type), amount_minor)| FeeRow {
                    vendor,
                    account,
                    event_id,
                    currency,
                    fee_type,
                    amount_minor,
                },
            )
            .collect(),
        scans: scans
            .into_iter()
            .map(|((vendor, account, event_id), scanned)| EventScans {
                vendor,
                account,
                event_id,
                scanned,
            })
            .collect(),
    }
}

impl StateStore {
    /// Distinct combinations of breakdown values with their sums, from `ledger_combos`
    /// (combinations no ticket is in any more are skipped, as a scan would not see them).
    fn combos(&self) -> anyhow::Result<Vec<Combo>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT vendor, account, event_id, currency, channel, payment_method, utm_source,
                 utm_medium, utm_campaign, visibility, held, kept_minor, service_fee_minor,
                 buyer_fee_minor, producer_cost_minor, scanned
             FROM ledger_combos WHERE tickets > 0",
        )?;
        let rows = st.query_map([], |r| {
            Ok(Combo {
                vendor: r.get(0)?,
                account: r.get(1)?,
                event_id: r.get(2)?,
                currency: r.get(3)?,
                scalars: [
                    text(r.get(4)?),
                    text(r.get(5)?),
                    text(r.get(6)?),
                    text(r.get(7)?),
                    text(r.get(8)?),
                ],
                visibility: r.get(9)?,
                held: r.get(10)?,
                kept: r.get(11)?,
                fees: [r.get(12)?, r.get(13)?, r.get(14)?],
                scanned: r.get(15)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
            .context("reading the ledger's breakdown aggregates (ledger_combos)")
    }

    /// Distinct combinations of breakdown values with their sums, from a scan of the ledger
    /// (the reference). One plain scan aggregated here: a `GROUP BY` over ten text columns
    /// makes SQLite sort the whole table first, about three times slower on a million tickets.
    fn combos_rescan(&self) -> anyhow::Result<Vec<Combo>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT vendor, account, event_id, currency, channel, payment_method, utm_source,
                 utm_medium, utm_campaign, visibility,
                 status = 'valid', {KEPT_MINOR_SQL},
                 CASE WHEN status = 'valid' THEN service_fee_minor ELSE 0 END,
                 CASE WHEN status = 'valid' THEN buyer_fee_minor ELSE 0 END,
                 CASE WHEN status = 'valid' THEN producer_cost_minor ELSE 0 END,
                 scanned_at_ms IS NOT NULL
             FROM tickets"
        );
        let mut st = conn.prepare_cached(&sql)?;
        let mut rows = st.query([])?;
        let mut groups = GroupIndex::new(10);
        let mut out: Vec<Combo> = Vec::new();
        while let Some(r) = rows.next()? {
            let at = match groups.find(r)? {
                Ok(at) => at,
                Err(at) => {
                    out.push(Combo {
                        vendor: r.get(0)?,
                        account: r.get(1)?,
                        event_id: r.get(2)?,
                        currency: r.get(3)?,
                        scalars: [
                            text(r.get(4)?),
                            text(r.get(5)?),
                            text(r.get(6)?),
                            text(r.get(7)?),
                            text(r.get(8)?),
                        ],
                        visibility: r.get(9)?,
                        held: 0,
                        kept: 0,
                        fees: [0; 3],
                        scanned: 0,
                    });
                    at
                }
            };
            let c = &mut out[at];
            c.held += r.get::<_, i64>(10)? as u64;
            c.kept += r.get::<_, i64>(11)?;
            for (k, fee) in c.fees.iter_mut().enumerate() {
                *fee += r.get::<_, i64>(12 + k)?;
            }
            c.scanned += r.get::<_, i64>(15)? as u64;
        }
        Ok(out)
    }

    /// Tickets left per event: Σ of the latest figure of each show that reported one.
    pub fn event_tickets_left(&self) -> anyhow::Result<Vec<EventLeft>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT vendor, account, event_id, SUM(available), COUNT(*) FROM inventory_latest
             WHERE available IS NOT NULL
             GROUP BY vendor, account, event_id ORDER BY vendor, account, event_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(EventLeft {
                vendor: r.get(0)?,
                account: r.get(1)?,
                event_id: r.get(2)?,
                left: r.get::<_, i64>(3)? as u64,
                shows: r.get::<_, i64>(4)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Inventory, Record, Ticket, TicketStatus};

    fn store() -> (tempfile::TempDir, StateStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(&dir.path().join("state.sqlite")).unwrap();
        (dir, s)
    }

    fn ticket(id: u32, event: &str, status: TicketStatus) -> Ticket {
        Ticket {
            ticket_id: id.to_string(),
            order_id: id.to_string(),
            event_id: event.into(),
            category: "GA".into(),
            channel: "online".into(),
            status,
            price_minor: 1000,
            service_fee_minor: 100,
            buyer_fee_minor: 30,
            producer_cost_minor: 5,
            refunded_minor: if status == TicketStatus::Refunded {
                700
            } else {
                0
            },
            currency: "EUR".into(),
            ordered_at_ms: 1,
            updated_at_ms: 1,
            payment_method: Some("card".into()),
            ..Ticket::BLANK
        }
    }

    fn commit(s: &StateStore, vendor: &str, account: &str, tickets: Vec<Ticket>) {
        let records: Vec<Record> = tickets.into_iter().map(Record::Ticket).collect();
        s.commit_page(vendor, account, &records, None, 1).unwrap();
    }

    fn find<'a>(b: &'a Breakdowns, dim: Dimension, value: &str) -> Vec<&'a BreakdownRow> {
        b.rows
            .iter()
            .filter(|r| r.dimension == dim && r.value == value)
            .collect()
    }

    #[test]
    fn revenue_follows_the_one_definition_of_kept_money() {
        let (_d, s) = store();
        let statuses = TicketStatus::ALL;
        for (i, st) in statuses.into_iter().enumerate() {
            let t = ticket(i as u32, &format!("e{i}"), st);
            let want = t.kept_minor();
            commit(&s, "v", "a", vec![t]);
            let b = s.breakdowns().unwrap();
            let row = b
                .rows
                .iter()
                .find(|r| r.event_id == format!("e{i}") && r.dimension == Dimension::Channel)
                .unwrap();
            assert_eq!(row.revenue_minor, want, "{st:?}");
            assert_eq!(row.tickets, (st == TicketStatus::Valid) as u64, "{st:?}");
        }
    }

    #[test]
    fn values_missing_values_visibility_sets_fees_and_scans() {
        let (_d, s) = store();
        let mut a = ticket(1, "e1", TicketStatus::Valid);
        a.visibility = vec!["public".into(), "promoters".into()];
        a.utm_source = Some("  ".into());
        a.scanned_at_ms = Some(5);
        let mut b = ticket(2, "e1", TicketStatus::Valid);
        b.visibility = vec!["public".into()];
        b.utm_source = Some("insta".into());
        b.payment_method = None;
        let mut c = ticket(3, "e1", TicketStatus::Refunded);
        c.scanned_at_ms = Some(6);
        commit(&s, "v", "a", vec![a, b, c]);
        let br = s.breakdowns().unwrap();
        let one = |dim, value| {
            let rows = find(&br, dim, value);
            assert_eq!(rows.len(), 1, "{dim:?}={value}: {rows:?}");
            (rows[0].tickets, rows[0].revenue_minor)
        };
        // The refunded ticket keeps 300 of 1000 and holds nothing.
        assert_eq!(one(Dimension::Channel, "online"), (2, 2300));
        assert_eq!(one(Dimension::Visibility, "public"), (2, 2000));
        assert_eq!(one(Dimension::Visibility, "promoters"), (1, 1000));
        assert_eq!(one(Dimension::Visibility, NONE_VALUE), (0, 300));
        assert_eq!(one(Dimension::UtmSource, NONE_VALUE), (1, 1300));
        assert_eq!(one(Dimension::UtmSource, "insta"), (1, 1000));
        assert_eq!(one(Dimension::PaymentMethod, NONE_VALUE), (1, 1000));
        assert_eq!(one(Dimension::UtmCampaign, NONE_VALUE), (2, 2300));
        let fee = |t: FeeType| {
            br.fees
                .iter()
                .find(|f| f.fee_type == t && f.event_id == "e1")
                .unwrap()
                .amount_minor
        };
        // Fees of held tickets only.
        assert_eq!(
            (
                fee(FeeType::ServiceFee),
                fee(FeeType::BuyerFee),
                fee(FeeType::ProducerCost)
            ),
            (200, 60, 10)
        );
        assert_eq!(br.scans[0].scanned, 2, "scans of any status count");
    }

    #[test]
    fn values_beyond_the_cap_fold_into_other_per_account() {
        let (_d, s) = store();
        let cap = BREAKDOWN_CAP;
        // cap + 5 campaigns; campaign k has k + 1 held tickets, spread over two events.
        let mut tickets = Vec::new();
        let mut id = 0;
        for k in 0..cap + 5 {
            for n in 0..=k {
                let mut t = ticket(
                    id,
                    if n % 2 == 0 { "e1" } else { "e2" },
                    TicketStatus::Valid,
                );
                t.utm_campaign = Some(format!("c{k:02}"));
                tickets.push(t);
                id += 1;
            }
        }
        let mut untagged = ticket(id, "e1", TicketStatus::Valid);
        untagged.utm_campaign = None;
        tickets.push(untagged);
        // Another account's single campaign does not compete with these.
        let mut other_acct = ticket(0, "e1", TicketStatus::Valid);
        other_acct.utm_campaign = Some("c00".into());
        commit(&s, "v", "a", tickets);
        commit(&s, "v", "b", vec![other_acct]);

        let br = s.breakdowns().unwrap();
        let rows: Vec<_> = br
            .rows
            .iter()
            .filter(|r| r.account == "a" && r.dimension == Dimension::UtmCampaign)
            .collect();
        let labels: std::collections::BTreeSet<&str> =
            rows.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(labels.len(), cap + 2, "{labels:?}");
        assert!(labels.contains(OTHER_VALUE) && labels.contains(NONE_VALUE));
        // The five smallest (c00..c04: 1..5 tickets) are folded: 15 tickets in `other`.
        for k in 0..5 {
            assert!(!labels.contains(format!("c{k:02}").as_str()), "c{k:02}");
        }
        assert!(labels.contains(format!("c{:02}", cap + 4).as_str()));
        let other: u64 = rows
            .iter()
            .filter(|r| r.value == OTHER_VALUE)
            .map(|r| r.tickets)
            .sum();
        assert_eq!(other, 15);
        let total: u64 = rows.iter().map(|r| r.tickets).sum();
        let expected: usize = (1..=cap + 5).sum::<usize>() + 1;
        assert_eq!(total as usize, expected, "folding loses nothing");
        // Account b keeps its only value.
        assert!(br.rows.iter().any(|r| r.account == "b"
            && r.dimension == Dimension::UtmCampaign
            && r.value == "c00"));
        // A smaller cap folds more.
        let small = s.breakdowns_capped(2).unwrap();
        let n = small
            .rows
            .iter()
            .filter(|r| r.account == "a" && r.dimension == Dimension::UtmCampaign)
            .map(|r| r.value.as_str())
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(n.len(), 4, "{n:?}");
    }

    #[test]
    fn tickets_left_per_event_sum_the_latest_figure_of_each_show() {
        let (_d, s) = store();
        let inv = |show: &str, at: i64, available: Option<u32>| {
            Record::Inventory(Inventory {
                event_id: "e1".into(),
                show_id: show.into(),
                captured_at_ms: at,
                capacity: Some(100),
                available,
                sold: None,
            })
        };
        s.commit_page(
            "v",
            "a",
            &[
                inv("s1", 1, Some(50)),
                inv("s2", 1, Some(20)),
                inv("s3", 1, None),
            ],
            None,
            1,
        )
        .unwrap();
        s.commit_page("v", "a", &[inv("s1", 2, Some(40))], None, 2)
            .unwrap();
        let left = s.event_tickets_left().unwrap();
        assert_eq!(
            left,
            vec![EventLeft {
                vendor: "v".into(),
                account: "a".into(),
                event_id: "e1".into(),
                left: 60,
                shows: 2,
            }]
        );
    }
}
