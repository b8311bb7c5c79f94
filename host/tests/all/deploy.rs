//! The files in `deploy/`: systemd units that `systemd-analyze verify` accepts, hardened as the
//! README promises, an env sample that documents every variable the config reads, and a .deb
//! layout (`[package.metadata.deb]` + `deploy/debian/`) that installs what the units name.
//! `.ci/deb` builds and installs the real package.

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
        let text = text.replace("/usr/bin/boxoffice", env!("CARGO_BIN_EXE_boxoffice"));
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
            "User=boxoffice",
            "StateDirectory=boxoffice",
            "StateDirectoryMode=0700",
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

/// `[package.metadata.deb]` of host/Cargo.toml: (source relative to host/, destination).
fn deb_assets() -> (toml::Table, Vec<(String, String)>) {
    let manifest: toml::Table =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
    let deb = manifest["package"]["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb]")
        .clone();
    let assets = deb["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_array().unwrap();
            (
                a[0].as_str().unwrap().to_string(),
                a[1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (deb, assets)
}

/// Where the package puts `source` (a file, or a file a `dir/*` or `dir/*.ext` asset matches).
fn installed_path(assets: &[(String, String)], source: &Path) -> Option<String> {
    let host = Path::new(env!("CARGO_MANIFEST_DIR"));
    assets.iter().find_map(|(src, dest)| {
        let name = source.file_name()?.to_str()?;
        let matches = match src.rsplit_once('/') {
            Some((dir, pattern)) if pattern.contains('*') => {
                let (prefix, suffix) = pattern.split_once('*').unwrap();
                host.join(dir).canonicalize().ok()? == source.parent()?.canonicalize().ok()?
                    && name.starts_with(prefix)
                    && name.ends_with(suffix)
            }
            _ => host.join(src).canonicalize().ok()? == source.canonicalize().ok()?,
        };
        matches.then(|| {
            if dest.ends_with('/') {
                format!("/{dest}{name}")
            } else {
                format!("/{dest}")
            }
        })
    })
}

fn unit_value<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_package_installs_what_the_units_name() {
    let (deb, assets) = deb_assets();
    let binary = assets
        .iter()
        .find(|(src, _)| src == "target/release/boxoffice")
        .map(|(_, dest)| format!("/{dest}boxoffice"))
        .expect("the binary is an asset");
    let env_file = installed_path(&assets, &deploy_dir().join("boxoffice.env.sample"))
        .filter(|p| p.starts_with("/etc/"))
        .expect("the env sample is installed under /etc (a conffile)");
    let scripts =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(deb["maintainer-scripts"].as_str().unwrap());
    let postinst = std::fs::read_to_string(scripts.join("postinst")).unwrap();
    for name in [
        "boxoffice.service",
        "boxoffice-sync.service",
        "boxoffice-sync.timer",
    ] {
        let path = deploy_dir().join(name);
        let installed =
            installed_path(&assets, &path).unwrap_or_else(|| panic!("{name} not packaged"));
        assert_eq!(installed, format!("/usr/lib/systemd/system/{name}"));
        let unit = std::fs::read_to_string(&path).unwrap();
        if name.ends_with(".timer") {
            continue;
        }
        let exec = unit_value(&unit, "ExecStart");
        let words: Vec<&str> = exec[0].split_whitespace().collect();
        assert_eq!(
            words[0], binary,
            "{name}: ExecStart is not the packaged binary"
        );
        let envfile = words
            .iter()
            .position(|w| *w == "--envfile")
            .map(|i| words[i + 1]);
        assert_eq!(envfile, Some(env_file.as_str()), "{name}: --envfile");
        for doc in unit_value(&unit, "Documentation") {
            let doc = doc.strip_prefix("file://").unwrap();
            let readme = installed_path(&assets, &deploy_dir().join("../README.md"));
            assert_eq!(
                readme.as_deref(),
                Some(doc),
                "{name}: Documentation= not packaged"
            );
        }
        let user = unit_value(&unit, "User")[0];
        let group = unit_value(&unit, "Group")[0];
        let state = format!("/var/lib/{}", unit_value(&unit, "StateDirectory")[0]);
        let cache = format!("/var/cache/{}", unit_value(&unit, "CacheDirectory")[0]);
        assert!(
            postinst.contains(&format!("groupadd --system {group}")),
            "{name}: group {group}"
        );
        assert!(
            postinst.contains(&format!("--home-dir {state}"))
                && postinst.contains(&format!("{user}\n")),
            "{name}: postinst does not create the user {user} with home {state}"
        );
        for dir in [&state, &cache] {
            assert!(
                postinst.contains(&format!("install -d -o {user} -g {group} -m 0700 {dir}\n")),
                "{name}: postinst does not make {dir} 0700 {user}:{group}"
            );
        }
        for cred in unit_value(&unit, "LoadCredential") {
            let (_, file) = cred.split_once(':').unwrap();
            assert!(
                file.starts_with("/etc/boxoffice/credentials/"),
                "{name}: {cred}"
            );
        }
        assert!(postinst.contains(&format!(
            "install -d -o root -g {group} -m 0750 /etc/boxoffice/credentials\n"
        )));
    }
    // Every alert rule file, dashboard and provisioning file is packaged.
    let mut pending = vec![deploy_dir().join("alerts"), deploy_dir().join("grafana")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let installed = installed_path(&assets, &path)
                .unwrap_or_else(|| panic!("{} is not packaged", path.display()));
            assert!(
                installed.starts_with("/usr/share/boxoffice/"),
                "{installed}"
            );
        }
    }
    // Every asset's source exists (a renamed file must not slip out of the package silently).
    for (src, _) in &assets {
        if src.starts_with("target/") {
            continue;
        }
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
        let dir = if src.contains('*') {
            path.parent().unwrap()
        } else {
            &path
        };
        assert!(dir.exists(), "asset {src} does not exist");
    }
}

#[test]
fn maintainer_scripts_are_executable_posix_sh() {
    use std::os::unix::fs::PermissionsExt;
    let dir = deploy_dir().join("debian");
    for name in ["postinst", "prerm", "postrm"] {
        let path = dir.join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "{name} is not executable");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("#!/bin/sh\n") && text.contains("\nset -e\n"),
            "{name}"
        );
        let out = Command::new("sh").arg("-n").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Issue 18 item 5: the product's normal dependencies without default features hold neither the
/// simulators nor a natively compiled connector (`cargo tree -p boxoffice --no-default-features
/// -e normal`): each such dependency of host/Cargo.toml is optional and enabled only by a
/// feature, and the crates it always depends on from the workspace reach none of them either.
#[test]
fn the_product_without_default_features_has_no_simulator_or_native_connector() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |p: &Path| -> toml::Table {
        toml::from_str(&std::fs::read_to_string(p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let forbidden = |name: &str| name == "boxoffice-sim" || name.starts_with("boxoffice-plugin-");
    let workspace = read(&root.join("Cargo.toml"));
    let ws_deps = workspace["workspace"]["dependencies"].as_table().unwrap();
    // Follows the always-on path dependencies of one manifest; returns offenders as "crate → dep".
    fn walk(
        manifest: &Path,
        ws_deps: &toml::Table,
        root: &Path,
        forbidden: &dyn Fn(&str) -> bool,
        read: &dyn Fn(&Path) -> toml::Table,
        out: &mut Vec<String>,
    ) {
        let m = read(manifest);
        let name = m["package"]["name"].as_str().unwrap().to_string();
        let Some(deps) = m.get("dependencies").and_then(|d| d.as_table()) else {
            return;
        };
        for (dep, spec) in deps {
            if spec.get("optional").and_then(|o| o.as_bool()) == Some(true) {
                continue;
            }
            if forbidden(dep) {
                out.push(format!("{name} → {dep} ({})", manifest.display()));
                continue;
            }
            let path = spec
                .get("path")
                .and_then(|p| p.as_str())
                .map(|p| manifest.parent().unwrap().join(p))
                .or_else(|| {
                    let w = ws_deps.get(dep.as_str())?;
                    w.get("path").and_then(|p| p.as_str()).map(|p| root.join(p))
                });
            if let Some(dir) = path {
                walk(&dir.join("Cargo.toml"), ws_deps, root, forbidden, read, out);
            }
        }
    }
    let host = root.join("host/Cargo.toml");
    let mut offenders = Vec::new();
    walk(&host, ws_deps, &root, &forbidden, &read, &mut offenders);
    assert!(
        offenders.is_empty(),
        "always-on dependencies the product must not have: {offenders:?}"
    );
    // The optional ones are switched on only by `demo`, and only the simulators are.
    let m = read(&host);
    let features = m["features"]
        .as_table()
        .expect("host/Cargo.toml has [features]");
    assert_eq!(
        features["default"].as_array().unwrap(),
        &[toml::Value::from("demo")]
    );
    for (feature, enables) in features {
        for e in enables.as_array().unwrap() {
            let e = e.as_str().unwrap();
            let dep = e.trim_start_matches("dep:").split('/').next().unwrap();
            if forbidden(dep) {
                assert!(
                    feature == "demo" && dep == "boxoffice-sim",
                    "feature `{feature}` of host/Cargo.toml enables `{e}`"
                );
            }
        }
    }
}
