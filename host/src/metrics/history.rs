//! The past of the ledger KPIs: the value each KPI series of `/metrics` had at every step
//! boundary, rebuilt from the ledger's timestamps, for `boxoffice backfill-metrics`.
//!
//! Owns the rules that turn a ticket's current state into a history ([`held`]), the families
//! that have a history ([`FAMILIES`]: same exposition names and labels as the live families in
//! [`super::ledger`], so a dashboard's series run on from the backfilled past into the scraped
//! present), the step grid ([`Grid`]) and the streaming read ([`stream`]): tickets are read in
//! event order and each event's series are emitted before the next event is read, so memory
//! holds one event's changes, never the whole ledger's samples.
//!
//! Adding a family is one [`Family`] entry: its name, its labels per ticket, and how a ticket
//! changes its value over time.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Context;
use rusqlite::params;
use thiserror::Error;

use super::exposition::{major, Labels};
use super::label::LabelValue;
use crate::model::{Ticket, TicketStatus};
use crate::state::StateStore;
use crate::zone::Zone;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum HistoryError {
    #[error("step `{0}`: use a whole number of minutes, hours or days, e.g. 1h or 1d")]
    BadStep(String),
    #[error("step `{0}` is too long (at most 366d)")]
    StepTooLong(String),
}

/// The distance between two samples of a series (`--step`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    ms: i64,
}

impl Step {
    pub const HOUR: Step = Step { ms: 3_600_000 };
    pub const DAY: Step = Step { ms: 86_400_000 };

    /// `30m`, `1h`, `1d`, …: a positive whole number and a unit.
    pub fn parse(s: &str) -> Result<Self, HistoryError> {
        let t = s.trim();
        let bad = || HistoryError::BadStep(s.to_string());
        let unit = match t.chars().last() {
            Some('m') => 60_000,
            Some('h') => 3_600_000,
            Some('d') => 86_400_000,
            _ => return Err(bad()),
        };
        let n: i64 = t[..t.len() - 1].parse().map_err(|_| bad())?;
        if n <= 0 {
            return Err(bad());
        }
        let ms = n.checked_mul(unit).ok_or_else(bad)?;
        if ms > 366 * 86_400_000 {
            return Err(HistoryError::StepTooLong(s.to_string()));
        }
        Ok(Self { ms })
    }

    pub fn ms(self) -> i64 {
        self.ms
    }
}

impl std::str::FromStr for Step {
    type Err = HistoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, u) = if self.ms % 86_400_000 == 0 {
            (self.ms / 86_400_000, "d")
        } else if self.ms % 3_600_000 == 0 {
            (self.ms / 3_600_000, "h")
        } else {
            (self.ms / 60_000, "m")
        };
        write!(f, "{n}{u}")
    }
}

/// The sample times: every step, aligned to the local zone (a 1d step samples at local
/// midnight, as the daily figures of the warehouse are cut), from `first_ms` for `len` steps.
/// The grid is even in real time (series samples are): the zone's offset at the first
/// boundary aligns it, so after a DST change a 1d grid samples at 23:00 or 01:00 local.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub first_ms: i64,
    pub step_ms: i64,
    pub len: usize,
}

impl Grid {
    /// Boundaries from the first at or after `from_ms` to the last at or before `until_ms`;
    /// `None` when there is none.
    pub fn new(step: Step, from_ms: i64, until_ms: i64, zone: &Zone) -> Option<Self> {
        let (s, tz) = (step.ms, zone.offset_secs_at(from_ms) * 1000);
        let up = |t: i64| {
            let x = t + tz;
            (x.div_euclid(s) + (x.rem_euclid(s) != 0) as i64) * s - tz
        };
        let down = |t: i64| (t + tz).div_euclid(s) * s - tz;
        let (first, last) = (up(from_ms), down(until_ms));
        (first <= last).then(|| Self {
            first_ms: first,
            step_ms: s,
            len: ((last - first) / s + 1) as usize,
        })
    }

