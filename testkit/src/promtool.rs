//! Prometheus's `promtool` (Debian package `prometheus`) as a test oracle for scrapes.
//!
//! Owns: finding it (a missing one is a skip, or a failure under
//! `BOXOFFICE_REQUIRE_SERVERS=1`) and running `promtool check metrics` on a text. It does not
//! own what a test expects of the verdict.

use std::process::{Command, Stdio};

/// Whether promtool runs here; reports the skip (or fails) for `test` when it does not.
pub fn installed(test: &str) -> bool {
    let ok = Command::new("promtool").arg("--version").output().is_ok();
    if !ok {
        crate::skip_or_fail(test, "promtool is not installed (Debian: prometheus)");
    }
    ok
}

/// What `promtool check metrics` says about `scrape` (stdout and stderr together), and
/// whether it passed.
pub fn check_metrics(scrape: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("a temp dir for the scrape");
    let path = dir.path().join("scrape.txt");
    std::fs::write(&path, scrape).expect("writing the scrape");
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&path).expect("reading the scrape back"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("running promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}
