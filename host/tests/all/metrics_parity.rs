//! `/metrics` parity: the breakdown families, tickets left and the old Shotgun exporter's
//! families, compared with the simulators' ground truth after real syncs (simulator → plugin →
//! ledger → scrape), before and after refunds; the cardinality cap; `promtool check metrics`.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use boxoffice::model::{Record, Ticket, TicketStatus};
use boxoffice::state::breakdown::{BREAKDOWN_CAP, NONE_VALUE, OTHER_VALUE};
use boxoffice::sync::{sync_account, RunOptions, RunSummary};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{BreakdownTruth, ShotgunConfig, ShotgunSim};
use common::{qtickets_account, shotgun_account, sync_ok, Pipeline};

// ---------------------------------------------------------------------------------------------
// Reading a scrape

#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn get(&self, k: &str) -> &str {
        self.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{} has no label {k}: {:?}", self.name, self.labels))
    }
    fn label_names(&self) -> Vec<&str> {
        self.labels.iter().map(|(n, _)| n.as_str()).collect()
    }
    fn minor(&self) -> i64 {
        (self.value * 100.0).round() as i64
    }
}

/// Parses the exposition text (label values unescaped).
fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Sample {
    let c: Vec<char> = line.chars().collect();
    let mut i = c.iter().position(|&x| x == '{' || x == ' ').unwrap();
    let name: String = c[..i].iter().collect();
    let mut labels = Vec::new();
    if c[i] == '{' {
        i += 1;
        loop {
            match c[i] {
                '}' => {
                    i += 1;
                    break;
                }
                ',' => i += 1,
                _ => {
                    let eq = i + c[i..].iter().position(|&x| x == '=').unwrap();
                    let key: String = c[i..eq].iter().collect();
                    assert_eq!(c[eq + 1], '"', "{line}");
                    i = eq + 2;
                    let mut value = String::new();
                    loop {
                        match c[i] {
                            '"' => break,
                            '\\' => {
                                i += 1;
                                value.push(if c[i] == 'n' { '\n' } else { c[i] });
                            }
                            x => value.push(x),
                        }
                        i += 1;
                    }
                    i += 1;
                    labels.push((key, value));
                }
            }
        }
    }
    let rest: String = c[i..].iter().collect();
    Sample {
        name,
        labels,
        value: rest.trim().parse().unwrap_or_else(|_| panic!("{line}")),
    }
}

fn scrape(p: &Pipeline) -> (String, Vec<Sample>) {
    let text = p.metrics.encode().unwrap();
    let samples = parse(&text);
    (text, samples)
}

fn named<'a>(s: &'a [Sample], name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
    s.iter().filter(move |x| x.name == name)
}

fn of_vendor<'a>(
    s: &'a [Sample],
    name: &'a str,
    vendor: &'a str,
) -> impl Iterator<Item = &'a Sample> + 'a {
    named(s, name).filter(move |x| x.get("vendor") == vendor)
}

/// Drops zero entries: a series that fell to zero and a value never seen say the same.
fn nonzero<K: Ord, V: Default + PartialEq>(m: BTreeMap<K, V>) -> BTreeMap<K, V> {
    m.into_iter().filter(|(_, v)| *v != V::default()).collect()
}

fn add<K: Ord, V: std::ops::AddAssign + Default>(m: &mut BTreeMap<K, V>, k: K, v: V) {
    *m.entry(k).or_default() += v;
}

// ---------------------------------------------------------------------------------------------
// Breakdowns: scrape vs truth

type Held = BTreeMap<(String, String, String), u64>;
type Money = BTreeMap<(String, String, String, String), i64>;

fn label_of(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| NONE_VALUE.to_string())
}

