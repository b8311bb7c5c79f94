//! The ClickHouse warehouse: the same tables as the SQLite warehouse, plus the old QTickets
//! loader's names as views, written over HTTP.
//!
//! Idempotence comes from the engines: tickets and events are ReplacingMergeTree keyed by the
//! business key with the vendor's `updated_at` as version, snapshots collapse identical keys,
//! so a page written twice (crash before the cursor commit, a retried insert) is one row after
//! `FINAL`. A write that fails returns an error and the sync loop keeps the cursor.

pub mod client;
pub mod migrate;
pub mod rows;

use crate::model::Record;
use crate::zone::AccountZones;

use super::{RunRecord, Sink, SinkFuture};
pub use client::{ClickhouseClient, ClickhouseConfig, ClickhouseError};
pub use migrate::{MigrateError, MigrateReport, MIGRATIONS};

pub struct ClickhouseWarehouse {
    client: ClickhouseClient,
    /// The zone of each account's `sales_date` (computed here: the views group on it).
    zones: AccountZones,
}

impl ClickhouseWarehouse {
    /// Connects and brings the schema up to date (the start-up migration).
    pub async fn open(
        config: ClickhouseConfig,
        zones: impl Into<AccountZones>,
    ) -> Result<(Self, MigrateReport), MigrateError> {
        let client = ClickhouseClient::new(config)?;
        let report = migrate::apply(&client, MIGRATIONS).await?;
        Ok((
            Self {
                client,
                zones: zones.into(),
            },
            report,
        ))
    }

    pub fn client(&self) -> &ClickhouseClient {
        &self.client
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
                Record::Ticket(t) => tickets.push(rows::ticket(vendor, account, t, zone)),
                Record::Event(e) => events.push(rows::event(vendor, account, e)),
                Record::Inventory(v) => inventory.push(rows::inventory(vendor, account, v)),
            }
        }
        // One insert per table per page: a page is the batch (cursor commits follow pages).
        for (table, lines) in [
            ("tickets", tickets),
            ("events", events),
            ("inventory_snapshots", inventory),
        ] {
            if !lines.is_empty() {
                self.client
                    .insert_json_lines(table, &lines.join("\n"), lines.len())
                    .await?;
            }
        }
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
            self.client
                .insert_json_lines("job_runs", &rows::run(run), 1)
                .await?;
            Ok(())
        })
    }
}
