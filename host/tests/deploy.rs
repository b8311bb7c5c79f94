//! The files in `deploy/`: systemd units that `systemd-analyze verify` accepts, hardened as the
//! README promises, and an env sample that documents every variable the config reads.

use std::path::Path;
use std::process::Command;

fn deploy_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy"))
}

#[test]
fn systemd_units_verify() {
    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
    else {
        boxoffice_testkit::skip_or_fail("systemd_units_verify", "systemd-analyze not installed");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for name in [
        "boxoffice.service",
        "boxoffice-sync.service",
        "boxoffice-sync.timer",
    ] {
        let text = std::fs::read_to_string(deploy_dir().join(name)).unwrap();
        // verify checks that ExecStart exists: point it at the binary this test built.
        let text = text.replace("/usr/local/bin/boxoffice", env!("CARGO_BIN_EXE_boxoffice"));
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        units.push(path);
    }
    let out = Command::new(analyze)
        .arg("verify")
        .arg("--man=no")
        .args(&units)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("boxoffice")).collect();
    assert!(
        ours.is_empty(),
        "warnings about our units:\n{}",
        ours.join("\n")
    );
}

#[test]
fn units_are_hardened_and_the_timer_runs_every_15_minutes() {
    for name in ["boxoffice.service", "boxoffice-sync.service"] {
        let text = std::fs::read_to_string(deploy_dir().join(name)).unwrap();
        for line in [
            "DynamicUser=yes",
            "StateDirectory=boxoffice",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "PrivateTmp=yes",
            "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
            "SystemCallFilter=@system-service",
            "MemoryMax=",
        ] {
            assert!(text.contains(line), "{name} lacks {line}");
        }
    }
    let daemon = std::fs::read_to_string(deploy_dir().join("boxoffice.service")).unwrap();
    assert!(daemon.contains("Restart=on-failure"));
    let timer = std::fs::read_to_string(deploy_dir().join("boxoffice-sync.timer")).unwrap();
    assert!(timer.contains("OnUnitActiveSec=15min"));
}

#[test]
fn env_sample_documents_every_variable_the_config_reads() {
    let sample = std::fs::read_to_string(deploy_dir().join("boxoffice.env.sample")).unwrap();
    let config =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/config/mod.rs")).unwrap();
    let re = regex::Regex::new(r#""([A-Z][A-Z0-9]*_[A-Z0-9_]+|TZ)""#).unwrap();
    let mut missing = Vec::new();
    for cap in re.captures_iter(&config) {
        let var = &cap[1];
        // Aliases and systemd-provided names are documented beside their main name.
        if matches!(
            var,
            "CREDENTIALS_DIRECTORY"
                | "STATE_DIRECTORY"
                | "QTICKETS_API_BASE_URL"
                | "QTICKETS_API_TOKEN"
                | "SHOTGUN_API_KEY"
                | "QTICKETS_ACCOUNT"
                | "SHOTGUN_ACCOUNT"
        ) {
            continue;
        }
        if !sample.contains(var) {
            missing.push(var.to_string());
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "undocumented in deploy/boxoffice.env.sample: {missing:?}"
    );
}