    /// The grid of a history from `since_ms` (default: the ledger's first order) until
    /// `until_ms`; `None` when the ledger is empty or the range holds no boundary.
    pub fn for_ledger(
        state: &StateStore,
        step: Step,
        since_ms: Option<i64>,
        until_ms: i64,
        zone: &Zone,
    ) -> anyhow::Result<Option<Self>> {
        let first: Option<i64> = state
            .conn()
            .query_row("SELECT MIN(ordered_at_ms) FROM tickets", [], |r| r.get(0))
            .context("reading the ledger's first order time")?;
        let Some(first) = first else {
            return Ok(None);
        };
        Ok(Self::new(step, since_ms.unwrap_or(first), until_ms, zone))
    }

    pub fn at(&self, i: usize) -> i64 {
        self.first_ms + i as i64 * self.step_ms
    }

    pub fn last_ms(&self) -> i64 {
        self.at(self.len - 1)
    }

    /// The first boundary at or after `t`: its index, 0 for anything up to the first boundary,
    /// `len` for anything after the last.
    fn index_of(&self, t: i64) -> usize {
        if t <= self.first_ms {
            return 0;
        }
        let k = (t - self.first_ms + self.step_ms - 1) / self.step_ms;
        (k as usize).min(self.len)
    }
}

/// When a ticket counted as held (what `boxoffice_tickets_sold_total` counts): from its order
/// until it left the held state, `(ordered_at, Some(left_at))`, or still held,
/// `(ordered_at, None)`; `None` when it never counted.
///
/// THE rule of the history, stated once: the ledger keeps each ticket's current state only, so
/// the moment of leaving is the best timestamp it has — `refunded_at` when the vendor gave one
/// (Shotgun also fills it for cancels), else `updated_at` (the last change the vendor reported,
/// which for a canceled or resold ticket is the cancel or resale unless the vendor touched the
/// ticket again later). A ticket pending now is not counted at any time (live does not count
/// it either); a ticket that is valid now counts from its order even if its payment completed
/// later (the ledger does not keep when).
pub fn held(t: &Ticket) -> Option<(i64, Option<i64>)> {
    match t.status {
        TicketStatus::Valid => Some((t.ordered_at_ms, None)),
        TicketStatus::Pending => None,
        TicketStatus::Refunded | TicketStatus::Canceled | TicketStatus::Resold => {
            let left = t.refunded_at_ms.unwrap_or(t.updated_at_ms);
            Some((t.ordered_at_ms, Some(left.max(t.ordered_at_ms))))
        }
    }
}

/// A ticket as the history reads it from the ledger.
#[derive(Debug, Clone)]
pub struct LedgerTicket {
    pub vendor: String,
    pub account: String,
    /// Current state; `visibility`, `buyer` and `region` are not read (no family uses them).
    pub ticket: Ticket,
}

/// One family with a history: exposition name (with `_total` for counters, as scraped), the
/// series a ticket belongs to, and how the ticket changes that series' value over time.
pub struct Family {
    pub name: &'static str,
    /// Label names and values, in the order of the live family.
    pub labels: fn(&LedgerTicket) -> Labels,
    /// Pushes `(at_ms, delta)` in the family's integer units: the ticket's contribution is the
    /// sum of the deltas at or before a moment.
    pub changes: fn(&Ticket, &mut Vec<(i64, i64)>),
    /// Integer units → exposed value (the series' labels say its currency, where it has one).
    pub value: fn(i64, &Labels) -> f64,
}

fn kpi_labels(t: &LedgerTicket) -> Labels {
    vec![
        ("vendor", LabelValue::from(&t.vendor)),
        ("account", LabelValue::from(&t.account)),
        ("event_id", LabelValue::from(&t.ticket.event_id)),
        ("category", LabelValue::from(&t.ticket.category)),
    ]
}

fn kpi_currency_labels(t: &LedgerTicket) -> Labels {
    let mut l = kpi_labels(t);
    l.push(("currency", LabelValue::from(&t.ticket.currency)));
    l
}

