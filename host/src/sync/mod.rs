//! The sync room: one run of one account — plan → fetch → transform → screen → write → commit.
//!
//! Owns the order of those steps and the run's bookkeeping (job run row, counts, status), and
//! which failures only degrade a run (`degraded`: auxiliary requests), and what a verified
//! webhook delivery becomes (`webhook`: the same request step, sink and ledger). It
//! does not own how requests are made (`http`), what plugins may emit (`plugin::firewall`),
//! where records go (`sink`) or how the ledger is stored (`state`).

pub mod degraded;
pub mod run;

pub mod probe;
pub mod webhook;

pub use probe::probe_account;
pub use run::{sync_account, Account, ProgressHook, RunKind, RunOptions, RunSummary, SyncDeps};
pub use webhook::WebhookIngest;

/// Runs blocking work (SQLite) from async code without stalling the runtime's other tasks: on
/// a multi-threaded runtime the worker hands its queue to another thread for the duration
/// (so the simulator, the HTTP client and the next page's fetch keep running); on a
/// current-thread runtime (tests) it simply runs inline.
pub(crate) fn blocking_io<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    if MAY_BLOCK.get() {
        return f();
    }
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

thread_local! {
    /// Set on the sync writer's own threads, where blocking is the point.
    static MAY_BLOCK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with `blocking_io` running its work inline (a thread that exists to block).
pub(crate) fn may_block<T>(f: impl FnOnce() -> T) -> T {
    MAY_BLOCK.set(true);
    f()
}

/// Lowers the calling thread's CPU priority a little (Linux `nice` 5 for this thread only).
/// The sync's writer threads have slack (they wait for batches about a third of the time),
/// while fetch → transform is the pipeline's critical path: when the cores are contended,
/// the loop should get them first. Best effort: elsewhere, or on failure, nothing changes.
pub(crate) fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        extern "C" {
            fn setpriority(which: i32, who: u32, prio: i32) -> i32;
        }
        // /proc/thread-self -> /proc/<pid>/task/<tid>
        let tid = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name()?.to_str()?.parse::<u32>().ok());
        if let Some(tid) = tid {
            // PRIO_PROCESS (0) with a thread id sets that thread's nice value on Linux.
            // SAFETY: plain libc call with integer arguments; it touches no Rust memory.
            let _ = unsafe { setpriority(0, tid, 5) };
        }
    }
}
