//! The ClickHouse row writer (`sink::clickhouse::writer`): RowBinary + LZ4 through the
//! `clickhouse` crate and JSONEachRow store the same table contents for the same pages (on the
//! Debian 18.16 server, where the crate's validation must be off), a wrong password is a clear
//! error that never carries the password, and a gateway's 503 is retried while ClickHouse's own
//! refusals are not (against a fake server on loopback).

use crate::common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use boxoffice::model::{Event, Inventory, Record, Ticket, TicketStatus};
use boxoffice::sink::clickhouse::rows::{self, Day, TicketRow};
use boxoffice::sink::clickhouse::{
    ClickhouseClient, ClickhouseEncoding, ClickhouseError, ClickhouseWarehouse, RowWriter,
};
use boxoffice::sink::{ClickhouseConfig, RunRecord, Sink};
use boxoffice::zone::Zone;
use boxoffice_testkit::clickhouse::{shared_endpoint, ClickhouseEndpoint};
use common::ch_config;

/// ±10^12 minor units: the firewall's money bounds (`plugin::bounds::MAX_MONEY_MINOR`).
const MONEY: i64 = 1_000_000_000_000;
/// 2000-01-01 UTC, the firewall's earliest instant.
const EARLIEST_MS: i64 = 946_684_800_000;

const AWKWARD: &[&str] = &[
    "Москва, ДК «Невский»",
    "東京ドーム",
    "🎟️ fête — Zürich",
    "e\u{301} combining, zero\u{200d}width",
    "quote \" backslash \\ tab \t newline \n end",
    "",
];

fn tickets() -> Vec<Ticket> {
    let base = Ticket {
        order_id: "o-1".into(),
        event_id: "90001".into(),
        category: "PARTERRE".into(),
        channel: "online".into(),
        currency: "RUB".into(),
        ordered_at_ms: 1_762_167_912_000,
        updated_at_ms: 1_762_327_231_000,
        ..Ticket::BLANK
    };
    let mut out = vec![
        Ticket {
            ticket_id: "max".into(),
            status: TicketStatus::Valid,
            price_minor: MONEY,
            service_fee_minor: MONEY,
            buyer_fee_minor: -MONEY,
            producer_cost_minor: -MONEY,
            scanned_at_ms: Some(1_762_400_000_000),
            show_id: Some("95001".into()),
            visibility: vec!["public".into(), "Партнёры 🎫".into(), "".into()],
            ..base.clone()
        },
        Ticket {
            ticket_id: "refunded".into(),
            status: TicketStatus::Refunded,
            price_minor: MONEY,
            refunded_minor: MONEY,
            refunded_at_ms: Some(1_762_327_231_000),
            ordered_at_ms: EARLIEST_MS,
            updated_at_ms: EARLIEST_MS,
            ..base.clone()
        },
        Ticket {
            ticket_id: "negative".into(),
            status: TicketStatus::Canceled,
            price_minor: -MONEY,
            refunded_minor: -MONEY,
            // Ten years ahead of the data: the latest instant the firewall lets through.
            ordered_at_ms: 1_762_167_912_000 + 10 * 366 * 86_400_000,
            ..base.clone()
        },
    ];
    for (i, text) in AWKWARD.iter().enumerate() {
        out.push(Ticket {
            ticket_id: format!("text-{i}"),
            status: TicketStatus::Valid,
            price_minor: 1,
            category: text.to_string(),
            buyer: Some(text.to_string()),
            region: Some(text.to_string()),
            utm_source: Some(text.to_string()),
            utm_medium: (i % 2 == 0).then(|| text.to_string()),
            utm_campaign: Some(text.to_string()),
            payment_method: Some(text.to_string()),
            visibility: vec![text.to_string()],
            ..base.clone()
        });
    }
    out
}