fn count(n: i64, _: &Labels) -> f64 {
    n as f64
}

/// Minor units → major units of the series' `currency` label.
fn money(minor: i64, labels: &Labels) -> f64 {
    let currency = labels
        .iter()
        .find(|(name, _)| *name == "currency")
        .map_or("", |(_, v)| v.raw());
    major(minor, currency)
}

fn sold(t: &Ticket, out: &mut Vec<(i64, i64)>) {
    if let Some((from, until)) = held(t) {
        out.push((from, 1));
        if let Some(u) = until {
            out.push((u, -1));
        }
    }
}

/// From the moment the ticket left the held state, if that left it in `status`.
fn ended_as(status: TicketStatus, t: &Ticket, out: &mut Vec<(i64, i64)>) {
    if t.status == status {
        if let Some((_, Some(left))) = held(t) {
            out.push((left, 1));
        }
    }
}

fn refunded(t: &Ticket, out: &mut Vec<(i64, i64)>) {
    ended_as(TicketStatus::Refunded, t, out)
}

fn canceled(t: &Ticket, out: &mut Vec<(i64, i64)>) {
    ended_as(TicketStatus::Canceled, t, out)
}

/// Held and scanned (live counts valid tickets with a scan): from the scan while held.
fn scanned(t: &Ticket, out: &mut Vec<(i64, i64)>) {
    if let (Some((from, until)), Some(scan)) = (held(t), t.scanned_at_ms) {
        let on = scan.max(from);
        if until.is_none_or(|u| on < u) {
            out.push((on, 1));
            if let Some(u) = until {
                out.push((u, -1));
            }
        }
    }
}

/// While held it keeps what a valid ticket keeps; after leaving, what its status keeps now
/// (a refund's withheld part, nothing for a cancel or resale).
fn revenue(t: &Ticket, out: &mut Vec<(i64, i64)>) {
    if let Some((from, until)) = held(t) {
        let while_held = TicketStatus::Valid.kept_minor(t.price_minor, t.refunded_minor);
        out.push((from, while_held));
        if let Some(u) = until {
            out.push((u, t.kept_minor() - while_held));
        }
    }
}

/// The families that have a history: the core KPIs of [`super::ledger`].
pub const FAMILIES: &[Family] = &[
    Family {
        name: "boxoffice_tickets_sold_total",
        labels: kpi_labels,
        changes: sold,
        value: count,
    },
    Family {
        name: "boxoffice_tickets_refunded_total",
        labels: kpi_labels,
        changes: refunded,
        value: count,
    },
    Family {
        name: "boxoffice_tickets_canceled_total",
        labels: kpi_labels,
        changes: canceled,
        value: count,
    },
    Family {
        name: "boxoffice_tickets_scanned_total",
        labels: kpi_labels,
        changes: scanned,
        value: count,
    },
    Family {
        name: "boxoffice_revenue_total",
        labels: kpi_currency_labels,
        changes: revenue,
        value: money,
    },
];

/// Every label name the families use (extra labels must not collide with these).
pub fn label_names(families: &[Family]) -> Vec<&'static str> {
    let probe = LedgerTicket {
        vendor: String::new(),
        account: String::new(),
        ticket: Ticket::BLANK,
    };
    let mut names: Vec<&'static str> = families
        .iter()
        .flat_map(|f| (f.labels)(&probe).into_iter().map(|(n, _)| n))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// One series' history: `values[i]` at `first_ms + i * step_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: &'static str,
    pub labels: Labels,
    pub first_ms: i64,
    pub step_ms: i64,
    pub values: Vec<f64>,
}

impl Series {
    pub fn timestamp(&self, i: usize) -> i64 {
        self.first_ms + i as i64 * self.step_ms
    }
}

/// What a [`stream`] read and emitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryStats {
    pub tickets: u64,
    pub events: u64,
    /// Per family, in [`FAMILIES`] order: (name, series, samples).
    pub families: Vec<(&'static str, u64, u64)>,
}

