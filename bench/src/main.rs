//! `boxoffice-bench` (run as `boxoffice bench`, which execs it): measures the pipeline against
//! the targets of issue 8 and writes `bench-<unix-ts>.json` and `.csv` (see the library,
//! `bench/src/lib.rs`, for what each measurement does and `docs/performance.md` for the
//! figures of a reference machine).
//!
//! Exits 0 when every measurement ran and every figure matched the simulators' truth, met
//! targets or not (it is a measurement, not a test); non-zero when the bench itself failed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::instrument::WithSubscriber;

use boxoffice::config::{Config, Vars};
use boxoffice::plugin::{bundled, PluginLimits, PluginRuntime};
use boxoffice::sink::clickhouse::ClickhouseEncoding;
use boxoffice::sink::ClickhouseConfig;
use boxoffice_bench::pipeline::{self, PipelineRun, Warehouse};
use boxoffice_bench::report::{Machine, Metric, Report, Target};
use boxoffice_bench::{
    backfill, cluster, coldstart, insert, python, safety_net, transform, webhook, wire, Scratch,
};

#[derive(Debug, Parser)]
#[command(
    name = "boxoffice-bench",
    version,
    about = "Measure throughput, peak RSS, WASM overhead, incremental requests and cold start (`boxoffice bench`)"
)]
pub struct BenchArgs {
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Small sizes (about half a minute): 2,000 Shotgun tickets, 500 QTickets orders, a 5,000
    /// ticket backfill, 5 recorded pages.
    #[arg(long)]
    pub quick: bool,
    /// Shotgun tickets for the pipeline throughput [default: 100,000; --quick 2,000].
    #[arg(long)]
    pub tickets: Option<u64>,
    /// QTickets orders for the pipeline throughput [default: 50,000; --quick 500].
    #[arg(long)]
    pub orders: Option<u64>,
    /// Shotgun tickets in the peak-RSS backfill [default: 1,000,000; --quick 5,000].
    #[arg(long)]
    pub backfill_tickets: Option<u64>,
    /// Measure only these parts (comma-separated), e.g. `--only shotgun` to profile the
    /// Shotgun pipeline alone [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Part>,
    /// Where bench-<unix-ts>.json and .csv go.
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,
    /// Internal: serve a Shotgun simulator with N tickets (the backfill's vendor).
    #[arg(long, hide = true, value_name = "N")]
    pub serve_shotgun_sim: Option<u64>,
    /// Internal: run the backfill described by this JSON (the measured child).
    #[arg(long, hide = true, value_name = "SPEC")]
    pub run_backfill: Option<String>,
}

/// The parts of a bench run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// Shotgun pipeline throughput and its incremental run.
    Shotgun,
    /// QTickets pipeline throughput and its incremental run.
    Qtickets,
    /// WASM vs native transform on recorded pages.
    Transform,
    /// Plugin compile, cached load, first call.
    Fixed,
    /// The Python pretix component beside the Rust one: compile, first call, per page (with
    /// `--quick`, only when named: `--quick --only python`).
    Python,
    /// Cold start of `boxoffice run`.
    Coldstart,
    /// The large backfill's peak RSS.
    Backfill,
    /// The ClickHouse writer alone, RowBinary+LZ4 against JSONEachRow (with `CLICKHOUSE_*`).
    Clickhouse,
    /// QTickets webhooks: delivery → `/metrics` latency, deliveries per second sustained.
    Webhooks,
    /// Shotgun into a local 2×2 ClickHouse cluster beside one local server (needs
    /// clickhouse-server, Java and ZooKeeper; with `--quick`, only when named).
    Cluster,
}

/// The sizes of one bench run.
#[derive(Debug, Clone)]
struct Sizes {
    only: Vec<Part>,
    tickets: u64,
    orders: u64,
    backfill_tickets: u64,
    pages: usize,
    rounds: usize,
    /// Rounds of the ClickHouse writer-only measurement (each writes `tickets` per encoding).
    insert_rounds: usize,
    /// Latency samples and concurrent deliveries of the webhook measurement.
    webhook_samples: usize,
    webhook_deliveries: usize,
    /// `--quick`: the Python component (an 18 MB compile) only when named in `--only`.
    quick: bool,
}

