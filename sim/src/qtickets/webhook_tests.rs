//! The simulator's webhooks against a tiny loopback receiver that checks signatures.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};

use super::*;
use crate::canary;
use crate::qtickets::{QticketsConfig, QticketsSim};

const SECRET: &str = "canary-webhook-secret";

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
    /// The signature verified with [`SECRET`].
    genuine: bool,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a delivery's body is JSON")
    }
}

/// Records every POST; answers 500 to the first `fail_first` genuine ones, 401 to a bad
/// signature, else 200.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<AtomicU32>,
}

impl Receiver {
    async fn start(fail_first: u32) -> (Self, crate::SimServer) {
        let r = Receiver::default();
        r.fail_first.store(fail_first, Ordering::SeqCst);
        let state = r.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let sig = headers
                    .get("x-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let genuine = verify(SECRET, &body, &sig);
                state.got.lock().unwrap().push(Received {
                    path: uri.path().to_string(),
                    headers,
                    body: body.to_vec(),
                    genuine,
                });
                if !genuine {
                    return StatusCode::UNAUTHORIZED;
                }
                let left = state.fail_first.load(Ordering::SeqCst);
                if left > 0 {
                    state.fail_first.store(left - 1, Ordering::SeqCst);
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                StatusCode::OK
            }
        });
        let srv = crate::SimServer::start(app, 0).await.unwrap();
        (r, srv)
    }
    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn small_sim() -> QticketsSim {
    QticketsSim::new(QticketsConfig {
        orders: 300,
        ..Default::default()
    })
}

