//! The ClickHouse writer alone, per row encoding: the same Shotgun-shaped tickets written
//! through `ClickhouseWarehouse` (the sink the pipeline uses) in batches of 64 pages of 100,
//! as the sync hands them over, with nothing else running. The pipeline rows cannot show the
//! encoding's cost: fetch and transform bound them. Rounds alternate which encoding goes
//! first, so a drift of the machine's speed falls on both; every round rewrites the same
//! tickets (idempotent upserts), and each database must end with one row per ticket.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Context};

use super::pipeline::process_cpu_secs;
use super::wire::WireMeter;
use boxoffice::model::{Record, Ticket, TicketStatus};
use boxoffice::sink::clickhouse::{ClickhouseEncoding, ClickhouseWarehouse};
use boxoffice::sink::{ClickhouseConfig, Sink};
use boxoffice::zone::Zone;

/// Tickets per insert: 64 pages of 100, the sync's batch.
pub const BATCH: usize = 6_400;

/// One encoding's totals over all rounds.
#[derive(Debug, Clone, Default)]
pub struct InsertRun {
    /// Tickets written (tickets × rounds).
    pub tickets: u64,
    pub secs: f64,
    /// boxoffice's CPU (ClickHouse's own work is in its process, not counted).
    pub cpu_secs: Option<f64>,
    pub sent_bytes: Option<u64>,
}

impl InsertRun {
    pub fn tickets_per_sec(&self) -> f64 {
        self.tickets as f64 / self.secs.max(1e-9)
    }
}

/// Shotgun-like tickets: ids, a category, a 24-character buyer pseudonym, UTM tags, a deal
/// visibility, a price; every tenth refunded, every third scanned.
pub fn tickets(n: u64) -> Vec<Record> {
    let start = 1_762_000_000_000;
    (0..n)
        .map(|i| {
            let ordered = start + i as i64 * 1_000;
            Record::Ticket(Ticket {
                ticket_id: format!("{}", 40_000_000 + i),
                order_id: format!("{}", 9_000_000 + i / 2),
                event_id: format!("{}", 400_000 + i % 25),
                show_id: None,
                category: ["Early bird", "Regular", "VIP"][(i % 3) as usize].into(),
                channel: "online".into(),
                status: if i % 10 == 0 {
                    TicketStatus::Refunded
                } else {
                    TicketStatus::Valid
                },
                price_minor: 2_500 + (i % 7) as i64 * 500,
                service_fee_minor: 150,
                buyer_fee_minor: 99,
                producer_cost_minor: 0,
                refunded_minor: if i % 10 == 0 { 2_500 } else { 0 },
                currency: "EUR".into(),
                ordered_at_ms: ordered,
                updated_at_ms: ordered + 60_000,
                scanned_at_ms: (i % 3 == 0).then_some(ordered + 3_600_000),
                refunded_at_ms: (i % 10 == 0).then_some(ordered + 7_200_000),
                buyer: Some(format!("{:024x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15))),
                region: Some("FR-IDF".into()),
                utm_source: Some("instagram".into()),
                utm_medium: Some("social".into()),
                utm_campaign: Some("launch-2026".into()),
                payment_method: Some("card".into()),
                visibility: vec!["public".into()],
            })
        })
        .collect()
}

/// Writes `tickets` tickets `rounds` times per encoding, each into its own database of
/// `base` (`<database>_<encoding>`, left for the caller to drop), through the relay's URL
/// when `meter` is given.
pub async fn rowbinary_vs_json(
    base: &ClickhouseConfig,
    meter: Option<&WireMeter>,
    tickets: u64,
    rounds: usize,
) -> anyhow::Result<BTreeMap<ClickhouseEncoding, InsertRun>> {
    let records = self::tickets(tickets);
    let mut sinks = Vec::new();
    for encoding in ClickhouseEncoding::ALL {
        let config = ClickhouseConfig {
            database: database(base, encoding),
            encoding,
            ..base.clone()
        };
        let (w, _) = ClickhouseWarehouse::open(config, Zone::default())
            .await
            .with_context(|| format!("opening the insert bench's {} database", encoding.label()))?;
        sinks.push((encoding, w));
    }
    let mut runs: BTreeMap<ClickhouseEncoding, InsertRun> = BTreeMap::new();
    for round in 0..rounds.max(1) {
        let order: Vec<usize> = if round % 2 == 0 {
            vec![0, 1]
        } else {
            vec![1, 0]
        };
        for i in order {
            let (encoding, w) = &sinks[i];
            let (cpu, bytes) = (process_cpu_secs(), meter.map(WireMeter::sent));
            let started = Instant::now();
            for batch in records.chunks(BATCH) {
                w.write("shotgun", "bench", batch).await?;
            }
            let run = runs.entry(*encoding).or_default();
            run.secs += started.elapsed().as_secs_f64();
            run.tickets += tickets;
            if let Some((after, before)) = process_cpu_secs().zip(cpu) {
                *run.cpu_secs.get_or_insert(0.0) += after - before;
            }
            if let Some((m, before)) = meter.zip(bytes) {
                *run.sent_bytes.get_or_insert(0) += m.sent() - before;
            }
        }
    }
    for (encoding, w) in &sinks {
        let text = w
            .client()
            .execute("SELECT count(), uniqExact(ticket_id) FROM tickets FINAL")
            .await?;
        let want = format!("{tickets}\t{tickets}");
        if text.trim() != want {
            bail!(
                "insert bench, {}: `count, distinct` is {:?}, want {want}",
                encoding.label(),
                text.trim()
            );
        }
    }
    Ok(runs)
}

/// The database of one encoding's insert runs.
pub fn database(base: &ClickhouseConfig, encoding: ClickhouseEncoding) -> String {
    format!("{}_insert_{}", base.database, encoding.as_str())
}
