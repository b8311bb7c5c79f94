//! What a run tells whoever counts it: [`RunObserver`] is told of every request's statuses,
//! retries, refusals, rejections, traps, skipped auxiliary requests and the finished run.
//!
//! The sync room defines the trait and the metrics room implements it (`metrics::Metrics`),
//! so the import points one way, metrics → sync, as [`crate::http::executor::RequestObserver`]
//! does for the executor. It does not own what is counted or how it is exposed.

use super::RunSummary;

/// Told of what one run does. Implementations must be cheap and never fail: they run on the
/// run's path.
pub trait RunObserver: Send + Sync {
    /// One attempt of a request ended with `status` (an HTTP status, or `error`).
    fn http_request(&self, vendor: &str, account: &str, status: &str);
    /// A request needed `n` retries.
    fn http_retries(&self, vendor: &str, account: &str, n: u64);
    /// The firewall refused a record the plugin emitted.
    fn record_rejected(&self, vendor: &str, account: &str, reason: &str);
    /// The outbound screen refused a request the plugin planned.
    fn request_refused(&self, vendor: &str, account: &str, reason: &str);
    /// The plugin's instance trapped.
    fn plugin_trap(&self, vendor: &str, kind: &str);
    /// An auxiliary request failed and was skipped (`super::degraded`).
    fn auxiliary_failed(&self, vendor: &str, account: &str, reason: &str);
    /// The run finished (any status) at `finished_ms`.
    fn record_run(&self, vendor: &str, account: &str, summary: &RunSummary, finished_ms: i64);
}
