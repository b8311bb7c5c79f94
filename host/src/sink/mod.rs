//! The sink room: where accepted records end up for analysts.
//!
//! One trait, [`Sink`], with an embedded SQLite warehouse (the default) and ClickHouse ([`ClickhouseWarehouse`]). A sink
//! write must be idempotent: the same record twice is one row, an older version never replaces
//! a newer one. The sync loop commits a page's cursor only after `write` returned `Ok`.

pub mod clickhouse;
pub mod plan;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;

use crate::model::Record;
pub use crate::run_record::{RunFigures, RunKind, RunStatus};

pub use clickhouse::{ClickhouseConfig, ClickhouseWarehouse};
pub use plan::{PlanRow, PlanTable};
pub use sqlite::SqliteWarehouse;

/// A finished run, as warehouses record it (`job_runs`; `kind` and `status` stored as their
/// `as_str` text). Its figures read as its own fields (`run.pages`) through `Deref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// Unique per run (UUID text), so job_runs rows never collapse.
    pub run_id: String,
    pub vendor: String,
    /// sync, backfill (a dry run records nothing)
    pub kind: RunKind,
    pub account: String,
    pub started_at_ms: i64,
    pub finished_at_ms: i64,
    pub figures: RunFigures,
}

impl std::ops::Deref for RunRecord {
    type Target = RunFigures;
    fn deref(&self) -> &RunFigures {
        &self.figures
    }
}

pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

pub trait Sink: Send + Sync {
    fn name(&self) -> &'static str;
    /// Upserts one page of accepted records.
    fn write<'a>(
        &'a self,
        vendor: &'a str,
        account: &'a str,
        records: &'a [Record],
    ) -> SinkFuture<'a>;
    /// Records a finished run.
    fn record_run<'a>(&'a self, run: &'a RunRecord) -> SinkFuture<'a>;
}
