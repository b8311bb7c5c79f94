//! Sales days in the account's own time zone, daylight saving included, in both warehouses.
//!
//! One config file holds a Paris Shotgun account (`tz = "Europe/Paris"`), a Novosibirsk
//! QTickets account (`tz = "Asia/Novosibirsk"`, +07:00 all year) and a QTickets account without
//! `tz` (the installation's `tz`, Europe/Moscow). Tickets sold at 23:30 and 00:30 local time on
//! the nights around the Paris spring (2026-03-29) and autumn (2026-10-25) changes, and inside
//! the hour that is skipped or repeated, go through the daemon's sink (`app::open_sink` of that
//! config) into the SQLite warehouse and ClickHouse; each must land on its local day, in the
//! `tickets` table and in the `sales_daily` view. The expected days are written out here, not
//! computed: no fixed offset gets them all right (+01:00 misses the summer nights, +02:00 the
//! winter ones). The binary is then run with `TZ=Europe/Paris` for every command.

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;

use boxoffice::config::{Config, Vars};
use boxoffice::model::{Record, Ticket, TicketStatus};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use boxoffice_testkit::clickhouse::{shared_endpoint, ClickhouseEndpoint};
use common::ch_config;

/// Epoch ms of a UTC wall time.
fn utc(y: i64, m: u32, d: u32, h: i64, min: i64) -> i64 {
    boxoffice::clock::days_from_civil(y, m, d).unwrap() * 86_400_000 + (h * 60 + min) * 60_000
}

/// (vendor, account, ticket id, instant, expected sales day)
type Sale = (&'static str, &'static str, &'static str, i64, &'static str);

fn sales() -> Vec<Sale> {
    let paris = |id, at, day| ("shotgun", "paris", id, at, day);
    let nsk = |id, at, day| ("qtickets", "nsk", id, at, day);
    let msk = |id, at, day| ("qtickets", "msk", id, at, day);
    vec![
        // Spring: Paris is +01:00 until 2026-03-29 02:00, then +02:00.
        paris("p-0328-2330", utc(2026, 3, 28, 22, 30), "2026-03-28"),
        paris("p-0329-0030", utc(2026, 3, 28, 23, 30), "2026-03-29"),
        paris("p-0329-0330", utc(2026, 3, 29, 1, 30), "2026-03-29"), // just after the jump
        paris("p-0329-2330", utc(2026, 3, 29, 21, 30), "2026-03-29"),
        paris("p-0330-0030", utc(2026, 3, 29, 22, 30), "2026-03-30"),
        // Autumn: +02:00 until 2026-10-25 03:00, then +01:00; 02:30 happens twice.
        paris("p-1024-2330", utc(2026, 10, 24, 21, 30), "2026-10-24"),
        paris("p-1025-0030", utc(2026, 10, 24, 22, 30), "2026-10-25"),
        paris("p-1025-0230a", utc(2026, 10, 25, 0, 30), "2026-10-25"),
        paris("p-1025-0230b", utc(2026, 10, 25, 1, 30), "2026-10-25"),
        paris("p-1025-2330", utc(2026, 10, 25, 22, 30), "2026-10-25"),
        paris("p-1026-0030", utc(2026, 10, 25, 23, 30), "2026-10-26"),
        // Novosibirsk: +07:00 whatever Paris does.
        nsk("n-0328-2330", utc(2026, 3, 28, 16, 30), "2026-03-28"),
        nsk("n-0329-0030", utc(2026, 3, 28, 17, 30), "2026-03-29"),
        nsk("n-1025-2330", utc(2026, 10, 25, 16, 30), "2026-10-25"),
        nsk("n-1026-0030", utc(2026, 10, 25, 17, 30), "2026-10-26"),
        // The installation's zone (Moscow, +03:00).
        msk("m-0328-2330", utc(2026, 3, 28, 20, 30), "2026-03-28"),
        msk("m-0329-0030", utc(2026, 3, 28, 21, 30), "2026-03-29"),
    ]
}

fn ticket(id: &str, at: i64) -> Ticket {
    Ticket {
        ticket_id: id.into(),
        order_id: format!("o-{id}"),
        event_id: "e1".into(),
        category: "standard".into(),
        channel: "online".into(),
        status: TicketStatus::Valid,
        price_minor: 1000,
        currency: "EUR".into(),
        ordered_at_ms: at,
        updated_at_ms: at,
        ..Ticket::BLANK
    }
}