impl HistoryStats {
    pub fn series(&self) -> u64 {
        self.families.iter().map(|f| f.1).sum()
    }
    pub fn samples(&self) -> u64 {
        self.families.iter().map(|f| f.2).sum()
    }
}

/// Changes of one series within one event: where its samples start, and its deltas by
/// boundary index.
struct Acc {
    start: usize,
    deltas: Vec<(usize, i64)>,
}

/// One event's series, built from its tickets and emitted in one go.
struct EventHistory<'a> {
    grid: &'a Grid,
    families: &'a [Family],
    series: BTreeMap<(usize, Labels), Acc>,
    scratch: Vec<(i64, i64)>,
}

impl<'a> EventHistory<'a> {
    fn add(&mut self, t: &LedgerTicket) {
        let start = self.grid.index_of(t.ticket.ordered_at_ms);
        for (fi, f) in self.families.iter().enumerate() {
            self.scratch.clear();
            (f.changes)(&t.ticket, &mut self.scratch);
            let acc = self.series.entry((fi, (f.labels)(t))).or_insert(Acc {
                start,
                deltas: Vec::new(),
            });
            // A series exists (with value 0) from its group's first order, as on /metrics.
            acc.start = acc.start.min(start);
            for &(at, d) in &self.scratch {
                let i = self.grid.index_of(at);
                if i < self.grid.len && d != 0 {
                    acc.deltas.push((i, d));
                }
            }
        }
    }

    fn emit(
        &mut self,
        stats: &mut HistoryStats,
        emit: &mut impl FnMut(Series) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        for ((fi, labels), mut acc) in std::mem::take(&mut self.series) {
            if acc.start >= self.grid.len {
                continue;
            }
            acc.deltas.sort_unstable_by_key(|d| d.0);
            let f = &self.families[fi];
            let mut values = Vec::with_capacity(self.grid.len - acc.start);
            let (mut sum, mut next) = (0i64, 0usize);
            for i in 0..self.grid.len {
                while next < acc.deltas.len() && acc.deltas[next].0 <= i {
                    sum += acc.deltas[next].1;
                    next += 1;
                }
                if i >= acc.start {
                    values.push((f.value)(sum, &labels));
                }
            }
            stats.families[fi].1 += 1;
            stats.families[fi].2 += values.len() as u64;
            emit(Series {
                name: f.name,
                labels,
                first_ms: self.grid.at(acc.start),
                step_ms: self.grid.step_ms,
                values,
            })?;
        }
        Ok(())
    }
}

