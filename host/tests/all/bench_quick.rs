//! `boxoffice bench --quick` works end to end: it exits 0 and writes a JSON report with every
//! metric as a positive, finite number. How fast anything is is not asserted here (that is
//! what the bench reports; see docs/performance.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use boxoffice_testkit::clickhouse::shared_endpoint;

/// Runs `boxoffice bench --quick ARGS --out OUT` with a plugin cache in `dir`, without the
/// developer's config and with `env` set; asserts it exits 0 and returns (stdout, stderr).
fn quick_bench(dir: &Path, out: &Path, args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    assert!(
        bench_built(),
        "no boxoffice-bench beside {}: `cargo build --release -p boxoffice-bench` \
         (`cargo test --release --workspace` builds it)",
        env!("CARGO_BIN_EXE_boxoffice")
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_boxoffice"));
    cmd.args(["bench", "--quick"])
        .args(args)
        .arg("--out")
        .arg(out)
        // The SQLite warehouse only unless `env` says otherwise.
        .env_remove("CLICKHOUSE_HOST")
        .env_remove("BOXOFFICE_CONFIG")
        .env("BOXOFFICE_CACHE_DIR", dir.join("cache"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(
        run.status.success(),
        "bench --quick {args:?} failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        run.status
    );
    (stdout, stderr)
}

/// `boxoffice bench` execs `boxoffice-bench` from its own directory (the crate `bench/`).
fn bench_built() -> bool {
    Path::new(env!("CARGO_BIN_EXE_boxoffice"))
        .with_file_name("boxoffice-bench")
        .is_file()
}

/// Without the bench binary beside it, `boxoffice bench` fails naming the binary and how to
/// build it (a copy of `boxoffice` alone in a directory of its own).
#[test]
fn bench_without_its_binary_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let lone = dir.path().join("boxoffice");
    std::fs::copy(env!("CARGO_BIN_EXE_boxoffice"), &lone).unwrap();
    let run = Command::new(&lone)
        .args(["bench", "--quick"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stderr}");
    assert!(
        stderr.contains("boxoffice-bench not found beside")
            && stderr.contains("cargo build --release -p boxoffice -p boxoffice-bench"),
        "{stderr}"
    );
}

/// The one JSON report `bench` wrote under `out`: its path, the report and its metrics.
fn report(out: &Path) -> (PathBuf, serde_json::Value, Vec<serde_json::Value>) {
    let files: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let json = files
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap_or_else(|| panic!("no JSON report in {files:?}"))
        .clone();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let metrics = report["metrics"].as_array().expect("metrics array").clone();
    (json, report, metrics)
}

/// Metric `id` of the report: present and a positive, finite number.
fn positive<'a>(
    report: &serde_json::Value,
    metrics: &'a [serde_json::Value],
    id: &str,
) -> &'a serde_json::Value {
    let m = metrics
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("metric {id} missing from {report:#}"));
    let v = m["value"].as_f64().unwrap_or_else(|| panic!("{id}: {m}"));
    assert!(v.is_finite() && v > 0.0, "{id} = {v}");
    m
}

/// Every metric a run without ClickHouse reports.
const METRICS: &[&str] = &[
    "shotgun_pipeline_sqlite",
    "qtickets_pipeline_sqlite",
    "shotgun_incremental_requests",
    "qtickets_incremental_requests",
    "qtickets_idle_poll_webhooks_on_requests",
    "transform_wasm_per_page",
    "transform_native_per_page",
    "transform_wasm_native_ratio",
    "transform_decode_per_page",
    "transform_ratio_without_decode",
    "plugin_compile_ms",
    "plugin_cached_load_ms",
    "plugin_first_call_ms",
    "cold_start_ms",
    "cold_start_empty_cache_ms",
    "backfill_peak_rss_mb",
    "backfill_tickets_per_sec",
    "backfill_first_scrape_ms",
    "webhook_to_metrics_p50_ms",
    "webhook_to_metrics_p99_ms",
    "webhook_deliveries_per_sec",
];

