//! `backfill-metrics` against a real VictoriaMetrics (Debian's `victoria-metrics`, started on
//! loopback): Shotgun simulator with refunds, cancels, resales and scans over simulated days →
//! sync → backfill → the server's export and query API hold, at every hour, what the
//! simulator's own tickets say; the last point equals the live `/metrics`; a second run (the
//! library, then the binary) adds no sample twice; a dry run writes nothing; bad targets fail
//! clearly without showing credentials.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use boxoffice::metrics::history::{Grid, Step};
use boxoffice::metrics::import::{backfill, ImportOptions, Target};
use boxoffice::sync::{sync_account, RunOptions};
use boxoffice::zone::Zone;
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim, Status};
use boxoffice_testkit::victoria::{start_or_skip, VictoriaMetricsServer};
use common::{shotgun_account, Pipeline};

const H: i64 = 3_600_000;
const TZ_MIN: i32 = 180;
const FAMILIES: [&str; 5] = [
    "boxoffice_tickets_sold_total",
    "boxoffice_tickets_refunded_total",
    "boxoffice_tickets_canceled_total",
    "boxoffice_tickets_scanned_total",
    "boxoffice_revenue_total",
];

/// A series by its full text `name{labels sorted by name}`.
type Key = String;
type Samples = BTreeMap<Key, Vec<(i64, f64)>>;

fn key(name: &str, labels: &BTreeMap<String, String>) -> Key {
    let l: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{name}{{{}}}", l.join(","))
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_boxoffice"))
}

