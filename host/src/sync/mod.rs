//! The sync room: one run of one account — plan → fetch → transform → screen → write → commit.
//!
//! Owns the order of those steps and the run's bookkeeping (job run row, counts, status). It
//! does not own how requests are made (`http`), what plugins may emit (`plugin::firewall`),
//! where records go (`sink`) or how the ledger is stored (`state`).

pub mod run;

pub use run::{sync_account, Account, RunKind, RunOptions, RunSummary, SyncDeps};
