//! The shipped alert rules (`deploy/alerts/boxoffice.rules.yml`): valid for Prometheus
//! (`promtool check rules`), right on synthetic series (`promtool test rules` with
//! `boxoffice.rules.test.yml`, where each rule has a firing and a quiet case), and reading only
//! series that boxoffice really serves (every metric name in the rules is in a scrape).
//!
//! promtool comes from Debian's `prometheus` package; without it the promtool tests print
//! SKIPPED (and fail under `BOXOFFICE_REQUIRE_SERVERS=1`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use boxoffice::metrics::Metrics;
use boxoffice::state::StateStore;
use boxoffice::sync::RunSummary;

fn alerts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/alerts")
}

fn rules_text() -> String {
    std::fs::read_to_string(alerts_dir().join("boxoffice.rules.yml")).unwrap()
}

/// `promtool ARGS` in the alerts directory, or `None` (skipped) without promtool.
fn promtool(test: &str, args: &[&str]) -> Option<(bool, String)> {
    let out = match Command::new("promtool")
        .args(args)
        .current_dir(alerts_dir())
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            boxoffice_testkit::skip_or_fail(test, "no promtool installed (Debian: prometheus)");
            return None;
        }
        Err(e) => panic!("{test}: running promtool: {e}"),
    };
    Some((
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

/// The alert names, in file order.
fn alert_names(rules: &str) -> Vec<String> {
    rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(|n| n.trim().to_string())
        .collect()
}

#[test]
fn promtool_accepts_the_rules() {
    let Some((ok, out)) = promtool(
        "promtool_accepts_the_rules",
        &["check", "rules", "boxoffice.rules.yml"],
    ) else {
        return;
    };
    assert!(ok, "{out}");
    let n = alert_names(&rules_text()).len();
    assert!(out.contains(&format!("SUCCESS: {n} rules found")), "{out}");
}

#[test]
fn promtool_unit_tests_pass_and_every_rule_fires_and_stays_quiet() {
    // Every rule has a case where it fires (exp_labels under it; the expected alerts are the
    // whole list, so the other account of that input is checked quiet) and one where nothing
    // fires (`exp_alerts: []`).
    let tests = std::fs::read_to_string(alerts_dir().join("boxoffice.rules.test.yml")).unwrap();
    let names = alert_names(&rules_text());
    assert!(names.len() >= 7, "{names:?}");
    for name in &names {
        let cases: Vec<&str> = tests
            .split("- eval_time:")
            .filter(|c| c.contains(&format!("alertname: {name}\n")))
            .collect();
        assert!(
            cases.iter().any(|c| c.contains("exp_labels:")),
            "{name} never fires in the unit tests"
        );
        assert!(
            cases.iter().any(|c| c.contains("exp_alerts: []")),
            "{name} has no quiet case in the unit tests"
        );
    }
    let Some((ok, out)) = promtool(
        "promtool_unit_tests_pass_and_every_rule_fires_and_stays_quiet",
        &["test", "rules", "boxoffice.rules.test.yml"],
    ) else {
        return;
    };
    assert!(ok && out.contains("SUCCESS"), "{out}");
}

#[test]
fn the_rules_read_only_series_boxoffice_serves() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(StateStore::open(&dir.path().join("state.sqlite")).unwrap());
    let metrics = Metrics::new(state, false);
    // One account that has run once and made one request: its per-account series exist.
    metrics.record_run("shotgun", "paris", &RunSummary::default(), 1_000);
    metrics.http_request("shotgun", "paris", "200");
    let scrape = metrics.encode().unwrap();
    let served: BTreeSet<&str> = scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let rules = rules_text();
    let used: BTreeSet<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("boxoffice_"))
        .collect();
    assert!(used.len() >= 6, "{used:?}");
    for name in &used {
        assert!(
            served.contains(name),
            "the rules read {name}, which /metrics does not serve:\n{scrape}"
        );
    }
    // The failure statuses are served at 0 from the first run, so the first failure after a
    // start counts in increase() (BoxofficeFailedRuns).
    assert!(
        scrape.contains(
            "boxoffice_sync_runs_total{vendor=\"shotgun\",account=\"paris\",status=\"failed\"} 0"
        ),
        "{scrape}"
    );
}
