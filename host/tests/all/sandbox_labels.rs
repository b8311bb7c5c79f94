//! Issue 13 item 6 and issue 17 item 4: names that reach `/metrics` cannot break it, names are
//! checked when the config and the plugins load, `plugins test` reads fixture bodies only from
//! the fixture directory, and a live scrape is clean for `promtool check metrics`.
//!
//! Attacks, each refused here and accepted before:
//! - an account name, a connector id and vendor text holding `"`, `\` and a newline in every
//!   family (prometheus-client printed the registered families' label values verbatim: one
//!   such name broke the whole scrape);
//! - `curl …/metrics | promtool check metrics` warned "no help text" for every counter (the
//!   endpoint served OpenMetrics to a reader of the 0.0.4 text format);
//! - `ORG_NAME`, `SHOTGUN_ACCOUNT`, `[[account]] name` with control characters, `[[account]]
//!   vendor` and a connector's manifest id with a quote and a newline were taken as they were;
//! - a fixture's `body_file` naming `../secret`, `/etc/…` or a symbolic link out was read and
//!   fed to the connector.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use boxoffice::config::{Config, Vars};
use boxoffice::http::executor::{AttemptOutcome, RequestObserver};
use boxoffice::model::{Event, Record, Ticket, TicketStatus};
use boxoffice::plugin::bundled::test_plugin_path;
use boxoffice::plugin::{PluginLimits, PluginRuntime};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use common::{qtickets_account, shotgun_account, sync_ok, Pipeline};

/// An account name, a connector id and vendor text that need every escape of the text format.
const NASTY_ACCOUNT: &str = "box \"office\" \\ paris\nsecond line";
const NASTY_ID: &str = "we\"ird\\id\nx";
const NASTY_TEXT: &str = "GA \"front\" \\ row\nB";
/// What `curl` sends.
const CURL_ACCEPT: &str = "*/*";
/// What Prometheus 2.x sends.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

// ---------------------------------------------------------------------------------------------
// A live scrape

/// Serves `p`'s metrics on loopback and scrapes them once with `accept`: (content type, body).
async fn live_scrape(p: &Pipeline, accept: &str) -> (String, String) {
    let health: boxoffice::metrics::server::HealthCheck =
        Arc::new(|| boxoffice::metrics::health::Health::Healthy);
    let addr = boxoffice::metrics::server::serve(
        "127.0.0.1:0".parse().unwrap(),
        p.metrics.clone(),
        health,
    )
    .await
    .unwrap();
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/metrics"))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (ctype, r.text().await.unwrap())
}

/// Both simulators synced into one pipeline, as `boxoffice demo` does.
async fn demo_pipeline(shotgun_name: &str) -> Pipeline {
    let p = Pipeline::new();
    let sg = ShotgunSim::new(ShotgunConfig {
        tickets: 400,
        ..Default::default()
    });
    let sg_srv = sg.spawn().await.unwrap();
    let mut account = shotgun_account(&sg, &sg_srv, &sg.token()).await;
    account.name = shotgun_name.into();
    sync_ok(&p.deps, &account, sg.now_ms()).await;
    let qt = QticketsSim::new(QticketsConfig {
        orders: 150,
        ..Default::default()
    });
    let qt_srv = qt.spawn().await.unwrap();
    let account = qtickets_account(&qt_srv, &qt.token(), &[]).await;
    sync_ok(&p.deps, &account, qt.now_ms()).await;
    p
}

