//! Business KPIs from the ledger, read at scrape time: one [`Snapshot`] of the state
//! database per database version (the ticket figures from the aggregates the ledger's
//! triggers keep, `state::ledger`, so a scrape after a write reads a few hundred rows, not
//! every ticket), encoded by this module (sold, refunded, canceled, scanned, revenue,
//! events, tickets left per show), by [`super::breakdown`] (breakdowns, fees, tickets left per
//! event) and, when the compatibility setting is on, by [`super::compat`] (the old Shotgun
//! exporter's names). Also the encoding helpers those modules share.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::label::LabelValue;
use crate::model::Inventory;
use crate::state::breakdown::{Breakdowns, EventLeft};
use crate::state::{EventRow, KpiRow, RunHealth, StateStore};

/// A label set: names in the order they are printed, values escaped when printed.
pub(super) type Labels = Vec<(&'static str, LabelValue)>;

/// A counter family (the encoder appends `_total` to `name`).
pub(super) fn counter_family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels, f64)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, ConstCounter::new(0u64).metric_type())?;
    for (labels, v) in rows {
        ConstCounter::new(v).encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A gauge family of whole numbers (printed without a fraction).
pub(super) fn gauge_family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels, i64)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, ConstGauge::new(0i64).metric_type())?;
    for (labels, v) in rows {
        ConstGauge::new(v).encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A gauge family of fractional values (timestamps in seconds). A series without labels is
/// printed bare (`name 1.5`, not `name{} 1.5`), as the old exporter printed it.
pub(super) fn gauge_f64_family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels, f64)>,
) -> Result<(), std::fmt::Error> {
    let mut fam = enc.encode_descriptor(name, help, None, ConstGauge::new(0f64).metric_type())?;
    for (labels, v) in rows {
        if labels.is_empty() {
            ConstGauge::new(v).encode(fam)?;
            return Ok(());
        }
        ConstGauge::new(v).encode(fam.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Minor units → major units of the row's currency (JPY has no minor digits, KWD three).
pub(super) fn major(minor: i64, currency: &str) -> f64 {
    boxoffice_records::currency::to_major(minor, currency)
}

/// What one scrape reads from the state database.
#[derive(Debug)]
pub(super) struct Snapshot {
    pub kpis: Vec<KpiRow>,
    pub events: Vec<EventRow>,
    pub inventory: Vec<(String, String, Inventory)>,
    pub breakdowns: Breakdowns,
    pub event_left: Vec<EventLeft>,
    pub health: Vec<RunHealth>,
}

impl Snapshot {
    fn read(state: &StateStore) -> anyhow::Result<Self> {
        Ok(Self {
            kpis: state.kpis()?,
            events: state.events()?,
            inventory: state.inventory()?,
            breakdowns: state.breakdowns()?,
            event_left: state.event_tickets_left()?,
            health: state.run_health()?,
        })
    }
}

/// Identifies a version of the state database: this connection's write count and SQLite's
/// `data_version`, which moves when another process (a `boxoffice sync` next to the daemon)
/// commits.
type DbVersion = (u64, i64);

fn db_version(state: &StateStore) -> anyhow::Result<DbVersion> {
    let conn = state.conn();
    let other: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    Ok((conn.total_changes(), other))
}

#[derive(Debug)]
pub struct LedgerCollector {
    state: Arc<StateStore>,
    compat_shotgun: bool,
    /// The last snapshot and the database version it was read at. Scrapes come every few
    /// seconds: between two writes a scrape costs no query (after one, the snapshot reads the
    /// ledger's aggregates and the small event, inventory and run tables: milliseconds on a
    /// million-ticket ledger).
    cache: Mutex<Option<(DbVersion, Arc<Snapshot>)>>,
}

impl LedgerCollector {
    pub fn new(state: Arc<StateStore>, compat_shotgun: bool) -> Self {
        Self {
            state,
            compat_shotgun,
            cache: Mutex::new(None),
        }
    }

    /// The snapshot of the current database version, read again only after a write.
    fn snapshot(&self) -> anyhow::Result<Arc<Snapshot>> {
        let version = db_version(&self.state)?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((v, snap)) = cache.as_ref() {
            if *v == version {
                return Ok(snap.clone());
            }
        }
        // Read after taking the version: a write in between only makes the next scrape read
        // again.
        let snap = Arc::new(Snapshot::read(&self.state)?);
        *cache = Some((version, snap.clone()));
        Ok(snap)
    }
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateStore")
    }
}

fn kpi_labels(k: &KpiRow) -> Labels {
    vec![
        ("vendor", LabelValue::from(&k.vendor)),
        ("account", LabelValue::from(&k.account)),
        ("event_id", LabelValue::from(&k.event_id)),
        ("category", LabelValue::from(&k.category)),
    ]
}

fn encode_core(enc: &mut DescriptorEncoder, s: &Snapshot) -> Result<(), std::fmt::Error> {
    let kpi = |f: fn(&KpiRow) -> u64| {
        s.kpis
            .iter()
            .map(move |k| (kpi_labels(k), f(k) as f64))
            .collect::<Vec<_>>()
    };
    counter_family(
        enc,
        "boxoffice_tickets_sold",
        "Tickets currently held by buyers (net of refunds, cancels and resales)",
        kpi(|k| k.sold),
    )?;
    counter_family(
        enc,
        "boxoffice_tickets_refunded",
        "Tickets refunded",
        kpi(|k| k.refunded),
    )?;
    counter_family(
        enc,
        "boxoffice_tickets_canceled",
        "Tickets canceled",
        kpi(|k| k.canceled),
    )?;
    counter_family(
        enc,
        "boxoffice_tickets_scanned",
        "Held tickets scanned at the door",
        kpi(|k| k.scanned),
    )?;
    counter_family(
        enc,
        "boxoffice_revenue",
        "Revenue kept, in major currency units (face price of held tickets plus amounts withheld on refunds)",
        s.kpis.iter().map(|k| {
            let mut l = kpi_labels(k);
            l.push(("currency", LabelValue::from(&k.currency)));
            (l, major(k.revenue_minor, &k.currency))
        }),
    )?;
    gauge_family(
        enc,
        "boxoffice_event_info",
        "Event names and cities (join on event_id)",
        s.events.iter().map(|e| {
            (
                vec![
                    ("vendor", LabelValue::from(&e.vendor)),
                    ("account", LabelValue::from(&e.account)),
                    ("event_id", LabelValue::from(&e.event.event_id)),
                    ("name", LabelValue::from(&e.event.name)),
                    (
                        "city",
                        LabelValue::from(e.event.city.as_deref().unwrap_or_default()),
                    ),
                ],
                1,
            )
        }),
    )?;
    let mut by_status: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    for e in &s.events {
        let st = if e.event.canceled_at_ms.is_some() {
            "canceled"
        } else {
            "active"
        };
        *by_status.entry((&e.vendor, &e.account, st)).or_default() += 1;
    }
    gauge_family(
        enc,
        "boxoffice_events",
        "Events known, by status",
        by_status.into_iter().map(|((vendor, account, status), n)| {
            (
                vec![
                    ("vendor", LabelValue::from(vendor)),
                    ("account", LabelValue::from(account)),
                    ("status", LabelValue::from(status)),
                ],
                n as i64,
            )
        }),
    )?;
    gauge_family(
        enc,
        "boxoffice_tickets_left",
        "Tickets still available per show, from the vendor's inventory",
        s.inventory.iter().filter_map(|(vendor, account, v)| {
            v.available.map(|a| {
                (
                    vec![
                        ("vendor", LabelValue::from(vendor)),
                        ("account", LabelValue::from(account)),
                        ("event_id", LabelValue::from(&v.event_id)),
                        ("show_id", LabelValue::from(&v.show_id)),
                    ],
                    a as i64,
                )
            })
        }),
    )
}

impl Collector for LedgerCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // A failing query must not break the scrape of health metrics: log and skip.
        let snap = match self.snapshot() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("metrics: reading the ledger failed: {e:#}");
                return Ok(());
            }
        };
        encode_core(&mut enc, &snap)?;
        super::breakdown::encode(&mut enc, &snap)?;
        if self.compat_shotgun {
            super::compat::encode(&mut enc, &snap, crate::clock::now_ms())?;
        }
        Ok(())
    }
}
