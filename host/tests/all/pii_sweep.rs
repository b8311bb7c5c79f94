//! The PII sweep as a CI gate (issue 15, item 6): both vendors' simulators go through the real
//! `boxoffice` binary — `sync` into the SQLite warehouse, `sync` into a real ClickHouse, the
//! daemon (`run`) serving `/metrics`, `bench --quick` writing its report — with `RUST_LOG=trace`
//! logs kept in files and a backup of every SQLite file (`VACUUM INTO`: `boxoffice` has no
//! backup command of its own). Then every byte is scanned: every file under the run's directory
//! (state, warehouse, `-wal`/`-shm`, the plugin cache, logs, the scrapes, bench output, backup),
//! every ClickHouse table and view of the database the migrations made, and the server's data
//! parts when readable. The needles are the simulators' canaries and what each actually served:
//! Shotgun's scan codes and buyer e-mails from its model, every personal value of QTickets'
//! orders as its API answers them (e-mails, phones, names, barcodes, uniqids, pay, cancel and
//! ticket URLs and their tokens, card fragments, social ids, company fields), and every secret
//! (both vendor tokens, the ClickHouse passwords), each in the encodings of `common/sweep.rs`.
//! A hit fails the test naming the place, the byte offset (row and column in a table) and the
//! needle; the summary line gives bytes scanned, places and hits.
//!
//! The scanner is tested on planted canaries: after the clean sweep, one barcode is written
//! into a file of the state dir and into a row of a new table of the same ClickHouse database,
//! and the same sweep must report exactly those two hits, at their offset and cell.

use crate::common::sweep;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use boxoffice_sim::canary;
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use boxoffice_testkit::clickhouse::{shared_endpoint, ClickhouseEndpoint, READER_PASSWORD};
use boxoffice_testkit::free_port;
use sweep::{ClickhouseScan, Hit, Needles, Scanner};

const SHOTGUN_TOKEN: &str = "sweep-shotgun-token-SECRET-7f3a";

/// The `boxoffice` command with the sweep's environment: both simulators as the vendors,
/// `state` as the state dir, trace logs; no developer config or ClickHouse unless added.
fn boxoffice(root: &Path, state: &str, vendors: &Vendors) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    // BOXOFFICE_PLUGIN_DIR: cargo hands the build script's value (the directory of every
    // built connector, the misbehaving testbed included) to test processes; a deployment has
    // the bundled connectors only.
    for k in [
        "BOXOFFICE_CONFIG",
        "BOXOFFICE_PLUGIN_DIR",
        "CLICKHOUSE_HOST",
        "CLICKHOUSE_PORT",
        "CLICKHOUSE_USER",
        "CLICKHOUSE_PASSWORD",
        "CLICKHOUSE_DATABASE",
    ] {
        c.env_remove(k);
    }
    c.env("SHOTGUN_TOKEN", SHOTGUN_TOKEN)
        .env(
            "SHOTGUN_ORGANIZER_ID",
            vendors.shotgun.organizer_id().to_string(),
        )
        .env("SHOTGUN_BASE_URL", &vendors.shotgun_url)
        .env("SHOTGUN_EVENTS_BASE_URL", &vendors.shotgun_url)
        .env("QTICKETS_TOKEN", vendors.qtickets.token())
        .env("QTICKETS_BASE_URL", &vendors.qtickets_url)
        .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0")
        .env("BOXOFFICE_STATE_DIR", root.join(state))
        .env("BOXOFFICE_CACHE_DIR", root.join("cache"))
        .env("BOXOFFICE_LOG_FORMAT", "text")
        .env("RUST_LOG", "trace");
    c
}

struct Vendors {
    shotgun: ShotgunSim,
    shotgun_url: String,
    qtickets: QticketsSim,
    qtickets_url: String,
}

