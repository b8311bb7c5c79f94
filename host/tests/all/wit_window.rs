//! The contract version window (issue 14, item 1; 0.4 from issue 16): the host loads connectors
//! of every version in `contract::SUPPORTED` (0.2 and 0.3, adapted, and 0.4) into the same host
//! model, and refuses a component outside it before instantiation, naming its version and the
//! supported ones.
//!
//! The 0.2 and 0.3 connectors are prebuilt components committed as fixtures
//! (`fixtures/v0_2/testbed-0.2.0.wasm`, `fixtures/v0_3/testbed-0.3.0.wasm`, see the READMEs
//! there): nobody rebuilds them, so they stand for drop-ins built against 0.2 or 0.3 and never
//! touched again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use boxoffice::model::{Record, RunContext, VendorResponse, WebhookDelivery};
use boxoffice::plugin::bindings::Contract;
use boxoffice::plugin::bundled::test_plugin_path;
use boxoffice::plugin::{
    GuestError, LoadedPlugin, PluginError, PluginLimits, PluginRuntime, Pseudonymizer,
};

const SHELL: &str = include_str!("../wat/connector_shell.wat");

fn fixture_0_2() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0_2/testbed-0.2.0.wasm")
}

fn fixture_0_3() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0_3/testbed-0.3.0.wasm")
}

/// The webhook entry point on a connector that takes none: the guest's (or, before 0.4, the
/// host's) `fatal` answer, with what it says.
async fn webhook_refusal(plugin: &LoadedPlugin) -> String {
    let delivery = WebhookDelivery {
        headers: vec![("x-event-type".into(), "payed".into())],
        body: b"{}".to_vec(),
        received_ms: 1_700_000_000_000,
    };
    let r = plugin
        .webhook(Arc::new(Pseudonymizer::new([9; 32])), &ctx("ok"), &delivery)
        .await;
    match r {
        Err(PluginError::Guest {
            call: "webhook",
            error: GuestError::Fatal(m),
            ..
        }) => m,
        other => panic!("not a fatal webhook refusal: {other:?}"),
    }
}

fn runtime() -> PluginRuntime {
    PluginRuntime::new(PluginLimits::default(), None).unwrap()
}

fn ctx(mode: &str) -> RunContext {
    RunContext {
        account: "test".into(),
        settings: vec![("mode".to_string(), mode.to_string())],
        now_ms: 1_700_000_000_000,
        ..Default::default()
    }
}

/// `begin`, then one page of `n` tickets: what the host made of it.
async fn one_page(plugin: &LoadedPlugin, mode: &str, n: usize) -> Vec<Record> {
    let mut inst = plugin
        .instantiate(Arc::new(Pseudonymizer::new([9; 32])))
        .await
        .unwrap();
    let c = ctx(mode);
    let reqs = inst.begin(&c).await.unwrap();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let resp = VendorResponse {
        status: 200,
        headers: vec![],
        body: n.to_string().into_bytes(),
    };
    inst.handle(&c, &reqs[0], resp).await.unwrap().records
}

#[tokio::test]
async fn a_0_4_connector_loads_and_runs() {
    let rt = runtime();
    let bytes = std::fs::read(test_plugin_path("testbed")).unwrap();
    let plugin = rt.load("testbed", &bytes).await.unwrap();
    assert_eq!(plugin.contract, Contract::V0_4);
    assert_eq!(plugin.wit_version.as_deref(), Some("0.4.0"));
    assert!(
        plugin
            .exports
            .iter()
            .any(|e| e == "boxoffice:connector/connector@0.4.0"),
        "{:?}",
        plugin.exports
    );
    let records = one_page(&plugin, "ok", 4).await;
    assert_eq!(records.len(), 4);
    // The testbed takes no webhooks: `webhook: none`, and the SDK's default answer.
    assert_eq!(plugin.manifest.webhook, None);
    let m = webhook_refusal(&plugin).await;
    assert!(m.contains("webhooks not supported"), "{m}");
}

