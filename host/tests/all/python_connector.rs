//! The Python pretix connector (`plugins/pretix-py`, componentize-py, WIT 0.3 typed records)
//! replayed by `boxoffice plugins test` on the Rust pretix connector's own fixtures, under
//! the same default limits: it passes the Rust twin's golden files, and the outcome of both
//! components, re-blessed side by side, is the same (requests, cursors, and the same set of
//! tickets and events, pseudonymized buyers included).
//!
//! The component is built by `plugins/pretix-py/build.sh` (`.ci/run` does it before the
//! tests) into `target/plugins/pretix-py.wasm`, or found at `BOXOFFICE_PRETIX_PY_WASM`; when
//! it is absent the tests skip, unless `BOXOFFICE_REQUIRE_SERVERS=1` (then they fail).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use boxoffice::plugin::bundled::test_plugin_path;

/// The built Python component, or `None` after reporting the skip.
fn python_component(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("BOXOFFICE_PRETIX_PY_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/pretix-py.wasm")
        });
    if path.is_file() {
        return Some(path);
    }
    boxoffice_testkit::skip_or_fail(
        test,
        &format!(
            "no Python component at {} (build it with plugins/pretix-py/build.sh)",
            path.display()
        ),
    );
    None
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/pretix/fixtures")
        .join(name)
}

/// A copy of fixture `name` (so a run cannot touch the sources).
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture(name)).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    dir
}

/// One plugin cache for every run here (content-addressed): each component compiles once.
fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-connector-cache")
}

/// `boxoffice plugins test` (with extra args) of `plugin` on `dir`: (success, stdout+stderr).
fn plugins_test(plugin: &Path, dir: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["plugins", "test"])
        .arg(plugin)
        .arg(dir)
        .args(extra)
        .env("BOXOFFICE_CACHE_DIR", shared_cache())
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// What a plugin emits on fixture `name`, re-blessed into a fresh copy.
fn blessed(plugin: &Path, name: &str) -> serde_json::Value {
    let dir = copy_fixture(name);
    let (ok, text) = plugins_test(plugin, dir.path(), &["--bless"]);
    assert!(ok, "{name}: bless with {}: {text}", plugin.display());
    serde_json::from_str(&std::fs::read_to_string(dir.path().join("golden.json")).unwrap()).unwrap()
}

fn record_set(v: &serde_json::Value, kind: &str) -> BTreeSet<String> {
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == kind)
        .map(|r| r.to_string())
        .collect()
}

#[test]
fn the_python_connector_passes_the_rust_twins_golden_files() {
    let Some(py) = python_component("the_python_connector_passes_the_rust_twins_golden_files")
    else {
        return;
    };
    for name in ["first-sync", "after-changes"] {
        let dir = copy_fixture(name);
        let (ok, text) = plugins_test(&py, dir.path(), &[]);
        assert!(ok, "{name}: {text}");
        assert!(text.contains("ok: "), "{name}: {text}");
    }
}

#[test]
fn python_and_rust_components_emit_the_same_records() {
    let Some(py) = python_component("python_and_rust_components_emit_the_same_records") else {
        return;
    };
    let rust = test_plugin_path("pretix");
    for name in ["first-sync", "after-changes"] {
        let (p, r) = (blessed(&py, name), blessed(&rust, name));
        for kind in ["ticket", "event"] {
            let (ps, rs) = (record_set(&p, kind), record_set(&r, kind));
            assert!(!rs.is_empty(), "{name}: the Rust twin emits {kind}s");
            assert_eq!(ps, rs, "{name}: {kind}s differ");
        }
        assert_eq!(p["requests"], r["requests"], "{name}: requests");
        assert_eq!(p["cursors"], r["cursors"], "{name}: cursors");
        assert_eq!(p["rejected"], r["rejected"], "{name}: rejected");
        assert_eq!(p["errors"], r["errors"], "{name}: errors");
    }
}

#[test]
fn the_python_component_is_a_wit_0_3_drop_in_named_pretix_py() {
    let Some(py) = python_component("the_python_component_is_a_wit_0_3_drop_in_named_pretix_py")
    else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["plugins", "inspect"])
        .arg(&py)
        .env("BOXOFFICE_CACHE_DIR", shared_cache())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("pretix-py (pretix)"), "{text}");
    assert!(text.contains("wit          0.3"), "{text}");
    assert!(
        text.contains("boxoffice:connector/connector@0.3"),
        "exports the versioned interface: {text}"
    );
}
