//! The sync room: one run of one account — plan → fetch → transform → screen → write → commit.
//!
//! Owns the order of those steps and the run's bookkeeping (job run row, counts, status), and
//! which failures only degrade a run (`degraded`: auxiliary requests), and what a verified
//! webhook delivery becomes (`webhook`: the same request step, sink and ledger). It
//! does not own how requests are made (`http`), what plugins may emit (`plugin::firewall`),
//! where records go (`sink`) or how the ledger is stored (`state`).

pub mod degraded;
pub mod observer;
pub mod run;
mod writer;

pub mod probe;
pub mod webhook;

pub use crate::run_record::{RunFigures, RunKind, RunStatus};
pub use observer::RunObserver;
pub use probe::{probe_account, ProbeError};
pub use run::{sync_account, Account, ProgressHook, RunOptions, RunSummary, SyncDeps};
pub use webhook::WebhookIngest;

// The writer threads in `run` call these through `super::`; they live at the crate root
// (`crate::blocking`) so that `sink` can use them without importing the sync room.
pub(crate) use crate::blocking::{lower_thread_priority, may_block};
