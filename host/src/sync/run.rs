//! One sync run of one account, under the run caps of its plugin's limits (planned requests,
//! pages, wall time). A failed auxiliary request (`degraded`) is skipped and the run goes on.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::http::{EgressGrant, HttpExecutor, RequestBudget, RequestScope, Secrets};
use crate::model::{PlannedRequest, RunContext};
use crate::plugin::{
    GuestError, LoadedPlugin, PluginError, PluginInstance, Pseudonymizer, RecordFirewall,
};
use crate::run_record::{RunFigures, RunKind, RunStatus};
use crate::sink::{RunRecord, Sink};
use crate::state::StateStore;

use super::degraded::{auxiliary_kind, Degradations, DegradedReason};
use super::RunObserver;

/// An account of one vendor, as configured by the operator.
#[derive(Clone)]
pub struct Account {
    pub plugin: LoadedPlugin,
    pub name: String,
    pub settings: Vec<(String, String)>,
    pub secrets: Secrets,
    /// Where this account's requests (and so its secrets) may go, as the operator granted it.
    pub egress: EgressGrant,
    /// The vendor's request budget, shared by all its accounts.
    pub budget: RequestBudget,
}

impl Account {
    pub fn vendor_id(&self) -> &str {
        &self.plugin.manifest.id
    }
}

/// What every run shares.
#[derive(Clone)]
pub struct SyncDeps {
    pub state: Arc<StateStore>,
    pub sink: Arc<dyn Sink>,
    pub http: HttpExecutor,
    pub pseudonym_key: [u8; 32],
    pub metrics: Arc<dyn RunObserver>,
}

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub kind: RunKind,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// The clock the plugin sees (tests pin it to the simulator's).
    pub now_ms: Option<i64>,
    /// Test hook: stop as if killed after the sink acknowledged this many pages, before the
    /// cursor commit of the last one.
    pub crash_after_sink_pages: Option<u64>,
    /// Called after every stored batch of pages (progress bars, progress lines); a dry run
    /// calls it after every page.
    pub progress: Option<ProgressHook>,
    /// Set to stop the run after the page in flight (shutdown, Ctrl-C): what was stored stays
    /// committed, the rest is read again next time.
    pub cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// A callback with the run's figures so far.
#[derive(Clone)]
pub struct ProgressHook(pub Arc<dyn Fn(&RunSummary) + Send + Sync>);

impl std::fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressHook")
    }
}

/// What a run did: its [`RunFigures`] (status, counts, message; read and written as the
/// summary's own fields, `summary.pages`, through `Deref`) and what only the run itself knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub figures: RunFigures,
    /// Auxiliary requests skipped because they failed (the run is then `Degraded`).
    pub degraded: Degradations,
    pub tickets_changed: u64,
    pub duration_ms: u64,
}

impl std::ops::Deref for RunSummary {
    type Target = RunFigures;
    fn deref(&self) -> &RunFigures {
        &self.figures
    }
}

impl std::ops::DerefMut for RunSummary {
    fn deref_mut(&mut self) -> &mut RunFigures {
        &mut self.figures
    }
}

impl RunSummary {
    /// Ended `Ok`: nothing failed, not even an auxiliary request.
    pub fn ok(&self) -> bool {
        self.status == RunStatus::Ok
    }

    /// The core data is stored and committed (`Ok` or `Degraded`).
    pub fn succeeded(&self) -> bool {
        self.status.succeeded()
    }
}

/// Why a run (or a webhook's follow-ups, `sync::webhook`) stopped early.
pub(crate) enum Stop {
    Interrupted,
    Failed(String),
    RateLimited(String),
    Crashed,
}

impl Stop {
    /// What a stop says outside a run (the webhook ingest's errors).
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Interrupted => "stopped on request".into(),
            Self::Failed(m) | Self::RateLimited(m) => m.clone(),
            Self::Crashed => "simulated crash".into(),
        }
    }
}

