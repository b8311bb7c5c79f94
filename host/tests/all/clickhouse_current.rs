//! The ClickHouse migrations and the sink's row format on a CURRENT ClickHouse release (26.x,
//! in-process via PyPI's `chdb`), beside the Debian 18.16 server the other tests use: the DDL
//! must run on both. Skips (or fails under BOXOFFICE_REQUIRE_SERVERS=1) without `chdb`.
//!
//! The writer itself (the `clickhouse` crate, RowBinary with schema validation, as on every
//! release from 22.1) runs against chdb behind `testkit/scripts/chdb_http.py`, a loopback
//! stand-in for ClickHouse's HTTP interface.

use boxoffice::model::{Event, Inventory, Ticket, TicketStatus};
use boxoffice::sink::clickhouse::{migrate, rows, MIGRATIONS};
use boxoffice::sink::RunRecord;

#[test]
fn migrations_and_rows_work_on_a_current_clickhouse() {
    let has_chdb = std::process::Command::new("python3")
        .args(["-c", "import chdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_chdb {
        boxoffice_testkit::skip_or_fail(
            "migrations_and_rows_work_on_a_current_clickhouse",
            "python3 with chdb not installed (pip install chdb)",
        );
        return;
    }
    let statements: Vec<String> = MIGRATIONS
        .iter()
        .flat_map(|m| migrate::statements(m.sql))
        .collect();
    let ticket = Ticket {
        ticket_id: "31000001".into(),
        order_id: "2000101".into(),
        event_id: "90001".into(),
        show_id: Some("95001".into()),
        category: "PARTERRE".into(),
        channel: "online".into(),
        status: TicketStatus::Refunded,
        price_minor: 150_000,
        refunded_minor: 135_000,
        currency: "RUB".into(),
        ordered_at_ms: 1_762_167_912_000,
        updated_at_ms: 1_762_327_231_000,
        refunded_at_ms: Some(1_762_327_231_000),
        buyer: Some("b".repeat(24)),
        utm_source: Some("example".into()),
        payment_method: Some("card".into()),
        ..Ticket::BLANK
    };
    let event = Event {
        event_id: "90001".into(),
        name: "Demo".into(),
        city: Some("Москва".into()),
        venue: Some("Hall".into()),
        starts_at_ms: Some(1_765_036_800_000),
        ends_at_ms: None,
        canceled_at_ms: None,
        updated_at_ms: 1_759_400_000_000,
    };
    let inventory = Inventory {
        event_id: "90001".into(),
        show_id: "95001".into(),
        captured_at_ms: 1_762_400_000_000,
        capacity: Some(100),
        available: Some(40),
        sold: Some(60),
    };
    let run = sample_run("00000000-0000-4000-8000-000000000000");
    let spec = serde_json::json!({
        "statements": statements,
        "inserts": {
            "tickets": [rows::ticket("qtickets", "main", &ticket, &boxoffice::zone::Zone::default())],
            "events": [rows::event("qtickets", "main", &event)],
            "inventory_snapshots": [rows::inventory("qtickets", "main", &inventory)],
            "job_runs": [rows::run(&run)],
        },
        "views": ["sales_daily", "inventory_latest", "fact_qtickets_sales_daily",
                  "fact_qtickets_inventory_latest", "meta_job_runs", "stg_qtickets_api_orders_raw"],
        // Views whose row count depends on more than one sample row: they must run, that is all.
        "also": ["sales_by_dimension_daily", "fees_by_type_daily", "sales_dashboard", "plan_vs_fact",
                 "fact_qtickets_sales_utm_daily", "dim_events", "stg_qtickets_api_inventory_raw",
                 "v_qtickets_sales_dashboard", "plan_sales", "v_plan_vs_fact"],
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testkit/scripts/chdb_apply.py"
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = stdout.lines().next().unwrap_or_default();
    assert!(
        !version.contains("\t18."),
        "not a current release: {version}"
    );
    for v in spec["views"].as_array().unwrap() {
        let v = v.as_str().unwrap();
        let line = stdout
            .lines()
            .find(|l| l.split('\t').next() == Some(v))
            .unwrap_or_else(|| panic!("{v} missing: {stdout}"));
        assert_eq!(line, format!("{v}\t1"), "{stdout}");
    }
    for v in spec["also"].as_array().unwrap() {
        let v = v.as_str().unwrap();
        assert!(
            stdout.lines().any(|l| l.split('\t').next() == Some(v)),
            "{v} did not run: {stdout}"
        );
    }
}

fn has_chdb() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import chdb"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// chdb behind `chdb_http.py` on a loopback port; killed on drop.
struct ChdbHttp {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl ChdbHttp {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../testkit/scripts/chdb_http.py"
        );
        let child = std::process::Command::new("python3")
            .arg(script)
            .arg(&port_file)
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            url: String::new(),
            _dir: dir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !port_file.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "chdb_http.py did not start"
            );
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("chdb_http.py exited with {status}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let port = std::fs::read_to_string(&port_file).unwrap();
        server.url = format!("http://127.0.0.1:{}", port.trim());
        server
    }
}

impl Drop for ChdbHttp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_writer_validates_rows_on_a_current_clickhouse() {
    use boxoffice::model::Record;
    use boxoffice::sink::clickhouse::rows::TicketRow;
    use boxoffice::sink::clickhouse::{ClickhouseEncoding, ClickhouseError, ClickhouseWarehouse};
    use boxoffice::sink::{ClickhouseConfig, Sink};
    use boxoffice::zone::Zone;

    if !has_chdb() {
        boxoffice_testkit::skip_or_fail(
            "the_writer_validates_rows_on_a_current_clickhouse",
            "python3 with chdb not installed (pip install chdb)",
        );
        return;
    }
    let server = ChdbHttp::start();
    let ticket = Ticket {
        ticket_id: "31000001".into(),
        order_id: "2000101".into(),
        event_id: "90001".into(),
        category: "Партер 🎟️".into(),
        status: TicketStatus::Valid,
        price_minor: 1_000_000_000_000,
        buyer_fee_minor: -1_000_000_000_000,
        currency: "RUB".into(),
        ordered_at_ms: 1_762_167_912_000,
        updated_at_ms: 1_762_327_231_000,
        scanned_at_ms: Some(1_762_400_000_000),
        visibility: vec!["public".into(), "".into()],
        ..Ticket::BLANK
    };
    let event = Event {
        event_id: "90001".into(),
        name: "Demo \"quoted\"\tand tabbed".into(),
        city: Some("Москва".into()),
        venue: None,
        starts_at_ms: Some(1_765_036_800_000),
        ends_at_ms: None,
        canceled_at_ms: None,
        updated_at_ms: 1_759_400_000_000,
    };
    let inventory = Inventory {
        event_id: "90001".into(),
        show_id: "95001".into(),
        captured_at_ms: 1_762_400_000_000,
        capacity: Some(100),
        available: None,
        sold: Some(60),
    };
    let records = vec![
        Record::Ticket(ticket.clone()),
        Record::Event(event.clone()),
        Record::Inventory(inventory),
    ];
    let mut dumps = Vec::new();
    for encoding in ClickhouseEncoding::ALL {
        let database = format!("cur_{}", encoding.as_str());
        let config = ClickhouseConfig {
            url: server.url.clone(),
            user: "default".into(),
            password: String::new(),
            database: database.clone(),
            encoding,
            timeout: boxoffice::sink::clickhouse::client::REQUEST_TIMEOUT,
        };
        let (w, report) = ClickhouseWarehouse::open(config, Zone::default())
            .await
            .unwrap();
        assert_eq!(report.applied.len(), MIGRATIONS.len());
        assert!(
            !w.writer().server_version().starts_with("18."),
            "not a current release: {}",
            w.writer().server_version()
        );
        assert!(
            w.writer().validation(),
            "{} validates rows",
            w.writer().server_version()
        );
        w.write("qtickets", "main", &records).await.unwrap();
        w.record_run(&sample_run("00000000-0000-4000-8000-000000000002"))
            .await
            .unwrap();
        let mut dump = String::new();
        for table in ["tickets", "events", "inventory_snapshots", "job_runs"] {
            dump += &w
                .client()
                .execute(&format!("SELECT * FROM {table} FORMAT TSVWithNames"))
                .await
                .unwrap();
        }
        dumps.push(dump);

        // Validation is really on: a ticket row offered to the events table is refused by
        // name before anything is sent, instead of landing as garbage.
        let row = TicketRow::new("qtickets", "main", &ticket, &Zone::default());
        let err = w
            .writer()
            .insert::<TicketRow>("events", &[row])
            .await
            .map(|_| ());
        // (JSONEachRow has no such check: chdb skips unknown JSON fields and stores it.)
        if encoding == ClickhouseEncoding::RowBinary {
            let err = err.unwrap_err();
            assert!(matches!(err, ClickhouseError::Rejected { .. }), "{err}");
            assert!(err.to_string().contains("events"), "{err}");
            let n = w
                .client()
                .execute("SELECT count() FROM events")
                .await
                .unwrap();
            assert_eq!(n.trim(), "1", "nothing but the one event landed");
        }
    }
    assert!(dumps[0].contains("Партер 🎟️"), "{}", dumps[0]);
    assert!(dumps[0].contains("1000000000000"), "{}", dumps[0]);
    assert_eq!(
        dumps[0], dumps[1],
        "RowBinary and JSONEachRow differ on the current release"
    );
}

/// The one finished run both checks store: an ok sync of 1 page and 3 records.
fn sample_run(run_id: &str) -> RunRecord {
    RunRecord {
        run_id: run_id.into(),
        vendor: "qtickets".into(),
        account: "main".into(),
        kind: boxoffice::sync::RunKind::Sync,
        started_at_ms: 1_762_400_000_000,
        finished_at_ms: 1_762_400_001_000,
        figures: boxoffice::sink::RunFigures {
            status: boxoffice::state::RunStatus::Ok,
            records: 3,
            rejected: 0,
            pages: 1,
            requests: 2,
            message: "1 pages, 3 records".into(),
        },
    }
}
