//! The `boxoffice-bench` binary's command line (this test also makes `cargo test --workspace`
//! build the binary into the target directory, where `boxoffice bench` finds it).

use std::process::Command;

#[test]
fn help_lists_the_parts_and_an_unknown_part_is_refused() {
    let bench = env!("CARGO_BIN_EXE_boxoffice-bench");
    let help = Command::new(bench).arg("--help").output().unwrap();
    let out = String::from_utf8_lossy(&help.stdout);
    assert!(help.status.success(), "{out}");
    assert!(out.contains("--quick") && out.contains("--only"), "{out}");
    let bad = Command::new(bench)
        .args(["--only", "nonsense"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(err.contains("nonsense"), "{err}");
}