#[tokio::test]
async fn a_live_scrape_after_a_demo_sync_is_silent_under_promtool() {
    let test = "a_live_scrape_after_a_demo_sync_is_silent_under_promtool";
    if !boxoffice_testkit::promtool::installed(test) {
        return;
    }
    let p = demo_pipeline("main").await;
    let (ctype, text) = live_scrape(&p, CURL_ACCEPT).await;
    assert!(text.contains("boxoffice_tickets_sold_total{vendor=\"qtickets\""));
    assert!(text.contains("shotgun_api_requests_total{"));
    let (ok, said) = boxoffice_testkit::promtool::check_metrics(&text);
    assert!(
        ok && said.trim().is_empty(),
        "promtool: {said}\n--- scrape ---\n{text}"
    );
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    // The linter does speak: the same scrape with one family's help removed is not silent.
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("# HELP boxoffice_sync_runs_total"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (_, said) = boxoffice_testkit::promtool::check_metrics(&stripped);
    assert!(said.contains("no help text"), "{said}");
}

/// Every family has a help text, and the two in seconds say so with `# UNIT`; Prometheus still
/// gets OpenMetrics.
#[tokio::test]
async fn every_family_has_help_and_units_are_declared() {
    let p = demo_pipeline("main").await;
    let (ctype, text) = live_scrape(&p, PROMETHEUS_ACCEPT).await;
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(text.ends_with("# EOF\n"));
    let lines: Vec<&str> = text.lines().collect();
    let mut families = 0;
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.strip_prefix("# TYPE ") else {
            continue;
        };
        families += 1;
        let name = rest.split(' ').next().unwrap();
        let help = lines[..i]
            .iter()
            .rev()
            .find_map(|h| h.strip_prefix(&format!("# HELP {name} ")))
            .unwrap_or_else(|| panic!("{name} has no HELP"));
        assert!(help.trim().len() > 3, "{name}: help `{help}`");
    }
    assert!(families >= 20, "{families} families");
    for name in [
        "boxoffice_sync_duration_seconds",
        "boxoffice_sync_last_success_timestamp_seconds",
    ] {
        assert!(
            text.contains(&format!("# UNIT {name} seconds\n")),
            "{name} has no UNIT"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile names in every family

/// One sample: name, label values unescaped, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
}

/// Parses the text format's samples, undoing the escapes of label values.
fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let c: Vec<char> = line.chars().collect();
        let mut i = c.iter().position(|&x| x == '{' || x == ' ').unwrap();
        let name: String = c[..i].iter().collect();
        let mut labels = Vec::new();
        if c[i] == '{' {
            i += 1;
            while c[i] != '}' {
                if c[i] == ',' {
                    i += 1;
                    continue;
                }
                let eq = i + c[i..].iter().position(|&x| x == '=').unwrap();
                let key: String = c[i..eq].iter().collect();
                assert_eq!(c[eq + 1], '"', "{line}");
                i = eq + 2;
                let mut value = String::new();
                while c[i] != '"' {
                    if c[i] == '\\' {
                        i += 1;
                        value.push(match c[i] {
                            'n' => '\n',
                            '\\' => '\\',
                            '"' => '"',
                            other => panic!("unknown escape \\{other} in {line}"),
                        });
                    } else {
                        value.push(c[i]);
                    }
                    i += 1;
                }
                i += 1;
                labels.push((key, value));
            }
        }
        out.push(Sample { name, labels });
    }
    out
}

fn label_values<'a>(s: &'a [Sample], family: &str, label: &str) -> BTreeSet<&'a str> {
    s.iter()
        .filter(|x| x.name == family)
        .flat_map(|x| x.labels.iter())
        .filter(|(k, _)| k == label)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn nasty_ticket(id: u32) -> Ticket {
    Ticket {
        ticket_id: format!("n{id}"),
        order_id: format!("n{id}"),
        event_id: NASTY_TEXT.into(),
        category: NASTY_TEXT.into(),
        channel: NASTY_TEXT.into(),
        status: TicketStatus::Valid,
        price_minor: 1000,
        currency: "EUR".into(),
        ordered_at_ms: 1,
        updated_at_ms: 1,
        utm_source: Some(NASTY_TEXT.into()),
        ..Ticket::BLANK
    }
}

