//! Misbehaving plugins are contained, and a well-behaved plugin keeps working in the same
//! process afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use boxoffice::http::AllowList;
use boxoffice::model::{Record, RunContext, VendorResponse};
use boxoffice::plugin::bundled::test_plugin_path;
use boxoffice::plugin::{
    LoadedPlugin, PluginError, PluginLimits, PluginRuntime, Pseudonymizer, RecordFirewall,
    RejectReason, TrapKind,
};

const DEADLINE: Duration = Duration::from_millis(300);

async fn setup() -> (PluginRuntime, LoadedPlugin, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let limits = PluginLimits {
        memory_bytes: 64 << 20,
        call_deadline: DEADLINE,
        max_output_bytes: 4 << 20,
        fuel_per_call: None,
        ..PluginLimits::default()
    };
    let rt = PluginRuntime::new(limits, Some(dir.path().to_path_buf())).unwrap();
    let bytes = std::fs::read(test_plugin_path("testbed")).unwrap();
    let plugin = rt.load("testbed", &bytes).await.unwrap();
    (rt, plugin, dir)
}

fn ctx(mode: &str, extra: &[(&str, &str)]) -> RunContext {
    let mut settings = vec![("mode".to_string(), mode.to_string())];
    settings.extend(extra.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    RunContext {
        account: "test".into(),
        settings,
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

fn key() -> Arc<Pseudonymizer> {
    Arc::new(Pseudonymizer::new([3; 32]))
}

/// The well-behaved path: plan, handle, and every record passes the firewall.
async fn assert_still_healthy(plugin: &LoadedPlugin) {
    let pseudonyms = key();
    let mut inst = plugin.instantiate(pseudonyms.clone()).await.unwrap();
    let c = ctx("ok", &[]);
    let reqs = inst.begin(&c).await.unwrap();
    assert_eq!(reqs.len(), 1);
    let allow = AllowList::new("testbed", &plugin.manifest.allowed_hosts);
    allow.check(&reqs[0].url.parse().unwrap()).unwrap();
    let page = inst.handle(&c, &reqs[0], response("5")).await.unwrap();
    assert_eq!(page.records.len(), 5);
    let screened = RecordFirewall::new().screen(page.records);
    assert_eq!(screened.rejected, vec![]);
    assert_eq!(screened.accepted.len(), 5);
    for r in &screened.accepted {
        let Record::Ticket(t) = r else { panic!() };
        let buyer = t.buyer.as_deref().unwrap();
        assert_eq!(buyer.len(), 24, "stored buyer is the stable pseudonym only");
    }
}

#[tokio::test]
async fn runaway_loop_is_trapped_at_the_deadline() {
    let (_rt, plugin, _d) = setup().await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let started = Instant::now();
    let err = inst.begin(&ctx("loop", &[])).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.trap_kind(), Some(TrapKind::Deadline), "{err}");
    assert!(took >= DEADLINE / 2, "trapped suspiciously early: {took:?}");
    // A generous bound, not a speed target: the trap must come from the deadline, not a hang.
    assert!(took < DEADLINE * 20, "took {took:?}");
    assert!(err.to_string().contains("testbed"), "{err}");
    // The instance is finished; the host is not.
    let again = inst.begin(&ctx("ok", &[])).await.unwrap_err();
    assert!(matches!(again, PluginError::Poisoned { .. }), "{again}");
    assert_still_healthy(&plugin).await;
}

#[tokio::test]
async fn memory_bomb_is_trapped_at_the_cap() {
    let (_rt, plugin, _d) = setup().await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let err = inst.begin(&ctx("memory-bomb", &[])).await.unwrap_err();
    assert_eq!(err.trap_kind(), Some(TrapKind::Memory), "{err}");
    assert_still_healthy(&plugin).await;
}

#[tokio::test]
async fn panic_is_reported() {
    let (_rt, plugin, _d) = setup().await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let err = inst.begin(&ctx("panic", &[])).await.unwrap_err();
    assert_eq!(err.trap_kind(), Some(TrapKind::Panic), "{err}");
    assert_still_healthy(&plugin).await;
}

#[tokio::test]
async fn huge_output_is_rejected() {
    let (_rt, plugin, _d) = setup().await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let c = ctx("huge-output", &[]);
    let reqs = inst.begin(&c).await.unwrap();
    let err = inst.handle(&c, &reqs[0], response("1")).await.unwrap_err();
    match err {
        PluginError::OutputTooLarge { bytes, cap, .. } => {
            assert!(bytes > cap);
            assert_eq!(cap, 4 << 20);
        }
        other => panic!("expected OutputTooLarge, got {other}"),
    }
    assert_still_healthy(&plugin).await;
}

async fn probe_log(plugin: &LoadedPlugin, c: &RunContext) -> String {
    let mut inst = plugin.instantiate(key()).await.unwrap();
    inst.begin(c).await.unwrap();
    let logs = inst.take_logs();
    assert_eq!(logs.len(), 1, "{logs:?}");
    logs[0].message.clone()
}

#[tokio::test]
async fn file_env_and_socket_access_are_denied() {
    let (_rt, plugin, _d) = setup().await;
    let file = probe_log(&plugin, &ctx("read-file", &[])).await;
    assert!(file.starts_with("read-file: denied"), "{file}");

    let env = probe_log(&plugin, &ctx("read-env", &[])).await;
    assert_eq!(env, "read-env: vars=0 home=false");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let sock = probe_log(&plugin, &ctx("open-socket", &[("addr", &addr)])).await;
    assert!(sock.starts_with("open-socket: denied"), "{sock}");
    assert!(
        listener.accept().is_err(),
        "the plugin reached a loopback listener"
    );
    assert_still_healthy(&plugin).await;
}

#[tokio::test]
async fn disallowed_url_is_refused_by_the_host() {
    let (_rt, plugin, _d) = setup().await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let reqs = inst.begin(&ctx("bad-url", &[])).await.unwrap();
    let allow = AllowList::new("testbed", &plugin.manifest.allowed_hosts);
    let err = allow.check(&reqs[0].url.parse().unwrap()).unwrap_err();
    assert_eq!(err.origin, "https://evil.example.invalid");
    assert_still_healthy(&plugin).await;
}

#[tokio::test]
async fn pii_is_rejected_and_counted() {
    let (_rt, plugin, _d) = setup().await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let c = ctx("pii", &[]);
    let reqs = inst.begin(&c).await.unwrap();
    let page = inst.handle(&c, &reqs[0], response("1")).await.unwrap();
    let screened = RecordFirewall::new().screen(page.records);
    assert_eq!(screened.accepted.len(), 1);
    assert_eq!(screened.rejected.len(), 1);
    assert_eq!(screened.rejected[0].reason, RejectReason::Email);
    let msg = screened.rejected[0].to_string();
    assert!(!msg.contains("canary"), "rejection leaks the value: {msg}");
    assert_still_healthy(&plugin).await;
}

#[tokio::test]
async fn garbled_records_fail_the_page_with_the_record_named() {
    let (_rt, plugin, _d) = setup().await;
    let mut inst = plugin.instantiate(key()).await.unwrap();
    let c = ctx("garbled-records", &[]);
    let reqs = inst.begin(&c).await.unwrap();
    let err = inst.handle(&c, &reqs[0], response("1")).await.unwrap_err();
    match &err {
        PluginError::BadOutput {
            plugin,
            call,
            detail,
        } => {
            assert_eq!((plugin.as_str(), *call), ("testbed", "handle"));
            assert!(detail.starts_with("record 1 (byte "), "{detail}");
        }
        other => panic!("expected BadOutput, got {other}"),
    }
    // Not a trap: the instance keeps working (the page is simply not stored).
    let ok = ctx("ok", &[]);
    let page = inst.handle(&ok, &reqs[0], response("2")).await.unwrap();
    assert_eq!(page.records.len(), 2);
}

/// Buyers cross the boundary as the vendor's identifiers and leave the instance as the host's
/// keyed pseudonyms: stable for one installation key, different under another, never the raw
/// value.
#[tokio::test]
async fn buyers_are_pseudonymized_by_the_host() {
    let (_rt, plugin, _d) = setup().await;
    let buyers = |key: [u8; 32]| {
        let plugin = plugin.clone();
        async move {
            let mut inst = plugin
                .instantiate(Arc::new(Pseudonymizer::new(key)))
                .await
                .unwrap();
            let c = ctx("ok", &[]);
            let reqs = inst.begin(&c).await.unwrap();
            let page = inst.handle(&c, &reqs[0], response("3")).await.unwrap();
            let screened = RecordFirewall::new().screen(page.records);
            assert!(screened.rejected.is_empty(), "{:?}", screened.rejected);
            screened
                .accepted
                .into_iter()
                .map(|r| match r {
                    Record::Ticket(t) => t.buyer.expect("the testbed names every buyer"),
                    other => panic!("unexpected {other:?}"),
                })
                .collect::<Vec<String>>()
        }
    };
    let first = buyers([3; 32]).await;
    let expected: Vec<String> = (0..3)
        .map(|i| Pseudonymizer::new([3; 32]).pseudonym("user", &format!("{}", 7_000_000 + i)))
        .collect();
    assert_eq!(first, expected);
    assert_eq!(buyers([3; 32]).await, first, "stable across runs");
    let other = buyers([4; 32]).await;
    assert!(other.iter().all(|b| !first.contains(b)), "keyed");
    assert!(first.iter().all(|b| !b.contains("700000")), "{first:?}");
}

#[tokio::test]
async fn precompiled_plugins_come_from_the_cache_and_corruption_is_rebuilt() {
    use boxoffice::plugin::CacheOutcome;
    let dir = tempfile::tempdir().unwrap();
    let rt = PluginRuntime::new(PluginLimits::default(), Some(dir.path().to_path_buf())).unwrap();
    let bytes = std::fs::read(test_plugin_path("testbed")).unwrap();
    let first = rt.load("testbed", &bytes).await.unwrap();
    assert_eq!(first.cache, CacheOutcome::Compiled);
    let second = rt.load("testbed", &bytes).await.unwrap();
    assert_eq!(second.cache, CacheOutcome::Hit);
    assert_eq!(second.manifest, first.manifest);

    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let mut data = std::fs::read(&entries[0]).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&entries[0], &data).unwrap();
    let third = rt.load("testbed", &bytes).await.unwrap();
    assert_eq!(third.cache, CacheOutcome::Rebuilt);
    assert_still_healthy(&third).await;

    std::fs::write(&entries[0], b"BXOCWASM short").unwrap();
    assert_eq!(
        rt.load("testbed", &bytes).await.unwrap().cache,
        CacheOutcome::Rebuilt
    );
    assert_eq!(
        rt.load("testbed", &bytes).await.unwrap().cache,
        CacheOutcome::Hit
    );
}