const SETTLE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn every_change_type_is_delivered_signed_with_the_vendor_headers() {
    let (rx, srv) = Receiver::start(0).await;
    let sim = small_sim();
    let hooks = sim
        .enable_webhooks(WebhookConfig::per_type(
            &format!("{}/webhooks/qtickets/main", srv.base_url()),
            SECRET,
        ))
        .unwrap();
    let paid = sim.sell(true).unwrap();
    let pending = sim.sell(false).unwrap();
    sim.pay(pending).unwrap();
    let refunded_basket = sim.refund(paid).unwrap();
    let scanned_basket = sim.scan(pending).unwrap();
    let cancelled = sim.sell(false).unwrap();
    sim.cancel(cancelled).unwrap();
    sim.advance(30);
    assert!(hooks.settle(SETTLE).await, "deliveries still in flight");

    let got = rx.got();
    let st = hooks.stats();
    assert!(st.changes > 7, "the advance made changes too: {st:?}");
    assert_eq!(got.len() as u64, st.changes, "one POST per change: {st:?}");
    assert_eq!(
        (st.sent, st.delivered, st.attempts),
        (st.changes, st.changes, st.changes)
    );
    assert_eq!(
        (st.lost, st.duplicated, st.reordered, st.forged, st.retried),
        (0, 0, 0, 0, 0)
    );
    let mut types = std::collections::BTreeSet::new();
    for r in &got {
        assert!(
            r.genuine,
            "signature of a {} delivery",
            r.header("x-event-type")
        );
        assert_eq!(r.header("user-agent"), USER_AGENT);
        assert_eq!(r.header("x-model-name"), "Order");
        assert_eq!(r.header("content-type"), "application/json");
        let t = r.header("x-event-type").to_string();
        assert_eq!(
            r.path,
            format!("/webhooks/qtickets/main/{t}"),
            "per-type URL"
        );
        let v = r.json();
        assert!(
            v["id"].as_u64().is_some() && v["baskets"].is_array(),
            "a bare order: {v}"
        );
        assert!(v.get("refunded_baskets").is_some() && v.get("checked_basket").is_some());
        types.insert(t);
    }
    let all: std::collections::BTreeSet<String> = EventType::ALL
        .iter()
        .map(|t| t.header().to_string())
        .collect();
    // `updated` comes only from the advance's batch touches, which 30 minutes may not draw.
    let needed: Vec<&str> = vec!["created", "payed", "deleted", "refunded", "checked"];
    for t in needed {
        assert!(types.contains(t), "no `{t}` delivery among {types:?}");
    }
    assert!(types.is_subset(&all));

    // The first deliveries are the changes asked for, in order, each with its facts.
    let seq: Vec<(String, u64)> = got
        .iter()
        .take(8)
        .map(|r| {
            (
                r.header("x-event-type").to_string(),
                r.json()["id"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = [
        ("created", paid),
        ("payed", paid),
        ("created", pending),
        ("payed", pending),
        ("refunded", paid),
        ("checked", pending),
        ("created", cancelled),
        ("deleted", cancelled),
    ]
    .iter()
    .map(|(t, id)| (t.to_string(), *id))
    .collect();
    assert_eq!(seq, want);
    let created = got[2].json();
    assert_eq!(
        created["payed"], false,
        "`created` shows the order as it was then"
    );
    let refund = got[4].json();
    assert_eq!(
        refund["refunded_baskets"][0]["id"].as_u64(),
        Some(refunded_basket)
    );
    assert!(refund["refunded_baskets"][0]["refunded_at"].is_string());
    let scan = got[5].json();
    assert_eq!(scan["checked_basket"]["id"].as_u64(), Some(scanned_basket));
    assert!(scan["checked_basket"]["checked_at"].is_string());
    assert!(got[7].json()["deleted_at"].is_string());
    // Canary personal data stays in the bodies: the receiver must strip it.
    let text = String::from_utf8(got[0].body.clone()).unwrap();
    assert!(
        text.contains(canary::NAME) && text.contains(canary::PHONE),
        "{text}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_on_the_scaled_cubic_schedule() {
    let (rx, srv) = Receiver::start(3).await;
    let sim = small_sim();
    let second = Duration::from_millis(20);
    let mut cfg = WebhookConfig::all(&srv.base_url(), SECRET);
    cfg.second = second;
    let hooks = sim.enable_webhooks(cfg).unwrap();
    let id = sim.sell(false).unwrap();
    assert!(hooks.settle(SETTLE).await);
    let log = hooks.attempts();
    let status: Vec<(u32, Option<u16>)> = log.iter().map(|a| (a.attempt, a.status)).collect();
    assert_eq!(
        status,
        vec![
            (1, Some(500)),
            (2, Some(500)),
            (3, Some(500)),
            (4, Some(200))
        ]
    );
    assert!(log
        .iter()
        .all(|a| a.order_id == id && a.kind == EventType::Created));
    for w in log.windows(2) {
        let n = w[0].attempt;
        let gap = w[1].at - w[0].at;
        let want = second * n.pow(3);
        assert!(
            gap >= want && gap < want + Duration::from_millis(250),
            "attempt {} came {gap:?} after attempt {n}, want {want:?}",
            n + 1
        );
    }
    let st = hooks.stats();
    assert_eq!(
        (st.sent, st.retried, st.delivered, st.gave_up),
        (1, 3, 1, 0)
    );
    assert_eq!(rx.got().len(), 4);
    srv.shutdown().await;
}

#[tokio::test]
async fn the_vendor_gives_up_after_ten_attempts() {
    let (rx, srv) = Receiver::start(u32::MAX).await;
    let sim = small_sim();
    let mut cfg = WebhookConfig::all(&srv.base_url(), SECRET);
    cfg.second = Duration::from_millis(1);
    let hooks = sim.enable_webhooks(cfg).unwrap();
    sim.sell(false).unwrap();
    assert!(hooks.settle(SETTLE).await);
    let st = hooks.stats();
    assert_eq!(
        (st.attempts, st.retried, st.delivered, st.gave_up),
        (10, 9, 0, 1)
    );
    assert_eq!(rx.got().len(), MAX_ATTEMPTS as usize);
    srv.shutdown().await;
}

#[tokio::test]
async fn loss_duplicates_and_reordering_follow_their_rates() {
    let (rx, srv) = Receiver::start(0).await;
    let sim = QticketsSim::new(QticketsConfig {
        orders: 500,
        orders_per_minute: 6.0,
        changes_per_minute: 6.0,
        ..Default::default()
    });
    let mut cfg = WebhookConfig::all(&srv.base_url(), SECRET);
    cfg.lose = 0.2;
    cfg.duplicate = 0.1;
    cfg.reorder = 0.1;
    let hooks = sim.enable_webhooks(cfg).unwrap();
    sim.advance(150);
    assert!(hooks.settle(SETTLE).await);
    let st = hooks.stats();
    eprintln!("webhook rates: {st:?}");
    assert!(st.changes > 1_000, "{st:?}");
    let rate = |n: u64, of: u64| n as f64 / of as f64;
    let lost = rate(st.lost, st.changes);
    assert!((0.16..0.24).contains(&lost), "lost {lost:.3}: {st:?}");
    assert_eq!(st.sent + st.lost, st.changes);
    let dup = rate(st.duplicated, st.sent);
    assert!((0.07..0.13).contains(&dup), "duplicated {dup:.3}: {st:?}");
    // Held ones are overtaken unless nothing else was waiting; most are.
    let reo = rate(st.reordered, st.sent);
    assert!((0.04..0.13).contains(&reo), "reordered {reo:.3}: {st:?}");
    assert_eq!(st.delivered, st.sent + st.duplicated, "{st:?}");
    assert_eq!(rx.got().len() as u64, st.sent + st.duplicated);
    // The log shows the overtaking: a genuine delivery of an earlier change after a later one.
    let log = hooks.attempts();
    let mut max_seq = 0;
    let mut late = 0;
    for a in log.iter().filter(|a| a.copy == Role::Genuine) {
        if a.seq < max_seq {
            late += 1;
        }
        max_seq = max_seq.max(a.seq);
    }
    assert_eq!(late, st.reordered, "{st:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_forged_delivery_does_not_verify_with_the_right_secret() {
    let (rx, srv) = Receiver::start(0).await;
    let sim = small_sim();
    let mut cfg = WebhookConfig::all(&srv.base_url(), SECRET);
    cfg.forge = 1.0;
    let forged_secret = cfg.forged_secret.clone();
    let hooks = sim.enable_webhooks(cfg).unwrap();
    let id = sim.sell(true).unwrap();
    assert!(hooks.settle(SETTLE).await);
    let got = rx.got();
    let (genuine, forged): (Vec<_>, Vec<_>) = got.into_iter().partition(|r| r.genuine);
    assert_eq!(
        (genuine.len(), forged.len()),
        (2, 2),
        "created + payed, each forged once"
    );
    for f in &forged {
        let sig = f.header("x-signature");
        assert!(
            !verify(SECRET, &f.body, sig),
            "forged signature verified with the secret"
        );
        assert!(
            verify(&forged_secret, &f.body, sig),
            "signed with the forged secret"
        );
        let v = f.json();
        assert_eq!(v["id"].as_u64(), Some(id));
        assert!(
            v["deleted_at"].is_string(),
            "the tampered body claims a cancel"
        );
        assert!(genuine.iter().all(|g| g.body != f.body));
    }
    let st = hooks.stats();
    assert_eq!(
        (st.forged, st.delivered, st.retried),
        (2, 2, 0),
        "forgers never retry"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn unreported_changes_send_nothing_but_reach_the_api_and_the_truth() {
    let (rx, srv) = Receiver::start(0).await;
    let sim = small_sim();
    let hooks = sim
        .enable_webhooks(WebhookConfig::all(&srv.base_url(), SECRET))
        .unwrap();
    let before = sim.truth();
    let old = sim
        .paid_order_before(sim.now_ms() - 10 * 86_400_000)
        .unwrap();
    sim.unreported(|s| s.refund(old)).unwrap();
    sim.scan(sim.sell(true).unwrap()).unwrap();
    assert!(hooks.settle(SETTLE).await);
    assert_ne!(sim.truth(), before, "the refund changed the truth");
    let kinds: Vec<String> = rx
        .got()
        .iter()
        .map(|r| r.header("x-event-type").to_string())
        .collect();
    assert_eq!(
        kinds,
        ["created", "payed", "checked"],
        "the refund sent nothing"
    );
    assert_eq!(hooks.stats().changes, 3);
    srv.shutdown().await;
}

#[tokio::test]
async fn webhooks_do_not_change_the_simulated_history() {
    let (_rx, srv) = Receiver::start(0).await;
    let (a, b) = (small_sim(), small_sim());
    let mut cfg = WebhookConfig::all(&srv.base_url(), SECRET);
    cfg.lose = 0.5;
    cfg.reorder = 0.5;
    let hooks = a.enable_webhooks(cfg).unwrap();
    a.advance(60);
    b.advance(60);
    assert!(hooks.settle(SETTLE).await);
    assert_eq!(a.truth(), b.truth());
    assert_eq!(a.order_count(), b.order_count());
    srv.shutdown().await;
}

#[tokio::test]
async fn bad_webhook_config_is_refused_naming_the_field() {
    let sim = small_sim();
    let mut cfg = WebhookConfig::all("http://127.0.0.1:9", SECRET);
    cfg.lose = 1.5;
    let e = sim.enable_webhooks(cfg).err().unwrap().to_string();
    assert!(e.contains("`lose`") && e.contains("1.5"), "{e}");
    let cfg = WebhookConfig::all("ftp://x", SECRET);
    let e = sim.enable_webhooks(cfg).err().unwrap().to_string();
    assert!(
        e.contains("`created` endpoint") && e.contains("ftp://x"),
        "{e}"
    );
}

#[tokio::test]
async fn a_delay_holds_each_first_attempt_back() {
    let (_rx, srv) = Receiver::start(0).await;
    let sim = small_sim();
    let mut cfg = WebhookConfig::all(&srv.base_url(), SECRET);
    cfg.delay = Duration::from_millis(150);
    let hooks = sim.enable_webhooks(cfg).unwrap();
    let t = hooks.0.started.elapsed();
    sim.sell(false).unwrap();
    assert!(hooks.settle(SETTLE).await);
    let log = hooks.attempts();
    assert_eq!(log.len(), 1);
    let waited = log[0].at - t;
    assert!(
        waited >= Duration::from_millis(150),
        "sent after {waited:?}"
    );
}

#[tokio::test]
async fn live_mode_sells_and_reports_over_wall_time() {
    let (rx, srv) = Receiver::start(0).await;
    let sim = small_sim();
    let hooks = sim
        .enable_webhooks(WebhookConfig::all(&srv.base_url(), SECRET))
        .unwrap();
    let (orders, t0) = (sim.order_count(), sim.now_ms());
    let driver = sim.drive(Duration::from_millis(20), 5);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let ticks = driver.stop().await;
    assert!(ticks >= 5, "{ticks} ticks");
    assert_eq!(
        sim.now_ms() - t0,
        ticks as i64 * 5 * 60_000,
        "5 minutes a tick"
    );
    assert!(sim.order_count() > orders, "new orders were sold");
    assert!(hooks.settle(SETTLE).await);
    assert!(!rx.got().is_empty());
    assert_eq!(rx.got().len() as u64, hooks.stats().changes);
    srv.shutdown().await;
}

#[test]
fn signatures_are_hex_hmac_sha1() {
    // RFC 2202 test case 2.
    assert_eq!(
        sign("Jefe", b"what do ya want for nothing?"),
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    );
    assert!(verify(
        "Jefe",
        b"what do ya want for nothing?",
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    ));
    assert!(!verify(
        "Jeff",
        b"what do ya want for nothing?",
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
    ));
    assert!(!verify("Jefe", b"x", "not hex"));
}
