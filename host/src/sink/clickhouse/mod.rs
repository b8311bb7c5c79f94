//! The ClickHouse warehouse: the same tables as the SQLite warehouse, plus the old QTickets
//! loader's names as views, written over HTTP.
//!
//! Pages become typed rows (`rows`) written by `writer` (RowBinary + LZ4 through the
//! `clickhouse` crate by default, or JSONEachRow); migrations, plans and the bench's checks are
//! plain statements through `client`.
//!
//! Idempotence comes from the engines: tickets and events are ReplacingMergeTree keyed by the
//! business key with the vendor's `updated_at` as version, snapshots collapse identical keys,
//! so a page written twice (crash before the cursor commit, a retried insert) is one row after
//! `FINAL`. A write that fails returns an error and the sync loop keeps the cursor.

pub mod client;
pub mod cluster;
pub mod migrate;
pub mod rows;
pub mod version;
pub mod writer;

use crate::model::Record;
use crate::zone::AccountZones;

use super::{RunRecord, Sink, SinkFuture};
pub use client::{ClickhouseClient, ClickhouseConfig, ClickhouseError};
pub use migrate::{MigrateError, MigrateReport, MIGRATIONS};
pub use writer::{ClickhouseEncoding, RowWriter};

use rows::{EventRow, InventoryRow, RunRow, TicketRow};

pub struct ClickhouseWarehouse {
    client: ClickhouseClient,
    writer: RowWriter,
    /// The zone of each account's `sales_date` (computed here: the views group on it).
    zones: AccountZones,
}

impl ClickhouseWarehouse {
    /// Connects, brings the schema up to date (the start-up migration) and asks the server's
    /// version for the writer.
    pub async fn open(
        config: ClickhouseConfig,
        zones: impl Into<AccountZones>,
    ) -> Result<(Self, MigrateReport), MigrateError> {
        Self::open_on(config, None, zones).await
    }

    /// [`Self::open`] on one server (`cluster: None`) or on the named cluster of
    /// `remote_servers`, whose schema `cluster::apply` migrates `ON CLUSTER`.
    pub async fn open_on(
        config: ClickhouseConfig,
        cluster: Option<&str>,
        zones: impl Into<AccountZones>,
    ) -> Result<(Self, MigrateReport), MigrateError> {
        let client = ClickhouseClient::new(config)?;
        let report = match cluster {
            None => migrate::apply(&client, MIGRATIONS).await?,
            Some(c) => cluster::apply(&client, c, MIGRATIONS).await?,
        };
        let writer = RowWriter::connect(client.clone()).await?;
        tracing::debug!(
            "ClickHouse {}: {} rows, schema validation {}",
            writer.server_version(),
            writer.encoding().label(),
            if writer.validation() { "on" } else { "off" }
        );
        Ok((
            Self {
                client,
                writer,
                zones: zones.into(),
            },
            report,
        ))
    }

    pub fn client(&self) -> &ClickhouseClient {
        &self.client
    }

    pub fn writer(&self) -> &RowWriter {
        &self.writer
    }

    async fn write_all(
        &self,
        vendor: &str,
        account: &str,
        records: &[Record],
    ) -> Result<(), ClickhouseError> {
        let (mut tickets, mut events, mut inventory) = (Vec::new(), Vec::new(), Vec::new());
        let zone = self.zones.of(vendor, account);
        for r in records {
            match r {
                Record::Ticket(t) => tickets.push(TicketRow::new(vendor, account, t, zone)),
                Record::Event(e) => events.push(EventRow::new(vendor, account, e)),
                Record::Inventory(v) => inventory.push(InventoryRow::new(vendor, account, v)),
            }
        }
        // One insert per table per page: a page is the batch (cursor commits follow pages).
        let w = &self.writer;
        w.insert::<TicketRow>(rows::TICKETS, &tickets).await?;
        w.insert::<EventRow>(rows::EVENTS, &events).await?;
        w.insert::<InventoryRow>(rows::INVENTORY, &inventory)
            .await?;
        Ok(())
    }
}

impl Sink for ClickhouseWarehouse {
    fn name(&self) -> &'static str {
        "clickhouse"
    }

    fn write<'a>(
        &'a self,
        vendor: &'a str,
        account: &'a str,
        records: &'a [Record],
    ) -> SinkFuture<'a> {
        Box::pin(async move { Ok(self.write_all(vendor, account, records).await?) })
    }

    fn record_run<'a>(&'a self, run: &'a RunRecord) -> SinkFuture<'a> {
        Box::pin(async move {
            self.writer
                .insert::<RunRow>(rows::JOB_RUNS, &[RunRow::new(run)])
                .await?;
            Ok(())
        })
    }
}