/// (event, dimension, value) → held; (event, dimension, value, currency) → revenue, from the
/// neutral families, for the dimensions in `dims`.
fn scraped_breakdowns(s: &[Sample], vendor: &str, dims: &[&str]) -> (Held, Money) {
    let (mut held, mut money) = (Held::new(), Money::new());
    for dim in dims {
        for x in of_vendor(s, &format!("boxoffice_tickets_sold_by_{dim}_total"), vendor) {
            assert_eq!(
                x.label_names(),
                ["vendor", "account", "event_id", dim],
                "{}",
                x.name
            );
            let k = (x.get("event_id").into(), dim.to_string(), x.get(dim).into());
            add(&mut held, k, x.value as u64);
        }
        for x in of_vendor(s, &format!("boxoffice_revenue_by_{dim}_total"), vendor) {
            let k = (
                x.get("event_id").into(),
                dim.to_string(),
                x.get(dim).into(),
                x.get("currency").into(),
            );
            add(&mut money, k, x.minor());
        }
    }
    (nonzero(held), nonzero(money))
}

fn truth_breakdowns(t: &BreakdownTruth) -> (Held, Money) {
    let (mut held, mut money) = (Held::new(), Money::new());
    for r in &t.rows {
        let v = label_of(&r.value);
        let k = (r.event_id.to_string(), r.dimension.to_string(), v.clone());
        add(&mut held, k, r.tickets);
        let k = (
            r.event_id.to_string(),
            r.dimension.to_string(),
            v,
            r.currency.clone(),
        );
        add(&mut money, k, r.revenue_minor);
    }
    (nonzero(held), nonzero(money))
}

fn scraped_fees(s: &[Sample], vendor: &str) -> Money {
    let mut m = Money::new();
    for x in of_vendor(s, "boxoffice_fees_total", vendor) {
        let k = (
            x.get("event_id").into(),
            x.get("fee_type").into(),
            x.get("currency").into(),
            String::new(),
        );
        add(&mut m, k, x.minor());
    }
    nonzero(m)
}

fn truth_fees(t: &BreakdownTruth) -> Money {
    t.fees
        .iter()
        .map(|f| {
            (
                (
                    f.event_id.to_string(),
                    f.fee_type.to_string(),
                    f.currency.clone(),
                    String::new(),
                ),
                f.amount_minor,
            )
        })
        .collect()
}

/// (event, show) → left per show and event → left per event, scraped and true.
fn check_tickets_left(s: &[Sample], vendor: &str, t: &BreakdownTruth) {
    let shows: BTreeMap<(String, String), u64> = of_vendor(s, "boxoffice_tickets_left", vendor)
        .map(|x| {
            (
                (x.get("event_id").into(), x.get("show_id").into()),
                x.value as u64,
            )
        })
        .collect();
    let want: BTreeMap<(String, String), u64> = t
        .shows_left
        .iter()
        .map(|l| ((l.event_id.to_string(), l.show_id.to_string()), l.left))
        .collect();
    assert_eq!(shows, want, "{vendor}: tickets left per show");
    let events: BTreeMap<String, u64> = of_vendor(s, "boxoffice_event_tickets_left", vendor)
        .map(|x| {
            assert_eq!(x.label_names(), ["vendor", "account", "event_id"]);
            (x.get("event_id").into(), x.value as u64)
        })
        .collect();
    let want: BTreeMap<String, u64> = t
        .events_left
        .iter()
        .map(|l| (l.event_id.to_string(), l.left))
        .collect();
    assert_eq!(events, want, "{vendor}: tickets left per event");
    assert!(want.values().any(|l| *l > 0));
}

// ---------------------------------------------------------------------------------------------
// The old Shotgun exporter's families

