//! The `/metrics` aggregates of the ledger (`ledger_kpis`, `ledger_combos`), kept per page: a
//! page's ticket writes are summed here in Rust, per group key, as deltas (each changed
//! ticket's old row out of its groups, its new row into them), and each group's delta is
//! applied once, in the page's own transaction (migration 0008 dropped the per-row triggers of
//! 0006 that did this for every row; the delete trigger stays for an operator's `DELETE`).

use std::collections::HashMap;

use rusqlite::{params, Row, Transaction};

use crate::model::{Ticket, TicketStatus};

/// A ticket's row as far as the aggregates see it (the ledger's stored form: a missing
/// payment method or UTM tag is '', visibility its JSON text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contribution {
    pub event_id: String,
    pub category: String,
    pub currency: String,
    pub channel: String,
    pub payment_method: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub visibility: String,
    /// None for a status text this build does not know: counted in no status, keeps nothing.
    pub status: Option<TicketStatus>,
    pub scanned: bool,
    pub price_minor: i64,
    pub refunded_minor: i64,
    pub service_fee_minor: i64,
    pub buyer_fee_minor: i64,
    pub producer_cost_minor: i64,
}

/// Columns of `tickets` that [`Contribution::from_row`] reads, in its order, after
/// `updated_at_ms` (column 0).
pub(crate) const OLD_ROW_SQL: &str = "SELECT updated_at_ms, event_id, category, currency, channel,
         COALESCE(payment_method, ''), COALESCE(utm_source, ''), COALESCE(utm_medium, ''),
         COALESCE(utm_campaign, ''), visibility, status, scanned_at_ms IS NOT NULL, price_minor,
         refunded_minor, service_fee_minor, buyer_fee_minor, producer_cost_minor
     FROM tickets WHERE vendor = ?1 AND account = ?2 AND ticket_id = ?3";

impl Contribution {
    /// The stored row read by [`OLD_ROW_SQL`].
    pub fn from_row(r: &Row) -> rusqlite::Result<Self> {
        Ok(Self {
            event_id: r.get(1)?,
            category: r.get(2)?,
            currency: r.get(3)?,
            channel: r.get(4)?,
            payment_method: r.get(5)?,
            utm_source: r.get(6)?,
            utm_medium: r.get(7)?,
            utm_campaign: r.get(8)?,
            visibility: r.get(9)?,
            status: TicketStatus::parse(r.get_ref(10)?.as_str()?),
            scanned: r.get(11)?,
            price_minor: r.get(12)?,
            refunded_minor: r.get(13)?,
            service_fee_minor: r.get(14)?,
            buyer_fee_minor: r.get(15)?,
            producer_cost_minor: r.get(16)?,
        })
    }

    /// The row `t` is stored as (`visibility`: its JSON text, as the ledger writes it).
    pub fn of_ticket(t: &Ticket, visibility: &str) -> Self {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        Self {
            event_id: t.event_id.clone(),
            category: t.category.clone(),
            currency: t.currency.clone(),
            channel: t.channel.clone(),
            payment_method: text(&t.payment_method),
            utm_source: text(&t.utm_source),
            utm_medium: text(&t.utm_medium),
            utm_campaign: text(&t.utm_campaign),
            visibility: visibility.to_owned(),
            status: Some(t.status),
            scanned: t.scanned_at_ms.is_some(),
            price_minor: t.price_minor,
            refunded_minor: t.refunded_minor,
            service_fee_minor: t.service_fee_minor,
            buyer_fee_minor: t.buyer_fee_minor,
            producer_cost_minor: t.producer_cost_minor,
        }
    }

    fn kept(&self) -> i64 {
        self.status
            .map_or(0, |s| s.kept_minor(self.price_minor, self.refunded_minor))
    }
}

/// Sums of one `ledger_kpis` group: tickets, sold, refunded, canceled, resold, pending,
/// scanned, revenue.
type KpiSums = [i64; 8];
/// Sums of one `ledger_combos` group: tickets, held, kept, service fee, buyer fee, producer
/// cost, scanned.
type ComboSums = [i64; 7];

