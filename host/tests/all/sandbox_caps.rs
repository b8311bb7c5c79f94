//! Hard caps (issue 13, items 3 and 5): a connector that reaches for more memories, memory,
//! table elements, instances, planned requests, pages, wall time, log lines or decoded records
//! than its limits allow fails its own call or run with the cap named, and a well-behaved plugin
//! keeps working in the same process afterwards. A component that is not a connector is refused
//! naming what it is. A vendor sending an endless body fails that request at the response cap
//! while the host's memory stays flat.
//!
//! Attacks Rust cannot express are hand-written components (`wat/connector_shell.wat`, slots
//! filled per test); the others are `plugins/testbed` modes.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxoffice::http::{
    EgressGrant, HttpExecutor, OperatorGrants, Provenance, RequestBudget, RetryPolicy, Secrets,
};
use boxoffice::model::{Record, RunContext, VendorResponse};
use boxoffice::plugin::bundled::test_plugin_path;
use boxoffice::plugin::{
    LoadedPlugin, PageCap, PluginError, PluginLimits, PluginRuntime, Pseudonymizer, RunCaps,
    TrapKind,
};
use boxoffice::sync::{sync_account, Account, RunOptions, RunSummary};
use boxoffice_sim::SimServer;
use common::{Captured, Pipeline};

const SHELL: &str = include_str!("../wat/connector_shell.wat");

/// The connector shell with its slots filled.
fn shell(module_extra: &str, begin_body: &str, component_extra: &str) -> String {
    SHELL
        .replace(";;@MODULE-EXTRA", module_extra)
        .replace(";;@BEGIN-BODY", begin_body)
        .replace(";;@COMPONENT-EXTRA", component_extra)
}

/// `wat` without its import of the contract.
fn without_contract_import(wat: &str) -> String {
    let start = wat.find(";;@CONTRACT-IMPORT").unwrap();
    let end = wat.find(";;@END").unwrap();
    format!("{}{}", &wat[..start], &wat[end..])
}

/// A runtime under `limits`, sharing the test suite's cache of compiled plugins.
fn runtime(limits: PluginLimits) -> PluginRuntime {
    let cache = std::env::temp_dir().join("boxoffice-test-plugin-cache");
    PluginRuntime::new(limits, Some(cache)).unwrap()
}

fn key() -> Arc<Pseudonymizer> {
    Arc::new(Pseudonymizer::new([3; 32]))
}

fn ctx(mode: &str) -> RunContext {
    RunContext {
        account: "test".into(),
        settings: vec![("mode".to_string(), mode.to_string())],
        now_ms: 1_700_000_000_000,
        ..Default::default()
    }
}

