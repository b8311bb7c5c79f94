//! The Grafana provisioning files under `deploy/grafana/provisioning/` against the dashboards
//! beside them: every datasource a dashboard panel, target or variable refers to — directly by
//! uid, or through a `datasource`-type variable — is provided by a provisioned datasource of
//! the same type, the default datasource is one the dashboards open with, and the dashboard
//! provider reads the folder the README installs the dashboards into. (No Grafana package
//! exists here, so the files are checked as data.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn grafana_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana")
}

fn yaml(rel: &str) -> Yaml {
    let path = grafana_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // Grafana expands $VAR and ${VAR} only: a shell-style default would be taken literally.
    assert!(
        !text.contains(":-"),
        "{}: Grafana has no ${{VAR:-default}}",
        path.display()
    );
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .remove(0)
}

/// Every `datasource` value in a dashboard, with where it was found.
fn datasource_refs(v: &serde_json::Value, at: &str, out: &mut Vec<(String, serde_json::Value)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if k == "datasource" {
                    out.push((at.to_string(), x.clone()));
                }
                let title = m.get("title").and_then(|t| t.as_str()).unwrap_or(k);
                datasource_refs(x, &format!("{at}/{title}"), out);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                datasource_refs(x, at, out);
            }
        }
        _ => {}
    }
}

#[test]
fn provisioned_datasources_cover_every_dashboard_reference() {
    let ds = yaml("provisioning/datasources/boxoffice.yml");
    assert_eq!(ds["apiVersion"].as_i64(), Some(1));
    let list = ds["datasources"].as_vec().expect("a datasources list");
    // uid → type, and the types on offer.
    let by_uid: BTreeMap<&str, &str> = list
        .iter()
        .map(|d| (d["uid"].as_str().unwrap(), d["type"].as_str().unwrap()))
        .collect();
    assert_eq!(by_uid.len(), list.len(), "duplicate uids");
    assert_eq!(
        by_uid.get("boxoffice-clickhouse"),
        Some(&"grafana-clickhouse-datasource")
    );
    // No secret in the file: the ClickHouse password comes from Grafana's environment.
    let ch = list
        .iter()
        .find(|d| d["uid"].as_str() == Some("boxoffice-clickhouse"))
        .unwrap();
    assert!(ch["secureJsonData"]["password"]
        .as_str()
        .unwrap()
        .starts_with('$'));
    let defaults: Vec<&Yaml> = list
        .iter()
        .filter(|d| d["isDefault"].as_bool() == Some(true))
        .collect();
    assert_eq!(defaults.len(), 1, "exactly one default datasource");
    let default_type = defaults[0]["type"].as_str().unwrap();

    let mut dashboards = 0;
    for entry in std::fs::read_dir(grafana_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        dashboards += 1;
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let d: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // The dashboard's datasource variables: name → the plugin type they list.
        let vars: BTreeMap<String, String> = d["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["type"] == "datasource")
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_string(),
                    v["query"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for t in vars.values() {
            assert!(
                by_uid.values().any(|p| p == t),
                "{name}: its datasource variable lists `{t}` datasources and none is provisioned"
            );
            // The variable opens on the default datasource when it is of its type.
            assert_eq!(
                t, default_type,
                "{name}: the default datasource is not a `{t}`"
            );
        }
        let mut refs = Vec::new();
        datasource_refs(&d, &name, &mut refs);
        assert!(!refs.is_empty(), "{name} refers to no datasource");
        for (at, r) in refs {
            let ty = r["type"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: {r} has no type"));
            let uid = r["uid"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: {r} has no uid"));
            match uid.strip_prefix("${").and_then(|u| u.strip_suffix('}')) {
                Some(var) => assert_eq!(
                    vars.get(var).map(String::as_str),
                    Some(ty),
                    "{at}: `{uid}` is not a `{ty}` datasource variable of the dashboard"
                ),
                None => assert_eq!(
                    by_uid.get(uid),
                    Some(&ty),
                    "{at}: datasource uid `{uid}` ({ty}) is not provisioned"
                ),
            }
        }
    }
    assert!(
        dashboards >= 2,
        "no dashboards found in {}",
        grafana_dir().display()
    );
}

#[test]
fn the_dashboard_provider_reads_where_the_readme_installs_them() {
    let p = yaml("provisioning/dashboards/boxoffice.yml");
    assert_eq!(p["apiVersion"].as_i64(), Some(1));
    let providers = p["providers"].as_vec().unwrap();
    assert_eq!(providers.len(), 1);
    assert_eq!(providers[0]["type"].as_str(), Some("file"));
    let path = providers[0]["options"]["path"].as_str().unwrap();
    assert!(path.starts_with('/'), "{path}");
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    assert!(
        readme.contains(&format!("{path} deploy/grafana/*.json")),
        "the README does not install the dashboards into {path}"
    );
    assert!(readme.contains("deploy/grafana/provisioning"), "README");
}
