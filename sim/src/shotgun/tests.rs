use std::collections::BTreeMap;

use super::*;

const EXAMPLE: &str = include_str!("../../../tests/fixtures/vendors/shotgun_tickets_page.json");

fn small() -> ShotgunSim {
    ShotgunSim::new(ShotgunConfig {
        tickets: 1_500,
        ..Default::default()
    })
}

async fn get(base: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut r = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

/// Reads every ticket, following `after` as a client should; returns (pages, tickets).
async fn read_all(base: &str, after: Option<String>) -> (usize, Vec<serde_json::Value>) {
    let mut after = after;
    let mut pages = 0;
    let mut all = Vec::new();
    loop {
        let mut path = "/tickets?organizer_id=100001&include_cohosted_events=1".to_string();
        if let Some(a) = &after {
            path.push_str(&format!("&after={}", a.replace(':', "%3A")));
        }
        let body: serde_json::Value = get(base, &path, Some("sim-shotgun-token"))
            .await
            .json()
            .await
            .unwrap();
        pages += 1;
        let data = body["data"].as_array().unwrap().clone();
        assert!(data.len() <= 100);
        let next = body["pagination"]["next"].as_str().map(str::to_string);
        assert_eq!(next.is_some(), data.len() == 100, "next only on full pages");
        if let Some(last) = data.last() {
            after = Some(format!(
                "{}_{}",
                last["ticket_updated_at"].as_str().unwrap(),
                last["ticket_id"]
            ));
        }
        all.extend(data);
        if next.is_none() {
            return (pages, all);
        }
    }
}

#[tokio::test]
async fn tickets_have_the_example_shape() {
    let sim = small();
    let srv = sim.spawn().await.unwrap();
    let body: serde_json::Value = get(
        &srv.base_url(),
        "/tickets?organizer_id=100001",
        Some("sim-shotgun-token"),
    )
    .await
    .json()
    .await
    .unwrap();
    let example: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    // serde_json without preserve_order sorts keys, so compare the raw text order too.
    assert_eq!(keys(&body), keys(&example));
    assert_eq!(keys(&body["data"][0]), keys(&example["data"][0]));
    let raw = get(
        &srv.base_url(),
        "/tickets?organizer_id=100001",
        Some("sim-shotgun-token"),
    )
    .await
    .text()
    .await
    .unwrap();
    let order = |text: &str| {
        let first = &text[text.find("\"ticket_id\"").unwrap()..];
        let end = first.find('}').unwrap();
        first[..end]
            .split(",\"")
            .map(|kv| {
                kv.trim_start_matches('"')
                    .split('"')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    let compact_example = serde_json::to_string(&example).unwrap();
    assert_eq!(order(&raw).len(), 44);
    let _ = compact_example;
    let ex_keys: Vec<String> = EXAMPLE
        .split("\"data\"")
        .nth(1)
        .unwrap()
        .split('}')
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix('"')
                .and_then(|l| l.split('"').next())
                .map(str::to_string)
        })
        .filter(|k| !["promoters", "public", "xpress_door"].contains(&k.as_str()))
        .collect();
    assert_eq!(order(&raw), ex_keys, "key order as in the example");
    let t = &body["data"][0];
    assert!(t["ticket_updated_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        t["ordered_at"].as_str().unwrap().len(),
        "2026-03-02 10:15:03.207519".len()
    );
    assert!(t["contact_email"]
        .as_str()
        .unwrap()
        .contains("@example.invalid"));
}

#[tokio::test]
async fn paging_reads_every_ticket_once_and_resumes_after_changes() {
    let sim = small();
    let srv = sim.spawn().await.unwrap();
    let (pages, all) = read_all(&srv.base_url(), None).await;
    assert!(pages > 10);
    let ids: std::collections::HashSet<u64> = all
        .iter()
        .map(|t| t["ticket_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), all.len(), "no duplicates");
    assert_eq!(ids.len() as u64, sim.ticket_count());
    let keys: Vec<(String, u64)> = all
        .iter()
        .map(|t| {
            (
                t["ticket_updated_at"].as_str().unwrap().to_string(),
                t["ticket_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] < w[1]),
        "ordered by (updated_at, id)"
    );

    let last = keys.last().unwrap();
    let cursor = format!("{}_{}", last.0, last.1);
    let before: BTreeMap<u64, String> = all
        .iter()
        .map(|t| {
            (
                t["ticket_id"].as_u64().unwrap(),
                t["ticket_updated_at"].as_str().unwrap().into(),
            )
        })
        .collect();
    sim.advance(30);
    let (_, delta) = read_all(&srv.base_url(), Some(cursor)).await;
    assert!(!delta.is_empty());
    let mut expected = 0;
    sim.for_each_ticket(|t| {
        let changed = before
            .get(&t.ticket_id)
            .is_none_or(|u| *u != http::iso_ms(t.updated_at_ms));
        expected += changed as usize;
    });
    assert_eq!(delta.len(), expected, "exactly the changed and new tickets");
}

#[tokio::test]
async fn a_full_read_aggregates_to_the_truth() {
    let sim = small();
    sim.advance(60);
    let srv = sim.spawn().await.unwrap();
    let (_, all) = read_all(&srv.base_url(), None).await;
    let mut got: BTreeMap<(u64, String), (u64, u64, u64, i64)> = BTreeMap::new();
    for t in &all {
        let e = got
            .entry((
                t["event_id"].as_u64().unwrap(),
                t["deal_title"].as_str().unwrap().into(),
            ))
            .or_default();
        match t["ticket_status"].as_str().unwrap() {
            "valid" => {
                e.0 += 1;
                e.3 += t["deal_price"].as_i64().unwrap();
                e.2 += !t["ticket_scanned_at"].is_null() as u64;
            }
            "refunded" => e.1 += 1,
            _ => {}
        }
    }
    let truth: BTreeMap<(u64, String), (u64, u64, u64, i64)> = sim
        .truth()
        .into_iter()
        .map(|r| {
            (
                (r.event_id, r.category),
                (r.sold, r.refunded, r.scanned, r.revenue_minor),
            )
        })
        .filter(|(_, v)| *v != (0, 0, 0, 0))
        .collect();
    got.retain(|_, v| *v != (0, 0, 0, 0));
    assert_eq!(got, truth);
}

#[tokio::test]
async fn auth_rate_limit_faults_and_cohosting() {
    let sim = ShotgunSim::new(ShotgunConfig {
        tickets: 300,
        rate_limit: Some(RateLimit {
            requests: 3,
            window_ms: 60_000,
            retry_after_secs: 7,
        }),
        ..Default::default()
    });
    let srv = sim.spawn().await.unwrap();
    let base = srv.base_url();
    assert_eq!(
        get(&base, "/tickets?organizer_id=100001", Some("wrong"))
            .await
            .status(),
        401
    );
    assert_eq!(
        get(&base, "/tickets?organizer_id=100001", None)
            .await
            .status(),
        401
    );
    let ok = get(
        &base,
        "/tickets?organizer_id=100001",
        Some("sim-shotgun-token"),
    )
    .await;
    assert_eq!(ok.status(), 200);
    let limited = get(
        &base,
        "/tickets?organizer_id=100001",
        Some("sim-shotgun-token"),
    )
    .await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");

    let faulty = ShotgunSim::new(ShotgunConfig {
        tickets: 300,
        fault_every: Some(2),
        ..Default::default()
    });
    let srv2 = faulty.spawn().await.unwrap();
    let b2 = srv2.base_url();
    let path = "/tickets?organizer_id=100001";
    assert_eq!(
        get(&b2, path, Some("sim-shotgun-token")).await.status(),
        200
    );
    assert_eq!(
        get(&b2, path, Some("sim-shotgun-token")).await.status(),
        503
    );

    // Co-hosted events' tickets only with the flag.
    let cohosted: Vec<u64> = sim
        .events()
        .iter()
        .filter(|e| e.cohosted)
        .map(|e| e.id)
        .collect();
    assert_eq!(cohosted.len(), 1);
    let plain = ShotgunSim::new(ShotgunConfig {
        tickets: 500,
        ..Default::default()
    });
    let srv3 = plain.spawn().await.unwrap();
    let b3 = srv3.base_url();
    let count_for = |flag: &'static str| {
        let b3 = b3.clone();
        let id = cohosted[0];
        async move {
            let body: serde_json::Value = get(
                &b3,
                &format!("/tickets?organizer_id=100001&event_id={id}{flag}"),
                Some("sim-shotgun-token"),
            )
            .await
            .json()
            .await
            .unwrap();
            body["data"].as_array().unwrap().len()
        }
    };
    assert_eq!(count_for("").await, 0);
    assert!(count_for("&include_cohosted_events=1").await > 0);
}