/// Runs one sync of `account`. Never panics on plugin or vendor misbehaviour: every failure
/// ends the run with a status and a message, and the cursor stays at the last committed page.
pub async fn sync_account(
    deps: &SyncDeps,
    account: &Account,
    opts: &RunOptions,
) -> anyhow::Result<RunSummary> {
    let vendor = account.vendor_id().to_string();
    let started = Instant::now();
    let started_ms = crate::clock::now_ms();
    // A dry run writes nothing, not even its own run record.
    let run_id = match opts.kind {
        RunKind::DryRun => None,
        _ => Some(
            deps.state
                .begin_run(&vendor, &account.name, opts.kind, started_ms)?,
        ),
    };
    let mut summary = RunSummary::default();
    let result = super::writer::run_pages(deps, account, opts, &mut summary).await;
    summary.duration_ms = started.elapsed().as_millis() as u64;
    let (status, message) = match result {
        Ok(()) if summary.degraded.is_empty() => (
            RunStatus::Ok,
            format!("{} pages, {} records", summary.pages, summary.records),
        ),
        Ok(()) => (
            RunStatus::Degraded,
            format!(
                "{} pages, {} records; degraded: {} skipped ({})",
                summary.pages,
                summary.records,
                plural(summary.degraded.total(), "auxiliary request"),
                summary.degraded.describe()
            ),
        ),
        Err(Stop::Interrupted) => (
            RunStatus::Interrupted,
            format!(
                "stopped after {} pages on request; the next run continues from the last committed page",
                summary.pages
            ),
        ),
        Err(Stop::Failed(m)) => (RunStatus::Failed, m),
        Err(Stop::RateLimited(m)) => (RunStatus::RateLimited, m),
        Err(Stop::Crashed) => (
            RunStatus::Failed,
            "simulated crash after the sink write".to_string(),
        ),
    };
    summary.status = status;
    // Messages may quote what a plugin chose (a request id): one line, whatever it holds.
    summary.message = crate::plugin::firewall::escape_for_log(&message);
    let finished_ms = crate::clock::now_ms();
    if let Some(id) = run_id {
        deps.state.finish_run(id, &summary.figures, finished_ms)?;
    }
    deps.metrics
        .record_run(&vendor, &account.name, &summary, finished_ms);
    if opts.kind != RunKind::DryRun {
        let run = RunRecord {
            run_id: run_uuid(started_ms),
            vendor: vendor.clone(),
            kind: opts.kind,
            account: account.name.clone(),
            started_at_ms: started_ms,
            finished_at_ms: finished_ms,
            figures: summary.figures.clone(),
        };
        if let Err(e) = deps.sink.record_run(&run).await {
            tracing::warn!(vendor, account = %account.name, "could not record the run in the warehouse: {e:#}");
        }
    }
    tracing::info!(
        vendor,
        account = %account.name,
        kind = opts.kind.as_str(),
        status = %summary.status,
        pages = summary.pages,
        records = summary.records,
        rejected = summary.rejected,
        requests = summary.requests,
        duration_ms = summary.duration_ms,
        "sync finished: {}",
        summary.message
    );
    Ok(summary)
}

/// `1 auxiliary request`, `3 auxiliary requests`.
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Skips a failed auxiliary request: counted in the run's tally and the metric, logged with
/// its kind and reason (the detail is the host's or the plugin's redacted message, escaped).
fn skip_auxiliary(
    deps: &SyncDeps,
    account: &Account,
    summary: &mut RunSummary,
    kind: &str,
    reason: DegradedReason,
    detail: &dyn std::fmt::Display,
) {
    let vendor = account.vendor_id();
    summary.degraded.add(kind, reason);
    deps.metrics
        .auxiliary_failed(vendor, &account.name, reason.as_str());
    tracing::warn!(
        vendor,
        account = %account.name,
        request_kind = kind,
        reason = reason.as_str(),
        "auxiliary request skipped, the run goes on: {}",
        crate::plugin::firewall::escape_for_log(&detail.to_string())
    );
}

/// A random (version 4) UUID as text.
/// A run's id in the warehouse's `job_runs`: a UUID v7 (RFC 9562), its first 48 bits the run's
/// start in Unix milliseconds and the rest random, so ids sort by start time (the ClickHouse
/// table and a reader listing runs see them in order) and carry nothing `started_at_ms` does
/// not already say. The text form is the usual hyphenated lower-case one the columns hold.
fn run_uuid(started_ms: i64) -> String {
    let random: [u8; 10] = rand::random();
    uuid::Builder::from_unix_timestamp_millis(started_ms.max(0) as u64, &random)
        .into_uuid()
        .hyphenated()
        .to_string()
}

pub(crate) fn plugin_stop(e: PluginError) -> Stop {
    match e {
        PluginError::Guest {
            error: GuestError::RetryLater(s),
            ..
        } => Stop::RateLimited(format!("vendor asked to retry after {s} s")),
        PluginError::Guest {
            error: GuestError::Unauthorized(m),
            plugin,
            ..
        } => Stop::Failed(format!(
            "{plugin}: the vendor refused the credentials ({m}); check the account's token"
        )),
        other => Stop::Failed(other.to_string()),
    }
}

/// A run stopped at one of its caps (`PluginLimits::run`): the message names the cap.
pub(crate) fn over_run_cap(vendor: &str, cap: String) -> Stop {
    Stop::Failed(format!(
        "{vendor}: the run reached its cap of {cap} and was stopped; pages stored before it stay committed"
    ))
}

