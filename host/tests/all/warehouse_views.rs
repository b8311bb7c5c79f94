//! The warehouse views beyond the basics, on a real ClickHouse (the server CI starts, or one
//! started here) and in the SQLite warehouse: the old QTickets loader's UTM fact, dashboard,
//! event dimension, inventory staging and plan-vs-fact (after `boxoffice plan import`), and
//! the vendor-neutral breakdown, fees, dashboard and plan views with Shotgun data beside. Both
//! vendors share one warehouse, so the qtickets_* views also prove they hold QTickets rows
//! only. Expected figures come from the simulators' own state (`QticketsSim::daily_truth`,
//! `ShotgunSim` tickets and inventory), computed for the same `now` as the views' `now()`.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use boxoffice::clock::local_date;
use boxoffice_sim::qtickets::{DailyTruthSet, QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim, Status};
use boxoffice_testkit::clickhouse::{shared_endpoint, ClickhouseEndpoint};
use common::{ch_config, qtickets_account, shotgun_account, sync_ok, Pipeline};

const HOUR_MS: i64 = 3_600_000;
const MSK_MIN: i32 = 180;

// ---------------------------------------------------------------------------------------------
// The two warehouses behind one query interface

/// A warehouse under test. Queries are written in the SQL both engines accept.
enum Wh {
    Ch {
        endpoint: ClickhouseEndpoint,
        db: String,
    },
    Lite {
        /// The state dir: `state.sqlite` inside, as `boxoffice plan import` finds it.
        dir: PathBuf,
    },
}