fn response(body: &str) -> VendorResponse {
    VendorResponse {
        status: 200,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

async fn testbed(rt: &PluginRuntime) -> LoadedPlugin {
    let bytes = std::fs::read(test_plugin_path("testbed")).unwrap();
    rt.load("testbed", &bytes).await.unwrap()
}

/// The runtime that refused an attack still loads and runs a well-behaved plugin, whose
/// records come through whole.
async fn assert_still_healthy(rt: &PluginRuntime) {
    let plugin = testbed(rt).await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let c = ctx("ok");
    let reqs = inst.begin(&c).await.unwrap();
    assert_eq!(reqs.len(), 1);
    let page = inst.handle(&c, &reqs[0], response("5")).await.unwrap();
    assert_eq!(page.records.len(), 5);
    assert!(page.records.iter().all(
        |r| matches!(r, Record::Ticket(t) if t.buyer.as_deref().is_some_and(|b| b.len() == 24))
    ));
}

/// Why `rt` refused to load `wat`.
async fn refused(rt: &PluginRuntime, name: &str, wat: &[u8]) -> PluginError {
    match rt.load(name, wat).await {
        Ok(p) => panic!("`{name}` loaded as `{}`", p.id()),
        Err(e) => e,
    }
}

/// The trap a load or call failed with: (call, kind).
fn trap(err: &PluginError) -> (&'static str, TrapKind) {
    match err {
        PluginError::Trap { call, kind, .. } => (*call, *kind),
        other => panic!("expected a trap, got: {other}"),
    }
}

// ---- store: memories, tables, instances, start functions (hand-written components) ----

#[tokio::test]
async fn the_connector_shell_loads_and_runs_as_a_connector() {
    let rt = runtime(PluginLimits::default());
    let plugin = rt
        .load("shell", shell("", "", "").as_bytes())
        .await
        .unwrap();
    assert_eq!(plugin.manifest.id, "hostile");
    assert_eq!(plugin.wit_version.as_deref(), Some("0.2.0"));
    let mut inst = plugin.instantiate(key()).await.unwrap();
    assert!(inst.begin(&ctx("ok")).await.unwrap().is_empty());
}

/// Four memories of 100 MiB each: every one under a per-memory cap of 128 MiB (the old
/// per-memory limit), 400 MiB together. The store's total is what counts.
#[tokio::test]
async fn several_memories_each_under_the_cap_are_refused_together() {
    let rt = runtime(PluginLimits {
        memory_bytes: 128 << 20,
        ..PluginLimits::default()
    });
    let wat = shell(
        "(memory 1600) (memory 1600) (memory 1600) (memory 1600)",
        "",
        "",
    );
    let err = refused(&rt, "memories", wat.as_bytes()).await;
    assert_eq!(trap(&err), ("instantiate", TrapKind::Memory), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("memory (bytes of all linear memories)") && msg.contains("134217728"),
        "{msg}"
    );
    assert_still_healthy(&rt).await;
}

#[tokio::test]
async fn more_memories_than_the_count_cap_are_refused() {
    let rt = runtime(PluginLimits::default());
    // The shell's own memory and eight more: nine, over the ceiling of eight. Counted from
    // the binary and refused before instantiation.
    let wat = shell(&"(memory 0) ".repeat(8), "", "");
    let err = refused(&rt, "memories", wat.as_bytes()).await;
    assert!(matches!(err, PluginError::Shape { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "`memories` is refused before instantiation: it creates 9 core memories when \
         instantiated, over the host's ceiling of 8"
    );
    assert_still_healthy(&rt).await;
}

/// A start function grows three memories to 60 MiB each: 180 MiB in all, over the 128 MiB
/// total while each stays under it.
#[tokio::test]
async fn a_start_function_growing_memories_traps_at_the_total_cap() {
    let rt = runtime(PluginLimits::default());
    let wat = shell(
        "(memory $a 0) (memory $b 0) (memory $c 0)
         (func $grow
           (drop (memory.grow $a (i32.const 960)))
           (drop (memory.grow $b (i32.const 960)))
           (drop (memory.grow $c (i32.const 960))))
         (start $grow)",
        "",
        "",
    );
    let err = refused(&rt, "grower", wat.as_bytes()).await;
    assert_eq!(trap(&err), ("instantiate", TrapKind::Memory), "{err}");
    assert_still_healthy(&rt).await;
}

#[tokio::test]
async fn a_start_function_that_loops_is_stopped_at_the_deadline() {
    let rt = runtime(PluginLimits {
        call_deadline: Duration::from_millis(300),
        ..PluginLimits::default()
    });
    let wat = shell("(func $spin (loop $l (br $l))) (start $spin)", "", "");
    let started = Instant::now();
    let err = refused(&rt, "spinner", wat.as_bytes()).await;
    assert_eq!(trap(&err), ("instantiate", TrapKind::Deadline), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_still_healthy(&rt).await;
}

/// `begin` grows a table by ten million elements (80+ MB of host memory).
#[tokio::test]
async fn a_table_grown_to_millions_of_elements_traps() {
    let rt = runtime(PluginLimits::default());
    let wat = shell(
        "(table $t 0 funcref)",
        "(drop (table.grow $t (ref.null func) (i32.const 10000000)))",
        "",
    );
    let plugin = rt.load("tables", wat.as_bytes()).await.unwrap();
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let err = inst.begin(&ctx("ok")).await.unwrap_err();
    assert_eq!(trap(&err), ("begin", TrapKind::Table), "{err}");
    assert!(
        err.to_string().contains("table (elements of all tables)"),
        "{err}"
    );
    let again = inst.begin(&ctx("ok")).await.unwrap_err();
    assert!(matches!(again, PluginError::Poisoned { .. }), "{again}");
    assert_still_healthy(&rt).await;
}

/// `n` more core instances of an empty module.
fn extra_instances(n: usize) -> String {
    format!(
        "(core module $tiny) {}",
        "(core instance (instantiate $tiny)) ".repeat(n)
    )
}

/// A component of many core instances (as componentize-py builds) loads, its store capped at
/// exactly its own shape; past the ceiling it is refused before instantiation, naming the
/// count and the ceiling.
#[tokio::test]
async fn instances_are_capped_generously_enough_for_python_components() {
    let rt = runtime(PluginLimits::default());
    let fits = shell("", "", &extra_instances(20));
    let p = rt.load("twenty-one", fits.as_bytes()).await.unwrap();
    assert_eq!((p.shape.instances, p.shape.memories), (21, 1));
    assert_eq!(
        (p.store_caps.max_instances, p.store_caps.max_memories),
        (21, 1)
    );
    let over = shell("", "", &extra_instances(40));
    let err = refused(&rt, "forty-one", over.as_bytes()).await;
    assert!(matches!(err, PluginError::Shape { .. }), "{err}");
    assert!(
        err.to_string().contains(
            "it creates 41 core instances when instantiated, over the host's ceiling of 32"
        ),
        "{err}"
    );
    assert_still_healthy(&rt).await;
}

/// Both sides of the ceiling, with a ceiling of five: five core instances load (and run),
/// six are refused before instantiation.
#[tokio::test]
async fn the_shape_ceiling_is_held_on_both_sides() {
    let mut limits = PluginLimits::default();
    limits.store.max_instances = 5;
    limits.store.max_tables = 2;
    let rt = runtime(limits);
    let five = rt
        .load("five", shell("", "", &extra_instances(4)).as_bytes())
        .await
        .unwrap();
    assert_eq!(five.shape.instances, 5);
    let mut inst = five.instantiate(key()).await.unwrap();
    assert!(inst.begin(&ctx("ok")).await.unwrap().is_empty());
    let err = refused(&rt, "six", shell("", "", &extra_instances(5)).as_bytes()).await;
    assert!(
        err.to_string().contains(
            "it creates 6 core instances when instantiated, over the host's ceiling of 5"
        ),
        "{err}"
    );
    // Tables: two fit, three do not.
    rt.load(
        "two-tables",
        shell("(table 0 funcref) (table 0 funcref)", "", "").as_bytes(),
    )
    .await
    .unwrap();
    let err = refused(
        &rt,
        "three-tables",
        shell(&"(table 0 funcref) ".repeat(3), "", "").as_bytes(),
    )
    .await;
    assert!(
        err.to_string().contains("it creates 3 core tables"),
        "{err}"
    );
}

/// The bundled Rust connectors and the prebuilt 0.2 one are small shapes: their stores get
/// caps far under the ceiling.
#[tokio::test]
async fn rust_connectors_get_caps_of_their_own_shape() {
    let rt = runtime(PluginLimits::default());
    let p = testbed(&rt).await;
    assert!(
        (1..=8).contains(&p.shape.instances) && p.shape.memories >= 1,
        "{:?}",
        p.shape
    );
    assert_eq!(p.store_caps.max_instances, p.shape.instances);
    assert_eq!(p.store_caps.max_memories, p.shape.memories);
}

// ---- the contract, checked by exports and imports ----

fn refusal(err: PluginError) -> String {
    match &err {
        PluginError::NotAConnector { .. } => err.to_string(),
        other => panic!("expected NotAConnector, got: {other}"),
    }
}

const SUPPORTED: &str = "this host runs boxoffice:connector@0.2 components";

#[tokio::test]
async fn a_component_importing_nothing_from_the_contract_is_refused() {
    let rt = runtime(PluginLimits::default());
    let wat = without_contract_import(&shell("", "", ""));
    let msg = refusal(refused(&rt, "stranger", wat.as_bytes()).await);
    assert!(
        msg.contains("`stranger`") && msg.contains("imports nothing from boxoffice:connector"),
        "{msg}"
    );
    assert!(msg.contains("it imports nothing)"), "{msg}");
    assert!(msg.contains(SUPPORTED), "{msg}");
    assert_still_healthy(&rt).await;
}

#[tokio::test]
async fn a_component_exporting_only_wasi_cli_run_is_refused_naming_it() {
    let rt = runtime(PluginLimits::default());
    let wat = r#"(component
      (import "boxoffice:connector/types@0.2.0" (instance))
      (core module $m (func (export "run") (result i32) (i32.const 0)))
      (core instance $i (instantiate $m))
      (func $run (result (result)) (canon lift (core func $i "run")))
      (instance $cli (export "run" (func $run)))
      (export "wasi:cli/run@0.2.0" (instance $cli)))"#;
    let msg = refusal(refused(&rt, "cli-tool", wat.as_bytes()).await);
    assert!(
        msg.contains("its export `manifest` is missing")
            && msg.contains("it exports [wasi:cli/run@0.2.0]"),
        "{msg}"
    );
    assert!(msg.contains(SUPPORTED), "{msg}");
}

#[tokio::test]
async fn an_empty_component_is_refused() {
    let rt = runtime(PluginLimits::default());
    let msg = refusal(refused(&rt, "empty", b"(component)").await);
    assert!(
        msg.contains("imports nothing from boxoffice:connector") && msg.contains("exports nothing"),
        "{msg}"
    );
}

#[tokio::test]
async fn an_export_of_the_wrong_shape_is_refused_naming_it() {
    let rt = runtime(PluginLimits::default());
    // `begin` exported as the manifest function: no parameter, a record back.
    let wat = shell("", "", "").replace(
        r#"(export "begin" (func $begin))"#,
        r#"(export "begin" (func $manifest))"#,
    );
    let msg = refusal(refused(&rt, "misshapen", wat.as_bytes()).await);
    assert!(
        msg.contains(
            "its export `begin` is func() -> a record, the contract's is func(ctx: run-context)"
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn another_contract_version_is_still_refused_as_incompatible() {
    let rt = runtime(PluginLimits::default());
    let wat = shell("", "", "").replace("types@0.2.0", "types@0.1.0");
    let err = refused(&rt, "old", wat.as_bytes()).await;
    assert!(
        matches!(&err, PluginError::IncompatibleWit { found, .. } if found == "0.1.0"),
        "{err}"
    );
}

// ---- what one page may decode into (testbed modes) ----

/// The page cap `mode`'s page ran into, from `handle`.
async fn page_cap(rt: &PluginRuntime, mode: &str) -> (PageCap, usize, Option<usize>) {
    let plugin = testbed(rt).await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let c = ctx(mode);
    let reqs = inst.begin(&c).await.unwrap();
    let err = inst.handle(&c, &reqs[0], response("1")).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("testbed") && msg.contains("past the cap"),
        "{msg}"
    );
    match err {
        PluginError::OverCap {
            what, cap, record, ..
        } => (what, cap, record),
        other => panic!("expected a page cap, got: {other}"),
    }
}

/// A list whose count claims a million entries (and has a million one-byte empty strings
/// behind it) is refused by its count, before the host allocates a single entry.
#[tokio::test]
async fn a_list_claiming_a_million_entries_is_refused_before_allocation() {
    let rt = runtime(PluginLimits::default());
    assert_eq!(
        page_cap(&rt, "decode-bomb").await,
        (PageCap::ListLength, 256, Some(0))
    );
    assert_still_healthy(&rt).await;
}

#[tokio::test]
async fn a_small_blob_of_many_tiny_records_stops_at_the_record_cap() {
    // Bytes generous enough that the count is the cap these records reach first.
    let mut limits = PluginLimits::default();
    limits.page.max_decoded_bytes = 64 << 20;
    let rt = runtime(limits);
    assert_eq!(
        page_cap(&rt, "record-bomb").await,
        (PageCap::Items, 50_000, Some(50_000))
    );
    assert_still_healthy(&rt).await;
}

/// Each record is under every per-record cap; together they decode past the page's bytes.
#[tokio::test]
async fn records_decoding_past_the_page_byte_cap_are_refused() {
    let rt = runtime(PluginLimits::default());
    let (what, cap, record) = page_cap(&rt, "bytes-bomb").await;
    assert_eq!((what, cap), (PageCap::DecodedBytes, 16 << 20));
    // ~6.5 KB a record in the host: the cap is crossed after about 2,600.
    assert!((2_000..3_200).contains(&record.unwrap()), "{record:?}");
    assert_still_healthy(&rt).await;
}

#[tokio::test]
async fn a_string_field_over_the_cap_is_refused() {
    let rt = runtime(PluginLimits::default());
    assert_eq!(
        page_cap(&rt, "long-string").await,
        (PageCap::StringBytes, 64 << 10, Some(0))
    );
    assert_still_healthy(&rt).await;
}

// ---- the log import ----

#[tokio::test]
async fn a_log_flood_is_capped_per_line_and_per_run() {
    let rt = runtime(PluginLimits::default());
    let plugin = testbed(&rt).await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    inst.begin(&ctx("log-flood")).await.unwrap();
    let logs = inst.take_logs();
    let caps = PluginLimits::default().log;
    // The lines kept, then one notice that the rest was dropped.
    let (notice, kept) = logs.split_last().unwrap();
    assert!(
        notice
            .message
            .starts_with("log cap reached (1000 lines, 262144 bytes per run)"),
        "{notice:?}"
    );
    assert!(kept.iter().all(|l| l.message.len() <= caps.max_line_bytes));
    let bytes: usize = kept.iter().map(|l| l.message.len()).sum();
    assert_eq!(bytes, caps.max_bytes, "the run's bytes are used up exactly");
    assert_eq!(kept.len(), caps.max_bytes / caps.max_line_bytes);
    assert_still_healthy(&rt).await;
}

/// A message with a line break, a carriage return, a terminal escape and a bidi override
/// stays one line of the host's log, and none of it reaches the log raw.
#[tokio::test]
async fn a_log_line_cannot_forge_another_line() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Other tests of this binary hit the same call sites from threads without a subscriber;
    // an interest they cached while this one was being set up would silence it.
    tracing::callsite::rebuild_interest_cache();

    let rt = runtime(PluginLimits::default());
    let plugin = testbed(&rt).await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    inst.begin(&ctx("log-forge")).await.unwrap();
    let logs = inst.take_logs();
    assert_eq!(logs.len(), 1);
    assert_eq!(
        logs[0].message,
        // The bidi override is an invisible formatting character: the firewall's folding drops
        // it before the rest is escaped.
        "page read\\n2026-12-04T00:00:00.000000Z  INFO boxoffice::sync::run: sync finished: ok\\r\\u{1b}[2K"
    );

    let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("page read")).collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert!(
        !out.lines().any(|l| l.starts_with("2026-12-04T00:00:00")),
        "a forged line reached the log: {out}"
    );
    assert!(!out.contains(['\r', '\u{1b}', '\u{202e}']), "{out:?}");
}

// ---- runs: planned requests, pages, wall time (testbed against a loopback vendor) ----

/// A vendor on loopback that answers every request with `1` (one ticket for the testbed)
/// after `delay`, counting the requests it sees.
async fn counting_vendor(delay: Duration) -> (SimServer, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let router = axum::Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            "1"
        }
    });
    (SimServer::start(router, 0).await.unwrap(), hits)
}

/// A testbed account in `mode` whose requests go to `base`, under `limits`.
async fn account(limits: PluginLimits, mode: &str, base: &str, extra: &[(&str, &str)]) -> Account {
    let plugin = testbed(&runtime(limits)).await;
    let mut settings = vec![
        ("mode".to_string(), mode.to_string()),
        ("base_url".to_string(), base.to_string()),
    ];
    settings.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let grants = OperatorGrants {
        origins: vec![base.to_string()],
        hosts: vec![],
    };
    Account {
        egress: EgressGrant::new(&plugin.manifest, Provenance::DropIn, &grants).unwrap(),
        plugin,
        name: format!("caps-{mode}"),
        settings,
        secrets: Secrets::new(),
        budget: RequestBudget::per_minute(0),
    }
}

/// One run, which must end (an endless one fails the test instead of hanging it).
async fn run(p: &Pipeline, account: &Account) -> RunSummary {
    let opts = RunOptions {
        now_ms: Some(1_700_000_000_000),
        ..Default::default()
    };
    tokio::time::timeout(
        Duration::from_secs(60),
        sync_account(&p.deps, account, &opts),
    )
    .await
    .expect("the run never ended")
    .unwrap()
}

/// After an attack, a well-behaved account of the same vendor syncs against the same server.
async fn assert_run_still_healthy(p: &Pipeline, base: &str) {
    let ok = account(PluginLimits::default(), "ok", base, &[]).await;
    let s = run(p, &ok).await;
    assert!(s.ok(), "{s:?}");
    assert_eq!((s.pages, s.records), (1, 1), "{s:?}");
}

fn with_run_caps(run: RunCaps) -> PluginLimits {
    PluginLimits {
        run,
        ..PluginLimits::default()
    }
}

/// `begin` plans 100,000 requests at once: refused by the per-call cap before one is made.
#[tokio::test]
async fn a_fan_out_of_planned_requests_fails_the_run_before_any_request() {
    let p = Pipeline::new();
    let (srv, hits) = counting_vendor(Duration::ZERO).await;
    let base = srv.base_url();
    let s = run(
        &p,
        &account(PluginLimits::default(), "fan-out", &base, &[]).await,
    )
    .await;
    assert_eq!(s.status, "failed", "{s:?}");
    assert!(
        s.message
            .contains("past the cap of 5000 planned requests per call in `begin`"),
        "{s:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    // Under the per-call cap, over the run's.
    let limits = with_run_caps(RunCaps {
        max_planned_requests: 1_000,
        ..RunCaps::default()
    });
    let fan = account(limits, "fan-out", &base, &[("count", "4000")]).await;
    let s = run(&p, &fan).await;
    assert_eq!(s.status, "failed", "{s:?}");
    assert!(
        s.message.contains("cap of 1000 planned requests per run"),
        "{s:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_run_still_healthy(&p, &base).await;
}

#[tokio::test]
async fn endless_paging_stops_at_the_page_cap() {
    let p = Pipeline::new();
    let (srv, hits) = counting_vendor(Duration::ZERO).await;
    let base = srv.base_url();
    let limits = with_run_caps(RunCaps {
        max_pages: 50,
        ..RunCaps::default()
    });
    let s = run(&p, &account(limits, "endless-paging", &base, &[]).await).await;
    assert_eq!(s.status, "failed", "{s:?}");
    assert!(
        s.message
            .contains("testbed: the run reached its cap of 50 pages per run"),
        "{s:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 50);
    assert_eq!(s.pages, 50, "the pages before the cap are stored: {s:?}");
    assert_run_still_healthy(&p, &base).await;
}

#[tokio::test]
async fn a_run_stops_at_its_wall_time_cap() {
    let p = Pipeline::new();
    let (srv, _hits) = counting_vendor(Duration::from_millis(100)).await;
    let base = srv.base_url();
    let limits = with_run_caps(RunCaps {
        max_duration: Duration::from_secs(1),
        ..RunCaps::default()
    });
    let started = Instant::now();
    let s = run(&p, &account(limits, "endless-paging", &base, &[]).await).await;
    assert_eq!(s.status, "failed", "{s:?}");
    assert!(s.message.contains("cap of 1 s of wall time"), "{s:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_run_still_healthy(&p, &base).await;
}

// ---- response bodies ----

const GIB: u64 = 1 << 30;

/// A loopback vendor that answers any request with up to 1 GiB of zeros, with or without a
/// declared length, and counts what it wrote until the client hung up.
async fn flooding_vendor(declare_length: bool) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(AtomicUsize::new(0));
    let count = written.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let length = if declare_length {
                    format!("Content-Length: {GIB}\r\n")
                } else {
                    String::new()
                };
                let header = format!("HTTP/1.1 200 OK\r\n{length}Connection: close\r\n\r\n");
                if sock.write_all(header.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![0u8; 64 << 10];
                let mut sent = 0u64;
                while sent < GIB && sock.write_all(&chunk).await.is_ok() {
                    sent += chunk.len() as u64;
                    count.fetch_add(chunk.len(), Ordering::SeqCst);
                }
            });
        }
    });
    (base, written)
}