/// Every family the old exporter served (`shotgun.md` §8) and its label names, written out
/// here from the spec rather than taken from the code under test.
const OLD_FAMILIES: [(&str, &[&str]); 14] = [
    (
        "shotgun_tickets_sold_total",
        &["event_id", "event_name", "ticket_title"],
    ),
    (
        "shotgun_tickets_refunded_total",
        &["event_id", "event_name", "ticket_title"],
    ),
    (
        "shotgun_tickets_revenue_euros_total",
        &["event_id", "event_name", "ticket_title"],
    ),
    ("shotgun_tickets_scanned_total", &["event_id", "event_name"]),
    (
        "shotgun_tickets_fees_euros_total",
        &["event_id", "event_name", "fee_type"],
    ),
    (
        "shotgun_tickets_by_channel_total",
        &["event_id", "event_name", "channel"],
    ),
    (
        "shotgun_tickets_by_payment_method_total",
        &["event_id", "event_name", "payment_method"],
    ),
    (
        "shotgun_tickets_by_utm_source_total",
        &["event_id", "event_name", "utm_source"],
    ),
    (
        "shotgun_tickets_by_utm_medium_total",
        &["event_id", "event_name", "utm_medium"],
    ),
    (
        "shotgun_tickets_by_visibility_total",
        &["event_id", "event_name", "visibility"],
    ),
    ("shotgun_events_total", &["status"]),
    ("shotgun_event_tickets_left", &["event_id", "event_name"]),
    ("shotgun_api_requests_total", &["endpoint", "status"]),
    ("shotgun_last_scrape_timestamp", &[]),
];

type Compat = BTreeMap<(String, Vec<String>), i64>;

/// Compat figures keyed by (family, label values in order); money in cents.
fn scraped_compat(s: &[Sample]) -> Compat {
    let mut m = Compat::new();
    for x in s.iter().filter(|x| x.name.starts_with("shotgun_")) {
        if x.name == "shotgun_api_requests_total" || x.name == "shotgun_last_scrape_timestamp" {
            continue;
        }
        let v = if x.name.contains("euros") {
            x.minor()
        } else {
            x.value as i64
        };
        let labels = x.labels.iter().map(|(_, v)| v.clone()).collect();
        add(&mut m, (x.name.clone(), labels), v);
    }
    nonzero(m)
}

/// The same figures from the simulator's truth, by the old exporter's rules as compat.rs
/// documents them.
fn truth_compat(sim: &ShotgunSim, now_ms: i64) -> Compat {
    let events = sim.events();
    let name = |id: u64| events.iter().find(|e| e.id == id).unwrap().name.clone();
    let mut m = Compat::new();
    let mut put = |family: &str, labels: Vec<String>, v: i64| {
        add(&mut m, (family.to_string(), labels), v);
    };
    for r in sim.truth() {
        let l = vec![r.event_id.to_string(), name(r.event_id), r.category.clone()];
        put("shotgun_tickets_sold_total", l.clone(), r.sold as i64);
        put(
            "shotgun_tickets_refunded_total",
            l.clone(),
            (r.refunded + r.canceled) as i64,
        );
        if r.currency == "EUR" {
            put("shotgun_tickets_revenue_euros_total", l, r.revenue_minor);
        }
    }
    let b = sim.breakdown_truth();
    for (event, n) in &b.scanned_any {
        let l = vec![event.to_string(), name(*event)];
        put("shotgun_tickets_scanned_total", l, *n as i64);
    }
    for f in b.fees.iter().filter(|f| f.currency == "EUR") {
        let old = match f.fee_type {
            "service_fee" => "service_fee",
            "buyer_fee" => "user_service_fee",
            _ => continue,
        };
        let l = vec![f.event_id.to_string(), name(f.event_id), old.to_string()];
        put("shotgun_tickets_fees_euros_total", l, f.amount_minor);
    }
    for r in &b.rows {
        let value = match (&r.value, r.dimension) {
            (None, "visibility") => continue,
            (None, _) => "unknown".to_string(),
            (Some(v), _) => v.clone(),
        };
        let l = vec![r.event_id.to_string(), name(r.event_id), value];
        put(
            &format!("shotgun_tickets_by_{}_total", r.dimension),
            l,
            r.tickets as i64,
        );
    }
    for e in &events {
        let status = if e.canceled_ms.is_some() {
            "cancelled"
        } else if e.start_ms < now_ms {
            "past"
        } else {
            "active"
        };
        put("shotgun_events_total", vec![status.to_string()], 1);
    }
    for l in &b.events_left {
        let labels = vec![l.event_id.to_string(), name(l.event_id)];
        put("shotgun_event_tickets_left", labels, l.left as i64);
    }
    nonzero(m)
}

