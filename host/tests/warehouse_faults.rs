//! Warehouse faults: a loopback proxy in front of the test ClickHouse that, on command, cuts
//! every open connection (an insert in flight is reset), then answers 500s, resets
//! connections after reading the request, or refuses them (a stopped server), and finally
//! passes again (the server restarted). Every faulted run fails with a message naming
//! ClickHouse, the cursor never passes what ClickHouse acknowledged, and the next clean run
//! catches up: the warehouse equals the simulator's truth, one row per ticket.

mod common;

use boxoffice::sync::{sync_account, RunOptions, RunSummary, SyncDeps};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_testkit::clickhouse::{shared_endpoint, ClickhouseEndpoint};
use common::{qtickets_account, Pipeline};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pass,
    Http500,
    ResetAfterRequest,
    Refuse,
}

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
                    Mode::Http500 => {
                        let _ = conn.read(&mut buf).await;
                        let body = "Code: 999. DB::Exception: injected by the test proxy\n";
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
