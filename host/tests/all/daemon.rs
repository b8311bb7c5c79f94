//! `boxoffice run` as a real process: schedules syncs, serves /metrics and /healthz, and stops
//! cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use boxoffice_testkit::free_port;

fn sold_total(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("boxoffice_tickets_sold_total{"))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap() as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_syncs_serves_metrics_and_stops_on_sigterm() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 1_500,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .arg("run")
        .env("SHOTGUN_TOKEN", sim.token())
        .env("SHOTGUN_ORGANIZER_ID", sim.organizer_id().to_string())
        .env("SHOTGUN_BASE_URL", srv.base_url())
        .env("SHOTGUN_EVENTS_BASE_URL", srv.base_url())
        .env("SCRAPE_INTERVAL", "1")
        .env("EXPORTER_PORT", port.to_string())
        .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0")
        .env("BOXOFFICE_STATE_DIR", dir.path().join("state"))
        .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let want: u64 = sim.truth().iter().map(|r| r.sold).sum();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = 0;
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{url}/metrics")).send().await {
            got = sold_total(&r.text().await.unwrap());
            if got == want {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(got, want, "/metrics never matched the simulator");
    // Changes in the simulator show up on the next scheduled sync.
    sim.advance(60);
    let want2: u64 = sim.truth().iter().map(|r| r.sold).sum();
    assert_ne!(want, want2);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && got != want2 {
        got = sold_total(
            &client
                .get(format!("{url}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(got, want2);
    let health = client.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "{}", health.text().await.unwrap());

    let stopping = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        stopping.elapsed() < Duration::from_secs(25),
        "shutdown took {:?}",
        stopping.elapsed()
    );
}

fn vendor_sold(metrics: &str, vendor: &str, account: &str) -> u64 {
    let want = [
        format!("vendor=\"{vendor}\""),
        format!("account=\"{account}\""),
    ];
    metrics
        .lines()
        .filter(|l| l.starts_with("boxoffice_tickets_sold_total{"))
        .filter(|l| want.iter().all(|w| l.contains(w.as_str())))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap() as u64)
        .sum()
}

fn start_daemon(config: &std::path::Path, dir: &std::path::Path, life: u32) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["run", "--config"])
        .arg(config)
        .env("BOXOFFICE_CACHE_DIR", dir.join("cache"))
        .env("BOXOFFICE_LOG_FORMAT", "json")
        // The revoked account's token, given to the daemon only (not set in the test process,
        // which the other tests of this binary share).
        .env("REVOKED_TOKEN_FOR_TEST", "CANARY-REVOKED-TOKEN")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("daemon-{life}.log"))).unwrap())
        .spawn()
        .unwrap()
}

async fn sigterm_and_wait(child: std::process::Child) -> Duration {
    let stopping = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut child = child;
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    stopping.elapsed()
}