/// A page's changes to the aggregates of one vendor/account.
#[derive(Debug, Default)]
pub(crate) struct PageDeltas {
    /// (event, category, currency) → sums.
    kpis: HashMap<[String; 3], KpiSums>,
    /// (event, currency, channel, payment, utm source/medium/campaign, visibility) → sums.
    combos: HashMap<[String; 8], ComboSums>,
}

impl PageDeltas {
    /// Moves `c` into its groups (`sign` 1) or out of them (-1).
    pub fn add(&mut self, c: &Contribution, sign: i64) {
        let valid = c.status == Some(TicketStatus::Valid);
        let is = |s| i64::from(c.status == Some(s));
        let kept = c.kept();
        let k = self
            .kpis
            .entry([c.event_id.clone(), c.category.clone(), c.currency.clone()])
            .or_default();
        let row = [
            1,
            is(TicketStatus::Valid),
            is(TicketStatus::Refunded),
            is(TicketStatus::Canceled),
            is(TicketStatus::Resold),
            is(TicketStatus::Pending),
            i64::from(valid && c.scanned),
            kept,
        ];
        for (sum, v) in k.iter_mut().zip(row) {
            *sum += sign * v;
        }
        let held = |fee: i64| if valid { fee } else { 0 };
        let g = self
            .combos
            .entry([
                c.event_id.clone(),
                c.currency.clone(),
                c.channel.clone(),
                c.payment_method.clone(),
                c.utm_source.clone(),
                c.utm_medium.clone(),
                c.utm_campaign.clone(),
                c.visibility.clone(),
            ])
            .or_default();
        let row = [
            1,
            i64::from(valid),
            kept,
            held(c.service_fee_minor),
            held(c.buyer_fee_minor),
            held(c.producer_cost_minor),
            i64::from(c.scanned),
        ];
        for (sum, v) in g.iter_mut().zip(row) {
            *sum += sign * v;
        }
    }

    /// Applies every group's delta once (groups whose delta is all zero are left alone).
    pub fn apply(&self, tx: &Transaction, vendor: &str, account: &str) -> rusqlite::Result<()> {
        if !self.kpis.is_empty() {
            let mut st = tx.prepare_cached(
                "INSERT INTO ledger_kpis VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                     ?12, ?13)
                 ON CONFLICT (vendor, account, event_id, category, currency) DO UPDATE SET
                     tickets = tickets + excluded.tickets, sold = sold + excluded.sold,
                     refunded = refunded + excluded.refunded,
                     canceled = canceled + excluded.canceled,
                     resold = resold + excluded.resold, pending = pending + excluded.pending,
                     scanned = scanned + excluded.scanned,
                     revenue_minor = revenue_minor + excluded.revenue_minor",
            )?;
            for ([event, category, currency], d) in &self.kpis {
                if d.iter().all(|v| *v == 0) {
                    continue;
                }
                st.execute(params![
                    vendor, account, event, category, currency, d[0], d[1], d[2], d[3], d[4], d[5],
                    d[6], d[7]
                ])?;
            }
        }
        if !self.combos.is_empty() {
            let mut st = tx.prepare_cached(
                "INSERT INTO ledger_combos VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                     ?12, ?13, ?14, ?15, ?16, ?17)
                 ON CONFLICT (vendor, account, event_id, currency, channel, payment_method,
                     utm_source, utm_medium, utm_campaign, visibility) DO UPDATE SET
                     tickets = tickets + excluded.tickets, held = held + excluded.held,
                     kept_minor = kept_minor + excluded.kept_minor,
                     service_fee_minor = service_fee_minor + excluded.service_fee_minor,
                     buyer_fee_minor = buyer_fee_minor + excluded.buyer_fee_minor,
                     producer_cost_minor = producer_cost_minor + excluded.producer_cost_minor,
                     scanned = scanned + excluded.scanned",
            )?;
            for (key, d) in &self.combos {
                if d.iter().all(|v| *v == 0) {
                    continue;
                }
                let [event, currency, channel, payment, source, medium, campaign, vis] = key;
                st.execute(params![
                    vendor, account, event, currency, channel, payment, source, medium, campaign,
                    vis, d[0], d[1], d[2], d[3], d[4], d[5], d[6]
                ])?;
            }
        }
        Ok(())
    }
}