fn shotgun_opts(sim: &ShotgunSim) -> RunOptions {
    RunOptions {
        now_ms: Some(sim.now_ms()),
        ..Default::default()
    }
}

const SHOTGUN_DIMS: [&str; 5] = [
    "channel",
    "payment_method",
    "utm_source",
    "utm_medium",
    "visibility",
];
const QTICKETS_DIMS: [&str; 5] = [
    "channel",
    "payment_method",
    "utm_source",
    "utm_medium",
    "utm_campaign",
];

/// The simulator's truth at one point of the Shotgun scenario.
struct ShotgunTruth {
    breakdowns: BreakdownTruth,
    /// Held tickets (`sim.truth()`'s sold, summed).
    held: u64,
    /// The old exporter's families, by its rules, at the scrape's time.
    compat: Compat,
}

impl ShotgunTruth {
    fn of(sim: &ShotgunSim, now_ms: i64) -> Self {
        Self {
            breakdowns: sim.breakdown_truth(),
            held: sim.truth().iter().map(|r| r.sold).sum(),
            compat: truth_compat(sim, now_ms),
        }
    }
}

fn check_shotgun_breakdowns(s: &[Sample], t: &ShotgunTruth, when: &str) {
    let truth = &t.breakdowns;
    assert_eq!(
        scraped_breakdowns(s, "shotgun", &SHOTGUN_DIMS),
        truth_breakdowns(truth),
        "{when}: Shotgun breakdowns"
    );
    assert_eq!(
        scraped_fees(s, "shotgun"),
        truth_fees(truth),
        "{when}: Shotgun fees"
    );
    // Shotgun has no UTM campaign: every held ticket is under `none`.
    let held = t.held;
    let campaigns: BTreeSet<&str> =
        of_vendor(s, "boxoffice_tickets_sold_by_utm_campaign_total", "shotgun")
            .map(|x| x.get("utm_campaign"))
            .collect();
    assert_eq!(campaigns, BTreeSet::from([NONE_VALUE]));
    let none: f64 = of_vendor(s, "boxoffice_tickets_sold_by_utm_campaign_total", "shotgun")
        .map(|x| x.value)
        .sum();
    assert_eq!(none as u64, held, "{when}");
    check_tickets_left(s, "shotgun", truth);
}

/// One Shotgun account synced, then refunds, cancels, resales and scans (no new sales) and a
/// second sync; built once (`common::scenario`), checked by the tests of
/// [`shotgun_before_and_after_refunds`]: breakdowns and old names equal the truth.
struct ShotgunRefunds {
    /// The first sync's scrape, as text and parsed, and the truth then.
    text: String,
    first: Vec<Sample>,
    first_truth: ShotgunTruth,
    /// Wall time just before and just after the first sync, ms.
    before_ms: i64,
    after_ms: i64,
    /// Requests by route and status as the simulator counted them after the first sync.
    stats: BTreeMap<(String, u16), u64>,
    token: String,
    /// A new registry over the same state database (a restart), scraped.
    restarted: Vec<Sample>,
    /// The second sync's summary, its scrape and the truth then.
    refunds_run: RunSummary,
    refunded: Vec<Sample>,
    refunded_truth: ShotgunTruth,
}

