//! The two-thread page writer of a run: pages from the loop are grouped into batches, written
//! to the warehouse (one thread), then applied to the ledger with the last page's cursor in one
//! transaction (another thread), strictly in order; `run_pages` ties it to the fetch loop.

use std::sync::Arc;

use super::run::{
    fetch_pages, over_run_cap, Account, ProgressHook, RunOptions, RunSummary, Stop, SyncDeps,
};
use crate::run_record::RunKind;

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
pub(super) struct PageJob {
    pub(super) number: u64,
    pub(super) records: Vec<crate::model::Record>,
    /// The cursor to commit with this page (None for backfills and pages without one).
    pub(super) cursor: Option<String>,
    pub(super) rejected: u64,
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

pub(super) async fn run_pages(
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
