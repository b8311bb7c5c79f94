//! The ledger's incremental aggregates (tables of migration 0006, moved once per page by every
//! `commit_page` since 0008 dropped the per-row triggers) against a full rescan of the ledger, the reference: random sequences of
//! ticket versions (new, newer, older and equal re-deliveries, every status to every status,
//! scans, currency / category / event / dimension changes, several vendors and accounts),
//! a restart, and the rebuild when the migration is applied to an existing ledger.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use boxoffice::model::{Event, Inventory, Record, Ticket, TicketStatus};
use boxoffice::state::breakdown::BREAKDOWN_CAP;
use boxoffice::state::StateStore;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ACCOUNTS: [(&str, &str); 3] = [
    ("shotgun", "main"),
    ("shotgun", "second"),
    ("qtickets", "x"),
];
const EVENTS: [&str; 3] = ["e1", "e2", "é3"];
const CATEGORIES: [&str; 3] = ["GA", "VIP", ""];
const CURRENCIES: [&str; 3] = ["EUR", "RUB", "JPY"];
const CHANNELS: [&str; 3] = ["online", "box office", " "];
const TAGS: [Option<&str>; 5] = [None, Some(""), Some("insta"), Some("mail"), Some("  ")];
const VISIBILITY: [&[&str]; 4] = [&[], &["public"], &["public", "promoters"], &[" "]];