fn shotgun_refunds() -> &'static ShotgunRefunds {
    static BUILT: OnceLock<Result<ShotgunRefunds, String>> = OnceLock::new();
    common::scenario(&BUILT, false, || async {
        let sim = ShotgunSim::new(ShotgunConfig {
            tickets: 3_000,
            sales_per_minute: 0.0,
            changes_per_minute: 30.0,
            ..Default::default()
        });
        let srv = sim.spawn().await.unwrap();
        let p = Pipeline::new();
        let account = shotgun_account(&sim, &srv, &sim.token()).await;

        let before_ms = boxoffice::clock::now_ms();
        sync_ok(&p.deps, &account, sim.now_ms()).await;
        let after_ms = boxoffice::clock::now_ms();
        let (text, first) = scrape(&p);
        let first_truth = ShotgunTruth::of(&sim, boxoffice::clock::now_ms());
        let stats = sim.stats().by_route_status;
        let restarted = boxoffice::metrics::Metrics::new(p.state.clone(), true);
        let restarted = parse(&restarted.encode().unwrap());

        // Refunds, cancels, resales and scans in the simulator; no new sales.
        sim.advance(60);
        let refunds_run = sync_account(&p.deps, &account, &shotgun_opts(&sim))
            .await
            .unwrap();
        let (_, refunded) = scrape(&p);
        let refunded_truth = ShotgunTruth::of(&sim, boxoffice::clock::now_ms());
        ShotgunRefunds {
            text,
            first,
            first_truth,
            before_ms,
            after_ms,
            stats,
            token: sim.token(),
            restarted,
            refunds_run,
            refunded,
            refunded_truth,
        }
    })
}

/// Shotgun breakdowns and old names equal the truth before and after refunds: one check per
/// test, on one shared scenario.
mod shotgun_before_and_after_refunds {
    use super::*;

    /// Every old family is there, each sample with exactly the old label names.
    #[test]
    fn every_old_family_is_served_with_exactly_its_old_label_names() {
        let s = &shotgun_refunds().first;
        for (family, labels) in OLD_FAMILIES {
            let samples: Vec<_> = named(s, family).collect();
            assert!(!samples.is_empty(), "{family} missing from the scrape");
            for x in samples {
                assert_eq!(x.label_names(), labels, "{family}");
            }
        }
        let shotgun_families: BTreeSet<&str> = s
            .iter()
            .filter(|x| x.name.starts_with("shotgun_"))
            .map(|x| x.name.as_str())
            .collect();
        assert_eq!(
            shotgun_families,
            OLD_FAMILIES.iter().map(|(f, _)| *f).collect(),
            "no other shotgun_ family"
        );
    }

    #[test]
    fn old_families_equal_the_truth_after_the_first_sync() {
        let r = shotgun_refunds();
        assert_eq!(
            scraped_compat(&r.first),
            r.first_truth.compat,
            "after the first sync"
        );
    }

    #[test]
    fn breakdowns_fees_and_tickets_left_equal_the_truth_after_the_first_sync() {
        let r = shotgun_refunds();
        check_shotgun_breakdowns(&r.first, &r.first_truth, "first sync");
    }

    /// Requests by route and outcome, as the simulator counted them; no URL, query or token.
    #[test]
    fn api_requests_by_route_equal_the_simulators_count_and_show_no_url_or_token() {
        let r = shotgun_refunds();
        let api: BTreeMap<(String, String), u64> = named(&r.first, "shotgun_api_requests_total")
            .map(|x| {
                (
                    (x.get("endpoint").into(), x.get("status").into()),
                    x.value as u64,
                )
            })
            .collect();
        let want: BTreeMap<(String, String), u64> = r
            .stats
            .iter()
            .map(|((route, status), n)| {
                let st = if (200..300).contains(status) {
                    "success"
                } else {
                    "error"
                };
                (
                    (route.trim_start_matches('/').to_string(), st.to_string()),
                    *n,
                )
            })
            .fold(BTreeMap::new(), |mut m, (k, n)| {
                add(&mut m, k, n);
                m
            });
        assert_eq!(api, want);
        assert!(api.contains_key(&("tickets".into(), "success".into())));
        assert!(api.contains_key(&("events".into(), "success".into())));
        assert!(!r.text.contains(&r.token) && !r.text.contains("organizer_id="));
    }

    /// The last successful sync, from the job runs: within the sync, and the same after a
    /// restart (a new registry over the same state database).
    #[test]
    fn the_last_scrape_timestamp_is_the_syncs_and_survives_a_restart() {
        let r = shotgun_refunds();
        let (before_ms, after_ms) = (r.before_ms, r.after_ms);
        let last = named(&r.first, "shotgun_last_scrape_timestamp")
            .next()
            .unwrap()
            .value;
        assert!(
            last >= before_ms as f64 / 1000.0 && last <= after_ms as f64 / 1000.0,
            "{last} not in [{before_ms}, {after_ms}] ms"
        );
        assert_eq!(
            named(&r.restarted, "shotgun_last_scrape_timestamp")
                .next()
                .unwrap()
                .value,
            last
        );
    }

