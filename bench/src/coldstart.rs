//! Cold start of the daemon: from `exec` of `boxoffice run` to the first `200` from
//! `/metrics`, configured as an operator would (environment only) against a small Shotgun
//! simulator, with a fresh state directory each time. The first start fills the plugin cache
//! (it compiles the bundled components); the second is the one with the cache warm.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

#[derive(Debug, Clone, Copy)]
pub struct ColdStart {
    /// The first start, with an empty plugin cache.
    pub empty_cache: Duration,
    /// The second start, with the cache the first one filled.
    pub warm_cache: Duration,
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// SIGTERM, then wait (at most 30 s, then SIGKILL); the exit status must be success.
pub async fn terminate(mut child: Child, what: &str) -> anyhow::Result<()> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("{what} exited with {status} after SIGTERM");
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} did not stop within 30 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The last lines of a log file, for error messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

pub async fn cold_start(exe: &Path, scratch: &Path, cache_dir: &Path) -> anyhow::Result<ColdStart> {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 300,
        start_ms: boxoffice::clock::now_ms() - 5 * 60_000,
        ..Default::default()
    });
    let srv = sim.spawn().await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let mut times = Vec::new();
    for i in 0..2 {
        let port = free_port()?;
        let state = scratch.join(format!("coldstart-{i}"));
        let log = scratch.join(format!("coldstart-{i}.log"));
        let mut cmd = Command::new(exe);
        cmd.arg("run")
            .env_clear()
            .env("SHOTGUN_TOKEN", sim.token())
            .env("SHOTGUN_ORGANIZER_ID", sim.organizer_id().to_string())
            .env("SHOTGUN_BASE_URL", srv.base_url())
            .env("SHOTGUN_EVENTS_BASE_URL", srv.base_url())
            .env("BOXOFFICE_STATE_DIR", &state)
            .env("BOXOFFICE_CACHE_DIR", cache_dir)
            .env("EXPORTER_PORT", port.to_string())
            .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?);
        let url = format!("http://127.0.0.1:{port}/metrics");
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {} run", exe.display()))?;
        let deadline = started + Duration::from_secs(120);
        let took = loop {
            if let Ok(r) = client.get(&url).send().await {
                if r.status() == 200 {
                    break started.elapsed();
                }
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "`boxoffice run` exited with {status} before /metrics answered:\n{}",
                    tail(&log)
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "`boxoffice run`: /metrics did not answer within 120 s:\n{}",
                    tail(&log)
                );
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        terminate(child, "`boxoffice run`")
            .await
            .with_context(|| tail(&log))?;
        times.push(took);
    }
    srv.shutdown().await;
    Ok(ColdStart {
        empty_cache: times[0],
        warm_cache: times[1],
    })
}
