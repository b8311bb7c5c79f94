//! `boxoffice plugins test` through the real binary: passes when the golden file matches,
//! fails with a readable diff when it does not; `--bless` rewrites it.

use std::path::{Path, PathBuf};
use std::process::Command;

use boxoffice::plugin::bundled::test_plugin_path;

fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/plugins/testbed");
    let dir = tempfile::tempdir().unwrap();
    for f in ["context.json", "exchanges.json", "golden.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let p = dir.path().to_path_buf();
    (dir, p)
}

fn plugins_test(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["plugins", "test"])
        .arg(test_plugin_path("testbed"))
        .arg(dir)
        .args(extra)
        .env("BOXOFFICE_CACHE_DIR", dir.join("cache"))
        .output()
        .unwrap()
}

#[test]
fn matching_golden_passes() {
    let (_t, dir) = fixture_copy();
    let out = plugins_test(&dir, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 records"));
}

#[test]
fn differing_golden_fails_with_a_diff_and_bless_repairs_it() {
    let (_t, dir) = fixture_copy();
    let golden = dir.join("golden.json");
    let text = std::fs::read_to_string(&golden).unwrap();
    assert!(text.contains("\"price_minor\": 1000"));
    std::fs::write(
        &golden,
        text.replacen("\"price_minor\": 1000", "\"price_minor\": 999", 1),
    )
    .unwrap();

    let out = plugins_test(&dir, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("differs"), "{stderr}");
    assert!(stderr.contains("-      \"price_minor\": 999,"), "{stderr}");
    assert!(stderr.contains("+      \"price_minor\": 1000,"), "{stderr}");

    let blessed = plugins_test(&dir, &["--bless"]);
    assert!(blessed.status.success());
    assert_eq!(std::fs::read_to_string(&golden).unwrap(), text);
    assert!(plugins_test(&dir, &[]).status.success());
}

#[test]
fn an_unrecorded_request_is_a_clear_error() {
    let (_t, dir) = fixture_copy();
    std::fs::write(dir.join("exchanges.json"), "[]").unwrap();
    let out = plugins_test(&dir, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no recorded response for request #1: GET https://allowed.test/tickets"),
        "{stderr}"
    );
}
