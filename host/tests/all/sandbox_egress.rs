//! Egress is granted by the operator (issue 13, item 1): hostile drop-in connectors — the
//! testbed component with its manifest rewritten in the `.wasm` — against loopback listeners
//! standing in for the hosts they want to reach. A listener counts every connection it
//! accepts; where the attack must fail, the count is 0.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use boxoffice::app::App;
use boxoffice::config::{Config, Vars};
use boxoffice::http::grant::HostVerdict;
use boxoffice::http::host_rules::HostRefusal;
use boxoffice::http::resolver::DnsOverrides;
use boxoffice::http::{EgressGrant, HttpExecutor, OperatorGrants, Provenance, RetryPolicy};
use boxoffice::plugin::admission::RefusalReason;
use boxoffice::plugin::bundled::{self, test_plugin_path};
use boxoffice::plugin::ceilings::{RateSource, MAX_REQUESTS_PER_MINUTE};
use boxoffice::sync::{sync_account, RunOptions, RunSummary};

const TOKEN: &str = "canary-token-7f3a9c2e51";
/// The testbed's patchable manifest area (see `plugins/testbed/src/manifest_patch.rs`).
const MARKER: &[u8] = b"BOXOFFICE-TESTBED-MANIFEST-PATCH:";
const PATCH_LEN: usize = 1024;

/// The testbed component with `json` overriding parts of its manifest.
fn testbed_with_manifest(json: &str) -> Vec<u8> {
    let mut wasm = std::fs::read(test_plugin_path("testbed")).unwrap();
    let at: Vec<usize> = wasm
        .windows(MARKER.len())
        .enumerate()
        .filter(|(_, w)| *w == MARKER)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "the patch marker must occur exactly once");
    let start = at[0] + MARKER.len();
    let room = PATCH_LEN - MARKER.len();
    assert!(json.len() <= room, "patch too long");
    let mut area = json.as_bytes().to_vec();
    area.resize(room, b' ');
    wasm[start..start + room].copy_from_slice(&area);
    wasm
}

/// A loopback HTTP listener that records each request head and answers `200` with body `3`.
struct Listener {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    fn start() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (heads.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                h.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\nconnection: close\r\n\r\n3",
                );
            }
        });
        Self { addr, heads, stop }
    }

    fn connections(&self) -> usize {
        // Give a connection in flight the time to be accepted before counting.
        std::thread::sleep(Duration::from_millis(50));
        self.heads.lock().unwrap().len()
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A state dir, a plugin dir and a token file; the config is written per test.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let s = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(s.plugin_dir()).unwrap();
        std::fs::write(s.dir.path().join("token"), TOKEN).unwrap();
        s
    }

    fn plugin_dir(&self) -> PathBuf {
        self.dir.path().join("plugins")
    }

    /// Writes a drop-in into the plugin directory; returns its canonical path.
    fn drop_in(&self, file: &str, wasm: &[u8]) -> PathBuf {
        let p = self.plugin_dir().join(file);
        std::fs::write(&p, wasm).unwrap();
        std::fs::canonicalize(p).unwrap()
    }

    /// The config: globals with the state and plugin dirs, then `rest` (accounts, pins).
    fn config(&self, rest: &str) -> Result<Config, String> {
        let text = format!(
            "state_dir = {:?}\nplugin_dir = {:?}\n{rest}",
            self.dir.path().join("state"),
            self.plugin_dir()
        );
        let path = self.dir.path().join("boxoffice.toml");
        std::fs::write(&path, text).unwrap();
        let vars = Vars::load(Some(&path), &[]).map_err(|e| e.to_string())?;
        let mut config = Config::from_vars(&vars).map_err(|e| e.to_string())?;
        // `cargo test` exports the build's BOXOFFICE_PLUGIN_DIR (the bundled .wasm files),
        // which would win over the file's key.
        config.plugin_dir = Some(self.plugin_dir());
        Ok(config)
    }

    /// An `[[account]]` of `vendor` holding the token, with `extra` lines.
    fn account(&self, vendor: &str, settings: &str, extra: &str) -> String {
        format!(
            "[[account]]\nvendor = \"{vendor}\"\nname = \"a\"\nsettings = {{ {settings} }}\n\
             secrets = {{ token = {{ file = {:?} }} }}\n{extra}\n",
            self.dir.path().join("token")
        )
    }
}

fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        timeout: Duration::from_secs(5),
        ..Default::default()
    }
}

/// Opens the app with `dns` answers in its HTTP client and runs the first account once.
async fn run_first_account(config: Config, dns: &[(&str, SocketAddr)]) -> RunSummary {
    let mut app = App::open(config).await.unwrap();
    let overrides: BTreeMap<String, Vec<SocketAddr>> =
        dns.iter().map(|(h, a)| (h.to_string(), vec![*a])).collect();
    app.deps.http = HttpExecutor::with_dns(quick_policy(), DnsOverrides::new(overrides)).unwrap();
    let account = app.accounts().unwrap().remove(0);
    sync_account(&app.deps, &account, &RunOptions::default())
        .await
        .unwrap()
}

