//! `boxoffice bench` (the crate `boxoffice-bench`, binary `boxoffice-bench`): the measurements
//! of issue 8, each against its target.
//!
//! Owns: driving the real pipeline (simulator → plugin → firewall → ledger → warehouse) at
//! size and timing it, checking every figure it produced against the simulator's ground truth
//! (a fast wrong pipeline is worthless), the peak RSS of a large backfill in a child process of
//! its own, the WASM transform against the same code compiled natively, the runtime's fixed
//! costs, the requests of an incremental run with nothing changed, and the cold start of
//! `boxoffice run`. It does not own anything the measurements exercise: it calls `app`,
//! `sync`, `plugin` and the simulators exactly as the commands do.
//!
//! - `report`: a metric, its target, the table, the JSON and CSV files.
//! - `pipeline`: whole-pipeline throughput and incremental requests, per vendor and sink.
//! - `backfill`: the hidden simulator and backfill children and the backfill's peak RSS.
//! - `safety_net`: the QTickets idle poll with webhooks on (polling as the safety net).
//! - `webhook`: QTickets webhooks through the real listener and ingest: delivery → `/metrics`
//!   latency, deliveries per second sustained.
//! - `pages`: vendor pages recorded from the simulators, replayed by `transform` and the
//!   criterion benches (`bench/benches/`).
//! - `transform`: WASM vs native on recorded pages; compile / cached load / first call.
//! - `python`: the Python pretix component beside the Rust one (compile, first call, page).
//! - `cluster`: Shotgun into a local 2×2 ClickHouse cluster beside one server (issue 19).
//! - `coldstart`: `boxoffice run` from exec to the first `/metrics` answer.
//! - `insert`: the ClickHouse writer alone, RowBinary+LZ4 against JSONEachRow.
//! - `wire`: a counting relay in front of ClickHouse (bytes sent per encoding).

pub mod backfill;
pub mod cluster;
pub mod coldstart;
pub mod insert;
pub mod pages;
pub mod pipeline;
pub mod python;
pub mod report;
pub mod safety_net;
pub mod transform;
pub mod webhook;
pub mod wire;

use std::path::{Path, PathBuf};

/// A scratch directory removed when dropped (the bench's state, warehouses and plugin cache).
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "boxoffice-bench-{}-{}",
            std::process::id(),
            boxoffice::clock::now_ms()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// A fresh sub-directory.
    pub fn sub(&self, name: &str) -> anyhow::Result<PathBuf> {
        let p = self.0.join(name);
        std::fs::create_dir_all(&p)?;
        Ok(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
