//! Privacy: after a full sync with changes, no canary personal data, scan code or secret is
//! found in the SQLite files (raw bytes, WAL included), the debug-level logs, or /metrics.

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

#[tokio::test]
async fn no_canary_reaches_storage_logs_or_metrics() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    const TOKEN: &str = "CANARY-SECRET-TOKEN-1234";
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
    assert!(sync_account(&p.deps, &account, &o).await.unwrap().ok());
    sim.advance(60);
    assert!(sync_account(&p.deps, &account, &o).await.unwrap().ok());

    let mut scan_codes = std::collections::HashSet::new();
    let mut user_ids = Vec::new();
    sim.for_each_ticket(|t| {
        scan_codes.insert(ShotgunSim::scan_code(t.ticket_id));
        user_ids.push(t.user_id.to_string());
    });
    let metrics = p.metrics.encode().unwrap();
    let log_bytes = logs.0.lock().unwrap().clone();
    assert!(!log_bytes.is_empty(), "the sweep must see debug logs");
    assert!(find(&log_bytes, "sync finished"));

    let mut haystacks: Vec<(String, Vec<u8>)> = p
        .files()
        .into_iter()
        .map(|f| (f.display().to_string(), std::fs::read(&f).unwrap()))
        .collect();
    assert!(
        haystacks.len() >= 2,
        "state and warehouse files: {haystacks:?}"
    );
    haystacks.push(("logs".into(), log_bytes));
    haystacks.push(("metrics".into(), metrics.into_bytes()));
    for (name, bytes) in &haystacks {
        for c in canary::ALL {
            assert!(!find(bytes, c), "canary {c:?} found in {name}");
        }
        assert!(
            !find(bytes, "@example.invalid"),
            "an e-mail found in {name}"
        );
        assert!(!find(bytes, TOKEN), "the token found in {name}");
        for run in digit_runs(bytes, 14) {
            assert!(
                !scan_codes.contains(&run),
                "scan code {run} found in {name}"
            );
        }
        for postal in ["69007", "13001", "75011", "Bruxelles"] {
            assert!(
                !find(bytes, postal),
                "fine location {postal} found in {name}"
            );
        }
    }
    // Buyers are stored as pseudonyms: no raw user id appears as a buyer value.
    let wh = rusqlite::Connection::open(p.dir.path().join("state.sqlite")).unwrap();
    let buyers: Vec<String> = wh
        .prepare("SELECT DISTINCT buyer FROM tickets LIMIT 200")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!buyers.is_empty());
    for b in &buyers {
        assert_eq!(b.len(), 24, "{b}");
        assert!(!user_ids.contains(b));
    }
}
