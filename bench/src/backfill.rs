//! Peak RSS of a large Shotgun backfill (the first sync of an account with its whole history),
//! measured on the pipeline alone.
//!
//! The simulator holds ~100 bytes per ticket, so it must not share the measured process. Three
//! processes of this binary: the bench; a simulator child (`bench --serve-shotgun-sim N`,
//! hidden) that prints where it listens and its ground truth as one JSON line and serves until
//! its stdin closes; and the pipeline child (`bench --run-backfill SPEC`, hidden) that opens a
//! fresh SQLite state and warehouse, syncs once, and prints its summary and figures as one
//! JSON line, ending with its own `VmHWM` read just before it exits; the bench also polls the
//! child's `/proc/<pid>/status` while it runs and reports the larger of the two.
//!
//! After the figures are read back the child also commits one sale and then its refund, and
//! times the first scrape after each: the "first `/metrics` scrape after a write" row.
//!
//! Not `getrusage`/`wait4`'s `ru_maxrss`: Linux folds the high-water mark of the address space
//! an `exec` replaces into it, and a child spawned with `posix_spawn`/`vfork` execs from the
//! bench's own address space, so `ru_maxrss` reports at least the bench's peak (measured: 74
//! MB for a 5,000-ticket backfill whose own `VmHWM` is 26 MB).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::coldstart::tail;
use super::pipeline::{self, check_figures, Figures, Warehouse};
use boxoffice::app::App;
use boxoffice::sync::{sync_account, RunOptions};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

type FigureRow = (String, String, u64, u64, u64, i64);

fn rows(f: &Figures) -> Vec<FigureRow> {
    f.iter()
        .map(|((e, c), v)| (e.clone(), c.clone(), v.0, v.1, v.2, v.3))
        .collect()
}

fn figures(rows: &[FigureRow]) -> Figures {
    rows.iter()
        .map(|(e, c, a, b, d, r)| ((e.clone(), c.clone()), (*a, *b, *d, *r)))
        .collect()
}

/// What the simulator child prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimInfo {
    pub base_url: String,
    pub token: String,
    pub organizer_id: u64,
    pub now_ms: i64,
    pub tickets: u64,
    pub truth: Vec<FigureRow>,
}

/// What the pipeline child is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackfillSpec {
    pub base_url: String,
    pub token: String,
    pub organizer_id: u64,
    pub now_ms: i64,
    pub state_dir: PathBuf,
}

/// What the pipeline child prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackfillOut {
    pub status: String,
    pub message: String,
    pub pages: u64,
    pub records: u64,
    pub requests: u64,
    pub secs: f64,
    pub ledger_tickets: u64,
    /// VmHWM right after the sync, before the figures were read back (kB).
    pub sync_hwm_kb: Option<u64>,
    pub figures: Vec<FigureRow>,
    /// The first `/metrics` encoding after the backfill (reads the whole ledger), ms.
    pub first_scrape_ms: f64,
    /// The next one, with nothing written in between (the cached snapshot), ms.
    pub repeat_scrape_ms: f64,
    /// After the figures were read back: one page with one new ticket committed (ms), then the
    /// first `/metrics` encoding after it (ms); then that ticket's refund and the scrape after
    /// it (ms). Zero from a child that predates these figures.
    #[serde(default)]
    pub write: AfterWrite,
    /// VmHWM at the very end, after the figures were read back (kB).
    pub final_hwm_kb: Option<u64>,
}

/// The measurement, as the bench reports it.
#[derive(Debug, Clone)]
pub struct BackfillRun {
    pub tickets: u64,
    /// VmHWM of the pipeline child over its whole life (open, sync, read figures back), kB.
    pub peak_rss_kb: u64,
    /// The child's VmHWM right after the sync, kB.
    pub sync_hwm_kb: Option<u64>,
    /// The simulator child's resident set when the backfill started (not counted), kB.
    pub sim_rss_kb: Option<u64>,
    pub secs: f64,
    pub pages: u64,
    pub first_scrape_ms: f64,
    pub repeat_scrape_ms: f64,
    pub write: AfterWrite,
}

/// A write into the backfilled ledger and the first scrapes after it (ms).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct AfterWrite {
    /// `commit_page` of one page holding one new ticket (a sale).
    pub sale_commit_ms: f64,
    /// The first `/metrics` encoding after the sale.
    pub sale_scrape_ms: f64,
    /// `commit_page` of that ticket's newer version, refunded.
    pub refund_commit_ms: f64,
    /// The first `/metrics` encoding after the refund.
    pub refund_scrape_ms: f64,
}

