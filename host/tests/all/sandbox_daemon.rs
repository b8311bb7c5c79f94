//! The sandbox in the daemon: hostile drop-in connectors on some accounts, Shotgun and QTickets
//! on others, one `boxoffice run` process. The good accounts' figures equal the simulators'
//! truth, the host's peak RSS stays under 256 MB, `promtool check metrics` has nothing to say
//! about `/metrics`,
//! and a loopback listener standing in for hosts nobody granted never sees a connection.
//!
//! To see what one attack adds to the peak, `BOXOFFICE_TEST_HOSTILE_ONLY=bomb,fanout` keeps only
//! the named hostile accounts (`none`: Shotgun and QTickets alone); unset, all of them run.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxoffice::plugin::bundled::test_plugin_path;
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use boxoffice_testkit::free_port;

/// The hostile accounts: (account, testbed mode). Each one's every run must fail.
const HOSTILE: [(&str, &str); 11] = [
    ("bomb", "memory-bomb"),
    ("spin", "loop"),
    ("reach", "reach"),
    ("steal", "steal-token"),
    ("exfil", "exfil-query"),
    ("garble", "garbled-records"),
    ("fanout", "fan-out"),
    ("decode", "decode-bomb"),
    ("records", "record-bomb"),
    ("bytes", "bytes-bomb"),
    ("panic", "panic"),
];

/// Peak RSS the daemon may reach with every hostile account at work (issue 13).
const PEAK_RSS_LIMIT_KB: u64 = 256 * 1024;

/// A loopback listener that only counts the connections it accepts (and reads what comes, so
/// a sender does not block): nothing granted it, so the count must stay 0.
fn trap_listener() -> (u16, Arc<AtomicU64>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = Arc::new(AtomicU64::new(0));
    let count = seen.clone();
    std::thread::spawn(move || {
        for stream in l.incoming() {
            count.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut s) = stream {
                let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
            }
        }
    });
    (port, seen)
}

fn sum_of(metrics: &str, family: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap())
        .sum()
}

