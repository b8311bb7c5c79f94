//! What a verified webhook delivery becomes: [`WebhookIngest`], the [`DeliveryHandler`] the
//! inbound listener (`crate::webhook`) calls once the signature is verified.
//!
//! Owns the order of one delivery's steps: find the account (vendor, name) → the connector's
//! `webhook` (same caps, pseudonyms and output decoding as `handle`) → the dedupe key against
//! the state database → the outcome's records through the firewall → its follow-up requests
//! through the very request step of a sync run (`run::RequestStep`: egress grant, secrets,
//! budget, retries, outbound screening, `handle`, firewall), under the run caps → the sink →
//! the ledger and the key in one transaction (`state::webhook`) → only then `Stored`. A key
//! stored before is `Duplicate`: nothing is fetched or written. A webhook never moves the
//! account's cursor.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::http::RequestScope;
use crate::model::{RunContext, WebhookDelivery};
use crate::plugin::{GuestError, PluginError, Pseudonymizer, RecordFirewall};
use crate::state::WebhookCommit;
use crate::webhook::handler::DeliveryFuture;
use crate::webhook::{DeliveryError, DeliveryHandler, DeliveryOutcome, VerifiedDelivery};

use super::run::{count_plugin_error, over_run_cap, RequestStep, RunSummary, Stop};
use super::{Account, SyncDeps};

/// Turns verified deliveries into stored records for the accounts whose connector declares
/// webhooks (`manifest.webhook`).
pub struct WebhookIngest {
    deps: SyncDeps,
    /// By (connector id, account name); only accounts whose connector takes webhooks.
    accounts: BTreeMap<(String, String), Account>,
    /// Test hook: the next delivery stops after the warehouse write, before the commit, as a
    /// crash there would.
    crash_after_write: AtomicBool,
    /// Deliveries handled at once ([`MAX_CONCURRENT_DELIVERIES`]); the rest wait for a slot.
    slots: tokio::sync::Semaphore,
}

/// Deliveries handled at once; the others wait (their vendor waits for its answer). Each holds
/// a connector instance, and all running instances share the host-wide plugin memory cap
/// (`plugin::limits`, `host_memory_bytes`, 128 MiB by default): unbounded, a burst of ~60 concurrent deliveries reached it
/// and answered 503 (`boxoffice bench`, webhook throughput at 64 in flight).
pub const MAX_CONCURRENT_DELIVERIES: usize = 16;

impl WebhookIngest {
    /// Over the daemon's shared parts and its accounts: in the daemon,
    /// `WebhookIngest::new(app.deps.clone(), app.accounts()?)`. Accounts whose connector
    /// declares no webhook are left out (a delivery for one is `UnknownAccount`).
    pub fn new(deps: SyncDeps, accounts: impl IntoIterator<Item = Account>) -> Self {
        let accounts = accounts
            .into_iter()
            .filter(|a| a.plugin.manifest.webhook.is_some())
            .map(|a| ((a.vendor_id().to_string(), a.name.clone()), a))
            .collect();
        Self {
            deps,
            accounts,
            crash_after_write: AtomicBool::new(false),
            slots: tokio::sync::Semaphore::new(MAX_CONCURRENT_DELIVERIES),
        }
    }

