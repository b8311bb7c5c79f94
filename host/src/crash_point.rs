//! Crash points: named places in a sync where a SIGKILL tests something distinct, for the
//! kill -9 harness (`host/tests/all/crash_kill.rs`, `scripts/kill-harness`).
//!
//! `BOXOFFICE_CRASH_POINT=<phase>[:<n>]` makes the process, on its n-th arrival (default the
//! first) at `<phase>`, print `boxoffice crash point reached: <phase>` to stderr and stop
//! there (the calling thread sleeps) until it is killed. Phases: `fetch` (a request about to be
//! sent), `transform` (a response about to be handed to the plugin), `acked` (the warehouse
//! acknowledged a batch, the ledger has not committed it; with the SQLite warehouse, which has
//! no transaction of its own since it lives in the state database, the batch is not stored
//! yet), `ledger` (the ledger and cursor transaction written, not
//! committed), `migration` (a SQLite migration applied, not committed). Unset, a point costs
//! one look at a cached `None`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// A place in a sync a crash point can name (the module doc says what each one is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPhase {
    Fetch,
    Transform,
    Acked,
    Ledger,
    Migration,
}

impl CrashPhase {
    pub const ALL: [Self; 5] = [
        Self::Fetch,
        Self::Transform,
        Self::Acked,
        Self::Ledger,
        Self::Migration,
    ];

    /// Its name in `BOXOFFICE_CRASH_POINT` and in the line printed when it is reached.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fetch => "fetch",
            Self::Transform => "transform",
            Self::Acked => "acked",
            Self::Ledger => "ledger",
            Self::Migration => "migration",
        }
    }
}

/// The line printed to stderr when a point is reached (the harness waits for it).
pub const REACHED: &str = "boxoffice crash point reached: ";

struct Armed {
    phase: CrashPhase,
    nth: u64,
    seen: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let v = std::env::var("BOXOFFICE_CRASH_POINT").ok()?;
            let (name, nth) = match v.split_once(':') {
                Some((p, n)) => match n.trim().parse::<u64>().ok().filter(|n| *n > 0) {
                    Some(n) => (p, n),
                    None => {
                        eprintln!("BOXOFFICE_CRASH_POINT: `{n}` is not a count from 1; ignored");
                        return None;
                    }
                },
                None => (v.as_str(), 1),
            };
            let Some(phase) = CrashPhase::ALL.into_iter().find(|p| p.name() == name) else {
                let names: Vec<&str> = CrashPhase::ALL.iter().map(|p| p.name()).collect();
                eprintln!(
                    "BOXOFFICE_CRASH_POINT: unknown phase `{name}` (one of {}); ignored",
                    names.join(", ")
                );
                return None;
            };
            Some(Armed {
                phase,
                nth,
                seen: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// Marks `phase`: stops here for good when the environment armed this arrival.
pub fn reached(phase: CrashPhase) {
    let Some(a) = armed() else {
        return;
    };
    if a.phase != phase || a.seen.fetch_add(1, Ordering::SeqCst) + 1 != a.nth {
        return;
    }
    eprintln!("{REACHED}{}", phase.name());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