#[tokio::test]
async fn hostile_account_names_ids_and_vendor_text_keep_the_scrape_valid_and_round_trip() {
    let test = "hostile_account_names_ids_and_vendor_text_keep_the_scrape_valid_and_round_trip";
    if !boxoffice_testkit::promtool::installed(test) {
        return;
    }
    // A real sync under the hostile account name: run, request and health families.
    let p = demo_pipeline(NASTY_ACCOUNT).await;
    // Vendor text in the ledger families (event, category, channel, UTM source, event name).
    p.state
        .commit_page(
            "shotgun",
            NASTY_ACCOUNT,
            &[
                Record::Event(Event {
                    event_id: NASTY_TEXT.into(),
                    name: NASTY_TEXT.into(),
                    city: Some(NASTY_TEXT.into()),
                    venue: None,
                    starts_at_ms: None,
                    ends_at_ms: None,
                    canceled_at_ms: None,
                    updated_at_ms: 1,
                }),
                Record::Ticket(nasty_ticket(1)),
            ],
            None,
            1,
        )
        .unwrap();
    // A connector id nothing can load any more (see below), given straight to the counters:
    // the escape holds even where validation is bypassed.
    p.metrics.record_rejected(NASTY_ID, NASTY_ACCOUNT, "pii");
    p.metrics.plugin_trap(NASTY_ID, "panic");
    p.metrics.http_request(NASTY_ID, NASTY_ACCOUNT, "200");
    p.metrics
        .attempt("shotgun", NASTY_TEXT, AttemptOutcome::Status(200));

    let (_, text) = live_scrape(&p, CURL_ACCEPT).await;
    let (ok, said) = boxoffice_testkit::promtool::check_metrics(&text);
    assert!(
        ok && said.trim().is_empty(),
        "promtool: {said}\n--- scrape ---\n{text}"
    );
    // No sample line is split: every line is a comment or starts with a family name.
    for l in text.lines() {
        assert!(
            l.starts_with('#') || l.starts_with("boxoffice_") || l.starts_with("shotgun_"),
            "a label value broke a line: {l:?}"
        );
    }
    let s = samples(&text);
    for family in [
        "boxoffice_sync_runs_total",
        "boxoffice_source_up",
        "boxoffice_sync_duration_seconds",
        "boxoffice_http_requests_total",
        "boxoffice_http_retries_total",
        "boxoffice_records_rejected_total",
        "boxoffice_tickets_sold_total",
        "boxoffice_revenue_total",
        "boxoffice_event_info",
        "boxoffice_tickets_sold_by_channel_total",
    ] {
        assert!(
            label_values(&s, family, "account").contains(NASTY_ACCOUNT),
            "{family}: {:?}",
            label_values(&s, family, "account")
        );
    }
    for family in [
        "boxoffice_records_rejected_total",
        "boxoffice_plugin_traps_total",
        "boxoffice_http_requests_total",
    ] {
        assert!(
            label_values(&s, family, "vendor").contains(NASTY_ID),
            "{family}"
        );
    }
    for (family, label) in [
        ("boxoffice_tickets_sold_total", "category"),
        ("boxoffice_tickets_sold_total", "event_id"),
        ("boxoffice_event_info", "name"),
        ("boxoffice_event_info", "city"),
        ("boxoffice_tickets_sold_by_utm_source_total", "utm_source"),
        ("boxoffice_tickets_sold_by_channel_total", "channel"),
        ("shotgun_api_requests_total", "endpoint"),
        ("shotgun_tickets_sold_total", "ticket_title"),
    ] {
        assert!(
            label_values(&s, family, label).contains(NASTY_TEXT),
            "{family} {label}: {:?}",
            label_values(&s, family, label)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Names checked when the config loads

fn config_error(pairs: &[(&str, &str)]) -> String {
    Config::from_vars(&Vars::from_pairs(pairs.iter().copied()))
        .map(|c| format!("accepted: {:?}", c.accounts))
        .unwrap_or_else(|e| e.to_string())
}

#[test]
fn account_names_from_the_environment_are_checked_and_the_key_named() {
    let qtickets = [("QTICKETS_TOKEN", "qt-canary-token")];
    for (key, bad) in [
        ("ORG_NAME", "Org\nFAKE log line"),
        ("QTICKETS_ACCOUNT", "a\u{202E}gnp.exe"),
        ("QTICKETS_ACCOUNT", &"x".repeat(65)),
    ] {
        let mut pairs = qtickets.to_vec();
        pairs.push((key, bad));
        let e = config_error(&pairs);
        assert!(e.starts_with(&format!("{key}: the account name ")), "{e}");
        assert!(!e.contains(bad), "the error echoes the value: {e}");
        assert!(!e.contains("qt-canary-token"), "{e}");
    }
    let e = config_error(&[
        ("SHOTGUN_TOKEN", "sg-canary-token"),
        ("SHOTGUN_ORGANIZER_ID", "1"),
        ("SHOTGUN_ACCOUNT", "tab\there"),
    ]);
    assert!(
        e.starts_with("SHOTGUN_ACCOUNT: the account name holds U+0009 at character 4"),
        "{e}"
    );
    // Printable names, quotes and backslashes included, are fine: the labels escape them.
    let c = Config::from_vars(&Vars::from_pairs([
        ("QTICKETS_TOKEN", "qt-canary-token"),
        ("ORG_NAME", "Театр \"Глобус\" \\ Новосибирск"),
    ]))
    .unwrap();
    assert_eq!(c.accounts[0].name, "Театр \"Глобус\" \\ Новосибирск");
}

fn file_config(toml: &str) -> Result<Config, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boxoffice.toml");
    std::fs::write(&path, toml).unwrap();
    Vars::load(Some(&path), &[])
        .and_then(|v| Config::from_vars(&v))
        .map_err(|e| e.to_string())
}

#[test]
fn account_names_and_vendors_in_the_config_file_are_checked_and_the_key_named() {
    let accounts = |third_vendor: &str, third_name: &str| {
        format!(
            "[[account]]\nvendor = \"shotgun\"\nname = \"a\"\n\
             [[account]]\nvendor = \"qtickets\"\nname = \"b \\\"quoted\\\"\"\n\
             [[account]]\nvendor = \"{third_vendor}\"\nname = \"{third_name}\"\n"
        )
    };
    let ok = file_config(&accounts("shotgun", "c")).unwrap();
    assert_eq!(ok.accounts[1].name, "b \"quoted\"");
    // TOML escapes: a newline and a zero-width space in the name.
    for bad in ["c\\nFAKE", "c\\u200Bd"] {
        let e = file_config(&accounts("shotgun", bad)).unwrap_err();
        assert!(
            e.starts_with("account[2].name: the account name holds U+"),
            "{e}"
        );
        assert!(!e.contains('\n') && !e.contains('\u{200B}'), "{e:?}");
    }
    let e = file_config(&accounts("Shot\\\"gun\\n", "c")).unwrap_err();
    assert!(
        e.starts_with("account[2].vendor: the connector id must start with a lower-case"),
        "{e}"
    );
    let e = file_config(&accounts("shot gun", "c")).unwrap_err();
    assert!(
        e.starts_with("account[2].vendor: the connector id holds U+0020"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Connector ids checked when a plugin loads

/// The test connector with its manifest id (`testbed`, the bytes just before `Testbed`, its
/// vendor name) replaced by `id`, a string of the same length.
fn testbed_with_id(id: &[u8; 7]) -> Vec<u8> {
    let mut wasm = std::fs::read(test_plugin_path("testbed")).unwrap();
    let at: Vec<usize> = wasm
        .windows(14)
        .enumerate()
        .filter(|(_, w)| *w == b"testbedTestbed")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        at.len(),
        1,
        "the manifest id is not where this test expects it"
    );
    wasm[at[0]..at[0] + 7].copy_from_slice(id);
    wasm
}

#[tokio::test]
async fn a_connector_whose_manifest_id_is_not_a_valid_id_is_refused_naming_the_file() {
    let rt = PluginRuntime::new(PluginLimits::default(), None).unwrap();
    // The patch itself is harmless: a valid id of the same length loads and is used.
    let renamed = rt
        .load("/plugins/renamed.wasm", &testbed_with_id(b"testbe2"))
        .await
        .unwrap();
    assert_eq!(renamed.id(), "testbe2");
    for bad in [b"te\"\nbed", b"Testbed", b"test.bd", b"7estbed"] {
        let e = rt
            .load("/plugins/evil.wasm", &testbed_with_id(bad))
            .await
            .err()
            .unwrap_or_else(|| panic!("{:?} was accepted", String::from_utf8_lossy(bad)))
            .to_string();
        assert!(
            e.starts_with("plugin `/plugins/evil.wasm` could not be loaded: its manifest id "),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Fixture bodies only from inside the fixture directory

/// A copy of the testbed fixture in `root/fixture`, its one exchange answered by `body_file`.
fn fixture_with_body_file(root: &Path, body_file: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/plugins/testbed");
    let dir = root.join("fixture");
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["context.json", "golden.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let exchanges = serde_json::json!([{
        "request": { "method": "GET", "url": "https://allowed.test/tickets" },
        "response": { "status": 200, "body_file": body_file }
    }]);
    std::fs::write(dir.join("exchanges.json"), exchanges.to_string()).unwrap();
    dir
}

fn plugins_test(dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["plugins", "test"])
        .arg(test_plugin_path("testbed"))
        .arg(dir)
        .env("BOXOFFICE_CACHE_DIR", dir.join("cache"))
        .output()
        .unwrap()
}

#[test]
fn fixture_bodies_are_read_only_from_inside_the_fixture_directory() {
    let t = tempfile::tempdir().unwrap();
    // A file outside the fixture the connector would echo: `5` makes the testbed emit 5
    // records, so reading it would show in the replay's output.
    let secret = t.path().join("secret.txt");
    std::fs::write(&secret, "5").unwrap();
    // Each case's fixture is `t/<case>/fixture`, two levels below the secret.
    let mut cases = vec![
        ("../../secret.txt".to_string(), "climbs out"),
        (secret.display().to_string(), "absolute"),
        ("page/../../../secret.txt".to_string(), "climbs out"),
    ];
    #[cfg(unix)]
    cases.push(("link.txt".to_string(), "resolves outside"));
    for (body_file, why) in cases {
        let case = tempfile::tempdir_in(t.path()).unwrap();
        let dir = fixture_with_body_file(case.path(), &body_file);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&secret, dir.join("link.txt")).unwrap();
        let out = plugins_test(&dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{body_file}: {stderr}");
        assert!(
            stderr.contains("exchange #1 (GET https://allowed.test/tickets): response.body_file")
                && stderr.contains(why),
            "{body_file}: {stderr}"
        );
        assert!(!stderr.contains("5 records"), "{stderr}");
    }
    // A body file inside the directory (through a subdirectory and a link within) is read.
    let case = tempfile::tempdir_in(t.path()).unwrap();
    let dir = fixture_with_body_file(case.path(), "bodies/page.txt");
    std::fs::create_dir_all(dir.join("bodies")).unwrap();
    std::fs::write(dir.join("bodies/page.txt"), "2").unwrap();
    let out = plugins_test(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 records"));
}