/// Several accounts from a TOML file: two Shotgun organisers (one with a revoked token) and a
/// big QTickets account. SIGTERM lands in the middle of the QTickets sync; after a restart
/// every good account's figures equal the truth, the bad one is reported, nothing doubles.
#[tokio::test(flavor = "multi_thread")]
async fn accounts_fail_independently_and_a_sigterm_mid_sync_loses_nothing() {
    use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
    let shotgun = ShotgunSim::new(ShotgunConfig {
        tickets: 1_000,
        ..Default::default()
    });
    let sg = shotgun.spawn().await.unwrap();
    let qtickets = QticketsSim::new(QticketsConfig {
        orders: 60_000,
        ..Default::default()
    });
    let qt = qtickets.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(dir.path().join("good"), shotgun.token()).unwrap();
    std::fs::write(dir.path().join("qt"), qtickets.token()).unwrap();
    let config = dir.path().join("boxoffice.toml");
    std::fs::write(
        &config,
        format!(
            r#"
state_dir = "{state}"
listen_port = {port}
max_requests_per_minute = 0
[[account]]
vendor = "shotgun"
name = "good"
interval_secs = 1
settings = {{ organizer_id = "{org}", base_url = "{sg}", events_base_url = "{sg}" }}
secrets = {{ token = {{ file = "{good}" }} }}
[[account]]
vendor = "shotgun"
name = "revoked"
interval_secs = 1
settings = {{ organizer_id = "{org}", base_url = "{sg}", events_base_url = "{sg}" }}
secrets = {{ token = {{ env = "REVOKED_TOKEN_FOR_TEST" }} }}
[[account]]
vendor = "qtickets"
name = "big"
interval_secs = 2
settings = {{ base_url = "{qt}/api/rest/v1" }}
secrets = {{ token = {{ file = "{qtok}" }} }}
"#,
            state = dir.path().join("state").display(),
            org = shotgun.organizer_id(),
            sg = sg.base_url(),
            qt = qt.base_url(),
            good = dir.path().join("good").display(),
            qtok = dir.path().join("qt").display(),
        ),
    )
    .unwrap();

    // First life: stopped while the 60,000-order QTickets sync is in flight.
    let child = start_daemon(&config, dir.path(), 1);
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && client.get(format!("{url}/metrics")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = sigterm_and_wait(child).await;
    assert!(took < Duration::from_secs(25), "shutdown took {took:?}");
    let state = rusqlite::Connection::open(dir.path().join("state/state.sqlite")).unwrap();
    let interrupted: i64 = state
        .query_row(
            "SELECT count(*) FROM job_runs WHERE vendor = 'qtickets' AND status = 'ok'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        interrupted, 0,
        "the QTickets sync should still have been in flight"
    );

    // Second life: everything converges.
    let child = start_daemon(&config, dir.path(), 2);
    let want_sg: u64 = shotgun.truth().iter().map(|r| r.sold).sum();
    let want_qt: u64 = qtickets.truth().iter().map(|r| r.tickets).sum();
    let deadline = Instant::now() + Duration::from_secs(90);
    let (mut got_sg, mut got_qt, mut health) = (0, 0, (0u16, String::new()));
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{url}/metrics")).send().await {
            let m = r.text().await.unwrap();
            got_sg = vendor_sold(&m, "shotgun", "good");
            got_qt = vendor_sold(&m, "qtickets", "big");
            let h = client.get(format!("{url}/healthz")).send().await.unwrap();
            health = (h.status().as_u16(), h.text().await.unwrap());
            if got_sg == want_sg && got_qt == want_qt && health.1.contains("shotgun/revoked") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(got_sg, want_sg, "shotgun/good");
    assert_eq!(got_qt, want_qt, "qtickets/big");
    assert_eq!(health.0, 503, "{}", health.1);
    assert!(health.1.contains("shotgun/revoked"), "{}", health.1);
    assert!(!health.1.contains("shotgun/good"), "{}", health.1);
    let metrics = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let up = |account: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("boxoffice_source_up{")
                    && l.contains(&format!("account=\"{account}\""))
            })
            .map(|l| l.rsplit_once(' ').unwrap().1.to_string())
    };
    assert_eq!(up("revoked").as_deref(), Some("0"));
    assert_eq!(up("good").as_deref(), Some("1"));
    let took = sigterm_and_wait(child).await;
    assert!(took < Duration::from_secs(25), "shutdown took {took:?}");

    let failed: i64 = state
        .query_row(
            "SELECT count(*) FROM job_runs WHERE account = 'revoked' AND status = 'failed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(failed >= 1);
    let tickets: i64 = state
        .query_row(
            "SELECT count(*) FROM tickets WHERE vendor = 'qtickets'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        tickets as u64,
        qtickets.basket_count(),
        "one ledger row per ticket"
    );
    // The revoked token never reaches the logs.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "log") {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                !text.contains("CANARY-REVOKED-TOKEN"),
                "token in {}",
                p.display()
            );
            assert!(!text.contains(&shotgun.token()), "token in {}", p.display());
        }
    }
}