/// The three accounts, as an operator writes them.
fn config(dir: &std::path::Path) -> Config {
    let token = dir.join("token");
    std::fs::write(&token, "tz-test-token-canary\n").unwrap();
    let file = dir.join("boxoffice.toml");
    let account = |vendor: &str, name: &str, tz: &str| {
        format!(
            "[[account]]\nvendor = \"{vendor}\"\nname = \"{name}\"\n{tz}\nsettings = {{ organizer_id = \"1\" }}\nsecrets = {{ token = {{ file = \"{}\" }} }}\n",
            token.display()
        )
    };
    std::fs::write(
        &file,
        format!(
            "state_dir = \"{}\"\ntz = \"Europe/Moscow\"\n{}{}{}",
            dir.join("state").display(),
            account("shotgun", "paris", "tz = \"Europe/Paris\""),
            account("qtickets", "nsk", "tz = \"Asia/Novosibirsk\""),
            account("qtickets", "msk", ""),
        ),
    )
    .unwrap();
    // The test process's own TZ would override the file's `tz`, which is what is tested: the
    // tests calling this run in a child without it when it is set (`common::own_process`; the
    // binary tests below run in children with their own environment).
    assert!(
        std::env::var_os("TZ").is_none(),
        "TZ is set in the test process"
    );
    Config::from_vars(&Vars::load(Some(&file), &[]).unwrap()).unwrap()
}

/// Stores every sale as the daemon stores a page, one page per account: the sink's write,
/// then the state's commit (with the SQLite warehouse, which lives in the state database, the
/// commit is the one write).
async fn write_sales(config: &Config) {
    let state = boxoffice::app::open_state(config).unwrap();
    let sink = boxoffice::app::open_sink(config).await.unwrap();
    let mut pages: BTreeMap<(&str, &str), Vec<Record>> = BTreeMap::new();
    for (vendor, account, id, at, _) in sales() {
        pages
            .entry((vendor, account))
            .or_default()
            .push(Record::Ticket(ticket(id, at)));
    }
    for ((vendor, account), records) in &pages {
        sink.write(vendor, account, records).await.unwrap();
        state
            .commit_page(vendor, account, records, None, 0)
            .unwrap();
    }
}

/// Each ticket's stored day and the `sales_daily` view's tickets per account and day.
fn check(rows: impl Fn(&str) -> Vec<Vec<String>>, final_: &str) {
    let stored: BTreeMap<String, String> = rows(&format!(
        "SELECT ticket_id, sales_date FROM tickets {final_} ORDER BY ticket_id"
    ))
    .into_iter()
    .map(|r| (r[0].clone(), r[1].clone()))
    .collect();
    let expected: BTreeMap<String, String> = sales()
        .into_iter()
        .map(|(_, _, id, _, day)| (id.to_string(), day.to_string()))
        .collect();
    assert_eq!(stored, expected);

    let mut per_day: BTreeMap<String, u64> = BTreeMap::new();
    for (vendor, account, _, _, day) in sales() {
        *per_day
            .entry(format!("{vendor}/{account} {day}"))
            .or_default() += 1;
    }
    let view: BTreeMap<String, u64> = rows(
        "SELECT vendor, account, sales_date, sum(tickets_sold) FROM sales_daily \
         GROUP BY vendor, account, sales_date ORDER BY vendor, account, sales_date",
    )
    .into_iter()
    .map(|r| (format!("{}/{} {}", r[0], r[1], r[2]), r[3].parse().unwrap()))
    .collect();
    assert_eq!(view, per_day);
    // The nights around the changes, spelled out (Paris: 23 h spring day, 25 h autumn day).
    assert_eq!(view["shotgun/paris 2026-03-29"], 3);
    assert_eq!(view["shotgun/paris 2026-10-25"], 4);
    assert_eq!(view["qtickets/nsk 2026-03-29"], 1);
}