impl Sizes {
    fn of(args: &BenchArgs) -> Self {
        let q = args.quick;
        Self {
            only: args.only.clone(),
            tickets: args.tickets.unwrap_or(if q { 2_000 } else { 100_000 }),
            orders: args.orders.unwrap_or(if q { 500 } else { 50_000 }),
            backfill_tickets: args
                .backfill_tickets
                .unwrap_or(if q { 5_000 } else { 1_000_000 }),
            pages: if q { 5 } else { 50 },
            rounds: if q { 5 } else { 15 },
            insert_rounds: if q { 2 } else { 4 },
            webhook_samples: if q { 20 } else { 200 },
            webhook_deliveries: if q { 300 } else { 5_000 },
            quick: q,
        }
    }

    fn wants(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }

    /// Progress steps of the selected parts.
    fn steps(&self, warehouses: u64) -> u64 {
        use Part::*;
        [Shotgun, Qtickets]
            .iter()
            .filter(|p| self.wants(**p))
            .count() as u64
            * warehouses
            + [
                Transform, Fixed, Python, Coldstart, Backfill, Webhooks, Cluster,
            ]
            .iter()
            .filter(|p| self.wants(**p))
            .count() as u64
            + (warehouses > 1 && self.wants(Clickhouse)) as u64
    }
}

/// A progress bar on a terminal, plain lines otherwise (both on stderr).
struct Progress {
    bar: Option<ProgressBar>,
    step: u64,
    steps: u64,
}

