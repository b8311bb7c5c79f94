//! One plugin instance for one run: calls with a deadline, fuel, output caps (bytes, planned
//! requests, decoded records), and trap containment.
//!
//! A trap poisons the instance (its memory may be inconsistent): later calls fail fast with
//! [`PluginError::Poisoned`] and the next run gets a fresh instance.

use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use super::bindings::{page_size, request_size, Bindings, GuestPage, GuestRecords};
use super::error::{GuestError, PageCap, PluginError, TrapKind};
use super::firewall::redact;
use super::host_state::{HostState, PluginLog};
use super::limits::PluginLimits;
use super::output::{decode_page, typed_page, PageError};
use super::store_limits::{StoreCap, StoreCapExceeded};
use crate::model::{
    Manifest, PlannedRequest, PluginPage, RunContext, VendorResponse, WebhookDelivery,
    WebhookOutcome,
};

/// What an instance has cost so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceStats {
    pub calls: u64,
    pub guest_time: Duration,
    pub fuel_consumed: u64,
}

pub struct PluginInstance {
    plugin: String,
    store: Store<HostState>,
    bindings: Bindings,
    limits: PluginLimits,
    poisoned: bool,
    stats: InstanceStats,
}

impl PluginInstance {
    pub(crate) fn new(
        plugin: String,
        store: Store<HostState>,
        bindings: Bindings,
        limits: PluginLimits,
    ) -> Self {
        Self {
            plugin,
            store,
            bindings,
            limits,
            poisoned: false,
            stats: InstanceStats::default(),
        }
    }

    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    pub fn stats(&self) -> InstanceStats {
        self.stats
    }

    /// Log lines the plugin wrote so far (already redacted), drained.
    pub fn take_logs(&mut self) -> Vec<PluginLog> {
        std::mem::take(&mut self.store.data_mut().logs)
    }

    fn arm(&mut self) -> Result<Instant, PluginError> {
        if self.poisoned {
            return Err(PluginError::Poisoned {
                plugin: self.plugin.clone(),
            });
        }
        self.store.set_epoch_deadline(self.limits.deadline_ticks());
        if let Some(fuel) = self.limits.fuel_per_call {
            // Setting fuel cannot fail when fuel is enabled, and it is whenever this is Some.
            let _ = self.store.set_fuel(fuel);
        }
        Ok(Instant::now())
    }

    fn settle<T>(
        &mut self,
        call: &'static str,
        started: Instant,
        result: wasmtime::Result<T>,
    ) -> Result<T, PluginError> {
        self.stats.calls += 1;
        self.stats.guest_time += started.elapsed();
        if let Some(fuel) = self.limits.fuel_per_call {
            let left = self.store.get_fuel().unwrap_or(0);
            self.stats.fuel_consumed += fuel.saturating_sub(left);
        }
        result.map_err(|e| {
            self.poisoned = true;
            let (kind, detail) = classify(&e);
            PluginError::Trap {
                plugin: self.plugin.clone(),
                call,
                kind,
                detail,
            }
        })
    }

    fn guest_error(&self, call: &'static str, e: GuestError) -> PluginError {
        let error = match e {
            GuestError::BadResponse(m) => GuestError::BadResponse(clip(&m)),
            GuestError::Unauthorized(m) => GuestError::Unauthorized(clip(&m)),
            GuestError::RetryLater(s) => GuestError::RetryLater(s),
            GuestError::Fatal(m) => GuestError::Fatal(clip(&m)),
        };
        PluginError::Guest {
            plugin: self.plugin.clone(),
            call,
            error,
        }
    }

    fn cap_planned(&self, call: &'static str, planned: usize) -> Result<(), PluginError> {
        let cap = self.limits.page.max_planned_requests;
        if planned > cap {
            return Err(PluginError::OverCap {
                plugin: self.plugin.clone(),
                call,
                what: PageCap::PlannedRequests,
                cap,
                record: None,
            });
        }
        Ok(())
    }

    fn cap(&self, call: &'static str, bytes: usize) -> Result<(), PluginError> {
        if bytes > self.limits.max_output_bytes {
            return Err(PluginError::OutputTooLarge {
                plugin: self.plugin.clone(),
                call,
                bytes,
                cap: self.limits.max_output_bytes,
            });
        }
        Ok(())
    }

    pub async fn manifest(&mut self) -> Result<Manifest, PluginError> {
        let started = self.arm()?;
        let r = self.bindings.manifest(&mut self.store).await;
        self.settle("manifest", started, r)
    }

    pub async fn begin(&mut self, ctx: &RunContext) -> Result<Vec<PlannedRequest>, PluginError> {
        let started = self.arm()?;
        let r = self.bindings.begin(&mut self.store, ctx).await;
        let requests = self
            .settle("begin", started, r)?
            .map_err(|e| self.guest_error("begin", e))?;
        self.cap_planned("begin", requests.len())?;
        self.cap("begin", requests.iter().map(request_size).sum())?;
        self.screen_requests("begin", &requests)?;
        Ok(requests)
    }

