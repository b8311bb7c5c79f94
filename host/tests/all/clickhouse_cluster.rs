//! The sharded warehouse end to end: a local cluster (ZooKeeper + 2 shards × 2 replicas of
//! Debian's clickhouse-server, `boxoffice_testkit::ClickhouseCluster`), eight Shotgun
//! simulators (one organizer each) and real `boxoffice` processes:
//! 1. two concurrent `boxoffice migrate`s (on different servers) apply each migration once;
//! 2. two daemons, `--shard 0/2` and `--shard 1/2`, each with its own state, sync the eight
//!    accounts while one replica is stopped, then restarted: per-account figures through the
//!    `Distributed` tables and the `sales_daily` view equal the simulators' truth after
//!    `FINAL`, each account was synced by exactly one daemon (each daemon's `job_runs`), the
//!    restarted replica caught up;
//! 3. the `1/2` daemon is SIGKILLed while the simulators sell more, and a replacement with the
//!    same `--shard 1/2` and a fresh state takes its accounts over: totals exact, no
//!    duplicates after `FINAL`, the `0/2` daemon never touched them;
//! 4. a shard map change: both stopped, more sales, one daemon as `--shard 0/1` takes every
//!    account (re-reading the moved ones from the start, the documented story): exact again.
//!
//! Skipped (printed) without clickhouse-server, Java or ZooKeeper unless
//! `BOXOFFICE_REQUIRE_SERVERS=1`. Its wall time is printed at the end (`whole test:`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use boxoffice::config::shard::Shard;
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use boxoffice_testkit::clickhouse::ClickhouseEndpoint;
use boxoffice_testkit::{free_port, ClickhouseCluster};

const DB: &str = "boxoffice_cluster";
const ACCOUNTS: usize = 8;

struct Sim {
    name: String,
    sim: ShotgunSim,
    base: String,
}

fn config(
    dir: &Path,
    tag: &str,
    ch: &ClickhouseEndpoint,
    cluster: Option<&str>,
    sims: &[Sim],
) -> PathBuf {
    let pw = dir.join("ch_password");
    std::fs::write(&pw, &ch.password).unwrap();
    let mut toml = format!(
        r#"
state_dir = "{state}"
listen_port = {port}
max_requests_per_minute = 0
[clickhouse]
host = "{url}"
user = "{user}"
password = {{ file = "{pw}" }}
database = "{DB}"
"#,
        state = dir.join(format!("state-{tag}")).display(),
        port = free_port(),
        url = ch.url,
        user = ch.user,
        pw = pw.display(),
    );
    if let Some(c) = cluster {
        toml.push_str(&format!("cluster = \"{c}\"\n"));
    }
    for s in sims {
        let tok = dir.join(format!("token-{}", s.name));
        std::fs::write(&tok, s.sim.token()).unwrap();
        toml.push_str(&format!(
            r#"
[[account]]
vendor = "shotgun"
name = "{name}"
interval_secs = 1
settings = {{ organizer_id = "{org}", base_url = "{base}", events_base_url = "{base}" }}
secrets = {{ token = {{ file = "{tok}" }} }}
"#,
            name = s.name,
            org = s.sim.organizer_id(),
            base = s.base,
            tok = tok.display(),
        ));
    }
    let path = dir.join(format!("{tag}.toml"));
    std::fs::write(&path, toml).unwrap();
    path
}

fn boxoffice(dir: &Path, args: &[&str], config: &Path, log: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .env("BOXOFFICE_CACHE_DIR", dir.join("cache"))
        .env_remove("BOXOFFICE_SHARD")
        .env_remove("CLICKHOUSE_HOST")
        .env_remove("CLICKHOUSE_CLUSTER")
        .stdout(std::fs::File::create(dir.join(format!("{log}.out"))).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("{log}.log"))).unwrap());
    cmd
}