/// (a) A drop-in names its own host and asks for the account's token there: refused before
/// any connection. The operator's origin, by contrast, gets the request and the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_in_naming_its_own_host_never_gets_the_token_there() {
    let s = Setup::new();
    s.drop_in(
        "rogue.wasm",
        &testbed_with_manifest(
            r#"{"id":"rogue","allowed_hosts":["evil.test"],"secrets":["token"]}"#,
        ),
    );
    let evil = Listener::start();
    let config = s
        .config(&s.account("rogue", r#"mode = "steal-token""#, ""))
        .unwrap();
    let run = run_first_account(config, &[("evil.test", evil.addr)]).await;
    assert_eq!(evil.connections(), 0, "the connector reached its own host");
    assert!(!run.ok(), "{run:?}");
    assert!(
        run.message.contains("https://evil.test")
            && run.message.contains("not granted to connector `rogue`"),
        "{}",
        run.message
    );
    assert!(!run.message.contains(TOKEN));

    // Control: the same listener written out by the operator as an origin is reached, and the
    // token goes there (the listener works; the grant is what stopped the attack).
    let origin = format!("http://{}", evil.addr);
    let config = s
        .config(&s.account(
            "rogue",
            &format!(r#"mode = "steal-token", url = "{origin}/collect""#),
            &format!("extra_origins = [\"{origin}\"]"),
        ))
        .unwrap();
    let run = run_first_account(config, &[]).await;
    assert!(run.ok(), "{run:?}");
    let heads = evil.heads();
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].contains(&format!("Bearer {TOKEN}")),
        "{}",
        heads[0]
    );
}

/// (a') Even granted by name, the token is sent only to granted hosts: a request to another
/// host the manifest names is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_is_bound_to_the_accounts_granted_origins() {
    let s = Setup::new();
    s.drop_in(
        "rogue.wasm",
        &testbed_with_manifest(
            r#"{"id":"rogue","allowed_hosts":["api.vendor.test","evil.test"],"secrets":["token"]}"#,
        ),
    );
    let evil = Listener::start();
    let config = s
        .config(&s.account(
            "rogue",
            r#"mode = "steal-token""#,
            "grant_hosts = [\"api.vendor.test\"]",
        ))
        .unwrap();
    let run = run_first_account(config, &[("evil.test", evil.addr)]).await;
    assert_eq!(
        evil.connections(),
        0,
        "the token went to a host not granted"
    );
    assert!(!run.ok());
    assert!(run.message.contains("not granted"), "{}", run.message);
}

/// (b) A drop-in whose id is `shotgun` is refused (the bundled connector keeps the id and its
/// hosts); named in the config, it is accepted — as a drop-in, granted nothing by shipping;
/// with a wrong SHA-256 pin, refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drop_in_taking_a_bundled_id_is_refused_unless_the_config_names_it() {
    let s = Setup::new();
    let fork = testbed_with_manifest(r#"{"id":"shotgun","allowed_hosts":["api.shotgun.live"]}"#);
    let path = s.drop_in("shotgun-fork.wasm", &fork);
    let fork_sha = boxoffice::plugin::cache::sha256_hex(&fork);
    let bundled_sha = boxoffice::plugin::cache::sha256_hex(bundled::SHOTGUN.wasm);

    let app = App::open(s.config("").unwrap()).await.unwrap();
    assert_eq!(app.plugins["shotgun"].sha256, bundled_sha);
    assert_eq!(app.provenance["shotgun"], Provenance::Bundled);
    assert_eq!(app.refused.len(), 1, "{:?}", app.refused);
    let msg = app.refused[0].to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("the bundled `shotgun` connector"), "{msg}");
    drop(app);

    let named = format!("[plugins.shotgun]\nfile = {:?}\n", path);
    let config = s
        .config(&format!(
            "{named}{}",
            s.account("shotgun", r#"organizer_id = "1""#, "")
        ))
        .unwrap();
    let app = App::open(config).await.unwrap();
    assert_eq!(app.plugins["shotgun"].sha256, fork_sha);
    assert_eq!(app.provenance["shotgun"], Provenance::DropIn);
    assert!(matches!(
        app.refused[0].reason,
        RefusalReason::NotTheConfiguredFile { .. }
    ));
    // Taking the id does not take the bundled connector's hosts (nor its token's reach).
    let account = app.accounts().unwrap().remove(0);
    assert!(account.egress.granted_hosts().is_empty());
    assert!(account
        .egress
        .check(&"https://api.shotgun.live/tickets".parse().unwrap())
        .is_err());
    drop(app);

    let wrong = "0".repeat(64);
    let config = s.config(&format!("{named}sha256 = \"{wrong}\"\n")).unwrap();
    let app = App::open(config).await.unwrap();
    assert!(
        !app.plugins.contains_key("shotgun"),
        "a mismatched pin must refuse the id"
    );
    let msg = app
        .refused
        .iter()
        .find(|r| matches!(r.reason, RefusalReason::Sha256Mismatch { .. }))
        .expect("a SHA-256 refusal")
        .to_string();
    assert!(msg.contains("`shotgun`"), "{msg}");
    assert!(msg.contains(&wrong[..12]), "expected hash prefix: {msg}");
    assert!(msg.contains(&fork_sha[..12]), "found hash prefix: {msg}");
}

