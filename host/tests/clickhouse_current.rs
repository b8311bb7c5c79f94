//! The ClickHouse migrations and the sink's row format on a CURRENT ClickHouse release (26.x,
//! in-process via PyPI's `chdb`), beside the Debian 18.16 server the other tests use: the DDL
//! must run on both. Skips (or fails under BOXOFFICE_REQUIRE_SERVERS=1) without `chdb`.

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
    let run = RunRecord {
        run_id: "00000000-0000-4000-8000-000000000000".into(),
        vendor: "qtickets".into(),
        account: "main".into(),
        kind: "sync".into(),
        started_at_ms: 1_762_400_000_000,
        finished_at_ms: 1_762_400_001_000,
        status: "ok".into(),
        records: 3,
        rejected: 0,
        pages: 1,
        requests: 2,
        message: "1 pages, 3 records".into(),
    };
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