fn pick<T: Copy>(rng: &mut StdRng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

fn tag(rng: &mut StdRng) -> Option<String> {
    pick(rng, &TAGS).map(str::to_string)
}

/// A version of ticket `id` with every field that feeds a figure drawn at random.
fn version(rng: &mut StdRng, id: u32, updated_at_ms: i64) -> Ticket {
    let price = rng.random_range(0..5_000i64);
    Ticket {
        ticket_id: id.to_string(),
        order_id: (id / 2).to_string(),
        event_id: pick(rng, &EVENTS).into(),
        category: pick(rng, &CATEGORIES).into(),
        channel: pick(rng, &CHANNELS).into(),
        status: pick(rng, &TicketStatus::ALL),
        price_minor: price,
        service_fee_minor: rng.random_range(0..300),
        buyer_fee_minor: rng.random_range(0..100),
        producer_cost_minor: rng.random_range(0..50),
        // Sometimes more than the price: kept money never goes below zero.
        refunded_minor: rng.random_range(0..price + 1_000),
        currency: pick(rng, &CURRENCIES).into(),
        ordered_at_ms: 1,
        updated_at_ms,
        scanned_at_ms: rng.random_bool(0.4).then_some(updated_at_ms),
        utm_source: tag(rng),
        utm_medium: tag(rng),
        utm_campaign: tag(rng),
        payment_method: tag(rng),
        visibility: pick(rng, &VISIBILITY)
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..Ticket::BLANK
    }
}

/// What the sequences exercised, so the test cannot pass by not trying.
#[derive(Default)]
struct Coverage {
    transitions: BTreeSet<(TicketStatus, TicketStatus)>,
    key_changes: u64,
    older: u64,
    equal: u64,
    inserted: u64,
}

/// The ledger's latest version per ticket, as the test expects it.
type Model = HashMap<(&'static str, &'static str, u32), Ticket>;

/// One random page for one account; returns the records and how many tickets it changes.
fn page(
    rng: &mut StdRng,
    model: &mut Model,
    cov: &mut Coverage,
    vendor: &'static str,
    account: &'static str,
) -> (Vec<Record>, u64) {
    let mut records = Vec::new();
    let mut changed = 0;
    for _ in 0..rng.random_range(1..=6) {
        if rng.random_bool(0.1) {
            records.push(Record::Event(Event {
                event_id: pick(rng, &EVENTS).into(),
                name: "Fest".into(),
                city: None,
                venue: None,
                starts_at_ms: Some(1),
                ends_at_ms: None,
                canceled_at_ms: None,
                updated_at_ms: 1,
            }));
            continue;
        }
        if rng.random_bool(0.05) {
            records.push(Record::Inventory(Inventory {
                event_id: pick(rng, &EVENTS).into(),
                show_id: "s".into(),
                captured_at_ms: rng.random_range(1..100),
                capacity: Some(100),
                available: Some(rng.random_range(0..100)),
                sold: None,
            }));
            continue;
        }
        let id = rng.random_range(0..12u32);
        let key = (vendor, account, id);
        let t = match model.get(&key) {
            None => {
                cov.inserted += 1;
                let at = rng.random_range(1..50);
                version(rng, id, at)
            }
            Some(cur) => {
                let at = cur.updated_at_ms;
                match rng.random_range(0..10) {
                    // An older version re-delivered: changes nothing.
                    0..=1 => {
                        cov.older += 1;
                        let older = at - rng.random_range(1..=3);
                        version(rng, id, older)
                    }
                    // The same version again (or another body with the same `updated_at`):
                    // the newer-wins rule keeps the stored one.
                    2 => {
                        cov.equal += 1;
                        version(rng, id, at)
                    }
                    _ => {
                        let newer = at + rng.random_range(1..=5);
                        let mut t = version(rng, id, newer);
                        if rng.random_bool(0.5) {
                            // Often the same groups with another status or scan: what a
                            // refund, a resale or a door scan look like.
                            t.event_id = cur.event_id.clone();
                            t.category = cur.category.clone();
                            t.currency = cur.currency.clone();
                            t.channel = cur.channel.clone();
                            t.price_minor = cur.price_minor;
                        }
                        cov.transitions.insert((cur.status, t.status));
                        if (&t.event_id, &t.category, &t.currency)
                            != (&cur.event_id, &cur.category, &cur.currency)
                        {
                            cov.key_changes += 1;
                        }
                        t
                    }
                }
            }
        };
        let newer = model
            .get(&key)
            .is_none_or(|cur| t.updated_at_ms > cur.updated_at_ms);
        if newer {
            model.insert(key, t.clone());
            changed += 1;
        }
        records.push(Record::Ticket(t));
    }
    (records, changed)
}

fn open(path: &Path) -> StateStore {
    StateStore::open(path).unwrap()
}

/// The incremental figures equal the rescan's, for the KPIs and the breakdowns at two caps
/// (2 folds values into `other` here, the default does not).
fn assert_same(s: &StateStore, context: &str) {
    let kpis = s.kpis().unwrap();
    assert_eq!(kpis, s.kpis_rescan().unwrap(), "KPIs, {context}");
    for cap in [2, BREAKDOWN_CAP] {
        assert_eq!(
            s.breakdowns_capped(cap).unwrap(),
            s.breakdowns_rescan_capped(cap).unwrap(),
            "breakdowns (cap {cap}), {context}"
        );
    }
}

#[test]
fn incremental_figures_equal_a_full_rescan_after_random_sequences() {
    let mut cov = Coverage::default();
    let mut pages = 0;
    let mut nonzero = [0u64; 6];
    for seed in 0..120u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let dir = tempfile::tempdir().unwrap();
        let s = open(&dir.path().join("state.sqlite"));
        let mut model = Model::new();
        for step in 0..rng.random_range(5..40) {
            let (vendor, account) = pick(&mut rng, &ACCOUNTS);
            let (records, changed) = page(&mut rng, &mut model, &mut cov, vendor, account);
            let out = s
                .commit_page(vendor, account, &records, Some("c"), step)
                .unwrap();
            assert_eq!(out.tickets_changed, changed, "seed {seed} step {step}");
            pages += 1;
            assert_same(&s, &format!("seed {seed} after page {step}"));
        }
        assert_eq!(s.ticket_count().unwrap(), model.len() as u64);
        for k in s.kpis().unwrap() {
            let figures = [
                k.sold, k.refunded, k.canceled, k.resold, k.pending, k.scanned,
            ];
            for (n, v) in nonzero.iter_mut().zip(figures) {
                *n += (v > 0) as u64;
            }
        }
    }
    // Every status went to every status (a refund of a counted ticket, a resale, a cancel,
    // a pending ticket paid, ...), tickets changed groups, and old versions came back.
    assert_eq!(cov.transitions.len(), 25, "{:?}", cov.transitions);
    assert!(cov.key_changes > 100 && cov.older > 100 && cov.equal > 50 && cov.inserted > 100);
    assert!(nonzero.iter().all(|n| *n > 0), "{nonzero:?}");
    assert!(pages > 1_000, "{pages}");
}

