//! Criterion micro-benchmarks of the write path of one page: the state ledger's page commit
//! (ticket upserts + aggregates + cursor, one transaction; with the SQLite warehouse this is
//! the only write of a ticket, as the warehouse lives in the state database), on real
//! screened Shotgun records (recorded from the simulator, through the component and the
//! firewall), so a regression shows up in `cargo bench -p boxoffice-bench --bench ledger`.
//!
//! - `new`: every iteration writes a page of tickets the database has not seen (ids made
//!   unique per iteration), as a backfill or a first sync does.
//! - `unchanged`: the same page again, as an incremental run re-reading it does (the upserts
//!   find nothing newer).
//!
//! After timing, the database must hold exactly the tickets written.

use std::sync::atomic::{AtomicU64, Ordering};

use boxoffice::model::Record;
use boxoffice::state::StateStore;
use boxoffice_bench::pages::{record, Vendor};
use boxoffice_bench::Scratch;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const PAGES: usize = 10;
/// Pages in one batched write (what the sync's writer does when it fell behind).
const BATCH: usize = 8;

/// `page` with ticket ids made unique by `round`, increasing from round to round as a
/// backfill's are (events keep theirs: they merge).
fn renumbered(page: &[Record], round: u64) -> Vec<Record> {
    page.iter()
        .map(|r| match r {
            Record::Ticket(t) => {
                let mut t = t.clone();
                t.ticket_id = format!("{round:012}-{}", t.ticket_id);
                Record::Ticket(t)
            }
            other => other.clone(),
        })
        .collect()
}

fn tickets_in(page: &[Record]) -> u64 {
    page.iter()
        .filter(|r| matches!(r, Record::Ticket(_)))
        .count() as u64
}

fn count(path: &std::path::Path) -> u64 {
    let conn = rusqlite::Connection::open(path).expect("opening the database");
    conn.query_row("SELECT count(*) FROM tickets", [], |r| r.get::<_, i64>(0))
        .expect("counting tickets") as u64
}

fn writes(c: &mut Criterion) {
    let scratch = Scratch::new().expect("a scratch directory");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let rec = rt
        .block_on(record(
            Vendor::Shotgun,
            PAGES,
            &scratch.sub("record").expect("dir"),
        ))
        .expect("recording pages from the simulator");
    let pages = rt.block_on(rec.screened()).expect("screening the pages");
    let per_page = tickets_in(&pages[0]);

    let state_path = scratch.path().join("state.sqlite");
    // As the daemon opens it with the SQLite warehouse: inventory history kept.
    let state = StateStore::open_with(
        &state_path,
        boxoffice::state::StateOptions {
            zones: boxoffice::zone::Zone::utc().into(),
            warehouse: true,
        },
    )
    .expect("opening the state database");
    let written_state = AtomicU64::new(0);
    let round = AtomicU64::new(0);
    let next_page = || {
        let n = round.fetch_add(1, Ordering::Relaxed);
        renumbered(&pages[n as usize % pages.len()], n)
    };

    let mut g = c.benchmark_group("write_page");
    g.throughput(Throughput::Elements(per_page));
    g.bench_function("ledger/new", |b| {
        b.iter_batched(
            next_page,
            |page| {
                state
                    .commit_page("shotgun", "bench", &page, Some("cursor"), 0)
                    .expect("committing a page");
                written_state.fetch_add(tickets_in(&page), Ordering::Relaxed);
            },
            BatchSize::SmallInput,
        )
    });
    // A writer that fell behind stores the waiting pages in one transaction.
    let batch = |n: usize| move || (0..n).flat_map(|_| next_page()).collect::<Vec<Record>>();
    g.throughput(Throughput::Elements(per_page * BATCH as u64));
    g.bench_function(format!("ledger/new_x{BATCH}"), |b| {
        b.iter_batched(
            batch(BATCH),
            |page| {
                state
                    .commit_page("shotgun", "bench", &page, Some("cursor"), 0)
                    .expect("committing a batch");
                written_state.fetch_add(tickets_in(&page), Ordering::Relaxed);
            },
            BatchSize::SmallInput,
        )
    });
    g.throughput(Throughput::Elements(per_page));
    // Pages already stored (round 0 of every recorded page) are read again.
    let again = renumbered(&pages[0], u64::MAX);
    state
        .commit_page("shotgun", "bench", &again, Some("cursor"), 0)
        .expect("committing a page");
    g.bench_function("ledger/unchanged", |b| {
        b.iter(|| {
            let c = state
                .commit_page("shotgun", "bench", &again, Some("cursor"), 0)
                .expect("committing a page");
            assert_eq!(c.tickets_changed, 0, "an unchanged page changed tickets");
        })
    });
    g.finish();

    let want_state = written_state.load(Ordering::Relaxed) + per_page;
    assert_eq!(count(&state_path), want_state, "ledger rows");
}

criterion_group!(benches, writes);
criterion_main!(benches);
