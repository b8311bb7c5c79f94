//! `boxoffice demo --victoria` as a new user runs it: after the demo's first sync,
//! VictoriaMetrics (Debian's `victoria-metrics`) holds the KPIs — the backfilled history and
//! the scraped present as one series — equal to what `/metrics` serves, and the links the demo
//! prints answer with data. Prints SKIPPED without victoria-metrics (fails under
//! `BOXOFFICE_REQUIRE_SERVERS=1`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn installed() -> bool {
    match Command::new("victoria-metrics").arg("-version").output() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => panic!("running victoria-metrics: {e}"),
    }
}

/// Σ of a family's samples in an exposition (the value is the last field: label values may
/// hold spaces).
fn sum_of(exposition: &str, family: &str) -> f64 {
    exposition
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn get_json(client: &reqwest::blocking::Client, url: &str) -> serde_json::Value {
    client.get(url).send().unwrap().json().unwrap()
}

/// The single value of an instant query, if any.
fn instant(client: &reqwest::blocking::Client, vm: &str, query: &str) -> Option<f64> {
    let v = client
        .get(format!("{vm}/api/v1/query"))
        .query(&[("query", query)])
        .send()
        .ok()?
        .json::<serde_json::Value>()
        .ok()?;
    v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[test]
fn demo_victoria_holds_the_kpis_after_the_first_sync() {
    if !installed() {
        boxoffice_testkit::skip_or_fail(
            "demo_victoria_holds_the_kpis_after_the_first_sync",
            "no victoria-metrics installed",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args([
            "demo",
            "--victoria",
            "--port",
            "0",
            "--tickets",
            "2000",
            "--orders",
            "300",
            // No simulated interval passes during the test: the figures stay put.
            "--every",
            "3600",
            "--state-dir",
        ])
        .arg(dir.path().join("state"))
        .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
        .env_remove("CLICKHOUSE_HOST")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Read the demo's lines until the last link; keep reading after, so it never blocks.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Its log, kept for the failure message (why it stopped, if it did).
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stderr = child.stderr.take().unwrap();
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    while !out.iter().any(|l: &String| l.starts_with("every ")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => out.push(l),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the demo never finished starting:\n{}\n-- its log:\n{}",
                    out.join("\n"),
                    log.lock().unwrap().join("\n")
                );
            }
        }
    }
    let text = out.join("\n");
    let field = |prefix: &str| {
        out.iter()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no `{prefix}` line:\n{text}"))
            .to_string()
    };
    let vm = field("VictoriaMetrics: ");
    let metrics = field("metrics:  ");
    assert!(vm.starts_with("http://127.0.0.1:"), "{text}");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let scrape = client.get(&metrics).send().unwrap().text().unwrap();
    let sold = sum_of(&scrape, "boxoffice_tickets_sold_total");
    let revenue = sum_of(&scrape, "boxoffice_revenue_total");
    assert!(sold > 0.0 && revenue > 0.0, "{scrape}");
    // VictoriaMetrics scrapes the demo (every 10 s) and its latest values are the scrape's.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let up = instant(&client, &vm, "up{job=\"boxoffice-demo\"}");
        let got_sold = instant(&client, &vm, "sum(boxoffice_tickets_sold_total)");
        let got_revenue = instant(&client, &vm, "sum(boxoffice_revenue_total)");
        if up == Some(1.0)
            && got_sold == Some(sold)
            && got_revenue.is_some_and(|r| (r - revenue).abs() < 0.01)
        {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("VictoriaMetrics never showed the demo's figures: up {up:?}, sold {got_sold:?} (want {sold}), revenue {got_revenue:?} (want {revenue})\n{text}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // The history: hourly points from the ledger's first order, in the same series as the
    // scrape (job and instance labels of the scrape).
    let series = get_json(
        &client,
        &format!(
            "{vm}/api/v1/series?match[]=boxoffice_tickets_sold_total&start={}",
            (boxoffice::clock::now_ms() / 1000) - 90 * 86_400
        ),
    );
    let series = series["data"].as_array().unwrap();
    assert!(!series.is_empty());
    assert!(
        series
            .iter()
            .all(|s| s["job"] == "boxoffice-demo" && s["instance"].as_str().is_some()),
        "{series:?}"
    );
    // Every link the demo printed answers with data (VMUI's when the build has it, else the
    // query API's).
    let links: Vec<&str> = out
        .iter()
        .filter_map(|l| l.trim_start().split_once(": http").map(|(_, u)| u))
        .filter(|u| u.contains("g0.expr=") || u.contains("/api/v1/query"))
        .collect();
    assert!(links.len() >= 5, "{text}");
    for link in links {
        let url = format!("http{link}");
        if url.contains("/api/v1/query") {
            // History links: a day of hourly points at least. Current-value links (scraped
            // families) answer once a scrape is 30 s old (VictoriaMetrics'
            // -search.latencyOffset).
            let (key, want) = match url.contains("/api/v1/query_range") {
                true => ("values", 24),
                false => ("value", 2),
            };
            let deadline = Instant::now() + Duration::from_secs(90);
            loop {
                let v = get_json(&client, &url);
                let got = v["data"]["result"][0][key].as_array().map(Vec::len);
                if got.unwrap_or(0) >= want {
                    break;
                }
                assert!(Instant::now() < deadline, "{url}: {v}");
                std::thread::sleep(Duration::from_secs(2));
            }
        } else {
            assert!(
                client.get(&url).send().unwrap().status().is_success(),
                "{url}"
            );
        }
    }
    // Ctrl-C stops the demo and its VictoriaMetrics.
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let gone = client.get(format!("{vm}/health")).send().is_err();
    assert!(gone, "VictoriaMetrics still answers after the demo stopped");
}