/// One sale into the backfilled ledger, then its refund, each followed by a timed scrape;
/// checks that the scrapes saw the sale and the refund. Runs after the figures are read back,
/// so the truth check is not affected.
fn write_then_scrape(
    app: &App,
    scrape: &dyn Fn() -> anyhow::Result<(f64, String)>,
) -> anyhow::Result<AfterWrite> {
    use boxoffice::model::{Record, Ticket, TicketStatus};
    let account = app.accounts()?.remove(0);
    let (vendor, name) = (account.vendor_id(), account.name.as_str());
    let mut ticket = Ticket {
        ticket_id: "bench-after-write".into(),
        order_id: "bench-after-write".into(),
        event_id: "bench-after-write".into(),
        category: "GA".into(),
        channel: "online".into(),
        status: TicketStatus::Valid,
        price_minor: 1_000,
        currency: "EUR".into(),
        ordered_at_ms: 1,
        updated_at_ms: 1,
        ..Ticket::BLANK
    };
    let sold = format!(
        "boxoffice_tickets_sold_total{{vendor=\"{vendor}\",account=\"{name}\",\
         event_id=\"bench-after-write\",category=\"GA\"}}"
    );
    let value = |body: &str| -> Option<f64> {
        body.lines()
            .find_map(|l| l.strip_prefix(sold.as_str())?.trim().parse().ok())
    };
    let commit = |t: &Ticket| -> anyhow::Result<f64> {
        let at = Instant::now();
        app.deps.state.commit_page(
            vendor,
            name,
            &[Record::Ticket(t.clone())],
            None,
            boxoffice::clock::now_ms(),
        )?;
        Ok(at.elapsed().as_secs_f64() * 1e3)
    };
    let sale_commit_ms = commit(&ticket)?;
    let (sale_scrape_ms, body) = scrape()?;
    if value(&body) != Some(1.0) {
        bail!("the scrape after the sale does not show it ({sold} 1)");
    }
    ticket.status = TicketStatus::Refunded;
    ticket.refunded_minor = 1_000;
    ticket.updated_at_ms = 2;
    let refund_commit_ms = commit(&ticket)?;
    let (refund_scrape_ms, body) = scrape()?;
    if value(&body) != Some(0.0) {
        bail!("the scrape after the refund does not show it ({sold} 0)");
    }
    Ok(AfterWrite {
        sale_commit_ms,
        sale_scrape_ms,
        refund_commit_ms,
        refund_scrape_ms,
    })
}

/// The bench's rows of the scrapes after the backfill and after a write.
pub fn scrape_metrics(b: &BackfillRun) -> Vec<super::report::Metric> {
    use super::report::{number, Metric, Target};
    let w = &b.write;
    vec![
        Metric::new(
            "backfill_first_scrape_ms",
            "first /metrics scrape after the backfill",
            b.first_scrape_ms,
            "ms",
            None,
        )
        .note(format!(
            "{}-ticket ledger, from its aggregates (kept by the ledger's triggers); the next scrape {:.2} ms (cached snapshot)",
            number(b.tickets as f64),
            b.repeat_scrape_ms
        )),
        Metric::new(
            "after_write_scrape_ms",
            "first /metrics scrape after a write (1M-ticket ledger)",
            w.sale_scrape_ms.max(w.refund_scrape_ms),
            "ms",
            Some(Target::AtMost(50.0)),
        )
        .note(format!(
            "the slower of two: after a sale {:.2} ms (its commit {:.2} ms), after its refund {:.2} ms (commit {:.2} ms); {} tickets",
            w.sale_scrape_ms,
            w.sale_commit_ms,
            w.refund_scrape_ms,
            w.refund_commit_ms,
            number(b.tickets as f64),
        )),
    ]
}

/// `VmHWM` / `VmRSS` of a process from `/proc/<pid>/status`, kB.
pub fn proc_status_kb(pid: &str, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The hidden simulator child: serves `tickets` tickets until stdin closes.
pub async fn serve_sim(tickets: u64) -> anyhow::Result<ExitCode> {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets,
        ..Default::default()
    });
    let srv = sim.spawn().await?;
    let info = SimInfo {
        base_url: srv.base_url(),
        token: sim.token(),
        organizer_id: sim.organizer_id(),
        now_ms: sim.now_ms(),
        tickets: sim.ticket_count(),
        truth: rows(&pipeline::shotgun_truth(&sim)),
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", serde_json::to_string(&info)?)?;
        out.flush()?;
    }
    // A plain thread, not the runtime's blocking pool: a read blocked on stdin must not hold up
    // the runtime's shutdown.
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    tokio::select! {
        _ = rx => {},
        _ = tokio::signal::ctrl_c() => {},
    }
    srv.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The hidden pipeline child: one sync of the simulator into a fresh SQLite state.
