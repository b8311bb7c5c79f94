//! The sync room: one run of one account — plan → fetch → transform → screen → write → commit.
//!
//! Owns the order of those steps and the run's bookkeeping (job run row, counts, status). It
//! does not own how requests are made (`http`), what plugins may emit (`plugin::firewall`),
//! where records go (`sink`) or how the ledger is stored (`state`).

pub mod run;

pub mod probe;

pub use probe::probe_account;
pub use run::{sync_account, Account, ProgressHook, RunKind, RunOptions, RunSummary, SyncDeps};