    #[test]
    fn the_sync_after_refunds_succeeds_with_many_changes() {
        let s2 = &shotgun_refunds().refunds_run;
        assert!(s2.ok() && s2.tickets_changed > 500, "{s2:?}");
    }

    #[test]
    fn old_families_equal_the_truth_after_refunds() {
        let r = shotgun_refunds();
        assert_eq!(
            scraped_compat(&r.refunded),
            r.refunded_truth.compat,
            "after refunds"
        );
    }

    #[test]
    fn breakdowns_fees_and_tickets_left_equal_the_truth_after_refunds() {
        let r = shotgun_refunds();
        check_shotgun_breakdowns(&r.refunded, &r.refunded_truth, "after refunds");
    }

    fn sold(s: &[Sample]) -> f64 {
        named(s, "shotgun_tickets_sold_total")
            .map(|x| x.value)
            .sum::<f64>()
    }

    #[test]
    fn sold_and_revenue_fall_after_refunds() {
        let r = shotgun_refunds();
        let revenue = |s: &[Sample]| {
            named(s, "shotgun_tickets_revenue_euros_total")
                .map(|x| x.minor())
                .sum::<i64>()
        };
        let (sold_before, revenue_before) = (sold(&r.first), revenue(&r.first));
        let s = &r.refunded;
        assert!(
            sold(s) < sold_before && revenue(s) < revenue_before,
            "sold {sold_before} → {}, revenue {revenue_before} → {}",
            sold(s),
            revenue(s)
        );
    }

    /// The neutral sold family fell by the same number of tickets.
    #[test]
    fn the_neutral_sold_family_equals_the_old_one_after_refunds() {
        let s = &shotgun_refunds().refunded;
        let neutral: f64 = of_vendor(s, "boxoffice_tickets_sold_total", "shotgun")
            .map(|x| x.value)
            .sum();
        assert_eq!(neutral, sold(s));
    }
}