fn records() -> Vec<Record> {
    let mut out: Vec<Record> = tickets().into_iter().map(Record::Ticket).collect();
    out.push(Record::Event(Event {
        event_id: "90001".into(),
        name: AWKWARD[0].into(),
        city: Some(AWKWARD[1].into()),
        venue: Some(AWKWARD[4].into()),
        starts_at_ms: Some(1_765_036_800_000),
        ends_at_ms: None,
        canceled_at_ms: None,
        updated_at_ms: 1_759_400_000_000,
    }));
    out.push(Record::Event(Event {
        event_id: "90002".into(),
        name: AWKWARD[2].into(),
        city: None,
        venue: None,
        starts_at_ms: None,
        ends_at_ms: None,
        canceled_at_ms: Some(EARLIEST_MS),
        updated_at_ms: EARLIEST_MS,
    }));
    out.push(Record::Inventory(Inventory {
        event_id: "90001".into(),
        show_id: "95001".into(),
        captured_at_ms: 1_762_400_000_000,
        capacity: Some(u32::MAX),
        available: Some(0),
        sold: None,
    }));
    out.push(Record::Inventory(Inventory {
        event_id: "90002".into(),
        show_id: AWKWARD[3].into(),
        captured_at_ms: 1_762_400_000_000,
        capacity: None,
        available: None,
        sold: None,
    }));
    out
}

fn run_record() -> RunRecord {
    RunRecord {
        run_id: "00000000-0000-4000-8000-000000000001".into(),
        vendor: "qtickets".into(),
        account: "main".into(),
        kind: boxoffice::sync::RunKind::Sync,
        started_at_ms: 1_762_400_000_000,
        finished_at_ms: 1_762_400_001_000,
        figures: boxoffice::sink::RunFigures {
            status: boxoffice::state::RunStatus::Ok,
            records: u64::MAX,
            rejected: 0,
            pages: 2,
            requests: 3,
            message: AWKWARD[4].into(),
        },
    }
}

fn config(
    ch: &ClickhouseEndpoint,
    database: &str,
    encoding: ClickhouseEncoding,
) -> ClickhouseConfig {
    ClickhouseConfig {
        encoding,
        ..ch_config(ch, database)
    }
}

/// Every row of every table the sink writes, in a fixed order, as ClickHouse prints them.
fn contents(ch: &ClickhouseEndpoint, db: &str) -> String {
    let mut out = String::new();
    for (table, key) in [
        ("tickets", "vendor, account, ticket_id"),
        ("events", "vendor, account, event_id"),
        ("inventory_snapshots", "vendor, account, event_id, show_id"),
        ("job_runs", "run_id"),
    ] {
        let rows = ch
            .query_in(
                db,
                &format!("SELECT * FROM {table} ORDER BY {key} FORMAT TabSeparatedWithNames"),
            )
            .unwrap();
        out += &format!("== {table}\n{rows}");
    }
    out
}

