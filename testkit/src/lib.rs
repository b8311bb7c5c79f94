//! Real servers for tests and benchmarks (one ClickHouse, or a sharded and replicated cluster
//! with its ZooKeeper), started from the Debian packages (pretix: from PyPI,
//! into a venv) on loopback ports with throwaway data directories.
//!
//! Owns: finding the server binary, writing a minimal config, starting, health-polling,
//! stopping and restarting it, and the skip rule: a test whose server is missing prints that it
//! skipped, unless `BOXOFFICE_REQUIRE_SERVERS=1` (set by `.ci/run`), where missing is a failure.
//! It does not own schemas or data: tests create their own databases.

pub mod clickhouse;
pub mod cluster;
pub mod pretix;
mod process;
pub mod promtool;
pub mod victoria;
pub mod zookeeper;

pub use clickhouse::ClickhouseServer;
pub use cluster::ClickhouseCluster;
pub use pretix::PretixServer;
pub use process::free_port;
pub use victoria::VictoriaMetricsServer;
pub use zookeeper::ZookeeperServer;

/// True when CI demands that every server-backed test really runs.
pub fn servers_required() -> bool {
    std::env::var("BOXOFFICE_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// Reports a missing server: panics under `BOXOFFICE_REQUIRE_SERVERS=1`, else prints a skip
/// line and returns, so the caller can `return` from the test.
pub fn skip_or_fail(test: &str, why: &str) {
    if servers_required() {
        panic!("{test}: {why} (BOXOFFICE_REQUIRE_SERVERS=1, so this is a failure, not a skip)");
    }
    eprintln!("SKIPPED {test}: {why}");
}