/// Runs `cmd` to completion, its stderr (the logs) into `root/logs/<name>.log` and stdout into
/// `root/logs/<name>.out`; panics with the log's tail when it fails.
fn run_logged(root: &Path, name: &str, mut cmd: Command) {
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let err = logs.join(format!("{name}.log"));
    let out = cmd
        .stdout(std::fs::File::create(logs.join(format!("{name}.out"))).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    assert!(out.success(), "{name}: {out:?}\n{}", tail(&err));
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Every personal value QTickets serves, read from its API as a connector would (all order
/// pages), keyed by field: the sweep's needles are what the simulator actually sent.
async fn qtickets_served(v: &Vendors) -> Vec<(String, String)> {
    /// Fields holding personal data or secrets (the order, its client and each basket).
    const PII: &[&str] = &[
        "email",
        "client_email",
        "phone",
        "client_phone",
        "name",
        "surname",
        "middlename",
        "client_name",
        "client_surname",
        "client_middlename",
        "vk_id",
        "facebook_id",
        "barcode",
        "uniqid",
        "payment_url",
        "cancel_url",
        "pdf_url",
        "passbook_url",
        "payment_card_number",
        "organization_name",
        "legal_name",
        "work_position",
        "inn",
        "kpp",
        "company",
        "comment",
    ];
    fn walk(v: &serde_json::Value, key: &str, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    walk(x, k, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, key, out)),
            serde_json::Value::String(s) if PII.contains(&key) && !s.is_empty() => {
                out.push((key.to_string(), s.clone()));
            }
            _ => {}
        }
    }
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for page in 1.. {
        let body: serde_json::Value = client
            .get(format!("{}/orders", v.qtickets_url))
            .bearer_auth(v.qtickets.token())
            .body(serde_json::json!({ "page": page }).to_string())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let data = body["data"].as_array().expect("orders page").clone();
        if data.is_empty() {
            break;
        }
        walk(&serde_json::Value::Array(data), "", &mut out);
    }
    out
}

/// The needles: canaries, what each simulator served, every secret.
async fn needles(v: &Vendors, ch: Option<&ClickhouseEndpoint>) -> (Needles, Vec<String>) {
    let mut n = Needles::new();
    for c in canary::ALL {
        n.value("canary", c);
    }
    n.value("canary", "canary");
    n.value("canary domain", "@example.invalid");
    n.value("shotgun company", &format!("{} Corp", canary::NAME));
    let mut scan_codes = 0;
    v.shotgun.for_each_ticket(|t| {
        n.code("shotgun scan code", &ShotgunSim::scan_code(t.ticket_id));
        n.value("shotgun e-mail", &canary::email(t.user_id));
        scan_codes += 1;
    });
    assert!(scan_codes > 1_000, "{scan_codes} Shotgun tickets");
    let served = qtickets_served(v).await;
    let mut barcodes = Vec::new();
    for (field, value) in &served {
        match field.as_str() {
            "barcode" => {
                n.code("qtickets barcode", value);
                barcodes.push(value.clone());
            }
            // All zeros: only as a number of its own, not inside a longer one.
            "inn" | "kpp" => n.exact(&format!("qtickets {field}"), value.as_bytes(), true),
            f if f.ends_with("_url") => {
                n.value(&format!("qtickets {f}"), value);
                // The path's tokens and uniqid on their own (a URL cut or re-assembled).
                for seg in value.split('/').filter(|s| s.len() >= 10) {
                    if !seg.contains('.') {
                        n.value(&format!("qtickets {f} token"), seg);
                    }
                }
            }
            f => n.value(&format!("qtickets {f}"), value),
        }
    }
    // Every barcode the simulator ever issued, also those a cancel nulled before we read.
    for b in v.qtickets.barcodes() {
        n.code("qtickets barcode", &b);
    }
    assert!(barcodes.len() > 500, "{} barcodes served", barcodes.len());
    n.value("secret shotgun token", SHOTGUN_TOKEN);
    n.value("secret qtickets token", &v.qtickets.token());
    n.value("secret clickhouse reader password", READER_PASSWORD);
    if let Some(ch) = ch {
        n.value("secret clickhouse password", &ch.password);
    }
    (n, barcodes)
}

/// Waits for the daemon's `/metrics` to count every Shotgun ticket the simulator holds, then
/// keeps both scrape formats and `/healthz` under `root/scrape/`.
async fn scrape(root: &Path, port: u16, want_sold: u64) -> String {
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let sold = |m: &str| -> u64 {
        m.lines()
            .filter(|l| l.starts_with("boxoffice_tickets_sold_total{") && l.contains("shotgun"))
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<f64>().unwrap() as u64)
            .sum()
    };
    let mut text = String::new();
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{url}/metrics")).send().await {
            text = r.text().await.unwrap();
            if sold(&text) == want_sold && text.contains("vendor=\"qtickets\"") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(sold(&text), want_sold, "/metrics never caught up:\n{text}");
    let dir = root.join("scrape");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("metrics.txt"), &text).unwrap();
    let open = client
        .get(format!("{url}/metrics"))
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    std::fs::write(dir.join("metrics.openmetrics"), open).unwrap();
    let health = client.get(format!("{url}/healthz")).send().await.unwrap();
    std::fs::write(dir.join("healthz"), health.text().await.unwrap()).unwrap();
    text
}

