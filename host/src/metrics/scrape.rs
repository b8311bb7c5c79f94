//! What one scrape of the business KPIs reads and who encodes it: [`Snapshot`] is read from
//! the state database once per database version (the ticket figures from the aggregates the
//! ledger's triggers keep, `state::ledger`, so a scrape after a write reads a few hundred
//! rows, not every ticket), and [`LedgerCollector`] hands it to the encoders: [`super::ledger`]
//! (core KPIs), [`super::breakdown`] (breakdowns, fees, tickets left per event) and, when the
//! compatibility setting is on, [`super::compat`] (the old Shotgun exporter's names). The
//! encoders depend on this module and on [`super::exposition`], never on each other.

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;

use crate::model::Inventory;
use crate::state::breakdown::{Breakdowns, EventLeft};
use crate::state::{EventRow, KpiRow, RunHealth, StateStore};

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
        super::ledger::encode(&mut enc, &snap)?;
        super::breakdown::encode(&mut enc, &snap)?;
        if self.compat_shotgun {
            super::compat::encode(&mut enc, &snap, crate::clock::now_ms())?;
        }
        Ok(())
    }
}
