//! A throwaway VictoriaMetrics single node (Debian's `victoria-metrics`, 1.79 on these
//! machines) on a loopback port with a temporary data directory, killed on drop.
//!
//! Started with a 100-year retention so tests may write history of any age (the server's
//! default of one month silently drops older samples), no deduplication flag (tests must see
//! what the server really keeps), and any extra flags a test passes (e.g. basic auth).

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::process::{find_binary, free_port, spawn_bound};

/// A server this process started; stopped on drop.
pub struct VictoriaMetricsServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

impl VictoriaMetricsServer {
    /// Starts a server, or `Ok(None)` when no `victoria-metrics` binary is installed.
    pub fn start() -> anyhow::Result<Option<Self>> {
        Self::start_with(&[])
    }

    /// Like [`start`](Self::start) with extra command-line flags, e.g.
    /// `-httpAuth.username=u`.
    pub fn start_with(extra: &[&str]) -> anyhow::Result<Option<Self>> {
        let Some(binary) = find_binary("victoria-metrics") else {
            return Ok(None);
        };
        let dir = tempfile::Builder::new()
            .prefix("boxoffice-victoria-")
            .tempdir()?;
        let mut s = Self {
            binary,
            dir,
            port: 0,
            extra: extra.iter().map(|a| a.to_string()).collect(),
            child: None,
        };
        // The free port is released before the server binds it; another process may take it
        // in between, so a failed start is retried on a new port.
        let mut last = None;
        for _ in 0..3 {
            s.port = free_port();
            match s.launch() {
                Ok(()) => return Ok(Some(s)),
                Err(e) => {
                    s.stop();
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("victoria-metrics did not start")))
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let mut cmd = Command::new(&self.binary);
        cmd.arg(format!("-httpListenAddr=127.0.0.1:{}", self.port))
            .arg(format!(
                "-storageDataPath={}",
                self.dir.path().join("data").display()
            ))
            .arg("-retentionPeriod=100y")
            .arg("-loggerLevel=ERROR")
            .args(&self.extra)
            .current_dir(self.dir.path());
        let child = spawn_bound(cmd).context("starting victoria-metrics")?;
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(30))
    }

    fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        let health = format!("{}/health", self.url());
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        loop {
            if let Ok(r) = client.get(&health).send() {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    bail!(
                        "victoria-metrics exited with {status} while starting on port {}",
                        self.port
                    );
                }
            }
            if Instant::now() > deadline {
                bail!("victoria-metrics did not answer {health} within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Makes every sample received so far visible to queries and exports (the server buffers
    /// new samples for a few seconds otherwise).
    pub fn flush(&self) -> anyhow::Result<()> {
        let r = reqwest::blocking::get(format!("{}/internal/force_flush", self.url()))?;
        if !r.status().is_success() {
            bail!("force_flush answered {}", r.status());
        }
        Ok(())
    }

    /// Stops the server (SIGKILL) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for VictoriaMetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a server for `test`, or `None` after [`crate::skip_or_fail`] when none is installed.
pub fn start_or_skip(test: &str, extra: &[&str]) -> Option<VictoriaMetricsServer> {
    match VictoriaMetricsServer::start_with(extra) {
        Ok(Some(s)) => Some(s),
        Ok(None) => {
            crate::skip_or_fail(test, "no victoria-metrics installed");
            None
        }
        Err(e) => panic!("{test}: could not start victoria-metrics: {e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_takes_samples_and_stops() {
        let Some(mut s) = start_or_skip("testkit victoria-metrics", &[]) else {
            return;
        };
        let url = s.url();
        let client = reqwest::blocking::Client::new();
        // An hour ago: well inside any retention, never in the future.
        let ts = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - 3600)
            * 1000;
        let r = client
            .post(format!("{url}/api/v1/import/prometheus"))
            .body(format!("testkit_probe{{k=\"v\"}} 42 {ts}\n"))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        s.flush().unwrap();
        let body = client
            .get(format!("{url}/api/v1/export"))
            .query(&[("match[]", "testkit_probe")])
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(body.contains(&format!("[{ts}]")), "{body}");
        assert!(body.contains("[42]"), "{body}");
        s.stop();
        assert!(
            client.get(format!("{url}/health")).send().is_err(),
            "a stopped server must not answer"
        );
    }
}