#[test]
fn a_restart_reads_the_same_figures_and_keeps_them_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut rng = StdRng::seed_from_u64(7);
    let mut model = Model::new();
    let mut cov = Coverage::default();
    let before = {
        let s = open(&path);
        for step in 0..60 {
            let (vendor, account) = pick(&mut rng, &ACCOUNTS);
            let (records, _) = page(&mut rng, &mut model, &mut cov, vendor, account);
            s.commit_page(vendor, account, &records, None, step)
                .unwrap();
        }
        assert_same(&s, "before the restart");
        (s.kpis().unwrap(), s.breakdowns().unwrap())
    };
    assert!(before.0.len() > 5, "{:?}", before.0);
    let s = open(&path);
    assert_eq!(
        (s.kpis().unwrap(), s.breakdowns().unwrap()),
        before,
        "reopened"
    );
    assert_same(&s, "after the restart");
    for step in 60..100 {
        let (vendor, account) = pick(&mut rng, &ACCOUNTS);
        let (records, _) = page(&mut rng, &mut model, &mut cov, vendor, account);
        s.commit_page(vendor, account, &records, None, step)
            .unwrap();
    }
    assert_same(&s, "writes after the restart");
    assert_ne!(
        s.kpis().unwrap(),
        before.0,
        "the later writes changed figures"
    );
}

/// A ledger written before migration 0006 (no aggregates, no triggers) gets its aggregates
/// rebuilt from the tickets once, when the migration is applied.
#[test]
fn the_migration_builds_the_aggregates_from_an_existing_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut rng = StdRng::seed_from_u64(11);
    let mut model = Model::new();
    let mut cov = Coverage::default();
    let mut commit_pages = |s: &StateStore, n: i64| {
        for step in 0..n {
            let (vendor, account) = pick(&mut rng, &ACCOUNTS);
            let (records, _) = page(&mut rng, &mut model, &mut cov, vendor, account);
            s.commit_page(vendor, account, &records, None, step)
                .unwrap();
        }
    };
    commit_pages(&open(&path), 30);
    // Back to the schema before 0006, then more writes that no trigger sees.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch(
        "DROP TRIGGER IF EXISTS ledger_aggregates_insert;
         DROP TRIGGER IF EXISTS ledger_aggregates_update;
         DROP TRIGGER ledger_aggregates_delete; DROP TABLE ledger_kpis;
         DROP TABLE ledger_combos; DELETE FROM schema_migrations WHERE version IN (6, 8);",
    )
    .unwrap();
    drop(c);
    {
        // The schema as version 1 left it: write through plain SQL (StateStore::open would
        // apply 0006 again).
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute(
            "UPDATE tickets SET status = 'refunded', refunded_minor = 100
             WHERE ticket_id IN ('1', '2', '3')",
            [],
        )
        .unwrap();
    }
    let s = open(&path);
    let n: i64 = {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row("SELECT count(*) FROM ledger_kpis", [], |r| r.get(0))
            .unwrap()
    };
    assert!(n > 5, "rebuilt {n} groups");
    assert_same(&s, "after the rebuild");
    commit_pages(&s, 20);
    assert_same(&s, "writes after the rebuild");
    // An operator's DELETE is followed too.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM tickets WHERE ticket_id IN ('4', '5')", [])
        .unwrap();
    assert_same(&s, "after a DELETE");
}

