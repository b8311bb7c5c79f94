//! `boxoffice plugins new` through the real binary, as a connector author would use it: the
//! scaffold builds for wasm32-wasip2, its own `cargo test` passes, and the built component
//! passes `boxoffice plugins test` on the sample fixture it ships with. Refusals are clear.
//!
//! The nested cargo builds share `target/template-check` (so a second run is warm).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn boxoffice(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(args)
        .current_dir(cwd)
        .env("BOXOFFICE_CACHE_DIR", cwd.join("cache"))
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `cargo <args>` in `dir`, with the outer build's flags removed (as host/build.rs does).
fn cargo(dir: &Path, args: &[&str]) -> Output {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/template-check");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target);
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}

#[test]
fn a_scaffold_builds_tests_and_passes_its_fixture() {
    let t = tempfile::tempdir().unwrap();
    let out = boxoffice(&["plugins", "new", "demo-tix", "--dir", "demo"], t.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("cargo build --release --target wasm32-wasip2"));
    let dir = t.path().join("demo");
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.contains("const ID: &str = \"demo-tix\";"), "{lib}");

    let native = cargo(&dir, &["test", "--release"]);
    assert!(native.status.success(), "{}", text(&native));

    let wasm = cargo(&dir, &["build", "--release", "--target", "wasm32-wasip2"]);
    assert!(wasm.status.success(), "{}", text(&wasm));
    let component: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/template-check/wasm32-wasip2/release/boxoffice_connector_demo_tix.wasm");
    assert!(component.exists(), "{}", component.display());

    let test = boxoffice(
        &[
            "plugins",
            "test",
            component.to_str().unwrap(),
            dir.join("fixtures/sample").to_str().unwrap(),
        ],
        t.path(),
    );
    assert!(test.status.success(), "{}", text(&test));
    assert!(
        text(&test).contains("(2 requests, 3 records)"),
        "{}",
        text(&test)
    );

    let inspect = boxoffice(
        &["plugins", "inspect", component.to_str().unwrap()],
        t.path(),
    );
    assert!(
        text(&inspect).contains("plugin       demo-tix (Example vendor) 0.1.0"),
        "{}",
        text(&inspect)
    );
}

#[test]
fn an_existing_dir_a_bad_name_or_a_wrong_sdk_is_refused() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("taken")).unwrap();
    let out = boxoffice(&["plugins", "new", "demo", "--dir", "taken"], t.path());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("taken already exists"),
        "{}",
        text(&out)
    );

    let out = boxoffice(&["plugins", "new", "Bad_Name"], t.path());
    assert!(!out.status.success());
    assert!(
        text(&out).contains("connector name `Bad_Name`"),
        "{}",
        text(&out)
    );
    assert!(!t.path().join("Bad_Name").exists());

    let out = boxoffice(&["plugins", "new", "demo", "--sdk-path", "taken"], t.path());
    assert!(!out.status.success());
    assert!(text(&out).contains("--sdk-path"), "{}", text(&out));
    assert!(!t.path().join("demo").exists());
}
