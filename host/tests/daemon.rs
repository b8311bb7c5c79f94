//! `boxoffice run` as a real process: schedules syncs, serves /metrics and /healthz, and stops
//! cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
