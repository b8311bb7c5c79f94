//! Privacy over the QTickets → ClickHouse path: after syncs with changes, no canary personal
//! data, barcode, card fragment, payment link, token or ClickHouse password is found in any
//! ClickHouse table (`SELECT *` as text) or in the debug-level logs. The scenario is built once
//! (`common::scenario`) and checked by the tests of [`no_canary_reaches_any_clickhouse_table_or_log`];
//! its logs are captured with a subscriber set on the scenario's own thread.

use std::sync::OnceLock;

use crate::common;

use boxoffice::sync::{sync_account, RunOptions};
use boxoffice_sim::canary;
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_testkit::clickhouse::shared_endpoint;
use common::{qtickets_account, Captured, Pipeline};

/// Two syncs of a QTickets account into a fresh ClickHouse database, debug logs captured.
struct Sweep {
    /// Each sync's `ok()` and message.
    syncs: Vec<(bool, String)>,
    /// Bytes of the tables' dump, before the logs were added to it.
    tables_len: usize,
    /// The captured debug logs.
    logs: String,
    /// Every table as TSV, then the logs.
    dump: String,
    /// The simulation's token and the ClickHouse password.
    token: String,
    password: String,
    /// The simulation's barcodes.
    barcodes: Vec<String>,
}

/// `None` when no ClickHouse is available (the tests then skip, as `shared_endpoint` says).
fn sweep() -> Option<&'static Sweep> {
    static BUILT: OnceLock<Result<Option<Sweep>, String>> = OnceLock::new();
    common::scenario(&BUILT, false, || async {
        let ch = shared_endpoint("qtickets_canary::no_canary_reaches_any_clickhouse_table_or_log")?;
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
        let mut syncs = Vec::new();
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
            syncs.push((s.ok(), s.message.clone()));
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
        let tables_len = dump.len();
        let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
        dump.push_str(&log_text);
        Some(Sweep {
            syncs,
            tables_len,
            logs: log_text,
            dump,
            token: sim.token(),
            password: ch.password.clone(),
            barcodes: sim.barcodes(),
        })
    })
    .as_ref()
}

mod no_canary_reaches_any_clickhouse_table_or_log {
    use super::*;

    #[test]
    fn both_syncs_succeed() {
        let Some(s) = sweep() else { return };
        for (ok, message) in &s.syncs {
            assert!(ok, "{message}");
        }
    }

    #[test]
    fn the_sweep_sees_data() {
        let Some(s) = sweep() else { return };
        assert!(
            s.tables_len > 10_000,
            "the sweep must see data ({} bytes)",
            s.tables_len
        );
    }

    #[test]
    fn the_sweep_sees_the_debug_logs() {
        let Some(s) = sweep() else { return };
        assert!(s.logs.contains("sync finished"), "logs were captured");
    }

    #[test]
    fn no_canary_personal_data() {
        let Some(s) = sweep() else { return };
        let lower = s.dump.to_lowercase();
        for c in canary::ALL {
            assert!(
                !lower.contains(&c.to_lowercase()),
                "canary {c} found in ClickHouse"
            );
        }
    }

    #[test]
    fn no_card_fragment_payment_link_token_or_password() {
        let Some(s) = sweep() else { return };
        let lower = s.dump.to_lowercase();
        for needle in [
            "canary",
            "CANARY LLC",
            "0000000000",
            "example.invalid",
            "******",
            "/pay/",
            "cancel-order",
            "ticket/pdf",
            &s.token,
            &s.password,
        ] {
            assert!(
                !lower.contains(&needle.to_lowercase()),
                "`{needle}` found in ClickHouse"
            );
        }
    }

    #[test]
    fn no_barcode() {
        let Some(s) = sweep() else { return };
        assert!(!s.barcodes.is_empty());
        for b in &s.barcodes {
            assert!(!s.dump.contains(b), "barcode {b} found in ClickHouse");
        }
    }
}