/// The prebuilt 0.3 component (no `webhook` export, no `manifest.webhook`) loads as 0.3,
/// adapted with `webhook: None`, and gives the same records as today's 0.4 build; asked for a
/// webhook, the host answers for it that its contract has none.
#[tokio::test]
async fn a_prebuilt_0_3_connector_loads_and_runs_like_its_0_4_build() {
    let rt = runtime();
    let old = rt
        .load("testbed-0.3", &std::fs::read(fixture_0_3()).unwrap())
        .await
        .unwrap();
    assert_eq!(old.contract, Contract::V0_3);
    assert_eq!(old.wit_version.as_deref(), Some("0.3.0"));
    assert_eq!(old.manifest.id, "testbed");
    assert_eq!(old.manifest.webhook, None);
    let new = rt
        .load(
            "testbed",
            &std::fs::read(test_plugin_path("testbed")).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(new.contract, Contract::V0_4);
    let (a, b) = (one_page(&old, "ok", 5).await, one_page(&new, "ok", 5).await);
    assert_eq!(a.len(), 5);
    assert_eq!(a, b, "0.3 (adapted) and 0.4 disagree");
    let m = webhook_refusal(&old).await;
    assert!(m.contains("predates 0.4"), "{m}");
}

/// The prebuilt 0.2 component and today's 0.4 build of the same connector give the same
/// records for the same page: the 0.2 adapter maps into the same host model.
#[tokio::test]
async fn a_prebuilt_0_2_connector_loads_and_runs_like_its_0_4_build() {
    let rt = runtime();
    let old = rt
        .load("testbed-0.2", &std::fs::read(fixture_0_2()).unwrap())
        .await
        .unwrap();
    assert_eq!(old.contract, Contract::V0_2);
    assert_eq!(old.wit_version.as_deref(), Some("0.2.0"));
    assert_eq!(old.manifest.id, "testbed");
    let new = rt
        .load(
            "testbed",
            &std::fs::read(test_plugin_path("testbed")).unwrap(),
        )
        .await
        .unwrap();
    let (a, b) = (one_page(&old, "ok", 5).await, one_page(&new, "ok", 5).await);
    assert_eq!(a.len(), 5);
    assert_eq!(a, b, "0.2 (adapted) and 0.4 disagree");
    assert_eq!(old.manifest.webhook, None);
    assert!(a.iter().all(
        |r| matches!(r, Record::Ticket(t) if t.buyer.as_deref().is_some_and(|b| b.len() == 24))
    ));
}

/// End to end through the binary: `boxoffice plugins test` replays the testbed fixture through
/// the prebuilt 0.2 component and matches the golden file the 0.4 build is held to.
#[test]
fn plugins_test_passes_on_the_prebuilt_0_2_component() {
    plugins_test_passes_on(&fixture_0_2());
}

/// The same through the prebuilt 0.3 component.
#[test]
fn plugins_test_passes_on_the_prebuilt_0_3_component() {
    plugins_test_passes_on(&fixture_0_3());
}

fn plugins_test_passes_on(component: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/plugins/testbed");
    let dir = tempfile::tempdir().unwrap();
    for f in ["context.json", "exchanges.json", "golden.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_boxoffice"))
        .args(["plugins", "test"])
        .arg(component)
        .arg(dir.path())
        .env("BOXOFFICE_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 records"), "{stdout}");
}

/// The connector shell (0.2 shapes) claiming another contract version.
fn shell_claiming(version: &str) -> String {
    SHELL.replace("types@0.2.0", &format!("types@{version}"))
}

#[tokio::test]
async fn components_outside_the_window_are_refused_naming_their_version_and_the_window() {
    let rt = runtime();
    for version in ["0.1.0", "0.5.0", "1.0.0"] {
        let err = match rt
            .load("outsider", shell_claiming(version).as_bytes())
            .await
        {
            Ok(p) => panic!("{version}: loaded as `{}`", p.id()),
            Err(e) => e,
        };
        assert!(
            matches!(&err, PluginError::IncompatibleWit { found, .. } if found == version),
            "{version}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("targets WIT {version}")) && msg.contains("0.2.x, 0.3.x, 0.4.x"),
            "{msg}"
        );
    }
    // Inside the window the same shell loads (0.2 shapes, a later patch level).
    let ok = rt
        .load("patch", shell_claiming("0.2.5").as_bytes())
        .await
        .unwrap();
    assert_eq!(ok.contract, Contract::V0_2);
}

/// A component claiming 0.3 but keeping 0.2's top-level exports is refused naming where 0.3
/// keeps its entry points.
#[tokio::test]
async fn a_0_3_component_without_the_connector_interface_is_refused() {
    let rt = runtime();
    let err = match rt.load("half", shell_claiming("0.3.0").as_bytes()).await {
        Ok(p) => panic!("loaded as `{}`", p.id()),
        Err(e) => e,
    };
    let msg = err.to_string();
    assert!(
        matches!(err, PluginError::NotAConnector { .. })
            && msg.contains("does not export `boxoffice:connector/connector@0.3.0`"),
        "{msg}"
    );
}
