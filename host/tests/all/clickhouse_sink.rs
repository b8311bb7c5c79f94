//! The ClickHouse warehouse against a real server (Debian's clickhouse-server, started by the
//! testkit or by `.ci/run`): migrations are idempotent and tamper-proof, and Shotgun data
//! written through the `Sink` equals the simulator's truth with one row per ticket.

use crate::common;

use boxoffice::migrate::Migration;
use boxoffice::sink::clickhouse::{migrate, ClickhouseClient, MigrateError, MIGRATIONS};
use boxoffice::sync::{sync_account, RunOptions};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use boxoffice_testkit::clickhouse::shared_endpoint;
use common::{ch_config, shotgun_account, Pipeline};

#[tokio::test]
async fn migrations_apply_once_and_refuse_tampering() {
    let Some(ch) = shared_endpoint("migrations_apply_once_and_refuse_tampering") else {
        return;
    };
    let db = ch.fresh_database("migrate").unwrap();
    let client = ClickhouseClient::new(ch_config(&ch, &db)).unwrap();

    let first = migrate::apply(&client, MIGRATIONS).await.unwrap();
    assert_eq!(first.applied.len(), MIGRATIONS.len());
    let tables = ch
        .query(&format!(
            "SELECT name FROM system.tables WHERE database = '{db}' ORDER BY name"
        ))
        .unwrap();
    for t in [
        "tickets",
        "events",
        "inventory_snapshots",
        "job_runs",
        "sales_daily",
        "inventory_latest",
        "fact_qtickets_sales_daily",
        "fact_qtickets_inventory_latest",
        "meta_job_runs",
        "stg_qtickets_api_orders_raw",
        "boxoffice_migrations",
    ] {
        assert!(tables.lines().any(|l| l == t), "{t} missing: {tables}");
    }

    let second = migrate::apply(&client, MIGRATIONS).await.unwrap();
    assert!(
        second.applied.is_empty(),
        "second run applied {:?}",
        second.applied
    );
    assert_eq!(second.already.len(), MIGRATIONS.len());
    let ledger = ch
        .query_in(&db, "SELECT count() FROM boxoffice_migrations")
        .unwrap();
    assert_eq!(ledger.trim(), MIGRATIONS.len().to_string());

    let mut tampered: Vec<Migration> = MIGRATIONS.to_vec();
    tampered[1].sql = "CREATE VIEW IF NOT EXISTS sales_daily AS SELECT 1 AS x;";
    let err = migrate::apply(&client, &tampered).await.unwrap_err();
    assert!(matches!(err, MigrateError::Tampered { .. }), "{err}");
    assert!(err.to_string().contains("0002_views.sql"), "{err}");

    let older = &MIGRATIONS[..1];
    let err = migrate::apply(&client, older).await.unwrap_err();
    assert!(
        matches!(err, MigrateError::Unknown { version: 2, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn shotgun_into_clickhouse_equals_truth_without_duplicates() {
    let Some(ch) = shared_endpoint("shotgun_into_clickhouse_equals_truth_without_duplicates")
    else {
        return;
    };
    let db = ch.fresh_database("shotgun").unwrap();
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 3_000,
        changes_per_minute: 20.0,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::clickhouse(&ch, &db).await;
    let account = shotgun_account(&sim, &srv, &sim.token()).await;
    for round in 0..3 {
        let opts = RunOptions {
            now_ms: Some(sim.now_ms()),
            ..Default::default()
        };
        let s = sync_account(&p.deps, &account, &opts).await.unwrap();
        assert!(s.ok(), "round {round}: {}", s.message);
        sim.advance(90);
    }
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

    let counts = ch
        .query_in(
            &db,
            "SELECT count(), uniqExact(ticket_id) FROM tickets FINAL",
        )
        .unwrap();
    let (n, distinct) = counts.trim().split_once('\t').unwrap();
    assert_eq!(n, distinct, "one row per ticket after FINAL");
    assert_eq!(n.parse::<u64>().unwrap(), sim.ticket_count());

    let got = ch
        .query_in(
            &db,
            "SELECT event_id, category, sum(tickets_sold), sum(revenue_minor)
             FROM sales_daily GROUP BY event_id, category ORDER BY event_id, category",
        )
        .unwrap();
    let mut want: Vec<String> = sim
        .truth()
        .iter()
        .filter(|r| r.sold > 0 || r.revenue_minor != 0 || r.refunded > 0)
        .map(|r| {
            format!(
                "{}\t{}\t{}\t{}",
                r.event_id, r.category, r.sold, r.revenue_minor
            )
        })
        .collect();
    want.sort();
    let mut got: Vec<String> = got
        .lines()
        .filter(|l| !l.ends_with("\t0\t0"))
        .map(String::from)
        .collect();
    got.sort();
    want.retain(|l| !l.ends_with("\t0\t0"));
    assert_eq!(got, want);

    let runs = ch
        .query_in(
            &db,
            "SELECT count(), countIf(status = 'ok') FROM meta_job_runs",
        )
        .unwrap();
    assert_eq!(runs.trim(), "4\t4");
}
