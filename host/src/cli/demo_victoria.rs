//! `boxoffice demo --victoria`: the demo's figures as graphs without installing Grafana — a
//! VictoriaMetrics single node (Debian's `victoria-metrics`) on a loopback port, scraping the
//! demo's `/metrics`, with the ledger's history backfilled into it, and links to its built-in
//! UI (VMUI) with ready-made queries.
//!
//! Owns starting and stopping that server and what the demo prints about it. Does not own the
//! backfill (that is `metrics::import`, as `boxoffice backfill-metrics` uses it) nor the demo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::metrics::history::{Grid, Step};
use crate::metrics::import::{self, ImportOptions, Target};
use crate::state::StateStore;
use crate::zone::Zone;

/// The scrape job's name: backfilled series carry it too, so history and scrapes are one series.
pub const JOB: &str = "boxoffice-demo";

/// A ready-made query.
pub struct DemoQuery {
    pub what: &'static str,
    pub promql: &'static str,
    /// Backfilled from the ledger (a history from the first order), else scraped only.
    pub history: bool,
}

pub const QUERIES: &[DemoQuery] = &[
    DemoQuery {
        what: "tickets held per vendor",
        promql: "sum by (vendor) (boxoffice_tickets_sold_total)",
        history: true,
    },
    DemoQuery {
        what: "kept revenue per vendor and currency",
        promql: "sum by (vendor, currency) (boxoffice_revenue_total)",
        history: true,
    },
    DemoQuery {
        what: "tickets held per event",
        promql: "sum by (vendor, event_id) (boxoffice_tickets_sold_total)",
        history: true,
    },
    DemoQuery {
        what: "refunded tickets",
        promql: "sum by (vendor) (boxoffice_tickets_refunded_total)",
        history: true,
    },
    DemoQuery {
        what: "tickets left per event",
        promql: "boxoffice_event_tickets_left",
        history: false,
    },
    DemoQuery {
        what: "source up",
        promql: "boxoffice_source_up",
        history: false,
    },
];

/// A running VictoriaMetrics; stopped (killed) when dropped, and with the demo whatever way it
/// ends (the child gets SIGKILL when the demo process dies).
pub struct DemoVictoria {
    child: Child,
    url: String,
}

impl Drop for DemoVictoria {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|d| d.join("victoria-metrics"))
        .find(|p| p.is_file())
}

/// Spawns from a thread that lives as long as the process, with `PR_SET_PDEATHSIG`: the
/// signal follows the spawning thread, and tokio's blocking threads come and go.
fn spawn_bound(mut cmd: Command) -> std::io::Result<Child> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: prctl is async-signal-safe and touches only the child's own state.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let _ = tx.send(cmd.spawn());
        loop {
            std::thread::park();
        }
    });
    rx.recv()
        .unwrap_or_else(|_| Err(std::io::Error::other("the spawning thread died")))
}

impl DemoVictoria {
    /// Starts VictoriaMetrics under `dir` on a free loopback port, scraping `metrics` every
    /// `scrape_every`.
    pub async fn start(
        dir: &Path,
        metrics: SocketAddr,
        scrape_every: Duration,
    ) -> anyhow::Result<Self> {
        let binary = find_binary().context(
            "--victoria needs VictoriaMetrics: `apt-get install victoria-metrics` (Debian), or put `victoria-metrics` on PATH",
        )?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let scrape = dir.join("scrape.yml");
        std::fs::write(
            &scrape,
            format!(
                "scrape_configs:\n  - job_name: {JOB}\n    scrape_interval: {}s\n    static_configs:\n      - targets: ['{metrics}']\n",
                scrape_every.as_secs().max(1)
            ),
        )
        .with_context(|| format!("writing {}", scrape.display()))?;
        // A free port is released before the server binds it: retry on another if taken.
        let mut last = None;
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let mut cmd = Command::new(&binary);
            cmd.arg(format!("-httpListenAddr=127.0.0.1:{port}"))
                .arg(format!("-storageDataPath={}", dir.join("data").display()))
                .arg(format!("-promscrape.config={}", scrape.display()))
                // The backfilled history reaches back as far as the ledger does.
                .arg("-retentionPeriod=100y")
                .arg("-loggerLevel=ERROR")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .current_dir(dir);
            let child = spawn_bound(cmd).context("starting victoria-metrics")?;
            let mut vm = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            match vm.wait_ready(Duration::from_secs(30)).await {
                Ok(()) => return Ok(vm),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("victoria-metrics did not start")))
    }

    async fn wait_ready(&mut self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        loop {
            if let Ok(r) = client.get(format!("{}/health", self.url)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("victoria-metrics exited with {status} while starting");
            }
            if Instant::now() > deadline {
                bail!(
                    "victoria-metrics did not answer {}/health within {limit:?}",
                    self.url
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Writes the KPI history of the ledger (hourly, up to now) with the labels the scrape
    /// adds, so each backfilled series runs on into the scraped one. Returns the samples written.
    pub async fn backfill(
        &self,
        state: Arc<StateStore>,
        metrics: SocketAddr,
        zone: &Zone,
    ) -> anyhow::Result<u64> {
        let Some(grid) = Grid::for_ledger(&state, Step::HOUR, None, crate::clock::now_ms(), zone)?
        else {
            return Ok(0);
        };
        let target = Target::parse(
            &self.url,
            None,
            &[format!("job={JOB}"), format!("instance={metrics}")],
        )?;
        let (_, stats) =
            import::backfill(state, grid, target, ImportOptions::default(), None).await?;
        Ok(stats.written)
    }

    /// Whether this build serves VMUI (Debian's package leaves the web UI out).
    pub async fn has_vmui(&self) -> bool {
        let ok = reqwest::get(format!("{}/vmui/", self.url)).await;
        ok.is_ok_and(|r| r.status().is_success())
    }

    /// The query API's answer (JSON) for `q`: the last 30 days hourly for a backfilled
    /// family, the current value for a scraped one (an hourly range shows a scraped series
    /// only once an hour boundary has passed).
    pub fn api_link(&self, q: &DemoQuery) -> String {
        let query = percent_encode(q.promql);
        match q.history {
            true => format!(
                "{}/api/v1/query_range?query={query}&start=-30d&step=1h",
                self.url
            ),
            false => format!("{}/api/v1/query?query={query}", self.url),
        }
    }

    /// VMUI with `query` over the last 30 days.
    pub fn vmui_link(&self, query: &str) -> String {
        format!(
            "{}/vmui/#/?g0.expr={}&g0.range_input=30d&g0.tab=0",
            self.url,
            percent_encode(query)
        )
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn queries_are_percent_encoded() {
        assert_eq!(
            super::percent_encode("sum by (vendor) (x_total)"),
            "sum%20by%20%28vendor%29%20%28x_total%29"
        );
    }
}