/// A /proc/self/status figure in KiB.
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_endless_body_fails_its_request_at_the_cap_and_memory_stays_flat() {
    const CAP: usize = 8 << 20;
    let mut p = Pipeline::new();
    p.deps.http = HttpExecutor::new(RetryPolicy::default())
        .unwrap()
        .with_max_response_bytes(CAP);
    for declare_length in [false, true] {
        let (base, written) = flooding_vendor(declare_length).await;
        // Reset the peak (5 → VmHWM = VmRSS, Linux ≥ 4.0); the bound below is loose, as other
        // tests of this binary run at the same time.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let rss_before = proc_status_kib("VmRSS:");
        let s = run(
            &p,
            &account(PluginLimits::default(), "ok", &base, &[]).await,
        )
        .await;
        let peak = proc_status_kib("VmHWM:");
        assert_eq!(s.status, "failed", "{s:?}");
        assert!(
            s.message.contains(&format!(
                "{base}: the response body is larger than the {CAP}-byte cap"
            )),
            "{s:?}"
        );
        let grew_mib = peak.saturating_sub(rss_before) / 1024;
        assert!(
            grew_mib < 256,
            "the host grew by {grew_mib} MiB reading a body"
        );
        // The vendor stopped being read well before its gigabyte (socket buffers take a few
        // MB more than the client read).
        let sent = written.load(Ordering::SeqCst) as u64;
        assert!(sent < GIB / 4, "{sent} bytes were sent");
    }
    let (srv, _) = counting_vendor(Duration::ZERO).await;
    assert_run_still_healthy(&p, &srv.base_url()).await;
}
