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
    let result = run_pages(deps, account, opts, &mut summary).await;
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

/// Pages one writer transaction may take at most: bounds memory and what a crash makes the
/// next run fetch again.
const MAX_BATCH_PAGES: usize = 64;

/// Pages the loop may hand over before the writer took them: about what it fetches while a
/// batch is written, so the loop does not wait on the writer's disk. With one batch being
/// collected and one being committed, at most ~200 pages (~20k records) are in memory: the
/// 1M-ticket backfill peaks at ~59 MB RSS (docs/performance.md).
const QUEUE_PAGES: usize = 64;

/// How long the writer waits for more pages before storing what it has: at the bench's pace
/// (a page every ~1.5 ms) a full batch; for a short run nothing, as the loop's end closes the
/// queue at once. Measured: 16 pages / 20 ms → 64 / 80 ms raised the Shotgun pipeline from
/// ~58k to ~66k tickets/s and lowered its CPU time (docs/performance.md).
const GROUP_WAIT: std::time::Duration = std::time::Duration::from_millis(80);

/// One screened page on its way to the warehouse and the ledger.
struct PageJob {
    number: u64,
    records: Vec<crate::model::Record>,
    /// The cursor to commit with this page (None for backfills and pages without one).
    cursor: Option<String>,
    rejected: u64,
}

/// Pages stored together: one warehouse write, then one ledger transaction.
struct Batch {
    /// First and last page number.
    first: u64,
    last: u64,
    records: Vec<crate::model::Record>,
    /// The last page's cursor: it covers every page before it.
    cursor: Option<String>,
    /// (records, rejected) of each page, for the run's figures.
    sizes: Vec<(u64, u64)>,
}

impl Batch {
    fn of(jobs: Vec<PageJob>) -> Self {
        let (first, last) = (jobs[0].number, jobs[jobs.len() - 1].number);
        let mut b = Self {
            first,
            last,
            records: Vec::new(),
            cursor: None,
            sizes: Vec::with_capacity(jobs.len()),
        };
        for job in jobs {
            b.sizes.push((job.records.len() as u64, job.rejected));
            if job.cursor.is_some() {
                b.cursor = job.cursor;
            }
            if b.records.is_empty() {
                b.records = job.records;
            } else {
                b.records.extend(job.records);
            }
        }
        b
    }

    fn name(&self) -> String {
        if self.first == self.last {
            format!("page {}", self.first)
        } else {
            format!("pages {}–{}", self.first, self.last)
        }
    }

    /// Adds the batch's pages to `done` (a failed batch counts too: it was fetched and
    /// screened).
    fn count(&self, done: &mut RunSummary) {
        for (n, rejected) in &self.sizes {
            done.pages += 1;
            done.records += n;
            done.rejected += rejected;
        }
    }
}

/// The writer: stores pages while the loop fetches and transforms the next ones, in two
/// stages that also overlap each other — the warehouse write of a batch runs while the
/// ledger commits the batch before it.
///
/// Pages arrive in order and are stored in order; when several are waiting, they are stored
/// together, which is what lets a slow disk keep up. A batch reaches the ledger only after
/// the sink acknowledged it, and the ledger commits batches strictly in order, each with its
/// last page's cursor in the same transaction, so the committed cursor never passes a page
/// that is not stored. The first failure stops its stage; the stage before it notices when
/// its next batch is refused, and so does the loop. A warehouse that ran ahead of a failed
/// ledger commit holds rows the next run writes again: upserts absorb them.
///
/// Each stage is an OS thread of its own rather than a runtime task: SQLite blocks, so it
/// stays off the runtime's workers (the loop, the HTTP client and an in-process vendor keep
/// running), and each database's allocations stay in one thread's malloc arena instead of
/// spreading over whichever runtime threads ran its commits. The warehouse hands a batch to
/// the ledger only when the ledger takes it (a rendezvous), so at most one batch waits.
struct Writer {
    deps: SyncDeps,
    vendor: Arc<str>,
    account: Arc<str>,
    crash_after: Option<u64>,
    max_batch: usize,
    progress: Option<ProgressHook>,
    /// Requests made so far, kept by the loop (the progress hook reports them).
    requests: Arc<std::sync::atomic::AtomicU64>,
    /// A stop request: batches already written to the warehouse are committed, pages still
    /// queued are dropped (the next run reads them again).
    cancel: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// Drives the sink's async writes from the warehouse thread.
    runtime: tokio::runtime::Handle,
}

