//! The Grafana dashboards under `deploy/grafana/` against a real scrape: every metric a query
//! or variable names exists on `/metrics` after syncing both simulators, and every label a
//! query selects on, groups by or joins on is carried by one of the metrics it reads.
//! (No Grafana package exists here, so the dashboards are checked as data.)

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};
use common::{qtickets_account, shotgun_account, sync_ok, Pipeline};

/// Sample name → label names seen on it; `None` for a declared family with no sample yet
/// (e.g. no record was rejected), whose labels cannot be checked.
type Exposition = BTreeMap<String, Option<BTreeSet<String>>>;

fn parse_exposition(text: &str) -> Exposition {
    let mut out = Exposition::new();
    for line in text.lines() {
        if let Some(decl) = line.strip_prefix("# TYPE ") {
            let mut it = decl.split_whitespace();
            let (name, kind) = (it.next().unwrap(), it.next().unwrap());
            // OpenMetrics counters are declared without the `_total` their samples carry.
            let sample = match kind {
                "counter" => format!("{name}_total"),
                _ => name.to_string(),
            };
            out.entry(sample).or_insert(None);
        }
    }
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = out
            .entry(line[..name_end].to_string())
            .or_default()
            .get_or_insert_with(BTreeSet::new);
        if let Some(rest) = line[name_end..].strip_prefix('{') {
            let body = &rest[..rest.rfind('}').unwrap_or(rest.len())];
            for (k, _) in split_matchers(body) {
                labels.insert(k);
            }
        }
    }
    out
}

/// `a="x",b=~"y"` → [(a, …), (b, …)], quotes respected.
fn split_matchers(body: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let op = rest.find(['=', '!']).expect("matcher without operator");
        let name = rest[..op].trim().to_string();
        let q = rest[op..].find('"').expect("matcher without value") + op;
        let close = q + 1 + rest[q + 1..].find('"').expect("unterminated value");
        out.push((name, rest[q + 1..close].to_string()));
        rest = rest[close + 1..].trim_start_matches([',', ' ']);
    }
    out
}

fn dashboards() -> Vec<(PathBuf, serde_json::Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty(), "no dashboards in {}", dir.display());
    out
}

/// Every PromQL expression of a dashboard: panel targets and query variables.
fn expressions(d: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut panels: Vec<&serde_json::Value> = d["panels"].as_array().unwrap().iter().collect();
    while let Some(p) = panels.pop() {
        if let Some(inner) = p["panels"].as_array() {
            panels.extend(inner);
        }
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push(t["expr"].as_str().expect("target without expr").to_string());
        }
    }
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        if v["type"] == "query" {
            out.push(v["query"]["query"].as_str().unwrap().to_string());
        }
    }
    out
}

