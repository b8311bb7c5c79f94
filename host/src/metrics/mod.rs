//! The metrics room: what `/metrics` says.
//!
//! Two kinds of series. Business KPIs (sold, refunded, scanned, revenue, events, breakdowns,
//! fees, tickets left, and the old Shotgun exporter's names) are computed from the SQLite ledger
//! at scrape time by [`scrape::LedgerCollector`], so a restart changes nothing and a refund
//! makes the net figures fall. Source health (requests, retries, rejections, traps, run
//! outcomes) is counted in-process here. Every family is listed in `docs/metrics.md`.

pub mod breakdown;
pub mod compat;
pub mod exposition;
pub mod health;
pub mod history;
pub mod import;
pub mod label;
pub mod ledger;
pub mod scrape;
pub mod server;

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

pub use label::LabelValue;

use crate::state::StateStore;
use crate::sync::{RunObserver, RunSummary};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AccountLabels {
    pub vendor: LabelValue,
    pub account: LabelValue,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub vendor: LabelValue,
    pub account: LabelValue,
    pub status: LabelValue,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub vendor: LabelValue,
    pub account: LabelValue,
    pub reason: LabelValue,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TrapLabels {
    pub vendor: LabelValue,
    pub kind: LabelValue,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub vendor: LabelValue,
    pub account: LabelValue,
    pub outcome: LabelValue,
}

/// Buckets of `boxoffice_webhook_handle_duration_seconds`: 1 ms to about 16 s.
fn webhook_latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// `boxoffice_shard_info`'s labels: this daemon's slice of the accounts (`--shard I/N`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShardLabels {
    pub shard: LabelValue,
    pub shards: LabelValue,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    /// One series at 1: which shard this daemon is (`0/1` when unsharded).
    shard_info: Family<ShardLabels, Gauge>,
    http_requests: Family<StatusLabels, Counter>,
    http_retries: Family<AccountLabels, Counter>,
    rejected: Family<ReasonLabels, Counter>,
    /// Planned requests refused by the outbound screen (`plugin::outbound`).
    refused: Family<ReasonLabels, Counter>,
    traps: Family<TrapLabels, Counter>,
    /// Auxiliary requests a run skipped because they failed (`sync::degraded`).
    degraded: Family<ReasonLabels, Counter>,
    runs: Family<StatusLabels, Counter>,
    source_up: Family<AccountLabels, Gauge>,
    last_success: Family<AccountLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    duration: Family<AccountLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// `shotgun_api_requests_total`, when the compatibility names are on.
    compat_api: Option<Family<compat::ApiLabels, Counter>>,
    /// Webhook requests by outcome (`webhook::observer`).
    webhook_deliveries: Family<OutcomeLabels, Counter>,
    /// Time from a delivery's arrival to the handler's answer.
    webhook_latency: Family<AccountLabels, Histogram, fn() -> Histogram>,
}

fn acct(vendor: &str, account: &str) -> AccountLabels {
    AccountLabels {
        vendor: vendor.into(),
        account: account.into(),
    }
}

