//! The pretix drop-in replayed offline by `boxoffice plugins test` on the fixtures recorded
//! from a live, seeded pretix (`plugins/pretix/fixtures/`, canary PII only): the output equals
//! the golden files, every order state is in them, and the golden records hold no e-mail
//! (buyers are pseudonyms) while the recorded bodies do.

use std::path::{Path, PathBuf};
use std::process::Command;

use boxoffice::plugin::bundled::test_plugin_path;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/pretix/fixtures")
        .join(name)
}

/// A copy of the fixture (so a failing run cannot touch the sources) and `plugins test` on it.
fn replay(name: &str) -> (String, String) {
    let src = fixture(name);
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["plugins", "test"])
        .arg(test_plugin_path("pretix"))
        .arg(dir.path())
        .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{name}: {stdout}\n{stderr}");
    (
        stdout,
        std::fs::read_to_string(src.join("golden.json")).unwrap(),
    )
}

fn statuses(golden: &serde_json::Value) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for r in golden["records"].as_array().unwrap() {
        if let (Some("ticket"), Some(s)) = (r["kind"].as_str(), r["status"].as_str()) {
            *out.entry(s.to_string()).or_default() += 1;
        }
    }
    out
}

#[test]
fn the_first_sync_replays_to_its_golden_file() {
    let (stdout, golden) = replay("first-sync");
    assert!(stdout.contains("186 records"), "{stdout}");
    let g: serde_json::Value = serde_json::from_str(&golden).unwrap();
    let st = statuses(&g);
    for s in ["valid", "pending", "canceled", "refunded"] {
        assert!(st.get(s).is_some_and(|n| *n > 0), "{s}: {st:?}");
    }
    // Full scans by datetime, two pages each, then the overlapping modified_since pass.
    let reqs: Vec<&str> = g["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(
        reqs.iter()
            .filter(|r| r.contains("ordering=datetime"))
            .count(),
        4,
        "{reqs:?}"
    );
    assert_eq!(
        reqs.iter()
            .filter(|r| r.contains("modified_since="))
            .count(),
        2,
        "{reqs:?}"
    );
}

#[test]
fn the_changes_replay_to_their_golden_file() {
    let (stdout, golden) = replay("after-changes");
    assert!(stdout.contains("16 records"), "{stdout}");
    let g: serde_json::Value = serde_json::from_str(&golden).unwrap();
    let st = statuses(&g);
    assert!(st.get("refunded").is_some_and(|n| *n > 0), "{st:?}");
    let reqs = g["requests"].as_array().unwrap();
    assert!(
        reqs.iter()
            .all(|r| !r.as_str().unwrap().contains("ordering=datetime")),
        "not due: incremental only"
    );
}

#[test]
fn recorded_bodies_hold_canary_emails_and_golden_records_none() {
    for name in ["first-sync", "after-changes"] {
        let dir = fixture(name);
        let mut emails = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            let file = p.file_name().unwrap().to_string_lossy().to_string();
            if file == "golden.json" {
                assert!(!text.contains('@'), "{name}/golden.json holds an e-mail");
            } else {
                emails += text.matches("@example.invalid").count();
                // Recorded with `include=`: pretix sent no secret, URL with a secret, phone,
                // address or attendee name.
                for absent in [
                    "\"secret\"",
                    "\"phone\"",
                    "invoice_address",
                    "attendee_name",
                    "CANARY",
                ] {
                    assert!(!text.contains(absent), "{name}/{file} holds {absent}");
                }
            }
        }
        assert!(
            emails > 0,
            "{name}: the recording carries the canary e-mails"
        );
    }
}
