//! Privacy over the QTickets → ClickHouse path: after syncs with changes, no canary personal
//! data, barcode, card fragment, payment link, token or ClickHouse password is found in any
//! ClickHouse table (`SELECT *` as text) or in the debug-level logs. Its own test binary,
//! because capturing logs needs the only subscriber in the process.

use crate::common;

use boxoffice::sync::{sync_account, RunOptions};
use boxoffice_sim::canary;
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_testkit::clickhouse::shared_endpoint;
use common::{qtickets_account, Captured, Pipeline};

#[tokio::test]
async fn no_canary_reaches_any_clickhouse_table_or_log() {
    let Some(ch) = shared_endpoint("no_canary_reaches_any_clickhouse_table_or_log") else {
        return;
    };
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let db = ch.fresh_database("qt_sweep").unwrap();
    let sim = QticketsSim::new(QticketsConfig {
        orders: 800,
        changes_per_minute: 4.0,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::clickhouse(&ch, &db).await;
    let account = qtickets_account(&srv, &sim.token(), &[]).await;
    for _ in 0..2 {
        let s = sync_account(
            &p.deps,
            &account,
            &RunOptions {
                now_ms: Some(sim.now_ms()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(s.ok(), "{}", s.message);
        sim.advance(600);
    }

    let tables = ch
        .query(&format!(
            "SELECT name FROM system.tables WHERE database = '{db}'"
        ))
        .unwrap();
    let mut dump = String::new();
    for t in tables.lines() {
        dump.push_str(
            &ch.query_in(&db, &format!("SELECT * FROM {t} FORMAT TSV"))
                .unwrap(),
        );
    }
    assert!(
        dump.len() > 10_000,
        "the sweep must see data ({} bytes)",
        dump.len()
    );
    let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(log_text.contains("sync finished"), "logs were captured");
    dump.push_str(&log_text);
    let lower = dump.to_lowercase();
    for c in canary::ALL {
        assert!(
            !lower.contains(&c.to_lowercase()),
            "canary {c} found in ClickHouse"
        );
    }
    for needle in [
        "canary",
        "CANARY LLC",
        "0000000000",
        "example.invalid",
        "******",
        "/pay/",
        "cancel-order",
        "ticket/pdf",
        &sim.token(),
        &ch.password,
    ] {
        assert!(
            !lower.contains(&needle.to_lowercase()),
            "`{needle}` found in ClickHouse"
        );
    }
    let barcodes = sim.barcodes();
    assert!(!barcodes.is_empty());
    for b in barcodes {
        assert!(!dump.contains(&b), "barcode {b} found in ClickHouse");
    }
}