impl Metrics {
    /// `compat_shotgun`: also serve the old Shotgun exporter's metric names.
    pub fn new(state: Arc<StateStore>, compat_shotgun: bool) -> Arc<Self> {
        let mut registry = Registry::default();
        let m = Self {
            registry: Mutex::new(Registry::default()),
            shard_info: Family::default(),
            http_requests: Family::default(),
            http_retries: Family::default(),
            rejected: Family::default(),
            refused: Family::default(),
            traps: Family::default(),
            degraded: Family::default(),
            runs: Family::default(),
            source_up: Family::default(),
            last_success: Family::default(),
            duration: Family::default(),
            compat_api: compat_shotgun.then(Family::default),
            webhook_deliveries: Family::default(),
            webhook_latency: Family::new_with_constructor(webhook_latency_histogram),
        };
        registry.register(
            "boxoffice_shard_info",
            "1, labelled with the shard of the accounts this daemon syncs (--shard I/N; 0 of 1 when unsharded)",
            m.shard_info.clone(),
        );
        m.set_shard(None);
        registry.register(
            "boxoffice_http_requests",
            "HTTP requests made to vendor APIs, by response status (error = no response)",
            m.http_requests.clone(),
        );
        registry.register(
            "boxoffice_http_retries",
            "HTTP requests retried",
            m.http_retries.clone(),
        );
        registry.register(
            "boxoffice_records_rejected",
            "Records a plugin emitted that the host refused to store, by reason",
            m.rejected.clone(),
        );
        registry.register(
            "boxoffice_requests_refused",
            "Requests a plugin planned that the host refused before any connection, by reason",
            m.refused.clone(),
        );
        registry.register(
            "boxoffice_plugin_traps",
            "Plugin instances that trapped, by kind",
            m.traps.clone(),
        );
        registry.register(
            "boxoffice_sync_degraded_requests",
            "Auxiliary requests (events, inventory) that failed and were skipped while the run went on, by reason",
            m.degraded.clone(),
        );
        registry.register(
            "boxoffice_sync_runs",
            "Finished sync runs, by status",
            m.runs.clone(),
        );
        registry.register(
            "boxoffice_source_up",
            "1 if the last sync of the account succeeded",
            m.source_up.clone(),
        );
        // With their unit (`# UNIT`); the encoder appends `_seconds` to the name.
        registry.register_with_unit(
            "boxoffice_sync_last_success_timestamp",
            "When the account's last successful sync finished",
            Unit::Seconds,
            m.last_success.clone(),
        );
        registry.register_with_unit(
            "boxoffice_sync_duration",
            "Duration of the account's last sync",
            Unit::Seconds,
            m.duration.clone(),
        );
        if let Some(api) = &m.compat_api {
            registry.register(
                "shotgun_api_requests",
                "Requests to the Shotgun API by endpoint and outcome: success, error, timeout (compatibility name)",
                api.clone(),
            );
        }
        registry.register(
            "boxoffice_webhook_deliveries",
            "Requests to the webhook listener, by outcome: stored, duplicate, forged, oversize, rate_limited, rejected, unavailable, unknown_account, incomplete",
            m.webhook_deliveries.clone(),
        );
        registry.register_with_unit(
            "boxoffice_webhook_handle_duration",
            "Time from a verified webhook delivery's arrival to its handler's answer",
            Unit::Seconds,
            m.webhook_latency.clone(),
        );
        registry.register_collector(Box::new(scrape::LedgerCollector::new(
            state,
            compat_shotgun,
        )));
        *m.registry.lock().unwrap_or_else(|e| e.into_inner()) = registry;
        Arc::new(m)
    }

    /// Labels `boxoffice_shard_info` with this daemon's shard (`None`: the whole set, `0/1`);
    /// the previous series goes, so there is always exactly one.
    pub fn set_shard(&self, shard: Option<crate::config::shard::Shard>) {
        let (index, count) = shard.map_or((0, 1), |s| (s.index, s.count));
        self.shard_info.clear();
        self.shard_info
            .get_or_create(&ShardLabels {
                shard: LabelValue::from(index.to_string().as_str()),
                shards: LabelValue::from(count.to_string().as_str()),
            })
            .set(1);
    }

    pub fn http_request(&self, vendor: &str, account: &str, status: &str) {
        self.http_requests
            .get_or_create(&StatusLabels {
                vendor: vendor.into(),
                account: account.into(),
                status: status.into(),
            })
            .inc();
    }

    pub fn http_retries(&self, vendor: &str, account: &str, n: u64) {
        self.http_retries
            .get_or_create(&acct(vendor, account))
            .inc_by(n);
    }