/// Metric names a query reads (ours all start with `boxoffice_` or `shotgun_`).
fn metric_names(expr: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        if at_word && (expr[i..].starts_with("boxoffice_") || expr[i..].starts_with("shotgun_")) {
            let end = expr[i..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(expr.len(), |n| i + n);
            let selector = expr[end..]
                .starts_with('{')
                .then(|| expr[end + 1..end + expr[end..].find('}').unwrap()].to_string());
            out.push((expr[i..end].to_string(), selector));
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Label lists of `by (…)`, `on (…)`, `group_left (…)`, and `label_values(m, label)`.
fn grouping_labels(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for kw in [
        "by",
        "on",
        "group_left",
        "group_right",
        "without",
        "ignoring",
    ] {
        let mut from = 0;
        while let Some(n) = expr[from..].find(kw) {
            let at = from + n;
            from = at + kw.len();
            let before_ok = at == 0 || !expr.as_bytes()[at - 1].is_ascii_alphanumeric();
            let rest = expr[from..].trim_start();
            if before_ok && rest.starts_with('(') {
                let close = rest.find(')').unwrap();
                out.extend(
                    rest[1..close]
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                );
            }
        }
    }
    if let Some(args) = expr.strip_prefix("label_values(") {
        if let Some((_, label)) = args.trim_end_matches(')').rsplit_once(',') {
            out.push(label.trim().to_string());
        }
    }
    out
}

async fn scrape_after_syncing_both_vendors() -> Exposition {
    parse_exposition(&scrape_text_after_syncing_both_vendors().await)
}

async fn scrape_text_after_syncing_both_vendors() -> String {
    let p = Pipeline::new();
    let sg = ShotgunSim::new(ShotgunConfig {
        tickets: 1_500,
        changes_per_minute: 6.0,
        ..Default::default()
    });
    let sg_srv = sg.spawn().await.unwrap();
    let account = shotgun_account(&sg, &sg_srv, &sg.token()).await;
    sync_ok(&p.deps, &account, sg.now_ms()).await;
    sg.advance(60);
    sync_ok(&p.deps, &account, sg.now_ms()).await;

    let qt = QticketsSim::new(QticketsConfig {
        orders: 800,
        ..Default::default()
    });
    let qt_srv = qt.spawn().await.unwrap();
    let account = qtickets_account(&qt_srv, &qt.token(), &[]).await;
    sync_ok(&p.deps, &account, qt.now_ms()).await;
    p.metrics.encode().unwrap()
}

/// The scrape with an explicit timestamp on every sample, as VictoriaMetrics imports it.
fn stamped(scrape: &str, at_ms: i64) -> String {
    let mut out = String::new();
    for line in scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        out.push_str(&format!("{line} {at_ms}\n"));
    }
    out
}

/// Grafana's variables, as "All" selects them.
fn with_all_selected(expr: &str) -> String {
    ["$vendor", "$account", "$event"]
        .iter()
        .fold(expr.to_string(), |e, v| e.replace(v, ".*"))
}

#[tokio::test]
async fn every_panel_query_answers_data_on_a_real_tsdb() {
    let Some(vm) = boxoffice_testkit::victoria::start_or_skip("grafana panels", &[]) else {
        return;
    };
    let scrape = scrape_text_after_syncing_both_vendors().await;
    // Half an hour back: VictoriaMetrics hides the last 30 s from queries (search.latencyOffset).
    // Whole seconds: the query time below is in seconds and must not fall before the sample.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        * 1000
        - 1_800_000;
    let http = reqwest::Client::new();
    // Two scrapes ten minutes apart, so rate() and increase() have two points.
    for at in [now_ms - 600_000, now_ms] {
        let r = http
            .post(format!("{}/api/v1/import/prometheus", vm.url()))
            .body(stamped(&scrape, at))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }
    vm.flush().unwrap();
    let mut asked = 0;
    for (path, d) in dashboards() {
        for p in d["panels"].as_array().unwrap() {
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = with_all_selected(t["expr"].as_str().unwrap());
                let body: serde_json::Value = http
                    .get(format!("{}/api/v1/query", vm.url()))
                    .query(&[
                        ("query", expr.as_str()),
                        ("time", &(now_ms / 1000).to_string()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(
                    body["status"],
                    "success",
                    "{}: `{expr}`: {body}",
                    path.display()
                );
                let result = body["data"]["result"].as_array().unwrap();
                assert!(
                    !result.is_empty(),
                    "{}: panel {:?}: `{expr}` answers no data",
                    path.display(),
                    p["title"]
                );
                asked += 1;
            }
        }
    }
    assert!(asked >= 20, "{asked}");
}

#[tokio::test]
async fn every_dashboard_query_reads_metrics_and_labels_that_exist() {
    let scrape = scrape_after_syncing_both_vendors().await;
    assert!(
        scrape.contains_key("boxoffice_tickets_sold_total"),
        "{scrape:?}"
    );
    let mut uids = BTreeSet::new();
    let mut checked = 0;
    let mut unsampled = BTreeSet::new();
    for (path, d) in dashboards() {
        let file = path.display().to_string();
        assert!(d["title"].is_string(), "{file}: no title");
        assert!(
            uids.insert(d["uid"].as_str().unwrap().to_string()),
            "{file}: duplicate uid"
        );
        for p in d["panels"].as_array().unwrap() {
            assert!(p["gridPos"]["w"].as_u64().is_some(), "{file}: {p}");
        }
        for expr in expressions(&d) {
            let names = metric_names(&expr);
            assert!(
                !names.is_empty(),
                "{file}: `{expr}` reads no metric of ours"
            );
            let mut carried = BTreeSet::new();
            for (name, selector) in &names {
                let declared = scrape.get(name).unwrap_or_else(|| {
                    panic!("{file}: `{expr}` reads {name}, which /metrics does not serve")
                });
                let Some(labels) = declared else {
                    unsampled.insert(name.clone());
                    continue;
                };
                carried.extend(labels.iter().cloned());
                for (label, _) in split_matchers(selector.as_deref().unwrap_or("")) {
                    assert!(
                        labels.contains(&label),
                        "{file}: `{expr}` selects {name} on `{label}`, which it does not carry ({labels:?})"
                    );
                }
            }
            for label in grouping_labels(&expr) {
                if names.iter().any(|(n, _)| unsampled.contains(n)) {
                    break;
                }
                assert!(
                    carried.contains(&label),
                    "{file}: `{expr}` groups or joins on `{label}`, carried by none of its metrics"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} queries found");
    // Problem counters are served at 0 from the first run on, so every family has samples here.
    assert!(
        unsampled.is_empty(),
        "families without samples: {unsampled:?}"
    );
}

#[test]
fn the_checker_catches_unknown_metrics_and_labels() {
    // The parser must see what a wrong dashboard would get wrong, or the test above proves nothing.
    let names = metric_names(r#"sum by (city) (boxoffice_nope_total{vendor=~"$vendor"}) / x"#);
    assert_eq!(
        names,
        vec![(
            "boxoffice_nope_total".to_string(),
            Some(r#"vendor=~"$vendor""#.to_string())
        )]
    );
    assert_eq!(
        grouping_labels("sum by (city, vendor) (a * on (event_id) group_left (name) b)"),
        vec!["city", "vendor", "event_id", "name"]
    );
    assert_eq!(
        grouping_labels("label_values(boxoffice_source_up, account)"),
        vec!["account"]
    );
    let e = parse_exposition("# TYPE a counter\na_total{x=\"1\",y=\"a,b\"} 3\nb 1\n");
    assert_eq!(e["a_total"], Some(BTreeSet::from(["x".into(), "y".into()])));
    assert_eq!(e["b"], Some(BTreeSet::new()));
    let declared_only = parse_exposition(
        "# TYPE c counter
# TYPE g gauge
",
    );
    assert_eq!(declared_only["c_total"], None);
    assert_eq!(declared_only["g"], None);
}