pub async fn run_child(spec: &str) -> anyhow::Result<ExitCode> {
    let spec: BackfillSpec = serde_json::from_str(spec).context("--run-backfill: bad spec")?;
    let config = pipeline::config(
        &[
            ("SHOTGUN_TOKEN", spec.token.clone()),
            ("SHOTGUN_ORGANIZER_ID", spec.organizer_id.to_string()),
            ("SHOTGUN_BASE_URL", spec.base_url.clone()),
            ("SHOTGUN_EVENTS_BASE_URL", spec.base_url.clone()),
        ],
        &spec.state_dir,
        &Warehouse::Sqlite,
    )?;
    let app = App::open(config).await?;
    let account = app.accounts()?.remove(0);
    let started = Instant::now();
    let s = sync_account(
        &app.deps,
        &account,
        &RunOptions {
            now_ms: Some(spec.now_ms),
            ..Default::default()
        },
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    let sync_hwm_kb = proc_status_kb("self", "VmHWM:");
    let scrape = || -> anyhow::Result<(f64, String)> {
        let t = Instant::now();
        let body = app.metrics.encode()?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if !body.contains("boxoffice_tickets_sold_total") {
            bail!("the scrape after the backfill has no tickets sold");
        }
        Ok((ms, body))
    };
    let first_scrape_ms = scrape()?.0;
    let repeat_scrape_ms = scrape()?.0;
    let mut out = BackfillOut {
        status: s.status.as_str().to_string(),
        message: s.message.clone(),
        pages: s.pages,
        records: s.records,
        requests: s.requests,
        secs,
        ledger_tickets: app.deps.state.ticket_count()?,
        sync_hwm_kb,
        figures: rows(&pipeline::ledger_figures(&app, "shotgun")?),
        first_scrape_ms,
        repeat_scrape_ms,
        write: AfterWrite::default(),
        final_hwm_kb: None,
    };
    out.write = write_then_scrape(&app, &scrape)?;
    out.final_hwm_kb = proc_status_kb("self", "VmHWM:");
    println!("{}", serde_json::to_string(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// Runs the simulator child and the pipeline child; `cache_dir` is a warm plugin cache.
pub async fn measure(
    exe: &Path,
    tickets: u64,
    scratch: &Path,
    cache_dir: &Path,
) -> anyhow::Result<BackfillRun> {
    let sim_log = scratch.join("backfill-sim.log");
    let mut sim = Command::new(exe)
        .args(["--serve-shotgun-sim", &tickets.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&sim_log)?)
        .spawn()
        .context("starting the simulator child")?;
    let sim_out = sim.stdout.take().context("simulator stdout")?;
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(sim_out).read_line(&mut line).map(|_| line)
    })
    .await??;
    let result = async {
        let info: SimInfo = serde_json::from_str(line.trim()).with_context(|| {
            format!(
                "the simulator child printed {:?}:\n{}",
                line.trim(),
                tail(&sim_log)
            )
        })?;
        let sim_rss_kb = proc_status_kb(&sim.id().to_string(), "VmRSS:");
        let spec = BackfillSpec {
            base_url: info.base_url.clone(),
            token: info.token.clone(),
            organizer_id: info.organizer_id,
            now_ms: info.now_ms,
            state_dir: scratch.join("backfill-state"),
        };
        let log = scratch.join("backfill.log");
        let child = Command::new(exe)
            .args(["--run-backfill", &serde_json::to_string(&spec)?])
            .env("BOXOFFICE_CACHE_DIR", cache_dir)
            .env_remove("BOXOFFICE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting the backfill child")?;
        let (status, polled_kb, stdout) =
            tokio::task::spawn_blocking(move || watch(child)).await??;
        if !status.success() {
            bail!("the backfill child exited with {status}:\n{}", tail(&log));
        }
        let out: BackfillOut = serde_json::from_str(stdout.trim())
            .with_context(|| format!("the backfill child printed {:?}", stdout.trim()))?;
        if out.status != "ok" {
            bail!("backfill sync: {}: {}", out.status, out.message);
        }
        if out.ledger_tickets != info.tickets {
            bail!(
                "backfill: {} tickets in the ledger, the simulator has {}",
                out.ledger_tickets,
                info.tickets
            );
        }
        check_figures(
            "shotgun backfill",
            &figures(&out.figures),
            &figures(&info.truth),
        )?;
        let peak_rss_kb = out.final_hwm_kb.unwrap_or(0).max(polled_kb);
        if peak_rss_kb == 0 {
            bail!("no VmHWM for the backfill child (is /proc mounted?)");
        }
        Ok(BackfillRun {
            tickets: out.ledger_tickets,
            peak_rss_kb,
            sync_hwm_kb: out.sync_hwm_kb,
            sim_rss_kb,
            secs: out.secs,
            pages: out.pages,
            first_scrape_ms: out.first_scrape_ms,
            repeat_scrape_ms: out.repeat_scrape_ms,
            write: out.write,
        })
    }
    .await;
    drop(sim.stdin.take());
    let _ = sim.kill();
    let _ = sim.wait();
    result
}

/// Polls the child's VmHWM every 20 ms while reading its stdout to the end, then reaps it:
/// (exit status, highest VmHWM seen in kB, stdout).
fn watch(
    mut child: std::process::Child,
) -> anyhow::Result<(std::process::ExitStatus, u64, String)> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    let pid = child.id().to_string();
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let poller = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(kb) = proc_status_kb(&pid, "VmHWM:") {
                    peak.fetch_max(kb, Ordering::Relaxed);
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        })
    };
    let mut stdout = String::new();
    if let Some(mut s) = child.stdout.take() {
        s.read_to_string(&mut stdout)?;
    }
    let status = child.wait()?;
    done.store(true, Ordering::Relaxed);
    let _ = poller.join();
    Ok((status, peak.load(Ordering::Relaxed), stdout))
}