    pub fn record_rejected(&self, vendor: &str, account: &str, reason: &str) {
        self.rejected
            .get_or_create(&ReasonLabels {
                vendor: vendor.into(),
                account: account.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub fn request_refused(&self, vendor: &str, account: &str, reason: &str) {
        self.refused
            .get_or_create(&ReasonLabels {
                vendor: vendor.into(),
                account: account.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub fn plugin_trap(&self, vendor: &str, kind: &str) {
        self.traps
            .get_or_create(&TrapLabels {
                vendor: vendor.into(),
                kind: kind.into(),
            })
            .inc();
    }

    pub fn auxiliary_failed(&self, vendor: &str, account: &str, reason: &str) {
        self.degraded
            .get_or_create(&ReasonLabels {
                vendor: vendor.into(),
                account: account.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub fn record_run(&self, vendor: &str, account: &str, s: &RunSummary, finished_ms: i64) {
        let a = acct(vendor, account);
        self.known_account(vendor, account);
        self.runs
            .get_or_create(&StatusLabels {
                vendor: vendor.into(),
                account: account.into(),
                status: LabelValue::from(s.status.as_str()),
            })
            .inc();
        // A degraded run stored its core data: the source is up (`/healthz` says degraded).
        self.source_up.get_or_create(&a).set(s.succeeded() as i64);
        self.duration
            .get_or_create(&a)
            .set(s.duration_ms as f64 / 1000.0);
        if s.succeeded() {
            self.last_success
                .get_or_create(&a)
                .set(finished_ms as f64 / 1000.0);
        }
    }

    /// Shows the account's problem counters at 0 until something goes wrong: a series that
    /// appears only with its first increment is invisible to `increase()` and to alerts on it.
    fn known_account(&self, vendor: &str, account: &str) {
        let _ = self.http_retries.get_or_create(&acct(vendor, account));
        // The failure statuses of `sync_account`, so the first failure after a start counts in
        // `increase()` (deploy/alerts: BoxofficeFailedRuns).
        for status in ["failed", "rate_limited"] {
            let _ = self.runs.get_or_create(&StatusLabels {
                vendor: vendor.into(),
                account: account.into(),
                status: status.into(),
            });
        }
        for reason in crate::sync::degraded::DegradedReason::ALL {
            let _ = self.degraded.get_or_create(&ReasonLabels {
                vendor: vendor.into(),
                account: account.into(),
                reason: reason.as_str().into(),
            });
        }
        for reason in crate::plugin::RejectReason::ALL {
            let _ = self.rejected.get_or_create(&ReasonLabels {
                vendor: vendor.into(),
                account: account.into(),
                reason: reason.as_str().into(),
            });
        }
        for reason in crate::plugin::outbound::RefusalReason::ALL {
            let _ = self.refused.get_or_create(&ReasonLabels {
                vendor: vendor.into(),
                account: account.into(),
                reason: reason.as_str().into(),
            });
        }
        for kind in crate::plugin::TrapKind::ALL {
            let _ = self.traps.get_or_create(&TrapLabels {
                vendor: vendor.into(),
                kind: kind.as_str().into(),
            });
        }
    }

    /// The exposition text (OpenMetrics).
    pub fn encode(&self) -> anyhow::Result<String> {
        let mut out = String::new();
        let reg = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        prometheus_client::encoding::text::encode(&mut out, &reg)?;
        Ok(out)
    }

    /// The exposition text in `format` (see [`exposition`]).
    pub fn encode_as(&self, format: exposition::Format) -> anyhow::Result<String> {
        let openmetrics = self.encode()?;
        Ok(match format {
            exposition::Format::OpenMetrics => openmetrics,
            exposition::Format::PrometheusText => exposition::to_prometheus_text(&openmetrics),
        })
    }
}

impl crate::http::executor::RequestObserver for Metrics {
    fn attempt(
        &self,
        vendor: &str,
        endpoint: &str,
        outcome: crate::http::executor::AttemptOutcome,
    ) {
        if let (Some(api), compat::VENDOR) = (&self.compat_api, vendor) {
            api.get_or_create(&compat::ApiLabels {
                endpoint: endpoint.into(),
                status: compat::api_status(outcome).into(),
            })
            .inc();
        }
    }
}

/// The run's figures, counted here (the sync room defines what it reports; see
/// [`crate::sync::observer`]).
impl RunObserver for Metrics {
    fn http_request(&self, vendor: &str, account: &str, status: &str) {
        Metrics::http_request(self, vendor, account, status)
    }
    fn http_retries(&self, vendor: &str, account: &str, n: u64) {
        Metrics::http_retries(self, vendor, account, n)
    }
    fn record_rejected(&self, vendor: &str, account: &str, reason: &str) {
        Metrics::record_rejected(self, vendor, account, reason)
    }
    fn request_refused(&self, vendor: &str, account: &str, reason: &str) {
        Metrics::request_refused(self, vendor, account, reason)
    }
    fn plugin_trap(&self, vendor: &str, kind: &str) {
        Metrics::plugin_trap(self, vendor, kind)
    }
    fn auxiliary_failed(&self, vendor: &str, account: &str, reason: &str) {
        Metrics::auxiliary_failed(self, vendor, account, reason)
    }
    fn record_run(&self, vendor: &str, account: &str, summary: &RunSummary, finished_ms: i64) {
        Metrics::record_run(self, vendor, account, summary, finished_ms)
    }
}

impl crate::webhook::DeliveryObserver for Metrics {
    fn delivery(&self, vendor: &str, account: &str, outcome: crate::webhook::Outcome) {
        self.webhook_deliveries
            .get_or_create(&OutcomeLabels {
                vendor: vendor.into(),
                account: account.into(),
                outcome: outcome.as_str().into(),
            })
            .inc();
    }

    fn handled(&self, vendor: &str, account: &str, seconds: f64) {
        self.webhook_latency
            .get_or_create(&acct(vendor, account))
            .observe(seconds);
    }

    fn account(&self, vendor: &str, account: &str) {
        for outcome in crate::webhook::Outcome::ALL {
            let _ = self.webhook_deliveries.get_or_create(&OutcomeLabels {
                vendor: vendor.into(),
                account: account.into(),
                outcome: outcome.as_str().into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::shard::Shard;

    fn shard_lines(m: &Metrics) -> Vec<String> {
        m.encode()
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("boxoffice_shard_info{"))
            .map(str::to_string)
            .collect()
    }

    /// The `status` label of `boxoffice_sync_runs_total` is the stored `job_runs.status` text,
    /// written out: alerts and dashboards select on it (deploy/alerts: BoxofficeFailedRuns).
    #[test]
    fn run_counts_are_labelled_with_the_stored_status_texts() {
        use crate::state::{RunFigures, RunStatus};
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(StateStore::open(&dir.path().join("state.sqlite")).unwrap());
        let m = Metrics::new(state, false);
        let runs = |m: &Metrics| -> Vec<String> {
            let mut lines: Vec<String> = m
                .encode()
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("boxoffice_sync_runs_total{"))
                .map(str::to_string)
                .collect();
            lines.sort();
            lines
        };
        m.known_account("qtickets", "main");
        assert_eq!(
            runs(&m),
            [
                "boxoffice_sync_runs_total{vendor=\"qtickets\",account=\"main\",status=\"failed\"} 0",
                "boxoffice_sync_runs_total{vendor=\"qtickets\",account=\"main\",status=\"rate_limited\"} 0",
            ],
            "the failure series exist before the first failure"
        );
        for status in RunStatus::ALL {
            let s = RunSummary {
                figures: RunFigures {
                    status,
                    ..Default::default()
                },
                ..Default::default()
            };
            m.record_run("qtickets", "main", &s, 1_000);
        }
        assert_eq!(
            runs(&m),
            [
                "boxoffice_sync_runs_total{vendor=\"qtickets\",account=\"main\",status=\"degraded\"} 1",
                "boxoffice_sync_runs_total{vendor=\"qtickets\",account=\"main\",status=\"failed\"} 1",
                "boxoffice_sync_runs_total{vendor=\"qtickets\",account=\"main\",status=\"interrupted\"} 1",
                "boxoffice_sync_runs_total{vendor=\"qtickets\",account=\"main\",status=\"ok\"} 1",
                "boxoffice_sync_runs_total{vendor=\"qtickets\",account=\"main\",status=\"rate_limited\"} 1",
            ]
        );
    }

    #[test]
    fn the_shard_gauge_names_the_daemons_shard_once() {
        let dir = tempfile::tempdir().unwrap();
        let state = Arc::new(StateStore::open(&dir.path().join("state.sqlite")).unwrap());
        let m = Metrics::new(state, false);
        assert_eq!(
            shard_lines(&m),
            ["boxoffice_shard_info{shard=\"0\",shards=\"1\"} 1"],
            "unsharded: the whole set"
        );
        m.set_shard(Some(Shard::parse("--shard", "1/2").unwrap()));
        assert_eq!(
            shard_lines(&m),
            ["boxoffice_shard_info{shard=\"1\",shards=\"2\"} 1"],
            "one series, the new shard's"
        );
        let prom = m.encode_as(exposition::Format::PrometheusText).unwrap();
        assert!(prom.contains("# TYPE boxoffice_shard_info gauge"), "{prom}");
    }
}