/// `VACUUM INTO root/backup/<dir>-<file>` for every SQLite file of `dirs`.
fn backup(root: &Path, dirs: &[&str]) -> Vec<PathBuf> {
    let out = root.join("backup");
    std::fs::create_dir_all(&out).unwrap();
    let mut made = Vec::new();
    for d in dirs {
        for e in std::fs::read_dir(root.join(d)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "sqlite") {
                let to = out.join(format!(
                    "{}-{}",
                    d.replace('/', "-"),
                    p.file_name().unwrap().to_string_lossy()
                ));
                let db = rusqlite::Connection::open(&p).unwrap();
                db.execute("VACUUM INTO ?1", [to.to_str().unwrap()])
                    .unwrap();
                made.push(to);
            }
        }
    }
    made
}

fn tree_bytes(p: &Path) -> u64 {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::read_dir(p)
            .unwrap()
            .map(|e| tree_bytes(&e.unwrap().path()))
            .sum(),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// The sweep over everything: the run's directory, and ClickHouse `db` when there is one.
fn sweep(
    scanner: &mut Scanner,
    root: &Path,
    ch: Option<(&ClickhouseEndpoint, &str)>,
) -> ClickhouseScan {
    scanner.scan_tree(root).unwrap();
    let Some((ch, db)) = ch else {
        return ClickhouseScan::default();
    };
    let scan = scanner.scan_clickhouse(ch, db).unwrap();
    assert!(scan.tables >= 5, "ClickHouse database {db}: {scan:?}");
    assert!(
        scan.dump_bytes > 100_000,
        "ClickHouse database {db}: {scan:?}"
    );
    scan
}

#[tokio::test(flavor = "multi_thread")]
async fn no_pii_in_any_byte_boxoffice_wrote() {
    let started = Instant::now();
    let ch = shared_endpoint("no_pii_in_any_byte_boxoffice_wrote");
    let root_dir = tempfile::Builder::new()
        .prefix("boxoffice-sweep-")
        .tempdir()
        .unwrap();
    let root = root_dir.path();
    let shotgun = ShotgunSim::new(ShotgunConfig {
        tickets: 1_500,
        token: SHOTGUN_TOKEN.into(),
        ..Default::default()
    });
    let qtickets = QticketsSim::new(QticketsConfig {
        orders: 600,
        changes_per_minute: 4.0,
        ..Default::default()
    });
    let shotgun_srv = shotgun.spawn().await.unwrap();
    let qtickets_srv = qtickets.spawn().await.unwrap();
    let v = Vendors {
        shotgun_url: shotgun_srv.base_url(),
        qtickets_url: format!("{}/api/rest/v1", qtickets_srv.base_url()),
        shotgun,
        qtickets,
    };

    // The plugin cache first, at info level: Cranelift's trace output of compiling the two
    // connectors is ~170 MB of compiler notes (no vendor data passes through a compile) and
    // would double the sweep's time. Everything after this runs at trace.
    let mut warm = boxoffice(root, "warm-state", &v);
    warm.args(["plugins", "list"]).env("RUST_LOG", "info");
    let r = root.to_path_buf();
    tokio::task::spawn_blocking(move || run_logged(&r, "plugins-list", warm))
        .await
        .unwrap();

    // (a) the SQLite warehouse, (b) ClickHouse: a sync, a change, another sync.
    let db = ch
        .as_ref()
        .map(|ch| ch.fresh_database("pii_sweep").unwrap());
    for round in 1..=2 {
        let cmd = {
            let mut c = boxoffice(root, "sqlite", &v);
            c.arg("sync");
            c
        };
        let r = root.to_path_buf();
        tokio::task::spawn_blocking(move || run_logged(&r, &format!("sync-sqlite-{round}"), cmd))
            .await
            .unwrap();
        if let (Some(ch), Some(db)) = (&ch, &db) {
            let mut c = boxoffice(root, "clickhouse", &v);
            c.arg("sync")
                .env("CLICKHOUSE_HOST", &ch.url)
                .env("CLICKHOUSE_USER", &ch.user)
                .env("CLICKHOUSE_PASSWORD", &ch.password)
                .env("CLICKHOUSE_DATABASE", db);
            let r = root.to_path_buf();
            tokio::task::spawn_blocking(move || {
                run_logged(&r, &format!("sync-clickhouse-{round}"), c)
            })
            .await
            .unwrap();
        }
        v.shotgun.advance(60);
        v.qtickets.advance(60);
    }

    // The daemon on the SQLite state: its first sync picks up the last change; /metrics.
    let port = free_port();
    let logs = root.join("logs");
    let mut daemon = boxoffice(root, "sqlite", &v)
        .arg("run")
        .env("EXPORTER_PORT", port.to_string())
        .env("SCRAPE_INTERVAL", "1")
        .stdout(std::fs::File::create(logs.join("daemon.out")).unwrap())
        .stderr(std::fs::File::create(logs.join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    let want_sold: u64 = v.shotgun.truth().iter().map(|r| r.sold).sum();
    let metrics = scrape(root, port, want_sold).await;
    let killed = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || daemon.wait().unwrap())
        .await
        .unwrap();
    assert!(
        status.success(),
        "daemon: {status:?}\n{}",
        tail(&logs.join("daemon.log"))
    );

    // bench: its smallest mode, the Shotgun pipeline, its report into the run's directory.
    let mut bench = boxoffice(root, "bench-state", &v);
    bench
        .args([
            "bench",
            "--quick",
            "--only",
            "shotgun",
            "--tickets",
            "500",
            "--out",
        ])
        .arg(root.join("bench"))
        .current_dir(root);
    let r = root.to_path_buf();
    tokio::task::spawn_blocking(move || run_logged(&r, "bench", bench))
        .await
        .unwrap();
    let backups = backup(root, &["sqlite", "clickhouse"]);

    // What the sweep must see, or it proves nothing.
    let wh = rusqlite::Connection::open(root.join("sqlite/state.sqlite")).unwrap();
    let tickets: u64 = wh
        .query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
        .unwrap();
    assert!(tickets > 2_000, "{tickets} tickets in the SQLite warehouse");
    let trace = std::fs::read_to_string(logs.join("sync-sqlite-1.log")).unwrap();
    assert!(trace.contains("TRACE"), "trace-level logs were written");
    assert!(metrics.contains("boxoffice_tickets_sold_total"));
    assert!(
        std::fs::read_dir(root.join("bench")).unwrap().count() >= 1,
        "bench wrote its report"
    );
    // One state database per run directory (the SQLite warehouse lives in it), both backed up.
    assert!(
        backups.iter().any(|b| b.ends_with("sqlite-state.sqlite"))
            && backups
                .iter()
                .any(|b| b.ends_with("clickhouse-state.sqlite")),
        "{backups:?}"
    );
    let wal = std::fs::read_dir(root.join("sqlite"))
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().ends_with("-wal"));

    let (found, barcodes) = needles(&v, ch.as_ref()).await;
    let mut scanner = found.build();
    let chdb = ch.as_ref().zip(db.as_deref());
    let chscan = sweep(&mut scanner, root, chdb);
    let summary = scanner.summary();
    let parts: Vec<String> = [
        "sqlite",
        "clickhouse",
        "logs",
        "scrape",
        "bench",
        "backup",
        "cache",
    ]
    .iter()
    .map(|p| format!("{p} {}", tree_bytes(&root.join(p))))
    .collect();
    println!(
        "{summary}\n  files by directory (bytes): {}; WAL files present: {wal}\n  ClickHouse: {} tables and views, {} bytes dumped, {} bytes of data parts\n  {:.1} s",
        parts.join(", "),
        chscan.tables,
        chscan.dump_bytes,
        chscan.part_bytes,
        started.elapsed().as_secs_f64()
    );
    assert!(scanner.hits.is_empty(), "{summary}\n{}", scanner.report(50));
    assert!(scanner.bytes > 1_000_000, "{summary}");

    // The scanner on planted canaries: one barcode in a file of the state dir and in a row of
    // a new table in the same ClickHouse database; the same sweep reports exactly those.
    let planted = &barcodes[barcodes.len() / 2];
    let file = root.join("sqlite/planted.bin");
    let prefix = "clean bytes before the needle; ".repeat(3);
    std::fs::write(&file, format!("{prefix}{planted}\n")).unwrap();
    let mut want = vec![Hit {
        place: file.display().to_string(),
        offset: prefix.len(),
        cell: None,
        needle: format!("qtickets barcode `{planted}`"),
    }];
    if let (Some(ch), Some(db)) = (&ch, &db) {
        ch.query_in(
            db,
            "CREATE TABLE planted (id UInt32, note String) ENGINE = Memory",
        )
        .unwrap();
        ch.query_in(
            db,
            &format!("INSERT INTO planted VALUES (1, 'ok'), (2, 'x{planted}')"),
        )
        .unwrap();
        want.push(Hit {
            place: format!("clickhouse {db}.planted"),
            // The header line, row 1, then `2\tx` on row 2.
            offset: "id\tnote\n1\tok\n2\tx".len(),
            cell: Some("row 2, column note".into()),
            needle: format!("qtickets barcode `{planted}`"),
        });
    }
    let mut again = needles(&v, ch.as_ref()).await.0.build();
    sweep(&mut again, root, chdb);
    assert_eq!(again.hits, want, "{}", again.report(50));
    println!("planted: {} hits, as planted", again.hits.len());
    if let (Some(ch), Some(db)) = (&ch, &db) {
        ch.query(&format!("DROP DATABASE {db}")).unwrap();
    }
}

#[test]
fn the_scanner_reports_a_planted_needle_in_every_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = Needles::new();
    n.value("canary", canary::EMAIL);
    n.value("canary phone", canary::PHONE);
    n.code("scan code", "10000000079190");
    n.exact("inn", b"0000000000", true);
    let mut s = n.build();
    // Clean bytes: numbers that contain the all-zero INN inside a longer run, a pseudonym.
    std::fs::write(
        dir.path().join("clean"),
        b"ts=17726000000000000 buyer=3f2a9c81d0e4b7a6c5d4e3f2\n",
    )
    .unwrap();
    // (file, bytes, where the needle starts, the encoding its label names)
    let cases: &[(&str, &[u8], usize, &str)] = &[
        ("raw", b"to: canary.name@example.invalid", 4, "(raw)"),
        ("upper", b"to: CANARY.NAME@EXAMPLE.INVALID", 4, "(raw)"),
        (
            "json-u",
            br#"{"e":"canary.name\u0040example.invalid"}"#,
            6,
            "(json \\u symbols)",
        ),
        (
            "url",
            b"?email=canary.name%40example.invalid",
            7,
            "(url-encoded component)",
        ),
        ("phone", b"tel:+00000CANARY;", 4, "(compact)"),
        ("code-in-run", b"id=9910000000079190", 5, "scan code"),
        ("inn", b"inn=0000000000;", 4, "inn"),
    ];
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    for (name, bytes, _, _) in cases {
        std::fs::write(sub.join(name), bytes).unwrap();
    }
    let hits = s.scan_tree(dir.path()).unwrap();
    assert_eq!(s.places as usize, cases.len() + 1);
    for (name, _, offset, label) in cases {
        let path = sub.join(name).display().to_string();
        let here: Vec<&Hit> = hits.iter().filter(|h| h.place == path).collect();
        assert_eq!(here.len(), 1, "{name}: {here:?}");
        assert!(here[0].needle.contains(label), "{name}: {}", here[0].needle);
        assert_eq!(here[0].offset, *offset, "{name}: {}", here[0]);
    }
    assert!(
        hits.iter().all(|h| !h.place.ends_with("clean")),
        "clean bytes hit: {hits:?}"
    );
    assert_eq!(hits.len(), cases.len(), "{}", s.report(20));
    assert!(s.summary().contains(&format!("{} hits", cases.len())));
}

#[test]
#[should_panic(expected = "under the 6-byte minimum")]
fn a_needle_too_short_to_mean_anything_is_refused() {
    Needles::new().exact("short", b"00000", false);
}