/// Reads the ledger in event order and calls `emit` with every series of `families` on
/// `grid`, one event at a time; `read` is told how many tickets were read so far (every 1,000
/// and at the end). The ledger lock is held for the whole read (a separate process such as
/// the daemon is not blocked: SQLite's WAL lets it write meanwhile).
pub fn stream(
    state: &StateStore,
    grid: &Grid,
    families: &[Family],
    mut read: impl FnMut(u64),
    mut emit: impl FnMut(Series) -> anyhow::Result<()>,
) -> anyhow::Result<HistoryStats> {
    let mut stats = HistoryStats {
        families: families.iter().map(|f| (f.name, 0, 0)).collect(),
        ..Default::default()
    };
    let conn = state.conn();
    // Ordered like the `tickets_by_event` index, so SQLite walks it instead of sorting.
    let mut st = conn.prepare(
        "SELECT vendor, account, event_id, category, currency, status, price_minor,
             refunded_minor, ordered_at_ms, updated_at_ms, scanned_at_ms, refunded_at_ms,
             ticket_id, channel, service_fee_minor, buyer_fee_minor, producer_cost_minor,
             utm_source, utm_medium, utm_campaign, payment_method
         FROM tickets ORDER BY vendor, account, event_id",
    )?;
    let mut rows = st.query(params![])?;
    let mut current: Option<(String, String, String)> = None;
    let mut ev = EventHistory {
        grid,
        families,
        series: BTreeMap::new(),
        scratch: Vec::new(),
    };
    while let Some(r) = rows.next().context("reading the ticket ledger")? {
        let vendor: String = r.get(0)?;
        let account: String = r.get(1)?;
        let event_id: String = r.get(2)?;
        let ticket_id: String = r.get(12)?;
        let status: String = r.get(5)?;
        let Some(status) = TicketStatus::parse(&status) else {
            anyhow::bail!(
                "ticket {vendor}/{account}/{ticket_id} in the ledger has an unknown status `{status}`"
            );
        };
        let key = (vendor, account, event_id);
        if current.as_ref() != Some(&key) {
            if current.is_some() {
                ev.emit(&mut stats, &mut emit)?;
            }
            stats.events += 1;
            current = Some(key.clone());
        }
        let (vendor, account, event_id) = key;
        let t = LedgerTicket {
            vendor,
            account,
            ticket: Ticket {
                ticket_id,
                event_id,
                category: r.get(3)?,
                currency: r.get(4)?,
                status,
                price_minor: r.get(6)?,
                refunded_minor: r.get(7)?,
                ordered_at_ms: r.get(8)?,
                updated_at_ms: r.get(9)?,
                scanned_at_ms: r.get(10)?,
                refunded_at_ms: r.get(11)?,
                channel: r.get(13)?,
                service_fee_minor: r.get(14)?,
                buyer_fee_minor: r.get(15)?,
                producer_cost_minor: r.get(16)?,
                utm_source: r.get(17)?,
                utm_medium: r.get(18)?,
                utm_campaign: r.get(19)?,
                payment_method: r.get(20)?,
                ..Ticket::BLANK
            },
        };
        ev.add(&t);
        stats.tickets += 1;
        if stats.tickets.is_multiple_of(1_000) {
            read(stats.tickets);
        }
    }
    if current.is_some() {
        ev.emit(&mut stats, &mut emit)?;
    }
    read(stats.tickets);
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::model::Record;

    const H: i64 = 3_600_000;
    /// 2026-03-01T00:00:00Z
    const T0: i64 = 1_772_323_200_000;

    fn ticket(id: u32, event: &str, category: &str, status: TicketStatus) -> Ticket {
        Ticket {
            ticket_id: id.to_string(),
            order_id: format!("o{id}"),
            event_id: event.into(),
            category: category.into(),
            channel: "online".into(),
            status,
            price_minor: 1000,
            currency: "EUR".into(),
            ordered_at_ms: T0 + H / 2,
            updated_at_ms: T0 + H / 2,
            ..Ticket::BLANK
        }
    }

    fn store(tickets: Vec<Ticket>) -> (tempfile::TempDir, Arc<StateStore>) {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(StateStore::open(&dir.path().join("state.sqlite")).unwrap());
        let records: Vec<Record> = tickets.into_iter().map(Record::Ticket).collect();
        s.commit_page("shotgun", "main", &records, None, T0)
            .unwrap();
        (dir, s)
    }

    type Got = BTreeMap<(&'static str, Labels), Series>;

    fn history(s: &StateStore, grid: &Grid) -> (Got, HistoryStats, Vec<String>) {
        let mut got = Got::new();
        let mut order = Vec::new();
        let stats = stream(
            s,
            grid,
            FAMILIES,
            |_| {},
            |x| {
                order.push(x.labels[2].1.raw().to_string());
                got.insert((x.name, x.labels.clone()), x);
                Ok(())
            },
        )
        .unwrap();
        (got, stats, order)
    }

    fn values(got: &Got, name: &str, event: &str, category: &str) -> Vec<f64> {
        got.iter()
            .find(|((n, l), _)| *n == name && l[2].1 == event && l[3].1 == category)
            .map(|(_, s)| s.values.clone())
            .unwrap_or_default()
    }

    fn hours(n: usize) -> Grid {
        Grid {
            first_ms: T0,
            step_ms: H,
            len: n,
        }
    }

    #[test]
    fn steps_parse_and_print() {
        assert_eq!(Step::parse("1h").unwrap(), Step::HOUR);
        assert_eq!(Step::parse("1d").unwrap(), Step::DAY);
        assert_eq!(Step::parse("15m").unwrap().ms(), 900_000);
        assert_eq!(Step::parse("24h").unwrap().to_string(), "1d");
        assert_eq!(Step::parse("90m").unwrap().to_string(), "90m");
        for bad in ["", "h", "0h", "-1h", "1w", "1.5h", "90s", "1 h x"] {
            assert_eq!(
                Step::parse(bad),
                Err(HistoryError::BadStep(bad.into())),
                "{bad}"
            );
        }
        assert!(matches!(
            Step::parse("400d"),
            Err(HistoryError::StepTooLong(_))
        ));
        assert!(HistoryError::BadStep("2x".into())
            .to_string()
            .contains("`2x`"));
    }

    #[test]
    fn the_grid_is_aligned_to_the_local_zone() {
        // Moscow (+03:00): a day starts at 21:00 UTC the day before.
        let g = Grid::new(
            Step::DAY,
            T0 + 5 * H,
            T0 + 3 * 24 * H,
            &Zone::fixed_minutes(180),
        )
        .unwrap();
        assert_eq!(g.first_ms, T0 + 21 * H);
        assert_eq!(g.len, 3);
        assert_eq!(g.last_ms(), T0 + (2 * 24 + 21) * H);
        // Hours: from the first at or after, to the last at or before.
        let g = Grid::new(Step::HOUR, T0 + 1, T0 + 3 * H, &Zone::fixed_minutes(0)).unwrap();
        assert_eq!((g.first_ms, g.len), (T0 + H, 3));
        let g = Grid::new(Step::HOUR, T0, T0 + 3 * H - 1, &Zone::fixed_minutes(0)).unwrap();
        assert_eq!((g.first_ms, g.len), (T0, 3));
        // Half-hour zones keep hours on local half-hours.
        let g = Grid::new(Step::HOUR, T0, T0 + 2 * H, &Zone::fixed_minutes(330)).unwrap();
        assert_eq!(g.first_ms, T0 + H / 2);
        assert!(Grid::new(Step::HOUR, T0 + 1, T0 + H - 1, &Zone::fixed_minutes(0)).is_none());
        // A change at a boundary counts at that boundary; between, at the next one.
        let g = hours(3);
        assert_eq!(g.index_of(T0 - 5 * H), 0);
        assert_eq!(g.index_of(T0), 0);
        assert_eq!(g.index_of(T0 + 1), 1);
        assert_eq!(g.index_of(T0 + H), 1);
        assert_eq!(g.index_of(T0 + 2 * H + 1), 3);
    }

    #[test]
    fn revenue_is_in_the_major_units_of_each_currency() {
        let mut yen = ticket(1, "e1", "VIP", TicketStatus::Valid);
        yen.currency = "JPY".into();
        yen.price_minor = 3500;
        let mut euro = ticket(2, "e2", "VIP", TicketStatus::Valid);
        euro.price_minor = 3500;
        let (_d, s) = store(vec![yen, euro]);
        let (got, _, _) = history(&s, &hours(2));
        // JPY has no minor digits: 3500 minor units are ¥3,500, not ¥35.
        assert_eq!(
            values(&got, "boxoffice_revenue_total", "e1", "VIP"),
            [3500.0]
        );
        assert_eq!(values(&got, "boxoffice_revenue_total", "e2", "VIP"), [35.0]);
    }

    #[test]
    fn a_refund_moves_a_ticket_from_sold_to_refunded_at_refunded_at() {
        let mut t = ticket(1, "e1", "VIP", TicketStatus::Refunded);
        t.refunded_minor = 600; // 400 withheld
        t.refunded_at_ms = Some(T0 + 2 * H + 10);
        t.updated_at_ms = T0 + 5 * H; // later touch: refunded_at wins
        t.scanned_at_ms = Some(T0 + H + 1);
        let (_d, s) = store(vec![t]);
        let (got, _, _) = history(&s, &hours(5));
        let e = |n| values(&got, n, "e1", "VIP");
        // Boundaries T0..T0+4h; ordered at T0+30m, scanned at T0+1h+1ms, refunded T0+2h+10ms.
        assert_eq!(e("boxoffice_tickets_sold_total"), [1.0, 1.0, 0.0, 0.0]);
        assert_eq!(e("boxoffice_tickets_refunded_total"), [0.0, 0.0, 1.0, 1.0]);
        assert_eq!(e("boxoffice_tickets_scanned_total"), [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(e("boxoffice_tickets_canceled_total"), [0.0; 4]);
        assert_eq!(e("boxoffice_revenue_total"), [10.0, 10.0, 4.0, 4.0]);
        // The series start at the first boundary after the order (T0+1h).
        let sold = got
            .iter()
            .find(|((n, _), _)| *n == "boxoffice_tickets_sold_total")
            .unwrap()
            .1;
        assert_eq!(sold.first_ms, T0 + H);
        assert_eq!(sold.timestamp(3), T0 + 4 * H);
    }

    #[test]
    fn cancels_and_resales_leave_at_updated_at_and_pending_never_counts() {
        let mut c = ticket(1, "e1", "A", TicketStatus::Canceled);
        c.updated_at_ms = T0 + 2 * H;
        let mut r = ticket(2, "e1", "A", TicketStatus::Resold);
        r.updated_at_ms = T0 + 3 * H;
        r.scanned_at_ms = Some(T0 + 4 * H); // after leaving: never counts
        let p = ticket(3, "e1", "A", TicketStatus::Pending);
        let (_d, s) = store(vec![c, r, p]);
        let (got, _, _) = history(&s, &hours(5));
        let e = |n| values(&got, n, "e1", "A");
        assert_eq!(e("boxoffice_tickets_sold_total"), [2.0, 1.0, 0.0, 0.0]);
        assert_eq!(e("boxoffice_tickets_canceled_total"), [0.0, 1.0, 1.0, 1.0]);
        assert_eq!(e("boxoffice_tickets_refunded_total"), [0.0; 4]);
        assert_eq!(e("boxoffice_tickets_scanned_total"), [0.0; 4]);
        assert_eq!(e("boxoffice_revenue_total"), [20.0, 10.0, 0.0, 0.0]);
    }

    #[test]
    fn the_last_boundary_equals_the_live_figures() {
        // A mix of every status, event, category and currency, with times spread out.
        let statuses = TicketStatus::ALL;
        let mut tickets = Vec::new();
        for i in 0..300u32 {
            let mut t = ticket(
                i,
                ["e1", "e2", "e\"3"][i as usize % 3],
                ["A", "B"][i as usize % 2],
                statuses[(i as usize / 3) % 5],
            );
            t.currency = if i % 7 == 0 { "USD" } else { "EUR" }.into();
            t.price_minor = 500 + i as i64 * 13;
            t.ordered_at_ms = T0 + i as i64 * 60_000;
            t.updated_at_ms = t.ordered_at_ms + (i as i64 % 11) * 600_000;
            if t.status == TicketStatus::Refunded {
                t.refunded_minor = t.price_minor / (1 + i as i64 % 3);
                t.refunded_at_ms = (i % 2 == 0).then_some(t.updated_at_ms - 1);
            }
            t.scanned_at_ms = (i % 4 == 0).then_some(t.ordered_at_ms + (i as i64 % 5) * H);
            tickets.push(t);
        }
        let (_d, s) = store(tickets);
        let grid = Grid::new(Step::HOUR, T0, T0 + 20 * H, &Zone::fixed_minutes(0)).unwrap();
        let (got, stats, order) = history(&s, &grid);
        assert_eq!(stats.tickets, 300);
        assert_eq!(stats.events, 3);
        // One event at a time, in ledger order.
        let mut seen = order.clone();
        seen.dedup();
        assert_eq!(seen.len(), 3, "{order:?}");
        let last = |name: &str, k: &crate::state::KpiRow| {
            got.iter()
                .find(|((n, l), _)| {
                    *n == name
                        && l[2].1 == k.event_id
                        && l[3].1 == k.category
                        && l.get(4).is_none_or(|c| c.1 == k.currency)
                })
                .map(|(_, s)| *s.values.last().unwrap())
        };
        let kpis = s.kpis().unwrap();
        assert!(kpis.len() >= 8);
        for k in &kpis {
            let sum = |n: &str| -> f64 {
                // Count families have no currency label: sum the currencies of the group.
                kpis.iter()
                    .filter(|o| o.event_id == k.event_id && o.category == k.category)
                    .map(|o| match n {
                        "sold" => o.sold,
                        "refunded" => o.refunded,
                        "canceled" => o.canceled,
                        _ => o.scanned,
                    } as f64)
                    .sum()
            };
            for (name, short) in [
                ("boxoffice_tickets_sold_total", "sold"),
                ("boxoffice_tickets_refunded_total", "refunded"),
                ("boxoffice_tickets_canceled_total", "canceled"),
                ("boxoffice_tickets_scanned_total", "scanned"),
            ] {
                assert_eq!(last(name, k), Some(sum(short)), "{name} {k:?}");
            }
            assert_eq!(
                last("boxoffice_revenue_total", k),
                Some(major(k.revenue_minor, &k.currency)),
                "{k:?}"
            );
        }
        assert_eq!(stats.series(), got.len() as u64);
    }

    #[test]
    fn since_cuts_the_start_and_values_carry_what_came_before() {
        let mut t = ticket(1, "e1", "A", TicketStatus::Valid);
        t.ordered_at_ms = T0 - 48 * H;
        let (_d, s) = store(vec![t]);
        let g = Grid::for_ledger(&s, Step::HOUR, Some(T0), T0 + 2 * H, &Zone::utc())
            .unwrap()
            .unwrap();
        assert_eq!((g.first_ms, g.len), (T0, 3));
        let (got, _, _) = history(&s, &g);
        assert_eq!(
            values(&got, "boxoffice_tickets_sold_total", "e1", "A"),
            [1.0; 3]
        );
        // Default: from the first order (here on a day boundary, which is included).
        let g = Grid::for_ledger(&s, Step::DAY, None, T0, &Zone::utc())
            .unwrap()
            .unwrap();
        assert_eq!((g.first_ms, g.len), (T0 - 48 * H, 3));
        let (_e, empty) = store(vec![]);
        assert_eq!(
            Grid::for_ledger(&empty, Step::HOUR, None, T0, &Zone::utc()).unwrap(),
            None
        );
    }

    /// The history's names and label names are those `/metrics` serves, so the series join.
    #[test]
    fn families_have_the_names_and_labels_of_the_live_metrics() {
        let (_d, s) = store(vec![ticket(1, "e1", "A", TicketStatus::Valid)]);
        let text = crate::metrics::Metrics::new(s.clone(), false)
            .encode()
            .unwrap();
        let grid = Grid::new(Step::HOUR, T0, T0 + H, &Zone::fixed_minutes(0)).unwrap();
        let (got, _, _) = history(&s, &grid);
        assert_eq!(got.len(), FAMILIES.len());
        for (name, labels) in got.keys() {
            let set = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect::<Vec<_>>()
                .join(",");
            let series = format!("{name}{{{set}}} ");
            assert!(text.contains(&series), "{series} not on /metrics:\n{text}");
        }
        assert_eq!(
            label_names(FAMILIES),
            ["account", "category", "currency", "event_id", "vendor"]
        );
    }
}