/// What a stage of the writer leaves: the figures of its pages and how it ended.
type StageEnd = (RunSummary, Result<(), Stop>);

impl Writer {
    /// Starts both stages; returns the loop's sender and the joined outcome.
    fn start(
        self,
    ) -> (
        tokio::sync::mpsc::Sender<PageJob>,
        tokio::sync::oneshot::Receiver<StageEnd>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(QUEUE_PAGES.min(self.max_batch));
        let (btx, brx) = std::sync::mpsc::sync_channel(0);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let this = Arc::new(self);
        let w = this.clone();
        let spawned = std::thread::Builder::new()
            .name("sync-warehouse".into())
            .spawn(move || {
                super::lower_thread_priority();
                super::may_block(|| w.warehouse_stage(rx, btx))
            })
            .and_then(|warehouse| {
                std::thread::Builder::new()
                    .name("sync-ledger".into())
                    .spawn(move || {
                        super::lower_thread_priority();
                        let (mut done, l_end) = super::may_block(|| this.ledger_stage(brx));
                        let (w_done, w_end) = warehouse.join().unwrap_or_else(|_| {
                            (
                                RunSummary::default(),
                                Err(Stop::Failed("the warehouse writer panicked".into())),
                            )
                        });
                        // A batch the warehouse refused never reached the ledger: count it.
                        done.pages += w_done.pages;
                        done.records += w_done.records;
                        done.rejected += w_done.rejected;
                        // The ledger's failure is on an earlier batch than any the warehouse
                        // had in hand.
                        let end = match (l_end, w_end) {
                            (Err(l), _) => Err(l),
                            (Ok(()), w) => w,
                        };
                        let _ = done_tx.send((done, end));
                    })
            });
        if let Err(e) = spawned {
            // Unreachable in practice; without threads the run fails cleanly (the loop's
            // first send is refused and the closed outcome channel reports this).
            tracing::error!("cannot start the page writer threads: {e}");
        }
        (tx, done_rx)
    }

    fn warehouse_stage(
        &self,
        mut rx: tokio::sync::mpsc::Receiver<PageJob>,
        to_ledger: std::sync::mpsc::SyncSender<Batch>,
    ) -> StageEnd {
        let mut failed = RunSummary::default();
        while let Some(first) = rx.blocking_recv() {
            if self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
            {
                return (failed, Err(Stop::Interrupted));
            }
            let mut jobs = vec![first];
            // Group commit: give the loop a moment to hand over more pages. Each transaction
            // rewrites the B-tree pages it touched (index and right-edge leaves), so pages
            // stored together cost less than pages stored one by one.
            let deadline = tokio::time::Instant::now() + GROUP_WAIT;
            while jobs.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => break,
                    Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                        // The timer must be made inside the runtime's context.
                        let next = self
                            .runtime
                            .block_on(async { tokio::time::timeout_at(deadline, rx.recv()).await });
                        match next {
                            Ok(Some(job)) => jobs.push(job),
                            // Closed (the loop is done) or waited long enough.
                            Ok(None) | Err(_) => break,
                        }
                    }
                }
            }
            let batch = Batch::of(jobs);
            let sink = &self.deps.sink;
            let written =
                self.runtime
                    .block_on(sink.write(&self.vendor, &self.account, &batch.records));
            if let Err(e) = written {
                batch.count(&mut failed);
                let stop = Stop::Failed(format!(
                    "{} sink refused {}: {e:#}; the cursor stays where it was",
                    sink.name(),
                    batch.name()
                ));
                return (failed, Err(stop));
            }
            crate::crash_point::reached(crate::crash_point::CrashPhase::Acked);
            if self.crash_after.is_some_and(|n| n <= batch.last) {
                batch.count(&mut failed);
                return (failed, Err(Stop::Crashed));
            }
            if to_ledger.send(batch).is_err() {
                // The ledger stopped on a failed commit: its error is the run's.
                break;
            }
        }
        (failed, Ok(()))
    }

    fn ledger_stage(&self, rx: std::sync::mpsc::Receiver<Batch>) -> StageEnd {
        let mut done = RunSummary::default();
        while let Ok(batch) = rx.recv() {
            batch.count(&mut done);
            let commit = self.deps.state.commit_page(
                &self.vendor,
                &self.account,
                &batch.records,
                batch.cursor.as_deref(),
                crate::clock::now_ms(),
            );
            match commit {
                Ok(c) => done.tickets_changed += c.tickets_changed,
                Err(e) => {
                    let stop = Stop::Failed(format!("committing {}: {e:#}", batch.name()));
                    return (done, Err(stop));
                }
            }
            if let Some(p) = &self.progress {
                let mut s = done.clone();
                s.requests = self.requests.load(std::sync::atomic::Ordering::Relaxed);
                (p.0)(&s);
            }
        }
        (done, Ok(()))
    }
}

