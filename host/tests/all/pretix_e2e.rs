//! pretix end to end against a real pretix (PyPI, SQLite, loopback; `testkit::pretix`), not a
//! simulator: the drop-in `.wasm` in a plugin dir, the loopback origin granted by the
//! operator, `boxoffice sync` through the binary, and the SQLite warehouse and `/metrics`
//! compared with what pretix's own API reports (`testkit/pretix/truth.py`). Then changes made
//! through pretix's API (refunds, check-ins, cancellations, payments, new orders), a second
//! sync (incremental: everything but a refund that left the order paid), a third with the
//! full re-read due (everything), and a sweep of every file and log for the canary PII and
//! the orders' secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use boxoffice::metrics::Metrics;
use boxoffice::plugin::bundled::test_plugin_path;
use boxoffice::state::StateStore;
use boxoffice_testkit::pretix::{EventTruth, Mutation, PretixServer, StatusTruth, Truth};

const TEST: &str = "pretix_e2e";

/// The canary PII the seed and the mutations put into pretix (`testkit/pretix/*.py`).
const CANARIES: &[&str] = &[
    "canary.buyer",
    "canary.new",
    "canary.attendee",
    "canary.operator",
    "example.invalid",
    "+00 000 CANARY",
    "CANARY",
    "Canary Buyer",
    "Canary New",
    "Canary Attendee",
    "Canary Street",
    "Canary Lane",
    "Canaryville",
    "Canary GmbH",
];

struct Setup {
    dir: tempfile::TempDir,
    base_url: String,
}