impl Progress {
    fn new(steps: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            bar,
            step: 0,
            steps,
        }
    }

    fn start(&mut self, what: &str) {
        self.step += 1;
        match &self.bar {
            Some(b) => {
                b.set_position(self.step - 1);
                b.set_message(what.to_string());
            }
            None => eprintln!("bench [{}/{}] {what}", self.step, self.steps),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn main() -> ExitCode {
    // The backfill child's peak RSS is measured with the product's allocator tuning.
    boxoffice::malloc_tuning::apply();
    let args = BenchArgs::parse();
    boxoffice::cli::init_logging(args.verbose);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The `boxoffice` whose cold start is measured: the one that exec'd this bench
/// (`BOXOFFICE_EXE`), else the one beside this binary.
fn boxoffice_exe(bench_exe: &std::path::Path) -> anyhow::Result<PathBuf> {
    let exe = std::env::var_os("BOXOFFICE_EXE")
        .map(PathBuf::from)
        .unwrap_or_else(|| bench_exe.with_file_name("boxoffice"));
    anyhow::ensure!(
        exe.is_file(),
        "{} not found: the bench measures the `boxoffice` beside it; build both with \
         `cargo build --release -p boxoffice -p boxoffice-bench`",
        exe.display()
    );
    Ok(exe)
}

async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(n) = args.serve_shotgun_sim {
        return backfill::serve_sim(n).await;
    }
    if let Some(spec) = &args.run_backfill {
        return backfill::run_child(spec).await;
    }
    let sizes = Sizes::of(&args);
    let unix_ts = boxoffice::clock::now_ms() / 1000;
    let exe = std::env::current_exe()?;
    let scratch = Scratch::new()?;
    // ClickHouse when the operator's CLICKHOUSE_* says so, once per row encoding, each in a
    // database of the bench's own (created by the sink's migrations and dropped at the end) so
    // no simulated sale reaches the real tables. Both go through one counting relay when the
    // server is plain HTTP, for the bytes each sends.
    let clickhouse = Config::from_vars(&Vars::from_process(&[])?)?.clickhouse;
    let relay = match &clickhouse {
        Some(ch) => wire::relay(&ch.url).await?,
        None => None,
    };
    let bench_databases: Vec<ClickhouseConfig> = clickhouse
        .iter()
        .flat_map(|ch| {
            ClickhouseEncoding::ALL.map(|encoding| ClickhouseConfig {
                database: format!("{}_bench_{unix_ts}_{}", ch.database, encoding.as_str()),
                encoding,
                ..ch.clone()
            })
        })
        .collect();
    let mut warehouses = vec![Warehouse::Sqlite];
    warehouses.extend(bench_databases.iter().map(|ch| {
        let mut ch = ch.clone();
        let meter = relay.as_ref().map(|r| {
            ch.url = r.url.clone();
            r.meter.clone()
        });
        Warehouse::Clickhouse(ch, meter)
    }));
    // The writer-only measurement: two databases of its own beside the pipeline's.
    let insert_base = clickhouse.as_ref().map(|ch| ClickhouseConfig {
        database: format!("{}_bench_{unix_ts}", ch.database),
        ..ch.clone()
    });
    let mut bench_databases = bench_databases;
    if let Some(base) = &insert_base {
        bench_databases.extend(ClickhouseEncoding::ALL.map(|e| ClickhouseConfig {
            database: insert::database(base, e),
            ..base.clone()
        }));
    }
    let insert_target = insert_base.map(|mut base| {
        let meter = relay.as_ref().map(|r| {
            base.url = r.url.clone();
            r.meter.clone()
        });
        (base, meter)
    });
    let steps = sizes.steps(warehouses.len() as u64);
    let mut progress = Progress::new(steps);
    // The pipeline's per-run INFO lines would break the progress bar: warnings only, unless
    // RUST_LOG asks for more.
    let quiet = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .finish();
    let result = measure(
        &sizes,
        &exe,
        &scratch,
        &warehouses,
        insert_target.as_ref(),
        &mut progress,
    )
    .with_subscriber(quiet)
    .await;
    progress.finish();
    for ch in &bench_databases {
        drop_database(ch).await;
    }
    drop(relay);
    let metrics = result?;
    let report = Report {
        unix_ts,
        date: boxoffice_plugin_sdk::time::format_utc_ms(unix_ts * 1000),
        quick: args.quick,
        machine: Machine::this(),
        params: serde_json::json!({
            "shotgun_tickets": sizes.tickets,
            "qtickets_orders": sizes.orders,
            "backfill_tickets": sizes.backfill_tickets,
            "recorded_pages": sizes.pages,
            "transform_rounds": sizes.rounds,
            "only": sizes.only.iter().map(|p| format!("{p:?}").to_lowercase()).collect::<Vec<_>>(),
            "clickhouse": clickhouse.is_some(),
        }),
        metrics,
    };
    let (json, csv) = report.write(&args.out)?;
    println!(
        "boxoffice bench{} — {} CPUs{}",
        if args.quick { " --quick" } else { "" },
        report.machine.cpus,
        report
            .machine
            .cpu_model
            .as_deref()
            .map(|m| format!(", {m}"))
            .unwrap_or_default()
    );
    println!();
    print!("{}", report.table());
    println!();
    let missed: Vec<&str> = report
        .metrics
        .iter()
        .filter(|m| m.met == Some(false))
        .map(|m| m.metric.as_str())
        .collect();
    if missed.is_empty() {
        println!("every target met; all figures equal the simulators' truth");
    } else {
        println!(
            "all figures equal the simulators' truth; targets missed: {}",
            missed.join("; ")
        );
    }
    println!("wrote {} and {}", json.display(), csv.display());
    Ok(ExitCode::SUCCESS)
}

async fn drop_database(ch: &boxoffice::sink::ClickhouseConfig) {
    let Ok(client) = boxoffice::sink::clickhouse::ClickhouseClient::new(ch.clone()) else {
        return;
    };
    if let Err(e) = client
        .execute_global(&format!("DROP DATABASE IF EXISTS {}", ch.database))
        .await
    {
        tracing::warn!("could not drop the bench database {}: {e}", ch.database);
    }
}

fn per_sec(n: u64, secs: f64) -> String {
    format!(
        "{} tickets in {:.2} s",
        boxoffice_bench::report::number(n as f64),
        secs
    )
}

fn pipeline_metrics(
    vendor: &str,
    label: &str,
    w: &Warehouse,
    r: &PipelineRun,
    out: &mut Vec<Metric>,
) {
    // The encoding in use keeps the plain `_clickhouse` id; the other one is suffixed.
    let sink = match w {
        Warehouse::Sqlite => "sqlite".to_string(),
        Warehouse::Clickhouse(ch, _) if ch.encoding == ClickhouseEncoding::default() => {
            "clickhouse".to_string()
        }
        Warehouse::Clickhouse(ch, _) => format!("clickhouse_{}", ch.encoding.as_str()),
    };
    let target = (vendor == "shotgun").then_some(Target::AtLeast(65_000.0));
    out.push(
        Metric::new(
            &format!("{vendor}_pipeline_{sink}"),
            &format!("{label} pipeline → {}", w.name()),
            r.tickets_per_sec(),
            "tickets/s",
            target,
        )
        .note(format!(
            "{}, {} pages, {} requests{}{}",
            per_sec(r.tickets, r.secs),
            r.first.pages,
            r.first.requests,
            r.cpu_secs
                .map(|c| format!(
                    "; {c:.2} CPU-s in the process ({:.0}% of {} cores)",
                    100.0 * c / r.secs.max(1e-9) / cores() as f64,
                    cores()
                ))
                .unwrap_or_default(),
            r.sent_bytes
                .map(|b| format!(
                    "; {} bytes sent to ClickHouse",
                    boxoffice_bench::report::number(b as f64)
                ))
                .unwrap_or_default()
        )),
    );
}

/// RowBinary beside JSONEachRow for one vendor, from the two runs of this bench: throughput
/// ratio and, where counted, bytes sent per ticket.
fn encoding_metrics(
    vendor: &str,
    label: &str,
    runs: &[(ClickhouseEncoding, PipelineRun)],
    out: &mut Vec<Metric>,
) {
    let get = |e: ClickhouseEncoding| runs.iter().find(|(x, _)| *x == e).map(|(_, r)| r);
    let (Some(binary), Some(json)) = (
        get(ClickhouseEncoding::RowBinary),
        get(ClickhouseEncoding::JsonEachRow),
    ) else {
        return;
    };
    out.push(
        Metric::new(
            &format!("{vendor}_clickhouse_rowbinary_vs_json"),
            &format!("{label} → ClickHouse, RowBinary+LZ4 / JSONEachRow throughput"),
            binary.tickets_per_sec() / json.tickets_per_sec().max(1e-9),
            "×",
            None,
        )
        .note(format!(
            "{:.0} vs {:.0} tickets/s, same run",
            binary.tickets_per_sec(),
            json.tickets_per_sec()
        )),
    );
    for (encoding, r) in [
        (ClickhouseEncoding::RowBinary, binary),
        (ClickhouseEncoding::JsonEachRow, json),
    ] {
        if let Some(bytes) = r.sent_bytes {
            out.push(
                Metric::new(
                    &format!("{vendor}_clickhouse_bytes_per_ticket_{}", encoding.as_str()),
                    &format!(
                        "{label} → ClickHouse, bytes sent per ticket ({})",
                        encoding.label()
                    ),
                    bytes as f64 / r.tickets.max(1) as f64,
                    "B/ticket",
                    None,
                )
                .note(format!(
                    "{} bytes for {} tickets: every insert of the first run, HTTP headers included",
                    boxoffice_bench::report::number(bytes as f64),
                    boxoffice_bench::report::number(r.tickets as f64)
                )),
            );
        }
    }
    if let (Some(b), Some(j)) = (binary.sent_bytes, json.sent_bytes) {
        out.push(
            Metric::new(
                &format!("{vendor}_clickhouse_bytes_rowbinary_vs_json"),
                &format!("{label} → ClickHouse, RowBinary+LZ4 / JSONEachRow bytes sent"),
                b as f64 / j.max(1) as f64,
                "×",
                None,
            )
            .note("same tickets, same run"),
        );
    }
}

/// The writer-only rows: each encoding's rate and CPU, their ratio, bytes per ticket.
fn insert_metrics(
    runs: &std::collections::BTreeMap<ClickhouseEncoding, insert::InsertRun>,
    rounds: usize,
    out: &mut Vec<Metric>,
) {
    for (encoding, r) in runs {
        out.push(
            Metric::new(
                &format!("clickhouse_insert_{}", encoding.as_str()),
                &format!("ClickHouse writer alone, {}", encoding.label()),
                r.tickets_per_sec(),
                "tickets/s",
                None,
            )
            .note(format!(
                "{} in {} rounds of {}-ticket inserts, alternating{}{}",
                per_sec(r.tickets, r.secs),
                rounds,
                insert::BATCH,
                r.cpu_secs
                    .map(|c| format!("; {c:.2} CPU-s in boxoffice"))
                    .unwrap_or_default(),
                r.sent_bytes
                    .map(|b| format!(
                        "; {:.1} bytes sent per ticket",
                        b as f64 / r.tickets.max(1) as f64
                    ))
                    .unwrap_or_default()
            )),
        );
    }
    let (Some(b), Some(j)) = (
        runs.get(&ClickhouseEncoding::RowBinary),
        runs.get(&ClickhouseEncoding::JsonEachRow),
    ) else {
        return;
    };
    out.push(
        Metric::new(
            "clickhouse_insert_rowbinary_vs_json",
            "ClickHouse writer alone, RowBinary+LZ4 / JSONEachRow throughput",
            b.tickets_per_sec() / j.tickets_per_sec().max(1e-9),
            "×",
            None,
        )
        .note(format!(
            "{:.0} vs {:.0} tickets/s{}",
            b.tickets_per_sec(),
            j.tickets_per_sec(),
            b.cpu_secs
                .zip(j.cpu_secs)
                .map(|(bc, jc)| format!("; boxoffice CPU {bc:.2} vs {jc:.2} s"))
                .unwrap_or_default()
        )),
    );
}

/// Deliveries in flight at once in the throughput measurement.
const WEBHOOK_CONCURRENCY: usize = 64;

fn webhook_metrics(w: &webhook::WebhookFigures, out: &mut Vec<Metric>) {
    let samples = format!(
        "{} samples: signed delivery posted → sold figure changed on /metrics (loopback)",
        w.latencies_ms.len()
    );
    out.push(
        Metric::new(
            "webhook_to_metrics_p50_ms",
            "Webhook → /metrics latency, p50",
            w.latency_ms(0.5),
            "ms",
            None,
        )
        .note(samples.clone()),
    );
    out.push(
        Metric::new(
            "webhook_to_metrics_p99_ms",
            "Webhook → /metrics latency, p99",
            w.latency_ms(0.99),
            "ms",
            Some(Target::AtMost(1000.0)),
        )
        .note(samples),
    );
    out.push(
        Metric::new(
            "webhook_deliveries_per_sec",
            "Webhook deliveries sustained (verified, follow-up GET, stored)",
            w.per_sec(),
            "deliveries/s",
            Some(Target::AtLeast(1000.0)),
        )
        .note(format!(
            "{} deliveries, {} in flight, {:.2} s; listener rate cap raised to {}/s (burst {}) for the bench",
            w.deliveries,
            w.concurrency,
            w.elapsed.as_secs_f64(),
            w.rate_cap.0,
            w.rate_cap.1
        )),
    );
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn measure(
    sizes: &Sizes,
    exe: &std::path::Path,
    scratch: &Scratch,
    warehouses: &[Warehouse],
    insert_target: Option<&(ClickhouseConfig, Option<wire::WireMeter>)>,
    progress: &mut Progress,
) -> anyhow::Result<Vec<Metric>> {
    let mut out = Vec::new();
    let mut incremental = Vec::new();
    let mut idle: Option<safety_net::IdlePoll> = None;
    let (mut shotgun_ch, mut qtickets_ch) = (Vec::new(), Vec::new());
    for (i, w) in warehouses.iter().enumerate() {
        let encoding = match w {
            Warehouse::Clickhouse(ch, _) => Some(ch.encoding),
            Warehouse::Sqlite => None,
        };
        if sizes.wants(Part::Shotgun) {
            progress.start(&format!(
                "Shotgun: {} tickets → {}",
                boxoffice_bench::report::number(sizes.tickets as f64),
                w.name()
            ));
            let r =
                pipeline::shotgun(sizes.tickets, &scratch.sub(&format!("shotgun-{i}"))?, w).await?;
            pipeline_metrics("shotgun", "Shotgun", w, &r, &mut out);
            if i == 0 {
                incremental.push(("shotgun", "Shotgun", r.incremental.clone()));
            }
            if let Some(e) = encoding {
                shotgun_ch.push((e, r));
            }
        }
        if !sizes.wants(Part::Qtickets) {
            continue;
        }
        progress.start(&format!(
            "QTickets: {} orders → {}",
            boxoffice_bench::report::number(sizes.orders as f64),
            w.name()
        ));
        let r =
            pipeline::qtickets(sizes.orders, &scratch.sub(&format!("qtickets-{i}"))?, w).await?;
        pipeline_metrics("qtickets", "QTickets", w, &r, &mut out);
        if i == 0 {
            incremental.push(("qtickets", "QTickets", r.incremental.clone()));
            let dir = scratch.sub("qtickets-webhooks-on")?;
            idle = Some(safety_net::qtickets_idle_webhooks_on(sizes.orders, &dir).await?);
        }
        if let Some(e) = encoding {
            qtickets_ch.push((e, r));
        }
    }
    encoding_metrics("shotgun", "Shotgun", &shotgun_ch, &mut out);
    encoding_metrics("qtickets", "QTickets", &qtickets_ch, &mut out);
    for (vendor, label, s) in incremental {
        out.push(
            Metric::new(
                &format!("{vendor}_incremental_requests"),
                &format!("{label} incremental run, nothing changed"),
                s.requests as f64,
                "requests",
                Some(Target::AtMost(2.0)),
            )
            .note(format!("{} pages, {} records", s.pages, s.records)),
        );
    }
    if let Some(p) = idle {
        out.push(
            Metric::new(
                "qtickets_idle_poll_webhooks_on_requests",
                "QTickets idle poll, webhooks on",
                p.run.requests as f64,
                "requests",
                Some(Target::AtMost(2.0)),
            )
            .note(format!(
                "{} served by the simulator; new orders only, no reconcile due",
                p.served
            )),
        );
    }

    if sizes.wants(Part::Webhooks) {
        progress.start(&format!(
            "QTickets webhooks: {} latency samples, {} concurrent deliveries",
            sizes.webhook_samples, sizes.webhook_deliveries
        ));
        let w = webhook::measure(
            sizes.webhook_samples,
            sizes.webhook_deliveries,
            WEBHOOK_CONCURRENCY,
            &scratch.sub("webhooks")?,
        )
        .await?;
        webhook_metrics(&w, &mut out);
    }
    if let Some((base, meter)) = insert_target.filter(|_| sizes.wants(Part::Clickhouse)) {
        progress.start(&format!(
            "ClickHouse writer alone: {} tickets × {} rounds per encoding",
            boxoffice_bench::report::number(sizes.tickets as f64),
            sizes.insert_rounds
        ));
        let runs =
            insert::rowbinary_vs_json(base, meter.as_ref(), sizes.tickets, sizes.insert_rounds)
                .await?;
        insert_metrics(&runs, sizes.insert_rounds, &mut out);
    }
    if sizes.wants(Part::Transform) {
        progress.start("WASM vs native transform");
        let t = transform::wasm_vs_native(sizes.pages, sizes.rounds).await?;
        let size = format!(
            "{} pages, {} records, median of {} rounds",
            t.pages,
            t.records,
            t.rounds.len()
        );
        let (lo, hi) = t.ratio_spread();
        out.push(
            Metric::new(
                "transform_wasm_per_page",
                "Shotgun transform, WASM",
                t.wasm_per_page().as_secs_f64() * 1e6,
                "µs/page",
                None,
            )
            .note(size.clone()),
        );
        out.push(
            Metric::new(
                "transform_native_per_page",
                "Shotgun transform, native",
                t.native_per_page().as_secs_f64() * 1e6,
                "µs/page",
                None,
            )
            .note(size.clone()),
        );
        out.push(
            Metric::new(
                "transform_wasm_native_ratio",
                "WASM / native",
                t.ratio(),
                "×",
                Some(Target::AtMost(1.5)),
            )
            .note(format!(
                "{size}; each round times WASM then native, ratio per round ({lo:.2}–{hi:.2})"
            )),
        );
        out.push(
            Metric::new(
                "transform_decode_per_page",
                "of which decoding into host records (both sides)",
                t.decode_per_page().as_secs_f64() * 1e6,
                "µs/page",
                None,
            )
            .note("records blob → host records, buyers' HMAC pseudonyms included"),
        );
        out.push(
            Metric::new(
                "transform_ratio_without_decode",
                "WASM / native without the decoding",
                t.ratio_without_decode(),
                "×",
                None,
            )
            .note("the transform code alone, plus copying in and out"),
        );
    }
    if sizes.wants(Part::Fixed) {
        progress.start("plugin runtime fixed costs");
        let fixed = transform::fixed_costs(&scratch.sub("fixed-cache")?).await?;
        out.push(
            Metric::new(
                "plugin_compile_ms",
                "plugin compile (uncached)",
                ms(fixed.compile),
                "ms",
                None,
            )
            .note(format!(
                "shotgun.wasm, {} bytes",
                bundled::SHOTGUN.wasm.len()
            )),
        );
        out.push(
            Metric::new(
                "plugin_cached_load_ms",
                "plugin load from cache",
                ms(fixed.cached_load),
                "ms",
                None,
            )
            .note(format!("median of {}", fixed.repeats)),
        );
        out.push(
            Metric::new(
                "plugin_first_call_ms",
                "plugin instantiate + first call",
                ms(fixed.first_call),
                "ms",
                None,
            )
            .note(format!("median of {}", fixed.repeats)),
        );
    }
    if sizes.wants(Part::Python) {
        progress.start("pretix in Python beside pretix in Rust");
        let p = if sizes.quick && !sizes.only.contains(&Part::Python) {
            python::PythonBench::Skipped(
                "not measured by --quick unless asked: --quick --only python".into(),
            )
        } else {
            python::python_vs_rust(&scratch.sub("python-cache")?, sizes.rounds).await?
        };
        python_metrics(&p, &mut out);
    }
    if sizes.wants(Part::Cluster) {
        progress.start(&format!(
            "Shotgun: {} tickets → local ClickHouse cluster, then one server",
            boxoffice_bench::report::number(sizes.tickets as f64)
        ));
        let c = if sizes.quick && !sizes.only.contains(&Part::Cluster) {
            cluster::ClusterBench::Skipped(
                "not measured by --quick unless asked: --quick --only cluster".into(),
            )
        } else {
            cluster::cluster_vs_single(sizes.tickets, &scratch.sub("cluster")?).await?
        };
        cluster_metrics(&c, &mut out);
    }
    let cache = scratch.sub("plugin-cache")?;
    if sizes.wants(Part::Coldstart) {
        progress.start("cold start of `boxoffice run` (twice)");
        let c = coldstart::cold_start(&boxoffice_exe(exe)?, scratch.path(), &cache).await?;
        out.push(
            Metric::new(
                "cold_start_ms",
                "cold start to first /metrics (warm plugin cache)",
                ms(c.warm_cache),
                "ms",
                Some(Target::AtMost(200.0)),
            )
            .note("second start; fresh state directory"),
        );
        out.push(
            Metric::new(
                "cold_start_empty_cache_ms",
                "cold start to first /metrics (empty plugin cache)",
                ms(c.empty_cache),
                "ms",
                None,
            )
            .note("first start: compiles both bundled plugins"),
        );
    }
    if !sizes.wants(Part::Backfill) {
        return Ok(out);
    }
    progress.start(&format!(
        "backfill of {} tickets in a child process (peak RSS)",
        boxoffice_bench::report::number(sizes.backfill_tickets as f64)
    ));
    // The cold starts filled `cache`; make sure every bundled plugin is in it anyway, so the
    // backfill measures a restart, not a first compile. The child is given the directory as
    // BOXOFFICE_CACHE_DIR, under which components live in `plugins/` (`default_cache_dir`).
    let rt = PluginRuntime::new(PluginLimits::default(), Some(cache.join("plugins")))?;
    for b in bundled::ALL {
        rt.load(b.name, b.wasm).await?;
    }
    let b = backfill::measure(exe, sizes.backfill_tickets, scratch.path(), &cache).await?;
    let mb = |kb: u64| kb as f64 / 1024.0;
    let mut note = format!("{}, {} pages", per_sec(b.tickets, b.secs), b.pages);
    if let Some(h) = b.sync_hwm_kb {
        note += &format!("; {:.1} MB at the end of the sync", mb(h));
    }
    if let Some(s) = b.sim_rss_kb {
        note += &format!("; simulator ({:.0} MB) in another process", mb(s));
    }
    out.push(
        Metric::new(
            "backfill_peak_rss_mb",
            "backfill peak RSS",
            mb(b.peak_rss_kb),
            "MB",
            Some(Target::AtMost(64.0)),
        )
        .note(note),
    );
    out.push(
        Metric::new(
            "backfill_tickets_per_sec",
            "backfill throughput (Shotgun → SQLite)",
            b.tickets as f64 / b.secs.max(1e-9),
            "tickets/s",
            None,
        )
        .note(per_sec(b.tickets, b.secs)),
    );
    out.extend(backfill::scrape_metrics(&b));
    Ok(out)
}

/// The cluster row beside the single server (information, no target), or one row saying why
/// it was skipped.
fn cluster_metrics(c: &cluster::ClusterBench, out: &mut Vec<Metric>) {
    let (cl, single, (shards, replicas)) = match c {
        cluster::ClusterBench::Skipped(why) => {
            eprintln!("ClickHouse cluster: skipped: {why}");
            out.push(
                Metric::new(
                    "shotgun_pipeline_clickhouse_cluster_skipped",
                    "Shotgun → ClickHouse cluster: skipped (see the note)",
                    f64::NAN,
                    "",
                    None,
                )
                .note(format!("skipped: {why}")),
            );
            return;
        }
        cluster::ClusterBench::Measured {
            cluster,
            single,
            shape,
        } => (cluster, single, *shape),
    };
    out.push(
        Metric::new(
            "shotgun_pipeline_clickhouse_cluster",
            &format!("Shotgun pipeline → local ClickHouse cluster ({shards}×{replicas})"),
            cl.tickets_per_sec(),
            "tickets/s",
            None,
        )
        .note(format!(
            "{}; one sync through the Distributed tables, ZooKeeper replication, same run as the single server",
            per_sec(cl.tickets, cl.secs)
        )),
    );
    out.push(
        Metric::new(
            "shotgun_pipeline_clickhouse_single_server",
            "Shotgun pipeline → one local ClickHouse server",
            single.tickets_per_sec(),
            "tickets/s",
            None,
        )
        .note(per_sec(single.tickets, single.secs)),
    );
    out.push(
        Metric::new(
            "shotgun_clickhouse_cluster_vs_single",
            "Shotgun → ClickHouse, cluster / one server throughput",
            cl.tickets_per_sec() / single.tickets_per_sec().max(1e-9),
            "×",
            None,
        )
        .note("same tickets, same run, cluster first"),
    );
}

/// The rows of the Python-beside-Rust measurement (information, no target); one row saying
/// why when the Python component is absent.
fn python_metrics(p: &python::PythonBench, out: &mut Vec<Metric>) {
    let (py, rs) = match p {
        python::PythonBench::Skipped(why) => {
            eprintln!("pretix in Python: skipped: {why}");
            out.push(
                Metric::new(
                    "pretix_py_skipped",
                    "pretix in Python: skipped (see the note)",
                    f64::NAN,
                    "",
                    None,
                )
                .note(format!("skipped: {why}")),
            );
            return;
        }
        python::PythonBench::Measured { python, rust } => (python, rust),
    };
    for (id, label, c) in [
        ("pretix_py", "pretix, Python", py),
        ("pretix_rust", "pretix, Rust", rs),
    ] {
        out.push(
            Metric::new(
                &format!("{id}_compile_ms"),
                &format!("{label}: compile (uncached)"),
                ms(c.compile),
                "ms",
                None,
            )
            .note(format!("{} bytes", c.size_bytes)),
        );
        out.push(
            Metric::new(
                &format!("{id}_first_call_ms"),
                &format!("{label}: instantiate + first call"),
                ms(c.first_call),
                "ms",
                None,
            )
            .note(format!("median of {}", c.repeats)),
        );
        out.push(
            Metric::new(
                &format!("{id}_per_page_us"),
                &format!("{label}: handle per page"),
                c.per_page.as_secs_f64() * 1e6,
                "µs/page",
                None,
            )
            .note(format!(
                "pretix fixture first-sync: {} pages, {} records, records decoded and pseudonymized",
                c.pages, c.records
            )),
        );
    }
    out.push(
        Metric::new(
            "pretix_py_rust_page_ratio",
            "pretix per page, Python / Rust",
            py.per_page.as_secs_f64() / rs.per_page.as_secs_f64().max(1e-12),
            "×",
            None,
        )
        .note("typed records (Python) against the encoded blob (Rust)"),
    );
}
