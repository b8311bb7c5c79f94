//! Privacy: after a full sync with changes, no canary personal data, scan code or secret is
//! found in the SQLite files (raw bytes, WAL included), the debug-level logs, or /metrics.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::common;

use boxoffice::sync::{sync_account, RunOptions};
use boxoffice_sim::canary;
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use common::{shotgun_account, Captured, Pipeline};

/// Every window of `n` consecutive ASCII digits (a scan code may sit inside a longer run).
fn digit_runs(hay: &[u8], n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in hay.iter().chain(std::iter::once(&b' ')).enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                for w in hay[s..i].windows(n) {
                    out.push(String::from_utf8_lossy(w).into_owned());
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn find(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

const TOKEN: &str = "CANARY-SECRET-TOKEN-1234";

/// Two syncs of a Shotgun account with changes between them, debug logs captured. Built once
/// (`common::scenario`), checked by the tests of [`no_canary_reaches_storage_logs_or_metrics`].
struct Sweep {
    /// Each sync's `ok()`.
    syncs_ok: Vec<bool>,
    /// How many state and warehouse files the pipeline wrote.
    files: usize,
    /// The captured debug logs.
    logs: Vec<u8>,
    /// Every place swept: (name, bytes): the files, then "logs" and "metrics".
    haystacks: Vec<(String, Vec<u8>)>,
    /// The simulation's scan codes and raw user ids.
    scan_codes: HashSet<String>,
    user_ids: Vec<String>,
    /// Up to 200 distinct buyer values of the stored tickets.
    buyers: Vec<String>,
}

fn sweep() -> &'static Sweep {
    static BUILT: OnceLock<Result<Sweep, String>> = OnceLock::new();
    common::scenario(&BUILT, false, || async {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let sim = ShotgunSim::new(ShotgunConfig {
            tickets: 2_000,
            token: TOKEN.into(),
            ..Default::default()
        });
        let srv = sim.spawn().await.unwrap();
        let p = Pipeline::new();
        let account = shotgun_account(&sim, &srv, TOKEN).await;
        let o = RunOptions {
            now_ms: Some(sim.now_ms()),
            ..Default::default()
        };
        let mut syncs_ok = vec![sync_account(&p.deps, &account, &o).await.unwrap().ok()];
        sim.advance(60);
        syncs_ok.push(sync_account(&p.deps, &account, &o).await.unwrap().ok());

        let mut scan_codes = HashSet::new();
        let mut user_ids = Vec::new();
        sim.for_each_ticket(|t| {
            scan_codes.insert(ShotgunSim::scan_code(t.ticket_id));
            user_ids.push(t.user_id.to_string());
        });
        let metrics = p.metrics.encode().unwrap();
        let log_bytes = logs.0.lock().unwrap().clone();

        let mut haystacks: Vec<(String, Vec<u8>)> = p
            .files()
            .into_iter()
            .map(|f| (f.display().to_string(), std::fs::read(&f).unwrap()))
            .collect();
        let files = haystacks.len();
        haystacks.push(("logs".into(), log_bytes.clone()));
        haystacks.push(("metrics".into(), metrics.into_bytes()));
        let wh = rusqlite::Connection::open(p.dir.path().join("state.sqlite")).unwrap();
        let buyers: Vec<String> = wh
            .prepare("SELECT DISTINCT buyer FROM tickets LIMIT 200")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        Sweep {
            syncs_ok,
            files,
            logs: log_bytes,
            haystacks,
            scan_codes,
            user_ids,
            buyers,
        }
    })
}

mod no_canary_reaches_storage_logs_or_metrics {
    use super::*;

    #[test]
    fn both_syncs_succeed() {
        let s = sweep();
        assert!(s.syncs_ok[0]);
        assert!(s.syncs_ok[1]);
    }

    #[test]
    fn the_sweep_sees_debug_logs() {
        let s = sweep();
        assert!(!s.logs.is_empty(), "the sweep must see debug logs");
        assert!(find(&s.logs, "sync finished"));
    }

    #[test]
    fn the_sweep_reads_the_state_and_warehouse_files() {
        let s = sweep();
        let files = &s.haystacks[..s.files];
        assert!(s.files >= 2, "state and warehouse files: {files:?}");
    }

    #[test]
    fn no_canary_personal_data() {
        for (name, bytes) in &sweep().haystacks {
            for c in canary::ALL {
                assert!(!find(bytes, c), "canary {c:?} found in {name}");
            }
        }
    }

    #[test]
    fn no_email() {
        for (name, bytes) in &sweep().haystacks {
            assert!(
                !find(bytes, "@example.invalid"),
                "an e-mail found in {name}"
            );
        }
    }

    #[test]
    fn no_token() {
        for (name, bytes) in &sweep().haystacks {
            assert!(!find(bytes, TOKEN), "the token found in {name}");
        }
    }

    #[test]
    fn no_scan_code() {
        let s = sweep();
        for (name, bytes) in &s.haystacks {
            for run in digit_runs(bytes, 14) {
                assert!(
                    !s.scan_codes.contains(&run),
                    "scan code {run} found in {name}"
                );
            }
        }
    }

    #[test]
    fn no_fine_location() {
        for (name, bytes) in &sweep().haystacks {
            for postal in ["69007", "13001", "75011", "Bruxelles"] {
                assert!(
                    !find(bytes, postal),
                    "fine location {postal} found in {name}"
                );
            }
        }
    }

    /// Buyers are stored as pseudonyms: no raw user id appears as a buyer value.
    #[test]
    fn buyers_are_pseudonyms_not_raw_user_ids() {
        let s = sweep();
        assert!(!s.buyers.is_empty());
        for b in &s.buyers {
            assert_eq!(b.len(), 24, "{b}");
            assert!(!s.user_ids.contains(b));
        }
    }
}