/// (b') Two drop-ins claiming one id both lose it; the right pin admits the bundled one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rival_drop_ins_lose_the_id_and_a_matching_pin_admits() {
    let s = Setup::new();
    let a = s.drop_in("a.wasm", &testbed_with_manifest(r#"{"id":"vendor-x"}"#));
    let b = s.drop_in(
        "b.wasm",
        &testbed_with_manifest(r#"{"id":"vendor-x","allowed_hosts":["x.example"]}"#),
    );
    let bundled_sha = boxoffice::plugin::cache::sha256_hex(bundled::QTICKETS.wasm);
    let config = s
        .config(&format!("[plugins.qtickets]\nsha256 = \"{bundled_sha}\"\n"))
        .unwrap();
    let app = App::open(config).await.unwrap();
    assert!(!app.plugins.contains_key("vendor-x"));
    assert!(app.plugins.contains_key("qtickets"));
    let msgs: Vec<String> = app.refused.iter().map(|r| r.to_string()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    for m in &msgs {
        assert!(
            m.contains(&a.display().to_string()) && m.contains(&b.display().to_string()),
            "{m}"
        );
    }
}

/// (c) Manifest hosts that are IP literals, loopback names or wildcards wider than one
/// registrable domain are refused — also for a bundled connector, and the operator cannot
/// grant them by name (only as an explicit origin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_hosts_that_are_ips_loopback_or_wide_wildcards_are_refused() {
    let s = Setup::new();
    let hosts = r#"["localhost","169.254.169.254","*.com","*.co.uk","[::1]","api.fine.example"]"#;
    s.drop_in(
        "odd.wasm",
        &testbed_with_manifest(&format!(r#"{{"id":"odd","allowed_hosts":{hosts}}}"#)),
    );
    let config = s
        .config(&s.account(
            "odd",
            r#"mode = "steal-token", url = "https://169.254.169.254/latest/meta-data/""#,
            "grant_hosts = [\"api.fine.example\"]",
        ))
        .unwrap();
    let app = App::open(config).await.unwrap();
    let account = app.accounts().unwrap().remove(0);
    let verdicts: Vec<&HostVerdict> = account
        .egress
        .requested()
        .iter()
        .map(|r| &r.verdict)
        .collect();
    assert!(matches!(
        verdicts[0],
        HostVerdict::Refused(HostRefusal::Localhost(_))
    ));
    assert!(matches!(
        verdicts[1],
        HostVerdict::Refused(HostRefusal::IpLiteral(_))
    ));
    assert!(matches!(
        verdicts[2],
        HostVerdict::Refused(HostRefusal::WideWildcard(_))
    ));
    assert!(matches!(
        verdicts[3],
        HostVerdict::Refused(HostRefusal::WideWildcard(_))
    ));
    assert!(matches!(
        verdicts[4],
        HostVerdict::Refused(HostRefusal::IpLiteral(_))
    ));
    assert_eq!(verdicts[5], &HostVerdict::GrantedByOperator);

    // Shipping it would not help: the rules hold for bundled manifests too.
    let shipped = EgressGrant::new(
        &app.plugins["odd"].manifest,
        Provenance::Bundled,
        &OperatorGrants::default(),
    )
    .unwrap();
    assert_eq!(shipped.granted_hosts(), ["api.fine.example"]);
    for u in [
        "https://localhost/",
        "https://169.254.169.254/latest/meta-data/",
        "https://anything.com/",
        "https://bank.co.uk/",
        "https://[::1]/",
    ] {
        assert!(shipped.check(&u.parse().unwrap()).is_err(), "{u}");
    }

    // The metadata request is refused before any connection.
    let mut app = app;
    app.deps.http = HttpExecutor::new(quick_policy()).unwrap();
    let run = sync_account(&app.deps, &account, &RunOptions::default())
        .await
        .unwrap();
    assert!(!run.ok());
    assert!(
        run.message.contains("https://169.254.169.254") && run.message.contains("not granted"),
        "{}",
        run.message
    );

    // Granting such a host by name is a configuration error naming the key.
    for bad in ["localhost", "169.254.169.254", "*.com"] {
        let e = s
            .config(&s.account("odd", "", &format!("grant_hosts = [\"{bad}\"]")))
            .unwrap_err();
        assert!(e.contains("grant_hosts") && e.contains(bad), "{e}");
    }
}

/// (d) A granted *name* that resolves to loopback is refused at connect time: the check is
/// on the resolved address, so no connection reaches the listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_name_resolving_to_loopback_is_refused_at_connect() {
    let s = Setup::new();
    s.drop_in(
        "resolv.wasm",
        &testbed_with_manifest(
            r#"{"id":"resolv","allowed_hosts":["api.vendor.test"],"secrets":["token"]}"#,
        ),
    );
    let inside = Listener::start();
    let config = s
        .config(&s.account(
            "resolv",
            r#"mode = "steal-token", url = "https://api.vendor.test/collect""#,
            "grant_hosts = [\"api.vendor.test\"]",
        ))
        .unwrap();
    let run = run_first_account(config, &[("api.vendor.test", inside.addr)]).await;
    assert_eq!(inside.connections(), 0, "a granted name reached loopback");
    assert!(!run.ok(), "{run:?}");
    assert!(
        run.message
            .contains("`api.vendor.test` resolves to a loopback address"),
        "{}",
        run.message
    );

    // The operator writing the origin out (a simulator's way) may reach it, by name too.
    let origin = format!("http://sim.vendor.test:{}", inside.addr.port());
    let config = s
        .config(&s.account(
            "resolv",
            &format!(r#"mode = "steal-token", url = "{origin}/collect""#),
            &format!("extra_origins = [\"{origin}\"]"),
        ))
        .unwrap();
    let run = run_first_account(config, &[("sim.vendor.test", inside.addr)]).await;
    assert!(run.ok(), "{run:?}");
    assert_eq!(inside.connections(), 1);
}

/// A manifest cannot ask for "unlimited"; the operator lowers, never raises, a connector's
/// rate; the global override (simulators, tests) still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_cannot_ask_for_unlimited_requests() {
    let s = Setup::new();
    s.drop_in(
        "greedy.wasm",
        &testbed_with_manifest(
            r#"{"id":"greedy","max_requests_per_minute":0,"default_interval_secs":1}"#,
        ),
    );
    let app = App::open(s.config("").unwrap()).await.unwrap();
    let r = app.rates["greedy"];
    assert_eq!(
        (r.per_minute, r.source),
        (MAX_REQUESTS_PER_MINUTE, RateSource::ManifestClamped)
    );
    assert_eq!(app.rates["shotgun"].per_minute, 60);
    drop(app);

    let app = App::open(
        s.config("[plugins.greedy]\nmax_requests_per_minute = 6000\n[plugins.shotgun]\nmax_requests_per_minute = 10\n")
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(app.rates["greedy"].per_minute, MAX_REQUESTS_PER_MINUTE);
    assert_eq!(
        (app.rates["shotgun"].per_minute, app.rates["shotgun"].source),
        (10, RateSource::Operator)
    );
    drop(app);

    let app = App::open(s.config("max_requests_per_minute = 0\n").unwrap())
        .await
        .unwrap();
    assert_eq!(
        (app.rates["greedy"].per_minute, app.rates["greedy"].source),
        (0, RateSource::GlobalOverride)
    );
    assert_eq!(
        boxoffice::plugin::ceilings::sync_interval(
            app.plugins["greedy"].manifest.default_interval_secs,
            None
        ),
        Duration::from_secs(60)
    );
}

/// `plugins inspect` shows what a connector asks for and what the config grants it.
#[test]
fn plugins_inspect_shows_requests_and_grants() {
    let s = Setup::new();
    let path = s.drop_in(
        "rogue.wasm",
        &testbed_with_manifest(
            r#"{"id":"rogue","allowed_hosts":["api.vendor.test","evil.test","*.com"],"secrets":["token"],"max_requests_per_minute":0}"#,
        ),
    );
    s.config(&s.account("rogue", "", "grant_hosts = [\"api.vendor.test\"]"))
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["plugins", "inspect"])
        .arg(&path)
        .arg("--config")
        .arg(s.dir.path().join("boxoffice.toml"))
        .env_remove("BOXOFFICE_CONFIG")
        .env_remove("BOXOFFICE_PLUGIN_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "source       drop-in",
        "asks for     hosts api.vendor.test, evil.test, *.com; secrets token",
        &format!("budget       {MAX_REQUESTS_PER_MINUTE} requests/min (clamped"),
        "account a    granted hosts api.vendor.test; origins none",
        "host       api.vendor.test: granted (grant_hosts)",
        "host       evil.test: NOT granted",
        "host       *.com: REFUSED: `*.com` is wider than one registrable domain",
        "secret     token: configured",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains(TOKEN));
}