#[tokio::test]
async fn sqlite_sales_days_follow_each_accounts_zone_across_dst() {
    if common::own_process(
        concat!(
            module_path!(),
            "::sqlite_sales_days_follow_each_accounts_zone_across_dst"
        ),
        &["TZ"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    write_sales(&config).await;
    let db = rusqlite::Connection::open(config.state_dir.join("state.sqlite")).unwrap();
    check(
        |sql| {
            let mut st = db.prepare(sql).unwrap();
            let n = st.column_count();
            st.query_map([], |r| {
                (0..n)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Text(t) => t,
                            other => format!("{other:?}"),
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
        },
        "",
    );
}

#[tokio::test]
async fn clickhouse_sales_days_follow_each_accounts_zone_across_dst() {
    if common::own_process(
        concat!(
            module_path!(),
            "::clickhouse_sales_days_follow_each_accounts_zone_across_dst"
        ),
        &["TZ"],
    ) {
        return;
    }
    let Some(ch) = shared_endpoint("clickhouse_sales_days_follow_each_accounts_zone_across_dst")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    let db = ch.fresh_database("tz").unwrap();
    config.clickhouse = Some(ch_config(&ch, &db));
    write_sales(&config).await;
    check(|sql| ch_rows(&ch, &db, sql), "FINAL");
}

fn ch_rows(ch: &ClickhouseEndpoint, db: &str, sql: &str) -> Vec<Vec<String>> {
    ch.query_in(db, sql)
        .unwrap_or_else(|e| panic!("{e:#}"))
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The binary with TZ=Europe/Paris

fn bin(dir: &std::path::Path, tz: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TZ", tz)
        .env("BOXOFFICE_STATE_DIR", dir.join("state"))
        .env("BOXOFFICE_CACHE_DIR", dir.join("cache"));
    c
}

fn run(mut c: Command) -> (bool, String) {
    let out = c.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_takes_tz_europe_paris() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 200,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.csv");
    std::fs::write(
        &plan,
        "sales_date,event_id,city,plan_tickets,plan_revenue,vendor\n2026-03-29,e1,Paris,10,100,shotgun\n",
    )
    .unwrap();
    let paris = |args: &[&str]| {
        let mut c = bin(dir.path(), "Europe/Paris");
        c.args(args)
            .env("SHOTGUN_TOKEN", sim.token())
            .env("SHOTGUN_ORGANIZER_ID", sim.organizer_id().to_string())
            .env("SHOTGUN_BASE_URL", srv.base_url())
            .env("SHOTGUN_EVENTS_BASE_URL", srv.base_url())
            .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0");
        run(c)
    };
    let (ok, out) = paris(&["check"]);
    assert!(ok, "boxoffice check with TZ=Europe/Paris:\n{out}");
    assert!(
        out.contains("ok   sales days in Europe/Paris: shotgun/default"),
        "{out}"
    );
    for args in [
        vec!["migrate"],
        vec!["sync"],
        vec!["sync", "--from", "2026-03-29", "--to", "2026-03-30"],
        vec!["plan", "import", plan.to_str().unwrap()],
        vec![
            "backfill-metrics",
            "--to",
            "http://127.0.0.1:9",
            "--since",
            "2026-03-29",
            "--dry-run",
        ],
    ] {
        let (ok, out) = paris(&args);
        assert!(ok, "boxoffice {args:?} with TZ=Europe/Paris:\n{out}");
    }
    // The demo (its own accounts, sales days in TZ).
    let (ok, out) = run({
        let mut c = bin(dir.path(), "Europe/Paris");
        c.args([
            "demo",
            "--once",
            "--port",
            "0",
            "--tickets",
            "300",
            "--orders",
            "50",
        ])
        .arg("--state-dir")
        .arg(dir.path().join("demo"));
        c
    });
    assert!(
        ok && out.contains("synced shotgun/demo: ok"),
        "demo with TZ=Europe/Paris:\n{out}"
    );
    // A misspelt zone: commands refuse it, naming the variable and the value.
    for args in [vec!["migrate"], vec!["sync"], vec!["demo", "--once"]] {
        let (ok, out) = run({
            let mut c = bin(dir.path(), "Europe/Pariss");
            c.args(&args);
            c
        });
        assert!(!ok, "{args:?}: {out}");
        assert!(out.contains("TZ: `Europe/Pariss`"), "{args:?}: {out}");
    }
}