#[tokio::test]
async fn rowbinary_and_jsoneachrow_store_identical_tables() {
    let Some(ch) = shared_endpoint("rowbinary_and_jsoneachrow_store_identical_tables") else {
        return;
    };
    let records = records();
    let mut dumps = Vec::new();
    for encoding in ClickhouseEncoding::ALL {
        let db = ch.fresh_database(encoding.as_str()).unwrap();
        let (w, _) = ClickhouseWarehouse::open(config(&ch, &db, encoding), Zone::default())
            .await
            .unwrap();
        assert_eq!(w.writer().encoding(), encoding);
        let version = ch.query("SELECT version()").unwrap();
        assert_eq!(w.writer().server_version(), version.trim());
        if version.starts_with("18.") {
            assert!(!w.writer().validation(), "18.16 cannot validate rows");
        }
        // Two pages and a run, as a sync writes them.
        let (first, second) = records.split_at(4);
        w.write("qtickets", "main", first).await.unwrap();
        w.write("qtickets", "main", second).await.unwrap();
        w.record_run(&run_record()).await.unwrap();
        dumps.push((encoding, contents(&ch, &db)));

        // The extremes arrived as written, not merely equally wrong.
        let money = ch
            .query_in(
                &db,
                "SELECT price_minor, service_fee_minor, buyer_fee_minor, producer_cost_minor, \
                 kept_minor, toString(sales_date), scanned_at_ms, refunded_at_ms, \
                 length(visibility) FROM tickets WHERE ticket_id IN ('max', 'refunded', 'negative') \
                 ORDER BY ticket_id",
            )
            .unwrap();
        assert_eq!(
            money,
            "1000000000000\t1000000000000\t-1000000000000\t-1000000000000\t1000000000000\t2025-11-03\t1762400000000\t\\N\t3\n\
             -1000000000000\t0\t0\t0\t0\t2035-11-11\t\\N\t\\N\t0\n\
             1000000000000\t0\t0\t0\t0\t2000-01-01\t\\N\t1762327231000\t0\n",
            "{encoding:?}"
        );
        let text = ch
            .query_in(
                &db,
                "SELECT category, utm_medium, visibility[1] AS first_visibility FROM tickets \
                 WHERE ticket_id LIKE 'text-%' ORDER BY ticket_id FORMAT JSONEachRow",
            )
            .unwrap();
        let got: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(got.len(), AWKWARD.len(), "{text}");
        for (i, (row, want)) in got.iter().zip(AWKWARD).enumerate() {
            assert_eq!(row["category"], *want, "{encoding:?} text-{i}");
            assert_eq!(row["first_visibility"], *want, "{encoding:?} text-{i}");
            let medium = if i % 2 == 0 { *want } else { "" };
            assert_eq!(row["utm_medium"], medium, "{encoding:?} text-{i}");
        }
        let nulls = ch
            .query_in(
                &db,
                "SELECT show_id, capacity, available, sold FROM inventory_snapshots ORDER BY event_id",
            )
            .unwrap();
        assert_eq!(
            nulls,
            format!("95001\t4294967295\t0\t\\N\n{}\t\\N\t\\N\t\\N\n", AWKWARD[3]),
            "{encoding:?}"
        );
    }
    let (_, binary) = &dumps[0];
    let (_, json) = &dumps[1];
    assert!(binary.lines().count() > 15, "{binary}");
    assert_eq!(binary, json, "RowBinary and JSONEachRow tables differ");
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_without_the_password() {
    let Some(ch) = shared_endpoint("a_wrong_password_is_a_clear_error_without_the_password") else {
        return;
    };
    let db = ch.fresh_database("badpw").unwrap();
    // Migrated with the right password; then written with a wrong one.
    ClickhouseWarehouse::open(ch_config(&ch, &db), Zone::default())
        .await
        .unwrap();
    let version = ch.query("SELECT version()").unwrap();
    let wrong = "wrong-pw-CANARY-7c1d";
    let tickets = tickets();
    for encoding in ClickhouseEncoding::ALL {
        let bad = ClickhouseConfig {
            password: wrong.into(),
            ..config(&ch, &db, encoding)
        };
        let client = ClickhouseClient::new(bad.clone()).unwrap();
        let writer = RowWriter::with_server_version(client, &version);
        let rows: Vec<TicketRow> = tickets
            .iter()
            .map(|t| TicketRow::new("qtickets", "main", t, &Zone::default()))
            .collect();
        let err = writer
            .insert::<TicketRow>(rows::TICKETS, &rows)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                ClickhouseError::Rejected { .. } | ClickhouseError::Refused { .. }
            ),
            "{encoding:?}: a refusal, not retried as an outage: {text}"
        );
        assert!(
            text.contains(&ch.url),
            "{encoding:?}: names the server: {text}"
        );
        assert!(
            text.contains(&format!("into {}", rows::TICKETS)),
            "{encoding:?}: names the insert: {text}"
        );
        assert!(
            text.to_lowercase().contains("password"),
            "{encoding:?}: says what is wrong: {text}"
        );
        assert!(
            !text.contains(wrong),
            "{encoding:?}: leaks the password: {text}"
        );
        assert!(!format!("{bad:?}").contains(wrong));

        // Connecting (the version query) and migrating say the same, password-free.
        let err = ClickhouseWarehouse::open(bad, Zone::default())
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains(&ch.url) && !err.contains(wrong), "{err}");
    }
}