/// Fetches and transforms pages in order and hands them to the writer (`tx`; `None` for a dry
/// run, which only counts).
pub(super) async fn fetch_pages(
    deps: &SyncDeps,
    account: &Account,
    opts: &RunOptions,
    summary: &mut RunSummary,
    tx: Option<tokio::sync::mpsc::Sender<super::writer::PageJob>>,
    requests: &std::sync::atomic::AtomicU64,
) -> Result<(), Stop> {
    let vendor = account.vendor_id();
    let manifest = &account.plugin.manifest;
    let scope = RequestScope {
        egress: &account.egress,
        declared_secrets: &manifest.secrets,
        secrets: &account.secrets,
        budget: &account.budget,
    };
    // Backfills see the live cursor as a hint (e.g. id marks) but never move it.
    let cursor = deps
        .state
        .cursor(vendor, &account.name)
        .map_err(|e| Stop::Failed(format!("reading the cursor: {e:#}")))?;
    let mut ctx = RunContext {
        account: account.name.clone(),
        settings: account.settings.clone(),
        cursor,
        since_ms: opts.since_ms,
        until_ms: opts.until_ms,
        now_ms: opts.now_ms.unwrap_or_else(crate::clock::now_ms),
    };
    let pseudonyms = Arc::new(Pseudonymizer::new(deps.pseudonym_key));
    let firewall = RecordFirewall::new();
    let traps = |e: &PluginError| count_plugin_error(deps, account, e);
    let mut inst = match account.plugin.instantiate(pseudonyms.clone()).await {
        Ok(inst) => inst,
        Err(e) => {
            traps(&e);
            return Err(Stop::Failed(e.to_string()));
        }
    };
    let mut queue: VecDeque<PlannedRequest> = match inst.begin(&ctx).await {
        Ok(r) => r.into(),
        Err(e) => {
            traps(&e);
            return Err(plugin_stop(e));
        }
    };
    let caps = account.plugin.limits().run;
    // Requests planned so far: bounds the queue and a fan-out, before any is made.
    let mut planned = queue.len();
    let over_planned = || {
        over_run_cap(
            vendor,
            format!("{} planned requests per run", caps.max_planned_requests),
        )
    };
    if planned > caps.max_planned_requests {
        return Err(over_planned());
    }
    let step = RequestStep {
        deps,
        account,
        scope: &scope,
        firewall: &firewall,
        requests,
    };
    let mut number = 0u64;
    while let Some(req) = queue.pop_front() {
        if number >= caps.max_pages {
            // The plugin still asks for more: endless paging ends here.
            return Err(over_run_cap(
                vendor,
                format!("{} pages per run", caps.max_pages),
            ));
        }
        let cancelled = opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed));
        if cancelled && number > 0 {
            return Err(Stop::Interrupted);
        }
        if tx.as_ref().is_some_and(|tx| tx.is_closed()) {
            // The writer stopped on a failed page: its error is the run's.
            return Ok(());
        }
        let Some(screened) = step
            .fetch_and_transform(&mut inst, &ctx, &req, number + 1, summary)
            .await?
        else {
            continue;
        };
        number += 1;
        // The plugin sees this page's cursor from the next call on: the writer commits it
        // with this page, after every earlier page's.
        let cursor = screened.cursor;
        if let Some(c) = &cursor {
            ctx.cursor = Some(c.clone());
        }
        planned += screened.next.len();
        if planned > caps.max_planned_requests {
            return Err(over_planned());
        }
        queue.extend(screened.next);
        let rejected = screened.rejected;
        let Some(tx) = &tx else {
            summary.pages += 1;
            summary.records += screened.records.len() as u64;
            summary.rejected += rejected;
            if let Some(p) = &opts.progress {
                summary.requests = requests.load(std::sync::atomic::Ordering::Relaxed);
                (p.0)(summary);
            }
            continue;
        };
        let job = super::writer::PageJob {
            number,
            records: screened.records,
            cursor: cursor.filter(|_| opts.kind == RunKind::Sync),
            rejected,
        };
        if tx.send(job).await.is_err() {
            // The writer stopped on a failed page: its error is the run's.
            return Ok(());
        }
    }
    Ok(())
}

/// Counts a plugin failure in the metrics: its trap kind, or the outbound refusal.
pub(crate) fn count_plugin_error(deps: &SyncDeps, account: &Account, e: &PluginError) {
    let vendor = account.vendor_id();
    if let Some(kind) = e.trap_kind() {
        deps.metrics.plugin_trap(vendor, kind.as_str());
    }
    if let PluginError::RequestRefused { refusal, .. } = e {
        deps.metrics
            .request_refused(vendor, &account.name, refusal.reason.as_str());
    }
}

