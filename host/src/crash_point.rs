//! Crash points: named places in a sync where a SIGKILL tests something distinct, for the
//! kill -9 harness (`host/tests/crash_kill.rs`, `scripts/kill-harness`).
//!
//! `BOXOFFICE_CRASH_POINT=<phase>[:<n>]` makes the process, on its n-th arrival (default the
//! first) at `<phase>`, print `boxoffice crash point reached: <phase>` to stderr and stop
//! there (the calling thread sleeps) until it is killed. Phases: `fetch` (a request about to be
//! sent), `transform` (a response about to be handed to the plugin), `warehouse` (a SQLite
//! warehouse transaction written, not committed), `acked` (the warehouse acknowledged a batch,
//! the ledger has not committed it), `ledger` (the ledger and cursor transaction written, not
//! committed), `migration` (a SQLite migration applied, not committed). Unset, a point costs
//! one look at a cached `None`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The phases a crash point can name.
pub const PHASES: &[&str] = &[
    "fetch",
    "transform",
    "warehouse",
    "acked",
    "ledger",
    "migration",
];

/// The line printed to stderr when a point is reached (the harness waits for it).
pub const REACHED: &str = "boxoffice crash point reached: ";

struct Armed {
    phase: String,
    nth: u64,
    seen: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let v = std::env::var("BOXOFFICE_CRASH_POINT").ok()?;
            let (phase, nth) = match v.split_once(':') {
                Some((p, n)) => (p, n.trim().parse::<u64>().ok().filter(|n| *n > 0)?),
                None => (v.as_str(), 1),
            };
            if !PHASES.contains(&phase) {
                eprintln!(
                    "BOXOFFICE_CRASH_POINT: unknown phase `{phase}` (one of {}); ignored",
                    PHASES.join(", ")
                );
                return None;
            }
            Some(Armed {
                phase: phase.to_string(),
                nth,
                seen: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Marks `phase`: stops here for good when the environment armed this arrival.
pub fn reached(phase: &'static str) {
    let Some(a) = armed() else {
        return;
    };
    if a.phase != phase || a.seen.fetch_add(1, Ordering::SeqCst) + 1 != a.nth {
        return;
    }
    eprintln!("{REACHED}{phase}");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