impl Setup {
    fn new(px: &PretixServer) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        // A drop-in: copied next to nothing else, outside the bundled set.
        std::fs::copy(
            test_plugin_path("pretix"),
            dir.path().join("plugins/pretix.wasm"),
        )
        .unwrap();
        // The team API token, sent as `Authorization: Token` (WIT 0.3 authorization-header).
        std::fs::write(dir.path().join("token"), &px.seed().token).unwrap();
        Self {
            dir,
            base_url: px.base_url(),
        }
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The operator's file: the account and, explicitly, the loopback origin it may reach.
    fn write_config(&self, extra_settings: &str) -> PathBuf {
        let text = format!(
            "state_dir = {:?}\nplugin_dir = {:?}\nmax_requests_per_minute = 0\n\n\
             [[account]]\nvendor = \"pretix\"\nname = \"shop\"\n\
             settings = {{ base_url = \"{url}\", organizer = \"canary\"{extra_settings} }}\n\
             extra_origins = [\"{url}\"]\n\
             secrets = {{ token = {{ file = {:?} }} }}\n",
            self.state_dir(),
            self.dir.path().join("plugins"),
            self.dir.path().join("token"),
            url = self.base_url,
        );
        let path = self.dir.path().join("boxoffice.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `boxoffice sync`; returns stdout and stderr (debug logs included).
    fn sync(&self, extra_settings: &str) -> (String, String) {
        let config = self.write_config(extra_settings);
        let out = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "debug")
            .env("BOXOFFICE_CACHE_DIR", self.dir.path().join("cache"))
            .env("BOXOFFICE_PLUGIN_DIR", self.dir.path().join("plugins"))
            .args(["sync", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "sync failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("pretix/shop: ok"), "{stdout}\n{stderr}");
        (stdout, stderr)
    }

    fn warehouse(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.state_dir().join("state.sqlite")).unwrap()
    }
}

/// The warehouse's tickets, aggregated the way `truth.py` aggregates pretix's orders.
fn warehouse_figures(s: &Setup) -> Truth {
    let db = s.warehouse();
    let mut out: Truth = BTreeMap::new();
    let mut q = db
        .prepare(
            "SELECT event_id, currency, status, count(*), sum(price_minor), sum(refunded_minor),
                    sum(CASE status WHEN 'valid' THEN price_minor
                                    WHEN 'refunded' THEN max(price_minor - refunded_minor, 0)
                                    ELSE 0 END),
                    sum(scanned_at_ms IS NOT NULL),
                    sum(scanned_at_ms IS NOT NULL AND status = 'valid'),
                    sum(buyer_fee_minor)
             FROM tickets WHERE vendor = 'pretix' GROUP BY 1, 2, 3",
        )
        .unwrap();
    let rows = q
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                r.get::<_, i64>(8)?,
                r.get::<_, i64>(9)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (event, currency, status, n, price, refunded, kept, scanned, held, fees) = row.unwrap();
        let e = out.entry(event).or_insert_with(|| EventTruth {
            currency: currency.clone(),
            statuses: BTreeMap::new(),
            kept_minor: 0,
            scanned: 0,
            scanned_held: 0,
            buyer_fee_minor: 0,
            tickets: 0,
            orders: 0,
            buyers: 0,
        });
        assert_eq!(e.currency, currency, "one currency per event");
        e.statuses.insert(
            status,
            StatusTruth {
                count: n as u64,
                price_minor: price,
                refunded_minor: refunded,
            },
        );
        e.kept_minor += kept;
        e.scanned += scanned as u64;
        e.scanned_held += held as u64;
        e.buyer_fee_minor += fees;
        e.tickets += n as u64;
    }
    for (event, e) in out.iter_mut() {
        let (orders, buyers): (i64, i64) = db
            .query_row(
                "SELECT count(DISTINCT order_id), count(DISTINCT buyer) FROM tickets
                 WHERE vendor = 'pretix' AND event_id = ?1",
                [event],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        e.orders = orders as u64;
        e.buyers = buyers as u64;
    }
    out
}

/// Per event: (sold, refunded, canceled, scanned, revenue in major units by currency) as the
/// `/metrics` business families say, from the state the CLI wrote.
type Scraped = BTreeMap<String, (u64, u64, u64, u64, BTreeMap<String, f64>)>;

fn scraped(s: &Setup) -> Scraped {
    let state = Arc::new(StateStore::open(&s.state_dir().join("state.sqlite")).unwrap());
    let text = Metrics::new(state, false).encode().unwrap();
    let mut out: Scraped = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let label = |name: &str| {
            let k = format!("{name}=\"");
            let i = series.find(&k)? + k.len();
            Some(series[i..i + series[i..].find('"')?].to_string())
        };
        if label("vendor").as_deref() != Some("pretix") || label("category").is_none() {
            continue;
        }
        let Some(event) = label("event_id") else {
            continue;
        };
        let v: f64 = value.parse().unwrap();
        let row = out.entry(event).or_default();
        let name = series.split('{').next().unwrap_or_default();
        match name {
            "boxoffice_tickets_sold_total" => row.0 += v as u64,
            "boxoffice_tickets_refunded_total" => row.1 += v as u64,
            "boxoffice_tickets_canceled_total" => row.2 += v as u64,
            "boxoffice_tickets_scanned_total" => row.3 += v as u64,
            "boxoffice_revenue_total" => {
                *row.4.entry(label("currency").unwrap()).or_default() += v;
            }
            _ => {}
        }
    }
    out
}

fn count(e: &EventTruth, status: &str) -> u64 {
    e.statuses.get(status).map_or(0, |s| s.count)
}

fn assert_matches(s: &Setup, truth: &Truth, when: &str) {
    let got = warehouse_figures(s);
    assert_eq!(got, *truth, "{when}: the warehouse differs from pretix");
    let metrics = scraped(s);
    for (event, t) in truth {
        let (sold, refunded, canceled, scanned, revenue) = &metrics[event];
        assert_eq!(
            (*sold, *refunded, *canceled, *scanned),
            (
                count(t, "valid"),
                count(t, "refunded"),
                count(t, "canceled"),
                t.scanned_held
            ),
            "{when}: /metrics counts of {event}"
        );
        // Major units of the event's own currency: EUR has two minor digits, JPY none.
        let want = boxoffice_records::currency::to_major(t.kept_minor, &t.currency);
        let got = revenue[t.currency.as_str()];
        assert!(
            (got - want).abs() < 1e-6,
            "{when}: /metrics revenue of {event} in {}: {got} vs {want}",
            t.currency
        );
    }
}

/// Statuses of one order's tickets in the warehouse, by pretix's order code.
fn order_tickets(s: &Setup, code: &str) -> Vec<(String, i64, Option<i64>)> {
    let db = s.warehouse();
    let mut q = db
        .prepare(
            "SELECT status, refunded_minor, scanned_at_ms FROM tickets
             WHERE vendor = 'pretix' AND order_id LIKE '%-' || ?1 ORDER BY ticket_id",
        )
        .unwrap();
    q.query_map([code], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn sync_matches_pretix_before_and_after_changes_and_keeps_no_pii() {
    let Some(px) = PretixServer::for_test(TEST, 300) else {
        return;
    };
    let st = px.startup();
    eprintln!(
        "pretix started in {:.1?} (install check {:.1?}, seed {:.1?}, server ready {:.1?})",
        st.total(),
        st.install,
        st.seed,
        st.ready
    );
    let s = Setup::new(&px);
    let mut logs = String::new();

    let t0 = std::time::Instant::now();
    let (out, err) = s.sync("");
    eprintln!("first sync {:.1?}: {}", t0.elapsed(), out.trim());
    logs += &(out + &err);
    let before = px.truth().unwrap();
    assert!(before.values().all(|e| e.tickets > 200), "{before:?}");
    assert_matches(&s, &before, "first sync");

    let report = px
        .mutate(&Mutation {
            refund: 3,
            partial_refund: 3,
            checkin: 4,
            cancel: 3,
            pay: 3,
            new: 5,
        })
        .unwrap();
    let after = px.truth().unwrap();
    assert_ne!(after, before, "the changes must change the figures");

    // Incremental: everything that moved `last_modified` arrives.
    let (out, err) = s.sync("");
    eprintln!("second sync: {}", out.trim());
    logs += &(out + &err);
    for code in &report.done["refund"] {
        assert!(
            order_tickets(&s, code)
                .iter()
                .all(|(st, r, _)| st == "refunded" && *r > 0),
            "{code}"
        );
    }
    for code in &report.done["checkin"] {
        assert!(
            order_tickets(&s, code)
                .iter()
                .all(|(_, _, sc)| sc.is_some()),
            "{code}"
        );
    }
    for code in &report.done["cancel"] {
        assert!(
            order_tickets(&s, code)
                .iter()
                .all(|(st, _, _)| st == "canceled"),
            "{code}"
        );
    }
    for code in report.done["pay"].iter().chain(&report.done["new"]) {
        let t = order_tickets(&s, code);
        assert!(
            !t.is_empty() && t.iter().all(|(st, _, _)| st == "valid"),
            "{code}"
        );
    }
    // A refund that leaves the order paid does not move pretix's `last_modified`: not seen yet.
    for code in &report.done["partial_refund"] {
        assert!(
            order_tickets(&s, code)
                .iter()
                .all(|(st, _, _)| st == "valid"),
            "{code}: seen before the full re-read"
        );
    }
    assert_ne!(warehouse_figures(&s), after);

    // The full re-read (due at once with a period of 0) brings the partial refunds.
    let (out, err) = s.sync(", full_scan_every_secs = \"0\"");
    eprintln!("third sync (full re-read): {}", out.trim());
    logs += &(out + &err);
    assert_matches(&s, &after, "after the full re-read");
    for code in &report.done["partial_refund"] {
        let t = order_tickets(&s, code);
        assert!(
            t.iter().any(|(st, r, _)| st == "refunded" && *r > 0),
            "{code}: {t:?}"
        );
    }

    // Nothing personal and no secret anywhere: state, warehouse (WAL included), logs.
    let mut needles: Vec<String> = CANARIES.iter().map(|c| c.to_string()).collect();
    needles.extend(px.seed().secrets.iter().cloned());
    needles.extend(report.secrets.iter().cloned());
    needles.push(px.seed().token.clone());
    needles.push(px.seed().oauth_token.clone());
    assert!(needles.len() > 600, "{} needles", needles.len());
    let mut swept = 0;
    for file in files_under(&s.state_dir()) {
        let bytes = std::fs::read(&file).unwrap();
        swept += bytes.len();
        for n in &needles {
            assert!(
                memchr::memmem::find(&bytes, n.as_bytes()).is_none(),
                "{} holds `{n}`",
                file.display()
            );
        }
    }
    assert!(
        swept > 100_000,
        "the sweep read the databases ({swept} bytes)"
    );
    for n in &needles {
        assert!(!logs.contains(n.as_str()), "the logs hold `{n}`");
    }
    // The buyers are there, as pseudonyms.
    let db = s.warehouse();
    let buyers: i64 = db
        .query_row(
            "SELECT count(*) FROM tickets WHERE vendor = 'pretix' AND length(buyer) = 24",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(buyers > 400, "{buyers}");
}