#[tokio::test]
async fn a_date_outside_clickhouses_range_is_refused_not_wrapped() {
    let Some(ch) = shared_endpoint("a_date_outside_clickhouses_range_is_refused_not_wrapped")
    else {
        return;
    };
    let db = ch.fresh_database("date").unwrap();
    let (w, _) = ClickhouseWarehouse::open(ch_config(&ch, &db), Zone::default())
        .await
        .unwrap();
    let t = Ticket {
        ticket_id: "late".into(),
        ..Ticket::BLANK
    };
    let mut row = TicketRow::new("qtickets", "main", &t, &Zone::default());
    row.sales_date = Day(70_000);
    let err = w
        .writer()
        .insert::<TicketRow>(rows::TICKETS, &[row])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside ClickHouse's Date range"), "{err}");
    let n = ch.query_in(&db, "SELECT count() FROM tickets").unwrap();
    assert_eq!(n.trim(), "0");
}

/// A loopback stand-in for ClickHouse answering each POST with the next of `answers` (then 200),
/// recording each request's query string.
async fn fake_server(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::extract::{RawQuery, State};
    use axum::http::StatusCode;
    #[derive(Clone)]
    struct Fake {
        answers: Arc<Vec<(u16, &'static str)>>,
        next: Arc<AtomicU32>,
        seen: Arc<Mutex<Vec<String>>>,
    }
    async fn answer(
        State(f): State<Fake>,
        RawQuery(q): RawQuery,
        _body: axum::body::Bytes,
    ) -> (StatusCode, &'static str) {
        f.seen.lock().unwrap().push(q.unwrap_or_default());
        let i = f.next.fetch_add(1, Ordering::SeqCst) as usize;
        let (status, body) = f.answers.get(i).copied().unwrap_or((200, ""));
        (StatusCode::from_u16(status).unwrap(), body)
    }
    let fake = Fake {
        answers: Arc::new(answers),
        next: Arc::default(),
        seen: Arc::default(),
    };
    let seen = fake.seen.clone();
    let app = axum::Router::new()
        .fallback(axum::routing::post(answer))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn fake_writer(url: &str) -> RowWriter {
    let mut client = ClickhouseClient::new(ClickhouseConfig {
        url: url.into(),
        user: "etl_writer".into(),
        password: "fake-pw-CANARY".into(),
        database: "boxoffice".into(),
        encoding: ClickhouseEncoding::RowBinary,
        timeout: boxoffice::sink::clickhouse::client::REQUEST_TIMEOUT,
    })
    .unwrap();
    client.base_delay = std::time::Duration::from_millis(5);
    // An 18.16 server: plain RowBinary, no DESCRIBE first.
    RowWriter::with_server_version(client, "18.16.1")
}

#[tokio::test]
async fn a_gateways_503_is_retried_and_clickhouses_refusal_is_not() {
    let tickets = tickets();
    let rows: Vec<TicketRow> = tickets
        .iter()
        .map(|t| TicketRow::new("qtickets", "main", t, &Zone::default()))
        .collect();

    let (url, seen) = fake_server(vec![(503, "Service Unavailable"), (502, "")]).await;
    let w = fake_writer(&url);
    w.insert::<TicketRow>(rows::TICKETS, &rows).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "two retries, then the rows landed: {seen:?}");
    for q in &seen {
        assert!(
            q.contains("FORMAT+RowBinary") || q.contains("FORMAT%20RowBinary"),
            "{q}"
        );
        assert!(q.contains("decompress=1"), "LZ4-compressed: {q}");
    }

    let (url, seen) = fake_server(vec![(503, ""), (503, ""), (503, "")]).await;
    let err = fake_writer(&url)
        .insert::<TicketRow>(rows::TICKETS, &rows)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClickhouseError::Unreachable { attempts: 3, .. }),
        "{err}"
    );
    assert_eq!(seen.lock().unwrap().len(), 3);

    let refusal =
        "Code: 60, e.displayText() = DB::Exception: Table boxoffice.tickets doesn't exist";
    let (url, seen) = fake_server(vec![(404, refusal)]).await;
    let err = fake_writer(&url)
        .insert::<TicketRow>(rows::TICKETS, &rows)
        .await
        .unwrap_err();
    assert!(matches!(err, ClickhouseError::Rejected { .. }), "{err}");
    assert!(err.to_string().contains("doesn't exist"), "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1, "a refusal is final");
}
