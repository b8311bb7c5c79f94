//! What `/healthz` says about the accounts, from their last runs.
//!
//! Unhealthy (503) when an account's last run did not store its data (failed, rate limited,
//! interrupted), when no successful run finished within [`HEALTHY_WITHIN_INTERVALS`] of its
//! interval, or when it never ran that long after start. Degraded (200, with the reasons) when
//! every account is healthy but some account's last run was `degraded`: its orders/tickets
//! are stored and current, an auxiliary request (events, inventory) failed. A degraded
//! account is not a reason to restart or fail over, so the status code stays 200; the body
//! (`degraded: <vendor>/<account>: <what failed>`) and `boxoffice_sync_degraded_requests_total`
//! carry it to operators. It does not own the HTTP side (`server`).

use crate::state::{RunHealth, RunStatus};

/// An account is unhealthy when no successful run happened within this many intervals.
pub const HEALTHY_WITHIN_INTERVALS: i64 = 3;

/// The answer of `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Healthy,
    /// Healthy, but these accounts' last runs skipped auxiliary requests (one line each).
    Degraded(Vec<String>),
    /// These problems (and any degraded accounts after them).
    Unhealthy(Vec<String>),
}

/// One scheduled account: (vendor, account, interval in ms).
pub type Scheduled = (String, String, i64);

/// The daemon's health from the last runs of its scheduled accounts.
pub fn assess(runs: &[RunHealth], accounts: &[Scheduled], now_ms: i64, started_ms: i64) -> Health {
    let mut problems = Vec::new();
    let mut degraded = Vec::new();
    for (vendor, account, every) in accounts {
        let r = runs
            .iter()
            .find(|r| &r.vendor == vendor && &r.account == account);
        let window = every * HEALTHY_WITHIN_INTERVALS;
        match r {
            Some(r) if !r.last_status.succeeded() => {
                problems.push(format!("{vendor}/{account}: last sync {}", r.last_status))
            }
            Some(r) if r.last_success_ms.is_none_or(|t| now_ms - t > window) => {
                problems.push(format!(
                "{vendor}/{account}: no successful sync for {HEALTHY_WITHIN_INTERVALS} intervals"
            ))
            }
            Some(r) if r.last_status == RunStatus::Degraded => {
                degraded.push(format!("{vendor}/{account}: {}", r.last_message))
            }
            None if now_ms - started_ms > window => {
                problems.push(format!("{vendor}/{account}: never synced"))
            }
            _ => {}
        }
    }
    match (problems.is_empty(), degraded.is_empty()) {
        (true, true) => Health::Healthy,
        (true, false) => Health::Degraded(degraded),
        (false, _) => {
            problems.extend(degraded.into_iter().map(|d| format!("degraded: {d}")));
            Health::Unhealthy(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn run(account: &str, status: RunStatus, message: &str, success_ago: Option<i64>) -> RunHealth {
        RunHealth {
            vendor: "qtickets".into(),
            account: account.into(),
            last_status: status,
            last_message: message.into(),
            last_finished_ms: Some(100 * MIN),
            last_success_ms: success_ago.map(|a| 100 * MIN - a),
            last_duration_ms: Some(10),
        }
    }

    fn sched(accounts: &[&str]) -> Vec<Scheduled> {
        accounts
            .iter()
            .map(|a| ("qtickets".to_string(), a.to_string(), 15 * MIN))
            .collect()
    }

    #[test]
    fn degraded_is_healthy_with_reasons_failed_is_not() {
        let now = 100 * MIN;
        let ok = run("a", RunStatus::Ok, "3 pages", Some(0));
        let deg = run(
            "b",
            RunStatus::Degraded,
            "3 pages, 120 records; degraded: 2 auxiliary requests skipped (seats bad_response ×2)",
            Some(0),
        );
        assert_eq!(
            assess(std::slice::from_ref(&ok), &sched(&["a"]), now, 0),
            Health::Healthy
        );
        assert_eq!(
            assess(&[ok.clone(), deg.clone()], &sched(&["a", "b"]), now, 0),
            Health::Degraded(vec![
                "qtickets/b: 3 pages, 120 records; degraded: 2 auxiliary requests skipped (seats bad_response ×2)".into()
            ])
        );
        let failed = run("a", RunStatus::Failed, "boom", Some(MIN));
        match assess(&[failed, deg], &sched(&["a", "b"]), now, 0) {
            Health::Unhealthy(p) => {
                assert_eq!(p[0], "qtickets/a: last sync failed");
                assert!(p[1].starts_with("degraded: qtickets/b: "), "{p:?}");
            }
            h => panic!("{h:?}"),
        }
        // A degraded run counts as a success for staleness: still within three intervals.
        let stale = run("b", RunStatus::Degraded, "x", Some(46 * MIN));
        assert!(matches!(
            assess(&[stale], &sched(&["b"]), now, 0),
            Health::Unhealthy(_)
        ));
        assert!(matches!(
            assess(&[], &sched(&["a"]), now, 0),
            Health::Unhealthy(p) if p == ["qtickets/a: never synced"]
        ));
    }
}