async fn run_pages(
    deps: &SyncDeps,
    account: &Account,
    opts: &RunOptions,
    summary: &mut RunSummary,
) -> Result<(), Stop> {
    let requests = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writer = (opts.kind != RunKind::DryRun).then(|| {
        Writer {
            deps: deps.clone(),
            vendor: account.vendor_id().into(),
            account: account.name.as_str().into(),
            crash_after: opts.crash_after_sink_pages,
            // The crash hook names one page: store pages one at a time so it can.
            max_batch: if opts.crash_after_sink_pages.is_some() {
                1
            } else {
                MAX_BATCH_PAGES
            },
            progress: opts.progress.clone(),
            requests: requests.clone(),
            cancel: opts.cancel.clone(),
            runtime: tokio::runtime::Handle::current(),
        }
        .start()
    });
    let (tx, handle) = match writer {
        Some((tx, h)) => (Some(tx), Some(h)),
        None => (None, None),
    };
    // The run's wall-time cap covers everything the loop waits on (budget, vendor, plugin).
    let max_duration = account.plugin.limits().run.max_duration;
    let fetched = fetch_pages(deps, account, opts, summary, tx, &requests);
    let result = match tokio::time::timeout(max_duration, fetched).await {
        Ok(r) => r,
        Err(_) => Err(over_run_cap(
            account.vendor_id(),
            format!("{} s of wall time", max_duration.as_secs_f64()),
        )),
    };
    summary.requests = requests.load(std::sync::atomic::Ordering::Relaxed);
    let Some(handle) = handle else {
        return result;
    };
    // Every exit waits for the writer: the run's figures and status must not be closed while
    // a cursor commit is still under way.
    let (done, written) = match handle.await {
        Ok(r) => r,
        Err(_) => (
            RunSummary::default(),
            Err(Stop::Failed(
                "the page writer stopped without a result (a writer thread panicked or could not start)"
                    .into(),
            )),
        ),
    };
    summary.pages = done.pages;
    summary.records = done.records;
    summary.rejected = done.rejected;
    summary.tickets_changed = done.tickets_changed;
    match (result, written) {
        // The writer failed on a page before whatever stopped the loop.
        (_, Err(w)) => Err(w),
        (r, Ok(())) => r,
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
async fn fetch_pages(
    deps: &SyncDeps,
    account: &Account,
    opts: &RunOptions,
    summary: &mut RunSummary,
    tx: Option<tokio::sync::mpsc::Sender<PageJob>>,
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
        let job = PageJob {
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