fn daemon(dir: &Path, config: &Path, shard: &str, log: &str) -> Child {
    boxoffice(dir, &["run", "--shard", shard], config, log)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn kill9(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// Eight Shotgun simulators (one organizer each), served on loopback until the test ends.
async fn simulators(tickets: impl Fn(u64) -> u64) -> Vec<Sim> {
    let start_ms = boxoffice::clock::now_ms() - 2 * 86_400_000;
    let mut sims = Vec::new();
    for i in 0..ACCOUNTS as u64 {
        let sim = ShotgunSim::new(ShotgunConfig {
            organizer_id: 200_001 + i,
            token: format!("sim-shotgun-token-cluster-{i}"),
            tickets: tickets(i),
            seed: 7 + i,
            start_ms,
            ..Default::default()
        });
        let srv = sim.spawn().await.unwrap();
        let base = srv.base_url();
        // Served until the process ends.
        std::mem::forget(srv);
        sims.push(Sim {
            name: format!("org{i}"),
            sim,
            base,
        });
    }
    sims
}

fn shared_key(d: &Path, tags: &[&str]) {
    let key: [u8; 32] = rand::random();
    for tag in tags {
        use std::os::unix::fs::PermissionsExt;
        let state = d.join(format!("state-{tag}"));
        std::fs::create_dir_all(&state).unwrap();
        std::fs::write(state.join("pseudonym.key"), key).unwrap();
        std::fs::set_permissions(
            state.join("pseudonym.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
}

/// (rows, distinct tickets) per account in `tickets FINAL`, through the Distributed table.
fn per_account(ch: &ClickhouseEndpoint) -> Vec<(String, u64, u64)> {
    let Ok(body) = ch.query_in(
        DB,
        "SELECT account, count(), uniqExact(ticket_id) FROM tickets FINAL GROUP BY account ORDER BY account",
    ) else {
        return Vec::new();
    };
    body.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

fn complete(ch: &ClickhouseEndpoint, sims: &[Sim]) -> bool {
    let got = per_account(ch);
    sims.iter().all(|s| {
        got.iter()
            .any(|(a, n, _)| a == &s.name && *n == s.sim.ticket_count())
    })
}

fn wait_until(what: &str, limit: Duration, dir: &Path, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        if Instant::now() > deadline {
            let logs: String = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                .map(|e| {
                    let t = std::fs::read_to_string(e.path()).unwrap_or_default();
                    let tail: Vec<&str> = t.lines().rev().take(15).collect();
                    format!("--- {}\n{}", e.path().display(), tail.join("\n"))
                })
                .collect();
            panic!("{what}: not within {limit:?}\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Accounts with a finished sync in a daemon's own state.
fn synced_accounts(state: &Path) -> BTreeSet<String> {
    let c = rusqlite::Connection::open_with_flags(
        state.join("state.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = c
        .prepare("SELECT DISTINCT account FROM job_runs WHERE finished_at IS NOT NULL")
        .unwrap();
    let rows = st
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    rows
}

/// A daemon's `/metrics` text (the `listen_port` of its config file), over plain HTTP/1.0.
fn scrape(config: &Path) -> String {
    use std::io::{Read, Write};
    let toml = std::fs::read_to_string(config).unwrap();
    let port: u16 = toml
        .lines()
        .find_map(|l| l.strip_prefix("listen_port = "))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no listen_port in {}", config.display()));
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// sales_daily (the view, over the Distributed table) against each simulator's truth; the
/// first difference, or None.
fn figures_differ(ch: &ClickhouseEndpoint, sims: &[Sim]) -> Option<String> {
    let got = match ch.query_in(
        DB,
        "SELECT account, sum(tickets_sold), sum(tickets_refunded), sum(revenue_minor) \
         FROM sales_daily GROUP BY account ORDER BY account",
    ) {
        Ok(b) => b,
        Err(e) => return Some(format!("sales_daily: {e:#}")),
    };
    for s in sims {
        let truth = s.sim.truth();
        let want = format!(
            "{}\t{}\t{}\t{}",
            s.name,
            truth.iter().map(|r| r.sold).sum::<u64>(),
            truth.iter().map(|r| r.refunded).sum::<u64>(),
            truth.iter().map(|r| r.revenue_minor).sum::<i64>(),
        );
        if !got.lines().any(|l| l == want) {
            return Some(format!(
                "account {}: the simulator says {want:?}, sales_daily:\n{got}",
                s.name
            ));
        }
    }
    for (a, n, distinct) in per_account(ch) {
        if n != distinct {
            return Some(format!(
                "account {a}: {n} rows for {distinct} tickets after FINAL"
            ));
        }
    }
    None
}

fn assert_figures_equal_truth(ch: &ClickhouseEndpoint, sims: &[Sim]) {
    if let Some(diff) = figures_differ(ch, sims) {
        panic!("{diff}");
    }
}

/// Every replica of every shard holds its shard's rows once it caught up.
fn replicas_agree(c: &ClickhouseCluster) -> bool {
    let count = |i: usize| {
        let e = c.endpoint(i);
        let _ = e.query_in(DB, "SYSTEM SYNC REPLICA tickets_local");
        e.query_in(DB, "SELECT count() FROM tickets_local FINAL")
            .map(|b| b.trim().to_string())
            .unwrap_or_default()
    };
    (0..c.shards()).all(|s| {
        let first = count(s * c.replicas());
        !first.is_empty() && (1..c.replicas()).all(|r| count(s * c.replicas() + r) == first)
    })
}

/// The simulators' runtime: the test bodies stay synchronous (the testkit's blocking HTTP
/// client must not run inside a runtime).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn two_sharded_daemons_into_a_replicated_cluster() {
    let test = "two_sharded_daemons_into_a_replicated_cluster";
    let t_test = Instant::now();
    let mut cluster = match ClickhouseCluster::start(2, 2) {
        Ok(Some(c)) => c,
        Ok(None) => {
            boxoffice_testkit::skip_or_fail(test, "clickhouse-server, java or zookeeper missing");
            return;
        }
        Err(e) => panic!("{test}: starting the cluster: {e:#}"),
    };
    println!(
        "cluster 2x2 + ZooKeeper started in {:?}",
        cluster.started_in()
    );
    let name = cluster.name();
    let rt = runtime();
    let sims = rt.block_on(simulators(|i| 300 + 40 * i));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Daemon A talks to shard 1's first replica, daemon B to shard 2's.
    let (ch_a, ch_b) = (cluster.endpoint(0), cluster.endpoint(2));
    // One pseudonym key for every shard (a Secret in deploy/k8s): a buyer keeps one pseudonym
    // whichever daemon syncs the account.
    shared_key(d, &["a", "b"]);
    let cfg_a = config(d, "a", &ch_a, Some(name), &sims);
    let cfg_b = config(d, "b", &ch_b, Some(name), &sims);

    // 1. Two migrators at once, on two servers: each migration applied once.
    let t0 = Instant::now();
    let mut m1 = boxoffice(d, &["migrate"], &cfg_a, "migrate-a")
        .spawn()
        .unwrap();
    let mut m2 = boxoffice(d, &["migrate"], &cfg_b, "migrate-b")
        .spawn()
        .unwrap();
    assert!(
        m1.wait().unwrap().success(),
        "{}",
        std::fs::read_to_string(d.join("migrate-a.log")).unwrap()
    );
    assert!(
        m2.wait().unwrap().success(),
        "{}",
        std::fs::read_to_string(d.join("migrate-b.log")).unwrap()
    );
    println!("two concurrent cluster migrations: {:?}", t0.elapsed());
    let applied_now = |log: &str| -> usize {
        let out = std::fs::read_to_string(d.join(format!("{log}.out"))).unwrap();
        let line = out
            .lines()
            .find(|l| l.contains(" applied now"))
            .unwrap_or_else(|| panic!("{out}"));
        line.split(": ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let known = boxoffice::sink::clickhouse::MIGRATIONS.len();
    assert_eq!(
        applied_now("migrate-a") + applied_now("migrate-b"),
        known,
        "each migration applied exactly once"
    );
    for i in 0..cluster.nodes().len() {
        let e = cluster.endpoint(i);
        e.query_in(DB, "SYSTEM SYNC REPLICA boxoffice_migrations")
            .unwrap();
        assert_eq!(
            e.query_in(
                DB,
                "SELECT count(), uniqExact(version) FROM boxoffice_migrations"
            )
            .unwrap()
            .trim(),
            format!("{known}\t{known}"),
            "node {i}: one ledger row per migration, replicated"
        );
        assert_eq!(
            e.query(&format!(
                "SELECT count() FROM system.tables WHERE database = '{DB}' \
                 AND name LIKE 'boxoffice_migration_lock%'"
            ))
            .unwrap()
            .trim(),
            "0",
            "node {i}: the migration lock was released"
        );
    }

    // 2. Two sharded daemons; shard 1's second replica (node 1) goes down during the sync.
    let t_sync = Instant::now();
    let a = daemon(d, &cfg_a, "0/2", "daemon-a");
    let b = daemon(d, &cfg_b, "1/2", "daemon-b");
    std::thread::sleep(Duration::from_millis(300));
    cluster.stop_node(1);
    wait_until(
        "all eight accounts in the cluster",
        Duration::from_secs(90),
        d,
        || complete(&ch_b, &sims),
    );
    let total: u64 = sims.iter().map(|s| s.sim.ticket_count()).sum();
    let secs = t_sync.elapsed().as_secs_f64();
    println!(
        "cluster sync: {total} tickets by two daemons in {secs:.2}s ({:.0} tickets/s, start-up included)",
        total as f64 / secs
    );
    cluster.start_node(1).unwrap();
    wait_until(
        "the restarted replica caught up",
        Duration::from_secs(60),
        d,
        || replicas_agree(&cluster),
    );
    assert_figures_equal_truth(&ch_a, &sims);
    assert_figures_equal_truth(&cluster.endpoint(1), &sims);
    let (by_a, by_b) = (
        synced_accounts(&d.join("state-a")),
        synced_accounts(&d.join("state-b")),
    );
    for s in &sims {
        let owner = Shard::of("shotgun", &s.name, 2);
        assert_eq!(
            by_a.contains(&s.name),
            owner == 0,
            "{}: daemon 0/2 {by_a:?}",
            s.name
        );
        assert_eq!(
            by_b.contains(&s.name),
            owner == 1,
            "{}: daemon 1/2 {by_b:?}",
            s.name
        );
    }
    assert!(
        !by_a.is_empty() && !by_b.is_empty(),
        "both shards own accounts: {by_a:?} {by_b:?}"
    );
    // Each daemon's /metrics names its shard, once.
    for (cfg, want) in [
        (&cfg_a, "shard=\"0\",shards=\"2\""),
        (&cfg_b, "shard=\"1\",shards=\"2\""),
    ] {
        let text = scrape(cfg);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("boxoffice_shard_info{"))
            .collect();
        assert_eq!(
            lines,
            [format!("boxoffice_shard_info{{{want}}} 1")],
            "{}",
            text.lines().take(5).collect::<Vec<_>>().join("\n")
        );
    }

    // 3. Daemon B is SIGKILLed while the simulators sell more; a replacement with the same
    //    `--shard 1/2` and a fresh state (a pod rescheduled without its volume, what
    //    docs/scaling.md promises is enough) takes over its accounts, re-reading them from
    //    the start; daemon A keeps running its own.
    let t_takeover = Instant::now();
    for s in &sims {
        s.sim.advance(30);
    }
    std::thread::sleep(Duration::from_millis(400));
    kill9(b);
    shared_key(d, &["b2"]);
    let cfg_b2 = config(d, "b2", &ch_b, Some(name), &sims);
    let b2 = daemon(d, &cfg_b2, "1/2", "daemon-b2");
    let shard1: BTreeSet<String> = sims
        .iter()
        .filter(|s| Shard::of("shotgun", &s.name, 2) == 1)
        .map(|s| s.name.clone())
        .collect();
    wait_until(
        "the replacement 1/2 daemon synced its shard",
        Duration::from_secs(60),
        d,
        || complete(&ch_a, &sims) && synced_accounts(&d.join("state-b2")) == shard1,
    );
    wait_until(
        "figures after the takeover",
        Duration::from_secs(30),
        d,
        || figures_differ(&ch_a, &sims).is_none(),
    );
    assert_figures_equal_truth(&ch_a, &sims);
    assert!(
        synced_accounts(&d.join("state-a")).is_disjoint(&shard1),
        "daemon 0/2 never synced a 1/2 account"
    );
    println!(
        "SIGKILL of the 1/2 daemon, replacement with a fresh state: exact in {:?}",
        t_takeover.elapsed()
    );

    // 4. A shard map change (docs/scaling.md): stop both, more sales, one daemon as `0/1`
    //    takes every account (the moved ones re-read from the start): totals exact.
    kill9(b2);
    kill9(a);
    for s in &sims {
        s.sim.advance(45);
    }
    let a2 = daemon(d, &cfg_a, "0/1", "daemon-a2");
    wait_until(
        "the new map synced every account",
        Duration::from_secs(60),
        d,
        || complete(&ch_a, &sims) && synced_accounts(&d.join("state-a")).len() == ACCOUNTS,
    );
    wait_until(
        "figures after the map change",
        Duration::from_secs(30),
        d,
        || figures_differ(&ch_a, &sims).is_none(),
    );
    assert_figures_equal_truth(&ch_a, &sims);
    kill9(a2);
    println!("whole test: {:?}", t_test.elapsed());
}

// The cluster beside one server as a figure: `boxoffice bench --only cluster` (bench/src/cluster.rs).