/// What the server holds for the core families, every sample as exported (duplicates kept).
fn export(vm: &VictoriaMetricsServer, auth: Option<(&str, &str)>) -> Samples {
    let client = reqwest::blocking::Client::new();
    let mut req = client
        .get(format!("{}/api/v1/export", vm.url()))
        .query(&[("match[]", r#"{__name__=~"boxoffice_.*"}"#)]);
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    let body = req
        .send()
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .unwrap();
    let mut out = Samples::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut labels: BTreeMap<String, String> = v["metric"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let name = labels.remove("__name__").unwrap();
        let ts = v["timestamps"].as_array().unwrap();
        let vals = v["values"].as_array().unwrap();
        let s = out.entry(key(&name, &labels)).or_default();
        for (t, x) in ts.iter().zip(vals) {
            s.push((t.as_i64().unwrap(), x.as_f64().unwrap()));
        }
        s.sort_by_key(|p| p.0);
    }
    out
}

/// An instant query's result as (labels text → value).
fn query(vm: &VictoriaMetricsServer, q: &str, at_ms: i64) -> BTreeMap<String, f64> {
    let body: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/query", vm.url()))
        .query(&[
            ("query", q.to_string()),
            ("time", format!("{}", at_ms / 1000)),
            ("nocache", "1".into()),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["status"], "success", "{body}");
    body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"].to_string(),
                r["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// The expected history, computed from the simulator's own tickets by evaluating each ticket
/// at each boundary (not by the code under test's change accumulation): held from the order
/// until the cancel time the simulator recorded (refund, cancel) or the resale; a pending
/// ticket never; revenue = face price while held (a Shotgun refund is full); scanned = held
/// and scanned by then. A series exists from the first boundary after its first order.
fn expected(sim: &ShotgunSim, grid: &Grid) -> Samples {
    let events = sim.events();
    // What each ticket's history depends on, grouped by event, category and currency.
    struct T {
        ordered: i64,
        left: Option<i64>,
        held: bool,
        status: Status,
        scanned: Option<i64>,
        price: i64,
    }
    let mut groups: BTreeMap<(String, String, String), Vec<T>> = BTreeMap::new();
    sim.for_each_ticket(|t| {
        let e = &events[t.event_idx as usize];
        let d = &e.deals[t.deal_idx as usize];
        // The simulator's generated past may cancel a ticket before its order (a change
        // drawn for a ticket sold later); a ticket cannot leave before it was sold.
        let left = match t.status {
            Status::Refunded | Status::Canceled => Some(t.canceled_at_ms.unwrap()),
            Status::Resold => Some(t.updated_at_ms),
            _ => None,
        }
        .map(|l| l.max(t.ordered_at_ms));
        groups
            .entry((
                e.id.to_string(),
                d.title.to_string(),
                e.currency.to_ascii_uppercase(),
            ))
            .or_default()
            .push(T {
                ordered: t.ordered_at_ms,
                left,
                held: t.status != Status::PaymentPlanPending,
                status: t.status,
                scanned: t.scanned_at_ms,
                price: d.price,
            });
    });
    let mut out = Samples::new();
    for ((event_id, category, currency), tickets) in &groups {
        let first = tickets.iter().map(|t| t.ordered).min().unwrap();
        let labels: BTreeMap<String, String> = [
            ("vendor", "shotgun"),
            ("account", "main"),
            ("event_id", event_id),
            ("category", category),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut with_currency = labels.clone();
        with_currency.insert("currency".into(), currency.clone());
        for i in 0..grid.len {
            let b = grid.first_ms + i as i64 * grid.step_ms;
            if b < first {
                continue;
            }
            let holds = |t: &T| t.held && t.ordered <= b && t.left.is_none_or(|l| b < l);
            let ended = |t: &T, s: Status| t.status == s && t.left.is_some_and(|l| l <= b);
            let count = |f: &dyn Fn(&T) -> bool| tickets.iter().filter(|t| f(t)).count() as f64;
            let values = [
                count(&holds),
                count(&|t| ended(t, Status::Refunded)),
                count(&|t| ended(t, Status::Canceled)),
                count(&|t| holds(t) && t.scanned.is_some_and(|s| s <= b)),
            ];
            for (name, v) in FAMILIES.iter().zip(values) {
                out.entry(key(name, &labels)).or_default().push((b, v));
            }
            let revenue: i64 = tickets.iter().filter(|t| holds(t)).map(|t| t.price).sum();
            out.entry(key(FAMILIES[4], &with_currency))
                .or_default()
                .push((b, revenue as f64 / 100.0));
        }
    }
    out
}

/// The core families as `/metrics` serves them now, for the Shotgun account.
fn live(p: &Pipeline) -> BTreeMap<Key, f64> {
    let text = p.metrics.encode().unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Some((name, rest)) = series.split_once('{') else {
            continue;
        };
        if !FAMILIES.contains(&name) {
            continue;
        }
        let mut labels = BTreeMap::new();
        for pair in rest.trim_end_matches('}').split("\",") {
            let (k, v) = pair.split_once("=\"").unwrap();
            labels.insert(k.to_string(), v.trim_end_matches('"').to_string());
        }
        if labels.get("vendor").map(String::as_str) == Some("shotgun") {
            out.insert(key(name, &labels), value.parse().unwrap());
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Every series holds each timestamp once.
fn assert_no_duplicates(got: &Samples) {
    for (k, s) in got {
        let ts: BTreeSet<i64> = s.iter().map(|p| p.0).collect();
        assert_eq!(ts.len(), s.len(), "{k} holds a timestamp twice");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn backfilled_history_equals_the_simulators_past_and_a_second_run_adds_nothing() {
    let Some(vm) = start_or_skip("backfill_metrics", &[]) else {
        return;
    };
    // Simulated time starts five days ago on an hour (the simulator's history reaches 30 days
    // further back) and runs two days, so every sample is in the past and the last boundary
    // is the simulator's "now".
    let start = (boxoffice::clock::now_ms() / H - 5 * 24) * H;
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 3_000,
        start_ms: start,
        sales_per_minute: 0.4,
        changes_per_minute: 0.8,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    let account = shotgun_account(&sim, &srv, "sim-shotgun-token").await;
    let opts = || RunOptions {
        now_ms: Some(sim.now_ms()),
        ..Default::default()
    };
    assert!(sync_account(&p.deps, &account, &opts()).await.unwrap().ok());
    for _day in 0..2 {
        sim.advance(24 * 60);
        let s = sync_account(&p.deps, &account, &opts()).await.unwrap();
        assert!(s.ok(), "{s:?}");
    }
    let now = sim.now_ms();
    assert_eq!(now % H, 0);
    let (mut refunds, mut cancels, mut resales, mut scans) = (0, 0, 0, 0);
    sim.for_each_ticket(|t| match t.status {
        Status::Refunded => refunds += 1,
        Status::Canceled => cancels += 1,
        Status::Resold => resales += 1,
        _ => scans += t.scanned_at_ms.is_some() as u32,
    });
    assert!(
        refunds > 50 && cancels > 20 && resales > 20 && scans > 50,
        "the scenario must change tickets: {refunds} refunds, {cancels} cancels, {resales} resales, {scans} scans"
    );

    let grid = Grid::for_ledger(
        &p.state,
        Step::HOUR,
        None,
        now,
        &Zone::fixed_minutes(TZ_MIN),
    )
    .unwrap()
    .unwrap();
    assert_eq!(grid.last_ms(), now);
    let want = expected(&sim, &grid);
    let groups = want.len() / FAMILIES.len();
    assert!(groups >= 30, "{groups} event/category groups");

    // A dry run of the binary contacts nobody and writes nothing.
    let out = bin()
        .args(["backfill-metrics", "--to", &vm.url(), "--dry-run"])
        .env("BOXOFFICE_STATE_DIR", p.dir.path())
        .env("TZ", "Europe/Moscow")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("dry run: {} series", want.len())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "boxoffice_tickets_refunded_total: {groups} series"
        )),
        "{stdout}"
    );
    vm.flush().unwrap();
    assert!(export(&vm, None).is_empty(), "a dry run wrote samples");

    // First run: everything is new.
    let target = Target::parse(&vm.url(), None, &[]).unwrap();
    // Small batches, so the run takes several requests and series cross batch boundaries.
    let small = ImportOptions {
        batch_samples: 10_000,
        ..Default::default()
    };
    let (hist, first) = backfill(p.state.clone(), grid, target.clone(), small.clone(), None)
        .await
        .unwrap();
    assert_eq!(first.written, hist.samples());
    assert_eq!((first.present, first.conflicts), (0, 0));
    assert!(first.flushed);
    assert!(first.requests > 10, "{first:?}");

    // The server holds exactly the simulator's past, at every hour of every series.
    let got = export(&vm, None);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "series differ"
    );
    let mut compared = 0;
    for (k, w) in &want {
        let g = &got[k];
        assert_eq!(g.len(), w.len(), "{k}: samples");
        for ((gt, gv), (wt, wv)) in g.iter().zip(w) {
            assert_eq!(gt, wt, "{k}");
            assert!(close(*gv, *wv), "{k} at {gt}: server {gv}, simulator {wv}");
            compared += 1;
        }
    }
    assert!(compared > 100_000, "{compared} samples compared");
    // The history moves: sold rose and fell, refunds grew over the simulated days.
    let total = |name: &str, at: i64| -> f64 {
        want.iter()
            .filter(|(k, _)| k.starts_with(name))
            .filter_map(|(_, s)| s.iter().find(|p| p.0 == at).map(|p| p.1))
            .sum()
    };
    let day_ago = now - 24 * H;
    assert!(total(FAMILIES[1], now) > total(FAMILIES[1], day_ago));
    assert!(total(FAMILIES[0], day_ago) > total(FAMILIES[0], now - 30 * 24 * H));

    // The query API agrees at several hours (sums across series, as a dashboard asks).
    for at in [
        grid.first_ms + 24 * H,
        now - 7 * 24 * H,
        day_ago,
        now - H,
        now,
    ] {
        for (name, f) in [
            ("sold", FAMILIES[0]),
            ("refunded", FAMILIES[1]),
            ("revenue", FAMILIES[4]),
        ] {
            let r = query(&vm, &format!("sum({f})"), at);
            let v = r.values().next().copied().unwrap_or(0.0);
            assert!(
                close(v, total(f, at)),
                "{name} at {at}: query says {v}, simulator {}",
                total(f, at)
            );
        }
    }

    // The last point of every series is what /metrics says now.
    let live = live(&p);
    assert_eq!(live.len(), got.len(), "live series: {:?}", live.keys());
    for (k, v) in &live {
        let last = got[k].last().unwrap();
        assert_eq!(last.0, now, "{k}");
        assert!(
            close(last.1, *v),
            "{k}: history ends at {}, /metrics says {v}",
            last.1
        );
    }

    // Second run, same range: nothing is sent again.
    let (_, second) = backfill(p.state.clone(), grid, target, small, None)
        .await
        .unwrap();
    assert_eq!(second.written, 0, "{second:?}");
    assert_eq!(second.present, first.written);
    let again = export(&vm, None);
    assert_no_duplicates(&again);
    assert_eq!(again, got);

    // The binary, up to the wall clock: only the hours since the simulator's now are new.
    let out = bin()
        .args(["backfill-metrics", "--to", &format!("{}/", vm.url())])
        .env("BOXOFFICE_STATE_DIR", p.dir.path())
        .env("TZ", "Europe/Moscow")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} already there", first.written)),
        "{stdout}"
    );
    let after = export(&vm, None);
    assert_no_duplicates(&after);
    let added: usize =
        after.values().map(Vec::len).sum::<usize>() - got.values().map(Vec::len).sum::<usize>();
    assert!(
        stdout.contains(&format!("{added} samples written")),
        "{stdout} (the server gained {added})"
    );
    assert!(
        added >= want.len() * 70,
        "{added}: about three days of hours were new"
    );
    for (k, s) in &after {
        // Values after the simulator's now repeat its last value: nothing happened since.
        let last = got[k].last().unwrap().1;
        assert!(
            s.iter().filter(|p| p.0 > now).all(|p| close(p.1, last)),
            "{k}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_from_the_url_is_used_and_never_shown() {
    let Some(vm) = start_or_skip(
        "backfill_metrics auth",
        &["-httpAuth.username=bo", "-httpAuth.password=vm-pass-CANARY"],
    ) else {
        return;
    };
    let start = (boxoffice::clock::now_ms() / H - 24) * H;
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 300,
        start_ms: start,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    let account = shotgun_account(&sim, &srv, "sim-shotgun-token").await;
    let opts = RunOptions {
        now_ms: Some(sim.now_ms()),
        ..Default::default()
    };
    assert!(sync_account(&p.deps, &account, &opts).await.unwrap().ok());
    let grid = Grid::for_ledger(
        &p.state,
        Step::DAY,
        None,
        sim.now_ms(),
        &Zone::fixed_minutes(TZ_MIN),
    )
    .unwrap()
    .unwrap();
    let with = vm.url().replace("http://", "http://bo:vm-pass-CANARY@");
    let (hist, stats) = backfill(
        p.state.clone(),
        grid,
        Target::parse(&with, None, &["job=boxoffice".into()]).unwrap(),
        ImportOptions::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(stats.written, hist.samples());
    let got = export(&vm, Some(("bo", "vm-pass-CANARY")));
    assert_eq!(got.len() as u64, hist.series());
    assert!(got.keys().all(|k| k.contains("job=\"boxoffice\"")));

    // Without credentials: a clear error naming the URL. With them in the URL but the
    // server unreachable: the error names the URL without them.
    let e = backfill(
        p.state.clone(),
        grid,
        Target::parse(&vm.url(), None, &[]).unwrap(),
        ImportOptions::default(),
        None,
    )
    .await
    .unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains(&format!("{}/api/v1/export answered 401", vm.url())),
        "{msg}"
    );
    let out = bin()
        .args([
            "backfill-metrics",
            "--to",
            "http://bo:vm-pass-CANARY@127.0.0.1:1",
        ])
        .env("BOXOFFICE_STATE_DIR", p.dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        stderr.contains("POST http://127.0.0.1:1/api/v1/export failed after 4 attempt(s)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("CANARY") && !stdout.contains("CANARY"),
        "{stdout}{stderr}"
    );
}

#[test]
fn bad_urls_steps_and_dates_fail_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (vec!["--to", "vm:8428"], "--to `vm:8428`"),
        (
            vec!["--to", "ftp://u:hunter2@vm/"],
            "only http:// and https://",
        ),
        (
            vec!["--to", "http://vm:8428", "--step", "2x"],
            "step `2x`: use a whole number",
        ),
        (
            vec!["--to", "http://vm:8428", "--since", "2026-02-30"],
            "`2026-02-30` is not a date",
        ),
        (
            vec!["--to", "http://vm:8428", "--label", "event_id=1"],
            "label `event_id`",
        ),
        (vec!["--to", "http://vm:8428"], "no state database at"),
    ] {
        let out = bin()
            .arg("backfill-metrics")
            .args(&args)
            .env("BOXOFFICE_STATE_DIR", dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    assert!(
        !dir.path().join("state.sqlite").exists(),
        "a failed backfill must not create a state database"
    );
}