/// A write that fails rolls the aggregates back with the tickets: both are in its transaction.
#[test]
fn a_rolled_back_write_leaves_the_aggregates_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let mut rng = StdRng::seed_from_u64(3);
    let s = open(&path);
    let records: Vec<Record> = (0..20)
        .map(|i| Record::Ticket(version(&mut rng, i, 10)))
        .collect();
    s.commit_page("shotgun", "main", &records, None, 1).unwrap();
    let before = (s.kpis().unwrap(), s.breakdowns().unwrap());
    let mut c = rusqlite::Connection::open(&path).unwrap();
    let tx = c.transaction().unwrap();
    tx.execute(
        "UPDATE tickets SET status = 'canceled', updated_at_ms = 99, event_id = 'moved'",
        [],
    )
    .unwrap();
    drop(tx); // rolled back
    assert_eq!((s.kpis().unwrap(), s.breakdowns().unwrap()), before);
    assert_same(&s, "after the rollback");
}

/// Pages built to hold, inside ONE page, what the per-page deltas must net out: a ticket new in
/// the page and then replaced by a newer version in another group, a refund of a ticket
/// stored by an earlier page, a stale and an equal re-delivery, and an exact duplicate. After
/// every page the aggregates equal the rescan; the page's changed count is what the newer-wins
/// rule says.
#[test]
fn per_page_deltas_net_out_duplicates_refunds_and_stale_versions_inside_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir.path().join("state.sqlite"));
    let mut model = Model::new();
    let mut shapes = [0u64; 5];
    for seed in 0..60u64 {
        let mut rng = StdRng::seed_from_u64(1_000 + seed);
        let (vendor, account) = pick(&mut rng, &ACCOUNTS);
        let mut records = Vec::new();
        let mut changed = 0u64;
        let mut push = |t: Ticket, records: &mut Vec<Record>, model: &mut Model| {
            let key = (vendor, account, t.ticket_id.parse::<u32>().unwrap());
            if model
                .get(&key)
                .is_none_or(|cur| t.updated_at_ms > cur.updated_at_ms)
            {
                model.insert(key, t.clone());
                changed += 1;
            }
            records.push(Record::Ticket(t));
        };
        for _ in 0..rng.random_range(3..12) {
            let id = rng.random_range(0..20u32);
            let at = model
                .get(&(vendor, account, id))
                .map_or(rng.random_range(1..20), |t| t.updated_at_ms);
            match rng.random_range(0..5) {
                // New (or newer) and then newer again in the same page, anywhere.
                0 => {
                    shapes[0] += 1;
                    push(version(&mut rng, id, at + 1), &mut records, &mut model);
                    push(version(&mut rng, id, at + 2), &mut records, &mut model);
                }
                // A refund of what is stored: same groups, status and refunded money change.
                1 => {
                    shapes[1] += 1;
                    let mut t = model
                        .get(&(vendor, account, id))
                        .cloned()
                        .unwrap_or_else(|| version(&mut rng, id, at));
                    t.status = TicketStatus::Refunded;
                    t.refunded_minor = rng.random_range(0..t.price_minor + 1);
                    t.updated_at_ms = at + 1;
                    push(t, &mut records, &mut model);
                }
                // A stale version after the stored one.
                2 => {
                    shapes[2] += 1;
                    push(version(&mut rng, id, at - 1), &mut records, &mut model);
                }
                // The same version twice in a row (an exact duplicate inside the page).
                3 => {
                    shapes[3] += 1;
                    let t = version(&mut rng, id, at + 1);
                    push(t.clone(), &mut records, &mut model);
                    push(t, &mut records, &mut model);
                }
                // A newer version, then an older one of the same ticket in the same page.
                _ => {
                    shapes[4] += 1;
                    push(version(&mut rng, id, at + 3), &mut records, &mut model);
                    push(version(&mut rng, id, at + 2), &mut records, &mut model);
                }
            }
        }
        let out = s
            .commit_page(vendor, account, &records, Some("c"), seed as i64)
            .unwrap();
        assert_eq!(out.tickets_changed, changed, "seed {seed}");
        assert_same(&s, &format!("after page {seed}"));
    }
    assert_eq!(s.ticket_count().unwrap(), model.len() as u64);
    assert!(shapes.iter().all(|n| *n > 10), "{shapes:?}");
}