/// VmHWM (peak resident set) of a process, in kB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_connectors_fail_their_own_runs_and_nothing_else() {
    let shotgun = ShotgunSim::new(ShotgunConfig {
        tickets: 3_000,
        ..Default::default()
    });
    let sg = shotgun.spawn().await.unwrap();
    let qtickets = QticketsSim::new(QticketsConfig {
        orders: 1_500,
        ..Default::default()
    });
    let qt = qtickets.spawn().await.unwrap();
    let (trap_port, trap_seen) = trap_listener();
    let trap = format!("127.0.0.1:{trap_port}");
    // The hostile accounts' own vendor, an origin the operator wrote out, so attacks made while
    // handling a page get their page: a buyer to smuggle out on `/page`, "3" elsewhere.
    let router = axum::Router::new()
        .route(
            "/page",
            axum::routing::get(|| async { r#"{"buyer":"canary.name@example.invalid"}"# }),
        )
        .fallback(|| async { "3" });
    let vendor = boxoffice_sim::SimServer::start(router, 0).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(test_plugin_path("testbed"), plugins.join("testbed.wasm")).unwrap();
    std::fs::write(dir.path().join("sg"), shotgun.token()).unwrap();
    std::fs::write(dir.path().join("qt"), qtickets.token()).unwrap();
    std::fs::write(dir.path().join("stolen"), "CANARY-HOSTILE-ACCOUNT-TOKEN").unwrap();
    let port = free_port();
    // Every hostile account names the trap as where it wants to go; none grants it.
    let hostile = |name: &str, mode: &str| {
        format!(
            r#"
[[account]]
vendor = "testbed"
name = "{name}"
interval_secs = 1
settings = {{ mode = "{mode}", base_url = "{vendor}", addr = "{trap}", targets = "http://{trap}/steal,https://{trap}/steal,http://localhost:{trap_port}/steal,https://evil.test/steal", exfil_url = "http://{trap}" }}
secrets = {{ token = {{ file = "{stolen}" }} }}
"#,
            vendor = vendor.base_url(),
            stolen = dir.path().join("stolen").display()
        )
    };
    let mut config = format!(
        r#"
state_dir = "{state}"
listen_port = {port}
plugin_dir = "{plugins}"
max_requests_per_minute = 0
[[account]]
vendor = "shotgun"
name = "sg"
interval_secs = 1
settings = {{ organizer_id = "{org}", base_url = "{sgu}", events_base_url = "{sgu}" }}
secrets = {{ token = {{ file = "{sgtok}" }} }}
[[account]]
vendor = "qtickets"
name = "qt"
interval_secs = 1
settings = {{ base_url = "{qtu}/api/rest/v1" }}
secrets = {{ token = {{ file = "{qttok}" }} }}
"#,
        state = dir.path().join("state").display(),
        plugins = plugins.display(),
        org = shotgun.organizer_id(),
        sgu = sg.base_url(),
        qtu = qt.base_url(),
        sgtok = dir.path().join("sg").display(),
        qttok = dir.path().join("qt").display(),
    );
    let only = std::env::var("BOXOFFICE_TEST_HOSTILE_ONLY").unwrap_or_default();
    let chosen: Vec<(&str, &str)> = HOSTILE
        .iter()
        .copied()
        .filter(|(n, _)| only.is_empty() || only.split(',').any(|o| o == *n))
        .collect();
    for (name, mode) in &chosen {
        config.push_str(&hostile(name, mode));
    }
    let config_path = dir.path().join("boxoffice.toml");
    std::fs::write(&config_path, config).unwrap();

    let log = dir.path().join("daemon.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["run", "--config"])
        .arg(&config_path)
        .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
        .env("BOXOFFICE_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();

    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let want_sg: f64 = shotgun.truth().iter().map(|r| r.sold as f64).sum();
    let want_qt: f64 = qtickets.truth().iter().map(|r| r.tickets as f64).sum();
    let hostile_names: Vec<&str> = chosen.iter().map(|(name, _)| *name).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = String::new();
    let mut done = false;
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{url}/metrics")).send().await {
            last = r.text().await.unwrap();
            let sold = |v, a| {
                sum_of(
                    &last,
                    "boxoffice_tickets_sold_total",
                    &[("vendor", v), ("account", a)],
                )
            };
            // Each hostile account has failed at least twice: the daemon kept scheduling it.
            let failed_twice = hostile_names.iter().all(|a| {
                sum_of(
                    &last,
                    "boxoffice_sync_runs_total",
                    &[("account", a), ("status", "failed")],
                ) >= 2.0
            });
            if sold("shotgun", "sg") == want_sg && sold("qtickets", "qt") == want_qt && failed_twice
            {
                done = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let peak_kb = peak_rss_kb(pid);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        done,
        "figures or hostile runs never converged\n--- metrics ---\n{last}\n--- log tail ---\n{}",
        logs.lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );
    eprintln!("daemon peak RSS: {} MB", peak_kb / 1024);
    assert!(
        peak_kb < PEAK_RSS_LIMIT_KB,
        "daemon peak RSS {} MB ≥ 256 MB",
        peak_kb / 1024
    );
    assert_eq!(
        trap_seen.load(Ordering::SeqCst),
        0,
        "a listener nobody granted was connected to"
    );
    assert!(
        !logs.contains("CANARY-HOSTILE-ACCOUNT-TOKEN"),
        "a secret reached the log"
    );

    // The whole scrape, as a plain HTTP client gets it (the text format promtool reads),
    // passes without a word.
    if !boxoffice_testkit::promtool::installed(
        "hostile_connectors_fail_their_own_runs_and_nothing_else (promtool part)",
    ) {
        return;
    }
    let (passed, said) = boxoffice_testkit::promtool::check_metrics(&last);
    assert!(passed && said.trim().is_empty(), "promtool: {said}");
}
