//! Warehouse faults: a loopback proxy in front of the test ClickHouse that, on command, cuts
//! every open connection (an insert in flight is reset), then answers 500s, resets
//! connections after reading the request, or refuses them (a stopped server), and finally
//! passes again (the server restarted). Every faulted run fails with a message naming
//! ClickHouse, the cursor never passes what ClickHouse acknowledged, and the next clean run
//! catches up: the warehouse equals the simulator's truth, one row per ticket.
//!
//! The proxy can also stall: it forwards the request to ClickHouse (which may store it) and
//! holds the answer back, so a client with `[clickhouse] timeout_secs = 1` gives up; the run
//! fails naming the timeout, the cursor stays, and the next run re-sends what was not
//! acknowledged (one row per ticket after `FINAL`). The error tells a 500 (`HTTP 500` with the
//! first line of ClickHouse's message) from a cut connection (`connection closed
//! mid-request`), for both encodings.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use boxoffice::sink::{ClickhouseConfig, ClickhouseWarehouse};
use boxoffice::sync::{sync_account, RunOptions, RunSummary, SyncDeps};
use boxoffice::zone::Zone;
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_testkit::clickhouse::{shared_endpoint, ClickhouseEndpoint};
use common::{ch_config, qtickets_account, Pipeline};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pass,
    Http500,
    ResetAfterRequest,
    Refuse,
    /// Forward the request, hold the answer back until the mode changes.
    Stall,
}

/// The proxy's 500: ClickHouse's shape, a first line and more (a stack trace) after it.
const BODY_500: &str =
    "Code: 999. DB::Exception: injected by the test proxy\n0. stack frame the error must not carry\n";

/// The proxy: its URL and the switch. Changing the mode cuts every connection it carries.
struct Proxy {
    url: String,
    mode: watch::Sender<Mode>,
}

async fn proxy(upstream: String) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = watch::channel(Mode::Pass);
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let mut rx = rx.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mode = *rx.borrow_and_update();
                let mut buf = vec![0u8; 64 * 1024];
                match mode {
                    Mode::Pass => {
                        let Ok(mut up) = TcpStream::connect(&upstream).await else {
                            return;
                        };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut conn, &mut up) => {}
                            // A mode change cuts the connection, mid-request or not.
                            _ = rx.changed() => {
                                reset(&conn);
                            }
                        }
                    }
                    Mode::Stall => {
                        let Ok(up) = TcpStream::connect(&upstream).await else {
                            return;
                        };
                        let (mut up_read, mut up_write) = up.into_split();
                        let (mut c_read, _c_write) = conn.split();
                        tokio::select! {
                            _ = tokio::io::copy(&mut c_read, &mut up_write) => {}
                            _ = async {
                                // ClickHouse answers; the answer goes nowhere.
                                let mut sink = vec![0u8; 16 * 1024];
                                while matches!(up_read.read(&mut sink).await, Ok(n) if n > 0) {}
                                std::future::pending::<()>().await
                            } => {}
                            _ = rx.changed() => {}
                        }
                        reset(&conn);
                    }
                    Mode::Http500 => {
                        // The whole request first (as ClickHouse reads an insert before it
                        // refuses it): until the chunked body's end or a pause.
                        let mut seen: Vec<u8> = Vec::new();
                        while let Ok(Ok(n)) =
                            tokio::time::timeout(Duration::from_millis(150), conn.read(&mut buf))
                                .await
                        {
                            if n == 0 {
                                break;
                            }
                            seen.extend_from_slice(&buf[..n]);
                            if seen.ends_with(b"\r\n0\r\n\r\n") {
                                break;
                            }
                        }
                        let body = BODY_500;
                        let reply = format!(
                            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = conn.write_all(reply.as_bytes()).await;
                    }
                    Mode::ResetAfterRequest => {
                        let _ = conn.read(&mut buf).await;
                        reset(&conn);
                    }
                    Mode::Refuse => {
                        reset(&conn);
                    }
                }
            });
        }
    });
    Proxy { url, mode: tx }
}

