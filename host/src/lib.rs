//! boxoffice: ticket sales from vendor APIs into ClickHouse or SQLite and Prometheus, with each
//! vendor's logic in a sandboxed WebAssembly component.
//!
//! Rooms (one concern each): `plugin` (sandboxed connectors), `http` (the executor that does a
//! plugin's I/O), `sync` (one run: plan → fetch → transform → write → commit), `state` (SQLite:
//! cursors, runs, ledger), `sink` (warehouses), `metrics`, `config`, `cli`. Canonical records
//! are in `model`. Vendor simulators live in the `boxoffice-sim` crate. Helpers two rooms
//! share sit at the root (`retry`, `blocking`, `migrate`, `sqlite_file`); which room may import
//! which is listed, and enforced, in `rooms`.

pub mod app;
pub mod blocking;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crash_point;
pub mod http;
pub mod malloc_tuning;
pub mod metrics;
pub mod migrate;
pub mod model;
pub mod names;
pub mod plugin;
pub mod retry;
pub mod rooms;
pub mod run_record;
pub mod sink;
pub mod sqlite_file;
pub mod state;
pub mod sync;
pub mod webhook;
pub mod zone;