/// One page as a request made of it: the screened records, the rejections counted, the
/// follow-up requests and the cursor the plugin returned.
pub(crate) struct ScreenedPage {
    pub records: Vec<crate::model::Record>,
    pub rejected: u64,
    pub next: Vec<PlannedRequest>,
    pub cursor: Option<String>,
}

/// What performing one planned request needs: the run's shared parts and the account's
/// egress grant, secrets and budget (`scope`).
pub(crate) struct RequestStep<'a> {
    pub deps: &'a SyncDeps,
    pub account: &'a Account,
    pub scope: &'a RequestScope<'a>,
    pub firewall: &'a RecordFirewall,
    /// Requests made so far (the run's progress figure).
    pub requests: &'a std::sync::atomic::AtomicU64,
}

impl RequestStep<'_> {
    /// One planned request through the run's machinery: egress grant, secrets, budget and
    /// retries (`http`), the plugin's `handle`, the cursor screen and the record firewall, with
    /// the metrics of each. `Ok(None)`: an auxiliary request failed and was skipped (counted in
    /// `summary`). `number` numbers the page in messages. A sync run's loop and the webhook
    /// ingest's follow-ups (`sync::webhook`) both go through here.
    pub(crate) async fn fetch_and_transform(
        &self,
        inst: &mut PluginInstance,
        ctx: &RunContext,
        req: &PlannedRequest,
        number: u64,
        summary: &mut RunSummary,
    ) -> Result<Option<ScreenedPage>, Stop> {
        let (deps, account) = (self.deps, self.account);
        let vendor = account.vendor_id();
        let firewall = self.firewall;
        let traps = |e: &PluginError| count_plugin_error(deps, account, e);
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        crate::crash_point::reached(crate::crash_point::CrashPhase::Fetch);
        let fetched = deps.http.execute(req, self.scope).await;
        let aux = auxiliary_kind(&req.id);
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                deps.metrics.http_request(vendor, &account.name, "error");
                if let (Some(kind), Some(reason)) = (aux, DegradedReason::of_http(&e)) {
                    skip_auxiliary(deps, account, summary, kind, reason, &e);
                    return Ok(None);
                }
                return Err(Stop::Failed(format!("request `{}`: {e}", req.id)));
            }
        };
        for s in &fetched.attempts {
            deps.metrics
                .http_request(vendor, &account.name, &s.to_string());
        }
        deps.metrics.http_retries(
            vendor,
            &account.name,
            fetched.attempts.len().saturating_sub(1) as u64,
        );
        crate::crash_point::reached(crate::crash_point::CrashPhase::Transform);
        let page = match inst.handle(ctx, req, fetched.response).await {
            Ok(p) => p,
            Err(e) => {
                traps(&e);
                if let (Some(kind), Some(reason)) = (aux, DegradedReason::of_plugin(&e)) {
                    for log in inst.take_logs() {
                        tracing::debug!(vendor, account = %account.name, level = log.level, "plugin: {}", log.message);
                    }
                    skip_auxiliary(deps, account, summary, kind, reason, &e);
                    return Ok(None);
                }
                return Err(plugin_stop(e));
            }
        };
        for log in inst.take_logs() {
            tracing::debug!(vendor, account = %account.name, level = log.level, "plugin: {}", log.message);
        }
        // The cursor is stored and handed back verbatim: it may carry no personal data.
        if let Some(reason) = page.cursor.as_deref().and_then(|c| {
            crate::plugin::firewall::screen_text(c, crate::plugin::firewall::FieldKind::Opaque)
        }) {
            return Err(Stop::Failed(format!(
                "{vendor}: the cursor of page {} holds personal data ({}); the page is not stored and the cursor stays where it was",
                number,
                reason.as_str()
            )));
        }
        let screened = firewall.screen(page.records);
        for r in &screened.rejected {
            deps.metrics
                .record_rejected(vendor, &account.name, r.reason.as_str());
            tracing::warn!(vendor, account = %account.name, "record rejected: {r}");
        }
        Ok(Some(ScreenedPage {
            rejected: screened.rejected.len() as u64,
            records: screened.accepted,
            next: page.next,
            cursor: page.cursor,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::run_uuid;

    #[test]
    fn run_ids_are_v7_uuids_that_sort_by_start_time() {
        let started_ms = 1_772_400_605_123;
        let id = run_uuid(started_ms);
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        // The hyphenated lower-case text the `job_runs.run_id` columns have always held.
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_lowercase());
        assert_eq!(id, parsed.hyphenated().to_string());
        // The first 48 bits are the start in milliseconds.
        let hex: String = id.chars().filter(|c| *c != '-').take(12).collect();
        assert_eq!(i64::from_str_radix(&hex, 16).unwrap(), started_ms);
        assert!(run_uuid(started_ms + 1) > id);
        assert_ne!(run_uuid(started_ms), id, "the rest is random");
    }
}