impl Wh {
    fn name(&self) -> &'static str {
        match self {
            Wh::Ch { .. } => "clickhouse",
            Wh::Lite { .. } => "sqlite",
        }
    }

    /// `FINAL` where ClickHouse needs it to read the current state of a table.
    fn final_(&self) -> &'static str {
        match self {
            Wh::Ch { .. } => "FINAL",
            Wh::Lite { .. } => "",
        }
    }

    /// Rows of cells as text; NULL is `\N` in both.
    fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Wh::Ch { endpoint, db } => endpoint
                .query_in(db, sql)
                .unwrap_or_else(|e| panic!("{e:#}"))
                .lines()
                .map(|l| l.split('\t').map(String::from).collect())
                .collect(),
            Wh::Lite { dir } => {
                let conn = rusqlite::Connection::open_with_flags(
                    dir.join("state.sqlite"),
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .unwrap();
                let mut st = conn.prepare(sql).unwrap_or_else(|e| panic!("{e}: {sql}"));
                let n = st.column_count();
                st.query_map([], |r| {
                    (0..n)
                        .map(|i| {
                            Ok(match r.get_ref(i)? {
                                rusqlite::types::ValueRef::Null => "\\N".to_string(),
                                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                                rusqlite::types::ValueRef::Real(v) => v.to_string(),
                                rusqlite::types::ValueRef::Text(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                                rusqlite::types::ValueRef::Blob(_) => "<blob>".into(),
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
        }
    }

    fn lines(&self, sql: &str) -> Vec<String> {
        self.rows(sql).into_iter().map(|r| r.join("\t")).collect()
    }

    fn one(&self, sql: &str) -> String {
        self.lines(sql).join("\n")
    }

    /// `boxoffice plan import FILE` against this warehouse: (success, stderr).
    fn plan_import(&self, file: &Path) -> (bool, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
        cmd.args(["plan", "import"]).arg(file).env_clear();
        cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        match self {
            Wh::Ch { endpoint, db } => {
                // Not touched when ClickHouse is configured.
                let state = std::env::temp_dir().join("boxoffice-plan-import-unused");
                cmd.env("BOXOFFICE_STATE_DIR", state)
                    .env("CLICKHOUSE_HOST", &endpoint.url)
                    .env("CLICKHOUSE_USER", &endpoint.user)
                    .env("CLICKHOUSE_PASSWORD", &endpoint.password)
                    .env("CLICKHOUSE_DATABASE", db);
            }
            Wh::Lite { dir } => {
                cmd.env("BOXOFFICE_STATE_DIR", dir);
            }
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// `YYYY-MM-DD HH:MM:SS` in Moscow, the old contract's naive DateTime.
fn moscow(ms: i64) -> String {
    let secs = (ms.div_euclid(1000) + MSK_MIN as i64 * 60).rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02}",
        local_date(ms, MSK_MIN),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn now_ms() -> i64 {
    boxoffice::clock::now_ms()
}

/// Runs `read` between two truths taken just before and after it; retries when they differ
/// (a window edge — midnight in Moscow, an order leaving the last 24 hours — passed between).
fn stable<T, R>(truth: impl Fn(i64) -> T, read: impl Fn() -> R) -> (T, R)
where
    T: PartialEq + std::fmt::Debug,
{
    for _ in 0..5 {
        let before = truth(now_ms());
        let got = read();
        let after = truth(now_ms());
        if before == after {
            return (before, got);
        }
    }
    panic!("the truth kept moving while reading the views");
}

// ---------------------------------------------------------------------------------------------
// The scenario: QTickets and Shotgun near the real now, synced, refunds, synced again

struct Scenario {
    qt: QticketsSim,
    sg: ShotgunSim,
    /// The `now` of the last QTickets sync (its inventory snapshot time).
    qt_synced_ms: i64,
}

/// Runs the scenario into `sink_pipeline`. The simulators' clocks end just before the real
/// now, so "today", the last 24 hours and the 14-day windows have sales.
async fn scenario(p: &Pipeline) -> Scenario {
    let start = now_ms() - 8 * HOUR_MS;
    let qt = QticketsSim::new(QticketsConfig {
        orders: 2_000,
        start_ms: start,
        orders_per_minute: 2.0,
        changes_per_minute: 4.0,
        ..Default::default()
    });
    let sg = ShotgunSim::new(ShotgunConfig {
        tickets: 2_000,
        start_ms: start,
        sales_per_minute: 2.0,
        changes_per_minute: 3.0,
        ..Default::default()
    });
    let (qt_srv, sg_srv) = (qt.spawn().await.unwrap(), sg.spawn().await.unwrap());
    // A lookback over the whole history: every run re-reads refunds exactly.
    let qt_account = qtickets_account(&qt_srv, &qt.token(), &[("lookback_hours", "1000")]).await;
    let sg_account = shotgun_account(&sg, &sg_srv, &sg.token()).await;
    qt.advance(6 * 60);
    sg.advance(6 * 60);
    sync_ok(&p.deps, &qt_account, qt.now_ms()).await;
    sync_ok(&p.deps, &sg_account, sg.now_ms()).await;
    // Payments, refunds, cancels and new sales, then the next runs.
    qt.advance(110);
    sg.advance(110);
    let qt_synced_ms = qt.now_ms();
    sync_ok(&p.deps, &qt_account, qt_synced_ms).await;
    sync_ok(&p.deps, &sg_account, sg.now_ms()).await;
    assert!(qt_synced_ms <= now_ms() && sg.now_ms() <= now_ms());
    Scenario {
        qt,
        sg,
        qt_synced_ms,
    }
}

// ---------------------------------------------------------------------------------------------
// QTickets: the old loader's objects

fn check_qtickets_utm_daily(wh: &Wh, t: &DailyTruthSet) {
    let got = wh.lines(
        "SELECT sales_date, event_id, city, utm_source, utm_medium, utm_campaign, utm_content,
                utm_term, tickets_sold, CAST(round(revenue * 100) AS Int64)
         FROM fact_qtickets_sales_utm_daily",
    );
    let mut got = got;
    got.sort();
    let mut want: Vec<String> = t
        .utm_daily
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t\t\t{}\t{}",
                r.sales_date,
                r.event_id,
                r.city,
                r.utm_source,
                r.utm_medium,
                r.utm_campaign,
                r.tickets,
                r.revenue_minor
            )
        })
        .collect();
    want.sort();
    assert!(
        want.iter().any(|l| l.contains("\tsim_")),
        "UTM-tagged sales"
    );
    assert!(want.len() > 50, "{} rows", want.len());
    assert_eq!(got, want, "{}: fact_qtickets_sales_utm_daily", wh.name());
}

fn check_qtickets_dashboard(wh: &Wh, s: &Scenario) {
    let read = || {
        let mut rows = wh.lines(
            "SELECT event_id, event_name, city, tickets_sold_today,
                    CAST(round(revenue_today * 100) AS Int64), tickets_sold_14d,
                    CAST(round(revenue_14d * 100) AS Int64), tickets_total, tickets_left,
                    inventory_updated_at, start_date, end_date
             FROM v_qtickets_sales_dashboard",
        );
        rows.sort();
        rows
    };
    let (t, got) = stable(|now| s.qt.daily_truth(now).dashboard, read);
    let snapshot = moscow(s.qt_synced_ms);
    let mut want: Vec<String> = t
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{snapshot}\t{}\t{}",
                r.event_id,
                r.name,
                r.city,
                r.tickets_today,
                r.revenue_today_minor,
                r.tickets_14d,
                r.revenue_14d_minor,
                r.tickets_total,
                r.tickets_left,
                r.start_date.as_deref().unwrap_or("\\N"),
                r.end_date.as_deref().unwrap_or("\\N"),
            )
        })
        .collect();
    want.sort();
    assert!(t.iter().any(|r| r.tickets_14d > 0), "sales in 14 days");
    // "Today" is empty only in the first minutes after Moscow midnight.
    let msk_minutes = (now_ms() / 60_000 + MSK_MIN as i64).rem_euclid(1440);
    if msk_minutes > 30 {
        assert!(t.iter().any(|r| r.tickets_today > 0), "sales today");
    }
    assert_eq!(got, want, "{}: v_qtickets_sales_dashboard", wh.name());

    // dim_events: the same events, dates and seats.
    let mut got = wh.lines(
        "SELECT event_id, event_name, city, start_date, end_date, tickets_total, tickets_left
         FROM dim_events",
    );
    got.sort();
    let mut want: Vec<String> = t
        .iter()
        .map(|r| {
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                r.event_id,
                r.name,
                r.city,
                r.start_date.as_deref().unwrap_or("\\N"),
                r.end_date.as_deref().unwrap_or("\\N"),
                r.tickets_total,
                r.tickets_left
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want, "{}: dim_events", wh.name());
}

fn check_qtickets_inventory_raw(wh: &Wh, s: &Scenario) {
    // ClickHouse only: the staging names are the old loader's ClickHouse monitoring surface.
    let events = s.qt.daily_truth(now_ms()).dashboard;
    let got = wh.lines(
        "SELECT event_id, count(), max(snapshot_ts),
                argMax(tickets_total, snapshot_ts), argMax(tickets_left, snapshot_ts),
                any(city), uniqExact(_dedup_key)
         FROM stg_qtickets_api_inventory_raw GROUP BY event_id ORDER BY event_id",
    );
    let mut want: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{}\t2\t{}\t{}\t{}\t{}\t2",
                e.event_id,
                moscow(s.qt_synced_ms),
                e.tickets_total,
                e.tickets_left,
                e.city
            )
        })
        .collect();
    want.sort();
    assert_eq!(
        got, want,
        "stg_qtickets_api_inventory_raw: two runs per event"
    );
}

/// A plan CSV over the truth's days: some plans above, some below, some zero, one for a day
/// without sales, and days with sales but no plan. Cities in their original case.
fn plan_csv(t: &DailyTruthSet, names: &BTreeMap<u64, String>) -> String {
    let mut out = String::from("sales_date,event_id,city,plan_tickets,plan_revenue\n");
    for (i, r) in t.daily.iter().enumerate() {
        if i % 4 == 3 {
            continue; // fact without plan
        }
        let (tickets, revenue) = match i % 4 {
            0 => (r.tickets + 3, format!("{}.25", r.revenue_minor / 100 + 500)),
            1 => (
                r.tickets.saturating_sub(1),
                format!("{}", r.revenue_minor / 200),
            ),
            _ => (0, "0".to_string()),
        };
        out.push_str(&format!(
            "{},{},\"{}\",{tickets},{revenue}\n",
            r.sales_date, r.event_id, names[&r.event_id]
        ));
    }
    let last = t.daily.last().unwrap();
    out.push_str(&format!(
        "2099-12-31,{},{},10,1000.5\n",
        last.event_id, names[&last.event_id]
    ));
    out
}

type PlanKey = (String, String, String, String);

/// plan_vs_fact rows expected from plan rows (vendor, date, event, city → tickets, revenue) and
/// facts (same key → tickets, revenue in minor units).
fn expected_plan_vs_fact(
    plans: &BTreeMap<PlanKey, (u64, f64)>,
    facts: &BTreeMap<PlanKey, (u64, i64)>,
) -> Vec<(PlanKey, [Option<f64>; 8])> {
    let mut keys: Vec<&PlanKey> = plans.keys().chain(facts.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| {
            let (pt, pr) = plans.get(k).copied().unwrap_or_default();
            let (ft, fr) = facts.get(k).copied().unwrap_or_default();
            let (pt, ft, fr) = (pt as f64, ft as f64, fr as f64 / 100.0);
            let pct = |f: f64, p: f64| (p != 0.0).then(|| (f - p) / p);
            (
                k.clone(),
                [
                    Some(pt),
                    Some(pr),
                    Some(ft),
                    Some(fr),
                    Some(ft - pt),
                    Some(fr - pr),
                    pct(fr, pr),
                    pct(ft, pt),
                ],
            )
        })
        .collect()
}

fn read_plan_vs_fact(wh: &Wh, vendor: &str) -> Vec<(PlanKey, [Option<f64>; 8])> {
    let sql = if vendor == "qtickets" {
        // The legacy view, which has no vendor column.
        "SELECT 'qtickets', sales_date, event_id, city, plan_tickets, plan_revenue, fact_tickets,
                fact_revenue, diff_tickets, diff_revenue, diff_revenue_pct, diff_tickets_pct
         FROM v_plan_vs_fact"
            .to_string()
    } else {
        format!(
            "SELECT vendor, sales_date, event_id, city, plan_tickets, plan_revenue, fact_tickets,
                    fact_revenue, diff_tickets, diff_revenue, diff_revenue_pct, diff_tickets_pct
             FROM plan_vs_fact WHERE vendor = '{vendor}'"
        )
    };
    let mut rows: Vec<(PlanKey, [Option<f64>; 8])> = wh
        .rows(&sql)
        .into_iter()
        .map(|r| {
            let key = (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone());
            let mut v = [None; 8];
            for (slot, cell) in v.iter_mut().zip(&r[4..]) {
                *slot = (cell != "\\N").then(|| cell.parse().unwrap());
            }
            (key, v)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

fn assert_plan_rows(
    wh: &Wh,
    what: &str,
    got: &[(PlanKey, [Option<f64>; 8])],
    want: &[(PlanKey, [Option<f64>; 8])],
) {
    assert_eq!(
        got.iter().map(|r| &r.0).collect::<Vec<_>>(),
        want.iter().map(|r| &r.0).collect::<Vec<_>>(),
        "{}: {what} keys",
        wh.name()
    );
    for ((k, g), (_, w)) in got.iter().zip(want) {
        for (i, (g, w)) in g.iter().zip(w).enumerate() {
            let same = match (g, w) {
                (Some(g), Some(w)) => (g - w).abs() <= 1e-6 * (1.0 + w.abs()),
                (None, None) => true,
                _ => false,
            };
            assert!(
                same,
                "{}: {what} {k:?} column {i}: got {g:?}, want {w:?}",
                wh.name()
            );
        }
    }
}

fn check_qtickets_plans(wh: &Wh, s: &Scenario, dir: &Path) {
    let t = s.qt.daily_truth(now_ms());
    let names: BTreeMap<u64, String> =
        s.qt.event_truth()
            .into_iter()
            .map(|e| (e.event_id, e.city))
            .collect();
    let csv = plan_csv(&t, &names);
    let file = dir.join("plan.csv");
    std::fs::write(&file, &csv).unwrap();
    let (ok, err) = wh.plan_import(&file);
    assert!(ok, "{}: plan import failed: {err}", wh.name());

    let mut plans: BTreeMap<PlanKey, (u64, f64)> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let city = f[2].trim_matches('"').to_lowercase();
        let key = ("qtickets".into(), f[0].into(), f[1].into(), city);
        plans.insert(key, (f[3].parse().unwrap(), f[4].parse().unwrap()));
    }
    let facts: BTreeMap<PlanKey, (u64, i64)> = t
        .daily
        .iter()
        .map(|r| {
            let key = (
                "qtickets".into(),
                r.sales_date.clone(),
                r.event_id.to_string(),
                r.city.clone(),
            );
            (key, (r.tickets, r.revenue_minor))
        })
        .collect();
    let want = expected_plan_vs_fact(&plans, &facts);
    assert!(
        want.iter().any(|r| r.1[6].is_none()),
        "zero plans give NULL"
    );
    assert!(want
        .iter()
        .any(|r| r.1[0] == Some(0.0) && r.1[2] != Some(0.0)));
    assert_plan_rows(
        wh,
        "v_plan_vs_fact",
        &read_plan_vs_fact(wh, "qtickets"),
        &want,
    );

    // Importing the same file again changes nothing; one row per key.
    let (ok, err) = wh.plan_import(&file);
    assert!(ok, "{err}");
    let count = format!(
        "SELECT count() FROM plan_sales {} WHERE vendor = 'qtickets'",
        wh.final_()
    );
    assert_eq!(wh.one(&count), plans.len().to_string());
    assert_plan_rows(wh, "re-import", &read_plan_vs_fact(wh, "qtickets"), &want);

    // A corrected file replaces the figures of its keys.
    let first = t.daily.first().unwrap();
    let fixed = format!(
        "sales_date,event_id,city,plan_tickets,plan_revenue\n{},{},{},7,700\n",
        first.sales_date,
        first.event_id,
        names[&first.event_id].to_uppercase()
    );
    std::fs::write(&file, fixed).unwrap();
    let (ok, err) = wh.plan_import(&file);
    assert!(ok, "{err}");
    let key = (
        "qtickets".to_string(),
        first.sales_date.clone(),
        first.event_id.to_string(),
        first.city.clone(),
    );
    plans.insert(key, (7, 700.0));
    let want = expected_plan_vs_fact(&plans, &facts);
    assert_eq!(wh.one(&count), plans.len().to_string());
    assert_plan_rows(wh, "corrected", &read_plan_vs_fact(wh, "qtickets"), &want);
}

// ---------------------------------------------------------------------------------------------
// Vendor-neutral views

/// (date, event, dimension, value) → (sold, refunded, revenue) from the warehouse.
type DimRows = BTreeMap<(String, String, String, String), (u64, u64, i64)>;

fn read_dimensions(wh: &Wh, vendor: &str) -> DimRows {
    wh.rows(&format!(
        "SELECT sales_date, event_id, dimension, value, sum(tickets_sold), sum(tickets_refunded),
                sum(revenue_minor)
         FROM sales_by_dimension_daily WHERE vendor = '{vendor}'
         GROUP BY sales_date, event_id, dimension, value"
    ))
    .into_iter()
    .map(|r| {
        (
            (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()),
            (
                r[4].parse().unwrap(),
                r[5].parse().unwrap(),
                r[6].parse().unwrap(),
            ),
        )
    })
    .collect()
}

fn check_qtickets_neutral(wh: &Wh, s: &Scenario) {
    let t = s.qt.daily_truth(now_ms());
    let got = read_dimensions(wh, "qtickets");
    let mut want: BTreeMap<(String, String, String, String), (u64, i64)> = BTreeMap::new();
    for r in &t.by_dimension {
        let key = (
            r.sales_date.clone(),
            r.event_id.to_string(),
            r.dimension.to_string(),
            r.value.clone(),
        );
        want.insert(key, (r.tickets, r.revenue_minor));
    }
    let got: BTreeMap<_, _> = got.into_iter().map(|(k, (t, _, r))| (k, (t, r))).collect();
    assert_eq!(
        got,
        want,
        "{}: sales_by_dimension_daily (qtickets)",
        wh.name()
    );

    // The neutral dashboard: rolling windows, all-time sales and seats per live event.
    let read = || {
        wh.lines(
            "SELECT event_id, tickets_sold_24h, revenue_24h_minor, tickets_sold_14d,
                    revenue_14d_minor, tickets_sold, revenue_minor, tickets_total, tickets_left
             FROM sales_dashboard WHERE vendor = 'qtickets' AND canceled_at_ms IS NULL
             ORDER BY event_id",
        )
    };
    let (dash, got) = stable(|now| s.qt.daily_truth(now).dashboard, read);
    let mut all_time: BTreeMap<u64, (u64, i64)> = BTreeMap::new();
    for r in &t.daily {
        let e = all_time.entry(r.event_id).or_default();
        e.0 += r.tickets;
        e.1 += r.revenue_minor;
    }
    let mut want: Vec<String> = dash
        .iter()
        .map(|r| {
            let (sold, rev) = all_time.get(&r.event_id).copied().unwrap_or_default();
            format!(
                "{}\t{}\t{}\t{}\t{}\t{sold}\t{rev}\t{}\t{}",
                r.event_id,
                r.tickets_24h,
                r.revenue_24h_minor,
                r.tickets_rolling_14d,
                r.revenue_rolling_14d_minor,
                r.tickets_total,
                r.tickets_left
            )
        })
        .collect();
    want.sort();
    assert!(dash.iter().any(|r| r.tickets_24h > 0), "sales in 24 hours");
    assert_eq!(got, want, "{}: sales_dashboard (qtickets)", wh.name());
}

/// Shotgun truth per (Moscow date, event, dimension, value) for what the simulator's state
/// names (channel and visibility live on the deal): (sold, refunded, kept revenue). Plus the
/// same per (date, event) without dimension, and the tickets of each event by order time.
struct ShotgunTruth {
    by_dim: DimRows,
    per_day: BTreeMap<(String, String), (u64, u64, i64)>,
    /// event id → [(ordered_at_ms, sold, kept)] of valid and refunded tickets
    orders: BTreeMap<String, Vec<(i64, u64, i64)>>,
    /// event id → lower-case city
    cities: BTreeMap<String, String>,
}

fn shotgun_truth(sg: &ShotgunSim) -> ShotgunTruth {
    let events = sg.events();
    let mut t = ShotgunTruth {
        by_dim: BTreeMap::new(),
        per_day: BTreeMap::new(),
        orders: BTreeMap::new(),
        cities: events
            .iter()
            .map(|e| (e.id.to_string(), e.city.to_lowercase()))
            .collect(),
    };
    sg.for_each_ticket(|k| {
        let (sold, refunded) = match k.status {
            Status::Valid => (1, 0),
            Status::Refunded => (0, 1),
            _ => return,
        };
        let e = &events[k.event_idx as usize];
        let d = &e.deals[k.deal_idx as usize];
        // A refund is taken as full (the API has no amount): only valid tickets keep money.
        let kept = if sold == 1 { d.price } else { 0 };
        let date = local_date(k.ordered_at_ms, MSK_MIN);
        let add = |row: &mut (u64, u64, i64)| {
            row.0 += sold;
            row.1 += refunded;
            row.2 += kept;
        };
        let id = e.id.to_string();
        add(t.per_day.entry((date.clone(), id.clone())).or_default());
        let mut dims = vec![("channel", d.channel.to_string())];
        dims.extend(d.visibilities.iter().map(|v| ("visibility", v.to_string())));
        for (dim, value) in dims {
            let key = (date.clone(), id.clone(), dim.to_string(), value);
            add(t.by_dim.entry(key).or_default());
        }
        t.orders
            .entry(id)
            .or_default()
            .push((k.ordered_at_ms, sold, kept));
    });
    t
}

fn check_shotgun_neutral(wh: &Wh, s: &Scenario, dir: &Path) {
    let t = shotgun_truth(&s.sg);
    let got = read_dimensions(wh, "shotgun");

    // Channel and visibility (each element of the deal's list) equal the truth.
    for dim in ["channel", "visibility"] {
        let pick = |m: &DimRows| -> DimRows {
            m.iter()
                .filter(|(k, _)| k.2 == dim)
                .map(|(k, v)| (k.clone(), *v))
                .collect()
        };
        assert_eq!(pick(&got), pick(&t.by_dim), "{}: shotgun {dim}", wh.name());
    }
    assert!(
        t.by_dim.keys().any(|k| k.3 == "xpress_door") && t.by_dim.keys().any(|k| k.3 == "onsite"),
        "several visibilities and channels"
    );
    // Every dimension and the fees by type, per event over all days, equal the simulator's
    // breakdown truth (held = valid tickets; a missing value is '' here, None there).
    let b = s.sg.breakdown_truth();
    let mut want: BTreeMap<(String, String, String), (u64, i64)> = BTreeMap::new();
    for r in &b.rows {
        let Some(value) = r.value.clone() else {
            // No row in the view for a ticket without visibilities; none in the simulator.
            assert_ne!(r.dimension, "visibility", "deals without visibility");
            want.insert(
                (
                    r.event_id.to_string(),
                    r.dimension.to_string(),
                    String::new(),
                ),
                (r.tickets, r.revenue_minor),
            );
            continue;
        };
        let key = (r.event_id.to_string(), r.dimension.to_string(), value);
        want.insert(key, (r.tickets, r.revenue_minor));
    }
    let mut per_event: BTreeMap<(String, String, String), (u64, i64)> = BTreeMap::new();
    for (k, v) in &got {
        let e = per_event
            .entry((k.1.clone(), k.2.clone(), k.3.clone()))
            .or_default();
        e.0 += v.0;
        e.1 += v.2;
    }
    per_event.retain(|_, v| *v != (0, 0));
    // Shotgun has no campaign tag: the view's utm_campaign is '' for every ticket (the per-day
    // sums below check its counts); the truth leaves the dimension out.
    per_event.retain(|k, _| k.1 != "utm_campaign" || !k.2.is_empty());
    assert_eq!(per_event, want, "{}: shotgun breakdowns", wh.name());
    for dim in ["payment_method", "utm_source", "utm_medium"] {
        let values: std::collections::BTreeSet<_> =
            want.keys().filter(|k| k.1 == dim).map(|k| &k.2).collect();
        assert!(values.len() > 1, "{dim}: {values:?}");
    }
    // Per day, each single-valued dimension adds up to the day's sales.
    for dim in ["payment_method", "utm_source", "utm_medium", "utm_campaign"] {
        let mut per_day: BTreeMap<(String, String), (u64, u64, i64)> = BTreeMap::new();
        for (k, v) in got.iter().filter(|(k, _)| k.2 == dim) {
            let e = per_day.entry((k.0.clone(), k.1.clone())).or_default();
            *e = (e.0 + v.0, e.1 + v.1, e.2 + v.2);
        }
        assert_eq!(per_day, t.per_day, "{}: shotgun {dim} per day", wh.name());
    }

    // Fees by type of the valid tickets.
    let fees = wh.rows(
        "SELECT event_id, fee_type, sum(amount_minor), sum(tickets) FROM fees_by_type_daily
         WHERE vendor = 'shotgun' GROUP BY event_id, fee_type",
    );
    let got_fees: BTreeMap<(String, String), i64> = fees
        .iter()
        .map(|r| ((r[0].clone(), r[1].clone()), r[2].parse().unwrap()))
        .filter(|(_, v)| *v != 0)
        .collect();
    let want_fees: BTreeMap<(String, String), i64> = b
        .fees
        .iter()
        .map(|f| {
            (
                (f.event_id.to_string(), f.fee_type.to_string()),
                f.amount_minor,
            )
        })
        .collect();
    assert!(want_fees.keys().any(|k| k.1 == "service_fee"));
    assert_eq!(got_fees, want_fees, "{}: fees_by_type_daily", wh.name());
    let mut sold: BTreeMap<String, u64> = BTreeMap::new();
    for ((_, id), v) in &t.per_day {
        *sold.entry(id.clone()).or_default() += v.0;
    }
    sold.retain(|_, v| *v > 0);
    for r in &fees {
        assert_eq!(
            r[3].parse::<u64>().unwrap(),
            sold[&r[0]],
            "fee rows count valid tickets"
        );
    }

    // The neutral dashboard: every event, rolling windows by order time, seats.
    let inventory: BTreeMap<String, (u64, u64)> =
        s.sg.inventory_truth()
            .into_iter()
            .map(|i| (i.event_id.to_string(), (i.capacity, i.left)))
            .collect();
    let dash_truth = |now: i64| -> Vec<String> {
        let mut rows: Vec<String> = t
            .cities
            .keys()
            .map(|id| {
                let mut w = [(0u64, 0i64); 3];
                for &(at, sold, kept) in t.orders.get(id).into_iter().flatten() {
                    let windows = [
                        at >= now - 24 * HOUR_MS,
                        at >= now - 14 * 24 * HOUR_MS,
                        true,
                    ];
                    for (slot, hit) in w.iter_mut().zip(windows) {
                        if hit {
                            slot.0 += sold;
                            slot.1 += kept;
                        }
                    }
                }
                let (total, left) = inventory[id];
                format!(
                    "{id}\t{}\t{}\t{}\t{}\t{}\t{}\t{total}\t{left}\t{}",
                    w[0].0, w[0].1, w[1].0, w[1].1, w[2].0, w[2].1, t.cities[id]
                )
            })
            .collect();
        rows.sort();
        rows
    };
    let read = || {
        let mut rows = wh.lines(
            "SELECT event_id, tickets_sold_24h, revenue_24h_minor, tickets_sold_14d,
                    revenue_14d_minor, tickets_sold, revenue_minor, tickets_total, tickets_left,
                    lower(city)
             FROM sales_dashboard WHERE vendor = 'shotgun'",
        );
        rows.sort();
        rows
    };
    let (want, got) = stable(dash_truth, read);
    assert!(
        want.iter().any(|l| l.split('\t').nth(1) != Some("0")),
        "24 h sales"
    );
    assert_eq!(got, want, "{}: sales_dashboard (shotgun)", wh.name());

    // Plans for Shotgun (a vendor column) against its facts, beside the QTickets plans.
    let mut csv = String::from("vendor,sales_date,event_id,city,plan_tickets,plan_revenue\n");
    let mut plans: BTreeMap<PlanKey, (u64, f64)> = BTreeMap::new();
    for (i, ((date, id), (sold, _, kept))) in t.per_day.iter().enumerate().step_by(5) {
        let (pt, pr) = (sold + i as u64 % 3, (*kept / 100 + i as i64) as f64);
        let city = &t.cities[id];
        csv.push_str(&format!(
            "shotgun,{date},{id},{},{pt},{pr}\n",
            city.to_uppercase()
        ));
        plans.insert(
            ("shotgun".into(), date.clone(), id.clone(), city.clone()),
            (pt, pr),
        );
    }
    let file = dir.join("shotgun-plan.csv");
    std::fs::write(&file, csv).unwrap();
    let (ok, err) = wh.plan_import(&file);
    assert!(ok, "{err}");
    let facts: BTreeMap<PlanKey, (u64, i64)> = t
        .per_day
        .iter()
        .map(|((date, id), (sold, _, kept))| {
            let key = (
                "shotgun".into(),
                date.clone(),
                id.clone(),
                t.cities[id].clone(),
            );
            (key, (*sold, *kept))
        })
        .collect();
    let want = expected_plan_vs_fact(&plans, &facts);
    assert_plan_rows(
        wh,
        "plan_vs_fact (shotgun)",
        &read_plan_vs_fact(wh, "shotgun"),
        &want,
    );
}

// ---------------------------------------------------------------------------------------------
// Bad plan files

fn check_bad_plans_write_nothing(wh: &Wh, dir: &Path) {
    let count = format!("SELECT count() FROM plan_sales {}", wh.final_());
    let before = wh.one(&count);
    let header = "sales_date,event_id,city,plan_tickets,plan_revenue";
    let good = "2026-01-10,90001,Москва,5,100";
    let cases = [
        (
            format!("{header}\n{good}\n2026-13-01,90001,Москва,5,100\n"),
            "line 3, column `sales_date`",
        ),
        (
            format!("{header}\n{good}\n2026-01-11,90001,Москва,five,100\n"),
            "line 3, column `plan_tickets`",
        ),
        (
            format!(
                "{header}\n{good}\n2026-01-12,90001,Москва,5,100\n2026-01-11,90001,Москва,5,1e5\n"
            ),
            "line 4, column `plan_revenue`",
        ),
        (
            format!("{header}\n{good}\n2026-01-11,90001,Москва,5\n"),
            "line 3:",
        ),
        (format!("{header}\n{good}\n{good}\n"), "line 3: the same"),
        (
            format!("sales_date,event,city,plan_tickets,plan_revenue\n{good}\n"),
            "header (line 1)",
        ),
        (
            format!("vendor,{header}\nqtickets,{good}\nQ Tickets,{good}\n"),
            "line 3, column `vendor`",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad-{i}.csv"));
        std::fs::write(&file, text).unwrap();
        let (ok, err) = wh.plan_import(&file);
        assert!(!ok, "{}: case {i} was accepted", wh.name());
        assert!(
            err.contains(want) && err.contains("nothing was written"),
            "{}: case {i}: {err}",
            wh.name()
        );
        assert_eq!(wh.one(&count), before, "{}: case {i} wrote rows", wh.name());
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn clickhouse_views_equal_the_simulators_truth() {
    let Some(ch) = shared_endpoint("clickhouse_views_equal_the_simulators_truth") else {
        return;
    };
    let db = ch.fresh_database("views").unwrap();
    let p = Pipeline::clickhouse(&ch, &db).await;
    let s = scenario(&p).await;
    let wh = Wh::Ch {
        endpoint: ch.clone(),
        db: db.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    check_qtickets_utm_daily(&wh, &s.qt.daily_truth(now_ms()));
    check_qtickets_dashboard(&wh, &s);
    check_qtickets_inventory_raw(&wh, &s);
    check_qtickets_neutral(&wh, &s);
    check_shotgun_neutral(&wh, &s, dir.path());
    check_qtickets_plans(&wh, &s, dir.path());
    check_bad_plans_write_nothing(&wh, dir.path());
    // The views stay readable by the dashboards' read-only user's path: a second migration
    // run (start-up of another process) applies nothing and keeps the visibility column.
    let (_, report) = boxoffice::sink::ClickhouseWarehouse::open(
        ch_config(&ch, &db),
        boxoffice::zone::Zone::default(),
    )
    .await
    .unwrap();
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(
        wh.one("SELECT type FROM system.columns WHERE database = currentDatabase() AND table = 'tickets' AND name = 'visibility'"),
        "Array(String)"
    );
}

#[tokio::test]
async fn sqlite_views_equal_the_simulators_truth() {
    let p = Pipeline::new();
    let s = scenario(&p).await;
    let wh = Wh::Lite {
        dir: p.dir.path().to_path_buf(),
    };
    let dir = tempfile::tempdir().unwrap();
    check_qtickets_utm_daily(&wh, &s.qt.daily_truth(now_ms()));
    check_qtickets_dashboard(&wh, &s);
    check_qtickets_neutral(&wh, &s);
    check_shotgun_neutral(&wh, &s, dir.path());
    check_qtickets_plans(&wh, &s, dir.path());
    check_bad_plans_write_nothing(&wh, dir.path());
}

#[tokio::test]
async fn a_bad_plan_file_on_an_empty_warehouse_creates_nothing() {
    // SQLite: the file is validated before the warehouse is even opened.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.csv");
    std::fs::write(
        &file,
        "sales_date,event_id,city,plan_tickets,plan_revenue\n2026-01-10,1,Paris,1,1\n2026-01-10,1,Lyon,1,-1\n",
    )
    .unwrap();
    let state = dir.path().join("state");
    let wh = Wh::Lite { dir: state.clone() };
    let (ok, err) = wh.plan_import(&file);
    assert!(
        !ok && err.contains("line 3, column `plan_revenue`"),
        "{err}"
    );
    assert!(!state.join("state.sqlite").exists());
    let (ok, err) = wh.plan_import(&dir.path().join("missing.csv"));
    assert!(!ok && err.contains("missing.csv"), "{err}");
}

/// 0005: the old loader's `meta_job_runs` says 'error' for a degraded run (and for failed and
/// interrupted ones), 'ok' only for ok; `fact_qtickets_inventory_latest` shows unknown seat
/// figures as 0 (an event's known shows still add up), while the neutral `inventory_latest`
/// keeps them NULL.
#[tokio::test]
async fn legacy_views_say_error_for_degraded_runs_and_0_for_unknown_inventory() {
    use boxoffice::model::{Event, Inventory, Record};
    use boxoffice::sink::{RunRecord, Sink};
    let Some(ch) = shared_endpoint("legacy_views_say_error_for_degraded_runs") else {
        return;
    };
    let db = ch.fresh_database("compat5").unwrap();
    let (sink, _) = boxoffice::sink::ClickhouseWarehouse::open(
        ch_config(&ch, &db),
        boxoffice::zone::Zone::default(),
    )
    .await
    .unwrap();
    let event = |id: &str| {
        Record::Event(Event {
            event_id: id.into(),
            name: format!("Event {id}"),
            city: Some("Москва".into()),
            venue: None,
            starts_at_ms: None,
            ends_at_ms: None,
            canceled_at_ms: None,
            updated_at_ms: 1_762_400_000_000,
        })
    };
    let inv = |event: &str, show: &str, figures: Option<(u32, u32)>| {
        Record::Inventory(Inventory {
            event_id: event.into(),
            show_id: show.into(),
            captured_at_ms: 1_762_400_000_000,
            capacity: figures.map(|f| f.0),
            available: figures.map(|f| f.1),
            sold: figures.map(|f| f.0 - f.1),
        })
    };
    let records = vec![
        event("90001"),
        event("90002"),
        // 90001: its one show unknown. 90002: one show known, one unknown.
        inv("90001", "95001", None),
        inv("90002", "95002", Some((100, 40))),
        inv("90002", "95003", None),
    ];
    sink.write("qtickets", "main", &records).await.unwrap();
    for (i, status) in ["ok", "degraded", "failed", "interrupted"]
        .iter()
        .enumerate()
    {
        let run = RunRecord {
            run_id: format!("00000000-0000-4000-8000-00000000000{i}"),
            vendor: "qtickets".into(),
            account: "main".into(),
            kind: boxoffice::sync::RunKind::Sync,
            started_at_ms: 1_762_400_000_000 + i as i64,
            finished_at_ms: 1_762_400_001_000 + i as i64,
            figures: boxoffice::sink::RunFigures {
                status: boxoffice::state::RunStatus::from_stored(status),
                records: 5,
                rejected: 0,
                pages: 1,
                requests: 2,
                message: format!("{status} run"),
            },
        };
        sink.record_run(&run).await.unwrap();
    }
    let wh = Wh::Ch {
        endpoint: ch.clone(),
        db: db.clone(),
    };
    assert_eq!(
        wh.lines("SELECT run_id, status, message FROM meta_job_runs ORDER BY run_id FORMAT TSVRaw")
            .iter()
            .map(|l| {
                let c: Vec<&str> = l.split('\t').collect();
                let raw: serde_json::Value = serde_json::from_str(c[2]).unwrap();
                format!("{} {}", c[1], raw["status"].as_str().unwrap())
            })
            .collect::<Vec<_>>(),
        [
            "ok ok",
            "error degraded",
            "error failed",
            "error interrupted"
        ]
    );
    assert_eq!(
        wh.lines(
            "SELECT event_id, tickets_total, tickets_left, toTypeName(tickets_total)
             FROM fact_qtickets_inventory_latest ORDER BY event_id"
        ),
        ["90001\t0\t0\tUInt32", "90002\t100\t40\tUInt32"]
    );
    assert_eq!(
        wh.lines(
            "SELECT show_id, capacity, available FROM inventory_latest
             WHERE vendor = 'qtickets' ORDER BY show_id"
        ),
        ["95001\t\\N\t\\N", "95002\t100\t40", "95003\t\\N\t\\N"]
    );
    // Re-opening (another process's start-up) applies nothing more and keeps the views.
    let (_, report) = boxoffice::sink::ClickhouseWarehouse::open(
        ch_config(&ch, &db),
        boxoffice::zone::Zone::default(),
    )
    .await
    .unwrap();
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(wh.one("SELECT count() FROM meta_job_runs"), "4");
}
