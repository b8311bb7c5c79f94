//! The binary as users run it: `demo`, and `sync` configured with the old exporter's names.

use std::process::Command;

use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_boxoffice"))
}

#[test]
fn demo_once_syncs_and_matches_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "demo",
            "--once",
            "--port",
            "0",
            "--tickets",
            "3000",
            "--orders",
            "400",
            "--state-dir",
        ])
        .arg(dir.path())
        .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("synced shotgun/demo: ok"), "{stdout}");
    assert!(stdout.contains("synced qtickets/demo: ok"), "{stdout}");
    assert!(stdout.contains("/metrics"), "{stdout}");
    let rows = stdout.lines().filter(|l| l.ends_with("  ok")).count();
    assert!(rows >= 5, "{stdout}");
    assert!(!stdout.contains("DIFFERS"), "{stdout}");
    assert!(dir.path().join("state.sqlite").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_reads_the_old_exporter_variables_and_dry_run_writes_nothing() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 600,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let envfile = dir.path().join("boxoffice.env");
    std::fs::write(
        &envfile,
        format!(
            "# the old exporter's names\nSHOTGUN_API_KEY={}\nSHOTGUN_ORGANIZER_ID={}\nINCLUDE_COHOSTED_EVENTS=true\n",
            sim.token(),
            sim.organizer_id()
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let mut c = bin();
        c.arg("sync")
            .args(extra)
            .arg("--envfile")
            .arg(&envfile)
            .env("BOXOFFICE_STATE_DIR", dir.path().join("state"))
            .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
            .env("SHOTGUN_BASE_URL", srv.base_url())
            .env("SHOTGUN_EVENTS_BASE_URL", srv.base_url())
            .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0");
        c
    };
    let dry = tokio::task::spawn_blocking({
        let mut c = run(&["--dry-run"]);
        move || c.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert!(
        dry.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    assert!(stdout.contains("shotgun/default: ok"), "{stdout}");
    let state = rusqlite::Connection::open(dir.path().join("state/state.sqlite")).unwrap();
    let count = |sql: &str| -> i64 { state.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM tickets"),
        0,
        "dry run wrote tickets"
    );
    assert_eq!(
        count("SELECT count(*) FROM cursors"),
        0,
        "dry run moved a cursor"
    );

    let real = tokio::task::spawn_blocking({
        let mut c = run(&[]);
        move || c.output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        real.status.success(),
        "{}",
        String::from_utf8_lossy(&real.stderr)
    );
    assert_eq!(
        count("SELECT count(*) FROM tickets") as u64,
        sim.ticket_count()
    );
    assert_eq!(count("SELECT count(*) FROM cursors"), 1);
}

#[test]
fn bad_config_exits_non_zero_with_a_one_line_message() {
    let out = bin()
        .arg("sync")
        .env("SHOTGUN_TOKEN", "CANARY-TOKEN-VALUE")
        .env_remove("SHOTGUN_ORGANIZER_ID")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().last().unwrap_or("");
    assert!(
        line.starts_with("error: SHOTGUN_ORGANIZER_ID: missing"),
        "{stderr}"
    );
    assert!(!stderr.contains("CANARY-TOKEN-VALUE"));
}

#[tokio::test(flavor = "multi_thread")]
async fn qtickets_with_the_old_loader_names_check_dry_run_and_backfill() {
    let sim = QticketsSim::new(QticketsConfig {
        orders: 300,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let envfile = dir.path().join("loader.env");
    let base = format!("{}/api/rest/v1", srv.base_url());
    std::fs::write(
        &envfile,
        format!(
            "# the old loader's names\nQTICKETS_API_TOKEN={}\nQTICKETS_API_BASE_URL={base}\nORG_NAME=acme\nTZ=Europe/Moscow\n",
            sim.token()
        ),
    )
    .unwrap();
    let run = move |args: Vec<String>, token: Option<&str>| {
        let mut c = bin();
        c.args(&args)
            .arg("--envfile")
            .arg(&envfile)
            .env("BOXOFFICE_STATE_DIR", dir.path().join("state"))
            .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
            .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0");
        if let Some(t) = token {
            c.env("QTICKETS_TOKEN", t);
        }
        (c, dir.path().join("state/state.sqlite"))
    };
    let exec = |args: &[&str], token: Option<&'static str>| {
        let (mut c, db) = run(args.iter().map(|a| a.to_string()).collect(), token);
        async move {
            let out = tokio::task::spawn_blocking(move || c.output().unwrap())
                .await
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
                db,
            )
        }
    };

    let (ok, out, _) = exec(&["check"], None).await;
    assert!(ok, "{out}");
    assert!(out.contains("ok   qtickets/acme: HTTP 200"), "{out}");

    let (ok, out, _) = exec(&["check"], Some("CANARY-WRONG-TOKEN")).await;
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL qtickets/acme"), "{out}");
    assert!(
        !out.contains("CANARY-WRONG-TOKEN"),
        "the token leaked: {out}"
    );

    let (ok, out, db) = exec(
        &["sync", "--vendor", "qtickets", "--dry-run", "--verbose"],
        None,
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("qtickets/acme: ok") && out.contains("nothing written"),
        "{out}"
    );
    let count = |sql: &str| -> i64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(
        count("SELECT count(*) FROM tickets"),
        0,
        "dry run wrote tickets"
    );

    let (ok, out, _) = exec(
        &[
            "sync",
            "--vendor",
            "qtickets",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-01",
        ],
        None,
    )
    .await;
    assert!(ok, "{out}");
    assert_eq!(
        count("SELECT count(*) FROM tickets") as u64,
        sim.basket_count(),
        "the backfill window covers every order"
    );
    assert_eq!(
        count("SELECT count(*) FROM cursors"),
        0,
        "a backfill moved the cursor"
    );

    let (ok, out, _) = exec(&["sync", "--from", "2026-13-01"], None).await;
    assert!(!ok && out.contains("2026-13-01"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_interrupted_with_ctrl_c_and_restarted_completes_exactly() {
    use std::io::BufRead;
    // Big enough that the run is still going when the signal lands (the pipelined writer
    // stores 40k orders in well under a second).
    let sim = QticketsSim::new(QticketsConfig {
        orders: 200_000,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{}/api/rest/v1", srv.base_url());
    let (token, state_dir) = (sim.token(), dir.path().to_path_buf());
    let cmd = move || {
        let mut c = bin();
        c.args(["sync", "--from", "2026-01-01", "--to", "2026-03-01"])
            .env("QTICKETS_TOKEN", &token)
            .env("QTICKETS_BASE_URL", &base)
            .env("BOXOFFICE_STATE_DIR", state_dir.join("state"))
            .env("BOXOFFICE_CACHE_DIR", state_dir.join("cache"))
            .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    };
    let mut child = cmd().spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let pid = child.id();
    let interrupted = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stderr).lines();
        // The first progress line: the backfill is under way. Without one the run ended
        // before any signal could land, and the test says so instead of passing by chance.
        let mut seen = Vec::new();
        let started = lines.by_ref().any(|line| {
            let line = line.unwrap();
            let progress = line.contains(" pages, ");
            seen.push(line);
            progress
        });
        assert!(
            started,
            "no progress line before the run ended:\n{}",
            seen.join("\n")
        );
        std::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        (child.wait_with_output().unwrap(), rest.join("\n"))
    })
    .await
    .unwrap();
    let (out, err) = interrupted;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "an interrupted backfill must exit non-zero:\n{stdout}\n{err}"
    );
    assert!(stdout.contains("interrupted"), "{stdout}\n{err}");

    let db = dir.path().join("state/state.sqlite");
    let count = || -> u64 {
        rusqlite::Connection::open(&db)
            .unwrap()
            .query_row("SELECT count(*) FROM tickets", [], |r| r.get::<_, i64>(0))
            .unwrap() as u64
    };
    let partial = count();
    assert!(
        partial > 0 && partial < sim.basket_count(),
        "stopped part-way: {partial} of {}",
        sim.basket_count()
    );

    let again = tokio::task::spawn_blocking(move || cmd().output().unwrap())
        .await
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(count(), sim.basket_count());
    let sold: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM tickets WHERE status = 'valid'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let want: u64 = sim.truth().iter().map(|r| r.tickets).sum();
    assert_eq!(sold as u64, want);
}

/// (arguments, environment, what the error line must name)
type BadConfigCase<'a> = (Vec<String>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn every_bad_config_exits_non_zero_naming_the_key_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = dir.path().join("unknown.toml");
    std::fs::write(
        &unknown,
        "[[account]]\nvendor = \"ticketmaster\"\nname = \"x\"\n",
    )
    .unwrap();
    let cases: Vec<BadConfigCase> = vec![
        (
            vec!["sync".into()],
            vec![("QTICKETS_BASE_URL", "https://qtickets.ru/api/rest/v1")],
            "QTICKETS_TOKEN",
        ),
        (
            vec!["sync".into()],
            vec![
                ("SHOTGUN_TOKEN", "CANARY-TOKEN-VALUE"),
                ("SHOTGUN_ORGANIZER_ID", "1"),
                ("EXPORTER_PORT", "99999"),
            ],
            "EXPORTER_PORT",
        ),
        (
            vec![
                "sync".into(),
                "--envfile".into(),
                dir.path().join("missing.env").display().to_string(),
            ],
            vec![],
            "missing.env",
        ),
        (
            vec![
                "sync".into(),
                "--config".into(),
                unknown.display().to_string(),
            ],
            vec![("BOXOFFICE_STATE_DIR", dir.path().to_str().unwrap())],
            "unknown vendor `ticketmaster`",
        ),
        (
            vec!["sync".into()],
            vec![
                ("CLICKHOUSE_HOST", "localhost"),
                ("CLICKHOUSE_PORT", "9000"),
                ("SHOTGUN_TOKEN", "CANARY-TOKEN-VALUE"),
                ("SHOTGUN_ORGANIZER_ID", "1"),
            ],
            "CLICKHOUSE_PORT",
        ),
    ];
    for (args, env, needle) in cases {
        let mut c = bin();
        c.args(&args)
            .env_remove("SHOTGUN_TOKEN")
            .env_remove("QTICKETS_TOKEN")
            .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"));
        for (k, v) in &env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} {env:?} should fail");
        let last = stderr.lines().last().unwrap_or("");
        assert!(
            last.starts_with("error: ") && last.contains(needle),
            "{args:?} {env:?}: {stderr}"
        );
        assert!(!stderr.contains("CANARY-TOKEN-VALUE"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_never_reaches_trace_logs_or_errors() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 200,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = srv.base_url();
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .args(["-vv", "sync"])
            .env("SHOTGUN_TOKEN", "CANARY-TRACE-TOKEN-42")
            .env("SHOTGUN_ORGANIZER_ID", "100001")
            .env("SHOTGUN_BASE_URL", &base)
            .env("SHOTGUN_EVENTS_BASE_URL", &base)
            .env("BOXOFFICE_STATE_DIR", dir.path().join("state"))
            .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
            .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0")
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a refused token fails the run");
    assert!(all.contains("refused the credentials"), "{all}");
    assert!(
        all.contains("TRACE") || all.contains("DEBUG"),
        "trace logging was on"
    );
    assert!(!all.contains("CANARY-TRACE-TOKEN-42"), "the token leaked");
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_in_plugins_load_and_a_broken_one_is_refused_without_stopping_the_rest() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 300,
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("broken.wasm"), b"\0asm not really a component").unwrap();
    std::fs::copy(
        boxoffice::plugin::bundled::test_plugin_path("shotgun"),
        plugins.join("shotgun-v2.wasm"),
    )
    .unwrap();
    let (token, org, base) = (sim.token(), sim.organizer_id().to_string(), srv.base_url());
    let out = tokio::task::spawn_blocking(move || {
        bin()
            .arg("sync")
            .env("BOXOFFICE_PLUGIN_DIR", &plugins)
            .env("SHOTGUN_TOKEN", token)
            .env("SHOTGUN_ORGANIZER_ID", org)
            .env("SHOTGUN_BASE_URL", &base)
            .env("SHOTGUN_EVENTS_BASE_URL", &base)
            .env("BOXOFFICE_STATE_DIR", dir.path().join("state"))
            .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
            .env("BOXOFFICE_MAX_REQUESTS_PER_MINUTE", "0")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("broken.wasm refused"), "{stderr}");
    // A drop-in cannot take a bundled connector's id (and its token) unless the config names
    // it for that id (issue 13): refused, naming both; the bundled connector syncs.
    assert!(
        stderr.contains(
            "shotgun-v2.wasm declares id `shotgun`, which the bundled `shotgun` connector already has: refused"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("shotgun/default: ok"), "{stdout}");
}

/// A spreadsheet's export: BOM, CRLF, a quoted city with a comma and doubled quotes, a quoted
/// city across two lines. The rows land in the SQLite warehouse; a later file with a bad record
/// after a multi-line one names the record's line and column and changes nothing.
#[test]
fn plan_import_reads_a_spreadsheet_csv_and_a_bad_record_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let import = |name: &str, text: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let out = bin()
            .args(["plan", "import"])
            .arg(&file)
            .env_clear()
            .env("BOXOFFICE_STATE_DIR", dir.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let plans = || -> Vec<(String, String, i64, f64)> {
        let db = rusqlite::Connection::open(dir.path().join("state.sqlite")).unwrap();
        let mut st = db
            .prepare("SELECT city, sales_date, plan_tickets, plan_revenue FROM plan_sales ORDER BY sales_date")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let good = "\u{feff}sales_date,event_id,city,plan_tickets,plan_revenue\r\n\
                2026-03-01,90001,\"Club \"\"Moon\"\", Paris\",120,150000.50\r\n\
                2026-03-02,90001,\"Saint-\r\nPetersburg\",80,99.5\r\n\
                2026-03-03,90001,Lyon,0,0\r\n";
    let (ok, stdout, stderr) = import("plan.csv", good);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("3 plan row(s)"), "{stdout}");
    let before = plans();
    assert_eq!(
        before,
        vec![
            (
                "club \"moon\", paris".to_string(),
                "2026-03-01".to_string(),
                120,
                150000.5
            ),
            (
                "saint- petersburg".to_string(),
                "2026-03-02".to_string(),
                80,
                99.5
            ),
            ("lyon".to_string(), "2026-03-03".to_string(), 0, 0.0),
        ]
    );
    // Line 1 header, 2 ok, 3–4 one record, 5 bad: nothing of it is written.
    let bad = "sales_date,event_id,city,plan_tickets,plan_revenue\r\n\
               2026-03-01,90001,\"Club \"\"Moon\"\", Paris\",999,1\r\n\
               2026-03-02,90001,\"Saint-\r\nPetersburg\",999,1\r\n\
               2026-03-03,90001,Lyon,1,1.555\r\n";
    let (ok, _, stderr) = import("bad.csv", bad);
    assert!(!ok);
    assert!(
        stderr.contains("bad.csv: line 5, column `plan_revenue`: `1.555` is not an amount")
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert_eq!(plans(), before);
}