/// Closing with SO_LINGER 0 sends a TCP reset instead of a clean close.
#[allow(deprecated)]
fn reset(conn: &TcpStream) {
    let _ = conn.set_linger(Some(std::time::Duration::ZERO));
}

fn count(ch: &ClickhouseEndpoint, db: &str, sql: &str) -> u64 {
    ch.query_in(db, sql).unwrap().trim().parse().unwrap()
}

async fn run(deps: &SyncDeps, account: &boxoffice::sync::Account, sim: &QticketsSim) -> RunSummary {
    sync_account(
        deps,
        account,
        &RunOptions {
            now_ms: Some(sim.now_ms()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn clickhouse_500s_resets_and_outages_fail_clearly_and_the_next_run_catches_up() {
    let Some(ch) = shared_endpoint("clickhouse_500s_resets_and_outages") else {
        return;
    };
    let db = ch.fresh_database("faults").unwrap();
    let upstream = ch.url.trim_start_matches("http://").to_string();
    let px = proxy(upstream).await;
    let through = ClickhouseEndpoint {
        url: px.url.clone(),
        ..ch.clone()
    };
    let sim = QticketsSim::new(QticketsConfig {
        orders: 3_000,
        changes_per_minute: 4.0,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::clickhouse(&through, &db).await;
    let account = qtickets_account(&srv, &sim.token(), &[("lookback_hours", "1000")]).await;
    let first = run(&p.deps, &account, &sim).await;
    assert!(first.ok(), "{first:?}");

    let truth_valid = |sim: &QticketsSim| sim.truth().iter().map(|r| r.tickets).sum::<u64>();
    for mode in [Mode::Http500, Mode::ResetAfterRequest, Mode::Refuse] {
        sim.advance(6 * 60);
        let cursor_before = p.state.cursor("qtickets", "main").unwrap();
        let ledger_before: i64 = {
            let c = rusqlite::Connection::open(p.dir.path().join("state.sqlite")).unwrap();
            c.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
                .unwrap()
        };
        // The switch cuts whatever is in flight; the run then meets the fault on every retry.
        let faulty = {
            let mode_tx = px.mode.clone();
            let deps = p.deps.clone();
            let account = account.clone();
            let now = sim.now_ms();
            let run = tokio::spawn(async move {
                sync_account(
                    &deps,
                    &account,
                    &RunOptions {
                        now_ms: Some(now),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
            });
            mode_tx.send(mode).unwrap();
            run.await.unwrap()
        };
        assert_eq!(faulty.status.as_str(), "failed", "{mode:?}: {faulty:?}");
        assert!(
            faulty.message.contains("clickhouse") || faulty.message.contains("ClickHouse"),
            "{mode:?}: the error must name the warehouse: {}",
            faulty.message
        );
        assert!(
            faulty.message.contains("cursor stays"),
            "{mode:?}: {}",
            faulty.message
        );
        assert!(
            !faulty.message.contains(&ch.password),
            "password in the error"
        );
        assert_eq!(
            p.state.cursor("qtickets", "main").unwrap(),
            cursor_before,
            "{mode:?}: the cursor passed what ClickHouse acknowledged"
        );
        let ledger_after: i64 = {
            let c = rusqlite::Connection::open(p.dir.path().join("state.sqlite")).unwrap();
            c.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(
            ledger_after, ledger_before,
            "{mode:?}: the ledger ran ahead"
        );
        // Which failure it was, said plainly.
        match mode {
            // (The switch cuts an insert in flight, so a 500 here may come after a cut; the
            // two are told apart, switched before the run, by the test below.)
            Mode::Http500 => assert!(
                !faulty.message.contains("stack frame"),
                "{mode:?}: ClickHouse's first line, not the rest: {}",
                faulty.message
            ),
            Mode::ResetAfterRequest => assert!(
                faulty.message.contains("connection closed mid-request")
                    && !faulty.message.contains("HTTP 500"),
                "{mode:?}: {}",
                faulty.message
            ),
            _ => {}
        }
        println!("{mode:?}: failed as it should: {}", faulty.message);

        // ClickHouse is back: the next run catches up with the truth.
        px.mode.send(Mode::Pass).unwrap();
        let again = run(&p.deps, &account, &sim).await;
        assert!(again.ok(), "{mode:?}: {again:?}");
        assert_eq!(
            count(&ch, &db, "SELECT count() FROM tickets FINAL"),
            sim.basket_count(),
            "{mode:?}: one row per ticket"
        );
        assert_eq!(
            count(&ch, &db, "SELECT count() FROM (SELECT ticket_id FROM tickets FINAL GROUP BY ticket_id HAVING count() > 1)"),
            0
        );
        assert_eq!(
            count(
                &ch,
                &db,
                "SELECT countIf(status = 'valid') FROM tickets FINAL"
            ),
            truth_valid(&sim),
            "{mode:?}: valid tickets"
        );
    }
}

fn ledger_rows(p: &Pipeline) -> i64 {
    let c = rusqlite::Connection::open(p.dir.path().join("state.sqlite")).unwrap();
    c.query_row("SELECT count(*) FROM tickets", [], |r| r.get(0))
        .unwrap()
}

/// A pipeline writing through `through` with `config`'s encoding and timeout changed.
async fn pipeline_with(
    through: &ClickhouseEndpoint,
    db: &str,
    f: impl FnOnce(&mut ClickhouseConfig),
) -> Pipeline {
    let mut config = ch_config(through, db);
    f(&mut config);
    let (sink, _) = ClickhouseWarehouse::open(config, Zone::default())
        .await
        .unwrap();
    Pipeline::with_sink(tempfile::tempdir().unwrap(), Arc::new(sink))
}

/// Runs one sync while the proxy is switched to `mode` (which cuts what is in flight).
async fn faulty_run(
    px: &Proxy,
    p: &Pipeline,
    account: &boxoffice::sync::Account,
    sim: &QticketsSim,
    mode: Mode,
) -> RunSummary {
    faulty_run_from(px, p, account, sim, mode, false).await
}

/// As [`faulty_run`]; `before` switches first and lets the client see its pooled
/// connections cut, so every request of the run meets `mode` itself.
async fn faulty_run_from(
    px: &Proxy,
    p: &Pipeline,
    account: &boxoffice::sync::Account,
    sim: &QticketsSim,
    mode: Mode,
    before: bool,
) -> RunSummary {
    if before {
        px.mode.send(mode).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let deps = p.deps.clone();
    let account = account.clone();
    let now = sim.now_ms();
    let run = tokio::spawn(async move {
        sync_account(
            &deps,
            &account,
            &RunOptions {
                now_ms: Some(now),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    });
    if !before {
        px.mode.send(mode).unwrap();
    }
    run.await.unwrap()
}

fn assert_caught_up(ch: &ClickhouseEndpoint, db: &str, sim: &QticketsSim, what: &str) {
    assert_eq!(
        count(ch, db, "SELECT count() FROM tickets FINAL"),
        sim.basket_count(),
        "{what}: one row per ticket"
    );
    assert_eq!(
        count(
            ch,
            db,
            "SELECT countIf(status = 'valid') FROM tickets FINAL"
        ),
        sim.truth().iter().map(|r| r.tickets).sum::<u64>(),
        "{what}: valid tickets"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clickhouse_slower_than_timeout_secs_fails_naming_the_timeout_and_the_next_run_catches_up(
) {
    let Some(ch) = shared_endpoint("clickhouse_slow_timeout") else {
        return;
    };
    let db = ch.fresh_database("slow").unwrap();
    let px = proxy(ch.url.trim_start_matches("http://").to_string()).await;
    let through = ClickhouseEndpoint {
        url: px.url.clone(),
        ..ch.clone()
    };
    let sim = QticketsSim::new(QticketsConfig {
        orders: 1_500,
        changes_per_minute: 4.0,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = pipeline_with(&through, &db, |c| c.timeout = Duration::from_secs(1)).await;
    let account = qtickets_account(&srv, &sim.token(), &[("lookback_hours", "1000")]).await;
    let first = run(&p.deps, &account, &sim).await;
    assert!(first.ok(), "{first:?}");

    sim.advance(6 * 60);
    let cursor_before = p.state.cursor("qtickets", "main").unwrap();
    let ledger_before = ledger_rows(&p);
    let t0 = Instant::now();
    let slow = faulty_run(&px, &p, &account, &sim, Mode::Stall).await;
    let took = t0.elapsed();
    println!(
        "stalled ClickHouse: failed after {took:?}: {}",
        slow.message
    );
    assert_eq!(slow.status.as_str(), "failed", "{slow:?}");
    assert!(
        slow.message.contains("no answer within 1 s") && slow.message.contains("timeout_secs"),
        "the error must name the timeout: {}",
        slow.message
    );
    assert!(
        slow.message.contains("ClickHouse") && slow.message.contains("cursor stays"),
        "{}",
        slow.message
    );
    // Three attempts of 1 s and the back-off between them, not the old fixed 60 s.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert_eq!(
        p.state.cursor("qtickets", "main").unwrap(),
        cursor_before,
        "the cursor passed what ClickHouse acknowledged"
    );
    assert_eq!(ledger_rows(&p), ledger_before, "the ledger ran ahead");

    px.mode.send(Mode::Pass).unwrap();
    let again = run(&p.deps, &account, &sim).await;
    assert!(again.ok(), "{again:?}");
    assert_caught_up(&ch, &db, &sim, "after the stall");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_and_a_cut_connection_are_told_apart_in_both_encodings() {
    let Some(ch) = shared_endpoint("clickhouse_500_vs_cut") else {
        return;
    };
    for encoding in boxoffice::sink::clickhouse::ClickhouseEncoding::ALL {
        let db = ch
            .fresh_database(&format!("told_{}", encoding.as_str()))
            .unwrap();
        let px = proxy(ch.url.trim_start_matches("http://").to_string()).await;
        let through = ClickhouseEndpoint {
            url: px.url.clone(),
            ..ch.clone()
        };
        let sim = QticketsSim::new(QticketsConfig {
            orders: 800,
            changes_per_minute: 4.0,
            ..Default::default()
        });
        let srv = sim.spawn().await.unwrap();
        let p = pipeline_with(&through, &db, |c| c.encoding = encoding).await;
        let account = qtickets_account(&srv, &sim.token(), &[("lookback_hours", "1000")]).await;
        for mode in [Mode::Http500, Mode::ResetAfterRequest] {
            sim.advance(6 * 60);
            let failed = faulty_run_from(&px, &p, &account, &sim, mode, true).await;
            let m = &failed.message;
            println!("{} {mode:?}: {m}", encoding.as_str());
            assert_eq!(failed.status.as_str(), "failed", "{failed:?}");
            match mode {
                Mode::Http500 => {
                    assert!(
                        m.contains("Code: 999. DB::Exception: injected by the test proxy"),
                        "{encoding:?}: {m}"
                    );
                    assert!(!m.contains("stack frame"), "only the first line: {m}");
                    assert!(!m.contains("mid-request"), "{m}");
                    if encoding == boxoffice::sink::clickhouse::ClickhouseEncoding::JsonEachRow {
                        assert!(m.contains("HTTP 500"), "the status: {m}");
                    }
                }
                _ => {
                    assert!(
                        m.contains("connection closed mid-request"),
                        "{encoding:?}: {m}"
                    );
                    assert!(
                        !m.contains("HTTP 500") && !m.contains("DB::Exception"),
                        "{m}"
                    );
                }
            }
            px.mode.send(Mode::Pass).unwrap();
            let again = run(&p.deps, &account, &sim).await;
            assert!(again.ok(), "{again:?}");
            assert_caught_up(&ch, &db, &sim, &format!("{encoding:?} after {mode:?}"));
        }
    }
}
