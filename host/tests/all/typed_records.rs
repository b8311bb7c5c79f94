//! Typed page records (contract 0.3 `page-records.typed`, issue 14 item 1): the host turns them
//! into exactly the records their encoded form decodes to, with the same pseudonyms, the same
//! screening and the same page caps. The testbed's `records=typed` setting sends any mode's
//! page typed, so each check compares one page in both forms.

use std::sync::Arc;

use boxoffice::model::{PluginPage, Record, RunContext, VendorResponse};
use boxoffice::plugin::bundled::test_plugin_path;
use boxoffice::plugin::{
    LoadedPlugin, PageCap, PluginError, PluginLimits, PluginRuntime, Pseudonymizer, RecordFirewall,
};

const NOW_MS: i64 = 1_700_000_100_000;

async fn testbed(limits: PluginLimits) -> LoadedPlugin {
    let rt = PluginRuntime::new(limits, None).unwrap();
    let bytes = std::fs::read(test_plugin_path("testbed")).unwrap();
    rt.load("testbed", &bytes).await.unwrap()
}

fn ctx(mode: &str, typed: bool) -> RunContext {
    let mut settings = vec![("mode".to_string(), mode.to_string())];
    if typed {
        settings.push(("records".to_string(), "typed".to_string()));
    }
    RunContext {
        account: "test".into(),
        settings,
        now_ms: NOW_MS,
        ..Default::default()
    }
}

/// One page of `mode` (the vendor body is `body`), typed or encoded, under one key.
async fn page(
    plugin: &LoadedPlugin,
    mode: &str,
    typed: bool,
    body: &str,
) -> Result<PluginPage, PluginError> {
    let mut inst = plugin
        .instantiate(Arc::new(Pseudonymizer::new([4; 32])))
        .await
        .unwrap();
    let c = ctx(mode, typed);
    let reqs = inst.begin(&c).await.unwrap();
    let resp = VendorResponse {
        status: 200,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    };
    inst.handle(&c, &reqs[0], resp).await
}

#[tokio::test]
async fn the_same_page_typed_or_encoded_gives_equal_records() {
    let plugin = testbed(PluginLimits::default()).await;
    let encoded = page(&plugin, "ok", false, "7").await.unwrap();
    let typed = page(&plugin, "ok", true, "7").await.unwrap();
    assert_eq!(encoded.records.len(), 7);
    assert_eq!(typed.records, encoded.records);
    assert_eq!(typed.cursor, encoded.cursor);
    // Buyers arrive pseudonymized either way (24-character keyed pseudonyms, no raw id).
    for r in &typed.records {
        let Record::Ticket(t) = r else {
            panic!("{r:?}")
        };
        let buyer = t.buyer.as_deref().unwrap();
        assert_eq!(buyer.len(), 24, "{buyer}");
        assert!(!buyer.starts_with("700000"), "{buyer}");
    }
}

/// The canaries in free-text fields (an e-mail in `category`, `+00 000 CANARY` in
/// `utm_campaign`, look-alike spellings elsewhere) are rejected by the firewall exactly as
/// when the same records come encoded.
#[tokio::test]
async fn typed_records_carrying_canary_pii_are_screened_like_encoded_ones() {
    let plugin = testbed(PluginLimits::default()).await;
    let firewall = RecordFirewall::at(NOW_MS);
    for mode in ["pii", "pii-lookalike"] {
        let encoded = firewall.screen(page(&plugin, mode, false, "").await.unwrap().records);
        let typed = firewall.screen(page(&plugin, mode, true, "").await.unwrap().records);
        assert!(!encoded.rejected.is_empty(), "{mode}: nothing rejected");
        assert_eq!(typed.rejected, encoded.rejected, "{mode}");
        assert_eq!(typed.accepted, encoded.accepted, "{mode}");
        let kept = format!("{:?}", typed.accepted);
        for canary in ["canary.name@example.invalid", "+00 000 CANARY", "CANARY"] {
            assert!(!kept.contains(canary), "{mode}: {canary} kept");
        }
    }
    // The utm_campaign canary, by name.
    let typed = firewall.screen(
        page(&plugin, "pii-lookalike", true, "")
            .await
            .unwrap()
            .records,
    );
    assert!(
        typed.rejected.iter().any(|r| r.field == "utm_campaign"),
        "{:?}",
        typed.rejected
    );
}

fn over_cap(r: Result<PluginPage, PluginError>) -> (PageCap, usize, Option<usize>) {
    match r {
        Err(PluginError::OverCap {
            what, cap, record, ..
        }) => (what, cap, record),
        Err(other) => panic!("expected a page cap, got: {other}"),
        Ok(p) => panic!("accepted {} records", p.records.len()),
    }
}

/// A typed page of more records than the cap allows is refused at the same record as the
/// same page encoded.
#[tokio::test]
async fn a_typed_page_over_the_record_cap_is_refused() {
    let mut limits = PluginLimits::default();
    limits.page.max_items = 1_000;
    let plugin = testbed(limits).await;
    let typed = over_cap(page(&plugin, "ok", true, "1500").await);
    assert_eq!(typed, (PageCap::Items, 1_000, Some(1_000)));
    assert_eq!(over_cap(page(&plugin, "ok", false, "1500").await), typed);
    // At the cap it passes, typed as encoded.
    assert_eq!(
        page(&plugin, "ok", true, "1000")
            .await
            .unwrap()
            .records
            .len(),
        1_000
    );
}

/// The string cap holds for typed records too.
#[tokio::test]
async fn a_typed_string_over_the_cap_is_refused_like_an_encoded_one() {
    let plugin = testbed(PluginLimits::default()).await;
    let typed = over_cap(page(&plugin, "long-string", true, "").await);
    assert_eq!(typed, (PageCap::StringBytes, 64 << 10, Some(0)));
    assert_eq!(
        over_cap(page(&plugin, "long-string", false, "").await),
        typed
    );
}

/// 200,000 near-empty records sent typed under the default limits never reach the host as
/// records: the guest's memory cap, the output cap or the record cap stops them.
#[tokio::test]
async fn a_typed_record_bomb_is_refused_under_the_default_limits() {
    let plugin = testbed(PluginLimits::default()).await;
    let err = page(&plugin, "record-bomb", true, "").await.unwrap_err();
    assert!(
        matches!(
            err,
            PluginError::OutputTooLarge { .. }
                | PluginError::OverCap { .. }
                | PluginError::Trap { .. }
        ),
        "{err}"
    );
}