    /// The accounts that take webhooks, as (connector id, account name).
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.accounts.keys().map(|(v, a)| (v.as_str(), a.as_str()))
    }

    /// Test hook: the next delivery stops after its warehouse write and before its ledger
    /// commit (as a crash there would) and answers `Unavailable`.
    #[doc(hidden)]
    pub fn crash_once_after_write(&self) {
        self.crash_after_write.store(true, Ordering::SeqCst);
    }

    /// One verified delivery, to the end: see the module doc.
    pub async fn ingest(
        &self,
        delivery: VerifiedDelivery,
    ) -> Result<DeliveryOutcome, DeliveryError> {
        let account = self
            .accounts
            .get(&(delivery.vendor.clone(), delivery.account.clone()))
            .ok_or_else(|| {
                DeliveryError::UnknownAccount(format!("{}/{}", delivery.vendor, delivery.account))
            })?;
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|e| DeliveryError::Unavailable(format!("webhook slots closed: {e}")))?;
        let deps = &self.deps;
        let vendor = account.vendor_id();
        let name = account.name.as_str();
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            DeliveryError::Unavailable(format!("{vendor}/{name}: {what}: {e:#}"))
        };
        let cursor = crate::blocking::blocking_io(|| deps.state.cursor(vendor, name))
            .map_err(|e| unavailable("reading the cursor", &format!("{e:#}")))?;
        let ctx = RunContext {
            account: account.name.clone(),
            settings: account.settings.clone(),
            cursor,
            since_ms: None,
            until_ms: None,
            now_ms: crate::clock::now_ms(),
        };
        let pseudonyms = Arc::new(Pseudonymizer::new(deps.pseudonym_key));
        let mut inst = account.plugin.instantiate(pseudonyms).await.map_err(|e| {
            count_plugin_error(deps, account, &e);
            unavailable("instantiating the connector", &e)
        })?;
        let model_delivery = WebhookDelivery {
            headers: delivery.headers,
            body: delivery.body,
            received_ms: delivery.received_ms,
        };
        let outcome = inst.webhook(&ctx, &model_delivery).await;
        for log in inst.take_logs() {
            tracing::debug!(
                vendor,
                account = name,
                level = log.level,
                "plugin: {}",
                log.message
            );
        }
        let outcome = outcome.map_err(|e| {
            count_plugin_error(deps, account, &e);
            refusal(e)
        })?;
        let key = outcome.key;
        let stored = crate::blocking::blocking_io(|| deps.state.webhook_stored(vendor, name, &key))
            .map_err(|e| unavailable("reading the delivery keys", &format!("{e:#}")))?;
        if stored {
            tracing::debug!(
                vendor,
                account = name,
                key,
                "webhook delivery is a duplicate"
            );
            return Ok(DeliveryOutcome::Duplicate);
        }
        let firewall = RecordFirewall::new();
        let screened = firewall.screen(outcome.page.records);
        for r in &screened.rejected {
            deps.metrics
                .record_rejected(vendor, name, r.reason.as_str());
            tracing::warn!(vendor, account = name, "webhook record rejected: {r}");
        }
        let mut records = screened.accepted;
        // Follow-ups: the same request step as a run's, under the run's caps. Their records
        // join the delivery's; their cursors are never committed (a webhook does not move it).
        let planned = outcome.page.next;
        let caps = account.plugin.limits().run;
        let follow = async {
            let scope = RequestScope {
                egress: &account.egress,
                declared_secrets: &account.plugin.manifest.secrets,
                secrets: &account.secrets,
                budget: &account.budget,
            };
            let requests = AtomicU64::new(0);
            let step = RequestStep {
                deps,
                account,
                scope: &scope,
                firewall: &firewall,
                requests: &requests,
            };
            let mut summary = RunSummary::default();
            let mut total = planned.len();
            let mut queue: VecDeque<_> = planned.into();
            let mut pages = 0u64;
            let mut out = Vec::new();
            while let Some(req) = queue.pop_front() {
                if total > caps.max_planned_requests {
                    return Err(over_run_cap(
                        vendor,
                        format!("{} planned requests per run", caps.max_planned_requests),
                    ));
                }
                if pages >= caps.max_pages {
                    return Err(over_run_cap(
                        vendor,
                        format!("{} pages per run", caps.max_pages),
                    ));
                }
                let Some(page) = step
                    .fetch_and_transform(&mut inst, &ctx, &req, pages + 1, &mut summary)
                    .await?
                else {
                    continue;
                };
                pages += 1;
                total += page.next.len();
                queue.extend(page.next);
                out.extend(page.records);
            }
            Ok::<_, Stop>(out)
        };
        match tokio::time::timeout(caps.max_duration, follow).await {
            Ok(Ok(more)) => records.extend(more),
            Ok(Err(stop)) => {
                return Err(DeliveryError::Unavailable(format!(
                    "{vendor}/{name}: follow-up requests: {}",
                    crate::plugin::firewall::escape_for_log(&stop.message())
                )))
            }
            Err(_) => {
                return Err(DeliveryError::Unavailable(format!(
                    "{vendor}/{name}: follow-up requests took over {} s",
                    caps.max_duration.as_secs_f64()
                )))
            }
        }
        deps.sink.write(vendor, name, &records).await.map_err(|e| {
            unavailable(
                &format!("{} sink refused the delivery", deps.sink.name()),
                &e,
            )
        })?;
        crate::crash_point::reached(crate::crash_point::CrashPhase::Acked);
        if self.crash_after_write.swap(false, Ordering::SeqCst) {
            return Err(DeliveryError::Unavailable(format!(
                "{vendor}/{name}: simulated crash after the warehouse write, before the commit"
            )));
        }
        let now = crate::clock::now_ms();
        let commit = crate::blocking::blocking_io(|| {
            deps.state.commit_webhook(vendor, name, &key, &records, now)
        })
        .map_err(|e| unavailable("committing the delivery", &format!("{e:#}")))?;
        match commit {
            WebhookCommit::Stored(c) => {
                tracing::info!(
                    vendor,
                    account = name,
                    key,
                    records = records.len(),
                    tickets_changed = c.tickets_changed,
                    "webhook delivery stored"
                );
                Ok(DeliveryOutcome::Stored {
                    records: records.len() as u64,
                })
            }
            WebhookCommit::AlreadyStored => Ok(DeliveryOutcome::Duplicate),
        }
    }
}

/// A connector's refusal of a delivery: what it could not read (or returned unreadably) is
/// `Rejected` (a retry would not help); anything else is `Unavailable`, so the vendor's retry
/// covers it.
fn refusal(e: PluginError) -> DeliveryError {
    let msg = crate::plugin::firewall::escape_for_log(&e.to_string());
    match e {
        PluginError::Guest {
            error: GuestError::BadResponse(_) | GuestError::Fatal(_),
            ..
        }
        | PluginError::BadOutput { .. }
        | PluginError::OverCap { .. }
        | PluginError::OutputTooLarge { .. }
        | PluginError::RequestRefused { .. } => DeliveryError::Rejected(msg),
        _ => DeliveryError::Unavailable(msg),
    }
}

impl DeliveryHandler for WebhookIngest {
    fn deliver(&self, delivery: VerifiedDelivery) -> DeliveryFuture<'_> {
        Box::pin(self.ingest(delivery))
    }
}
