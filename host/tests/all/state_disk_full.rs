//! SQLite state on a full disk, for real: `boxoffice sync` runs as a child process with a file
//! size cap (`RLIMIT_FSIZE`, set in `pre_exec`, `SIGXFSZ` ignored so a write past it returns
//! `EFBIG` as on a full disk instead of killing the process). The run must fail with an error
//! naming the SQLite file and "disk full or file size limit reached"; both databases stay
//! intact (`PRAGMA integrity_check`); the committed cursor is not past what the ledger holds;
//! and once the cap is lifted the next run catches up to the simulator's truth exactly.
//!
//! A broken variant is caught: with `storage_error` returning the error unchanged (patch
//! `host/src/sqlite_file.rs`), the message is SQLite's bare `disk I/O error` and the first
//! assertion fails.

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

/// The cap of the limited run: the files the plugin cache needs already exist (the dry run
/// wrote them); the state and warehouse files and their WALs outgrow it.
const CAP_BYTES: u64 = 1 << 20;

fn sync(config: &Path, dir: &Path, cap: Option<u64>, dry_run: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    cmd.args(["sync", "--config"])
        .arg(config)
        .env("BOXOFFICE_CACHE_DIR", dir.join("cache"))
        .env("RUST_LOG", "warn");
    if dry_run {
        cmd.arg("--dry-run");
    }
    if let Some(cap) = cap {
        // SAFETY: only async-signal-safe calls (signal, setrlimit) between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let l = libc::rlimit {
                    rlim_cur: cap as libc::rlim_t,
                    rlim_max: cap as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &l) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    // Piped, not files: a pipe is not subject to the cap.
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn integrity(db: &Path) -> String {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn ledger(db: &Path) -> HashMap<String, i64> {
    let c = rusqlite::Connection::open(db).unwrap();
    let mut st = c
        .prepare("SELECT ticket_id, updated_at_ms FROM tickets WHERE vendor = 'shotgun'")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn count(db: &Path, sql: &str) -> u64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

fn cursor(db: &Path) -> Option<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row(
        "SELECT cursor FROM cursors WHERE vendor = 'shotgun' AND account = 'main'",
        [],
        |r| r.get(0),
    )
    .ok()
}

/// Every simulated ticket at or before the cursor's `after` bound is in the ledger at its
/// version; returns how many that is.
fn cursor_within_ledger(state: &Path, sim: &ShotgunSim) -> usize {
    let Some(raw) = cursor(state) else {
        return 0;
    };
    let c: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let Some(after) = c["after"].as_str() else {
        return 0;
    };
    let (ts, id) = after.rsplit_once('_').unwrap();
    let ts: jiff::Timestamp = ts.parse().unwrap();
    let bound = (ts.as_millisecond(), id.parse::<u64>().unwrap());
    let rows = ledger(state);
    let mut covered = 0;
    sim.for_each_ticket(|t| {
        if (t.updated_at_ms, t.ticket_id) <= bound {
            covered += 1;
            let got = rows.get(&t.ticket_id.to_string());
            assert_eq!(
                got,
                Some(&t.updated_at_ms),
                "the cursor {after} passed ticket {} (updated {})",
                t.ticket_id,
                t.updated_at_ms
            );
        }
    });
    covered
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_fails_naming_the_file_corrupts_nothing_and_the_next_run_catches_up() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 20_000,
        start_ms: boxoffice::clock::now_ms() - 2 * 86_400_000,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    std::fs::write(dir.path().join("sg"), sim.token()).unwrap();
    let config = dir.path().join("boxoffice.toml");
    std::fs::write(
        &config,
        format!(
            r#"
state_dir = "{state}"
max_requests_per_minute = 0
[[account]]
vendor = "shotgun"
name = "main"
settings = {{ organizer_id = "{org}", base_url = "{url}", events_base_url = "{url}" }}
secrets = {{ token = {{ file = "{tok}" }} }}
"#,
            state = state_dir.display(),
            org = sim.organizer_id(),
            url = srv.base_url(),
            tok = dir.path().join("sg").display(),
        ),
    )
    .unwrap();
    // The SQLite warehouse is in the state database (its views over the ledger's rows).
    let (state, warehouse) = (
        state_dir.join("state.sqlite"),
        state_dir.join("state.sqlite"),
    );

    // The plugin cache and the migrated databases, without the cap.
    let dry = sync(&config, dir.path(), None, true);
    assert!(dry.status.success(), "{}", text(&dry));

    let full = sync(&config, dir.path(), Some(CAP_BYTES), false);
    let out = text(&full);
    println!("capped run ({} KiB): {out}", CAP_BYTES / 1024);
    assert!(
        out.contains("disk full or file size limit reached"),
        "the error must say the disk is full: {out}"
    );
    assert!(
        out.contains(&state.display().to_string())
            || out.contains(&warehouse.display().to_string()),
        "the error must name the SQLite file: {out}"
    );
    assert!(
        out.contains("(RLIMIT_FSIZE) 1.0 MiB"),
        "the error must give the limit: {out}"
    );
    assert!(!full.status.success(), "a failed run exits non-zero");
    for db in [&state, &warehouse] {
        assert_eq!(integrity(db), "ok", "{}", db.display());
    }
    let stored = ledger(&state).len();
    let covered = cursor_within_ledger(&state, &sim);
    println!(
        "after the capped run: ledger {stored} of {} tickets, the cursor covers {covered}",
        sim.ticket_count()
    );
    assert!(
        (stored as u64) < sim.ticket_count(),
        "the cap did not bite: {stored} tickets stored"
    );

    // Space is back: the next run catches up exactly.
    sim.advance(30);
    let again = sync(&config, dir.path(), None, false);
    assert!(again.status.success(), "{}", text(&again));
    let want_valid: u64 = sim.truth().iter().map(|r| r.sold).sum();
    let valid = "SELECT coalesce(sum(status = 'valid'), 0) FROM tickets WHERE vendor = 'shotgun'";
    let rows = "SELECT count(*) FROM tickets WHERE vendor = 'shotgun'";
    assert_eq!(count(&state, rows), sim.ticket_count(), "ledger rows");
    assert_eq!(count(&state, valid), want_valid, "ledger valid");
    assert_eq!(
        count(&warehouse, rows),
        sim.ticket_count(),
        "warehouse rows"
    );
    assert_eq!(count(&warehouse, valid), want_valid, "warehouse valid");
    let versions = ledger(&state);
    sim.for_each_ticket(|t| {
        assert_eq!(
            versions.get(&t.ticket_id.to_string()),
            Some(&t.updated_at_ms),
            "ticket {} at its latest version",
            t.ticket_id
        );
    });
    for db in [&state, &warehouse] {
        assert_eq!(integrity(db), "ok", "{}", db.display());
    }
}