    pub async fn handle(
        &mut self,
        ctx: &RunContext,
        request: &PlannedRequest,
        response: VendorResponse,
    ) -> Result<PluginPage, PluginError> {
        let started = self.arm()?;
        let r = self
            .bindings
            .handle(&mut self.store, ctx, request, response)
            .await;
        let page = self
            .settle("handle", started, r)?
            .map_err(|e| self.guest_error("handle", e))?;
        self.page_out("handle", page)
    }

    /// One verified webhook delivery through the connector's `webhook` (contract 0.4 on),
    /// under the same deadline, fuel and output caps as `handle`; its records decoded,
    /// pseudonymized and capped the same way (`output`), its follow-up requests screened. An
    /// outcome that sets a cursor is refused (a webhook never moves the account's cursor), and
    /// so is an empty key. A connector of an older contract has no webhook entry point:
    /// [`PluginError::Guest`] with a `Fatal` saying so.
    pub async fn webhook(
        &mut self,
        ctx: &RunContext,
        delivery: &WebhookDelivery,
    ) -> Result<WebhookOutcome, PluginError> {
        let started = self.arm()?;
        let r = self.bindings.webhook(&mut self.store, ctx, delivery).await;
        let Some(answer) = self.settle("webhook", started, r)? else {
            return Err(self.guest_error(
                "webhook",
                GuestError::Fatal(
                    "webhooks not supported: the connector's contract predates 0.4".into(),
                ),
            ));
        };
        let (key, page) = answer.map_err(|e| self.guest_error("webhook", e))?;
        self.cap("webhook", key.len())?;
        let refuse = |detail: String| PluginError::BadOutput {
            plugin: self.plugin.clone(),
            call: "webhook",
            detail,
        };
        if page.cursor.is_some() {
            return Err(refuse(
                "the webhook outcome sets a cursor; a webhook may not move the account's cursor"
                    .into(),
            ));
        }
        if key.trim().is_empty() {
            return Err(refuse("the webhook outcome's key is empty".into()));
        }
        // The key is stored by the host: it may carry no personal data, like a cursor.
        if let Some(reason) = super::firewall::screen_text(&key, super::firewall::FieldKind::Opaque)
        {
            return Err(refuse(format!(
                "the webhook outcome's key holds personal data ({})",
                reason.as_str()
            )));
        }
        let page = self.page_out("webhook", page)?;
        Ok(WebhookOutcome { key, page })
    }

    /// A guest page under the output caps: records decoded (encoded or typed: one `output`
    /// pipeline, two ways in), buyers pseudonymized, planned requests capped and screened.
    fn page_out(&self, call: &'static str, page: GuestPage) -> Result<PluginPage, PluginError> {
        self.cap_planned(call, page.next.len())?;
        self.cap(call, page_size(&page))?;
        let pseudonyms = &self.store.data().pseudonyms;
        let records = match &page.records {
            GuestRecords::Encoded(blob) => decode_page(blob, pseudonyms, &self.limits.page),
            GuestRecords::Typed(items) => typed_page(items, pseudonyms, &self.limits.page),
        };
        let records = records.map_err(|e| {
            let plugin = self.plugin.clone();
            match e {
                PageError::OverCap { what, cap, record } => PluginError::OverCap {
                    plugin,
                    call,
                    what,
                    cap,
                    record: Some(record),
                },
                PageError::Malformed(e) => PluginError::BadOutput {
                    plugin,
                    call,
                    detail: e.to_string(),
                },
            }
        })?;
        self.screen_requests(call, &page.next)?;
        Ok(PluginPage {
            records,
            next: page.next,
            cursor: page.cursor,
        })
    }

    /// Planned requests are plugin output: screened before anything queues them.
    fn screen_requests(
        &self,
        call: &'static str,
        requests: &[PlannedRequest],
    ) -> Result<(), PluginError> {
        super::outbound::check_all(requests).map_err(|refusal| PluginError::RequestRefused {
            plugin: self.plugin.clone(),
            call,
            refusal,
        })
    }
}

/// Guest-provided text, redacted, made one line and cut to a readable length.
fn clip(m: &str) -> String {
    redact(m).chars().take(500).collect()
}

/// Why a guest call or an instantiation failed, and a one-line detail.
pub(crate) fn classify(e: &wasmtime::Error) -> (TrapKind, String) {
    if let Some(cap) = e.downcast_ref::<StoreCapExceeded>() {
        let kind = match cap.kind {
            StoreCap::MemoryBytes | StoreCap::HostMemoryBytes => TrapKind::Memory,
            StoreCap::TableElements => TrapKind::Table,
        };
        return (kind, cap.to_string());
    }
    let detail = format!("{e:#}");
    let kind = match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => TrapKind::Deadline,
        Some(Trap::OutOfFuel) => TrapKind::Fuel,
        Some(Trap::UnreachableCodeReached) => TrapKind::Panic,
        // The store's counts, refused by wasmtime itself at instantiation
        // ("resource limit exceeded: <kind> count too high at <n>").
        _ if detail.contains("instance count too high") => TrapKind::Instances,
        _ if detail.contains("memory count too high") => TrapKind::Memory,
        _ if detail.contains("table count too high") => TrapKind::Table,
        _ => TrapKind::Other,
    };
    // Keep the first line: backtraces name guest functions, not data, but are long.
    let first = detail.lines().next().unwrap_or("").to_string();
    (kind, clip(&first))
}