#[test]
fn quick_bench_writes_every_metric() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let started = Instant::now();
    let (stdout, _) = quick_bench(dir.path(), &out, &[], &[]);
    assert!(
        started.elapsed() < Duration::from_secs(50),
        "bench --quick took {:?}",
        started.elapsed()
    );

    let (json, report, metrics) = report(&out);
    let csv = json.with_extension("csv");
    assert!(csv.exists(), "no CSV beside {}", json.display());
    assert!(json
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("bench-"));

    assert_eq!(report["quick"], true);
    assert_eq!(report["params"]["clickhouse"], false);
    for id in METRICS {
        let m = positive(&report, &metrics, id);
        assert!(!m["unit"].as_str().unwrap().is_empty(), "{id} has no unit");
        if !m["target"].is_null() {
            assert!(m["met"].is_boolean(), "{id}: a target but no verdict: {m}");
        }
    }
    // The CSV has the same rows.
    let csv = std::fs::read_to_string(csv).unwrap();
    assert_eq!(csv.lines().count(), metrics.len() + 1, "{csv}");
    // And the table was printed.
    for m in metrics {
        assert!(
            stdout.contains(m["metric"].as_str().unwrap()),
            "table lacks {m}:\n{stdout}"
        );
    }
}

/// `--quick --only python`: the Python pretix component beside the Rust one, every figure
/// measured (skips when the component is not built, unless `BOXOFFICE_REQUIRE_SERVERS=1`).
#[test]
fn quick_bench_measures_the_python_twin() {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/pretix-py.wasm");
    if std::env::var_os("BOXOFFICE_PRETIX_PY_WASM").is_none() && !built.is_file() {
        boxoffice_testkit::skip_or_fail(
            "quick_bench_measures_the_python_twin",
            "no target/plugins/pretix-py.wasm (plugins/pretix-py/build.sh builds it)",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    quick_bench(dir.path(), &out, &["--only", "python"], &[]);
    let (_, report, metrics) = report(&out);
    for side in ["pretix_py", "pretix_rust"] {
        for what in ["compile_ms", "first_call_ms", "per_page_us"] {
            let m = positive(&report, &metrics, &format!("{side}_{what}"));
            assert!(m["target"].is_null(), "information only: {m}");
        }
    }
    positive(&report, &metrics, "pretix_py_rust_page_ratio");
    assert!(
        metrics.iter().all(|m| m["id"] != "pretix_py_skipped"),
        "{report:#}"
    );
}

/// With `CLICKHOUSE_*` set, the pipeline rows are measured into ClickHouse too (checked against
/// the simulators' truth by the bench itself), in a database of the bench's own that is gone
/// afterwards.
#[test]
fn quick_bench_measures_clickhouse_when_configured() {
    let Some(ch) = shared_endpoint("quick_bench_measures_clickhouse_when_configured") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    let database = format!("bq{}", std::process::id());
    let (stdout, stderr) = quick_bench(
        dir.path(),
        &out,
        &["--only", "shotgun,qtickets"],
        &[
            ("CLICKHOUSE_HOST", &ch.url),
            ("CLICKHOUSE_USER", &ch.user),
            ("CLICKHOUSE_PASSWORD", &ch.password),
            ("CLICKHOUSE_DATABASE", &database),
        ],
    );
    assert!(!stdout.contains(&ch.password) && !stderr.contains(&ch.password));
    let (_, report, metrics) = report(&out);
    assert_eq!(report["params"]["clickhouse"], true, "{report:#}");
    for id in [
        "shotgun_pipeline_sqlite",
        "shotgun_pipeline_clickhouse",
        "qtickets_pipeline_sqlite",
        "qtickets_pipeline_clickhouse",
    ] {
        positive(&report, &metrics, id);
    }
    let left = ch
        .query(&format!(
            "SELECT count() FROM system.databases WHERE name LIKE '{database}%'"
        ))
        .unwrap();
    assert_eq!(left.trim(), "0", "the bench left its database behind");
}

/// `--quick --only cluster` (issue 19): the Shotgun pipeline into a local 2×2 ClickHouse cluster
/// and into one server in the same run, both checked against the simulator by the bench (skips
/// when clickhouse-server, Java or ZooKeeper is missing, unless `BOXOFFICE_REQUIRE_SERVERS=1`).
#[test]
fn quick_bench_measures_the_cluster_beside_one_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench");
    quick_bench(dir.path(), &out, &["--only", "cluster"], &[]);
    let (_, report, metrics) = report(&out);
    if let Some(m) = metrics
        .iter()
        .find(|m| m["id"] == "shotgun_pipeline_clickhouse_cluster_skipped")
    {
        boxoffice_testkit::skip_or_fail(
            "quick_bench_measures_the_cluster_beside_one_server",
            m["note"].as_str().unwrap_or("skipped"),
        );
        return;
    }
    for id in [
        "shotgun_pipeline_clickhouse_cluster",
        "shotgun_pipeline_clickhouse_single_server",
        "shotgun_clickhouse_cluster_vs_single",
    ] {
        positive(&report, &metrics, id);
    }
}