#[tokio::test]
async fn qtickets_breakdowns_and_tickets_left_equal_the_truth() {
    let sim = QticketsSim::new(QticketsConfig {
        orders: 1_500,
        changes_per_minute: 4.0,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let p = Pipeline::new();
    // A lookback longer than the history, so each incremental run is exact.
    let account = qtickets_account(&srv, &sim.token(), &[("lookback_hours", "1000")]).await;
    sync_ok(&p.deps, &account, sim.now_ms()).await;
    for step in 0..2 {
        let (_, s) = scrape(&p);
        let truth = sim.breakdown_truth();
        assert_eq!(
            scraped_breakdowns(&s, "qtickets", &QTICKETS_DIMS),
            truth_breakdowns(&truth),
            "step {step}"
        );
        assert_eq!(
            scraped_fees(&s, "qtickets"),
            truth_fees(&truth),
            "step {step}"
        );
        check_tickets_left(&s, "qtickets", &truth);
        // No deal visibility in QTickets: every held ticket is under `none`.
        let held: u64 = truth
            .rows
            .iter()
            .filter(|r| r.dimension == "channel")
            .map(|r| r.tickets)
            .sum();
        let vis: BTreeMap<String, u64> =
            of_vendor(&s, "boxoffice_tickets_sold_by_visibility_total", "qtickets")
                .map(|x| (x.get("visibility").to_string(), x.value as u64))
                .fold(BTreeMap::new(), |mut m, (k, v)| {
                    add(&mut m, k, v);
                    m
                });
        assert_eq!(vis, BTreeMap::from([(NONE_VALUE.to_string(), held)]));
        // Several values per dimension, so the comparison means something.
        let (h, _) = truth_breakdowns(&truth);
        for dim in ["payment_method", "utm_source"] {
            let values: BTreeSet<_> = h.keys().filter(|k| k.1 == dim).map(|k| &k.2).collect();
            assert!(values.len() > 2, "{dim}: {values:?}");
        }
        // A day of payments, refunds and cancels, then the next sync.
        sim.advance(6 * 60);
        sync_ok(&p.deps, &account, sim.now_ms()).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Cardinality cap and the exposition format

/// A vendor value that needs escaping in the exposition text.
const NASTY: &str = "say \"hi\" \\ to\nme";

fn synthetic(id: u32, event: &str, utm_source: &str) -> Ticket {
    Ticket {
        ticket_id: id.to_string(),
        order_id: id.to_string(),
        event_id: event.into(),
        category: "GA \"front\"".into(),
        channel: "online".into(),
        status: TicketStatus::Valid,
        price_minor: 1250,
        service_fee_minor: 125,
        currency: "EUR".into(),
        ordered_at_ms: 1,
        updated_at_ms: 1,
        utm_source: Some(utm_source.into()),
        ..Ticket::BLANK
    }
}

/// `BREAKDOWN_CAP + 10` UTM sources for vendor `synthetic`: source k has k + 1 tickets, plus
/// one ticket with [`NASTY`] as its source. Returns the number of tickets.
fn commit_many_values(p: &Pipeline) -> u64 {
    let mut tickets = Vec::new();
    let mut id = 0;
    for k in 0..BREAKDOWN_CAP + 10 {
        for n in 0..=k {
            let event = if n % 3 == 0 { "e1" } else { "e2" };
            tickets.push(Record::Ticket(synthetic(id, event, &format!("src{k:02}"))));
            id += 1;
        }
    }
    tickets.push(Record::Ticket(synthetic(id, "e1", NASTY)));
    id += 1;
    p.state
        .commit_page("synthetic", "main", &tickets, None, 1)
        .unwrap();
    id as u64
}

#[test]
fn values_beyond_the_cap_are_folded_into_other_and_nothing_is_lost() {
    let p = Pipeline::new();
    let total = commit_many_values(&p);
    let (_, s) = scrape(&p);
    let series: Vec<_> = of_vendor(
        &s,
        "boxoffice_tickets_sold_by_utm_source_total",
        "synthetic",
    )
    .collect();
    let values: BTreeSet<&str> = series.iter().map(|x| x.get("utm_source")).collect();
    assert_eq!(values.len(), BREAKDOWN_CAP + 1, "{values:?}");
    assert!(values.contains(OTHER_VALUE));
    // The ten smallest (1..=10 tickets, 55 in all) and the single NASTY ticket are folded.
    for k in 0..10 {
        assert!(!values.contains(format!("src{k:02}").as_str()));
    }
    let other: f64 = series
        .iter()
        .filter(|x| x.get("utm_source") == OTHER_VALUE)
        .map(|x| x.value)
        .sum();
    assert_eq!(other as u64, 55 + 1);
    let all: f64 = series.iter().map(|x| x.value).sum();
    assert_eq!(all as u64, total);
    // Per event: at most cap + 2 series (the kept values, `other`, `none`).
    for event in ["e1", "e2"] {
        let n = series.iter().filter(|x| x.get("event_id") == event).count();
        assert!(n <= BREAKDOWN_CAP + 2, "{event}: {n}");
    }
    // Revenue folds the same way.
    let revenue: i64 = of_vendor(&s, "boxoffice_revenue_by_utm_source_total", "synthetic")
        .map(|x| x.minor())
        .sum();
    assert_eq!(revenue, total as i64 * 1250);

    // Below the cap the value keeps its label, escaped in the text and intact when read back.
    let p = Pipeline::new();
    p.state
        .commit_page(
            "synthetic",
            "main",
            &[Record::Ticket(synthetic(1, "e1", NASTY))],
            None,
            1,
        )
        .unwrap();
    let (text, s) = scrape(&p);
    assert!(
        text.contains(r#"utm_source="say \"hi\" \\ to\nme""#),
        "{text}"
    );
    let got: Vec<_> = of_vendor(
        &s,
        "boxoffice_tickets_sold_by_utm_source_total",
        "synthetic",
    )
    .map(|x| x.get("utm_source").to_string())
    .collect();
    assert_eq!(got, [NASTY]);
}

/// OpenMetrics → the Prometheus text format promtool 2.42 reads: a counter family `x` is
/// described as `x_total` there (its samples are already named so), and there is no `# EOF`.
fn to_prometheus_text(openmetrics: &str) -> String {
    let mut counters = BTreeSet::new();
    for l in openmetrics.lines() {
        if let Some(name) = l
            .strip_prefix("# TYPE ")
            .and_then(|r| r.strip_suffix(" counter"))
        {
            counters.insert(name.to_string());
        }
    }
    let mut out = String::new();
    for l in openmetrics.lines() {
        if l == "# EOF" {
            continue;
        }
        let mut line = l.to_string();
        for prefix in ["# HELP ", "# TYPE "] {
            if let Some(rest) = l.strip_prefix(prefix) {
                let name = rest.split(' ').next().unwrap();
                if counters.contains(name) {
                    line = format!("{prefix}{name}_total{}", &rest[name.len()..]);
                }
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn a_full_scrape_passes_promtool_check_metrics() {
    if !boxoffice_testkit::promtool::installed("a_full_scrape_passes_promtool_check_metrics") {
        return;
    }
    // Both vendors, compat names on, and vendor text that needs escaping.
    let p = Pipeline::new();
    let sg = ShotgunSim::new(ShotgunConfig {
        tickets: 800,
        ..Default::default()
    });
    let sg_srv = sg.spawn().await.unwrap();
    let account = shotgun_account(&sg, &sg_srv, &sg.token()).await;
    sync_ok(&p.deps, &account, sg.now_ms()).await;
    let qt = QticketsSim::new(QticketsConfig {
        orders: 300,
        ..Default::default()
    });
    let qt_srv = qt.spawn().await.unwrap();
    let account = qtickets_account(&qt_srv, &qt.token(), &[]).await;
    sync_ok(&p.deps, &account, qt.now_ms()).await;
    commit_many_values(&p);

    let (text, s) = scrape(&p);
    for family in [
        "boxoffice_tickets_sold_by_channel_total",
        "boxoffice_revenue_by_visibility_total",
        "boxoffice_fees_total",
        "boxoffice_event_tickets_left",
        "shotgun_api_requests_total",
        "shotgun_last_scrape_timestamp",
    ] {
        assert!(named(&s, family).next().is_some(), "{family}");
    }
    let input = to_prometheus_text(&text);
    let (passed, said) = boxoffice_testkit::promtool::check_metrics(&input);
    assert!(
        passed && said.trim().is_empty(),
        "promtool: {said}\n--- scrape ---\n{input}"
    );
    // promtool must be able to fail here: a gauge named like a counter is refused.
    let bad = format!("{input}# HELP bad_total x\n# TYPE bad_total gauge\nbad_total 1\n");
    assert!(!boxoffice_testkit::promtool::check_metrics(&bad).0);
}

#[test]
fn a_scrape_sees_writes_of_this_process_and_of_another_one() {
    let p = Pipeline::new();
    let held = |p: &Pipeline| -> f64 {
        let (_, s) = scrape(p);
        of_vendor(&s, "boxoffice_tickets_sold_by_channel_total", "synthetic")
            .map(|x| x.value)
            .sum()
    };
    assert_eq!(held(&p), 0.0);
    let page = |id: u32| [Record::Ticket(synthetic(id, "e1", "src"))];
    p.state
        .commit_page("synthetic", "main", &page(1), None, 1)
        .unwrap();
    assert_eq!(held(&p), 1.0);
    assert_eq!(held(&p), 1.0, "an unchanged ledger reads the same");
    // Another process (here: another connection) writes the same state database.
    let other = boxoffice::state::StateStore::open(&p.dir.path().join("state.sqlite")).unwrap();
    other
        .commit_page("synthetic", "main", &page(2), None, 2)
        .unwrap();
    assert_eq!(held(&p), 2.0);
}
