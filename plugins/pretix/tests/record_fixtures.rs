//! Records `fixtures/` from a live, seeded pretix (canary PII only), playing the host's part:
//! the connector's own requests, sent with the OAuth token, answered by the real server.
//!
//! By hand, when the connector's requests change:
//!   cargo test --release -p boxoffice-plugin-pretix --test record_fixtures -- --ignored
//!   for d in plugins/pretix/fixtures/*/; do
//!     target/release/boxoffice plugins test target/plugins/wasm32-wasip2/plugin/boxoffice_plugin_pretix.wasm "$d" --bless
//!   done
//! The live base URL is rewritten to `https://pretix.example` in URLs and bodies.

use std::collections::VecDeque;
use std::path::Path;

use boxoffice_plugin_pretix::Pretix;
use boxoffice_plugin_sdk::host::FakeHost;
use boxoffice_plugin_sdk::Connector;
use boxoffice_plugin_sdk::{HttpResponse, RunContext};
use boxoffice_testkit::pretix::{Mutation, PretixServer};
use serde_json::{json, Value};

const PUBLIC_BASE: &str = "https://pretix.example";
/// Response headers worth keeping (the connector reads `X-Page-Generated`).
const KEPT_HEADERS: &[&str] = &["content-type", "x-page-generated"];

fn context(base: &str, cursor: Option<String>, now_ms: i64) -> RunContext {
    RunContext {
        account: "fixture".into(),
        settings: vec![
            ("base_url".into(), base.into()),
            ("organizer".into(), "canary".into()),
        ],
        cursor,
        since_ms: None,
        until_ms: None,
        now_ms,
    }
}

/// Runs the connector against the live server, writing `dir`; returns the last cursor.
fn record(px: &PretixServer, dir: &Path, cursor: Option<String>, now_ms: i64) -> Option<String> {
    let live = px.base_url();
    let public = |s: &str| s.replace(&live, PUBLIC_BASE);
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let client = reqwest::blocking::Client::new();
    let mut ctx = context(&live, cursor.clone(), now_ms);
    let mut queue: VecDeque<_> = Pretix::begin(&mut FakeHost::default(), &ctx)
        .unwrap()
        .into();
    let mut exchanges = Vec::new();
    while let Some(req) = queue.pop_front() {
        let resp = client
            .get(&req.url)
            .query(&req.query)
            .header("Accept", "application/json")
            .header("Authorization", format!("Bearer {}", px.seed().oauth_token))
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter(|(k, _)| KEPT_HEADERS.contains(&k.as_str()))
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let body = resp.bytes().unwrap().to_vec();
        let pretty = serde_json::from_slice::<Value>(&body)
            .map(|v| serde_json::to_string_pretty(&v).unwrap() + "\n")
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
        let body_file = format!(
            "{:02}-{}.json",
            exchanges.len() + 1,
            req.id.replace(':', "-")
        );
        std::fs::write(dir.join(&body_file), public(&pretty)).unwrap();
        exchanges.push(json!({
            "request": {"method": req.method, "url": public(&req.url), "query": req.query},
            "response": {"status": status, "headers": headers, "body_file": body_file},
        }));
        let page = Pretix::handle(
            &mut FakeHost::default(),
            &ctx,
            &req,
            &HttpResponse {
                status,
                headers,
                body,
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e:?}", req.id));
        if page.cursor.is_some() {
            ctx.cursor = page.cursor;
        }
        queue.extend(page.next);
    }
    let fixture_ctx = json!({
        "account": "fixture",
        "settings": [["base_url", PUBLIC_BASE], ["organizer", "canary"]],
        "cursor": cursor,
        "now_ms": now_ms,
    });
    std::fs::write(
        dir.join("context.json"),
        serde_json::to_string_pretty(&fixture_ctx).unwrap() + "\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("exchanges.json"),
        serde_json::to_string_pretty(&exchanges).unwrap() + "\n",
    )
    .unwrap();
    ctx.cursor
}

#[test]
#[ignore = "records fixtures from a live pretix; run by hand (see the module doc)"]
fn record_pretix_fixtures() {
    let Some(px) = PretixServer::for_test("record pretix fixtures", 110) else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let now_ms = 1_796_000_000_000;
    let cursor = record(&px, &root.join("first-sync"), None, now_ms);
    px.mutate(&Mutation {
        refund: 1,
        partial_refund: 1,
        checkin: 1,
        cancel: 1,
        pay: 1,
        new: 1,
    })
    .unwrap();
    record(&px, &root.join("after-changes"), cursor, now_ms + 600_000);
}
